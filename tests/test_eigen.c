/* SPDX-License-Identifier: MIT */
/* test_eigen.c -- the exact solver's large-d eigensolver (krylov.c) against
 * LAPACK's dsyevr, called here directly as the independent reference, on
 * matrices of known spectrum A = Q diag(lambda) Q^T, and through the public
 * API on a d = 1024 fit.
 *
 * Tolerances: the Krylov answer is accepted at a residual of 1e-13 theta_1,
 * so eigenvalues agree to ~(1e-13)^2 / gap + rounding: 1e-11 relative;
 * eigenvectors to residual / relative gap: 1e-13 / 1e-2 (the tightest gap
 * below) = 1e-11, checked as 1 - |<u, v>| <= 1e-10; orthonormality 1e-12. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <cmocka.h>
#include <lapacke.h>

#include "../liblelp/linalg/linalg.h" /* lelp__krylov_top: internal symbol of liblelp.a */
#include "expect.h"
#include "lelp.h"

#define TOL_EIG 1e-11
#define TOL_VEC 1e-10
#define TOL_ORTH 1e-12

static lelp__mem plain_mem;

/* Under valgrind (make check-valgrind sets LELP_TEST_LIGHT) the dense
 * d^3 set-up of d ~ 1000 matrices would take minutes: the same cases run at
 * d = 320 by calling the Krylov solver directly (the dispatcher would pick
 * dsyevr there), which still walks every code path, restarts included. */
static int light;

static int64_t dim(int64_t d)
{
    return light ? 320 : d;
}

/* Random orthogonal Q (d x d) from the QR of a seeded Gaussian matrix. */
static double* random_orthogonal(int64_t d, uint64_t seed)
{
    double* Q = malloc(sizeof(double) * (size_t)(d * d));
    double* tau = malloc(sizeof(double) * (size_t)d);
    assert_non_null(Q);
    assert_non_null(tau);
    lelp__rng r;
    lelp__rng_init(&r, seed, 0, 7);
    for (int64_t i = 0; i < d * d; i++) Q[i] = lelp__rng_normal(&r);
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, Q, (lapack_int)d, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, (lapack_int)d, Q, (lapack_int)d, tau), 0);
    free(tau);
    return Q;
}

/* A = Q diag(lam) Q^T, full (both triangles), column-major. */
static double* with_spectrum(int64_t d, const double* lam, uint64_t seed)
{
    double* Q = random_orthogonal(d, seed);
    double* QL = malloc(sizeof(double) * (size_t)(d * d));
    double* A = malloc(sizeof(double) * (size_t)(d * d));
    assert_non_null(QL);
    assert_non_null(A);
    for (int64_t j = 0; j < d; j++)
        for (int64_t i = 0; i < d; i++) QL[j * d + i] = Q[j * d + i] * lam[j];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)d, 1.0, QL, (int)d, Q, (int)d, 0.0, A,
                (int)d);
    free(Q);
    free(QL);
    return A;
}

/* Reference: dsyevr on a copy, top S, descending. */
static void reference_top(const double* A, int64_t d, int64_t S, double* w, double* V)
{
    double* B = malloc(sizeof(double) * (size_t)(d * d));
    double* wall = malloc(sizeof(double) * (size_t)d);
    double* Z = malloc(sizeof(double) * (size_t)(d * S));
    lapack_int* isuppz = malloc(sizeof(lapack_int) * (size_t)(2 * S));
    assert_true(B && wall && Z && isuppz);
    memcpy(B, A, sizeof(double) * (size_t)(d * d));
    lapack_int m = 0;
    assert_int_equal(LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)d, B, (lapack_int)d, 0, 0,
                                    (lapack_int)(d - S + 1), (lapack_int)d, 0.0, &m, wall, Z, (lapack_int)d, isuppz),
                     0);
    assert_int_equal(m, S);
    for (int64_t s = 0; s < S; s++) {
        w[s] = wall[S - 1 - s];
        memcpy(V + s * d, Z + (S - 1 - s) * d, sizeof(double) * (size_t)d);
    }
    free(B);
    free(wall);
    free(Z);
    free(isuppz);
}

/* Runs the Krylov solver on A and compares it with dsyevr. */
static void check_against_lapack(const double* A, int64_t d, int64_t S, int compare_vectors)
{
    double* w = malloc(sizeof(double) * (size_t)S);
    double* V = malloc(sizeof(double) * (size_t)(d * S));
    double* wr = malloc(sizeof(double) * (size_t)S);
    double* Vr = malloc(sizeof(double) * (size_t)(d * S));
    assert_true(w && V && wr && Vr);
    if (!light) assert_true(lelp__krylov_applies(d, S));
    EXPECT_OK(lelp__krylov_top(&plain_mem, A, d, S, w, V, 0));
    reference_top(A, d, S, wr, Vr);
    for (int64_t s = 0; s < S; s++) {
        if (fabs(w[s] - wr[s]) > TOL_EIG * wr[0])
            fail_msg("eigenvalue %lld: krylov %.17g, dsyevr %.17g", (long long)s, w[s], wr[s]);
        if (s > 0 && w[s] > w[s - 1]) fail_msg("eigenvalues not descending at %lld", (long long)s);
        for (int64_t t = 0; t < S; t++) {
            double dot = cblas_ddot((int)d, V + s * d, 1, V + t * d, 1);
            if (fabs(dot - (s == t)) > TOL_ORTH)
                fail_msg("|V^T V - I| at (%lld, %lld) = %.3g", (long long)s, (long long)t, fabs(dot - (s == t)));
        }
        if (compare_vectors) {
            double dot = fabs(cblas_ddot((int)d, V + s * d, 1, Vr + s * d, 1));
            if (1.0 - dot > TOL_VEC) fail_msg("eigenvector %lld: 1 - |<u, v>| = %.3g", (long long)s, 1.0 - dot);
        }
    }
    /* residual ||A v - w v|| of every returned pair, against the whole A */
    double* r = malloc(sizeof(double) * (size_t)d);
    assert_non_null(r);
    for (int64_t s = 0; s < S; s++) {
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)d, (int)d, 1.0, A, (int)d, V + s * d, 1, 0.0, r, 1);
        cblas_daxpy((int)d, -w[s], V + s * d, 1, r, 1);
        double res = cblas_dnrm2((int)d, r, 1);
        if (res > 1e-12 * wr[0]) fail_msg("pair %lld: residual %.3g (theta_1 %.3g)", (long long)s, res, wr[0]);
    }
    free(r);
    free(w);
    free(V);
    free(wr);
    free(Vr);
}

static void geometric(void** state)
{
    (void)state;
    const int64_t d = dim(800), S = 8;
    double* lam = malloc(sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < d; i++) lam[i] = pow(0.9, (double)i);
    double* A = with_spectrum(d, lam, 1);
    check_against_lapack(A, d, S, 1);
    free(A);
    free(lam);
}

/* Slow power-law decay, the shape of real embedding spectra: neighbouring
 * eigenvalues differ by ~1/(2i) relative, the hard case for Krylov. */
static void power_law(void** state)
{
    (void)state;
    const int64_t d = dim(1024), S = 4;
    double* lam = malloc(sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < d; i++) lam[i] = 1.0 / sqrt((double)(i + 1));
    double* A = with_spectrum(d, lam, 2);
    check_against_lapack(A, d, S, 1);
    free(A);
    free(lam);
}

/* lambda_S / lambda_{S+1} = 1.01 and a large dynamic range below. */
static void tight_gap(void** state)
{
    (void)state;
    const int64_t d = dim(900), S = 6;
    double* lam = malloc(sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < d; i++) lam[i] = i < S ? 100.0 - 10.0 * (double)i : 49.5 / (1.0 + 0.01 * (double)(i - S));
    double* A = with_spectrum(d, lam, 3);
    check_against_lapack(A, d, S, 1);
    free(A);
    free(lam);
}

/* A cluster straddling the S-th eigenvalue: the individual vectors inside
 * it are not unique (for dsyevr either), so only values, orthonormality and
 * residuals are compared, and the vectors outside the cluster. */
static void degenerate_cluster(void** state)
{
    (void)state;
    const int64_t d = dim(800), S = 5;
    double* lam = malloc(sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < d; i++) lam[i] = i < 3 ? 10.0 - (double)i : (i < 7 ? 5.0 : 1.0 / (double)(i + 1));
    double* A = with_spectrum(d, lam, 4);
    check_against_lapack(A, d, S, 0);
    free(A);
    free(lam);
}

/* Exactly low rank (S + 2 non-zero eigenvalues, e.g. a class with fewer
 * examples than d): the Krylov space becomes invariant. */
static void low_rank(void** state)
{
    (void)state;
    const int64_t d = dim(1024), S = 4;
    double* lam = calloc((size_t)d, sizeof(double));
    for (int64_t i = 0; i < S + 2; i++) lam[i] = 8.0 - (double)i;
    double* A = with_spectrum(d, lam, 5);
    double w[4], *V = malloc(sizeof(double) * (size_t)(d * S));
    int st = lelp__krylov_top(&plain_mem, A, d, S, w, V, 0);
    /* either converged to the right pairs, or handed over to dsyevr */
    assert_true(st == LELP_OK || st == LELP__KRYLOV_FALLBACK);
    if (st == LELP_OK)
        for (int64_t s = 0; s < S; s++) assert_true(fabs(w[s] - lam[s]) <= TOL_EIG * lam[0]);
    /* and the dispatcher answers in either case */
    double* B = malloc(sizeof(double) * (size_t)(d * d));
    memcpy(B, A, sizeof(double) * (size_t)(d * d));
    EXPECT_OK(lelp__top_eigen(&plain_mem, B, d, S, w, V, 0));
    for (int64_t s = 0; s < S; s++) assert_true(fabs(w[s] - lam[s]) <= TOL_EIG * lam[0]);
    free(B);
    free(V);
    free(A);
    free(lam);
}

/* The zero matrix: no progress is possible; the solver must hand over,
 * not loop, divide by zero or report success. */
static void zero_matrix(void** state)
{
    (void)state;
    const int64_t d = dim(800), S = 4;
    double* A = calloc((size_t)(d * d), sizeof(double));
    double w[4], *V = malloc(sizeof(double) * (size_t)(d * S));
    assert_int_equal(lelp__krylov_top(&plain_mem, A, d, S, w, V, 0), LELP__KRYLOV_FALLBACK);
    free(V);
    free(A);
}

/* Same input, same answer, bit for bit (fixed start block). */
static void deterministic(void** state)
{
    (void)state;
    const int64_t d = dim(800), S = 4;
    double* lam = malloc(sizeof(double) * (size_t)d);
    for (int64_t i = 0; i < d; i++) lam[i] = 1.0 / (double)(i + 1);
    double* A = with_spectrum(d, lam, 6);
    double w1[4], w2[4];
    double* V1 = malloc(sizeof(double) * (size_t)(d * S));
    double* V2 = malloc(sizeof(double) * (size_t)(d * S));
    EXPECT_OK(lelp__krylov_top(&plain_mem, A, d, S, w1, V1, 3));
    EXPECT_OK(lelp__krylov_top(&plain_mem, A, d, S, w2, V2, 3));
    assert_memory_equal(w1, w2, sizeof w1);
    assert_memory_equal(V1, V2, sizeof(double) * (size_t)(d * S));
    free(V1);
    free(V2);
    free(A);
    free(lam);
}

/* Reference P Sigma P in place (Sigma full, d x d), P = I - Q Q^T with Q an
 * orthonormal basis of the rows of W (C x d float32, as the library sees it). */
static void project_reference(double* cov, const float* W, int64_t C, int64_t d)
{
    double* Q = malloc(sizeof(double) * (size_t)(d * C));
    double* tau = malloc(sizeof(double) * (size_t)C);
    double* T = malloc(sizeof(double) * (size_t)(d * d));
    double* R = malloc(sizeof(double) * (size_t)(d * C));
    assert_true(Q && tau && T && R);
    for (int64_t c = 0; c < C; c++)
        for (int64_t j = 0; j < d; j++) Q[c * d + j] = (double)W[c * d + j];
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)C, Q, (lapack_int)d, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)C, (lapack_int)C, Q, (lapack_int)d, tau), 0);
    /* T = Sigma - Q (Q^T Sigma), then cov = T - (T Q) Q^T */
    memcpy(T, cov, sizeof(double) * (size_t)(d * d));
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)C, (int)d, (int)d, 1.0, Q, (int)d, cov, (int)d, 0.0, R,
                (int)C);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)C, -1.0, Q, (int)d, R, (int)C, 1.0, T,
                (int)d);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)C, (int)d, 1.0, T, (int)d, Q, (int)d, 0.0, R,
                (int)d);
    memcpy(cov, T, sizeof(double) * (size_t)(d * d));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)C, -1.0, R, (int)d, Q, (int)d, 1.0, cov,
                (int)d);
    free(Q);
    free(tau);
    free(T);
    free(R);
}

/* Public API, d = 1024 (the Krylov path; without a head it reads the
 * co-moments in place, with one it runs on the projected copy): a fit's
 * eigenvalues and components against dsyevr of the covariance computed here
 * in float64 (and projected here when a head is set). */
static void fit_through_api(void** state)
{
    (void)state;
    if (light) skip();
    const int64_t d = 1024, C = 2, S = 4, n = 3000;
    float* H = malloc(sizeof(float) * (size_t)(C * n * d));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)(C * n));
    float* W = malloc(sizeof(float) * (size_t)(C * d));
    assert_true(H && y && W);
    lelp__rng r;
    lelp__rng_init(&r, 11, 0, 9);
    /* per class: 6 strong directions (scales 12..2) plus isotropic noise */
    double* basis = malloc(sizeof(double) * (size_t)(6 * d));
    for (int64_t c = 0; c < C; c++) {
        for (int64_t i = 0; i < 6 * d; i++) basis[i] = lelp__rng_normal(&r) / sqrt((double)d);
        /* the head leans on the class's strongest direction, so projecting
         * it out changes the answer */
        for (int64_t j = 0; j < d; j++) W[c * d + j] = (float)(basis[j] + 0.3 * lelp__rng_normal(&r) / sqrt((double)d));
        for (int64_t i = 0; i < n; i++) {
            float* h = H + (c * n + i) * d;
            y[c * n + i] = (int32_t)c;
            for (int64_t j = 0; j < d; j++) h[j] = (float)(0.3 * lelp__rng_normal(&r) + (double)c);
            for (int64_t k = 0; k < 6; k++) {
                double z = (12.0 - 2.0 * (double)k) * lelp__rng_normal(&r);
                for (int64_t j = 0; j < d; j++) h[j] += (float)(z * basis[k * d + j]);
            }
        }
    }
    double* cov = malloc(sizeof(double) * (size_t)(d * d));
    double* mu = malloc(sizeof(double) * (size_t)d);
    double* X = malloc(sizeof(double) * (size_t)(n * d));
    double wr[4], *Vr = malloc(sizeof(double) * (size_t)(d * S));
    double ev[8], *U = malloc(sizeof(double) * (size_t)(C * S * d));
    for (int with_head = 0; with_head < 2; with_head++) {
        lelp_builder* b = NULL;
        EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
        EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0));
        if (with_head) EXPECT_OK(lelp_builder_set_head(b, W, C, d));
        EXPECT_OK(lelp_builder_update(b, H, y, C * n, d));
        lelp_model* m = NULL;
        EXPECT_OK(lelp_builder_fit(b, &m));
        EXPECT_OK(lelp_model_eigenvalues(m, ev, C * S));
        EXPECT_OK(lelp_model_components(m, U, C * S * d));
        for (int64_t c = 0; c < C; c++) {
            for (int64_t j = 0; j < d; j++) mu[j] = 0.0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < d; j++) mu[j] += (double)H[(c * n + i) * d + j] / (double)n;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < d; j++) X[j * n + i] = (double)H[(c * n + i) * d + j] - mu[j];
            cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)d, (int)n, 1.0 / (double)(n - 1), X, (int)n, 0.0,
                        cov, (int)d);
            for (int64_t j = 0; j < d; j++)
                for (int64_t i = j + 1; i < d; i++) cov[i * d + j] = cov[j * d + i];
            if (with_head) project_reference(cov, W, C, d);
            reference_top(cov, d, S, wr, Vr);
            for (int64_t s = 0; s < S; s++) {
                if (fabs(ev[c * S + s] - wr[s]) > 1e-9 * wr[s])
                    fail_msg("head %d class %lld eigenvalue %lld: %.17g vs %.17g", with_head, (long long)c,
                             (long long)s, ev[c * S + s], wr[s]);
                double dot = fabs(cblas_ddot((int)d, U + (c * S + s) * d, 1, Vr + s * d, 1));
                if (1.0 - dot > 1e-9)
                    fail_msg("head %d class %lld component %lld: 1 - |dot| = %.3g", with_head, (long long)c,
                             (long long)s, 1.0 - dot);
            }
        }
        lelp_model_free(m);
        lelp_builder_free(b);
    }
    free(H);
    free(y);
    free(W);
    free(basis);
    free(cov);
    free(mu);
    free(X);
    free(Vr);
    free(U);
}

/* SPEC 1.1.3: equal eigenvalues keep LAPACK's order. LAPACK's dsyevr,
 * called here with the solver's arguments, gives the ascending pairs; the
 * expected answer is those pairs sorted by descending value with a stable
 * sort. A diagonal matrix ties exactly (no rounding in its reduction). */
static void ties_keep_lapack_order(void** state)
{
    (void)state;
    const lapack_int d = 6, S = 4;
    const double diag[6] = {3.0, 7.0, 7.0, 1.0, 7.0, 2.0};
    double A[36] = {0}, B[36] = {0}, w[4], V[24], wl[6], Z[36];
    lapack_int m = 0, isuppz[12];
    for (int i = 0; i < d; i++) A[i * d + i] = B[i * d + i] = diag[i];
    assert_int_equal(LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', d, B, d, 0.0, 0.0, d - S + 1, d,
                                    LAPACKE_dlamch('S'), &m, wl, Z, d, isuppz),
                     0);
    assert_int_equal(m, S);
    int order[4] = {0, 1, 2, 3}; /* stable descending sort of wl[0..S) */
    for (int i = 1; i < S; i++)
        for (int j = i; j > 0 && wl[order[j]] > wl[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    EXPECT_OK(lelp__top_eigen_lapack(&plain_mem, A, d, S, w, V, 0));
    for (int s = 0; s < S; s++) {
        assert_true(w[s] == wl[order[s]]);
        for (int i = 0; i < d; i++) assert_true(V[s * d + i] == Z[order[s] * d + i]);
    }
    /* through the API: rows +-2 e_i give the covariance 1.6 I exactly, so
     * the components are LAPACK's eigenvectors of 1.6 I, in its order */
    float H[18] = {0};
    int32_t y[6] = {0};
    for (int i = 0; i < 3; i++) H[(2 * i) * 3 + i] = 2.0f, H[(2 * i + 1) * 3 + i] = -2.0f;
    double C3[9] = {1.6, 0, 0, 0, 1.6, 0, 0, 0, 1.6}, w3[3], Z3[9], U[9], ev[3];
    assert_int_equal(LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', 3, C3, 3, 0.0, 0.0, 1, 3,
                                    LAPACKE_dlamch('S'), &m, w3, Z3, 3, isuppz),
                     0);
    lelp_builder* b = NULL;
    lelp_model* mod = NULL;
    EXPECT_OK(lelp_builder_create(&b, 3, 1, 3, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0));
    EXPECT_OK(lelp_builder_update(b, H, y, 6, 3));
    EXPECT_OK(lelp_builder_fit(b, &mod));
    EXPECT_OK(lelp_model_eigenvalues(mod, ev, 3));
    EXPECT_OK(lelp_model_components(mod, U, 9));
    for (int s = 0; s < 3; s++) {
        assert_true(fabs(ev[s] - 1.6) <= 1e-15);
        double sign = 0.0; /* the sign rule: the largest entry positive */
        for (int i = 0; i < 3; i++)
            if (fabs(Z3[s * 3 + i]) > fabs(sign)) sign = Z3[s * 3 + i];
        for (int i = 0; i < 3; i++) assert_true(fabs(U[s * 3 + i] - copysign(1.0, sign) * Z3[s * 3 + i]) <= 1e-15);
    }
    lelp_model_free(mod);
    lelp_builder_free(b);
}

int main(void)
{
    lelp__mem_init(&plain_mem, NULL);
    light = getenv("LELP_TEST_LIGHT") != NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(geometric),          cmocka_unit_test(power_law),    cmocka_unit_test(tight_gap),
        cmocka_unit_test(degenerate_cluster), cmocka_unit_test(low_rank),     cmocka_unit_test(zero_matrix),
        cmocka_unit_test(deterministic),      cmocka_unit_test(fit_through_api), cmocka_unit_test(ties_keep_lapack_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
