/* SPDX-License-Identifier: MIT */
/* compressor_io.c -- serialization of an embedding compressor (weights and
 * optimizer state), with the envelope of docs/format.md (magic LELPCOMP). */
#include <math.h>
#include <string.h>

#include "compress.h"


static int64_t lelp__np_of(int64_t dt, int64_t k, int64_t C)
{
    return k * dt + k + C * k + C;
}

/* payload: P, m1, m2 (np doubles each, 64-byte aligned) */
static size_t lelp__compressor_layout(int64_t np, size_t off[3], size_t* end)
{
    const size_t arr = lelp__bytes(np, 1, sizeof(double)), sizes[3] = {arr, arr, arr};
    return lelp__layout(sizes, 3, off, end);
}

int lelp_compressor_serialized_size(const lelp_compressor* c, size_t* size)
{
    int st = lelp__check_handle(c, LELP__MAGIC_COMPRESSOR, "lelp_compressor_serialized_size", "compressor");
    if (st) return st;
    if (!size) return lelp__fail(LELP_E_NULL, "lelp_compressor_serialized_size: size is NULL");
    size_t off[3];
    *size = LELP__HEADER_LEN + lelp__compressor_layout(lelp__np_of(c->dt, c->k, c->C), off, NULL) + 4;
    return LELP_OK;
}

int lelp_compressor_serialize(const lelp_compressor* c, void* dst, size_t capacity, size_t* written)
{
    size_t need = 0;
    int st = lelp_compressor_serialized_size(c, &need);
    if (st) return st;
    if (!dst) return lelp__fail(LELP_E_NULL, "lelp_compressor_serialize: dst is NULL");
    if (capacity < need)
        return lelp__fail(LELP_E_BUFFER_TOO_SMALL, "lelp_compressor_serialize: capacity %zu < %zu needed", capacity,
                          need);
    const int64_t np = lelp__np_of(c->dt, c->k, c->C);
    size_t off[3];
    size_t plen = lelp__compressor_layout(np, off, NULL);
    lelp__writer w = {dst, 0};
    memcpy(w.p, "LELPCOMP", 8);
    w.pos = 8;
    lelp__put_u32(&w, LELP__COMPRESSOR_FORMAT_VERSION);
    lelp__put_u32(&w, LELP__HEADER_LEN);
    lelp__put_u32(&w, (uint32_t)LELP_VERSION_NUMBER);
    lelp__put_u32(&w, (uint32_t)(c->distance | (c->optimizer << 2) | (c->multilabel << 3)));
    lelp__put_u64(&w, (uint64_t)plen);
    lelp__put_u64(&w, (uint64_t)c->dt);
    lelp__put_u64(&w, (uint64_t)c->k);
    lelp__put_u64(&w, (uint64_t)c->C);
    lelp__put_u64(&w, c->seed);
    lelp__put_f64(&w, c->lr);
    lelp__put_f64(&w, c->wd);
    lelp__put_f64(&w, c->momentum);
    lelp__put_f64(&w, c->beta1);
    lelp__put_f64(&w, c->beta2);
    lelp__put_u64(&w, (uint64_t)c->steps);
    const double* arrays[3] = {c->P, c->m1, c->m2};
    for (int i = 0; i < 3; i++) {
        lelp__put_pad(&w, off[i]);
        lelp__put_f64s(&w, arrays[i], (size_t)np);
    }
    lelp__put_pad(&w, LELP__HEADER_LEN + plen);
    lelp__put_u32(&w, lelp__crc32(w.p, w.pos));
    if (written) *written = w.pos;
    return LELP_OK;
}

static int lelp__in(double v, int param)
{
    double lo = 0.0, hi = 0.0;
    return lelp_param_bounds(param, &lo, &hi) == LELP_OK && v >= lo && v <= hi;
}

int lelp_compressor_load(lelp_compressor** out, const void* src, size_t size, const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_compressor_load: out is NULL");
    *out = NULL;
    if (!src) return lelp__fail(LELP_E_NULL, "lelp_compressor_load: src is NULL");
    int st = lelp__check_allocator(alloc, "lelp_compressor_load");
    if (st) return st;
    lelp__envelope env;
    if ((st = lelp__check_envelope(src, size, "LELPCOMP", LELP__COMPRESSOR_FORMAT_VERSION, &env, "lelp_compressor_load")))
        return st;
    lelp__reader r = {src, size, 20};
    uint32_t flags = lelp__get_u32(&r);
    r.pos = 32;
    int64_t dt = (int64_t)lelp__get_u64(&r), k = (int64_t)lelp__get_u64(&r), C = (int64_t)lelp__get_u64(&r);
    uint64_t seed = lelp__get_u64(&r);
    double lr = lelp__get_f64(&r), wd = lelp__get_f64(&r), mom = lelp__get_f64(&r);
    double b1 = lelp__get_f64(&r), b2 = lelp__get_f64(&r);
    int64_t steps = (int64_t)lelp__get_u64(&r);
    const uint8_t* bytes = src;
    for (size_t i = r.pos; i < LELP__HEADER_LEN; i++)
        if (bytes[i] != 0) return lelp__fail(LELP_E_FORMAT, "lelp_compressor_load: reserved header byte %zu is not zero", i);
    if (flags > 15u || (flags & 3u) > 2u) return lelp__fail(LELP_E_FORMAT, "lelp_compressor_load: unknown flags 0x%x", (unsigned)flags);
    if (dt < 1 || dt > LELP__MAX_COMP_DIM || k < 1 || k > LELP__MAX_COMP_DIM || C < 1 || C > LELP__MAX_C || steps < 0 ||
        steps > LELP__MAX_COUNT /* exact in a double (Adam's bias correction); no step can overflow it */ ||
        seed > (uint64_t)INT64_MAX)
        return lelp__fail(LELP_E_FORMAT, "lelp_compressor_load: impossible shape or step count");
    if (!lelp__in(lr, LELP_COMPRESSOR_LR) || !lelp__in(wd, LELP_COMPRESSOR_WEIGHT_DECAY) ||
        !lelp__in(mom, LELP_COMPRESSOR_MOMENTUM) || !lelp__in(b1, LELP_COMPRESSOR_ADAM_BETA1) ||
        !lelp__in(b2, LELP_COMPRESSOR_ADAM_BETA2))
        return lelp__fail(LELP_E_FORMAT, "lelp_compressor_load: a hyper-parameter is out of range");
    size_t off[3], end[3];
    const int64_t np = lelp__np_of(dt, k, C);
    if (lelp__compressor_layout(np, off, end) != env.payload_len)
        return lelp__fail(LELP_E_FORMAT, "lelp_compressor_load: payload length %zu does not match the shape", env.payload_len);
    if ((st = lelp__zero_gaps(src, off, end, 3, LELP__HEADER_LEN + env.payload_len, "lelp_compressor_load"))) return st;
    lelp__mem mem;
    lelp__mem_init(&mem, alloc);
    lelp_compressor* c = NULL;
    if ((st = lelp__compressor_alloc(&mem, dt, k, C, &c, "lelp_compressor_load"))) return st;
    c->distance = (int)(flags & 3u);
    c->optimizer = (int)((flags >> 2) & 1u);
    c->multilabel = (int)((flags >> 3) & 1u);
    c->seed = seed;
    c->lr = lr;
    c->wd = wd;
    c->momentum = mom;
    c->beta1 = b1;
    c->beta2 = b2;
    c->steps = steps;
    c->format_version = env.format_version;
    c->writer_version = env.writer_version;
    double* arrays[3] = {c->P, c->m1, c->m2};
    for (int i = 0; i < 3; i++) {
        r.pos = off[i];
        lelp__get_f64s(&r, arrays[i], (size_t)np);
        for (int64_t j = 0; j < np; j++)
            if (!isfinite(arrays[i][j]) || (i == 2 && arrays[i][j] < 0.0)) {
                lelp__compressor_release(c);
                return lelp__fail(LELP_E_FORMAT, "lelp_compressor_load: invalid value in the payload");
            }
    }
    *out = c;
    return LELP_OK;
}

int lelp_compressor_save_path(const lelp_compressor* c, const char* path)
{
    size_t size = 0;
    uint8_t* buf = NULL;
    int st = lelp_compressor_serialized_size(c, &size);
    if (st || (st = lelp__save_begin(&c->mem, path, size, &buf, "lelp_compressor_save_path"))) return st;
    return lelp__save_end(&c->mem, path, buf, size, lelp_compressor_serialize(c, buf, size, NULL), "lelp_compressor_save_path");
}

int lelp_compressor_load_path(lelp_compressor** out, const char* path, const lelp_allocator* alloc)
{
    lelp__mem mem;
    uint8_t* buf = NULL;
    size_t size = 0;
    if (out) *out = NULL;
    int st = lelp__load_begin(out != NULL, path, alloc, &mem, &buf, &size, "lelp_compressor_load_path");
    if (st) return st;
    st = lelp_compressor_load(out, buf, size, alloc);
    lelp__free(&mem, buf, size);
    return st ? lelp__fail_within(st, "lelp_compressor_load_path") : LELP_OK;
}
