/* SPDX-License-Identifier: MIT */
/* compress.h -- the compress module's private interface: the embedding
 * compressor's handle, shared by compressor.c and compressor_io.c, and the
 * distance kernel (docs/architecture.md). */
#ifndef LELP_COMPRESS_H
#define LELP_COMPRESS_H

#include "../common/common.h"

struct lelp_compressor {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t dt, k, C;
    int distance, optimizer, multilabel;
    uint64_t seed;
    double lr, wd, momentum, beta1, beta2;
    int64_t steps;
    double* P;               /* A (k x dt), a (k), W (C x k), bias (C) */
    double* m1;              /* SGD velocity / Adam first moment */
    double* m2;              /* Adam second moment */
    double* G;               /* gradient scratch */
    uint32_t format_version, writer_version; /* of the buffer it was loaded from (else this library's) */
};

/* compressor.c */
int lelp__compressor_alloc(const lelp__mem* mem, int64_t dt, int64_t k, int64_t C, lelp_compressor** out,
                           const char* fn);
void lelp__compressor_release(lelp_compressor* c);
/* distance.c */
int lelp__distance_loss(const lelp__mem* mem, int kind, const float* F, const double* Z, int64_t n, int64_t k,
                        double* value, float* grad);

#endif /* LELP_COMPRESS_H */
