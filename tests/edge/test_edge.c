/* SPDX-License-Identifier: MIT */
/* test_edge.c -- the BLAS-free edge library (liblelp_edge.a) alone, against
 * the NumPy/PyTorch reference fixtures (tests/fixtures, little-endian, read
 * on any host by tests/support/fixture.c). A self-contained harness, no
 * cmocka: it links with the archive, libc and libm only, so the same file
 * runs natively, under qemu-user (make check-cross) and with each of the
 * small-target switches (tests/check_edge.sh).
 *
 *   test_edge [DUMP]   runs every case; prints "test_edge: N checks, M failed";
 *                      with DUMP, writes every computed output, one
 *                      "name tolerance value" line each, so that
 *                      scripts/compare_dump.py can compare two hosts' runs.
 * Tolerances are test_known_answers.c's and test_baselines.c's, same reasons. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "lelp.h"

#define TOL_LOSS 1e-9    /* float64 sums on identical float32 inputs (relative) */
#define TOL_GRAD 1e-6    /* float32 gradient, |g| <= tau + 1 (absolute) */
#define TOL_LOGPROBA 2e-6 /* float32 log-probabilities, relative to 1 + |want| */
#define TOL_SOFTMAX 1e-7 /* float32 probabilities (absolute) */

static int checks, failures;
static FILE* dump;

static void check(int ok, const char* fmt, ...)
{
    checks++;
    if (ok) return;
    failures++;
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static void near(const char* what, int64_t i, double got, double want, double tol)
{
    check(fabs(got - want) <= tol, "%s[%lld]: got %.17g want %.17g (tol %g)", what, (long long)i, got, want, tol);
    if (dump) fprintf(dump, "%s[%lld] %g %.17g\n", what, (long long)i, tol, got);
}

/* the fixture array, with exactly count elements, or NULL (a failed check) */
static const void* need(const fx_file* fx, const char* name, int dtype, int64_t count)
{
    const fx_array* a = fx_get(fx, name);
    check(a && a->dtype == dtype && (count < 0 || a->count == (uint64_t)count), "fixture array '%s' missing or of the wrong dtype/size", name);
    return a && a->dtype == dtype && (count < 0 || a->count == (uint64_t)count) ? a->data : NULL;
}
#define F32(fx, name, count) ((const float*)need((fx), (name), 0, (count)))
#define F64(fx, name, count) ((const double*)need((fx), (name), 1, (count)))
#define I32(fx, name, count) ((const int32_t*)need((fx), (name), 2, (count)))
#define I64(fx, name, count) ((const int64_t*)need((fx), (name), 3, (count)))

#define OK(call) check((call) == LELP_OK, "%s: %s", #call, lelp_last_error())

/* KL loss (mean and sum), log-probabilities, classes and softmax targets
 * of one known-answer fixture (tests/reference/gen_fixtures.py). */
static void loss_case(const char* name)
{
    fx_file* fx = fx_load(name);
    check(fx != NULL, "%s: fixture not readable", name);
    if (!fx) return;
    const int64_t* shape = I64(fx, "shape", 6); /* n, C, S, reduction, has weights, has targets */
    const double* sc = F64(fx, "scalars", 2);   /* tau, alpha */
    if (!shape || !sc) {
        fx_free(fx);
        return;
    }
    const int64_t n = shape[0], C = shape[1], S = shape[2], K = C * S;
    const float* U = F32(fx, "U", n * K);
    const float* T = shape[5] ? F32(fx, "T", n * K) : NULL;
    const float* w = shape[4] ? F32(fx, "w", n) : NULL;
    const int32_t* y = I32(fx, "y", n);
    const double* lp = F64(fx, "log_proba", n * C);
    float* G = malloc(sizeof(float) * (size_t)(n * K));
    float* P = malloc(sizeof(float) * (size_t)(n * C));
    int32_t* cls = malloc(sizeof(int32_t) * (size_t)n);
    lelp_loss* l = NULL;
    if (!U || !y || !lp || !G || !P || !cls || (shape[5] && !T) || (shape[4] && !w)) goto out;
    OK(lelp_loss_create(&l, C, S, NULL));
    if (!l) goto out;
    OK(lelp_loss_set_double(l, LELP_LOSS_TAU, sc[0]));
    OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, sc[1]));
    for (int r = 0; r < 2; r++) {
        char key[64];
        OK(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, r));
        double value = 0.0, v2 = -1.0;
        OK(lelp_loss_compute(l, U, T, sc[1] > 0 ? y : NULL, w, n, &value, G));
        snprintf(key, sizeof key, "value_r%d", r);
        const double* want = F64(fx, key, 1);
        snprintf(key, sizeof key, "%s.value_r%d", name, r);
        if (want) near(key, 0, value, want[0], TOL_LOSS * fabs(want[0]));
        snprintf(key, sizeof key, "grad_r%d", r);
        const double* g = F64(fx, key, n * K);
        snprintf(key, sizeof key, "%s.grad_r%d", name, r);
        for (int64_t i = 0; g && i < n * K; i++) near(key, i, G[i], g[i], TOL_GRAD);
        OK(lelp_loss_compute(l, U, T, sc[1] > 0 ? y : NULL, w, n, &v2, NULL));
        check(v2 == value, "%s: the value-only call differs (%.17g vs %.17g)", name, v2, value);
    }
    char key[64];
    OK(lelp_predict_log_proba(U, n, C, S, P));
    snprintf(key, sizeof key, "%s.log_proba", name);
    for (int64_t i = 0; i < n * C; i++) near(key, i, P[i], lp[i], TOL_LOGPROBA * (1.0 + fabs(lp[i])));
    /* the predicted class is the reference's argmax where the top two are not within float32 rounding */
    OK(lelp_predict_class(U, n, C, S, cls));
    for (int64_t i = 0; i < n; i++) {
        int64_t best = 0, second = -1;
        for (int64_t c = 1; c < C; c++)
            if (lp[i * C + c] > lp[i * C + best]) second = best, best = c;
            else if (second < 0 || lp[i * C + c] > lp[i * C + second]) second = c;
        if (second >= 0 && lp[i * C + best] - lp[i * C + second] < 1e-5) continue;
        check(cls[i] == best, "%s: row %lld class %d, reference argmax %lld", name, (long long)i, cls[i], (long long)best);
    }
    if (fx_get(fx, "Z")) {
        const double* st = F64(fx, "softmax_targets", n * C);
        const float* Z = F32(fx, "Z", n * C);
        if (st && Z) {
            OK(lelp_softmax_targets(Z, n, C, sc[0], P));
            snprintf(key, sizeof key, "%s.softmax_targets", name);
            for (int64_t i = 0; i < n * C; i++) near(key, i, P[i], st[i], TOL_SOFTMAX);
        }
    }
out:
    lelp_loss_free(l);
    free(cls);
    free(P);
    free(G);
    fx_free(fx);
}

static lelp_loss* loss_of(int64_t C, int64_t S, int kind, double tau, double alpha, int red)
{
    lelp_loss* l = NULL;
    OK(lelp_loss_create(&l, C, S, NULL));
    if (!l) return NULL;
    OK(lelp_loss_set_int(l, LELP_LOSS_KIND, kind));
    OK(lelp_loss_set_double(l, LELP_LOSS_TAU, tau));
    OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alpha));
    OK(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, red));
    return l;
}

/* DKD (loss kind 1) and Subclass Distillation's auxiliary loss (kind 2)
 * against tests/reference/gen_baselines.py's PyTorch reference. */
static void kind_case(const char* name, int kind)
{
    fx_file* fx = fx_load(name);
    check(fx != NULL, "%s: fixture not readable", name);
    if (!fx) return;
    const int64_t* sh = I64(fx, "shape", -1);
    const double* sc = F64(fx, "scalars", -1);
    if (!sh || !sc) {
        fx_free(fx);
        return;
    }
    const int64_t n = sh[0], C = sh[1], S = kind == LELP_LOSS_KIND_DKD ? 1 : sh[2], K = C * S;
    const float* U = F32(fx, "U", n * K);
    const float* T = kind == LELP_LOSS_KIND_DKD ? F32(fx, "T", n * K) : NULL;
    const int32_t* y = I32(fx, "y", n);
    const double* want = F64(fx, "value", 1);
    const double* g = F64(fx, "grad", n * K);
    float* G = malloc(sizeof(float) * (size_t)(n * K));
    lelp_loss* l = NULL;
    if (!U || !y || !want || !g || !G || (kind == LELP_LOSS_KIND_DKD && !T)) goto out;
    if (kind == LELP_LOSS_KIND_DKD) {
        l = loss_of(C, 1, kind, sc[0], sc[3], (int)sh[2]);
        if (!l) goto out;
        OK(lelp_loss_set_double(l, LELP_LOSS_DKD_TARGET_WEIGHT, sc[1]));
        OK(lelp_loss_set_double(l, LELP_LOSS_DKD_NONTARGET_WEIGHT, sc[2]));
    } else {
        l = loss_of(C, S, kind, 1.0, sc[1], LELP_REDUCTION_MEAN);
        if (!l) goto out;
        OK(lelp_loss_set_double(l, LELP_LOSS_AUX_TEMPERATURE, sc[0]));
    }
    double v = 0.0;
    char key[64];
    OK(lelp_loss_compute(l, U, T, y, NULL, n, &v, G));
    snprintf(key, sizeof key, "%s.value", name);
    near(key, 0, v, want[0], TOL_LOSS * (1.0 + fabs(want[0])));
    snprintf(key, sizeof key, "%s.grad", name);
    for (int64_t i = 0; i < n * K; i++) near(key, i, G[i], g[i], TOL_GRAD);
out:
    lelp_loss_free(l);
    free(G);
    fx_free(fx);
}

/* The status code and that the message says something (with
 * LELP_NO_ERROR_STRINGS: "liblelp error <code>"). */
static void expect_status(const char* what, int got, int want, const char* word)
{
    const char* msg = lelp_last_error();
    check(got == want, "%s: status %d, want %d (%s)", what, got, want, msg);
#if defined(LELP_NO_ERROR_STRINGS)
    char text[32];
    snprintf(text, sizeof text, "liblelp error %d", want);
    (void)word;
    check(strcmp(msg, text) == 0, "%s: message '%s', want '%s'", what, msg, text);
#else
    check(strstr(msg, word) != NULL, "%s: message '%s' does not mention '%s'", what, msg, word);
#endif
}

/* Bad input: a distinct status and a message; nothing aborts. Sizes whose
 * byte counts do not fit size_t (any 32-bit target) are refused, not wrapped. */
static void errors_case(void)
{
    float U[6] = {1, 2, 3, 4, 5, 6}, out[6];
    int32_t cls[2];
    lelp_loss* l = NULL;
    expect_status("NULL logits", lelp_predict_log_proba(NULL, 1, 2, 3, out), LELP_E_NULL, "U is NULL");
    expect_status("NULL output", lelp_predict_class(U, 1, 2, 3, NULL), LELP_E_NULL, "out is NULL");
    expect_status("n < 0", lelp_predict_log_proba(U, -1, 2, 3, out), LELP_E_INVALID_ARG, "n = -1");
    expect_status("C = 0", lelp_predict_class(U, 1, 0, 3, cls), LELP_E_INVALID_ARG, "C = 0");
    U[4] = NAN;
    expect_status("NaN logit", lelp_predict_log_proba(U, 1, 2, 3, out), LELP_E_NONFINITE, "U");
    U[4] = 5;
    expect_status("tau out of range", lelp_softmax_targets(U, 3, 2, 1e-3, out), LELP_E_INVALID_ARG, "tau = 0.001");
#if !defined(LELP_NO_ERROR_STRINGS)
    /* the message's numbers as printf writes them (LELP_NO_STDIO: status.c's own formatter) */
    const double taus[] = {1e-3, 0.00123456789, 123.456, 1e10, 250, -3.5, 1e-300, 0.0, 99999949.0, 1.5e-5, NAN};
    for (size_t k = 0; k < sizeof taus / sizeof taus[0]; k++) {
        char want[128];
        snprintf(want, sizeof want, "lelp_softmax_targets: tau = %g outside [0.01, 100]", taus[k]);
        int st = lelp_softmax_targets(U, 3, 2, taus[k], out);
        check(st == LELP_E_INVALID_ARG && strcmp(lelp_last_error(), want) == 0, "tau %g: message '%s', want '%s'",
              taus[k], lelp_last_error(), want);
    }
#endif
    /* n * C * S * 4 bytes beyond size_t on 32-bit, beyond int64 on 64-bit */
    const int64_t huge = sizeof(size_t) < 8 ? INT64_C(1) << 30 : INT64_C(1) << 61;
    expect_status("n*C*S overflows", lelp_predict_log_proba(U, huge, 2, 3, out), LELP_E_INVALID_ARG, "overflows");
    expect_status("C*S overflows", lelp_predict_class(U, 0, 1 << 20, huge, cls), LELP_E_INVALID_ARG, "overflows");
    expect_status("C*S > 2^24", lelp_loss_create(&l, 1 << 13, 1 << 12, NULL), LELP_E_INVALID_ARG, "C*S <= 2^24");
    check(l == NULL, "a failed create leaves *out NULL");
    OK(lelp_loss_create(&l, 2, 3, NULL));
    if (!l) return;
    float T[6] = {0.1f, 0.1f, 0.1f, 0.2f, 0.2f, 0.3f};
    int32_t y[1] = {2};
    double v;
    OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.5));
    expect_status("label >= C", lelp_loss_compute(l, U, T, y, NULL, 1, &v, NULL), LELP_E_LABEL_RANGE, "2");
    expect_status("tau = 0", lelp_loss_set_double(l, LELP_LOSS_TAU, 0.0), LELP_E_PARAM_RANGE, "LELP_LOSS_TAU");
    y[0] = 1;
    OK(lelp_loss_compute(l, U, T, y, NULL, 1, &v, NULL));
    check(isfinite(v) && v > 0, "loss value %g", v);
    expect_status("wrong handle", lelp_loss_compute((const lelp_loss*)(void*)U, U, T, y, NULL, 1, &v, NULL),
                  LELP_E_INVALID_HANDLE, "handle");
    lelp_loss_free(l);
    check(strlen(lelp_status_string(LELP_E_NOMEM)) > 0, "status string");
}

/* Counting allocator: the KL and DKD losses allocate at create only (docs/edge.md). */
static int64_t allocs, live_bytes;
static void* count_alloc(void* opaque, size_t size, size_t align)
{
    (void)opaque;
    allocs++;
    live_bytes += (int64_t)size;
    void* p = NULL;
    size_t rounded = (size + align - 1) / align * align;
    p = aligned_alloc(align, rounded);
    return p;
}
static void count_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    live_bytes -= (int64_t)size;
    free(p);
}

static void allocation_case(void)
{
    lelp_allocator* a = NULL;
    lelp_loss* l = NULL;
    OK(lelp_allocator_create(&a, count_alloc, count_free, NULL));
    if (!a) return;
    OK(lelp_loss_create(&l, 3, 4, a));
    const int64_t after_create = allocs;
    float U[64 * 12], T[64 * 12], G[64 * 12];
    int32_t y[64];
    for (int i = 0; i < 64 * 12; i++) {
        U[i] = (float)((i * 37) % 23) / 7.0f - 1.5f;
        T[i] = 1.0f / 12.0f;
    }
    for (int i = 0; i < 64; i++) y[i] = i % 3;
    double v;
    for (int rep = 0; rep < 3 && l; rep++) {
        OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, rep * 0.25));
        OK(lelp_loss_compute(l, U, T, y, NULL, 64 - rep, &v, G));
    }
    check(allocs == after_create, "KL loss allocated %lld times per compute", (long long)(allocs - after_create));
    lelp_loss_free(l);
    /* DKD (S = 1): likewise */
    l = NULL;
    OK(lelp_loss_create(&l, 12, 1, a));
    const int64_t dkd_create = allocs;
    if (l) OK(lelp_loss_set_int(l, LELP_LOSS_KIND, LELP_LOSS_KIND_DKD));
    for (int rep = 0; rep < 3 && l; rep++) OK(lelp_loss_compute(l, U, T, y, NULL, 64 - rep, &v, G));
    check(allocs == dkd_create, "DKD loss allocated %lld times per compute", (long long)(allocs - dkd_create));
    lelp_loss_free(l);
    lelp_allocator_free(a);
    check(live_bytes == 0, "%lld bytes not freed", (long long)live_bytes);
}

int main(int argc, char** argv)
{
    if (argc > 1 && !(dump = fopen(argv[1], "w"))) {
        fprintf(stderr, "test_edge: cannot write %s\n", argv[1]);
        return 2;
    }
    const char* kl[] = {"loss_mixed", "loss_kd_s1", "loss_label_only", "loss_sparse_sum"};
    for (size_t k = 0; k < sizeof kl / sizeof kl[0]; k++) loss_case(kl[k]);
    kind_case("baseline_dkd", LELP_LOSS_KIND_DKD);
    kind_case("baseline_dkd_c2", LELP_LOSS_KIND_DKD);
    kind_case("baseline_aux", LELP_LOSS_KIND_SUBCLASS_AUX);
    errors_case();
    allocation_case();
    if (dump && fclose(dump) != 0) failures++;
    printf("test_edge (%s, %d-bit, %s-endian): %d checks, %d failed\n", lelp_version_string(), (int)(8 * sizeof(void*)),
           *(const unsigned char*)&(const uint16_t){1} ? "little" : "big", checks, failures);
    return failures ? 1 : 0;
}
