/* SPDX-License-Identifier: MIT */
/* distance.c -- the student's distance losses to the compressed teacher
 * embedding e' (constant: stop-gradient), with dL/dF:
 *   mse    = (1/n) sum_i ||f_i - e'_i||^2
 *   cosine = (1/n) sum_i (1 - f_i.e'_i / (max(|f_i|, 1e-12) max(|e'_i|, 1e-12)))
 *   dcor   = 1 - dCor(F, E'): V-statistic distance correlation of the
 *            double-centred Euclidean distance matrices,
 *            dCor = sqrt(<A,B>) / (<A,A> <B,B>)^(1/4)  (0 when a term is 0). */
#include <math.h>
#include <string.h>

#include "compress.h"

#define LELP__NORM_EPS 1e-12

static double lelp__mse(const float* F, const double* Z, int64_t n, int64_t k, float* grad)
{
    double s = 0.0;
    for (int64_t i = 0; i < n * k; i++) {
        double r = (double)F[i] - Z[i];
        s += r * r;
        if (grad) grad[i] = (float)(2.0 * r / (double)n);
    }
    return s / (double)n;
}

static double lelp__cosine(const float* F, const double* Z, int64_t n, int64_t k, float* grad)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float* f = F + i * k;
        const double* z = Z + i * k;
        double ff = 0.0, zz = 0.0, fz = 0.0;
        for (int64_t j = 0; j < k; j++) {
            ff += (double)f[j] * f[j];
            zz += z[j] * z[j];
            fz += (double)f[j] * z[j];
        }
        double nf = sqrt(ff), nz = sqrt(zz);
        double df = nf > LELP__NORM_EPS ? nf : LELP__NORM_EPS, dz = nz > LELP__NORM_EPS ? nz : LELP__NORM_EPS;
        double cs = fz / (df * dz);
        total += 1.0 - cs;
        if (!grad) continue;
        /* d cos / d f = z / (|f| |z|) - cos f / |f|^2 (the second term vanishes where |f| is clamped) */
        double back = nf > LELP__NORM_EPS ? cs / (nf * nf) : 0.0;
        for (int64_t j = 0; j < k; j++) grad[i * k + j] = (float)(-(z[j] / (df * dz) - back * (double)f[j]) / (double)n);
    }
    return total / (double)n;
}

/* D (n x n) = pairwise Euclidean distances of the rows of X, double-centred
 * into Dc. */
static void lelp__centred_distances(const double* X, int64_t n, int64_t k, double* D, double* Dc)
{
    for (int64_t i = 0; i < n; i++) {
        D[i * n + i] = 0.0;
        for (int64_t j = i + 1; j < n; j++) {
            double s = 0.0;
            for (int64_t t = 0; t < k; t++) {
                double r = X[i * k + t] - X[j * k + t];
                s += r * r;
            }
            D[i * n + j] = D[j * n + i] = sqrt(s);
        }
    }
    double grand = 0.0;
    for (int64_t i = 0; i < n * n; i++) grand += D[i];
    grand /= (double)(n * n);
    for (int64_t i = 0; i < n; i++) {
        double row = 0.0;
        for (int64_t j = 0; j < n; j++) row += D[i * n + j];
        Dc[i * n + i] = row / (double)n; /* stash the row mean on the diagonal for now */
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            if (i != j) Dc[i * n + j] = D[i * n + j] - Dc[i * n + i] - Dc[j * n + j] + grand;
    for (int64_t i = 0; i < n; i++) Dc[i * n + i] = -2.0 * Dc[i * n + i] + grand;
}

static int lelp__dcor(const lelp__mem* mem, const float* F, const double* Z, int64_t n, int64_t k, double* value,
                      float* grad)
{
    size_t nn = lelp__bytes(n, n, sizeof(double)), fb = lelp__bytes(n, k, sizeof(double));
    double* A = lelp__alloc(mem, nn);
    double* Ac = lelp__alloc(mem, nn);
    double* B = lelp__alloc(mem, nn);
    double* Bc = lelp__alloc(mem, nn);
    double* Fd = lelp__alloc(mem, fb);
    if (!A || !Ac || !B || !Bc || !Fd) {
        lelp__free(mem, A, nn);
        lelp__free(mem, Ac, nn);
        lelp__free(mem, B, nn);
        lelp__free(mem, Bc, nn);
        lelp__free(mem, Fd, fb);
        return lelp__fail(LELP_E_NOMEM, "lelp_compressor_student_loss: out of memory for %lld x %lld distances",
                          (long long)n, (long long)n);
    }
    for (int64_t i = 0; i < n * k; i++) Fd[i] = (double)F[i];
    lelp__centred_distances(Fd, n, k, A, Ac);
    lelp__centred_distances(Z, n, k, B, Bc);
    double sab = 0.0, saa = 0.0, sbb = 0.0;
    for (int64_t i = 0; i < n * n; i++) {
        sab += Ac[i] * Bc[i];
        saa += Ac[i] * Ac[i];
        sbb += Bc[i] * Bc[i];
    }
    double dc = (sab > 0.0 && saa > 0.0 && sbb > 0.0) ? sqrt(sab) / sqrt(sqrt(saa * sbb)) : 0.0;
    *value = 1.0 - dc;
    if (grad) {
        memset(grad, 0, (size_t)(n * k) * sizeof(float));
        if (dc > 0.0) {
            /* dL/dA_ij = -dCor (Bc_ij / (2 sab) - Ac_ij / (2 saa)); A_ij = |f_i - f_j| */
            for (int64_t i = 0; i < n; i++) {
                for (int64_t t = 0; t < k; t++) {
                    double g = 0.0;
                    for (int64_t j = 0; j < n; j++) {
                        if (j == i || A[i * n + j] <= 0.0) continue;
                        double gij = -dc * (Bc[i * n + j] / (2.0 * sab) - Ac[i * n + j] / (2.0 * saa));
                        g += 2.0 * gij * (Fd[i * k + t] - Fd[j * k + t]) / A[i * n + j];
                    }
                    grad[i * k + t] = (float)g;
                }
            }
        }
    }
    lelp__free(mem, A, nn);
    lelp__free(mem, Ac, nn);
    lelp__free(mem, B, nn);
    lelp__free(mem, Bc, nn);
    lelp__free(mem, Fd, fb);
    return LELP_OK;
}

int lelp__distance_loss(const lelp__mem* mem, int kind, const float* F, const double* Z, int64_t n, int64_t k,
                        double* value, float* grad)
{
    if (kind == LELP_DISTANCE_MSE) *value = lelp__mse(F, Z, n, k, grad);
    else if (kind == LELP_DISTANCE_COSINE) *value = lelp__cosine(F, Z, n, k, grad);
    else return lelp__dcor(mem, F, Z, n, k, value, grad);
    return LELP_OK;
}
