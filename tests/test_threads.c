/* SPDX-License-Identifier: MIT */
/* test_threads.c -- a const lelp_model shared by 2 and 8 pthreads. Each
 * thread computes targets (logits and labels), projections, assignments, the
 * mean entropy and the loss (its own lelp_loss) on the same inputs into its
 * own buffers, several rounds; every result must be memcmp-equal to the
 * single-threaded one. Also: lelp_last_error is per thread, per-thread
 * builders over shards merge to the one-pass statistics, and sharded sketch
 * builders give the same bits run to run and keep the sketch's bound. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"
#include "state.h"
#include "synth.h"

#define EXPECT_OK(call)                                                                          \
    do {                                                                                         \
        int st_ = (call);                                                                        \
        if (st_ != LELP_OK)                                                                      \
            fail_msg("%s: %d (%s) %s", #call, st_, lelp_status_string(st_), lelp_last_error()); \
    } while (0)

enum { N = 600, D = 24, C = 3, S = 4, CS = C * S, ROUNDS = 3, MAXT = 8 };

typedef struct result {
    float Tz[N * CS], Ty[N * CS], F[N * CS], grad[N * CS];
    int32_t a[N];
    double loss, entropy;
    int status;       /* first non-OK status, or OK */
    char where[160];  /* which call failed */
} result;

static synth_data G;
static float Ustu[N * CS];
static float Wts[N];
static lelp_model* M;
static result* ref;

static void run_all(const lelp_model* m, result* r)
{
    memset(r, 0, sizeof *r);
    lelp_loss* l = NULL;
    int st;
#define RUN(call)                                                    \
    do {                                                             \
        if ((st = (call)) != LELP_OK) {                              \
            r->status = st;                                          \
            snprintf(r->where, sizeof r->where, "%s", #call);        \
            lelp_loss_free(l);                                       \
            return;                                                  \
        }                                                            \
    } while (0)
    RUN(lelp_loss_create(&l, C, S, NULL));
    RUN(lelp_loss_set_double(l, LELP_LOSS_TAU, 2.0));
    RUN(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 0.25));
    for (int round = 0; round < ROUNDS; round++) {
        RUN(lelp_model_targets_from_logits(m, G.H, G.Z, N, D, 2.0, r->Tz));
        RUN(lelp_model_targets_from_labels(m, G.H, G.y, N, D, 0.1, r->Ty));
        RUN(lelp_model_project(m, G.H, N, D, r->F));
        RUN(lelp_model_assign(m, G.H, G.y, N, D, r->a));
        RUN(lelp_model_mean_entropy(m, G.H, G.y, N, D, 0.7, &r->entropy));
        RUN(lelp_loss_compute(l, Ustu, r->Tz, G.y, Wts, N, &r->loss, r->grad));
    }
    lelp_loss_free(l);
#undef RUN
}

static void* worker(void* arg)
{
    run_all(M, arg);
    return NULL;
}

static int setup(void** state)
{
    (void)state;
    synth_spec sp = synth_default(N, D, C, 3, 606);
    if (synth_make(&G, &sp)) return -1;
    synth_rng r;
    synth_rng_seed(&r, 1);
    synth_fill_normal(&r, Ustu, N * CS, 1.5);
    for (int i = 0; i < N; i++) Wts[i] = (float)(0.5 + synth_uniform(&r));
    lelp_builder* b = NULL;
    if (lelp_builder_create(&b, D, C, S, NULL)) return -1;
    if (lelp_builder_update(b, G.H, G.y, N, D)) return -1;
    if (lelp_builder_set_head(b, G.W, C, D)) return -1;
    if (lelp_builder_fit(b, &M)) return -1;
    lelp_builder_free(b);
    ref = malloc(sizeof *ref);
    if (!ref) return -1;
    run_all(M, ref);
    return ref->status;
}

static int teardown(void** state)
{
    (void)state;
    lelp_model_free(M);
    free(ref);
    synth_free(&G);
    return 0;
}

static void compare(const result* r, int t)
{
    if (r->status != LELP_OK) fail_msg("thread %d: %s failed with %d", t, r->where, r->status);
    assert_memory_equal(r->Tz, ref->Tz, sizeof r->Tz);
    assert_memory_equal(r->Ty, ref->Ty, sizeof r->Ty);
    assert_memory_equal(r->F, ref->F, sizeof r->F);
    assert_memory_equal(r->a, ref->a, sizeof r->a);
    assert_memory_equal(r->grad, ref->grad, sizeof r->grad);
    assert_memory_equal(&r->loss, &ref->loss, sizeof r->loss);
    assert_memory_equal(&r->entropy, &ref->entropy, sizeof r->entropy);
}

static void shared_model(int nthreads)
{
    pthread_t th[MAXT];
    result* res = calloc((size_t)nthreads, sizeof *res);
    assert_non_null(res);
    for (int t = 0; t < nthreads; t++) assert_int_equal(pthread_create(&th[t], NULL, worker, &res[t]), 0);
    for (int t = 0; t < nthreads; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < nthreads; t++) compare(&res[t], t);
    /* the reference is not trivially empty */
    double mass = 0;
    for (int j = 0; j < CS; j++) mass += ref->Tz[j];
    assert_true(fabs(mass - 1.0) < 1e-5);
    assert_true(ref->loss > 0.0);
    free(res);
}

static void test_two_threads(void** state)
{
    (void)state;
    shared_model(2);
}

static void test_eight_threads(void** state)
{
    (void)state;
    shared_model(8);
}

/* ------------------------------------------------ per-thread last_error */
static pthread_barrier_t barrier;
typedef struct err_job {
    int idx;
    int ok;
    char msg[256];
} err_job;

static void* err_worker(void* arg)
{
    err_job* j = arg;
    int64_t cnt;
    lelp_builder* b = NULL;
    j->ok = lelp_builder_create(&b, 2, 3, 1, NULL) == LELP_OK;
    /* a class index unique to this thread: 1000 + idx */
    int st = lelp_builder_count(b, 1000 + j->idx, &cnt);
    j->ok = j->ok && st == LELP_E_LABEL_RANGE;
    pthread_barrier_wait(&barrier); /* every thread has failed once */
    pthread_barrier_wait(&barrier); /* and the main thread has failed too */
    snprintf(j->msg, sizeof j->msg, "%s", lelp_last_error());
    lelp_builder_free(b);
    return NULL;
}

static void test_last_error_per_thread(void** state)
{
    (void)state;
    enum { T = 4 };
    pthread_t th[T];
    err_job jobs[T];
    assert_int_equal(pthread_barrier_init(&barrier, NULL, T + 1), 0);
    for (int t = 0; t < T; t++) {
        jobs[t].idx = t;
        jobs[t].ok = 0;
        jobs[t].msg[0] = 0;
        assert_int_equal(pthread_create(&th[t], NULL, err_worker, &jobs[t]), 0);
    }
    pthread_barrier_wait(&barrier);
    float t1[3];
    const float z[3] = {1, 2, 3};
    assert_int_equal(lelp_softmax_targets(z, 1, 3, -5.0, t1), LELP_E_INVALID_ARG);
    pthread_barrier_wait(&barrier);
    for (int t = 0; t < T; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    pthread_barrier_destroy(&barrier);
    for (int t = 0; t < T; t++) {
        assert_true(jobs[t].ok);
        char want[16];
        snprintf(want, sizeof want, "%d", 1000 + t);
        if (!strstr(jobs[t].msg, want))
            fail_msg("thread %d sees last_error \"%s\", which does not name its class %s", t, jobs[t].msg, want);
        for (int u = 0; u < T; u++) {
            if (u == t) continue;
            snprintf(want, sizeof want, "%d", 1000 + u);
            if (strstr(jobs[t].msg, want)) fail_msg("thread %d sees thread %d's error: \"%s\"", t, u, jobs[t].msg);
        }
    }
    /* the main thread's own message is its own */
    if (strstr(lelp_last_error(), "1000")) fail_msg("main thread sees a worker's error: %s", lelp_last_error());
}

/* ------------------------------------------- builders per thread + merge */
typedef struct shard_job {
    const float* H;
    const int32_t* y;
    int64_t n;
    lelp_builder* b;
    int status;
    int64_t sketch; /* 0: exact solver; else the sketch solver with this size */
} shard_job;

static void* shard_worker(void* arg)
{
    shard_job* j = arg;
    j->status = lelp_builder_create(&j->b, D, C, S, NULL);
    if (j->status == LELP_OK && j->sketch) j->status = lelp_builder_set_int(j->b, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH);
    if (j->status == LELP_OK && j->sketch) j->status = lelp_builder_set_int(j->b, LELP_BUILDER_SKETCH_SIZE, j->sketch);
    /* stream in small batches to interleave with the other threads */
    for (int64_t i = 0; i < j->n && j->status == LELP_OK; i += 13) {
        int64_t nb = j->n - i < 13 ? j->n - i : 13;
        j->status = lelp_builder_update(j->b, j->H + i * D, j->y + i, nb, D);
    }
    return NULL;
}

static void test_sharded_builders(void** state)
{
    (void)state;
    enum { T = 4 };
    pthread_t th[T];
    shard_job jobs[T];
    for (int t = 0; t < T; t++) {
        int64_t lo = (int64_t)N * t / T, hi = (int64_t)N * (t + 1) / T;
        jobs[t] = (shard_job){G.H + lo * D, G.y + lo, hi - lo, NULL, -1, 0};
        assert_int_equal(pthread_create(&th[t], NULL, shard_worker, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    lelp_builder* total = NULL;
    EXPECT_OK(lelp_builder_create(&total, D, C, S, NULL));
    for (int t = 0; t < T; t++) {
        assert_int_equal(jobs[t].status, LELP_OK);
        EXPECT_OK(lelp_builder_merge(total, jobs[t].b));
    }
    lelp_builder* one = NULL;
    EXPECT_OK(lelp_builder_create(&one, D, C, S, NULL));
    EXPECT_OK(lelp_builder_update(one, G.H, G.y, N, D));
    lelp_model *ma = NULL, *mb = NULL;
    EXPECT_OK(lelp_builder_fit(total, &ma));
    EXPECT_OK(lelp_builder_fit(one, &mb));
    double ea[CS], eb[CS];
    EXPECT_OK(lelp_model_eigenvalues(ma, ea, CS));
    EXPECT_OK(lelp_model_eigenvalues(mb, eb, CS));
    for (int k = 0; k < CS; k++)
        if (!(fabs(ea[k] - eb[k]) <= 1e-10 * eb[k])) fail_msg("eigenvalue %d: %.17g vs %.17g", k, ea[k], eb[k]);
    for (int c = 0; c < C; c++) {
        int64_t na, nb;
        EXPECT_OK(lelp_builder_count(total, c, &na));
        EXPECT_OK(lelp_builder_count(one, c, &nb));
        assert_int_equal(na, nb);
    }
    lelp_model_free(ma);
    lelp_model_free(mb);
    lelp_builder_free(one);
    lelp_builder_free(total);
    for (int t = 0; t < T; t++) lelp_builder_free(jobs[t].b);
}

/* T threads stream shares of the data into sketch builders of size ell,
 * merged in shard order into a new builder; returns its serialized state
 * (malloc'd, *size bytes) and its model. */
static unsigned char* sharded_sketch(int64_t ell, size_t* size, lelp_model** model)
{
    enum { T = 3 };
    pthread_t th[T];
    shard_job jobs[T];
    for (int t = 0; t < T; t++) {
        int64_t lo = (int64_t)N * t / T, hi = (int64_t)N * (t + 1) / T;
        jobs[t] = (shard_job){G.H + lo * D, G.y + lo, hi - lo, NULL, -1, ell};
        assert_int_equal(pthread_create(&th[t], NULL, shard_worker, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    lelp_builder* total = NULL;
    EXPECT_OK(lelp_builder_create(&total, D, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(total, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH));
    EXPECT_OK(lelp_builder_set_int(total, LELP_BUILDER_SKETCH_SIZE, ell));
    for (int t = 0; t < T; t++) {
        assert_int_equal(jobs[t].status, LELP_OK);
        EXPECT_OK(lelp_builder_merge(total, jobs[t].b));
        lelp_builder_free(jobs[t].b);
    }
    unsigned char* bytes = builder_bytes(total, size);
    EXPECT_OK(lelp_builder_fit(total, model));
    lelp_builder_free(total);
    return bytes;
}

/* The host's parallel route with the sketch solver (what bench/run.py
 * times): the same inputs and shard split give the same bits every run,
 * whatever the threads' interleaving, and the merged sketch keeps Frequent
 * Directions' guarantee against the exact fit: 0 <= lambda_i - lambda~_i <=
 * ||A||_F^2 / (m (n - 1)) = trace_c / m, m = ceil(ell / 5) the rows each
 * shrink lowers (k = 0 in docs/method.md's bound,
 * by Weyl's inequality). ell = 6 with ~200 rows per class: many shrinks. */
static void test_sharded_sketch(void** state)
{
    (void)state;
    const int64_t ell = 6, m = (ell + 4) / 5;
    size_t na = 0, nb = 0;
    lelp_model *ma = NULL, *mb = NULL;
    unsigned char* a = sharded_sketch(ell, &na, &ma);
    for (int run = 0; run < 3; run++) {
        unsigned char* b = sharded_sketch(ell, &nb, &mb);
        assert_int_equal(na, nb);
        if (memcmp(a, b, na) != 0) fail_msg("run %d: the merged sketch state differs", run);
        lelp_model_free(mb);
        free(b);
    }
    lelp_builder* one = NULL; /* the exact fit of the same data, no head */
    lelp_model* exact = NULL;
    EXPECT_OK(lelp_builder_create(&one, D, C, S, NULL));
    EXPECT_OK(lelp_builder_update(one, G.H, G.y, N, D));
    EXPECT_OK(lelp_builder_fit(one, &exact));
    lelp_builder_free(one);
    double lam[CS], ex[CS], ratio[CS];
    EXPECT_OK(lelp_model_eigenvalues(ma, lam, CS));
    EXPECT_OK(lelp_model_eigenvalues(exact, ex, CS));
    EXPECT_OK(lelp_model_explained_variance_ratio(exact, ratio, CS));
    lelp_model_free(exact);
    int shrunk = 0;
    for (int c = 0; c < C; c++) {
        const double trace = ex[c * S] / ratio[c * S];
        for (int s = 0; s < S; s++) {
            const int k = c * S + s;
            if (!(lam[k] <= ex[k] * (1.0 + 1e-9)))
                fail_msg("class %d pair %d: sketch %.17g above exact %.17g", c, s, lam[k], ex[k]);
            if (!(ex[k] - lam[k] <= trace / (double)m * (1.0 + 1e-9)))
                fail_msg("class %d pair %d: exact %.17g - sketch %.17g beyond the bound %.6g", c, s, ex[k], lam[k],
                         trace / (double)m);
            shrunk |= ex[k] - lam[k] > 1e-6 * ex[k];
        }
    }
    assert_true(shrunk); /* the sketch did lose mass: the bound was exercised */
    lelp_model_free(ma);
    free(a);
}

/* OpenBLAS picks its own thread split per call, and concurrent callers can
 * get a different split (so a different summation order) than a lone one;
 * with one BLAS thread the comparison below is about liblelp alone. */
void openblas_set_num_threads(int n);

int main(void)
{
    openblas_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_eight_threads),
        cmocka_unit_test(test_last_error_per_thread),
        cmocka_unit_test(test_sharded_builders),
        cmocka_unit_test(test_sharded_sketch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
