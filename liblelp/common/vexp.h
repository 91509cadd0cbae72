/* SPDX-License-Identifier: MIT */
/* vexp.h -- vexp.c's kernels that read float32 inputs directly, so a caller
 * needs no pass of its own to widen, shift or clamp them first (the loss's
 * KL chunks). Same polynomials and bits as lelp__vexp / lelp__vlog
 * (internal.h) applied to the widened, shifted or clamped values. */
#ifndef LELP_VEXP_H
#define LELP_VEXP_H

#include <stdint.h>

/* out[i] = exp(a * u[i] - m), the argument clamped as lelp__vexp does */
void lelp__vexp_f32(const float* u, int64_t n, double a, double m, double* out);
/* out[i] = log(max(t[i], DBL_MIN)): a zero becomes a finite, large negative
 * log that a zero weight then cancels exactly */
void lelp__vlog_f32(const float* t, int64_t n, double* out);

#endif
