/* SPDX-License-Identifier: MIT */
/* eigen.c -- the S largest eigenpairs of a symmetric matrix: restarted
 * block Krylov for large d (krylov.c), LAPACKE_dsyevr (range 'I': only the
 * wanted ones) otherwise or when Krylov does not converge; the sign rule. */
#include <float.h>
#include <lapacke.h>
#include <math.h>

#include "linalg.h"

static void lelp__stable_ties(double* w, double* V, int64_t d, int64_t S);

/* A: lower triangle, column-major d x d (destroyed). w: S eigenvalues,
 * descending. V: d x S column-major, column s = eigenvector s. */
int lelp__top_eigen(const lelp__mem* mem, double* A, int64_t d, int64_t S, double* w, double* V,
                    int64_t cls)
{
    if (lelp__krylov_applies(d, S)) {
        int st = lelp__krylov_top(mem, A, d, S, w, V, cls);
        if (st == LELP_OK) lelp__stable_ties(w, V, d, S);
        if (st != LELP__KRYLOV_FALLBACK) return st;
    }
    return lelp__top_eigen_lapack(mem, A, d, S, w, V, cls);
}

/* Both solvers return LAPACK's ascending order reversed, which would also
 * reverse a run of equal eigenvalues; SPEC 1.1.3 keeps LAPACK's order among
 * them (the descending sort is stable), so each run is turned back. Only
 * exactly equal values tie: near-equal ones are ordered by value. */
static void lelp__stable_ties(double* w, double* V, int64_t d, int64_t S)
{
    for (int64_t a = 0; a < S;) {
        int64_t b = a + 1;
        while (b < S && w[b] == w[a]) b++;
        for (int64_t i = a, j = b - 1; i < j; i++, j--)
            for (int64_t k = 0; k < d; k++) {
                double t = V[i * d + k];
                V[i * d + k] = V[j * d + k];
                V[j * d + k] = t;
            }
        a = b;
    }
}

/* The same through dsyevr alone. */
int lelp__top_eigen_lapack(const lelp__mem* mem, double* A, int64_t d, int64_t S, double* w, double* V,
                           int64_t cls)
{
    double* wall = lelp__alloc(mem, lelp__bytes(d, 1, sizeof(double)));
    double* Z = lelp__alloc(mem, lelp__bytes(d, S, sizeof(double)));
    lapack_int* isuppz = lelp__alloc(mem, lelp__bytes(2 * S, 1, sizeof(lapack_int)));
    double* work = NULL;
    lapack_int* iwork = NULL;
    size_t work_bytes = 0, iwork_bytes = 0;
    int st = LELP_OK;
    if (!wall || !Z || !isuppz) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the eigensolver (class %lld)",
                        (long long)cls);
        goto done;
    }
    const lapack_int n = (lapack_int)d;
    const lapack_int il = (lapack_int)(d - S + 1), iu = n;
    const double abstol = LAPACKE_dlamch('S');
    lapack_int m = 0, iquery = 0;
    double query = 0.0;
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'I', 'L', n, A, n, 0.0, 0.0, il, iu,
                                          abstol, &m, wall, Z, n, isuppz, &query, -1, &iquery, -1);
    if (info != 0) {
        st = lelp__fail(LELP_E_SOLVER, "lelp_builder_fit: dsyevr workspace query failed (info %d)", (int)info);
        goto done;
    }
    int64_t lwork = (int64_t)query, liwork = (int64_t)iquery;
    work_bytes = lelp__bytes(lwork, 1, sizeof(double));
    iwork_bytes = lelp__bytes(liwork, 1, sizeof(lapack_int));
    work = lelp__alloc(mem, work_bytes);
    iwork = lelp__alloc(mem, iwork_bytes);
    if (!work || !iwork) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the eigensolver workspace");
        goto done;
    }
    info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'I', 'L', n, A, n, 0.0, 0.0, il, iu, abstol, &m,
                               wall, Z, n, isuppz, work, (lapack_int)lwork, iwork,
                               (lapack_int)liwork);
    if (info != 0 || m != (lapack_int)S) {
        st = lelp__fail(LELP_E_SOLVER, "lelp_builder_fit: dsyevr failed for class %lld (info %d, %d of %lld found)",
                        (long long)cls, (int)info, (int)m, (long long)S);
        goto done;
    }
    /* LAPACK returns ascending order; the API promises descending. */
    for (int64_t s = 0; s < S; s++) {
        w[s] = wall[S - 1 - s];
        const double* src = Z + (S - 1 - s) * d;
        double* dst = V + s * d;
        for (int64_t j = 0; j < d; j++) dst[j] = src[j];
    }
    lelp__stable_ties(w, V, d, S);
done:
    lelp__free(mem, wall, lelp__bytes(d, 1, sizeof(double)));
    lelp__free(mem, Z, lelp__bytes(d, S, sizeof(double)));
    lelp__free(mem, isuppz, lelp__bytes(2 * S, 1, sizeof(lapack_int)));
    lelp__free(mem, work, work_bytes);
    lelp__free(mem, iwork, iwork_bytes);
    return st;
}

/* Entries within LELP__SIGN_TIE (relative) of the largest magnitude count as
 * tied, and the lowest index wins: with exactly tied data (integer or +-1
 * features) the computed magnitudes differ only by rounding, which depends on
 * batching and merge order, so a strict maximum would flip whole vectors. */
#define LELP__SIGN_TIE 1e-9

void lelp__sign_rule(double* V, int64_t d, int64_t S)
{
    for (int64_t s = 0; s < S; s++) {
        double* v = V + s * d;
        double mag = 0.0;
        for (int64_t j = 0; j < d; j++) mag = fabs(v[j]) > mag ? fabs(v[j]) : mag;
        const double tied = mag * (1.0 - LELP__SIGN_TIE);
        int64_t best = 0;
        while (best < d - 1 && !(fabs(v[best]) >= tied)) best++;
        if (v[best] < 0.0)
            for (int64_t j = 0; j < d; j++) v[j] = -v[j];
    }
}
