/* SPDX-License-Identifier: MIT */
/* validate.c -- argument checks shared by the entry points. */
#include <math.h>
#include <string.h>

#include "common.h"

int lelp__check_handle(const void* h, uint64_t magic, const char* fn, const char* what)
{
    if (!h) return lelp__fail(LELP_E_NULL, "%s: %s is NULL", fn, what);
    /* The magic and self-address live in the first 16 bytes of every handle
     * type, so reading them is valid for any liblelp handle. */
    const struct { uint64_t magic; const void* self; }* head = h;
    if (head->magic != magic || head->self != h)
        return lelp__fail(LELP_E_INVALID_HANDLE, "%s: %s is not a live handle of the expected type", fn, what);
    return LELP_OK;
}

/* The test is integer and-add-shift-or (lelp__nonfinite_bit), which
 * vectorizes (8 lanes in the AVX2 clone), so the all-finite case costs one
 * fast pass. */
LELP__CLONES int lelp__any_nonfinite(const float* x, int64_t n)
{
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof b);
        bad |= lelp__nonfinite_bit(b);
    }
    return (int)bad;
}

int lelp__check_finite_f32(const float* x, int64_t rows, int64_t cols, const char* fn, const char* what)
{
    return lelp__check_finite_rows(x, rows, cols, 0, fn, what);
}

/* The fast pass first; only a batch with a bad value is scanned again, to
 * name the first one. */
int lelp__check_finite_rows(const float* x, int64_t rows, int64_t cols, int64_t row0, const char* fn,
                            const char* what)
{
    if (!lelp__any_nonfinite(x, rows * cols)) return LELP_OK;
    for (int64_t i = 0; i < rows; i++) {
        const float* row = x + i * cols;
        for (int64_t j = 0; j < cols; j++) {
            if (lelp__any_nonfinite(row + j, 1))
                return lelp__fail(LELP_E_NONFINITE, "%s: %s: non-finite value at row %lld, column %lld", fn,
                                  what, (long long)(row0 + i), (long long)j);
        }
    }
    return LELP_OK;
}

int lelp__check_labels(const int32_t* y, int64_t n, int64_t C, const char* fn, const char* what)
{
    for (int64_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= C)
            return lelp__fail(LELP_E_LABEL_RANGE, "%s: %s: label %ld at row %lld is outside [0, %lld)", fn,
                              what, (long)y[i], (long long)i, (long long)C);
    }
    return LELP_OK;
}

int lelp__check_batch_shape(const float* H, int64_t n, int64_t d, int64_t want_d, const char* fn)
{
    if (n < 0) return lelp__fail(LELP_E_INVALID_ARG, "%s: n = %lld is negative", fn, (long long)n);
    if (d != want_d)
        return lelp__fail(LELP_E_SHAPE_MISMATCH, "%s: d = %lld but the handle has d = %lld", fn, (long long)d,
                          (long long)want_d);
    if (n > 0 && !H) return lelp__fail(LELP_E_NULL, "%s: H is NULL", fn);
    if (lelp__bytes(n, d, sizeof(float)) == SIZE_MAX) return lelp__fail(LELP_E_INVALID_ARG, "%s: n*d overflows", fn);
    return LELP_OK;
}

int lelp__check_batch(const float* H, int64_t n, int64_t d, int64_t want_d, const char* fn)
{
    int st = lelp__check_batch_shape(H, n, d, want_d, fn);
    return st ? st : lelp__check_finite_f32(H, n, d, fn, "H");
}
