/* SPDX-License-Identifier: MIT */
/* fuzz_api.c -- random sequences of setters, update, merge, fit, targets,
 * loss and prediction with fuzz-chosen arguments (including wrong sizes,
 * NULLs and non-finite values): only documented status codes may come back,
 * and nothing may crash or leak. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

enum { MAXN = 24, MAXD = 6, MAXC = 3, MAXS = 3 };

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz_src s = {data, size};
    static float H[MAXN * MAXD], W[MAXC * MAXD], Z[MAXN * MAXC], T[MAXN * MAXC * MAXS],
        U[MAXN * MAXC * MAXS], G[MAXN * MAXC * MAXS], w[MAXN];
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
        switch (fuzz_u32(&s, 0, 14)) {
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
            }
            break;
        case 13:
            st = lelp_compressor_compress(comp, H, n, U);
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
