/* SPDX-License-Identifier: MIT */
/* test_faultsim.c -- allocation failures, as sqlite's faultsim does them:
 * for every public call that can allocate, fail its k-th allocation for
 * k = 0, 1, 2, ... (one-shot mode), and fail every allocation from the
 * k-th on (persistent mode), until the call runs clean. Each failing call
 * must return LELP_E_NOMEM with a message that starts with its own name,
 * leave its handle exactly as it was -- the serialized state, every
 * parameter and whether the fixed-once-started ones can still be set --,
 * set creators' *out to NULL, and leak nothing; after the failure the
 * handle must still work (the same call, allocations allowed, succeeds). */
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

/* ---- the failing allocator ------------------------------------------------ */
typedef struct faultsim {
    long calls;      /* allocations attempted since armed */
    long fail_at;    /* -1: never fail */
    int persistent;  /* 1: every allocation from fail_at on fails */
    int hit;         /* an injected failure happened */
    long live_blocks;
} faultsim;

static faultsim fs = {0, -1, 0, 0, 0};

static void* fs_alloc(void* opaque, size_t size, size_t align)
{
    (void)opaque;
    long k = fs.calls++;
    if (fs.fail_at >= 0 && (k == fs.fail_at || (fs.persistent && k > fs.fail_at))) {
        fs.hit = 1;
        return NULL;
    }
    void* p = NULL;
    if (align < sizeof(void*)) align = sizeof(void*);
    if (posix_memalign(&p, align, size) != 0) return NULL;
    fs.live_blocks++;
    return p;
}

static void fs_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    (void)size;
    fs.live_blocks--;
    free(p);
}

static void arm(long k, int persistent)
{
    fs.calls = 0;
    fs.fail_at = k;
    fs.persistent = persistent;
    fs.hit = 0;
}

static void disarm(void)
{
    fs.fail_at = -1;
}

/* ---- data ------------------------------------------------------------------ */
enum { N = 90, D = 6, C = 3, S = 2 };
static float H[N * D], W[C * D], Z[N * C], T[N * C * S], F[N * C * S], G[N * C * S];
static int32_t y[N], sub[N];

static void make_data(void)
{
    uint64_t s = 777;
    for (int i = 0; i < N * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        H[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * (float)(1 + i % D);
    }
    for (int i = 0; i < N; i++) y[i] = i % C;
    for (int i = 0; i < C * D; i++) W[i] = (float)((i * 7 % 5) - 2);
    for (int i = 0; i < N * C; i++) Z[i] = (float)((i * 3 % 7) - 3) * 0.5f;
    for (int i = 0; i < N * C * S; i++) T[i] = 1.0f / (C * S);
}

/* ---- snapshots of a handle: what "left as it was" compares ---------------- */
typedef struct snapshot {
    unsigned char* bytes; /* serialized state (builder, compressor); NULL otherwise */
    size_t size;
    int64_t iv[16];
    double dv[16];
    int fixed;            /* builder: LELP_BUILDER_SOLVER can no longer be set */
} snapshot;

static const int builder_int[] = {LELP_BUILDER_NULL_SPACE, LELP_BUILDER_ROTATE,    LELP_BUILDER_SEED,
                                  LELP_BUILDER_SOLVER,     LELP_BUILDER_SKETCH_SIZE, LELP_BUILDER_PRECISION,
                                  LELP_BUILDER_GRAM_FORM,  LELP_BUILDER_BETA_SAMPLE};
static const int builder_dbl[] = {LELP_BUILDER_BETA, LELP_BUILDER_ENTROPY_FRACTION};
static const int comp_int[] = {LELP_COMPRESSOR_DISTANCE, LELP_COMPRESSOR_OPTIMIZER, LELP_COMPRESSOR_MULTILABEL,
                               LELP_COMPRESSOR_SEED};
static const int comp_dbl[] = {LELP_COMPRESSOR_LR, LELP_COMPRESSOR_WEIGHT_DECAY, LELP_COMPRESSOR_MOMENTUM,
                               LELP_COMPRESSOR_ADAM_BETA1, LELP_COMPRESSOR_ADAM_BETA2};
static const int loss_int[] = {LELP_LOSS_REDUCTION, LELP_LOSS_KIND};
static const int loss_dbl[] = {LELP_LOSS_TAU, LELP_LOSS_ALPHA, LELP_LOSS_DKD_TARGET_WEIGHT,
                               LELP_LOSS_DKD_NONTARGET_WEIGHT, LELP_LOSS_AUX_TEMPERATURE};
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Taken with the allocator disarmed (serializing allocates nothing
 * through the handle, but the snapshot must not count either way). */
static snapshot snap_builder(lelp_builder* b)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    assert_int_equal(lelp_builder_serialized_size(b, &s.size), LELP_OK);
    s.bytes = malloc(s.size);
    assert_non_null(s.bytes);
    assert_int_equal(lelp_builder_serialize(b, s.bytes, s.size, NULL), LELP_OK);
    for (size_t i = 0; i < LEN(builder_int); i++) assert_int_equal(lelp_builder_get_int(b, builder_int[i], &s.iv[i]), 0);
    for (size_t i = 0; i < LEN(builder_dbl); i++) assert_int_equal(lelp_builder_get_double(b, builder_dbl[i], &s.dv[i]), 0);
    /* setting the solver to its own value is refused only once it is fixed */
    s.fixed = lelp_builder_set_int(b, LELP_BUILDER_SOLVER, s.iv[3]) == LELP_E_STAGE;
    return s;
}

static snapshot snap_compressor(lelp_compressor* c)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    assert_int_equal(lelp_compressor_serialized_size(c, &s.size), LELP_OK);
    s.bytes = malloc(s.size);
    assert_non_null(s.bytes);
    assert_int_equal(lelp_compressor_serialize(c, s.bytes, s.size, NULL), LELP_OK);
    for (size_t i = 0; i < LEN(comp_int); i++) assert_int_equal(lelp_compressor_get_int(c, comp_int[i], &s.iv[i]), 0);
    for (size_t i = 0; i < LEN(comp_dbl); i++) assert_int_equal(lelp_compressor_get_double(c, comp_dbl[i], &s.dv[i]), 0);
    return s;
}

static snapshot snap_loss(lelp_loss* l)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < LEN(loss_int); i++) assert_int_equal(lelp_loss_get_int(l, loss_int[i], &s.iv[i]), 0);
    for (size_t i = 0; i < LEN(loss_dbl); i++) assert_int_equal(lelp_loss_get_double(l, loss_dbl[i], &s.dv[i]), 0);
    return s;
}

static void same_snapshot(const snapshot* a, const snapshot* b, const char* what, long k)
{
    if (a->size != b->size || (a->size && memcmp(a->bytes, b->bytes, a->size) != 0))
        fail_msg("%s failing at allocation %ld changed the handle's serialized state", what, k);
    if (memcmp(a->iv, b->iv, sizeof a->iv) != 0 || memcmp(a->dv, b->dv, sizeof a->dv) != 0)
        fail_msg("%s failing at allocation %ld changed a parameter", what, k);
    if (a->fixed != b->fixed)
        fail_msg("%s failing at allocation %ld %s the fixed-once-started parameters", what, k,
                 b->fixed ? "fixed" : "freed");
}

static void drop(snapshot* s)
{
    free(s->bytes);
    s->bytes = NULL;
}

/* ---- the calls ------------------------------------------------------------- */
/* A case prepares its handles (allocator disarmed), snapshots the one the
 * call may change, runs the call, and cleans up. */
typedef struct fixture {
    lelp_allocator* a;
    lelp_builder *b, *src;
    lelp_model *m, *mout;
    lelp_loss* l;
    lelp_compressor *c, *cout;
    lelp_builder* bout;
    lelp_info* info;
    unsigned char* buf;
    size_t size;
    char path[64];
} fixture;

static lelp_builder* new_builder(fixture* f, int solver, int precision, int64_t rows)
{
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, D, C, S, f->a), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, solver), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, precision), LELP_OK);
    if (rows) assert_int_equal(lelp_builder_update(b, H, y, rows, D), LELP_OK);
    return b;
}

enum { K_NONE, K_BUILDER, K_COMPRESSOR, K_LOSS, K_OUT_BUILDER, K_OUT_MODEL, K_OUT_COMPRESSOR, K_OUT_INFO };

typedef struct fcase {
    const char* name;   /* the entry point: every message starts with it */
    const char* prefix; /* what the message may start with instead (a call it delegates to), or NULL */
    void (*setup)(fixture* f);
    int (*call)(fixture* f);
    int kind;           /* which handle is snapshotted, or which *out must stay NULL */
} fcase;

/* builders */
static void su_fresh_exact(fixture* f) { f->b = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, 0); }
static void su_fresh_f32(fixture* f) { f->b = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT32, 0); }
static void su_fresh_sketch(fixture* f) { f->b = new_builder(f, LELP_SOLVER_SKETCH, LELP_PRECISION_FLOAT64, 0); }
static void su_started(fixture* f) { f->b = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, 12); }
static void su_merge_fresh(fixture* f)
{
    f->b = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, 0);
    f->src = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, N);
}
static void su_merge_started(fixture* f)
{
    f->b = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, 9);
    f->src = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, N);
}
static void su_merge_sketch(fixture* f)
{
    f->b = new_builder(f, LELP_SOLVER_SKETCH, LELP_PRECISION_FLOAT64, 0);
    f->src = new_builder(f, LELP_SOLVER_SKETCH, LELP_PRECISION_FLOAT64, N);
}
static void su_full(fixture* f)
{
    f->b = new_builder(f, LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, N);
    assert_int_equal(lelp_builder_set_head(f->b, W, C, D), LELP_OK);
}
static void su_full_sketch(fixture* f) { f->b = new_builder(f, LELP_SOLVER_SKETCH, LELP_PRECISION_FLOAT64, N); }
static void su_builder_bytes(fixture* f)
{
    su_full(f);
    assert_int_equal(lelp_builder_serialized_size(f->b, &f->size), LELP_OK);
    f->buf = malloc(f->size);
    assert_int_equal(lelp_builder_serialize(f->b, f->buf, f->size, NULL), LELP_OK);
}
static int ca_update(fixture* f) { return lelp_builder_update(f->b, H, y, N, D); }
static int ca_merge(fixture* f) { return lelp_builder_merge(f->b, f->src); }
static int ca_fit(fixture* f) { return lelp_builder_fit(f->b, &f->mout); }
static int ca_builder_save(fixture* f) { return lelp_builder_save_path(f->b, f->path); }
static int ca_builder_load(fixture* f) { return lelp_builder_load(&f->bout, f->buf, f->size, f->a); }
static int ca_builder_create(fixture* f) { return lelp_builder_create(&f->bout, D, C, S, f->a); }
static int ca_builder_inspect(fixture* f) { return lelp_builder_inspect(f->b, &f->info); }
static int ca_inspect_bytes(fixture* f) { return lelp_inspect(&f->info, f->buf, f->size, f->a); }

/* models */
static void su_model(fixture* f)
{
    su_full(f);
    assert_int_equal(lelp_builder_fit(f->b, &f->m), LELP_OK);
    assert_int_equal(lelp_model_serialized_size(f->m, &f->size), LELP_OK);
    f->buf = malloc(f->size);
    assert_int_equal(lelp_model_serialize(f->m, f->buf, f->size, NULL), LELP_OK);
}
static int ca_targets(fixture* f) { return lelp_model_targets_from_logits(f->m, H, Z, N, D, 2.0, T); }
static int ca_targets_labels(fixture* f) { return lelp_model_targets_from_labels(f->m, H, y, N, D, 0.1, T); }
static int ca_assign(fixture* f) { return lelp_model_assign(f->m, H, y, N, D, sub); }
static int ca_estimate(fixture* f)
{
    double beta = 0.0;
    return lelp_model_estimate_beta(f->m, H, y, N, D, 0.5, &beta);
}
static int ca_entropy(fixture* f)
{
    double e = 0.0;
    return lelp_model_mean_entropy(f->m, H, y, N, D, 1.0, &e);
}
static int ca_with_beta(fixture* f) { return lelp_model_with_beta(f->m, 0.5, &f->mout); }
static int ca_model_load(fixture* f) { return lelp_model_load(&f->mout, f->buf, f->size, f->a); }
static int ca_model_save(fixture* f) { return lelp_model_save_path(f->m, f->path); }

/* loss and compressor */
static void su_aux_loss(fixture* f)
{
    assert_int_equal(lelp_loss_create(&f->l, C, S, f->a), LELP_OK);
    assert_int_equal(lelp_loss_set_int(f->l, LELP_LOSS_KIND, LELP_LOSS_KIND_SUBCLASS_AUX), LELP_OK);
}
static int ca_loss(fixture* f)
{
    double v = 0.0;
    return lelp_loss_compute(f->l, F, NULL, NULL, NULL, N, &v, G);
}
static int ca_loss_create(fixture* f)
{
    lelp_loss* l = NULL;
    int st = lelp_loss_create(&l, C, S, f->a);
    if (st != LELP_OK) assert_null(l);
    lelp_loss_free(l);
    return st;
}
static void su_compressor(fixture* f)
{
    assert_int_equal(lelp_compressor_create(&f->c, D, 4, C, f->a), LELP_OK);
    assert_int_equal(lelp_compressor_set_int(f->c, LELP_COMPRESSOR_DISTANCE, LELP_DISTANCE_DCOR), LELP_OK);
    assert_int_equal(lelp_compressor_serialized_size(f->c, &f->size), LELP_OK);
    f->buf = malloc(f->size);
    assert_int_equal(lelp_compressor_serialize(f->c, f->buf, f->size, NULL), LELP_OK);
}
static int ca_step(fixture* f)
{
    double v = 0.0;
    return lelp_compressor_step(f->c, H, y, NULL, N, &v);
}
static int ca_compress(fixture* f) { return lelp_compressor_compress(f->c, H, N, F); }
static int ca_student(fixture* f)
{
    double v = 0.0;
    return lelp_compressor_student_loss(f->c, F, H, N, &v, G);
}
static int ca_comp_load(fixture* f) { return lelp_compressor_load(&f->cout, f->buf, f->size, f->a); }
static int ca_comp_create(fixture* f) { return lelp_compressor_create(&f->cout, D, 4, C, f->a); }

static const fcase cases[] = {
    {"lelp_builder_update", NULL, su_fresh_exact, ca_update, K_BUILDER},
    {"lelp_builder_update", NULL, su_fresh_f32, ca_update, K_BUILDER},
    {"lelp_builder_update", NULL, su_fresh_sketch, ca_update, K_BUILDER},
    {"lelp_builder_update", NULL, su_started, ca_update, K_BUILDER},
    {"lelp_builder_merge", NULL, su_merge_fresh, ca_merge, K_BUILDER},
    {"lelp_builder_merge", NULL, su_merge_started, ca_merge, K_BUILDER},
    {"lelp_builder_merge", NULL, su_merge_sketch, ca_merge, K_BUILDER},
    {"lelp_builder_fit", NULL, su_full, ca_fit, K_BUILDER},
    {"lelp_builder_fit", NULL, su_full_sketch, ca_fit, K_BUILDER},
    {"lelp_builder_save_path", NULL, su_full, ca_builder_save, K_BUILDER},
    {"lelp_builder_inspect", NULL, su_full, ca_builder_inspect, K_BUILDER},
    {"lelp_builder_load", NULL, su_builder_bytes, ca_builder_load, K_OUT_BUILDER},
    {"lelp_builder_create", NULL, su_fresh_exact, ca_builder_create, K_OUT_BUILDER},
    {"lelp_inspect", NULL, su_builder_bytes, ca_inspect_bytes, K_OUT_INFO},
    {"lelp_model_targets_from_logits", NULL, su_model, ca_targets, K_NONE},
    {"lelp_model_targets_from_labels", NULL, su_model, ca_targets_labels, K_NONE},
    {"lelp_model_assign", NULL, su_model, ca_assign, K_NONE},
    {"lelp_model_estimate_beta", NULL, su_model, ca_estimate, K_NONE},
    {"lelp_model_mean_entropy", NULL, su_model, ca_entropy, K_NONE},
    {"lelp_model_with_beta", NULL, su_model, ca_with_beta, K_OUT_MODEL},
    {"lelp_model_load", NULL, su_model, ca_model_load, K_OUT_MODEL},
    {"lelp_model_save_path", NULL, su_model, ca_model_save, K_NONE},
    {"lelp_inspect", NULL, su_model, ca_inspect_bytes, K_OUT_INFO},
    {"lelp_loss_compute", NULL, su_aux_loss, ca_loss, K_LOSS},
    {"lelp_loss_create", NULL, su_aux_loss, ca_loss_create, K_NONE},
    {"lelp_compressor_step", NULL, su_compressor, ca_step, K_COMPRESSOR},
    {"lelp_compressor_compress", NULL, su_compressor, ca_compress, K_COMPRESSOR},
    {"lelp_compressor_student_loss", NULL, su_compressor, ca_student, K_COMPRESSOR},
    {"lelp_compressor_load", NULL, su_compressor, ca_comp_load, K_OUT_COMPRESSOR},
    {"lelp_compressor_create", NULL, su_compressor, ca_comp_create, K_OUT_COMPRESSOR},
};

static snapshot take(const fcase* fc, fixture* f)
{
    snapshot s;
    memset(&s, 0, sizeof s);
    if (fc->kind == K_BUILDER) s = snap_builder(f->b);
    if (fc->kind == K_COMPRESSOR) s = snap_compressor(f->c);
    if (fc->kind == K_LOSS) s = snap_loss(f->l);
    return s;
}

static void teardown(fixture* f)
{
    lelp_builder_free(f->b);
    lelp_builder_free(f->src);
    lelp_builder_free(f->bout);
    lelp_model_free(f->m);
    lelp_model_free(f->mout);
    lelp_loss_free(f->l);
    lelp_compressor_free(f->c);
    lelp_compressor_free(f->cout);
    lelp_info_free(f->info);
    lelp_allocator_free(f->a);
    free(f->buf);
    remove(f->path);
}

/* One case with allocation k failing (one-shot or from k on); returns
 * whether an injected failure was hit. */
static int run_case(const fcase* fc, long k, int persistent)
{
    fixture f;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "build/test_faultsim_%d.tmp", (int)getpid());
    disarm();
    fs.live_blocks = 0;
    assert_int_equal(lelp_allocator_create(&f.a, fs_alloc, fs_free, NULL), LELP_OK);
    fc->setup(&f);
    snapshot before = take(fc, &f);
    arm(k, persistent);
    int st = fc->call(&f);
    disarm();
    const int hit = fs.hit;
    if (st != LELP_OK) {
        if (st != LELP_E_NOMEM)
            fail_msg("%s (allocation %ld%s) returned %d (%s): %s", fc->name, k, persistent ? " on" : "", st,
                     lelp_status_string(st), lelp_last_error());
        if (!hit) fail_msg("%s returned LELP_E_NOMEM without an injected failure", fc->name);
        const char* msg = lelp_last_error();
        if (strncmp(msg, fc->name, strlen(fc->name)) != 0 && !(fc->prefix && strncmp(msg, fc->prefix, strlen(fc->prefix)) == 0))
            fail_msg("%s: the message does not start with the call's name: \"%s\"", fc->name, msg);
        snapshot after = take(fc, &f);
        same_snapshot(&before, &after, fc->name, k);
        drop(&after);
        if (fc->kind == K_OUT_BUILDER) assert_null(f.bout);
        if (fc->kind == K_OUT_MODEL) assert_null(f.mout);
        if (fc->kind == K_OUT_COMPRESSOR) assert_null(f.cout);
        if (fc->kind == K_OUT_INFO) assert_null(f.info);
        /* and the handle still works: the same call with memory succeeds */
        if (fc->kind == K_BUILDER || fc->kind == K_COMPRESSOR || fc->kind == K_LOSS || fc->kind == K_NONE)
            if ((st = fc->call(&f)) != LELP_OK)
                fail_msg("%s after a failure at allocation %ld: %d (%s)", fc->name, k, st, lelp_last_error());
    }
    drop(&before);
    teardown(&f);
    if (fs.live_blocks != 0) fail_msg("%s failing at allocation %ld leaked %ld blocks", fc->name, k, fs.live_blocks);
    return hit;
}

static void run_mode(int persistent)
{
    make_data();
    for (size_t i = 0; i < LEN(cases); i++) {
        long k = 0;
        while (run_case(&cases[i], k, persistent)) {
            k++;
            assert_true(k < 10000);
        }
        /* every call case allocates at least once (else it tests nothing) */
        if (k == 0) fail_msg("case %zu (%s) made no allocation", i, cases[i].name);
    }
}

static void test_each_allocation_fails_once(void** s)
{
    (void)s;
    run_mode(0);
}

static void test_every_allocation_fails_from_k_on(void** s)
{
    (void)s;
    run_mode(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_allocation_fails_once),
        cmocka_unit_test(test_every_allocation_fails_from_k_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
