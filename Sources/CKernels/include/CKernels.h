// CKernels: the C kernels behind Memp's indexes. Not a stable API: reach them only through the Swift wrappers.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !__has_feature(nullability)
#define _Nullable
#define _Nonnull
#endif

/// Instruction-set levels a kernel can run at, slowest first.
typedef enum vk_simd_level { VK_SIMD_SCALAR = 0, VK_SIMD_AVX2 = 1, VK_SIMD_AVX512 = 2 } vk_simd_level;

/// The fastest level this CPU and operating system support (AVX-512 needs avx512f+bw+vl+dq, AVX2 needs avx2+fma).
vk_simd_level vk_detect_simd_level(void);

/// Whether the CPU has AVX-512 VNNI (int8 dot products), used by the int8 kernels at the AVX-512 level.
int vk_cpu_has_avx512_vnni(void);

/// The number of CPU features vk_cpu_feature_mask reports.
size_t vk_cpu_feature_count(void);

/// The name of feature `index` ("avx2", "avx512vnni", ...), or NULL past the end.
const char *_Nullable vk_cpu_feature_name(size_t index);

/// One bit per feature, in vk_cpu_feature_name order, set when the CPU reports it (before checking OS support).
uint32_t vk_cpu_feature_mask(void);

/// The path of the shared object containing `address` (dladdr), or NULL. The string lives as long as the object.
const char *_Nullable vk_shared_object_of(const void *_Nullable address);

/// Whether the CPU has the SSE 4.2 CRC32 instruction.
int vk_cpu_has_sse42(void);

/// CRC-32C (Castagnoli) of `count` bytes, continuing from `crc` (start with 0).
/// `bytes` may be NULL only when `count` is 0.
uint32_t vk_crc32c(uint32_t crc, const void *_Nullable bytes, size_t count);

/// The CRC-32C of A followed by B, from crc_a = vk_crc32c(0, A), crc_b = vk_crc32c(0, B) and B's length, so that
/// parts of a buffer can be checksummed on several threads. O(log count_b).
uint32_t vk_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t count_b);


// MARK: - Flat vector index kernels (vector_f32.c, vector_i8.c)
//
// Pointers may be NULL only where marked _Nullable, and then only with a count of 0. `level` must be one the
// CPU supports. The Swift wrappers check lengths, levels and finiteness before calling, so no kernel fails.

/// How rows are compared: inner product (also cosine, on normalized rows) or L2, scored as -|q - b|^2.
typedef enum vk_metric { VK_METRIC_IP = 0, VK_METRIC_L2 = 1 } vk_metric;

/// One candidate of a top-k selection: its score, its row in the index, and its external id.
typedef struct vk_hit {
    float score;
    uint32_t row;
    uint64_t id;
} vk_hit;

/// Dot product of two `count`-float vectors.
float vk_dot_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level);

/// Squared L2 distance between two `count`-float vectors.
float vk_l2sq_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level);

/// Scores one query against `count` contiguous rows of `dim` floats: dot products, or -|q - b|^2 for L2.
void vk_scores_f32(const float *_Nullable query, const float *_Nullable rows, size_t dim, size_t count,
                   vk_metric metric, vk_simd_level level, float *_Nullable scores);

/// Offers one hit to a bounded min-heap of capacity `k` holding `count` hits (root = the worst kept hit:
/// lowest score, then highest id). Returns the new count.
size_t vk_heap_offer(vk_hit *_Nonnull heap, size_t count, size_t k, vk_hit hit);

/// Offers `n` precomputed scores of rows `first_row ..< first_row + n` to the heap, skipping rows whose bit in
/// `allowed` (one bit per row, NULL = all) is clear and scores below `minimum`. Returns the new heap count.
size_t vk_offer_scores(const float *_Nonnull scores, size_t n, size_t first_row, const uint64_t *_Nonnull ids,
                       const uint64_t *_Nullable allowed, float minimum, vk_hit *_Nonnull heap, size_t count,
                       size_t k, vk_simd_level level);

/// Scans rows `row_begin ..< row_end` of `rows` against `query`, fusing scoring with the top-k threshold test
/// so scores never leave a 64-row stack block. Blocks whose `allowed` bits are all clear are skipped unread.
/// Returns the new heap count.
size_t vk_scan_topk_f32(const float *_Nonnull query, const float *_Nonnull rows, size_t dim, size_t row_begin,
                        size_t row_end, vk_metric metric, const uint64_t *_Nonnull ids,
                        const uint64_t *_Nullable allowed, float minimum, vk_hit *_Nonnull heap, size_t count,
                        size_t k, vk_simd_level level);

/// vk_scan_topk_f32 for `query_count` queries at once (row-major in `queries`): each 64-row block is read from
/// memory once and scored against every query while it is in cache. Query q's heap is `heaps + q * k`, with
/// `counts[q]` hits, updated in place.
void vk_scan_topk_f32_batch(const float *_Nonnull queries, size_t query_count, const float *_Nonnull rows,
                            size_t dim, size_t row_begin, size_t row_end, vk_metric metric,
                            const uint64_t *_Nonnull ids, const uint64_t *_Nullable allowed, float minimum,
                            vk_hit *_Nonnull heaps, size_t *_Nonnull counts, size_t k, vk_simd_level level);

/// Offers one row of a BLAS product tile (`n` dot products of one query with rows `first_row ..< + n`) to the
/// heap. For L2, `norms` holds |b|^2 per row and `query_norm` |q|^2, and the score is -(|q|^2 - 2q.b + |b|^2).
size_t vk_tile_topk(const float *_Nonnull products, size_t n, size_t first_row, vk_metric metric,
                    const float *_Nullable norms, float query_norm, const uint64_t *_Nonnull ids,
                    const uint64_t *_Nullable allowed, float minimum, vk_hit *_Nonnull heap, size_t count, size_t k,
                    vk_simd_level level);

/// Reorders `hits` so that the best min(k, n) come first, sorted best first (score desc, then id asc).
void vk_select_hits(vk_hit *_Nullable hits, size_t n, size_t k);

/// Quantizes one row to unsigned codes round(x / s) + 128 and returns the scale s = max|x| / 127 (0 for a
/// zero row).
float vk_quantize_row_u8(const float *_Nullable values, size_t dim, uint8_t *_Nullable codes);

/// Quantizes a query to signed codes round(y / t); returns t and stores the sum of the codes in `sum`.
float vk_quantize_query_s8(const float *_Nullable values, size_t dim, int8_t *_Nullable codes,
                           int32_t *_Nullable sum);

/// Integer dot products sum((c - 128) * q) of a quantized query with `count` rows of codes.
void vk_dot_i8(const int8_t *_Nullable query, int32_t query_sum, const uint8_t *_Nullable codes, size_t dim,
               size_t count, vk_simd_level level, int32_t *_Nullable dots);

/// The int8 counterpart of vk_scan_topk_f32: approximate scores scales[r] * query_scale * dot for inner
/// product, or 2 dot - norms[r] - query_norm for L2, offered to a heap of candidates for exact rescoring.
size_t vk_scan_topk_i8(const int8_t *_Nonnull query, int32_t query_sum, float query_scale,
                       const uint8_t *_Nonnull codes, const float *_Nonnull scales, size_t dim, size_t row_begin,
                       size_t row_end, vk_metric metric, const float *_Nullable norms, float query_norm,
                       const uint64_t *_Nonnull ids, const uint64_t *_Nullable allowed, vk_hit *_Nonnull heap,
                       size_t count, size_t k, vk_simd_level level);

// MARK: - Matrix products with few rows (gemm_f32.c)

/// Columns per panel of a packed B.
#define VK_GEMM_PANEL 32

/// C (rows x n) += A (rows x k) * B (k x n). A and C are row-major with leading dimensions `lda` and `ldc` (in
/// floats); B is packed: ceil(n / VK_GEMM_PANEL) panels, panel j holding columns j*32 ..< j*32 + 32 as k rows
/// of 32 contiguous floats (zero past column n). Made for a few dozen rows: B is read once, each panel reused
/// from cache by every block of rows. To split the work across threads, give each a disjoint range of panels
/// (offset `b` by whole panels and `c` by their first column, pass the range's width as `n`).
void vk_gemm_packed_f32(size_t rows, size_t n, size_t k, const float *_Nullable a, size_t lda,
                        const float *_Nullable b, float *_Nullable c, size_t ldc, vk_simd_level level);

// MARK: - Encoder steps (encoder_f32.c)

/// Softmax of each row of a row-major `rows x columns` matrix of scores, in place, of `scale * score`
/// (`scale > 0`): the attention weights. The exponential has a relative error of about 1 ulp.
void vk_softmax_rows_f32(float *_Nullable matrix, size_t rows, size_t columns, float scale, vk_simd_level level);

/// Exact GELU, x/2 * (1 + erf(x / sqrt 2)), of `count` floats in place; erf's absolute error is below 5e-7.
void vk_gelu_f32(float *_Nullable values, size_t count, vk_simd_level level);

/// Floats of scratch vk_attention_head_f32 needs for a sequence of `length` tokens.
size_t vk_attention_scratch_count(size_t length, size_t head_size);

/// Scaled dot-product attention of one head over one sequence: output = softmax(scale * Q K^T) V, where Q, K
/// and V are `length x head_size` with row stride `stride` (floats), and output rows have stride
/// `output_stride`. Two packed products (vk_gemm_packed_f32) and a vectorized softmax; `scratch` holds
/// vk_attention_scratch_count(length, head_size) floats. Single-threaded: callers split heads across threads.
void vk_attention_head_f32(size_t length, size_t head_size, const float *_Nullable query,
                           const float *_Nullable key, const float *_Nullable value, size_t stride, float scale,
                           float *_Nullable output, size_t output_stride, float *_Nullable scratch,
                           vk_simd_level level);

#ifdef __cplusplus
}
#endif
#endif
