// Dropout masks from the Philox-4x32-10 stream, the same numbers Swift's `Philox` draws.
//
// Word p of stream (seed, stream) is lane p % 4 of the block at counter p / 4; the uniform is
// (word >> 8) · 2⁻²⁴ and the element is kept when that is below `keep`. Blocks are
// independent, so clang vectorises the loop over them (four 32×32→64-bit products per AVX2
// instruction), which makes a mask several times cheaper than drawing word by word.
#include "chain_kernels.h"
#include "cpu_features.h"

CHAIN_INLINE void philox_block(uint64_t counter, uint64_t stream, uint64_t seed, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

CHAIN_INLINE float mask_value(uint32_t word, float keep, float scale) {
    return (float)(word >> 8) * 0x1p-24f < keep ? scale : 0.0f;
}

CHAIN_INLINE void chain_dropout_mask_body(uint64_t seed, uint64_t stream, uint64_t position, int64_t count,
                                          float keep, float scale, float *mask) {
    int64_t i = 0;
    uint32_t words[4];
    // Leading words up to a block boundary, then whole blocks, then the tail.
    while (i < count && ((position + (uint64_t)i) & 3) != 0) {
        uint64_t p = position + (uint64_t)i;
        philox_block(p >> 2, stream, seed, words);
        mask[i] = mask_value(words[p & 3], keep, scale);
        i++;
    }
    int64_t blocks = (count - i) / 4;
    uint64_t first = (position + (uint64_t)i) >> 2;
    float *out = mask + i;
    for (int64_t b = 0; b < blocks; b++) {
        uint32_t w[4];
        philox_block(first + (uint64_t)b, stream, seed, w);
        out[4 * b] = mask_value(w[0], keep, scale);
        out[4 * b + 1] = mask_value(w[1], keep, scale);
        out[4 * b + 2] = mask_value(w[2], keep, scale);
        out[4 * b + 3] = mask_value(w[3], keep, scale);
    }
    i += 4 * blocks;
    while (i < count) {
        uint64_t p = position + (uint64_t)i;
        philox_block(p >> 2, stream, seed, words);
        mask[i] = mask_value(words[p & 3], keep, scale);
        i++;
    }
}
CHAIN_DISPATCH(void, chain_dropout_mask,
               (uint64_t seed, uint64_t stream, uint64_t position, int64_t count, float keep, float scale, float *mask),
               (seed, stream, position, count, keep, scale, mask))
