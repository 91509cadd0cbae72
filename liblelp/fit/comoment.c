/* SPDX-License-Identifier: MIT */
/* comoment.c -- Welford/Chan updates of a class's count, mean and co-moment
 * matrix (lower triangle, column-major d x d). Raw sums of h h^T are never
 * formed: every update adds a co-moment about its own mean plus the exact
 * rank-one correction for the difference of means. */
#include <cblas.h>
#include <math.h>

#include "fit.h"

/* Chan's mean update: delta <- mean_b - mean; mean += delta * nb / n.
 * Returns the weight na*nb/n of the rank-one correction delta delta^T. */
double lelp__chan_mean(double* mean, int64_t na, int64_t d, const double* mean_b, int64_t nb, double* delta)
{
    double n = (double)(na + nb);
    for (int64_t j = 0; j < d; j++) delta[j] = mean_b[j] - mean[j];
    double w = (double)nb / n;
    for (int64_t j = 0; j < d; j++) mean[j] += delta[j] * w;
    return (double)na * (double)nb / n;
}

/* M += delta delta^T * na*nb/n after the caller added M_b. */
static void lelp__chan_means(double* mean, double* M, int64_t na, int64_t d, const double* mean_b,
                             int64_t nb, double* delta)
{
    double alpha = lelp__chan_mean(mean, na, d, mean_b, nb, delta);
    if (na > 0) cblas_dsyr(CblasColMajor, CblasLower, (int)d, alpha, delta, 1, M, (int)d);
}

void lelp__comoment_add_block(double* mean, double* M, int64_t* count, int64_t d, double* X, int64_t nb,
                              const double* block_mean, double* delta)
{
    /* X holds nb centred rows (row-major nb x d == column-major d x nb) and
     * room for one more: the Chan correction row sqrt(w) delta joins them, so
     * one dsyrk adds both; a separate dsyr would be another full pass over M
     * (67 MB at d = 4096) for every block. */
    const int64_t na = *count;
    const double w = lelp__chan_mean(mean, na, d, block_mean, nb, delta);
    /* a lone row centred on itself is zero: only its Chan row counts (same
     * bits, half the work when a batch holds one example of the class) */
    int64_t rows = nb > 1 ? nb : 0;
    if (na > 0) {
        const double s = sqrt(w);
        for (int64_t j = 0; j < d; j++) X[rows * d + j] = s * delta[j];
        rows++;
    }
    if (rows > 0)
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)d, (int)rows, 1.0, X, (int)d, 1.0, M, (int)d);
    *count += nb;
}

/* LELP_PRECISION_FLOAT32: X holds nb centred rows rounded to float32; their
 * co-moment is one SSYRK into the float scratch Mf (float32 sums over at
 * most LELP__BLOCK_ROWS rows, twice DSYRK's speed), carried into M in
 * float64 together with the Chan term in one pass over the lower triangle. */
void lelp__comoment_add_block_f32(double* mean, double* M, int64_t* count, int64_t d, const float* X, int64_t nb,
                                  const double* block_mean, double* delta, float* Mf)
{
    const double w = lelp__chan_mean(mean, *count, d, block_mean, nb, delta); /* 0 for the first block */
    if (nb == 1) { /* a lone centred row is zero: the Chan term alone, same bits */
        for (int64_t j = 0; j < d; j++) {
            const double wj = w * delta[j];
            double* m = M + j * d;
            for (int64_t i = j; i < d; i++) m[i] += 0.0 + wj * delta[i];
        }
        *count += nb;
        return;
    }
    cblas_ssyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)d, (int)nb, 1.0f, X, (int)d, 0.0f, Mf, (int)d);
    for (int64_t j = 0; j < d; j++) {
        const double wj = w * delta[j];
        double* m = M + j * d;
        const float* f = Mf + j * d;
        for (int64_t i = j; i < d; i++) m[i] += (double)f[i] + wj * delta[i];
    }
    *count += nb;
}

void lelp__comoment_merge(double* mean, double* M, int64_t* count, int64_t d,
                          const double* mean_b, const double* M_b, int64_t count_b,
                          double* delta)
{
    if (count_b == 0) return;
    /* Only the lower triangle is meaningful; adding whole columns from the
     * diagonal down keeps the untouched upper part at zero. */
    for (int64_t j = 0; j < d; j++)
        cblas_daxpy((int)(d - j), 1.0, M_b + j * d + j, 1, M + j * d + j, 1);
    lelp__chan_means(mean, M, *count, d, mean_b, count_b, delta);
    *count += count_b;
}

void lelp__comoment_merge_rows(double* mean, double* M, int64_t* count, int64_t d, const double* mean_b,
                               const double* R_b, int64_t rows, int64_t count_b, double* delta)
{
    if (count_b == 0) return;
    if (rows > 0)
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, (int)d, (int)rows, 1.0, R_b, (int)d, 1.0, M, (int)d);
    lelp__chan_means(mean, M, *count, d, mean_b, count_b, delta);
    *count += count_b;
}
