/* SPDX-License-Identifier: MIT */
/* test_precision.c -- LELP_BUILDER_PRECISION = LELP_PRECISION_FLOAT32: each
 * block's centred rows are rounded to float32 and multiplied by SSYRK, the
 * sums carried in float64. Checked against the float64 path (itself checked
 * against NumPy in test_known_answers and test_properties): the error bound
 * it documents, exact means, batch and merge agreement, state round trips,
 * the stage and range rules, and that the sketch solver ignores it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"
#include "envelope.h"
#include "synth.h"

enum { N = 6000, D = 300, C = 2, S = 4 };

/* rows streamed and their width: N x D, or 1500 x 100 under valgrind (make
 * check-valgrind sets LELP_TEST_LIGHT), where a full-size fit costs seconds */
static int64_t nrows = N, dcur = D;

/* A decaying spectrum (sd 10/(1+j) on the first 8 coordinates, 0.3 after)
 * on a large offset (1000 + 5c): float32 arithmetic on the raw rows would
 * lose the spread to cancellation, so this also checks the rows are centred
 * in float64 before rounding. */
static void make_data(float* H, int32_t* y)
{
    synth_rng r;
    synth_rng_seed(&r, 0x9E3779B97F4A7C15ULL);
    for (int64_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < dcur; j++) {
            double sd = j < 8 ? 10.0 / (1.0 + (double)j) : 0.3;
            H[i * dcur + j] = (float)(1000.0 + 5.0 * y[i] + sd * synth_normal(&r));
        }
    }
}

static lelp_builder* make(int precision, int solver)
{
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, dcur, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, solver), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, precision), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0), LELP_OK);
    assert_int_equal(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1.0), LELP_OK);
    return b;
}

static void stream(lelp_builder* b, const float* H, const int32_t* y, int64_t from, int64_t to, int64_t batch)
{
    for (int64_t i = from; i < to; i += batch) {
        int64_t nb = to - i < batch ? to - i : batch;
        assert_int_equal(lelp_builder_update(b, H + i * dcur, y + i, nb, dcur), LELP_OK);
    }
}

typedef struct fitted {
    double eig[C * S], U[C * S * D], mean[C * D];
} fitted;

static void fit(const lelp_builder* b, fitted* f)
{
    lelp_model* m = NULL;
    int st = lelp_builder_fit(b, &m);
    if (st) fail_msg("fit: %s (%s)", lelp_status_string(st), lelp_last_error());
    assert_int_equal(lelp_model_eigenvalues(m, f->eig, C * S), LELP_OK);
    assert_int_equal(lelp_model_components(m, f->U, C * S * D), LELP_OK);
    assert_int_equal(lelp_model_means(m, f->mean, C * D), LELP_OK);
    lelp_model_free(m);
}

/* Largest relative eigenvalue difference and largest 1 - |<u, v>| over all
 * components (the spectrum's gaps are wide, so vectors compare one by one). */
static void compare(const fitted* a, const fitted* b, double* eig_err, double* vec_err)
{
    *eig_err = 0.0;
    *vec_err = 0.0;
    for (int k = 0; k < C * S; k++) {
        *eig_err = fmax(*eig_err, fabs(a->eig[k] - b->eig[k]) / a->eig[k]);
        double dot = 0.0;
        for (int j = 0; j < dcur; j++) dot += a->U[k * dcur + j] * b->U[k * dcur + j];
        *vec_err = fmax(*vec_err, 1.0 - fabs(dot));
    }
}

static float H[N * D];
static int32_t Y[N];

static int setup(void** s)
{
    (void)s;
    if (getenv("LELP_TEST_LIGHT")) {
        nrows = 1500;
        dcur = 100;
    }
    make_data(H, Y);
    return 0;
}

static void test_params(void** s)
{
    (void)s;
    lelp_builder* b = NULL;
    int64_t v = -1;
    assert_int_equal(lelp_builder_create(&b, dcur, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_PRECISION, &v), LELP_OK);
    assert_int_equal(v, LELP_PRECISION_FLOAT64);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, 2), LELP_E_PARAM_RANGE);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, -1), LELP_E_PARAM_RANGE);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, LELP_PRECISION_FLOAT32), LELP_OK);
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_PRECISION, &v), LELP_OK);
    assert_int_equal(v, LELP_PRECISION_FLOAT32);
    double lo = 0.0, hi = 0.0;
    assert_int_equal(lelp_param_bounds(LELP_BUILDER_PRECISION, &lo, &hi), LELP_OK);
    assert_true(lo == 0.0 && hi == 1.0);
    stream(b, H, Y, 0, 10, 10);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, LELP_PRECISION_FLOAT64), LELP_E_STAGE);
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_PRECISION, &v), LELP_OK);
    assert_int_equal(v, LELP_PRECISION_FLOAT32);
    lelp_builder_free(b);
}

/* Rows of magnitude 1e19 - 1e20 (the documented input range's top): sums of
 * their squares overflow float32, so such blocks take the float64 route;
 * the fit must then equal the float64 builder's up to the float32 blocks'
 * rounding, not fail with a NaN co-moment or a rank error. */
static void test_huge_rows_stay_finite(void** s)
{
    (void)s;
    enum { n = 400, d = 6 };
    static float Hb[n * d];
    static int32_t yb[n];
    synth_rng r;
    synth_rng_seed(&r, 7);
    for (int i = 0; i < n; i++) {
        yb[i] = i % C;
        for (int j = 0; j < d; j++) Hb[i * d + j] = (float)(1e19 * (1.0 + j) * synth_normal(&r) + (i % 3 ? 0.0 : 2e19));
    }
    lelp_builder *b64 = NULL, *b32 = NULL;
    lelp_model *m64 = NULL, *m32 = NULL;
    for (int k = 0; k < 2; k++) {
        lelp_builder** b = k ? &b32 : &b64;
        assert_int_equal(lelp_builder_create(b, d, C, S, NULL), LELP_OK);
        assert_int_equal(lelp_builder_set_int(*b, LELP_BUILDER_PRECISION, k ? LELP_PRECISION_FLOAT32 : 0), LELP_OK);
        assert_int_equal(lelp_builder_set_int(*b, LELP_BUILDER_GRAM_FORM, 0), LELP_OK);
        assert_int_equal(lelp_builder_set_double(*b, LELP_BUILDER_BETA, 1.0), LELP_OK);
        assert_int_equal(lelp_builder_update(*b, Hb, yb, n, d), LELP_OK);
    }
    int st = lelp_builder_fit(b32, &m32);
    if (st) fail_msg("float32 fit of 1e19-scale rows: %s (%s)", lelp_status_string(st), lelp_last_error());
    assert_int_equal(lelp_builder_fit(b64, &m64), LELP_OK);
    double e64[C * S], e32[C * S];
    assert_int_equal(lelp_model_eigenvalues(m64, e64, C * S), LELP_OK);
    assert_int_equal(lelp_model_eigenvalues(m32, e32, C * S), LELP_OK);
    for (int k = 0; k < C * S; k++) assert_true(fabs(e32[k] - e64[k]) <= 1e-5 * e64[k]);
    lelp_model_free(m64), lelp_model_free(m32);
    lelp_builder_free(b64), lelp_builder_free(b32);
}

/* The documented accuracy: co-moments to ~1e-6 relative, so eigenvalues
 * within 1e-5 and vectors within 1e-8 of the float64 path on this well
 * separated spectrum (measured: 1.1e-7 and 9e-16); the means are computed
 * in float64 either way and must agree bit for bit. A float32 product of the
 * uncentred rows, or a lost Chan term, misses these by orders of magnitude. */
static void test_agrees_with_float64(void** s)
{
    (void)s;
    static fitted f64, f32;
    lelp_builder *b64 = make(LELP_PRECISION_FLOAT64, LELP_SOLVER_EXACT), *b32 = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_EXACT);
    stream(b64, H, Y, 0, nrows, 1000);
    stream(b32, H, Y, 0, nrows, 1000);
    fit(b64, &f64);
    fit(b32, &f32);
    double eig_err = 0.0, vec_err = 0.0;
    compare(&f64, &f32, &eig_err, &vec_err);
    if (getenv("LELP_TEST_VERBOSE")) print_message("float32 vs float64: eigenvalues %.3g, vectors %.3g\n", eig_err, vec_err);
    if (!(eig_err <= 1e-5 && vec_err <= 1e-8))
        fail_msg("float32 vs float64: eigenvalues %.3g, vectors %.3g", eig_err, vec_err);
    assert_memory_equal(f64.mean, f32.mean, sizeof f64.mean);
    lelp_builder_free(b64);
    lelp_builder_free(b32);
}

/* Batch sizes (one block per batch or many), a merge of two shards, and a
 * state saved mid-stream: all agree with one another at the float32 level;
 * the reloaded state keeps the setting and continues bit for bit. */
static void test_batches_merge_and_state(void** s)
{
    (void)s;
    static fitted ref, other;
    lelp_builder* a = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_EXACT);
    stream(a, H, Y, 0, nrows, nrows);
    fit(a, &ref);
    const int64_t batches[] = {nrows < N ? 3 : 1, 7, 333, 2500};
    for (size_t t = 0; t < sizeof batches / sizeof batches[0]; t++) {
        lelp_builder* b = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_EXACT);
        stream(b, H, Y, 0, nrows, batches[t]);
        fit(b, &other);
        double eig_err = 0.0, vec_err = 0.0;
        compare(&ref, &other, &eig_err, &vec_err);
        if (!(eig_err <= 1e-5 && vec_err <= 1e-8))
            fail_msg("batch %lld: eigenvalues %.3g, vectors %.3g", (long long)batches[t], eig_err, vec_err);
        lelp_builder_free(b);
    }
    lelp_builder *p = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_EXACT), *q = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_EXACT);
    stream(p, H, Y, 0, nrows / 3, 500);
    stream(q, H, Y, nrows / 3, nrows, 500);
    assert_int_equal(lelp_builder_merge(p, q), LELP_OK);
    fit(p, &other);
    double eig_err = 0.0, vec_err = 0.0;
    compare(&ref, &other, &eig_err, &vec_err);
    if (!(eig_err <= 1e-5 && vec_err <= 1e-8)) fail_msg("merge: eigenvalues %.3g, vectors %.3g", eig_err, vec_err);
    /* save after the first half, reload, stream the rest */
    lelp_builder* u = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_EXACT);
    stream(u, H, Y, 0, nrows / 2, 500);
    size_t size = 0;
    assert_int_equal(lelp_builder_serialized_size(u, &size), LELP_OK);
    uint8_t* buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(lelp_builder_serialize(u, buf, size, NULL), LELP_OK);
    const uint32_t flags = rd32(buf + 20); /* docs/format.md: bit 3 = float32 products */
    assert_int_equal(flags & 8u, 8u);
    lelp_builder* r = NULL;
    assert_int_equal(lelp_builder_load(&r, buf, size, NULL), LELP_OK);
    int64_t v = -1;
    assert_int_equal(lelp_builder_get_int(r, LELP_BUILDER_PRECISION, &v), LELP_OK);
    assert_int_equal(v, LELP_PRECISION_FLOAT32);
    stream(u, H, Y, nrows / 2, nrows, 500);
    stream(r, H, Y, nrows / 2, nrows, 500);
    static fitted fu, fr;
    fit(u, &fu);
    fit(r, &fr);
    assert_memory_equal(fu.eig, fr.eig, sizeof fu.eig);
    assert_memory_equal(fu.U, fr.U, sizeof fu.U);
    /* a flag bit no version defines is still refused (checksum re-sealed,
     * so the flag check itself answers) */
    wr32(buf + 20, flags | 16u);
    reseal(buf, size);
    lelp_builder* bad = NULL;
    assert_int_equal(lelp_builder_load(&bad, buf, size, NULL), LELP_E_FORMAT);
    assert_null(bad);
    free(buf);
    lelp_builder_free(a);
    lelp_builder_free(p);
    lelp_builder_free(q);
    lelp_builder_free(u);
    lelp_builder_free(r);
}

/* Rank decisions do not depend on the precision: float32 products leave
 * noise eigenvalues of ~1e-8..1e-7 of the trace where float64 leaves ~1e-16,
 * so a class of rank 2 with S = 3, and classes lying inside a (non
 * axis-aligned) head's row space, must be refused either way. */
static void test_rank_rule(void** s)
{
    (void)s;
    enum { n = 600, d = 8 };
    static float X[n * d];
    static int32_t y[n];
    const float a[d] = {1, 2, -1, 3, 0, 1, -2, 1}, b2[d] = {2, -1, 1, 0, 1, -3, 1, 2};
    const float W[2 * d] = {1, 1, 1, 1, 1, 1, 1, 1, 1, -1, 1, -1, 1, -1, 1, -1};
    for (int pass = 0; pass < 2; pass++)
        for (int precision = LELP_PRECISION_FLOAT64; precision <= LELP_PRECISION_FLOAT32; precision++) {
            for (int i = 0; i < n; i++) {
                y[i] = i % 2;
                const double z1 = (double)((i * 7) % 11) - 5.0, z2 = (double)((i * 5) % 13) - 6.0;
                for (int j = 0; j < d; j++)
                    X[i * d + j] = pass == 0 ? (float)(z1 * a[j] + z2 * b2[j] + 100.0)
                                             : (float)(z1 * W[j] + z2 * W[d + j]);
            }
            lelp_builder* bl = NULL;
            lelp_model* m = NULL;
            assert_int_equal(lelp_builder_create(&bl, d, 2, pass == 0 ? 3 : 1, NULL), LELP_OK);
            assert_int_equal(lelp_builder_set_int(bl, LELP_BUILDER_PRECISION, precision), LELP_OK);
            assert_int_equal(lelp_builder_update(bl, X, y, n, d), LELP_OK);
            if (pass == 1) assert_int_equal(lelp_builder_set_head(bl, W, 2, d), LELP_OK);
            int st = lelp_builder_fit(bl, &m);
            if (st != LELP_E_RANK_DEFICIENT)
                fail_msg("%s, precision %d: status %d (%s), want rank deficient", pass ? "head covers the class" : "rank 2, S = 3",
                         precision, st, lelp_status_string(st));
            assert_null(m);
            /* one direction fewer fits (rank 2 data) */
            if (pass == 0) {
                lelp_builder* ok = NULL;
                assert_int_equal(lelp_builder_create(&ok, d, 2, 2, NULL), LELP_OK);
                assert_int_equal(lelp_builder_set_int(ok, LELP_BUILDER_PRECISION, precision), LELP_OK);
                assert_int_equal(lelp_builder_update(ok, X, y, n, d), LELP_OK);
                assert_int_equal(lelp_builder_fit(ok, &m), LELP_OK);
                lelp_model_free(m);
                lelp_builder_free(ok);
            }
            lelp_builder_free(bl);
        }
}

/* The sketch solver has no SYRK: the setting changes nothing. */
static void test_sketch_ignores_it(void** s)
{
    (void)s;
    static fitted a, b;
    lelp_builder *x = make(LELP_PRECISION_FLOAT64, LELP_SOLVER_SKETCH), *z = make(LELP_PRECISION_FLOAT32, LELP_SOLVER_SKETCH);
    stream(x, H, Y, 0, nrows, 777);
    stream(z, H, Y, 0, nrows, 777);
    fit(x, &a);
    fit(z, &b);
    assert_memory_equal(a.eig, b.eig, sizeof a.eig);
    assert_memory_equal(a.U, b.U, sizeof a.U);
    lelp_builder_free(x);
    lelp_builder_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params), cmocka_unit_test(test_huge_rows_stay_finite),
        cmocka_unit_test(test_agrees_with_float64),
        cmocka_unit_test(test_batches_merge_and_state),
        cmocka_unit_test(test_rank_rule),
        cmocka_unit_test(test_sketch_ignores_it),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
