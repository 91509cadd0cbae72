/* SPDX-License-Identifier: MIT */
/* fuzz_roundtrip.c -- build from small fuzz-derived data, save, load, save:
 * the bytes must be identical and the targets bit-identical. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int save(const lelp_model* m, uint8_t** out, size_t* n)
{
    if (lelp_model_serialized_size(m, n) != LELP_OK) return -1;
    *out = malloc(*n);
    if (!*out) return -1;
    return lelp_model_serialize(m, *out, *n, n);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz_src s = {data, size};
    int64_t d = fuzz_u32(&s, 1, 8), C = fuzz_u32(&s, 1, 3), S = fuzz_u32(&s, 1, (uint32_t)d);
    int64_t n = fuzz_u32(&s, 0, 40);
    float* H = malloc(sizeof(float) * (size_t)(n * d + 1));
    int32_t* y = malloc(sizeof(int32_t) * (size_t)(n + 1));
    float* T1 = malloc(sizeof(float) * (size_t)(n * C * S + 1));
    float* T2 = malloc(sizeof(float) * (size_t)(n * C * S + 1));
    lelp_builder* b = NULL;
    lelp_model *m = NULL, *m2 = NULL;
    uint8_t *buf1 = NULL, *buf2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (!H || !y || !T1 || !T2) goto done;
    for (int64_t i = 0; i < n * d; i++) H[i] = fuzz_float(&s);
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)fuzz_u32(&s, 0, (uint32_t)C - 1);
    if (lelp_builder_create(&b, d, C, S, NULL) != LELP_OK) goto done;
    lelp_builder_set_int(b, LELP_BUILDER_ROTATE, fuzz_u32(&s, 0, 1));
    lelp_builder_set_int(b, LELP_BUILDER_SEED, fuzz_u32(&s, 0, 1000));
    lelp_builder_set_int(b, LELP_BUILDER_LABELLER, fuzz_u32(&s, 0, 1)); /* also the k-means fit and its file */
    int st = lelp_builder_update(b, H, y, n, d);
    FUZZ_CHECK(fuzz_documented(st));
    st = lelp_builder_fit(b, &m);
    FUZZ_CHECK(fuzz_documented(st));
    if (st != LELP_OK) goto done;
    FUZZ_CHECK(save(m, &buf1, &n1) == LELP_OK);
    FUZZ_CHECK(lelp_model_load(&m2, buf1, n1, NULL) == LELP_OK);
    FUZZ_CHECK(save(m2, &buf2, &n2) == LELP_OK);
    FUZZ_CHECK(n1 == n2 && memcmp(buf1, buf2, n1) == 0);
    int st1 = lelp_model_targets_from_labels(m, H, y, n, d, 0.0, T1);
    int st2 = lelp_model_targets_from_labels(m2, H, y, n, d, 0.0, T2);
    FUZZ_CHECK(st1 == st2 && fuzz_documented(st1));
    if (st1 == LELP_OK) FUZZ_CHECK(memcmp(T1, T2, sizeof(float) * (size_t)(n * C * S)) == 0);
done:
    lelp_model_free(m);
    lelp_model_free(m2);
    lelp_builder_free(b);
    free(buf1);
    free(buf2);
    free(H);
    free(y);
    free(T1);
    free(T2);
    return 0;
}
