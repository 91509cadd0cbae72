/* SPDX-License-Identifier: MIT */
/* limits.c -- process-wide resource limits (enum lelp_limit) and the load
 * budget every loader checks before it allocates: a buffer may make a
 * loader allocate what its own bytes justify (LELP__LOAD_FACTOR times its
 * size) or up to LELP_LIMIT_LOAD_BYTES, whichever is larger, so a small
 * crafted file cannot reserve gigabytes. */
#include <stdatomic.h>

#include "common.h"

/* Every loaded object holds at most this many times its serialized size
 * when its fields are consistent (a model 1.5x, a compressor 1.33x, an
 * exact builder state about 2x for the d x d co-moments it stores packed). */
#define LELP__LOAD_FACTOR 4.0

static _Atomic int64_t lelp__load_bytes = INT64_C(1) << 30;

int lelp_limit_set(int limit, int64_t value)
{
    if (limit != LELP_LIMIT_LOAD_BYTES)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_limit_set: %d is not a limit", limit);
    if (value < 0)
        return lelp__fail(LELP_E_PARAM_RANGE, "lelp_limit_set: LELP_LIMIT_LOAD_BYTES = %lld is negative",
                          (long long)value);
    atomic_store(&lelp__load_bytes, value);
    return LELP_OK;
}

int lelp_limit_get(int limit, int64_t* value)
{
    if (!value) return lelp__fail(LELP_E_NULL, "lelp_limit_get: value is NULL");
    if (limit != LELP_LIMIT_LOAD_BYTES)
        return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "lelp_limit_get: %d is not a limit", limit);
    *value = atomic_load(&lelp__load_bytes);
    return LELP_OK;
}

int lelp__load_budget(double need, size_t size, const char* what)
{
    const double limit = (double)atomic_load(&lelp__load_bytes), justified = LELP__LOAD_FACTOR * (double)size;
    if (need <= justified || need <= limit) return LELP_OK;
    return lelp__fail(LELP_E_NOMEM, "%s: loading it would allocate %.0f bytes for a %zu-byte buffer, more than "
                      "LELP_LIMIT_LOAD_BYTES = %.0f allows (raise it with lelp_limit_set)", what, need, size, limit);
}
