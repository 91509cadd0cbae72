/* SPDX-License-Identifier: MIT */
/* linalg.h -- the linalg module's private interface: eigensolvers, the
 * sketch's small products, fixed-order sums and the seeded rotation
 * (docs/architecture.md). Used by fit/ and model/. */
#ifndef LELP_LINALG_H
#define LELP_LINALG_H

#include "../common/common.h"

/* sum x_i y_i in four running sums: with one accumulator the loop is bound
 * by the add's latency (gcc may not reorder it without -ffast-math). The
 * order is fixed, so the result is the same run to run and whatever vector
 * width the compiler picks; inline, so the AVX2 clones of its callers
 * (small_eigen.c) vectorize it. */
static inline double lelp__dot(const double* x, const double* y, int64_t n)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; l++) a[l] += x[i + l] * y[i + l];
    for (; i < n; i++) a[0] += x[i] * y[i];
    return (a[0] + a[1]) + (a[2] + a[3]);
}
/* sumsq.c: sum of x_i^2 in the same fixed order */
double lelp__sumsq(const double* x, int64_t n);

/* small_eigen.c: top-k eigenpairs of a small symmetric n x n matrix. */
int64_t lelp__small_eigen_work(int64_t n, int64_t k);
int lelp__small_eigen(int64_t n, double* A, int64_t k, double* w, double* Z, double* work, int64_t lwork);

/* small_gemm.c: the shrink's new rows for small buffers, fixed summation
 * order: T = V^T B, row i of T = sum_j V[i*ldv + j] B_j (B row-major n x d,
 * T row-major m x d), work: lelp__rows_combine_work(n) doubles. */
int64_t lelp__rows_combine_work(int64_t n);
void lelp__rows_combine(const double* V, int64_t ldv, int64_t m, const double* B, int64_t n, int64_t d, double* T,
                        double* work);
/* and the lower triangle of B B^T, column-major: G[i + j*ldg] = B_i . B_j
 * for i >= j, each a fixed sum (eight lane sums, a fixed tree, the last
 * d mod 8 columns in order) */
void lelp__rows_gram(const double* B, int64_t n, int64_t d, double* G, int64_t ldg);

/* eigen.c: top-S eigenpairs of the lower triangle of A (destroyed). */
int lelp__top_eigen(const lelp__mem* mem, double* A, int64_t d, int64_t S, double* w, double* V, int64_t cls);
int lelp__top_eigen_lapack(const lelp__mem* mem, double* A, int64_t d, int64_t S, double* w, double* V,
                           int64_t cls);
void lelp__sign_rule(double* V, int64_t d, int64_t S);

/* krylov.c: the same for large d by restarted block Krylov (A read only);
 * LELP__KRYLOV_FALLBACK when it did not converge. */
#define LELP__KRYLOV_FALLBACK 1
int lelp__krylov_applies(int64_t d, int64_t S);
int lelp__krylov_top(const lelp__mem* mem, const double* A, int64_t d, int64_t S, double* w, double* V,
                     int64_t cls);

/* project_kernel.c: F (n x K, row-major) = X U^T with X = flush(flush(H) -
 * center) when center != NULL, else flush(H) (subnormals to signed zero),
 * in float32, from Ut = lelp__project_pack(U) (U: K x d, float64), of
 * lelp__project_packed(K, d) floats. Allocates nothing. A NaN/Inf in a row
 * of H makes all K of its outputs NaN/Inf (no product is skipped, and NaN
 * and Inf times 0 are NaN), so callers find them there. */
#define LELP__PROJECT_LANES 8 /* lelp__project_kpad(K): K rounded up to a multiple of this */
int64_t lelp__project_kpad(int64_t K);
int64_t lelp__project_packed(int64_t K, int64_t d);
void lelp__project_pack(const double* U, int64_t K, int64_t d, float* Ut);
float lelp__project_entry(const float* Ut, int64_t d, int64_t k, int64_t j); /* U[k][j] as packed */
void lelp__project_rows(const float* H, int64_t n, int64_t d, const float* center, const float* Ut, int64_t K,
                       float* F);

/* rotation.c: R (S x S, column-major) Haar-random from stream (seed, c, 0). */
void lelp__haar_rotation(uint64_t seed, int64_t c, int64_t S, double* R);

#endif /* LELP_LINALG_H */
