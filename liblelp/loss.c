/* loss.c -- the student loss and its gradient (SPEC section 1.3). BLAS-free
 * and allocation-free: every row is processed in three streaming passes. */
#include <float.h>
#include <math.h>

#include "internal.h"

int lelp_loss_create(lelp_loss** out, int64_t C, int64_t S, const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_loss_create: out is NULL");
    *out = NULL;
    if (C < 1 || S < 1 || C > INT64_C(16777216) || S > INT64_C(16777216) / C)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_loss_create: C = %lld and S = %lld must be >= 1 with C*S <= 2^24",
                          (long long)C, (long long)S);
    int st = lelp__check_allocator(alloc);
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
    *out = l;
    return LELP_OK;
}

void lelp_loss_free(lelp_loss* l)
{
    if (!l || l->magic != LELP__MAGIC_LOSS || l->self != l) return;
    lelp__mem mem = l->mem;
    l->magic = LELP__MAGIC_DEAD;
    lelp__free(&mem, l, sizeof *l);
}

int lelp_loss_set_int(lelp_loss* l, int param, int64_t value)
{
    int st = lelp__check_handle(l, LELP__MAGIC_LOSS, "loss");
    if (st) return st;
    if (param != LELP_LOSS_REDUCTION)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_loss_set_int: %d is not an integer loss parameter", param);
    if (value != LELP_REDUCTION_MEAN && value != LELP_REDUCTION_SUM)
        return lelp__fail(LELP_E_PARAM_RANGE, "lelp_loss_set_int: reduction %lld is not MEAN (0) or SUM (1)",
                          (long long)value);
    l->reduction = (int)value;
    return LELP_OK;
}

int lelp_loss_set_double(lelp_loss* l, int param, double value)
{
    int st = lelp__check_handle(l, LELP__MAGIC_LOSS, "loss");
    if (st) return st;
    if (param != LELP_LOSS_TAU && param != LELP_LOSS_ALPHA)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_loss_set_double: %d is not a real loss parameter", param);
    if ((st = lelp__param_check(param, value))) return st;
    if (param == LELP_LOSS_TAU) l->tau = value;
    else l->alpha = value;
    return LELP_OK;
}

int lelp_loss_get_int(const lelp_loss* l, int param, int64_t* value)
{
    int st = lelp__check_handle(l, LELP__MAGIC_LOSS, "loss");
    if (st) return st;
    if (!value) return lelp__fail(LELP_E_NULL, "lelp_loss_get_int: value is NULL");
    if (param != LELP_LOSS_REDUCTION)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_loss_get_int: %d is not an integer loss parameter", param);
    *value = l->reduction;
    return LELP_OK;
}

int lelp_loss_get_double(const lelp_loss* l, int param, double* value)
{
    int st = lelp__check_handle(l, LELP__MAGIC_LOSS, "loss");
    if (st) return st;
    if (!value) return lelp__fail(LELP_E_NULL, "lelp_loss_get_double: value is NULL");
    if (param == LELP_LOSS_TAU) *value = l->tau;
    else if (param == LELP_LOSS_ALPHA) *value = l->alpha;
    else return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_loss_get_double: %d is not a real loss parameter", param);
    return LELP_OK;
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
    if (l->alpha < 1.0 && !T) return lelp__fail(LELP_E_NULL, "lelp_loss_compute: T is NULL but alpha < 1");
    if (l->alpha > 0.0 && !y) return lelp__fail(LELP_E_NULL, "lelp_loss_compute: labels is NULL but alpha > 0");
    int st = lelp__check_finite_f32(U, n, K, "U");
    if (st) return st;
    if (l->alpha > 0.0 && (st = lelp__check_labels(y, n, l->C, "labels"))) return st;
    if (l->alpha < 1.0) {
        if ((st = lelp__check_finite_f32(T, n, K, "T"))) return st;
        for (int64_t i = 0; i < n; i++) {
            double sum = 0.0;
            for (int64_t k = 0; k < K; k++) {
                if (T[i * K + k] < 0.0f)
                    return lelp__fail(LELP_E_INVALID_TARGETS, "lelp_loss_compute: T has a negative entry at row %lld",
                                      (long long)i);
                sum += T[i * K + k];
            }
            if (fabs(sum - 1.0) > 1e-3)
                return lelp__fail(LELP_E_INVALID_TARGETS, "lelp_loss_compute: T row %lld sums to %.9g, not 1",
                                  (long long)i, sum);
        }
    }
    if (w) {
        if ((st = lelp__check_finite_f32(w, n, 1, "weights"))) return st;
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

/* Rows up to this width keep their exponentials on the stack between the
 * value and gradient passes; wider rows recompute them (no allocation). */
#define LELP__LOSS_STACK 512

/* sum_k exp(a*u_k - m) with m = max a*u; stores the terms in e when e != NULL. */
static double lelp__row_expsum(const float* u, int64_t K, double a, double* m_out, double* e)
{
    double m = -INFINITY;
    for (int64_t k = 0; k < K; k++) {
        double v = a * (double)u[k];
        m = v > m ? v : m;
    }
    double z = 0.0;
    if (e) {
        for (int64_t k = 0; k < K; k++) {
            e[k] = exp(a * (double)u[k] - m);
            z += e[k];
        }
    } else {
        for (int64_t k = 0; k < K; k++) z += exp(a * (double)u[k] - m);
    }
    *m_out = m;
    return z;
}

/* tau^2 * KL(t || softmax(u/tau)) of one row. sum t log t is evaluated on
 * max(t, DBL_MIN) so zero targets add exactly 0 without a branch. */
static double lelp__row_kl(const float* u, const float* t, int64_t K, double tau, double lse)
{
    double tlogt = 0.0, tu = 0.0, tsum = 0.0;
    for (int64_t k = 0; k < K; k++) {
        double tk = (double)t[k];
        tlogt += tk * log(tk > DBL_MIN ? tk : DBL_MIN);
        tu += tk * (double)u[k];
        tsum += tk;
    }
    return tau * tau * (tlogt - tu / tau + lse * tsum);
}

/* One row: returns its loss; writes the gradient times gscale into g
 * when g != NULL. */
static double lelp__loss_row(const lelp_loss* l, const float* u, const float* t, int32_t y, float* g,
                             double gscale)
{
    const int64_t S = l->S, K = l->C * S;
    const double tau = l->tau, alpha = l->alpha;
    double eq[LELP__LOSS_STACK], ep[LELP__LOSS_STACK];
    const int keep = g && K <= LELP__LOSS_STACK;
    double loss = 0.0, mt = 0.0, zt = 1.0, m1 = 0.0, z1 = 1.0, lse_y = 0.0;
    if (alpha < 1.0) {
        zt = lelp__row_expsum(u, K, 1.0 / tau, &mt, keep ? eq : NULL);
        loss += (1.0 - alpha) * lelp__row_kl(u, t, K, tau, mt + log(zt));
    }
    if (alpha > 0.0) {
        z1 = lelp__row_expsum(u, K, 1.0, &m1, keep ? ep : NULL);
        lse_y = lelp__lse_f32(u + (int64_t)y * S, S, 1.0);
        loss += alpha * (m1 + log(z1) - lse_y);
    }
    if (!g) return loss;
    const double a_kd = (1.0 - alpha) * tau * gscale, a_ce = alpha * gscale;
    const int64_t y0 = (int64_t)y * S;
    if (keep) {
        /* gradient in double in eq, cast once */
        for (int64_t k = 0; k < K; k++) {
            double gk = 0.0;
            if (alpha < 1.0) gk += a_kd * (eq[k] / zt - (double)t[k]);
            if (alpha > 0.0) gk += a_ce * ep[k] / z1;
            eq[k] = gk;
        }
        if (alpha > 0.0)
            for (int64_t s = 0; s < S; s++) eq[y0 + s] -= a_ce * exp((double)u[y0 + s] - lse_y);
        for (int64_t k = 0; k < K; k++) g[k] = (float)eq[k];
        return loss;
    }
    for (int64_t k = 0; k < K; k++) {
        double gk = 0.0;
        if (alpha < 1.0) gk += a_kd * (exp((double)u[k] / tau - mt) / zt - (double)t[k]);
        if (alpha > 0.0) {
            gk += a_ce * exp((double)u[k] - m1) / z1;
            if (k >= y0 && k < y0 + S) gk -= a_ce * exp((double)u[k] - lse_y);
        }
        g[k] = (float)gk;
    }
    return loss;
}

int lelp_loss_compute(const lelp_loss* l, const float* U, const float* T, const int32_t* labels,
                      const float* weights, int64_t n, double* value, float* grad)
{
    int st = lelp__check_handle(l, LELP__MAGIC_LOSS, "loss");
    if (st) return st;
    if ((st = lelp__loss_inputs(l, U, T, labels, weights, n, value))) return st;
    const int64_t K = l->C * l->S;
    double norm = 1.0;
    if (l->reduction == LELP_REDUCTION_MEAN) {
        norm = 0.0;
        for (int64_t i = 0; i < n; i++) norm += weights ? (double)weights[i] : 1.0;
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double wi = weights ? (double)weights[i] : 1.0;
        double li = lelp__loss_row(l, U + i * K, T ? T + i * K : NULL, labels ? labels[i] : 0,
                                   grad ? grad + i * K : NULL, wi / norm);
        total += wi * li;
    }
    *value = total / norm;
    if (!isfinite(*value))
        return lelp__fail(LELP_E_NUMERICAL, "lelp_loss_compute: loss is not finite");
    return LELP_OK;
}
