/* SPDX-License-Identifier: MIT */
/* krylov.c -- the S largest eigenpairs of a large symmetric positive
 * semi-definite matrix by restarted block Krylov with Rayleigh-Ritz.
 *
 * Why: dsyevr reduces the whole d x d matrix to tridiagonal form, O(d^3)
 * and bound by BLAS-2 memory traffic, even when only S << d eigenpairs are
 * wanted; at d = 4096 that cost five times the co-moment accumulation
 * itself. A block Krylov space of b = S + 8 columns costs one d x d x b
 * product (dsymm) per block. The answer is accepted only when every wanted
 * Ritz pair has a residual ||A v - theta v|| <= LELP__KRYLOV_TOL * theta_1,
 * which bounds the eigenvalue error by the residual squared over the gap and
 * the vector error by the residual over the gap, as for dsyevr's backward
 * error; otherwise the caller falls back to dsyevr. The start block is a
 * fixed pseudo-random matrix, so the result is the same run to run. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "linalg.h"

#define LELP__KRYLOV_TOL 1e-13
#define LELP__KRYLOV_BLOCKS 8 /* blocks per restart cycle (plus one spare) */

typedef struct lelp__krylov {
    int64_t d, b, m;  /* m = b * (LELP__KRYLOV_BLOCKS + 1): a spare block for the restart */
    double* K;        /* d x m orthonormal basis */
    double* AK;       /* d x m, A K */
    double* H;        /* m x m Rayleigh quotient, then its eigenvectors */
    double* theta;    /* m */
    double* Y;        /* m x b Ritz coefficients of the kept pairs */
    double* tmp;      /* m x b */
    double* work;
    int64_t lwork;
} lelp__krylov;

static size_t lelp__krylov_doubles(int64_t d, int64_t b, int64_t m, int64_t lwork)
{
    return (size_t)(2 * d * m + m * m + m + 2 * m * b + lwork);
}

/* Orthonormalizes the b columns of X (d x b) against the first k columns
 * of K and among themselves: two passes of block classical Gram-Schmidt
 * ("twice is enough") and modified Gram-Schmidt inside the block. Returns
 * 0 if a column lost more than all but 1e-10 of its norm (the space is
 * numerically invariant: stop growing it). */
static int lelp__orthonormalize(lelp__krylov* kr, int64_t k, double* X)
{
    const int64_t d = kr->d, b = kr->b;
    for (int pass = 0; pass < 2; pass++) {
        if (k > 0) {
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)k, (int)b, (int)d, 1.0, kr->K, (int)d, X,
                        (int)d, 0.0, kr->tmp, (int)k);
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)b, (int)k, -1.0, kr->K, (int)d,
                        kr->tmp, (int)k, 1.0, X, (int)d);
        }
        for (int64_t j = 0; j < b; j++) {
            double* x = X + j * d;
            double before = cblas_dnrm2((int)d, x, 1);
            for (int64_t i = 0; i < j; i++) cblas_daxpy((int)d, -cblas_ddot((int)d, X + i * d, 1, x, 1), X + i * d, 1, x, 1);
            double after = cblas_dnrm2((int)d, x, 1);
            if (!(after > 1e-10 * before) || !(after > 0.0)) return 0;
            cblas_dscal((int)d, 1.0 / after, x, 1);
        }
    }
    return 1;
}

/* Rayleigh-Ritz on the first k columns: eigenpairs of K^T A K, descending.
 * Leaves the top b Ritz coefficient vectors in Y (k x b). */
static int lelp__rayleigh_ritz(lelp__krylov* kr, int64_t k)
{
    const int64_t d = kr->d, b = kr->b;
    double* H = kr->H;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)k, (int)k, (int)d, 1.0, kr->K, (int)d, kr->AK, (int)d,
                0.0, H, (int)k);
    for (int64_t j = 0; j < k; j++)
        for (int64_t i = j + 1; i < k; i++) H[j * k + i] = 0.5 * (H[j * k + i] + H[i * k + j]);
    lapack_int info = LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)k, H, (lapack_int)k, kr->theta,
                                         kr->work, (lapack_int)kr->lwork);
    if (info != 0) return 0;
    for (int64_t s = 0; s < b; s++) memcpy(kr->Y + s * k, H + (k - 1 - s) * k, (size_t)k * sizeof(double));
    for (int64_t s = 0; s < b / 2; s++) {
        double t = kr->theta[k - 1 - s];
        kr->theta[k - 1 - s] = kr->theta[k - b + s];
        kr->theta[k - b + s] = t;
    }
    return 1;
}

/* Ritz vectors K Y and A K Y into the spare block of columns [k, k + b)
 * (the basis never grows past m - b columns); returns the largest residual
 * of the first S pairs relative to theta_1 (NaN when something is not
 * finite, which never counts as converged). */
static double lelp__ritz_residual(lelp__krylov* kr, int64_t k, int64_t S)
{
    const int64_t d = kr->d, b = kr->b;
    double* KV = kr->K + k * d;
    double* AV = kr->AK + k * d;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)b, (int)k, 1.0, kr->K, (int)d, kr->Y, (int)k,
                0.0, KV, (int)d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)b, (int)k, 1.0, kr->AK, (int)d, kr->Y,
                (int)k, 0.0, AV, (int)d);
    const double* theta = kr->theta + k - b; /* top b, descending */
    double worst = 0.0;
    for (int64_t s = 0; s < S; s++) {
        double r2 = 0.0;
        for (int64_t i = 0; i < d; i++) {
            double r = AV[s * d + i] - theta[s] * KV[s * d + i];
            r2 += r * r;
        }
        double rel = sqrt(r2) / fabs(theta[0]);
        if (!(rel <= worst)) worst = rel;
    }
    return worst;
}

/* Restart from the b Ritz vectors: the new basis block and its product
 * are copied, not recomputed. */
static void lelp__restart(lelp__krylov* kr, int64_t k)
{
    const int64_t d = kr->d, b = kr->b;
    memcpy(kr->K, kr->K + k * d, (size_t)(d * b) * sizeof(double));
    memcpy(kr->AK, kr->AK + k * d, (size_t)(d * b) * sizeof(double));
}

/* Block width: S wanted pairs plus at least 8 guard vectors, which set the
 * convergence rate (lambda_{b+1} / lambda_S). A product is bound by reading
 * A once, so a width of 16 costs about what 8 does. */
static int64_t lelp__krylov_block(int64_t S)
{
    return S + 8 > 16 ? S + 8 : 16;
}

int lelp__krylov_applies(int64_t d, int64_t S)
{
    /* Measured crossovers against dsyevr (power-law spectrum, the hard case):
     * d = 640, S = 4 about even; d = 2048: S = 16 (b = 24) 1.8x faster, S = 64
     * (b = 72) 2.7x slower; d = 4096, S = 64: 1.3x faster. So d >= 48 b. */
    return d >= 768 && d >= 48 * lelp__krylov_block(S);
}

static void lelp__krylov_release(const lelp__mem* mem, lelp__krylov* kr, size_t bytes, double* base)
{
    lelp__free(mem, base, bytes);
    memset(kr, 0, sizeof *kr);
}

/* One attempt at the top S eigenpairs of the symmetric matrix whose lower
 * triangle A holds (read only). Returns LELP_OK with w (descending) and V
 * (d x S) filled, LELP__KRYLOV_FALLBACK if it did not converge within its
 * budget (the caller then uses dsyevr), or LELP_E_NOMEM. */
int lelp__krylov_top(const lelp__mem* mem, const double* A, int64_t d, int64_t S, double* w, double* V,
                     int64_t cls)
{
    lelp__krylov kr = {0};
    kr.d = d;
    kr.b = lelp__krylov_block(S);
    const int64_t kmax = kr.b * LELP__KRYLOV_BLOCKS;
    kr.m = kmax + kr.b;
    double query = 0.0;
    if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)kmax, NULL, (lapack_int)kmax, NULL, &query, -1))
        return LELP__KRYLOV_FALLBACK;
    kr.lwork = (int64_t)query;
    size_t n = lelp__krylov_doubles(d, kr.b, kr.m, kr.lwork);
    size_t bytes = lelp__bytes((int64_t)n, 1, sizeof(double));
    double* base = lelp__alloc(mem, bytes);
    if (!base) return lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the Krylov eigensolver (class %lld)", (long long)cls);
    kr.K = base;
    kr.AK = kr.K + d * kr.m;
    kr.H = kr.AK + d * kr.m;
    kr.theta = kr.H + kr.m * kr.m;
    kr.Y = kr.theta + kr.m;
    kr.tmp = kr.Y + kr.m * kr.b;
    kr.work = kr.tmp + kr.m * kr.b;

    lelp__rng rng;
    lelp__rng_init(&rng, UINT64_C(0x4b52594c4f56), (uint64_t)cls, 0); /* fixed: same start every run */
    for (int64_t i = 0; i < d * kr.b; i++) kr.K[i] = lelp__rng_normal(&rng);
    int st = LELP__KRYLOV_FALLBACK;
    if (!lelp__orthonormalize(&kr, 0, kr.K)) goto done;
    /* budget: block products worth about one dsyevr (4/3 d^3 flops at a
     * third of the speed of dsymm's 2 d^2 b) */
    int64_t budget = 2 * d / kr.b;
    if (budget < 4 * LELP__KRYLOV_BLOCKS) budget = 4 * LELP__KRYLOV_BLOCKS;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, (int)d, (int)kr.b, 1.0, A, (int)d, kr.K, (int)d, 0.0, kr.AK,
                (int)d);
    int64_t products = 1, k = kr.b;
    for (;;) {
        double* X = kr.K + k * d;
        memcpy(X, kr.AK + (k - kr.b) * d, (size_t)(d * kr.b) * sizeof(double));
        int invariant = !lelp__orthonormalize(&kr, k, X);
        if (!invariant) {
            cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, (int)d, (int)kr.b, 1.0, A, (int)d, X, (int)d, 0.0,
                        kr.AK + k * d, (int)d);
            products++;
            k += kr.b;
        }
        /* A Rayleigh-Ritz check costs O(d k^2 + k^3): after every block
         * when a product (O(d^2 b)) costs more, else once per cycle. */
        int check = invariant || k == kmax || d * d * kr.b >= 4 * k * k * k;
        if (check) {
            if (!lelp__rayleigh_ritz(&kr, k)) goto done;
            double res = lelp__ritz_residual(&kr, k, S);
            if (res <= LELP__KRYLOV_TOL) {
                const double* theta = kr.theta + k - kr.b;
                for (int64_t s = 0; s < S; s++) w[s] = theta[s];
                memcpy(V, kr.K + k * d, (size_t)(d * S) * sizeof(double));
                st = LELP_OK;
                goto done;
            }
        }
        if (invariant || products >= budget) goto done; /* leave it to dsyevr */
        if (k == kmax) {
            lelp__restart(&kr, k);
            k = kr.b;
        }
    }
done:
    lelp__krylov_release(mem, &kr, bytes, base);
    return st;
}
