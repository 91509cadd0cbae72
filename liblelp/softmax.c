/* softmax.c -- log-space softmax kernels shared by targets, loss, prediction
 * and the beta search. BLAS-free. */
#include <math.h>

#include "internal.h"

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

double lelp__softmax_entropy(const double* x, int64_t n, double scale)
{
    /* H = log Z - sum p (x - max) with Z = sum exp(x - max): no p log p term
     * ever sees a zero. */
    double m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i] * scale;
        m = v > m ? v : m;
    }
    double z = 0.0, zx = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = x[i] * scale - m;
        double e = exp(v);
        z += e;
        zx += e * v;
    }
    double h = log(z) - zx / z;
    return h > 0.0 ? h : 0.0;
}
