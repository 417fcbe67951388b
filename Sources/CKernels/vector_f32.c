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

#if defined(__x86_64__)

// MARK: - AVX2 + FMA

// One term of the sum: q*b for a dot product, (q-b)^2 for L2.
#define VK_AVX2_TERM(l2, acc, qv, bv)                                                                              \
    do {                                                                                                           \
        if (l2) {                                                                                                  \
            __m256 d_ = _mm256_sub_ps(qv, bv);                                                                     \
            acc = _mm256_fmadd_ps(d_, d_, acc);                                                                    \
        } else {                                                                                                   \
            acc = _mm256_fmadd_ps(qv, bv, acc);                                                                    \
        }                                                                                                          \
    } while (0)

// The horizontal sums of four accumulators at once (two rounds of hadd). Single rows use the same tree with
// zeros beside them, so a row scores bit for bit the same whether it is scanned alone or in a group of four.
VK_AVX2 static inline __m128 vk_reduce4_256(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

VK_AVX2 static inline float vk_reduce1_256(__m256 a) {
    __m256 zero = _mm256_setzero_ps();
    return _mm_cvtss_f32(vk_reduce4_256(a, zero, zero, zero));
}

VK_AVX2 static inline __m256 vk_avx2_tail_mask(size_t remaining) {
    static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(lanes + 8 - remaining)));
}

VK_AVX2 static inline float vk_one_avx2(const float *q, const float *b, size_t dim, const int l2) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= dim; j += 16) {
        VK_AVX2_TERM(l2, a0, _mm256_loadu_ps(q + j), _mm256_loadu_ps(b + j));
        VK_AVX2_TERM(l2, a1, _mm256_loadu_ps(q + j + 8), _mm256_loadu_ps(b + j + 8));
    }
    for (; j + 8 <= dim; j += 8) VK_AVX2_TERM(l2, a0, _mm256_loadu_ps(q + j), _mm256_loadu_ps(b + j));
    if (j < dim) {
        __m256 m = vk_avx2_tail_mask(dim - j);
        __m256 qv = _mm256_maskload_ps(q + j, _mm256_castps_si256(m));
        __m256 bv = _mm256_maskload_ps(b + j, _mm256_castps_si256(m));
        VK_AVX2_TERM(l2, a1, qv, bv);
    }
    return vk_reduce1_256(_mm256_add_ps(a0, a1));
}

// Four rows per pass, two accumulators per row: eight independent FMA chains hide the FMA latency, and the
// query is loaded once for four rows.
VK_AVX2 static inline void vk_block_avx2_impl(const float *q, const float *rows, size_t dim, size_t n, float *out,
                                              const int l2) {
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const float *b0 = rows + r * dim, *b1 = b0 + dim, *b2 = b1 + dim, *b3 = b2 + dim;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
               a3 = _mm256_setzero_ps();
        __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(),
               c3 = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 16 <= dim; j += 16) {
            __m256 q0 = _mm256_loadu_ps(q + j), q1 = _mm256_loadu_ps(q + j + 8);
            VK_AVX2_TERM(l2, a0, q0, _mm256_loadu_ps(b0 + j));
            VK_AVX2_TERM(l2, a1, q0, _mm256_loadu_ps(b1 + j));
            VK_AVX2_TERM(l2, a2, q0, _mm256_loadu_ps(b2 + j));
            VK_AVX2_TERM(l2, a3, q0, _mm256_loadu_ps(b3 + j));
            VK_AVX2_TERM(l2, c0, q1, _mm256_loadu_ps(b0 + j + 8));
            VK_AVX2_TERM(l2, c1, q1, _mm256_loadu_ps(b1 + j + 8));
            VK_AVX2_TERM(l2, c2, q1, _mm256_loadu_ps(b2 + j + 8));
            VK_AVX2_TERM(l2, c3, q1, _mm256_loadu_ps(b3 + j + 8));
        }
        for (; j + 8 <= dim; j += 8) {
            __m256 q0 = _mm256_loadu_ps(q + j);
            VK_AVX2_TERM(l2, a0, q0, _mm256_loadu_ps(b0 + j));
            VK_AVX2_TERM(l2, a1, q0, _mm256_loadu_ps(b1 + j));
            VK_AVX2_TERM(l2, a2, q0, _mm256_loadu_ps(b2 + j));
            VK_AVX2_TERM(l2, a3, q0, _mm256_loadu_ps(b3 + j));
        }
        if (j < dim) {
            __m256i m = _mm256_castps_si256(vk_avx2_tail_mask(dim - j));
            __m256 q0 = _mm256_maskload_ps(q + j, m);
            VK_AVX2_TERM(l2, c0, q0, _mm256_maskload_ps(b0 + j, m));
            VK_AVX2_TERM(l2, c1, q0, _mm256_maskload_ps(b1 + j, m));
            VK_AVX2_TERM(l2, c2, q0, _mm256_maskload_ps(b2 + j, m));
            VK_AVX2_TERM(l2, c3, q0, _mm256_maskload_ps(b3 + j, m));
        }
        __m128 sums = vk_reduce4_256(_mm256_add_ps(a0, c0), _mm256_add_ps(a1, c1), _mm256_add_ps(a2, c2),
                                     _mm256_add_ps(a3, c3));
        if (l2) sums = _mm_sub_ps(_mm_setzero_ps(), sums);
        _mm_storeu_ps(out + r, sums);
    }
    for (; r < n; r++) {
        float s = vk_one_avx2(q, rows + r * dim, dim, l2);
        out[r] = l2 ? -s : s;
    }
}

VK_AVX2 static void vk_block_avx2(const float *q, const float *rows, size_t dim, size_t n, int l2, float *out) {
    if (l2) vk_block_avx2_impl(q, rows, dim, n, out, 1);
    else vk_block_avx2_impl(q, rows, dim, n, out, 0);
}

// MARK: - AVX-512

#define VK_AVX512_TERM(l2, acc, qv, bv)                                                                            \
    do {                                                                                                           \
        if (l2) {                                                                                                  \
            __m512 d_ = _mm512_sub_ps(qv, bv);                                                                     \
            acc = _mm512_fmadd_ps(d_, d_, acc);                                                                    \
        } else {                                                                                                   \
            acc = _mm512_fmadd_ps(qv, bv, acc);                                                                    \
        }                                                                                                          \
    } while (0)

// As vk_reduce4_256: halve each accumulator to 256 bits, then the same hadd tree.
VK_AVX512 static inline __m128 vk_reduce4_512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m256 r0 = _mm256_add_ps(_mm512_castps512_ps256(a0), _mm512_extractf32x8_ps(a0, 1));
    __m256 r1 = _mm256_add_ps(_mm512_castps512_ps256(a1), _mm512_extractf32x8_ps(a1, 1));
    __m256 r2 = _mm256_add_ps(_mm512_castps512_ps256(a2), _mm512_extractf32x8_ps(a2, 1));
    __m256 r3 = _mm256_add_ps(_mm512_castps512_ps256(a3), _mm512_extractf32x8_ps(a3, 1));
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(r0, r1), _mm256_hadd_ps(r2, r3));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

VK_AVX512 static inline float vk_reduce1_512(__m512 a) {
    __m512 zero = _mm512_setzero_ps();
    return _mm_cvtss_f32(vk_reduce4_512(a, zero, zero, zero));
}

VK_AVX512 static inline float vk_one_avx512(const float *q, const float *b, size_t dim, const int l2) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 32 <= dim; j += 32) {
        VK_AVX512_TERM(l2, a0, _mm512_loadu_ps(q + j), _mm512_loadu_ps(b + j));
        VK_AVX512_TERM(l2, a1, _mm512_loadu_ps(q + j + 16), _mm512_loadu_ps(b + j + 16));
    }
    for (; j + 16 <= dim; j += 16) VK_AVX512_TERM(l2, a0, _mm512_loadu_ps(q + j), _mm512_loadu_ps(b + j));
    if (j < dim) {
        __mmask16 m = (__mmask16)((1u << (dim - j)) - 1);
        VK_AVX512_TERM(l2, a1, _mm512_maskz_loadu_ps(m, q + j), _mm512_maskz_loadu_ps(m, b + j));
    }
    return vk_reduce1_512(_mm512_add_ps(a0, a1));
}

// Four rows per pass with two accumulators each (eight FMA chains), the query loaded once per four rows, and
// a prefetch a few rows ahead so the stream stays ahead of the FMAs on both cores.
VK_AVX512 static inline void vk_block_avx512_impl(const float *q, const float *rows, size_t dim, size_t n,
                                                  float *out, const int l2) {
    size_t r = 0;
    const size_t ahead = 8 * dim;
    for (; r + 4 <= n; r += 4) {
        const float *b0 = rows + r * dim, *b1 = b0 + dim, *b2 = b1 + dim, *b3 = b2 + dim;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
               a3 = _mm512_setzero_ps();
        __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(),
               c3 = _mm512_setzero_ps();
        size_t j = 0;
        for (; j + 32 <= dim; j += 32) {
            _mm_prefetch((const char *)(b0 + ahead + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(b1 + ahead + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(b2 + ahead + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(b3 + ahead + j), _MM_HINT_T0);
            __m512 q0 = _mm512_loadu_ps(q + j), q1 = _mm512_loadu_ps(q + j + 16);
            VK_AVX512_TERM(l2, a0, q0, _mm512_loadu_ps(b0 + j));
            VK_AVX512_TERM(l2, a1, q0, _mm512_loadu_ps(b1 + j));
            VK_AVX512_TERM(l2, a2, q0, _mm512_loadu_ps(b2 + j));
            VK_AVX512_TERM(l2, a3, q0, _mm512_loadu_ps(b3 + j));
            VK_AVX512_TERM(l2, c0, q1, _mm512_loadu_ps(b0 + j + 16));
            VK_AVX512_TERM(l2, c1, q1, _mm512_loadu_ps(b1 + j + 16));
            VK_AVX512_TERM(l2, c2, q1, _mm512_loadu_ps(b2 + j + 16));
            VK_AVX512_TERM(l2, c3, q1, _mm512_loadu_ps(b3 + j + 16));
        }
        for (; j + 16 <= dim; j += 16) {
            __m512 q0 = _mm512_loadu_ps(q + j);
            VK_AVX512_TERM(l2, a0, q0, _mm512_loadu_ps(b0 + j));
            VK_AVX512_TERM(l2, a1, q0, _mm512_loadu_ps(b1 + j));
            VK_AVX512_TERM(l2, a2, q0, _mm512_loadu_ps(b2 + j));
            VK_AVX512_TERM(l2, a3, q0, _mm512_loadu_ps(b3 + j));
        }
        if (j < dim) {
            __mmask16 m = (__mmask16)((1u << (dim - j)) - 1);
            __m512 q0 = _mm512_maskz_loadu_ps(m, q + j);
            VK_AVX512_TERM(l2, c0, q0, _mm512_maskz_loadu_ps(m, b0 + j));
            VK_AVX512_TERM(l2, c1, q0, _mm512_maskz_loadu_ps(m, b1 + j));
            VK_AVX512_TERM(l2, c2, q0, _mm512_maskz_loadu_ps(m, b2 + j));
            VK_AVX512_TERM(l2, c3, q0, _mm512_maskz_loadu_ps(m, b3 + j));
        }
        __m128 sums = vk_reduce4_512(_mm512_add_ps(a0, c0), _mm512_add_ps(a1, c1), _mm512_add_ps(a2, c2),
                                     _mm512_add_ps(a3, c3));
        if (l2) sums = _mm_sub_ps(_mm_setzero_ps(), sums);
        _mm_storeu_ps(out + r, sums);
    }
    for (; r < n; r++) {
        float s = vk_one_avx512(q, rows + r * dim, dim, l2);
        out[r] = l2 ? -s : s;
    }
}

VK_AVX512 static void vk_block_avx512(const float *q, const float *rows, size_t dim, size_t n, int l2, float *out) {
    if (l2) vk_block_avx512_impl(q, rows, dim, n, out, 1);
    else vk_block_avx512_impl(q, rows, dim, n, out, 0);
}
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

float vk_dot_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level) {
    if (count == 0 || !a || !b) return 0;
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) return vk_one_avx512(a, b, count, 0);
    if (level == VK_SIMD_AVX2) return vk_one_avx2(a, b, count, 0);
#endif
    return vk_dot_scalar(a, b, count);
}

float vk_l2sq_f32(const float *_Nullable a, const float *_Nullable b, size_t count, vk_simd_level level) {
    if (count == 0 || !a || !b) return 0;
#if defined(__x86_64__)
    if (level == VK_SIMD_AVX512) return vk_one_avx512(a, b, count, 1);
    if (level == VK_SIMD_AVX2) return vk_one_avx2(a, b, count, 1);
#endif
    return vk_l2sq_scalar(a, b, count);
}

void vk_scores_f32(const float *_Nullable query, const float *_Nullable rows, size_t dim, size_t count,
                   vk_metric metric, vk_simd_level level, float *_Nullable scores) {
    if (count == 0 || !query || !rows || !scores) return;
    vk_block_for(level)(query, rows, dim, count, metric == VK_METRIC_L2, scores);
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
// Most scores of a long scan fall below the threshold: compare 16 (or 8) at a time and only walk the survivors.
VK_AVX512 static size_t vk_offer_scores_avx512(const float *scores, size_t n, size_t first_row,
                                               const uint64_t *ids, const uint64_t *allowed, float minimum,
                                               vk_hit *heap, size_t count, size_t k) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 threshold = _mm512_set1_ps(vk_threshold(heap, count, k, minimum));
        unsigned mask = _mm512_cmp_ps_mask(_mm512_loadu_ps(scores + i), threshold, _CMP_GE_OQ);
        while (mask) {
            size_t lane = (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            count = vk_offer_one(scores[i + lane], first_row + i + lane, ids, allowed, minimum, heap, count, k);
        }
    }
    for (; i < n; i++) count = vk_offer_one(scores[i], first_row + i, ids, allowed, minimum, heap, count, k);
    return count;
}

VK_AVX2 static size_t vk_offer_scores_avx2(const float *scores, size_t n, size_t first_row, const uint64_t *ids,
                                           const uint64_t *allowed, float minimum, vk_hit *heap, size_t count,
                                           size_t k) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 threshold = _mm256_set1_ps(vk_threshold(heap, count, k, minimum));
        unsigned mask = (unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_loadu_ps(scores + i), threshold, _CMP_GE_OQ));
        while (mask) {
            size_t lane = (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            count = vk_offer_one(scores[i + lane], first_row + i + lane, ids, allowed, minimum, heap, count, k);
        }
    }
    for (; i < n; i++) count = vk_offer_one(scores[i], first_row + i, ids, allowed, minimum, heap, count, k);
    return count;
}
#endif

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
    while (row < row_end) {
        size_t end = vk_block_end(row, row_end);
        if (!vk_block_has_allowed(allowed, row)) {
            row = end;
            continue;
        }
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
    while (row < row_end) {
        size_t end = vk_block_end(row, row_end);
        if (!vk_block_has_allowed(allowed, row)) {
            row = end;
            continue;
        }
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
