/* SPDX-License-Identifier: MIT */
/* aux_loss.c -- Subclass Distillation's teacher auxiliary loss (Mueller,
 * Kornblith, Hinton 2020; SPEC section 1.3): each example's S*C logits are
 * standardised (population standard deviation), r_ij = zh_i . zh_j / (T K),
 * L_aux = mean_i logsumexp_j r_ij - 1/T - log n. It penalises correlated
 * subclass logits across a batch. BLAS-free, O(n^2 K). */
#include <math.h>
#include <string.h>

#include "train.h"

/* zh = (z - mean) / max(sd, 1e-12); returns the divisor used. */
static double lelp__standardise(const float* z, int64_t K, double* zh)
{
    double m = 0.0, v = 0.0;
    for (int64_t k = 0; k < K; k++) m += (double)z[k];
    m /= (double)K;
    for (int64_t k = 0; k < K; k++) {
        zh[k] = (double)z[k] - m;
        v += zh[k] * zh[k];
    }
    double sd = sqrt(v / (double)K);
    sd = sd > 1e-12 ? sd : 1e-12;
    for (int64_t k = 0; k < K; k++) zh[k] /= sd;
    return sd;
}

int lelp__subclass_aux(const lelp__mem* mem, lelp__scratch* sc, const float* U, int64_t n, int64_t K, double T,
                       double gscale, double* value, float* grad)
{
    /* zh and gz (n x K each), then n logits of a row and n standard
     * deviations; kept in sc, so a batch no larger than an earlier one
     * allocates nothing */
    size_t zb = lelp__bytes(n, K, sizeof(double)), rb = lelp__bytes(2 * n, 1, sizeof(double));
    size_t total_bytes = zb > (SIZE_MAX - rb) / 2 ? SIZE_MAX : 2 * zb + rb;
    double* zh = lelp__scratch_reserve(mem, sc, total_bytes);
    if (!zh)
        return lelp__fail(LELP_E_NOMEM, "lelp_loss_compute: out of memory for the auxiliary loss (n = %lld)",
                          (long long)n);
    double* gz = zh + n * K;
    double* r = gz + n * K;
    memset(gz, 0, zb);
    double* sd = r + n;
    for (int64_t i = 0; i < n; i++) sd[i] = lelp__standardise(U + i * K, K, zh + i * K);
    const double c = 1.0 / (T * (double)K), cn = c / (double)n;
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double* zi = zh + i * K;
        for (int64_t j = 0; j < n; j++) {
            double dot = 0.0;
            for (int64_t k = 0; k < K; k++) dot += zi[k] * zh[j * K + k];
            r[j] = c * dot;
        }
        double lse = lelp__lse_f64(r, n);
        total += lse;
        /* dL/dr_ij = P_ij / n feeds both zh_i and zh_j */
        for (int64_t j = 0; j < n; j++) {
            double p = cn * exp(r[j] - lse);
            double* gi = gz + i * K;
            double* gj = gz + j * K;
            const double* zj = zh + j * K;
            for (int64_t k = 0; k < K; k++) {
                gi[k] += p * zj[k];
                gj[k] += p * zi[k];
            }
        }
    }
    *value = total / (double)n - 1.0 / T - log((double)n);
    if (grad) {
        /* back through the standardisation: (g - mean g - zh mean(g zh)) / sd */
        for (int64_t i = 0; i < n; i++) {
            const double* g = gz + i * K;
            const double* z = zh + i * K;
            double mg = 0.0, mgz = 0.0;
            for (int64_t k = 0; k < K; k++) {
                mg += g[k];
                mgz += g[k] * z[k];
            }
            mg /= (double)K;
            mgz /= (double)K;
            for (int64_t k = 0; k < K; k++) grad[i * K + k] = (float)(gscale * (g[k] - mg - z[k] * mgz) / sd[i]);
        }
    }
    return LELP_OK;
}
