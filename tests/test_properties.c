/* SPDX-License-Identifier: MIT */
/* test_properties.c -- the properties the SPEC and docs/method.md promise,
 * checked through the public API on seeded synthetic data:
 *  - target marginals: sum_s t_{c,s} = softmax(z/tau)_c, rows sum to 1,
 *    label targets with smoothing, t / p_c = softmax_s of the projections;
 *  - merge of 4 shards in several orders (and a tree) = one pass, and batch
 *    size independence (means, co-moments read from the serialized state,
 *    eigenvalues, components, targets);
 *  - save -> load -> save byte identity for models and builders, through
 *    memory and files, and bit-identical targets from a loaded model;
 *  - seeds, rotation off (orthonormal eigenvectors of Sigma_c, sign rule),
 *    rotation on (same subspace), null-space projection (U orthogonal to W);
 *  - loss value against a double reference and gradient against central
 *    differences, for several alpha, tau, weights and both reductions;
 *  - prediction identities, S = 1 loss = tau^2 KL, automatic beta, and
 *    assign = argmax of project. */
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
#include "synth.h"

#include "expect.h"
#include "state.h"
#define CHECK_LE(what, value, bound)                                                           \
    do {                                                                                       \
        double v_ = (value), b_ = (bound);                                                     \
        if (!(v_ <= b_)) fail_msg("%s: %.6g exceeds the bound %.6g", what, v_, b_);            \
    } while (0)

/* ---------------------------------------------------------------- shared data */
enum { N = 1500, D = 16, C = 3, S = 3, CS = C * S };
static synth_data G; /* the main data set */

static int group_setup(void** state)
{
    (void)state;
    synth_spec sp = synth_default(N, D, C, 3, 2024);
    sp.rank = 1; /* top-3 spectrum: two subclass directions + one spread, then noise */
    return synth_make(&G, &sp);
}
static int group_teardown(void** state)
{
    (void)state;
    synth_free(&G);
    return 0;
}

static lelp_builder* new_builder(int64_t d, int64_t c, int64_t s, uint64_t seed, double beta)
{
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, c, s, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, (int64_t)seed));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, beta));
    return b;
}

static lelp_model* fit(const lelp_builder* b)
{
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    assert_non_null(m);
    return m;
}

static double* model_array(const lelp_model* m, int which, int64_t count)
{
    double* out = malloc(sizeof(double) * (size_t)count);
    assert_non_null(out);
    switch (which) {
    case 0: EXPECT_OK(lelp_model_eigenvalues(m, out, count)); break;
    case 1: EXPECT_OK(lelp_model_components(m, out, count)); break;
    case 2: EXPECT_OK(lelp_model_means(m, out, count)); break;
    case 3: EXPECT_OK(lelp_model_offsets(m, out, count)); break;
    default: EXPECT_OK(lelp_model_explained_variance_ratio(m, out, count)); break;
    }
    return out;
}
#define EIG(m) model_array(m, 0, CS)
#define COMP(m) model_array(m, 1, CS * D)
#define MEANS(m) model_array(m, 2, C * D)
#define OFFS(m) model_array(m, 3, CS)

static double max_abs(const double* a, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}
static double max_abs_diff(const double* a, const double* b, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}
/* max_i |a_i - b_i| / |b_i| */
static double max_rel_diff(const double* a, const double* b, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]) / fabs(b[i]));
    return m;
}
static double max_abs_diff_f(const float* a, const float* b, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* Reads the counts, means and packed co-moments out of a serialized builder
 * state (layout in docs/format.md: 64-byte aligned arrays after the header). */
typedef struct bstate {
    int64_t counts[C];
    double means[C * D];
    double com[C * D * (D + 1) / 2];
} bstate;
static size_t al64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}
static void read_bstate(const lelp_builder* b, bstate* st)
{
    size_t size;
    unsigned char* buf = builder_bytes(b, &size);
    assert_memory_equal(buf, "LELPBLDR", 8);
    uint32_t H;
    memcpy(&H, buf + 12, 4); /* little-endian host assumed (x86-64 / aarch64) */
    int64_t d, c;
    memcpy(&d, buf + 32, 8);
    memcpy(&c, buf + 40, 8);
    assert_int_equal(d, D);
    assert_int_equal(c, C);
    size_t off = H;
    memcpy(st->counts, buf + off, sizeof st->counts);
    off = al64(off + sizeof st->counts);
    memcpy(st->means, buf + off, sizeof st->means);
    off = al64(off + sizeof st->means);
    assert_true(off + sizeof st->com <= size);
    memcpy(st->com, buf + off, sizeof st->com);
    free(buf);
}

/* Compares two builders' statistics: counts exactly, means to 1e-12 and
 * co-moments to 1e-10 relative (normwise per class), both through the
 * serialized state. Rounding in a Chan merge is a few ulps of the largest
 * entry, so these bounds are ~1e3 above what correct code produces, and far
 * below any algebraic mistake (a wrong n_a n_b / n factor moves M by O(1)). */
static void compare_stats(const lelp_builder* a, const lelp_builder* b, const char* what)
{
    bstate* x = malloc(sizeof *x);
    bstate* y = malloc(sizeof *y);
    read_bstate(a, x);
    read_bstate(b, y);
    for (int c = 0; c < C; c++) {
        if (x->counts[c] != y->counts[c]) fail_msg("%s: class %d counts %lld vs %lld", what, c,
                                                   (long long)x->counts[c], (long long)y->counts[c]);
        double scale = max_abs(y->means + c * D, D);
        char msg[128];
        snprintf(msg, sizeof msg, "%s: class %d means (relative)", what, c);
        CHECK_LE(msg, max_abs_diff(x->means + c * D, y->means + c * D, D) / scale, 1e-12);
        const int64_t P = D * (D + 1) / 2;
        scale = max_abs(y->com + c * P, P);
        snprintf(msg, sizeof msg, "%s: class %d co-moments (relative)", what, c);
        CHECK_LE(msg, max_abs_diff(x->com + c * P, y->com + c * P, P) / scale, 1e-10);
    }
    free(x);
    free(y);
}

/* Compares the fitted models of two builders: eigenvalues 1e-10 relative,
 * means 1e-12 relative, components 1e-8 absolute (unit vectors; the
 * eigen-gaps of this data are O(1), so a 1e-15 perturbation of Sigma moves
 * them by ~1e-14), targets 1e-5 absolute (float32 output). */
static void compare_fits(const lelp_builder* a, const lelp_builder* b, const char* what)
{
    lelp_model* ma = fit(a);
    lelp_model* mb = fit(b);
    double *ea = EIG(ma), *eb = EIG(mb);
    char msg[128];
    snprintf(msg, sizeof msg, "%s: eigenvalues (relative)", what);
    CHECK_LE(msg, max_rel_diff(ea, eb, CS), 1e-10);
    double *mua = MEANS(ma), *mub = MEANS(mb);
    snprintf(msg, sizeof msg, "%s: means (relative)", what);
    CHECK_LE(msg, max_abs_diff(mua, mub, C * D) / max_abs(mub, C * D), 1e-12);
    double *ua = COMP(ma), *ub = COMP(mb);
    snprintf(msg, sizeof msg, "%s: components", what);
    CHECK_LE(msg, max_abs_diff(ua, ub, CS * D), 1e-8);
    float* ta = malloc(sizeof(float) * N * CS);
    float* tb = malloc(sizeof(float) * N * CS);
    EXPECT_OK(lelp_model_targets_from_logits(ma, G.H, G.Z, N, D, 2.0, ta));
    EXPECT_OK(lelp_model_targets_from_logits(mb, G.H, G.Z, N, D, 2.0, tb));
    snprintf(msg, sizeof msg, "%s: targets", what);
    CHECK_LE(msg, max_abs_diff_f(ta, tb, N * CS), 1e-5);
    free(ta), free(tb), free(ea), free(eb), free(mua), free(mub), free(ua), free(ub);
    lelp_model_free(ma);
    lelp_model_free(mb);
}

/* ------------------------------------------------------------ target marginals */
static void softmax_d(const double* z, int n, double tau, double* p)
{
    double mx = -INFINITY, s = 0.0;
    for (int i = 0; i < n; i++) mx = fmax(mx, z[i] / tau);
    for (int i = 0; i < n; i++) s += (p[i] = exp(z[i] / tau - mx));
    for (int i = 0; i < n; i++) p[i] /= s;
}

static void test_target_marginals_logits(void** state)
{
    (void)state;
    lelp_builder* b = new_builder(D, C, S, 5, 0.0);
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    lelp_model* m = fit(b);
    float* T = malloc(sizeof(float) * N * CS);
    float* F = malloc(sizeof(float) * N * CS);
    EXPECT_OK(lelp_model_project(m, G.H, N, D, F));
    const double taus[] = {0.5, 1.0, 3.0, 0.01, 100.0};
    for (size_t k = 0; k < sizeof taus / sizeof taus[0]; k++) {
        double tau = taus[k];
        EXPECT_OK(lelp_model_targets_from_logits(m, G.H, G.Z, N, D, tau, T));
        double worst_marg = 0, worst_row = 0, worst_sub = 0;
        for (int i = 0; i < N; i++) {
            double z[C], p[C], row = 0.0;
            for (int c = 0; c < C; c++) z[c] = G.Z[i * C + c];
            softmax_d(z, C, tau, p);
            for (int c = 0; c < C; c++) {
                double marg = 0.0;
                for (int s = 0; s < S; s++) {
                    double t = T[i * CS + c * S + s];
                    if (!(t >= 0.0)) fail_msg("negative target %g at row %d", t, i);
                    marg += t;
                }
                row += marg;
                worst_marg = fmax(worst_marg, fabs(marg - p[c]));
                /* within a class, t / p_c = softmax_s(f_{c,.}) from project;
                 * only where p_c is not tiny (float32 underflow) */
                if (p[c] > 1e-3) {
                    double f[S], q[S];
                    for (int s = 0; s < S; s++) f[s] = F[i * CS + c * S + s];
                    softmax_d(f, S, 1.0, q);
                    for (int s = 0; s < S; s++)
                        worst_sub = fmax(worst_sub, fabs(T[i * CS + c * S + s] / marg - q[s]));
                }
            }
            worst_row = fmax(worst_row, fabs(row - 1.0));
        }
        /* float32 rounding of C*S entries of total mass 1: <= CS * 2^-24 */
        CHECK_LE("|sum_s t_cs - softmax(z/tau)_c|", worst_marg, 1e-6);
        CHECK_LE("|row sum - 1|", worst_row, 1e-6);
        /* the projections are float32 (relative 6e-8 of |f| <= ~50) */
        CHECK_LE("t/p_c vs softmax_s(project)", worst_sub, 2e-5);
    }
    free(T), free(F);
    lelp_model_free(m);
    lelp_builder_free(b);
}

static void test_target_marginals_labels(void** state)
{
    (void)state;
    lelp_builder* b = new_builder(D, C, S, 5, 0.0);
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    lelp_model* m = fit(b);
    float* T = malloc(sizeof(float) * N * CS);
    float* T2 = malloc(sizeof(float) * N * CS);
    float* Zoh = malloc(sizeof(float) * N * C);
    const double eps[] = {0.0, 0.1, 0.5, 0.9};
    for (size_t k = 0; k < sizeof eps / sizeof eps[0]; k++) {
        EXPECT_OK(lelp_model_targets_from_labels(m, G.H, G.y, N, D, eps[k], T));
        double worst = 0, worst_row = 0;
        for (int i = 0; i < N; i++) {
            double row = 0;
            for (int c = 0; c < C; c++) {
                double marg = 0.0;
                for (int s = 0; s < S; s++) marg += T[i * CS + c * S + s];
                double want = (1.0 - eps[k]) * (c == G.y[i]) + eps[k] / C;
                worst = fmax(worst, fabs(marg - want));
                row += marg;
                if (eps[k] == 0.0 && c != G.y[i])
                    for (int s = 0; s < S; s++)
                        if (T[i * CS + c * S + s] != 0.0f)
                            fail_msg("eps = 0: row %d class %d has mass %g", i, c, T[i * CS + c * S + s]);
            }
            worst_row = fmax(worst_row, fabs(row - 1.0));
        }
        CHECK_LE("label marginals", worst, 1e-6);
        CHECK_LE("label row sums", worst_row, 1e-6);
    }
    /* the subclass split does not depend on where p came from: labels with
     * eps = 0 equal logits-targets where the logits are a huge one-hot */
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) Zoh[i * C + c] = c == G.y[i] ? 0.0f : -1e4f;
    EXPECT_OK(lelp_model_targets_from_labels(m, G.H, G.y, N, D, 0.0, T));
    EXPECT_OK(lelp_model_targets_from_logits(m, G.H, Zoh, N, D, 1.0, T2));
    CHECK_LE("labels vs one-hot logits", max_abs_diff_f(T, T2, N * CS), 1e-6);
    free(T), free(T2), free(Zoh);
    lelp_model_free(m);
    lelp_builder_free(b);
}

/* ------------------------------------------------------------------ merging */
static void test_merge_orders(void** state)
{
    (void)state;
    /* four uneven shards */
    const int64_t cut[5] = {0, 101, 640, 1207, N};
    lelp_builder* one = new_builder(D, C, S, 9, 0.0);
    EXPECT_OK(lelp_builder_update(one, G.H, G.y, N, D));
    lelp_builder* sh[4];
    for (int k = 0; k < 4; k++) {
        sh[k] = new_builder(D, C, S, 9, 0.0);
        EXPECT_OK(lelp_builder_update(sh[k], G.H + cut[k] * D, G.y + cut[k], cut[k + 1] - cut[k], D));
    }
    const int orders[4][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}};
    for (int o = 0; o < 4; o++) {
        lelp_builder* acc = new_builder(D, C, S, 9, 0.0);
        size_t s0, s1;
        unsigned char* src_before = builder_bytes(sh[orders[o][0]], &s0);
        for (int k = 0; k < 4; k++) EXPECT_OK(lelp_builder_merge(acc, sh[orders[o][k]]));
        /* src unchanged */
        unsigned char* src_after = builder_bytes(sh[orders[o][0]], &s1);
        assert_int_equal(s0, s1);
        assert_memory_equal(src_before, src_after, s0);
        free(src_before), free(src_after);
        char what[64];
        snprintf(what, sizeof what, "merge order %d%d%d%d", orders[o][0], orders[o][1], orders[o][2],
                 orders[o][3]);
        compare_stats(acc, one, what);
        compare_fits(acc, one, what);
        lelp_builder_free(acc);
    }
    /* tree: (0+1) + (2+3), merging into non-empty shards' copies */
    lelp_builder* l = new_builder(D, C, S, 9, 0.0);
    lelp_builder* r = new_builder(D, C, S, 9, 0.0);
    EXPECT_OK(lelp_builder_merge(l, sh[0]));
    EXPECT_OK(lelp_builder_merge(l, sh[1]));
    EXPECT_OK(lelp_builder_merge(r, sh[3]));
    EXPECT_OK(lelp_builder_merge(r, sh[2]));
    EXPECT_OK(lelp_builder_merge(r, l));
    compare_stats(r, one, "tree merge");
    compare_fits(r, one, "tree merge");
    /* merging a shard directly into another loaded shard (not an empty one) */
    size_t sz;
    unsigned char* buf = builder_bytes(sh[2], &sz);
    lelp_builder* re = NULL;
    EXPECT_OK(lelp_builder_load(&re, buf, sz, NULL));
    free(buf);
    EXPECT_OK(lelp_builder_merge(re, sh[0]));
    EXPECT_OK(lelp_builder_merge(re, sh[3]));
    EXPECT_OK(lelp_builder_merge(re, sh[1]));
    compare_stats(re, one, "merge into a loaded shard");
    /* merging an empty builder changes nothing */
    lelp_builder* empty = new_builder(D, C, S, 9, 0.0);
    size_t sa, sb;
    unsigned char* before = builder_bytes(re, &sa);
    EXPECT_OK(lelp_builder_merge(re, empty));
    unsigned char* after = builder_bytes(re, &sb);
    assert_int_equal(sa, sb);
    assert_memory_equal(before, after, sa);
    free(before), free(after);
    /* a wrong merge must be visible to compare_stats: merging a shard twice */
    lelp_builder* twice = new_builder(D, C, S, 9, 0.0);
    for (int k = 0; k < 4; k++) EXPECT_OK(lelp_builder_merge(twice, sh[k]));
    EXPECT_OK(lelp_builder_merge(twice, sh[1]));
    bstate* x = malloc(sizeof *x);
    bstate* y = malloc(sizeof *y);
    read_bstate(twice, x);
    read_bstate(one, y);
    assert_true(x->counts[0] != y->counts[0]);
    free(x), free(y);
    lelp_builder_free(twice);
    lelp_builder_free(empty);
    lelp_builder_free(re);
    lelp_builder_free(l);
    lelp_builder_free(r);
    for (int k = 0; k < 4; k++) lelp_builder_free(sh[k]);
    lelp_builder_free(one);
}

static void test_batch_size_independence(void** state)
{
    (void)state;
    lelp_builder* all = new_builder(D, C, S, 4, 0.0);
    EXPECT_OK(lelp_builder_update(all, G.H, G.y, N, D));
    const int64_t sizes[] = {1, 7, 256, 1499};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        lelp_builder* b = new_builder(D, C, S, 4, 0.0);
        for (int64_t i = 0; i < N; i += sizes[k]) {
            int64_t nb = N - i < sizes[k] ? N - i : sizes[k];
            EXPECT_OK(lelp_builder_update(b, G.H + i * D, G.y + i, nb, D));
        }
        char what[64];
        snprintf(what, sizeof what, "batches of %lld", (long long)sizes[k]);
        compare_stats(b, all, what);
        compare_fits(b, all, what);
        lelp_builder_free(b);
    }
    lelp_builder_free(all);
}

/* ----------------------------------------------------------- round trips */
/* Sign rule with exact ties (SPEC 1.1.3: ties go to the lowest index): rows
 * z * 3 * b with b a fixed +-1 vector (integer z), plus a small independent
 * last coordinate, so the top eigenvector is b / sqrt(d) exactly and every
 * entry ties in magnitude. Whatever the batching, entry 0 must come out
 * positive (a strict maximum would pick the entry by rounding noise). */
static void test_sign_rule_ties(void** state)
{
    (void)state;
    enum { n = 400, d = 64 };
    static float H[n * d];
    static int32_t y[n];
    double b[d];
    uint64_t s = 99;
    for (int j = 0; j < d; j++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        b[j] = (s >> 63) ? 1.0 : -1.0;
    }
    b[0] = -1.0; /* entry 0 negative in the data: the rule must flip the vector */
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double z = (double)((s >> 33) % 11) - 5.0;
        y[i] = 0;
        for (int j = 0; j < d; j++) H[i * d + j] = (float)(3.0 * z * b[j]);
        H[i * d + d - 1] += (float)((int)((s >> 20) % 3) - 1);
    }
    const int64_t batches[] = {1, 3, 7, 50};
    for (size_t t = 0; t < sizeof batches / sizeof batches[0]; t++) {
        lelp_builder* bl = NULL;
        lelp_model* m = NULL;
        assert_int_equal(lelp_builder_create(&bl, d, 1, 1, NULL), LELP_OK);
        assert_int_equal(lelp_builder_set_int(bl, LELP_BUILDER_ROTATE, 0), LELP_OK);
        assert_int_equal(lelp_builder_set_double(bl, LELP_BUILDER_BETA, 1.0), LELP_OK);
        const int64_t step = (n + batches[t] - 1) / batches[t];
        for (int64_t i = 0; i < n; i += step)
            assert_int_equal(lelp_builder_update(bl, H + i * d, y + i, n - i < step ? n - i : step, d), LELP_OK);
        assert_int_equal(lelp_builder_fit(bl, &m), LELP_OK);
        double u[d];
        assert_int_equal(lelp_model_components(m, u, d), LELP_OK);
        if (!(u[0] > 0.0)) fail_msg("%lld batches: entry 0 of the tied eigenvector is %.17g", (long long)batches[t], u[0]);
        for (int j = 1; j < d - 1; j++) assert_true(fabs(fabs(u[j]) - fabs(u[0])) < 1e-6);
        lelp_model_free(m);
        lelp_builder_free(bl);
    }
}

static void test_roundtrip_memory(void** state)
{
    (void)state;
    lelp_builder* b = new_builder(D, C, S, 12345, 0.0);
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    EXPECT_OK(lelp_builder_set_head(b, G.W, C, D));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 0.4));
    lelp_model* m = fit(b);

    size_t s1, s2;
    unsigned char* b1 = model_bytes(m, &s1);
    lelp_model* m2 = NULL;
    EXPECT_OK(lelp_model_load(&m2, b1, s1, NULL));
    unsigned char* b2 = model_bytes(m2, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(b1, b2, s1);
    /* scalars survive */
    int64_t iv;
    double dv, dv2;
    EXPECT_OK(lelp_model_get_int(m2, LELP_MODEL_SEED, &iv));
    assert_int_equal(iv, 12345);
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &dv));
    EXPECT_OK(lelp_model_get_double(m2, LELP_MODEL_BETA, &dv2));
    assert_true(dv == dv2);
    EXPECT_OK(lelp_model_get_double(m2, LELP_MODEL_ENTROPY_FRACTION, &dv));
    assert_true(dv == 0.4);
    EXPECT_OK(lelp_model_get_int(m2, LELP_MODEL_HEAD_RANK, &iv));
    assert_int_equal(iv, C);
    /* bit-identical outputs */
    float *T1 = malloc(sizeof(float) * N * CS), *T2 = malloc(sizeof(float) * N * CS);
    EXPECT_OK(lelp_model_targets_from_logits(m, G.H, G.Z, N, D, 1.5, T1));
    EXPECT_OK(lelp_model_targets_from_logits(m2, G.H, G.Z, N, D, 1.5, T2));
    assert_memory_equal(T1, T2, sizeof(float) * N * CS);
    EXPECT_OK(lelp_model_targets_from_labels(m, G.H, G.y, N, D, 0.1, T1));
    EXPECT_OK(lelp_model_targets_from_labels(m2, G.H, G.y, N, D, 0.1, T2));
    assert_memory_equal(T1, T2, sizeof(float) * N * CS);
    EXPECT_OK(lelp_model_project(m, G.H, N, D, T1));
    EXPECT_OK(lelp_model_project(m2, G.H, N, D, T2));
    assert_memory_equal(T1, T2, sizeof(float) * N * CS);
    free(b1), free(b2);

    /* builder: save -> load -> save, and the loaded state fits the same model */
    unsigned char* c1 = builder_bytes(b, &s1);
    lelp_builder* bl = NULL;
    EXPECT_OK(lelp_builder_load(&bl, c1, s1, NULL));
    unsigned char* c2 = builder_bytes(bl, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, s1);
    lelp_model* m3 = fit(bl);
    b1 = model_bytes(m, &s1);
    b2 = model_bytes(m3, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(b1, b2, s1);
    /* parameters survive the builder round trip */
    EXPECT_OK(lelp_builder_get_double(bl, LELP_BUILDER_ENTROPY_FRACTION, &dv));
    assert_true(dv == 0.4);
    EXPECT_OK(lelp_builder_get_int(bl, LELP_BUILDER_SEED, &iv));
    assert_int_equal(iv, 12345);
    /* and the loaded state keeps streaming like the original */
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, 100, D));
    EXPECT_OK(lelp_builder_update(bl, G.H, G.y, 100, D));
    free(c1), free(c2);
    c1 = builder_bytes(b, &s1);
    c2 = builder_bytes(bl, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(c1, c2, s1);
    free(c1), free(c2), free(b1), free(b2), free(T1), free(T2);
    lelp_model_free(m3);
    lelp_builder_free(bl);
    lelp_model_free(m2);
    lelp_model_free(m);
    lelp_builder_free(b);
}

static void test_roundtrip_files(void** state)
{
    (void)state;
    char mp[64], bp[64];
    snprintf(mp, sizeof mp, "/tmp/lelp-test-prop-%d.lelp", (int)getpid());
    snprintf(bp, sizeof bp, "/tmp/lelp-test-prop-%d.lelpb", (int)getpid());
    lelp_builder* b = new_builder(D, C, S, 3, 0.7);
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    lelp_model* m = fit(b);
    EXPECT_OK(lelp_model_save_path(m, mp));
    EXPECT_OK(lelp_builder_save_path(b, bp));
    lelp_model* ml = NULL;
    lelp_builder* bl = NULL;
    EXPECT_OK(lelp_model_load_path(&ml, mp, NULL));
    EXPECT_OK(lelp_builder_load_path(&bl, bp, NULL));
    size_t s1, s2;
    unsigned char *x1 = model_bytes(m, &s1), *x2 = model_bytes(ml, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(x1, x2, s1);
    /* the file holds exactly the serialized bytes */
    FILE* f = fopen(mp, "rb");
    assert_non_null(f);
    unsigned char* fb = malloc(s1 + 16);
    size_t got = fread(fb, 1, s1 + 16, f);
    fclose(f);
    assert_int_equal(got, s1);
    assert_memory_equal(fb, x1, s1);
    free(fb), free(x1), free(x2);
    x1 = builder_bytes(b, &s1);
    x2 = builder_bytes(bl, &s2);
    assert_int_equal(s1, s2);
    assert_memory_equal(x1, x2, s1);
    free(x1), free(x2);
    /* overwrite an existing file */
    EXPECT_OK(lelp_model_save_path(ml, mp));
    lelp_model* ml2 = NULL;
    EXPECT_OK(lelp_model_load_path(&ml2, mp, NULL));
    lelp_model_free(ml2);
    remove(mp);
    remove(bp);
    lelp_model_free(ml);
    lelp_builder_free(bl);
    lelp_model_free(m);
    lelp_builder_free(b);
}

/* ---------------------------------------------------------- seeds, rotation */
static void test_seed_determinism(void** state)
{
    (void)state;
    lelp_model* ms[3];
    const uint64_t seeds[3] = {77, 77, 78};
    for (int k = 0; k < 3; k++) {
        lelp_builder* b = new_builder(D, C, S, seeds[k], 0.0);
        EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
        ms[k] = fit(b);
        lelp_builder_free(b);
    }
    double *u0 = COMP(ms[0]), *u1 = COMP(ms[1]), *u2 = COMP(ms[2]);
    assert_memory_equal(u0, u1, sizeof(double) * CS * D);
    double dv0, dv1;
    EXPECT_OK(lelp_model_get_double(ms[0], LELP_MODEL_BETA, &dv0));
    EXPECT_OK(lelp_model_get_double(ms[1], LELP_MODEL_BETA, &dv1));
    assert_true(dv0 == dv1);
    /* another seed: other directions ... */
    double diff = max_abs_diff(u0, u2, CS * D);
    if (!(diff > 1e-3)) fail_msg("seeds 77 and 78 give components within %g", diff);
    /* ... spanning the same subspace with the same eigenvalues */
    double *e0 = EIG(ms[0]), *e2 = EIG(ms[2]);
    assert_memory_equal(e0, e2, sizeof(double) * CS);
    double worst = 0;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                double p0 = 0, p2 = 0;
                for (int s = 0; s < S; s++) {
                    p0 += u0[(c * S + s) * D + i] * u0[(c * S + s) * D + j];
                    p2 += u2[(c * S + s) * D + i] * u2[(c * S + s) * D + j];
                }
                worst = fmax(worst, fabs(p0 - p2));
            }
    CHECK_LE("projector U U^T across seeds", worst, 1e-10);
    free(u0), free(u1), free(u2), free(e0), free(e2);
    for (int k = 0; k < 3; k++) lelp_model_free(ms[k]);
}

/* Sigma_c from the data in double (two-pass). */
static void class_cov(const synth_data* g, int c, double* mu, double* cov)
{
    int64_t n = 0;
    memset(mu, 0, sizeof(double) * D);
    memset(cov, 0, sizeof(double) * D * D);
    for (int64_t i = 0; i < g->n; i++)
        if (g->y[i] == c) {
            n++;
            for (int j = 0; j < D; j++) mu[j] += g->H[i * D + j];
        }
    for (int j = 0; j < D; j++) mu[j] /= (double)n;
    for (int64_t i = 0; i < g->n; i++)
        if (g->y[i] == c)
            for (int j = 0; j < D; j++)
                for (int k = 0; k < D; k++)
                    cov[j * D + k] += (g->H[i * D + j] - mu[j]) * (g->H[i * D + k] - mu[k]);
    for (int j = 0; j < D * D; j++) cov[j] /= (double)(n - 1);
}

/* Orthonormal rows of W (Gram-Schmidt, twice) -> Q, r x D. */
static int row_basis(const float* W, int rows, double* Q)
{
    int r = 0;
    for (int i = 0; i < rows; i++) {
        double v[D];
        for (int j = 0; j < D; j++) v[j] = W[i * D + j];
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < r; k++) {
                double dot = 0;
                for (int j = 0; j < D; j++) dot += v[j] * Q[k * D + j];
                for (int j = 0; j < D; j++) v[j] -= dot * Q[k * D + j];
            }
        double nn = 0;
        for (int j = 0; j < D; j++) nn += v[j] * v[j];
        nn = sqrt(nn);
        if (nn < 1e-10) continue;
        for (int j = 0; j < D; j++) Q[r * D + j] = v[j] / nn;
        r++;
    }
    return r;
}
static void project_out(const double* Q, int r, double* v)
{
    for (int k = 0; k < r; k++) {
        double dot = 0;
        for (int j = 0; j < D; j++) dot += v[j] * Q[k * D + j];
        for (int j = 0; j < D; j++) v[j] -= dot * Q[k * D + j];
    }
}

/* Checks U (rotated or not) against (P) Sigma_c (P): orthonormal columns,
 * and, when `eigen` is set, each column an eigenvector with the reported
 * eigenvalue plus the sign rule. */
static void check_components(const lelp_model* m, const double* Q, int r, int eigen)
{
    double *u = COMP(m), *ev = EIG(m);
    double mu[D], cov[D * D];
    for (int c = 0; c < C; c++) {
        class_cov(&G, c, mu, cov);
        if (r > 0) { /* cov <- P cov P */
            for (int j = 0; j < D; j++) project_out(Q, r, cov + j * D);
            double col[D];
            for (int k = 0; k < D; k++) {
                for (int j = 0; j < D; j++) col[j] = cov[j * D + k];
                project_out(Q, r, col);
                for (int j = 0; j < D; j++) cov[j * D + k] = col[j];
            }
        }
        /* descending, positive eigenvalues */
        for (int s = 0; s < S; s++) {
            assert_true(ev[c * S + s] > 0.0);
            if (s) assert_true(ev[c * S + s] <= ev[c * S + s - 1]);
        }
        for (int s = 0; s < S; s++)
            for (int t = 0; t < S; t++) {
                double dot = 0;
                for (int j = 0; j < D; j++) dot += u[(c * S + s) * D + j] * u[(c * S + t) * D + j];
                CHECK_LE("|U^T U - I|", fabs(dot - (s == t)), 1e-10);
            }
        if (!eigen) continue;
        for (int s = 0; s < S; s++) {
            const double* v = u + (c * S + s) * D;
            double lam = ev[c * S + s], res = 0;
            for (int j = 0; j < D; j++) {
                double a = 0;
                for (int k = 0; k < D; k++) a += cov[j * D + k] * v[k];
                res = fmax(res, fabs(a - lam * v[j]));
            }
            /* the test's Sigma is built from the same float32 rows in
             * double, so it agrees with the library's to ~1e-13 relative */
            CHECK_LE("|Sigma u - lambda u| / lambda_max", res / ev[c * S], 1e-8);
            int arg = 0;
            for (int j = 1; j < D; j++)
                if (fabs(v[j]) > fabs(v[arg]) + 1e-12) arg = j;
            if (!(v[arg] > 0)) fail_msg("sign rule: class %d vector %d has largest entry %g", c, s, v[arg]);
        }
        /* the top-S subspace: Rayleigh quotients of U equal the top eigenvalues
         * in sum (checked for the rotated case through the trace) */
        double tr = 0, lsum = 0;
        for (int s = 0; s < S; s++) {
            const double* v = u + (c * S + s) * D;
            for (int j = 0; j < D; j++)
                for (int k = 0; k < D; k++) tr += v[j] * cov[j * D + k] * v[k];
            lsum += ev[c * S + s];
        }
        CHECK_LE("trace U^T Sigma U vs sum of eigenvalues", fabs(tr - lsum) / lsum, 1e-10);
    }
    free(u), free(ev);
}

static void test_rotation_off_eigenvectors(void** state)
{
    (void)state;
    lelp_builder* b = new_builder(D, C, S, 1, 0.0);
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0));
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    lelp_model* m = fit(b);
    int64_t iv;
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_ROTATE, &iv));
    assert_int_equal(iv, 0);
    check_components(m, NULL, 0, 1);
    /* rotation off: the seed does not matter */
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, 999));
    lelp_model* m2 = fit(b);
    double *u1 = COMP(m), *u2 = COMP(m2);
    assert_memory_equal(u1, u2, sizeof(double) * CS * D);
    /* rotation on: orthonormal, same subspace (trace check), not the eigenvectors */
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 1));
    lelp_model* m3 = fit(b);
    check_components(m3, NULL, 0, 0);
    double* u3 = COMP(m3);
    assert_true(max_abs_diff(u1, u3, CS * D) > 1e-3);
    /* explained variance ratio = lambda / trace(Sigma_c) */
    double* ratio = model_array(m, 4, CS);
    double* ev = EIG(m);
    double mu[D], cov[D * D];
    for (int c = 0; c < C; c++) {
        class_cov(&G, c, mu, cov);
        double tr = 0;
        for (int j = 0; j < D; j++) tr += cov[j * D + j];
        for (int s = 0; s < S; s++) CHECK_LE("explained variance ratio", fabs(ratio[c * S + s] - ev[c * S + s] / tr), 1e-10);
    }
    /* offsets b = <U, mu_c> and means = the class means */
    double *off = OFFS(m3), *means = MEANS(m3);
    for (int c = 0; c < C; c++) {
        class_cov(&G, c, mu, cov);
        CHECK_LE("means", max_abs_diff(means + c * D, mu, D) / max_abs(mu, D), 1e-12);
        for (int s = 0; s < S; s++) {
            double dot = 0;
            for (int j = 0; j < D; j++) dot += u3[(c * S + s) * D + j] * mu[j];
            CHECK_LE("offsets", fabs(off[c * S + s] - dot), 1e-10 * (1 + max_abs(mu, D)));
        }
    }
    free(u1), free(u2), free(u3), free(ratio), free(ev), free(off), free(means);
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_model_free(m3);
    lelp_builder_free(b);
}

static void test_null_space(void** state)
{
    (void)state;
    double wn = 0;
    for (int i = 0; i < C * D; i++) wn += (double)G.W[i] * G.W[i];
    wn = sqrt(wn);
    for (int rot = 0; rot < 2; rot++) {
        lelp_builder* b = new_builder(D, C, S, 21, 0.0);
        EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, rot));
        EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
        EXPECT_OK(lelp_builder_set_head(b, G.W, C, D)); /* after streaming: allowed */
        lelp_model* m = fit(b);
        int64_t iv;
        EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_NULL_SPACE, &iv));
        assert_int_equal(iv, 1);
        EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &iv));
        assert_int_equal(iv, C);
        double* u = COMP(m);
        double worst = 0;
        for (int r = 0; r < C; r++)
            for (int k = 0; k < CS; k++) {
                double dot = 0;
                for (int j = 0; j < D; j++) dot += (double)G.W[r * D + j] * u[k * D + j];
                worst = fmax(worst, fabs(dot));
            }
        CHECK_LE("|W U| / ||W||", worst / wn, 1e-8);
        double Q[C * D];
        int r = row_basis(G.W, C, Q);
        assert_int_equal(r, C);
        check_components(m, Q, r, !rot);
        /* the projection matters: without it U is not orthogonal to W */
        EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, 0));
        lelp_model* m0 = fit(b);
        EXPECT_OK(lelp_model_get_int(m0, LELP_MODEL_HEAD_RANK, &iv));
        assert_int_equal(iv, 0);
        double* u0 = COMP(m0);
        double worst0 = 0;
        for (int k = 0; k < CS; k++)
            for (int rr = 0; rr < C; rr++) {
                double dot = 0;
                for (int j = 0; j < D; j++) dot += (double)G.W[rr * D + j] * u0[k * D + j];
                worst0 = fmax(worst0, fabs(dot));
            }
        assert_true(worst0 / wn > 1e-3);
        free(u), free(u0);
        lelp_model_free(m0);
        lelp_model_free(m);
        lelp_builder_free(b);
    }
    /* a rank-deficient head: rows 0 and 2 equal -> rank C-1 */
    float W2[C * D];
    memcpy(W2, G.W, sizeof W2);
    memcpy(W2 + 2 * D, W2, sizeof(float) * D);
    lelp_builder* b = new_builder(D, C, S, 21, 0.0);
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    EXPECT_OK(lelp_builder_set_head(b, W2, C, D));
    lelp_model* m = fit(b);
    int64_t iv;
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &iv));
    assert_int_equal(iv, C - 1);
    double Q[C * D];
    int r = row_basis(W2, C, Q);
    assert_int_equal(r, C - 1);
    check_components(m, Q, r, 0);
    lelp_model_free(m);
    lelp_builder_free(b);
}

/* ------------------------------------------------------------------- loss */
typedef struct loss_case {
    double alpha, tau;
    int reduction, weighted;
} loss_case;

/* The loss in double from the formula of docs/method.md section 3. */
static double ref_loss(const float* U, const float* T, const int32_t* y, const float* w, int n, int c_,
                       int s_, double alpha, double tau, int reduction)
{
    int k = c_ * s_;
    double total = 0, wsum = 0;
    double* u = malloc(sizeof(double) * (size_t)(3 * k));
    assert_non_null(u);
    double *q = u + k, *p = q + k;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < k; j++) u[j] = U[i * k + j];
        softmax_d(u, k, tau, q);
        softmax_d(u, k, 1.0, p);
        double li = 0;
        if (alpha < 1) {
            /* log q in log space, so a q that underflows stays finite */
            double kl = 0, mx = -INFINITY, z = 0;
            for (int j = 0; j < k; j++) mx = fmax(mx, u[j] / tau);
            for (int j = 0; j < k; j++) z += exp(u[j] / tau - mx);
            for (int j = 0; j < k; j++) {
                double t = T[i * k + j];
                if (t > 0) kl += t * (log(t) - (u[j] / tau - mx - log(z)));
            }
            li += (1 - alpha) * tau * tau * kl;
        }
        if (alpha > 0) {
            double m = 0;
            for (int s = 0; s < s_; s++) m += p[y[i] * s_ + s];
            li += alpha * -log(m);
        }
        double wi = w ? w[i] : 1.0;
        total += wi * li;
        wsum += wi;
    }
    free(u);
    return reduction == LELP_REDUCTION_MEAN ? total / wsum : total;
}

static void test_loss_gradient(void** state)
{
    (void)state;
    enum { n = 5, c_ = 3, s_ = 2, k = c_ * s_ };
    synth_rng r;
    synth_rng_seed(&r, 31);
    float U[n * k], T[n * k], w[n], g[n * k];
    int32_t y[n];
    for (int i = 0; i < n; i++) {
        y[i] = (int32_t)(synth_rng_u64(&r) % c_);
        w[i] = (float)(0.25 + 2.0 * synth_uniform(&r));
        double sum = 0;
        for (int j = 0; j < k; j++) {
            U[i * k + j] = (float)(1.5 * synth_normal(&r));
            /* a few exact zeros exercise 0 log 0 = 0 */
            double t = (i + j) % 4 == 0 ? 0.0 : synth_uniform(&r);
            T[i * k + j] = (float)t;
            sum += t;
        }
        for (int j = 0; j < k; j++) T[i * k + j] = (float)(T[i * k + j] / sum);
    }
    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, c_, s_, NULL));
    const double alphas[] = {0.0, 0.4, 1.0};
    const double taus[] = {0.5, 1.0, 3.0};
    int cases = 0;
    for (int ai = 0; ai < 3; ai++)
        for (int ti = 0; ti < 3; ti++)
            for (int red = 0; red < 2; red++)
                for (int wt = 0; wt < 2; wt++) {
                    double alpha = alphas[ai], tau = taus[ti];
                    const float* wp = wt ? w : NULL;
                    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alpha));
                    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, tau));
                    EXPECT_OK(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, red));
                    double v = 0, v_nograd = 0;
                    EXPECT_OK(lelp_loss_compute(l, U, T, y, wp, n, &v, g));
                    EXPECT_OK(lelp_loss_compute(l, U, T, y, wp, n, &v_nograd, NULL));
                    assert_true(v == v_nograd);
                    /* the value against the double reference: the library
                     * works in double on the same float inputs, so only
                     * summation-order rounding separates them */
                    double ref = ref_loss(U, T, y, wp, n, c_, s_, alpha, tau, red);
                    if (!(fabs(v - ref) <= 1e-9 * fmax(1.0, fabs(ref))))
                        fail_msg("loss alpha=%g tau=%g red=%d w=%d: %.15g, reference %.15g", alpha, tau, red,
                                 wt, v, ref);
                    /* Gradient vs central differences. h = 1e-3 in float32:
                     * the actual step is the difference of the rounded
                     * perturbed inputs, used as the denominator. The loss is
                     * evaluated in double (error ~1e-15 relative, i.e.
                     * ~1e-12 after dividing by 2h), the truncation error is
                     * h^2/6 |L'''| <= ~1e-6 * (1/tau)^3 * tau^2 <= ~4e-6 at
                     * tau = 0.5, and the returned gradient is float32
                     * (~6e-8 relative). A tolerance of 1e-5 absolute plus
                     * 1e-4 relative has ample margin yet catches any wrong
                     * factor (tau, 1/n, alpha, weights) or sign. */
                    for (int idx = 0; idx < n * k; idx++) {
                        float Up[n * k], Um[n * k];
                        memcpy(Up, U, sizeof Up);
                        memcpy(Um, U, sizeof Um);
                        Up[idx] = (float)(U[idx] + 1e-3);
                        Um[idx] = (float)(U[idx] - 1e-3);
                        double lp, lm;
                        EXPECT_OK(lelp_loss_compute(l, Up, T, y, wp, n, &lp, NULL));
                        EXPECT_OK(lelp_loss_compute(l, Um, T, y, wp, n, &lm, NULL));
                        double fd = (lp - lm) / ((double)Up[idx] - (double)Um[idx]);
                        if (!(fabs(fd - g[idx]) <= 1e-5 + 1e-4 * fabs(fd)))
                            fail_msg("grad alpha=%g tau=%g red=%d w=%d at %d: analytic %.9g, central diff %.9g",
                                     alpha, tau, red, wt, idx, (double)g[idx], fd);
                    }
                    cases++;
                }
    assert_int_equal(cases, 36);
    /* alpha = 1 works without targets and equals the CE of the marginal */
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0));
    EXPECT_OK(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, LELP_REDUCTION_MEAN));
    double v1, v2;
    EXPECT_OK(lelp_loss_compute(l, U, NULL, y, NULL, n, &v1, NULL));
    EXPECT_OK(lelp_loss_compute(l, U, T, y, NULL, n, &v2, NULL));
    assert_true(fabs(v1 - v2) <= 1e-12 * fabs(v1));
    /* weights scale: mean reduction is invariant to scaling all weights */
    float w2[n];
    for (int i = 0; i < n; i++) w2[i] = 4.0f * w[i];
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.4));
    EXPECT_OK(lelp_loss_compute(l, U, T, y, w, n, &v1, NULL));
    EXPECT_OK(lelp_loss_compute(l, U, T, y, w2, n, &v2, NULL));
    assert_true(fabs(v1 - v2) <= 1e-12 * fabs(v1));
    /* t = softmax(u/tau) gives zero distillation loss and gradient */
    float Tq[n * k];
    for (int i = 0; i < n; i++) {
        double u[k], q[k];
        for (int j = 0; j < k; j++) u[j] = U[i * k + j];
        softmax_d(u, k, 2.0, q);
        for (int j = 0; j < k; j++) Tq[i * k + j] = (float)q[j];
    }
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.0));
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 2.0));
    EXPECT_OK(lelp_loss_compute(l, U, Tq, NULL, NULL, n, &v1, g));
    CHECK_LE("KL(q||q)", fabs(v1), 1e-6);
    for (int j = 0; j < n * k; j++) CHECK_LE("grad at t = q", fabs(g[j]), 1e-6);
    lelp_loss_free(l);
}

/* The KL loss runs in chunks of rows (loss.c), with or without the label
 * term (alpha = 0, 0.3); batches that span several chunks, end in a
 * partial one, or have rows wider than a chunk (K > 4096) or rows that are
 * not whole vectors must give the double reference's value (1e-9
 * relative) and gradient w_i/norm * [(1 - alpha) tau (softmax(u/tau) - t)
 * + alpha (p - [k in class y] p / sum_y p)], p = softmax(u) (float32
 * output: 1e-6 absolute + 1e-6 relative). */
static void test_loss_chunks(void** state)
{
    (void)state;
    /* K = 6, 16, 5000, and rows of 8 + 4, 8 + 1 and 16 + 6 values, so the
     * eight-lane passes end in tails; row counts that are not multiples of
     * the four- and eight-row reductions */
    const int shapes[][3] = {{1000, 3, 2}, {700, 2, 8}, {3, 5, 1000}, {300, 3, 4},
                             {131, 3, 3},  {37, 2, 11}, {65, 1, 3}};
    for (int sh = 0; sh < (int)(sizeof shapes / sizeof shapes[0]); sh++) {
        const int n = shapes[sh][0], c_ = shapes[sh][1], s_ = shapes[sh][2], k = c_ * s_;
        float* U = malloc(sizeof(float) * (size_t)(n * k));
        float* T = malloc(sizeof(float) * (size_t)(n * k));
        float* g = malloc(sizeof(float) * (size_t)(n * k));
        float* w = malloc(sizeof(float) * (size_t)n);
        double* u = malloc(sizeof(double) * (size_t)k);
        double* q = malloc(sizeof(double) * (size_t)k);
        double* p = malloc(sizeof(double) * (size_t)k);
        int32_t* y = calloc((size_t)n, sizeof(int32_t));
        assert_true(U && T && g && w && u && q && p && y);
        synth_rng r;
        synth_rng_seed(&r, 77 + (uint64_t)sh);
        for (int i = 0; i < n; i++) {
            w[i] = (float)(0.5 + synth_uniform(&r));
            y[i] = (int32_t)(synth_uniform(&r) * c_) % c_;
            double sum = 0;
            for (int j = 0; j < k; j++) {
                U[i * k + j] = (float)(2.0 * synth_normal(&r));
                double t = (i + j) % 5 == 0 ? 0.0 : synth_uniform(&r);
                T[i * k + j] = (float)t;
                sum += t;
            }
            for (int j = 0; j < k; j++) T[i * k + j] = (float)(T[i * k + j] / sum);
        }
        lelp_loss* l = NULL;
        EXPECT_OK(lelp_loss_create(&l, c_, s_, NULL));
        EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 1.5));
        for (int run = 0; run < 4; run++) {
            const int wt = run & 1;
            const double alpha = run < 2 ? 0.0 : 0.3;
            const float* wp = wt ? w : NULL;
            EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alpha));
            double v = 0, norm = 0;
            EXPECT_OK(lelp_loss_compute(l, U, T, y, wp, n, &v, g));
            double ref = ref_loss(U, T, y, wp, n, c_, s_, alpha, 1.5, LELP_REDUCTION_MEAN);
            if (!(fabs(v - ref) <= 1e-9 * fmax(1.0, fabs(ref))))
                fail_msg("chunked KL n=%d K=%d w=%d alpha=%g: %.15g, reference %.15g", n, k, wt, alpha, v, ref);
            for (int i = 0; i < n; i++) norm += wp ? (double)wp[i] : 1.0;
            double worst = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < k; j++) u[j] = U[i * k + j];
                softmax_d(u, k, 1.5, q);
                softmax_d(u, k, 1.0, p);
                double py = 0;
                for (int s = 0; s < s_; s++) py += p[y[i] * s_ + s];
                for (int j = 0; j < k; j++) {
                    const double ce = p[j] - (j / s_ == y[i] ? p[j] / py : 0.0);
                    double want = (wp ? (double)wp[i] : 1.0) / norm *
                                  ((1 - alpha) * 1.5 * (q[j] - (double)T[i * k + j]) + alpha * ce);
                    double err = fabs((double)g[i * k + j] - want) / (1e-6 + 1e-6 * fabs(want));
                    worst = err > worst ? err : worst;
                }
            }
            CHECK_LE("chunked KL gradient (in units of the tolerance)", worst, 1.0);
        }
        lelp_loss_free(l);
        free(U);
        free(T);
        free(g);
        free(w);
        free(u);
        free(q);
        free(p);
        free(y);
    }
}

/* The KL chunk shifts each row by its largest scaled logit before exp
 * (found eight rows at a time, loss.c): one logit 60 above the rest at
 * every position of rows of 6, 16 and 22 values, at tau = 0.05 (a gap of
 * 1200 after scaling), must still give the double reference's loss to
 * 1e-9 relative and finite gradients: a shift that missed the large logit
 * would overflow exp. */
static void test_loss_row_max_anywhere(void** state)
{
    (void)state;
    const int shapes[][2] = {{3, 2}, {2, 8}, {2, 11}};
    for (int sh = 0; sh < 3; sh++) {
        const int c_ = shapes[sh][0], s_ = shapes[sh][1], k = c_ * s_, n = 3 * k + 5;
        float* U = malloc(sizeof(float) * (size_t)(n * k));
        float* T = malloc(sizeof(float) * (size_t)(n * k));
        float* g = malloc(sizeof(float) * (size_t)(n * k));
        assert_true(U && T && g);
        synth_rng r;
        synth_rng_seed(&r, 91 + (uint64_t)sh);
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < k; j++) {
                U[i * k + j] = (float)synth_normal(&r);
                T[i * k + j] = (float)(0.1 + synth_uniform(&r));
                sum += T[i * k + j];
            }
            for (int j = 0; j < k; j++) T[i * k + j] = (float)(T[i * k + j] / sum);
            U[i * k + (i * 7) % k] += 60.0f;
        }
        lelp_loss* l = NULL;
        double v = 0;
        EXPECT_OK(lelp_loss_create(&l, c_, s_, NULL));
        EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 0.05));
        EXPECT_OK(lelp_loss_compute(l, U, T, NULL, NULL, n, &v, g));
        double ref = ref_loss(U, T, NULL, NULL, n, c_, s_, 0.0, 0.05, LELP_REDUCTION_MEAN);
        if (!(fabs(v - ref) <= 1e-9 * fmax(1.0, fabs(ref))))
            fail_msg("large logit, K=%d: %.15g, reference %.15g", k, v, ref);
        for (int i = 0; i < n * k; i++) assert_true(isfinite(g[i]));
        lelp_loss_free(l);
        free(U);
        free(T);
        free(g);
    }
}

/* The KL chunk shifts all its rows by the chunk's largest logit (loss.c):
 * rows whose logits all lie 2000 below it, and (alpha > 0) rows whose
 * label's class lies 600 below the row's other logits, are past exp's
 * range under that shift and go the row path. Both must still give the
 * double reference's loss (1e-9 relative) and gradient (1e-6 absolute +
 * 1e-6 relative), among ordinary rows of the same chunk. */
static void test_loss_rows_far_below(void** state)
{
    (void)state;
    enum { n = 300, c_ = 2, s_ = 8, k = c_ * s_ };
    float *U = malloc(sizeof(float) * n * k), *T = malloc(sizeof(float) * n * k), *g = malloc(sizeof(float) * n * k);
    int32_t* y = malloc(sizeof(int32_t) * n);
    assert_true(U && T && g && y);
    synth_rng r;
    synth_rng_seed(&r, 4242);
    for (int i = 0; i < n; i++) {
        double sum = 0;
        y[i] = i % 3 == 2 ? 0 : i % 2;
        for (int j = 0; j < k; j++) {
            U[i * k + j] = (float)synth_normal(&r) - (i % 3 == 1 ? 2000.0f : 0.0f) - (i % 3 == 2 && j < s_ ? 600.0f : 0.0f);
            T[i * k + j] = (float)(0.1 + synth_uniform(&r));
            sum += T[i * k + j];
        }
        for (int j = 0; j < k; j++) T[i * k + j] = (float)(T[i * k + j] / sum);
    }
    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, c_, s_, NULL));
    for (int run = 0; run < 2; run++) {
        const double alpha = run ? 0.3 : 0.0;
        double v = 0, q[k], p[k], u[k];
        EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alpha));
        EXPECT_OK(lelp_loss_compute(l, U, T, y, NULL, n, &v, g));
        double ref = ref_loss(U, T, y, NULL, n, c_, s_, alpha, 1.0, LELP_REDUCTION_MEAN);
        if (!(fabs(v - ref) <= 1e-9 * fmax(1.0, fabs(ref))))
            fail_msg("rows far below, alpha=%g: %.15g, reference %.15g", alpha, v, ref);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) u[j] = U[i * k + j];
            softmax_d(u, k, 1.0, q);
            double py = 0;
            for (int s = 0; s < s_; s++) py += q[y[i] * s_ + s];
            for (int j = 0; j < k; j++) p[j] = q[j] - (j / s_ == y[i] ? q[j] / py : 0.0);
            for (int j = 0; j < k; j++) {
                double want = ((1 - alpha) * (q[j] - (double)T[i * k + j]) + alpha * p[j]) / n;
                double err = fabs((double)g[i * k + j] - want) / (1e-6 + 1e-6 * fabs(want));
                worst = err > worst ? err : worst;
            }
        }
        CHECK_LE("gradient of rows far below (in units of the tolerance)", worst, 1.0);
    }
    lelp_loss_free(l);
    free(U);
    free(T);
    free(g);
    free(y);
}

static void test_kd_s1(void** state)
{
    (void)state;
    enum { n = 40, c_ = 5 };
    synth_rng r;
    synth_rng_seed(&r, 77);
    float Z[n * c_], U[n * c_], T[n * c_];
    synth_fill_normal(&r, Z, n * c_, 3.0);
    synth_fill_normal(&r, U, n * c_, 2.0);
    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, c_, 1, NULL));
    const double taus[] = {0.5, 1.0, 2.0, 4.0};
    for (int ti = 0; ti < 4; ti++) {
        double tau = taus[ti];
        EXPECT_OK(lelp_softmax_targets(Z, n, c_, tau, T));
        EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, tau));
        double v;
        EXPECT_OK(lelp_loss_compute(l, U, T, NULL, NULL, n, &v, NULL));
        double kl_exact = 0;
        for (int i = 0; i < n; i++) {
            double z[c_], u[c_], p[c_], q[c_];
            for (int j = 0; j < c_; j++) z[j] = Z[i * c_ + j], u[j] = U[i * c_ + j];
            softmax_d(z, c_, tau, p);
            softmax_d(u, c_, tau, q);
            for (int j = 0; j < c_; j++) {
                CHECK_LE("softmax_targets vs double softmax", fabs(T[i * c_ + j] - p[j]), 1e-7);
                if (p[j] > 0) kl_exact += p[j] * (log(p[j]) - log(q[j]));
            }
        }
        kl_exact = tau * tau * kl_exact / n;
        /* the targets are float32-rounded (relative 6e-8 per entry), which
         * moves the KL by ~1e-7 of its terms: 1e-6 relative */
        if (!(fabs(v - kl_exact) <= 1e-6 * fabs(kl_exact)))
            fail_msg("S = 1, tau = %g: loss %.12g, tau^2 KL %.12g", tau, v, kl_exact);
    }
    lelp_loss_free(l);
}

/* ------------------------------------------------------------- prediction */
static void test_predict(void** state)
{
    (void)state;
    enum { n = 300, c_ = 4, s_ = 3, k = c_ * s_ };
    synth_rng r;
    synth_rng_seed(&r, 5);
    static float U[n * k], lp[n * c_];
    static int32_t cls[n];
    synth_fill_normal(&r, U, n * k, 4.0);
    for (int j = 0; j < k; j++) U[j] += 60.0f; /* a row with a large common offset */
    U[k + 0] = U[k + 3] = 7.0f;                 /* a tie of two classes in row 1 */
    for (int j = 1; j < k; j++)
        if (j != 3) U[k + j] = -5.0f;
    EXPECT_OK(lelp_predict_log_proba(U, n, c_, s_, lp));
    EXPECT_OK(lelp_predict_class(U, n, c_, s_, cls));
    double worst_norm = 0, worst_ref = 0;
    for (int i = 0; i < n; i++) {
        double mx = -INFINITY;
        for (int j = 0; j < k; j++) mx = fmax(mx, U[i * k + j]);
        double tot = 0;
        for (int j = 0; j < k; j++) tot += exp(U[i * k + j] - mx);
        double lse = mx + log(tot);
        double norm = 0;
        int best = 0;
        for (int c = 0; c < c_; c++) {
            double sc = 0;
            for (int s = 0; s < s_; s++) sc += exp(U[i * k + c * s_ + s] - mx);
            double want = mx + log(sc) - lse;
            worst_ref = fmax(worst_ref, fabs(lp[i * c_ + c] - want));
            norm += exp((double)lp[i * c_ + c]);
            if (lp[i * c_ + c] > lp[i * c_ + best]) best = c;
        }
        worst_norm = fmax(worst_norm, fabs(log(norm)));
        if (cls[i] != best) fail_msg("row %d: predict_class %d, argmax of log proba %d", i, cls[i], best);
    }
    /* float32 log-probabilities of magnitude <= ~40: 1e-5 absolute */
    CHECK_LE("logsumexp of log proba", worst_norm, 1e-5);
    CHECK_LE("log proba vs reference", worst_ref, 1e-5);
    assert_int_equal(cls[1], 0); /* tie -> lowest class */
}

/* ---------------------------------------------------------------- auto beta */
/* Exactly Gaussian classes: h = mu_c + A_c xi, A_c with decaying columns. */
static void gaussian_batch(uint64_t seed, int n, int d, int c_, float* H, int32_t* y, const double* A,
                           const double* mu)
{
    synth_rng r;
    synth_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int c = i % c_;
        y[i] = c;
        double xi[16];
        for (int j = 0; j < d; j++) xi[j] = synth_normal(&r);
        for (int j = 0; j < d; j++) {
            double v = mu[c * d + j];
            for (int k = 0; k < d; k++) v += A[(c * d + j) * d + k] * xi[k];
            H[i * d + j] = (float)v;
        }
    }
}

static void test_auto_beta(void** state)
{
    (void)state;
    enum { d = 8, c_ = 2, s_ = 3, nfit = 20000, nb = 20000 };
    double A[c_ * d * d], mu[c_ * d];
    synth_rng r;
    synth_rng_seed(&r, 404);
    for (int c = 0; c < c_; c++)
        for (int j = 0; j < d; j++) {
            mu[c * d + j] = 3.0 * synth_normal(&r);
            for (int k = 0; k < d; k++) A[(c * d + j) * d + k] = synth_normal(&r) * 2.0 / (1.0 + k);
        }
    float* H = malloc(sizeof(float) * nfit * d);
    float* Hb = malloc(sizeof(float) * nb * d);
    int32_t* y = malloc(sizeof(int32_t) * nfit);
    int32_t* yb = malloc(sizeof(int32_t) * nb);
    gaussian_batch(1, nfit, d, c_, H, y, A, mu);
    gaussian_batch(2, nb, d, c_, Hb, yb, A, mu);
    const double logS = log((double)s_);
    const double fracs[] = {0.5, 0.3};
    for (int fi = 0; fi < 2; fi++) {
        lelp_builder* b = NULL;
        EXPECT_OK(lelp_builder_create(&b, d, c_, s_, NULL));
        EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, fracs[fi]));
        EXPECT_OK(lelp_builder_update(b, H, y, nfit, d));
        lelp_model* m = NULL;
        EXPECT_OK(lelp_builder_fit(b, &m));
        double beta, ent;
        int64_t iv;
        EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_AUTO_BETA, &iv));
        assert_int_equal(iv, 1);
        EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
        EXPECT_OK(lelp_model_mean_entropy(m, Hb, yb, nb, d, beta, &ent));
        /* The library calibrates beta on 4096 Gaussian draws per class from
         * the fitted covariance; per-sample entropies have a standard
         * deviation below log 3 / 2 ~ 0.55, so the Monte Carlo error is
         * ~0.55/sqrt(8192) ~ 0.006 nats, the held-out batch adds ~0.004 and
         * the finite-sample covariance (20000 rows, d = 8) less than that:
         * 0.03 nats is > 3 standard deviations of the combined error. */
        if (!(fabs(ent - fracs[fi] * logS) <= 0.03))
            fail_msg("auto beta %g (fraction %g): mean entropy %.5f on a fresh batch, target %.5f", beta, fracs[fi],
                     ent, fracs[fi] * logS);
        /* entropy increases with beta */
        double e_lo, e_hi;
        EXPECT_OK(lelp_model_mean_entropy(m, Hb, yb, nb, d, beta / 2, &e_lo));
        EXPECT_OK(lelp_model_mean_entropy(m, Hb, yb, nb, d, beta * 2, &e_hi));
        assert_true(e_lo < ent && ent < e_hi);
        assert_true(e_hi <= logS + 1e-12 && e_lo >= 0.0);

        /* calibrate on the batch itself */
        double bstar;
        EXPECT_OK(lelp_model_estimate_beta(m, Hb, yb, nb, d, fracs[fi], &bstar));
        assert_true(bstar > 0 && isfinite(bstar));
        lelp_model* m2 = NULL;
        EXPECT_OK(lelp_model_with_beta(m, bstar, &m2));
        double beta2, ent2, beta_m;
        EXPECT_OK(lelp_model_get_double(m2, LELP_MODEL_BETA, &beta2));
        assert_true(beta2 == bstar);
        EXPECT_OK(lelp_model_mean_entropy(m2, Hb, yb, nb, d, beta2, &ent2));
        if (!(fabs(ent2 - fracs[fi] * logS) <= 1e-6))
            fail_msg("estimate_beta %g: entropy %.9f, target %.9f", bstar, ent2, fracs[fi] * logS);
        /* m unchanged; m2 shares everything but beta */
        EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta_m));
        assert_true(beta_m == beta);
        double u1[s_ * c_ * d], u2[s_ * c_ * d];
        EXPECT_OK(lelp_model_components(m, u1, s_ * c_ * d));
        EXPECT_OK(lelp_model_components(m2, u2, s_ * c_ * d));
        assert_memory_equal(u1, u2, sizeof u1);
        /* the projections scale with 1/beta */
        float* F1 = malloc(sizeof(float) * 64 * c_ * s_);
        float* F2 = malloc(sizeof(float) * 64 * c_ * s_);
        EXPECT_OK(lelp_model_project(m, Hb, 64, d, F1));
        EXPECT_OK(lelp_model_project(m2, Hb, 64, d, F2));
        for (int j = 0; j < 64 * c_ * s_; j++)
            CHECK_LE("F scales with 1/beta", fabs(F1[j] * beta - F2[j] * bstar),
                     1e-5 * (1.0 + fabs(F1[j] * beta)));
        free(F1), free(F2);
        lelp_model_free(m2);
        lelp_model_free(m);
        lelp_builder_free(b);
    }
    free(H), free(Hb), free(y), free(yb);
}

/* ---------------------------------------------------------- assign, project */
static void test_assign_project(void** state)
{
    (void)state;
    lelp_builder* b = new_builder(D, C, S, 8, 0.0);
    EXPECT_OK(lelp_builder_update(b, G.H, G.y, N, D));
    lelp_model* m = fit(b);
    float* F = malloc(sizeof(float) * N * CS);
    int32_t* a = malloc(sizeof(int32_t) * N);
    EXPECT_OK(lelp_model_project(m, G.H, N, D, F));
    EXPECT_OK(lelp_model_assign(m, G.H, G.y, N, D, a));
    double *u = COMP(m), *off = OFFS(m);
    double beta;
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    double worst = 0, fmaxabs = 0;
    for (int i = 0; i < N; i++) {
        int c = G.y[i], best = 0;
        for (int s = 1; s < S; s++)
            if (F[i * CS + c * S + s] > F[i * CS + c * S + best]) best = s;
        if (a[i] != best) fail_msg("row %d: assign %d, argmax of project %d", i, a[i], best);
        assert_in_range(a[i], 0, S - 1);
        for (int k = 0; k < CS; k++) {
            double dot = 0;
            for (int j = 0; j < D; j++) dot += u[k * D + j] * G.H[i * D + j];
            double want = (dot - off[k]) / beta;
            worst = fmax(worst, fabs(F[i * CS + k] - want));
            fmaxabs = fmax(fmaxabs, fabs(want));
        }
    }
    /* f is float32 from an SGEMM on centred rows: relative 1e-5 of max |f| */
    CHECK_LE("project vs (<U,h> - b)/beta", worst, 1e-5 * fmaxabs);
    free(u), free(off), free(F), free(a);
    lelp_model_free(m);
    lelp_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_marginals_logits),
        cmocka_unit_test(test_target_marginals_labels),
        cmocka_unit_test(test_merge_orders),
        cmocka_unit_test(test_batch_size_independence),
        cmocka_unit_test(test_sign_rule_ties),
        cmocka_unit_test(test_roundtrip_memory),
        cmocka_unit_test(test_roundtrip_files),
        cmocka_unit_test(test_seed_determinism),
        cmocka_unit_test(test_rotation_off_eigenvectors),
        cmocka_unit_test(test_null_space),
        cmocka_unit_test(test_loss_gradient),
        cmocka_unit_test(test_loss_chunks),
        cmocka_unit_test(test_loss_rows_far_below),
        cmocka_unit_test(test_loss_row_max_anywhere),
        cmocka_unit_test(test_kd_s1),
        cmocka_unit_test(test_predict),
        cmocka_unit_test(test_auto_beta),
        cmocka_unit_test(test_assign_project),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
