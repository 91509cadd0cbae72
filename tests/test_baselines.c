/* SPDX-License-Identifier: MIT */
/* test_baselines.c -- DKD, Subclass Distillation's auxiliary loss, the
 * compressor's distances and optimizer steps against PyTorch autograd
 * fixtures (tests/reference/gen_baselines.py), plus central-difference
 * gradient checks and the compressor's API rules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../liblelp/compress/compress.h" /* the distance kernel is checked directly too */
#include "envelope.h"
#include "fixture.h"
#include "lelp.h"

/* float32 inputs on both sides, float64 arithmetic: values to 1e-9
 * relative; gradients are written as float32 (1e-6 absolute). Optimizer
 * steps in float64 on both sides: weights to 1e-9. */
#define TOL_VALUE 1e-9
#define TOL_GRAD 1e-6
#define TOL_WEIGHT 1e-9

static void near(const char* what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol)) fail_msg("%s: got %.17g want %.17g (tol %g)", what, got, want, tol);
}

static lelp_loss* loss_of(int64_t C, int64_t S, int kind, double tau, double alpha, int red)
{
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_loss_set_int(l, LELP_LOSS_KIND, kind), LELP_OK);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_TAU, tau), LELP_OK);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alpha), LELP_OK);
    assert_int_equal(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, red), LELP_OK);
    return l;
}

/* central differences of lelp_loss_compute's value in double on logits
 * rounded to multiples of 2^-10 (exact in float32 +- h = 2^-7) */
static void check_fd(const lelp_loss* l, const float* U0, const float* T, const int32_t* y, int64_t n, int64_t K)
{
    float* U = calloc((size_t)(n * K), sizeof(float));
    float* G = calloc((size_t)(n * K), sizeof(float));
    for (int64_t i = 0; i < n * K; i++) U[i] = roundf(U0[i] * 1024.0f) / 1024.0f;
    double v = 0.0;
    assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, n, &v, G), LELP_OK);
    const float h = 1.0f / 128.0f;
    for (int64_t i = 0; i < n * K; i++) {
        float keep = U[i];
        double vp = 0.0, vm = 0.0;
        U[i] = keep + h;
        assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, n, &vp, NULL), LELP_OK);
        U[i] = keep - h;
        assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, n, &vm, NULL), LELP_OK);
        U[i] = keep;
        double fd = (vp - vm) / (2.0 * (double)h);
        if (!(fabs(fd - G[i]) <= 1e-4 + 2e-3 * fabs(fd))) fail_msg("d/du[%lld]: %.9g vs central %.9g", (long long)i, G[i], fd);
    }
    free(U);
    free(G);
}

static void dkd_case(const char* name)
{
    fx_file* fx = fx_load(name);
    assert_non_null(fx);
    const int64_t* sh = fx_i64(fx, "shape", NULL);
    const double* sc = fx_f64(fx, "scalars", NULL);
    const int64_t n = sh[0], C = sh[1];
    const float* U = fx_f32(fx, "U", NULL);
    const float* T = fx_f32(fx, "T", NULL);
    const int32_t* y = fx_i32(fx, "y", NULL);
    lelp_loss* l = loss_of(C, 1, LELP_LOSS_KIND_DKD, sc[0], sc[3], (int)sh[2]);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_DKD_TARGET_WEIGHT, sc[1]), LELP_OK);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_DKD_NONTARGET_WEIGHT, sc[2]), LELP_OK);
    float* G = malloc(sizeof(float) * (size_t)(n * C));
    double v = 0.0;
    assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, n, &v, G), LELP_OK);
    const double want = fx_f64(fx, "value", NULL)[0];
    near("DKD value", v, want, TOL_VALUE * fabs(want));
    const double* g = fx_f64(fx, "grad", NULL);
    for (int64_t i = 0; i < n * C; i++) near("DKD gradient", G[i], g[i], TOL_GRAD);
    check_fd(l, U, T, y, n, C);
    /* the non-target term alone: zero for C = 2 (the documented degeneracy) */
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.0), LELP_OK);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_DKD_TARGET_WEIGHT, 0.0), LELP_OK);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_DKD_NONTARGET_WEIGHT, 1.0), LELP_OK);
    assert_int_equal(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, LELP_REDUCTION_SUM), LELP_OK);
    assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, n, &v, G), LELP_OK);
    const double* nckd = fx_f64(fx, "nckd", NULL);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += nckd[i];
    near("NCKD", v, sum, 1e-9 * (1.0 + fabs(sum)));
    if (C == 2) {
        assert_true(v == 0.0);
        for (int64_t i = 0; i < n * C; i++) assert_true(G[i] == 0.0f);
    } else {
        assert_true(v > 0.0);
    }
    free(G);
    lelp_loss_free(l);
    fx_free(fx);
}

static void test_dkd(void** s) { (void)s; dkd_case("baseline_dkd"); }
static void test_dkd_binary_degeneracy(void** s) { (void)s; dkd_case("baseline_dkd_c2"); }

static void test_dkd_rules(void** s)
{
    (void)s;
    lelp_loss* l = loss_of(2, 3, LELP_LOSS_KIND_DKD, 1.0, 0.0, 0);
    float U[6] = {0}, T[6] = {0.5f, 0.5f, 0, 0, 0, 0};
    int32_t y[1] = {0};
    double v;
    assert_int_equal(lelp_loss_compute(l, U, T, y, NULL, 1, &v, NULL), LELP_E_PARAM_COMBINATION);
    lelp_loss_free(l);
    l = loss_of(3, 1, LELP_LOSS_KIND_DKD, 1.0, 0.0, 0);
    float T3[3] = {0.2f, 0.3f, 0.5f};
    assert_int_equal(lelp_loss_compute(l, U, T3, NULL, NULL, 1, &v, NULL), LELP_E_NULL); /* DKD needs the labels */
    int32_t y3[1] = {3};
    assert_int_equal(lelp_loss_compute(l, U, T3, y3, NULL, 1, &v, NULL), LELP_E_LABEL_RANGE);
    y3[0] = 2;
    assert_int_equal(lelp_loss_compute(l, U, T3, y3, NULL, 1, &v, NULL), LELP_OK);
    lelp_loss_free(l);
}

static void test_subclass_aux(void** s)
{
    (void)s;
    fx_file* fx = fx_load("baseline_aux");
    assert_non_null(fx);
    const int64_t* sh = fx_i64(fx, "shape", NULL);
    const double* sc = fx_f64(fx, "scalars", NULL);
    const int64_t n = sh[0], C = sh[1], S = sh[2], K = C * S;
    const float* U = fx_f32(fx, "U", NULL);
    const int32_t* y = fx_i32(fx, "y", NULL);
    lelp_loss* l = loss_of(C, S, LELP_LOSS_KIND_SUBCLASS_AUX, 1.0, sc[1], LELP_REDUCTION_MEAN);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_AUX_TEMPERATURE, sc[0]), LELP_OK);
    float* G = malloc(sizeof(float) * (size_t)(n * K));
    double v = 0.0;
    assert_int_equal(lelp_loss_compute(l, U, NULL, y, NULL, n, &v, G), LELP_OK);
    const double want = fx_f64(fx, "value", NULL)[0];
    near("aux value", v, want, TOL_VALUE * (1.0 + fabs(want)));
    const double* g = fx_f64(fx, "grad", NULL);
    for (int64_t i = 0; i < n * K; i++) near("aux gradient", G[i], g[i], TOL_GRAD);
    check_fd(l, U, NULL, y, n, K);
    /* weights are refused: the loss couples the batch */
    float w[64];
    for (int i = 0; i < 64; i++) w[i] = 1.0f;
    assert_int_equal(lelp_loss_compute(l, U, NULL, y, w, n, &v, G), LELP_E_PARAM_COMBINATION);
    /* r_ii = 1/T: identical rows give exactly log(n) - log(n) = 0 */
    float same[4 * 6];
    for (int i = 0; i < 24; i++) same[i] = (float)(i % 6);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.0), LELP_OK);
    assert_int_equal(lelp_loss_compute(l, same, NULL, NULL, NULL, 4, &v, NULL), LELP_OK);
    assert_true(fabs(v) < 1e-12);
    free(G);
    lelp_loss_free(l);
    fx_free(fx);
}

static void test_distances(void** s)
{
    (void)s;
    fx_file* fx = fx_load("baseline_distance");
    assert_non_null(fx);
    const fx_array* Fa = fx_get(fx, "F");
    const int64_t n = (int64_t)Fa->dims[0], k = (int64_t)Fa->dims[1];
    const float* F = fx_f32(fx, "F", NULL);
    const double* E = fx_f64(fx, "E", NULL);
    lelp__mem mem;
    lelp__mem_init(&mem, NULL);
    float G[64];
    for (int kind = 0; kind < 3; kind++) {
        char name[16];
        double v = 0.0;
        assert_int_equal(lelp__distance_loss(&mem, kind, F, E, n, k, &v, G), LELP_OK);
        snprintf(name, sizeof name, "value%d", kind);
        near(name, v, fx_f64(fx, name, NULL)[0], 1e-9);
        snprintf(name, sizeof name, "grad%d", kind);
        const double* g = fx_f64(fx, name, NULL);
        for (int64_t i = 0; i < n * k; i++) near(name, G[i], g[i], TOL_GRAD);
    }
    fx_free(fx);
}

static lelp_compressor* comp_of(const int64_t* sh, const double* sc)
{
    lelp_compressor* c = NULL;
    assert_int_equal(lelp_compressor_create(&c, sh[0], sh[1], sh[2], NULL), LELP_OK);
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_SEED, sh[3]), LELP_OK);
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_OPTIMIZER, sh[4]), LELP_OK);
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_MULTILABEL, sh[5]), LELP_OK);
    assert_int_equal(lelp_compressor_set_double(c, LELP_COMPRESSOR_LR, sc[0]), LELP_OK);
    assert_int_equal(lelp_compressor_set_double(c, LELP_COMPRESSOR_WEIGHT_DECAY, sc[1]), LELP_OK);
    assert_int_equal(lelp_compressor_set_double(c, LELP_COMPRESSOR_MOMENTUM, sc[2]), LELP_OK);
    return c;
}

static void comp_case(const char* name)
{
    fx_file* fx = fx_load(name);
    assert_non_null(fx);
    const int64_t* sh = fx_i64(fx, "shape", NULL);
    const double* sc = fx_f64(fx, "scalars", NULL);
    const int64_t dt = sh[0], k = sh[1], C = sh[2], steps = sh[6], n = sh[7];
    lelp_compressor* c = comp_of(sh, sc);
    const double* losses = fx_f64(fx, "losses", NULL);
    for (int64_t s = 0; s < steps; s++) {
        char en[32], yn[32];
        snprintf(en, sizeof en, "E%lld", (long long)s);
        snprintf(yn, sizeof yn, "%c%lld", sh[5] ? 'Y' : 'y', (long long)s);
        double loss = 0.0;
        assert_int_equal(lelp_compressor_step(c, fx_f32(fx, en, NULL), sh[5] ? NULL : fx_i32(fx, yn, NULL),
                                              sh[5] ? fx_f32(fx, yn, NULL) : NULL, n, &loss),
                         LELP_OK);
        near("head loss", loss, losses[s], 1e-9);
    }
    /* weights after the steps; compare through the float32 copies */
    float* A = malloc(sizeof(float) * (size_t)(k * dt));
    float a[16], W[64], b[16];
    assert_int_equal(lelp_compressor_weights(c, A, a, W, b), LELP_OK);
    const double* wA = fx_f64(fx, "A", NULL);
    const double* wa = fx_f64(fx, "a", NULL);
    const double* wW = fx_f64(fx, "W", NULL);
    const double* wb = fx_f64(fx, "b", NULL);
    for (int64_t i = 0; i < k * dt; i++) near("A", A[i], wA[i], 1e-7 * (1.0 + fabs(wA[i])));
    for (int64_t i = 0; i < k; i++) near("a", a[i], wa[i], 1e-7 * (1.0 + fabs(wa[i])));
    for (int64_t i = 0; i < C * k; i++) near("W", W[i], wW[i], 1e-7 * (1.0 + fabs(wW[i])));
    for (int64_t i = 0; i < C; i++) near("bias", b[i], wb[i], 1e-7 * (1.0 + fabs(wb[i])));
    /* compress = A e + a; the student loss is the distance to it */
    const float* E0 = fx_f32(fx, "E0", NULL);
    float* Z = malloc(sizeof(float) * (size_t)(n * k));
    assert_int_equal(lelp_compressor_compress(c, E0, n, Z), LELP_OK);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) {
            double z = wa[j];
            for (int64_t t = 0; t < dt; t++) z += wA[j * dt + t] * (double)E0[i * dt + t];
            near("compress", Z[i * k + j], z, 1e-6 * (1.0 + fabs(z)));
        }
    free(Z);
    free(A);
    /* save -> load -> save: identical bytes, and the same next step */
    size_t sz = 0, sz2 = 0;
    assert_int_equal(lelp_compressor_serialized_size(c, &sz), LELP_OK);
    uint8_t* buf = malloc(sz);
    assert_int_equal(lelp_compressor_serialize(c, buf, sz, NULL), LELP_OK);
    lelp_compressor* c2 = NULL;
    assert_int_equal(lelp_compressor_load(&c2, buf, sz, NULL), LELP_OK);
    assert_int_equal(lelp_compressor_serialized_size(c2, &sz2), LELP_OK);
    uint8_t* buf2 = malloc(sz2);
    assert_int_equal(lelp_compressor_serialize(c2, buf2, sz2, NULL), LELP_OK);
    assert_int_equal(sz, sz2);
    assert_memory_equal(buf, buf2, sz);
    for (size_t i = 0; i < sz; i += 7) { /* corruption is refused */
        buf[i] ^= 0x20;
        lelp_compressor* bad = NULL;
        int st = lelp_compressor_load(&bad, buf, sz, NULL);
        assert_true(st == LELP_E_CHECKSUM || st == LELP_E_FORMAT || st == LELP_E_VERSION || st == LELP_E_TRUNCATED);
        assert_null(bad);
        buf[i] ^= 0x20;
    }
    /* a step count past 2^53, correctly sealed: refused (stepping on from
     * INT64_MAX overflowed) */
    const uint64_t steps_bad[2] = {(UINT64_C(1) << 53) + 1, (uint64_t)INT64_MAX};
    for (int i = 0; i < 2; i++) {
        wr64(buf + 104, steps_bad[i]);
        reseal(buf, sz);
        lelp_compressor* bad = NULL;
        assert_int_equal(lelp_compressor_load(&bad, buf, sz, NULL), LELP_E_FORMAT);
        assert_null(bad);
    }
    free(buf);
    free(buf2);
    lelp_compressor_free(c2);
    lelp_compressor_free(c);
    fx_free(fx);
}

static void test_compressor_sgd(void** s) { (void)s; comp_case("baseline_comp_sgd"); }
static void test_compressor_adam(void** s) { (void)s; comp_case("baseline_comp_adam"); }
static void test_compressor_bce(void** s) { (void)s; comp_case("baseline_comp_bce"); }

/* the public student-loss gradient equals central differences, per distance */
static void test_student_loss_fd(void** s)
{
    (void)s;
    enum { n = 7, dt = 5, k = 3 };
    float E[n * dt], F[n * k], G[n * k];
    for (int i = 0; i < n * dt; i++) E[i] = (float)sin(1.3 * i + 0.2);
    for (int i = 0; i < n * k; i++) F[i] = roundf((float)cos(0.7 * i) * 1024.0f) / 1024.0f;
    lelp_compressor* c = NULL;
    assert_int_equal(lelp_compressor_create(&c, dt, k, 2, NULL), LELP_OK);
    for (int kind = 0; kind < 3; kind++) {
        assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_DISTANCE, kind), LELP_OK);
        double v = 0.0;
        assert_int_equal(lelp_compressor_student_loss(c, F, E, n, &v, G), LELP_OK);
        assert_true(isfinite(v));
        const float h = 1.0f / 2048.0f; /* dCor is only piecewise smooth */
        for (int i = 0; i < n * k; i++) {
            float keep = F[i];
            double vp, vm;
            F[i] = keep + h;
            assert_int_equal(lelp_compressor_student_loss(c, F, E, n, &vp, NULL), LELP_OK);
            F[i] = keep - h;
            assert_int_equal(lelp_compressor_student_loss(c, F, E, n, &vm, NULL), LELP_OK);
            F[i] = keep;
            double fd = (vp - vm) / (2.0 * (double)h);
            if (!(fabs(fd - G[i]) <= 2e-4 + 2e-3 * fabs(fd)))
                fail_msg("distance %d d/dF[%d] = %.9g, central %.9g", kind, i, G[i], fd);
        }
    }
    lelp_compressor_free(c);
}

static void* plain_alloc(void* o, size_t n, size_t align)
{
    void* p = NULL;
    (void)o;
    return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n) ? NULL : p;
}

static void plain_free(void* o, void* p, size_t n)
{
    (void)o;
    (void)n;
    free(p);
}

static void test_compressor_rules(void** s)
{
    (void)s;
    lelp_compressor* c = (lelp_compressor*)0x1;
    assert_int_equal(lelp_compressor_create(&c, 0, 3, 2, NULL), LELP_E_INVALID_ARG);
    assert_null(c);
    assert_int_equal(lelp_compressor_create(&c, 4, 3, 2, NULL), LELP_OK);
    float E[2 * 4] = {1, 2, 3, 4, -1, 0, 1, 0}, Y[2 * 2] = {1, 0, 0, 1}, F[2 * 3] = {0};
    int32_t y[2] = {0, 1}, bad[2] = {0, 2};
    double loss;
    assert_int_equal(lelp_compressor_step(c, E, bad, NULL, 2, &loss), LELP_E_LABEL_RANGE);
    assert_int_equal(lelp_compressor_step(c, E, NULL, NULL, 2, &loss), LELP_E_NULL);
    assert_int_equal(lelp_compressor_step(c, E, y, Y, 2, &loss), LELP_E_PARAM_COMBINATION);
    assert_int_equal(lelp_compressor_set_double(c, LELP_COMPRESSOR_LR, 0.0), LELP_E_PARAM_RANGE);
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_DISTANCE, 3), LELP_E_PARAM_RANGE);
    assert_int_equal(lelp_compressor_set_double(c, LELP_LOSS_TAU, 1.0), LELP_E_PARAM_UNSUPPORTED);
    E[3] = NAN;
    assert_int_equal(lelp_compressor_step(c, E, y, NULL, 2, &loss), LELP_E_NONFINITE);
    E[3] = 4;
    assert_int_equal(lelp_compressor_step(c, E, y, NULL, 2, &loss), LELP_OK);
    /* after a step the optimizer, labels mode and seed are fixed */
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_MULTILABEL, 1), LELP_E_STAGE);
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_SEED, 3), LELP_E_STAGE);
    assert_int_equal(lelp_compressor_set_int(c, LELP_COMPRESSOR_DISTANCE, LELP_DISTANCE_DCOR), LELP_OK);
    assert_int_equal(lelp_compressor_student_loss(c, F, E, 1, &loss, NULL), LELP_E_INVALID_ARG); /* dcor: n >= 2 */
    assert_int_equal(lelp_compressor_student_loss(c, F, E, 2, &loss, NULL), LELP_OK);
    assert_true(loss == 1.0); /* constant F: dCor = 0 */
    /* the same seed gives the same initial weights */
    lelp_compressor *p = NULL, *q = NULL;
    float w1[3 * 4], w2[3 * 4];
    assert_int_equal(lelp_compressor_create(&p, 4, 3, 2, NULL), LELP_OK);
    assert_int_equal(lelp_compressor_create(&q, 4, 3, 2, NULL), LELP_OK);
    assert_int_equal(lelp_compressor_set_int(q, LELP_COMPRESSOR_SEED, 0), LELP_OK);
    assert_int_equal(lelp_compressor_weights(p, w1, NULL, NULL, NULL), LELP_OK);
    assert_int_equal(lelp_compressor_weights(q, w2, NULL, NULL, NULL), LELP_OK);
    assert_memory_equal(w1, w2, sizeof w1);
    assert_int_equal(lelp_compressor_set_int(q, LELP_COMPRESSOR_SEED, 1), LELP_OK);
    assert_int_equal(lelp_compressor_weights(q, w2, NULL, NULL, NULL), LELP_OK);
    assert_memory_not_equal(w1, w2, sizeof w1);
    lelp_compressor_free(p);
    lelp_compressor_free(q);
    /* a handle of another (smaller) type is refused before any field is read */
    lelp_allocator* a = NULL;
    assert_int_equal(lelp_allocator_create(&a, plain_alloc, plain_free, NULL), LELP_OK);
    lelp_compressor* wrong = (lelp_compressor*)a;
    assert_int_equal(lelp_compressor_compress(wrong, E, 2, F), LELP_E_INVALID_HANDLE);
    assert_int_equal(lelp_compressor_step(wrong, E, y, NULL, 2, &loss), LELP_E_INVALID_HANDLE);
    assert_int_equal(lelp_compressor_student_loss(wrong, F, E, 2, &loss, NULL), LELP_E_INVALID_HANDLE);
    assert_int_equal(lelp_compressor_weights(wrong, NULL, NULL, NULL, NULL), LELP_E_INVALID_HANDLE);
    lelp_allocator_free(a);
    assert_int_equal(lelp_compressor_compress(NULL, E, 2, F), LELP_E_NULL);
    lelp_compressor_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dkd),
        cmocka_unit_test(test_dkd_binary_degeneracy),
        cmocka_unit_test(test_dkd_rules),
        cmocka_unit_test(test_subclass_aux),
        cmocka_unit_test(test_distances),
        cmocka_unit_test(test_compressor_sgd),
        cmocka_unit_test(test_compressor_adam),
        cmocka_unit_test(test_compressor_bce),
        cmocka_unit_test(test_student_loss_fd),
        cmocka_unit_test(test_compressor_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
