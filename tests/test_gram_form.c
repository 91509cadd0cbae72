/* SPDX-License-Identifier: MIT */
/* test_gram_form.c -- LELP_BUILDER_GRAM_FORM: the exact solver keeps a class
 * with at most d/2 rows as rows and fits it from their Gram matrix. Checked
 * against the co-moment path (itself checked against NumPy in
 * test_known_answers and test_properties; bindings/python/tests checks the
 * Gram form against NumPy directly): agreement for every batching, across
 * the in-place switch to the co-moment, every merge combination, with a
 * head, in float32 mode; state round trips (bit for bit) and flag bit 4;
 * corrupt row-form states; the parameter's rules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expect.h"
#include "lelp.h"
#include "../liblelp/fit/fit.h" /* lelp__gram_*: internal symbols of liblelp.a */
#include "envelope.h"
#include "synth.h"

/* d = 60: a class keeps up to 30 rows */
enum { N = 240, D = 60, C = 2, S = 3, RMAX = D / 2 };
#define TOL 1e-9

/* Class c of row i is i % 2; a decaying spectrum on an offset of 50 + c. */
static float H[N * D];
static int32_t Y[N];

static int setup(void** s)
{
    (void)s;
    synth_rng r;
    synth_rng_seed(&r, 0xC0FFEEULL);
    for (int64_t i = 0; i < N; i++) {
        Y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < D; j++)
            H[i * D + j] = (float)(50.0 + Y[i] + 4.0 / (1.0 + (double)j) * synth_normal(&r));
    }
    return 0;
}

static lelp_builder* make(int gram)
{
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, gram));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1.0));
    return b;
}

static void stream(lelp_builder* b, int64_t from, int64_t to, int64_t batch)
{
    for (int64_t i = from; i < to; i += batch) {
        int64_t nb = to - i < batch ? to - i : batch;
        EXPECT_OK(lelp_builder_update(b, H + i * D, Y + i, nb, D));
    }
}

typedef struct fitted {
    double eig[C * S], U[C * S * D], mean[C * D], ratio[C * S];
} fitted;

static void fit(const lelp_builder* b, fitted* f)
{
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    EXPECT_OK(lelp_model_eigenvalues(m, f->eig, C * S));
    EXPECT_OK(lelp_model_components(m, f->U, C * S * D));
    EXPECT_OK(lelp_model_means(m, f->mean, C * D));
    EXPECT_OK(lelp_model_explained_variance_ratio(m, f->ratio, C * S));
    lelp_model_free(m);
}

/* Eigenvalues, explained-variance ratios and (sign-ruled, unrotated)
 * components within TOL; means within 1e-12 (same Chan updates). */
static void expect_close(const fitted* a, const fitted* b, const char* what)
{
    for (int k = 0; k < C * S; k++) {
        double e = fabs(a->eig[k] - b->eig[k]) / a->eig[k];
        double r = fabs(a->ratio[k] - b->ratio[k]) / a->ratio[k];
        if (e > TOL || r > TOL) fail_msg("%s: eigenvalue %d differs by %g (ratio %g)", what, k, e, r);
    }
    for (int i = 0; i < C * S * D; i++)
        if (fabs(a->U[i] - b->U[i]) > TOL) fail_msg("%s: component entry %d differs by %g", what, i, a->U[i] - b->U[i]);
    for (int i = 0; i < C * D; i++)
        if (fabs(a->mean[i] - b->mean[i]) > 1e-12 * fabs(a->mean[i])) fail_msg("%s: mean %d differs", what, i);
}

static void reference(int64_t n, fitted* f)
{
    lelp_builder* b = make(0);
    stream(b, 0, n, n);
    fit(b, f);
    lelp_builder_free(b);
}

/* Few rows (every class in row form to the end), and enough to switch to the
 * co-moment part way, for batch sizes that do and do not divide them. */
static void test_batchings(void** s)
{
    (void)s;
    const int64_t ns[] = {2 * RMAX, N};
    const int64_t batches[] = {1, 2, 7, 33, N};
    for (size_t a = 0; a < 2; a++) {
        fitted want, got;
        reference(ns[a], &want);
        for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
            lelp_builder* b = make(1);
            stream(b, 0, ns[a], batches[k]);
            fit(b, &got);
            char what[64];
            snprintf(what, sizeof what, "n = %lld, batch %lld", (long long)ns[a], (long long)batches[k]);
            expect_close(&want, &got, what);
            lelp_builder_free(b);
        }
    }
}

/* Every pairing of row form (small part) and co-moment (large part), into a
 * fresh builder too, equals one builder fed everything. */
static void test_merges(void** s)
{
    (void)s;
    /* parts (half of each per class): [0, 8) and [8, 20) stay rows
     * together, [20, 70) (29 rows per class in batches of 5) pushes past the
     * limit with either, [70, N) is a co-moment from the start */
    const int64_t cut[][2] = {{0, 8}, {8, 20}, {20, 70}, {70, N}};
    const int pairs[][2] = {{0, 1}, {1, 0}, {1, 2}, {0, 3}, {3, 0}, {2, 3}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        const int64_t* a = cut[pairs[p][0]];
        const int64_t* bb = cut[pairs[p][1]];
        lelp_builder* ref = make(0);
        stream(ref, a[0], a[1], 5);
        stream(ref, bb[0], bb[1], 5);
        fitted want, got, got0;
        fit(ref, &want);
        lelp_builder *x = make(1), *y = make(1), *fresh = make(1);
        stream(x, a[0], a[1], 5);
        stream(y, bb[0], bb[1], 5);
        EXPECT_OK(lelp_builder_merge(fresh, x)); /* into an empty builder */
        EXPECT_OK(lelp_builder_merge(x, y));
        EXPECT_OK(lelp_builder_merge(fresh, y));
        char what[64];
        snprintf(what, sizeof what, "merge [%lld,%lld) + [%lld,%lld)", (long long)a[0], (long long)a[1],
                 (long long)bb[0], (long long)bb[1]);
        fit(x, &got);
        expect_close(&want, &got, what);
        fit(fresh, &got0);
        expect_close(&want, &got0, what);
        lelp_builder_free(ref);
        lelp_builder_free(x);
        lelp_builder_free(y);
        lelp_builder_free(fresh);
    }
}

/* With a teacher head (its row space projected out) and in float32 mode:
 * rows are float64 and exact, so a class in row form fits as in float64. */
static void test_head_and_precision(void** s)
{
    (void)s;
    float W[C * D];
    synth_rng r;
    synth_rng_seed(&r, 7);
    synth_fill_normal(&r, W, C * D, 1.0);
    const int64_t n = 2 * RMAX;
    fitted want, got;
    lelp_builder *ref = make(0), *b = make(1);
    EXPECT_OK(lelp_builder_set_head(ref, W, C, D));
    EXPECT_OK(lelp_builder_set_head(b, W, C, D));
    stream(ref, 0, n, n);
    stream(b, 0, n, 3);
    fit(ref, &want);
    fit(b, &got);
    expect_close(&want, &got, "head");
    lelp_builder_free(ref);
    lelp_builder_free(b);

    /* 3 batches of 4 rows per class: 4 + 5 + 5 rows (Chan rows included),
     * all in row form */
    lelp_builder *f64 = make(1), *f32 = make(1);
    EXPECT_OK(lelp_builder_set_int(f32, LELP_BUILDER_PRECISION, LELP_PRECISION_FLOAT32));
    stream(f64, 0, 24, 8);
    stream(f32, 0, 24, 8);
    fit(f64, &want);
    fit(f32, &got);
    assert_memory_equal(want.eig, got.eig, sizeof want.eig);
    assert_memory_equal(want.U, got.U, sizeof want.U);
    lelp_builder_free(f64);
    lelp_builder_free(f32);
}

/* The in-place switch itself, with both of its scratches (a buffer that
 * holds r x r, or the free upper triangle when 3r <= d), against R^T R summed
 * in long double; and the row limit: d/2 up to d = 4100, then the larger of
 * d/3 and sqrt(1025 d). */
static void test_switch_in_place(void** s)
{
    (void)s;
    assert_int_equal(lelp__gram_max_rows(1), 0);
    assert_int_equal(lelp__gram_max_rows(2), 1);
    assert_int_equal(lelp__gram_max_rows(60), 30);
    assert_int_equal(lelp__gram_max_rows(4100), 2050);
    assert_int_equal(lelp__gram_max_rows(8192), 2897);
    assert_int_equal(lelp__gram_max_rows(65536), 21845);
    enum { d = 31 };
    static double M[d * d], R[d * d], work[d * d];
    synth_rng g;
    synth_rng_seed(&g, 5);
    const int64_t rs[] = {1, 2, 7, 10};
    for (size_t k = 0; k < sizeof rs / sizeof rs[0]; k++) {
        const int64_t r = rs[k];
        for (int use_buffer = 0; use_buffer <= 1; use_buffer++) {
            for (int64_t i = 0; i < d * d; i++) M[i] = 1e300; /* never-written storage */
            for (int64_t i = 0; i < r * d; i++) R[i] = synth_normal(&g);
            memcpy(M + (d - r) * d, R, (size_t)(r * d) * sizeof(double));
            lelp__gram_to_comoment(M, r, d, work, use_buffer ? r * r : r * r - 1);
            for (int64_t j = 0; j < d; j++)
                for (int64_t i = 0; i < d; i++) {
                    long double want = 0.0L;
                    for (int64_t t = 0; t < r && i >= j; t++) want += (long double)R[t * d + i] * R[t * d + j];
                    if (fabs(M[j * d + i] - (double)want) > 1e-12 * (1.0 + fabs((double)want)))
                        fail_msg("r = %lld, %s: M(%lld, %lld) = %g, want %g", (long long)r,
                                 use_buffer ? "buffer" : "upper triangle", (long long)i, (long long)j, M[j * d + i],
                                 (double)want);
                }
        }
    }
}

/* A head that removes a direction of huge variance (sd 1e6 along e_c for
 * class c): the explained-variance ratio's denominator, the trace of P Sigma P,
 * must come from the projected rows, not from the full trace minus the removed
 * part (which cancels to ~1e-3 relative). Reference: the plain sum of the other
 * coordinates' variances, in long double. */
static void test_head_removes_dominant_direction(void** s)
{
    (void)s;
    enum { n = 40 }; /* 20 rows per class: row form */
    static float X[n * D];
    float W[C * D] = {0};
    synth_rng r;
    synth_rng_seed(&r, 99);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < D; j++)
            X[i * D + j] = (float)((j == Y[i] ? 1e6 : 1.0 / (1.0 + (double)j)) * synth_normal(&r));
    for (int64_t c = 0; c < C; c++) W[c * D + c] = 1.0f;
    lelp_builder* b = make(1);
    EXPECT_OK(lelp_builder_set_head(b, W, C, D));
    EXPECT_OK(lelp_builder_update(b, X, Y, n, D));
    fitted got;
    fit(b, &got);
    for (int64_t c = 0; c < C; c++) {
        long double tr = 0.0L;
        for (int64_t j = 0; j < D; j++) {
            if (j < C) continue; /* the head's rows e_0, e_1 are projected out of both classes */
            long double mean = 0.0L, ss = 0.0L;
            for (int64_t i = c; i < n; i += C) mean += X[i * D + j];
            mean /= n / C;
            for (int64_t i = c; i < n; i += C) ss += (X[i * D + j] - mean) * (X[i * D + j] - mean);
            tr += ss / (n / C - 1);
        }
        for (int64_t k = 0; k < S; k++) {
            double want = got.eig[c * S + k] / (double)tr;
            double err = fabs(got.ratio[c * S + k] - want) / want;
            if (err > 1e-9) fail_msg("class %lld ratio %lld off by %g relative", (long long)c, (long long)k, err);
        }
    }
    lelp_builder_free(b);
}

static uint8_t* save(const lelp_builder* b, size_t* size)
{
    EXPECT_OK(lelp_builder_serialized_size(b, size));
    uint8_t* buf = malloc(*size);
    assert_non_null(buf);
    EXPECT_OK(lelp_builder_serialize(b, buf, *size, NULL));
    return buf;
}

/* A state in row form reloads bit for bit, fits and keeps streaming exactly
 * as the original; flag bit 4 marks it, and is absent when no class holds
 * rows, so such states stay readable by readers without the row form. */
static void test_round_trip(void** s)
{
    (void)s;
    lelp_builder* b = make(1);
    stream(b, 0, 12, 5);
    size_t size = 0;
    uint8_t* buf = save(b, &size);
    assert_int_equal(rd32(buf + 20) & 16u, 16u);
    lelp_builder* l = NULL;
    EXPECT_OK(lelp_builder_load(&l, buf, size, NULL));
    fitted a, c;
    fit(b, &a);
    fit(l, &c);
    assert_memory_equal(&a, &c, sizeof a);
    stream(b, 12, N, 9);
    stream(l, 12, N, 9);
    fit(b, &a);
    fit(l, &c);
    assert_memory_equal(&a, &c, sizeof a);
    free(buf);
    lelp_builder_free(l);

    /* now every class is a co-moment: no flag, the same bytes as without the Gram form */
    buf = save(b, &size);
    assert_int_equal(rd32(buf + 20) & 16u, 0u);
    lelp_builder* off = make(0);
    stream(off, 0, 12, 5);
    stream(off, 12, N, 9);
    size_t size0 = 0;
    uint8_t* buf0 = save(off, &size0);
    assert_int_equal(size0, size);
    EXPECT_OK(lelp_builder_load(&l, buf0, size0, NULL));
    fitted want;
    fit(off, &want);
    fit(l, &c);
    assert_memory_equal(&want, &c, sizeof want);
    free(buf);
    free(buf0);
    lelp_builder_free(l);
    lelp_builder_free(off);
    lelp_builder_free(b);
}

/* Row counts out of range, data past a class's rows, the flag on a sketch
 * state: each LELP_E_FORMAT with the CRC intact. */
static void test_corrupt(void** s)
{
    (void)s;
    lelp_builder* b = make(1);
    /* no beta sample: the row counts are then the state's last array */
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, 0));
    stream(b, 0, 12, 12); /* one block: 6 rows per class, no Chan row */
    size_t size = 0;
    uint8_t* good = save(b, &size);
    uint8_t* buf = malloc(size);
    assert_non_null(buf);
    const size_t form = size - 4 - 64; /* the last array: C u64 counts, padded to 64 bytes */
    const size_t hlen = rd32(good + 12);
    const size_t slot0 = hlen + 64 /* counts: C u64 */ + (size_t)((C * D * 8 + 63) / 64 * 64); /* after the means */
    const int64_t r0 = (int64_t)rd32(good + form);
    assert_int_equal(r0, 6);
    const struct {
        size_t at;
        uint64_t v;
        int wide;
    } cases[] = {
        {form, RMAX + 1, 1},            /* more rows than the limit */
        {form, (uint64_t)-2, 1},        /* below -1 */
        {slot0 + (size_t)r0 * D * 8 + 8, 0x3ff0000000000000ull, 1}, /* a value past the rows */
        {20, rd32(good + 20) | 32u, 0}, /* an unknown flag */
        {hlen, 3, 1},                   /* 6 rows cannot come from 3 examples (at most 2n - 2) */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(buf, good, size);
        if (cases[k].wide) wr64(buf + cases[k].at, cases[k].v);
        else wr32(buf + cases[k].at, (uint32_t)cases[k].v);
        reseal(buf, size);
        lelp_builder* l = (lelp_builder*)buf; /* must be overwritten with NULL */
        EXPECT_STATUS(lelp_builder_load(&l, buf, size, NULL), LELP_E_FORMAT);
        assert_null(l);
    }
    free(buf);
    free(good);
    lelp_builder_free(b);

    /* a co-moment state (no flag) whose class has one example but a
     * non-zero co-moment */
    lelp_builder* mat = make(0);
    stream(mat, 0, 12, 12);
    good = save(mat, &size);
    assert_int_equal(rd32(good + 20) & 16u, 0u);
    wr64(good + rd32(good + 12), 1);
    reseal(good, size);
    lelp_builder* lm = NULL;
    EXPECT_STATUS(lelp_builder_load(&lm, good, size, NULL), LELP_E_FORMAT);
    free(good);
    lelp_builder_free(mat);

    /* flag bit 4 on a sketch state; a sketch state whose class has one
     * example but a non-zero sketch */
    lelp_builder* sk = make(1);
    EXPECT_OK(lelp_builder_set_int(sk, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH));
    stream(sk, 0, 12, 12);
    good = save(sk, &size);
    buf = malloc(size);
    assert_non_null(buf);
    memcpy(buf, good, size);
    wr64(buf + rd32(buf + 12), 1);
    reseal(buf, size);
    EXPECT_STATUS(lelp_builder_load(&lm, buf, size, NULL), LELP_E_FORMAT);
    free(buf);
    wr32(good + 20, rd32(good + 20) | 16u);
    reseal(good, size);
    lelp_builder* l = NULL;
    EXPECT_STATUS(lelp_builder_load(&l, good, size, NULL), LELP_E_FORMAT);
    free(good);
    lelp_builder_free(sk);
}

/* Fewer rows than S: the rank rule, as for the co-moment. */
static void test_rank(void** s)
{
    (void)s;
    for (int gram = 0; gram <= 1; gram++) {
        lelp_builder* b = make(gram);
        stream(b, 0, 2 * S, 2 * S); /* S rows per class: rank S - 1 once centred */
        lelp_model* m = NULL;
        EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_RANK_DEFICIENT);
        assert_null(m);
        lelp_builder_free(b);
    }
}

/* Default on, range [0, 1], settable at any stage; switching it off part way
 * moves the classes to their co-moments at the next update. */
static void test_param(void** s)
{
    (void)s;
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    int64_t v = -1;
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_GRAM_FORM, &v));
    assert_int_equal(v, 1);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, 2), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, -1), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_GRAM_FORM, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(NULL, LELP_BUILDER_GRAM_FORM, 1), LELP_E_NULL);
    double lo = -1, hi = -1;
    EXPECT_OK(lelp_param_bounds(LELP_BUILDER_GRAM_FORM, &lo, &hi));
    assert_true(lo == 0.0 && hi == 1.0);
    lelp_builder_free(b);

    b = make(1);
    stream(b, 0, 10, 10);
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, 0));
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_GRAM_FORM, &v));
    assert_int_equal(v, 0);
    stream(b, 10, 20, 10);
    size_t size = 0;
    uint8_t* buf = save(b, &size);
    assert_int_equal(rd32(buf + 20) & 16u, 0u); /* no class holds rows any more */
    fitted want, got;
    reference(20, &want);
    fit(b, &got);
    expect_close(&want, &got, "switched off part way");
    free(buf);
    lelp_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchings),          cmocka_unit_test(test_merges),
        cmocka_unit_test(test_head_and_precision), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt),            cmocka_unit_test(test_rank),
        cmocka_unit_test(test_param),              cmocka_unit_test(test_head_removes_dominant_direction),
        cmocka_unit_test(test_switch_in_place),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
