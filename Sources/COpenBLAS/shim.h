// OpenBLAS's CBLAS interface plus its thread controls.
#ifndef CHAIN_COPENBLAS_SHIM_H
#define CHAIN_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
