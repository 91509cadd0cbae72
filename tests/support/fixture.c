/* SPDX-License-Identifier: MIT */
/* fixture.c -- reader of .lfx fixtures (see fixture.h). The format is
 * little-endian; every field is decoded byte by byte and the data are
 * byte-swapped on a big-endian host (s390x under make check-cross). */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rd(FILE* f, void* p, size_t n)
{
    return fread(p, 1, n, f) == n;
}

/* little-endian unsigned of n bytes (n <= 8) */
static uint64_t le(const unsigned char* b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

static int rd_le(FILE* f, uint64_t* v, int n)
{
    unsigned char b[8];
    if (!rd(f, b, (size_t)n)) return 0;
    *v = le(b, n);
    return 1;
}

/* count items of elem bytes, little-endian in the file, to host order */
static void to_host(void* data, uint64_t count, size_t elem)
{
    const uint16_t one = 1;
    if (*(const unsigned char*)&one == 1) return; /* little-endian host */
    unsigned char* p = data;
    for (uint64_t i = 0; i < count; i++, p += elem)
        for (size_t k = 0; k < elem / 2; k++) {
            unsigned char t = p[k];
            p[k] = p[elem - 1 - k];
            p[elem - 1 - k] = t;
        }
}

fx_file* fx_load(const char* name)
{
    const char* dir = getenv("LELP_FIXTURE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.lfx", dir ? dir : "tests/fixtures", name);
    FILE* f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fixture: cannot open %s\n", path);
        return NULL;
    }
    char magic[4];
    uint64_t n = 0;
    fx_file* fx = calloc(1, sizeof *fx);
    if (!fx || !rd(f, magic, 4) || memcmp(magic, "LFX1", 4) != 0 || !rd_le(f, &n, 4) || n > 1000) goto bad;
    fx->arrays = calloc(n, sizeof *fx->arrays);
    if (!fx->arrays) goto bad;
    for (uint64_t i = 0; i < n; i++) {
        fx_array* a = &fx->arrays[i];
        uint64_t len = 0;
        uint8_t dt = 0, nd = 0;
        if (!rd_le(f, &len, 2) || len >= sizeof a->name || !rd(f, a->name, len) || !rd(f, &dt, 1) || !rd(f, &nd, 1) ||
            dt > 3 || nd > 8)
            goto bad;
        a->dtype = dt;
        a->ndim = nd;
        a->count = 1;
        for (int k = 0; k < nd; k++) {
            if (!rd_le(f, &a->dims[k], 8)) goto bad;
            /* fixtures are small: refuse anything over 2^28 elements (no overflow) */
            if (a->dims[k] > ((uint64_t)1 << 28) || a->count * a->dims[k] > ((uint64_t)1 << 28)) goto bad;
            a->count *= a->dims[k];
        }
        size_t elem = (dt == 0 || dt == 2) ? 4 : 8;
        a->data = malloc(a->count * elem + 1);
        fx->n = (int)i + 1; /* so fx_free releases a->data on the error path too */
        if (!a->data || !rd(f, a->data, a->count * elem)) goto bad;
        to_host(a->data, a->count, elem);
    }
    if (fgetc(f) != EOF) goto bad; /* trailing bytes: not what the writer produced */
    fclose(f);
    return fx;
bad:
    fprintf(stderr, "fixture: %s is malformed\n", path);
    fclose(f);
    fx_free(fx);
    return NULL;
}

void fx_free(fx_file* f)
{
    if (!f) return;
    for (int i = 0; i < f->n; i++) free(f->arrays[i].data);
    free(f->arrays);
    free(f);
}

const fx_array* fx_get(const fx_file* f, const char* name)
{
    for (int i = 0; f && i < f->n; i++)
        if (strcmp(f->arrays[i].name, name) == 0) return &f->arrays[i];
    return NULL;
}

static const void* typed(const fx_file* f, const char* name, int dtype, uint64_t* count)
{
    const fx_array* a = fx_get(f, name);
    if (!a || a->dtype != dtype) {
        fprintf(stderr, "fixture: no array '%s' of dtype %d\n", name, dtype);
        return NULL;
    }
    if (count) *count = a->count;
    return a->data;
}

const float* fx_f32(const fx_file* f, const char* name, uint64_t* count) { return typed(f, name, 0, count); }
const double* fx_f64(const fx_file* f, const char* name, uint64_t* count) { return typed(f, name, 1, count); }
const int32_t* fx_i32(const fx_file* f, const char* name, uint64_t* count) { return typed(f, name, 2, count); }
const int64_t* fx_i64(const fx_file* f, const char* name, uint64_t* count) { return typed(f, name, 3, count); }
