/* SPDX-License-Identifier: MIT */
/* model_priv.h -- the model module's private interface: the fitted model's
 * handle (filled by fit/fit.c and model_io.c), its derived arrays and the
 * beta search (docs/architecture.md). */
#ifndef LELP_MODEL_PRIV_H
#define LELP_MODEL_PRIV_H

#include "../common/common.h"

struct lelp_model {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t d, C, S, head_rank;
    int null_space, rotate, auto_beta, solver;
    int labeller;            /* enum lelp_labeller: KMEANS adds |U/2|^2 to b_proj */
    uint64_t seed;
    double beta, entropy_fraction;
    int64_t* count;          /* C */
    double* mean;            /* C x d */
    double* eig;             /* C x S, descending */
    double* ratio;           /* C x S */
    double* U;               /* (C*S) x d, row c*S+s is direction s of class c */
    double* b;               /* C x S offsets <U, mu_c> */
    uint32_t format_version, writer_version; /* of the buffer it was loaded from (else this library's) */
    /* derived on creation, not serialized */
    float* Ut;               /* float copy of U packed for the projection kernel:
                                lelp__project_packed(C*S, d) floats (linalg.h) */
    float* center;           /* pooled mean, float, d */
    int centre_rows;         /* 1: projections of h - center; 0: of h as given */
    double* b_proj;          /* <U, mu_c - center>, or <U, mu_c> when !centre_rows:
                                what the projection's output is offset by */
};

/* Monte-Carlo samples per class for the automatic beta's Gaussian model. */
#define LELP__BETA_SAMPLES 4096

/* model.c */
int lelp__model_alloc(const lelp__mem* mem, int64_t d, int64_t C, int64_t S, lelp_model** out, const char* fn);
/* Computes the derived arrays; the model's stored fields must be set. */
void lelp__model_finish(lelp_model* m);

/* beta.c: the beta at which the weighted mean entropy of softmax(g/beta)
 * over m rows of S values is target (bisection from beta0), and the
 * automatic beta from the Gaussian model of each class's statistics. */
int lelp__beta_solve(const double* g, const double* weight, int64_t m, int64_t S, double target, double beta0,
                     double* beta);
int lelp__auto_beta(const lelp__mem* mem, const lelp_model* m, double* beta);

#endif /* LELP_MODEL_PRIV_H */
