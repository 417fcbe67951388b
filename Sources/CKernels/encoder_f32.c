#include "CKernels.h"
#include "shared.h"

#include <math.h>
#include <string.h>

// The non-matrix steps of a transformer encoder, vectorized: softmax (with its exponential), exact GELU, and
// attention for one sequence and head as two packed products. No BLAS: the encoder's threads are the caller's.

// MARK: - Exponential

// e^x as 2^n · e^r with n = round(x / ln 2) and |r| <= ln 2 / 2, r computed in two steps (Cody and Waite) and
// e^r by the minimax polynomial of Cephes' expf: relative error about 1 ulp over the clamped range. Every level
// evaluates the same polynomial in the same order, so the levels differ only by FMA contraction.
#define VK_EXP_MIN -87.33654f  // e^x stays a normal float down to here
#define VK_EXP_MAX 88.37626f
#define VK_LOG2E 1.44269504088896341f
#define VK_LN2_HIGH 0.693359375f
#define VK_LN2_LOW -2.12194440e-4f
#define VK_EXP_P0 1.9875691500e-4f
#define VK_EXP_P1 1.3981999507e-3f
#define VK_EXP_P2 8.3334519073e-3f
#define VK_EXP_P3 4.1665795894e-2f
#define VK_EXP_P4 1.6666665459e-1f
#define VK_EXP_P5 5.0000001201e-1f

static inline float vk_exp_scalar(float x) {
    x = x < VK_EXP_MIN ? VK_EXP_MIN : (x > VK_EXP_MAX ? VK_EXP_MAX : x);
    float n = nearbyintf(x * VK_LOG2E);
    float r = x - n * VK_LN2_HIGH;
    r = r - n * VK_LN2_LOW;
    float p = VK_EXP_P0;
    p = p * r + VK_EXP_P1;
    p = p * r + VK_EXP_P2;
    p = p * r + VK_EXP_P3;
    p = p * r + VK_EXP_P4;
    p = p * r + VK_EXP_P5;
    p = p * (r * r) + r + 1.0f;
    return ldexpf(p, (int)n);
}

// MARK: - Exact GELU

// x·Φ(x) = x/2 · (1 + erf(x/√2)), erf as a rational function on [−4, 4] (±1 in float beyond): the minimax
// coefficients of Eigen's generic_fast_erf_float, absolute error below 5e-7.
#define VK_ERF_A0 -2.72614225801306e-10f
#define VK_ERF_A1 2.77068142495902e-08f
#define VK_ERF_A2 -2.10102402082508e-06f
#define VK_ERF_A3 -5.69250639462346e-05f
#define VK_ERF_A4 -7.34990630326855e-04f
#define VK_ERF_A5 -2.95459980854025e-03f
#define VK_ERF_A6 -1.60960333262415e-02f
#define VK_ERF_B0 -1.45660718464996e-05f
#define VK_ERF_B1 -2.13374055278905e-04f
#define VK_ERF_B2 -1.68282697438203e-03f
#define VK_ERF_B3 -7.37332916720468e-03f
#define VK_ERF_B4 -1.42647390514189e-02f
#define VK_INVERSE_ROOT_TWO 0.7071067811865475244f

static inline float vk_gelu_scalar(float value) {
    float x = value * VK_INVERSE_ROOT_TWO;
    x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
    float x2 = x * x;
    float p = VK_ERF_A0;
    p = p * x2 + VK_ERF_A1;
    p = p * x2 + VK_ERF_A2;
    p = p * x2 + VK_ERF_A3;
    p = p * x2 + VK_ERF_A4;
    p = p * x2 + VK_ERF_A5;
    p = p * x2 + VK_ERF_A6;
    float q = VK_ERF_B0;
    q = q * x2 + VK_ERF_B1;
    q = q * x2 + VK_ERF_B2;
    q = q * x2 + VK_ERF_B3;
    q = q * x2 + VK_ERF_B4;
    return 0.5f * value * (1.0f + x * p / q);
}

static void vk_softmax_scalar(float *row, size_t count, float scale) {
    float largest = -INFINITY;
    for (size_t i = 0; i < count; i++) largest = row[i] > largest ? row[i] : largest;
    float total = 0;
    for (size_t i = 0; i < count; i++) {
        row[i] = vk_exp_scalar((row[i] - largest) * scale);
        total += row[i];
    }
    float inverse = 1.0f / total;
    for (size_t i = 0; i < count; i++) row[i] *= inverse;
}

#if defined(__x86_64__)

// One definition of the vector e^x for every register width: ISA is avx512 or avx2, naming the rounding to the
// nearest whole number (vk_round_<ISA>) and the scaling by 2^n (vk_times_power_of_two_<ISA>) that differ between
// the two; BITS is 512 or 256, as below. The operations are those of vk_exp_scalar, in the same order.
#define VK_DEFINE_EXP_VECTOR(ISA, ATTRIBUTE, BITS)                                                                     \
    ATTRIBUTE static inline __m##BITS vk_exp_##ISA(__m##BITS x) {                                                      \
        x = _mm##BITS##_max_ps(x, _mm##BITS##_set1_ps(VK_EXP_MIN));                                                    \
        x = _mm##BITS##_min_ps(x, _mm##BITS##_set1_ps(VK_EXP_MAX));                                                    \
        __m##BITS n = vk_round_##ISA(_mm##BITS##_mul_ps(x, _mm##BITS##_set1_ps(VK_LOG2E)));                            \
        __m##BITS r = _mm##BITS##_fnmadd_ps(n, _mm##BITS##_set1_ps(VK_LN2_HIGH), x);                                   \
        r = _mm##BITS##_fnmadd_ps(n, _mm##BITS##_set1_ps(VK_LN2_LOW), r);                                              \
        __m##BITS p = _mm##BITS##_set1_ps(VK_EXP_P0);                                                                  \
        p = _mm##BITS##_fmadd_ps(p, r, _mm##BITS##_set1_ps(VK_EXP_P1));                                                \
        p = _mm##BITS##_fmadd_ps(p, r, _mm##BITS##_set1_ps(VK_EXP_P2));                                                \
        p = _mm##BITS##_fmadd_ps(p, r, _mm##BITS##_set1_ps(VK_EXP_P3));                                                \
        p = _mm##BITS##_fmadd_ps(p, r, _mm##BITS##_set1_ps(VK_EXP_P4));                                                \
        p = _mm##BITS##_fmadd_ps(p, r, _mm##BITS##_set1_ps(VK_EXP_P5));                                                \
        p = _mm##BITS##_fmadd_ps(p, _mm##BITS##_mul_ps(r, r), _mm##BITS##_add_ps(r, _mm##BITS##_set1_ps(1.0f)));       \
        return vk_times_power_of_two_##ISA(p, n);                                                                      \
    }

// One definition of the vector GELU for every register width: BITS is 512 or 256, and names the register type
// (__m512, __m256) and the intrinsics (_mm512_*, _mm256_*). The operations are those of vk_gelu_scalar, in the
// same order, with fused multiply-adds.
#define VK_DEFINE_GELU_VECTOR(NAME, ATTRIBUTE, BITS)                                                            \
    ATTRIBUTE static inline __m##BITS NAME(__m##BITS value) {                                                   \
        __m##BITS x = _mm##BITS##_mul_ps(value, _mm##BITS##_set1_ps(VK_INVERSE_ROOT_TWO));                      \
        x = _mm##BITS##_min_ps(_mm##BITS##_max_ps(x, _mm##BITS##_set1_ps(-4.0f)), _mm##BITS##_set1_ps(4.0f));   \
        __m##BITS x2 = _mm##BITS##_mul_ps(x, x);                                                                \
        __m##BITS p = _mm##BITS##_set1_ps(VK_ERF_A0);                                                           \
        p = _mm##BITS##_fmadd_ps(p, x2, _mm##BITS##_set1_ps(VK_ERF_A1));                                        \
        p = _mm##BITS##_fmadd_ps(p, x2, _mm##BITS##_set1_ps(VK_ERF_A2));                                        \
        p = _mm##BITS##_fmadd_ps(p, x2, _mm##BITS##_set1_ps(VK_ERF_A3));                                        \
        p = _mm##BITS##_fmadd_ps(p, x2, _mm##BITS##_set1_ps(VK_ERF_A4));                                        \
        p = _mm##BITS##_fmadd_ps(p, x2, _mm##BITS##_set1_ps(VK_ERF_A5));                                        \
        p = _mm##BITS##_fmadd_ps(p, x2, _mm##BITS##_set1_ps(VK_ERF_A6));                                        \
        __m##BITS q = _mm##BITS##_set1_ps(VK_ERF_B0);                                                           \
        q = _mm##BITS##_fmadd_ps(q, x2, _mm##BITS##_set1_ps(VK_ERF_B1));                                        \
        q = _mm##BITS##_fmadd_ps(q, x2, _mm##BITS##_set1_ps(VK_ERF_B2));                                        \
        q = _mm##BITS##_fmadd_ps(q, x2, _mm##BITS##_set1_ps(VK_ERF_B3));                                        \
        q = _mm##BITS##_fmadd_ps(q, x2, _mm##BITS##_set1_ps(VK_ERF_B4));                                        \
        __m##BITS erf = _mm##BITS##_div_ps(_mm##BITS##_mul_ps(x, p), q);                                        \
        return _mm##BITS##_mul_ps(_mm##BITS##_mul_ps(_mm##BITS##_set1_ps(0.5f), value),                         \
                                  _mm##BITS##_add_ps(_mm##BITS##_set1_ps(1.0f), erf));                          \
    }

// MARK: - AVX-512

VK_AVX512 static inline __m512 vk_round_avx512(__m512 x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT); }

VK_AVX512 static inline __m512 vk_times_power_of_two_avx512(__m512 p, __m512 n) { return _mm512_scalef_ps(p, n); }

VK_DEFINE_EXP_VECTOR(avx512, VK_AVX512, 512)

VK_AVX512 static void vk_softmax_avx512(float *row, size_t count, float scale) {
    __m512 largest = _mm512_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) largest = _mm512_max_ps(largest, _mm512_loadu_ps(row + i));
    __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
    largest = _mm512_mask_max_ps(largest, tail, largest, _mm512_maskz_loadu_ps(tail, row + i));
    __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(largest));
    __m512 factor = _mm512_set1_ps(scale);
    __m512 total = _mm512_setzero_ps();
    for (i = 0; i + 16 <= count; i += 16) {
        __m512 e = vk_exp_avx512(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + i), top), factor));
        _mm512_storeu_ps(row + i, e);
        total = _mm512_add_ps(total, e);
    }
    if (tail) {
        __m512 e = vk_exp_avx512(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + i), top), factor));
        _mm512_mask_storeu_ps(row + i, tail, e);
        total = _mm512_mask_add_ps(total, tail, total, e);
    }
    __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(total));
    for (i = 0; i + 16 <= count; i += 16) _mm512_storeu_ps(row + i, _mm512_mul_ps(_mm512_loadu_ps(row + i), inverse));
    if (tail) _mm512_mask_storeu_ps(row + i, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + i), inverse));
}

VK_DEFINE_GELU_VECTOR(vk_gelu_avx512, VK_AVX512, 512)

VK_AVX512 static void vk_gelu_f32_avx512(float *values, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(values + i, vk_gelu_avx512(_mm512_loadu_ps(values + i)));
    if (i < count) {
        __mmask16 tail = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(values + i, tail, vk_gelu_avx512(_mm512_maskz_loadu_ps(tail, values + i)));
    }
}

// MARK: - AVX2 + FMA

VK_AVX2 static inline __m256 vk_round_avx2(__m256 x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// 2^n built in the exponent field; n >= -126 after the clamp, so the result is normal.
VK_AVX2 static inline __m256 vk_times_power_of_two_avx2(__m256 p, __m256 n) {
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

VK_DEFINE_EXP_VECTOR(avx2, VK_AVX2, 256)

VK_AVX2 static inline float vk_sum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

VK_AVX2 static void vk_softmax_avx2(float *row, size_t count, float scale) {
    float largest = -INFINITY;
    __m256 top8 = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) top8 = _mm256_max_ps(top8, _mm256_loadu_ps(row + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, top8);
    for (int l = 0; l < 8; l++) largest = lanes[l] > largest ? lanes[l] : largest;
    for (size_t t = i; t < count; t++) largest = row[t] > largest ? row[t] : largest;
    __m256 top = _mm256_set1_ps(largest), factor = _mm256_set1_ps(scale);
    __m256 total = _mm256_setzero_ps();
    for (i = 0; i + 8 <= count; i += 8) {
        __m256 e = vk_exp_avx2(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + i), top), factor));
        _mm256_storeu_ps(row + i, e);
        total = _mm256_add_ps(total, e);
    }
    if (i < count) {
        __m256i mask = vk_first_lanes_avx2((int)(count - i));
        __m256 e = vk_exp_avx2(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(row + i, mask), top), factor));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        _mm256_maskstore_ps(row + i, mask, e);
        total = _mm256_add_ps(total, e);
    }
    __m256 inverse = _mm256_set1_ps(1.0f / vk_sum_avx2(total));
    for (i = 0; i + 8 <= count; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), inverse));
    if (i < count) {
        __m256i mask = vk_first_lanes_avx2((int)(count - i));
        _mm256_maskstore_ps(row + i, mask, _mm256_mul_ps(_mm256_maskload_ps(row + i, mask), inverse));
    }
}

VK_DEFINE_GELU_VECTOR(vk_gelu_avx2, VK_AVX2, 256)

VK_AVX2 static void vk_gelu_f32_avx2(float *values, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(values + i, vk_gelu_avx2(_mm256_loadu_ps(values + i)));
    for (; i < count; i++) values[i] = vk_gelu_scalar(values[i]);
}

#endif

// MARK: - Entry points

static void vk_softmax_row(float *row, size_t count, float scale, vk_simd_level level) {
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) {
        vk_softmax_avx512(row, count, scale);
        return;
    }
    if (level == VK_SIMD_AVX2) {
        vk_softmax_avx2(row, count, scale);
        return;
    }
#endif
    (void)level;
    vk_softmax_scalar(row, count, scale);
}

void vk_softmax_rows_f32(float *_Nullable matrix, size_t rows, size_t columns, float scale, vk_simd_level level) {
    if (!matrix || columns == 0) return;
    for (size_t r = 0; r < rows; r++) vk_softmax_row(matrix + r * columns, columns, scale, level);
}

void vk_gelu_f32(float *_Nullable values, size_t count, vk_simd_level level) {
    if (!values || count == 0) return;
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) {
        vk_gelu_f32_avx512(values, count);
        return;
    }
    if (level == VK_SIMD_AVX2) {
        vk_gelu_f32_avx2(values, count);
        return;
    }
#endif
    (void)level;
    for (size_t i = 0; i < count; i++) values[i] = vk_gelu_scalar(values[i]);
}

static size_t vk_panels(size_t columns) { return (columns + VK_GEMM_PANEL - 1) / VK_GEMM_PANEL; }

size_t vk_attention_scratch_count(size_t length, size_t head_size) {
    return length * length + vk_panels(length) * head_size * VK_GEMM_PANEL
        + vk_panels(head_size) * length * VK_GEMM_PANEL;
}

// Packs the k x n matrix B[p][j] = source[p * row_step + j * column_step] as the B operand of
// vk_gemm_packed_f32: panels of VK_GEMM_PANEL columns, each k rows, zero-padded past the last column.
static void vk_pack(const float *source, size_t k, size_t n, size_t row_step, size_t column_step, float *panels) {
    size_t count = vk_panels(n);
    for (size_t panel = 0; panel < count; panel++) {
        size_t first = panel * VK_GEMM_PANEL;
        size_t width = n - first < VK_GEMM_PANEL ? n - first : VK_GEMM_PANEL;
        float *target = panels + panel * k * VK_GEMM_PANEL;
        for (size_t p = 0; p < k; p++) {
            float *line = target + p * VK_GEMM_PANEL;
            const float *from = source + p * row_step + first * column_step;
            if (column_step == 1) {
                memcpy(line, from, width * sizeof(float));
            } else {
                for (size_t l = 0; l < width; l++) line[l] = from[l * column_step];
            }
            memset(line + width, 0, (VK_GEMM_PANEL - width) * sizeof(float));
        }
    }
}

void vk_attention_head_f32(size_t length, size_t head_size, const float *_Nullable query,
                           const float *_Nullable key, const float *_Nullable value, size_t stride, float scale,
                           float *_Nullable output, size_t output_stride, float *_Nullable scratch,
                           vk_simd_level level) {
    if (length == 0 || head_size == 0 || !query || !key || !value || !output || !scratch) return;
    float *scores = scratch;
    float *keys = scores + length * length;
    float *values = keys + vk_panels(length) * head_size * VK_GEMM_PANEL;
    vk_pack(key, head_size, length, 1, stride, keys);  // B = keyᵀ
    vk_pack(value, length, head_size, stride, 1, values);
    memset(scores, 0, length * length * sizeof(float));
    vk_gemm_packed_f32(length, length, head_size, query, stride, keys, scores, length, level);
    vk_softmax_rows_f32(scores, length, length, scale, level);
    for (size_t r = 0; r < length; r++) memset(output + r * output_stride, 0, head_size * sizeof(float));
    vk_gemm_packed_f32(length, head_size, length, scores, length, values, output, output_stride, level);
}
