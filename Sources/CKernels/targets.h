// Private to CKernels: the instruction-set opt-ins shared by the kernel files. ISA code opts in per function with
// target attributes, never with -m flags, so the package builds for any x86-64 and runs the fastest path the CPU
// has.
#ifndef CKERNELS_TARGETS_H
#define CKERNELS_TARGETS_H

#if defined(__x86_64__)
#include <immintrin.h>

#define VK_AVX2 __attribute__((target("avx2,fma")))
#define VK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define VK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))
#endif

// Rows scored per block before the top-k threshold test: small enough for the scores to stay in L1, large
// enough that one allow-list word covers the block.
#define VK_BLOCK_ROWS 64

#endif
