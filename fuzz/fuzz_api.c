/* SPDX-License-Identifier: MIT */
/* fuzz_api.c -- random sequences of calls over all four handle kinds
 * (builder, model, loss, compressor): setters, update, merge, fit, targets,
 * projections, loss, prediction, compressor steps, save and load of every
 * kind, limits, and outputs that alias inputs, with fuzz-chosen arguments
 * (including wrong sizes, NULLs and non-finite values). Only documented
 * status codes may come back, nothing may crash or leak, an overlapping
 * output is always refused, a successful compressor step leaves finite
 * weights, and every saved object loads back to the same bytes. */
#include <math.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

enum { MAXN = 24, MAXD = 6, MAXC = 3, MAXS = 3 };

/* Saves an object, loads it back and saves again: same bytes (apart from
 * the writer's version field); the loaded copy replaces the original when
 * `swap` (so later calls run on a loaded object). */
#define ROUNDTRIP(type, obj, swap)                                                                   \
    do {                                                                                             \
        size_t n1 = 0, n2 = 0;                                                                       \
        if (!(obj) || lelp_##type##_serialized_size(obj, &n1) != LELP_OK) break;                     \
        uint8_t* b1 = malloc(n1);                                                                    \
        uint8_t* b2 = malloc(n1);                                                                    \
        FUZZ_CHECK(b1 && b2 && lelp_##type##_serialize(obj, b1, n1, &n1) == LELP_OK);               \
        lelp_##type* back = NULL;                                                                    \
        FUZZ_CHECK(lelp_##type##_load(&back, b1, n1, NULL) == LELP_OK);                             \
        FUZZ_CHECK(lelp_##type##_serialize(back, b2, n1, &n2) == LELP_OK && n2 == n1);               \
        FUZZ_CHECK(memcmp(b1, b2, n1) == 0);                                                          \
        if (swap) {                                                                                  \
            lelp_##type##_free(obj);                                                                 \
            (obj) = back;                                                                            \
        } else {                                                                                     \
            lelp_##type##_free(back);                                                                \
        }                                                                                            \
        free(b1);                                                                                    \
        free(b2);                                                                                    \
    } while (0)

/* Calls whose output overlaps an input: always LELP_E_INVALID_ARG (or an
 * argument error found before the overlap check). */
static int alias_call(fuzz_src* s, const lelp_loss* l, const lelp_model* m, const lelp_compressor* comp, float* X,
                      int32_t* y, int64_t n, int64_t d, int64_t C, int64_t S)
{
    const int64_t off = (int64_t)fuzz_u32(s, 0, 3) % n; /* < n: every pair below overlaps */
    double v = 0.0;
    switch (fuzz_u32(s, 0, 7)) {
    case 0: return lelp_loss_compute(l, X, NULL, y, NULL, n, &v, X + off);
    case 1: return m ? lelp_model_targets_from_logits(m, X, X + n * d, n, d, 1.0, X + off) : LELP_E_INVALID_ARG;
    case 2: return m ? lelp_model_project(m, X, n, d, X + off) : LELP_E_INVALID_ARG;
    case 3: return m ? lelp_model_assign(m, X, y, n, d, y + off) : LELP_E_INVALID_ARG;
    case 4: return lelp_predict_log_proba(X, n, C, S, X + off);
    case 5: return lelp_softmax_targets(X, n, C, 1.0, X + off);
    case 6: return lelp_compressor_compress(comp, X, n, X + off);
    default: return lelp_compressor_student_loss(comp, X, X + off, n, &v, X);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz_src s = {data, size};
    static float H[MAXN * MAXD], W[MAXC * MAXD], Z[MAXN * MAXC], T[MAXN * MAXC * MAXS],
        U[MAXN * MAXC * MAXS], G[MAXN * MAXC * MAXS], w[MAXN], X[4 * MAXN * MAXC * MAXS * MAXD];
    static int32_t y[MAXN], out[MAXN];
    int64_t d = fuzz_u32(&s, 1, MAXD), C = fuzz_u32(&s, 1, MAXC), S = fuzz_u32(&s, 1, MAXS);
    if (S > d) S = d;
    lelp_builder *b = NULL, *b2 = NULL;
    lelp_model* m = NULL;
    lelp_loss* l = NULL;
    lelp_compressor* comp = NULL;
    int st = lelp_builder_create(&b, d, C, S, NULL);
    FUZZ_CHECK(st == LELP_OK);
    FUZZ_CHECK(lelp_builder_create(&b2, d, C, S, NULL) == LELP_OK);
    FUZZ_CHECK(lelp_loss_create(&l, C, S, NULL) == LELP_OK);
    FUZZ_CHECK(lelp_compressor_create(&comp, d, 2, C, NULL) == LELP_OK);
    for (int step = 0; step < 32 && s.n > 0; step++) {
        int64_t n = fuzz_u32(&s, 0, MAXN);
        int64_t dd = fuzz_u32(&s, 0, 7) == 0 ? (int64_t)fuzz_u32(&s, 0, MAXD) : d;
        if (dd > MAXD) dd = MAXD;
        for (int64_t i = 0; i < n * dd; i++) H[i] = fuzz_float(&s);
        for (int64_t i = 0; i < n; i++) y[i] = (int32_t)fuzz_u32(&s, 0, (uint32_t)C) - (fuzz_u32(&s, 0, 31) == 0);
        switch (fuzz_u32(&s, 0, 20)) {
        case 0: st = lelp_builder_update(b, H, y, n, dd); break;
        case 1: st = lelp_builder_update(b2, H, y, n, dd); break;
        case 2: st = lelp_builder_merge(b, b2); break;
        case 3:
            for (int64_t i = 0; i < C * d; i++) W[i] = fuzz_float(&s);
            st = lelp_builder_set_head(b, W, C, dd);
            break;
        case 4: st = lelp_builder_set_int(b, (int)fuzz_u32(&s, 100, 110), (int64_t)fuzz_u32(&s, 0, 12) - 1); break;
        case 5: st = lelp_builder_set_double(b, (int)fuzz_u32(&s, 100, 110), (double)fuzz_float(&s)); break;
        case 6:
            lelp_model_free(m);
            m = NULL;
            st = lelp_builder_fit(b, &m);
            FUZZ_CHECK((st == LELP_OK) == (m != NULL));
            break;
        case 7:
            for (int64_t i = 0; i < n * C; i++) Z[i] = fuzz_float(&s);
            st = m ? lelp_model_targets_from_logits(m, H, Z, n, dd, (double)fuzz_u32(&s, 0, 300) / 10.0, T) : 0;
            break;
        case 8: st = m ? lelp_model_assign(m, H, y, n, dd, out) : 0; break;
        case 9:
            for (int64_t i = 0; i < n * C * S; i++) {
                U[i] = fuzz_float(&s);
                T[i] = 1.0f / (float)(C * S);
            }
            for (int64_t i = 0; i < n; i++) w[i] = fuzz_float(&s);
            lelp_loss_set_double(l, LELP_LOSS_TAU, (double)fuzz_u32(&s, 0, 1000) / 10.0);
            lelp_loss_set_double(l, LELP_LOSS_ALPHA, (double)fuzz_u32(&s, 0, 12) / 10.0);
            lelp_loss_set_int(l, LELP_LOSS_REDUCTION, fuzz_u32(&s, 0, 2));
            lelp_loss_set_int(l, LELP_LOSS_KIND, fuzz_u32(&s, 0, 3));
            lelp_loss_set_double(l, LELP_LOSS_AUX_TEMPERATURE, (double)fuzz_u32(&s, 0, 200) / 10.0);
            {
                double v = 0.0;
                st = lelp_loss_compute(l, U, T, y, fuzz_u32(&s, 0, 1) ? w : NULL, n, &v, G);
            }
            break;
        case 10: st = lelp_predict_log_proba(U, n, C, S, T); break;
        case 12:
            lelp_compressor_set_int(comp, (int)fuzz_u32(&s, 400, 410), (int64_t)fuzz_u32(&s, 0, 3));
            lelp_compressor_set_double(comp, (int)fuzz_u32(&s, 400, 410), (double)fuzz_float(&s));
            {
                double v = 0.0;
                for (int64_t i = 0; i < n * C; i++) Z[i] = (float)fuzz_u32(&s, 0, 1);
                st = lelp_compressor_step(comp, H, fuzz_u32(&s, 0, 1) ? y : NULL, fuzz_u32(&s, 0, 1) ? Z : NULL, n, &v);
                float A[MAXD * 2], a[2], Wc[MAXC * 2], bc[MAXC];
                FUZZ_CHECK(lelp_compressor_weights(comp, A, a, Wc, bc) == LELP_OK);
                for (int64_t i = 0; i < 2 * d; i++) FUZZ_CHECK(isfinite(A[i])); /* a step never leaves Inf */
                for (int64_t i = 0; i < 2 * C; i++) FUZZ_CHECK(isfinite(Wc[i]));
            }
            break;
        case 14: ROUNDTRIP(builder, b, fuzz_u32(&s, 0, 1)); break;
        case 15: ROUNDTRIP(model, m, fuzz_u32(&s, 0, 1)); break;
        case 16: ROUNDTRIP(compressor, comp, fuzz_u32(&s, 0, 1)); break;
        case 17: {
            /* an output overlapping an input, by 0..3 elements */
            const int64_t nn = n ? n : 1;
            for (int64_t i = 0; i < (int64_t)(sizeof X / sizeof X[0]); i++) X[i] = 0.25f;
            st = alias_call(&s, l, m, comp, X, y, nn, d, C, S);
            FUZZ_CHECK(st != LELP_OK);
            break;
        }
        case 18:
            if (m) {
                double v = 0.0;
                lelp_model* m2 = NULL;
                st = lelp_model_project(m, H, n, dd, U);
                if (st == LELP_OK) st = lelp_model_mean_entropy(m, H, y, n, dd, 0.5 + fuzz_u32(&s, 0, 10), &v);
                if (st == LELP_OK && (st = lelp_model_with_beta(m, (double)fuzz_float(&s), &m2)) == LELP_OK) {
                    lelp_model_free(m);
                    m = m2;
                }
            }
            break;
        case 19: {
            /* a loader budget from nothing to plenty, then a save and load */
            const int64_t lim = fuzz_u32(&s, 0, 3) == 0 ? 0 : (int64_t)fuzz_u32(&s, 0, 1u << 24);
            FUZZ_CHECK(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, lim) == LELP_OK);
            size_t nb = 0;
            if (lelp_builder_serialized_size(b, &nb) == LELP_OK) {
                uint8_t* buf = malloc(nb);
                lelp_builder* back = NULL;
                FUZZ_CHECK(buf && lelp_builder_serialize(b, buf, nb, &nb) == LELP_OK);
                st = lelp_builder_load(&back, buf, nb, NULL);
                FUZZ_CHECK(st == LELP_OK || st == LELP_E_NOMEM);
                lelp_builder_free(back);
                free(buf);
            }
            FUZZ_CHECK(lelp_limit_set(LELP_LIMIT_LOAD_BYTES, INT64_C(1) << 30) == LELP_OK);
            break;
        }
        case 13:
            st = lelp_compressor_compress(comp, H, n, U);
            for (int64_t i = 0; st == LELP_OK && i < n * 2; i++) FUZZ_CHECK(isfinite(U[i]));
            if (st == LELP_OK) {
                double v = 0.0;
                st = lelp_compressor_student_loss(comp, U, H, n, &v, fuzz_u32(&s, 0, 1) ? G : NULL);
            }
            break;
        default:
            st = m ? lelp_model_estimate_beta(m, H, y, n, dd, (double)fuzz_u32(&s, 0, 100) / 100.0, (double[]){0}) : 0;
            break;
        }
        FUZZ_CHECK(fuzz_documented(st));
        FUZZ_CHECK(lelp_last_error() != NULL && lelp_status_string(st) != NULL);
    }
    lelp_model_free(m);
    lelp_builder_free(b);
    lelp_builder_free(b2);
    lelp_loss_free(l);
    lelp_compressor_free(comp);
    return 0;
}
