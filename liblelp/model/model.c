/* SPDX-License-Identifier: MIT */
/* model.c -- the immutable fitted model: allocation, derived arrays,
 * queries and copies. */
#include <math.h>
#include <string.h>

#include "model_priv.h"
#include "../linalg/linalg.h"

typedef struct lelp__model_sizes {
    size_t count, mean, eig, U, Ut, center;
} lelp__model_sizes;

static lelp__model_sizes lelp__sizes(int64_t d, int64_t C, int64_t S)
{
    lelp__model_sizes z;
    z.count = lelp__bytes(C, 1, sizeof(int64_t));
    z.mean = lelp__bytes(C, d, sizeof(double));
    z.eig = lelp__bytes(C, S, sizeof(double));
    z.U = lelp__bytes(C * S, d, sizeof(double));
    z.Ut = lelp__bytes(lelp__project_packed(C * S, d), 1, sizeof(float));
    z.center = lelp__bytes(d, 1, sizeof(float));
    return z;
}

static void lelp__model_release(lelp_model* m)
{
    lelp__mem mem = m->mem;
    lelp__model_sizes z = lelp__sizes(m->d, m->C, m->S);
    lelp__free(&mem, m->count, z.count);
    lelp__free(&mem, m->mean, z.mean);
    lelp__free(&mem, m->eig, z.eig);
    lelp__free(&mem, m->ratio, z.eig);
    lelp__free(&mem, m->U, z.U);
    lelp__free(&mem, m->b, z.eig);
    lelp__free(&mem, m->Ut, z.Ut);
    lelp__free(&mem, m->center, z.center);
    lelp__free(&mem, m->b_proj, z.eig);
    m->magic = LELP__MAGIC_DEAD;
    lelp__free(&mem, m, sizeof *m);
}

int lelp__model_alloc(const lelp__mem* mem, int64_t d, int64_t C, int64_t S, lelp_model** out, const char* fn)
{
    *out = NULL;
    lelp__model_sizes z = lelp__sizes(d, C, S);
    lelp_model* m = lelp__calloc(mem, sizeof *m);
    if (!m) return lelp__fail(LELP_E_NOMEM, "%s: out of memory for a model", fn);
    m->magic = LELP__MAGIC_MODEL;
    m->self = m;
    m->format_version = 1u; /* a projection model's; the k-means labeller's needs 2 (kmeans.c) */
    m->writer_version = LELP_VERSION_NUMBER;
    m->mem = *mem;
    m->d = d;
    m->C = C;
    m->S = S;
    m->count = lelp__calloc(mem, z.count);
    m->mean = lelp__calloc(mem, z.mean);
    m->eig = lelp__calloc(mem, z.eig);
    m->ratio = lelp__calloc(mem, z.eig);
    m->U = lelp__calloc(mem, z.U);
    m->b = lelp__calloc(mem, z.eig);
    m->Ut = lelp__calloc(mem, z.Ut);
    m->center = lelp__calloc(mem, z.center);
    m->b_proj = lelp__calloc(mem, z.eig);
    if (!m->count || !m->mean || !m->eig || !m->ratio || !m->U || !m->b || !m->Ut || !m->center ||
        !m->b_proj) {
        lelp__model_release(m);
        return lelp__fail(LELP_E_NOMEM, "%s: out of memory for a model with d = %lld, C*S = %lld", fn,
                          (long long)d, (long long)(C * S));
    }
    *out = m;
    return LELP_OK;
}

/* Whether the projections should be taken of rows centred by the pooled
 * mean c. In float32 their rounding error grows with |h|, and the mean
 * squared |h|^2 of the fitting rows is |c|^2 + spread^2 (spread^2: their
 * mean squared distance to c), so skipping the centring (a subtraction and
 * a flush per value, a few percent of the kernel's time) costs at most a
 * factor sqrt(2) in that error while |c|^2 <= spread^2. The per-class
 * traces come from eig / ratio (traces after the head's row space is
 * projected out: smaller, so the estimate errs towards centring). A column
 * of U that is zero in every direction also forces centring: a rule from
 * when the uncentred path ran on a BLAS, which may skip zero products and
 * so lose a NaN/Inf of H; the fused kernel skips none (linalg.h), but the
 * rule stays so that such models keep their path and offsets. */
static int lelp__needs_centring(const lelp_model* m)
{
    const int64_t d = m->d, C = m->C, S = m->S;
    double total = 0.0, c2 = 0.0, spread2 = 0.0;
    for (int64_t c = 0; c < C; c++) total += (double)m->count[c];
    for (int64_t j = 0; j < d; j++) c2 += (double)m->center[j] * (double)m->center[j];
    for (int64_t c = 0; c < C; c++) {
        const double n = (double)m->count[c], r = m->ratio[c * S];
        double dist2 = 0.0;
        for (int64_t j = 0; j < d; j++) {
            double e = m->mean[c * d + j] - (double)m->center[j];
            dist2 += e * e;
        }
        double trace = r > 0.0 ? m->eig[c * S] / r : 0.0;
        spread2 += n / total * (trace * (n - 1.0) / n + dist2);
    }
    for (int64_t j = 0; j < d; j++) {
        int64_t k = 0;
        while (k < C * S && lelp__project_entry(m->Ut, d, k, j) == 0.0f) k++;
        if (k == C * S) return 1;
    }
    return !(c2 <= spread2);
}

/* Derived arrays. Centred rows are rounded to float before they are
 * multiplied, so that <U, h - center> - <U, mu_c - center> is
 * <U, h - mu_c> exactly in exact arithmetic. */
void lelp__model_finish(lelp_model* m)
{
    const int64_t d = m->d, C = m->C, S = m->S;
    double total = 0.0;
    for (int64_t c = 0; c < C; c++) total += (double)m->count[c];
    for (int64_t j = 0; j < d; j++) {
        double v = 0.0;
        for (int64_t c = 0; c < C; c++) v += (double)m->count[c] * m->mean[c * d + j];
        m->center[j] = (float)(v / total);
    }
    lelp__project_pack(m->U, C * S, d, m->Ut); /* subnormal floats flushed, as the rows are (project.c) */
    m->centre_rows = lelp__needs_centring(m);
    for (int64_t k = 0; k < C * S; k++) {
        const double* u = m->U + k * d;
        const double* mu = m->mean + (k / S) * d;
        double bc = 0.0;
        for (int64_t j = 0; j < d; j++) bc += u[j] * (mu[j] - (m->centre_rows ? (double)m->center[j] : 0.0));
        /* k-means: U = 2 m_{c,s}, the offset also holds |m_{c,s}|^2 (kmeans.c) */
        if (m->labeller == LELP_LABELLER_KMEANS) bc += 0.25 * lelp__dot(u, u, d);
        m->b_proj[k] = bc;
    }
}

static int lelp__model_copy(const lelp_model* src, lelp_model** out)
{
    lelp_model* m = NULL;
    int st = lelp__model_alloc(&src->mem, src->d, src->C, src->S, &m, "lelp_model_with_beta");
    if (st) return st;
    lelp__model_sizes z = lelp__sizes(src->d, src->C, src->S);
    m->head_rank = src->head_rank;
    m->null_space = src->null_space;
    m->rotate = src->rotate;
    m->auto_beta = src->auto_beta;
    m->solver = src->solver;
    m->labeller = src->labeller;
    m->format_version = src->format_version;
    m->seed = src->seed;
    m->beta = src->beta;
    m->entropy_fraction = src->entropy_fraction;
    memcpy(m->count, src->count, z.count);
    memcpy(m->mean, src->mean, z.mean);
    memcpy(m->eig, src->eig, z.eig);
    memcpy(m->ratio, src->ratio, z.eig);
    memcpy(m->U, src->U, z.U);
    memcpy(m->b, src->b, z.eig);
    memcpy(m->Ut, src->Ut, z.Ut);
    memcpy(m->center, src->center, z.center);
    memcpy(m->b_proj, src->b_proj, z.eig);
    m->centre_rows = src->centre_rows;
    *out = m;
    return LELP_OK;
}

void lelp_model_free(lelp_model* m)
{
    if (!m || m->magic != LELP__MAGIC_MODEL || m->self != m) return;
    lelp__model_release(m);
}

static const lelp__param_set lelp__model_params = {LELP__MAGIC_MODEL, "model", NULL, NULL, NULL, NULL};

int lelp_model_get_int(const lelp_model* m, int key, int64_t* value)
{
    return lelp__param_get_int(m, &lelp__model_params, key, value, "lelp_model_get_int");
}

int lelp_model_get_double(const lelp_model* m, int key, double* value)
{
    return lelp__param_get_double(m, &lelp__model_params, key, value, "lelp_model_get_double");
}

enum { LELP__ARR_EIG, LELP__ARR_RATIO, LELP__ARR_U, LELP__ARR_MEAN, LELP__ARR_B };

static int lelp__copy_out(const lelp_model* m, int which, double* out, int64_t capacity,
                          const char* what)
{
    int st = lelp__check_handle(m, LELP__MAGIC_MODEL, what, "model");
    if (st) return st;
    if (!out) return lelp__fail(LELP_E_NULL, "%s: out is NULL", what);
    const double* src = m->eig;
    int64_t need = m->C * m->S;
    if (which == LELP__ARR_RATIO) src = m->ratio;
    if (which == LELP__ARR_B) src = m->b;
    if (which == LELP__ARR_U) {
        src = m->U;
        need = m->C * m->S * m->d;
    }
    if (which == LELP__ARR_MEAN) {
        src = m->mean;
        need = m->C * m->d;
    }
    if (capacity < need)
        return lelp__fail(LELP_E_BUFFER_TOO_SMALL, "%s: capacity %lld < %lld needed", what,
                          (long long)capacity, (long long)need);
    memcpy(out, src, (size_t)need * sizeof(double));
    return LELP_OK;
}

int lelp_model_eigenvalues(const lelp_model* m, double* out, int64_t capacity)
{
    return lelp__copy_out(m, LELP__ARR_EIG, out, capacity, "lelp_model_eigenvalues");
}

int lelp_model_explained_variance_ratio(const lelp_model* m, double* out, int64_t capacity)
{
    return lelp__copy_out(m, LELP__ARR_RATIO, out, capacity, "lelp_model_explained_variance_ratio");
}

int lelp_model_components(const lelp_model* m, double* out, int64_t capacity)
{
    return lelp__copy_out(m, LELP__ARR_U, out, capacity, "lelp_model_components");
}

int lelp_model_means(const lelp_model* m, double* out, int64_t capacity)
{
    return lelp__copy_out(m, LELP__ARR_MEAN, out, capacity, "lelp_model_means");
}

int lelp_model_offsets(const lelp_model* m, double* out, int64_t capacity)
{
    return lelp__copy_out(m, LELP__ARR_B, out, capacity, "lelp_model_offsets");
}

int lelp_model_with_beta(const lelp_model* m, double beta, lelp_model** out)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_model_with_beta: out is NULL");
    *out = NULL;
    int st = lelp__check_handle(m, LELP__MAGIC_MODEL, "lelp_model_with_beta", "model");
    if (st) return st;
    if (!(beta > 0.0) || !(beta <= 1e30))
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_model_with_beta: beta = %g must be in (0, 1e30]", beta);
    if ((st = lelp__model_copy(m, out))) return st;
    (*out)->beta = beta;
    (*out)->auto_beta = 0;
    return LELP_OK;
}
