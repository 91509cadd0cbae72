/* SPDX-License-Identifier: MIT */
/* status.c -- status strings and the detailed message of the last failure.
 *
 * Build-time switches for small targets (docs/edge.md):
 *   LELP_NO_STDIO          no <stdio.h>: messages go through the small
 *                          formatter below (%s %c %d %i %u %x, l/ll/z
 *                          sizes, %g; flags and widths ignored) instead
 *                          of vsnprintf;
 *   LELP_NO_TLS            the message is one static buffer, not one per
 *                          thread: lelp_last_error() is then not thread-safe;
 *   LELP_NO_ERROR_STRINGS  no message texts in the binary (lelp__fail is a
 *                          macro in common.h that drops them):
 *                          lelp_last_error() says "liblelp error N" and
 *                          lelp_status_string() gives a fixed text. */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#if !defined(LELP_NO_STDIO)
#include <stdio.h>
#endif

#include "common.h"

#if defined(LELP_NO_TLS)
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
#if defined(LELP_NO_ERROR_STRINGS)
static LELP__TLS char lelp__message[24];
static LELP__TLS int lelp__last_code;
#else
static LELP__TLS char lelp__message[512];
#endif

#if defined(LELP_NO_STDIO) || defined(LELP_NO_ERROR_STRINGS)
/* Appends text to buf[*pos], keeping room for the terminating NUL. */
static void lelp__put_str(char* buf, size_t cap, size_t* pos, const char* s)
{
    for (; *s && *pos + 1 < cap; s++) buf[(*pos)++] = *s;
    buf[*pos] = '\0';
}

static void lelp__put_uint(char* buf, size_t cap, size_t* pos, uint64_t v, unsigned base)
{
    char tmp[24];
    int k = 23;
    tmp[k] = '\0';
    do {
        tmp[--k] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    lelp__put_str(buf, cap, pos, tmp + k);
}

static void lelp__put_int(char* buf, size_t cap, size_t* pos, int64_t v)
{
    if (v < 0) lelp__put_str(buf, cap, pos, "-");
    lelp__put_uint(buf, cap, pos, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10);
}
#endif

#if defined(LELP_NO_STDIO) && !defined(LELP_NO_ERROR_STRINGS)
/* A double as printf's %.<prec>g writes it (prec significant digits,
 * trailing zeros dropped, exponent form outside 1e-4 <= |v| < 10^prec);
 * for messages only, so the last digit may round differently. */
static void lelp__put_double(char* buf, size_t cap, size_t* pos, double v, int prec)
{
    if (v != v) {
        lelp__put_str(buf, cap, pos, "nan");
        return;
    }
    if (v < 0 || (v == 0 && 1 / v < 0)) {
        lelp__put_str(buf, cap, pos, "-");
        v = -v;
    }
    if (v > 1.7976931348623157e308) {
        lelp__put_str(buf, cap, pos, "inf");
        return;
    }
    int e = 0;
    if (v != 0) {
        while (v >= 10.0) v /= 10.0, e++;
        while (v < 1.0) v *= 10.0, e--;
    }
    uint64_t scale = 1;
    for (int i = 1; i < prec; i++) scale *= 10;
    uint64_t digits = (uint64_t)(v * (double)scale + 0.5);
    if (digits >= 10 * scale) digits /= 10, e++;
    char d[20]; /* the prec digits, then text */
    for (int i = prec - 1; i >= 0; i--, digits /= 10) d[i] = (char)('0' + digits % 10);
    int nd = prec;
    while (nd > 1 && d[nd - 1] == '0') nd--; /* %g drops trailing zeros */
    char out[48];
    int k = 0;
    if (e >= -4 && e < prec) {
        if (e < 0) {
            out[k++] = '0';
            out[k++] = '.';
            for (int i = 0; i < -e - 1; i++) out[k++] = '0';
            for (int i = 0; i < nd; i++) out[k++] = d[i];
        } else {
            for (int i = 0; i <= e; i++) out[k++] = i < nd ? d[i] : '0';
            if (nd > e + 1) out[k++] = '.';
            for (int i = e + 1; i < nd; i++) out[k++] = d[i];
        }
        out[k] = '\0';
        lelp__put_str(buf, cap, pos, out);
        return;
    }
    out[k++] = d[0];
    if (nd > 1) out[k++] = '.';
    for (int i = 1; i < nd; i++) out[k++] = d[i];
    out[k++] = 'e';
    out[k++] = e < 0 ? '-' : '+';
    if ((e < 0 ? -e : e) < 10) out[k++] = '0';
    out[k] = '\0';
    lelp__put_str(buf, cap, pos, out);
    lelp__put_uint(buf, cap, pos, (uint64_t)(e < 0 ? -e : e), 10);
}

/* The subset of vsnprintf that liblelp's messages use. */
static void lelp__vformat(char* buf, size_t cap, const char* fmt, va_list ap)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (const char* p = fmt; *p; p++) {
        if (*p != '%') {
            char one[2] = {*p, '\0'};
            lelp__put_str(buf, cap, &pos, one);
            continue;
        }
        p++;
        int prec = 6, longs = 0, size_t_arg = 0;
        while (*p == '-' || *p == '+' || *p == ' ' || *p == '#' || *p == '0' || (*p >= '1' && *p <= '9')) p++;
        if (*p == '.') {
            prec = 0;
            for (p++; *p >= '0' && *p <= '9'; p++) prec = 10 * prec + (*p - '0');
        }
        for (; *p == 'l'; p++) longs++;
        if (*p == 'z') size_t_arg = 1, p++;
        switch (*p) {
        case 's': lelp__put_str(buf, cap, &pos, va_arg(ap, const char*)); break;
        case 'c': {
            char one[2] = {(char)va_arg(ap, int), '\0'};
            lelp__put_str(buf, cap, &pos, one);
            break;
        }
        case 'd':
        case 'i':
            lelp__put_int(buf, cap, &pos, size_t_arg ? (int64_t)va_arg(ap, size_t) : longs >= 2 ? va_arg(ap, long long)
                                          : longs ? va_arg(ap, long) : va_arg(ap, int));
            break;
        case 'u':
        case 'x':
            lelp__put_uint(buf, cap, &pos, size_t_arg ? va_arg(ap, size_t) : longs >= 2 ? va_arg(ap, unsigned long long)
                                           : longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
                           *p == 'x' ? 16 : 10);
            break;
        case 'g':
            lelp__put_double(buf, cap, &pos, va_arg(ap, double), prec < 1 ? 1 : prec > 17 ? 17 : prec);
            break;
        case '%': lelp__put_str(buf, cap, &pos, "%"); break;
        default: return; /* not used by liblelp; stop rather than misread the arguments */
        }
    }
}
#endif

#if defined(LELP_NO_ERROR_STRINGS)
int lelp__fail_code(int code)
{
    lelp__last_code = code;
    return code;
}

int lelp__fail_within(int code, const char* fn)
{
    (void)fn;
    return lelp__fail_code(code);
}

const char* lelp_last_error(void)
{
    size_t pos = 0;
    lelp__message[0] = '\0';
    if (lelp__last_code == LELP_OK) return lelp__message;
    lelp__put_str(lelp__message, sizeof lelp__message, &pos, "liblelp error ");
    lelp__put_int(lelp__message, sizeof lelp__message, &pos, lelp__last_code);
    return lelp__message;
}
#else
int lelp__fail(int code, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
#if defined(LELP_NO_STDIO)
    lelp__vformat(lelp__message, sizeof lelp__message, fmt, ap);
#else
    vsnprintf(lelp__message, sizeof lelp__message, fmt, ap);
#endif
    va_end(ap);
    return code;
}

int lelp__fail_within(int code, const char* fn)
{
    char inner[sizeof lelp__message];
    memcpy(inner, lelp__message, sizeof inner); /* always NUL-terminated */
    return lelp__fail(code, "%s: %s", fn, inner);
}

const char* lelp_last_error(void)
{
    return lelp__message;
}
#endif

const char* lelp_status_string(int status)
{
#if defined(LELP_NO_ERROR_STRINGS)
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
