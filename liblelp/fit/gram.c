/* SPDX-License-Identifier: MIT */
/* gram.c -- the n x n (Gram) form of a class with few rows, and the Gram
 * eigensolver shared with the sketch solver.
 *
 * While a class of the exact solver has at most d/2 rows (fewer for d > 4100:
 * lelp__gram_max_rows), the builder keeps
 * the rows themselves -- each block's centred rows and its Chan correction
 * row, exactly what the co-moment matrix would absorb -- instead of
 * M = R^T R. They live in the same d x d storage M would use, so nothing is
 * allocated and nothing can fail mid-stream; streaming a row costs d instead
 * of d^2, and the fit eigendecomposes the r x r Gram matrix R R^T instead of
 * the d x d co-moment (faiss's PCAMatrix does the same for n < d). Past the
 * limit the class switches, in place, to M. See docs/method.md section 2.1. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "fit.h"
#include "../linalg/linalg.h"

/* The switch to a co-moment needs an r x r scratch: the update's block
 * buffer ((LELP__BLOCK_ROWS + 1) x d doubles) or, when 3r <= d, the free upper
 * triangle. Never more than d/2, which is what a saved state's d(d+1)/2 slot
 * holds: d/2 for d <= 4100, max(d/3, sqrt(1025 d)) beyond. */
int64_t lelp__gram_max_rows(int64_t d)
{
    const int64_t buf = (LELP__BLOCK_ROWS + 1) * d;
    int64_t r = (int64_t)sqrt((double)buf);
    while (r * r > buf) r--;
    while ((r + 1) * (r + 1) <= buf) r++;
    if (r > d / 2) r = d / 2;
    return r > d / 3 ? r : d / 3;
}

/* Rows a block of nb rows adds to a class that has na examples: a lone row
 * centred on itself is exactly zero and is not stored. */
int64_t lelp__gram_block_rows(int64_t na, int64_t nb)
{
    return (nb > 1 ? nb : 0) + (na > 0 ? 1 : 0);
}

/* The r rows are the last r columns of the column-major d x d storage,
 * newest first: a contiguous row-major r x d block. */
const double* lelp__gram_rows(const double* M, int64_t d, int64_t r)
{
    return M + (d - r) * d;
}

static void lelp__gram_push(double* M, int64_t d, int64_t* r, const double* rows, int64_t nr)
{
    *r += nr;
    memcpy(M + (d - *r) * d, rows, (size_t)(nr * d) * sizeof(double));
}

static void lelp__gram_push_chan(double* M, int64_t d, int64_t* r, double w, const double* delta)
{
    const double s = sqrt(w);
    *r += 1;
    double* row = M + (d - *r) * d;
    for (int64_t j = 0; j < d; j++) row[j] = s * delta[j];
}

void lelp__gram_add_block(double* M, int64_t* r, double* mean, int64_t* count, int64_t d, const double* X,
                          int64_t nb, const double* bm, double* delta)
{
    const int64_t na = *count;
    const double w = lelp__chan_mean(mean, na, d, bm, nb, delta);
    if (nb > 1) lelp__gram_push(M, d, r, X, nb);
    if (na > 0) lelp__gram_push_chan(M, d, r, w, delta);
    *count += nb;
}

void lelp__gram_merge(double* M, int64_t* r, double* mean, int64_t* count, int64_t d, const double* rows_b,
                      int64_t r_b, const double* mean_b, int64_t count_b, double* delta)
{
    if (count_b == 0) return;
    const int64_t na = *count;
    const double w = lelp__chan_mean(mean, na, d, mean_b, count_b, delta);
    lelp__gram_push(M, d, r, rows_b, r_b);
    if (na > 0) lelp__gram_push_chan(M, d, r, w, delta);
    *count += count_b;
}

/* Replaces the r rows (r <= lelp__gram_max_rows(d)) by the lower triangle
 * of M = R^T R in the same storage, at the cost of streaming them into M.
 * With T = d - r and A = R^T the d x r block at column T: M[0:T, 0:T] and
 * M[T:d, 0:T] land in columns 0..T-1, which the rows do not occupy;
 * M[T:d, T:d] goes first to a scratch -- `work` (lwork doubles) when it
 * holds r x r, else the free upper triangle (rows 0..r-1 of columns
 * r..2r-1, free when 3r <= d) -- then over the rows, no longer read. Every
 * entry of the d x d storage is written. */
void lelp__gram_to_comoment(double* M, int64_t r, int64_t d, double* work, int64_t lwork)
{
    if (r == 0) {
        memset(M, 0, (size_t)(d * d) * sizeof(double)); /* the storage was never written */
        return;
    }
    const int64_t T = d - r;
    const double* A = M + T * d;
    double* tmp = r * r <= lwork ? work : M + r * d;
    const int64_t ldt = r * r <= lwork ? r : d;
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)T, (int)r, 1.0, A, (int)d, 0.0, M, (int)d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)r, (int)T, (int)r, 1.0, A + T, (int)d, A, (int)d, 0.0,
                M + T, (int)d);
    cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)r, (int)r, 1.0, A + T, (int)d, 0.0, tmp, (int)ldt);
    for (int64_t t = 0; t < r; t++)
        for (int64_t i = t; i < r; i++) M[(T + t) * d + T + i] = tmp[t * ldt + i];
    /* the upper triangle (a scratch, the rows' leftovers) back to zero */
    for (int64_t j = 1; j < d; j++) memset(M + j * d, 0, (size_t)j * sizeof(double));
}

/* Top-S eigenpairs of P A^T A P / (n - 1) for the r x d rows A (row-major)
 * whose co-moment has exact trace `total`: rows projected (a - Q Q^T a), the
 * r x r Gram matrix, its top S eigenpairs g, V = A^T g / sigma. The trace of
 * P M P: for exact rows, that of the projected rows (subtracting tr(Q^T M Q)
 * from `total` would cancel when the head removes a dominant direction); for
 * a sketch, whose rows only approximate M, `total` minus their estimate of
 * tr(Q^T M Q). */
int lelp__gram_eigen(const lelp__mem* mem, const double* rows, int64_t r, int64_t d, int exact_rows, double total,
                     int64_t count, const double* Q, int64_t rh, int64_t S, double* lam, double* V, double* trace,
                     double* trace0, int64_t c)
{
    *trace0 = rh > 0 ? total / (double)(count - 1) : 0.0;
    for (int64_t s = 0; s < S; s++) lam[s] = 0.0;
    *trace = 1.0;
    if (r < S) return LELP_OK; /* the caller's rank rule reports it */
    size_t a_bytes = lelp__bytes(r, d, sizeof(double)), g_bytes = lelp__bytes(r, r, sizeof(double));
    size_t t_bytes = lelp__bytes(r, rh > 0 ? rh : 1, sizeof(double)), v_bytes = lelp__bytes(S, d, sizeof(double));
    /* both written in full (a copy, dsyrk's triangle): huge pages */
    double* A = lelp__alloc_dense(mem, a_bytes);
    double* G = lelp__alloc_dense(mem, g_bytes);
    double* wtop = lelp__alloc(mem, lelp__bytes(S, 1, sizeof(double)));
    double* Z = lelp__alloc(mem, lelp__bytes(r, S, sizeof(double)));
    double* T = lelp__alloc(mem, t_bytes);
    double* Vt = lelp__alloc(mem, v_bytes);
    int st = LELP_OK;
    if (!A || !G || !wtop || !Z || !T || !Vt) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the %lld x %lld Gram matrix of class %lld",
                        (long long)r, (long long)r, (long long)c);
        goto done;
    }
    memcpy(A, rows, a_bytes);
    double qmq = 0.0;
    if (rh > 0) {
        /* T = A Q (Q column-major d x rh is row-major rh x d), A -= T Q^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)rh, (int)d, 1.0, A, (int)d, Q, (int)d, 0.0,
                    T, (int)rh);
        qmq = lelp__sumsq(T, r * rh);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)r, (int)d, (int)rh, -1.0, T, (int)rh, Q, (int)d,
                    1.0, A, (int)d);
    }
    const double scale = 1.0 / (double)(count - 1);
    if (exact_rows && rh > 0) {
        *trace = lelp__sumsq(A, r * d) * scale;
    } else {
        *trace = (total - qmq) * scale;
    }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)r, (int)d, 1.0, A, (int)d, 0.0, G, (int)r);
    /* only the S wanted pairs, descending (dsyevr, or block Krylov when r is large) */
    if ((st = lelp__top_eigen(mem, G, r, S, wtop, Z, c))) goto done;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)S, (int)d, (int)r, 1.0, Z, (int)r, A, (int)d, 0.0,
                Vt, (int)d);
    /* A^T g / sigma is orthogonal only to ~eps lambda_0 / lambda_s: a
     * direction near the rank floor would leave it far from orthonormal,
     * which a model must be (docs/format.md). Modified Gram-Schmidt, twice,
     * in descending order: the accurate leading directions stay as they are
     * and the later ones lose only their rounding-level overlap. */
    for (int64_t s = 0; s < S; s++) {
        lam[s] = wtop[s] > 0.0 ? wtop[s] * scale : 0.0;
        double* v = V + s * d;
        memcpy(v, Vt + s * d, (size_t)d * sizeof(double));
        for (int pass = 0; pass < 2; pass++) {
            for (int64_t t = 0; t < s; t++) {
                const double p = lelp__dot(V + t * d, v, d);
                for (int64_t j = 0; j < d; j++) v[j] -= p * V[t * d + j];
            }
            double norm = lelp__sumsq(v, d);
            norm = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
            for (int64_t j = 0; j < d; j++) v[j] *= norm;
        }
    }
done:
    lelp__free(mem, A, a_bytes);
    lelp__free(mem, G, g_bytes);
    lelp__free(mem, wtop, lelp__bytes(S, 1, sizeof(double)));
    lelp__free(mem, Z, lelp__bytes(r, S, sizeof(double)));
    lelp__free(mem, T, t_bytes);
    lelp__free(mem, Vt, v_bytes);
    return st;
}
