#include "CKernels.h"
#include "shared.h"

#include <math.h>

// int8 scalar quantization for the flat index. A row is stored as unsigned codes c = round(x / s) + 128 with
// one scale s = max|x| / 127 per row; a query as signed q = round(y / t). Then
//     sum((c - 128) * q) = sum(c * q) - 128 * sum(q),
// which is exactly what AVX-512 VNNI's vpdpbusd (unsigned x signed bytes) computes, with the correction fixed
// per query. Every level computes the same integers, so approximate scores agree bit for bit across levels.

// max|x| of a vector: the quantization scale is this / 127.
static float vk_largest_magnitude(const float *values, size_t dim) {
    float largest = 0;
    for (size_t i = 0; i < dim; i++) largest = fmaxf(largest, fabsf(values[i]));
    return largest;
}

// round(x * inverse), clamped to -127...127 (the clamp only catches rounding at the largest component).
static inline int32_t vk_quantize_value(float x, float inverse) {
    long code = lrintf(x * inverse);
    if (code > 127) code = 127;
    if (code < -127) code = -127;
    return (int32_t)code;
}

float vk_quantize_row_u8(const float *_Nullable values, size_t dim, uint8_t *_Nullable codes) {
    if (!values || !codes || dim == 0) return 0;
    float largest = vk_largest_magnitude(values, dim);
    float inverse = largest == 0 ? 0 : 127.0f / largest;  // an all-zero row gets codes of 128 and scale 0
    for (size_t i = 0; i < dim; i++) codes[i] = (uint8_t)(vk_quantize_value(values[i], inverse) + 128);
    return largest / 127.0f;
}

float vk_quantize_query_s8(const float *_Nullable values, size_t dim, int8_t *_Nullable codes,
                           int32_t *_Nullable sum) {
    if (sum) *sum = 0;
    if (!values || !codes || dim == 0) return 0;
    float largest = vk_largest_magnitude(values, dim);
    float inverse = largest == 0 ? 0 : 127.0f / largest;  // an all-zero query gets codes of 0 and scale 0
    int32_t total = 0;
    for (size_t i = 0; i < dim; i++) {
        int32_t code = vk_quantize_value(values[i], inverse);
        codes[i] = (int8_t)code;
        total += code;
    }
    if (sum) *sum = total;
    return largest / 127.0f;
}

// Each kernel writes sum(c * q) for n rows; the caller subtracts 128 * sum(q).
static void vk_i8_block_scalar(const int8_t *q, const uint8_t *codes, size_t dim, size_t n, int32_t *out) {
    for (size_t r = 0; r < n; r++) {
        const uint8_t *row = codes + r * dim;
        int32_t s = 0;
        for (size_t j = 0; j < dim; j++) s += (int32_t)row[j] * (int32_t)q[j];
        out[r] = s;
    }
}

#if defined(__x86_64__)

VK_AVX2 static inline int32_t vk_hsum_epi32_256(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Bytes widened to 16 bits and multiplied with vpmaddwd: no saturation (unlike vpmaddubsw).
VK_AVX2 static void vk_i8_block_avx2(const int8_t *q, const uint8_t *codes, size_t dim, size_t n, int32_t *out) {
    for (size_t r = 0; r < n; r++) {
        const uint8_t *row = codes + r * dim;
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        size_t j = 0;
        for (; j + 32 <= dim; j += 32) {
            __m256i q0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + j)));
            __m256i q1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + j + 16)));
            __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + j)));
            __m256i c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + j + 16)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(c0, q0));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(c1, q1));
        }
        int32_t s = vk_hsum_epi32_256(_mm256_add_epi32(a0, a1));
        for (; j < dim; j++) s += (int32_t)row[j] * (int32_t)q[j];
        out[r] = s;
    }
}

// The four horizontal sums of four accumulators at once: halve each to 256 bits, then two rounds of hadd.
VK_VNNI static inline __m128i vk_reduce4_epi32(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m256i r0 = _mm256_add_epi32(_mm512_castsi512_si256(a0), _mm512_extracti64x4_epi64(a0, 1));
    __m256i r1 = _mm256_add_epi32(_mm512_castsi512_si256(a1), _mm512_extracti64x4_epi64(a1, 1));
    __m256i r2 = _mm256_add_epi32(_mm512_castsi512_si256(a2), _mm512_extracti64x4_epi64(a2, 1));
    __m256i r3 = _mm256_add_epi32(_mm512_castsi512_si256(a3), _mm512_extracti64x4_epi64(a3, 1));
    __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(r0, r1), _mm256_hadd_epi32(r2, r3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// vpdpbusd: 64 unsigned-by-signed byte products per instruction, four rows per pass, prefetching ahead.
VK_VNNI static void vk_i8_block_vnni(const int8_t *q, const uint8_t *codes, size_t dim, size_t n, int32_t *out) {
    size_t r = 0;
    size_t full = dim & ~(size_t)63;
    __mmask64 tail = dim == full ? 0 : (~(__mmask64)0 >> (64 - (dim - full)));
    for (; r + 4 <= n; r += 4) {
        const uint8_t *b0 = codes + r * dim, *b1 = b0 + dim, *b2 = b1 + dim, *b3 = b2 + dim;
        __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512(), a2 = _mm512_setzero_si512(),
                a3 = _mm512_setzero_si512();
        size_t j = 0;
        for (; j < full; j += 64) {
            _mm_prefetch((const char *)(b0 + 8 * dim + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(b2 + 8 * dim + j), _MM_HINT_T0);
            __m512i qv = _mm512_loadu_si512((const void *)(q + j));
            a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512((const void *)(b0 + j)), qv);
            a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512((const void *)(b1 + j)), qv);
            a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512((const void *)(b2 + j)), qv);
            a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512((const void *)(b3 + j)), qv);
        }
        if (tail) {
            __m512i qv = _mm512_maskz_loadu_epi8(tail, q + j);
            a0 = _mm512_dpbusd_epi32(a0, _mm512_maskz_loadu_epi8(tail, b0 + j), qv);
            a1 = _mm512_dpbusd_epi32(a1, _mm512_maskz_loadu_epi8(tail, b1 + j), qv);
            a2 = _mm512_dpbusd_epi32(a2, _mm512_maskz_loadu_epi8(tail, b2 + j), qv);
            a3 = _mm512_dpbusd_epi32(a3, _mm512_maskz_loadu_epi8(tail, b3 + j), qv);
        }
        _mm_storeu_si128((__m128i *)(out + r), vk_reduce4_epi32(a0, a1, a2, a3));
    }
    for (; r < n; r++) {
        const uint8_t *b0 = codes + r * dim;
        __m512i a0 = _mm512_setzero_si512();
        size_t j = 0;
        for (; j < full; j += 64) {
            a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512((const void *)(b0 + j)),
                                     _mm512_loadu_si512((const void *)(q + j)));
        }
        if (tail) {
            a0 = _mm512_dpbusd_epi32(a0, _mm512_maskz_loadu_epi8(tail, b0 + j), _mm512_maskz_loadu_epi8(tail, q + j));
        }
        out[r] = _mm512_reduce_add_epi32(a0);
    }
}
#endif

typedef void (*vk_i8_block_fn)(const int8_t *, const uint8_t *, size_t, size_t, int32_t *);

static vk_i8_block_fn vk_i8_block_for(vk_simd_level level) {
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512 && vk_cpu_has_avx512_vnni()) return vk_i8_block_vnni;
    if (level >= VK_SIMD_AVX2) return vk_i8_block_avx2;
#endif
    (void)level;
    return vk_i8_block_scalar;
}

void vk_dot_i8(const int8_t *_Nullable query, int32_t query_sum, const uint8_t *_Nullable codes, size_t dim,
               size_t count, vk_simd_level level, int32_t *_Nullable dots) {
    if (!query || !codes || !dots || count == 0) return;
    vk_i8_block_for(level)(query, codes, dim, count, dots);
    for (size_t r = 0; r < count; r++) dots[r] -= 128 * query_sum;
}

size_t vk_scan_topk_i8(const int8_t *_Nonnull query, int32_t query_sum, float query_scale,
                       const uint8_t *_Nonnull codes, const float *_Nonnull scales, size_t dim, size_t row_begin,
                       size_t row_end, vk_metric metric, const float *_Nullable norms, float query_norm,
                       const uint64_t *_Nonnull ids, const uint64_t *_Nullable allowed, vk_hit *_Nonnull heap,
                       size_t count, size_t k, vk_simd_level level) {
    int32_t dots[VK_BLOCK_ROWS];
    float scores[VK_BLOCK_ROWS];
    vk_i8_block_fn block = vk_i8_block_for(level);
    int l2 = metric == VK_METRIC_L2 && norms;
    int32_t correction = 128 * query_sum;
    size_t row = row_begin;
    while ((row = vk_next_allowed_block(row, row_end, allowed)) < row_end) {
        size_t end = vk_block_end(row, row_end);
        size_t n = end - row;
        block(query, codes + row * dim, dim, n, dots);
        for (size_t i = 0; i < n; i++) {
            float dot = (float)(dots[i] - correction) * (scales[row + i] * query_scale);
            scores[i] = l2 ? 2.0f * dot - norms[row + i] - query_norm : dot;
        }
        count = vk_offer_scores(scores, n, row, ids, allowed, -INFINITY, heap, count, k, level);
        row = end;
    }
    return count;
}
