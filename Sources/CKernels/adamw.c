// The AdamW update over a flat parameter range (torch.optim.AdamW's arithmetic).
#include "chain_kernels.h"
#include "cpu_features.h"

CHAIN_INLINE void chain_adamw_update_body(float *restrict p, const float *restrict g, float *restrict m,
                                          float *restrict v, int64_t count, float beta1, float beta2, float epsilon,
                                          float step_size, float root_c2, float decay) {
    for (int64_t i = 0; i < count; i++) {
        float mi = beta1 * m[i] + (1 - beta1) * g[i];
        float vi = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - step_size * mi / (__builtin_elementwise_sqrt(vi) / root_c2 + epsilon);
    }
}
CHAIN_DISPATCH(void, chain_adamw_update,
               (float *p, const float *g, float *m, float *v, int64_t count, float beta1, float beta2, float epsilon,
                float step_size, float root_c2, float decay),
               (p, g, m, v, count, beta1, beta2, epsilon, step_size, root_c2, decay))
