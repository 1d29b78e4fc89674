// Small C kernels where Swift cannot reach the instruction the loop needs without
// unsafe compiler flags: the Hamming scan uses POPCNT when the CPU has it (chosen at run time).
#ifndef CHAIN_KERNELS_H
#define CHAIN_KERNELS_H
#include <stdint.h>

/// One query against a database, in index order. For every item j (skipping `skip`, or none
/// when skip < 0): d = popcount(query XOR item_j) over `words` 64-bit words. `relevant[j]` is
/// non-zero for the items relevant to this query. Counts items and relevant items per
/// distance into `count` and `relevant_count` (bits_plus_one entries each, zeroed by the
/// caller); `lanes` is scratch of 4 × bits_plus_one. For each relevant item appends
/// (d, items before it at distance d, relevant items before it at distance d) to
/// hit_distance / hit_seen / hit_seen_relevant (capacity n). Returns the relevant items found.
int64_t chain_hamming_scan(const uint64_t *query, const uint64_t *database, int64_t words, int64_t n,
                           const uint8_t *relevant, int64_t skip,
                           int64_t *count, int64_t *relevant_count, int64_t bits_plus_one, int64_t *lanes,
                           int32_t *hit_distance, int64_t *hit_seen, int64_t *hit_seen_relevant);
#endif
