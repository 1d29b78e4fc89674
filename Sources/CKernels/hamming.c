#include "chain_kernels.h"

#define SCAN_BODY(POPCOUNT)                                                                          \
    int64_t hits = 0;                                                                                \
    /* Only the query's non-zero label words can intersect: usually one of them. */                  \
    int64_t used[64], used_count = 0;                                                                \
    for (int64_t w = 0; w < label_words; w++)                                                        \
        if (query_labels[w] && used_count < 64) used[used_count++] = w;                              \
    if (label_words > 64) { used_count = label_words; }                                              \
    for (int64_t j = 0; j < n; j++) {                                                                \
        const uint64_t *item = database + j * words;                                                 \
        int64_t d = 0;                                                                               \
        for (int64_t w = 0; w < words; w++) d += POPCOUNT(query[w] ^ item[w]);                       \
        int rel;                                                                                     \
        if (db_class) {                                                                              \
            rel = db_class[j] == query_class;                                                        \
        } else {                                                                                     \
            const uint64_t *labels = database_labels + j * label_words;                              \
            rel = 0;                                                                                 \
            if (label_words > 64) {                                                                  \
                for (int64_t w = 0; w < label_words; w++) if (query_labels[w] & labels[w]) { rel = 1; break; } \
            } else {                                                                                 \
                for (int64_t u = 0; u < used_count; u++)                                             \
                    if (query_labels[used[u]] & labels[used[u]]) { rel = 1; break; }                 \
            }                                                                                        \
        }                                                                                            \
        if (j == skip) continue;                                                                     \
        if (rel) {                                                                                   \
            hit_distance[hits] = (int32_t)d;                                                         \
            hit_seen[hits] = count[d];                                                               \
            hit_seen_relevant[hits] = relevant_count[d];                                             \
            hits++;                                                                                  \
            relevant_count[d]++;                                                                     \
        }                                                                                            \
        count[d]++;                                                                                  \
    }                                                                                                \
    return hits;

static int64_t scan_generic(const uint64_t *query, const uint64_t *database, int64_t words, int64_t n,
                            const uint64_t *query_labels, const uint64_t *database_labels, int64_t label_words,
                            const int32_t *db_class, int32_t query_class, int64_t skip,
                            int64_t *count, int64_t *relevant_count,
                            int32_t *hit_distance, int64_t *hit_seen, int64_t *hit_seen_relevant) {
    SCAN_BODY(__builtin_popcountll)
}

#if defined(__x86_64__)
__attribute__((target("popcnt")))
static int64_t scan_popcnt(const uint64_t *query, const uint64_t *database, int64_t words, int64_t n,
                           const uint64_t *query_labels, const uint64_t *database_labels, int64_t label_words,
                           const int32_t *db_class, int32_t query_class, int64_t skip,
                           int64_t *count, int64_t *relevant_count,
                           int32_t *hit_distance, int64_t *hit_seen, int64_t *hit_seen_relevant) {
    SCAN_BODY(__builtin_popcountll)
}
#endif

int64_t chain_hamming_scan(const uint64_t *query, const uint64_t *database, int64_t words, int64_t n,
                           const uint64_t *query_labels, const uint64_t *database_labels, int64_t label_words,
                           const int32_t *db_class, int32_t query_class, int64_t skip,
                           int64_t *count, int64_t *relevant_count,
                           int32_t *hit_distance, int64_t *hit_seen, int64_t *hit_seen_relevant) {
#if defined(__x86_64__)
    static int has_popcnt = -1;
    if (has_popcnt < 0) { __builtin_cpu_init(); has_popcnt = __builtin_cpu_supports("popcnt") ? 1 : 0; }
    if (has_popcnt)
        return scan_popcnt(query, database, words, n, query_labels, database_labels, label_words, db_class, query_class,
                           skip, count, relevant_count, hit_distance, hit_seen, hit_seen_relevant);
#endif
    return scan_generic(query, database, words, n, query_labels, database_labels, label_words, db_class, query_class,
                        skip, count, relevant_count, hit_distance, hit_seen, hit_seen_relevant);
}
