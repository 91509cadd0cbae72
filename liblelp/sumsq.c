/* sumsq.c -- dot products and sums of squares of float64 vectors in four
 * running sums: with one accumulator the loop is bound by the add's latency
 * (gcc may not reorder it without -ffast-math), and the streaming traces and
 * the shrink's eigensolver (small_eigen.c) run it on every value they touch.
 * The order is fixed, so the result is the same run to run and whatever
 * vector width the compiler picks. */
#include "internal.h"

double lelp__dot(const double* x, const double* y, int64_t n)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; l++) a[l] += x[i + l] * y[i + l];
    for (; i < n; i++) a[0] += x[i] * y[i];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

double lelp__sumsq(const double* x, int64_t n)
{
    return lelp__dot(x, x, n);
}
