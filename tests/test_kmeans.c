/* SPDX-License-Identifier: MIT */
/* test_kmeans.c -- the k-means labeller through the C API
 * (LELP_BUILDER_LABELLER, docs/method.md section 7). The numbers themselves
 * are checked against the NumPy reference in
 * bindings/python/tests/test_kmeans.py; here: the parameter and its bounds,
 * the model query, the automatic beta's entropy rule measured by the
 * library's own batch entropy call, S = 1, determinism, save/load, and the
 * errors (no row sample; a sample smaller than S). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expect.h"
#include "lelp.h"
#include "synth.h"

enum { D = 10, C = 2, S = 3, N = 600 };

static float H[N * D];
static int32_t Y[N];

/* per class, S clusters of different sizes and spreads */
static void make_data(void)
{
    synth_rng r;
    synth_rng_seed(&r, 0x6B6D65616E73ULL);
    double centre[C][S][D];
    for (int c = 0; c < C; c++)
        for (int k = 0; k < S; k++)
            for (int j = 0; j < D; j++) centre[c][k][j] = 3.0 * synth_normal(&r);
    for (int i = 0; i < N; i++) {
        const int c = i % C, k = (int)(synth_rng_u64(&r) % S);
        Y[i] = c;
        for (int j = 0; j < D; j++) H[i * D + j] = (float)(centre[c][k][j] + (0.5 + 0.3 * k) * synth_normal(&r));
    }
}

static lelp_builder* builder(int64_t s, int64_t seed, int64_t sample)
{
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, s, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_LABELLER, LELP_LABELLER_KMEANS));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, seed));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, sample));
    EXPECT_OK(lelp_builder_update(b, H, Y, N, D));
    float W[C * D];
    for (int k = 0; k < C * D; k++) W[k] = (float)((k * 7 % 11) - 5) / 5.0f;
    EXPECT_OK(lelp_builder_set_head(b, W, C, D));
    return b;
}

static void parameter_and_query(void** state)
{
    (void)state;
    lelp_builder* b = NULL;
    int64_t v = -1;
    double lo = -1, hi = -1;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_LABELLER, &v));
    assert_int_equal(v, LELP_LABELLER_PROJECTION);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_LABELLER, 2), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_LABELLER, -1), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_LABELLER, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_OK(lelp_param_bounds(LELP_BUILDER_LABELLER, &lo, &hi));
    assert_true(lo == 0.0 && hi == 1.0);
    EXPECT_OK(lelp_builder_update(b, H, Y, N, D));
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_LABELLER, &v));
    assert_int_equal(v, LELP_LABELLER_PROJECTION);
    lelp_model_free(m);
    /* settable after streaming: it only changes what fit does */
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_LABELLER, LELP_LABELLER_KMEANS));
    EXPECT_OK(lelp_builder_fit(b, &m));
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_LABELLER, &v));
    assert_int_equal(v, LELP_LABELLER_KMEANS);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_ROTATE, &v));
    assert_int_equal(v, 0); /* nothing is rotated */
    lelp_model_free(m);
    lelp_builder_free(b);
}

static void automatic_beta_meets_the_target(void** state)
{
    (void)state;
    const double fractions[3] = {0.2, 0.5, 0.9};
    for (int f = 0; f < 3; f++) {
        lelp_builder* b = builder(S, 4, -1);
        EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, fractions[f]));
        lelp_model* m = NULL;
        EXPECT_OK(lelp_builder_fit(b, &m));
        double beta = 0, h = 0;
        EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
        EXPECT_OK(lelp_model_mean_entropy(m, H, Y, N, D, beta, &h));
        /* every class is kept whole and rows are distinct: the sample's weights are 1/N */
        assert_true(fabs(h - fractions[f] * log((double)S)) < 1e-5 * log((double)S));
        lelp_model_free(m);
        lelp_builder_free(b);
    }
}

static void one_subclass(void** state)
{
    (void)state;
    lelp_builder* b = builder(1, 0, -1);
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    double beta = 0;
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    assert_true(beta == 1.0);
    float T[4 * C];
    float Z[4 * C] = {0.5f, -0.5f, 1.0f, 2.0f, 0.0f, 0.0f, -3.0f, 1.0f};
    EXPECT_OK(lelp_model_targets_from_logits(m, H, Z, 4, D, 1.0, T));
    for (int i = 0; i < 4; i++) {
        const double p0 = 1.0 / (1.0 + exp((double)Z[i * 2 + 1] - Z[i * 2])); /* S = 1: the class softmax */
        assert_true(fabs(T[i * 2] - p0) < 1e-6 && fabs(T[i * 2 + 1] - (1.0 - p0)) < 1e-6);
    }
    lelp_model_free(m);
    lelp_builder_free(b);
}

static void *serialize(const lelp_model* m, size_t* size)
{
    EXPECT_OK(lelp_model_serialized_size(m, size));
    void* buf = malloc(*size);
    assert_non_null(buf);
    EXPECT_OK(lelp_model_serialize(m, buf, *size, NULL));
    return buf;
}

static void deterministic_and_saved(void** state)
{
    (void)state;
    lelp_model *m1 = NULL, *m2 = NULL, *back = NULL;
    lelp_builder* b = builder(S, 11, -1);
    EXPECT_OK(lelp_builder_fit(b, &m1));
    EXPECT_OK(lelp_builder_fit(b, &m2));
    size_t n1 = 0, n2 = 0, n3 = 0;
    uint8_t* a = serialize(m1, &n1);
    uint8_t* c = serialize(m2, &n2);
    assert_true(n1 == n2 && memcmp(a, c, n1) == 0);
    uint32_t version = 0;
    memcpy(&version, a + 8, 4);
    assert_int_equal(version, 2);
    EXPECT_OK(lelp_model_load(&back, a, n1, NULL));
    uint8_t* again = serialize(back, &n3);
    assert_true(n3 == n1 && memcmp(again, a, n1) == 0);
    float T1[8 * C * S], T2[8 * C * S], Z[8 * C] = {0};
    EXPECT_OK(lelp_model_targets_from_logits(m1, H, Z, 8, D, 1.0, T1));
    EXPECT_OK(lelp_model_targets_from_logits(back, H, Z, 8, D, 1.0, T2));
    assert_memory_equal(T1, T2, sizeof T1);
    free(a), free(c), free(again);
    lelp_model_free(m1), lelp_model_free(m2), lelp_model_free(back);
    lelp_builder_free(b);
}

static void errors(void** state)
{
    (void)state;
    lelp_model* m = (lelp_model*)&m;
    lelp_builder* b = builder(S, 0, 0); /* no row sample */
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_INVALID_ARG);
    assert_null(m);
    assert_non_null(strstr(lelp_last_error(), "LELP_BUILDER_BETA_SAMPLE"));
    lelp_builder_free(b);
    b = builder(S, 0, 2); /* two rows kept per class, S = 3 */
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_TOO_FEW_SAMPLES);
    assert_null(m);
    lelp_builder_free(b);
}

int main(void)
{
    make_data();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parameter_and_query),
        cmocka_unit_test(automatic_beta_meets_the_target),
        cmocka_unit_test(one_subclass),
        cmocka_unit_test(deterministic_and_saved),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
