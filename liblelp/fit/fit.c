/* SPDX-License-Identifier: MIT */
/* fit.c -- builder -> model: covariance, null-space projection, top-S
 * eigenvectors, sign rule, rotation, offsets and beta. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "fit.h"
#include "kmeans.h"
#include "../linalg/linalg.h"
#include "../model/model_priv.h"

/* With LELP_PRECISION_FLOAT32, eigenvalues below this fraction of the class's
 * trace count as zero: the float32 block products leave noise eigenvalues of
 * ~1e-8..1e-7 of it (measured by differential fuzzing), so a class of rank < S
 * would otherwise pass with noise for its last directions. */
#define LELP__F32_RANK_FLOOR 1e-6

typedef struct lelp__fit_scratch {
    double* A;   /* d x d */
    double* V;   /* d x S */
    double* R;   /* S x S */
    double* Q;   /* d x r, owned by the head basis */
    int64_t r;
} lelp__fit_scratch;

static int lelp__fit_checks(const lelp_builder* b)
{
    int any = 0;
    for (int64_t c = 0; c < b->C; c++) any |= b->count[c] > 0;
    if (!any)
        return lelp__fail(LELP_E_STAGE, "lelp_builder_fit: no data streamed yet; call lelp_builder_update first");
    for (int64_t c = 0; c < b->C; c++)
        if (b->count[c] < 2)
            return lelp__fail(LELP_E_TOO_FEW_SAMPLES, "lelp_builder_fit: class %lld has %lld example(s); at least 2 needed",
                              (long long)c, (long long)b->count[c]);
    return LELP_OK;
}

/* Exact solver: Sigma_c from the co-moments, P Sigma_c P, top-S eigenpairs
 * (dsyevr). Writes lam (S, descending), w->V (d x S), the trace, and the
 * trace before the projection (0 without a head). */
static int lelp__eigen_exact(const lelp_builder* b, lelp__fit_scratch* w, int64_t c, double* lam, double* trace,
                             double* trace0)
{
    *trace0 = 0.0;
    const int64_t d = b->d;
    const double* M = b->M + c * d * d;
    if (b->nrows[c] >= 0) {
        /* row form: the r x r Gram matrix of the rows (gram.c) */
        const int64_t r = b->nrows[c];
        const double* R = lelp__gram_rows(M, d, r);
        return lelp__gram_eigen(&b->mem, R, r, d, 1, lelp__sumsq(R, r * d), b->count[c], w->Q, w->r, b->S, lam,
                                w->V, trace, trace0, c);
    }
    const double scale = 1.0 / (double)(b->count[c] - 1);
    int krylov_failed = 0;
    if (w->r == 0 && lelp__krylov_applies(d, b->S)) {
        /* nothing to project: Krylov reads M in place (the d x d scaled
         * copy costs as much as two block products) and scales after */
        int st = lelp__krylov_top(&b->mem, M, d, b->S, lam, w->V, c);
        if (st == LELP_OK) {
            *trace = 0.0;
            for (int64_t j = 0; j < d; j++) *trace += M[j * d + j];
            *trace *= scale;
            for (int64_t s = 0; s < b->S; s++) lam[s] *= scale;
        }
        if (st != LELP__KRYLOV_FALLBACK) return st;
        krylov_failed = 1;
    }
    for (int64_t j = 0; j < d; j++)
        for (int64_t i = j; i < d; i++) w->A[j * d + i] = M[j * d + i] * scale;
    if (w->r > 0)
        for (int64_t j = 0; j < d; j++) *trace0 += w->A[j * d + j];
    int st = lelp__project_out(&b->mem, w->A, d, w->Q, w->r);
    if (st) return st;
    *trace = 0.0;
    for (int64_t j = 0; j < d; j++) *trace += w->A[j * d + j];
    return krylov_failed ? lelp__top_eigen_lapack(&b->mem, w->A, d, b->S, lam, w->V, c)
                         : lelp__top_eigen(&b->mem, w->A, d, b->S, lam, w->V, c);
}

/* Fits class c into m: eigenpairs from the chosen solver, then the rank
 * rule, sign rule, rotation and offsets shared by both. */
static int lelp__fit_class(const lelp_builder* b, lelp_model* m, lelp__fit_scratch* w, int64_t c)
{
    const int64_t d = b->d, S = b->S;
    double* lam = m->eig + c * S;
    double trace = 0.0, trace0 = 0.0;
    int st = b->solver == LELP_SOLVER_EXACT
                 ? lelp__eigen_exact(b, w, c, lam, &trace, &trace0)
                 : lelp__sketch_eigen(&b->mem, b->sk, c, b->count[c], w->Q, w->r, S, lam, w->V, &trace, &trace0);
    if (st) return st;
    /* An eigenvalue counts as non-zero above d eps times the matrix's scale.
     * With a head, the scale is the spread *before* the projection: when the
     * head's row space covers a class, P Sigma P is rounding noise of that
     * size, and its own largest eigenvalue would wave the noise through.
     * Float32 block products resolve nothing below ~1e-7 of the trace, so
     * there the floor is LELP__F32_RANK_FLOOR of it. */
    double floor_ = (double)d * DBL_EPSILON * (lam[0] > trace0 ? lam[0] : trace0);
    if (b->solver == LELP_SOLVER_EXACT && b->precision == LELP_PRECISION_FLOAT32) {
        const double f32 = LELP__F32_RANK_FLOOR * (w->r > 0 ? trace0 : trace); /* the trace before P */
        floor_ = f32 > floor_ ? f32 : floor_;
    }
    if (!(lam[0] > 0.0) || !(lam[S - 1] > floor_))
        return lelp__fail(LELP_E_RANK_DEFICIENT,
                          "lelp_builder_fit: class %lld has fewer than S = %lld non-zero eigenvalues%s "
                          "(largest %g, S-th %g)", (long long)c, (long long)S,
                          w->r > 0 ? " once the head's row space is removed" : "", lam[0], lam[S - 1]);
    for (int64_t s = 0; s < S; s++) m->ratio[c * S + s] = lam[s] / trace;
    lelp__sign_rule(w->V, d, S);
    double* U = m->U + c * S * d; /* S rows of d: column-major d x S */
    if (b->rotate) {
        lelp__haar_rotation(b->seed, c, S, w->R);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)S, (int)S, 1.0, w->V, (int)d,
                    w->R, (int)S, 0.0, U, (int)d);
    } else {
        memcpy(U, w->V, (size_t)(d * S) * sizeof(double));
    }
    for (int64_t s = 0; s < S; s++) {
        double v = 0.0;
        for (int64_t j = 0; j < d; j++) v += U[s * d + j] * b->mean[c * d + j];
        m->b[c * S + s] = v;
    }
    return LELP_OK;
}

static int lelp__fit_beta(const lelp_builder* b, lelp_model* m)
{
    m->entropy_fraction = b->entropy_fraction;
    if (b->beta > 0.0) {
        m->beta = b->beta;
        m->auto_beta = 0;
        return LELP_OK;
    }
    m->auto_beta = 1;
    if (b->bs) {
        int st = lelp__sample_beta(&b->mem, m, b->bs, &m->beta);
        /* kept rows whose projections cannot reach the target entropy (all
         * tied, say): the Gaussian model of the statistics instead */
        if (st != LELP_E_NUMERICAL) return st;
    }
    return lelp__auto_beta(&b->mem, m, &m->beta);
}

int lelp_builder_fit(const lelp_builder* b, lelp_model** out)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_builder_fit: out is NULL");
    *out = NULL;
    int st = lelp__check_handle(b, LELP__MAGIC_BUILDER, "lelp_builder_fit", "builder");
    if (st) return st;
    if ((st = lelp__fit_checks(b))) return st;
    const int64_t d = b->d, C = b->C, S = b->S;
    lelp_model* m = NULL;
    if ((st = lelp__model_alloc(&b->mem, d, C, S, &m, "lelp_builder_fit"))) return st;
    lelp__fit_scratch w = {0};
    /* the sketch solver and classes in row form work on their own small arrays */
    int any_comoment = 0;
    for (int64_t c = 0; c < C; c++) any_comoment |= b->solver == LELP_SOLVER_EXACT && b->nrows[c] < 0;
    size_t a_bytes = any_comoment ? lelp__bytes(d, d, sizeof(double)) : 0;
    size_t v_bytes = lelp__bytes(d, S, sizeof(double));
    size_t r_bytes = lelp__bytes(S, S, sizeof(double));
    size_t q_bytes = lelp__bytes(d, C < d ? C : d, sizeof(double));
    w.A = lelp__alloc(&b->mem, a_bytes);
    w.V = lelp__alloc(&b->mem, v_bytes);
    w.R = lelp__alloc(&b->mem, r_bytes);
    if (!w.A || !w.V || !w.R) st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory (d = %lld)", (long long)d);
    if (!st && b->has_head && b->null_space) st = lelp__head_basis(&b->mem, b->head, C, d, &w.Q, &w.r);
    m->head_rank = w.r;
    m->null_space = b->has_head && b->null_space;
    m->rotate = b->rotate;
    m->seed = b->seed;
    m->solver = b->solver;
    memcpy(m->count, b->count, (size_t)C * sizeof(int64_t));
    memcpy(m->mean, b->mean, (size_t)(C * d) * sizeof(double));
    for (int64_t c = 0; c < C && !st; c++) st = lelp__fit_class(b, m, &w, c);
    if (!st) st = b->labeller == LELP_LABELLER_KMEANS ? lelp__kmeans_label(b, m, w.Q, w.r) : lelp__fit_beta(b, m);
    lelp__free(&b->mem, w.A, a_bytes);
    lelp__free(&b->mem, w.V, v_bytes);
    lelp__free(&b->mem, w.R, r_bytes);
    lelp__free(&b->mem, w.Q, q_bytes);
    if (st) {
        lelp_model_free(m);
        return st;
    }
    lelp__model_finish(m);
    *out = m;
    return LELP_OK;
}
