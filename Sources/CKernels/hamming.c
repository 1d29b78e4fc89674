#include "chain_kernels.h"

/* Items are counted per distance in four interleaved histograms (item j goes to lane j % 4):
 * consecutive increments of one counter would otherwise wait on each other through memory
 * (distances of random codes cluster around bits/2). The items before j at distance d are
 * then lane0[d] + lane1[d] + lane2[d] + lane3[d], needed only at the (rare) relevant items. */
#define LANES 4
#define SCAN_BODY(POPCOUNT)                                                                          \
    int64_t hits = 0, stride = bits_plus_one;                                                        \
    for (int64_t i = 0; i < LANES * stride; i++) lanes[i] = 0;                                       \
    for (int64_t j = 0; j < n; j++) {                                                                \
        const uint64_t *item = database + j * words;                                                 \
        int64_t d = 0;                                                                               \
        if (words == 1) d = POPCOUNT(query[0] ^ item[0]);                                            \
        else for (int64_t w = 0; w < words; w++) d += POPCOUNT(query[w] ^ item[w]);                  \
        if (j == skip) continue;                                                                     \
        if (__builtin_expect(relevant[j] != 0, 0)) {                                                 \
            int64_t seen = 0;                                                                        \
            for (int64_t l = 0; l < LANES; l++) seen += lanes[l * stride + d];                       \
            hit_distance[hits] = (int32_t)d;                                                         \
            hit_seen[hits] = seen;                                                                   \
            hit_seen_relevant[hits] = relevant_count[d];                                             \
            hits++;                                                                                  \
            relevant_count[d]++;                                                                     \
        }                                                                                            \
        lanes[(j & (LANES - 1)) * stride + d]++;                                                     \
    }                                                                                                \
    for (int64_t b = 0; b < stride; b++)                                                             \
        for (int64_t l = 0; l < LANES; l++) count[b] += lanes[l * stride + b];                       \
    return hits;

#define SCAN_PARAMETERS                                                                              \
    const uint64_t *query, const uint64_t *database, int64_t words, int64_t n,                       \
    const uint8_t *relevant, int64_t skip,                                                           \
    int64_t *count, int64_t *relevant_count, int64_t bits_plus_one, int64_t *lanes,                  \
    int32_t *hit_distance, int64_t *hit_seen, int64_t *hit_seen_relevant

static int64_t scan_generic(SCAN_PARAMETERS) { SCAN_BODY(__builtin_popcountll) }

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static int64_t scan_popcnt(SCAN_PARAMETERS) { SCAN_BODY(__builtin_popcountll) }
#endif

int64_t chain_hamming_scan(SCAN_PARAMETERS) {
#if defined(__x86_64__)
    static int has_popcnt = -1;
    if (has_popcnt < 0) { __builtin_cpu_init(); has_popcnt = __builtin_cpu_supports("popcnt") ? 1 : 0; }
    if (has_popcnt)
        return scan_popcnt(query, database, words, n, relevant, skip, count, relevant_count, bits_plus_one, lanes,
                           hit_distance, hit_seen, hit_seen_relevant);
#endif
    return scan_generic(query, database, words, n, relevant, skip, count, relevant_count, bits_plus_one, lanes,
                        hit_distance, hit_seen, hit_seen_relevant);
}
