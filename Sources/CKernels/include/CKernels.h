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

/// Whether the CPU has the SSE 4.2 CRC32 instruction.
int vk_cpu_has_sse42(void);

/// CRC-32C (Castagnoli) of `count` bytes, continuing from `crc` (start with 0).
/// `bytes` may be NULL only when `count` is 0.
uint32_t vk_crc32c(uint32_t crc, const void *_Nullable bytes, size_t count);

#ifdef __cplusplus
}
#endif
#endif
