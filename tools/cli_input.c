/* SPDX-License-Identifier: MIT */
/* cli_input.c -- what every lelp command shares: opening and checking the
 * input files, the batch size, allocation, the progress bar. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>
#include <unistd.h>

#include "cli.h"


/* Rows per batch: --batch, or as many as keep one batch of input (in_width
 * float32 values a row) and one of output (out_width) under 64 MiB each, at
 * most 65536: memory stays bounded whatever the file size. Never more than
 * the file's `rows` (buffers are sized by what there is to read, not by
 * --batch), and never so many that rows x width x 8 bytes overflows. */
int64_t batch_rows(const opts* o, int64_t rows, int64_t in_width, int64_t out_width)
{
    int64_t w = in_width > out_width ? in_width : out_width;
    w = w > 0 ? w : 1;
    int64_t b = (INT64_C(64) << 20) / (4 * w);
    b = o->batch > 0 ? o->batch : (b > 65536 ? 65536 : b);
    if (b > rows) b = rows;
    if (b > INT64_MAX / 8 / w) b = INT64_MAX / 8 / w;
    return b < 1 ? 1 : b;
}

void* xalloc(size_t count, size_t size, int64_t rows)
{
    void* p = calloc(count ? count : 1, size);
    if (!p) {
        die(EXIT_BAD, "out of memory for a batch of %lld rows (try a smaller --batch)", (long long)rows);
        exit(EXIT_BAD);
    }
    return p;
}

/* ---- progress ------------------------------------------------------------------------------ */
double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bar(int64_t done, int64_t total, double t0)
{
    static double last = -1.0;
    if (!isatty(2)) return;
    double t = now();
    if (done < total && t - last < 0.1) return; /* at most ten redraws a second */
    last = t;
    double el = t - t0, rate = el > 0 ? (double)done / el : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    int w = 30, f = total ? (int)(done * w / total) : w;
    fprintf(stderr, "\r[%.*s%*s] %lld/%lld rows  %.0f rows/s  ETA %.0fs ", f, "##############################", w - f,
            "", (long long)done, (long long)total, rate, eta);
    if (done == total) fputc('\n', stderr);
}

/* ---- shared input handling ----------------------------------------------------------------------- */
int open_matrix(npy_file* f, const char* path, const char* what)
{
    char err[1100];
    if (npy_open(f, path, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if (f->ndim != 2)
        return die(EXIT_BAD, "%s: %s must be a 2-D array, this one has rank 1 (shape (%lld,))", path, what,
                   (long long)f->rows);
    if (f->kind != 'f') return die(EXIT_BAD, "%s: %s must be float32 or float64, not int%d", path, what, 8 * f->itemsize);
    return 0;
}

int open_labels(npy_file* f, const char* path, int64_t rows, const char* rows_file)
{
    char err[1100];
    if (npy_open(f, path, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if (f->ndim != 1)
        return die(EXIT_BAD, "%s: labels must be a 1-D array, this one has shape (%lld, %lld)", path, (long long)f->rows,
                   (long long)f->cols);
    if (f->kind != 'i') return die(EXIT_BAD, "%s: labels must be int32 or int64, not float%d", path, 8 * f->itemsize);
    if (f->rows != rows)
        return die(EXIT_BAD, "%s: %lld labels but %s has %lld rows", path, (long long)f->rows, rows_file, (long long)rows);
    return 0;
}

int load_model(const char* path, lelp_model** m, int64_t* d, int64_t* C, int64_t* S)
{
    int st = lelp_model_load_path(m, path, NULL);
    if (st) return die(EXIT_BAD, "%s: not a readable LELP model: %s (%s)", path, lelp_last_error(), lelp_status_string(st));
    lelp_model_get_int(*m, LELP_MODEL_DIM, d);
    lelp_model_get_int(*m, LELP_MODEL_NUM_CLASSES, C);
    lelp_model_get_int(*m, LELP_MODEL_SUBCLASSES, S);
    return 0;
}

/* labels in [0, C) (the library checks too; this names the file and the absolute row) */
int label_problem(const char* file, const int32_t* lab, int64_t n, int64_t row0, int64_t C, char* msg, size_t len)
{
    for (int64_t k = 0; k < n; k++)
        if (lab[k] < 0)
            return snprintf(msg, len, "%s: label %d at row %lld is negative", file, lab[k], (long long)(row0 + k)), 1;
        else if (lab[k] >= C)
            return snprintf(msg, len, "%s: label %d at row %lld is outside [0, %lld)", file, lab[k],
                            (long long)(row0 + k), (long long)C), 1;
    return 0;
}

int check_labels(const char* file, const int32_t* lab, int64_t n, int64_t row0, int64_t C)
{
    char msg[1200];
    return label_problem(file, lab, n, row0, C, msg, sizeof msg) ? die(EXIT_BAD, "%s", msg) : 0;
}

npy_file* open_copies(const char* path, int T)
{
    char err[1100];
    npy_file* f = xalloc((size_t)T, sizeof(npy_file), T);
    for (int t = 0; t < T; t++)
        if (npy_open(&f[t], path, err, sizeof err)) {
            die(EXIT_BAD, "%s", err);
            for (int k = 0; k < t; k++) npy_close(&f[k]);
            free(f);
            return NULL;
        }
    return f;
}

void close_copies(npy_file* f, int T)
{
    if (!f) return;
    for (int t = 0; t < T; t++) npy_close(&f[t]);
    free(f);
}
