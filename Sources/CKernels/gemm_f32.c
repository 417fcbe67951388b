#include "CKernels.h"
#include "shared.h"

// Matrix products with few rows: the token states of one short text times a layer's weights. BLAS packs the
// whole weight matrix into its own layout on every call, which for a handful of rows costs as much as the
// product. Here B is packed once, when the weights are loaded: its columns are cut into panels of 32, each
// stored contiguously row after row (k x 32 floats, zero-padded past the last column), so a panel streams
// from memory at full speed and stays in cache for every block of rows of A. B is read from memory exactly
// once per call.

// Rows of A per register block: 6 x 2 accumulators (zmm over 32 columns at AVX-512, ymm over 16 at AVX2).
#define VK_GEMM_ROWS 6

// Cache blocking for many rows (a batch of long texts has thousands): the product runs over slices of
// VK_GEMM_DEPTH rows of B (32 KiB of a panel, kept in L1 while every block of rows passes over it) and blocks
// of VK_GEMM_BLOCK rows of A (VK_GEMM_BLOCK x VK_GEMM_DEPTH floats, 192 KiB, kept in L2 while every panel passes
// over them). Without it each panel streamed the whole of A from L3 or memory. A few rows are one block.
#define VK_GEMM_DEPTH 256
#define VK_GEMM_BLOCK 192

// MARK: - Scalar

static void vk_gemm_scalar(size_t rows, size_t n, size_t k, const float *a, size_t lda, const float *b, float *c,
                           size_t ldc) {
    for (size_t j = 0; j < n; j += VK_GEMM_PANEL) {
        const float *panel = b + (j / VK_GEMM_PANEL) * k * VK_GEMM_PANEL;
        size_t width = n - j < VK_GEMM_PANEL ? n - j : VK_GEMM_PANEL;
        for (size_t r = 0; r < rows; r++) {
            float *out = c + r * ldc + j;
            for (size_t p = 0; p < k; p++) {
                float x = a[r * lda + p];
                const float *row = panel + p * VK_GEMM_PANEL;
                for (size_t l = 0; l < width; l++) out[l] += x * row[l];
            }
        }
    }
}

#if defined(__x86_64__)

// MARK: - AVX-512 and AVX2 + FMA

// Adds `sum` to the output lanes enabled by `mask`.
VK_AVX512 static inline void vk_gemm_accumulate_avx512(float *out, __mmask16 mask, __m512 sum) {
    _mm512_mask_storeu_ps(out, mask, _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), sum));
}

VK_AVX2 static inline void vk_gemm_accumulate_avx2(float *out, __m256i mask, __m256 sum) {
    _mm256_maskstore_ps(out, mask, _mm256_add_ps(_mm256_maskload_ps(out, mask), sum));
}

// One definition of the register blocking for both widths: ISA is avx512 or avx2 (naming
// vk_gemm_accumulate_<ISA>), BITS 512 or 256 (the register type __m<BITS> and the intrinsics _mm<BITS>_*), MASK
// the type of an output mask. vk_gemm_block_<ISA> multiplies `mr` rows of A by two registers' width of columns
// (32 at AVX-512, 16 at AVX2) of one panel, `b` pointing at the first, into the output lanes enabled by `m0` and
// `m1`; vk_gemm_rows_<ISA> does so for every row of A.
#define VK_DEFINE_GEMM_ROWS(ISA, ATTRIBUTE, BITS, MASK)                                                                \
    ATTRIBUTE static inline __attribute__((always_inline)) void vk_gemm_block_##ISA(                                   \
        int mr, size_t k, const float *a, size_t lda, const float *b, float *c, size_t ldc, MASK m0, MASK m1) {        \
        const size_t lanes = BITS / 32;                                                                                \
        __m##BITS low[VK_GEMM_ROWS], high[VK_GEMM_ROWS];                                                               \
        for (int r = 0; r < mr; r++) {                                                                                 \
            low[r] = _mm##BITS##_setzero_ps();                                                                         \
            high[r] = _mm##BITS##_setzero_ps();                                                                        \
        }                                                                                                              \
        for (size_t p = 0; p < k; p++) {                                                                               \
            __m##BITS b0 = _mm##BITS##_loadu_ps(b + p * VK_GEMM_PANEL);                                                \
            __m##BITS b1 = _mm##BITS##_loadu_ps(b + p * VK_GEMM_PANEL + lanes);                                        \
            for (int r = 0; r < mr; r++) {                                                                             \
                __m##BITS x = _mm##BITS##_set1_ps(a[r * lda + p]);                                                     \
                low[r] = _mm##BITS##_fmadd_ps(x, b0, low[r]);                                                          \
                high[r] = _mm##BITS##_fmadd_ps(x, b1, high[r]);                                                        \
            }                                                                                                          \
        }                                                                                                              \
        for (int r = 0; r < mr; r++) {                                                                                 \
            vk_gemm_accumulate_##ISA(c + r * ldc, m0, low[r]);                                                         \
            vk_gemm_accumulate_##ISA(c + r * ldc + lanes, m1, high[r]);                                                \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    ATTRIBUTE static inline void vk_gemm_rows_##ISA(size_t rows, size_t k, const float *a, size_t lda,                 \
                                                    const float *b, float *c, size_t ldc, MASK m0, MASK m1) {          \
        size_t r = 0;                                                                                                  \
        for (; r + VK_GEMM_ROWS <= rows; r += VK_GEMM_ROWS)                                                            \
            vk_gemm_block_##ISA(VK_GEMM_ROWS, k, a + r * lda, lda, b, c + r * ldc, ldc, m0, m1);                       \
        /* Constant row counts, so that each tail block keeps its accumulators in registers. */                        \
        switch (rows - r) {                                                                                            \
        case 5: vk_gemm_block_##ISA(5, k, a + r * lda, lda, b, c + r * ldc, ldc, m0, m1); break;                       \
        case 4: vk_gemm_block_##ISA(4, k, a + r * lda, lda, b, c + r * ldc, ldc, m0, m1); break;                       \
        case 3: vk_gemm_block_##ISA(3, k, a + r * lda, lda, b, c + r * ldc, ldc, m0, m1); break;                       \
        case 2: vk_gemm_block_##ISA(2, k, a + r * lda, lda, b, c + r * ldc, ldc, m0, m1); break;                       \
        case 1: vk_gemm_block_##ISA(1, k, a + r * lda, lda, b, c + r * ldc, ldc, m0, m1); break;                       \
        default: break;                                                                                                \
        }                                                                                                              \
    }

VK_DEFINE_GEMM_ROWS(avx512, VK_AVX512, 512, __mmask16)
VK_DEFINE_GEMM_ROWS(avx2, VK_AVX2, 256, __m256i)

// One slice: `k` rows of every panel starting at `b`, consecutive panels `panel_stride` floats apart.
VK_AVX512 static void vk_gemm_slice_avx512(size_t rows, size_t n, size_t k, const float *a, size_t lda,
                                           const float *b, size_t panel_stride, float *c, size_t ldc) {
    for (size_t j = 0; j < n; j += VK_GEMM_PANEL) {
        const float *panel = b + (j / VK_GEMM_PANEL) * panel_stride;
        size_t width = n - j < VK_GEMM_PANEL ? n - j : VK_GEMM_PANEL;
        vk_gemm_rows_avx512(rows, k, a, lda, panel, c + j, ldc, vk_first_lanes_avx512((int)width),
                            vk_first_lanes_avx512((int)width - 16));
    }
}

VK_AVX2 static void vk_gemm_slice_avx2(size_t rows, size_t n, size_t k, const float *a, size_t lda, const float *b,
                                       size_t panel_stride, float *c, size_t ldc) {
    for (size_t j = 0; j < n; j += 16) {
        // Two 16-column halves per panel.
        const float *half = b + (j / VK_GEMM_PANEL) * panel_stride + j % VK_GEMM_PANEL;
        int width = (int)(n - j < 16 ? n - j : 16);
        vk_gemm_rows_avx2(rows, k, a, lda, half, c + j, ldc, vk_first_lanes_avx2(width),
                          vk_first_lanes_avx2(width - 8));
    }
}

#endif

void vk_gemm_packed_f32(size_t rows, size_t n, size_t k, const float *_Nullable a, size_t lda,
                        const float *_Nullable b, float *_Nullable c, size_t ldc, vk_simd_level level) {
    if (rows == 0 || n == 0 || k == 0 || !a || !b || !c) return;
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512 || level == VK_SIMD_AVX2) {
        size_t panel_stride = k * VK_GEMM_PANEL;
        for (size_t depth = 0; depth < k; depth += VK_GEMM_DEPTH) {
            size_t slice = k - depth < VK_GEMM_DEPTH ? k - depth : VK_GEMM_DEPTH;
            for (size_t row = 0; row < rows; row += VK_GEMM_BLOCK) {
                size_t block = rows - row < VK_GEMM_BLOCK ? rows - row : VK_GEMM_BLOCK;
                const float *a_block = a + row * lda + depth;
                const float *b_slice = b + depth * VK_GEMM_PANEL;
                if (level == VK_SIMD_AVX512)
                    vk_gemm_slice_avx512(block, n, slice, a_block, lda, b_slice, panel_stride, c + row * ldc, ldc);
                else
                    vk_gemm_slice_avx2(block, n, slice, a_block, lda, b_slice, panel_stride, c + row * ldc, ldc);
            }
        }
        return;
    }
#endif
    (void)level;
    vk_gemm_scalar(rows, n, k, a, lda, b, c, ldc);
}
