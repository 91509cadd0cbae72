/* SPDX-License-Identifier: MIT */
/* test_beta_sample.c -- the automatic beta on the builder's sample of rows
 * (LELP_BUILDER_BETA_SAMPLE, docs/method.md section 5).
 *
 * Data: per class, three clusters with heavy-tailed (Student-t, 3 degrees of
 * freedom) spread -- far from the Gaussian model the fallback assumes.
 * Checked:
 * - a class kept whole: the fitted beta's mean within-class entropy over the
 *   fitting data, measured by lelp_model_mean_entropy, is fraction * log S
 *   (1e-6: that call projects in float32);
 * - a sampled class (K = 64 of 600 rows): beta equals lelp_model_estimate_beta
 *   on exactly the K rows of smallest (key, bytes) per class, picked here
 *   from the keys independently of the library's insertion code (1e-6), and
 *   the entropy over all the data is within 0.05 log S of the target;
 * - the same kept rows (keys compared through the builder's internals)
 *   whatever the batching, row order, shard merge tree or a save/load in the
 *   middle, so beta differs only by the statistics' rounding (1e-9);
 * - shards with samples of different sizes fall back to the Gaussian model
 *   (the beta of LELP_BUILDER_BETA_SAMPLE = 0). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../liblelp/fit/fit.h" /* lelp__row_key: the hash that orders the sample */
#include "expect.h"
#include "lelp.h"
#include "synth.h"

enum { D = 12, C = 2, S = 4, N = 1200, K = 64 };

static float H[N * D];
static int32_t Y[N];

static void make_data(void)
{
    synth_rng r;
    synth_rng_seed(&r, 0xB5AD4ECEDA1CE2A9ULL);
    double centre[C][3][D];
    for (int c = 0; c < C; c++)
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < D; j++) centre[c][k][j] = 4.0 * synth_normal(&r);
    for (int i = 0; i < N; i++) {
        const int c = i % C, k = (int)(synth_rng_u64(&r) % 3);
        Y[i] = c;
        /* Student-t(3): normal / sqrt(chi2_3 / 3) */
        double chi = 0.0;
        for (int t = 0; t < 3; t++) {
            double z = synth_normal(&r);
            chi += z * z;
        }
        const double scale = 1.0 / sqrt(chi / 3.0);
        for (int j = 0; j < D; j++)
            H[i * D + j] = (float)(centre[c][k][j] + scale * synth_normal(&r) * (1.0 + 0.2 * (double)j));
    }
}

static lelp_builder* make(int64_t sample)
{
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, 5));
    if (sample != -1) EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, sample));
    return b;
}

static double fit_beta(const lelp_builder* b, lelp_model** keep)
{
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    double beta = 0.0;
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    if (keep) *keep = m;
    else lelp_model_free(m);
    return beta;
}

/* rows [lo, hi) in batches of `batch`, visiting them through perm (or in order) */
static void stream(lelp_builder* b, const int* perm, int lo, int hi, int batch)
{
    static float Hb[N * D];
    static int32_t yb[N];
    for (int i = lo; i < hi; i += batch) {
        int nb = hi - i < batch ? hi - i : batch;
        for (int r = 0; r < nb; r++) {
            int src = perm ? perm[i + r] : i + r;
            memcpy(Hb + r * D, H + src * D, sizeof(float) * D);
            yb[r] = Y[src];
        }
        EXPECT_OK(lelp_builder_update(b, Hb, yb, nb, D));
    }
}

static void whole_classes_meet_the_spec(void** state)
{
    (void)state;
    lelp_builder* b = make(-1); /* automatic: 4096 rows per class at d = 12, more than N / C */
    stream(b, NULL, 0, N, 100);
    lelp_model* m = NULL;
    const double beta = fit_beta(b, &m);
    double h = 0.0;
    EXPECT_OK(lelp_model_mean_entropy(m, H, Y, N, D, beta, &h));
    if (!(fabs(h - 0.5 * log((double)S)) <= 1e-6))
        fail_msg("entropy over the data at the automatic beta: %.9f, want %.9f", h, 0.5 * log((double)S));
    /* the Gaussian model misses it on this data (why the sample exists) */
    lelp_builder* g = make(0);
    stream(g, NULL, 0, N, 100);
    double hg = 0.0;
    EXPECT_OK(lelp_model_mean_entropy(m, H, Y, N, D, fit_beta(g, NULL), &hg));
    assert_true(fabs(hg - 0.5 * log((double)S)) > 0.01);
    lelp_model_free(m);
    lelp_builder_free(b);
    lelp_builder_free(g);
}

static uint64_t g_keys[N];
static int cmp_rows(const void* pa, const void* pb)
{
    const int a = *(const int*)pa, b = *(const int*)pb;
    if (g_keys[a] != g_keys[b]) return g_keys[a] < g_keys[b] ? -1 : 1;
    return memcmp(H + a * D, H + b * D, sizeof(float) * D);
}

static void sampled_classes_use_the_smallest_keys(void** state)
{
    (void)state;
    lelp_builder* b = make(K);
    stream(b, NULL, 0, N, 77);
    lelp_model* m = NULL;
    const double beta = fit_beta(b, &m);
    /* the K rows of smallest (key, bytes) per class, chosen here */
    static float Hk[C * K * D];
    static int32_t yk[C * K];
    int idx[N];
    for (int i = 0; i < N; i++) g_keys[i] = lelp__row_key(H + i * D, D);
    for (int c = 0; c < C; c++) {
        int n = 0;
        for (int i = 0; i < N; i++)
            if (Y[i] == c) idx[n++] = i;
        qsort(idx, (size_t)n, sizeof idx[0], cmp_rows);
        for (int k = 0; k < K; k++) {
            memcpy(Hk + (c * K + k) * D, H + idx[k] * D, sizeof(float) * D);
            yk[c * K + k] = c;
        }
    }
    double want = 0.0;
    EXPECT_OK(lelp_model_estimate_beta(m, Hk, yk, C * K, D, 0.5, &want));
    if (!(fabs(beta - want) <= 1e-6 * want)) fail_msg("beta %.12g, on the K smallest keys %.12g", beta, want);
    double h = 0.0;
    EXPECT_OK(lelp_model_mean_entropy(m, H, Y, N, D, beta, &h));
    assert_true(fabs(h - 0.5 * log((double)S)) <= 0.05 * log((double)S));
    lelp_model_free(m);
    lelp_builder_free(b);
}

/* the same rows kept, in the same order */
static void same_sample(const lelp_builder* a, const lelp_builder* b)
{
    assert_non_null(a->bs);
    assert_non_null(b->bs);
    for (int c = 0; c < C; c++) {
        assert_int_equal(lelp__bsample_size(a->bs, c), lelp__bsample_size(b->bs, c));
        for (int64_t i = 0; i < lelp__bsample_size(a->bs, c); i++) {
            assert_true(lelp__bsample_key(a->bs, c, i) == lelp__bsample_key(b->bs, c, i));
            assert_memory_equal(lelp__bsample_row(a->bs, c, i), lelp__bsample_row(b->bs, c, i), sizeof(float) * D);
        }
    }
}

static void any_route_keeps_the_same_rows(void** state)
{
    (void)state;
    lelp_builder* ref = make(K);
    stream(ref, NULL, 0, N, N);
    const double want = fit_beta(ref, NULL);
    /* other batch sizes, a reversed and a shuffled order */
    int perm[N];
    for (int i = 0; i < N; i++) perm[i] = N - 1 - i;
    for (int batch = 1; batch <= 500; batch *= 7) {
        lelp_builder* b = make(K);
        stream(b, batch % 2 ? perm : NULL, 0, N, batch);
        same_sample(b, ref);
        assert_true(fabs(fit_beta(b, NULL) - want) <= 1e-9 * want);
        lelp_builder_free(b);
    }
    synth_rng r;
    synth_rng_seed(&r, 3);
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(synth_rng_u64(&r) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    /* four shards merged as ((0 + 3) + (2 + 1)), one saved and reloaded */
    lelp_builder* sh[4];
    for (int k = 0; k < 4; k++) {
        sh[k] = make(K);
        stream(sh[k], perm, N * k / 4, N * (k + 1) / 4, 50);
    }
    size_t size = 0;
    EXPECT_OK(lelp_builder_serialized_size(sh[2], &size));
    void* buf = malloc(size);
    EXPECT_OK(lelp_builder_serialize(sh[2], buf, size, NULL));
    lelp_builder* again = NULL;
    EXPECT_OK(lelp_builder_load(&again, buf, size, NULL));
    free(buf);
    EXPECT_OK(lelp_builder_merge(sh[0], sh[3]));
    EXPECT_OK(lelp_builder_merge(again, sh[1]));
    EXPECT_OK(lelp_builder_merge(sh[0], again));
    same_sample(sh[0], ref);
    assert_true(fabs(fit_beta(sh[0], NULL) - want) <= 1e-9 * want);
    for (int k = 0; k < 4; k++) lelp_builder_free(sh[k]);
    lelp_builder_free(again);
    lelp_builder_free(ref);
}

static void mixed_samples_fall_back(void** state)
{
    (void)state;
    lelp_builder *a = make(K), *b = make(2 * K), *g = make(0);
    stream(a, NULL, 0, N / 2, 100);
    stream(b, NULL, N / 2, N, 100);
    stream(g, NULL, 0, N, 100);
    EXPECT_OK(lelp_builder_merge(a, b));
    const double got = fit_beta(a, NULL), want = fit_beta(g, NULL);
    /* the same Gaussian model; the statistics agree to rounding only */
    assert_true(fabs(got - want) <= 1e-9 * want);
    int64_t v = 0;
    EXPECT_OK(lelp_builder_get_int(a, LELP_BUILDER_BETA_SAMPLE, &v));
    assert_int_equal(v, K); /* the setting stays as set */
    EXPECT_STATUS(lelp_builder_set_int(a, LELP_BUILDER_BETA_SAMPLE, 8), LELP_E_STAGE);
    lelp_builder_free(a);
    lelp_builder_free(b);
    lelp_builder_free(g);
}

/* Storage follows the rows: a builder (or a loaded state) with a sample
 * capacity of 2^20 rows per class but 600 rows costs ~600 rows, not 2^20
 * -- a small buffer cannot make the loader allocate gigabytes. */
typedef struct counter {
    long long live, peak;
} counter;
static void* count_alloc(void* opaque, size_t size, size_t align)
{
    (void)align;
    counter* c = opaque;
    c->live += (long long)size;
    if (c->live > c->peak) c->peak = c->live;
    return malloc(size ? size : 1);
}
static void count_free(void* opaque, void* p, size_t size)
{
    ((counter*)opaque)->live -= (long long)size;
    free(p);
}

static void storage_follows_the_rows(void** state)
{
    (void)state;
    counter cnt = {0, 0};
    lelp_allocator* a = NULL;
    EXPECT_OK(lelp_allocator_create(&a, count_alloc, count_free, &cnt));
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, a));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, 1048576));
    stream(b, NULL, 0, N, 100);
    const long long row_bytes = (long long)(N * (D * 4 + 16));
    if (!(cnt.peak < 4 * row_bytes + 2 * 1024 * 1024)) fail_msg("streaming peak %lld bytes", cnt.peak);
    size_t size = 0;
    EXPECT_OK(lelp_builder_serialized_size(b, &size));
    void* buf = malloc(size);
    EXPECT_OK(lelp_builder_serialize(b, buf, size, NULL));
    cnt.peak = cnt.live = 0;
    lelp_builder* again = NULL;
    EXPECT_OK(lelp_builder_load(&again, buf, size, a));
    if (!(cnt.peak < 4 * (long long)size + 2 * 1024 * 1024)) fail_msg("load peak %lld bytes for %zu", cnt.peak, size);
    lelp_builder_free(again);
    assert_int_equal(cnt.live, 0);
    free(buf);
    lelp_builder_free(b);
    lelp_allocator_free(a);
}

/* The sample holds K rows, not more: rows an update considers wait by
 * reference into the caller's batch, and only those that make the K
 * smallest are copied. 2 000 distinct rows of d = 256 in batches of 500,
 * K = 64: the live bytes with the sample, less those without it, stay
 * within K rows plus the entries' bookkeeping (72 bytes for each of up to
 * 2K entries, and a growing array's old copy) -- a sample that copied its
 * candidates held up to 2K rows. */
static void sample_holds_k_rows(void** state)
{
    (void)state;
    enum { DW = 256, NW = 2000, KW = 64, BATCH = 500 };
    float* Hw = malloc(sizeof(float) * NW * DW);
    int32_t* yw = calloc(NW, sizeof(int32_t));
    assert_non_null(Hw);
    assert_non_null(yw);
    synth_rng r;
    synth_rng_seed(&r, 0x5EEDF00DULL);
    for (int i = 0; i < NW * DW; i++) Hw[i] = (float)synth_normal(&r);
    long long peak[2];
    for (int on = 0; on < 2; on++) {
        counter cnt = {0, 0};
        lelp_allocator* a = NULL;
        EXPECT_OK(lelp_allocator_create(&a, count_alloc, count_free, &cnt));
        lelp_builder* b = NULL;
        EXPECT_OK(lelp_builder_create(&b, DW, 1, 2, a));
        EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, on ? KW : 0));
        for (int i = 0; i < NW; i += BATCH) EXPECT_OK(lelp_builder_update(b, Hw + (size_t)i * DW, yw + i, BATCH, DW));
        peak[on] = cnt.peak;
        lelp_builder_free(b);
        lelp_allocator_free(a); /* the allocator lives in its own memory */
        if (cnt.live != 0) fail_msg("sample %d: %lld bytes live after the frees", on, cnt.live);
    }
    const long long bound = (long long)KW * DW * 4 + 2LL * KW * (72 + 32) + 4096;
    if (!(peak[1] - peak[0] <= bound))
        fail_msg("the sample's peak is %lld bytes, more than %lld (K rows and bookkeeping)", peak[1] - peak[0], bound);
    free(Hw);
    free(yw);
}

/* One class, S = 2, no rotation: the model of rows H (n x d). */
static lelp_model* fit_one_class(const float* H, const int32_t* y, int64_t n, int64_t d)
{
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, 1, 2, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0));
    EXPECT_OK(lelp_builder_update(b, H, y, n, d));
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    lelp_builder_free(b);
    return m;
}

/* Kept rows whose projections tie (most of the weight on rows with g_1 =
 * g_2, so the entropy never drops to the target) and whose spread is huge
 * (|g| ~ 1e29, so g / beta overflowed as the search halved beta): the
 * search must report the target unreachable -- and the fit fall back to the
 * Gaussian model -- instead of ending at beta = 0 with LELP_OK (a model its
 * own loader refused). The rows are a roundtrip fuzzer's find (fuzz/corpus/
 * roundtrip/26dc5e63...). */
static void tied_huge_projections_fall_back(void** state)
{
    (void)state;
    enum { DT = 7, NT = 9 };
    const float Ht[NT * DT] = {
        -0x1.1b851ep+3f, 0x1.2d1eb8p+3f,  0x1.b851ecp-2f,  -0x1.18p+3f,     0x1.acccccp+1f,  0x1.acccccp+1f,  0x1.acccccp+1f,
        0x1.acccccp+1f,  0x1.acccccp+1f,  0x1.acccccp+1f,  0x1.acccccp+1f,  0x1.acccccp+1f,  0x1.acccccp+1f,  0x1.acccccp+1f,
        0x1.acccccp+1f,  -0x1.fd70a4p+0f, -0x1.2ae148p+3f, -0x1.8p+2f,      0x1.08p+3f,      -0x1.8a3d7p+0f,  0x1p+3f,
        0x1.0f0a3ep+3f,  0x1.e8e6e4p-73f, 0x1.2428f6p+3f,  0x1.e1e1ep-60f,  -0x1.e1e1ep+98f, 0x1.13d70ap+3f,  -0x1.6b851ep-1f,
        -0x1.e1e1ep+98f, -0x1.e1e1ep+98f, -0x1.1eb852p+1f, 0x1.751eb8p+2f,  0x1.8e8e8cp-31f, 0.0f, 0.0f,
        0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
        0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
        0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
        0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f,
    };
    const int32_t yt[NT] = {0};
    lelp_model* m = fit_one_class(Ht, yt, NT, DT);
    double beta = 0.0;
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    assert_true(beta >= DBL_MIN && beta <= DBL_MAX);
    size_t size = 0;
    EXPECT_OK(lelp_model_serialized_size(m, &size));
    void* buf = malloc(size);
    assert_non_null(buf);
    EXPECT_OK(lelp_model_serialize(m, buf, size, NULL));
    lelp_model* again = NULL;
    EXPECT_OK(lelp_model_load(&again, buf, size, NULL));
    lelp_model_free(again);
    free(buf);
    lelp_model_free(m);
}

/* The entropy is defined for every beta > 0. Projections of ~1e10 at
 * beta = 1e-300 overflow g / beta; the old kernel then computed inf - inf
 * and clamped the NaN to an entropy of 0 -- also for rows whose two
 * projections tie, whose entropy is log 2 at any beta. Here the data are
 * symmetric (mean exactly 0, covariance exactly diagonal, so the components
 * are the axes up to sign) and two of the eight rows tie: the mean entropy
 * is log(2) / 4 at beta = 1e-300, and log 2 at beta = 1e300. */
static void entropy_at_extreme_beta_is_finite(void** state)
{
    (void)state;
    enum { DE = 2, NE = 8 };
    const float He[NE * DE] = {5e9f, 5e9f, -5e9f, -5e9f, 5e9f, -5e9f, -5e9f, 5e9f,
                               4e10f, 0.0f, -4e10f, 0.0f, 0.0f, 1e10f, 0.0f, -1e10f};
    const int32_t ye[NE] = {0};
    lelp_model* m = fit_one_class(He, ye, NE, DE);
    double h = -1.0;
    EXPECT_OK(lelp_model_mean_entropy(m, He, ye, NE, DE, 1e-300, &h));
    if (!(fabs(h - log(2.0) / 4.0) <= 1e-12)) fail_msg("mean entropy %.17g at beta = 1e-300, want log(2)/4", h);
    EXPECT_OK(lelp_model_mean_entropy(m, He, ye, NE, DE, 1e300, &h));
    assert_true(fabs(h - log(2.0)) <= 1e-12);
    lelp_model_free(m);
}

/* Identical rows are one entry with a multiplicity: 10 distinct rows per
 * class, each streamed 120 times (1 200 rows, K = 16) are all kept, with
 * their counts, so beta is the SPEC's exactly -- keeping copies as separate
 * rows would have filled the sample with one or two of the values. */
static void duplicates_are_counted(void** state)
{
    (void)state;
    enum { distinct = 10, copies = 120, n = C * distinct * copies };
    static float Hd[n * D];
    static int32_t yd[n];
    for (int i = 0; i < n; i++) {
        const int src = (i % (C * distinct)); /* rows of H cycle: row src has class src % C */
        memcpy(Hd + i * D, H + src * D, sizeof(float) * D);
        yd[i] = Y[src];
    }
    lelp_builder* b = make(16);
    for (int i = 0; i < n; i += 250) {
        int nb = n - i < 250 ? n - i : 250;
        EXPECT_OK(lelp_builder_update(b, Hd + i * D, yd + i, nb, D));
    }
    for (int c = 0; c < C; c++) {
        assert_int_equal(lelp__bsample_size(b->bs, c), distinct);
        for (int64_t k = 0; k < distinct; k++) assert_int_equal(lelp__bsample_mult(b->bs, c, k), copies);
    }
    lelp_model* m = NULL;
    const double beta = fit_beta(b, &m);
    double h = 0.0;
    EXPECT_OK(lelp_model_mean_entropy(m, Hd, yd, n, D, beta, &h));
    if (!(fabs(h - 0.5 * log((double)S)) <= 1e-6)) fail_msg("entropy %.9f at beta %.9g", h, beta);
    lelp_model_free(m);
    lelp_builder_free(b);
}

/* A shard that saw no rows, saved and reloaded, merges like the live empty
 * shard: it keeps the sample (it once saved capacity 0, and the merge then
 * dropped the others' samples). */
static void empty_saved_shard_keeps_the_sample(void** state)
{
    (void)state;
    lelp_builder *a = make(K), *e = make(K), *again = NULL;
    stream(a, NULL, 0, N, 100);
    const double want = fit_beta(a, NULL);
    size_t size = 0;
    EXPECT_OK(lelp_builder_serialized_size(e, &size));
    void* buf = malloc(size);
    EXPECT_OK(lelp_builder_serialize(e, buf, size, NULL));
    EXPECT_OK(lelp_builder_load(&again, buf, size, NULL));
    free(buf);
    EXPECT_OK(lelp_builder_merge(a, again));
    assert_non_null(a->bs);
    assert_true(fit_beta(a, NULL) == want);
    lelp_builder_free(a);
    lelp_builder_free(e);
    lelp_builder_free(again);
}

int main(void)
{
    make_data();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_classes_meet_the_spec),
        cmocka_unit_test(sampled_classes_use_the_smallest_keys),
        cmocka_unit_test(any_route_keeps_the_same_rows),
        cmocka_unit_test(mixed_samples_fall_back),
        cmocka_unit_test(storage_follows_the_rows),
        cmocka_unit_test(sample_holds_k_rows),
        cmocka_unit_test(tied_huge_projections_fall_back),
        cmocka_unit_test(entropy_at_extreme_beta_is_finite),
        cmocka_unit_test(duplicates_are_counted),
        cmocka_unit_test(empty_saved_shard_keeps_the_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
