/* SPDX-License-Identifier: MIT */
/* predict.c -- class predictions from S*C student logits and plain KD
 * targets. BLAS-free: an edge stack can link this file with softmax.c,
 * validate.c, status.c and alloc.c alone. */
#include <math.h>

#include "train.h"

static int lelp__check_logits(const float* U, const char* name, int64_t n, int64_t C, int64_t S,
                              const void* out, const char* what)
{
    if (!U) return lelp__fail(LELP_E_NULL, "%s: %s is NULL", what, name);
    if (!out) return lelp__fail(LELP_E_NULL, "%s: out is NULL", what);
    if (n < 0 || C < 1 || S < 1)
        return lelp__fail(LELP_E_INVALID_ARG, "%s: n = %lld, C = %lld, S = %lld invalid", what, (long long)n,
                          (long long)C, (long long)S);
    /* C*S on its own first: with n = 0 the products below would not catch it */
    if (C > INT32_MAX || lelp__bytes(C, S, sizeof(float)) == SIZE_MAX || lelp__bytes(n, C, sizeof(float)) == SIZE_MAX ||
        lelp__bytes(n * C, S, sizeof(float)) == SIZE_MAX)
        return lelp__fail(LELP_E_INVALID_ARG, "%s: C = %lld, S = %lld: C*S or n*C*S overflows", what, (long long)C,
                          (long long)S);
    return lelp__check_finite_f32(U, n, C * S, what, name);
}

int lelp_predict_log_proba(const float* U, int64_t n, int64_t C, int64_t S, float* out)
{
    int st = lelp__check_logits(U, "U", n, C, S, out, "lelp_predict_log_proba");
    if (st) return st;
    for (int64_t i = 0; i < n; i++) {
        const float* u = U + i * C * S;
        double all = lelp__lse_f32(u, C * S, 1.0);
        for (int64_t c = 0; c < C; c++) out[i * C + c] = (float)(lelp__lse_f32(u + c * S, S, 1.0) - all);
    }
    return LELP_OK;
}

int lelp_predict_class(const float* U, int64_t n, int64_t C, int64_t S, int32_t* out)
{
    int st = lelp__check_logits(U, "U", n, C, S, out, "lelp_predict_class");
    if (st) return st;
    for (int64_t i = 0; i < n; i++) {
        const float* u = U + i * C * S;
        int32_t best = 0;
        double best_v = lelp__lse_f32(u, S, 1.0);
        for (int64_t c = 1; c < C; c++) {
            double v = lelp__lse_f32(u + c * S, S, 1.0);
            if (v > best_v) {
                best_v = v;
                best = (int32_t)c;
            }
        }
        out[i] = best;
    }
    return LELP_OK;
}

int lelp_softmax_targets(const float* Z, int64_t n, int64_t C, double tau, float* out)
{
    int st = lelp__check_logits(Z, "Z", n, C, 1, out, "lelp_softmax_targets");
    if (st) return st;
    if (!(tau >= 0.01 && tau <= 100.0))
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_softmax_targets: tau = %g outside [0.01, 100]", tau);
    for (int64_t i = 0; i < n; i++) {
        const float* z = Z + i * C;
        double lse = lelp__lse_f32(z, C, 1.0 / tau);
        for (int64_t c = 0; c < C; c++) out[i * C + c] = (float)exp((double)z[c] / tau - lse);
    }
    return LELP_OK;
}
