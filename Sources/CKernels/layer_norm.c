// Layer normalisation over the last dimension (row-wise), forward and backward.
#include <math.h>
#include "chain_kernels.h"
#include "cpu_features.h"

CHAIN_INLINE void chain_layer_norm_forward_body(const float *x, float *y, float *stats, int64_t rows, int64_t n,
                                                const float *gamma, const float *beta, float epsilon) {
#pragma clang fp reassociate(on)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float sum = 0;
        for (int64_t i = 0; i < n; i++) sum += xr[i];
        float mean = sum / (float)n;
        float squares = 0;
        for (int64_t i = 0; i < n; i++) { float d = xr[i] - mean; squares += d * d; }
        float rstd = 1.0f / sqrtf(squares / (float)n + epsilon);
        stats[2 * r] = mean;
        stats[2 * r + 1] = rstd;
        if (gamma) for (int64_t i = 0; i < n; i++) yr[i] = (xr[i] - mean) * rstd * gamma[i] + beta[i];
        else for (int64_t i = 0; i < n; i++) yr[i] = (xr[i] - mean) * rstd;
    }
}
CHAIN_DISPATCH(void, chain_layer_norm_forward,
               (const float *x, float *y, float *stats, int64_t rows, int64_t n, const float *gamma,
                const float *beta, float epsilon),
               (x, y, stats, rows, n, gamma, beta, epsilon))

CHAIN_INLINE void chain_layer_norm_backward_body(const float *x, const float *dy, float *dx, const float *stats,
                                                 int64_t rows, int64_t n, const float *gamma, float *dgamma,
                                                 float *dbeta, int accumulate) {
#pragma clang fp reassociate(on)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n, *dyr = dy + r * n;
        float *dxr = dx + r * n;
        float mean = stats[2 * r], rstd = stats[2 * r + 1];
        float sum_dxhat = 0, sum_dxhat_xhat = 0;
        if (gamma) {
            for (int64_t i = 0; i < n; i++) {
                float xhat = (xr[i] - mean) * rstd, dxhat = dyr[i] * gamma[i];
                sum_dxhat += dxhat;
                sum_dxhat_xhat += dxhat * xhat;
            }
            for (int64_t i = 0; i < n; i++) {
                dgamma[i] += dyr[i] * (xr[i] - mean) * rstd;
                dbeta[i] += dyr[i];
            }
        } else {
            for (int64_t i = 0; i < n; i++) {
                float xhat = (xr[i] - mean) * rstd;
                sum_dxhat += dyr[i];
                sum_dxhat_xhat += dyr[i] * xhat;
            }
        }
        float mean_dxhat = sum_dxhat / (float)n, mean_dxhat_xhat = sum_dxhat_xhat / (float)n;
        for (int64_t i = 0; i < n; i++) {
            float xhat = (xr[i] - mean) * rstd;
            float dxhat = gamma ? dyr[i] * gamma[i] : dyr[i];
            float v = rstd * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
            dxr[i] = accumulate ? dxr[i] + v : v;
        }
    }
}
CHAIN_DISPATCH(void, chain_layer_norm_backward,
               (const float *x, const float *dy, float *dx, const float *stats, int64_t rows, int64_t n,
                const float *gamma, float *dgamma, float *dbeta, int accumulate),
               (x, dy, dx, stats, rows, n, gamma, dgamma, dbeta, accumulate))
