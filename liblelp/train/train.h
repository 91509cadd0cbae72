/* SPDX-License-Identifier: MIT */
/* train.h -- the train module's private interface (the BLAS-free edge
 * part: loss, auxiliary loss, prediction; docs/architecture.md). */
#ifndef LELP_TRAIN_H
#define LELP_TRAIN_H

#include "../common/common.h"

struct lelp_loss {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t C, S;
    double tau, alpha;
    int reduction, kind;
    double dkd_target, dkd_nontarget, aux_temperature;
    double* row;             /* 2*C*S doubles: a row's gradient and exponentials */
    double* chunk;           /* chunk_rows*(C*S + 2) doubles for the KL-only path */
    int64_t chunk_rows;
    lelp__scratch* aux;      /* the auxiliary loss's batch buffers, kept between calls */
};

/* aux_loss.c: Subclass Distillation's auxiliary loss over a batch (mean);
 * writes gscale * d(mean)/dU into grad (n x K floats) when grad != NULL. */
int lelp__subclass_aux(const lelp__mem* mem, lelp__scratch* sc, const float* U, int64_t n, int64_t K, double T,
                       double gscale, double* value, float* grad);

#endif /* LELP_TRAIN_H */
