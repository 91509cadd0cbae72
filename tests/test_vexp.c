/* SPDX-License-Identifier: MIT */
/* test_vexp.c -- the vectorized exp and log of vexp.c against glibc's
 * (correctly rounded to < 1 ulp), over their whole domains: errors are
 * counted in ulps of the glibc value; the bound is 2 ulp (the header
 * comment's claim), plus the clamp and edge behaviour the callers rely on. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../liblelp/common/common.h" /* lelp__vexp, lelp__vlog: internal symbols of liblelp.a */

#define MAX_ULP 2.0
#define N 200000

static double ulps(double got, double want)
{
    if (got == want) return 0.0;
    double ulp = nextafter(fabs(want), INFINITY) - fabs(want);
    return fabs(got - want) / ulp;
}

static double* filled(double lo, double hi, uint64_t seed)
{
    double* x = malloc(sizeof(double) * N);
    assert_non_null(x);
    lelp__rng r;
    lelp__rng_init(&r, seed, 0, 3);
    for (int i = 0; i < N; i++) x[i] = lo + (hi - lo) * lelp__rng_uniform(&r);
    return x;
}

static void check_exp_range(double lo, double hi, uint64_t seed)
{
    double* x = filled(lo, hi, seed);
    double* y = malloc(sizeof(double) * N);
    assert_non_null(y);
    for (int i = 0; i < N; i++) y[i] = x[i];
    lelp__vexp(y, N);
    double worst = 0.0;
    int at = 0;
    for (int i = 0; i < N; i++) {
        double u = ulps(y[i], exp(x[i]));
        if (u > worst) worst = u, at = i;
    }
    if (worst > MAX_ULP) fail_msg("exp(%.17g) = %.17g, glibc %.17g: %.2f ulp", x[at], y[at], exp(x[at]), worst);
    free(x);
    free(y);
}

static void exp_accuracy(void** state)
{
    (void)state;
    check_exp_range(-1.0, 1.0, 1);
    check_exp_range(-40.0, 0.0, 2); /* the softmax range */
    check_exp_range(-708.0, 709.0, 3);
}

static void exp_edges(void** state)
{
    (void)state;
    double x[] = {0.0, -0.0, 1.0, -708.0, -745.0, -1e308, 709.0, 0.5 * 0.6931471805599453, -0.5 * 0.6931471805599453};
    double y[sizeof x / sizeof x[0]];
    const int n = (int)(sizeof x / sizeof x[0]);
    for (int i = 0; i < n; i++) y[i] = x[i];
    lelp__vexp(y, n);
    assert_true(y[0] == 1.0 && y[1] == 1.0);
    assert_true(ulps(y[2], exp(1.0)) <= MAX_ULP);
    /* below -708 the result is clamped to exp(-708): positive, tiny, finite */
    assert_true(y[4] == y[3] && y[5] == y[3] && y[3] > 0.0 && y[3] < 1e-307);
    assert_true(isfinite(y[6]) && ulps(y[6], exp(709.0)) <= MAX_ULP);
    assert_true(ulps(y[7], exp(x[7])) <= MAX_ULP && ulps(y[8], exp(x[8])) <= MAX_ULP);
}

static void check_log_range(double lo, double hi, uint64_t seed, int geometric)
{
    double* x = filled(lo, hi, seed);
    if (geometric)
        for (int i = 0; i < N; i++) x[i] = exp(x[i]);
    double* y = malloc(sizeof(double) * N);
    assert_non_null(y);
    for (int i = 0; i < N; i++) y[i] = x[i];
    lelp__vlog(y, N);
    double worst = 0.0;
    int at = 0;
    for (int i = 0; i < N; i++) {
        double u = ulps(y[i], log(x[i]));
        if (u > worst) worst = u, at = i;
    }
    if (worst > MAX_ULP) fail_msg("log(%.17g) = %.17g, glibc %.17g: %.2f ulp", x[at], y[at], log(x[at]), worst);
    free(x);
    free(y);
}

static void log_accuracy(void** state)
{
    (void)state;
    check_log_range(0.5, 2.0, 4, 0);            /* around 1, where log is small */
    check_log_range(1e-7, 1.0, 5, 0);           /* probabilities */
    check_log_range(-708.0, 709.0, 6, 1);       /* every binade of normal numbers */
}

static void log_edges(void** state)
{
    (void)state;
    double x[] = {1.0, 2.0, 0.5, DBL_MIN, DBL_MAX, 0.7071067811865476, 1.4142135623730951, (double)FLT_TRUE_MIN};
    const int n = (int)(sizeof x / sizeof x[0]);
    double y[sizeof x / sizeof x[0]];
    for (int i = 0; i < n; i++) y[i] = x[i];
    lelp__vlog(y, n);
    assert_true(y[0] == 0.0);
    for (int i = 1; i < n; i++)
        if (ulps(y[i], log(x[i])) > MAX_ULP) fail_msg("log(%.17g) = %.17g, glibc %.17g", x[i], y[i], log(x[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exp_accuracy),
        cmocka_unit_test(exp_edges),
        cmocka_unit_test(log_accuracy),
        cmocka_unit_test(log_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
