#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

// XCR0 tells whether the OS saves the wide registers; CPUID alone is not enough under some hypervisors.
static uint64_t vk_xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int vk_os_saves_avx(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27))) return 0;  // OSXSAVE
    return (vk_xgetbv0() & 0x6) == 0x6;
}

static int vk_os_saves_avx512(void) {
    return vk_os_saves_avx() && (vk_xgetbv0() & 0xE6) == 0xE6;
}

vk_simd_level vk_detect_simd_level(void) {
    __builtin_cpu_init();
    if (vk_os_saves_avx512() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        return VK_SIMD_AVX512;
    }
    if (vk_os_saves_avx() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return VK_SIMD_AVX2;
    }
    return VK_SIMD_SCALAR;
}

int vk_cpu_has_avx512_vnni(void) {
    // Asked once per int8 scan: CPUID traps to the hypervisor in a VM, so the answer is kept (every thread
    // computes the same value, so the race is benign).
    static int has_vnni = -1;
    if (has_vnni < 0) {
        __builtin_cpu_init();
        has_vnni = vk_os_saves_avx512() && __builtin_cpu_supports("avx512vnni");
    }
    return has_vnni;
}

int vk_cpu_has_sse42(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

#else
vk_simd_level vk_detect_simd_level(void) { return VK_SIMD_SCALAR; }
int vk_cpu_has_avx512_vnni(void) { return 0; }
int vk_cpu_has_sse42(void) { return 0; }
#endif
