/* SPDX-License-Identifier: MIT */
/* sketch.h -- the Frequent Directions state of all classes (sketch.c),
 * shared with the builder's serializer (builder_io.c). */
#ifndef LELP_SKETCH_H
#define LELP_SKETCH_H

#include "../common/common.h"

typedef struct lelp__sketch {
    int64_t ell, cap, d, C;  /* cap = 2 * ell rows per class */
    double* rows;            /* C x cap x d, row-major: the buffers' storage */
    double** B;              /* C: class c's buffer (cap x d), one of rows' C or the spare */
    int64_t* nrows;          /* C */
    double* trace;           /* C: exact trace of each class's co-moment matrix */
    int failed;              /* LELP_E_SOLVER once a shrink's eigensolver failed: sticky, fit reports it */
    int64_t failed_class;    /* the class whose shrink failed first */
    int64_t failed_info;     /* and the eigensolver's info */
    /* scratch for a shrink, allocated up front so updates never allocate */
    double* G;               /* cap x cap */
    double* w;               /* cap */
    double* spare;           /* cap x d: a shrink writes its rows here and trades it for the class's buffer */
    double* spare0;          /* the spare's own allocation (the buffers move between classes) */
    double* panel;           /* lelp__rows_combine_work(cap) doubles */
    double* Z;               /* cap x ell: the kept eigenvectors */
    double* work;
    int64_t lwork;
    int* iwork;              /* lapack_int, sized for dsyevd */
    int64_t liwork;
} lelp__sketch;

int64_t lelp__sketch_default_ell(int64_t d, int64_t S);
/* Rows each shrink lowers by delta (m of the bound x^T(M - B^T B)x <= tail_k / (m - k)). */
int64_t lelp__sketch_shrunk_rows(int64_t ell);
/* dsyevd's documented workspace for an n x n problem with vectors. */
int64_t lelp__dsyevd_lwork(int64_t n);
int64_t lelp__dsyevd_liwork(int64_t n);
/* Bytes a sketch of this shape allocates (the loaders' budget). */
double lelp__sketch_bytes(int64_t d, int64_t C, int64_t ell);
int lelp__sketch_create(const lelp__mem* mem, int64_t d, int64_t C, int64_t ell, lelp__sketch** out);
void lelp__sketch_free(const lelp__mem* mem, lelp__sketch* sk);
/* Chan update of class c with the block H[rows[0..nb)] of mean bm, centred
 * straight into the sketch buffer. */
void lelp__sketch_add_block(lelp__sketch* sk, double* mean, int64_t* count, int64_t c, const float* H,
                            const int64_t* rows, int64_t nb, const double* bm, double* delta);
/* Adds src's class-c sketch (disjoint data) into dst's. */
void lelp__sketch_merge(lelp__sketch* dst, double* mean, int64_t* count, int64_t c, const lelp__sketch* src,
                        const double* mean_b, int64_t count_b, double* delta);
/* Top-S eigenpairs of P B^T B P / (n-1) for class c (V: d x S column-major);
 * *trace0 = the trace before the projection (0 without a head).
 * LELP_E_SOLVER when any shrink of the sketch failed (sk->failed). */
int lelp__sketch_eigen(const lelp__mem* mem, const lelp__sketch* sk, int64_t c, int64_t count, const double* Q,
                       int64_t rh, int64_t S, double* lam, double* V, double* trace, double* trace0);

#endif /* LELP_SKETCH_H */
