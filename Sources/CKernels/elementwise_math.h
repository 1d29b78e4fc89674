// Scalar exp and erf written so that clang vectorises loops calling them: no branches
// (selects only), bit casts through memcpy. The same polynomials as VectorMath in Swift, so
// both paths round alike.
#ifndef CHAIN_ELEMENTWISE_MATH_H
#define CHAIN_ELEMENTWISE_MATH_H
#include <stdint.h>
#include <string.h>
#include "cpu_features.h"

/* e^x, Cephes range reduction + degree-6 polynomial; 0 below -87.33654, saturating above 88.37626. */
CHAIN_INLINE float chain_expf(float x) {
    float c = x < -87.33654f ? -87.33654f : x;
    c = c > 88.37626f ? 88.37626f : c;
    const float magic = 12582912.0f;
    float shifted = c * 1.44269504088896341f + magic;
    float n = shifted - magic;
    float r = c - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t si, mi;
    memcpy(&si, &shifted, 4);
    memcpy(&mi, &magic, 4);
    int32_t bits = ((si - mi) + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    float y = p * scale;
    return x < -87.33654f ? 0.0f : y;
}

/* erf(x) (Abramowitz & Stegun 7.1.26) and e^{-x^2}, which GELU's derivative reuses. */
CHAIN_INLINE float chain_erff(float x, float *gaussian) {
    float a = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    poly = poly * t;
    float g = chain_expf(-(a * a));
    float y = 1.0f - poly * g;
    *gaussian = g;
    return x < 0 ? -y : y;
}
#endif
