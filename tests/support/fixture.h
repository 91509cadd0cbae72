/* SPDX-License-Identifier: MIT */
/* fixture.h -- reader of the .lfx known-answer fixtures written by
 * tests/reference/gen_fixtures.py (format in tests/reference/README.md). */
#ifndef LELP_TEST_FIXTURE_H
#define LELP_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fx_array {
    char name[64];
    int dtype; /* 0 f32, 1 f64, 2 i32, 3 i64 */
    int ndim;
    uint64_t dims[8];
    uint64_t count;
    void* data;
} fx_array;

typedef struct fx_file {
    int n;
    fx_array* arrays;
} fx_file;

/* Loads tests/fixtures/<name>.lfx (or $LELP_FIXTURE_DIR/<name>.lfx); NULL on error. */
fx_file* fx_load(const char* name);
void fx_free(fx_file* f);
/* The array called `name`, or NULL. */
const fx_array* fx_get(const fx_file* f, const char* name);
const float* fx_f32(const fx_file* f, const char* name, uint64_t* count);
const double* fx_f64(const fx_file* f, const char* name, uint64_t* count);
const int32_t* fx_i32(const fx_file* f, const char* name, uint64_t* count);
const int64_t* fx_i64(const fx_file* f, const char* name, uint64_t* count);

#endif
