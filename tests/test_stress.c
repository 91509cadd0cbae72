/* SPDX-License-Identifier: MIT */
/* test_stress.c -- numbers under stress (issue: hardening): huge offsets,
 * extreme scales, near-duplicate rows, tiny classes, S equal to the rank,
 * extreme logits, tau and beta at their bounds. Every result is finite and
 * within the stated tolerance, or a documented status -- never NaN. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"

static uint64_t rng_state = 88172645463325252ULL;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(6.283185307179586 * unif());
}

/* n rows per class, d dims, class c has per-dimension std sd[j] around
 * offset + 3c; returns H (float) and y. */
static void make(float* H, int32_t* y, int64_t n, int64_t d, int64_t C, double offset, double scale)
{
    for (int64_t i = 0; i < n * C; i++) {
        y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < d; j++)
            H[i * d + j] = (float)((offset + 3.0 * y[i] + gauss() * (1.0 + (double)j)) * scale);
    }
}

static int all_finite(const float* x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static lelp_model* fit(const float* H, const int32_t* y, int64_t n, int64_t d, int64_t C, int64_t S, double beta,
                       int* status)
{
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_create(&b, d, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_double(b, LELP_BUILDER_BETA, beta), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, n, d), LELP_OK);
    *status = lelp_builder_fit(b, &m);
    lelp_builder_free(b);
    return m;
}

/* Targets are computed (every caller's data is within float32's range, and
 * the automatic beta follows its scale, so nothing may overflow), finite,
 * non-negative, and rows sum to 1 within 1e-5. */
static void check_targets(const lelp_model* m, const float* H, const float* Z, int64_t n, int64_t d,
                          int64_t K, double tau)
{
    float* T = malloc(sizeof(float) * (size_t)(n * K));
    assert_non_null(T);
    int st = lelp_model_targets_from_logits(m, H, Z, n, d, tau, T);
    if (st != LELP_OK) fail_msg("targets_from_logits: %d (%s): %s", st, lelp_status_string(st), lelp_last_error());
    assert_true(all_finite(T, n * K));
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++) {
            assert_true(T[i * K + k] >= 0.0f);
            s += T[i * K + k];
        }
        assert_true(fabs(s - 1.0) < 1e-5);
    }
    free(T);
}

/* Mean 1e6, spread ~1: float32 rows are quantised at 0.06, so the fitted
 * top eigenvalue (true variance d^2 = 36 for the last dimension) must be
 * within 5% and the targets exact-ish. */
static void test_huge_offset(void** state)
{
    (void)state;
    enum { n = 2000, d = 6, C = 2, S = 2 };
    static float H[n * C * d], Z[n * C * C];
    static int32_t y[n * C];
    make(H, y, n, d, C, 1e6, 1.0);
    for (int i = 0; i < n * C * C; i++) Z[i] = (float)gauss();
    int st;
    lelp_model* m = fit(H, y, n * C, d, C, S, 0.0, &st);
    assert_int_equal(st, LELP_OK);
    double eig[C * S];
    assert_int_equal(lelp_model_eigenvalues(m, eig, C * S), LELP_OK);
    for (int c = 0; c < C; c++) assert_true(fabs(eig[c * S] / 36.0 - 1.0) < 0.08);
    check_targets(m, H, Z, n * C, d, C * S, 1.0);
    lelp_model_free(m);
}

static void test_extreme_scales(void** state)
{
    (void)state;
    enum { n = 400, d = 5, C = 2, S = 2 };
    static float H[n * C * d], Z[n * C * C];
    static int32_t y[n * C];
    const double scales[] = {1e-20, 1e-10, 1.0, 1e10, 1e20};
    double ratio0[C * S];
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
        rng_state = 42;
        make(H, y, n, d, C, 0.0, scales[k]);
        for (int i = 0; i < n * C * C; i++) Z[i] = (float)gauss();
        int st;
        lelp_model* m = fit(H, y, n * C, d, C, S, 0.0, &st);
        assert_int_equal(st, LELP_OK);
        double ratio[C * S];
        assert_int_equal(lelp_model_explained_variance_ratio(m, ratio, C * S), LELP_OK);
        /* scale-free quantities agree across 40 orders of magnitude */
        if (k == 0) memcpy(ratio0, ratio, sizeof ratio);
        for (int i = 0; i < C * S; i++) assert_true(fabs(ratio[i] - ratio0[i]) < 1e-4);
        check_targets(m, H, Z, n * C, d, C * S, 1.0);
        lelp_model_free(m);
    }
}

static void test_tiny_classes_and_rank(void** state)
{
    (void)state;
    enum { d = 4, C = 2 };
    /* exactly two examples per class: rank 1, so S = 1 fits and S = 2 is
     * rank deficient */
    float H[4 * d] = {1, 2, 3, 4, 2, 3, 4, 6, -1, 0, 1, 1, -2, 0, 3, 1};
    int32_t y[4] = {0, 0, 1, 1};
    int st;
    lelp_model* m = fit(H, y, 4, d, C, 1, 0.0, &st);
    assert_int_equal(st, LELP_OK);
    check_targets(m, H, (float[]){1, 0, 0, 1, 2, 2, -1, 3}, 4, d, C, 1.0);
    lelp_model_free(m);
    m = fit(H, y, 4, d, C, 2, 0.0, &st);
    assert_int_equal(st, LELP_E_RANK_DEFICIENT);
    assert_null(m);
    /* rows spanning exactly a 3-dim subspace of R^6: S = 3 fits, S = 4 not */
    enum { n = 300, dd = 6 };
    static float H2[n * dd];
    static int32_t y2[n];
    for (int i = 0; i < n; i++) {
        double a = gauss(), b = gauss(), c = gauss();
        y2[i] = i % 2;
        float row[dd] = {(float)a, (float)b, (float)c, (float)(a + b), (float)(b - c), (float)(2 * a)};
        memcpy(H2 + i * dd, row, sizeof row);
    }
    m = fit(H2, y2, n, dd, 2, 3, 0.0, &st);
    assert_int_equal(st, LELP_OK);
    lelp_model_free(m);
    m = fit(H2, y2, n, dd, 2, 4, 0.0, &st);
    assert_int_equal(st, LELP_E_RANK_DEFICIENT);
    /* near-duplicate rows (differ in the last float bit): a documented status
     * or a finite fit, never NaN */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dd; j++) H2[i * dd + j] = nextafterf(1.0f, 2.0f * (float)(i % 3));
    m = fit(H2, y2, n, dd, 2, 1, 0.0, &st);
    assert_true(st == LELP_OK || st == LELP_E_RANK_DEFICIENT || st == LELP_E_NUMERICAL);
    if (m) {
        double e[2];
        assert_int_equal(lelp_model_eigenvalues(m, e, 2), LELP_OK);
        assert_true(isfinite(e[0]) && isfinite(e[1]));
        lelp_model_free(m);
    }
}

static void test_extreme_logits_tau_beta(void** state)
{
    (void)state;
    enum { n = 300, d = 5, C = 3, S = 2 };
    static float H[n * C * d], Z[n * C * C], U[n * C * C * S], T[n * C * C * S], G[n * C * C * S];
    static int32_t y[n * C];
    make(H, y, n, d, C, 0.0, 1.0);
    for (int i = 0; i < n * C * C; i++) Z[i] = (i % 2 ? 1e4f : -1e4f) * (float)(i % 3);
    const double betas[] = {1e-6, 1e-3, 1.0, 1e6, 1e30};
    const double taus[] = {0.01, 1.0, 100.0};
    for (size_t bi = 0; bi < sizeof betas / sizeof betas[0]; bi++) {
        int st;
        lelp_model* m = fit(H, y, n * C, d, C, S, betas[bi], &st);
        assert_int_equal(st, LELP_OK);
        for (size_t ti = 0; ti < sizeof taus / sizeof taus[0]; ti++)
            check_targets(m, H, Z, n * C, d, C * S, taus[ti]);
        lelp_model_free(m);
    }
    /* loss with logits of +-1e4 at both tau bounds and alpha in {0, 0.5, 1} */
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, C, S, NULL), LELP_OK);
    for (int i = 0; i < n * C * C * S; i++) {
        U[i] = (i % 5 == 0) ? 1e4f : ((i % 7 == 0) ? -1e4f : (float)gauss());
        T[i] = 0.0f;
    }
    for (int i = 0; i < n * C; i++) T[i * C * S + (i % (C * S))] = 1.0f;
    for (size_t ti = 0; ti < sizeof taus / sizeof taus[0]; ti++)
        for (int a = 0; a <= 2; a++) {
            assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_TAU, taus[ti]), LELP_OK);
            assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.5 * a), LELP_OK);
            double v = NAN;
            int st = lelp_loss_compute(l, U, T, y, NULL, n * C, &v, G);
            assert_int_equal(st, LELP_OK);
            assert_true(isfinite(v) && v >= 0.0);
            assert_true(all_finite(G, n * C * C * S));
        }
    lelp_loss_free(l);
    float P[n * C * C];
    assert_int_equal(lelp_predict_log_proba(U, n * C, C, S, P), LELP_OK);
    assert_true(all_finite(P, n * C * C));
    for (int i = 0; i < n * C * C; i++) assert_true(P[i] <= 0.0f && !isnan(P[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_offset),
        cmocka_unit_test(test_extreme_scales),
        cmocka_unit_test(test_tiny_classes_and_rank),
        cmocka_unit_test(test_extreme_logits_tau_beta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
