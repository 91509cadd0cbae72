/* test_lifecycle.c -- lifecycle, versions, status strings, parameters with
 * their defaults and bounds, custom allocators, allocation-free loss. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen.h"
#include "lelp.h"

static void test_version(void** s)
{
    (void)s;
    assert_int_equal(lelp_version_number(), LELP_VERSION_NUMBER);
    assert_string_equal(lelp_version_string(), LELP_VERSION_STRING);
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", LELP_VERSION_MAJOR, LELP_VERSION_MINOR, LELP_VERSION_PATCH);
    assert_string_equal(buf, LELP_VERSION_STRING);
}

static const int codes[] = {LELP_OK, LELP_E_NULL, LELP_E_INVALID_ARG, LELP_E_INVALID_HANDLE, LELP_E_NOMEM,
                            LELP_E_PARAM_UNSUPPORTED, LELP_E_PARAM_RANGE, LELP_E_PARAM_COMBINATION, LELP_E_STAGE,
                            LELP_E_SHAPE_MISMATCH, LELP_E_BUFFER_TOO_SMALL, LELP_E_LABEL_RANGE, LELP_E_NONFINITE,
                            LELP_E_TOO_FEW_SAMPLES, LELP_E_RANK_DEFICIENT, LELP_E_SOLVER, LELP_E_NUMERICAL,
                            LELP_E_INVALID_TARGETS, LELP_E_FORMAT, LELP_E_VERSION, LELP_E_CHECKSUM,
                            LELP_E_TRUNCATED, LELP_E_IO, LELP_E_INTERNAL};

static void test_status_strings(void** s)
{
    (void)s;
    const size_t n = sizeof codes / sizeof codes[0];
    /* pinned values (never renumbered) */
    assert_int_equal(LELP_E_NULL, -1);
    assert_int_equal(LELP_E_NOMEM, -10);
    assert_int_equal(LELP_E_STAGE, -30);
    assert_int_equal(LELP_E_NONFINITE, -50);
    assert_int_equal(LELP_E_FORMAT, -60);
    assert_int_equal(LELP_E_IO, -70);
    assert_int_equal(LELP_E_INTERNAL, -99);
    const char* unknown = lelp_status_string(-12345);
    assert_non_null(unknown);
    assert_true(strlen(unknown) > 0);
    for (size_t i = 0; i < n; i++) {
        const char* a = lelp_status_string(codes[i]);
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        if (codes[i] != LELP_OK) assert_true(codes[i] < 0);
        assert_string_not_equal(a, unknown);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(a, lelp_status_string(codes[j]));
    }
    assert_non_null(lelp_status_string(1));
    assert_non_null(lelp_last_error());
}

static void test_defaults_and_bounds(void** s)
{
    (void)s;
    lelp_builder* b = NULL;
    lelp_loss* l = NULL;
    assert_int_equal(lelp_builder_create(&b, 4, 2, 2, NULL), LELP_OK);
    assert_int_equal(lelp_loss_create(&l, 2, 2, NULL), LELP_OK);
    int64_t iv = -7;
    double dv = -7.0;
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_NULL_SPACE, &iv), LELP_OK);
    assert_int_equal(iv, 1);
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_ROTATE, &iv), LELP_OK);
    assert_int_equal(iv, 1);
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_SEED, &iv), LELP_OK);
    assert_int_equal(iv, 0);
    assert_int_equal(lelp_builder_get_double(b, LELP_BUILDER_BETA, &dv), LELP_OK);
    assert_true(dv == 0.0);
    assert_int_equal(lelp_builder_get_double(b, LELP_BUILDER_ENTROPY_FRACTION, &dv), LELP_OK);
    assert_true(dv == 0.5);
    assert_int_equal(lelp_loss_get_double(l, LELP_LOSS_TAU, &dv), LELP_OK);
    assert_true(dv == 1.0);
    assert_int_equal(lelp_loss_get_double(l, LELP_LOSS_ALPHA, &dv), LELP_OK);
    assert_true(dv == 0.0);
    assert_int_equal(lelp_loss_get_int(l, LELP_LOSS_REDUCTION, &iv), LELP_OK);
    assert_int_equal(iv, LELP_REDUCTION_MEAN);
    /* every settable real parameter: accepted at both bounds, refused just
     * outside (never clamped: the refused value does not stick) */
    const int dparams[] = {LELP_BUILDER_BETA, LELP_BUILDER_ENTROPY_FRACTION, LELP_LOSS_TAU, LELP_LOSS_ALPHA};
    for (size_t i = 0; i < 4; i++) {
        double lo = 0, hi = 0;
        assert_int_equal(lelp_param_bounds(dparams[i], &lo, &hi), LELP_OK);
        assert_true(lo < hi);
        int is_loss = dparams[i] >= 300;
        int st_lo = is_loss ? lelp_loss_set_double(l, dparams[i], lo) : lelp_builder_set_double(b, dparams[i], lo);
        int st_hi = is_loss ? lelp_loss_set_double(l, dparams[i], hi) : lelp_builder_set_double(b, dparams[i], hi);
        int st_out = is_loss ? lelp_loss_set_double(l, dparams[i], hi * 1.5 + 1.0)
                             : lelp_builder_set_double(b, dparams[i], hi * 1.5 + 1.0);
        assert_int_equal(st_lo, LELP_OK);
        assert_int_equal(st_hi, LELP_OK);
        assert_int_equal(st_out, LELP_E_PARAM_RANGE);
        double back = 0;
        assert_int_equal(is_loss ? lelp_loss_get_double(l, dparams[i], &back)
                                 : lelp_builder_get_double(b, dparams[i], &back),
                         LELP_OK);
        assert_true(back == hi);
    }
    const int iparams[] = {LELP_BUILDER_NULL_SPACE, LELP_BUILDER_ROTATE, LELP_BUILDER_SEED, LELP_LOSS_REDUCTION};
    for (size_t i = 0; i < 4; i++) {
        double lo = -1, hi = 0;
        assert_int_equal(lelp_param_bounds(iparams[i], &lo, &hi), LELP_OK);
        assert_true(lo == 0.0 && hi >= 1.0);
    }
    double lo, hi;
    assert_int_equal(lelp_param_bounds(LELP_MODEL_DIM, &lo, &hi), LELP_E_PARAM_UNSUPPORTED);
    assert_int_equal(lelp_param_bounds(12345, &lo, &hi), LELP_E_PARAM_UNSUPPORTED);
    assert_int_equal(lelp_param_bounds(LELP_LOSS_TAU, NULL, &hi), LELP_E_NULL);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SEED, INT64_MAX), LELP_OK);
    assert_int_equal(lelp_builder_get_int(b, LELP_BUILDER_SEED, &iv), LELP_OK);
    assert_true(iv == INT64_MAX);
    lelp_loss_free(l);
    lelp_builder_free(b);
}

static void test_free_null(void** s)
{
    (void)s;
    lelp_builder_free(NULL);
    lelp_model_free(NULL);
    lelp_loss_free(NULL);
    lelp_allocator_free(NULL);
}

typedef struct counting {
    long allocs, frees, live;
    size_t bad_align;
} counting;

static void* c_alloc(void* o, size_t n, size_t align)
{
    counting* c = o;
    void* p = NULL;
    if (align & (align - 1)) c->bad_align++;
    if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n)) return NULL;
    c->allocs++;
    c->live++;
    return p;
}

static void c_free(void* o, void* p, size_t n)
{
    counting* c = o;
    (void)n;
    c->frees++;
    c->live--;
    free(p);
}

static void test_custom_allocator(void** s)
{
    (void)s;
    counting cnt = {0, 0, 0, 0};
    lelp_allocator* a = NULL;
    assert_int_equal(lelp_allocator_create(&a, c_alloc, c_free, &cnt), LELP_OK);
    enum { n = 200, d = 6, C = 2, S = 2 };
    static float H[n * d], T[n * C * S];
    static int32_t y[n];
    gen_seed(1);
    gen_data(H, y, n, d, C);
    lelp_builder* b = NULL;
    lelp_model *m = NULL, *m2 = NULL;
    lelp_loss* l = NULL;
    assert_int_equal(lelp_builder_create(&b, d, C, S, a), LELP_OK);
    assert_int_equal(lelp_loss_create(&l, C, S, a), LELP_OK);
    lelp_allocator_free(a); /* handles keep working after the descriptor is gone */
    long after_create = cnt.allocs;
    assert_true(after_create > 2);
    assert_int_equal(lelp_builder_update(b, H, y, n, d), LELP_OK);
    assert_int_equal(lelp_builder_fit(b, &m), LELP_OK);
    assert_true(cnt.allocs > after_create); /* the fit's scratch and the model came from it */
    assert_int_equal(lelp_model_targets_from_labels(m, H, y, n, d, 0.0, T), LELP_OK);
    size_t sz = 0;
    assert_int_equal(lelp_model_serialized_size(m, &sz), LELP_OK);
    void* buf = malloc(sz);
    assert_int_equal(lelp_model_serialize(m, buf, sz, NULL), LELP_OK);
    counting cnt2 = {0, 0, 0, 0};
    lelp_allocator* a2 = NULL;
    assert_int_equal(lelp_allocator_create(&a2, c_alloc, c_free, &cnt2), LELP_OK);
    assert_int_equal(lelp_model_load(&m2, buf, sz, a2), LELP_OK);
    assert_true(cnt2.allocs > 1);
    free(buf);
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_builder_free(b);
    lelp_loss_free(l);
    lelp_allocator_free(a2);
    assert_int_equal(cnt.live, 0);
    assert_int_equal(cnt2.live, 0);
    assert_int_equal(cnt.bad_align + cnt2.bad_align, 0);
}

/* the loss allocates nothing per call */
static void test_loss_no_allocation(void** s)
{
    (void)s;
    counting cnt = {0, 0, 0, 0};
    lelp_allocator* a = NULL;
    assert_int_equal(lelp_allocator_create(&a, c_alloc, c_free, &cnt), LELP_OK);
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, 3, 2, a), LELP_OK);
    long before = cnt.allocs;
    float u[4 * 6], t[4 * 6], g[4 * 6];
    int32_t yy[4] = {0, 1, 2, 0};
    for (int i = 0; i < 24; i++) {
        u[i] = (float)(i % 5) - 2.0f;
        t[i] = 1.0f / 6.0f;
    }
    double v;
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.5), LELP_OK);
    for (int k = 0; k < 10; k++) assert_int_equal(lelp_loss_compute(l, u, t, yy, NULL, 4, &v, g), LELP_OK);
    assert_int_equal(cnt.allocs, before);
    lelp_loss_free(l);
    lelp_allocator_free(a);
    assert_int_equal(cnt.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_defaults_and_bounds),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_custom_allocator),
        cmocka_unit_test(test_loss_no_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
