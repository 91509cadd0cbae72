/* SPDX-License-Identifier: MIT */
/* test_api.c -- version, status strings, last_error, parameters (bounds,
 * defaults, range and family checks), _free(NULL), custom allocators. */
#include <ctype.h>
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
#include "synth.h"

#include "expect.h"

/* True if `word` occurs in msg as a whole word (not inside a longer
 * identifier), e.g. "d" in "d = 0 must be ..." but not in "bad". */
static int names_word(const char* msg, const char* word)
{
    size_t wl = strlen(word);
    for (const char* p = strstr(msg, word); p; p = strstr(p + 1, word)) {
        int before = p == msg || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = !(isalnum((unsigned char)p[wl]) || p[wl] == '_');
        if (before && after) return 1;
    }
    return 0;
}
#define EXPECT_NAMES(word)                                                                     \
    do {                                                                                       \
        if (!names_word(lelp_last_error(), word))                                              \
            fail_msg("last_error does not name %s: \"%s\"", word, lelp_last_error());         \
    } while (0)

/* Every code of enum lelp_status_code. */
static const int all_codes[] = {
    LELP_OK,
    LELP_E_NULL,
    LELP_E_INVALID_ARG,
    LELP_E_INVALID_HANDLE,
    LELP_E_NOMEM,
    LELP_E_PARAM_UNSUPPORTED,
    LELP_E_PARAM_RANGE,
    LELP_E_PARAM_COMBINATION,
    LELP_E_STAGE,
    LELP_E_SHAPE_MISMATCH,
    LELP_E_BUFFER_TOO_SMALL,
    LELP_E_LABEL_RANGE,
    LELP_E_NONFINITE,
    LELP_E_TOO_FEW_SAMPLES,
    LELP_E_RANK_DEFICIENT,
    LELP_E_SOLVER,
    LELP_E_NUMERICAL,
    LELP_E_INVALID_TARGETS,
    LELP_E_FORMAT,
    LELP_E_VERSION,
    LELP_E_CHECKSUM,
    LELP_E_TRUNCATED,
    LELP_E_IO,
    LELP_E_INTERNAL,
};
#define N_CODES ((int)(sizeof all_codes / sizeof all_codes[0]))

/* ---------------------------------------------------------------- version */
static void test_version(void** state)
{
    (void)state;
    assert_int_equal(lelp_version_number(), LELP_VERSION_NUMBER);
    assert_int_equal(LELP_VERSION_NUMBER,
                     LELP_VERSION_MAJOR * 10000 + LELP_VERSION_MINOR * 100 + LELP_VERSION_PATCH);
    assert_non_null(lelp_version_string());
    assert_string_equal(lelp_version_string(), LELP_VERSION_STRING);
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", LELP_VERSION_MAJOR, LELP_VERSION_MINOR, LELP_VERSION_PATCH);
    assert_string_equal(buf, LELP_VERSION_STRING);
    /* static storage: the same pointer every call */
    assert_ptr_equal(lelp_version_string(), lelp_version_string());
}

/* ---------------------------------------------------------- status strings */
static void test_status_strings(void** state)
{
    (void)state;
    for (int i = 0; i < N_CODES; i++) {
        const char* s = lelp_status_string(all_codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (int j = 0; j < i; j++) {
            const char* t = lelp_status_string(all_codes[j]);
            if (strcmp(s, t) == 0)
                fail_msg("codes %d and %d share the status string \"%s\"", all_codes[i], all_codes[j], s);
        }
    }
    /* Unknown codes: a generic, non-NULL, non-empty text, distinct from the
     * text of every real code. */
    const int unknown[] = {1, -4, -11, -23, -29, -98, -100, 12345, -12345, INT32_MIN, INT32_MAX};
    for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
        const char* s = lelp_status_string(unknown[u]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (int j = 0; j < N_CODES; j++)
            if (strcmp(s, lelp_status_string(all_codes[j])) == 0)
                fail_msg("unknown code %d gets the text of real code %d: \"%s\"", unknown[u], all_codes[j], s);
    }
}

/* ------------------------------------------------------------- last_error */
static void test_last_error(void** state)
{
    (void)state;
    assert_non_null(lelp_last_error());

    lelp_builder* b = (lelp_builder*)0x1;
    EXPECT_STATUS(lelp_builder_create(&b, 0, 2, 1, NULL), LELP_E_INVALID_ARG);
    assert_null(b);
    assert_non_null(lelp_last_error());
    EXPECT_NAMES("d");

    EXPECT_STATUS(lelp_builder_create(&b, 4, 2, 5, NULL), LELP_E_INVALID_ARG);
    EXPECT_NAMES("S");
    EXPECT_STATUS(lelp_builder_create(&b, 4, 0, 1, NULL), LELP_E_INVALID_ARG);
    EXPECT_NAMES("C");

    EXPECT_STATUS(lelp_builder_create(NULL, 4, 2, 1, NULL), LELP_E_NULL);
    EXPECT_NAMES("out");

    EXPECT_STATUS(lelp_loss_create(NULL, 2, 2, NULL), LELP_E_NULL);
    EXPECT_NAMES("out");

    double lo, hi;
    EXPECT_STATUS(lelp_param_bounds(LELP_LOSS_TAU, NULL, &hi), LELP_E_NULL);
    EXPECT_NAMES("lo");
    EXPECT_STATUS(lelp_param_bounds(LELP_LOSS_TAU, &lo, NULL), LELP_E_NULL);
    EXPECT_NAMES("hi");
    float z[2] = {0, 1}, t[2];
    EXPECT_STATUS(lelp_softmax_targets(z, 1, 2, 0.0, t), LELP_E_INVALID_ARG);
    EXPECT_NAMES("tau");
    EXPECT_STATUS(lelp_softmax_targets(NULL, 1, 2, 1.0, t), LELP_E_NULL);
    EXPECT_NAMES("Z");

    /* a label error names the row */
    EXPECT_OK(lelp_builder_create(&b, 2, 2, 1, NULL));
    float H[6] = {1, 2, 3, 4, 5, 6};
    int32_t y[3] = {0, 1, 7};
    EXPECT_STATUS(lelp_builder_update(b, H, y, 3, 2), LELP_E_LABEL_RANGE);
    EXPECT_NAMES("2"); /* the row */
    EXPECT_NAMES("7"); /* the label */
    /* successful calls leave the message alone */
    int64_t cnt;
    EXPECT_OK(lelp_builder_count(b, 0, &cnt));
    EXPECT_NAMES("7");
    lelp_builder_free(b);
}

/* ------------------------------------------------------------ param bounds */
static void test_param_bounds(void** state)
{
    (void)state;
    struct {
        int id;
        double lo, hi;
    } want[] = {
        {LELP_BUILDER_NULL_SPACE, 0.0, 1.0},
        {LELP_BUILDER_ROTATE, 0.0, 1.0},
        {LELP_BUILDER_SEED, 0.0, 9223372036854775807.0},
        {LELP_BUILDER_BETA, 0.0, 1e30},
        {LELP_BUILDER_ENTROPY_FRACTION, 0.01, 0.99},
        {LELP_BUILDER_SOLVER, 0.0, 1.0},
        {LELP_BUILDER_SKETCH_SIZE, 0.0, 16383.0},
        {LELP_BUILDER_PRECISION, 0.0, 1.0},
        {LELP_BUILDER_GRAM_FORM, 0.0, 1.0},
        {LELP_BUILDER_BETA_SAMPLE, -1.0, 1048576.0},
        {LELP_BUILDER_LABELLER, 0.0, 1.0},
        {LELP_LOSS_TAU, 0.01, 100.0},
        {LELP_LOSS_ALPHA, 0.0, 1.0},
        {LELP_LOSS_REDUCTION, 0.0, 1.0},
        {LELP_LOSS_KIND, 0.0, 2.0},
        {LELP_LOSS_DKD_TARGET_WEIGHT, 0.0, 1e6},
        {LELP_LOSS_DKD_NONTARGET_WEIGHT, 0.0, 1e6},
        {LELP_LOSS_AUX_TEMPERATURE, 0.01, 100.0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double lo = -7, hi = -7;
        EXPECT_OK(lelp_param_bounds(want[i].id, &lo, &hi));
        if (lo != want[i].lo || hi != want[i].hi)
            fail_msg("param %d: bounds [%g, %g], documented [%g, %g]", want[i].id, lo, hi, want[i].lo,
                     want[i].hi);
        assert_true(lo <= hi);
    }
    /* read-only model keys and unknown ids */
    const int bad[] = {LELP_MODEL_DIM,       LELP_MODEL_NUM_CLASSES, LELP_MODEL_SUBCLASSES, LELP_MODEL_SEED,
                       LELP_MODEL_BETA,      LELP_MODEL_NULL_SPACE,  LELP_MODEL_ROTATE,     LELP_MODEL_HEAD_RANK,
                       LELP_MODEL_ENTROPY_FRACTION, LELP_MODEL_AUTO_BETA, LELP_MODEL_SOLVER, LELP_MODEL_LABELLER,
                       0, -1, 100, 112, 200, 300, 308, 999};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double lo, hi;
        EXPECT_STATUS(lelp_param_bounds(bad[i], &lo, &hi), LELP_E_PARAM_UNSUPPORTED);
    }
}

/* --------------------------------------------------------------- defaults */
static void test_defaults(void** state)
{
    (void)state;
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, 8, 3, 2, NULL));
    assert_non_null(b);
    int64_t iv = -1;
    double dv = -1;
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_NULL_SPACE, &iv));
    assert_int_equal(iv, 1);
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_ROTATE, &iv));
    assert_int_equal(iv, 1);
    iv = -1;
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_SEED, &iv));
    assert_int_equal(iv, 0);
    EXPECT_OK(lelp_builder_get_double(b, LELP_BUILDER_BETA, &dv));
    assert_true(dv == 0.0);
    EXPECT_OK(lelp_builder_get_double(b, LELP_BUILDER_ENTROPY_FRACTION, &dv));
    assert_true(dv == 0.5);
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_BETA_SAMPLE, &iv));
    assert_int_equal(iv, -1); /* automatic */
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, -2), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, 1048577), LELP_E_PARAM_RANGE);
    for (int64_t c = 0; c < 3; c++) {
        iv = -1;
        EXPECT_OK(lelp_builder_count(b, c, &iv));
        assert_int_equal(iv, 0);
    }
    lelp_builder_free(b);

    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, 3, 2, NULL));
    EXPECT_OK(lelp_loss_get_double(l, LELP_LOSS_TAU, &dv));
    assert_true(dv == 1.0);
    EXPECT_OK(lelp_loss_get_double(l, LELP_LOSS_ALPHA, &dv));
    assert_true(dv == 0.0);
    iv = -1;
    EXPECT_OK(lelp_loss_get_int(l, LELP_LOSS_REDUCTION, &iv));
    assert_int_equal(iv, LELP_REDUCTION_MEAN);
    lelp_loss_free(l);
}

/* Setting then getting returns the value; bounds are inclusive. */
static void test_set_get_roundtrip(void** state)
{
    (void)state;
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, 8, 3, 2, NULL));
    int64_t iv;
    double dv;
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, 0));
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_NULL_SPACE, &iv));
    assert_int_equal(iv, 0);
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0));
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_ROTATE, &iv));
    assert_int_equal(iv, 0);
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, INT64_MAX));
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_SEED, &iv));
    assert_true(iv == INT64_MAX);
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, 2.5));
    EXPECT_OK(lelp_builder_get_double(b, LELP_BUILDER_BETA, &dv));
    assert_true(dv == 2.5);
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1e30));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 0.01));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 0.99));
    EXPECT_OK(lelp_builder_get_double(b, LELP_BUILDER_ENTROPY_FRACTION, &dv));
    assert_true(dv == 0.99);
    lelp_builder_free(b);

    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, 3, 2, NULL));
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 0.01));
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 100.0));
    EXPECT_OK(lelp_loss_get_double(l, LELP_LOSS_TAU, &dv));
    assert_true(dv == 100.0);
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0));
    EXPECT_OK(lelp_loss_get_double(l, LELP_LOSS_ALPHA, &dv));
    assert_true(dv == 1.0);
    EXPECT_OK(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, LELP_REDUCTION_SUM));
    EXPECT_OK(lelp_loss_get_int(l, LELP_LOSS_REDUCTION, &iv));
    assert_int_equal(iv, LELP_REDUCTION_SUM);
    lelp_loss_free(l);
}

/* ------------------------------------------------- range / family / type */
static void test_setters_reject(void** state)
{
    (void)state;
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, 8, 3, 2, NULL));
    /* out of range: never clamped, value unchanged */
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, 2), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, -1), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 2), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, -1), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_SEED, -1), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_SEED, INT64_MIN), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_BETA, -1e-9), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_BETA, 2e30), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_BETA, NAN), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_BETA, INFINITY), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 0.0099), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 0.991), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, NAN), LELP_E_PARAM_RANGE);
    int64_t iv;
    double dv;
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_NULL_SPACE, &iv));
    assert_int_equal(iv, 1);
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_SEED, &iv));
    assert_int_equal(iv, 0);
    EXPECT_OK(lelp_builder_get_double(b, LELP_BUILDER_BETA, &dv));
    assert_true(dv == 0.0);
    EXPECT_OK(lelp_builder_get_double(b, LELP_BUILDER_ENTROPY_FRACTION, &dv));
    assert_true(dv == 0.5);

    /* wrong family */
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_LOSS_TAU, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_LOSS_ALPHA, 0.5), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_LOSS_REDUCTION, 0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_MODEL_DIM, 8), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_MODEL_SEED, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_MODEL_BETA, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(b, 999, 0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_get_int(b, LELP_LOSS_REDUCTION, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_get_double(b, LELP_LOSS_TAU, &dv), LELP_E_PARAM_UNSUPPORTED);
    /* wrong type */
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_SEED, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_double(b, LELP_BUILDER_ROTATE, 0.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_BETA, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_ENTROPY_FRACTION, 0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_get_double(b, LELP_BUILDER_SEED, &dv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_builder_get_int(b, LELP_BUILDER_BETA, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_OK(lelp_builder_get_int(b, LELP_BUILDER_SEED, &iv));
    assert_int_equal(iv, 0);
    lelp_builder_free(b);

    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, 3, 2, NULL));
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_LOSS_TAU, 0.0099), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_LOSS_TAU, 100.01), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_LOSS_TAU, NAN), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_LOSS_ALPHA, -0.01), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.01), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, 2), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, -1), LELP_E_PARAM_RANGE);
    EXPECT_OK(lelp_loss_get_double(l, LELP_LOSS_TAU, &dv));
    assert_true(dv == 1.0);
    EXPECT_OK(lelp_loss_get_double(l, LELP_LOSS_ALPHA, &dv));
    assert_true(dv == 0.0);
    EXPECT_OK(lelp_loss_get_int(l, LELP_LOSS_REDUCTION, &iv));
    assert_int_equal(iv, LELP_REDUCTION_MEAN);
    /* wrong family / type */
    EXPECT_STATUS(lelp_loss_set_int(l, LELP_BUILDER_SEED, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_BUILDER_BETA, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_set_int(l, LELP_MODEL_SUBCLASSES, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_set_int(l, LELP_LOSS_TAU, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_set_double(l, LELP_LOSS_REDUCTION, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_get_int(l, LELP_LOSS_ALPHA, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_get_double(l, LELP_LOSS_REDUCTION, &dv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_loss_get_double(l, LELP_BUILDER_ENTROPY_FRACTION, &dv), LELP_E_PARAM_UNSUPPORTED);
    lelp_loss_free(l);
}

/* Model queries: typed keys, wrong type or family refused. */
static void test_model_queries(void** state)
{
    (void)state;
    synth_spec sp = synth_default(120, 6, 2, 2, 11);
    synth_data data;
    assert_int_equal(synth_make(&data, &sp), 0);
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_create(&b, 6, 2, 2, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, 77));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, 6));
    EXPECT_OK(lelp_builder_fit(b, &m));
    int64_t iv;
    double dv;
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_DIM, &iv));
    assert_int_equal(iv, 6);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_NUM_CLASSES, &iv));
    assert_int_equal(iv, 2);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_SUBCLASSES, &iv));
    assert_int_equal(iv, 2);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_SEED, &iv));
    assert_int_equal(iv, 77);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_ROTATE, &iv));
    assert_int_equal(iv, 1);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_NULL_SPACE, &iv));
    assert_int_equal(iv, 0); /* no head was set */
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &iv));
    assert_int_equal(iv, 0);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_AUTO_BETA, &iv));
    assert_int_equal(iv, 1);
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &dv));
    assert_true(dv > 0.0 && isfinite(dv));
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_ENTROPY_FRACTION, &dv));
    assert_true(dv == 0.5);
    EXPECT_STATUS(lelp_model_get_double(m, LELP_MODEL_DIM, &dv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_model_get_int(m, LELP_MODEL_BETA, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_model_get_int(m, LELP_BUILDER_SEED, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_model_get_double(m, LELP_LOSS_TAU, &dv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_model_get_int(m, 213, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_LABELLER, &iv));
    assert_int_equal(iv, LELP_LABELLER_PROJECTION);
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_SOLVER, &iv));
    assert_int_equal(iv, LELP_SOLVER_EXACT);

    /* with a head and a fixed beta */
    EXPECT_OK(lelp_builder_set_head(b, data.W, 2, 6));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1.5));
    lelp_model* m2 = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m2));
    EXPECT_OK(lelp_model_get_int(m2, LELP_MODEL_NULL_SPACE, &iv));
    assert_int_equal(iv, 1);
    EXPECT_OK(lelp_model_get_int(m2, LELP_MODEL_HEAD_RANK, &iv));
    assert_int_equal(iv, 2);
    EXPECT_OK(lelp_model_get_int(m2, LELP_MODEL_AUTO_BETA, &iv));
    assert_int_equal(iv, 0);
    EXPECT_OK(lelp_model_get_double(m2, LELP_MODEL_BETA, &dv));
    assert_true(dv == 1.5);
    lelp_model_free(m2);
    lelp_model_free(m);
    lelp_builder_free(b);
    synth_free(&data);
}

/* ---------------------------------------------------------- free(NULL) */
static void test_free_null(void** state)
{
    (void)state;
    lelp_builder_free(NULL);
    lelp_model_free(NULL);
    lelp_loss_free(NULL);
    lelp_allocator_free(NULL);
    /* a failing create sets *out = NULL and freeing that is still fine */
    lelp_model* m = (lelp_model*)0x1;
    int st = lelp_model_load(&m, "x", 1, NULL);
    assert_int_not_equal(st, LELP_OK);
    assert_null(m);
    lelp_model_free(m);
    assert_non_null(lelp_last_error());
}

/* ------------------------------------------------------ custom allocator */
typedef struct counting {
    int64_t allocs, frees;
    int64_t live_bytes, live_blocks;
    int64_t bad_align, bad_free;
    /* a small table to check that free receives the requested size */
    void* ptrs[4096];
    size_t sizes[4096];
} counting;

static void* count_alloc(void* opaque, size_t size, size_t align)
{
    counting* c = opaque;
    if (align == 0 || (align & (align - 1)) != 0 || align > 64) c->bad_align++;
    if (align < sizeof(void*)) align = sizeof(void*);
    void* p = NULL;
    if (posix_memalign(&p, align, size ? size : 1) != 0) return NULL;
    c->allocs++;
    c->live_bytes += (int64_t)size;
    c->live_blocks++;
    for (int i = 0; i < 4096; i++)
        if (!c->ptrs[i]) {
            c->ptrs[i] = p;
            c->sizes[i] = size;
            break;
        }
    return p;
}

static void count_free(void* opaque, void* ptr, size_t size)
{
    counting* c = opaque;
    if (!ptr) return;
    int found = 0;
    for (int i = 0; i < 4096; i++)
        if (c->ptrs[i] == ptr) {
            if (c->sizes[i] != size) c->bad_free++;
            c->ptrs[i] = NULL;
            found = 1;
            break;
        }
    if (!found) c->bad_free++;
    c->frees++;
    c->live_bytes -= (int64_t)size;
    c->live_blocks--;
    free(ptr);
}

static void test_custom_allocator(void** state)
{
    (void)state;
    counting* cnt = calloc(1, sizeof *cnt);
    assert_non_null(cnt);
    lelp_allocator* a = NULL;
    EXPECT_OK(lelp_allocator_create(&a, count_alloc, count_free, cnt));
    assert_non_null(a);
    int64_t after_desc = cnt->allocs;
    assert_true(after_desc >= 1); /* the descriptor itself came from alloc_fn */

    synth_spec sp = synth_default(200, 8, 2, 2, 5);
    synth_data data;
    assert_int_equal(synth_make(&data, &sp), 0);

    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, 8, 2, 2, a));
    assert_true(cnt->allocs > after_desc);
    /* the descriptor may be freed right after the create call */
    lelp_allocator_free(a);
    a = NULL;
    int64_t live_with_builder = cnt->live_blocks;
    assert_true(live_with_builder >= 1);

    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, 8));
    lelp_model* m = NULL;
    int64_t before_fit = cnt->allocs;
    EXPECT_OK(lelp_builder_fit(b, &m));
    assert_true(cnt->allocs > before_fit); /* the model comes from the builder's allocator */
    float* T = malloc(sizeof(float) * (size_t)(data.n * 4));
    EXPECT_OK(lelp_model_targets_from_labels(m, data.H, data.y, data.n, 8, 0.0, T));

    size_t sz = 0;
    EXPECT_OK(lelp_model_serialized_size(m, &sz));
    void* buf = malloc(sz);
    EXPECT_OK(lelp_model_serialize(m, buf, sz, &sz));

    lelp_allocator* a2 = NULL;
    EXPECT_OK(lelp_allocator_create(&a2, count_alloc, count_free, cnt));
    lelp_model* m2 = NULL;
    int64_t before_load = cnt->allocs;
    EXPECT_OK(lelp_model_load(&m2, buf, sz, a2));
    assert_true(cnt->allocs > before_load);
    lelp_loss* l = NULL;
    int64_t before_loss = cnt->allocs;
    EXPECT_OK(lelp_loss_create(&l, 2, 2, a2));
    assert_true(cnt->allocs > before_loss);
    {
        /* lelp_loss_compute allocates nothing: the KL-only chunked path
         * (n spans several 1024-row chunks at C*S = 4) and the row path */
        enum { nl = 2500, kl = 4 };
        float* U = malloc(sizeof(float) * nl * kl);
        float* T = malloc(sizeof(float) * nl * kl);
        float* G = malloc(sizeof(float) * nl * kl);
        int32_t* yl = malloc(sizeof(int32_t) * nl);
        assert_true(U && T && G && yl);
        for (int i = 0; i < nl * kl; i++) {
            U[i] = (float)((i * 7) % 13) * 0.25f - 1.5f;
            T[i] = 0.25f;
        }
        for (int i = 0; i < nl; i++) yl[i] = i % 2;
        double v = 0.0;
        int64_t before_compute = cnt->allocs;
        for (int rep = 0; rep < 3; rep++) {
            EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, rep == 2 ? 0.5 : 0.0));
            EXPECT_OK(lelp_loss_compute(l, U, T, yl, NULL, nl, &v, G));
            EXPECT_OK(lelp_loss_compute(l, U, T, yl, NULL, nl, &v, NULL));
        }
        assert_int_equal(cnt->allocs, before_compute);
        free(U);
        free(T);
        free(G);
        free(yl);
    }
    size_t bsz = 0;
    EXPECT_OK(lelp_builder_serialized_size(b, &bsz));
    void* bbuf = malloc(bsz);
    EXPECT_OK(lelp_builder_serialize(b, bbuf, bsz, &bsz));
    lelp_builder* b2 = NULL;
    int64_t before_bload = cnt->allocs;
    EXPECT_OK(lelp_builder_load(&b2, bbuf, bsz, a2));
    assert_true(cnt->allocs > before_bload);
    lelp_allocator_free(a2);
    assert_true(cnt->live_blocks > 0);

    lelp_builder_free(b2);
    lelp_loss_free(l);
    lelp_model_free(m2);
    lelp_model_free(m);
    lelp_builder_free(b);
    free(buf);
    free(bbuf);
    free(T);
    synth_free(&data);

    assert_int_equal(cnt->live_blocks, 0);
    assert_int_equal(cnt->live_bytes, 0);
    assert_int_equal(cnt->allocs, cnt->frees);
    assert_int_equal(cnt->bad_align, 0);
    assert_int_equal(cnt->bad_free, 0);
    free(cnt);
}

/* An allocator that always fails: creators report NOMEM and set out = NULL. */
static int fail_after;
static void* failing_alloc(void* opaque, size_t size, size_t align)
{
    (void)opaque;
    if (fail_after-- <= 0) return NULL;
    void* p = NULL;
    if (align < sizeof(void*)) align = sizeof(void*);
    return posix_memalign(&p, align, size ? size : 1) ? NULL : p;
}
static void failing_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    (void)size;
    free(p);
}

static void test_allocator_failure_reported(void** state)
{
    (void)state;
    lelp_allocator* a = (lelp_allocator*)0x1;
    fail_after = 0;
    EXPECT_STATUS(lelp_allocator_create(&a, failing_alloc, failing_free, NULL), LELP_E_NOMEM);
    assert_null(a);
    fail_after = 1; /* the descriptor only */
    EXPECT_OK(lelp_allocator_create(&a, failing_alloc, failing_free, NULL));
    lelp_builder* b = (lelp_builder*)0x1;
    EXPECT_STATUS(lelp_builder_create(&b, 4, 2, 1, a), LELP_E_NOMEM);
    assert_null(b);
    lelp_loss* l = (lelp_loss*)0x1;
    EXPECT_STATUS(lelp_loss_create(&l, 2, 2, a), LELP_E_NOMEM);
    assert_null(l);
    lelp_allocator_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_last_error),
        cmocka_unit_test(test_param_bounds),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_get_roundtrip),
        cmocka_unit_test(test_setters_reject),
        cmocka_unit_test(test_model_queries),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_custom_allocator),
        cmocka_unit_test(test_allocator_failure_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
