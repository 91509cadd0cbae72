/* SPDX-License-Identifier: MIT */
/* sample_beta.c -- the automatic beta solved on the rows of the builder's
 * beta sample (beta_sample.c) with the fitted model's directions: the
 * entropy over the fitting data itself rather than over a Gaussian model
 * of each class (docs/method.md section 5). */
#include <cblas.h>
#include <math.h>

#include "fit.h"
#include "../model/model_priv.h"

/* On the builder's sample of rows, the definition over the fitting data:
 * g = U_c^T (h - mu_c) for every kept row of class c, weighted by its
 * multiplicity m_i as (n_c / N) m_i / sum_kept m, so each class counts by its
 * share of the fitting data and each distinct row by its copies. */
int lelp__sample_beta(const lelp__mem* mem, const lelp_model* m, const lelp__bsample* bs, double* beta)
{
    const int64_t C = m->C, S = m->S, d = m->d;
    if (S == 1) {
        *beta = 1.0;
        return LELP_OK;
    }
    int64_t rows = 0;
    double total = 0.0, lmax = 0.0;
    for (int64_t c = 0; c < C; c++) {
        rows += lelp__bsample_size(bs, c);
        total += (double)m->count[c];
        lmax = m->eig[c * S] > lmax ? m->eig[c * S] : lmax;
    }
    /* centred rows in blocks of about 2 MiB, one DGEMM with U_c per block */
    const int64_t blk = d >= (INT64_C(1) << 18) ? 1 : (INT64_C(1) << 18) / d;
    const size_t g_bytes = lelp__bytes(rows, S, sizeof(double)), w_bytes = lelp__bytes(rows, 1, sizeof(double));
    const size_t x_bytes = lelp__bytes(blk, d, sizeof(double));
    double* g = lelp__alloc(mem, g_bytes);
    double* w = lelp__alloc(mem, w_bytes);
    double* x = lelp__alloc(mem, x_bytes);
    int st = LELP_OK;
    if (!g || !w || !x) {
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the automatic beta");
        goto done;
    }
    int64_t k = 0;
    for (int64_t c = 0; c < C; c++) {
        double copies = 0.0;
        for (int64_t i = 0; i < lelp__bsample_size(bs, c); i++) copies += (double)lelp__bsample_mult(bs, c, i);
        for (int64_t i0 = 0; i0 < lelp__bsample_size(bs, c); i0 += blk) {
            const int64_t nb = lelp__bsample_size(bs, c) - i0 < blk ? lelp__bsample_size(bs, c) - i0 : blk;
            for (int64_t r = 0; r < nb; r++) {
                const float* h = lelp__bsample_row(bs, c, i0 + r);
                for (int64_t j = 0; j < d; j++) x[r * d + j] = (double)h[j] - m->mean[c * d + j];
                w[k + r] = (double)m->count[c] / total * ((double)lelp__bsample_mult(bs, c, i0 + r) / copies);
            }
            /* g (nb x S, row-major) = X U_c^T */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)S, (int)d, 1.0, x, (int)d,
                        m->U + c * S * d, (int)d, 0.0, g + k * S, (int)S);
            k += nb;
        }
    }
    st = lelp__beta_solve(g, w, rows, S, m->entropy_fraction * log((double)S), sqrt(lmax), beta);
done:
    lelp__free(mem, g, g_bytes);
    lelp__free(mem, w, w_bytes);
    lelp__free(mem, x, x_bytes);
    return st;
}
