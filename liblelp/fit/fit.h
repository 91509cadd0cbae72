/* SPDX-License-Identifier: MIT */
/* fit.h -- the fit module's private interface: the builder's handle
 * (builder.c, builder_io.c, fit.c), its statistics (co-moments, Gram form)
 * and the head's null space (docs/architecture.md). The sketch and the beta
 * sample have their own headers. */
#ifndef LELP_FIT_H
#define LELP_FIT_H

#include "../common/common.h"
#include "beta_sample.h"
#include "sketch.h"

struct lelp_builder {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t d, C, S;
    /* parameters (params.c's table points at these) */
    int null_space, rotate;
    uint64_t seed;
    double beta;             /* 0 = automatic */
    double entropy_fraction;
    int solver;              /* enum lelp_solver */
    int64_t ell_param;       /* LELP_BUILDER_SKETCH_SIZE as set (0 = automatic) */
    int precision;           /* enum lelp_precision */
    int gram_form;           /* LELP_BUILDER_GRAM_FORM */
    int64_t bsample_param;   /* LELP_BUILDER_BETA_SAMPLE as set (-1 = automatic) */
    int labeller;            /* enum lelp_labeller (kmeans.c) */
    int started;             /* statistics allocated: solver, sketch size, precision, sample fixed */
    uint32_t format_version, writer_version; /* of the buffer it was loaded from (else this library's) */
    /* statistics */
    int64_t* count;          /* C */
    double* mean;            /* C x d */
    double* M;               /* exact: C x (d x d), lower triangle, column-major */
    int64_t* nrows;          /* exact, C: rows kept in row form (gram.c), -1 once M holds the co-moment */
    lelp__sketch* sk;        /* sketch solver state */
    lelp__bsample* bs;       /* rows kept for the automatic beta; NULL = none */
    int has_head;
    double* head;            /* C x d */
    /* scratch for update, kept between calls */
    double* block;           /* (LELP__BLOCK_ROWS + 1) x d: a block and its Chan row */
    double* delta;           /* d */
    double* bmean;           /* d */
    int64_t* batch_count;    /* C */
    float* Mf;               /* d x d: a block's float32 co-moment (LELP_PRECISION_FLOAT32) */
    lelp__scratch order;     /* an update's row indices bucketed by class (n int64), kept between calls */
};

/* builder.c: allocates the statistics for the chosen solver (first use). */
int lelp__builder_storage(lelp_builder* b, const char* fn);

/* comoment.c */
double lelp__chan_mean(double* mean, int64_t na, int64_t d, const double* mean_b, int64_t nb, double* delta);
void lelp__comoment_add_block(double* mean, double* M, int64_t* count, int64_t d, double* X, int64_t nb,
                              const double* block_mean, double* delta);
void lelp__comoment_add_block_f32(double* mean, double* M, int64_t* count, int64_t d, const float* X, int64_t nb,
                                  const double* block_mean, double* delta, float* Mf);
void lelp__comoment_merge(double* mean, double* M, int64_t* count, int64_t d, const double* mean_b,
                          const double* M_b, int64_t count_b, double* delta);
/* The same for a part given as rows (row-major rows x d) whose R^T R is M_b. */
void lelp__comoment_merge_rows(double* mean, double* M, int64_t* count, int64_t d, const double* mean_b,
                               const double* R_b, int64_t rows, int64_t count_b, double* delta);

/* gram.c: the exact solver's row form of a class with at most d/2 rows (kept
 * in its d x d storage, newest row first at column d - r), and the Gram
 * eigensolver shared with the sketch. */
int64_t lelp__gram_max_rows(int64_t d);
int64_t lelp__gram_block_rows(int64_t na, int64_t nb);
const double* lelp__gram_rows(const double* M, int64_t d, int64_t r);
void lelp__gram_add_block(double* M, int64_t* r, double* mean, int64_t* count, int64_t d, const double* X,
                          int64_t nb, const double* bm, double* delta);
void lelp__gram_merge(double* M, int64_t* r, double* mean, int64_t* count, int64_t d, const double* rows_b,
                      int64_t r_b, const double* mean_b, int64_t count_b, double* delta);
void lelp__gram_to_comoment(double* M, int64_t r, int64_t d, double* work, int64_t lwork);
int lelp__gram_eigen(const lelp__mem* mem, const double* rows, int64_t r, int64_t d, int exact_rows, double total,
                     int64_t count, const double* Q, int64_t rh, int64_t S, double* lam, double* V, double* trace,
                     double* trace0, int64_t c);

/* sample_beta.c: the automatic beta on the sample's rows. */
int lelp__sample_beta(const lelp__mem* mem, const lelp_model* m, const lelp__bsample* bs, double* beta);

/* nullspace.c */
int lelp__head_basis(const lelp__mem* mem, const double* W, int64_t C, int64_t d, double** Q, int64_t* rank);
int lelp__project_out(const lelp__mem* mem, double* Sigma, int64_t d, const double* Q, int64_t r);

#endif /* LELP_FIT_H */
