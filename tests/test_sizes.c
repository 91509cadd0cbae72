/* SPDX-License-Identifier: MIT */
/* test_sizes.c -- sizes whose byte counts do not fit size_t are refused with
 * LELP_E_INVALID_ARG or LELP_E_NOMEM and a message, never wrapped into a
 * small allocation or read. The row counts are chosen per width: on a 32-bit
 * target (armhf, make check-cross) they fit int64 but not size_t; on a
 * 64-bit host they overflow int64 byte counts. The buffers passed are tiny:
 * a call that wrapped the size would read or write past them (caught by
 * ASan / valgrind natively, a crash or a wrong status under qemu). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"

enum { D = 4, C = 2, S = 2 };

static const int is32 = sizeof(size_t) < 8;

/* rows of width w (floats) whose n*w*4 bytes do not fit size_t */
static int64_t too_many_rows(int64_t w)
{
    return is32 ? (INT64_C(1) << 32) / (4 * w) + 1 : INT64_MAX / w;
}

static void refused(int st, const char* what)
{
    const char* msg = lelp_last_error();
    if (!((st == LELP_E_INVALID_ARG || st == LELP_E_NOMEM) && msg[0] != '\0'))
        fail_msg("%s: status %d (%s), want LELP_E_INVALID_ARG or LELP_E_NOMEM with a message", what, st, msg);
}

static lelp_model* small_model(void)
{
    float H[40 * D];
    int32_t y[40];
    for (int i = 0; i < 40; i++) {
        y[i] = i % C;
        for (int j = 0; j < D; j++) H[i * D + j] = (float)((i * 7 + j * 3) % 11) - 5.0f + (float)(y[i] * j);
    }
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, 40, D), LELP_OK);
    assert_int_equal(lelp_builder_fit(b, &m), LELP_OK);
    lelp_builder_free(b);
    return m;
}

static void test_batch_rows(void** state)
{
    (void)state;
    float H[D * 2] = {0}, Z[C * 2] = {0}, out[C * S * 2];
    int32_t y[2] = {0, 1}, cls[2];
    lelp_model* m = small_model();
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    const int64_t n = too_many_rows(D);
    refused(lelp_builder_update(b, H, y, n, D), "lelp_builder_update");
    refused(lelp_model_targets_from_logits(m, H, Z, n, D, 1.0, out), "lelp_model_targets_from_logits");
    refused(lelp_model_targets_from_labels(m, H, y, n, D, 0.1, out), "lelp_model_targets_from_labels");
    refused(lelp_model_project(m, H, n, D, out), "lelp_model_project");
    refused(lelp_model_assign(m, H, y, n, D, cls), "lelp_model_assign");
    double e;
    refused(lelp_model_mean_entropy(m, H, y, n, D, 1.0, &e), "lelp_model_mean_entropy");
    /* the builder and model are unchanged and still work */
    assert_int_equal(lelp_builder_update(b, H, y, 2, D), LELP_OK);
    assert_int_equal(lelp_model_targets_from_logits(m, H, Z, 2, D, 1.0, out), LELP_OK);
    lelp_builder_free(b);
    lelp_model_free(m);
}

static void test_loss_rows(void** state)
{
    (void)state;
    float U[C * S * 2] = {0}, T[C * S * 2], G[C * S * 2];
    int32_t y[2] = {0, 1};
    for (int i = 0; i < C * S * 2; i++) T[i] = 1.0f / (C * S);
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, C, S, NULL), LELP_OK);
    double v;
    refused(lelp_loss_compute(l, U, T, y, NULL, too_many_rows(C * S), &v, G), "lelp_loss_compute");
    refused(lelp_predict_log_proba(U, too_many_rows(C * S), C, S, G), "lelp_predict_log_proba");
    assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, 2, &v, G), LELP_OK);
    lelp_loss_free(l);
}

static void test_compressor_sizes(void** state)
{
    (void)state;
    lelp_compressor* c = NULL;
    float E[D * 2] = {0}, out[8];
    int32_t y[2] = {0, 1};
    double loss;
    if (is32) {
        /* 2^20 x 2^10 parameters: 8 GiB, within the API's 2^40-byte bound, not within size_t */
        refused(lelp_compressor_create(&c, INT64_C(1) << 20, INT64_C(1) << 10, 2, NULL), "lelp_compressor_create");
        assert_null(c);
    }
    assert_int_equal(lelp_compressor_create(&c, D, 2, C, NULL), LELP_OK);
    refused(lelp_compressor_compress(c, E, too_many_rows(D), out), "lelp_compressor_compress");
    refused(lelp_compressor_step(c, E, y, NULL, too_many_rows(D), &loss), "lelp_compressor_step");
    assert_int_equal(lelp_compressor_step(c, E, y, NULL, 2, &loss), LELP_OK);
    lelp_compressor_free(c);
}

/* Statistics that need more than size_t bytes: refused at the first update
 * (the allocation is lazy). Only where that is a few GiB (32-bit): a 64-bit
 * host could actually get the memory. */
static void test_builder_storage(void** state)
{
    (void)state;
    if (!is32) skip();
    int32_t y[1] = {0};
    lelp_builder* b = NULL;
    const int64_t d = INT64_C(1) << 15; /* C*d*d*8 = 16 GiB */
    float* H = calloc((size_t)d, sizeof(float));
    assert_non_null(H);
    assert_int_equal(lelp_builder_create(&b, d, C, S, NULL), LELP_OK);
    refused(lelp_builder_update(b, H, y, 1, d), "lelp_builder_update (exact statistics beyond size_t)");
    free(H);
    lelp_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_rows),
        cmocka_unit_test(test_loss_rows),
        cmocka_unit_test(test_compressor_sizes),
        cmocka_unit_test(test_builder_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
