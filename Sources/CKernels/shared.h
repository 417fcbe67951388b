// Private to CKernels: what the kernel files share. ISA code opts in per function with target attributes, never
// with -m flags, so the package builds for any x86-64 and runs the fastest path the CPU has.
#ifndef CKERNELS_SHARED_H
#define CKERNELS_SHARED_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define VK_AVX2 __attribute__((target("avx2,fma")))
#define VK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define VK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))

// The lanes below `count` of an 8-lane register, as a maskload/maskstore mask: none when `count` <= 0, all from 8 on.
VK_AVX2 static inline __m256i vk_first_lanes_avx2(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The lanes below `count` of a 16-lane register: none when `count` <= 0, all from 16 on.
VK_AVX512 static inline __mmask16 vk_first_lanes_avx512(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : (count <= 0 ? 0 : (__mmask16)((1u << count) - 1));
}
#endif

// Rows scored per block before the top-k threshold test: small enough for the scores to stay in L1, large
// enough that one allow-list word covers the block.
#define VK_BLOCK_ROWS 64

// The end of the scan block that starts at `row`: blocks end on 64-row boundaries, so that one allow-list word
// covers each.
static inline size_t vk_block_end(size_t row, size_t row_end) {
    size_t end = (row & ~(size_t)(VK_BLOCK_ROWS - 1)) + VK_BLOCK_ROWS;
    return end < row_end ? end : row_end;
}

// The first row, from `row` on, of a block that holds an allowed row (`allowed` NULL allows every row), or
// `row_end` when no block does: a scan skips blocks whose allow-list bits from their first row on are all zero.
static inline size_t vk_next_allowed_block(size_t row, size_t row_end, const uint64_t *allowed) {
    while (row < row_end && allowed && (allowed[row >> 6] >> (row & 63)) == 0) row = vk_block_end(row, row_end);
    return row;
}

#endif
