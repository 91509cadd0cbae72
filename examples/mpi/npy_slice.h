/* npy_slice.h -- just enough NumPy .npy reading for examples/mpi_fit.c:
 * v1.0/v2.0 headers, little-endian float32/float64/int32/int64, C order,
 * rank 1 or 2, and reading an arbitrary row range without loading the file.
 * Header-only so the example stays one translation unit. */
#ifndef LELP_NPY_SLICE_H
#define LELP_NPY_SLICE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct npy_file {
    FILE* f;
    char kind;       /* 'f' or 'i' */
    int itemsize;    /* 4 or 8 */
    int ndim;
    int64_t rows, cols; /* cols = 1 for rank-1 arrays */
    long data_offset;
} npy_file;

/* Opens and validates; on error returns non-zero with a message in err. */
static int npy_open(npy_file* n, const char* path, char* err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    n->f = fopen(path, "rb");
    if (!n->f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return 1;
    }
    unsigned char pre[10];
    if (fread(pre, 1, 10, n->f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(err, errlen, "%s: not a .npy file", path);
        return 1;
    }
    uint32_t hlen;
    long start;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8);
        start = 10;
    } else if (pre[6] == 2 || pre[6] == 3) {
        unsigned char b[2];
        if (fread(b, 1, 2, n->f) != 2) {
            snprintf(err, errlen, "%s: truncated header", path);
            return 1;
        }
        hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8) | ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 24);
        start = 12;
    } else {
        snprintf(err, errlen, "%s: unsupported .npy version %d", path, pre[6]);
        return 1;
    }
    if (hlen > 65536) {
        snprintf(err, errlen, "%s: header too long", path);
        return 1;
    }
    char* h = calloc(hlen + 1, 1);
    if (!h || fread(h, 1, hlen, n->f) != hlen) {
        free(h);
        snprintf(err, errlen, "%s: truncated header", path);
        return 1;
    }
    const char* descr = strstr(h, "'descr':");
    const char* fo = strstr(h, "'fortran_order':");
    const char* shape = strstr(h, "'shape':");
    int ok = descr && fo && shape;
    if (ok) {
        descr = strchr(descr + 8, '\'');
        ok = descr && (descr[1] == '<' || descr[1] == '|') && (descr[2] == 'f' || descr[2] == 'i') &&
             (descr[3] == '4' || descr[3] == '8') && descr[4] == '\'';
    }
    if (!ok) {
        snprintf(err, errlen, "%s: dtype must be little-endian float32/float64/int32/int64", path);
        free(h);
        return 1;
    }
    n->kind = descr[2];
    n->itemsize = descr[3] - '0';
    if (strncmp(fo + 16, " False", 6) != 0) {
        snprintf(err, errlen, "%s: Fortran-order arrays are not supported", path);
        free(h);
        return 1;
    }
    const char* p = strchr(shape, '(');
    long long a = -1, b = -1;
    int got = p ? sscanf(p, "(%lld, %lld)", &a, &b) : 0;
    if (got == 1 || (p && sscanf(p, "(%lld,)", &a) == 1 && got < 2)) {
        n->ndim = 1;
        n->rows = a;
        n->cols = 1;
    } else if (got == 2) {
        n->ndim = 2;
        n->rows = a;
        n->cols = b;
    } else {
        snprintf(err, errlen, "%s: only rank-1 and rank-2 arrays are supported", path);
        free(h);
        return 1;
    }
    free(h);
    n->data_offset = start + (long)hlen;
    if (n->rows < 0 || n->cols < 1) {
        snprintf(err, errlen, "%s: bad shape", path);
        return 1;
    }
    fseek(n->f, 0, SEEK_END);
    long size = ftell(n->f);
    if (size < n->data_offset + (long)(n->rows * n->cols * n->itemsize)) {
        snprintf(err, errlen, "%s: truncated data", path);
        return 1;
    }
    return 0;
}

/* Rows [r0, r0+nr) as float32 (floats) -- any float type -- or int32. */
static int npy_read_f32(npy_file* n, int64_t r0, int64_t nr, float* out)
{
    if (n->kind != 'f') return 1;
    fseek(n->f, n->data_offset + (long)(r0 * n->cols * n->itemsize), SEEK_SET);
    int64_t count = nr * n->cols;
    if (n->itemsize == 4) return fread(out, 4, (size_t)count, n->f) != (size_t)count;
    for (int64_t i = 0; i < count; i++) {
        double v;
        if (fread(&v, 8, 1, n->f) != 1) return 1;
        out[i] = (float)v;
    }
    return 0;
}

static int npy_read_i32(npy_file* n, int64_t r0, int64_t nr, int32_t* out)
{
    if (n->kind != 'i' || n->cols != 1) return 1;
    fseek(n->f, n->data_offset + (long)(r0 * n->itemsize), SEEK_SET);
    if (n->itemsize == 4) return fread(out, 4, (size_t)nr, n->f) != (size_t)nr;
    for (int64_t i = 0; i < nr; i++) {
        int64_t v;
        if (fread(&v, 8, 1, n->f) != 1 || v < INT32_MIN || v > INT32_MAX) return 1;
        out[i] = (int32_t)v;
    }
    return 0;
}

static void npy_close(npy_file* n)
{
    if (n->f) fclose(n->f);
    n->f = NULL;
}

#endif
