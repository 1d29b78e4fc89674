// Small C kernels where Swift cannot reach the instruction the loop needs without
// unsafe compiler flags: the Hamming scan uses POPCNT when the CPU has it (chosen at run time).
#ifndef CHAIN_KERNELS_H
#define CHAIN_KERNELS_H
#include <stdint.h>

/// One query against a database, in index order. For every item j (skipping `skip`, or none
/// when skip < 0): d = popcount(q XOR db_j) over `words` 64-bit words; relevant when the label
/// bitsets share a bit (or, when `db_class` is non-null, when db_class[j] == query_class).
/// Counts items and relevant items per distance in `count`/`relevant_count` (bits + 1 entries,
/// zeroed by the caller). For each relevant item appends (d, items before it at distance d,
/// relevant items before it at distance d) to hit_distance/hit_seen/hit_seen_relevant
/// (capacity n); returns the number of relevant items.
int64_t chain_hamming_scan(const uint64_t *query, const uint64_t *database, int64_t words, int64_t n,
                           const uint64_t *query_labels, const uint64_t *database_labels, int64_t label_words,
                           const int32_t *db_class, int32_t query_class, int64_t skip,
                           int64_t *count, int64_t *relevant_count,
                           int32_t *hit_distance, int64_t *hit_seen, int64_t *hit_seen_relevant);
#endif
