/* SPDX-License-Identifier: MIT */
/* softmax.c -- log-space softmax kernels shared by targets, loss, prediction
 * and the beta search. BLAS-free. */
#include <math.h>

#include "common.h"

double lelp__lse_f32(const float* x, int64_t n, double scale)
{
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i] * scale;
        m = v > m ? v : m;
    }
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += exp((double)x[i] * scale - m);
    return m + log(s);
}

double lelp__lse_f64(const double* x, int64_t n)
{
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    if (m == -INFINITY) return m;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += exp(x[i] - m);
    return m + log(s);
}

/* Entropy of softmax(scale * x) for scale > 0, and in *var (unless NULL)
 * the variance of scale * x under it: the entropy's derivative with respect
 * to log(1/scale), which the beta search uses. H = log Z - E[t] with
 * t_i = scale (x_i - max x), so no p log p term ever sees a zero. Each t is
 * 0 or negative, -inf when the product overflows (the term is then 0):
 * scale * x itself overflows for large x and scale, and inf - inf made the
 * entropy NaN (a NaN from lelp_model_mean_entropy, and a beta search that
 * stopped early and returned beta = 0). */
double lelp__softmax_entropy(const double* x, int64_t n, double scale, double* var)
{
    double xmax = -INFINITY;
    for (int64_t i = 0; i < n; i++) xmax = x[i] > xmax ? x[i] : xmax;
    double z = 0.0, e1 = 0.0, e2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double t = x[i] == xmax ? 0.0 : (x[i] - xmax) * scale;
        const double e = exp(t);
        z += e;
        if (e > 0.0) {
            e1 += e * t;
            e2 += e * t * t;
        }
    }
    e1 /= z;
    if (var) *var = e2 / z - e1 * e1;
    const double h = log(z) - e1;
    return h > 0.0 ? h : 0.0;
}
