#include "CKernels.h"

// CRC-32C, reflected polynomial 0x82F63B78: the SSE 4.2 crc32 instruction where present, slicing-by-8 tables
// otherwise.
//
// The crc32 instruction takes 3 cycles but can start one per cycle, so one dependent stream runs at a third of
// its speed. Long buffers are therefore cut into chunks of three blocks, CRCed as three independent streams, and
// the three results joined: the CRC register is linear over GF(2), so the CRC of A followed by B is the CRC of A
// shifted through |B| zero bytes, xor the CRC of B started from zero. Shifting through a fixed number of zero
// bytes is itself a linear map of the 32-bit register, applied with four 256-entry tables.

#define VK_CRC32C_POLY 0x82F63B78u

static uint32_t vk_crc32c_table[8][256];
static int vk_crc32c_table_ready = 0;

static void vk_crc32c_init_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ VK_CRC32C_POLY : crc >> 1;
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

// MARK: - Shifting a CRC through zero bytes

// A linear map of the 32-bit register as 32 columns: column i is the image of bit i.
typedef struct vk_gf2_matrix {
    uint32_t column[32];
} vk_gf2_matrix;

static uint32_t vk_gf2_apply(const vk_gf2_matrix *m, uint32_t vector) {
    uint32_t sum = 0;
    for (int i = 0; vector; i++, vector >>= 1)
        if (vector & 1) sum ^= m->column[i];
    return sum;
}

static vk_gf2_matrix vk_gf2_square(const vk_gf2_matrix *m) {
    vk_gf2_matrix square;
    for (int i = 0; i < 32; i++) square.column[i] = vk_gf2_apply(m, m->column[i]);
    return square;
}

// The map that runs the register through one zero byte.
static vk_gf2_matrix vk_gf2_zero_byte(void) {
    vk_gf2_matrix bit;  // one zero bit: shift right, folding bit 0 back in as the polynomial
    bit.column[0] = VK_CRC32C_POLY;
    for (int i = 1; i < 32; i++) bit.column[i] = 1u << (i - 1);
    vk_gf2_matrix two = vk_gf2_square(&bit), four = vk_gf2_square(&two);
    return vk_gf2_square(&four);
}

// The register run through `count` zero bytes, by repeated squaring: O(log count) 32 x 32 products.
static uint32_t vk_crc32c_shift(uint32_t crc, uint64_t count) {
    vk_gf2_matrix power = vk_gf2_zero_byte();
    while (count) {
        if (count & 1) crc = vk_gf2_apply(&power, crc);
        count >>= 1;
        if (count) power = vk_gf2_square(&power);
    }
    return crc;
}

uint32_t vk_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t count_b) {
    // The initial and final inversions of the finished CRCs cancel out: crc(A B) = shift(crc(A), |B|) ^ crc(B).
    return vk_crc32c_shift(crc_a, count_b) ^ crc_b;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

// Bytes per stream of a three-stream chunk.
#define VK_CRC32C_BLOCK 4096

// vk_crc32c_shift by VK_CRC32C_BLOCK bytes, one table per byte of the register.
static uint32_t vk_crc32c_block_shift[4][256];
static int vk_crc32c_block_shift_ready = 0;

static void vk_crc32c_init_block_shift(void) {
    vk_gf2_matrix power = vk_gf2_zero_byte();
    for (uint32_t bytes = 1; bytes < VK_CRC32C_BLOCK; bytes <<= 1) power = vk_gf2_square(&power);
    for (int k = 0; k < 4; k++)
        for (uint32_t n = 0; n < 256; n++) vk_crc32c_block_shift[k][n] = vk_gf2_apply(&power, n << (8 * k));
    __atomic_store_n(&vk_crc32c_block_shift_ready, 1, __ATOMIC_RELEASE);
}

static inline uint32_t vk_crc32c_shift_block(uint32_t crc) {
    return vk_crc32c_block_shift[0][crc & 0xFF] ^ vk_crc32c_block_shift[1][(crc >> 8) & 0xFF]
        ^ vk_crc32c_block_shift[2][(crc >> 16) & 0xFF] ^ vk_crc32c_block_shift[3][crc >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t vk_crc32c_sse42(uint32_t crc, const unsigned char *p,
                                                                     size_t count) {
    uint64_t c0 = crc;
    while (count > 0 && ((uintptr_t)p & 7)) {
        c0 = _mm_crc32_u8((uint32_t)c0, *p++);
        count--;
    }
    if (count >= 3 * VK_CRC32C_BLOCK && !__atomic_load_n(&vk_crc32c_block_shift_ready, __ATOMIC_ACQUIRE))
        vk_crc32c_init_block_shift();
    while (count >= 3 * VK_CRC32C_BLOCK) {
        uint64_t c1 = 0, c2 = 0;
        for (size_t i = 0; i < VK_CRC32C_BLOCK; i += 8) {
            uint64_t w0, w1, w2;
            __builtin_memcpy(&w0, p + i, 8);
            __builtin_memcpy(&w1, p + VK_CRC32C_BLOCK + i, 8);
            __builtin_memcpy(&w2, p + 2 * VK_CRC32C_BLOCK + i, 8);
            c0 = _mm_crc32_u64(c0, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
        }
        c0 = vk_crc32c_shift_block(vk_crc32c_shift_block((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * VK_CRC32C_BLOCK;
        count -= 3 * VK_CRC32C_BLOCK;
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
