/* SPDX-License-Identifier: MIT */
/* project.c -- per-batch use of a fitted model: projections (the fused
 * kernel of linalg/project_kernel.c: flushed, centred and multiplied in one
 * read of each row, no BLAS), soft targets, hard pseudo-subclasses and
 * batch entropy. */
#include <math.h>
#include <string.h>

#include "model_priv.h"
#include "../linalg/linalg.h"

/* Rows per kernel call: each block's projections are scanned for NaN/Inf
 * while they are still in cache, and a call stops at the first block whose
 * rows hold one. */
#define LELP__PROJECT_ROWS 512

/* Raw projections <U, h - center> (centre_rows) or <U, h> of n rows into F
 * (n x C*S). Subnormal floats in H are flushed to zero, keeping the sign,
 * before they reach an arithmetic unit, in and out of the centring: on
 * many x86 cores every operation on one takes a microcode assist, which
 * made the targets of a batch of subnormal embeddings ~45x slower. A
 * flushed input changes a projection by at most d * FLT_MIN * max|u|
 * (~1e-38 absolute): below float32's resolution of any projection that is
 * not itself subnormal (docs/method.md). A NaN/Inf in H is
 * LELP_E_NONFINITE naming its first row (row0 + i) and column: it makes
 * every projection of its row NaN/Inf (the kernel skips no product, and
 * NaN and Inf times 0 are NaN), so the C*S projections of a row are
 * scanned rather than its d values, and H only when one is not finite.
 * Finite rows whose projections overflow are left to the callers. */
static int lelp__project_raw(const lelp_model* m, const float* H, int64_t n, int64_t row0, float* F, const char* fn)
{
    const int64_t d = m->d, K = m->C * m->S;
    int st = LELP_OK;
    for (int64_t i0 = 0; i0 < n; i0 += LELP__PROJECT_ROWS) {
        const int64_t nb = n - i0 < LELP__PROJECT_ROWS ? n - i0 : LELP__PROJECT_ROWS;
        lelp__project_rows(H + i0 * d, nb, d, m->centre_rows ? m->center : NULL, m->Ut, K, F + i0 * K);
        if (lelp__any_nonfinite(F + i0 * K, nb * K) &&
            (st = lelp__check_finite_rows(H + i0 * d, nb, d, row0 + i0, fn, "H")))
            break;
    }
    return st;
}

/* Common checks of (model, H, n, d, out) for the batch calls. */
static int lelp__check_batch_call(const lelp_model* m, const float* H, int64_t n, int64_t d,
                                  const void* out, const char* what)
{
    int st = lelp__check_handle(m, LELP__MAGIC_MODEL, what, "model");
    if (st) return st;
    if (!out && n > 0) return lelp__fail(LELP_E_NULL, "%s: output is NULL", what);
    if ((st = lelp__check_batch_shape(H, n, d, m->d, what))) return st;
    if (lelp__bytes(n, m->C * m->S, sizeof(float)) == SIZE_MAX)
        return lelp__fail(LELP_E_INVALID_ARG, "%s: n*C*S overflows", what);
    return lelp__check_disjoint(out, (size_t)(n * m->C * m->S) * sizeof(float), "the output", H,
                                (size_t)(n * d) * sizeof(float), "H", what);
}

/* Values per block of the targets' softmaxes (at most 256 rows, at least
 * one): each block's exponentials run as one vector loop (vexp.c), where one
 * libm call per value cost a sixth of a call at C*S = 16. */
#define LELP__TARGET_VALUES 16384
#define LELP__TARGET_ROWS 256

/* x[g*len .. (g+1)*len) <- x - max of that group, for each of ng groups;
 * returns the first group whose max is not finite (it is left as it was),
 * or -1. */
static int64_t lelp__shift_groups(double* x, int64_t ng, int64_t len)
{
    for (int64_t g = 0; g < ng; g++) {
        double* v = x + g * len;
        double m = v[0];
        for (int64_t k = 1; k < len; k++) m = v[k] > m ? v[k] : m;
        if (!isfinite(m)) return g;
        for (int64_t k = 0; k < len; k++) v[k] -= m;
    }
    return -1;
}

/* The class probabilities of rows [i0, i0 + r): softmax(Z/tau) or smoothed
 * labels, into P (r x C). */
static void lelp__class_probs(const lelp_model* m, const float* Z, const int32_t* y, double tau, double eps,
                              int64_t i0, int64_t r, double* P)
{
    const int64_t C = m->C;
    if (!Z) {
        for (int64_t i = 0; i < r; i++)
            for (int64_t c = 0; c < C; c++) P[i * C + c] = eps / (double)C + (c == y[i0 + i] ? 1.0 - eps : 0.0);
        return;
    }
    for (int64_t i = 0; i < r * C; i++) P[i] = (double)Z[i0 * C + i] / tau;
    (void)lelp__shift_groups(P, r, C); /* finite: Z is checked, tau >= 0.01 */
    lelp__vexp(P, r * C);
    for (int64_t i = 0; i < r; i++) {
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++) sum += P[i * C + c];
        for (int64_t c = 0; c < C; c++) P[i * C + c] /= sum;
    }
}

/* Replaces rows [0, r) of T (raw projections) by t = p_c * softmax_s(f)
 * with f = (projection - b) / beta, given the class probabilities P (r x
 * C); F is a scratch of r x C x S doubles. The softmax reuses its
 * exponentials: t = p_c * e_s / sum e. A NaN f, or a class whose largest f
 * is infinite (beta too small for the projections), is LELP_E_NUMERICAL. */
static int lelp__finish_targets(const lelp_model* m, float* T, const double* P, double* F, int64_t r, int64_t row0,
                                const char* fn)
{
    const int64_t C = m->C, S = m->S, K = C * S;
    const double inv_beta = 1.0 / m->beta;
    int nan = 0;
    for (int64_t i = 0; i < r; i++)
        for (int64_t k = 0; k < K; k++) {
            double v = ((double)T[i * K + k] - m->b_proj[k]) * inv_beta;
            nan |= isnan(v);
            F[i * K + k] = v;
        }
    /* a NaN, or a class whose largest f is infinite: -inf elsewhere is
     * fine, its exponential is 0 to float32 */
    int64_t bad = -1; /* the class group (row * C + c) to report */
    if (nan) {
        for (int64_t i = 0; i < r * K && bad < 0; i++)
            if (isnan(F[i])) bad = i / S;
    } else {
        bad = lelp__shift_groups(F, r * C, S);
    }
    if (bad >= 0)
        return lelp__fail(LELP_E_NUMERICAL,
                          "%s: the projections of row %lld overflow (|h| too large for float32, or beta = %g "
                          "too small)", fn, (long long)(row0 + bad / C), m->beta);
    lelp__vexp(F, r * K);
    for (int64_t g = 0; g < r * C; g++) {
        const double* e = F + g * S;
        double z = 0.0;
        for (int64_t s = 0; s < S; s++) z += e[s];
        const double w = P[g] / z; /* z >= 1: the largest term is exp(0) */
        for (int64_t s = 0; s < S; s++) T[g * S + s] = (float)(w * e[s]);
    }
    return LELP_OK;
}

static int lelp__targets(const lelp_model* m, const float* H, int64_t n, const float* Z,
                         const int32_t* y, double tau, double eps, float* T, const char* fn)
{
    const int64_t C = m->C, K = C * m->S;
    int64_t R = LELP__TARGET_VALUES / (K + C);
    R = R < 1 ? 1 : R > LELP__TARGET_ROWS ? LELP__TARGET_ROWS : R;
    R = n < R ? n : R;
    size_t sbytes = lelp__bytes(R, K + C, sizeof(double));
    double* F = lelp__alloc(&m->mem, sbytes);
    if (!F) return lelp__fail(LELP_E_NOMEM, "%s: out of memory", fn);
    double* P = F + R * K;
    int st = lelp__project_raw(m, H, n, 0, T, fn);
    for (int64_t i0 = 0; i0 < n && st == LELP_OK; i0 += R) {
        const int64_t r = n - i0 < R ? n - i0 : R;
        lelp__class_probs(m, Z, y, tau, eps, i0, r, P);
        st = lelp__finish_targets(m, T + i0 * K, P, F, r, i0, fn);
    }
    lelp__free(&m->mem, F, sbytes);
    return st;
}

int lelp_model_targets_from_logits(const lelp_model* m, const float* H, const float* Z, int64_t n,
                                   int64_t d, double tau, float* T_out)
{
    int st = lelp__check_batch_call(m, H, n, d, T_out, "lelp_model_targets_from_logits");
    if (st) return st;
    if (!(tau >= 0.01 && tau <= 100.0))
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_model_targets_from_logits: tau = %g outside [0.01, 100]", tau);
    if (n == 0) return LELP_OK;
    if (!Z) return lelp__fail(LELP_E_NULL, "lelp_model_targets_from_logits: Z is NULL");
    if ((st = lelp__check_disjoint(T_out, (size_t)(n * m->C * m->S) * sizeof(float), "T_out", Z,
                                   (size_t)(n * m->C) * sizeof(float), "Z", "lelp_model_targets_from_logits")))
        return st;
    if ((st = lelp__check_finite_f32(Z, n, m->C, "lelp_model_targets_from_logits", "Z"))) return st;
    return lelp__targets(m, H, n, Z, NULL, tau, 0.0, T_out, "lelp_model_targets_from_logits");
}

int lelp_model_targets_from_labels(const lelp_model* m, const float* H, const int32_t* labels,
                                   int64_t n, int64_t d, double smoothing, float* T_out)
{
    int st = lelp__check_batch_call(m, H, n, d, T_out, "lelp_model_targets_from_labels");
    if (st) return st;
    if (!(smoothing >= 0.0 && smoothing < 1.0))
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_model_targets_from_labels: smoothing = %g outside [0, 1)",
                          smoothing);
    if (n == 0) return LELP_OK;
    if (!labels) return lelp__fail(LELP_E_NULL, "lelp_model_targets_from_labels: labels is NULL");
    if ((st = lelp__check_disjoint(T_out, (size_t)(n * m->C * m->S) * sizeof(float), "T_out", labels,
                                   (size_t)n * sizeof(int32_t), "labels", "lelp_model_targets_from_labels")))
        return st;
    if ((st = lelp__check_labels(labels, n, m->C, "lelp_model_targets_from_labels", "labels"))) return st;
    return lelp__targets(m, H, n, NULL, labels, 1.0, smoothing, T_out, "lelp_model_targets_from_labels");
}

int lelp_model_project(const lelp_model* m, const float* H, int64_t n, int64_t d, float* F_out)
{
    int st = lelp__check_batch_call(m, H, n, d, F_out, "lelp_model_project");
    if (st) return st;
    if (n == 0) return LELP_OK;
    if ((st = lelp__project_raw(m, H, n, 0, F_out, "lelp_model_project"))) return st;
    const int64_t K = m->C * m->S;
    for (int64_t i = 0; i < n; i++) {
        float* f = F_out + i * K;
        for (int64_t k = 0; k < K; k++) f[k] = (float)(((double)f[k] - m->b_proj[k]) / m->beta);
    }
    /* finite rows whose projections overflow float32 (|h| near FLT_MAX, or a
     * tiny beta): an error, never Inf/NaN out */
    if (lelp__any_nonfinite(F_out, n * K))
        for (int64_t i = 0; i < n; i++)
            if (lelp__any_nonfinite(F_out + i * K, K))
                return lelp__fail(LELP_E_NUMERICAL,
                                  "lelp_model_project: the projections of row %lld overflow float32 (beta = %g)",
                                  (long long)i, m->beta);
    return LELP_OK;
}

/* g (n x S, double) = centred projections of each row onto its own class. */
/* g (nb x S) <- each row's own-class projections minus the class offsets,
 * for rows [row0, row0 + nb) of the call (nb <= LELP__PROJECT_ROWS; F is an
 * nb x C*S scratch). */
static int lelp__own_class_block(const lelp_model* m, const float* H, const int32_t* y, int64_t nb, int64_t row0,
                                 float* F, double* g, const char* fn)
{
    const int64_t S = m->S, K = m->C * S;
    int st = lelp__project_raw(m, H, nb, row0, F, fn);
    for (int64_t r = 0; r < nb && st == LELP_OK; r++) {
        int64_t c = y[r];
        for (int64_t s = 0; s < S; s++) g[r * S + s] = (double)F[r * K + c * S + s] - m->b_proj[c * S + s];
        if (lelp__any_nonfinite(F + r * K + c * S, S)) /* finite rows too large for float32 */
            st = lelp__fail(LELP_E_NUMERICAL, "%s: the projections of row %lld overflow float32", fn,
                            (long long)(row0 + r));
    }
    return st;
}

/* The scratch of lelp__own_class_block for blocks of up to `rows` rows. */
static size_t lelp__own_class_scratch(const lelp_model* m, int64_t rows)
{
    return lelp__bytes(rows, m->C * m->S, sizeof(float));
}

static int lelp__own_class(const lelp_model* m, const float* H, const int32_t* y, int64_t n, double* g,
                           const char* fn)
{
    const int64_t rows = n < LELP__PROJECT_ROWS ? n : LELP__PROJECT_ROWS;
    size_t bytes = lelp__own_class_scratch(m, rows);
    float* F = lelp__alloc(&m->mem, bytes);
    if (!F) return lelp__fail(LELP_E_NOMEM, "%s: out of memory for projections", fn);
    int st = LELP_OK;
    for (int64_t i0 = 0; i0 < n && st == LELP_OK; i0 += rows) {
        int64_t nb = n - i0 < rows ? n - i0 : rows;
        st = lelp__own_class_block(m, H + i0 * m->d, y + i0, nb, i0, F, g + i0 * m->S, fn);
    }
    lelp__free(&m->mem, F, bytes);
    return st;
}

/* The checks the own-class calls share; out: n labels (out_bytes < 0,
 * assign) or one double (mean entropy, beta). */
static int lelp__own_class_check(const lelp_model* m, const float* H, const int32_t* labels, int64_t n, int64_t d,
                                 const void* out, int64_t out_bytes, const char* what)
{
    int st = lelp__check_handle(m, LELP__MAGIC_MODEL, what, "model");
    if (st) return st;
    if (!out) return lelp__fail(LELP_E_NULL, "%s: output is NULL", what);
    if ((st = lelp__check_batch_shape(H, n, d, m->d, what))) return st;
    if (n == 0) return LELP_OK;
    if (!labels) return lelp__fail(LELP_E_NULL, "%s: labels is NULL", what);
    const size_t ob = out_bytes < 0 ? (size_t)n * sizeof(int32_t) : (size_t)out_bytes;
    if ((st = lelp__check_disjoint(out, ob, "the output", H, (size_t)(n * d) * sizeof(float), "H", what)) ||
        (st = lelp__check_disjoint(out, ob, "the output", labels, (size_t)n * sizeof(int32_t), "labels", what)))
        return st;
    return lelp__check_labels(labels, n, m->C, what, "labels");
}

static int lelp__own_class_call(const lelp_model* m, const float* H, const int32_t* labels, int64_t n,
                                int64_t d, const void* out, int64_t out_bytes, const char* what, double** g,
                                size_t* gbytes)
{
    *g = NULL;
    int st = lelp__own_class_check(m, H, labels, n, d, out, out_bytes, what);
    if (st || n == 0) return st;
    *gbytes = lelp__bytes(n, m->S, sizeof(double));
    *g = lelp__alloc(&m->mem, *gbytes);
    if (!*g) return lelp__fail(LELP_E_NOMEM, "%s: out of memory", what);
    if ((st = lelp__own_class(m, H, labels, n, *g, what))) {
        lelp__free(&m->mem, *g, *gbytes);
        *g = NULL;
    }
    return st;
}

/* Block by block, so its scratch is one block's (no n x S buffer: a per-call
 * allocation that size cost page faults on every call of a sharded host). */
int lelp_model_assign(const lelp_model* m, const float* H, const int32_t* labels, int64_t n, int64_t d,
                      int32_t* out)
{
    int st = lelp__own_class_check(m, H, labels, n, d, out, -1, "lelp_model_assign");
    if (st || n == 0) return st;
    const int64_t S = m->S, rows = n < LELP__PROJECT_ROWS ? n : LELP__PROJECT_ROWS;
    const size_t fbytes = lelp__own_class_scratch(m, rows), gbytes = lelp__bytes(rows, S, sizeof(double));
    float* F = lelp__alloc(&m->mem, fbytes);
    double* g = lelp__alloc(&m->mem, gbytes);
    if (!F || !g) st = lelp__fail(LELP_E_NOMEM, "lelp_model_assign: out of memory for projections");
    for (int64_t i0 = 0; i0 < n && st == LELP_OK; i0 += rows) {
        const int64_t nb = n - i0 < rows ? n - i0 : rows;
        st = lelp__own_class_block(m, H + i0 * d, labels + i0, nb, i0, F, g, "lelp_model_assign");
        for (int64_t i = 0; i < nb && st == LELP_OK; i++) {
            const double* gi = g + i * S;
            int32_t best = 0;
            for (int64_t s = 1; s < S; s++)
                if (gi[s] > gi[best]) best = (int32_t)s;
            out[i0 + i] = best;
        }
    }
    lelp__free(&m->mem, F, fbytes);
    lelp__free(&m->mem, g, gbytes);
    return st;
}

int lelp_model_mean_entropy(const lelp_model* m, const float* H, const int32_t* labels, int64_t n,
                            int64_t d, double beta, double* entropy)
{
    static const char fn[] = "lelp_model_mean_entropy";
    if (!(beta > 0.0) || !isfinite(beta)) return lelp__fail(LELP_E_INVALID_ARG, "%s: beta = %g must be > 0", fn, beta);
    int st = lelp__own_class_check(m, H, labels, n, d, entropy, (int64_t)sizeof(double), fn);
    if (st) return st;
    if (n == 0) return lelp__fail(LELP_E_INVALID_ARG, "%s: empty batch", fn);
    /* block by block, as assign; the sum runs over the rows in order */
    const int64_t S = m->S, rows = n < LELP__PROJECT_ROWS ? n : LELP__PROJECT_ROWS;
    const size_t fbytes = lelp__own_class_scratch(m, rows), gbytes = lelp__bytes(rows, S, sizeof(double));
    float* F = lelp__alloc(&m->mem, fbytes);
    double* g = lelp__alloc(&m->mem, gbytes);
    if (!F || !g) st = lelp__fail(LELP_E_NOMEM, "%s: out of memory", fn);
    double sum = 0.0;
    for (int64_t i0 = 0; i0 < n && st == LELP_OK; i0 += rows) {
        const int64_t nb = n - i0 < rows ? n - i0 : rows;
        st = lelp__own_class_block(m, H + i0 * d, labels + i0, nb, i0, F, g, fn);
        for (int64_t i = 0; i < nb && st == LELP_OK; i++) sum += lelp__softmax_entropy(g + i * S, S, 1.0 / beta, NULL);
    }
    lelp__free(&m->mem, F, fbytes);
    lelp__free(&m->mem, g, gbytes);
    if (st == LELP_OK) *entropy = sum / (double)n;
    return st;
}

int lelp_model_estimate_beta(const lelp_model* m, const float* H, const int32_t* labels, int64_t n,
                             int64_t d, double fraction, double* beta)
{
    if (!(fraction >= 0.01 && fraction <= 0.99))
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_model_estimate_beta: fraction = %g outside [0.01, 0.99]",
                          fraction);
    double* g = NULL;
    size_t gbytes = 0;
    int st = lelp__own_class_call(m, H, labels, n, d, beta, (int64_t)sizeof(double), "lelp_model_estimate_beta", &g, &gbytes);
    if (st) return st;
    if (n == 0) return lelp__fail(LELP_E_INVALID_ARG, "lelp_model_estimate_beta: empty batch");
    const int64_t S = m->S;
    if (S == 1) {
        *beta = 1.0;
        lelp__free(&m->mem, g, gbytes);
        return LELP_OK;
    }
    size_t wbytes = lelp__bytes(n, 1, sizeof(double));
    double* w = lelp__alloc(&m->mem, wbytes);
    if (!w) {
        lelp__free(&m->mem, g, gbytes);
        return lelp__fail(LELP_E_NOMEM, "lelp_model_estimate_beta: out of memory");
    }
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) w[i] = 1.0 / (double)n;
    for (int64_t k = 0; k < n * S; k++) ss += g[k] * g[k];
    st = lelp__beta_solve(g, w, n, S, fraction * log((double)S), sqrt(ss / (double)(n * S)), beta);
    lelp__free(&m->mem, w, wbytes);
    lelp__free(&m->mem, g, gbytes);
    return st;
}
