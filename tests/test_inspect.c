/* SPDX-License-Identifier: MIT */
/* test_inspect.c -- introspection (lelp_inspect, lelp_*_inspect,
 * lelp_info_get_*): every kind reports what it is, its format and writer
 * versions, dimensions and settings, for a live handle and for its bytes;
 * a buffer's writer version is the one in its envelope, not this
 * library's; foreign, truncated and corrupt buffers get the loaders'
 * codes; the getters refuse keys of another kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "lelp.h"
#include "expect.h"

static int64_t get_int(const lelp_info* info, int key)
{
    int64_t v = -12345;
    EXPECT_OK(lelp_info_get_int(info, key, &v));
    return v;
}

static double get_double(const lelp_info* info, int key)
{
    double v = -12345.0;
    EXPECT_OK(lelp_info_get_double(info, key, &v));
    return v;
}

static void check_common(const lelp_info* info, int kind, int64_t format, int64_t writer, int64_t d, int64_t C,
                         int64_t S, int64_t k)
{
    assert_int_equal(get_int(info, LELP_INFO_KIND), kind);
    assert_int_equal(get_int(info, LELP_INFO_FORMAT_VERSION), format);
    assert_int_equal(get_int(info, LELP_INFO_WRITER_VERSION), writer);
    assert_int_equal(get_int(info, LELP_INFO_DIM), d);
    assert_int_equal(get_int(info, LELP_INFO_NUM_CLASSES), C);
    assert_int_equal(get_int(info, LELP_INFO_SUBCLASSES), S);
    assert_int_equal(get_int(info, LELP_INFO_STUDENT_DIM), k);
}

/* the serialized bytes of a builder (*size bytes, caller frees) */
static unsigned char* builder_bytes(const lelp_builder* b, size_t* size)
{
    EXPECT_OK(lelp_builder_serialized_size(b, size));
    unsigned char* buf = malloc(*size);
    assert_non_null(buf);
    EXPECT_OK(lelp_builder_serialize(b, buf, *size, NULL));
    return buf;
}

static void test_builder_and_model(void** s)
{
    (void)s;
    enum { D = 6, C = 3, S = 2, N = 60 };
    float H[N * D];
    int32_t y[N];
    for (int i = 0; i < N * D; i++) H[i] = (float)((i * 7919) % 101) / 17.0f - 3.0f;
    for (int i = 0; i < N; i++) y[i] = i % C;
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, 77));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, 0.25));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_BETA_SAMPLE, 16));
    EXPECT_OK(lelp_builder_update(b, H, y, N, D));

    lelp_info* info = NULL;
    EXPECT_OK(lelp_builder_inspect(b, &info));
    check_common(info, LELP_KIND_BUILDER, 3, LELP_VERSION_NUMBER, D, C, S, 0);
    assert_int_equal(get_int(info, LELP_BUILDER_SEED), 77);
    assert_int_equal(get_int(info, LELP_BUILDER_BETA_SAMPLE), 16);
    assert_true(get_double(info, LELP_BUILDER_ENTROPY_FRACTION) == 0.25);
    /* keys of another kind, or of the other type, are refused */
    int64_t v = 0;
    double x = 0.0;
    EXPECT_STATUS(lelp_info_get_int(info, LELP_MODEL_HEAD_RANK, &v), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_info_get_double(info, LELP_BUILDER_SEED, &x), LELP_E_PARAM_UNSUPPORTED);
    EXPECT_STATUS(lelp_info_get_int(info, LELP_INFO_KIND, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_info_get_int(NULL, LELP_INFO_KIND, &v), LELP_E_NULL);
    assert_non_null(strstr(lelp_last_error(), "lelp_info_get_int"));
    EXPECT_STATUS(lelp_info_get_int((const lelp_info*)(const void*)b, LELP_INFO_KIND, &v), LELP_E_INVALID_HANDLE);
    lelp_info_free(info);

    /* the bytes say the same; an older writer's version is reported as written */
    size_t size = 0;
    unsigned char* buf = builder_bytes(b, &size);
    wr32(buf + 16, 901); /* writer 0.9.1 */
    reseal(buf, size);
    info = NULL;
    EXPECT_OK(lelp_inspect(&info, buf, size, NULL));
    check_common(info, LELP_KIND_BUILDER, 3, 901, D, C, S, 0);
    assert_int_equal(get_int(info, LELP_BUILDER_SEED), 77);
    lelp_info_free(info);
    /* and so does the handle loaded from them */
    lelp_builder* loaded = NULL;
    EXPECT_OK(lelp_builder_load(&loaded, buf, size, NULL));
    info = NULL;
    EXPECT_OK(lelp_builder_inspect(loaded, &info));
    assert_int_equal(get_int(info, LELP_INFO_WRITER_VERSION), 901);
    lelp_info_free(info);
    lelp_builder_free(loaded);

    /* refused as the loader refuses them: corrupt, truncated, foreign */
    buf[200] ^= 1;
    info = (lelp_info*)(void*)buf;
    EXPECT_STATUS(lelp_inspect(&info, buf, size, NULL), LELP_E_CHECKSUM);
    assert_null(info);
    assert_non_null(strstr(lelp_last_error(), "lelp_builder_load"));
    buf[200] ^= 1;
    EXPECT_STATUS(lelp_inspect(&info, buf, size - 1, NULL), LELP_E_TRUNCATED);
    EXPECT_STATUS(lelp_inspect(&info, buf, 7, NULL), LELP_E_TRUNCATED);
    memcpy(buf, "LELPXXXX", 8);
    EXPECT_STATUS(lelp_inspect(&info, buf, size, NULL), LELP_E_FORMAT);
    assert_non_null(strstr(lelp_last_error(), "lelp_inspect"));
    EXPECT_STATUS(lelp_inspect(NULL, buf, size, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_inspect(&info, NULL, size, NULL), LELP_E_NULL);
    free(buf);

    /* a fitted model */
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_fit(b, &m));
    EXPECT_OK(lelp_model_inspect(m, &info));
    check_common(info, LELP_KIND_MODEL, 1, LELP_VERSION_NUMBER, D, C, S, 0);
    assert_int_equal(get_int(info, LELP_MODEL_SEED), 77);
    assert_int_equal(get_int(info, LELP_MODEL_AUTO_BETA), 1);
    double beta = 0.0;
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    assert_true(get_double(info, LELP_MODEL_BETA) == beta);
    lelp_info_free(info);
    EXPECT_OK(lelp_model_serialized_size(m, &size));
    buf = malloc(size);
    EXPECT_OK(lelp_model_serialize(m, buf, size, NULL));
    info = NULL;
    EXPECT_OK(lelp_inspect(&info, buf, size, NULL));
    check_common(info, LELP_KIND_MODEL, 1, LELP_VERSION_NUMBER, D, C, S, 0);
    lelp_info_free(info);
    /* through a file */
    char path[] = "/tmp/lelp_inspect_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    EXPECT_OK(lelp_model_save_path(m, path));
    info = NULL;
    EXPECT_OK(lelp_inspect_path(&info, path, NULL));
    check_common(info, LELP_KIND_MODEL, 1, LELP_VERSION_NUMBER, D, C, S, 0);
    lelp_info_free(info);
    remove(path);
    EXPECT_STATUS(lelp_inspect_path(&info, path, NULL), LELP_E_IO);
    EXPECT_STATUS(lelp_inspect_path(&info, NULL, NULL), LELP_E_NULL);
    free(buf);
    EXPECT_STATUS(lelp_model_inspect(NULL, &info), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_inspect(m, NULL), LELP_E_NULL);
    EXPECT_STATUS(lelp_model_inspect((const lelp_model*)(const void*)b, &info), LELP_E_INVALID_HANDLE);
    lelp_model_free(m);
    lelp_builder_free(b);
    lelp_info_free(NULL);
}

static void test_compressor_and_loss(void** s)
{
    (void)s;
    lelp_compressor* c = NULL;
    EXPECT_OK(lelp_compressor_create(&c, 12, 5, 4, NULL));
    EXPECT_OK(lelp_compressor_set_double(c, LELP_COMPRESSOR_LR, 0.5));
    EXPECT_OK(lelp_compressor_set_int(c, LELP_COMPRESSOR_DISTANCE, LELP_DISTANCE_COSINE));
    lelp_info* info = NULL;
    EXPECT_OK(lelp_compressor_inspect(c, &info));
    check_common(info, LELP_KIND_COMPRESSOR, 1, LELP_VERSION_NUMBER, 12, 4, 0, 5);
    assert_true(get_double(info, LELP_COMPRESSOR_LR) == 0.5);
    assert_int_equal(get_int(info, LELP_COMPRESSOR_DISTANCE), LELP_DISTANCE_COSINE);
    lelp_info_free(info);
    size_t size = 0;
    EXPECT_OK(lelp_compressor_serialized_size(c, &size));
    unsigned char* buf = malloc(size);
    EXPECT_OK(lelp_compressor_serialize(c, buf, size, NULL));
    info = NULL;
    EXPECT_OK(lelp_inspect(&info, buf, size, NULL));
    check_common(info, LELP_KIND_COMPRESSOR, 1, LELP_VERSION_NUMBER, 12, 4, 0, 5);
    assert_true(get_double(info, LELP_COMPRESSOR_LR) == 0.5);
    lelp_info_free(info);
    free(buf);
    lelp_compressor_free(c);

    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, 3, 4, NULL));
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 2.5));
    info = NULL;
    EXPECT_OK(lelp_loss_inspect(l, &info));
    check_common(info, LELP_KIND_LOSS, 0, LELP_VERSION_NUMBER, 0, 3, 4, 0);
    assert_true(get_double(info, LELP_LOSS_TAU) == 2.5);
    assert_int_equal(get_int(info, LELP_LOSS_KIND), LELP_LOSS_KIND_KL);
    lelp_info_free(info);
    lelp_loss_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_and_model),
        cmocka_unit_test(test_compressor_and_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
