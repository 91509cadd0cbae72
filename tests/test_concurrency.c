/* test_concurrency.c -- one shared const model, 2 and 8 threads, each with its
 * own loss handle and buffers, computing targets, assignments, projections
 * and the loss concurrently: every result equals the single-threaded one
 * bit for bit. (Also built under ThreadSanitizer by `make check-tsan`.) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"
#include "gen.h"

enum { N = 700, D = 12, C = 2, S = 4, K = C * S, ROUNDS = 4 };

static float H[N * D], Z[N * C];
static int32_t y[N];

typedef struct result {
    float T[N * K], F[N * K], G[N * K];
    int32_t a[N];
    double loss;
    int status;
} result;

typedef struct job {
    const lelp_model* m;
    result* r;
} job;

static void compute(const lelp_model* m, result* r)
{
    lelp_loss* l = NULL;
    r->status = lelp_loss_create(&l, C, S, NULL);
    for (int round = 0; round < ROUNDS && r->status == LELP_OK; round++) {
        r->status = lelp_model_targets_from_logits(m, H, Z, N, D, 2.0, r->T);
        if (!r->status) r->status = lelp_model_project(m, H, N, D, r->F);
        if (!r->status) r->status = lelp_model_assign(m, H, y, N, D, r->a);
        if (!r->status) r->status = lelp_loss_set_double(l, LELP_LOSS_TAU, 2.0);
        if (!r->status) r->status = lelp_loss_compute(l, r->F, r->T, NULL, NULL, N, &r->loss, r->G);
    }
    lelp_loss_free(l);
}

static void* worker(void* arg)
{
    job* j = arg;
    compute(j->m, j->r);
    return NULL;
}

static void run_threads(int nthreads)
{
    gen_seed(17);
    gen_data(H, y, N, D, C);
    for (int i = 0; i < N * C; i++) Z[i] = (float)gen_gauss();
    lelp_model* m = gen_fit(H, y, N, D, C, S, NULL);
    result* ref = calloc(1, sizeof *ref);
    result* res = calloc((size_t)nthreads, sizeof *res);
    pthread_t* th = calloc((size_t)nthreads, sizeof *th);
    job* jobs = calloc((size_t)nthreads, sizeof *jobs);
    assert_non_null(ref);
    compute(m, ref);
    assert_int_equal(ref->status, LELP_OK);
    for (int t = 0; t < nthreads; t++) {
        jobs[t].m = m;
        jobs[t].r = &res[t];
        assert_int_equal(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    for (int t = 0; t < nthreads; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < nthreads; t++) {
        assert_int_equal(res[t].status, LELP_OK);
        assert_memory_equal(res[t].T, ref->T, sizeof ref->T);
        assert_memory_equal(res[t].F, ref->F, sizeof ref->F);
        assert_memory_equal(res[t].G, ref->G, sizeof ref->G);
        assert_memory_equal(res[t].a, ref->a, sizeof ref->a);
        assert_true(res[t].loss == ref->loss);
    }
    free(jobs);
    free(th);
    free(res);
    free(ref);
    lelp_model_free(m);
}

static void test_two_threads(void** s) { (void)s; run_threads(2); }
static void test_eight_threads(void** s) { (void)s; run_threads(8); }

/* errors on one thread do not leak into another thread's message */
static void* failing(void* arg)
{
    (void)arg;
    lelp_builder* b = NULL;
    int st = lelp_builder_create(&b, 0, 2, 1, NULL);
    return (void*)(intptr_t)(st == LELP_E_INVALID_ARG && strstr(lelp_last_error(), "d = 0") != NULL);
}

static void test_thread_local_messages(void** s)
{
    (void)s;
    lelp_loss* l = NULL;
    assert_int_equal(lelp_loss_create(&l, 0, 1, NULL), LELP_E_INVALID_ARG);
    char mine[256];
    strncpy(mine, lelp_last_error(), sizeof mine - 1);
    mine[sizeof mine - 1] = 0;
    pthread_t t;
    void* ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, failing, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_true(ok != NULL);
    assert_string_equal(lelp_last_error(), mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_eight_threads),
        cmocka_unit_test(test_thread_local_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
