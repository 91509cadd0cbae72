/* SPDX-License-Identifier: MIT */
/* test_harden.c -- the hostile-user findings of issue 21, each as a test
 * that failed before its fix: the sketch size LAPACK cannot address, small
 * files that reserve gigabytes (load budget, LELP_LIMIT_LOAD_BYTES, peak
 * allocation and RSS), FIFOs and whole-file reads in *_load_path,
 * checksummed but inconsistent models and builder states, compressor steps
 * that overflow, outputs aliasing inputs, and the beta sample's per-class
 * cost. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lelp.h"
#include "envelope.h"
#include "expect.h"
#include "state.h"
#include "synth.h"

/* ------------------------------------------------------------ allocator */
/* Counts live and peak bytes, and refuses any request that would take the
 * live total past `cap` (so a test never really reserves gigabytes). */
typedef struct counter {
    size_t live, peak, cap, largest;
} counter;

static void* count_alloc(void* opaque, size_t size, size_t align)
{
    counter* c = opaque;
    if (size > c->largest) c->largest = size;
    if (size > c->cap - c->live) return NULL;
    void* p = NULL;
    if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size) != 0) return NULL;
    c->live += size;
    if (c->live > c->peak) c->peak = c->live;
    return p;
}

static void count_free(void* opaque, void* p, size_t size)
{
    counter* c = opaque;
    c->live -= size;
    free(p);
}

static lelp_allocator* counting(counter* c, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->cap = cap;
    lelp_allocator* a = NULL;
    EXPECT_OK(lelp_allocator_create(&a, count_alloc, count_free, c));
    return a;
}

/* ------------------------------------------------------------ crafting */
static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* A builder state with all-zero arrays (an empty builder: valid) of the
 * given shape, sealed; docs/format.md's layout, computed here on its own. */
typedef struct craft {
    int64_t d, C, S, solver, ell, scap;
} craft;

static unsigned char* craft_state(const craft* k, size_t* size)
{
    const size_t C = (size_t)k->C, d = (size_t)k->d, ell = (size_t)k->ell;
    size_t sizes[12] = {C * 8, C * d * 8, k->solver ? 0 : C * (d * (d + 1) / 2) * 8, k->solver ? C * 8 : 0,
                        k->solver ? C * 8 : 0, k->solver ? C * 2 * ell * d * 8 : 0, 0, 0, k->scap ? C * 8 : 0,
                        0, 0, 0};
    size_t pos = 128;
    for (int i = 0; i < 12; i++) pos = align64(pos) + sizes[i];
    pos = align64(pos);
    *size = pos + 4;
    unsigned char* b = calloc(1, *size);
    assert_non_null(b);
    memcpy(b, "LELPBLDR", 8);
    wr32(b + 8, 3);
    wr32(b + 12, 128);
    wr32(b + 20, 3u | (k->scap ? 32u : 0u));
    wr64(b + 24, pos - 128);
    wr64(b + 32, (uint64_t)k->d);
    wr64(b + 40, (uint64_t)k->C);
    wr64(b + 48, (uint64_t)k->S);
    double f = 0.5;
    memcpy(b + 72, &f, 8); /* entropy fraction */
    wr64(b + 80, (uint64_t)k->solver);
    wr64(b + 88, (uint64_t)k->ell);
    wr64(b + 96, (uint64_t)k->scap);
    reseal(b, *size);
    return b;
}

static void write_file(const char* path, const unsigned char* b, size_t n)
{
    FILE* f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void tmp_path(char* buf, size_t cap, const char* name)
{
    snprintf(buf, cap, "%s/lelp_harden_%ld_%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid(), name);
}

/* ------------------------------------------------------------ 1: sketch size */
/* dsyevd's documented workspace 1 + 6n + 2n^2 for n = 2l: 16383 is the
 * largest l whose workspace a 32-bit LAPACK integer addresses (at l =
 * 16384 LAPACK's own query wrapped to 1 114 180 doubles). */
static void test_sketch_size_cap(void** state)
{
    (void)state;
    const int64_t n_ok = 2 * 16383, n_bad = 2 * 16384;
    assert_true(1 + 6 * n_ok + 2 * n_ok * n_ok <= INT32_MAX);
    assert_true(1 + 6 * n_bad + 2 * n_bad * n_bad > INT32_MAX);
    double lo = 0, hi = 0;
    EXPECT_OK(lelp_param_bounds(LELP_BUILDER_SKETCH_SIZE, &lo, &hi));
    assert_true(hi == 16383.0);
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, 4, 1, 1, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH));
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, 16384), LELP_E_PARAM_RANGE);
    assert_non_null(strstr(lelp_last_error(), "16383"));
    EXPECT_STATUS(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, 65536), LELP_E_PARAM_RANGE);
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, 16383));
    lelp_builder_free(b);
    /* a state that declares l = 16384 (or the 65537 the loader took before) */
    int64_t ells[] = {16384, 65537};
    for (int i = 0; i < 2; i++) {
        craft k = {1, 1, 1, 1, ells[i], 0};
        size_t size = 0;
        unsigned char* buf = craft_state(&k, &size);
        lelp_builder* out = NULL;
        EXPECT_STATUS(lelp_builder_load(&out, buf, size, NULL), LELP_E_FORMAT);
        assert_null(out);
        free(buf);
    }
}

/* ------------------------------------------------------------ 2: memory bombs */
/* The files: l = 16383 and 4096 at d = 1 (263 KB and 66 KB asked
 * for 12.6 GB and 1.8 GB). Refused before anything is allocated for them;
 * the peak stays a small multiple of the file. */
static void test_load_budget_refuses_bombs(void** state)
{
    (void)state;
    int64_t ells[] = {16383, 4096};
    for (int i = 0; i < 2; i++) {
        craft k = {1, 1, 1, 1, ells[i], 0};
        size_t size = 0;
        unsigned char* buf = craft_state(&k, &size);
        counter cnt;
        lelp_allocator* a = counting(&cnt, (size_t)1 << 30);
        const size_t descriptor = cnt.live;
        lelp_builder* out = NULL;
        EXPECT_STATUS(lelp_builder_load(&out, buf, size, a), LELP_E_NOMEM);
        assert_non_null(strstr(lelp_last_error(), "LELP_LIMIT_LOAD_BYTES"));
        assert_true(cnt.peak <= 4 * size + ((size_t)1 << 20));
        assert_true(cnt.largest <= 4 * size + ((size_t)1 << 20)); /* nothing large was even asked for */
        assert_int_equal(cnt.live, descriptor);
        /* raising the limit lets the owner load what they trust */
        EXPECT_OK(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, INT64_C(1) << 40));
        size_t need_cap = (size_t)1 << 30;
        lelp_allocator* a2 = counting(&cnt, need_cap);
        int st = lelp_builder_load(&out, buf, size, a2);
        /* allowed now: it gets as far as allocating (l = 4096 needs 1.8 GB,
         * which the counter refuses past 1 GiB) */
        assert_true(st == LELP_OK || st == LELP_E_NOMEM);
        if (st == LELP_E_NOMEM) assert_null(strstr(lelp_last_error(), "LELP_LIMIT_LOAD_BYTES"));
        assert_true(cnt.largest > 4 * size + ((size_t)1 << 20));
        lelp_builder_free(out);
        out = NULL;
        EXPECT_OK(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, INT64_C(1) << 30));
        lelp_allocator_free(a);
        lelp_allocator_free(a2);
        free(buf);
    }
}

static void test_limit_api(void** state)
{
    (void)state;
    int64_t v = -1;
    EXPECT_OK(lelp_limit_get(LELP_LIMIT_LOAD_BYTES, &v));
    assert_true(v == INT64_C(1) << 30);
    EXPECT_STATUS(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, -1), LELP_E_PARAM_RANGE);
    EXPECT_STATUS(lelp_limit_set(12345, 1), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_limit_get(12345, &v), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_limit_get(LELP_LIMIT_LOAD_BYTES, NULL), LELP_E_NULL);
    /* limit 0: only what the buffer justifies. A small sketch state (l = 64
     * at d = 1: a 2 KB file whose shrink needs ~200 KB of scratch) is
     * refused; a fitted model, 1.5 times its file, is not */
    craft k = {1, 1, 1, 1, 64, 0};
    size_t size = 0;
    unsigned char* buf = craft_state(&k, &size);
    lelp_builder* out = NULL;
    EXPECT_OK(lelp_builder_load(&out, buf, size, NULL));
    lelp_builder_free(out);
    EXPECT_OK(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, 0));
    EXPECT_STATUS(lelp_builder_load(&out, buf, size, NULL), LELP_E_NOMEM);
    synth_data data;
    synth_spec spec = synth_default(200, 8, 2, 2, 7);
    assert_int_equal(synth_make(&data, &spec), 0);
    lelp_builder* b = NULL;
    lelp_model *m = NULL, *m2 = NULL;
    EXPECT_OK(lelp_builder_create(&b, 8, 2, 2, NULL));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, 8));
    EXPECT_OK(lelp_builder_fit(b, &m));
    size_t msize = 0;
    unsigned char* mb = model_bytes(m, &msize);
    EXPECT_OK(lelp_model_load(&m2, mb, msize, NULL));
    EXPECT_OK(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, INT64_C(1) << 30));
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_builder_free(b);
    synth_free(&data);
    free(mb);
    free(buf);
}

/* 2^18 classes at d = 1 with a beta sample: an 8 MB state. Before, each
 * class cost ~600 bytes of sample bookkeeping and a 256 KiB first chunk of
 * address space; now the load holds a small multiple of the file. */
static unsigned char* many_classes(size_t* size)
{
    craft k = {1, INT64_C(1) << 18, 1, 0, 0, 4096};
    return craft_state(&k, size);
}

static void test_many_classes_peak_allocation(void** state)
{
    (void)state;
    size_t size = 0;
    unsigned char* buf = many_classes(&size);
    counter cnt;
    lelp_allocator* a = counting(&cnt, (size_t)1 << 32);
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_load(&b, buf, size, a));
    size_t peak = cnt.peak;
    lelp_builder_free(b);
    lelp_allocator_free(a);
    free(buf);
    if (peak > 8 * size) fail_msg("loading a %zu-byte state allocated %zu bytes", size, peak);
}

/* Peak RSS of a child that loads crafted files with the default allocator
 * (VmHWM after resetting it through /proc/self/clear_refs). */
static long vm_hwm_kb(void)
{
    FILE* f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* RSS is only the library's under a plain allocator: ASan's redzones and
 * quarantine, or valgrind's shadow memory, add their own. */
static int instrumented(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    FILE* f = fopen("/proc/self/maps", "r");
    char line[512];
    int vg = 0;
    while (f && !vg && fgets(line, sizeof line, f)) vg = strstr(line, "vgpreload") != NULL;
    if (f) fclose(f);
    return vg;
}

static void test_crafted_files_peak_rss(void** state)
{
    (void)state;
    if (instrumented()) skip();
    char p1[512], p2[512], p3[512];
    tmp_path(p1, sizeof p1, "bomb1");
    tmp_path(p2, sizeof p2, "bomb2");
    tmp_path(p3, sizeof p3, "many");
    size_t s1 = 0, s2 = 0, s3 = 0;
    craft k1 = {1, 1, 1, 1, 16383, 0}, k2 = {1, 1, 1, 1, 4096, 0};
    unsigned char *b1 = craft_state(&k1, &s1), *b2 = craft_state(&k2, &s2), *b3 = many_classes(&s3);
    write_file(p1, b1, s1);
    write_file(p2, b2, s2);
    write_file(p3, b3, s3);
    free(b1);
    free(b2);
    free(b3);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE* f = fopen("/proc/self/clear_refs", "w");
        if (!f || fputs("5", f) < 0 || fclose(f) != 0) _exit(77); /* cannot reset the peak: skip */
        long base = vm_hwm_kb();
        lelp_builder* b = NULL;
        int ok = lelp_builder_load_path(&b, p1, NULL) == LELP_E_NOMEM && lelp_builder_load_path(&b, p2, NULL) == LELP_E_NOMEM;
        ok = ok && lelp_builder_load_path(&b, p3, NULL) == LELP_OK;
        lelp_builder_free(b);
        long grew = vm_hwm_kb() - base;
        fprintf(stderr, "peak RSS grew by %ld kB loading %zu + %zu + %zu bytes\n", grew, s1, s2, s3);
        _exit(!ok ? 2 : grew > (long)(8 * s3 / 1024) ? 3 : 0);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    unlink(p1);
    unlink(p2);
    unlink(p3);
    assert_true(WIFEXITED(ws));
    if (WEXITSTATUS(ws) == 77) skip();
    assert_int_equal(WEXITSTATUS(ws), 0);
}

/* ------------------------------------------------------------ 3 and 6: files */
/* *_load_path on a FIFO blocked forever in open(). A child with an alarm:
 * a hang is a failure, not a stuck suite. */
static void test_load_path_fifo(void** state)
{
    (void)state;
    char p[512];
    tmp_path(p, sizeof p, "fifo");
    unlink(p);
    if (mkfifo(p, 0600) != 0) skip();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(20);
        lelp_model* m = NULL;
        lelp_builder* b = NULL;
        lelp_compressor* c = NULL;
        int ok = lelp_model_load_path(&m, p, NULL) == LELP_E_IO && strstr(lelp_last_error(), "regular");
        ok = ok && lelp_builder_load_path(&b, p, NULL) == LELP_E_IO;
        ok = ok && lelp_compressor_load_path(&c, p, NULL) == LELP_E_IO;
        _exit(ok ? 0 : 1);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    unlink(p);
    if (!WIFEXITED(ws)) fail_msg("a load of a FIFO did not return (signal %d)", WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    assert_int_equal(WEXITSTATUS(ws), 0);
}

/* A 256 MB file that is not a model (sparse: no disk used) is refused
 * after its header, and a header that promises more than the file holds
 * allocates nothing; the old loader read the whole file first. */
static void test_load_path_reads_header_first(void** state)
{
    (void)state;
    char p[512];
    tmp_path(p, sizeof p, "big");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "NOTLELP!", 8), 8);
    assert_int_equal(ftruncate(fd, (off_t)256 << 20), 0);
    close(fd);
    counter cnt;
    lelp_allocator* a = counting(&cnt, (size_t)1 << 30);
    lelp_model* m = NULL;
    EXPECT_STATUS(lelp_model_load_path(&m, p, a), LELP_E_FORMAT);
    assert_true(cnt.peak < 65536);
    /* a model header whose payload runs past the end of the file */
    unsigned char h[160] = {0};
    memcpy(h, "LELPMODL", 8);
    wr32(h + 8, 1);
    wr32(h + 12, 128);
    wr64(h + 24, (uint64_t)1 << 30);
    write_file(p, h, sizeof h);
    EXPECT_STATUS(lelp_model_load_path(&m, p, a), LELP_E_TRUNCATED);
    assert_true(cnt.peak < 65536);
    /* and one of another kind */
    memcpy(h, "LELPCOMP", 8);
    write_file(p, h, sizeof h);
    EXPECT_STATUS(lelp_model_load_path(&m, p, a), LELP_E_FORMAT);
    assert_non_null(strstr(lelp_last_error(), "compressor"));
    assert_true(cnt.peak < 65536);
    assert_null(m);
    lelp_allocator_free(a);
    unlink(p);
}

/* ------------------------------------------------------------ 8: invariants */
typedef struct model_off {
    size_t count, mean, eig, ratio, U, b;
} model_off;

static model_off model_layout(size_t d, size_t C, size_t S)
{
    model_off o;
    o.count = 128;
    o.mean = align64(o.count + C * 8);
    o.eig = align64(o.mean + C * d * 8);
    o.ratio = align64(o.eig + C * S * 8);
    o.U = align64(o.ratio + C * S * 8);
    o.b = align64(o.U + C * S * d * 8);
    return o;
}

static double rdf(const unsigned char* p)
{
    uint64_t u = rd64(p);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static void wrf(unsigned char* p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    wr64(p, u);
}

static void expect_refused(const unsigned char* good, size_t size, size_t at, double v, uint32_t flags_xor,
                           const char* why)
{
    unsigned char* b = malloc(size);
    assert_non_null(b);
    memcpy(b, good, size);
    if (at) wrf(b + at, v);
    wr32(b + 20, rd32(b + 20) ^ flags_xor);
    reseal(b, size);
    lelp_model* m = NULL;
    int st = lelp_model_load(&m, b, size, NULL);
    if (st != LELP_E_FORMAT) fail_msg("%s: loaded with status %d (%s)", why, st, lelp_last_error());
    assert_null(m);
    free(b);
}

static void test_model_invariants(void** state)
{
    (void)state;
    const int64_t d = 8, C = 2, S = 2;
    synth_data data;
    synth_spec spec = synth_default(300, d, C, 2, 11);
    assert_int_equal(synth_make(&data, &spec), 0);
    lelp_builder* b = NULL;
    lelp_model *m = NULL, *m2 = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, d));
    EXPECT_OK(lelp_builder_set_head(b, data.W, C, d));
    EXPECT_OK(lelp_builder_fit(b, &m));
    int64_t rank = 0;
    EXPECT_OK(lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &rank));
    assert_true(rank > 0);
    size_t size = 0;
    unsigned char* good = model_bytes(m, &size);
    EXPECT_OK(lelp_model_load(&m2, good, size, NULL));
    model_off o = model_layout((size_t)d, (size_t)C, (size_t)S);
    const double e0 = rdf(good + o.eig), e1 = rdf(good + o.eig + 8);
    expect_refused(good, size, o.eig, -e0, 0, "negative eigenvalue");
    expect_refused(good, size, o.eig + 8, 2.0 * e0, 0, "unsorted eigenvalues");
    expect_refused(good, size, o.eig + 8, e1 * 1.01, 0, "eigenvalue that disagrees with its ratio");
    expect_refused(good, size, o.ratio, 7.5, 0, "explained-variance ratio 7.5");
    expect_refused(good, size, o.U, rdf(good + o.U) + 0.1, 0, "non-orthonormal components");
    expect_refused(good, size, 0, 0.0, 1u, "head rank without the null-space flag");
    expect_refused(good, size, o.b, rdf(good + o.b) + 0.5, 0, "offset not <U, mu>");
    expect_refused(good, size, o.mean, 1e300, 0, "a mean of 1e300");
    /* what lelp_model_offsets reports is <U, mu>, as the projections use */
    double U[2 * 2 * 8], mu[2 * 8], off[4];
    EXPECT_OK(lelp_model_components(m2, U, 32));
    EXPECT_OK(lelp_model_means(m2, mu, 16));
    EXPECT_OK(lelp_model_offsets(m2, off, 4));
    for (int64_t k = 0; k < C * S; k++) {
        double v = 0.0;
        for (int64_t j = 0; j < d; j++) v += U[k * d + j] * mu[(k / S) * d + j];
        assert_true(fabs(v - off[k]) <= 1e-9 * (1.0 + fabs(v)));
    }
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_builder_free(b);
    synth_free(&data);
    free(good);
}

static void test_builder_state_invariants(void** state)
{
    (void)state;
    const int64_t d = 3, C = 1, S = 1;
    synth_data data;
    synth_spec spec = synth_default(64, d, C, 1, 5);
    assert_int_equal(synth_make(&data, &spec), 0);
    /* exact, co-moment form: a negative diagonal entry, then an entry
     * larger than the Cauchy-Schwarz bound */
    lelp_builder *b = NULL, *out = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, 0));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, 0));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, d));
    size_t size = 0;
    unsigned char* good = builder_bytes(b, &size);
    EXPECT_OK(lelp_builder_load(&out, good, size, NULL));
    lelp_builder_free(out);
    out = NULL;
    const size_t M = align64(align64(128 + 8) + d * 8); /* (0,0), (1,0), (2,0), (1,1), ... */
    unsigned char* bad = malloc(size);
    memcpy(bad, good, size);
    wrf(bad + M, -rdf(good + M));
    reseal(bad, size);
    EXPECT_STATUS(lelp_builder_load(&out, bad, size, NULL), LELP_E_FORMAT);
    memcpy(bad, good, size);
    wrf(bad + M + 8, 10.0 * sqrt(rdf(good + M) * rdf(good + M + 24)));
    reseal(bad, size);
    EXPECT_STATUS(lelp_builder_load(&out, bad, size, NULL), LELP_E_FORMAT);
    free(bad);
    free(good);
    lelp_builder_free(b);
    /* sketch: a trace of 0 under non-zero rows (fitted "OK" to a model that
     * did not reload) */
    EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, 0));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, d));
    good = builder_bytes(b, &size);
    const size_t trace = align64(align64(128 + 8) + d * 8);
    bad = malloc(size);
    memcpy(bad, good, size);
    assert_true(rdf(good + trace) > 0.0);
    wrf(bad + trace, 0.0);
    reseal(bad, size);
    EXPECT_STATUS(lelp_builder_load(&out, bad, size, NULL), LELP_E_FORMAT);
    assert_null(out);
    EXPECT_OK(lelp_builder_load(&out, good, size, NULL));
    lelp_builder_free(out);
    free(bad);
    free(good);
    lelp_builder_free(b);
    synth_free(&data);
}

/* ------------------------------------------------------------ 4: compressor */
/* SGD at lr = 10 on inputs near 1e15: compress and weights gave Inf from
 * step 2 on while step said OK. Now a step either leaves finite float32
 * weights or is refused with the compressor unchanged. */
static void test_compressor_refuses_overflowing_step(void** state)
{
    (void)state;
    const int64_t dt = 4, k = 3, C = 2, n = 8;
    lelp_compressor* c = NULL;
    EXPECT_OK(lelp_compressor_create(&c, dt, k, C, NULL));
    EXPECT_OK(lelp_compressor_set_int(c, LELP_COMPRESSOR_OPTIMIZER, LELP_OPTIMIZER_SGD));
    EXPECT_OK(lelp_compressor_set_double(c, LELP_COMPRESSOR_LR, 10.0));
    float E[8 * 4], out[8 * 3], A[12], a[3], W[6], bias[2];
    int32_t y[8];
    for (int64_t i = 0; i < n * dt; i++) E[i] = (float)(1e15 * ((i % 7) - 3.0));
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(i % C);
    int refused = 0;
    for (int step = 0; step < 6; step++) {
        size_t s0 = 0, s1 = 0;
        EXPECT_OK(lelp_compressor_serialized_size(c, &s0));
        unsigned char* before = malloc(s0);
        EXPECT_OK(lelp_compressor_serialize(c, before, s0, &s0));
        double loss = 0.0;
        int st = lelp_compressor_step(c, E, y, NULL, n, &loss);
        assert_true(st == LELP_OK || st == LELP_E_NUMERICAL);
        EXPECT_OK(lelp_compressor_serialized_size(c, &s1));
        unsigned char* after = malloc(s1);
        EXPECT_OK(lelp_compressor_serialize(c, after, s1, &s1));
        if (st == LELP_E_NUMERICAL) {
            refused++;
            assert_true(s0 == s1 && memcmp(before, after, s0) == 0);
        }
        lelp_compressor* back = NULL;
        EXPECT_OK(lelp_compressor_load(&back, after, s1, NULL)); /* every state it holds reloads */
        lelp_compressor_free(back);
        EXPECT_OK(lelp_compressor_weights(c, A, a, W, bias));
        for (int i = 0; i < 12; i++) assert_true(isfinite(A[i]));
        for (int i = 0; i < 6; i++) assert_true(isfinite(W[i]));
        for (int i = 0; i < 3; i++) assert_true(isfinite(a[i]));
        for (int i = 0; i < 2; i++) assert_true(isfinite(bias[i]));
        st = lelp_compressor_compress(c, E, n, out);
        assert_true(st == LELP_OK || st == LELP_E_NUMERICAL);
        if (st == LELP_OK)
            for (int i = 0; i < n * k; i++) assert_true(isfinite(out[i]));
        free(before);
        free(after);
    }
    assert_true(refused > 0);
    /* BLAS takes n as an int: 2^31 rows are refused before E is read */
    EXPECT_STATUS(lelp_compressor_compress(c, E, INT64_C(1) << 31, out), LELP_E_INVALID_ARG);
    lelp_compressor_free(c);
}

/* ------------------------------------------------------------ 5: aliasing */
static void test_outputs_may_not_alias_inputs(void** state)
{
    (void)state;
    const int64_t C = 2, S = 2, K = 4, n = 3;
    float U[3 * 4 + 8], T[3 * 4];
    int32_t y[3] = {0, 1, 0};
    for (int i = 0; i < 20; i++) U[i] = (float)(i % 5) * 0.3f;
    for (int i = 0; i < 12; i++) T[i] = 0.25f;
    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, C, S, NULL));
    double v = 0.0;
    /* the cases: grad == U gave 0.4304 for 0.4075, grad == T 3.73 */
    EXPECT_STATUS(lelp_loss_compute(l, U, T, NULL, NULL, n, &v, U), LELP_E_INVALID_ARG);
    assert_non_null(strstr(lelp_last_error(), "grad"));
    EXPECT_STATUS(lelp_loss_compute(l, U, T, NULL, NULL, n, &v, T), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_loss_compute(l, U, T, NULL, NULL, n, &v, U + 5), LELP_E_INVALID_ARG); /* partial overlap */
    EXPECT_STATUS(lelp_loss_compute(l, U, T, NULL, NULL, n, (double*)(void*)T, NULL), LELP_E_INVALID_ARG);
    float G[12];
    EXPECT_OK(lelp_loss_compute(l, U, T, NULL, NULL, n, &v, G));
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_ALPHA, 1.0));
    EXPECT_STATUS(lelp_loss_compute(l, U, NULL, y, NULL, n, &v, (float*)(void*)y), LELP_E_INVALID_ARG);
    lelp_loss_free(l);
    /* targets written into H (possible when d = C*S) */
    const int64_t d = 4;
    synth_data data;
    synth_spec spec = synth_default(60, d, C, 2, 3);
    assert_int_equal(synth_make(&data, &spec), 0);
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, data.n, d));
    EXPECT_OK(lelp_builder_fit(b, &m));
    float* H = data.H;
    float Z[3 * 2] = {0.1f, 0.2f, 0.3f, 0.1f, 0.0f, 0.5f};
    EXPECT_STATUS(lelp_model_targets_from_logits(m, H, Z, n, d, 1.0, H), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_targets_from_logits(m, H, Z, 1, d, 1.0, Z), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_targets_from_labels(m, H, data.y, n, d, 0.0, H + 2), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_project(m, H, n, d, H), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_assign(m, H, data.y, n, d, data.y), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_assign(m, H, data.y, n, d, (int32_t*)(void*)H), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_model_mean_entropy(m, H, data.y, n, d, 1.0, (double*)(void*)H), LELP_E_INVALID_ARG);
    float Tout[3 * 4];
    EXPECT_OK(lelp_model_targets_from_logits(m, H, Z, n, d, 1.0, Tout));
    lelp_model_free(m);
    lelp_builder_free(b);
    synth_free(&data);
    /* prediction helpers, in place */
    int32_t cls[3];
    EXPECT_STATUS(lelp_predict_log_proba(U, n, C, S, U), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_predict_class(U, n, C, S, (int32_t*)(void*)U), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_softmax_targets(U, n, K, 1.0, U), LELP_E_INVALID_ARG);
    EXPECT_OK(lelp_predict_class(U, n, C, S, cls));
    /* outputs right after their input, sharing no byte: accepted (each
     * output's own size, not the input's, bounds the check) */
    float adj[3 + 3 * 4 + 3 * 4];
    for (int i = 0; i < 27; i++) adj[i] = (float)(i % 5) * 0.3f;
    /* n classes, then U: a check sized by U's width (n*C) saw an overlap */
    EXPECT_OK(lelp_predict_class(adj + n, n, C, S, (int32_t*)(void*)adj));
    EXPECT_STATUS(lelp_predict_class(adj + n - 1, n, C, S, (int32_t*)(void*)adj), LELP_E_INVALID_ARG);
    EXPECT_OK(lelp_predict_log_proba(adj + n * C, n, C, S, adj));
    EXPECT_OK(lelp_softmax_targets(adj + n * C, n, C, 1.0, adj));
    /* compressor */
    lelp_compressor* c = NULL;
    EXPECT_OK(lelp_compressor_create(&c, 4, 4, 2, NULL));
    EXPECT_STATUS(lelp_compressor_compress(c, U, n, U), LELP_E_INVALID_ARG);
    float F[12], E2[12], gF[12];
    for (int i = 0; i < 12; i++) F[i] = E2[i] = (float)i * 0.1f;
    EXPECT_STATUS(lelp_compressor_student_loss(c, F, E2, n, &v, F), LELP_E_INVALID_ARG);
    EXPECT_STATUS(lelp_compressor_student_loss(c, F, E2, n, &v, E2), LELP_E_INVALID_ARG);
    EXPECT_OK(lelp_compressor_student_loss(c, F, E2, n, &v, gF));
    lelp_compressor_free(c);
}

/* ------------------------------------------------------------ 9: beta sample */
/* A class of 3 rows cost ~9.8 KB resident (a 256 KiB first chunk); the
 * first chunk is now ~1 KiB and grows with the rows. */
static void test_beta_sample_small_classes(void** state)
{
    (void)state;
    const int64_t d = 4, C = 1000, n = 3 * C;
    float* H = malloc(sizeof(float) * (size_t)(n * d));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)n);
    synth_rng r;
    synth_rng_seed(&r, 9);
    synth_fill_normal(&r, H, n * d, 1.0);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(i % C);
    counter cnt;
    lelp_allocator* a = counting(&cnt, (size_t)1 << 34);
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, C, 1, a));
    size_t before = cnt.live;
    EXPECT_OK(lelp_builder_update(b, H, y, n, d));
    const double per_class = (double)(cnt.live - before) / (double)C;
    if (per_class > 2048.0) fail_msg("%.0f bytes per class of 3 rows", per_class);
    lelp_builder_free(b);
    lelp_allocator_free(a);
    free(H);
    free(y);
}

/* ------------------------------------------------------------ 9: subnormals */
static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Targets of subnormal embeddings: the same bits as with those entries
 * zero (they are flushed before any arithmetic), and not much slower than
 * ordinary ones (~45x before, on cores where each subnormal operation takes
 * a microcode assist; on cores without that penalty the ratio passed before
 * too). */
static void test_subnormal_embeddings(void** state)
{
    (void)state;
    const int64_t d = 64, C = 4, S = 4, n = 4096;
    float* H = malloc(sizeof(float) * (size_t)(n * d));
    float* Hs = malloc(sizeof(float) * (size_t)(n * d));
    float* Hz = malloc(sizeof(float) * (size_t)(n * d));
    float* Z = calloc((size_t)(n * C), sizeof(float));
    float* T1 = malloc(sizeof(float) * (size_t)(n * C * S));
    float* T2 = malloc(sizeof(float) * (size_t)(n * C * S));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)n);
    synth_rng r;
    synth_rng_seed(&r, 21);
    synth_fill_normal(&r, H, n * d, 1.0);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(i % C);
    for (int64_t i = 0; i < n * d; i++) {
        Hs[i] = (i % 3) ? H[i] * 1e-39f : H[i]; /* two thirds subnormal */
        Hz[i] = (i % 3) ? 0.0f * H[i] : H[i];
    }
    for (int centre = 0; centre < 2; centre++) {
        /* a mean far from 0 makes the model centre rows before its GEMM */
        float* F = malloc(sizeof(float) * (size_t)(n * d));
        for (int64_t i = 0; i < n * d; i++) F[i] = H[i] + (centre ? 50.0f : 0.0f);
        lelp_builder* b = NULL;
        lelp_model* m = NULL;
        EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
        EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1.0));
        EXPECT_OK(lelp_builder_update(b, F, y, n, d));
        EXPECT_OK(lelp_builder_fit(b, &m));
        EXPECT_OK(lelp_model_targets_from_logits(m, Hs, Z, n, d, 1.0, T1));
        EXPECT_OK(lelp_model_targets_from_logits(m, Hz, Z, n, d, 1.0, T2));
        assert_memory_equal(T1, T2, sizeof(float) * (size_t)(n * C * S));
        double best[2] = {1e30, 1e30};
        for (int rep = 0; rep < 5 && !instrumented(); rep++)
            for (int k = 0; k < 2; k++) {
                double t0 = seconds();
                EXPECT_OK(lelp_model_targets_from_logits(m, k ? Hs : H, Z, n, d, 1.0, T1));
                double t = seconds() - t0;
                if (t < best[k]) best[k] = t;
            }
        if (!instrumented()) { /* times under ASan or valgrind are the instrumentation's */
            print_message("centre %d: subnormal batch %.2f x the time of an ordinary one\n", centre, best[1] / best[0]);
            assert_true(best[1] < 8.0 * best[0]);
        }
        lelp_model_free(m);
        lelp_builder_free(b);
        free(F);
    }
    free(H);
    free(Hs);
    free(Hz);
    free(Z);
    free(T1);
    free(T2);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sketch_size_cap),
        cmocka_unit_test(test_load_budget_refuses_bombs),
        cmocka_unit_test(test_limit_api),
        cmocka_unit_test(test_many_classes_peak_allocation),
        cmocka_unit_test(test_crafted_files_peak_rss),
        cmocka_unit_test(test_load_path_fifo),
        cmocka_unit_test(test_load_path_reads_header_first),
        cmocka_unit_test(test_model_invariants),
        cmocka_unit_test(test_builder_state_invariants),
        cmocka_unit_test(test_compressor_refuses_overflowing_step),
        cmocka_unit_test(test_outputs_may_not_alias_inputs),
        cmocka_unit_test(test_beta_sample_small_classes),
        cmocka_unit_test(test_subnormal_embeddings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
