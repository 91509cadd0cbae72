/* SPDX-License-Identifier: MIT */
/* parallel.c -- the lelp tool's threads: liblelp starts none, so the tool is
 * the host that shards rows over the cores (docs/api.md, "Using every core").
 * One short-lived pthread per share and batch: a batch is megabytes of rows,
 * so creating a thread costs nothing next to it, and there is no pool to
 * shut down on an error path. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* OpenBLAS's own call (declared in its cblas.h). Weak, so the tool still
 * links against another BLAS; then OPENBLAS_NUM_THREADS-style settings of
 * that BLAS are the user's business (docs/cli.md). */
extern void openblas_set_num_threads(int n) __attribute__((weak));

int threads_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int)n);
}

int threads_use(int64_t requested)
{
    int T = requested > 0 ? (int)requested : threads_default();
    /* T > 1: every thread its own rows and one BLAS thread each, so BLAS
     * does not start T more threads per call; T = 1 leaves BLAS as it was */
    if (T > 1 && openblas_set_num_threads) openblas_set_num_threads(1);
    return T;
}

void share_rows(int64_t n, int t, int T, int64_t* r0, int64_t* r1)
{
    *r0 = n * t / T;
    *r1 = n * (t + 1) / T;
}

typedef struct job {
    share_fn fn;
    void* ctx;
    int t, T;
} job;

static void* job_main(void* arg)
{
    job* j = arg;
    j->fn(j->ctx, j->t, j->T);
    return NULL;
}

void run_shares(int T, share_fn fn, void* ctx)
{
    pthread_t tid[MAX_THREADS];
    job jobs[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 1; t < T; t++) {
        jobs[t] = (job){fn, ctx, t, T};
        started[t] = pthread_create(&tid[t], NULL, job_main, &jobs[t]) == 0;
    }
    fn(ctx, 0, T);
    for (int t = 1; t < T; t++)
        if (started[t]) pthread_join(tid[t], NULL);
        else fn(ctx, t, T); /* no thread to be had: the caller does that share itself */
}

void share_fail(share_error* e, int st)
{
    e->status = st;
    snprintf(e->msg, sizeof e->msg, "%s", lelp_last_error());
}
