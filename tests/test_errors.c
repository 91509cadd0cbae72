/* SPDX-License-Identifier: MIT */
/* test_errors.c -- every public function against every error class the
 * header documents: NULL pointers, bad sizes, shape mismatches, labels out of
 * range, non-finite inputs, too few samples, rank deficiency, call order,
 * wrong handle types, small buffers, corrupt / truncated / foreign / newer
 * serialized buffers, I/O failures, invalid targets and weights.
 * Creators and loaders must also set *out = NULL on failure. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lelp.h"
#include "envelope.h"
#include "synth.h"

#include "expect.h"
#include "state.h"
#define SENTINEL ((void*)(uintptr_t)0x10)

/* The message names `word` followed (somewhere) by the number `num` as a
 * separate decimal token. */
static void expect_message_names(const char* word, long long num)
{
    const char* msg = lelp_last_error();
    assert_non_null(msg);
    if (!strstr(msg, word)) fail_msg("last_error does not mention \"%s\": \"%s\"", word, msg);
    char want[32];
    snprintf(want, sizeof want, "%lld", num);
    size_t wl = strlen(want);
    for (const char* p = strstr(msg, word); p && *p; p++) {
        if (strncmp(p, want, wl) == 0 && (p == msg || !isdigit((unsigned char)p[-1])) &&
            !isdigit((unsigned char)p[wl]))
            return;
    }
    fail_msg("last_error does not name %s %lld: \"%s\"", word, num, msg);
}

/* The message names the array / argument `word` as a whole word. */
static void expect_message_word(const char* word)
{
    const char* msg = lelp_last_error();
    size_t wl = strlen(word);
    for (const char* p = strstr(msg, word); p; p = strstr(p + 1, word)) {
        int before = p == msg || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = !(isalnum((unsigned char)p[wl]) || p[wl] == '_');
        if (before && after) return;
    }
    fail_msg("last_error does not name %s: \"%s\"", word, msg);
}

/* ------------------------------------------------------------- fixture */
enum { D = 6, C = 2, S = 2, N = 60, CS = C * S };

typedef struct fx {
    synth_data data;
    lelp_builder* b;
    lelp_model* m;
    lelp_loss* l;
    float T[N * CS];
    float U[N * CS];
    float Hbad[N * D];
    unsigned char* model_buf;
    size_t model_size;
    unsigned char* builder_buf;
    size_t builder_size;
} fx;
static fx F;

static int group_setup(void** state)
{
    (void)state;
    synth_spec sp = synth_default(N, D, C, 2, 1234);
    if (synth_make(&F.data, &sp)) return -1;
    if (lelp_builder_create(&F.b, D, C, S, NULL)) return -1;
    if (lelp_builder_update(F.b, F.data.H, F.data.y, N, D)) return -1;
    if (lelp_builder_fit(F.b, &F.m)) return -1;
    if (lelp_loss_create(&F.l, C, S, NULL)) return -1;
    if (lelp_model_targets_from_logits(F.m, F.data.H, F.data.Z, N, D, 1.0, F.T)) return -1;
    synth_rng r;
    synth_rng_seed(&r, 99);
    synth_fill_normal(&r, F.U, N * CS, 2.0);
    if (lelp_model_serialized_size(F.m, &F.model_size)) return -1;
    F.model_buf = malloc(F.model_size);
    if (lelp_model_serialize(F.m, F.model_buf, F.model_size, &F.model_size)) return -1;
    if (lelp_builder_serialized_size(F.b, &F.builder_size)) return -1;
    F.builder_buf = malloc(F.builder_size);
    if (lelp_builder_serialize(F.b, F.builder_buf, F.builder_size, &F.builder_size)) return -1;
    return 0;
}

static int group_teardown(void** state)
{
    (void)state;
    lelp_loss_free(F.l);
    lelp_model_free(F.m);
    lelp_builder_free(F.b);
    free(F.model_buf);
    free(F.builder_buf);
    synth_free(&F.data);
    return 0;
}

/* A fresh builder with the fixture data. */
static lelp_builder* fresh_builder(void)
{
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    EXPECT_OK(lelp_builder_update(b, F.data.H, F.data.y, N, D));
    return b;
}

/* ================================================================ tests */

static void bad_free_fn(void* o, void* p, size_t n)
{
    (void)o;
    (void)n;
    free(p);
}

static void test_allocator_errors(void** state)
{
    (void)state;
    lelp_allocator* a = SENTINEL;
    EXPECT_STATUS(lelp_allocator_create(NULL, NULL, NULL, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_allocator_create(&a, NULL, NULL, NULL), LELP_E_NULL);
    assert_null(a);
    a = SENTINEL;
    /* one of the two functions missing */
    EXPECT_STATUS(lelp_allocator_create(&a, NULL, bad_free_fn, NULL), LELP_E_NULL);
    assert_null(a);
    /* a handle of another type used as an allocator */
    lelp_builder* b = SENTINEL;
    EXPECT_STATUS(lelp_builder_create(&b, D, C, S, (const lelp_allocator*)F.l), LELP_E_INVALID_HANDLE);
    assert_null(b);
    lelp_loss* l = SENTINEL;
    EXPECT_STATUS(lelp_loss_create(&l, C, S, (const lelp_allocator*)F.m), LELP_E_INVALID_HANDLE);
    assert_null(l);
    lelp_model* m = SENTINEL;
    EXPECT_STATUS(lelp_model_load(&m, F.model_buf, F.model_size, (const lelp_allocator*)F.b),
                  LELP_E_INVALID_HANDLE);
    assert_null(m);
}

static void test_builder_create_errors(void** state)
{
    (void)state;
    lelp_builder* b;
    EXPECT_STATUS(lelp_builder_create(NULL, D, C, S, NULL), LELP_E_NULL);
    const int64_t bad[][3] = {{0, 2, 1},  {-1, 2, 1}, {4, 0, 1},  {4, -3, 1},
                              {4, 2, 0},  {4, 2, -1}, {4, 2, 5},  {1, 1, 2},
                              {INT64_MIN, 2, 1}, {4, INT64_MIN, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = SENTINEL;
        int st = lelp_builder_create(&b, bad[i][0], bad[i][1], bad[i][2], NULL);
        if (st != LELP_E_INVALID_ARG)
            fail_msg("create(d=%lld, C=%lld, S=%lld) = %d, want INVALID_ARG", (long long)bad[i][0],
                     (long long)bad[i][1], (long long)bad[i][2], st);
        assert_null(b);
    }
    /* S == d is legal */
    EXPECT_OK(lelp_builder_create(&b, 3, 2, 3, NULL));
    lelp_builder_free(b);
}

static void test_builder_param_errors(void** state)
{
    (void)state;
    int64_t iv;
    double dv;
    EXPECT_STATUS(lelp_builder_set_int(NULL, LELP_BUILDER_SEED, 1), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_set_double(NULL, LELP_BUILDER_BETA, 1), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_get_int(NULL, LELP_BUILDER_SEED, &iv), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_get_double(NULL, LELP_BUILDER_BETA, &dv), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_get_int(F.b, LELP_BUILDER_SEED, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_get_double(F.b, LELP_BUILDER_BETA, NULL), LELP_E_NULL);
    lelp_builder* wrong = (lelp_builder*)F.l;
    EXPECT_STATUS(lelp_builder_set_int(wrong, LELP_BUILDER_SEED, 1), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_set_double(wrong, LELP_BUILDER_BETA, 1), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_get_int(wrong, LELP_BUILDER_SEED, &iv), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_get_double(wrong, LELP_BUILDER_BETA, &dv), LELP_E_INVALID_HANDLE);
    /* the loss is intact afterwards */
    EXPECT_OK(lelp_loss_get_double(F.l, LELP_LOSS_TAU, &dv));
    assert_true(dv == 1.0);
}

static void test_builder_update_errors(void** state)
{
    (void)state;
    lelp_builder* b = fresh_builder();
    size_t size0;
    unsigned char* before = builder_bytes(b, &size0);
    int64_t c0, c1;
    EXPECT_OK(lelp_builder_count(b, 0, &c0));
    EXPECT_OK(lelp_builder_count(b, 1, &c1));

    const float* H = F.data.H;
    const int32_t* y = F.data.y;
    EXPECT_STATUS(lelp_builder_update(NULL, H, y, N, D), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_update(b, NULL, y, N, D), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_update(b, H, NULL, N, D), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_update(b, H, y, -1, D), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_builder_update(b, H, y, N, D + 1), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_builder_update(b, H, y, N, D - 1), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_builder_update((lelp_builder*)F.l, H, y, N, D), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_update((lelp_builder*)F.m, H, y, N, D), LELP_E_INVALID_HANDLE);

    /* labels -1 and C, at a row past the first few (the valid rows before it
     * must not have been streamed) */
    int32_t ybad[N];
    memcpy(ybad, y, sizeof ybad);
    ybad[17] = -1;
    EXPECT_STATUS(lelp_builder_update(b, H, ybad, N, D), LELP_E_LABEL_RANGE);
    expect_message_names("row", 17);
    ybad[17] = C;
    EXPECT_STATUS(lelp_builder_update(b, H, ybad, N, D), LELP_E_LABEL_RANGE);
    expect_message_names("row", 17);
    ybad[17] = INT32_MAX;
    EXPECT_STATUS(lelp_builder_update(b, H, ybad, N, D), LELP_E_LABEL_RANGE);

    /* NaN / Inf in the embeddings */
    float Hbad[N * D];
    const float nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        memcpy(Hbad, H, sizeof Hbad);
        Hbad[23 * D + 4] = nonfinite[k];
        EXPECT_STATUS(lelp_builder_update(b, Hbad, y, N, D), LELP_E_NONFINITE);
        expect_message_names("row", 23);
    }

    /* the builder is exactly as it was */
    int64_t c;
    EXPECT_OK(lelp_builder_count(b, 0, &c));
    assert_int_equal(c, c0);
    EXPECT_OK(lelp_builder_count(b, 1, &c));
    assert_int_equal(c, c1);
    size_t size1;
    unsigned char* after = builder_bytes(b, &size1);
    assert_int_equal(size0, size1);
    assert_memory_equal(before, after, size0);
    free(after);

    /* n == 0 is a no-op */
    EXPECT_OK(lelp_builder_update(b, H, y, 0, D));
    after = builder_bytes(b, &size1);
    assert_memory_equal(before, after, size0);
    free(after);
    free(before);
    lelp_builder_free(b);
}

static void test_builder_merge_errors(void** state)
{
    (void)state;
    lelp_builder* b = fresh_builder();
    size_t size0;
    unsigned char* before = builder_bytes(b, &size0);
    EXPECT_STATUS(lelp_builder_merge(NULL, F.b), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_merge(b, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_merge(b, b), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_builder_merge(b, (const lelp_builder*)F.l), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_merge((lelp_builder*)F.m, b), LELP_E_INVALID_HANDLE);
    const int64_t shapes[][3] = {{D + 1, C, S}, {D, C + 1, S}, {D, C, S + 1}, {D, 1, 1}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        lelp_builder* o = NULL;
        EXPECT_OK(lelp_builder_create(&o, shapes[i][0], shapes[i][1], shapes[i][2], NULL));
        EXPECT_STATUS(lelp_builder_merge(b, o), LELP_E_SHAPE_MISMATCH);
        EXPECT_STATUS(lelp_builder_merge(o, b), LELP_E_SHAPE_MISMATCH);
        lelp_builder_free(o);
    }
    size_t size1;
    unsigned char* after = builder_bytes(b, &size1);
    assert_int_equal(size0, size1);
    assert_memory_equal(before, after, size0);
    free(after);
    free(before);
    lelp_builder_free(b);
}

static void test_builder_head_count_errors(void** state)
{
    (void)state;
    lelp_builder* b = fresh_builder();
    const float* W = F.data.W;
    EXPECT_STATUS(lelp_builder_set_head(NULL, W, C, D), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_set_head(b, NULL, C, D), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_set_head(b, W, C + 1, D), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_builder_set_head(b, W, C - 1, D), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_builder_set_head(b, W, C, D + 1), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_builder_set_head((lelp_builder*)F.l, W, C, D), LELP_E_INVALID_HANDLE);
    float Wbad[C * D];
    memcpy(Wbad, W, sizeof Wbad);
    Wbad[1 * D + 2] = NAN;
    EXPECT_STATUS(lelp_builder_set_head(b, Wbad, C, D), LELP_E_NONFINITE);
    expect_message_names("row", 1);
    expect_message_word("W");
    Wbad[1 * D + 2] = INFINITY;
    EXPECT_STATUS(lelp_builder_set_head(b, Wbad, C, D), LELP_E_NONFINITE);
    /* no head was set by the failing calls: the fit has no null space */
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    int64_t v;
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &v));
    assert_int_equal(v, 0);
    lelp_model_free(m);

    int64_t cnt;
    EXPECT_STATUS(lelp_builder_count(NULL, 0, &cnt), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_count(b, 0, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_count(b, -1, &cnt), LELP_E_LABEL_RANGE);
    EXPECT_STATUS(lelp_builder_count(b, C, &cnt), LELP_E_LABEL_RANGE);
    EXPECT_STATUS(lelp_builder_count((const lelp_builder*)F.m, 0, &cnt), LELP_E_INVALID_HANDLE);
    lelp_builder_free(b);
}

static void test_builder_fit_errors(void** state)
{
    (void)state;
    lelp_model* m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(NULL, &m), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_fit(F.b, NULL), LELP_E_NULL);
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit((const lelp_builder*)F.l, &m), LELP_E_INVALID_HANDLE);
    assert_null(m);

    /* nothing streamed */
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_STAGE);
    assert_null(m);
    /* an empty batch is still nothing streamed */
    EXPECT_OK(lelp_builder_update(b, F.data.H, F.data.y, 0, D));
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_STAGE);
    assert_null(m);

    /* class 1 with a single example */
    float H[12 * D];
    int32_t y[12];
    memcpy(H, F.data.H, sizeof H);
    for (int i = 0; i < 12; i++) y[i] = 0;
    y[5] = 1;
    EXPECT_OK(lelp_builder_update(b, H, y, 12, D));
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_TOO_FEW_SAMPLES);
    assert_null(m);
    expect_message_names("class", 1);
    lelp_builder_free(b);

    /* class 0 with no example at all */
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    for (int i = 0; i < 12; i++) y[i] = 1;
    EXPECT_OK(lelp_builder_update(b, H, y, 12, D));
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_TOO_FEW_SAMPLES);
    assert_null(m);
    expect_message_names("class", 0);
    lelp_builder_free(b);

    /* class 1 spans a 2-dim subspace, S = 3 */
    enum { d5 = 5, n5 = 40 };
    float H5[n5 * d5];
    int32_t y5[n5];
    synth_rng r;
    synth_rng_seed(&r, 3);
    for (int i = 0; i < n5; i++) {
        y5[i] = i % 2;
        for (int j = 0; j < d5; j++) H5[i * d5 + j] = (float)synth_normal(&r);
        if (y5[i] == 1) {
            H5[i * d5 + 2] = H5[i * d5 + 3] = H5[i * d5 + 4] = 0.0f;
            H5[i * d5 + 0] += 5.0f; /* an offset: the centred rows still span 2 dims */
        }
    }
    EXPECT_OK(lelp_builder_create(&b, d5, 2, 3, NULL));
    EXPECT_OK(lelp_builder_update(b, H5, y5, n5, d5));
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_RANK_DEFICIENT);
    assert_null(m);
    expect_message_names("class", 1);
    lelp_builder_free(b);
    /* with S = 2 the same data fits */
    EXPECT_OK(lelp_builder_create(&b, d5, 2, 2, NULL));
    EXPECT_OK(lelp_builder_update(b, H5, y5, n5, d5));
    EXPECT_OK(lelp_builder_fit(b, &m));
    lelp_model_free(m);
    lelp_builder_free(b);

    /* a head whose row space covers the whole spread of a class: after the
     * null-space projection nothing is left -> rank deficient */
    float Hh[n5 * 2];
    float Wh[2 * 2] = {1, 0, 0, 1};
    for (int i = 0; i < n5; i++) {
        y5[i] = i % 2;
        Hh[2 * i] = (float)synth_normal(&r);
        Hh[2 * i + 1] = (float)synth_normal(&r);
    }
    EXPECT_OK(lelp_builder_create(&b, 2, 2, 1, NULL));
    EXPECT_OK(lelp_builder_update(b, Hh, y5, n5, 2));
    EXPECT_OK(lelp_builder_set_head(b, Wh, 2, 2));
    m = SENTINEL;
    EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_RANK_DEFICIENT);
    assert_null(m);
    /* the same without projection fits */
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, 0));
    EXPECT_OK(lelp_builder_fit(b, &m));
    lelp_model_free(m);
    lelp_builder_free(b);

    /* the same with a generic full-rank head: P Sigma P is rounding noise,
     * not zero, and must still be refused whatever the batching and solver
     * (the noise's own largest eigenvalue is no scale for it) */
    const float Wg[2 * 2] = {0.8147f, -0.9058f, 0.1270f, 0.9134f};
    for (int solver = LELP_SOLVER_EXACT; solver <= LELP_SOLVER_SKETCH; solver++)
        for (int batch = 1; batch <= 7; batch += 6) {
            EXPECT_OK(lelp_builder_create(&b, 2, 2, 1, NULL));
            EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, solver));
            for (int i = 0; i < n5; i += n5 / batch + 1) {
                int nb = n5 - i < n5 / batch + 1 ? n5 - i : n5 / batch + 1;
                EXPECT_OK(lelp_builder_update(b, Hh + 2 * i, y5 + i, nb, 2));
            }
            EXPECT_OK(lelp_builder_set_head(b, Wg, 2, 2));
            m = SENTINEL;
            EXPECT_STATUS(lelp_builder_fit(b, &m), LELP_E_RANK_DEFICIENT);
            assert_null(m);
            expect_message_names("class", 0);
            assert_non_null(strstr(lelp_last_error(), "head's row space"));
            lelp_builder_free(b);
        }
}

static void test_serialize_errors(void** state)
{
    (void)state;
    size_t sz;
    unsigned char buf[16];
    EXPECT_STATUS(lelp_model_serialized_size(NULL, &sz), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_serialized_size(F.m, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_serialized_size((const lelp_model*)F.b, &sz), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_serialize(NULL, buf, sizeof buf, &sz), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_serialize(F.m, NULL, F.model_size, &sz), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_serialize((const lelp_model*)F.l, buf, sizeof buf, &sz), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_serialized_size(NULL, &sz), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_serialized_size(F.b, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_serialized_size((const lelp_builder*)F.m, &sz), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_serialize(NULL, buf, sizeof buf, &sz), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_serialize(F.b, NULL, F.builder_size, &sz), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_serialize((const lelp_builder*)F.m, buf, sizeof buf, &sz), LELP_E_INVALID_HANDLE);

    /* capacity one short, and zero */
    unsigned char* big = malloc(F.model_size + F.builder_size);
    EXPECT_STATUS(lelp_model_serialize(F.m, big, F.model_size - 1, &sz), LELP_E_BUFFER_TOO_SMALL);
    EXPECT_STATUS(lelp_model_serialize(F.m, big, 0, &sz), LELP_E_BUFFER_TOO_SMALL);
    EXPECT_STATUS(lelp_builder_serialize(F.b, big, F.builder_size - 1, &sz), LELP_E_BUFFER_TOO_SMALL);
    EXPECT_STATUS(lelp_builder_serialize(F.b, big, 0, &sz), LELP_E_BUFFER_TOO_SMALL);
    /* a larger capacity is fine and writes exactly the size */
    sz = 0;
    EXPECT_OK(lelp_model_serialize(F.m, big, F.model_size + F.builder_size, &sz));
    assert_int_equal(sz, F.model_size);
    free(big);
}

static void test_load_null_and_foreign(void** state)
{
    (void)state;
    lelp_model* m = SENTINEL;
    lelp_builder* b = SENTINEL;
    EXPECT_STATUS(lelp_model_load(NULL, F.model_buf, F.model_size, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_load(&m, NULL, F.model_size, NULL), LELP_E_NULL);
    assert_null(m);
    EXPECT_STATUS(lelp_builder_load(NULL, F.builder_buf, F.builder_size, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_load(&b, NULL, F.builder_size, NULL), LELP_E_NULL);
    assert_null(b);

    /* the other kind's buffer */
    m = SENTINEL;
    EXPECT_STATUS(lelp_model_load(&m, F.builder_buf, F.builder_size, NULL), LELP_E_FORMAT);
    assert_null(m);
    b = SENTINEL;
    EXPECT_STATUS(lelp_builder_load(&b, F.model_buf, F.model_size, NULL), LELP_E_FORMAT);
    assert_null(b);

    /* one byte too many */
    unsigned char* longer = calloc(1, F.model_size + 1);
    memcpy(longer, F.model_buf, F.model_size);
    m = SENTINEL;
    EXPECT_STATUS(lelp_model_load(&m, longer, F.model_size + 1, NULL), LELP_E_FORMAT);
    assert_null(m);
    free(longer);

    /* garbage of a plausible size */
    unsigned char* junk = malloc(F.model_size);
    synth_rng r;
    synth_rng_seed(&r, 8);
    for (size_t i = 0; i < F.model_size; i++) junk[i] = (unsigned char)synth_rng_u64(&r);
    m = SENTINEL;
    assert_int_not_equal(lelp_model_load(&m, junk, F.model_size, NULL), LELP_OK);
    assert_null(m);
    free(junk);

    /* the intact buffers do load */
    EXPECT_OK(lelp_model_load(&m, F.model_buf, F.model_size, NULL));
    lelp_model_free(m);
    EXPECT_OK(lelp_builder_load(&b, F.builder_buf, F.builder_size, NULL));
    lelp_builder_free(b);
}

static int is_load_error(int st)
{
    return st == LELP_E_TRUNCATED || st == LELP_E_FORMAT || st == LELP_E_CHECKSUM || st == LELP_E_VERSION;
}

static void truncation_sweep(const unsigned char* full, size_t size, int is_model)
{
    for (size_t len = 0; len < size; len++) {
        /* an exact-size heap copy, so ASan / valgrind catch any over-read */
        unsigned char* p = malloc(len ? len : 1);
        memcpy(p, full, len);
        void* out = SENTINEL;
        int st = is_model ? lelp_model_load((lelp_model**)&out, p, len, NULL)
                          : lelp_builder_load((lelp_builder**)&out, p, len, NULL);
        if (st != LELP_E_TRUNCATED && st != LELP_E_FORMAT)
            fail_msg("%s load of %zu of %zu bytes: status %d (%s), want TRUNCATED or FORMAT",
                     is_model ? "model" : "builder", len, size, st, lelp_status_string(st));
        if (out != NULL) fail_msg("out not NULL after failed load of %zu bytes", len);
        free(p);
    }
}

static void test_load_truncated(void** state)
{
    (void)state;
    truncation_sweep(F.model_buf, F.model_size, 1);
    truncation_sweep(F.builder_buf, F.builder_size, 0);
    /* a buffer cut after the 32-byte prefix claims more: TRUNCATED exactly */
    lelp_model* m = SENTINEL;
    EXPECT_STATUS(lelp_model_load(&m, F.model_buf, F.model_size - 1, NULL), LELP_E_TRUNCATED);
    assert_null(m);
    EXPECT_STATUS(lelp_model_load(&m, F.model_buf, 200, NULL), LELP_E_TRUNCATED);
}

static void bitflip_sweep(const unsigned char* full, size_t size, int is_model)
{
    unsigned char* p = malloc(size);
    int counts[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(p, full, size);
            p[i] ^= (unsigned char)(1u << bit);
            void* out = SENTINEL;
            int st = is_model ? lelp_model_load((lelp_model**)&out, p, size, NULL)
                              : lelp_builder_load((lelp_builder**)&out, p, size, NULL);
            if (!is_load_error(st))
                fail_msg("%s buffer with bit %d of byte %zu flipped: status %d (%s)",
                         is_model ? "model" : "builder", bit, i, st, lelp_status_string(st));
            if (out != NULL) fail_msg("out not NULL after failed load (byte %zu bit %d)", i, bit);
            counts[st == LELP_E_CHECKSUM ? 0 : st == LELP_E_FORMAT ? 1 : st == LELP_E_VERSION ? 2 : 3]++;
        }
    }
    /* flips in the payload can only be caught by the CRC */
    assert_true(counts[0] > (int)size * 4);
    free(p);
}

static void test_load_bitflips(void** state)
{
    (void)state;
    bitflip_sweep(F.model_buf, F.model_size, 1);
    bitflip_sweep(F.builder_buf, F.builder_size, 0);
}

/* Patched, then correctly re-sealed headers: the checks past the CRC. */
static void test_load_patched_headers(void** state)
{
    (void)state;
    const unsigned char* srcs[2] = {F.model_buf, F.builder_buf};
    const size_t sizes[2] = {F.model_size, F.builder_size};
    for (int kind = 0; kind < 2; kind++) {
        size_t size = sizes[kind];
        unsigned char* p = malloc(size);
        const unsigned char* src = srcs[kind];
        const uint32_t current = kind == 0 ? 1u : 3u; /* as written: docs/format.md: projection models 1, builder states 3 */
        const uint32_t newest = kind == 0 ? 2u : 3u;  /* as read: models 2 (the k-means flag) */
        assert_int_equal(rd32(src + 8), current);
        assert_int_equal(rd32(src + 12) + rd64(src + 24) + 4, size);
#define TRY(patch, want)                                                                     \
    do {                                                                                     \
        memcpy(p, src, size);                                                                \
        patch;                                                                               \
        reseal(p, size);                                                                     \
        void* out_ = SENTINEL;                                                               \
        int st_ = kind == 0 ? lelp_model_load((lelp_model**)&out_, p, size, NULL)            \
                            : lelp_builder_load((lelp_builder**)&out_, p, size, NULL);       \
        if (st_ != (want))                                                                   \
            fail_msg("%s, %s: status %d (%s), want %d (%s); %s", kind ? "builder" : "model",  \
                     #patch, st_, lelp_status_string(st_), (int)(want),                      \
                     lelp_status_string(want), lelp_last_error());                           \
        assert_null(out_);                                                                   \
    } while (0)
        /* a newer format version */
        TRY(wr32(p + 8, newest + 1), LELP_E_VERSION);
        if (kind == 0) TRY(wr32(p + 20, rd32(p + 20) | 16u), LELP_E_FORMAT); /* the k-means flag needs version 2 */
        TRY(wr32(p + 8, 0xFFFFFFFFu), LELP_E_VERSION);
        /* version 0 */
        TRY(wr32(p + 8, 0), LELP_E_FORMAT);
        /* an unknown flag bit */
        TRY(wr32(p + 20, rd32(p + 20) | 0x80000000u), LELP_E_FORMAT);
        /* impossible shapes */
        TRY(wr64(p + 32, 0), LELP_E_FORMAT);                   /* d = 0 */
        TRY(wr64(p + 32, (uint64_t)-5), LELP_E_FORMAT);        /* d < 0 */
        TRY(wr64(p + 40, 0), LELP_E_FORMAT);                   /* C = 0 */
        TRY(wr64(p + 48, (uint64_t)(D + 1)), LELP_E_FORMAT);   /* S > d */
        TRY(wr64(p + 40, (uint64_t)(C + 1)), LELP_E_FORMAT);   /* payload length disagrees */
        /* a non-zero reserved byte (model: 88..127, builder: 112..127) */
        TRY(p[120] = 1, LELP_E_FORMAT);
        /* a 192-byte header (sizes still adding up): no version has one */
        TRY((wr32(p + 12, 192), wr64(p + 24, rd64(p + 24) - 64)), LELP_E_FORMAT);
        /* a non-zero byte in the padding after the C counts (16 of 64 bytes) */
        TRY(p[128 + 8 * C + 5] = 1, LELP_E_FORMAT);
        /* the writer's library version is informative only */
        {
            memcpy(p, src, size);
            wr32(p + 16, 999999);
            reseal(p, size);
            void* out = NULL;
            int st = kind == 0 ? lelp_model_load((lelp_model**)&out, p, size, NULL)
                               : lelp_builder_load((lelp_builder**)&out, p, size, NULL);
            EXPECT_OK(st);
            if (kind == 0) lelp_model_free(out);
            else lelp_builder_free(out);
        }
        if (kind == 0) {
            TRY(wr64(p + 72, 0), LELP_E_FORMAT);                            /* beta = 0 */
            double nan = NAN;
            uint64_t bits;
            memcpy(&bits, &nan, 8);
            TRY(wr64(p + 72, bits), LELP_E_FORMAT);                         /* beta NaN */
            TRY(wr64(p + 56, (uint64_t)(C + 1)), LELP_E_FORMAT);            /* head rank > C */
            /* a count of 1 (the first payload array is counts) */
            size_t H = rd32(p + 12);
            TRY(wr64(p + H, 1), LELP_E_FORMAT);
            /* a NaN in the means */
            TRY(wr64(p + H + 64, bits), LELP_E_FORMAT);
        } else {
            /* a negative count */
            size_t H = rd32(p + 12);
            TRY(wr64(p + H, (uint64_t)-1), LELP_E_FORMAT);
            TRY(wr64(p + 56, (uint64_t)1 << 63), LELP_E_FORMAT);            /* seed > 2^63-1 */
            TRY(wr64(p + 80, 7), LELP_E_FORMAT);                            /* unknown solver */
            TRY(wr64(p + 88, 5), LELP_E_FORMAT);                            /* sketch size on an exact state */
            assert_true(rd32(p + 20) & 32u); /* the fixture keeps a beta sample (flag bit 5) */
            TRY(wr32(p + 8, 2), LELP_E_FORMAT);                             /* which version 2 has not */
        }
#undef TRY
        free(p);
    }
}

static void test_file_io_errors(void** state)
{
    (void)state;
    const char* bad_paths[] = {"/nonexistent-lelp-dir/x/model.lelp", "/tmp", ""};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        EXPECT_STATUS(lelp_model_save_path(F.m, bad_paths[i]), LELP_E_IO);
        EXPECT_STATUS(lelp_builder_save_path(F.b, bad_paths[i]), LELP_E_IO);
    }
    EXPECT_STATUS(lelp_model_save_path(NULL, "/tmp/x.lelp"), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_save_path(F.m, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_save_path(NULL, "/tmp/x.lelp"), LELP_E_NULL);
    EXPECT_STATUS(lelp_builder_save_path(F.b, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_save_path((const lelp_model*)F.b, "/tmp/x.lelp"), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_save_path((const lelp_builder*)F.m, "/tmp/x.lelp"), LELP_E_INVALID_HANDLE);

    lelp_model* m = SENTINEL;
    lelp_builder* b = SENTINEL;
    EXPECT_STATUS(lelp_model_load_path(&m, "/nonexistent-lelp-dir/model.lelp", NULL), LELP_E_IO);
    assert_null(m);
    EXPECT_STATUS(lelp_builder_load_path(&b, "/nonexistent-lelp-dir/b.lelp", NULL), LELP_E_IO);
    assert_null(b);
    EXPECT_STATUS(lelp_model_load_path(NULL, "/tmp/x.lelp", NULL), LELP_E_NULL);
    m = SENTINEL;
    EXPECT_STATUS(lelp_model_load_path(&m, NULL, NULL), LELP_E_NULL);
    assert_null(m);
    EXPECT_STATUS(lelp_builder_load_path(NULL, "/tmp/x.lelp", NULL), LELP_E_NULL);
    b = SENTINEL;
    EXPECT_STATUS(lelp_builder_load_path(&b, NULL, NULL), LELP_E_NULL);
    assert_null(b);

    /* an existing file of the wrong kind is a FORMAT error, not IO */
    char path[64];
    snprintf(path, sizeof path, "/tmp/lelp-test-errors-%d.lelpb", (int)getpid());
    EXPECT_OK(lelp_builder_save_path(F.b, path));
    m = SENTINEL;
    EXPECT_STATUS(lelp_model_load_path(&m, path, NULL), LELP_E_FORMAT);
    assert_null(m);
    /* a truncated file */
    FILE* f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(F.model_buf, 1, F.model_size / 2, f), F.model_size / 2);
    fclose(f);
    m = SENTINEL;
    EXPECT_STATUS(lelp_model_load_path(&m, path, NULL), LELP_E_TRUNCATED);
    assert_null(m);
    remove(path);
}

/* Where a save writes: never over a file that is not its target (an
 * existing path.tmp stays), through a symbolic link to the file it names
 * (the link stays a link), and in place into a FIFO (which stays a FIFO;
 * renaming over it would have replaced it with a file). */
static int same_bytes(const char* path, const unsigned char* want, size_t n)
{
    unsigned char* got = malloc(n + 1);
    FILE* f = fopen(path, "rb");
    size_t k = f ? fread(got, 1, n + 1, f) : 0;
    if (f) fclose(f);
    int same = k == n && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

static void test_save_path_targets(void** state)
{
    (void)state;
    char dir[64], path[96], tmp[112], link[96], fifo[96];
    snprintf(dir, sizeof dir, "/tmp/lelp-test-save-%d", (int)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/m.lelp", dir);
    snprintf(tmp, sizeof tmp, "%s/m.lelp.tmp", dir);
    snprintf(link, sizeof link, "%s/link.lelp", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    /* a file of the caller's named like the temporary */
    FILE* f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs("keep", f);
    fclose(f);
    EXPECT_OK(lelp_model_save_path(F.m, path));
    assert_true(same_bytes(path, F.model_buf, F.model_size));
    assert_true(same_bytes(tmp, (const unsigned char*)"keep", 4));
    /* a link to the model: the file behind it is replaced, the link kept */
    assert_int_equal(symlink(path, link), 0);
    EXPECT_OK(lelp_builder_save_path(F.b, link));
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_load_path(&b, path, NULL));
    lelp_builder_free(b);
    /* a FIFO (held open for reading, so the writer does not block) */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int fd = open(fifo, O_RDWR | O_NONBLOCK);
    assert_true(fd >= 0);
    assert_true(F.model_size < 60000); /* fits the pipe's buffer */
    EXPECT_OK(lelp_model_save_path(F.m, fifo));
    assert_int_equal(lstat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    unsigned char* got = malloc(F.model_size + 1);
    ssize_t k = read(fd, got, F.model_size + 1);
    assert_true(k == (ssize_t)F.model_size && memcmp(got, F.model_buf, F.model_size) == 0);
    free(got);
    close(fd);
    /* a directory is refused, saving and loading (it opens, and its
     * ftell is LONG_MAX: once an 8 EiB allocation, LELP_E_NOMEM) */
    EXPECT_STATUS(lelp_model_save_path(F.m, dir), LELP_E_IO);
    lelp_model* m = SENTINEL;
    EXPECT_STATUS(lelp_model_load_path(&m, dir, NULL), LELP_E_IO);
    assert_null(m);
    b = SENTINEL;
    EXPECT_STATUS(lelp_builder_load_path(&b, dir, NULL), LELP_E_IO);
    assert_null(b);
    lelp_compressor* c = SENTINEL;
    EXPECT_STATUS(lelp_compressor_load_path(&c, dir, NULL), LELP_E_IO);
    assert_null(c);
    remove(fifo), remove(link), remove(tmp), remove(path);
    assert_int_equal(rmdir(dir), 0); /* nothing else was left behind */
}

/* Finite rows whose projections overflow float32 (|h| near FLT_MAX, or a
 * subnormal beta) are LELP_E_NUMERICAL naming the row in every batch call,
 * never Inf/NaN (or an arbitrary assignment) with LELP_OK. */
static void test_projection_overflow(void** state)
{
    (void)state;
    float H[3 * D], out[3 * CS];
    int32_t y[3] = {0, 1, 0}, sub[3];
    double e = 0.0;
    for (int i = 0; i < 3 * D; i++) H[i] = 0.01f * (float)(i % 5);
    /* row 2 (class 0) along the signs of class 0's first direction u: its
     * projection, a sum of same-sign terms, is 3e38 * sum |u_j| > FLT_MAX */
    double U[CS * D], l1 = 0.0;
    EXPECT_OK(lelp_model_components(F.m, U, CS * D));
    for (int j = 0; j < D; j++) H[2 * D + j] = U[j] < 0.0 ? -3e38f : 3e38f, l1 += fabs(U[j]);
    assert_true(l1 > 1.2);
    EXPECT_STATUS(lelp_model_project(F.m, H, 3, D, out), LELP_E_NUMERICAL);
    assert_non_null(strstr(lelp_last_error(), "row 2"));
    EXPECT_STATUS(lelp_model_assign(F.m, H, y, 3, D, sub), LELP_E_NUMERICAL);
    assert_non_null(strstr(lelp_last_error(), "row 2"));
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, y, 3, D, 1.0, &e), LELP_E_NUMERICAL);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, y, 3, D, 0.5, &e), LELP_E_NUMERICAL);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, y, 3, D, 0.0, out), LELP_E_NUMERICAL);
    /* the first two rows alone are fine */
    EXPECT_OK(lelp_model_project(F.m, H, 2, D, out));
    EXPECT_OK(lelp_model_assign(F.m, H, y, 2, D, sub));
    /* a subnormal beta: every projection away from the offsets overflows */
    lelp_model* tiny = NULL;
    if (lelp_model_with_beta(F.m, 5e-324, &tiny) == LELP_OK) {
        EXPECT_STATUS(lelp_model_project(tiny, H, 2, D, out), LELP_E_NUMERICAL);
        lelp_model_free(tiny);
    }
}

static void test_model_query_errors(void** state)
{
    (void)state;
    int64_t iv;
    double dv;
    double out[CS * D + 8];
    EXPECT_STATUS(lelp_model_get_int(NULL, LELP_MODEL_DIM, &iv), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_get_int(F.m, LELP_MODEL_DIM, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_get_double(NULL, LELP_MODEL_BETA, &dv), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_get_double(F.m, LELP_MODEL_BETA, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_get_int((const lelp_model*)F.b, LELP_MODEL_DIM, &iv), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_get_double((const lelp_model*)F.l, LELP_MODEL_BETA, &dv), LELP_E_INVALID_HANDLE);

    typedef int (*arr_fn)(const lelp_model*, double*, int64_t);
    const struct {
        arr_fn fn;
        int64_t need;
        const char* name;
    } arrs[] = {
        {lelp_model_eigenvalues, CS, "eigenvalues"},
        {lelp_model_explained_variance_ratio, CS, "ratio"},
        {lelp_model_components, CS * D, "components"},
        {lelp_model_means, C * D, "means"},
        {lelp_model_offsets, CS, "offsets"},
    };
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        EXPECT_STATUS(arrs[i].fn(NULL, out, arrs[i].need), LELP_E_NULL);
        EXPECT_STATUS(arrs[i].fn(F.m, NULL, arrs[i].need), LELP_E_NULL);
        EXPECT_STATUS(arrs[i].fn((const lelp_model*)F.b, out, arrs[i].need), LELP_E_INVALID_HANDLE);
        EXPECT_STATUS(arrs[i].fn(F.m, out, arrs[i].need - 1), LELP_E_BUFFER_TOO_SMALL);
        EXPECT_STATUS(arrs[i].fn(F.m, out, 0), LELP_E_BUFFER_TOO_SMALL);
        int st = arrs[i].fn(F.m, out, -1);
        if (st != LELP_E_BUFFER_TOO_SMALL && st != LELP_E_INVALID_ARG)
            fail_msg("%s with capacity -1: %d", arrs[i].name, st);
        EXPECT_OK(arrs[i].fn(F.m, out, arrs[i].need));
        EXPECT_OK(arrs[i].fn(F.m, out, arrs[i].need + 8));
    }
}

static void test_targets_errors(void** state)
{
    (void)state;
    const float* H = F.data.H;
    const float* Z = F.data.Z;
    const int32_t* y = F.data.y;
    float T[N * CS];
    /* logits */
    EXPECT_STATUS(lelp_model_targets_from_logits(NULL, H, Z, N, D, 1.0, T), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, NULL, Z, N, D, 1.0, T), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, NULL, N, D, 1.0, T), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, Z, N, D, 1.0, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_logits((const lelp_model*)F.b, H, Z, N, D, 1.0, T),
                  LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, Z, -1, D, 1.0, T), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, Z, N, D + 1, 1.0, T), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, Z, N, D - 1, 1.0, T), LELP_E_SHAPE_MISMATCH);
    const double bad_tau[] = {0.0, 0.0099, -1.0, 100.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_tau / sizeof bad_tau[0]; i++)
        EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, Z, N, D, bad_tau[i], T), LELP_E_INVALID_ARG);
    EXPECT_OK(lelp_model_targets_from_logits(F.m, H, Z, N, D, 0.01, T));
    EXPECT_OK(lelp_model_targets_from_logits(F.m, H, Z, N, D, 100.0, T));
    float Hb[N * D], Zb[N * C];
    memcpy(Hb, H, sizeof Hb);
    Hb[31 * D + 0] = NAN;
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, Hb, Z, N, D, 1.0, T), LELP_E_NONFINITE);
    expect_message_names("row", 31);
    expect_message_word("H");
    memcpy(Zb, Z, sizeof Zb);
    Zb[44 * C + 1] = -INFINITY;
    EXPECT_STATUS(lelp_model_targets_from_logits(F.m, H, Zb, N, D, 1.0, T), LELP_E_NONFINITE);
    expect_message_names("row", 44);
    expect_message_word("Z");

    /* labels */
    EXPECT_STATUS(lelp_model_targets_from_labels(NULL, H, y, N, D, 0.0, T), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, NULL, y, N, D, 0.0, T), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, NULL, N, D, 0.0, T), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, y, N, D, 0.0, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_targets_from_labels((const lelp_model*)F.l, H, y, N, D, 0.0, T),
                  LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, y, -2, D, 0.0, T), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, y, N, D + 1, 0.0, T), LELP_E_SHAPE_MISMATCH);
    const double bad_eps[] = {-0.01, 1.0, 1.5, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_eps / sizeof bad_eps[0]; i++)
        EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, y, N, D, bad_eps[i], T), LELP_E_INVALID_ARG);
    int32_t yb[N];
    memcpy(yb, y, sizeof yb);
    yb[9] = C;
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, yb, N, D, 0.0, T), LELP_E_LABEL_RANGE);
    expect_message_names("row", 9);
    yb[9] = -1;
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, H, yb, N, D, 0.0, T), LELP_E_LABEL_RANGE);
    EXPECT_STATUS(lelp_model_targets_from_labels(F.m, Hb, y, N, D, 0.0, T), LELP_E_NONFINITE);
    expect_message_names("row", 31);
}

static void test_project_assign_errors(void** state)
{
    (void)state;
    const float* H = F.data.H;
    const int32_t* y = F.data.y;
    float P[N * CS];
    int32_t a[N];
    EXPECT_STATUS(lelp_model_project(NULL, H, N, D, P), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_project(F.m, NULL, N, D, P), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_project(F.m, H, N, D, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_project((const lelp_model*)F.b, H, N, D, P), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_project(F.m, H, -1, D, P), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_project(F.m, H, N, D + 2, P), LELP_E_SHAPE_MISMATCH);
    float Hb[N * D];
    memcpy(Hb, H, sizeof Hb);
    Hb[N * D - 1] = NAN;
    EXPECT_STATUS(lelp_model_project(F.m, Hb, N, D, P), LELP_E_NONFINITE);
    expect_message_names("row", N - 1);

    EXPECT_STATUS(lelp_model_assign(NULL, H, y, N, D, a), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_assign(F.m, NULL, y, N, D, a), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_assign(F.m, H, NULL, N, D, a), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_assign(F.m, H, y, N, D, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_assign((const lelp_model*)F.l, H, y, N, D, a), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_assign(F.m, H, y, -1, D, a), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_assign(F.m, H, y, N, 1, a), LELP_E_SHAPE_MISMATCH);
    EXPECT_STATUS(lelp_model_assign(F.m, Hb, y, N, D, a), LELP_E_NONFINITE);
    int32_t yb[N];
    memcpy(yb, y, sizeof yb);
    yb[0] = -1;
    EXPECT_STATUS(lelp_model_assign(F.m, H, yb, N, D, a), LELP_E_LABEL_RANGE);
    expect_message_names("row", 0);
}

static void test_beta_errors(void** state)
{
    (void)state;
    const float* H = F.data.H;
    const int32_t* y = F.data.y;
    double e, beta;
    EXPECT_STATUS(lelp_model_mean_entropy(NULL, H, y, N, D, 1.0, &e), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, NULL, y, N, D, 1.0, &e), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, NULL, N, D, 1.0, &e), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, y, N, D, 1.0, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_mean_entropy((const lelp_model*)F.b, H, y, N, D, 1.0, &e), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, y, -1, D, 1.0, &e), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, y, N, D + 1, 1.0, &e), LELP_E_SHAPE_MISMATCH);
    const double bad_beta[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_beta / sizeof bad_beta[0]; i++)
        EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, y, N, D, bad_beta[i], &e), LELP_E_INVALID_ARG);
    int32_t yb[N];
    memcpy(yb, y, sizeof yb);
    yb[3] = 5;
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, H, yb, N, D, 1.0, &e), LELP_E_LABEL_RANGE);
    float Hb[N * D];
    memcpy(Hb, H, sizeof Hb);
    Hb[7 * D + 3] = INFINITY;
    EXPECT_STATUS(lelp_model_mean_entropy(F.m, Hb, y, N, D, 1.0, &e), LELP_E_NONFINITE);
    expect_message_names("row", 7);

    EXPECT_STATUS(lelp_model_estimate_beta(NULL, H, y, N, D, 0.5, &beta), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, NULL, y, N, D, 0.5, &beta), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, NULL, N, D, 0.5, &beta), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, y, N, D, 0.5, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_estimate_beta((const lelp_model*)F.l, H, y, N, D, 0.5, &beta),
                  LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, y, -1, D, 0.5, &beta), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, y, N, D + 1, 0.5, &beta), LELP_E_SHAPE_MISMATCH);
    const double bad_frac[] = {0.0, 0.0099, 0.991, 1.0, -0.5, NAN};
    for (size_t i = 0; i < sizeof bad_frac / sizeof bad_frac[0]; i++)
        EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, y, N, D, bad_frac[i], &beta), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, H, yb, N, D, 0.5, &beta), LELP_E_LABEL_RANGE);
    EXPECT_STATUS(lelp_model_estimate_beta(F.m, Hb, y, N, D, 0.5, &beta), LELP_E_NONFINITE);

    lelp_model* m2 = SENTINEL;
    EXPECT_STATUS(lelp_model_with_beta(NULL, 1.0, &m2), LELP_E_NULL);
    assert_null(m2);
    EXPECT_STATUS(lelp_model_with_beta(F.m, 1.0, NULL), LELP_E_NULL);
    m2 = SENTINEL;
    EXPECT_STATUS(lelp_model_with_beta((const lelp_model*)F.b, 1.0, &m2), LELP_E_INVALID_HANDLE);
    assert_null(m2);
    for (size_t i = 0; i < sizeof bad_beta / sizeof bad_beta[0]; i++) {
        m2 = SENTINEL;
        EXPECT_STATUS(lelp_model_with_beta(F.m, bad_beta[i], &m2), LELP_E_INVALID_ARG);
        assert_null(m2);
    }
}

static void test_loss_create_param_errors(void** state)
{
    (void)state;
    lelp_loss* l = SENTINEL;
    EXPECT_STATUS(lelp_loss_create(NULL, C, S, NULL), LELP_E_NULL);
    const int64_t bad[][2] = {{0, 1}, {-1, 1}, {2, 0}, {2, -4}, {INT64_MIN, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        l = SENTINEL;
        EXPECT_STATUS(lelp_loss_create(&l, bad[i][0], bad[i][1], NULL), LELP_E_INVALID_ARG);
        assert_null(l);
    }
    int64_t iv;
    double dv;
    EXPECT_STATUS(lelp_loss_set_int(NULL, LELP_LOSS_REDUCTION, 0), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_set_double(NULL, LELP_LOSS_TAU, 1.0), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_get_int(NULL, LELP_LOSS_REDUCTION, &iv), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_get_double(NULL, LELP_LOSS_TAU, &dv), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_get_int(F.l, LELP_LOSS_REDUCTION, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_get_double(F.l, LELP_LOSS_TAU, NULL), LELP_E_NULL);
    lelp_loss* wrong = (lelp_loss*)F.b;
    EXPECT_STATUS(lelp_loss_set_int(wrong, LELP_LOSS_REDUCTION, 0), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_loss_set_double(wrong, LELP_LOSS_TAU, 1.0), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_loss_get_int(wrong, LELP_LOSS_REDUCTION, &iv), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_loss_get_double((const lelp_loss*)F.m, LELP_LOSS_TAU, &dv), LELP_E_INVALID_HANDLE);
    /* a zeroed block is not a handle */
    _Alignas(64) unsigned char zero[256] = {0};
    EXPECT_STATUS(lelp_loss_get_double((const lelp_loss*)zero, LELP_LOSS_TAU, &dv), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_model_get_int((const lelp_model*)zero, LELP_MODEL_DIM, &iv), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_builder_get_int((const lelp_builder*)zero, LELP_BUILDER_SEED, &iv), LELP_E_INVALID_HANDLE);
}

static void test_loss_compute_errors(void** state)
{
    (void)state;
    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, C, S, NULL));
    const float* U = F.U;
    const float* T = F.T;
    const int32_t* y = F.data.y;
    float w[N];
    for (int i = 0; i < N; i++) w[i] = 1.0f;
    double v;
    float g[N * CS];

    EXPECT_OK(lelp_loss_compute(l, U, T, NULL, NULL, N, &v, g));
    EXPECT_OK(lelp_loss_compute(l, U, T, NULL, NULL, N, &v, NULL)); /* grad optional */
    EXPECT_STATUS(lelp_loss_compute(NULL, U, T, y, w, N, &v, g), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_compute(l, NULL, T, y, w, N, &v, g), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_compute(l, U, T, y, w, N, NULL, g), LELP_E_NULL);
    /* alpha = 0: targets required, labels not */
    EXPECT_STATUS(lelp_loss_compute(l, U, NULL, y, w, N, &v, g), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_compute((const lelp_loss*)F.b, U, T, y, w, N, &v, g), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_loss_compute((const lelp_loss*)F.m, U, T, y, w, N, &v, g), LELP_E_INVALID_HANDLE);
    EXPECT_STATUS(lelp_loss_compute(l, U, T, y, w, 0, &v, g), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_loss_compute(l, U, T, y, w, -1, &v, g), LELP_E_INVALID_ARG);

    /* alpha in (0, 1): both required */
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.3));
    EXPECT_STATUS(lelp_loss_compute(l, U, T, NULL, w, N, &v, g), LELP_E_NULL);
    EXPECT_STATUS(lelp_loss_compute(l, U, NULL, y, w, N, &v, g), LELP_E_NULL);
    EXPECT_OK(lelp_loss_compute(l, U, T, y, w, N, &v, g));
    /* alpha = 1: targets optional, labels required */
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0));
    EXPECT_OK(lelp_loss_compute(l, U, NULL, y, NULL, N, &v, g));
    EXPECT_STATUS(lelp_loss_compute(l, U, NULL, NULL, NULL, N, &v, g), LELP_E_NULL);
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.3));

    /* labels out of range */
    int32_t yb[N];
    memcpy(yb, y, sizeof yb);
    yb[12] = C;
    EXPECT_STATUS(lelp_loss_compute(l, U, T, yb, w, N, &v, g), LELP_E_LABEL_RANGE);
    expect_message_names("row", 12);
    yb[12] = -1;
    EXPECT_STATUS(lelp_loss_compute(l, U, T, yb, w, N, &v, g), LELP_E_LABEL_RANGE);

    /* non-finite inputs */
    float Ub[N * CS], Tb[N * CS], wb[N];
    memcpy(Ub, U, sizeof Ub);
    Ub[21 * CS + 3] = NAN;
    EXPECT_STATUS(lelp_loss_compute(l, Ub, T, y, w, N, &v, g), LELP_E_NONFINITE);
    expect_message_names("row", 21);
    expect_message_word("U");
    Ub[21 * CS + 3] = INFINITY;
    EXPECT_STATUS(lelp_loss_compute(l, Ub, T, y, w, N, &v, g), LELP_E_NONFINITE);
    memcpy(Tb, T, sizeof Tb);
    Tb[33 * CS + 1] = NAN;
    EXPECT_STATUS(lelp_loss_compute(l, U, Tb, y, w, N, &v, g), LELP_E_NONFINITE);
    expect_message_names("row", 33);
    expect_message_word("T");
    memcpy(wb, w, sizeof wb);
    wb[40] = NAN;
    EXPECT_STATUS(lelp_loss_compute(l, U, T, y, wb, N, &v, g), LELP_E_NONFINITE);
    expect_message_names("row", 40);
    expect_message_word("weights");

    /* invalid targets: a negative entry (row still sums to 1), a row not
     * summing to 1 */
    memcpy(Tb, T, sizeof Tb);
    Tb[5 * CS + 0] = -0.25f;
    Tb[5 * CS + 1] = 0.25f + T[5 * CS + 0] + T[5 * CS + 1];
    EXPECT_STATUS(lelp_loss_compute(l, U, Tb, y, w, N, &v, g), LELP_E_INVALID_TARGETS);
    expect_message_names("row", 5);
    memcpy(Tb, T, sizeof Tb);
    for (int j = 0; j < CS; j++) Tb[6 * CS + j] *= 1.01f;
    EXPECT_STATUS(lelp_loss_compute(l, U, Tb, y, w, N, &v, g), LELP_E_INVALID_TARGETS);
    expect_message_names("row", 6);
    memcpy(Tb, T, sizeof Tb);
    for (int j = 0; j < CS; j++) Tb[6 * CS + j] = 0.0f;
    EXPECT_STATUS(lelp_loss_compute(l, U, Tb, y, w, N, &v, g), LELP_E_INVALID_TARGETS);

    /* weights: negative; all zero with mean; all zero with sum is fine (0) */
    memcpy(wb, w, sizeof wb);
    wb[50] = -1e-3f;
    EXPECT_STATUS(lelp_loss_compute(l, U, T, y, wb, N, &v, g), LELP_E_INVALID_ARG);
    expect_message_names("row", 50);
    for (int i = 0; i < N; i++) wb[i] = 0.0f;
    EXPECT_STATUS(lelp_loss_compute(l, U, T, y, wb, N, &v, g), LELP_E_INVALID_ARG);
    EXPECT_OK(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, LELP_REDUCTION_SUM));
    v = -1.0;
    EXPECT_OK(lelp_loss_compute(l, U, T, y, wb, N, &v, g));
    assert_true(v == 0.0);
    for (int i = 0; i < N * CS; i++) assert_true(g[i] == 0.0f);
    lelp_loss_free(l);
}

static void test_predict_softmax_errors(void** state)
{
    (void)state;
    const float* U = F.U;
    float lp[N * C], t[N * C];
    int32_t cls[N];
    EXPECT_STATUS(lelp_predict_log_proba(NULL, N, C, S, lp), LELP_E_NULL);
    EXPECT_STATUS(lelp_predict_log_proba(U, N, C, S, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_predict_class(NULL, N, C, S, cls), LELP_E_NULL);
    EXPECT_STATUS(lelp_predict_class(U, N, C, S, NULL), LELP_E_NULL);
    /* C*S overflowing int64 with n = 0 (the products with n do not see it),
     * and more classes than an int32 class index holds */
    const int64_t bad[][3] = {{-1, C, S},          {N, 0, S},           {N, C, 0}, {N, -2, S}, {N, C, -2},
                              {0, INT64_C(1) << 40, INT64_C(1) << 40}, {0, INT64_C(1) << 32, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_STATUS(lelp_predict_log_proba(U, bad[i][0], bad[i][1], bad[i][2], lp), LELP_E_INVALID_ARG);
        EXPECT_STATUS(lelp_predict_class(U, bad[i][0], bad[i][1], bad[i][2], cls), LELP_E_INVALID_ARG);
    }
    float Ub[N * CS];
    memcpy(Ub, U, sizeof Ub);
    Ub[14 * CS + 2] = NAN;
    EXPECT_STATUS(lelp_predict_log_proba(Ub, N, C, S, lp), LELP_E_NONFINITE);
    expect_message_names("row", 14);
    Ub[14 * CS + 2] = -INFINITY;
    EXPECT_STATUS(lelp_predict_class(Ub, N, C, S, cls), LELP_E_NONFINITE);
    expect_message_names("row", 14);

    const float* Z = F.data.Z;
    EXPECT_STATUS(lelp_softmax_targets(NULL, N, C, 1.0, t), LELP_E_NULL);
    EXPECT_STATUS(lelp_softmax_targets(Z, N, C, 1.0, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_softmax_targets(Z, -1, C, 1.0, t), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_softmax_targets(Z, N, 0, 1.0, t), LELP_E_INVALID_ARG);
    const double bad_tau[] = {0.0, 0.005, 101.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad_tau / sizeof bad_tau[0]; i++)
        EXPECT_STATUS(lelp_softmax_targets(Z, N, C, bad_tau[i], t), LELP_E_INVALID_ARG);
    float Zb[N * C];
    memcpy(Zb, Z, sizeof Zb);
    Zb[27 * C] = INFINITY;
    EXPECT_STATUS(lelp_softmax_targets(Zb, N, C, 1.0, t), LELP_E_NONFINITE);
    expect_message_names("row", 27);
    expect_message_word("Z");
}

/* After every failing call the message is non-empty; after a later failure
 * it is replaced (it names the newer problem). */
static void test_last_error_replaced(void** state)
{
    (void)state;
    float t[C];
    EXPECT_STATUS(lelp_softmax_targets(F.data.Z, 1, C, 0.0, t), LELP_E_INVALID_ARG);
    char first[512];
    snprintf(first, sizeof first, "%s", lelp_last_error());
    assert_true(strlen(first) > 0);
    if (!strstr(first, "tau")) fail_msg("tau error does not name tau: \"%s\"", first);
    int64_t cnt;
    EXPECT_STATUS(lelp_builder_count(F.b, 7, &cnt), LELP_E_LABEL_RANGE);
    assert_string_not_equal(first, lelp_last_error());
    expect_message_names("class", 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocator_errors),
        cmocka_unit_test(test_builder_create_errors),
        cmocka_unit_test(test_builder_param_errors),
        cmocka_unit_test(test_builder_update_errors),
        cmocka_unit_test(test_builder_merge_errors),
        cmocka_unit_test(test_builder_head_count_errors),
        cmocka_unit_test(test_builder_fit_errors),
        cmocka_unit_test(test_serialize_errors),
        cmocka_unit_test(test_load_null_and_foreign),
        cmocka_unit_test(test_load_truncated),
        cmocka_unit_test(test_load_bitflips),
        cmocka_unit_test(test_load_patched_headers),
        cmocka_unit_test(test_file_io_errors),
        cmocka_unit_test(test_save_path_targets),
        cmocka_unit_test(test_projection_overflow),
        cmocka_unit_test(test_model_query_errors),
        cmocka_unit_test(test_targets_errors),
        cmocka_unit_test(test_project_assign_errors),
        cmocka_unit_test(test_beta_errors),
        cmocka_unit_test(test_loss_create_param_errors),
        cmocka_unit_test(test_loss_compute_errors),
        cmocka_unit_test(test_predict_softmax_errors),
        cmocka_unit_test(test_last_error_replaced),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
