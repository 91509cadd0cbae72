/* SPDX-License-Identifier: MIT */
/* test_alloc_failure.c -- fail the k-th allocation for k = 0, 1, 2, ... over
 * create -> update -> merge -> fit -> save -> load -> targets -> loss: every
 * call must return LELP_OK or LELP_E_NOMEM, nothing may leak, and handles
 * must stay freeable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"

typedef struct counter {
    long calls;       /* allocations attempted */
    long fail_at;     /* index of the allocation to fail, -1 = never */
    long live_blocks;
    long long live_bytes;
    int failed;       /* set once the injected failure happened */
} counter;

static void* count_alloc(void* opaque, size_t size, size_t align)
{
    counter* c = opaque;
    long k = c->calls++;
    if (k == c->fail_at) {
        c->failed = 1;
        return NULL;
    }
    void* p = NULL;
    if (align < sizeof(void*)) align = sizeof(void*);
    if (posix_memalign(&p, align, size) != 0) return NULL;
    c->live_blocks++;
    c->live_bytes += (long long)size;
    return p;
}

static void count_free(void* opaque, void* p, size_t size)
{
    counter* c = opaque;
    c->live_blocks--;
    c->live_bytes -= (long long)size;
    free(p);
}

enum { N = 120, D = 6, C = 2, S = 2 };

static void make_data(float* H, int32_t* y, float* W, float* Z)
{
    uint64_t s = 12345;
    for (int i = 0; i < N * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        H[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * (float)(1 + i % D);
    }
    for (int i = 0; i < N; i++) y[i] = i % C;
    for (int i = 0; i < C * D; i++) W[i] = (float)((i * 7 % 5) - 2);
    for (int i = 0; i < N * C; i++) Z[i] = (float)((i * 3 % 7) - 3) * 0.5f;
}

/* Accepts OK or NOMEM; anything else fails the test. Returns 1 if OK. */
static int ok_or_nomem(int st, const char* what, long k)
{
    if (st != LELP_OK && st != LELP_E_NOMEM)
        fail_msg("k=%ld %s returned %d (%s): %s", k, what, st, lelp_status_string(st), lelp_last_error());
    return st == LELP_OK;
}

/* One full scenario with the k-th allocation failing; returns whether the
 * injected failure was hit. */
static int run_scenario(long k, const char* path)
{
    static float H[N * D], W[C * D], Z[N * C], T[N * C * S], G[N * C * S], F[N * C * S];
    static int32_t y[N], sub[N];
    make_data(H, y, W, Z);
    counter cnt = {0, k, 0, 0, 0};
    lelp_allocator* a = NULL;
    lelp_builder *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL;
    lelp_model *m = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
    lelp_loss* l = NULL;
    void* buf = NULL;
    size_t size = 0;
    if (!ok_or_nomem(lelp_allocator_create(&a, count_alloc, count_free, &cnt), "allocator_create", k)) {
        assert_null(a);
        goto done;
    }
    if (!ok_or_nomem(lelp_builder_create(&b1, D, C, S, a), "builder_create 1", k)) assert_null(b1);
    if (!ok_or_nomem(lelp_builder_create(&b2, D, C, S, a), "builder_create 2", k)) assert_null(b2);
    lelp_allocator_free(a);
    a = NULL;
    if (!b1 || !b2) goto done;
    /* the second shard uses float32 block products (one more allocation) */
    assert_int_equal(lelp_builder_set_int(b2, LELP_BUILDER_PRECISION, LELP_PRECISION_FLOAT32), LELP_OK);
    ok_or_nomem(lelp_builder_update(b1, H, y, N / 2, D), "update 1", k);
    ok_or_nomem(lelp_builder_update(b2, H + (N / 2) * D, y + N / 2, N / 2, D), "update 2", k);
    ok_or_nomem(lelp_builder_merge(b1, b2), "merge", k);
    ok_or_nomem(lelp_builder_set_head(b1, W, C, D), "set_head", k);
    if (ok_or_nomem(lelp_builder_serialized_size(b1, &size), "builder size", k)) {
        buf = malloc(size);
        assert_non_null(buf);
        if (ok_or_nomem(lelp_builder_serialize(b1, buf, size, NULL), "builder serialize", k))
            if (!ok_or_nomem(lelp_builder_load(&b3, buf, size, NULL), "builder load", k)) assert_null(b3);
        free(buf);
        buf = NULL;
    }
    if (!ok_or_nomem(lelp_builder_save_path(b1, path), "builder save_path", k)) goto fit;
    if (!ok_or_nomem(lelp_builder_load_path(&b4, path, NULL), "builder load_path", k)) assert_null(b4);
fit:
    if (!ok_or_nomem(lelp_builder_fit(b1, &m), "fit", k)) {
        assert_null(m);
        goto loss;
    }
    if (ok_or_nomem(lelp_model_serialized_size(m, &size), "model size", k)) {
        buf = malloc(size);
        assert_non_null(buf);
        if (ok_or_nomem(lelp_model_serialize(m, buf, size, NULL), "model serialize", k))
            if (!ok_or_nomem(lelp_model_load(&m2, buf, size, NULL), "model load", k)) assert_null(m2);
        free(buf);
        buf = NULL;
    }
    if (ok_or_nomem(lelp_model_save_path(m, path), "model save_path", k))
        if (!ok_or_nomem(lelp_model_load_path(&m3, path, NULL), "model load_path", k)) assert_null(m3);
    if (!ok_or_nomem(lelp_model_with_beta(m, 0.7, &m4), "with_beta", k)) assert_null(m4);
    ok_or_nomem(lelp_model_targets_from_logits(m, H, Z, N, D, 2.0, T), "targets_from_logits", k);
    ok_or_nomem(lelp_model_targets_from_labels(m, H, y, N, D, 0.1, T), "targets_from_labels", k);
    ok_or_nomem(lelp_model_project(m, H, N, D, F), "project", k);
    ok_or_nomem(lelp_model_assign(m, H, y, N, D, sub), "assign", k);
    { /* the k-means labeller: its fit and a load of its (version 2) file */
        lelp_model *mk = NULL, *mk2 = NULL;
        assert_int_equal(lelp_builder_set_int(b1, LELP_BUILDER_LABELLER, LELP_LABELLER_KMEANS), LELP_OK);
        if (!ok_or_nomem(lelp_builder_fit(b1, &mk), "kmeans fit", k)) assert_null(mk);
        if (mk && ok_or_nomem(lelp_model_serialized_size(mk, &size), "kmeans model size", k)) {
            buf = malloc(size);
            assert_non_null(buf);
            if (ok_or_nomem(lelp_model_serialize(mk, buf, size, NULL), "kmeans model serialize", k))
                if (!ok_or_nomem(lelp_model_load(&mk2, buf, size, NULL), "kmeans model load", k)) assert_null(mk2);
            free(buf);
            buf = NULL;
        }
        assert_int_equal(lelp_builder_set_int(b1, LELP_BUILDER_LABELLER, LELP_LABELLER_PROJECTION), LELP_OK);
        lelp_model_free(mk);
        lelp_model_free(mk2);
    }
    double beta = 0.0, ent = 0.0;
    ok_or_nomem(lelp_model_estimate_beta(m, H, y, N, D, 0.5, &beta), "estimate_beta", k);
    ok_or_nomem(lelp_model_mean_entropy(m, H, y, N, D, 1.0, &ent), "mean_entropy", k);
loss:
    {
        /* the compressor: create, step, compress, distance loss, save, load */
        lelp_compressor *cp = NULL, *cp2 = NULL;
        lelp_allocator* ac = NULL;
        int have_alloc = ok_or_nomem(lelp_allocator_create(&ac, count_alloc, count_free, &cnt), "allocator_create 2", k);
        if (have_alloc && !ok_or_nomem(lelp_compressor_create(&cp, D, 3, C, ac), "compressor_create", k))
            assert_null(cp);
        lelp_allocator_free(ac);
        if (cp) {
            double hv = 0.0;
            static float Zc[N * 3], Gc[N * 3];
            ok_or_nomem(lelp_compressor_step(cp, H, y, NULL, N, &hv), "compressor_step", k);
            ok_or_nomem(lelp_compressor_compress(cp, H, N, Zc), "compressor_compress", k);
            assert_int_equal(lelp_compressor_set_int(cp, LELP_COMPRESSOR_DISTANCE, LELP_DISTANCE_DCOR), LELP_OK);
            ok_or_nomem(lelp_compressor_student_loss(cp, Zc, H, N, &hv, Gc), "compressor_student_loss", k);
            size_t cs = 0;
            assert_int_equal(lelp_compressor_serialized_size(cp, &cs), LELP_OK);
            void* cb = malloc(cs);
            assert_int_equal(lelp_compressor_serialize(cp, cb, cs, NULL), LELP_OK);
            if (!ok_or_nomem(lelp_compressor_load(&cp2, cb, cs, NULL), "compressor_load", k)) assert_null(cp2);
            free(cb);
        }
        lelp_compressor_free(cp);
        lelp_compressor_free(cp2);
    }
    {
        /* the sketch solver: its buffers come with the first update, a merge
         * or a load (a failure there once read the freed sketch) */
        lelp_builder *s1 = NULL, *s2 = NULL, *s3 = NULL;
        lelp_model* ms = NULL;
        lelp_allocator* as = NULL;
        if (ok_or_nomem(lelp_allocator_create(&as, count_alloc, count_free, &cnt), "allocator_create 3", k)) {
            if (!ok_or_nomem(lelp_builder_create(&s1, D, C, S, as), "sketch create 1", k)) assert_null(s1);
            if (!ok_or_nomem(lelp_builder_create(&s2, D, C, S, as), "sketch create 2", k)) assert_null(s2);
        }
        lelp_allocator_free(as);
        if (s1 && s2) {
            assert_int_equal(lelp_builder_set_int(s1, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH), LELP_OK);
            assert_int_equal(lelp_builder_set_int(s2, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH), LELP_OK);
            ok_or_nomem(lelp_builder_update(s1, H, y, N / 2, D), "sketch update 1", k);
            ok_or_nomem(lelp_builder_update(s2, H + (N / 2) * D, y + N / 2, N / 2, D), "sketch update 2", k);
            ok_or_nomem(lelp_builder_merge(s1, s2), "sketch merge", k);
            size_t ss = 0;
            if (ok_or_nomem(lelp_builder_serialized_size(s1, &ss), "sketch size", k)) {
                void* sb = malloc(ss);
                assert_non_null(sb);
                lelp_allocator* al = NULL;
                if (ok_or_nomem(lelp_builder_serialize(s1, sb, ss, NULL), "sketch serialize", k) &&
                    ok_or_nomem(lelp_allocator_create(&al, count_alloc, count_free, &cnt), "allocator_create 4", k) &&
                    !ok_or_nomem(lelp_builder_load(&s3, sb, ss, al), "sketch load", k))
                    assert_null(s3);
                lelp_allocator_free(al);
                free(sb);
            }
            if (!ok_or_nomem(lelp_builder_fit(s1, &ms), "sketch fit", k)) assert_null(ms);
        }
        lelp_model_free(ms);
        lelp_builder_free(s1);
        lelp_builder_free(s2);
        lelp_builder_free(s3);
    }
    /* the loss needs valid targets even if the model part failed */
    for (int i = 0; i < N * C * S; i++) T[i] = 1.0f / (C * S);
    if (ok_or_nomem(lelp_loss_create(&l, C, S, NULL), "loss_create", k)) {
        double v = 0.0;
        assert_int_equal(lelp_loss_compute(l, F, T, y, NULL, N, &v, G), LELP_OK);
    }
done:
    lelp_loss_free(l);
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_model_free(m3);
    lelp_model_free(m4);
    lelp_builder_free(b1);
    lelp_builder_free(b2);
    lelp_builder_free(b3);
    lelp_builder_free(b4);
    lelp_allocator_free(a);
    if (cnt.live_blocks != 0 || cnt.live_bytes != 0)
        fail_msg("k=%ld: %ld blocks / %lld bytes leaked", k, cnt.live_blocks, cnt.live_bytes);
    return cnt.failed;
}

static void test_every_allocation_can_fail(void** state)
{
    (void)state;
    char path[] = "build/test_alloc_failure.tmp";
    long k = 0;
    /* F must hold finite logits for the loss even when project failed */
    while (run_scenario(k, path)) {
        k++;
        assert_true(k < 100000);
    }
    /* k allocations happened in the clean run: each one was failed once */
    assert_true(k > 20);
    remove(path);
}

/* Calls of one loss on batches of n rows: 1 if all returned LELP_OK. */
static int loss_calls(const lelp_loss* l, const float* u, const float* t, const int32_t* yy, const float* w,
                      int64_t n, float* g)
{
    const int64_t sizes[] = {n, 1, n / 2, n};
    for (int k = 0; k < 4; k++) {
        double v = 0.0;
        if (lelp_loss_compute(l, u, t, yy, w, sizes[k], &v, g) != LELP_OK) return 0;
        if (lelp_loss_compute(l, u, t, yy, w, sizes[k], &v, NULL) != LELP_OK) return 0;
    }
    return 1;
}

/* Every loss kind and path allocates nothing per call once it has seen a
 * batch of its size: the KL-only chunks (alpha = 0), the row path
 * (0 < alpha < 1, weights), cross-entropy (alpha = 1), DKD, and the
 * auxiliary loss, whose batch buffers are kept and grow only for a larger
 * batch. A failed growth leaves the loss usable. */
static void test_loss_allocates_nothing(void** state)
{
    (void)state;
    enum { LC = 3, LS = 2, LK = LC * LS, LN = 64 };
    counter cnt = {0, -1, 0, 0, 0};
    lelp_allocator* a = NULL;
    assert_int_equal(lelp_allocator_create(&a, count_alloc, count_free, &cnt), LELP_OK);
    static float u[LN * LK], t[LN * LK], g[LN * LK], tc[LN * LC], w[LN];
    int32_t yy[LN];
    for (int i = 0; i < LN * LK; i++) {
        u[i] = (float)(i % 5) - 2.0f;
        t[i] = 1.0f / (float)LK;
    }
    for (int i = 0; i < LN * LC; i++) tc[i] = 1.0f / (float)LC;
    for (int i = 0; i < LN; i++) {
        yy[i] = i % LC;
        w[i] = 1.0f + (float)(i % 3);
    }
    struct { int kind; double alpha; int64_t s; const float* w; } cases[] = {
        {LELP_LOSS_KIND_KL, 0.0, LS, NULL},           {LELP_LOSS_KIND_KL, 0.0, LS, w},
        {LELP_LOSS_KIND_KL, 0.5, LS, w},              {LELP_LOSS_KIND_KL, 1.0, LS, NULL},
        {LELP_LOSS_KIND_DKD, 0.0, 1, NULL},           {LELP_LOSS_KIND_DKD, 0.3, 1, w},
        {LELP_LOSS_KIND_SUBCLASS_AUX, 0.0, LS, NULL}, {LELP_LOSS_KIND_SUBCLASS_AUX, 0.5, LS, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lelp_loss* l = NULL;
        const float* tt = cases[c].s == 1 ? tc : t;
        assert_int_equal(lelp_loss_create(&l, LC, cases[c].s, a), LELP_OK);
        assert_int_equal(lelp_loss_set_int(l, LELP_LOSS_KIND, cases[c].kind), LELP_OK);
        assert_int_equal(lelp_loss_set_double(l, LELP_LOSS_ALPHA, cases[c].alpha), LELP_OK);
        long before = cnt.calls;
        assert_true(loss_calls(l, u, tt, yy, cases[c].w, LN / 2, g)); /* the first batches */
        long first = cnt.calls - before;
        assert_true(first <= (cases[c].kind == LELP_LOSS_KIND_SUBCLASS_AUX ? 1 : 0));
        before = cnt.calls;
        assert_true(loss_calls(l, u, tt, yy, cases[c].w, LN / 2, g));
        assert_int_equal(cnt.calls, before);
        if (cases[c].kind == LELP_LOSS_KIND_SUBCLASS_AUX) {
            /* a larger batch grows the buffers once; if that fails, the
             * call says so and the smaller batches still run without
             * allocating */
            double v = 0.0;
            cnt.fail_at = cnt.calls;
            assert_int_equal(lelp_loss_compute(l, u, tt, yy, NULL, LN, &v, g), LELP_E_NOMEM);
            cnt.fail_at = -1;
            before = cnt.calls;
            assert_true(loss_calls(l, u, tt, yy, NULL, LN / 2, g));
            assert_int_equal(cnt.calls, before);
            assert_int_equal(lelp_loss_compute(l, u, tt, yy, NULL, LN, &v, g), LELP_OK);
            assert_int_equal(cnt.calls, before + 1);
            before = cnt.calls;
        }
        assert_true(loss_calls(l, u, tt, yy, cases[c].w, LN, g));
        assert_int_equal(cnt.calls, before);
        lelp_loss_free(l);
    }
    lelp_allocator_free(a);
    assert_int_equal(cnt.live_blocks, 0);
}

/* An allocator that ignores `align` and returns blocks 8 bytes past a
 * 64-byte boundary (a broken allocator, outside the contract): the loss
 * copies its per-row vectors in and out, so it must neither fault nor
 * change a bit against the default allocator. */
static void* shifted_alloc(void* opaque, size_t size, size_t align)
{
    (void)opaque;
    (void)align;
    void* p = NULL;
    if (posix_memalign(&p, 64, size + 64) != 0) return NULL;
    return (char*)p + 8;
}

static void shifted_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    (void)size;
    free((char*)p - 8);
}

static void test_loss_misaligned_allocator(void** state)
{
    (void)state;
    enum { LN = 300, LC = 3, LS = 5, LK = LC * LS };
    static float u[LN * LK], t[LN * LK], g0[LN * LK], g1[LN * LK];
    uint64_t s = 99;
    for (int i = 0; i < LN; i++) {
        double sum = 0.0;
        for (int k = 0; k < LK; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            u[i * LK + k] = (float)((double)(s >> 11) / 9007199254740992.0 * 8.0 - 4.0);
            t[i * LK + k] = (float)(0.05 + (double)(s >> 40) / 16777216.0);
            sum += t[i * LK + k];
        }
        for (int k = 0; k < LK; k++) t[i * LK + k] = (float)(t[i * LK + k] / sum);
    }
    lelp_allocator* a = NULL;
    lelp_loss *l0 = NULL, *l1 = NULL;
    assert_int_equal(lelp_allocator_create(&a, shifted_alloc, shifted_free, NULL), LELP_OK);
    assert_int_equal(lelp_loss_create(&l0, LC, LS, NULL), LELP_OK);
    assert_int_equal(lelp_loss_create(&l1, LC, LS, a), LELP_OK);
    double v0 = 0.0, v1 = 1.0;
    assert_int_equal(lelp_loss_compute(l0, u, t, NULL, NULL, LN, &v0, g0), LELP_OK);
    assert_int_equal(lelp_loss_compute(l1, u, t, NULL, NULL, LN, &v1, g1), LELP_OK);
    assert_memory_equal(&v0, &v1, sizeof v0);
    assert_memory_equal(g0, g1, sizeof g0);
    lelp_loss_free(l0);
    lelp_loss_free(l1);
    lelp_allocator_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_can_fail),
        cmocka_unit_test(test_loss_allocates_nothing),
        cmocka_unit_test(test_loss_misaligned_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
