/* SPDX-License-Identifier: MIT */
/* fuzz_common.h -- a tiny data producer for the fuzz targets (consumes the
 * fuzzer's bytes from the front; returns zeros once they run out). */
#ifndef LELP_FUZZ_COMMON_H
#define LELP_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lelp.h"

typedef struct fuzz_src {
    const uint8_t* p;
    size_t n;
} fuzz_src;

static inline uint32_t fuzz_u32(fuzz_src* s, uint32_t lo, uint32_t hi)
{
    uint32_t v = 0;
    for (int i = 0; i < 4 && s->n; i++, s->p++, s->n--) v = (v << 8) | *s->p;
    return lo + (hi > lo ? (uint32_t)((uint64_t)v % ((uint64_t)hi - lo + 1)) : 0);
}

static inline float fuzz_float(fuzz_src* s)
{
    /* mostly ordinary values; occasionally raw bit patterns (NaN, Inf, huge) */
    uint32_t sel = fuzz_u32(s, 0, 15);
    if (sel == 0) {
        uint32_t bits = fuzz_u32(s, 0, 0xffffffffu);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return ((float)fuzz_u32(s, 0, 2000) - 1000.0f) / 100.0f;
}

/* Every status the library documents. */
static inline int fuzz_documented(int st)
{
    switch (st) {
    case LELP_OK: case LELP_E_NULL: case LELP_E_INVALID_ARG: case LELP_E_INVALID_HANDLE:
    case LELP_E_NOMEM: case LELP_E_PARAM_UNSUPPORTED: case LELP_E_PARAM_RANGE:
    case LELP_E_PARAM_COMBINATION: case LELP_E_STAGE: case LELP_E_SHAPE_MISMATCH:
    case LELP_E_BUFFER_TOO_SMALL: case LELP_E_LABEL_RANGE: case LELP_E_NONFINITE:
    case LELP_E_TOO_FEW_SAMPLES: case LELP_E_RANK_DEFICIENT: case LELP_E_SOLVER:
    case LELP_E_NUMERICAL: case LELP_E_INVALID_TARGETS: case LELP_E_FORMAT: case LELP_E_VERSION:
    case LELP_E_CHECKSUM: case LELP_E_TRUNCATED: case LELP_E_IO:
        return 1;
    default:
        return 0;
    }
}

#define FUZZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

#endif
