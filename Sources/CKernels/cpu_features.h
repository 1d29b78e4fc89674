// Run-time choice between a portable build of a kernel and one compiled for AVX2 + FMA.
//
// The package is built for the baseline x86-64 target (no unsafe flags), so each hot kernel
// is written once as an always-inline body and instantiated twice: plainly, and inside a
// function carrying __attribute__((target("avx2,fma"))), where clang vectorises the same
// loops 8 lanes wide with fused multiply-adds. chain_cpu_has_avx2_fma() picks one per call.
#ifndef CHAIN_CPU_FEATURES_H
#define CHAIN_CPU_FEATURES_H

#if defined(__x86_64__)
#define CHAIN_AVX2 __attribute__((target("avx2,fma")))
static inline int chain_cpu_has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}
#endif

#define CHAIN_INLINE static inline __attribute__((always_inline))

/* Declares `name` as a dispatcher over NAME_body: `CHAIN_DISPATCH(void, name, (params), (args))`. */
#if defined(__x86_64__)
#define CHAIN_DISPATCH(ret, name, params, args)                                     \
    static ret name##_portable params { return name##_body args; }                  \
    CHAIN_AVX2 static ret name##_avx2 params { return name##_body args; }           \
    ret name params {                                                               \
        if (chain_cpu_has_avx2_fma()) return name##_avx2 args;                      \
        return name##_portable args;                                                \
    }
#else
#define CHAIN_DISPATCH(ret, name, params, args) \
    ret name params { return name##_body args; }
#endif

#endif
