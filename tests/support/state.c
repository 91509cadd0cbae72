/* SPDX-License-Identifier: MIT */
/* state.c -- serialized builder states and models for the cmocka tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "expect.h"
#include "lelp.h"
#include "state.h"

unsigned char* builder_bytes(const lelp_builder* b, size_t* size)
{
    EXPECT_OK(lelp_builder_serialized_size(b, size));
    unsigned char* buf = malloc(*size);
    assert_non_null(buf);
    size_t written = 0;
    EXPECT_OK(lelp_builder_serialize(b, buf, *size, &written));
    assert_int_equal(written, *size);
    return buf;
}

unsigned char* model_bytes(const lelp_model* m, size_t* size)
{
    EXPECT_OK(lelp_model_serialized_size(m, size));
    unsigned char* buf = malloc(*size);
    assert_non_null(buf);
    size_t written = 0;
    EXPECT_OK(lelp_model_serialize(m, buf, *size, &written));
    assert_int_equal(written, *size);
    return buf;
}
