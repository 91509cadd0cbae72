/* beta.c -- the subclass temperature at which the mean within-class entropy
 * of softmax_s(g / beta) equals a target (docs/method.md section 5). */
#include <math.h>

#include "internal.h"

double lelp__mean_entropy(const double* g, const double* weight, int64_t m, int64_t S, double beta)
{
    double sum = 0.0;
    for (int64_t k = 0; k < m; k++) sum += weight[k] * lelp__softmax_entropy(g + k * S, S, 1.0 / beta);
    return sum;
}

/* The mean entropy is continuous and non-decreasing in beta (its derivative
 * is a variance over beta^3), so bracketing plus bisection on log beta
 * converges to the unique crossing. */
int lelp__beta_solve(const double* g, const double* weight, int64_t m, int64_t S, double target,
                     double beta0, double* beta)
{
    if (!(beta0 > 0.0) || !isfinite(beta0))
        return lelp__fail(LELP_E_NUMERICAL, "beta search: projections have no spread");
    double lo = beta0, hi = beta0;
    int steps = 0;
    while (lelp__mean_entropy(g, weight, m, S, hi) < target) {
        hi *= 2.0;
        if (!isfinite(hi) || ++steps > 2100)
            return lelp__fail(LELP_E_NUMERICAL, "beta search: target entropy %g not reachable from below",
                              target);
    }
    steps = 0;
    while (lelp__mean_entropy(g, weight, m, S, lo) > target) {
        lo *= 0.5;
        if (!(lo > 0.0) || ++steps > 2100)
            return lelp__fail(LELP_E_NUMERICAL,
                              "beta search: target entropy %g not reachable (too many tied projections)",
                              target);
    }
    for (int it = 0; it < 200 && hi / lo - 1.0 > 1e-12; it++) {
        double mid = sqrt(lo * hi);
        if (lelp__mean_entropy(g, weight, m, S, mid) < target) lo = mid;
        else hi = mid;
    }
    *beta = sqrt(lo * hi);
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
        st = lelp__fail(LELP_E_NOMEM, "fit: out of memory for the automatic beta");
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
