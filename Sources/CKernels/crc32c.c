#include "CKernels.h"

// CRC-32C, reflected polynomial 0x82F63B78: the SSE 4.2 crc32 instruction (about 8 GB/s on one stream) where
// present, slicing-by-8 tables otherwise.

static uint32_t vk_crc32c_table[8][256];
static int vk_crc32c_table_ready = 0;

static void vk_crc32c_init_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        vk_crc32c_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = vk_crc32c_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = vk_crc32c_table[0][crc & 0xFF] ^ (crc >> 8);
            vk_crc32c_table[k][n] = crc;
        }
    }
    __atomic_store_n(&vk_crc32c_table_ready, 1, __ATOMIC_RELEASE);
}

// Slicing-by-8 over the table; the portable fallback.
static uint32_t vk_crc32c_scalar(uint32_t crc, const unsigned char *p, size_t count) {
    if (!__atomic_load_n(&vk_crc32c_table_ready, __ATOMIC_ACQUIRE)) vk_crc32c_init_table();
    while (count >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        word ^= crc;
        crc = vk_crc32c_table[7][word & 0xFF] ^ vk_crc32c_table[6][(word >> 8) & 0xFF]
            ^ vk_crc32c_table[5][(word >> 16) & 0xFF] ^ vk_crc32c_table[4][(word >> 24) & 0xFF]
            ^ vk_crc32c_table[3][(word >> 32) & 0xFF] ^ vk_crc32c_table[2][(word >> 40) & 0xFF]
            ^ vk_crc32c_table[1][(word >> 48) & 0xFF] ^ vk_crc32c_table[0][word >> 56];
        p += 8;
        count -= 8;
    }
    while (count--) crc = vk_crc32c_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t vk_crc32c_sse42(uint32_t crc, const unsigned char *p,
                                                                     size_t count) {
    uint64_t c0 = crc;
    while (count > 0 && ((uintptr_t)p & 7)) {
        c0 = _mm_crc32_u8((uint32_t)c0, *p++);
        count--;
    }
    while (count >= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        c0 = _mm_crc32_u64(c0, w);
        p += 8;
        count -= 8;
    }
    while (count--) c0 = _mm_crc32_u8((uint32_t)c0, *p++);
    return (uint32_t)c0;
}
#endif

uint32_t vk_crc32c(uint32_t crc, const void *_Nullable bytes, size_t count) {
    if (count == 0 || bytes == 0) return crc;
    crc = ~crc;
#if defined(__x86_64__)
    static int has_sse42 = -1;
    if (has_sse42 < 0) has_sse42 = vk_cpu_has_sse42();
    if (has_sse42) return ~vk_crc32c_sse42(crc, (const unsigned char *)bytes, count);
#endif
    return ~vk_crc32c_scalar(crc, (const unsigned char *)bytes, count);
}
