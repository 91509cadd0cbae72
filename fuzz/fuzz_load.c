/* SPDX-License-Identifier: MIT */
/* fuzz_load.c -- arbitrary bytes into the model and builder-state loaders:
 * no crash, no over-read, only documented codes; what loads must work. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    /* copy into an exact-size heap block so ASan sees any over-read */
    uint8_t* buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    lelp_model* m = NULL;
    int st = lelp_model_load(&m, buf, size, NULL);
    FUZZ_CHECK(fuzz_documented(st));
    FUZZ_CHECK((st == LELP_OK) == (m != NULL));
    if (m) {
        int64_t d = 0, C = 0, S = 0;
        FUZZ_CHECK(lelp_model_get_int(m, LELP_MODEL_DIM, &d) == LELP_OK);
        FUZZ_CHECK(lelp_model_get_int(m, LELP_MODEL_NUM_CLASSES, &C) == LELP_OK);
        FUZZ_CHECK(lelp_model_get_int(m, LELP_MODEL_SUBCLASSES, &S) == LELP_OK);
        if (d * C * S <= 4096) {
            float* H = calloc((size_t)d, sizeof(float));
            float* T = calloc((size_t)(C * S), sizeof(float));
            int32_t y = 0;
            if (H && T) {
                st = lelp_model_targets_from_labels(m, H, &y, 1, d, 0.0, T);
                FUZZ_CHECK(fuzz_documented(st));
            }
            free(H);
            free(T);
        }
        lelp_model_free(m);
    }
    lelp_builder* b = NULL;
    st = lelp_builder_load(&b, buf, size, NULL);
    FUZZ_CHECK(fuzz_documented(st));
    FUZZ_CHECK((st == LELP_OK) == (b != NULL));
    if (b) {
        lelp_model* fm = NULL;
        st = lelp_builder_fit(b, &fm);
        FUZZ_CHECK(fuzz_documented(st));
        lelp_model_free(fm);
        lelp_builder_free(b);
    }
    free(buf);
    return 0;
}
