/* SPDX-License-Identifier: MIT */
/* beta.c -- the subclass temperature at which the mean within-class entropy
 * of softmax_s(g / beta) equals a target (docs/method.md section 5). */
#include <cblas.h>
#include <float.h>
#include <math.h>

#include "model_priv.h"
#include "../linalg/linalg.h"

/* Weighted mean entropy of softmax(g/beta) and its derivative with respect
 * to log beta, which is the weighted mean variance of g/beta under the
 * softmax (so the mean entropy is non-decreasing in beta). Defined for every
 * beta > 0 and finite g (softmax.c). */
static double lelp__entropy_slope(const double* g, const double* weight, int64_t m, int64_t S, double beta,
                                  double* slope)
{
    double h = 0.0, v = 0.0;
    const double inv = 1.0 / beta;
    for (int64_t k = 0; k < m; k++) {
        double var = 0.0;
        h += weight[k] * lelp__softmax_entropy(g + k * S, S, inv, &var);
        v += weight[k] * var;
    }
    if (slope) *slope = v;
    return h;
}

static double lelp__mean_entropy(const double* g, const double* weight, int64_t m, int64_t S, double beta)
{
    return lelp__entropy_slope(g, weight, m, S, beta, NULL);
}

/* Bracket by doubling/halving from beta0, then safeguarded Newton on
 * log beta (bisection whenever a Newton step leaves the bracket), until the
 * bracket or the step is within a relative 1e-12. The root is unique
 * because the mean entropy is monotone in beta. */
int lelp__beta_solve(const double* g, const double* weight, int64_t m, int64_t S, double target,
                     double beta0, double* beta)
{
    if (!(beta0 > 0.0) || !isfinite(beta0))
        return lelp__fail(LELP_E_NUMERICAL, "beta search: projections have no spread");
    double lo = beta0, hi = beta0, slope = 0.0;
    int steps = 0;
    while (lelp__mean_entropy(g, weight, m, S, hi) < target) {
        lo = hi;
        hi *= 2.0;
        if (!isfinite(hi) || ++steps > 2100)
            return lelp__fail(LELP_E_NUMERICAL, "beta search: target entropy %g not reachable from below",
                              target);
    }
    steps = 0;
    while (lelp__mean_entropy(g, weight, m, S, lo) > target) {
        hi = lo;
        lo *= 0.5;
        if (!(lo > 0.0) || ++steps > 2100)
            return lelp__fail(LELP_E_NUMERICAL,
                              "beta search: target entropy %g not reachable (too many tied projections)",
                              target);
    }
    double t = 0.5 * (log(lo) + log(hi));
    for (int it = 0; it < 200 && hi / lo - 1.0 > 1e-12; it++) {
        double h = lelp__entropy_slope(g, weight, m, S, exp(t), &slope) - target;
        if (h < 0.0) lo = exp(t);
        else hi = exp(t);
        if (h == 0.0) {
            lo = hi = exp(t);
            break;
        }
        double next = slope > 0.0 ? t - h / slope : NAN;
        if (!(next > log(lo) && next < log(hi))) next = 0.5 * (log(lo) + log(hi));
        if (fabs(next - t) < 1e-13) {
            t = next;
            break;
        }
        t = next;
    }
    const double p = lo * hi; /* the geometric mean, without the product's underflow or overflow */
    const double b = hi / lo - 1.0 > 1e-12 ? exp(t) : p >= DBL_MIN && p <= DBL_MAX ? sqrt(p) : sqrt(lo) * sqrt(hi);
    if (!(b >= DBL_MIN) || !(b <= DBL_MAX)) /* a root past the normal range is no usable temperature */
        return lelp__fail(LELP_E_NUMERICAL, "beta search: the entropy target %g is met only at beta = %g", target, b);
    *beta = b;
    return LELP_OK;
}

/* Gaussian model of each class's centred projections: g = R^T Lambda^(1/2) xi. */
int lelp__auto_beta(const lelp__mem* mem, const lelp_model* m, double* beta)
{
    const int64_t C = m->C, S = m->S, K = LELP__BETA_SAMPLES;
    if (S == 1) {
        *beta = 1.0;
        return LELP_OK;
    }
    size_t g_bytes = lelp__bytes(C * K, S, sizeof(double));
    size_t w_bytes = lelp__bytes(C, K, sizeof(double));
    size_t r_bytes = lelp__bytes(S, S, sizeof(double));
    double* g = lelp__alloc(mem, g_bytes);
    double* w = lelp__alloc(mem, w_bytes);
    double* R = lelp__alloc(mem, r_bytes);
    double* xi = lelp__alloc(mem, lelp__bytes(S, 1, sizeof(double)));
    int st = LELP_OK;
    if (!g || !w || !R || !xi) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the automatic beta");
        goto done;
    }
    double total = 0.0, lmax = 0.0;
    for (int64_t c = 0; c < C; c++) total += (double)m->count[c];
    for (int64_t c = 0; c < C; c++) {
        const double* lam = m->eig + c * S;
        if (lam[0] > lmax) lmax = lam[0];
        if (m->rotate) lelp__haar_rotation(m->seed, c, S, R);
        lelp__rng rng;
        lelp__rng_init(&rng, m->seed, (uint64_t)c, 1);
        for (int64_t k = 0; k < K; k++) {
            for (int64_t i = 0; i < S; i++) xi[i] = sqrt(lam[i]) * lelp__rng_normal(&rng);
            double* gk = g + (c * K + k) * S;
            for (int64_t s = 0; s < S; s++) {
                if (!m->rotate) {
                    gk[s] = xi[s];
                    continue;
                }
                double v = 0.0;
                for (int64_t i = 0; i < S; i++) v += R[s * S + i] * xi[i];
                gk[s] = v;
            }
            w[c * K + k] = (double)m->count[c] / (total * (double)K);
        }
    }
    st = lelp__beta_solve(g, w, C * K, S, m->entropy_fraction * log((double)S), sqrt(lmax), beta);
done:
    lelp__free(mem, g, g_bytes);
    lelp__free(mem, w, w_bytes);
    lelp__free(mem, R, r_bytes);
    lelp__free(mem, xi, lelp__bytes(S, 1, sizeof(double)));
    return st;
}
