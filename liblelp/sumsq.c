/* sumsq.c -- sum of squares of a float64 vector in four running sums: with
 * one accumulator the loop is bound by the add's latency (gcc may not
 * reorder it without -ffast-math), and the streaming traces run it over
 * every value fed. The order is fixed, so the result is the same run to run. */
#include "internal.h"

double lelp__sumsq(const double* x, int64_t n)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; l++) a[l] += x[i + l] * x[i + l];
    for (; i < n; i++) a[0] += x[i] * x[i];
    return (a[0] + a[1]) + (a[2] + a[3]);
}
