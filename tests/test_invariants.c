/* test_invariants.c -- properties the SPEC promises, on seeded data:
 * marginals of targets, merge = one pass, batch-size independence,
 * save/load identity, seeding, orthogonality, gradient = central
 * differences, prediction identities, automatic beta. */
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
#include "gen.h"

enum { N = 1200, D = 8, C = 3, S = 3, K = C * S };

static float H[N * D], W[C * D], Z[N * C], T[N * K], T2[N * K];
static int32_t y[N];

static void setup(void)
{
    gen_seed(11);
    gen_data(H, y, N, D, C);
    for (int i = 0; i < C * D; i++) W[i] = (float)gen_gauss();
    for (int i = 0; i < N * C; i++) Z[i] = (float)(2.0 * gen_gauss());
}

static void rel_close(const char* what, double a, double b, double tol)
{
    double scale = fabs(b) > 1e-300 ? fabs(b) : 1.0;
    if (!(fabs(a - b) <= tol * scale)) fail_msg("%s: %.17g vs %.17g (rel tol %g)", what, a, b, tol);
}

static void test_target_marginals(void** s)
{
    (void)s;
    setup();
    lelp_model* m = gen_fit(H, y, N, D, C, S, W);
    const double tau = 1.7;
    assert_int_equal(lelp_model_targets_from_logits(m, H, Z, N, D, tau, T), LELP_OK);
    float P[N * C];
    assert_int_equal(lelp_softmax_targets(Z, N, C, tau, P), LELP_OK);
    for (int i = 0; i < N; i++) {
        double row = 0.0;
        for (int c = 0; c < C; c++) {
            double pc = 0.0;
            for (int k = 0; k < S; k++) pc += T[i * K + c * S + k];
            assert_true(fabs(pc - P[i * C + c]) < 1e-6); /* sum_s t_{c,s} = p_c */
            row += pc;
        }
        assert_true(fabs(row - 1.0) < 1e-6);
    }
    const double eps = 0.2;
    assert_int_equal(lelp_model_targets_from_labels(m, H, y, N, D, eps, T), LELP_OK);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double pc = 0.0;
            for (int k = 0; k < S; k++) pc += T[i * K + c * S + k];
            double want = eps / C + (c == y[i] ? 1.0 - eps : 0.0);
            assert_true(fabs(pc - want) < 1e-6);
        }
    /* without smoothing the other classes are exactly zero */
    assert_int_equal(lelp_model_targets_from_labels(m, H, y, N, D, 0.0, T), LELP_OK);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++)
            if (k / S != y[i]) assert_true(T[i * K + k] == 0.0f);
    lelp_model_free(m);
}

/* fitted quantities of a builder: means, eigenvalues, components */
static void summary(const lelp_builder* b, double* out)
{
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_fit(b, &m), LELP_OK);
    assert_int_equal(lelp_model_means(m, out, C * D), LELP_OK);
    assert_int_equal(lelp_model_eigenvalues(m, out + C * D, C * S), LELP_OK);
    assert_int_equal(lelp_model_components(m, out + C * D + C * S, C * S * D), LELP_OK);
    lelp_model_free(m);
}

enum { SUM = C * D + C * S + C * S * D };

static void compare_summary(const double* a, const double* b, double tol_stats, double tol_comp)
{
    for (int i = 0; i < C * D + C * S; i++) rel_close("mean/eigenvalue", a[i], b[i], tol_stats);
    for (int i = C * D + C * S; i < SUM; i++)
        if (!(fabs(a[i] - b[i]) <= tol_comp)) fail_msg("component %d: %.17g vs %.17g", i, a[i], b[i]);
}

static void test_merge_equals_one_pass(void** s)
{
    (void)s;
    setup();
    lelp_builder* one = NULL;
    assert_int_equal(lelp_builder_create(&one, D, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_update(one, H, y, N, D), LELP_OK);
    static double ref[SUM], got[SUM];
    summary(one, ref);
    /* 4 uneven shards, merged in several orders and as a tree */
    const int cut[5] = {0, 100, 430, 431, N};
    lelp_builder* sh[4];
    for (int k = 0; k < 4; k++) {
        assert_int_equal(lelp_builder_create(&sh[k], D, C, S, NULL), LELP_OK);
        assert_int_equal(lelp_builder_update(sh[k], H + cut[k] * D, y + cut[k], cut[k + 1] - cut[k], D), LELP_OK);
    }
    const int orders[3][4] = {{0, 1, 2, 3}, {3, 1, 0, 2}, {2, 3, 1, 0}};
    for (int o = 0; o < 3; o++) {
        lelp_builder* acc = NULL;
        assert_int_equal(lelp_builder_create(&acc, D, C, S, NULL), LELP_OK);
        for (int k = 0; k < 4; k++) assert_int_equal(lelp_builder_merge(acc, sh[orders[o][k]]), LELP_OK);
        summary(acc, got);
        compare_summary(got, ref, 1e-12, 1e-9);
        lelp_builder_free(acc);
    }
    /* tree: (0+1) + (2+3), through serialized partial states */
    assert_int_equal(lelp_builder_merge(sh[0], sh[1]), LELP_OK);
    assert_int_equal(lelp_builder_merge(sh[2], sh[3]), LELP_OK);
    size_t n = 0;
    assert_int_equal(lelp_builder_serialized_size(sh[2], &n), LELP_OK);
    void* buf = malloc(n);
    assert_int_equal(lelp_builder_serialize(sh[2], buf, n, NULL), LELP_OK);
    lelp_builder* restored = NULL;
    assert_int_equal(lelp_builder_load(&restored, buf, n, NULL), LELP_OK);
    assert_int_equal(lelp_builder_merge(sh[0], restored), LELP_OK);
    summary(sh[0], got);
    compare_summary(got, ref, 1e-12, 1e-9);
    int64_t cnt = 0, total = 0;
    for (int c = 0; c < C; c++) {
        assert_int_equal(lelp_builder_count(sh[0], c, &cnt), LELP_OK);
        total += cnt;
    }
    assert_int_equal(total, N);
    free(buf);
    lelp_builder_free(restored);
    for (int k = 0; k < 4; k++) lelp_builder_free(sh[k]);
    lelp_builder_free(one);
}

static void test_batch_size_independence(void** s)
{
    (void)s;
    setup();
    static double ref[SUM], got[SUM];
    const int64_t sizes[3] = {1, 7, N};
    for (int k = 0; k < 3; k++) {
        lelp_builder* b = NULL;
        assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
        for (int64_t i = 0; i < N; i += sizes[k])
            assert_int_equal(lelp_builder_update(b, H + i * D, y + i, N - i < sizes[k] ? N - i : sizes[k], D),
                             LELP_OK);
        summary(b, k == 0 ? ref : got);
        if (k) compare_summary(got, ref, 1e-10, 1e-8);
        lelp_builder_free(b);
    }
}

static uint8_t* model_bytes(const lelp_model* m, size_t* n)
{
    assert_int_equal(lelp_model_serialized_size(m, n), LELP_OK);
    uint8_t* buf = malloc(*n);
    assert_int_equal(lelp_model_serialize(m, buf, *n, NULL), LELP_OK);
    return buf;
}

static void test_save_load_identity(void** s)
{
    (void)s;
    setup();
    lelp_model* m = gen_fit(H, y, N, D, C, S, W);
    size_t n1 = 0, n2 = 0;
    uint8_t* b1 = model_bytes(m, &n1);
    lelp_model* m2 = NULL;
    assert_int_equal(lelp_model_load(&m2, b1, n1, NULL), LELP_OK);
    uint8_t* b2 = model_bytes(m2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    assert_int_equal(lelp_model_targets_from_logits(m, H, Z, N, D, 1.3, T), LELP_OK);
    assert_int_equal(lelp_model_targets_from_logits(m2, H, Z, N, D, 1.3, T2), LELP_OK);
    assert_memory_equal(T, T2, sizeof T);
    /* through a file */
    const char* path = "build/test_invariants_model.tmp";
    assert_int_equal(lelp_model_save_path(m, path), LELP_OK);
    lelp_model* m3 = NULL;
    assert_int_equal(lelp_model_load_path(&m3, path, NULL), LELP_OK);
    size_t n3 = 0;
    uint8_t* b3 = model_bytes(m3, &n3);
    assert_int_equal(n3, n1);
    assert_memory_equal(b1, b3, n1);
    remove(path);
    /* builder state: save -> load -> save identical, and fits identically */
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SEED, 99), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, N, D), LELP_OK);
    assert_int_equal(lelp_builder_set_head(b, W, C, D), LELP_OK);
    size_t bn = 0, bn2 = 0;
    assert_int_equal(lelp_builder_serialized_size(b, &bn), LELP_OK);
    uint8_t* bs = malloc(bn);
    assert_int_equal(lelp_builder_serialize(b, bs, bn, NULL), LELP_OK);
    lelp_builder* bl = NULL;
    assert_int_equal(lelp_builder_load(&bl, bs, bn, NULL), LELP_OK);
    assert_int_equal(lelp_builder_serialized_size(bl, &bn2), LELP_OK);
    assert_int_equal(bn, bn2);
    uint8_t* bs2 = malloc(bn2);
    assert_int_equal(lelp_builder_serialize(bl, bs2, bn2, NULL), LELP_OK);
    assert_memory_equal(bs, bs2, bn);
    lelp_model *fa = NULL, *fb = NULL;
    assert_int_equal(lelp_builder_fit(b, &fa), LELP_OK);
    assert_int_equal(lelp_builder_fit(bl, &fb), LELP_OK);
    size_t na = 0, nb = 0;
    uint8_t* ba = model_bytes(fa, &na);
    uint8_t* bb = model_bytes(fb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ba, bb, na);
    free(ba);
    free(bb);
    free(bs);
    free(bs2);
    lelp_model_free(fa);
    lelp_model_free(fb);
    lelp_builder_free(b);
    lelp_builder_free(bl);
    free(b1);
    free(b2);
    free(b3);
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_model_free(m3);
}

static lelp_model* fit_opts(int64_t seed, int rotate, int null_space, const float* head)
{
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_create(&b, D, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SEED, seed), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, rotate), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, null_space), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, N, D), LELP_OK);
    if (head) assert_int_equal(lelp_builder_set_head(b, head, C, D), LELP_OK);
    assert_int_equal(lelp_builder_fit(b, &m), LELP_OK);
    lelp_builder_free(b);
    return m;
}

static void test_seeds_rotation_orthogonality(void** s)
{
    (void)s;
    setup();
    static double u1[K * D], u2[K * D], u3[K * D], v[K * D];
    lelp_model* a = fit_opts(5, 1, 1, W);
    lelp_model* b = fit_opts(5, 1, 1, W);
    lelp_model* c = fit_opts(6, 1, 1, W);
    lelp_model* plain = fit_opts(5, 0, 1, W);
    assert_int_equal(lelp_model_components(a, u1, K * D), LELP_OK);
    assert_int_equal(lelp_model_components(b, u2, K * D), LELP_OK);
    assert_int_equal(lelp_model_components(c, u3, K * D), LELP_OK);
    assert_int_equal(lelp_model_components(plain, v, K * D), LELP_OK);
    assert_memory_equal(u1, u2, sizeof u1); /* same seed: identical */
    double diff = 0.0;
    for (int i = 0; i < K * D; i++) diff += fabs(u1[i] - u3[i]);
    assert_true(diff > 1e-3); /* another seed: another rotation */
    for (int cls = 0; cls < C; cls++) {
        const double* U = u1 + cls * S * D;
        const double* V = v + cls * S * D;
        for (int p = 0; p < S; p++)
            for (int q = 0; q < S; q++) {
                double uu = 0.0, vv = 0.0;
                for (int j = 0; j < D; j++) {
                    uu += U[p * D + j] * U[q * D + j];
                    vv += V[p * D + j] * V[q * D + j];
                }
                assert_true(fabs(uu - (p == q)) < 1e-12); /* orthonormal */
                assert_true(fabs(vv - (p == q)) < 1e-12);
            }
        /* same subspace: the rotated directions lie in span(V) */
        for (int p = 0; p < S; p++) {
            double norm2 = 0.0;
            for (int q = 0; q < S; q++) {
                double dot = 0.0;
                for (int j = 0; j < D; j++) dot += U[p * D + j] * V[q * D + j];
                norm2 += dot * dot;
            }
            assert_true(fabs(norm2 - 1.0) < 1e-10);
        }
        /* null space: orthogonal to every head row */
        double wn = 0.0;
        for (int i = 0; i < C * D; i++) wn += (double)W[i] * W[i];
        for (int p = 0; p < S; p++)
            for (int r = 0; r < C; r++) {
                double dot = 0.0;
                for (int j = 0; j < D; j++) dot += U[p * D + j] * W[r * D + j];
                assert_true(fabs(dot) < 1e-8 * sqrt(wn));
            }
        /* sign rule on the unrotated eigenvectors */
        for (int p = 0; p < S; p++) {
            int best = 0;
            for (int j = 1; j < D; j++)
                if (fabs(V[p * D + j]) > fabs(V[p * D + best])) best = j;
            assert_true(V[p * D + best] > 0.0);
        }
    }
    /* with null space off the directions are not orthogonal to the head */
    lelp_model* nons = fit_opts(5, 0, 0, W);
    assert_int_equal(lelp_model_components(nons, v, K * D), LELP_OK);
    double worst = 0.0;
    for (int p = 0; p < K; p++)
        for (int r = 0; r < C; r++) {
            double dot = 0.0;
            for (int j = 0; j < D; j++) dot += v[p * D + j] * W[r * D + j];
            worst = fmax(worst, fabs(dot));
        }
    assert_true(worst > 1e-3);
    lelp_model_free(a);
    lelp_model_free(b);
    lelp_model_free(c);
    lelp_model_free(plain);
    lelp_model_free(nons);
}

static double loss_value(lelp_loss* l, const double* u, const float* t, const int32_t* yy, const float* w, int n)
{
    float uf[64 * K];
    for (int i = 0; i < n * K; i++) uf[i] = (float)u[i];
    double v = 0.0;
    assert_int_equal(lelp_loss_compute(l, uf, t, yy, w, n, &v, NULL), LELP_OK);
    return v;
}

/* Central differences with h = 2^-7 on logits that are exact in float32
 * (multiples of 2^-10), so u +- h is exact too: the only error is the
 * O(h^2) truncation (~1e-5 relative for these curvatures). */
static void test_gradient_central_differences(void** s)
{
    (void)s;
    enum { n = 6 };
    static double u[n * K];
    float t[n * K], w[n], g[n * K], uf[n * K];
    int32_t yy[n];
    gen_seed(3);
    for (int i = 0; i < n * K; i++) u[i] = round(gen_gauss() * 1024.0) / 1024.0;
    for (int i = 0; i < n; i++) {
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += (t[i * K + k] = (float)(gen_uniform() + (k == 0 ? 0.0 : 0.0)));
        for (int k = 0; k < K; k++) t[i * K + k] = (float)(t[i * K + k] / sum);
        yy[i] = i % C;
        w[i] = (float)(0.5 + gen_uniform());
    }
    const double taus[3] = {0.5, 1.0, 3.0}, alphas[3] = {0.0, 0.4, 1.0}, h = 1.0 / 128.0;
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, C, S, NULL), LELP_OK);
    for (int ti = 0; ti < 3; ti++)
        for (int ai = 0; ai < 3; ai++)
            for (int red = 0; red < 2; red++) {
                const float* ww = red ? NULL : w;
                assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_TAU, taus[ti]), LELP_OK);
                assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alphas[ai]), LELP_OK);
                assert_int_equal(lelp_loss_set_int(l, LELP_LOSS_REDUCTION, red), LELP_OK);
                for (int i = 0; i < n * K; i++) uf[i] = (float)u[i];
                double v = 0.0;
                assert_int_equal(lelp_loss_compute(l, uf, t, yy, ww, n, &v, g), LELP_OK);
                for (int i = 0; i < n * K; i++) {
                    double keep = u[i];
                    u[i] = keep + h;
                    double vp = loss_value(l, u, t, yy, ww, n);
                    u[i] = keep - h;
                    double vm = loss_value(l, u, t, yy, ww, n);
                    u[i] = keep;
                    double fd = (vp - vm) / (2.0 * h);
                    if (!(fabs(fd - g[i]) <= 2e-4 + 2e-3 * fabs(fd)))
                        fail_msg("tau %g alpha %g red %d: d/du[%d] = %.9g, central difference %.9g", taus[ti],
                                 alphas[ai], red, i, g[i], fd);
                }
            }
    lelp_loss_free(l);
}

static void test_prediction_identities(void** s)
{
    (void)s;
    enum { n = 50 };
    float u[n * K], lp[n * C], t[n * C];
    int32_t cls[n];
    gen_seed(8);
    for (int i = 0; i < n * K; i++) u[i] = (float)(3.0 * gen_gauss());
    assert_int_equal(lelp_predict_log_proba(u, n, C, S, lp), LELP_OK);
    assert_int_equal(lelp_predict_class(u, n, C, S, cls), LELP_OK);
    for (int i = 0; i < n; i++) {
        double z = 0.0, all = 0.0;
        int best = 0;
        for (int k = 0; k < K; k++) all += exp((double)u[i * K + k]);
        for (int c = 0; c < C; c++) {
            double cs = 0.0;
            for (int k = 0; k < S; k++) cs += exp((double)u[i * K + c * S + k]);
            assert_true(fabs(lp[i * C + c] - log(cs / all)) < 1e-5);
            z += exp((double)lp[i * C + c]);
            if (lp[i * C + c] > lp[i * C + best]) best = c;
        }
        assert_true(fabs(z - 1.0) < 1e-5);
        assert_int_equal(cls[i], best);
    }
    /* vanilla KD through S = 1: tau^2 KL(softmax(z/tau) || softmax(u/tau)) */
    float z[n * C], uc[n * C];
    for (int i = 0; i < n * C; i++) {
        z[i] = (float)(2.0 * gen_gauss());
        uc[i] = (float)gen_gauss();
    }
    const double tau = 2.0;
    assert_int_equal(lelp_softmax_targets(z, n, C, tau, t), LELP_OK);
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, C, 1, NULL), LELP_OK);
    assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_TAU, tau), LELP_OK);
    double v = 0.0, want = 0.0;
    assert_int_equal(lelp_loss_compute(l, uc, t, NULL, NULL, n, &v, NULL), LELP_OK);
    for (int i = 0; i < n; i++) {
        double zt = 0.0, ut = 0.0;
        for (int c = 0; c < C; c++) {
            zt += exp(z[i * C + c] / tau);
            ut += exp(uc[i * C + c] / tau);
        }
        for (int c = 0; c < C; c++) {
            double p = (double)t[i * C + c], q = exp(uc[i * C + c] / tau) / ut;
            want += tau * tau * p * log(p / q);
        }
    }
    rel_close("vanilla KD", v, want / n, 1e-6);
    lelp_loss_free(l);
}

static void test_auto_beta_and_assign(void** s)
{
    (void)s;
    /* Gaussian classes: the automatic beta must hit its entropy target on
     * real draws of the same distribution (Monte-Carlo error ~ 1/sqrt(n)). */
    enum { n = 6000 };
    static float h[n * D], F[n * K];
    static int32_t yy[n], a[n];
    gen_seed(21);
    for (int i = 0; i < n; i++) {
        yy[i] = i % C;
        for (int j = 0; j < D; j++) h[i * D + j] = (float)(yy[i] * 3.0 + gen_gauss() * (2.0 - 0.2 * j));
    }
    lelp_model* m = gen_fit(h, yy, n, D, C, S, NULL);
    double beta = 0.0, frac = 0.0, ent = 0.0;
    assert_int_equal(lelp_model_get_double(m, LELP_MODEL_BETA, &beta), LELP_OK);
    assert_int_equal(lelp_model_get_double(m, LELP_MODEL_ENTROPY_FRACTION, &frac), LELP_OK);
    int64_t autob = 0;
    assert_int_equal(lelp_model_get_int(m, LELP_MODEL_AUTO_BETA, &autob), LELP_OK);
    assert_int_equal(autob, 1);
    assert_int_equal(lelp_model_mean_entropy(m, h, yy, n, D, beta, &ent), LELP_OK);
    assert_true(fabs(ent - frac * log((double)S)) < 0.02);
    /* calibrating on the batch hits the target exactly */
    double b2 = 0.0;
    assert_int_equal(lelp_model_estimate_beta(m, h, yy, n, D, 0.3, &b2), LELP_OK);
    lelp_model* m2 = NULL;
    assert_int_equal(lelp_model_with_beta(m, b2, &m2), LELP_OK);
    double b3 = 0.0;
    assert_int_equal(lelp_model_get_double(m2, LELP_MODEL_BETA, &b3), LELP_OK);
    assert_true(b3 == b2);
    assert_int_equal(lelp_model_mean_entropy(m2, h, yy, n, D, b2, &ent), LELP_OK);
    assert_true(fabs(ent - 0.3 * log((double)S)) < 1e-8);
    /* entropy grows with beta */
    double e1 = 0.0, e2 = 0.0;
    assert_int_equal(lelp_model_mean_entropy(m, h, yy, n, D, 0.5 * beta, &e1), LELP_OK);
    assert_int_equal(lelp_model_mean_entropy(m, h, yy, n, D, 2.0 * beta, &e2), LELP_OK);
    assert_true(e1 < e2);
    /* assign = argmax of the own-class projections */
    assert_int_equal(lelp_model_assign(m, h, yy, n, D, a), LELP_OK);
    assert_int_equal(lelp_model_project(m, h, n, D, F), LELP_OK);
    for (int i = 0; i < n; i++) {
        const float* f = F + i * K + yy[i] * S;
        for (int k = 0; k < S; k++) assert_true(f[k] <= f[a[i]] + 1e-5f);
    }
    lelp_model_free(m);
    lelp_model_free(m2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target_marginals),
        cmocka_unit_test(test_merge_equals_one_pass),
        cmocka_unit_test(test_batch_size_independence),
        cmocka_unit_test(test_save_load_identity),
        cmocka_unit_test(test_seeds_rotation_orthogonality),
        cmocka_unit_test(test_gradient_central_differences),
        cmocka_unit_test(test_prediction_identities),
        cmocka_unit_test(test_auto_beta_and_assign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
