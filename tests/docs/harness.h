/* SPDX-License-Identifier: MIT */
/* harness.h -- the variables a documentation fragment (```c fragment) may use,
 * as a host program would have them (tests/docs/check_docs.py compiles each
 * fragment inside a function after this header). */
#ifndef LELP_DOCS_HARNESS_H
#define LELP_DOCS_HARNESS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* the docs show the experimental builder knobs too (lelp.h: stability tiers) */
#define LELP_EXPERIMENTAL
#include "lelp.h"

#if defined(__GNUC__)
#define HARNESS_UNUSED __attribute__((unused))
#else
#define HARNESS_UNUSED
#endif

/* shapes: n rows in this batch (N in all), d features, C classes, S subclasses */
static int64_t n HARNESS_UNUSED = 256, N HARNESS_UNUSED = 4096, d HARNESS_UNUSED = 768,
               C HARNESS_UNUSED = 2, S HARNESS_UNUSED = 8, n_batches HARNESS_UNUSED = 16;
static double tau HARNESS_UNUSED = 2.0;
/* teacher embeddings, labels, teacher logits, head, targets, student logits and gradient */
static const float* H HARNESS_UNUSED;
static const int32_t* y HARNESS_UNUSED;
static const float* Z HARNESS_UNUSED;
static const float* W HARNESS_UNUSED;
static float* T HARNESS_UNUSED;
static const float* U HARNESS_UNUSED;
static float* dU HARNESS_UNUSED;
static int32_t* pred HARNESS_UNUSED;
/* compressor inputs: teacher embeddings E, student features F and their gradient dF */
static const float* E HARNESS_UNUSED;
static const float* F HARNESS_UNUSED;
static float* dF HARNESS_UNUSED;
/* handles */
static lelp_builder* b HARNESS_UNUSED;
static lelp_model* m HARNESS_UNUSED;
static lelp_loss* loss HARNESS_UNUSED;
static double value HARNESS_UNUSED;

/* what a host does when a call fails */
static int fail(void) HARNESS_UNUSED;
static int fail(void)
{
    fprintf(stderr, "liblelp: %s\n", lelp_last_error());
    return 1;
}
#endif
