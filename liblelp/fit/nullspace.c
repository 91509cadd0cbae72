/* SPDX-License-Identifier: MIT */
/* nullspace.c -- orthonormal basis of the head's row space and the
 * projection P Sigma P with P = I - Q Q^T, never forming P. */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>

#include "fit.h"

int lelp__head_basis(const lelp__mem* mem, const double* W, int64_t C, int64_t d, double** Q,
                     int64_t* rank)
{
    *Q = NULL;
    *rank = 0;
    const int64_t k = C < d ? C : d;
    /* W (C x d, row-major) is W^T (d x C) in column-major order. */
    double* A = lelp__alloc(mem, lelp__bytes(d, C, sizeof(double)));
    double* U = lelp__alloc(mem, lelp__bytes(d, k, sizeof(double)));
    double* s = lelp__alloc(mem, lelp__bytes(k, 1, sizeof(double)));
    double* work = NULL;
    size_t work_bytes = 0;
    int st = LELP_OK;
    if (!A || !U || !s) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the head's SVD");
        goto done;
    }
    for (int64_t i = 0; i < C * d; i++) A[i] = W[i];
    double query = 0.0, vt_dummy = 0.0;
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'N', (lapack_int)d, (lapack_int)C, A,
                                          (lapack_int)d, s, U, (lapack_int)d, &vt_dummy, 1, &query, -1);
    if (info != 0) {
        st = lelp__fail(LELP_E_SOLVER, "lelp_builder_fit: dgesvd workspace query failed (info %d)", (int)info);
        goto done;
    }
    int64_t lwork = (int64_t)query;
    work_bytes = lelp__bytes(lwork, 1, sizeof(double));
    work = lelp__alloc(mem, work_bytes);
    if (!work) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the head's SVD workspace");
        goto done;
    }
    info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'N', (lapack_int)d, (lapack_int)C, A,
                               (lapack_int)d, s, U, (lapack_int)d, &vt_dummy, 1, work,
                               (lapack_int)lwork);
    if (info != 0) {
        st = lelp__fail(LELP_E_SOLVER, "lelp_builder_fit: dgesvd of the head failed (info %d)", (int)info);
        goto done;
    }
    double tol = s[0] * (double)(C > d ? C : d) * DBL_EPSILON;
    int64_t r = 0;
    while (r < k && s[r] > tol) r++;
    *rank = r;
    *Q = U;
    U = NULL;
done:
    lelp__free(mem, A, lelp__bytes(d, C, sizeof(double)));
    lelp__free(mem, U, lelp__bytes(d, k, sizeof(double)));
    lelp__free(mem, s, lelp__bytes(k, 1, sizeof(double)));
    lelp__free(mem, work, work_bytes);
    return st;
}

/* P S P = S - (A Q^T + Q A^T), A = S Q - Q (Q^T S Q) / 2: one dsymm, two
 * small dgemm and one dsyr2k, O(d^2 r). Sigma is the lower triangle,
 * column-major; Q is d x r column-major. */
int lelp__project_out(const lelp__mem* mem, double* Sigma, int64_t d, const double* Q, int64_t r)
{
    if (r == 0) return LELP_OK;
    double* T = lelp__alloc(mem, lelp__bytes(d, r, sizeof(double)));
    double* B = lelp__alloc(mem, lelp__bytes(r, r, sizeof(double)));
    if (!T || !B) {
        lelp__free(mem, T, lelp__bytes(d, r, sizeof(double)));
        lelp__free(mem, B, lelp__bytes(r, r, sizeof(double)));
        return lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the null-space projection");
    }
    const int n = (int)d, k = (int)r;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, n, k, 1.0, Sigma, n, Q, n, 0.0, T, n);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, k, n, 1.0, Q, n, T, n, 0.0, B, k);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, k, k, -0.5, Q, n, B, k, 1.0, T, n);
    cblas_dsyr2k(CblasColMajor, CblasLower, CblasNoTrans, n, k, -1.0, T, n, Q, n, 1.0, Sigma, n);
    lelp__free(mem, T, lelp__bytes(d, r, sizeof(double)));
    lelp__free(mem, B, lelp__bytes(r, r, sizeof(double)));
    return LELP_OK;
}
