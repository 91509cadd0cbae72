/* test_error_paths.c -- every error path of every public function: each bad
 * argument gets its documented status code and a message; creators and
 * loaders set *out = NULL; a failing update leaves the builder unchanged;
 * truncated, bit-flipped, foreign and newer buffers are refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lelp.h"
#include "gen.h"

enum { N = 60, D = 5, C = 2, S = 2, K = C * S };

static float H[N * D], W[C * D], Z[N * C], T[N * K], U[N * K], G[N * K];
static int32_t y[N], out32[N];
static double dbuf[C * S * D + C * D];

/* status equals `want` and the thread-local message is non-empty */
#define EXPECT(call, want)                                                                        \
    do {                                                                                          \
        int st_ = (call);                                                                         \
        if (st_ != (want))                                                                        \
            fail_msg("%s returned %d (%s), expected %d: %s", #call, st_, lelp_status_string(st_), \
                     (want), lelp_last_error());                                                  \
        if ((want) != LELP_OK) assert_true(lelp_last_error()[0] != '\0');                          \
    } while (0)

static void setup_data(void)
{
    gen_seed(5);
    gen_data(H, y, N, D, C);
    for (int i = 0; i < C * D; i++) W[i] = (float)gen_gauss();
    for (int i = 0; i < N * C; i++) Z[i] = (float)gen_gauss();
    for (int i = 0; i < N * K; i++) {
        U[i] = (float)gen_gauss();
        T[i] = 1.0f / K;
    }
}

static lelp_builder* filled_builder(void)
{
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, N, D), LELP_OK);
    return b;
}

static void test_builder_create_errors(void** s)
{
    (void)s;
    lelp_builder* b = (lelp_builder*)0x1;
    EXPECT(lelp_builder_create(NULL, D, C, S, NULL), LELP_E_NULL);
    EXPECT(lelp_builder_create(&b, 0, C, S, NULL), LELP_E_INVALID_ARG);
    assert_null(b);
    b = (lelp_builder*)0x1;
    EXPECT(lelp_builder_create(&b, -3, C, S, NULL), LELP_E_INVALID_ARG);
    assert_null(b);
    EXPECT(lelp_builder_create(&b, D, 0, S, NULL), LELP_E_INVALID_ARG);
    EXPECT(lelp_builder_create(&b, D, C, 0, NULL), LELP_E_INVALID_ARG);
    EXPECT(lelp_builder_create(&b, D, C, D + 1, NULL), LELP_E_INVALID_ARG);
    assert_true(strstr(lelp_last_error(), "S") != NULL);
    EXPECT(lelp_builder_create(&b, INT64_C(1) << 40, C, S, NULL), LELP_E_INVALID_ARG);
    /* a handle of another type as allocator */
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, C, S, NULL), LELP_OK);
    EXPECT(lelp_builder_create(&b, D, C, S, (const lelp_allocator*)l), LELP_E_INVALID_HANDLE);
    assert_null(b);
    lelp_loss_free(l);
    EXPECT(lelp_allocator_create(NULL, NULL, NULL, NULL), LELP_E_NULL);
    lelp_allocator* a = (lelp_allocator*)0x1;
    EXPECT(lelp_allocator_create(&a, NULL, NULL, NULL), LELP_E_NULL);
    assert_null(a);
}

static void test_builder_update_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_builder* b = filled_builder();
    int64_t before0 = 0, before1 = 0, after = 0;
    assert_int_equal(lelp_builder_count(b, 0, &before0), LELP_OK);
    assert_int_equal(lelp_builder_count(b, 1, &before1), LELP_OK);
    EXPECT(lelp_builder_update(NULL, H, y, N, D), LELP_E_NULL);
    EXPECT(lelp_builder_update(b, NULL, y, N, D), LELP_E_NULL);
    EXPECT(lelp_builder_update(b, H, NULL, N, D), LELP_E_NULL);
    EXPECT(lelp_builder_update(b, H, y, -1, D), LELP_E_INVALID_ARG);
    EXPECT(lelp_builder_update(b, H, y, N, D + 1), LELP_E_SHAPE_MISMATCH);
    EXPECT(lelp_builder_update(b, H, y, 0, D), LELP_OK); /* empty batch: no-op */
    int32_t bad[N];
    memcpy(bad, y, sizeof bad);
    bad[17] = C;
    EXPECT(lelp_builder_update(b, H, bad, N, D), LELP_E_LABEL_RANGE);
    assert_true(strstr(lelp_last_error(), "row 17") != NULL);
    bad[17] = -1;
    EXPECT(lelp_builder_update(b, H, bad, N, D), LELP_E_LABEL_RANGE);
    float h2[N * D];
    memcpy(h2, H, sizeof h2);
    h2[23 * D + 2] = NAN;
    EXPECT(lelp_builder_update(b, h2, y, N, D), LELP_E_NONFINITE);
    assert_true(strstr(lelp_last_error(), "row 23") != NULL);
    h2[23 * D + 2] = INFINITY;
    EXPECT(lelp_builder_update(b, h2, y, N, D), LELP_E_NONFINITE);
    h2[23 * D + 2] = -INFINITY;
    EXPECT(lelp_builder_update(b, h2, y, N, D), LELP_E_NONFINITE);
    /* the failed updates changed nothing */
    assert_int_equal(lelp_builder_count(b, 0, &after), LELP_OK);
    assert_int_equal(after, before0);
    assert_int_equal(lelp_builder_count(b, 1, &after), LELP_OK);
    assert_int_equal(after, before1);
    EXPECT(lelp_builder_count(b, C, &after), LELP_E_LABEL_RANGE);
    EXPECT(lelp_builder_count(b, -1, &after), LELP_E_LABEL_RANGE);
    EXPECT(lelp_builder_count(b, 0, NULL), LELP_E_NULL);
    lelp_builder_free(b);
}

static void test_builder_head_merge_param_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_builder* b = filled_builder();
    EXPECT(lelp_builder_set_head(NULL, W, C, D), LELP_E_NULL);
    EXPECT(lelp_builder_set_head(b, NULL, C, D), LELP_E_NULL);
    EXPECT(lelp_builder_set_head(b, W, C + 1, D), LELP_E_SHAPE_MISMATCH);
    EXPECT(lelp_builder_set_head(b, W, C, D - 1), LELP_E_SHAPE_MISMATCH);
    float w2[C * D];
    memcpy(w2, W, sizeof w2);
    w2[3] = NAN;
    EXPECT(lelp_builder_set_head(b, w2, C, D), LELP_E_NONFINITE);
    lelp_builder* other = NULL;
    assert_int_equal(lelp_builder_create(&other, D + 1, C, S, NULL), LELP_OK);
    EXPECT(lelp_builder_merge(b, other), LELP_E_SHAPE_MISMATCH);
    EXPECT(lelp_builder_merge(b, NULL), LELP_E_NULL);
    EXPECT(lelp_builder_merge(NULL, other), LELP_E_NULL);
    EXPECT(lelp_builder_merge(b, b), LELP_E_INVALID_ARG);
    lelp_builder_free(other);
    EXPECT(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 2), LELP_E_PARAM_RANGE);
    EXPECT(lelp_builder_set_int(b, LELP_BUILDER_SEED, -1), LELP_E_PARAM_RANGE);
    EXPECT(lelp_builder_set_int(b, LELP_BUILDER_BETA, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_builder_set_int(b, LELP_LOSS_REDUCTION, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_builder_set_double(b, LELP_BUILDER_BETA, -1.0), LELP_E_PARAM_RANGE);
    EXPECT(lelp_builder_set_double(b, LELP_BUILDER_BETA, NAN), LELP_E_PARAM_RANGE);
    EXPECT(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 1.0), LELP_E_PARAM_RANGE);
    EXPECT(lelp_builder_set_double(b, LELP_BUILDER_SEED, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_builder_set_double(b, 9999, 1.0), LELP_E_PARAM_UNSUPPORTED);
    int64_t iv;
    double dv;
    EXPECT(lelp_builder_get_int(b, LELP_BUILDER_BETA, &iv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_builder_get_double(b, LELP_BUILDER_SEED, &dv), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_builder_get_int(b, LELP_BUILDER_SEED, NULL), LELP_E_NULL);
    lelp_builder_free(b);
}

static void test_fit_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_builder* b = NULL;
    lelp_model* m = (lelp_model*)0x1;
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    EXPECT(lelp_builder_fit(b, &m), LELP_E_STAGE); /* nothing streamed yet */
    assert_null(m);
    EXPECT(lelp_builder_fit(b, NULL), LELP_E_NULL);
    EXPECT(lelp_builder_fit(NULL, &m), LELP_E_NULL);
    /* class 1 has a single example */
    int32_t yy[N];
    for (int i = 0; i < N; i++) yy[i] = 0;
    yy[7] = 1;
    assert_int_equal(lelp_builder_update(b, H, yy, N, D), LELP_OK);
    EXPECT(lelp_builder_fit(b, &m), LELP_E_TOO_FEW_SAMPLES);
    assert_true(strstr(lelp_last_error(), "class 1") != NULL);
    assert_null(m);
    lelp_builder_free(b);
    /* rows of class 0 span one direction only: S = 2 is rank deficient */
    float h1[N * D];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) h1[i * D + j] = y[i] == 0 ? (float)(i * (j + 1)) : H[i * D + j];
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_update(b, h1, y, N, D), LELP_OK);
    EXPECT(lelp_builder_fit(b, &m), LELP_E_RANK_DEFICIENT);
    assert_true(strstr(lelp_last_error(), "class 0") != NULL);
    lelp_builder_free(b);
    /* S = d with a head projected out: rank d - r < S */
    assert_int_equal(lelp_builder_create(&b, D, C, D, NULL), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, N, D), LELP_OK);
    assert_int_equal(lelp_builder_set_head(b, W, C, D), LELP_OK);
    EXPECT(lelp_builder_fit(b, &m), LELP_E_RANK_DEFICIENT);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, 0), LELP_OK);
    EXPECT(lelp_builder_fit(b, &m), LELP_OK);
    lelp_model_free(m);
    lelp_builder_free(b);
}

static void test_model_call_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_model* m = gen_fit(H, y, N, D, C, S, W);
    EXPECT(lelp_model_targets_from_logits(NULL, H, Z, N, D, 1.0, T), LELP_E_NULL);
    EXPECT(lelp_model_targets_from_logits(m, NULL, Z, N, D, 1.0, T), LELP_E_NULL);
    EXPECT(lelp_model_targets_from_logits(m, H, NULL, N, D, 1.0, T), LELP_E_NULL);
    EXPECT(lelp_model_targets_from_logits(m, H, Z, N, D, 1.0, NULL), LELP_E_NULL);
    EXPECT(lelp_model_targets_from_logits(m, H, Z, N, D + 2, 1.0, T), LELP_E_SHAPE_MISMATCH);
    EXPECT(lelp_model_targets_from_logits(m, H, Z, -5, D, 1.0, T), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_targets_from_logits(m, H, Z, N, D, 0.0, T), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_targets_from_logits(m, H, Z, N, D, 1000.0, T), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_targets_from_logits(m, H, Z, N, D, NAN, T), LELP_E_INVALID_ARG);
    float z2[N * C];
    memcpy(z2, Z, sizeof z2);
    z2[11 * C] = INFINITY;
    EXPECT(lelp_model_targets_from_logits(m, H, z2, N, D, 1.0, T), LELP_E_NONFINITE);
    assert_true(strstr(lelp_last_error(), "row 11") != NULL);
    float h2[N * D];
    memcpy(h2, H, sizeof h2);
    h2[4] = NAN;
    EXPECT(lelp_model_targets_from_logits(m, h2, Z, N, D, 1.0, T), LELP_E_NONFINITE);
    EXPECT(lelp_model_targets_from_labels(m, H, NULL, N, D, 0.0, T), LELP_E_NULL);
    EXPECT(lelp_model_targets_from_labels(m, H, y, N, D, 1.0, T), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_targets_from_labels(m, H, y, N, D, -0.1, T), LELP_E_INVALID_ARG);
    int32_t bad[N];
    memcpy(bad, y, sizeof bad);
    bad[N - 1] = 99;
    EXPECT(lelp_model_targets_from_labels(m, H, bad, N, D, 0.0, T), LELP_E_LABEL_RANGE);
    EXPECT(lelp_model_assign(m, H, bad, N, D, out32), LELP_E_LABEL_RANGE);
    EXPECT(lelp_model_assign(m, H, y, N, D, NULL), LELP_E_NULL);
    EXPECT(lelp_model_assign(m, H, y, N, 1, out32), LELP_E_SHAPE_MISMATCH);
    EXPECT(lelp_model_project(m, H, N, D, NULL), LELP_E_NULL);
    EXPECT(lelp_model_project(m, h2, N, D, T), LELP_E_NONFINITE);
    double v = 0.0;
    EXPECT(lelp_model_mean_entropy(m, H, y, N, D, 0.0, &v), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_mean_entropy(m, H, y, 0, D, 1.0, &v), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_estimate_beta(m, H, y, N, D, 0.0, &v), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_estimate_beta(m, H, y, N, D, 0.5, NULL), LELP_E_NULL);
    lelp_model* m2 = (lelp_model*)0x1;
    EXPECT(lelp_model_with_beta(m, 0.0, &m2), LELP_E_INVALID_ARG);
    assert_null(m2);
    EXPECT(lelp_model_with_beta(m, INFINITY, &m2), LELP_E_INVALID_ARG);
    EXPECT(lelp_model_eigenvalues(m, dbuf, C * S - 1), LELP_E_BUFFER_TOO_SMALL);
    EXPECT(lelp_model_components(m, dbuf, C * S * D - 1), LELP_E_BUFFER_TOO_SMALL);
    EXPECT(lelp_model_means(m, NULL, C * D), LELP_E_NULL);
    EXPECT(lelp_model_get_int(m, LELP_MODEL_BETA, (int64_t*)dbuf), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_model_get_double(m, LELP_MODEL_DIM, dbuf), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_model_get_double(m, LELP_BUILDER_BETA, dbuf), LELP_E_PARAM_UNSUPPORTED);
    /* wrong handle types */
    lelp_builder* b = filled_builder();
    EXPECT(lelp_model_targets_from_labels((const lelp_model*)b, H, y, N, D, 0.0, T), LELP_E_INVALID_HANDLE);
    EXPECT(lelp_builder_update((lelp_builder*)m, H, y, N, D), LELP_E_INVALID_HANDLE);
    EXPECT(lelp_model_get_int((const lelp_model*)b, LELP_MODEL_DIM, (int64_t*)dbuf), LELP_E_INVALID_HANDLE);
    lelp_builder_free(b);
    lelp_model_free(m);
}

static void test_loss_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_loss* l = (lelp_loss*)0x1;
    EXPECT(lelp_loss_create(NULL, C, S, NULL), LELP_E_NULL);
    EXPECT(lelp_loss_create(&l, 0, S, NULL), LELP_E_INVALID_ARG);
    assert_null(l);
    EXPECT(lelp_loss_create(&l, C, -1, NULL), LELP_E_INVALID_ARG);
    assert_int_equal(lelp_loss_create(&l, C, S, NULL), LELP_OK);
    double v = 0.0;
    EXPECT(lelp_loss_compute(NULL, U, T, y, NULL, N, &v, G), LELP_E_NULL);
    EXPECT(lelp_loss_compute(l, NULL, T, y, NULL, N, &v, G), LELP_E_NULL);
    EXPECT(lelp_loss_compute(l, U, NULL, y, NULL, N, &v, G), LELP_E_NULL); /* alpha = 0 needs T */
    EXPECT(lelp_loss_compute(l, U, T, y, NULL, N, NULL, G), LELP_E_NULL);
    EXPECT(lelp_loss_compute(l, U, T, y, NULL, 0, &v, G), LELP_E_INVALID_ARG);
    EXPECT(lelp_loss_compute(l, U, T, NULL, NULL, N, &v, G), LELP_OK); /* labels unused at alpha 0 */
    float u2[N * K], t2[N * K], w[N];
    memcpy(u2, U, sizeof u2);
    u2[9 * K + 1] = NAN;
    EXPECT(lelp_loss_compute(l, u2, T, y, NULL, N, &v, G), LELP_E_NONFINITE);
    assert_true(strstr(lelp_last_error(), "row 9") != NULL);
    memcpy(t2, T, sizeof t2);
    t2[2 * K] = -0.25f;
    t2[2 * K + 1] += 0.25f;
    EXPECT(lelp_loss_compute(l, U, t2, y, NULL, N, &v, G), LELP_E_INVALID_TARGETS);
    memcpy(t2, T, sizeof t2);
    t2[5 * K] += 0.5f;
    EXPECT(lelp_loss_compute(l, U, t2, y, NULL, N, &v, G), LELP_E_INVALID_TARGETS);
    assert_true(strstr(lelp_last_error(), "row 5") != NULL);
    t2[5 * K] = INFINITY;
    EXPECT(lelp_loss_compute(l, U, t2, y, NULL, N, &v, G), LELP_E_NONFINITE);
    for (int i = 0; i < N; i++) w[i] = 1.0f;
    w[3] = -1.0f;
    EXPECT(lelp_loss_compute(l, U, T, y, w, N, &v, G), LELP_E_INVALID_ARG);
    w[3] = NAN;
    EXPECT(lelp_loss_compute(l, U, T, y, w, N, &v, G), LELP_E_NONFINITE);
    for (int i = 0; i < N; i++) w[i] = 0.0f;
    EXPECT(lelp_loss_compute(l, U, T, y, w, N, &v, G), LELP_E_INVALID_ARG); /* mean over zero weight */
    assert_int_equal(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, LELP_REDUCTION_SUM), LELP_OK);
    EXPECT(lelp_loss_compute(l, U, T, y, w, N, &v, G), LELP_OK);
    assert_true(v == 0.0);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.5), LELP_OK);
    EXPECT(lelp_loss_compute(l, U, T, NULL, NULL, N, &v, G), LELP_E_NULL); /* alpha > 0 needs labels */
    int32_t bad[N];
    memcpy(bad, y, sizeof bad);
    bad[0] = C;
    EXPECT(lelp_loss_compute(l, U, T, bad, NULL, N, &v, G), LELP_E_LABEL_RANGE);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0), LELP_OK);
    EXPECT(lelp_loss_compute(l, U, NULL, y, NULL, N, &v, G), LELP_OK); /* alpha = 1: no targets */
    EXPECT(lelp_loss_set_double(l, LELP_LOSS_TAU, 0.0), LELP_E_PARAM_RANGE);
    EXPECT(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.5), LELP_E_PARAM_RANGE);
    EXPECT(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, 2), LELP_E_PARAM_RANGE);
    EXPECT(lelp_loss_set_int(l, LELP_LOSS_TAU, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_loss_set_double(l, LELP_BUILDER_BETA, 1.0), LELP_E_PARAM_UNSUPPORTED);
    EXPECT(lelp_loss_compute((const lelp_loss*)W, U, T, y, NULL, N, &v, G), LELP_E_INVALID_HANDLE);
    lelp_loss_free(l);
    /* prediction helpers */
    float p[N * C];
    EXPECT(lelp_predict_log_proba(NULL, N, C, S, p), LELP_E_NULL);
    EXPECT(lelp_predict_log_proba(U, N, C, S, NULL), LELP_E_NULL);
    EXPECT(lelp_predict_log_proba(U, N, 0, S, p), LELP_E_INVALID_ARG);
    EXPECT(lelp_predict_log_proba(u2, N, C, S, p), LELP_E_NONFINITE);
    EXPECT(lelp_predict_class(U, -1, C, S, out32), LELP_E_INVALID_ARG);
    EXPECT(lelp_softmax_targets(Z, N, C, 0.001, p), LELP_E_INVALID_ARG);
    EXPECT(lelp_softmax_targets(Z, N, C, 1.0, NULL), LELP_E_NULL);
}

/* ---- serialized buffers ------------------------------------------------- */
static uint32_t crc32_ieee(const uint8_t* p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static uint8_t* model_bytes(const lelp_model* m, size_t* n)
{
    assert_int_equal(lelp_model_serialized_size(m, n), LELP_OK);
    uint8_t* buf = malloc(*n);
    assert_non_null(buf);
    size_t w = 0;
    assert_int_equal(lelp_model_serialize(m, buf, *n, &w), LELP_OK);
    assert_int_equal(w, *n);
    return buf;
}

static int is_load_error(int st)
{
    return st == LELP_E_TRUNCATED || st == LELP_E_FORMAT || st == LELP_E_CHECKSUM || st == LELP_E_VERSION;
}

static void test_model_buffer_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_model* m = gen_fit(H, y, N, D, C, S, W);
    size_t n = 0;
    uint8_t* buf = model_bytes(m, &n);
    lelp_model* back = (lelp_model*)0x1;
    EXPECT(lelp_model_serialize(m, buf, n - 1, NULL), LELP_E_BUFFER_TOO_SMALL);
    EXPECT(lelp_model_serialize(m, NULL, n, NULL), LELP_E_NULL);
    EXPECT(lelp_model_load(NULL, buf, n, NULL), LELP_E_NULL);
    EXPECT(lelp_model_load(&back, NULL, n, NULL), LELP_E_NULL);
    assert_null(back);
    /* every truncation, each copied to an exact-size block (ASan/valgrind
     * see any over-read) */
    for (size_t k = 0; k < n; k++) {
        uint8_t* cut = malloc(k ? k : 1);
        memcpy(cut, buf, k);
        int st = lelp_model_load(&back, cut, k, NULL);
        if (!(st == LELP_E_TRUNCATED || (k >= 8 && st == LELP_E_FORMAT)))
            fail_msg("truncation to %zu bytes gave %d", k, st);
        assert_null(back);
        free(cut);
    }
    /* a trailing byte */
    uint8_t* longer = malloc(n + 1);
    memcpy(longer, buf, n);
    longer[n] = 0;
    EXPECT(lelp_model_load(&back, longer, n + 1, NULL), LELP_E_FORMAT);
    free(longer);
    /* every single-bit flip is refused */
    for (size_t k = 0; k < n; k++)
        for (int bit = 0; bit < 8; bit++) {
            buf[k] ^= (uint8_t)(1u << bit);
            int st = lelp_model_load(&back, buf, n, NULL);
            if (!is_load_error(st)) fail_msg("bit %d of byte %zu flipped: status %d", bit, k, st);
            assert_null(back);
            buf[k] ^= (uint8_t)(1u << bit);
        }
    /* a newer format version (checksum made consistent) -> VERSION */
    assert_true(n > 264);
    uint8_t* newer = malloc(n);
    assert_non_null(newer);
    memcpy(newer, buf, n);
    newer[8] = 2;
    uint32_t c = crc32_ieee(newer, n - 4);
    memcpy(newer + n - 4, &c, 4); /* little-endian host */
    EXPECT(lelp_model_load(&back, newer, n, NULL), LELP_E_VERSION);
    /* a consistent checksum over an impossible shape -> FORMAT */
    memcpy(newer, buf, n);
    newer[48] = 99; /* S = 99 > d */
    c = crc32_ieee(newer, n - 4);
    memcpy(newer + n - 4, &c, 4);
    EXPECT(lelp_model_load(&back, newer, n, NULL), LELP_E_FORMAT);
    /* a NaN in the payload with a valid checksum -> FORMAT */
    memcpy(newer, buf, n);
    double nan = NAN;
    memcpy(newer + 256, &nan, 8);
    c = crc32_ieee(newer, n - 4);
    memcpy(newer + n - 4, &c, 4);
    EXPECT(lelp_model_load(&back, newer, n, NULL), LELP_E_FORMAT);
    free(newer);
    /* the unmodified buffer still loads */
    EXPECT(lelp_model_load(&back, buf, n, NULL), LELP_OK);
    lelp_model_free(back);
    /* a builder state is not a model, and the other way round */
    lelp_builder* b = filled_builder();
    size_t bn = 0;
    assert_int_equal(lelp_builder_serialized_size(b, &bn), LELP_OK);
    uint8_t* bbuf = malloc(bn);
    EXPECT(lelp_builder_serialize(b, bbuf, bn - 1, NULL), LELP_E_BUFFER_TOO_SMALL);
    assert_int_equal(lelp_builder_serialize(b, bbuf, bn, NULL), LELP_OK);
    back = (lelp_model*)0x1;
    EXPECT(lelp_model_load(&back, bbuf, bn, NULL), LELP_E_FORMAT);
    assert_null(back);
    assert_true(strstr(lelp_last_error(), "builder") != NULL);
    lelp_builder* bb = (lelp_builder*)0x1;
    EXPECT(lelp_builder_load(&bb, buf, n, NULL), LELP_E_FORMAT);
    assert_null(bb);
    for (size_t k = 0; k < bn; k += 3) {
        bbuf[k] ^= 0x10;
        int st = lelp_builder_load(&bb, bbuf, bn, NULL);
        if (!is_load_error(st)) fail_msg("builder byte %zu flipped: status %d", k, st);
        bbuf[k] ^= 0x10;
    }
    for (size_t k = 0; k < bn; k++) {
        int st = lelp_builder_load(&bb, bbuf, k, NULL);
        if (!is_load_error(st)) fail_msg("builder truncated to %zu: status %d", k, st);
    }
    free(bbuf);
    lelp_builder_free(b);
    free(buf);
    lelp_model_free(m);
}

static void test_file_errors(void** s)
{
    (void)s;
    setup_data();
    lelp_model* m = gen_fit(H, y, N, D, C, S, NULL);
    lelp_model* back = (lelp_model*)0x1;
    EXPECT(lelp_model_save_path(m, "/nonexistent-dir/x/model.lelp"), LELP_E_IO);
    EXPECT(lelp_model_save_path(m, NULL), LELP_E_NULL);
    EXPECT(lelp_model_load_path(&back, "/nonexistent-dir/model.lelp", NULL), LELP_E_IO);
    assert_null(back);
    EXPECT(lelp_model_load_path(&back, NULL, NULL), LELP_E_NULL);
    /* a truncated file */
    const char* path = "build/test_error_paths_model.tmp";
    assert_int_equal(lelp_model_save_path(m, path), LELP_OK);
    FILE* f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 100), 0);
    fclose(f);
    EXPECT(lelp_model_load_path(&back, path, NULL), LELP_E_TRUNCATED);
    remove(path);
    lelp_builder* b = filled_builder();
    lelp_builder* bb = (lelp_builder*)0x1;
    EXPECT(lelp_builder_save_path(b, "/nonexistent-dir/b.lelpb"), LELP_E_IO);
    EXPECT(lelp_builder_load_path(&bb, "/nonexistent-dir/b.lelpb", NULL), LELP_E_IO);
    assert_null(bb);
    lelp_builder_free(b);
    lelp_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_create_errors),
        cmocka_unit_test(test_builder_update_errors),
        cmocka_unit_test(test_builder_head_merge_param_errors),
        cmocka_unit_test(test_fit_errors),
        cmocka_unit_test(test_model_call_errors),
        cmocka_unit_test(test_loss_errors),
        cmocka_unit_test(test_model_buffer_errors),
        cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
