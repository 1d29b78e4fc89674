// Scaled dot-product attention for short sequences, one (sequence, head) problem at a time.
//
// A problem is a few kilobytes (25 frames × 32 channels), far below where sgemm pays for its
// packing, so the products are written out here. Scores (and dP' in backward) come from a
// padded Kᵀ (Vᵀ) tile with the row's outputs in registers; every other product is an
// output row formed as a weighted sum of input rows, accumulated in registers eight
// channels at a time and written once (backward forms dQ, dK and dV this way from dS, so
// no output row is read, modified and written per term).
#include <math.h>
#include "chain_kernels.h"
#include "elementwise_math.h"

static inline int64_t padded(int64_t t) { return (t + 7) & ~(int64_t)7; }

int64_t chain_attention_scratch_count(int64_t seq_len, int64_t head_size) {
    return head_size * padded(seq_len) + 2 * padded(seq_len) + seq_len * padded(seq_len);
}

/* Eight floats; loads and stores through it need only 4-byte alignment. In the AVX2 build
 * one value is one ymm register. */
typedef float v8 __attribute__((vector_size(32), aligned(4)));
/* The helpers below pass v8 by value; they are always inlined, so the portable build's
 * different vector calling convention never matters. */
#pragma clang diagnostic ignored "-Wpsabi"

CHAIN_INLINE v8 load8(const float *p) { return *(const v8 *)p; }
CHAIN_INLINE void store8(float *p, v8 v) { *(v8 *)p = v; }
CHAIN_INLINE v8 splat8(float x) { return (v8){x, x, x, x, x, x, x, x}; }

/* transposed[c * tp + j] = source[j * stride + c] for j < t, zero for t <= j < tp. */
CHAIN_INLINE void transpose_tile(const float *source, int64_t stride, int64_t t, int64_t tp, int64_t width,
                                 float *transposed) {
    for (int64_t c = 0; c < width; c++) {
        float *row = transposed + c * tp;
        for (int64_t j = 0; j < t; j++) row[j] = source[j * stride + c];
        for (int64_t j = t; j < tp; j++) row[j] = 0;
    }
}

/* out[0..<tp] = Σ_c q[c] · tile[c, 0..<tp], with the outputs held in registers for tp ≤ 32
 * (sequences of up to 32 frames, the common case). */
CHAIN_INLINE void row_times_tile(const float *q, const float *tile, int64_t width, int64_t tp, float *out) {
    if (tp <= 32) {
        v8 a0 = splat8(0), a1 = splat8(0), a2 = splat8(0), a3 = splat8(0);
        for (int64_t c = 0; c < width; c++) {
            v8 qc = splat8(q[c]);
            const float *row = tile + c * tp;
            a0 += qc * load8(row);
            if (tp > 8) a1 += qc * load8(row + 8);
            if (tp > 16) a2 += qc * load8(row + 16);
            if (tp > 24) a3 += qc * load8(row + 24);
        }
        store8(out, a0);
        if (tp > 8) store8(out + 8, a1);
        if (tp > 16) store8(out + 16, a2);
        if (tp > 24) store8(out + 24, a3);
        return;
    }
    for (int64_t j = 0; j < tp; j++) out[j] = 0;
    for (int64_t c = 0; c < width; c++) {
        float qc = q[c];
        const float *row = tile + c * tp;
        for (int64_t j = 0; j < tp; j++) out[j] += qc * row[j];
    }
}

/* out[c] = Σ_r coefficient[r·step] · rows[r·stride + c] for c < width: one output row
 * as a weighted sum of `count` input rows, accumulated in registers eight channels at a time
 * and written once. */
CHAIN_INLINE void weighted_rows(float *out, const float *coefficient, int64_t step, const float *rows, int64_t stride,
                                int64_t count, int64_t width) {
    int64_t c = 0;
    for (; c + 16 <= width; c += 16) {
        v8 a0 = splat8(0), a1 = splat8(0);
        for (int64_t r = 0; r < count; r++) {
            v8 w = splat8(coefficient[r * step]);
            a0 += w * load8(rows + r * stride + c);
            a1 += w * load8(rows + r * stride + c + 8);
        }
        store8(out + c, a0);
        store8(out + c + 8, a1);
    }
    for (; c + 8 <= width; c += 8) {
        v8 a0 = splat8(0);
        for (int64_t r = 0; r < count; r++) a0 += splat8(coefficient[r * step]) * load8(rows + r * stride + c);
        store8(out + c, a0);
    }
    for (; c < width; c++) {
        float a = 0;
        for (int64_t r = 0; r < count; r++) a += coefficient[r * step] * rows[r * stride + c];
        out[c] = a;
    }
}

CHAIN_INLINE void chain_attention_forward_body(const float *qkv, float *probs, const float *drop_mask,
                                               const _Bool *key_padding, float *context, int64_t batch,
                                               int64_t t, int64_t heads, int64_t dh, float *scratch) {
#pragma clang fp reassociate(on)
    const int64_t inner = heads * dh, stride = 3 * inner, tp = padded(t);
    const float scale = 1.0f / sqrtf((float)dh);
    float *kt = scratch, *scores = scratch + dh * tp, *weights = scores + tp;
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
                const float *w = pi;
                if (m) {
                    for (int64_t j = 0; j < t; j++) weights[j] = pi[j] * m[i * t + j];
                    w = weights;
                }
                weighted_rows(context + (b * t + i) * inner + h * dh, w, 1, v, stride, t, dh);
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
    /* vt: Vᵀ tile; dp: one row of dP'; ds: dS of the whole (sequence, head), [t][tp], reused
     * for the dropped probabilities P' = P ⊙ mask once dQ and dK are formed. */
    float *vt = scratch, *dp = scratch + dh * tp, *ds = dp + 2 * tp;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t h = 0; h < heads; h++) {
            const float *q = qkv + b * t * stride + h * dh, *k = q + inner, *v = q + 2 * inner;
            float *dq = d_qkv + b * t * stride + h * dh, *dk = dq + inner, *dv = dq + 2 * inner;
            const float *p = probs + (b * heads + h) * t * t;
            const float *m = drop_mask ? drop_mask + (b * heads + h) * t * t : 0;
            const float *dc = d_context + b * t * inner + h * dh;
            transpose_tile(v, stride, t, tp, dh, vt);
            // dS, row by row: dP' = dC·Vᵀ through the mask, then the softmax backward (× scale).
            for (int64_t i = 0; i < t; i++) {
                const float *pi = p + i * t;
                row_times_tile(dc + i * inner, vt, dh, tp, dp);
                if (m) for (int64_t j = 0; j < t; j++) dp[j] *= m[i * t + j];
                float dot = 0;
                for (int64_t j = 0; j < t; j++) dot += dp[j] * pi[j];
                float *dsi = ds + i * tp;
                for (int64_t j = 0; j < t; j++) dsi[j] = pi[j] * (dp[j] - dot) * scale;
            }
            // dQ_i = Σ_j dS_ij K_j;  dK_j = Σ_i dS_ij Q_i;  dV_j = Σ_i P'_ij dC_i.
            for (int64_t i = 0; i < t; i++) weighted_rows(dq + i * stride, ds + i * tp, 1, k, stride, t, dh);
            for (int64_t j = 0; j < t; j++) weighted_rows(dk + j * stride, ds + j, tp, q, stride, t, dh);
            if (m) {
                for (int64_t i = 0; i < t; i++)
                    for (int64_t j = 0; j < t; j++) ds[i * tp + j] = p[i * t + j] * m[i * t + j];
                for (int64_t j = 0; j < t; j++) weighted_rows(dv + j * stride, ds + j, tp, dc, inner, t, dh);
            } else {
                for (int64_t j = 0; j < t; j++) weighted_rows(dv + j * stride, p + j, t, dc, inner, t, dh);
            }
        }
    }
}
CHAIN_DISPATCH(void, chain_attention_backward,
               (const float *qkv, const float *probs, const float *drop_mask, const float *d_context, float *d_qkv,
                int64_t batch, int64_t seq_len, int64_t heads, int64_t head_size, float *scratch),
               (qkv, probs, drop_mask, d_context, d_qkv, batch, seq_len, heads, head_size, scratch))
