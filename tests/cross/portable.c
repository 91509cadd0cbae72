/* SPDX-License-Identifier: MIT */
/* portable.c -- files written on one architecture read on another
 * (make check-cross: x86-64 <-> s390x, big-endian, and armhf, 32-bit).
 *
 *   portable write DIR   fits models on synthetic data that every host
 *                        generates bit-identically, and writes to DIR: the
 *                        data and the targets (.npy, tools/npy.c), models,
 *                        builder states of the first half of the rows, and a
 *                        trained compressor with its outputs;
 *   portable check DIR   reads another host's DIR and checks, printing the
 *                        largest difference of each:
 *     - the .npy data equal this host's bit for bit;
 *     - the other host's model gives the other host's targets here (1e-6);
 *     - this host's own fit gives the same targets (1e-6);
 *     - the other host's half state merged with this host's second half and
 *       fitted equals this host's single-host fit (targets 1e-6, means and
 *       eigenvalues 1e-9 relative);
 *     - the other host's compressor compresses as it did there (1e-6);
 *   portable lastrow FILE  prints the last row of a float .npy (a sparse
 *                        file over 2 GiB: 64-bit offsets on 32-bit targets).
 * Three solver cases: exact co-moments, the Frequent Directions sketch (at
 * l = d + 1, where its shrinks lose nothing, so a state merged across hosts
 * matches the single-host fit to rounding; the automatic l would add the
 * sketch's own error), and the exact solver's Gram (row) form (few rows per
 * class). The synthetic
 * data are computed exactly in double and rounded once: s390x evaluates
 * float expressions in double (FLT_EVAL_METHOD 1 under -std=c11), and a
 * fused multiply-add (-ffp-contract=off here) would change bits too. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LELP_EXPERIMENTAL /* LELP_BUILDER_SKETCH_SIZE */
#include "lelp.h"
#include "npy.h"

#define TOL_TARGET 1e-6
#define TOL_STAT 1e-9

typedef struct {
    const char* name;
    int64_t d, n, C, S;
    int solver;
} pcase;

static const pcase cases[] = {
    {"exact", 16, 600, 3, 2, LELP_SOLVER_EXACT},
    {"sketch", 16, 600, 3, 2, LELP_SOLVER_SKETCH},
    {"gram", 64, 60, 3, 3, LELP_SOLVER_EXACT},
};

static int failures;

static void die_if(int bad, const char* what)
{
    if (!bad) return;
    fprintf(stderr, "portable: %s: %s\n", what, lelp_last_error());
    exit(2);
}

/* xorshift64*: the same integers on every host; floats from 24 bits, exact */
static uint64_t rng_next(uint64_t* s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}
static float rng_unit(uint64_t* s)
{
    return (float)(rng_next(s) >> 40) / 16777216.0f;
}

/* n x d rows in C classes, each three clusters with decreasing spreads,
 * logits Z (n x C): the same floats on every host */
static void make_data(const pcase* pc, float* H, int32_t* y, float* Z)
{
    uint64_t s = UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)pc->d;
    for (int64_t i = 0; i < pc->n; i++) {
        const int32_t c = (int32_t)(i % pc->C);
        const int64_t k = (i / pc->C) % 3;
        y[i] = c;
        for (int64_t j = 0; j < pc->d; j++) {
            const double centre = (double)((c + 1) * ((j + k) % 5)) * 0.5;
            H[i * pc->d + j] = (float)(centre + ((double)rng_unit(&s) - 0.5) * (double)(pc->d - j) * 0.125);
        }
        for (int64_t c2 = 0; c2 < pc->C; c2++) Z[i * pc->C + c2] = (float)((c2 == c ? 2.0 : 0.0) + rng_unit(&s) - 0.5);
    }
}

static lelp_builder* make_builder(const pcase* pc)
{
    lelp_builder* b = NULL;
    die_if(lelp_builder_create(&b, pc->d, pc->C, pc->S, NULL) != LELP_OK, "builder_create");
    die_if(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, pc->solver) != LELP_OK, "set solver");
    die_if(lelp_builder_set_int(b, LELP_BUILDER_SEED, 17) != LELP_OK, "set seed");
    if (pc->solver == LELP_SOLVER_SKETCH)
        die_if(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, pc->d + 1) != LELP_OK, "set sketch size");
    return b;
}

/* rows [r0, r1) in batches of 37 */
static void stream(lelp_builder* b, const pcase* pc, const float* H, const int32_t* y, int64_t r0, int64_t r1)
{
    for (int64_t i = r0; i < r1; i += 37) {
        const int64_t nb = r1 - i < 37 ? r1 - i : 37;
        die_if(lelp_builder_update(b, H + i * pc->d, y + i, nb, pc->d) != LELP_OK, "builder_update");
    }
}

static lelp_model* fit(const lelp_builder* b)
{
    lelp_model* m = NULL;
    die_if(lelp_builder_fit(b, &m) != LELP_OK, "builder_fit");
    return m;
}

static float* targets(const lelp_model* m, const pcase* pc, const float* H, const float* Z)
{
    float* T = malloc(sizeof(float) * (size_t)(pc->n * pc->C * pc->S));
    die_if(!T, "malloc");
    die_if(lelp_model_targets_from_logits(m, H, Z, pc->n, pc->d, 2.0, T) != LELP_OK, "targets");
    return T;
}

static void path_of(char* out, size_t cap, const char* dir, const pcase* pc, const char* what)
{
    snprintf(out, cap, "%s/%s_%s", dir, pc->name, what);
}

static void write_npy(const char* path, const char* descr, const void* data, int64_t rows, int64_t cols, size_t item)
{
    npy_file f;
    char err[1024];
    if (npy_create(&f, path, descr, rows, cols, err, sizeof err) ||
        npy_write(&f, data, (size_t)(rows * (cols ? cols : 1)) * item, err, sizeof err) || npy_finish(&f, err, sizeof err)) {
        fprintf(stderr, "portable: %s\n", err);
        exit(2);
    }
}

static float* read_npy_f32(const char* path, int64_t rows, int64_t cols)
{
    npy_file f;
    char err[1024];
    float* out = malloc(sizeof(float) * (size_t)(rows * cols));
    die_if(!out, "malloc");
    if (npy_open(&f, path, err, sizeof err) || f.rows != rows || f.cols != cols ||
        npy_read_f32(&f, 0, rows, out, err, sizeof err)) {
        fprintf(stderr, "portable: %s: %s (shape %lld x %lld)\n", path, err, (long long)f.rows, (long long)f.cols);
        exit(2);
    }
    npy_close(&f);
    return out;
}

static void report(const char* pcname, const char* what, double worst, double tol)
{
    const int ok = worst <= tol;
    printf("%s %s %s: largest difference %.3g (tol %g)\n", ok ? "ok  " : "FAIL", pcname, what, worst, tol);
    failures += !ok;
}

static double max_abs(const float* a, const float* b, int64_t n)
{
    double w = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - (double)b[i]);
        w = e > w || e != e ? e : w;
    }
    return w;
}

static double max_rel(const double* a, const double* b, int64_t n)
{
    double w = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs(a[i] - b[i]) / (fabs(b[i]) > 1e-300 ? fabs(b[i]) : 1.0);
        w = e > w || e != e ? e : w;
    }
    return w;
}

static lelp_compressor* make_compressor(const pcase* pc, const float* H, const int32_t* y)
{
    lelp_compressor* c = NULL;
    die_if(lelp_compressor_create(&c, pc->d, 4, pc->C, NULL) != LELP_OK, "compressor_create");
    double loss;
    for (int step = 0; step < 5; step++) die_if(lelp_compressor_step(c, H, y, NULL, pc->n, &loss) != LELP_OK, "step");
    return c;
}

static void write_case(const char* dir, const pcase* pc, const float* H, const int32_t* y, const float* Z)
{
    char path[1024];
    lelp_builder* all = make_builder(pc);
    stream(all, pc, H, y, 0, pc->n);
    lelp_model* m = fit(all);
    path_of(path, sizeof path, dir, pc, "model.lelp");
    die_if(lelp_model_save_path(m, path) != LELP_OK, path);
    float* T = targets(m, pc, H, Z);
    path_of(path, sizeof path, dir, pc, "targets.npy");
    write_npy(path, "<f4", T, pc->n, pc->C * pc->S, 4);
    path_of(path, sizeof path, dir, pc, "H.npy");
    write_npy(path, "<f4", H, pc->n, pc->d, 4);
    path_of(path, sizeof path, dir, pc, "y.npy");
    write_npy(path, "<i4", y, pc->n, 0, 4);
    lelp_builder* half = make_builder(pc);
    stream(half, pc, H, y, 0, pc->n / 2);
    path_of(path, sizeof path, dir, pc, "half.lelpb");
    die_if(lelp_builder_save_path(half, path) != LELP_OK, path);
    lelp_compressor* c = make_compressor(pc, H, y);
    path_of(path, sizeof path, dir, pc, "comp.lelpc");
    die_if(lelp_compressor_save_path(c, path) != LELP_OK, path);
    float* E = malloc(sizeof(float) * (size_t)(pc->n * 4));
    die_if(!E || lelp_compressor_compress(c, H, pc->n, E) != LELP_OK, "compress");
    path_of(path, sizeof path, dir, pc, "comp_out.npy");
    write_npy(path, "<f4", E, pc->n, 4, 4);
    free(E);
    lelp_compressor_free(c);
    free(T);
    lelp_model_free(m);
    lelp_builder_free(half);
    lelp_builder_free(all);
}

static void check_case(const char* dir, const pcase* pc, const float* H, const int32_t* y, const float* Z)
{
    char path[1024];
    const int64_t K = pc->C * pc->S;
    /* .npy: data, labels and targets as the other host wrote them */
    path_of(path, sizeof path, dir, pc, "H.npy");
    float* Ho = read_npy_f32(path, pc->n, pc->d);
    report(pc->name, ".npy embeddings written there, read here", memcmp(Ho, H, sizeof(float) * (size_t)(pc->n * pc->d)) ? 1.0 : 0.0, 0.0);
    npy_file f;
    char err[1024];
    int32_t* yo = malloc(sizeof(int32_t) * (size_t)pc->n);
    path_of(path, sizeof path, dir, pc, "y.npy");
    die_if(!yo || npy_open(&f, path, err, sizeof err) || npy_read_i32(&f, 0, pc->n, yo, err, sizeof err), path);
    npy_close(&f);
    report(pc->name, ".npy labels written there, read here", memcmp(yo, y, sizeof(int32_t) * (size_t)pc->n) ? 1.0 : 0.0, 0.0);
    path_of(path, sizeof path, dir, pc, "targets.npy");
    float* To = read_npy_f32(path, pc->n, K);
    /* the other host's model, here */
    lelp_model* mo = NULL;
    path_of(path, sizeof path, dir, pc, "model.lelp");
    die_if(lelp_model_load_path(&mo, path, NULL) != LELP_OK, path);
    float* T1 = targets(mo, pc, H, Z);
    report(pc->name, "model written there: targets here = targets there", max_abs(T1, To, pc->n * K), TOL_TARGET);
    /* this host's own fit */
    lelp_builder* all = make_builder(pc);
    stream(all, pc, H, y, 0, pc->n);
    lelp_model* m = fit(all);
    float* T2 = targets(m, pc, H, Z);
    report(pc->name, "fit here: targets = targets there", max_abs(T2, To, pc->n * K), TOL_TARGET);
    /* the other host's half state + this host's second half = the single-host fit */
    lelp_builder *half = NULL, *rest = make_builder(pc);
    path_of(path, sizeof path, dir, pc, "half.lelpb");
    die_if(lelp_builder_load_path(&half, path, NULL) != LELP_OK, path);
    stream(rest, pc, H, y, pc->n / 2, pc->n);
    die_if(lelp_builder_merge(half, rest) != LELP_OK, "merge");
    lelp_model* mm = fit(half);
    float* T3 = targets(mm, pc, H, Z);
    report(pc->name, "state there + rows here, merged: targets = single-host fit", max_abs(T3, T2, pc->n * K), TOL_TARGET);
    double *a = malloc(sizeof(double) * (size_t)(pc->C * pc->d)), *b = malloc(sizeof(double) * (size_t)(pc->C * pc->d));
    die_if(!a || !b, "malloc");
    die_if(lelp_model_means(mm, a, pc->C * pc->d) || lelp_model_means(m, b, pc->C * pc->d), "means");
    report(pc->name, "merged state: means = single-host fit", max_rel(a, b, pc->C * pc->d), TOL_STAT);
    die_if(lelp_model_eigenvalues(mm, a, K) || lelp_model_eigenvalues(m, b, K), "eigenvalues");
    /* the sketch's bound, not rounding, separates a merged sketch from a streamed one */
    if (pc->solver == LELP_SOLVER_EXACT)
        report(pc->name, "merged state: eigenvalues = single-host fit", max_rel(a, b, K), TOL_STAT);
    /* the compressor */
    lelp_compressor* co = NULL;
    path_of(path, sizeof path, dir, pc, "comp.lelpc");
    die_if(lelp_compressor_load_path(&co, path, NULL) != LELP_OK, path);
    float* E = malloc(sizeof(float) * (size_t)(pc->n * 4));
    die_if(!E || lelp_compressor_compress(co, H, pc->n, E) != LELP_OK, "compress");
    path_of(path, sizeof path, dir, pc, "comp_out.npy");
    float* Eo = read_npy_f32(path, pc->n, 4);
    report(pc->name, "compressor written there: output here = output there", max_abs(E, Eo, pc->n * 4), TOL_TARGET);
    free(Eo);
    free(E);
    lelp_compressor_free(co);
    free(a);
    free(b);
    free(T3);
    free(T2);
    free(T1);
    free(To);
    free(yo);
    free(Ho);
    lelp_model_free(mm);
    lelp_model_free(m);
    lelp_model_free(mo);
    lelp_builder_free(half);
    lelp_builder_free(rest);
    lelp_builder_free(all);
}

/* the last row of a float .npy, "%.9g" each: tools/npy.c beyond 2 GiB */
static int last_row(const char* path)
{
    npy_file f;
    char err[1024];
    float row[16];
    if (npy_open(&f, path, err, sizeof err) || f.cols > 16 || f.rows < 1 ||
        npy_read_f32(&f, f.rows - 1, 1, row, err, sizeof err)) {
        fprintf(stderr, "portable: %s\n", f.cols > 16 ? "more than 16 columns" : err);
        return 1;
    }
    for (int64_t j = 0; j < f.cols; j++) printf("%s%.9g", j ? " " : "", row[j]);
    printf("\n");
    npy_close(&f);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc == 3 && strcmp(argv[1], "lastrow") == 0) return last_row(argv[2]);
    if (argc != 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "check"))) {
        fprintf(stderr, "usage: portable write|check|lastrow DIR|FILE\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const pcase* pc = &cases[k];
        float* H = malloc(sizeof(float) * (size_t)(pc->n * pc->d));
        float* Z = malloc(sizeof(float) * (size_t)(pc->n * pc->C));
        int32_t* y = malloc(sizeof(int32_t) * (size_t)pc->n);
        die_if(!H || !Z || !y, "malloc");
        make_data(pc, H, y, Z);
        if (argv[1][0] == 'w') write_case(argv[2], pc, H, y, Z);
        else check_case(argv[2], pc, H, y, Z);
        free(H);
        free(Z);
        free(y);
    }
    if (argv[1][0] == 'c') printf("portable: %s, %d failed\n", argv[2], failures);
    return failures ? 1 : 0;
}
