#include "CKernels.h"

// The CPU features `memp doctor` reports, one bit each in the order of vk_cpu_feature_names.

static const char *const vk_cpu_feature_names[] = {
    "sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512vnni",
};

size_t vk_cpu_feature_count(void) { return sizeof(vk_cpu_feature_names) / sizeof(vk_cpu_feature_names[0]); }

const char *_Nullable vk_cpu_feature_name(size_t index) {
    return index < vk_cpu_feature_count() ? vk_cpu_feature_names[index] : 0;
}

uint32_t vk_cpu_feature_mask(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    uint32_t mask = 0;
    mask |= (uint32_t)(__builtin_cpu_supports("sse4.2") != 0) << 0;
    mask |= (uint32_t)(__builtin_cpu_supports("avx") != 0) << 1;
    mask |= (uint32_t)(__builtin_cpu_supports("avx2") != 0) << 2;
    mask |= (uint32_t)(__builtin_cpu_supports("fma") != 0) << 3;
    mask |= (uint32_t)(__builtin_cpu_supports("avx512f") != 0) << 4;
    mask |= (uint32_t)(__builtin_cpu_supports("avx512bw") != 0) << 5;
    mask |= (uint32_t)(__builtin_cpu_supports("avx512vl") != 0) << 6;
    mask |= (uint32_t)(__builtin_cpu_supports("avx512dq") != 0) << 7;
    mask |= (uint32_t)(__builtin_cpu_supports("avx512vnni") != 0) << 8;
    return mask;
#else
    return 0;
#endif
}
