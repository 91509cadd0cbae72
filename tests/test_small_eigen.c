/* SPDX-License-Identifier: MIT */
/* test_small_eigen.c -- small_eigen.c (the sketch shrink's eigensolver)
 * against LAPACK's dsyevd on the matrices a Frequent Directions buffer
 * produces and on the hard cases for inverse iteration: exactly repeated
 * eigenvalues, rank-deficient Gram matrices (many zero eigenvalues), a
 * diagonal matrix, the zero matrix, and extreme scales. Tolerances, relative
 * to ||A||_2: eigenvalues 1e-13, residuals ||A v - lambda v|| 1e-12,
 * orthonormality |V^T V - I| 1e-12. The same input gives the same bits. */
#include <lapacke.h>
#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../liblelp/linalg/linalg.h" /* lelp__small_eigen: an internal symbol of liblelp.a */

enum { RANDOM, REPEATED, RANK_DEFICIENT, DIAGONAL, ZERO, TINY, HUGE_SCALE, FD_BUFFER, KINDS };

static lelp__rng rng;

static double urand(void)
{
    return lelp__rng_uniform(&rng) - 0.5;
}

/* Q diag(lambda) Q^T with lambda in three groups, two of them exactly repeated */
static void repeated(int n, double* G)
{
    double* Q = malloc(sizeof(double) * (size_t)(n * n));
    double* tau = malloc(sizeof(double) * (size_t)n);
    assert_true(Q && tau);
    for (int i = 0; i < n * n; i++) Q[i] = urand();
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, n, n, Q, n, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_COL_MAJOR, n, n, n, Q, n, tau), 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int q = 0; q < n; q++) {
                double lam = q < n / 3 ? 1.0 : q < 2 * n / 3 ? 2.0 : 2.0 + 1e-9 * q;
                s += Q[q * n + i] * lam * Q[q * n + j];
            }
            G[i + j * n] = s;
        }
    free(Q);
    free(tau);
}

/* G = B B^T (lower, column-major) for n rows of width 256, shaped by kind */
static void make(int kind, int n, double* G)
{
    if (kind == REPEATED) {
        repeated(n, G);
        return;
    }
    const int d = 256;
    double* B = calloc((size_t)(n * d), sizeof(double));
    assert_non_null(B);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) B[i * d + j] = urand() * (j < 20 ? 11.0 : 1.0);
    if (kind == RANK_DEFICIENT) /* every row a multiple of one of three, every fifth zero */
        for (int i = n - 1; i >= 0; i--)
            for (int j = 0; j < d; j++) B[i * d + j] = i % 5 == 0 ? 0.0 : B[(i % 3) * d + j] * (1 + i);
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, n, d, 1.0, B, d, 0.0, G, n);
    free(B);
    if (kind == DIAGONAL) { /* with a repeated entry */
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                if (i != j) G[i + j * n] = 0.0;
        if (n > 1) G[0] = G[n + 1];
    }
    if (kind == ZERO) memset(G, 0, sizeof(double) * (size_t)(n * n));
    for (int i = 0; i < n * n; i++) G[i] *= kind == TINY ? 1e-300 : kind == HUGE_SCALE ? 1e300 : 1.0;
    if (kind == FD_BUFFER) { /* right after a shrink: the kept rows are orthogonal */
        const int keep = n / 2 - 1;
        for (int j = 0; j < keep; j++)
            for (int i = j; i < keep; i++) G[i + j * n] = i == j ? 1000.0 / (1 + j) : 0.0;
    }
}

static void check(int n, int k, int kind)
{
    const size_t nn = (size_t)(n * n);
    double* G = malloc(sizeof(double) * nn);
    double* A = malloc(sizeof(double) * nn);
    double* R = malloc(sizeof(double) * nn);
    double* w = malloc(sizeof(double) * (size_t)n);
    double* w0 = malloc(sizeof(double) * (size_t)n);
    double* Z = malloc(sizeof(double) * (size_t)(n * k));
    double* Z2 = malloc(sizeof(double) * (size_t)(n * k));
    const int64_t lwork = lelp__small_eigen_work(n, k);
    assert_true(lwork > 0);
    double* work = malloc(sizeof(double) * (size_t)lwork);
    assert_true(G && A && R && w && w0 && Z && Z2 && work);
    make(kind, n, G);
    memcpy(A, G, sizeof(double) * nn);
    assert_int_equal(lelp__small_eigen(n, A, k, w, Z, work, lwork), 0);
    memcpy(A, G, sizeof(double) * nn); /* the same input, the same bits */
    assert_int_equal(lelp__small_eigen(n, A, k, w0, Z2, work, lwork), 0);
    assert_memory_equal(Z, Z2, sizeof(double) * (size_t)(n * k));
    memcpy(R, G, sizeof(double) * nn);
    assert_int_equal(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', n, R, n, w0), 0);
    double anorm = fmax(fabs(w0[0]), fabs(w0[n - 1]));
    if (anorm == 0.0) anorm = 1.0;
    for (int i = 0; i < n; i++)
        if (!(fabs(w[i] - w0[i]) <= 1e-13 * anorm))
            fail_msg("n %d kind %d: eigenvalue %d is %.17g, dsyevd %.17g", n, kind, i, w[i], w0[i]);
    for (int a = 0; a < k; a++) {
        const double* v = Z + a * n;
        const double lam = w[n - k + a];
        for (int i = 0; i < n; i++) {
            double s = 0.0;
            for (int j = 0; j < n; j++) s += (i >= j ? G[i + j * n] : G[j + i * n]) * v[j];
            if (!(fabs(s - lam * v[i]) <= 1e-12 * anorm))
                fail_msg("n %d kind %d: vector %d residual %.3g", n, kind, a, fabs(s - lam * v[i]) / anorm);
        }
        for (int b = 0; b < k; b++) {
            double s = 0.0;
            for (int i = 0; i < n; i++) s += v[i] * Z[b * n + i];
            if (!(fabs(s - (a == b)) <= 1e-12))
                fail_msg("n %d kind %d: vectors %d and %d have dot %.3g", n, kind, a, b, s);
        }
    }
    free(G), free(A), free(R), free(w), free(w0), free(Z), free(Z2), free(work);
}

static void against_dsyevd(void** state)
{
    (void)state;
    lelp__rng_init(&rng, 7, 0, 1);
    const int sizes[] = {1, 2, 3, 5, 8, 17, 24, 32, 33, 48, 64, 96, 128};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const int n = sizes[s];
        /* the shrink's k = l - 1 of n = 2l, and the extremes */
        const int ks[] = {n / 2 > 1 ? n / 2 - 1 : 1, 1, n};
        for (int kind = 0; kind < KINDS; kind++)
            for (int t = 0; t < 3; t++) check(n, ks[t], kind);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(against_dsyevd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
