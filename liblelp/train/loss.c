/* SPDX-License-Identifier: MIT */
/* loss.c -- the student loss and its gradient (SPEC section 1.3). BLAS-free
 * and allocation-free per call: the scratch is sized at create, and the
 * batch-coupled auxiliary kind keeps its buffers for the largest batch seen.
 * The KL-only loss (the LELP default) runs a chunk of rows at a time, so its
 * exponentials and logarithms are long vector loops (vexp.c); other kinds go
 * row by row. */
#include <float.h>
#include <math.h>

#include "train.h"
#include "../common/vec8.h"

/* Rows per chunk of the KL-only path: ~4096 values, so the chunk stays in
 * L1/L2 while it is exponentiated, summed and logged, and at most 256 rows,
 * which bounds the per-row partial vectors. */
static int64_t lelp__loss_chunk_rows(int64_t K)
{
    return K >= 4096 ? 1 : K >= 16 ? 4096 / K : 256;
}

/* Doubles before the chunk: a row's gradient and exponentials (2K),
 * rounded up so the chunk's vectors start 32-byte aligned (for speed:
 * they are copied in and out, so nothing depends on it). */
static int64_t lelp__loss_row_doubles(int64_t K)
{
    return (2 * K + 3) & ~INT64_C(3);
}

/* The chunk: per row (rounded up to 8 rows) a float32 8-lane maximum (4
 * doubles), two float64 4-lane partial sums (8) and four scalars; then the
 * chunk's values. */
static size_t lelp__loss_scratch_bytes(const lelp_loss* l)
{
    const int64_t K = l->C * l->S, R8 = (l->chunk_rows + 7) & ~INT64_C(7);
    return lelp__bytes(lelp__loss_row_doubles(K) + 16 * R8 + l->chunk_rows * K, 1, sizeof(double));
}

int lelp_loss_create(lelp_loss** out, int64_t C, int64_t S, const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_loss_create: out is NULL");
    *out = NULL;
    if (C < 1 || S < 1 || C > LELP__MAX_CS || S > LELP__MAX_CS / C)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_loss_create: C = %lld and S = %lld must be >= 1 with C*S <= 2^24",
                          (long long)C, (long long)S);
    int st = lelp__check_allocator(alloc, "lelp_loss_create");
    if (st) return st;
    lelp__mem mem;
    lelp__mem_init(&mem, alloc);
    lelp_loss* l = lelp__calloc(&mem, sizeof *l);
    if (!l) return lelp__fail(LELP_E_NOMEM, "lelp_loss_create: out of memory");
    l->magic = LELP__MAGIC_LOSS;
    l->self = l;
    l->mem = mem;
    l->C = C;
    l->S = S;
    l->tau = 1.0;
    l->alpha = 0.0;
    l->reduction = LELP_REDUCTION_MEAN;
    l->kind = LELP_LOSS_KIND_KL;
    l->dkd_target = 1.0;
    l->dkd_nontarget = 8.0;
    l->aux_temperature = 1.0;
    l->chunk_rows = lelp__loss_chunk_rows(C * S);
    l->row = lelp__alloc(&mem, lelp__loss_scratch_bytes(l));
    l->chunk = l->row ? l->row + lelp__loss_row_doubles(C * S) : NULL;
    l->aux = lelp__calloc(&mem, sizeof *l->aux);
    if (!l->row || !l->aux) {
        lelp__free(&mem, l->row, lelp__loss_scratch_bytes(l));
        lelp__free(&mem, l->aux, sizeof *l->aux);
        lelp__free(&mem, l, sizeof *l);
        return lelp__fail(LELP_E_NOMEM, "lelp_loss_create: out of memory");
    }
    *out = l;
    return LELP_OK;
}

void lelp_loss_free(lelp_loss* l)
{
    if (!l || l->magic != LELP__MAGIC_LOSS || l->self != l) return;
    lelp__mem mem = l->mem;
    lelp__free(&mem, l->row, lelp__loss_scratch_bytes(l));
    lelp__scratch_release(&mem, l->aux);
    lelp__free(&mem, l->aux, sizeof *l->aux);
    l->magic = LELP__MAGIC_DEAD;
    lelp__free(&mem, l, sizeof *l);
}

static const lelp__param_set lelp__loss_params = {LELP__MAGIC_LOSS, "loss", 0, NULL, NULL, NULL};

int lelp_loss_set_int(lelp_loss* l, int param, int64_t value)
{
    return lelp__param_set_int(l, &lelp__loss_params, param, value, "lelp_loss_set_int");
}

int lelp_loss_set_double(lelp_loss* l, int param, double value)
{
    return lelp__param_set_double(l, &lelp__loss_params, param, value, "lelp_loss_set_double");
}

int lelp_loss_get_int(const lelp_loss* l, int param, int64_t* value)
{
    return lelp__param_get_int(l, &lelp__loss_params, param, value, "lelp_loss_get_int");
}

int lelp_loss_get_double(const lelp_loss* l, int param, double* value)
{
    return lelp__param_get_double(l, &lelp__loss_params, param, value, "lelp_loss_get_double");
}

/* The row loops below sum into four partial sums: a single accumulator's
 * add latency, not the arithmetic, bounds them otherwise. */
static inline __attribute__((always_inline)) double lelp__row_sum_f32(const float* x, int64_t K)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t k = 0;
    for (; k + 4 <= K; k += 4)
        for (int l = 0; l < 4; l++) a[l] += (double)x[k + l];
    for (; k < K; k++) a[0] += (double)x[k];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

static inline __attribute__((always_inline)) double lelp__row_sum_f64(const double* x, int64_t K)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t k = 0;
    for (; k + 4 <= K; k += 4)
        for (int l = 0; l < 4; l++) a[l] += x[k + l];
    for (; k < K; k++) a[0] += x[k];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

/* e_k <- t_k (log t_k - a u_k) with e holding log max(t_k, DBL_MIN): the
 * KL terms short of the log-sum-exp, as one flat loop (it vectorizes; three
 * interleaved row sums did not). A zero target adds exactly 0. */
static inline __attribute__((always_inline)) void lelp__kl_terms(const float* t, const float* u, double* e,
                                                                 int64_t n, double a)
{
    for (int64_t k = 0; k < n; k++) e[k] = (double)t[k] * (e[k] - a * (double)u[k]);
}

/* One block of eight target values: bad lanes (negative, NaN or Inf) into
 * *bad, the values into the float64 row sum. */
LELP__VINLINE void lelp__check_block(const lelp__v8f* x, lelp__v8i* bad, lelp__v4d* sum)
{
    const int32_t e = (int32_t)LELP__F32_EXPONENT; /* lelp__nonfinite_bit's test, eight lanes */
    const lelp__v8i expo = {e, e, e, e, e, e, e, e};
    const lelp__v8f zero = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    *bad |= (*x < zero) | (((lelp__v8i)*x & expo) == expo);
    lelp__acc8(sum, x);
}

/* 1 if every row of T is finite, non-negative and sums to 1 within 1e-3:
 * one pass of eight lanes per row, so valid targets cost little; the
 * checks below name the first bad entry otherwise. */
static LELP__CLONES int lelp__targets_ok(const float* T, int64_t n, int64_t K)
{
    const int64_t K8 = K & ~INT64_C(7);
    lelp__v8i bad = {0, 0, 0, 0, 0, 0, 0, 0}; /* over all rows: looked at once, at the end */
    for (int64_t i = 0; i < n; i++) {
        const float* t = T + i * K;
        lelp__v4d sum = {0.0, 0.0, 0.0, 0.0};
        lelp__v8f x;
        for (int64_t k = 0; k < K8; k += 8) {
            lelp__ld8f(&x, t + k, 8, 0.0f);
            lelp__check_block(&x, &bad, &sum);
        }
        if (K8 < K) { /* the tail, zero-padded: zeros pass every check and add 0 */
            lelp__ld8f(&x, t + K8, K - K8, 0.0f);
            lelp__check_block(&x, &bad, &sum);
        }
        if (!(fabs(lelp__hsum4(&sum) - 1.0) <= 1e-3)) return 0;
    }
    int any = 0;
    for (int l = 0; l < 8; l++) any |= bad[l];
    return !any;
}

/* Validates all inputs before any output is written. */
static int lelp__loss_inputs(const lelp_loss* l, const float* U, const float* T, const int32_t* y,
                             const float* w, int64_t n, double* value)
{
    const int64_t K = l->C * l->S;
    if (!value) return lelp__fail(LELP_E_NULL, "lelp_loss_compute: value is NULL");
    if (n < 1) return lelp__fail(LELP_E_INVALID_ARG, "lelp_loss_compute: n = %lld must be >= 1", (long long)n);
    if (lelp__bytes(n, K, sizeof(float)) == SIZE_MAX)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_loss_compute: n*C*S overflows");
    if (!U) return lelp__fail(LELP_E_NULL, "lelp_loss_compute: U is NULL");
    const int needs_t = l->alpha < 1.0 && l->kind != LELP_LOSS_KIND_SUBCLASS_AUX;
    if (needs_t && !T) return lelp__fail(LELP_E_NULL, "lelp_loss_compute: T is NULL but alpha < 1");
    if (l->kind == LELP_LOSS_KIND_DKD && l->S != 1)
        return lelp__fail(LELP_E_PARAM_COMBINATION, "lelp_loss_compute: DKD needs S = 1 (class logits), the loss has S = %lld",
                          (long long)l->S);
    if (l->kind == LELP_LOSS_KIND_SUBCLASS_AUX && w)
        return lelp__fail(LELP_E_PARAM_COMBINATION, "lelp_loss_compute: the subclass auxiliary loss couples the batch; "
                          "per-example weights are not supported");
    const int needs_y = l->alpha > 0.0 || (l->kind == LELP_LOSS_KIND_DKD && l->alpha < 1.0);
    if (needs_y && !y)
        return lelp__fail(LELP_E_NULL, "lelp_loss_compute: labels is NULL but alpha > 0 or the kind is DKD");
    int st = lelp__check_finite_f32(U, n, K, "lelp_loss_compute", "U");
    if (st) return st;
    if (needs_y && (st = lelp__check_labels(y, n, l->C, "lelp_loss_compute", "labels"))) return st;
    if (needs_t && !lelp__targets_ok(T, n, K)) {
        if ((st = lelp__check_finite_f32(T, n, K, "lelp_loss_compute", "T"))) return st;
        for (int64_t i = 0; i < n; i++) {
            double sum = lelp__row_sum_f32(T + i * K, K);
            int64_t negative = 0; /* counted, not branched on: the loop vectorizes */
            for (int64_t k = 0; k < K; k++) negative += T[i * K + k] < 0.0f;
            if (negative)
                return lelp__fail(LELP_E_INVALID_TARGETS, "lelp_loss_compute: T has a negative entry at row %lld",
                                  (long long)i);
            if (fabs(sum - 1.0) > 1e-3)
                return lelp__fail(LELP_E_INVALID_TARGETS, "lelp_loss_compute: T row %lld sums to %.9g, not 1",
                                  (long long)i, sum);
        }
    }
    if (w) {
        if ((st = lelp__check_finite_f32(w, n, 1, "lelp_loss_compute", "weights"))) return st;
        double sw = 0.0;
        for (int64_t i = 0; i < n; i++) {
            if (w[i] < 0.0f)
                return lelp__fail(LELP_E_INVALID_ARG, "lelp_loss_compute: weight at row %lld is negative", (long long)i);
            sw += w[i];
        }
        if (l->reduction == LELP_REDUCTION_MEAN && !(sw > 0.0))
            return lelp__fail(LELP_E_INVALID_ARG, "lelp_loss_compute: weights sum to 0 with mean reduction");
    }
    return LELP_OK;
}

/* max_k a*u_k (a > 0) with four running maxima: the max is exact in any
 * order, and four chains hide the compare latency a single one pays. */
static inline __attribute__((always_inline)) double lelp__row_max(const float* u, int64_t K, double a)
{
    double m0 = -INFINITY, m1 = -INFINITY, m2 = -INFINITY, m3 = -INFINITY;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
        double v0 = a * (double)u[k], v1 = a * (double)u[k + 1], v2 = a * (double)u[k + 2], v3 = a * (double)u[k + 3];
        m0 = v0 > m0 ? v0 : m0;
        m1 = v1 > m1 ? v1 : m1;
        m2 = v2 > m2 ? v2 : m2;
        m3 = v3 > m3 ? v3 : m3;
    }
    for (; k < K; k++) {
        double v = a * (double)u[k];
        m0 = v > m0 ? v : m0;
    }
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    return m2 > m0 ? m2 : m0;
}

/* sum_k exp(a*u_k - m) with m = max a*u, the terms stored in e. */
static double lelp__row_expsum(const float* u, int64_t K, double a, double* m_out, double* e)
{
    double m = lelp__row_max(u, K, a);
    for (int64_t k = 0; k < K; k++) e[k] = a * (double)u[k] - m;
    lelp__vexp(e, K);
    double z = lelp__row_sum_f64(e, K);
    *m_out = m;
    return z;
}

/* tau^2 KL(t || softmax(u/tau)); adds its gradient times gs into gd.
 * sum t log t runs on max(t, DBL_MIN) so zero targets add exactly 0; the
 * logarithms reuse e once the gradient is done with it. */
static double lelp__kl_row(const float* u, const float* t, int64_t K, double tau, double* e, double* gd, double gs)
{
    double m = 0.0;
    double z = lelp__row_expsum(u, K, 1.0 / tau, &m, e);
    double logz = z;
    lelp__vlog(&logz, 1); /* the chunked path's log, so both give the same bits */
    double lse = m + logz;
    if (gd) {
        const double g = gs * tau, inv_z = 1.0 / z;
        for (int64_t k = 0; k < K; k++) gd[k] += g * (e[k] * inv_z - (double)t[k]);
    }
    for (int64_t k = 0; k < K; k++) {
        double tk = (double)t[k];
        e[k] = tk > DBL_MIN ? tk : DBL_MIN;
    }
    lelp__vlog(e, K);
    lelp__kl_terms(t, u, e, K, 1.0 / tau);
    return tau * tau * (lelp__row_sum_f64(e, K) + lse * lelp__row_sum_f32(t, K));
}

/* -log sum_s softmax(u)_{y,s}; adds its gradient times gs into gd. */
static double lelp__ce_row(const float* u, int64_t K, int64_t S, int32_t y, double* e, double* gd, double gs)
{
    double m = 0.0;
    double z = lelp__row_expsum(u, K, 1.0, &m, e);
    const int64_t y0 = (int64_t)y * S;
    double lse_y = lelp__lse_f32(u + y0, S, 1.0);
    if (gd) {
        for (int64_t k = 0; k < K; k++) gd[k] += gs * e[k] / z;
        for (int64_t s = 0; s < S; s++) gd[y0 + s] -= gs * exp((double)u[y0 + s] - lse_y);
    }
    return m + log(z) - lse_y;
}

/* log-sum-exp of u/tau over every class but y */
static double lelp__lse_except(const float* u, int64_t C, int32_t y, double tau)
{
    double m = -INFINITY, z = 0.0;
    for (int64_t k = 0; k < C; k++)
        if (k != y) m = (double)u[k] / tau > m ? (double)u[k] / tau : m;
    if (m == -INFINITY) return m;
    for (int64_t k = 0; k < C; k++)
        if (k != y) z += exp((double)u[k] / tau - m);
    return m + log(z);
}

/* Decoupled KD (Zhao et al. 2022) on class logits (S = 1), teacher
 * probabilities t = softmax(z/tau):
 *   TCKD = tau^2 KL([p_y, 1-p_y] || [q_y, 1-q_y])
 *   NCKD = tau^2 KL(p_hat || q_hat) over the non-target classes
 * in log space (log(1-q_y) = lse_{j!=y} - lse), so no 1 - q_y ever cancels.
 * With C = 2 the non-target distributions have one class: NCKD = 0. If the
 * teacher puts all mass on y (1 - p_y = 0), NCKD is 0 too. */
static double lelp__dkd_row(const lelp_loss* l, const float* u, const float* t, int32_t y, double* gd, double gs)
{
    const int64_t C = l->C;
    const double tau = l->tau;
    const double lse = lelp__lse_f32(u, C, 1.0 / tau), lse_nt = lelp__lse_except(u, C, y, tau);
    const double py = (double)t[y];
    double pnt = 0.0;
    for (int64_t k = 0; k < C; k++)
        if (k != y) pnt += (double)t[k];
    const double log_qy = (double)u[y] / tau - lse, log_qnt = lse_nt - lse;
    const double qy = exp(log_qy);
    double tckd = 0.0, nckd = 0.0;
    if (py > 0.0) tckd += py * (log(py) - log_qy);
    if (pnt > 0.0) tckd += pnt * (log(pnt) - log_qnt);
    for (int64_t k = 0; k < C && pnt > 0.0; k++) {
        if (k == y || t[k] <= 0.0f) continue;
        double ph = (double)t[k] / pnt;
        nckd += ph * (log(ph) - ((double)u[k] / tau - lse_nt));
    }
    if (gd) {
        const double wt = l->dkd_target * gs, wn = l->dkd_nontarget * gs;
        /* dTCKD/du_y = -tau [(1-q_y) p_y - p_nt q_y]; k != y: tau (q_k p_y - p_nt q_y qhat_k) */
        gd[y] += wt * -tau * (exp(log_qnt) * py - pnt * qy);
        for (int64_t k = 0; k < C; k++) {
            if (k == y) continue;
            double qk = exp((double)u[k] / tau - lse), qh = exp((double)u[k] / tau - lse_nt);
            gd[k] += wt * tau * (qk * py - pnt * qy * qh);
            if (pnt > 0.0) gd[k] += wn * tau * (qh - (double)t[k] / pnt);
        }
    }
    return tau * tau * (l->dkd_target * tckd + l->dkd_nontarget * nckd);
}

/* The KL chunk's passes. Each walks a row in blocks of eight lanes (vec8.h)
 * and leaves one partial vector per row; the partials of four or eight
 * rows are then reduced together, so no row pays for a horizontal sum.
 * A row's tail (K not a multiple of 8) goes lane by lane with the same
 * operations, so a value does not depend on its position. */

/* M[i] = a * max_k U[i, k]: the maximum is taken in float32, where it is
 * exact, and a > 0 commutes with it. */
LELP__VINLINE void lelp__chunk_max(const float* U, int64_t r, int64_t K, double a, float* PM, double* M)
{
    const int64_t K8 = K & ~INT64_C(7);
    if (K8 == 0) { /* rows shorter than a vector (KD on class logits): lane by lane */
        for (int64_t i = 0; i < r; i++) {
            const float* u = U + i * K;
            float m = u[0];
            for (int64_t k = 1; k < K; k++) m = u[k] > m ? u[k] : m;
            M[i] = a * (double)m;
        }
        return;
    }
    lelp__v8f x, mx;
    for (int64_t i = 0; i < r; i++) {
        const float* u = U + i * K;
        lelp__ld8f(&mx, u, 8, 0.0f);
        for (int64_t k = 8; k < K8; k += 8) {
            lelp__ld8f(&x, u + k, 8, 0.0f);
            lelp__max8(&mx, &x);
        }
        if (K8 < K) { /* the fill repeats an element of the row: it cannot change the max */
            lelp__ld8f(&x, u + K8, K - K8, u[0]);
            lelp__max8(&mx, &x);
        }
        memcpy(PM + 8 * i, &mx, sizeof mx);
    }
    for (int64_t i = r; i < ((r + 7) & ~INT64_C(7)); i++) memcpy(PM + 8 * i, PM, sizeof mx);
    for (int64_t i = 0; i < r; i += 8) {
        lelp__v8f m;
        lelp__v4d lo, hi;
        lelp__max8_rows(&m, PM + 8 * i);
        lelp__widen8(&lo, &hi, &m);
        lo *= a;
        hi *= a;
        memcpy(M + i, &lo, sizeof lo);
        memcpy(M + i + 4, &hi, sizeof hi);
    }
}

/* E[i, k] = a u_ik - M[i] */
LELP__VINLINE void lelp__chunk_shift(const float* U, int64_t r, int64_t K, double a, const double* M, double* E)
{
    const int64_t K8 = K & ~INT64_C(7);
    for (int64_t i = 0; i < r; i++) {
        const float* u = U + i * K;
        double* e = E + i * K;
        const double m = M[i];
        for (int64_t k = 0; k < K8; k += 8) {
            lelp__v8f x;
            lelp__v4d lo, hi;
            lelp__ld8f(&x, u + k, 8, 0.0f);
            lelp__widen8(&lo, &hi, &x);
            lo = a * lo - m;
            hi = a * hi - m;
            memcpy(e + k, &lo, sizeof lo);
            memcpy(e + k + 4, &hi, sizeof hi);
        }
        for (int64_t k = K8; k < K; k++) e[k] = a * (double)u[k] - m;
    }
}

/* Z[i] = sum_k E[i, k] */
LELP__VINLINE void lelp__chunk_sum(const double* E, int64_t r, int64_t K, double* P, double* Z)
{
    const int64_t K4 = K & ~INT64_C(3);
    for (int64_t i = 0; i < r; i++) {
        const double* e = E + i * K;
        lelp__v4d s = {0.0, 0.0, 0.0, 0.0}, x;
        for (int64_t k = 0; k < K4; k += 4) {
            memcpy(&x, e + k, sizeof x);
            s += x;
        }
        double tail = 0.0;
        for (int64_t k = K4; k < K; k++) tail += e[k];
        s[0] += tail;
        memcpy(P + 4 * i, &s, sizeof s);
    }
    for (int64_t i = r; i < ((r + 3) & ~INT64_C(3)); i++) memcpy(P + 4 * i, P, 4 * sizeof *P);
    for (int64_t i = 0; i < r; i += 4) {
        lelp__v4d z;
        lelp__sum4_rows(&z, P + 4 * i);
        memcpy(Z + i, &z, sizeof z);
    }
}

/* grad[i, k] = g_i (E[i, k] / Z[i] - T[i, k]) with g_i = w_i tau / norm */
LELP__VINLINE void lelp__chunk_grad(const double* E, const float* T, const float* w, int64_t r, int64_t K,
                                    double gs, const double* Z, float* grad)
{
    const int64_t K8 = K & ~INT64_C(7);
    for (int64_t i = 0; i < r; i++) {
        const double g = (w ? (double)w[i] : 1.0) * gs, inv_z = 1.0 / Z[i];
        const double* e = E + i * K;
        const float* t = T + i * K;
        float* o = grad + i * K;
        for (int64_t k = 0; k < K8; k += 8) {
            lelp__v8f x;
            lelp__v4d lo, hi, elo, ehi;
            lelp__ld8f(&x, t + k, 8, 0.0f);
            lelp__widen8(&lo, &hi, &x);
            memcpy(&elo, e + k, sizeof elo);
            memcpy(&ehi, e + k + 4, sizeof ehi);
            lo = g * (elo * inv_z - lo);
            hi = g * (ehi * inv_z - hi);
            lelp__narrow8(&x, &lo, &hi);
            memcpy(o + k, &x, sizeof x);
        }
        for (int64_t k = K8; k < K; k++) o[k] = (float)(g * (e[k] * inv_z - (double)t[k]));
    }
}

/* Q[i] = sum_k t_ik (L[i, k] - a u_ik) and P[i] = sum_k t_ik, where L
 * holds log max(t, DBL_MIN): a zero target adds exactly 0. */
LELP__VINLINE void lelp__chunk_kl(const double* L, const float* T, const float* U, int64_t r, int64_t K, double a,
                                  double* PQ, double* PP, double* Q, double* P)
{
    const int64_t K8 = K & ~INT64_C(7);
    for (int64_t i = 0; i < r; i++) {
        const double* lg = L + i * K;
        const float* t = T + i * K;
        const float* u = U + i * K;
        lelp__v4d sq = {0.0, 0.0, 0.0, 0.0}, sp = {0.0, 0.0, 0.0, 0.0};
        for (int64_t k = 0; k < K8; k += 8) {
            lelp__v8f xt, xu;
            lelp__v4d tlo, thi, ulo, uhi, llo, lhi;
            lelp__ld8f(&xt, t + k, 8, 0.0f);
            lelp__ld8f(&xu, u + k, 8, 0.0f);
            lelp__widen8(&tlo, &thi, &xt);
            lelp__widen8(&ulo, &uhi, &xu);
            memcpy(&llo, lg + k, sizeof llo);
            memcpy(&lhi, lg + k + 4, sizeof lhi);
            sq += tlo * (llo - a * ulo) + thi * (lhi - a * uhi);
            sp += tlo + thi;
        }
        double tq = 0.0, tp = 0.0;
        for (int64_t k = K8; k < K; k++) {
            const double tk = (double)t[k];
            tq += tk * (lg[k] - a * (double)u[k]);
            tp += tk;
        }
        sq[0] += tq;
        sp[0] += tp;
        memcpy(PQ + 4 * i, &sq, sizeof sq);
        memcpy(PP + 4 * i, &sp, sizeof sp);
    }
    for (int64_t i = r; i < ((r + 3) & ~INT64_C(3)); i++) {
        memcpy(PQ + 4 * i, PQ, 4 * sizeof *PQ);
        memcpy(PP + 4 * i, PP, 4 * sizeof *PP);
    }
    for (int64_t i = 0; i < r; i += 4) {
        lelp__v4d q, p;
        lelp__sum4_rows(&q, PQ + 4 * i);
        lelp__sum4_rows(&p, PP + 4 * i);
        memcpy(Q + i, &q, sizeof q);
        memcpy(P + i, &p, sizeof p);
    }
}

/* tau^2 KL over rows [0, r) of a chunk: returns sum_i w_i loss_i and
 * writes the gradient rows when grad != NULL. The exponentials and
 * logarithms run as long vector loops over the chunk (vexp.c); the rest is
 * the passes above. The row path (lelp__kl_row) computes the same
 * quantities in another order: the two agree to rounding. */
static LELP__CLONES double lelp__kl_chunk(const lelp_loss* l, const float* U, const float* T, const float* w,
                                          int64_t r, double norm, float* grad)
{
    const int64_t K = l->C * l->S, R8 = (l->chunk_rows + 7) & ~INT64_C(7);
    const double tau = l->tau, a = 1.0 / tau;
    /* per-row vectors are copied in and out (memcpy), so nothing assumes
     * more alignment than a double's: an allocator that ignores `align`
     * costs speed, not a fault */
    float* PM = (float*)l->chunk;   /* row maxima, eight lanes per row */
    double* PA = l->chunk + 4 * R8; /* partial sums, four lanes per row */
    double* PB = PA + 4 * R8;
    double* M = l->chunk + 12 * R8; /* a * row maxima, then log-sum-exps */
    double* Z = M + R8;             /* row sums of the exponentials, then their logarithms */
    double* Q = Z + R8;             /* sum_k t (log t - a u) */
    double* P = Q + R8;             /* sum_k t */
    double* E = P + R8;             /* exponentials, then log max(t, DBL_MIN) */
    lelp__chunk_max(U, r, K, a, PM, M);
    lelp__chunk_shift(U, r, K, a, M, E);
    lelp__vexp(E, r * K);
    lelp__chunk_sum(E, r, K, PA, Z);
    if (grad) lelp__chunk_grad(E, T, w, r, K, tau / norm, Z, grad);
    lelp__vlog(Z, r);
    for (int64_t i = 0; i < r * K; i++) {
        double t = (double)T[i];
        E[i] = t > DBL_MIN ? t : DBL_MIN;
    }
    lelp__vlog(E, r * K);
    lelp__chunk_kl(E, T, U, r, K, a, PA, PB, Q, P);
    double total = 0.0;
    for (int64_t i = 0; i < r; i++) total += (w ? (double)w[i] : 1.0) * (tau * tau * (Q[i] + (M[i] + Z[i]) * P[i]));
    return total;
}

/* One row's loss; adds its gradient times gscale into gd (K doubles) when
 * gd != NULL. */
static double lelp__loss_row(const lelp_loss* l, const float* u, const float* t, int32_t y, double* gd,
                             double gscale)
{
    const int64_t S = l->S, K = l->C * S;
    const double alpha = l->alpha;
    double* e = l->row + K;
    double loss = 0.0;
    if (alpha < 1.0 && l->kind == LELP_LOSS_KIND_KL)
        loss += (1.0 - alpha) * lelp__kl_row(u, t, K, l->tau, e, gd, (1.0 - alpha) * gscale);
    if (alpha < 1.0 && l->kind == LELP_LOSS_KIND_DKD)
        loss += (1.0 - alpha) * lelp__dkd_row(l, u, t, y, gd, (1.0 - alpha) * gscale);
    if (alpha > 0.0) loss += alpha * lelp__ce_row(u, K, S, y, e, gd, alpha * gscale);
    return loss;
}

int lelp_loss_compute(const lelp_loss* l, const float* U, const float* T, const int32_t* labels,
                      const float* weights, int64_t n, double* value, float* grad)
{
    int st = lelp__check_handle(l, LELP__MAGIC_LOSS, "lelp_loss_compute", "loss");
    if (st) return st;
    if ((st = lelp__loss_inputs(l, U, T, labels, weights, n, value))) return st;
    const int64_t K = l->C * l->S;
    double norm = 1.0;
    if (l->reduction == LELP_REDUCTION_MEAN) {
        norm = 0.0;
        for (int64_t i = 0; i < n; i++) norm += weights ? (double)weights[i] : 1.0;
    }
    double total = 0.0;
    if (l->kind == LELP_LOSS_KIND_SUBCLASS_AUX && l->alpha < 1.0) {
        /* batch-coupled: the mean auxiliary loss and its gradient, scaled to
         * the reduction (a sum is n times the mean) */
        double aux = 0.0, scale = l->reduction == LELP_REDUCTION_SUM ? (double)n : 1.0;
        if ((st = lelp__subclass_aux(&l->mem, l->aux, U, n, K, l->aux_temperature, (1.0 - l->alpha) * scale, &aux,
                                     grad)))
            return st;
        total += (1.0 - l->alpha) * aux * scale * norm;
    } else if (l->kind == LELP_LOSS_KIND_KL && l->alpha == 0.0) {
        for (int64_t i0 = 0; i0 < n; i0 += l->chunk_rows) {
            int64_t r = n - i0 < l->chunk_rows ? n - i0 : l->chunk_rows;
            total += lelp__kl_chunk(l, U + i0 * K, T + i0 * K, weights ? weights + i0 : NULL, r, norm,
                                    grad ? grad + i0 * K : NULL);
        }
        *value = total / norm;
        if (!isfinite(*value)) return lelp__fail(LELP_E_NUMERICAL, "lelp_loss_compute: loss is not finite");
        return LELP_OK;
    } else if (grad) {
        for (int64_t i = 0; i < n * K; i++) grad[i] = 0.0f;
    }
    double* gd = l->row;
    for (int64_t i = 0; i < n; i++) {
        double wi = weights ? (double)weights[i] : 1.0;
        if (grad)
            for (int64_t k = 0; k < K; k++) gd[k] = 0.0;
        double li = lelp__loss_row(l, U + i * K, T ? T + i * K : NULL, labels ? labels[i] : 0, grad ? gd : NULL,
                                   wi / norm);
        if (grad)
            for (int64_t k = 0; k < K; k++) grad[i * K + k] = (float)((double)grad[i * K + k] + gd[k]);
        total += wi * li;
    }
    *value = total / norm;
    if (!isfinite(*value))
        return lelp__fail(LELP_E_NUMERICAL, "lelp_loss_compute: loss is not finite");
    return LELP_OK;
}
