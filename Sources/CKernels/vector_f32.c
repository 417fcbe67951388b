#include "CKernels.h"
#include "shared.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// f32 distance kernels for the flat vector index, at three levels chosen at run time: AVX-512, AVX2+FMA and a
// portable scalar loop. ISA code opts in per function with target attributes, never with -m flags, so the
// package builds for any x86-64 and runs the fastest path the CPU has.

_Static_assert(sizeof(vk_hit) == 16, "vk_hit is shared with Swift and must stay 16 bytes");
_Static_assert(offsetof(vk_hit, id) == 8, "vk_hit.id must sit at offset 8");

// MARK: - Scalar

static float vk_dot_scalar(const float *a, const float *b, size_t count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < count; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float vk_l2sq_scalar(const float *a, const float *b, size_t count) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= count; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < count; i++) {
        float d = a[i] - b[i];
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

static void vk_block_scalar(const float *q, const float *rows, size_t dim, size_t n, int l2, float *out) {
    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * dim;
        out[r] = l2 ? -vk_l2sq_scalar(q, row, dim) : vk_dot_scalar(q, row, dim);
    }
}

// MARK: - Top-k heap

// Whether `a` ranks after `b`: lower score, or the same score and a higher id.
static inline int vk_worse(const vk_hit *a, const vk_hit *b) {
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void vk_sift_down(vk_hit *heap, size_t count, size_t i) {
    vk_hit item = heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= count) break;
        if (child + 1 < count && vk_worse(&heap[child + 1], &heap[child])) child++;
        if (!vk_worse(&heap[child], &item)) break;
        heap[i] = heap[child];
        i = child;
    }
    heap[i] = item;
}

static void vk_sift_up(vk_hit *heap, size_t i) {
    vk_hit item = heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!vk_worse(&item, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = item;
}

size_t vk_heap_offer(vk_hit *_Nonnull heap, size_t count, size_t k, vk_hit hit) {
    if (count < k) {
        heap[count] = hit;
        vk_sift_up(heap, count);
        return count + 1;
    }
    if (k > 0 && vk_worse(&heap[0], &hit)) {
        heap[0] = hit;
        vk_sift_down(heap, k, 0);
    }
    return count;
}

// The lowest score that can still enter: the worst kept score once the heap is full (an equal score may
// still enter on a lower id), else the caller's minimum.
static inline float vk_threshold(const vk_hit *heap, size_t count, size_t k, float minimum) {
    return (count == k && heap[0].score > minimum) ? heap[0].score : minimum;
}

static inline size_t vk_offer_one(float s, size_t row, const uint64_t *ids, const uint64_t *allowed,
                                  float minimum, vk_hit *heap, size_t count, size_t k) {
    if (s < vk_threshold(heap, count, k, minimum)) return count;
    if (allowed && !((allowed[row >> 6] >> (row & 63)) & 1)) return count;
    vk_hit hit = {s, (uint32_t)row, ids[row]};
    return vk_heap_offer(heap, count, k, hit);
}

#if defined(__x86_64__)

// MARK: - AVX2 + FMA

// The horizontal sums of four accumulators at once (two rounds of hadd). Single rows use the same tree with
// zeros beside them, so a row scores bit for bit the same whether it is scanned alone or in a group of four.
VK_AVX2 static inline __m128 vk_reduce4_avx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

VK_AVX2 static inline __m256 vk_masked_load_avx2(const float *values, __m256i mask) {
    return _mm256_maskload_ps(values, mask);
}

// One bit per score of the 8 at `scores`: whether it is at least `threshold`.
VK_AVX2 static inline unsigned vk_at_least_avx2(const float *scores, float threshold) {
    __m256 above = _mm256_cmp_ps(_mm256_loadu_ps(scores), _mm256_set1_ps(threshold), _CMP_GE_OQ);
    return (unsigned)_mm256_movemask_ps(above);
}

// MARK: - AVX-512

// As vk_reduce4_avx2: halve each accumulator to 256 bits, then the same hadd tree.
VK_AVX512 static inline __m128 vk_reduce4_avx512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m256 r0 = _mm256_add_ps(_mm512_castps512_ps256(a0), _mm512_extractf32x8_ps(a0, 1));
    __m256 r1 = _mm256_add_ps(_mm512_castps512_ps256(a1), _mm512_extractf32x8_ps(a1, 1));
    __m256 r2 = _mm256_add_ps(_mm512_castps512_ps256(a2), _mm512_extractf32x8_ps(a2, 1));
    __m256 r3 = _mm256_add_ps(_mm512_castps512_ps256(a3), _mm512_extractf32x8_ps(a3, 1));
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(r0, r1), _mm256_hadd_ps(r2, r3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

VK_AVX512 static inline __m512 vk_masked_load_avx512(const float *values, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, values);
}

// One bit per score of the 16 at `scores`: whether it is at least `threshold`.
VK_AVX512 static inline unsigned vk_at_least_avx512(const float *scores, float threshold) {
    return _mm512_cmp_ps_mask(_mm512_loadu_ps(scores), _mm512_set1_ps(threshold), _CMP_GE_OQ);
}

// MARK: - Kernels at both widths

// One definition of the scan kernels for both register widths, from the primitives above and in shared.h: ISA is
// avx2 or avx512 (naming vk_reduce4_<ISA>, vk_first_lanes_<ISA>, vk_masked_load_<ISA> and vk_at_least_<ISA>),
// BITS 256 or 512 (the register type __m<BITS> and the intrinsics _mm<BITS>_*), MASK the type of a tail mask, and
// PREFETCH whether the four-row pass prefetches a few rows ahead, which keeps the AVX-512 stream ahead of its FMAs
// on both cores. Defines vk_one_<ISA> (one pair of vectors), vk_block_<ISA> (one query against n rows) and
// vk_offer_scores_<ISA> (a block of scores into the top-k heap).
#define VK_DEFINE_SCAN_KERNELS(ISA, ATTRIBUTE, BITS, MASK, PREFETCH)                                                   \
    /* One term of the sum: q*b for a dot product, (q-b)^2 for L2. */                                                  \
    ATTRIBUTE static inline __attribute__((always_inline)) __m##BITS vk_term_##ISA(__m##BITS acc, __m##BITS q,         \
                                                                                  __m##BITS b, const int l2) {         \
        if (l2) {                                                                                                      \
            __m##BITS d = _mm##BITS##_sub_ps(q, b);                                                                    \
            return _mm##BITS##_fmadd_ps(d, d, acc);                                                                    \
        }                                                                                                              \
        return _mm##BITS##_fmadd_ps(q, b, acc);                                                                        \
    }                                                                                                                  \
                                                                                                                       \
    ATTRIBUTE static inline float vk_one_##ISA(const float *q, const float *b, size_t dim, const int l2) {             \
        const size_t lanes = BITS / 32;                                                                                \
        __m##BITS a0 = _mm##BITS##_setzero_ps(), a1 = _mm##BITS##_setzero_ps();                                        \
        size_t j = 0;                                                                                                  \
        for (; j + 2 * lanes <= dim; j += 2 * lanes) {                                                                 \
            a0 = vk_term_##ISA(a0, _mm##BITS##_loadu_ps(q + j), _mm##BITS##_loadu_ps(b + j), l2);                      \
            a1 = vk_term_##ISA(a1, _mm##BITS##_loadu_ps(q + j + lanes), _mm##BITS##_loadu_ps(b + j + lanes), l2);      \
        }                                                                                                              \
        for (; j + lanes <= dim; j += lanes) {                                                                         \
            a0 = vk_term_##ISA(a0, _mm##BITS##_loadu_ps(q + j), _mm##BITS##_loadu_ps(b + j), l2);                      \
        }                                                                                                              \
        if (j < dim) {                                                                                                 \
            MASK m = vk_first_lanes_##ISA((int)(dim - j));                                                             \
            a1 = vk_term_##ISA(a1, vk_masked_load_##ISA(q + j, m), vk_masked_load_##ISA(b + j, m), l2);                \
        }                                                                                                              \
        __m##BITS zero = _mm##BITS##_setzero_ps();                                                                     \
        return _mm_cvtss_f32(vk_reduce4_##ISA(_mm##BITS##_add_ps(a0, a1), zero, zero, zero));                          \
    }                                                                                                                  \
                                                                                                                       \
    /* Four rows per pass, two accumulators per row: eight independent FMA chains hide the FMA latency, and the        \
       query is loaded once for four rows. */                                                                          \
    ATTRIBUTE static inline void vk_block_##ISA##_impl(const float *q, const float *rows, size_t dim, size_t n,        \
                                                       float *out, const int l2) {                                     \
        const size_t lanes = BITS / 32, ahead = 8 * dim;                                                               \
        size_t r = 0;                                                                                                  \
        for (; r + 4 <= n; r += 4) {                                                                                   \
            const float *b0 = rows + r * dim, *b1 = b0 + dim, *b2 = b1 + dim, *b3 = b2 + dim;                          \
            __m##BITS a0 = _mm##BITS##_setzero_ps(), a1 = _mm##BITS##_setzero_ps(), a2 = _mm##BITS##_setzero_ps(),     \
                      a3 = _mm##BITS##_setzero_ps();                                                                   \
            __m##BITS c0 = _mm##BITS##_setzero_ps(), c1 = _mm##BITS##_setzero_ps(), c2 = _mm##BITS##_setzero_ps(),     \
                      c3 = _mm##BITS##_setzero_ps();                                                                   \
            size_t j = 0;                                                                                              \
            for (; j + 2 * lanes <= dim; j += 2 * lanes) {                                                             \
                if (PREFETCH) {                                                                                        \
                    _mm_prefetch((const char *)(b0 + ahead + j), _MM_HINT_T0);                                         \
                    _mm_prefetch((const char *)(b1 + ahead + j), _MM_HINT_T0);                                         \
                    _mm_prefetch((const char *)(b2 + ahead + j), _MM_HINT_T0);                                         \
                    _mm_prefetch((const char *)(b3 + ahead + j), _MM_HINT_T0);                                         \
                }                                                                                                      \
                __m##BITS q0 = _mm##BITS##_loadu_ps(q + j), q1 = _mm##BITS##_loadu_ps(q + j + lanes);                  \
                a0 = vk_term_##ISA(a0, q0, _mm##BITS##_loadu_ps(b0 + j), l2);                                          \
                a1 = vk_term_##ISA(a1, q0, _mm##BITS##_loadu_ps(b1 + j), l2);                                          \
                a2 = vk_term_##ISA(a2, q0, _mm##BITS##_loadu_ps(b2 + j), l2);                                          \
                a3 = vk_term_##ISA(a3, q0, _mm##BITS##_loadu_ps(b3 + j), l2);                                          \
                c0 = vk_term_##ISA(c0, q1, _mm##BITS##_loadu_ps(b0 + j + lanes), l2);                                  \
                c1 = vk_term_##ISA(c1, q1, _mm##BITS##_loadu_ps(b1 + j + lanes), l2);                                  \
                c2 = vk_term_##ISA(c2, q1, _mm##BITS##_loadu_ps(b2 + j + lanes), l2);                                  \
                c3 = vk_term_##ISA(c3, q1, _mm##BITS##_loadu_ps(b3 + j + lanes), l2);                                  \
            }                                                                                                          \
            for (; j + lanes <= dim; j += lanes) {                                                                     \
                __m##BITS q0 = _mm##BITS##_loadu_ps(q + j);                                                            \
                a0 = vk_term_##ISA(a0, q0, _mm##BITS##_loadu_ps(b0 + j), l2);                                          \
                a1 = vk_term_##ISA(a1, q0, _mm##BITS##_loadu_ps(b1 + j), l2);                                          \
                a2 = vk_term_##ISA(a2, q0, _mm##BITS##_loadu_ps(b2 + j), l2);                                          \
                a3 = vk_term_##ISA(a3, q0, _mm##BITS##_loadu_ps(b3 + j), l2);                                          \
            }                                                                                                          \
            if (j < dim) {                                                                                             \
                MASK m = vk_first_lanes_##ISA((int)(dim - j));                                                         \
                __m##BITS q0 = vk_masked_load_##ISA(q + j, m);                                                         \
                c0 = vk_term_##ISA(c0, q0, vk_masked_load_##ISA(b0 + j, m), l2);                                       \
                c1 = vk_term_##ISA(c1, q0, vk_masked_load_##ISA(b1 + j, m), l2);                                       \
                c2 = vk_term_##ISA(c2, q0, vk_masked_load_##ISA(b2 + j, m), l2);                                       \
                c3 = vk_term_##ISA(c3, q0, vk_masked_load_##ISA(b3 + j, m), l2);                                       \
            }                                                                                                          \
            __m128 sums = vk_reduce4_##ISA(_mm##BITS##_add_ps(a0, c0), _mm##BITS##_add_ps(a1, c1),                     \
                                           _mm##BITS##_add_ps(a2, c2), _mm##BITS##_add_ps(a3, c3));                    \
            if (l2) sums = _mm_sub_ps(_mm_setzero_ps(), sums);                                                         \
            _mm_storeu_ps(out + r, sums);                                                                              \
        }                                                                                                              \
        for (; r < n; r++) {                                                                                           \
            float s = vk_one_##ISA(q, rows + r * dim, dim, l2);                                                        \
            out[r] = l2 ? -s : s;                                                                                      \
        }                                                                                                              \
    }                                                                                                                  \
                                                                                                                       \
    ATTRIBUTE static void vk_block_##ISA(const float *q, const float *rows, size_t dim, size_t n, int l2,              \
                                         float *out) {                                                                 \
        if (l2) vk_block_##ISA##_impl(q, rows, dim, n, out, 1);                                                        \
        else vk_block_##ISA##_impl(q, rows, dim, n, out, 0);                                                           \
    }                                                                                                                  \
                                                                                                                       \
    /* Most scores of a long scan fall below the threshold: compare a register of them at a time and only walk         \
       the survivors. */                                                                                               \
    ATTRIBUTE static size_t vk_offer_scores_##ISA(const float *scores, size_t n, size_t first_row,                     \
                                                  const uint64_t *ids, const uint64_t *allowed, float minimum,         \
                                                  vk_hit *heap, size_t count, size_t k) {                              \
        const size_t lanes = BITS / 32;                                                                                \
        size_t i = 0;                                                                                                  \
        for (; i + lanes <= n; i += lanes) {                                                                           \
            unsigned mask = vk_at_least_##ISA(scores + i, vk_threshold(heap, count, k, minimum));                      \
            while (mask) {                                                                                             \
                size_t lane = (size_t)__builtin_ctz(mask);                                                             \
                mask &= mask - 1;                                                                                      \
                count = vk_offer_one(scores[i + lane], first_row + i + lane, ids, allowed, minimum, heap, count, k);   \
            }                                                                                                          \
        }                                                                                                              \
        for (; i < n; i++) count = vk_offer_one(scores[i], first_row + i, ids, allowed, minimum, heap, count, k);      \
        return count;                                                                                                  \
    }

VK_DEFINE_SCAN_KERNELS(avx2, VK_AVX2, 256, __m256i, 0)
VK_DEFINE_SCAN_KERNELS(avx512, VK_AVX512, 512, __mmask16, 1)
#endif

// MARK: - Dispatch

typedef void (*vk_block_fn)(const float *, const float *, size_t, size_t, int, float *);

static vk_block_fn vk_block_for(vk_simd_level level) {
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) return vk_block_avx512;
    if (level == VK_SIMD_AVX2) return vk_block_avx2;
#endif
    (void)level;
    return vk_block_scalar;
}

// One pair of vectors: the dot product, or the squared L2 distance when `l2` is set.
static float vk_pair_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level,
                         int l2) {
    if (count == 0 || !a || !b) return 0;
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) return vk_one_avx512(a, b, count, l2);
    if (level == VK_SIMD_AVX2) return vk_one_avx2(a, b, count, l2);
#endif
    return l2 ? vk_l2sq_scalar(a, b, count) : vk_dot_scalar(a, b, count);
}

float vk_dot_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level) {
    return vk_pair_f32(a, b, count, level, 0);
}

float vk_l2sq_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level) {
    return vk_pair_f32(a, b, count, level, 1);
}

void vk_scores_f32(const float *_Nullable query, const float *_Nullable rows, size_t dim, size_t count,
                   vk_metric metric, vk_simd_level level, float *_Nullable scores) {
    if (count == 0 || !query || !rows || !scores) return;
    vk_block_for(level)(query, rows, dim, count, metric == VK_METRIC_L2, scores);
}

size_t vk_offer_scores(const float *_Nonnull scores, size_t n, size_t first_row, const uint64_t *_Nonnull ids,
                       const uint64_t *_Nullable allowed, float minimum, vk_hit *_Nonnull heap, size_t count,
                       size_t k, vk_simd_level level) {
    if (k == 0) return count;
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) {
        return vk_offer_scores_avx512(scores, n, first_row, ids, allowed, minimum, heap, count, k);
    }
    if (level == VK_SIMD_AVX2) {
        return vk_offer_scores_avx2(scores, n, first_row, ids, allowed, minimum, heap, count, k);
    }
#endif
    (void)level;
    for (size_t i = 0; i < n; i++) {
        count = vk_offer_one(scores[i], first_row + i, ids, allowed, minimum, heap, count, k);
    }
    return count;
}

size_t vk_scan_topk_f32(const float *_Nonnull query, const float *_Nonnull rows, size_t dim, size_t row_begin,
                        size_t row_end, vk_metric metric, const uint64_t *_Nonnull ids,
                        const uint64_t *_Nullable allowed, float minimum, vk_hit *_Nonnull heap, size_t count,
                        size_t k, vk_simd_level level) {
    float scores[VK_BLOCK_ROWS];
    vk_block_fn block = vk_block_for(level);
    int l2 = metric == VK_METRIC_L2;
    size_t row = row_begin;
    while ((row = vk_next_allowed_block(row, row_end, allowed)) < row_end) {
        size_t end = vk_block_end(row, row_end);
        block(query, rows + row * dim, dim, end - row, l2, scores);
        count = vk_offer_scores(scores, end - row, row, ids, allowed, minimum, heap, count, k, level);
        row = end;
    }
    return count;
}

void vk_scan_topk_f32_batch(const float *_Nonnull queries, size_t query_count, const float *_Nonnull rows,
                            size_t dim, size_t row_begin, size_t row_end, vk_metric metric,
                            const uint64_t *_Nonnull ids, const uint64_t *_Nullable allowed, float minimum,
                            vk_hit *_Nonnull heaps, size_t *_Nonnull counts, size_t k, vk_simd_level level) {
    float scores[VK_BLOCK_ROWS];
    vk_block_fn block = vk_block_for(level);
    int l2 = metric == VK_METRIC_L2;
    size_t sub_rows = (8192 / dim) & ~(size_t)3;
    if (sub_rows < 4) sub_rows = 4;
    if (sub_rows > VK_BLOCK_ROWS) sub_rows = VK_BLOCK_ROWS;
    size_t row = row_begin;
    while ((row = vk_next_allowed_block(row, row_end, allowed)) < row_end) {
        size_t end = vk_block_end(row, row_end);
        // Sub-blocks of about 32 KiB are read from memory once, by the first query; the other queries find
        // them in L1 (or L2 for very wide rows).
        for (size_t sub = row; sub < end; sub += sub_rows) {
            size_t n = end - sub < sub_rows ? end - sub : sub_rows;
            for (size_t q = 0; q < query_count; q++) {
                block(queries + q * dim, rows + sub * dim, dim, n, l2, scores);
                counts[q] = vk_offer_scores(scores, n, sub, ids, allowed, minimum, heaps + q * k, counts[q], k, level);
            }
        }
        row = end;
    }
}

size_t vk_tile_topk(const float *_Nonnull products, size_t n, size_t first_row, vk_metric metric,
                    const float *_Nullable norms, float query_norm, const uint64_t *_Nonnull ids,
                    const uint64_t *_Nullable allowed, float minimum, vk_hit *_Nonnull heap, size_t count, size_t k,
                    vk_simd_level level) {
    if (metric != VK_METRIC_L2 || !norms) {
        return vk_offer_scores(products, n, first_row, ids, allowed, minimum, heap, count, k, level);
    }
    // -(|q|^2 - 2 q.b + |b|^2), converted a block at a time so the threshold test stays vectorized.
    float scores[VK_BLOCK_ROWS];
    for (size_t i = 0; i < n; i += VK_BLOCK_ROWS) {
        size_t m = n - i < VK_BLOCK_ROWS ? n - i : VK_BLOCK_ROWS;
        for (size_t j = 0; j < m; j++) {
            scores[j] = 2.0f * products[i + j] - norms[first_row + i + j] - query_norm;
        }
        count = vk_offer_scores(scores, m, first_row + i, ids, allowed, minimum, heap, count, k, level);
    }
    return count;
}

// MARK: - Selection for large k

static int vk_hit_compare(const void *lhs, const void *rhs) {
    const vk_hit *a = lhs, *b = rhs;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

// Hoare quickselect on rank: afterwards hits[0..<k] are the k best, in no particular order. Ranks form a
// strict total order (ids are unique), so every partition makes progress.
static void vk_select(vk_hit *hits, ptrdiff_t n, ptrdiff_t k) {
    ptrdiff_t lo = 0, hi = n - 1;
    while (lo < hi) {
        vk_hit pivot = hits[lo + (hi - lo) / 2];
        ptrdiff_t i = lo - 1, j = hi + 1;
        for (;;) {
            do i++;
            while (vk_worse(&pivot, &hits[i]));
            do j--;
            while (vk_worse(&hits[j], &pivot));
            if (i >= j) break;
            vk_hit t = hits[i];
            hits[i] = hits[j];
            hits[j] = t;
        }
        if (k - 1 <= j) hi = j;
        else lo = j + 1;
    }
}

void vk_select_hits(vk_hit *_Nullable hits, size_t n, size_t k) {
    if (!hits || n == 0) return;
    if (k > n) k = n;
    if (k < n) vk_select(hits, (ptrdiff_t)n, (ptrdiff_t)k);
    qsort(hits, k, sizeof(vk_hit), vk_hit_compare);
}
