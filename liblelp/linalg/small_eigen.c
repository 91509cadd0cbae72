/* SPDX-License-Identifier: MIT */
/* small_eigen.c -- all eigenvalues and the k largest eigenvectors of a small
 * symmetric matrix (the Frequent Directions shrink's 2l x 2l Gram matrix,
 * used by sketch.c for 2l <= 96), in about half the time of LAPACK's dsyevd
 * at n = 32 and three quarters of it at n = 96 (bench_core shrink).
 *
 * Why not dsyevd: at n = 32 it spends ~130 us, most of it rotating all n
 * eigenvectors in the tridiagonal QL/divide-and-conquer, while the shrink
 * keeps the top l - 1 of 2l; and dsytrd/dormtr spend more on their level-2
 * BLAS calls than on flops at this size. Here: a plain-loop Householder
 * tridiagonalization (dsytd2's algorithm), LAPACK's dsterf for the
 * eigenvalues (root-free QL), inverse iteration on the tridiagonal for the k
 * wanted vectors, and the reflectors applied to those k only. This is
 * LAPACK's dsyevx route with dstebz/dstein swapped for dsterf and a leaner
 * inverse iteration: a fixed number of steps (the result is a fixed function
 * of the input), fixed pseudo-random start vectors, largest first, and the
 * same cluster rule as dstein (eigenvalues closer than 1e-3 ||T||_1 are
 * orthogonalized against each other; a repeated value is nudged by
 * 10 eps |lambda| so its factorization differs). Accuracy is checked against
 * dsyevd in tests/test_small_eigen.c (residuals and orthogonality
 * <= 1e-12 ||A||, on repeated, rank-deficient, zero and extreme-scale
 * matrices). No FMA contraction, and the dot products run in lelp__dot's
 * fixed four running sums, so the AVX2 clones give the same bits as the
 * SSE2 ones. */
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "linalg.h"

#define LELP__INVIT_STEPS 2

/* Doubles of workspace lelp__small_eigen needs for (n, k). */
int64_t lelp__small_eigen_work(int64_t n, int64_t k)
{
    (void)k;
    return 11 * n;
}

/* (T - sigma I) = P L U for the tridiagonal T (diagonal dg, off-diagonal
 * e), with partial pivoting: U has two superdiagonals, u0 holds the
 * reciprocals of its diagonal. Selects rather than branches on the pivot
 * choice: it is data-dependent and mispredicted half the time. Pivots smaller than
 * tiny become tiny (their sign kept), as in LAPACK's dlagtf/dlagts, so the
 * solve stays finite when sigma is an eigenvalue to working precision. */
static void lelp__tri_factor(int64_t n, const double* dg, const double* e, double sigma, double tiny, double* u0,
                             double* u1, double* u2, double* l, unsigned char* piv)
{
    double a = dg[0] - sigma, b = n > 1 ? e[0] : 0.0;
    for (int64_t i = 0; i + 1 < n; i++) {
        const double c = e[i], an = dg[i + 1] - sigma, bn = i + 2 < n ? e[i + 1] : 0.0;
        const int swap = !(fabs(a) >= fabs(c));
        double p = swap ? c : a;
        if (fabs(p) < tiny) p = p < 0.0 ? -tiny : tiny;
        const double rp = 1.0 / p, m = (swap ? a : c) * rp;
        u0[i] = rp, u1[i] = swap ? an : b, u2[i] = swap ? bn : 0.0, l[i] = m, piv[i] = (unsigned char)swap;
        const double na = swap ? b - m * an : an - m * b;
        b = swap ? -m * bn : bn;
        a = na;
    }
    if (fabs(a) < tiny) a = a < 0.0 ? -tiny : tiny;
    u0[n - 1] = 1.0 / a;
}

static void lelp__tri_solve(int64_t n, const double* u0, const double* u1, const double* u2, const double* l,
                            const unsigned char* piv, double* x)
{
    double cur = x[0];
    for (int64_t i = 0; i + 1 < n; i++) {
        const double nxt = x[i + 1];
        const double lo = piv[i] ? nxt : cur, hi = piv[i] ? cur : nxt;
        x[i] = lo;
        cur = hi - l[i] * lo;
    }
    x[n - 1] = cur * u0[n - 1];
    if (n > 1) x[n - 2] = (x[n - 2] - u1[n - 2] * x[n - 1]) * u0[n - 2];
    for (int64_t i = n - 3; i >= 0; i--) x[i] = (x[i] - u1[i] * x[i + 1] - u2[i] * x[i + 2]) * u0[i];
}

/* x / ||x||_2, scaled first so no square overflows */
static void lelp__unit(int64_t n, double* x)
{
    double mx = 0.0;
    for (int64_t i = 0; i < n; i++) mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
    if (!(mx > 0.0)) {
        x[0] = 1.0; /* cannot happen for a nonsingular solve; keep a unit vector */
        return;
    }
    const double r = 1.0 / mx;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] *= r;
        s += x[i] * x[i];
    }
    const double f = 1.0 / sqrt(s);
    for (int64_t i = 0; i < n; i++) x[i] *= f;
}

/* x minus its components along vectors j+1..top (modified Gram-Schmidt;
 * vector q is column q - first of Z) */
static void lelp__orth_above(int64_t n, const double* Z, int64_t first, int64_t j, int64_t top, double* x)
{
    for (int64_t q = j + 1; q <= top; q++) {
        const double* v = Z + (q - first) * n;
        const double dot = lelp__dot(v, x, n);
        for (int64_t i = 0; i < n; i++) x[i] -= dot * v[i];
    }
}

/* Inverse iteration for eigenvalues w[first..n) of T, largest first; vector
 * j goes to column j - first of Z (ld n). Returns -1 if a solve overflowed. */
static int lelp__tri_vectors(int64_t n, const double* dg, const double* e, const double* w, int64_t first,
                              double* Z, double* scratch)
{
    double* u0 = scratch;
    double* u1 = u0 + n;
    double* u2 = u1 + n;
    double* l = u2 + n;
    unsigned char* piv = (unsigned char*)(l + n);
    double* ds = l + 2 * n; /* T / ||T||_1, after piv's n bytes: the solves cannot overflow */
    double* es = ds + n;
    double tnorm = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double r = fabs(dg[i]) + (i > 0 ? fabs(e[i - 1]) : 0.0) + (i + 1 < n ? fabs(e[i]) : 0.0);
        tnorm = r > tnorm ? r : tnorm;
    }
    if (!(tnorm > 0.0)) { /* T = 0: any orthonormal basis */
        memset(Z, 0, (size_t)((n - first) * n) * sizeof(double));
        for (int64_t j = first; j < n; j++) Z[(j - first) * n + j] = 1.0;
        return 0;
    }
    for (int64_t i = 0; i < n; i++) ds[i] = dg[i] / tnorm;
    for (int64_t i = 0; i + 1 < n; i++) es[i] = e[i] / tnorm;
    const double tiny = DBL_EPSILON, ortol = 1e-3;
    int64_t top = n - 1; /* the largest eigenvalue of the current cluster */
    double prev = 0.0;
    uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
    for (int64_t j = n - 1; j >= first; j--) {
        double sigma = w[j] / tnorm;
        if (j < n - 1 && w[j + 1] / tnorm - sigma > ortol) top = j;
        if (j < n - 1) {
            const double pertol = 10.0 * fabs(DBL_EPSILON * sigma);
            if (prev - sigma < pertol) sigma = prev - pertol;
        }
        prev = sigma;
        double* x = Z + (j - first) * n;
        for (int64_t i = 0; i < n; i++) { /* a fixed pseudo-random start in [-1, 1) */
            seed = seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            x[i] = (double)(seed >> 11) * 0x1p-52 - 1.0;
        }
        lelp__tri_factor(n, ds, es, sigma, tiny, u0, u1, u2, l, piv);
        for (int s = 0; s < LELP__INVIT_STEPS; s++) {
            lelp__unit(n, x);
            lelp__tri_solve(n, u0, u1, u2, l, piv, x);
            double mx = 0.0;
            for (int64_t i = 0; i < n; i++) mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
            if (!(mx <= DBL_MAX)) return -1; /* overflow or NaN: the caller falls back to dsyevd */
            lelp__orth_above(n, Z, first, j, top, x);
        }
        /* Once more, on the unit vector and against every vector above, not
         * just the cluster's: in a cluster at the rounding floor (a rank-
         * deficient Gram matrix) the solves leave ~1e-5 of the large
         * eigenvectors in, and a solve that lands almost inside the span
         * it is projected off loses orthogonality to cancellation. */
        lelp__unit(n, x);
        lelp__orth_above(n, Z, first, j, n - 1, x);
        lelp__unit(n, x);
    }
    return 0;
}

/* Householder reduction of the full symmetric A (column-major, scaled so
 * max |a_ij| = 1) to tridiagonal (dg, e): Q^T A Q = T with Q = H_0 ... H_{n-3},
 * H_k = I - tau_k v_k v_k^T, v_k = (1, A[k+2..n, k]) stored below the
 * subdiagonal of column k. LAPACK's dsytd2 with plain loops: at n ~ 32 its
 * level-2 BLAS calls cost more than their flops. p: n doubles of scratch. */
static LELP__CLONES void lelp__tridiagonalize(int64_t n, double* A, double* dg, double* e, double* tau, double* p)
{
    for (int64_t k = 0; k + 2 < n; k++) {
        double* x = A + k * n + k + 1; /* column k below the diagonal, m long */
        const int64_t m = n - k - 1;
        const double sigma = lelp__sumsq(x + 1, m - 1);
        dg[k] = A[k * n + k];
        tau[k] = 0.0;
        e[k] = x[0];
        if (sigma == 0.0) continue; /* already tridiagonal in this column: H_k = I */
        const double alpha = x[0], norm = sqrt(alpha * alpha + sigma), beta = alpha > 0.0 ? -norm : norm;
        const double t = (beta - alpha) / beta, r = 1.0 / (alpha - beta);
        x[0] = 1.0;
        for (int64_t i = 1; i < m; i++) x[i] *= r;
        e[k] = beta;
        tau[k] = t;
        /* A22 <- H A22 H = A22 - v w^T - w v^T, w = t A22 v - (t^2/2)(v^T A22 v) v */
        double* A22 = A + (k + 1) * n + k + 1;
        for (int64_t i = 0; i < m; i++) p[i] = 0.0;
        for (int64_t j = 0; j < m; j++) {
            const double vj = t * x[j];
            const double* col = A22 + j * n;
            for (int64_t i = 0; i < m; i++) p[i] += col[i] * vj;
        }
        const double pv = lelp__dot(p, x, m);
        const double half = 0.5 * t * pv;
        for (int64_t i = 0; i < m; i++) p[i] -= half * x[i];
        for (int64_t j = 0; j < m; j++) {
            const double vj = x[j], wj = p[j];
            double* col = A22 + j * n;
            for (int64_t i = 0; i < m; i++) col[i] -= x[i] * wj + p[i] * vj;
        }
    }
    if (n >= 2) {
        dg[n - 2] = A[(n - 2) * n + n - 2];
        e[n - 2] = A[(n - 2) * n + n - 1];
    }
    dg[n - 1] = A[(n - 1) * n + n - 1];
}

/* Z <- Q Z for the n x k columns of Z (ld n): H_{n-3} first, H_0 last. */
static LELP__CLONES void lelp__apply_q(int64_t n, const double* A, const double* tau, int64_t k, double* Z)
{
    for (int64_t r = n - 3; r >= 0; r--) {
        if (tau[r] == 0.0) continue;
        const double* v = A + r * n + r + 1;
        const int64_t m = n - r - 1;
        for (int64_t c = 0; c < k; c++) {
            double* z = Z + c * n + r + 1;
            const double s = lelp__dot(v, z, m) * tau[r];
            for (int64_t i = 0; i < m; i++) z[i] -= s * v[i];
        }
    }
}

/* A: n x n, lower triangle, column-major (destroyed). w: all n eigenvalues,
 * ascending. Z: n x k column-major (ld n), column i = the eigenvector of
 * w[n - k + i]. work: lelp__small_eigen_work(n, k) doubles. Returns dsterf's
 * info if nonzero, -1 if the input is not finite or inverse iteration
 * overflowed (the caller falls back to dsyevd), else 0. */
int lelp__small_eigen(int64_t n, double* A, int64_t k, double* w, double* Z, double* work, int64_t lwork)
{
    (void)lwork;
    double* dg = work;
    double* e = dg + n;
    double* tau = e + n;
    double* e2 = tau + n;
    double* scratch = e2 + n; /* 7n: the factorization, its pivots, the scaled T */
    /* full symmetric storage, scaled to max |a_ij| = 1 so no square in the
     * reflectors overflows or matters when it underflows */
    double amax = 0.0;
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = j; i < n; i++) amax = fabs(A[j * n + i]) > amax ? fabs(A[j * n + i]) : amax;
    if (!(amax <= DBL_MAX)) return -1;
    const double scale = amax > 0.0 ? 1.0 / amax : 1.0;
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = j; i < n; i++) A[i * n + j] = A[j * n + i] = A[j * n + i] * scale;
    lelp__tridiagonalize(n, A, dg, e, tau, scratch);
    for (int64_t i = 0; i < n; i++) dg[i] *= amax > 0.0 ? amax : 1.0;
    for (int64_t i = 0; i + 1 < n; i++) e[i] *= amax > 0.0 ? amax : 1.0;
    memcpy(w, dg, (size_t)n * sizeof(double));
    if (n > 1) memcpy(e2, e, (size_t)(n - 1) * sizeof(double));
    lapack_int info = LAPACKE_dsterf_work((lapack_int)n, w, e2);
    if (info != 0) return (int)info;
    if (k < 1) return 0;
    if (lelp__tri_vectors(n, dg, e, w, n - k, Z, scratch)) return -1;
    lelp__apply_q(n, A, tau, k, Z);
    return 0;
}
