/* SPDX-License-Identifier: MIT */
/* npy.c -- see npy.h. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * magic "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for
 * 2.0/3.0), then a Python dict literal {'descr': ..., 'fortran_order': ...,
 * 'shape': (...), } padded with spaces and a newline; the data follow. */
#define _POSIX_C_SOURCE 200809L
/* 64-bit off_t on 32-bit glibc targets: embeddings files over 2 GiB are
 * streamed there too (fopen would fail with EOVERFLOW, fseeko could not
 * reach the rows) */
#define _FILE_OFFSET_BITS 64
#include "npy.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define NPY_CHUNK 65536 /* bytes converted at a time */

/* Byte order: files are read in the order their dtype says ('<' or '>')
 * and written little-endian ('<'), whatever the host; items whose order
 * differs from the host's are reversed in place, chunk by chunk. */
static int npy_host_big_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char*)&one == 0;
}

static void npy_swap(void* data, size_t count, int size)
{
    unsigned char* p = data;
    for (size_t i = 0; i < count; i++, p += size)
        for (int k = 0; k < size / 2; k++) {
            unsigned char t = p[k];
            p[k] = p[size - 1 - k];
            p[size - 1 - k] = t;
        }
}

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

/* the value after key ('descr' etc., single or double quoted) in a header dict, or NULL */
static const char* npy_field(const char* h, const char* name)
{
    char k1[32], k2[32];
    snprintf(k1, sizeof k1, "'%s'", name);
    snprintf(k2, sizeof k2, "\"%s\"", name);
    const char* p = strstr(h, k1);
    if (!p) p = strstr(h, k2);
    if (!p) return NULL;
    p = strchr(p + strlen(k1), ':');
    if (!p) return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int npy_parse_header(npy_file* n, const char* h, char* err, size_t errlen)
{
    while (*h == ' ') h++;
    if (*h != '{') return npy_fail(n, err, errlen, "malformed .npy header (not a dict)");
    const char* descr = npy_field(h, "descr");
    const char* fo = npy_field(h, "fortran_order");
    const char* shape = npy_field(h, "shape");
    if (!descr || !fo || !shape) return npy_fail(n, err, errlen, "malformed .npy header (descr, fortran_order or shape missing)");
    if (descr[0] == '[') return npy_fail(n, err, errlen, "structured dtypes are not supported");
    if (descr[0] != '\'' && descr[0] != '"') return npy_fail(n, err, errlen, "malformed dtype in the header");
    char d[16] = {0};
    size_t k = 0;
    for (const char* p = descr + 1; *p && *p != descr[0] && k + 1 < sizeof d; p++) d[k++] = *p;
    if (strchr(d, 'O')) return npy_fail(n, err, errlen, "object arrays are not supported");
    if (!((d[0] == '<' || d[0] == '>' || d[0] == '|') && (d[1] == 'f' || d[1] == 'i') && (d[2] == '4' || d[2] == '8') && !d[3]))
        return npy_fail(n, err, errlen, "dtype %s is not float32, float64, int32 or int64", d);
    n->kind = d[1];
    n->itemsize = d[2] - '0';
    n->swap = (d[0] == '>') != npy_host_big_endian();
    if (strncmp(fo, "True", 4) == 0) return npy_fail(n, err, errlen, "Fortran-order arrays are not supported");
    if (strncmp(fo, "False", 5) != 0) return npy_fail(n, err, errlen, "malformed fortran_order in the header");
    if (shape[0] != '(') return npy_fail(n, err, errlen, "malformed shape in the header");
    long long dims[3] = {0, 0, 0};
    int nd = 0;
    const char* p = shape + 1;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') break;
        char* end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0) return npy_fail(n, err, errlen, "malformed shape in the header");
        if (nd < 3) dims[nd] = v;
        nd++;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p != ')') return npy_fail(n, err, errlen, "malformed shape in the header");
    }
    if (nd < 1 || nd > 2)
        return npy_fail(n, err, errlen, "rank %d arrays are not supported (need rank 1 or 2)", nd);
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
    size_t got = fread(pre, 1, 10, n->f);
    if (got < 6 || memcmp(pre, "\x93NUMPY", 6) != 0) return npy_fail(n, err, errlen, "not a .npy file");
    if (got < 10) return npy_fail(n, err, errlen, "truncated header");
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
    if (hlen > (1u << 20)) return npy_fail(n, err, errlen, "header too long (%u bytes)", hlen);
    char* h = calloc(hlen + 1, 1);
    if (!h) return npy_fail(n, err, errlen, "out of memory");
    int bad = fread(h, 1, hlen, n->f) != hlen ? npy_fail(n, err, errlen, "truncated header")
                                               : npy_parse_header(n, h, err, errlen);
    free(h);
    if (bad) return 1;
    n->data_offset = start + (long)hlen;
    if (fseeko(n->f, 0, SEEK_END) != 0) return npy_fail(n, err, errlen, "cannot seek");
    off_t size = ftello(n->f);
    if (n->rows > 0 && n->cols > INT64_MAX / n->rows / 8) return npy_fail(n, err, errlen, "shape too large");
    const int64_t need = n->rows * n->cols * n->itemsize;
    if ((int64_t)size - n->data_offset < need)
        return npy_fail(n, err, errlen, "truncated: %lld data bytes, the header says %lld",
                        (long long)((int64_t)size - n->data_offset), (long long)need);
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
    if (fseeko(n->f, (off_t)n->data_offset + (off_t)(r0 * n->cols * n->itemsize), SEEK_SET) != 0)
        return npy_fail(n, err, errlen, "cannot seek");
    return 0;
}

static int npy_short(npy_file* n, int64_t elem, char* err, size_t errlen)
{
    return npy_fail(n, err, errlen, "truncated (short read at row %lld)", (long long)(elem / n->cols));
}

int npy_read_f32(npy_file* n, int64_t r0, int64_t nr, float* out, char* err, size_t errlen)
{
    if (npy_seek_rows(n, r0, nr, err, errlen)) return 1;
    const int64_t base = r0 * n->cols, count = nr * n->cols;
    const int64_t per = NPY_CHUNK / n->itemsize;
    unsigned char buf[NPY_CHUNK];
    for (int64_t i0 = 0; i0 < count; i0 += per) {
        const int64_t m = count - i0 < per ? count - i0 : per;
        unsigned char* dst = n->kind == 'f' && n->itemsize == 4 ? (unsigned char*)(out + i0) : buf;
        if (fread(dst, (size_t)n->itemsize, (size_t)m, n->f) != (size_t)m) return npy_short(n, base + i0, err, errlen);
        if (n->swap) npy_swap(dst, (size_t)m, n->itemsize);
        for (int64_t k = 0; k < m; k++) {
            float v;
            int src_finite = 1;
            if (n->kind == 'f' && n->itemsize == 4) {
                v = out[i0 + k];
                src_finite = isfinite(v);
            } else if (n->kind == 'f') {
                double x;
                memcpy(&x, buf + 8 * k, 8);
                src_finite = isfinite(x);
                v = (float)x;
            } else if (n->itemsize == 4) {
                int32_t x;
                memcpy(&x, buf + 4 * k, 4);
                v = (float)x;
            } else {
                int64_t x;
                memcpy(&x, buf + 8 * k, 8);
                v = (float)x;
            }
            if (!isfinite(v)) {
                const int64_t e = base + i0 + k;
                return npy_fail(n, err, errlen, "%s at row %lld, column %lld",
                                src_finite ? "value outside the float32 range" : "non-finite value (NaN or Inf)",
                                (long long)(e / n->cols), (long long)(e % n->cols));
            }
            out[i0 + k] = v;
        }
    }
    return 0;
}

int npy_read_i32(npy_file* n, int64_t r0, int64_t nr, int32_t* out, char* err, size_t errlen)
{
    if (n->kind != 'i') return npy_fail(n, err, errlen, "labels must be integers (int32 or int64)");
    if (npy_seek_rows(n, r0, nr, err, errlen)) return 1;
    const int64_t base = r0 * n->cols, count = nr * n->cols;
    if (n->itemsize == 4) {
        if (fread(out, 4, (size_t)count, n->f) != (size_t)count) return npy_short(n, base, err, errlen);
        if (n->swap) npy_swap(out, (size_t)count, 4);
        return 0;
    }
    int64_t buf[NPY_CHUNK / 8];
    const int64_t per = NPY_CHUNK / 8;
    for (int64_t i0 = 0; i0 < count; i0 += per) {
        const int64_t m = count - i0 < per ? count - i0 : per;
        if (fread(buf, 8, (size_t)m, n->f) != (size_t)m) return npy_short(n, base + i0, err, errlen);
        if (n->swap) npy_swap(buf, (size_t)m, 8);
        for (int64_t k = 0; k < m; k++) {
            if (buf[k] < INT32_MIN || buf[k] > INT32_MAX)
                return npy_fail(n, err, errlen, "value %lld at row %lld does not fit in int32", (long long)buf[k],
                                (long long)((base + i0 + k) / n->cols));
            out[i0 + k] = (int32_t)buf[k];
        }
    }
    return 0;
}

int npy_create_shape(npy_file* n, const char* path, const char* descr, int ndim, const int64_t* dims, char* err,
                     size_t errlen)
{
    memset(n, 0, sizeof *n);
    snprintf(n->path, sizeof n->path, "%s", path);
    if (ndim < 1 || ndim > 8) return npy_fail(n, err, errlen, "cannot write a rank-%d array", ndim);
    if (descr[0] != '<' || (descr[2] != '4' && descr[2] != '8') || descr[3])
        return npy_fail(n, err, errlen, "cannot write dtype %s (need <f4, <f8, <i4 or <i8)", descr);
    n->itemsize = descr[2] - '0';
    n->swap = npy_host_big_endian();
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int k = 0; k < ndim; k++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld,%s", (long long)dims[k], k + 1 < ndim ? " " : "");
    if (ndim > 1) len--; /* (a, b) rather than (a, b,) -- numpy's own spelling */
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    if (strcmp(path, "-") == 0) { /* standard output, through a duplicate so finishing closes only that */
        int fd = dup(1);
        n->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!n->f && fd >= 0) close(fd);
    } else {
        n->f = fopen(path, "wb");
    }
    if (!n->f) return npy_fail(n, err, errlen, "cannot create");
    /* v1.0: 10-byte preamble, dict padded with spaces so that the data start at a
     * multiple of 64, ending in \n */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    uint16_t hl = (uint16_t)(len + pad + 1);
    pre[8] = (unsigned char)(hl & 0xff);
    pre[9] = (unsigned char)(hl >> 8);
    if (fwrite(pre, 1, 10, n->f) != 10 || fwrite(dict, 1, (size_t)len, n->f) != (size_t)len)
        return npy_fail(n, err, errlen, "write failed");
    for (int i = 0; i < pad; i++) fputc(' ', n->f);
    if (fputc('\n', n->f) == EOF) return npy_fail(n, err, errlen, "write failed");
    return 0;
}

int npy_create(npy_file* n, const char* path, const char* descr, int64_t rows, int64_t cols, char* err, size_t errlen)
{
    const int64_t dims[2] = {rows, cols};
    return npy_create_shape(n, path, descr, cols > 0 ? 2 : 1, dims, err, errlen);
}

int npy_write(npy_file* n, const void* data, size_t bytes, char* err, size_t errlen)
{
    if (!n->swap) return fwrite(data, 1, bytes, n->f) != bytes ? npy_fail(n, err, errlen, "write failed") : 0;
    if (bytes % (size_t)n->itemsize) return npy_fail(n, err, errlen, "write of a partial item");
    unsigned char buf[NPY_CHUNK];
    for (size_t at = 0; at < bytes; at += NPY_CHUNK) {
        const size_t m = bytes - at < NPY_CHUNK ? bytes - at : NPY_CHUNK;
        memcpy(buf, (const unsigned char*)data + at, m);
        npy_swap(buf, m / (size_t)n->itemsize, n->itemsize);
        if (fwrite(buf, 1, m, n->f) != m) return npy_fail(n, err, errlen, "write failed");
    }
    return 0;
}

int npy_finish(npy_file* n, char* err, size_t errlen)
{
    int bad = fflush(n->f) != 0 || ferror(n->f);
    bad |= fclose(n->f) != 0;
    n->f = NULL;
    return bad ? npy_fail(n, err, errlen, "write failed") : 0;
}
