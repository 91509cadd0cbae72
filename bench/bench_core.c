/* SPDX-License-Identifier: MIT */
/* bench_core.c -- times liblelp's steps on generated data and prints one JSON
 * object per figure on stdout (bench/run.py collects them and runs the
 * peers on the same arrays). Usage:
 *   bench_core fit      N d C S reps data.f32 labels.i32 [solver ell model.lelp precision gram shards beta_sample]
 *                       shards > 1: the host's parallel route (docs/api.md, Threads): one
 *                       builder per thread on a contiguous share of the rows, one BLAS
 *                       thread each; then merged into the first and fitted on `shards`
 *                       BLAS threads
 *   bench_core syrk     N d reps                 (dsyrk/ssyrk bound)
 *   bench_core targets  N d C S reps data.f32 labels.i32 logits.f32 [model.lelp shards]
 *                       shards > 1: that many threads share the rows of each call (one
 *                       contiguous slice each, one BLAS thread each) on the same model;
 *                       timed interleaved with the one-thread call (time_pair):
 *                       "seconds" (shards), "one_seconds" (one thread), "speedup"
 *   bench_core assign   N d C S reps data.f32 labels.i32 [shards]   (lelp_model_assign on all rows,
 *                                                 timed as targets)
 *   bench_core loss     n C S reps [alpha]       (the loss, and its bound: the library's vector exp and
 *                                                 log (vexp.h) over the same n*C*S values -- one exp and
 *                                                 one log each, a second exp with alpha > 0 -- and the
 *                                                 allocations per call; this thread's CPU time)
 *   bench_core copy     bytes reps [shards]      (memcpy of `bytes`: one thread, or `shards` threads
 *                                                 each copying a contiguous share)
 *   bench_core shrink   l d reps                 (the BLAS/LAPACK calls and eigensolvers of one
 *                                                 Frequent Directions shrink of a 2l x d buffer, alone)
 *   bench_core perclass d N C precision gram    (N rows streamed as batches of C rows, one
 *                                                 per class: the per-update cost of a class)
 *   bench_core stream   N d C S solver ell       (generated on the fly: peak memory of a fit
 *                                                 that never holds the data)
 * Each figure is the median of `reps` runs after one warm-up. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <lapacke.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define LELP_EXPERIMENTAL /* the builder knobs the benchmarks compare */
#include "lelp.h"
#include "../liblelp/linalg/linalg.h" /* lelp__small_eigen (bench_core shrink): liblelp.a's internal symbol */
#include "../liblelp/common/vexp.h" /* lelp__vexp_f32, lelp__vlog_f32: the loss's exp and log kernels */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* This thread's CPU time: the loss's figures (one thread, microseconds per
 * call) use it, so time slices lost to other processes on a shared machine
 * do not count; its peers are timed the same way (bench/run.py). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static double median(double* t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Repeats are timed into fixed arrays of 64 (one warm-up + up to 63). */
static int reps_arg(const char* s)
{
    int r = atoi(s);
    return r < 1 ? 1 : r > 63 ? 63 : r;
}

static void* load(const char* path, size_t bytes)
{
    void* p = malloc(bytes);
    FILE* f = fopen(path, "rb");
    if (!p || !f || fread(p, 1, bytes, f) != bytes) {
        fprintf(stderr, "bench_core: cannot read %zu bytes from %s\n", bytes, path);
        exit(1);
    }
    fclose(f);
    return p;
}

static void die(int st, const char* what)
{
    if (st) {
        fprintf(stderr, "bench_core: %s: %s (%s)\n", what, lelp_status_string(st), lelp_last_error());
        exit(1);
    }
}

/* Peak resident memory of this process image: VmHWM belongs to the address
 * space created by exec, whereas ru_maxrss also counts the parent's pages
 * before exec (a Python parent holding big arrays inflates it). */
static long maxrss_kb(void)
{
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    return kb;
}

/* OpenBLAS's own call; absent from other BLAS builds (then the host's
 * OPENBLAS_NUM_THREADS-equivalent setting applies). */
#pragma weak openblas_set_num_threads

/* Runs fn on jobs[0..n) (each `size` bytes): jobs 1.. on new threads, job 0
 * on this one; returns when all are done. */
static void run_on_threads(void* (*fn)(void*), void* jobs, size_t size, int n)
{
    pthread_t tid[64];
    for (int k = 1; k < n; k++)
        if (pthread_create(&tid[k], NULL, fn, (char*)jobs + (size_t)k * size) != 0) {
            fprintf(stderr, "bench_core: pthread_create failed\n");
            exit(1);
        }
    fn(jobs);
    for (int k = 1; k < n; k++) pthread_join(tid[k], NULL);
}

typedef struct {
    lelp_builder* b;
    const float* H;
    const int32_t* y;
    int64_t lo, hi, d;
    int st;
} shard_job;

static void* shard_stream(void* p)
{
    shard_job* j = p;
    const int64_t batch = 4096;
    for (int64_t i = j->lo; i < j->hi && j->st == LELP_OK; i += batch)
        j->st = lelp_builder_update(j->b, j->H + i * j->d, j->y + i, j->hi - i < batch ? j->hi - i : batch, j->d);
    return NULL;
}

/* Streams rows [0, N) through `shards` builders on as many threads (one
 * contiguous share each, one BLAS thread each) and merges them into b[0]
 * with `blas_threads` BLAS threads. */
static double stream_sharded(lelp_builder** b, int shards, const float* H, const int32_t* y, int64_t N, int64_t d,
                             int blas_threads)
{
    if (openblas_set_num_threads) openblas_set_num_threads(1);
    shard_job job[64];
    for (int k = 0; k < shards; k++)
        job[k] = (shard_job){b[k], H, y, N * k / shards, N * (k + 1) / shards, d, LELP_OK};
    run_on_threads(shard_stream, job, sizeof job[0], shards);
    for (int k = 0; k < shards; k++) die(job[k].st, "update (shard)");
    /* merging and fitting run on one host thread: all BLAS threads back
     * (a merge can switch a class from rows to its co-moment: a dsyrk) */
    if (openblas_set_num_threads) openblas_set_num_threads(blas_threads);
    double t0 = now();
    for (int k = 1; k < shards; k++) die(lelp_builder_merge(b[0], b[k]), "merge");
    return now() - t0; /* the merges, for the scaling model (docs/performance.md) */
}

static int bench_fit(int argc, char** argv)
{
    if (argc < 9) return 2;
    int64_t N = atoll(argv[2]), d = atoll(argv[3]), C = atoll(argv[4]), S = atoll(argv[5]);
    int reps = reps_arg(argv[6]);
    float* H = load(argv[7], sizeof(float) * (size_t)(N * d));
    int32_t* y = load(argv[8], sizeof(int32_t) * (size_t)N);
    int solver = argc > 9 ? atoi(argv[9]) : LELP_SOLVER_EXACT;
    int64_t ell = argc > 10 ? atoll(argv[10]) : 0;
    const char* model_path = argc > 11 && strcmp(argv[11], "-") != 0 ? argv[11] : NULL;
    int precision = argc > 12 ? atoi(argv[12]) : LELP_PRECISION_FLOAT64;
    int gram = argc > 13 ? atoi(argv[13]) : 1;
    int shards = argc > 14 ? atoi(argv[14]) : 1;
    int64_t bsample = argc > 15 ? atoll(argv[15]) : -1; /* LELP_BUILDER_BETA_SAMPLE */
    if (shards < 1 || shards > 64) return 2;
    const int blas_threads = shards; /* the host's thread budget */
    double t[64], tf[64], tm[64];
    const int64_t batch = 4096;
    for (int r = 0; r <= reps && r < 64; r++) {
        lelp_builder* bs[64] = {NULL};
        lelp_model* m = NULL;
        for (int k = 0; k < shards; k++) {
            die(lelp_builder_create(&bs[k], d, C, S, NULL), "create");
            die(lelp_builder_set_int(bs[k], LELP_BUILDER_SOLVER, solver), "solver");
            die(lelp_builder_set_int(bs[k], LELP_BUILDER_SKETCH_SIZE, ell), "sketch size");
            die(lelp_builder_set_int(bs[k], LELP_BUILDER_ROTATE, 0), "rotate");
            die(lelp_builder_set_int(bs[k], LELP_BUILDER_PRECISION, precision), "precision");
            die(lelp_builder_set_int(bs[k], LELP_BUILDER_GRAM_FORM, gram), "gram form");
            die(lelp_builder_set_int(bs[k], LELP_BUILDER_BETA_SAMPLE, bsample), "beta sample");
        }
        lelp_builder* b = bs[0];
        double t0 = now(), merge = 0.0;
        if (shards > 1)
            merge = stream_sharded(bs, shards, H, y, N, d, blas_threads);
        else
            for (int64_t i = 0; i < N; i += batch)
                die(lelp_builder_update(b, H + i * d, y + i, N - i < batch ? N - i : batch, d), "update");
        double t1 = now();
        die(lelp_builder_fit(b, &m), "fit");
        double t2 = now();
        if (r > 0) {
            t[r - 1] = t2 - t0;
            tf[r - 1] = t2 - t1;
            tm[r - 1] = merge;
        }
        if (model_path && r == 0) die(lelp_model_save_path(m, model_path), "save");
        lelp_model_free(m);
        for (int k = 0; k < shards; k++) lelp_builder_free(bs[k]);
    }
    printf("{\"step\": \"fit\", \"shards\": %d, \"solver\": %d, \"precision\": %d, \"N\": %lld, \"d\": %lld, \"C\": %lld, \"S\": %lld, "
           "\"seconds\": %.6f, \"fit_only_seconds\": %.6f, \"merge_seconds\": %.6f, \"maxrss_kb\": %ld}\n",
           shards, solver, precision, (long long)N, (long long)d, (long long)C, (long long)S, median(t, reps), median(tf, reps),
           median(tm, reps), maxrss_kb());
    free(H);
    free(y);
    return 0;
}

static int bench_syrk(int argc, char** argv)
{
    if (argc < 5) return 2;
    int64_t N = atoll(argv[2]), d = atoll(argv[3]);
    int reps = reps_arg(argv[4]);
    const int64_t blk = 1024; /* the builder's block size */
    double* X = malloc(sizeof(double) * (size_t)(blk * d));
    double* M = calloc((size_t)(d * d), sizeof(double));
    float* Xf = malloc(sizeof(float) * (size_t)(blk * d));
    float* Mf = calloc((size_t)(d * d), sizeof(float));
    for (int64_t i = 0; i < blk * d; i++) Xf[i] = (float)(X[i] = (double)(i % 17) - 8.0);
    double t[64], ts[64];
    for (int r = 0; r <= reps && r < 64; r++) {
        double t0 = now();
        for (int64_t i = 0; i < N; i += blk)
            cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)d, (int)blk, 1.0, X, (int)d, 1.0, M, (int)d);
        double t1 = now();
        for (int64_t i = 0; i < N; i += blk)
            cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)d, (int)blk, 1.0f, Xf, (int)d, 1.0f, Mf, (int)d);
        double t2 = now();
        if (r > 0) {
            t[r - 1] = t1 - t0;
            ts[r - 1] = t2 - t1;
        }
    }
    double td = median(t, reps), tss = median(ts, reps);
    double flops = (double)N * (double)d * (double)(d + 1); /* N*d*(d+1)/2 FMAs */
    printf("{\"step\": \"syrk\", \"N\": %lld, \"d\": %lld, \"dsyrk_seconds\": %.6f, \"ssyrk_seconds\": %.6f, "
           "\"dsyrk_gflops\": %.3f, \"ssyrk_gflops\": %.3f}\n",
           (long long)N, (long long)d, td, tss, flops / td * 1e-9, flops / tss * 1e-9);
    free(X);
    free(M);
    free(Xf);
    free(Mf);
    return 0;
}

/* Times `call` at one shard and at `shards` shards, interleaved rep by rep
 * (the order alternating), after one warm-up of each: on a shared machine
 * the load drifts between processes and within one, and a ratio of two
 * separate runs carries that drift; here both see the same stretch of time.
 * Writes the medians and the median of the per-rep ratios. */
static void time_pair(void (*call)(void*, int), void* ctx, int shards, int reps, double* one, double* all,
                      double* speedup)
{
    double t1[64], tn[64], q[64];
    for (int r = 0; r <= reps && r < 64; r++) {
        double a = 0.0, b = 0.0;
        for (int k = 0; k < 2; k++) {
            const int is_one = (k == 0) == (r % 2 == 0);
            double t0 = now();
            call(ctx, is_one ? 1 : shards);
            *(is_one ? &a : &b) = now() - t0;
        }
        if (r > 0) t1[r - 1] = a, tn[r - 1] = b, q[r - 1] = a / b;
    }
    *one = median(t1, reps);
    *all = median(tn, reps);
    *speedup = median(q, reps);
}

typedef struct {
    const lelp_model* m;
    const float *H, *Z;
    float* T;
    int64_t lo, hi, d, C, S;
    int st;
} targets_job;

static void* targets_slice(void* p)
{
    targets_job* j = p;
    j->st = lelp_model_targets_from_logits(j->m, j->H + j->lo * j->d, j->Z + j->lo * j->C, j->hi - j->lo, j->d, 2.0,
                                           j->T + j->lo * j->C * j->S);
    return NULL;
}

static void targets_sharded(const lelp_model* m, const float* H, const float* Z, float* T, int64_t N, int64_t d,
                            int64_t C, int64_t S, int shards)
{
    targets_job job[64];
    for (int k = 0; k < shards; k++)
        job[k] = (targets_job){m, H, Z, T, N * k / shards, N * (k + 1) / shards, d, C, S, LELP_OK};
    run_on_threads(targets_slice, job, sizeof job[0], shards);
    for (int k = 0; k < shards; k++) die(job[k].st, "targets (shard)");
}

typedef struct {
    const lelp_model* m;
    const float *H, *Z;
    float* T;
    int64_t N, d, C, S;
} targets_ctx;

static void targets_call(void* p, int shards)
{
    targets_ctx* c = p;
    if (shards > 1)
        targets_sharded(c->m, c->H, c->Z, c->T, c->N, c->d, c->C, c->S, shards);
    else
        die(lelp_model_targets_from_logits(c->m, c->H, c->Z, c->N, c->d, 2.0, c->T), "targets");
}

static int bench_targets(int argc, char** argv)
{
    if (argc < 10) return 2;
    int64_t N = atoll(argv[2]), d = atoll(argv[3]), C = atoll(argv[4]), S = atoll(argv[5]);
    int reps = reps_arg(argv[6]);
    float* H = load(argv[7], sizeof(float) * (size_t)(N * d));
    int32_t* y = load(argv[8], sizeof(int32_t) * (size_t)N);
    float* Z = load(argv[9], sizeof(float) * (size_t)(N * C));
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    die(lelp_builder_create(&b, d, C, S, NULL), "create");
    die(lelp_builder_update(b, H, y, N, d), "update");
    die(lelp_builder_fit(b, &m), "fit");
    float* T = malloc(sizeof(float) * (size_t)(N * C * S));
    int shards = argc > 11 ? atoi(argv[11]) : 1;
    if (shards < 1 || shards > 64) return 2;
    if (shards > 1 && openblas_set_num_threads) openblas_set_num_threads(1);
    targets_ctx ctx = {m, H, Z, T, N, d, C, S};
    double one = 0.0, all = 0.0, speedup = 1.0;
    time_pair(targets_call, &ctx, shards, reps, &one, &all, &speedup);
    printf("{\"step\": \"targets\", \"shards\": %d, \"N\": %lld, \"d\": %lld, \"C\": %lld, \"S\": %lld, \"seconds\": %.6f, "
           "\"one_seconds\": %.6f, \"speedup\": %.4f, \"input_bytes\": %lld}\n",
           shards, (long long)N, (long long)d, (long long)C, (long long)S, all, one, speedup, (long long)(N * d * 4));
    if (argc > 10 && strcmp(argv[10], "-") != 0) { /* optional: save the model for the peers */
        die(lelp_model_save_path(m, argv[10]), "save");
    }
    lelp_model_free(m);
    lelp_builder_free(b);
    free(H);
    free(y);
    free(Z);
    free(T);
    return 0;
}

typedef struct {
    const lelp_model* m;
    const float* H;
    const int32_t* y;
    int32_t* out;
    int64_t lo, hi, d;
    int st;
} assign_job;

static void* assign_slice(void* p)
{
    assign_job* j = p;
    j->st = lelp_model_assign(j->m, j->H + j->lo * j->d, j->y + j->lo, j->hi - j->lo, j->d, j->out + j->lo);
    return NULL;
}

typedef struct {
    const lelp_model* m;
    const float* H;
    const int32_t* y;
    int32_t* out;
    int64_t N, d;
} assign_ctx;

static void assign_call(void* p, int shards)
{
    assign_ctx* c = p;
    assign_job job[64];
    for (int k = 0; k < shards; k++)
        job[k] = (assign_job){c->m, c->H, c->y, c->out, c->N * k / shards, c->N * (k + 1) / shards, c->d, LELP_OK};
    run_on_threads(assign_slice, job, sizeof job[0], shards);
    for (int k = 0; k < shards; k++) die(job[k].st, "assign");
}

/* lelp_model_assign on all N rows: one call, or `shards` threads each
 * calling it on a contiguous share (one BLAS thread each). */
static int bench_assign(int argc, char** argv)
{
    if (argc < 9) return 2;
    int64_t N = atoll(argv[2]), d = atoll(argv[3]), C = atoll(argv[4]), S = atoll(argv[5]);
    int reps = reps_arg(argv[6]);
    float* H = load(argv[7], sizeof(float) * (size_t)(N * d));
    int32_t* y = load(argv[8], sizeof(int32_t) * (size_t)N);
    int shards = argc > 9 ? atoi(argv[9]) : 1;
    if (shards < 1 || shards > 64) return 2;
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    die(lelp_builder_create(&b, d, C, S, NULL), "create");
    die(lelp_builder_update(b, H, y, N, d), "update");
    die(lelp_builder_fit(b, &m), "fit");
    int32_t* out = malloc(sizeof(int32_t) * (size_t)N);
    if (shards > 1 && openblas_set_num_threads) openblas_set_num_threads(1);
    assign_ctx ctx = {m, H, y, out, N, d};
    double one = 0.0, all = 0.0, speedup = 1.0;
    time_pair(assign_call, &ctx, shards, reps, &one, &all, &speedup);
    printf("{\"step\": \"assign\", \"shards\": %d, \"N\": %lld, \"d\": %lld, \"C\": %lld, \"S\": %lld, "
           "\"seconds\": %.6f, \"one_seconds\": %.6f, \"speedup\": %.4f, \"input_bytes\": %lld}\n",
           shards, (long long)N, (long long)d, (long long)C, (long long)S, all, one, speedup, (long long)(N * d * 4));
    lelp_model_free(m);
    lelp_builder_free(b);
    free(H);
    free(y);
    free(out);
    return 0;
}

/* Counts the loss's allocations: the figure is the count during the timed
 * calls (0: the scratch is sized at create). */
static long loss_allocs;

static void* counting_alloc(void* opaque, size_t size, size_t align)
{
    void* p = NULL;
    (void)opaque;
    loss_allocs++;
    return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size) ? NULL : p;
}

static void counting_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    (void)size;
    free(p);
}

static int bench_loss(int argc, char** argv)
{
    if (argc < 6) return 2;
    int64_t n = atoll(argv[2]), C = atoll(argv[3]), S = atoll(argv[4]);
    int reps = reps_arg(argv[5]);
    double alpha = argc > 6 ? atof(argv[6]) : 0.0;
    int64_t K = C * S;
    float* U = malloc(sizeof(float) * (size_t)(n * K));
    float* T = malloc(sizeof(float) * (size_t)(n * K));
    float* G = malloc(sizeof(float) * (size_t)(n * K));
    double* X = malloc(sizeof(double) * (size_t)(n * K));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n * K; i++) {
        U[i] = (float)((i * 37) % 101) / 25.0f - 2.0f;
        T[i] = 1.0f / (float)K;
    }
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(i % C);
    lelp_allocator* al = NULL;
    lelp_loss* l = NULL;
    die(lelp_allocator_create(&al, counting_alloc, counting_free, NULL), "allocator");
    die(lelp_loss_create(&l, C, S, al), "loss_create");
    die(lelp_loss_set_double(l, LELP_LOSS_TAU, 2.0), "tau");
    die(lelp_loss_set_double(l, LELP_LOSS_ALPHA, alpha), "alpha");
    /* many calls per timing so the clock resolution does not matter; the
     * loss and its bound alternate, so both see the same machine */
    int inner = (int)(2000000 / (n * K)) + 1;
    double t[64], tb[64], v = 0.0;
    long allocs = 0;
    for (int r = 0; r <= reps && r < 64; r++) {
        long a0 = loss_allocs;
        double t0 = cpu_now();
        for (int k = 0; k < inner; k++) die(lelp_loss_compute(l, U, T, y, NULL, n, &v, G), "loss");
        double t1 = cpu_now();
        allocs += loss_allocs - a0;
        /* the bound: the loss's own exp and log kernels over the same
         * values, one exp and one log per value (two exps with alpha > 0) */
        double s0 = cpu_now();
        for (int k = 0; k < inner; k++) lelp__vexp_f32(U, n * K, 0.5, 1.0, X);
        double s1 = cpu_now();
        for (int k = 0; k < inner; k++) lelp__vlog_f32(T, n * K, X);
        double tbound = (alpha > 0.0 ? 2.0 : 1.0) * (s1 - s0) + (cpu_now() - s1);
        if (r > 0) {
            t[r - 1] = (t1 - t0) / inner;
            tb[r - 1] = tbound / inner;
        }
    }
    printf("{\"step\": \"loss\", \"n\": %lld, \"C\": %lld, \"S\": %lld, \"alpha\": %g, \"seconds\": %.9f, "
           "\"bound_seconds\": %.9f, \"allocs_per_call\": %.3f}\n",
           (long long)n, (long long)C, (long long)S, alpha, median(t, reps), median(tb, reps),
           (double)allocs / ((double)reps + 1.0) / inner);
    lelp_loss_free(l);
    lelp_allocator_free(al);
    free(U);
    free(T);
    free(G);
    free(X);
    free(y);
    return 0;
}

/* Rows generated batch by batch (low rank plus noise per class), so the
 * peak RSS is the builder's, not the data's. */
static int bench_stream(int argc, char** argv)
{
    if (argc < 8) return 2;
    int64_t N = atoll(argv[2]), d = atoll(argv[3]), C = atoll(argv[4]), S = atoll(argv[5]);
    int solver = atoi(argv[6]);
    int64_t ell = atoll(argv[7]);
    const int64_t batch = 256, rank = 16;
    float* H = malloc(sizeof(float) * (size_t)(batch * d));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)batch);
    float* basis = malloc(sizeof(float) * (size_t)(C * rank * d));
    uint64_t st = 88172645463325252ULL;
#define XS() (st ^= st << 13, st ^= st >> 7, st ^= st << 17, ((double)(st >> 11) / 9007199254740992.0) - 0.5)
    for (int64_t i = 0; i < C * rank * d; i++) basis[i] = (float)XS();
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    die(lelp_builder_create(&b, d, C, S, NULL), "create");
    die(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, solver), "solver");
    die(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, ell), "sketch size");
    double t0 = now();
    for (int64_t i = 0; i < N; i += batch) {
        int64_t nb = N - i < batch ? N - i : batch;
        for (int64_t r = 0; r < nb; r++) {
            int32_t c = (int32_t)((i + r) % C);
            y[r] = c;
            float* h = H + r * d;
            for (int64_t j = 0; j < d; j++) h[j] = (float)(0.1 * XS());
            for (int64_t q = 0; q < rank; q++) {
                float a = (float)(XS() * 20.0 / (1.0 + (double)q));
                const float* v = basis + (c * rank + q) * d;
                for (int64_t j = 0; j < d; j++) h[j] += a * v[j];
            }
        }
        die(lelp_builder_update(b, H, y, nb, d), "update");
    }
#undef XS
    die(lelp_builder_fit(b, &m), "fit");
    double t1 = now();
    printf("{\"step\": \"stream\", \"solver\": %d, \"N\": %lld, \"d\": %lld, \"C\": %lld, \"S\": %lld, "
           "\"seconds\": %.6f, \"maxrss_kb\": %ld}\n",
           solver, (long long)N, (long long)d, (long long)C, (long long)S, t1 - t0, maxrss_kb());
    lelp_model_free(m);
    lelp_builder_free(b);
    free(H);
    free(y);
    free(basis);
    return 0;
}

typedef struct {
    char *dst;
    const char* src;
    size_t bytes;
} copy_job;

static void* copy_slice(void* p)
{
    copy_job* j = p;
    memcpy(j->dst, j->src, j->bytes);
    return NULL;
}

static int bench_copy(int argc, char** argv)
{
    if (argc < 4) return 2;
    size_t bytes = (size_t)atoll(argv[2]);
    int reps = reps_arg(argv[3]);
    int shards = argc > 4 ? atoi(argv[4]) : 1;
    if (shards < 1 || shards > 64) return 2;
    char* a = malloc(bytes);
    char* b = malloc(bytes);
    memset(a, 1, bytes);
    memset(b, 2, bytes);
    copy_job job[64];
    for (int k = 0; k < shards; k++) {
        size_t lo = bytes * (size_t)k / (size_t)shards, hi = bytes * (size_t)(k + 1) / (size_t)shards;
        job[k] = (copy_job){b + lo, a + lo, hi - lo};
    }
    double t[64];
    for (int r = 0; r <= reps && r < 64; r++) {
        double t0 = now();
        run_on_threads(copy_slice, job, sizeof job[0], shards);
        if (r > 0) t[r - 1] = now() - t0;
    }
    double s = median(t, reps);
    /* a copy reads and writes every byte */
    printf("{\"step\": \"copy\", \"shards\": %d, \"bytes\": %zu, \"seconds\": %.6f, \"read_gbps\": %.3f, "
           "\"rw_gbps\": %.3f}\n",
           shards, bytes, s, (double)bytes / s * 1e-9, 2.0 * (double)bytes / s * 1e-9);
    free(a);
    free(b);
    return 0;
}

/* One sketch shrink's calls on a 2l x d buffer (sketch.c): the Gram matrix
 * (dsyrk, as sketch.c above 2l = 96; small_gemm.c's lelp__rows_gram, as
 * sketch.c up to it), its eigendecomposition (small_eigen.c, as sketch.c for 2l <= 96;
 * dsyevd, as sketch.c above that; for comparison dsyevr for only the l wanted
 * pairs, and ssyevd in float32) and the rotation (dgemm, as sketch.c above
 * 2l = 96; small_gemm.c's lelp__rows_combine, as sketch.c up to it). */
static int bench_shrink(int argc, char** argv)
{
    if (argc < 5) return 2;
    const int l = atoi(argv[2]), d = atoi(argv[3]), n = 2 * l;
    int reps = reps_arg(argv[4]);
    if (l < 2 || d < 1 || reps < 1) return 2;
    if (reps > 63) reps = 63; /* t[][] holds 63 timed repeats after the warm-up */
    double *B = malloc(sizeof(double) * (size_t)n * (size_t)d), *G = malloc(sizeof(double) * (size_t)n * (size_t)n);
    double *G2 = malloc(sizeof(double) * (size_t)n * (size_t)n), *w = malloc(sizeof(double) * (size_t)n);
    double *Z = malloc(sizeof(double) * (size_t)n * (size_t)n), *T = malloc(sizeof(double) * (size_t)l * (size_t)d);
    lapack_int* isuppz = malloc(sizeof(lapack_int) * 2 * (size_t)n);
    float *Gf = malloc(sizeof(float) * (size_t)n * (size_t)n), *wf = malloc(sizeof(float) * (size_t)n);
    lapack_int m = 0;
    uint64_t s = 1;
    for (size_t i = 0; i < (size_t)n * (size_t)d; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        B[i] = (double)(s >> 11) / 9007199254740992.0 - 0.5;
    }
    const int64_t lwork = lelp__small_eigen_work(n, l - 1);
    double* work = malloc(sizeof(double) * (size_t)lwork);
    double* panel = malloc(sizeof(double) * (size_t)lelp__rows_combine_work(n));
    double t[8][64];
    for (int r = 0; r <= reps; r++) {
        double t0 = now();
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, n, d, 1.0, B, d, 0.0, G, n);
        double t1 = now();
        memcpy(G2, G, sizeof(double) * (size_t)n * (size_t)n);
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', n, G2, n, w);
        double t2 = now();
        memcpy(G2, G, sizeof(double) * (size_t)n * (size_t)n);
        LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', n, G2, n, 0.0, 0.0, n - l + 1, n, 0.0, &m, w, Z, n, isuppz);
        double t3 = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l - 1, d, n, 1.0, Z, n, B, d, 0.0, T, d);
        double t4 = now();
        for (size_t i = 0; i < (size_t)n * (size_t)n; i++) Gf[i] = (float)G[i];
        LAPACKE_ssyevd(LAPACK_COL_MAJOR, 'V', 'L', n, Gf, n, wf);
        double t5 = now();
        memcpy(G2, G, sizeof(double) * (size_t)n * (size_t)n);
        lelp__small_eigen(n, G2, l - 1, w, Z, work, lwork);
        double t6 = now();
        lelp__rows_combine(Z, n, l - 1, B, n, d, T, panel); /* the sketch's product for n <= 96 */
        double t7 = now();
        lelp__rows_gram(B, n, d, G2, n);
        double t8 = now();
        if (r > 0) {
            t[7][r - 1] = t8 - t7;
            t[6][r - 1] = t7 - t6;
            t[5][r - 1] = t6 - t5;
            t[0][r - 1] = t1 - t0;
            t[1][r - 1] = t2 - t1;
            t[2][r - 1] = t3 - t2;
            t[3][r - 1] = t4 - t3;
            t[4][r - 1] = t5 - t4;
        }
    }
    printf("{\"step\": \"shrink\", \"l\": %d, \"d\": %d, \"dsyrk_s\": %.6g, \"dsyevd_s\": %.6g, "
           "\"dsyevr_wanted_s\": %.6g, \"dgemm_s\": %.6g, \"ssyevd_s\": %.6g, \"small_eigen_s\": %.6g, "
           "\"rows_combine_s\": %.6g, \"rows_gram_s\": %.6g}\n",
           l, d, median(t[0], reps), median(t[1], reps), median(t[2], reps), median(t[3], reps), median(t[4], reps),
           median(t[5], reps), median(t[6], reps), median(t[7], reps));
    free(work);
    free(panel);
    free(B);
    free(G);
    free(G2);
    free(w);
    free(Z);
    free(T);
    free(isuppz);
    free(Gf);
    free(wf);
    return 0;
}

/* Batches of C rows, one per class, as a trainer labelling one example per
 * class at a time would send them: each update is one block per class. */
static int bench_perclass(int argc, char** argv)
{
    if (argc < 7) return 2;
    const int64_t d = atoll(argv[2]), N = atoll(argv[3]), C = atoll(argv[4]);
    const int precision = atoi(argv[5]), gram = atoi(argv[6]);
    if (d < 1 || N < C || C < 1) return 2;
    float* H = malloc(sizeof(float) * (size_t)(N * d));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)N);
    uint64_t s = 1;
    for (int64_t i = 0; i < N * d; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        H[i] = (float)((double)(s >> 11) / 9007199254740992.0);
    }
    for (int64_t i = 0; i < N; i++) y[i] = (int32_t)(i % C);
    lelp_builder* b = NULL;
    die(lelp_builder_create(&b, d, C, 4 < d ? 4 : d, NULL), "create");
    die(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, precision), "precision");
    die(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, gram), "gram form");
    double t0 = now();
    for (int64_t i = 0; i + C <= N; i += C) die(lelp_builder_update(b, H + i * d, y + i, C, d), "update");
    double t1 = now();
    printf("{\"step\": \"perclass\", \"d\": %lld, \"N\": %lld, \"C\": %lld, \"precision\": %d, \"gram\": %d, "
           "\"seconds\": %.6f, \"us_per_update\": %.3f}\n",
           (long long)d, (long long)N, (long long)C, precision, gram, t1 - t0, (t1 - t0) / (double)(N / C) * 1e6);
    lelp_builder_free(b);
    free(H);
    free(y);
    return 0;
}

int main(int argc, char** argv)
{
    int rc = 2;
    if (argc > 1 && strcmp(argv[1], "fit") == 0) rc = bench_fit(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "syrk") == 0) rc = bench_syrk(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "targets") == 0) rc = bench_targets(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "loss") == 0) rc = bench_loss(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "assign") == 0) rc = bench_assign(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "copy") == 0) rc = bench_copy(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "stream") == 0) rc = bench_stream(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "shrink") == 0) rc = bench_shrink(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "perclass") == 0) rc = bench_perclass(argc, argv);
    if (rc == 2) fprintf(stderr, "usage: see the comment at the top of bench/bench_core.c\n");
    return rc;
}
