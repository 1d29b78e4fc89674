// Scaled dot-product attention for short sequences, one (sequence, head) problem at a time.
//
// A problem is a few kilobytes (25 frames × 32 channels), far below where sgemm pays for its
// packing, so the products are written out here: Kᵀ (and Vᵀ in backward) is copied once into
// a padded [head width × round8(t)] tile, after which every inner loop runs over a contiguous
// row of 8-lane vectors (scores over keys, outputs over channels).
#include <math.h>
#include "chain_kernels.h"
#include "elementwise_math.h"

static inline int64_t padded(int64_t t) { return (t + 7) & ~(int64_t)7; }

int64_t chain_attention_scratch_count(int64_t seq_len, int64_t head_size) {
    return head_size * padded(seq_len) + 2 * padded(seq_len);
}

/* transposed[c * tp + j] = source[j * stride + c] for j < t, zero for t <= j < tp. */
CHAIN_INLINE void transpose_tile(const float *source, int64_t stride, int64_t t, int64_t tp, int64_t width,
                                 float *transposed) {
    for (int64_t c = 0; c < width; c++) {
        float *row = transposed + c * tp;
        for (int64_t j = 0; j < t; j++) row[j] = source[j * stride + c];
        for (int64_t j = t; j < tp; j++) row[j] = 0;
    }
}

/* y += a·x over n channels (the rows never overlap; restrict lets clang skip its overlap check). */
CHAIN_INLINE void axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t c = 0; c < n; c++) y[c] += a * x[c];
}

/* out[0..<tp] = Σ_c q[c] · tile[c, 0..<tp]. */
CHAIN_INLINE void row_times_tile(const float *restrict q, const float *restrict tile, int64_t width, int64_t tp,
                                 float *restrict out) {
    for (int64_t j = 0; j < tp; j++) out[j] = 0;
    for (int64_t c = 0; c < width; c++) {
        float qc = q[c];
        const float *row = tile + c * tp;
        for (int64_t j = 0; j < tp; j++) out[j] += qc * row[j];
    }
}

CHAIN_INLINE void chain_attention_forward_body(const float *qkv, float *probs, const float *drop_mask,
                                               const _Bool *key_padding, float *context, int64_t batch,
                                               int64_t t, int64_t heads, int64_t dh, float *scratch) {
#pragma clang fp reassociate(on)
    const int64_t inner = heads * dh, stride = 3 * inner, tp = padded(t);
    const float scale = 1.0f / sqrtf((float)dh);
    float *kt = scratch, *scores = scratch + dh * tp;
    for (int64_t b = 0; b < batch; b++) {
        const _Bool *pad = key_padding ? key_padding + b * t : 0;
        for (int64_t h = 0; h < heads; h++) {
            const float *q = qkv + b * t * stride + h * dh, *k = q + inner, *v = q + 2 * inner;
            float *p = probs + (b * heads + h) * t * t;
            const float *m = drop_mask ? drop_mask + (b * heads + h) * t * t : 0;
            transpose_tile(k, stride, t, tp, dh, kt);
            for (int64_t i = 0; i < t; i++) {
                float *pi = p + i * t;
                row_times_tile(q + i * stride, kt, dh, tp, scores);
                float maximum = -INFINITY;
                for (int64_t j = 0; j < t; j++) {
                    float s = scores[j] * scale;
                    if (pad && pad[j]) s = -INFINITY;
                    scores[j] = s;
                    maximum = s > maximum ? s : maximum;
                }
                if (maximum == -INFINITY) {
                    for (int64_t j = 0; j < t; j++) pi[j] = 0;
                } else {
                    float sum = 0;
                    for (int64_t j = 0; j < t; j++) { float e = chain_expf(scores[j] - maximum); pi[j] = e; sum += e; }
                    float inverse = 1.0f / sum;
                    for (int64_t j = 0; j < t; j++) pi[j] *= inverse;
                }
                float *out = context + (b * t + i) * inner + h * dh;
                for (int64_t c = 0; c < dh; c++) out[c] = 0;
                for (int64_t j = 0; j < t; j++) axpy(out, m ? pi[j] * m[i * t + j] : pi[j], v + j * stride, dh);
            }
        }
    }
}
CHAIN_DISPATCH(void, chain_attention_forward,
               (const float *qkv, float *probs, const float *drop_mask, const _Bool *key_padding, float *context,
                int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size, float *scratch),
               (qkv, probs, drop_mask, key_padding, context, batch, seq_len, heads, head_size, scratch))

CHAIN_INLINE void chain_attention_backward_body(const float *qkv, const float *probs, const float *drop_mask,
                                                const float *d_context, float *d_qkv, int64_t batch, int64_t t,
                                                int64_t heads, int64_t dh, float *scratch) {
#pragma clang fp reassociate(on)
    const int64_t inner = heads * dh, stride = 3 * inner, tp = padded(t);
    const float scale = 1.0f / sqrtf((float)dh);
    float *vt = scratch, *dp = scratch + dh * tp;
    for (int64_t i = 0; i < batch * t * stride; i++) d_qkv[i] = 0;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t h = 0; h < heads; h++) {
            const float *q = qkv + b * t * stride + h * dh, *k = q + inner, *v = q + 2 * inner;
            float *dq = d_qkv + b * t * stride + h * dh, *dk = dq + inner, *dv = dq + 2 * inner;
            const float *p = probs + (b * heads + h) * t * t;
            const float *m = drop_mask ? drop_mask + (b * heads + h) * t * t : 0;
            transpose_tile(v, stride, t, tp, dh, vt);
            for (int64_t i = 0; i < t; i++) {
                const float *pi = p + i * t, *dci = d_context + (b * t + i) * inner + h * dh;
                // dP' = dC·Vᵀ (through the dropout mask) and dV += P'ᵀ·dC.
                row_times_tile(dci, vt, dh, tp, dp);
                for (int64_t j = 0; j < t; j++) {
                    float mask = m ? m[i * t + j] : 1.0f;
                    dp[j] *= mask;
                    axpy(dv + j * stride, pi[j] * mask, dci, dh);
                }
                // Softmax backward, then dQ = dS·K·scale and dK = dSᵀ·Q·scale.
                float dot = 0;
                for (int64_t j = 0; j < t; j++) dot += dp[j] * pi[j];
                const float *qi = q + i * stride;
                float *dqi = dq + i * stride;
                for (int64_t j = 0; j < t; j++) {
                    float ds = pi[j] * (dp[j] - dot) * scale;
                    axpy(dqi, ds, k + j * stride, dh);
                    axpy(dk + j * stride, ds, qi, dh);
                }
            }
        }
    }
}
CHAIN_DISPATCH(void, chain_attention_backward,
               (const float *qkv, const float *probs, const float *drop_mask, const float *d_context, float *d_qkv,
                int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size, float *scratch),
               (qkv, probs, drop_mask, d_context, d_qkv, batch, seq_len, heads, head_size, scratch))
