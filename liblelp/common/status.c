/* SPDX-License-Identifier: MIT */
/* status.c -- status strings and the thread-local detailed message. */
#include <stdarg.h>
#include <stdio.h>

#include "common.h"

#if defined(LELP_NO_THREAD_LOCAL)
#  define LELP__TLS
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#  define LELP__TLS _Thread_local
#elif defined(__GNUC__)
#  define LELP__TLS __thread
#else
#  define LELP__TLS
#endif

/* One message per thread: a shared model may fail in several threads at
 * once, and each must see its own reason. */
static LELP__TLS char lelp__message[512];

int lelp__fail(int code, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lelp__message, sizeof lelp__message, fmt, ap);
    va_end(ap);
    return code;
}

int lelp__fail_within(int code, const char* fn)
{
    char inner[sizeof lelp__message];
    snprintf(inner, sizeof inner, "%s", lelp__message);
    return lelp__fail(code, "%s: %s", fn, inner);
}

const char* lelp_last_error(void)
{
    return lelp__message;
}

const char* lelp_status_string(int status)
{
#if defined(LELP_STRIP_ERROR_STRINGS)
    return status == LELP_OK ? "ok" : "error (strings stripped)";
#else
    switch (status) {
    case LELP_OK: return "ok";
    case LELP_E_NULL: return "a required pointer argument is NULL";
    case LELP_E_INVALID_ARG: return "an argument is outside its valid domain";
    case LELP_E_INVALID_HANDLE: return "invalid handle (wrong type, freed or corrupt)";
    case LELP_E_NOMEM: return "out of memory";
    case LELP_E_PARAM_UNSUPPORTED: return "parameter not supported by this handle or setter";
    case LELP_E_PARAM_RANGE: return "parameter value out of range";
    case LELP_E_PARAM_COMBINATION: return "inconsistent combination of parameters";
    case LELP_E_STAGE: return "call not allowed in the current stage";
    case LELP_E_SHAPE_MISMATCH: return "dimensions do not match the handle";
    case LELP_E_BUFFER_TOO_SMALL: return "output buffer too small";
    case LELP_E_LABEL_RANGE: return "label out of range [0, C)";
    case LELP_E_NONFINITE: return "NaN or Inf in input";
    case LELP_E_TOO_FEW_SAMPLES: return "a class has fewer than 2 examples";
    case LELP_E_RANK_DEFICIENT: return "a class has fewer than S non-zero eigenvalues";
    case LELP_E_SOLVER: return "eigen/SVD solver failed";
    case LELP_E_NUMERICAL: return "numerical failure";
    case LELP_E_INVALID_TARGETS: return "targets are not probability distributions";
    case LELP_E_FORMAT: return "not a valid liblelp buffer of this kind";
    case LELP_E_VERSION: return "unsupported format version";
    case LELP_E_CHECKSUM: return "checksum mismatch: data corrupted";
    case LELP_E_TRUNCATED: return "buffer truncated";
    case LELP_E_IO: return "file I/O error";
    case LELP_E_INTERNAL: return "internal error in liblelp";
    default: return "unknown status code";
    }
#endif
}
