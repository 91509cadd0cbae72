/* SPDX-License-Identifier: MIT */
/* sumsq.c -- the sum of squares of a float64 vector, through linalg.h's
 * lelp__dot (four running sums: a fixed order, the same bits run to run),
 * for the streaming traces. */
#include "linalg.h"

double lelp__sumsq(const double* x, int64_t n)
{
    return lelp__dot(x, x, n);
}
