/* npy.c -- see npy.h. */
#define _POSIX_C_SOURCE 200809L
#include "npy.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int npy_fail(const npy_file* n, char* err, size_t errlen, const char* fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", n->path, msg);
    return 1;
}

/* the value after 'key': in a header dict, or NULL */
static const char* npy_field(const char* h, const char* key)
{
    const char* p = strstr(h, key);
    if (!p) return NULL;
    p = strchr(p + strlen(key), ':');
    if (!p) return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int npy_parse_header(npy_file* n, const char* h, char* err, size_t errlen)
{
    const char* descr = npy_field(h, "'descr'");
    const char* fo = npy_field(h, "'fortran_order'");
    const char* shape = npy_field(h, "'shape'");
    if (!descr || !fo || !shape) return npy_fail(n, err, errlen, "malformed .npy header");
    if (descr[0] != '\'') return npy_fail(n, err, errlen, "structured dtypes are not supported");
    char d[16] = {0};
    size_t k = 0;
    for (const char* p = descr + 1; *p && *p != '\'' && k + 1 < sizeof d; p++) d[k++] = *p;
    if (strchr(d, 'O')) return npy_fail(n, err, errlen, "object arrays are not supported");
    if (d[0] == '>') return npy_fail(n, err, errlen, "big-endian data is not supported");
    if (!((d[0] == '<' || d[0] == '|') && (d[1] == 'f' || d[1] == 'i') && (d[2] == '4' || d[2] == '8') && !d[3]))
        return npy_fail(n, err, errlen, "dtype %s is not float32, float64, int32 or int64", d);
    n->kind = d[1];
    n->itemsize = d[2] - '0';
    if (strncmp(fo, "False", 5) != 0) return npy_fail(n, err, errlen, "Fortran-order arrays are not supported");
    if (shape[0] != '(') return npy_fail(n, err, errlen, "malformed shape");
    long long dims[3];
    int nd = 0;
    const char* p = shape + 1;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char* end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0) return npy_fail(n, err, errlen, "malformed shape");
        if (nd < 3) dims[nd] = v;
        nd++;
        p = end;
    }
    if (nd < 1 || nd > 2) return npy_fail(n, err, errlen, "rank %d arrays are not supported (need 1 or 2)", nd);
    n->ndim = nd;
    n->rows = dims[0];
    n->cols = nd == 2 ? dims[1] : 1;
    return 0;
}

int npy_open(npy_file* n, const char* path, char* err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    snprintf(n->path, sizeof n->path, "%s", path);
    n->f = fopen(path, "rb");
    if (!n->f) return npy_fail(n, err, errlen, "cannot open");
    unsigned char pre[12];
    if (fread(pre, 1, 10, n->f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return npy_fail(n, err, errlen, "not a .npy file");
    uint32_t hlen;
    long start;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8);
        start = 10;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, n->f) != 2) return npy_fail(n, err, errlen, "truncated header");
        hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8) | ((uint32_t)pre[10] << 16) | ((uint32_t)pre[11] << 24);
        start = 12;
    } else {
        return npy_fail(n, err, errlen, "unsupported .npy format version %d.%d", pre[6], pre[7]);
    }
    if (hlen > (1u << 20)) return npy_fail(n, err, errlen, "header too long");
    char* h = calloc(hlen + 1, 1);
    if (!h) return npy_fail(n, err, errlen, "out of memory");
    int bad = fread(h, 1, hlen, n->f) != hlen ? npy_fail(n, err, errlen, "truncated header")
                                               : npy_parse_header(n, h, err, errlen);
    free(h);
    if (bad) return 1;
    n->data_offset = start + (long)hlen;
    if (fseek(n->f, 0, SEEK_END) != 0) return npy_fail(n, err, errlen, "cannot seek");
    long size = ftell(n->f);
    if (n->rows > 0 && n->cols > INT64_MAX / n->rows / 8) return npy_fail(n, err, errlen, "shape too large");
    if (size < n->data_offset + (long)(n->rows * n->cols * n->itemsize))
        return npy_fail(n, err, errlen, "truncated: %ld data bytes, the header says %lld", size - n->data_offset,
                        (long long)(n->rows * n->cols * n->itemsize));
    return 0;
}

void npy_close(npy_file* n)
{
    if (n->f) fclose(n->f);
    n->f = NULL;
}

static int npy_seek_rows(npy_file* n, int64_t r0, int64_t nr, char* err, size_t errlen)
{
    if (r0 < 0 || nr < 0 || r0 + nr > n->rows) return npy_fail(n, err, errlen, "row range out of bounds");
    if (fseek(n->f, n->data_offset + (long)(r0 * n->cols * n->itemsize), SEEK_SET) != 0)
        return npy_fail(n, err, errlen, "cannot seek");
    return 0;
}

int npy_read_f32(npy_file* n, int64_t r0, int64_t nr, float* out, char* err, size_t errlen)
{
    if (npy_seek_rows(n, r0, nr, err, errlen)) return 1;
    size_t count = (size_t)(nr * n->cols);
    if (n->kind == 'f' && n->itemsize == 4)
        return fread(out, 4, count, n->f) != count ? npy_fail(n, err, errlen, "short read") : 0;
    for (size_t i = 0; i < count; i++) {
        unsigned char b[8];
        if (fread(b, (size_t)n->itemsize, 1, n->f) != 1) return npy_fail(n, err, errlen, "short read");
        if (n->kind == 'f') {
            double v;
            memcpy(&v, b, 8);
            out[i] = (float)v;
        } else if (n->itemsize == 4) {
            int32_t v;
            memcpy(&v, b, 4);
            out[i] = (float)v;
        } else {
            int64_t v;
            memcpy(&v, b, 8);
            out[i] = (float)v;
        }
    }
    return 0;
}

int npy_read_i32(npy_file* n, int64_t r0, int64_t nr, int32_t* out, char* err, size_t errlen)
{
    if (n->kind != 'i') return npy_fail(n, err, errlen, "labels must be integers (int32 or int64)");
    if (npy_seek_rows(n, r0, nr, err, errlen)) return 1;
    size_t count = (size_t)(nr * n->cols);
    if (n->itemsize == 4) return fread(out, 4, count, n->f) != count ? npy_fail(n, err, errlen, "short read") : 0;
    for (size_t i = 0; i < count; i++) {
        int64_t v;
        if (fread(&v, 8, 1, n->f) != 1) return npy_fail(n, err, errlen, "short read");
        if (v < INT32_MIN || v > INT32_MAX)
            return npy_fail(n, err, errlen, "label %lld at row %lld does not fit in int32", (long long)v,
                            (long long)(r0 + (int64_t)(i / (size_t)n->cols)));
        out[i] = (int32_t)v;
    }
    return 0;
}

int npy_create(npy_file* n, const char* path, const char* descr, int64_t rows, int64_t cols, char* err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    snprintf(n->path, sizeof n->path, "%s", path);
    n->f = fopen(path, "wb");
    if (!n->f) return npy_fail(n, err, errlen, "cannot create");
    char dict[256];
    int len = cols > 0 ? snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }",
                                  descr, (long long)rows, (long long)cols)
                       : snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                                  descr, (long long)rows);
    /* v1.0: 10-byte preamble, header padded with spaces to a multiple of 64, ending in \n */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    uint16_t hl = (uint16_t)(len + pad + 1);
    pre[8] = (unsigned char)(hl & 0xff);
    pre[9] = (unsigned char)(hl >> 8);
    if (fwrite(pre, 1, 10, n->f) != 10 || fwrite(dict, 1, (size_t)len, n->f) != (size_t)len)
        return npy_fail(n, err, errlen, "write failed");
    for (int i = 0; i < pad; i++) fputc(' ', n->f);
    fputc('\n', n->f);
    return 0;
}

int npy_write(npy_file* n, const void* data, size_t bytes, char* err, size_t errlen)
{
    return fwrite(data, 1, bytes, n->f) != bytes ? npy_fail(n, err, errlen, "write failed") : 0;
}

int npy_finish(npy_file* n, char* err, size_t errlen)
{
    int bad = fclose(n->f) != 0;
    n->f = NULL;
    return bad ? npy_fail(n, err, errlen, "write failed") : 0;
}
