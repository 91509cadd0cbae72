/* SPDX-License-Identifier: MIT */
/* npy.h -- NumPy .npy files for the lelp tools: v1.0/2.0 (and 3.0) headers,
 * float32/float64/int32/int64, C order, rank 1 or 2 on input; either byte
 * order is read ('<' or '>'), and files are written little-endian ('<'),
 * on any host (big-endian hosts swap).
 * Reading is by row range (streaming, bounded memory: conversions go through
 * a fixed 64 KiB buffer); writing appends rows after a header whose shape is
 * known up front. Every error message names the file and the problem, on one
 * line. Used by tools/lelp.c and examples/mpi_fit.c. */
#ifndef LELP_TOOLS_NPY_H
#define LELP_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct npy_file {
    FILE* f;
    char path[1024];
    char kind;      /* 'f' float, 'i' int */
    int itemsize;   /* 4 or 8 */
    int swap;       /* 1: the file's byte order is not the host's */
    int ndim;       /* 1 or 2 */
    int64_t rows, cols; /* cols = 1 for rank 1 */
    long data_offset;
} npy_file;

/* Opens and validates; 0 on success, else 1 with a one-line message in err. */
int npy_open(npy_file* n, const char* path, char* err, size_t errlen);
void npy_close(npy_file* n);
/* Rows [r0, r0 + nr) converted to float32. A NaN or Inf in the file, or a
 * float64/int64 value outside float32's range, is an error naming the
 * absolute row and column. */
int npy_read_f32(npy_file* n, int64_t r0, int64_t nr, float* out, char* err, size_t errlen);
/* Rows [r0, r0 + nr) of an integer array as int32 (int64 values must fit). */
int npy_read_i32(npy_file* n, int64_t r0, int64_t nr, int32_t* out, char* err, size_t errlen);
/* Writer: header for (rows, cols) (cols = 0: rank 1) of dtype "<f4", "<f8", "<i4" or "<i8";
 * npy_write then takes whole items in host order. */
int npy_create(npy_file* n, const char* path, const char* descr, int64_t rows, int64_t cols, char* err,
               size_t errlen);
/* Writer for any rank 1..8: shape dims[0..ndim). Path "-" writes to standard output. */
int npy_create_shape(npy_file* n, const char* path, const char* descr, int ndim, const int64_t* dims, char* err,
                     size_t errlen);
int npy_write(npy_file* n, const void* data, size_t bytes, char* err, size_t errlen);
/* Closes a file being written; 0 if every byte reached the file. */
int npy_finish(npy_file* n, char* err, size_t errlen);

#endif
