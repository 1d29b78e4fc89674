// Small C kernels where Swift cannot reach the instructions a loop needs without unsafe
// compiler flags (the package builds for baseline x86-64): each kernel is compiled twice and
// the AVX2/FMA or POPCNT build is chosen at run time when the CPU has it. Swift's SIMD types
// lower masked selects lane by lane, so the element-wise transcendental kernels live here too.
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

/// y = GELU(x) = x·Φ(x) (exact erf form) for `count` elements; when `derivative` is not null
/// it also receives GELU'(x) = Φ(x) + x·φ(x). x may alias y or derivative (element-wise).
void chain_gelu_forward(const float *x, float *y, float *derivative, int64_t count);
/// dx = (or += when `accumulate`) dy · GELU'(x).
void chain_gelu_backward(const float *x, const float *dy, float *dx, int64_t count, int accumulate);
/// y = (or += when `accumulate`) a ⊙ b.
void chain_multiply(const float *a, const float *b, float *y, int64_t count, int accumulate);

/// Row-wise layer norm of `rows` rows of n: y = (x − μ)/σ · γ + β (γ, β may be null: no affine);
/// stats[2r] = μ, stats[2r+1] = 1/σ. x and y may alias.
void chain_layer_norm_forward(const float *x, float *y, float *stats, int64_t rows, int64_t n, const float *gamma,
                              const float *beta, float epsilon);
/// Accumulates dγ, dβ (when γ is given); dx = (or += when `accumulate`) the input gradient.
void chain_layer_norm_backward(const float *x, const float *dy, float *dx, const float *stats, int64_t rows,
                               int64_t n, const float *gamma, float *dgamma, float *dbeta, int accumulate);

/// Floats of scratch the attention kernels need for one call.
int64_t chain_attention_scratch_count(int64_t seq_len, int64_t head_size);
/// softmax(Q·Kᵀ/√d_h + padding)·(P ⊙ dropout) for every (sequence, head): qkv is
/// [batch·seq_len, 3·heads·head_size] laid out [Q | K | V]; probs [batch, heads, t, t] receives
/// the softmax (before dropout); drop_mask (nullable) the same shape of dropout scales;
/// key_padding (nullable) [batch·t], true = ignore that key; context [batch·t, heads·head_size].
void chain_attention_forward(const float *qkv, float *probs, const float *drop_mask, const _Bool *key_padding,
                             float *context, int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size,
                             float *scratch);
/// Given dContext, writes dQKV (overwritten, same layout as qkv).
void chain_attention_backward(const float *qkv, const float *probs, const float *drop_mask, const float *d_context,
                              float *d_qkv, int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size,
                              float *scratch);

/// mask[i] = scale when uniform(word position + i of Philox-4x32-10 (seed, stream)) < keep, else 0;
/// the uniform is (word >> 8)·2⁻²⁴, as Swift's Philox.nextUniform.
void chain_dropout_mask(uint64_t seed, uint64_t stream, uint64_t position, int64_t count, float keep, float scale,
                        float *mask);

/// One AdamW step over `count` parameters: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
/// p ← p·decay − step_size·m / (√v / root_c2 + ε) (step_size = lr / (1−β₁ᵗ), root_c2 = √(1−β₂ᵗ)).
void chain_adamw_update(float *p, const float *g, float *m, float *v, int64_t count, float beta1, float beta2,
                        float epsilon, float step_size, float root_c2, float decay);
#endif
