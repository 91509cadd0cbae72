/* SPDX-License-Identifier: MIT */
/* kmeans.h -- the k-means labeller (LELP_BUILDER_LABELLER =
 * LELP_LABELLER_KMEANS), private to the fit. */
#ifndef LELP_FIT_KMEANS_H
#define LELP_FIT_KMEANS_H

#include "fit.h"

/* Replaces the projections of a fitted m (U, b, beta) by k-means
 * pseudo-subclasses found on the builder's row sample in the null-space
 * projected, class-centred embedding (Q: d x r head basis, r = 0 for none):
 * U_{c,s} = 2 m_{c,s}, b_{c,s} = <U_{c,s}, mu_c> + |m_{c,s}|^2, so that
 * softmax_s((<U, h> - b) / beta) = softmax_s(-|P(h - mu_c) - m_{c,s}|^2 / beta).
 * Sets beta (fixed, or by the automatic rule on the same rows). */
int lelp__kmeans_label(const lelp_builder* b, lelp_model* m, const double* Q, int64_t r);

#endif /* LELP_FIT_KMEANS_H */
