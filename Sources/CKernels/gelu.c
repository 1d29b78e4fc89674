// GELU, exact (erf) form: y = x·Φ(x), and its derivative Φ(x) + x·φ(x); and the
// element-wise product that applies dropout masks and saved derivatives.
#include "chain_kernels.h"
#include "elementwise_math.h"

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* Element-wise kernels may be called in place (y == x), which defeats clang's run-time
 * overlap check and leaves the scalar loop. So each works through blocks of BLOCK elements
 * copied into local arrays, which provably do not alias, and copies the results out. */
#define BLOCK 256

CHAIN_INLINE void gelu_block(const float *restrict x, float *restrict y, float *restrict derivative, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], g;
        float e = chain_erff(v * INV_SQRT2, &g);
        y[i] = 0.5f * v * (1.0f + e);
        derivative[i] = 0.5f * (1.0f + e) + v * INV_SQRT_2PI * g;
    }
}

/* out = (or += when `accumulate`) a ⊙ b over one block. */
CHAIN_INLINE void store_product(float *restrict out, const float *restrict a, const float *restrict b, int64_t n,
                                int accumulate) {
    if (accumulate) for (int64_t i = 0; i < n; i++) out[i] += a[i] * b[i];
    else for (int64_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

CHAIN_INLINE void chain_gelu_forward_body(const float *x, float *y, float *derivative, int64_t count) {
    float xb[BLOCK], yb[BLOCK], db[BLOCK];
    for (int64_t start = 0; start < count; start += BLOCK) {
        int64_t n = count - start < BLOCK ? count - start : BLOCK;
        memcpy(xb, x + start, n * sizeof(float));
        gelu_block(xb, yb, db, n);
        memcpy(y + start, yb, n * sizeof(float));
        if (derivative) memcpy(derivative + start, db, n * sizeof(float));
    }
}
CHAIN_DISPATCH(void, chain_gelu_forward, (const float *x, float *y, float *derivative, int64_t count),
               (x, y, derivative, count))

CHAIN_INLINE void chain_gelu_backward_body(const float *x, const float *dy, float *dx, int64_t count, int accumulate) {
    float xb[BLOCK], yb[BLOCK], db[BLOCK];
    for (int64_t start = 0; start < count; start += BLOCK) {
        int64_t n = count - start < BLOCK ? count - start : BLOCK;
        memcpy(xb, x + start, n * sizeof(float));
        gelu_block(xb, yb, db, n);
        memcpy(yb, dy + start, n * sizeof(float));
        store_product(dx + start, yb, db, n, accumulate);
    }
}
CHAIN_DISPATCH(void, chain_gelu_backward, (const float *x, const float *dy, float *dx, int64_t count, int accumulate),
               (x, dy, dx, count, accumulate))

CHAIN_INLINE void chain_multiply_body(const float *a, const float *b, float *y, int64_t count, int accumulate) {
    float ab[BLOCK], bb[BLOCK];
    for (int64_t start = 0; start < count; start += BLOCK) {
        int64_t n = count - start < BLOCK ? count - start : BLOCK;
        memcpy(ab, a + start, n * sizeof(float));
        memcpy(bb, b + start, n * sizeof(float));
        store_product(y + start, ab, bb, n, accumulate);
    }
}
CHAIN_DISPATCH(void, chain_multiply, (const float *a, const float *b, float *y, int64_t count, int accumulate),
               (a, b, y, count, accumulate))
