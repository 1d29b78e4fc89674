// OpenBLAS's CBLAS interface plus its thread controls, and the one LAPACK routine we use
// (OpenBLAS exports LAPACK's Fortran symbols; Debian ships no header for them here).
#ifndef CHAIN_COPENBLAS_SHIM_H
#define CHAIN_COPENBLAS_SHIM_H
#include <cblas.h>

/// LAPACK dsyevd: eigenvalues (ascending) and, with jobz = 'V', eigenvectors of a real
/// symmetric matrix (column-major, overwritten by the eigenvectors).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
#endif
