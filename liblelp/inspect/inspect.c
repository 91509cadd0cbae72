/* SPDX-License-Identifier: MIT */
/* inspect.c -- introspection: what a buffer, file or handle is (model,
 * builder state, compressor, loss), its format version, the version of
 * the library that wrote it, its dimensions and its settings, as an
 * opaque lelp_info read through enum-keyed getters. Bindings and tools use
 * these instead of reading the formats' bytes.
 *
 * A buffer is inspected by loading it with its kind's own loader, so it
 * is validated exactly as a load would (and costs what a load costs); the
 * loaded handle then reports like any other. */
#include <string.h>

#include "../common/common.h"
#include "../compress/compress.h"
#include "../fit/fit.h"
#include "../model/model_priv.h"
#include "../train/train.h"

#define LELP__INFO_MAX 48

typedef struct lelp__info_entry {
    int key, is_int;
    int64_t i;
    double x;
} lelp__info_entry;

struct lelp_info {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int n;
    lelp__info_entry e[LELP__INFO_MAX];
};

static void lelp__info_int(lelp_info* info, int key, int64_t v)
{
    if (info->n < LELP__INFO_MAX) info->e[info->n++] = (lelp__info_entry){key, 1, v, 0.0};
}

/* A new info with the fields every kind has, then the kind's settings: the
 * parameter table's entries of that handle family (params.c). */
static int lelp__info_new(const lelp__mem* mem, const void* handle, uint64_t family, int kind, uint32_t format,
                          uint32_t writer, int64_t dim, int64_t C, int64_t S, int64_t k, lelp_info** out,
                          const char* fn)
{
    lelp_info* info = lelp__calloc(mem, sizeof *info);
    if (!info) return lelp__fail(LELP_E_NOMEM, "%s: out of memory", fn);
    info->magic = LELP__MAGIC_INFO;
    info->self = info;
    info->mem = *mem;
    lelp__info_int(info, LELP_INFO_KIND, kind);
    lelp__info_int(info, LELP_INFO_FORMAT_VERSION, format);
    lelp__info_int(info, LELP_INFO_WRITER_VERSION, writer);
    lelp__info_int(info, LELP_INFO_DIM, dim);
    lelp__info_int(info, LELP_INFO_NUM_CLASSES, C);
    lelp__info_int(info, LELP_INFO_SUBCLASSES, S);
    lelp__info_int(info, LELP_INFO_STUDENT_DIM, k);
    for (size_t i = 0; lelp__param_at(i); i++) {
        const lelp__param_info* p = lelp__param_at(i);
        if (p->family != family) continue;
        lelp__info_entry e = {p->id, p->is_int, 0, 0.0};
        lelp__param_read(handle, p, &e.i, &e.x);
        if (info->n < LELP__INFO_MAX) info->e[info->n++] = e;
    }
    *out = info;
    return LELP_OK;
}

static int lelp__info_out(lelp_info** out, const char* fn)
{
    if (!out) return lelp__fail(LELP_E_NULL, "%s: out is NULL", fn);
    *out = NULL;
    return LELP_OK;
}

int lelp_model_inspect(const lelp_model* m, lelp_info** out)
{
    int st = lelp__info_out(out, "lelp_model_inspect");
    if (st || (st = lelp__check_handle(m, LELP__MAGIC_MODEL, "lelp_model_inspect", "model"))) return st;
    return lelp__info_new(&m->mem, m, LELP__MAGIC_MODEL, LELP_KIND_MODEL, m->format_version, m->writer_version, m->d,
                          m->C, m->S, 0, out, "lelp_model_inspect");
}

int lelp_builder_inspect(const lelp_builder* b, lelp_info** out)
{
    int st = lelp__info_out(out, "lelp_builder_inspect");
    if (st || (st = lelp__check_handle(b, LELP__MAGIC_BUILDER, "lelp_builder_inspect", "builder"))) return st;
    return lelp__info_new(&b->mem, b, LELP__MAGIC_BUILDER, LELP_KIND_BUILDER, b->format_version, b->writer_version,
                          b->d, b->C, b->S, 0, out, "lelp_builder_inspect");
}

int lelp_compressor_inspect(const lelp_compressor* c, lelp_info** out)
{
    int st = lelp__info_out(out, "lelp_compressor_inspect");
    if (st || (st = lelp__check_handle(c, LELP__MAGIC_COMPRESSOR, "lelp_compressor_inspect", "compressor"))) return st;
    return lelp__info_new(&c->mem, c, LELP__MAGIC_COMPRESSOR, LELP_KIND_COMPRESSOR, c->format_version,
                          c->writer_version, c->dt, c->C, 0, c->k, out, "lelp_compressor_inspect");
}

int lelp_loss_inspect(const lelp_loss* l, lelp_info** out)
{
    int st = lelp__info_out(out, "lelp_loss_inspect");
    if (st || (st = lelp__check_handle(l, LELP__MAGIC_LOSS, "lelp_loss_inspect", "loss"))) return st;
    /* a loss is never serialized: no format version */
    return lelp__info_new(&l->mem, l, LELP__MAGIC_LOSS, LELP_KIND_LOSS, 0, LELP_VERSION_NUMBER, 0, l->C, l->S, 0, out,
                          "lelp_loss_inspect");
}

/* The kind is the magic's; every other check is the kind's loader's. */
int lelp_inspect(lelp_info** out, const void* src, size_t size, const lelp_allocator* alloc)
{
    int st = lelp__info_out(out, "lelp_inspect");
    if (st) return st;
    if (!src) return lelp__fail(LELP_E_NULL, "lelp_inspect: src is NULL");
    if (size < 8) return lelp__fail(LELP_E_TRUNCATED, "lelp_inspect: %zu bytes is shorter than a magic", size);
    if (memcmp(src, "LELPMODL", 8) == 0) {
        lelp_model* m = NULL;
        if ((st = lelp_model_load(&m, src, size, alloc)) == LELP_OK) st = lelp_model_inspect(m, out);
        lelp_model_free(m);
    } else if (memcmp(src, "LELPBLDR", 8) == 0) {
        lelp_builder* b = NULL;
        if ((st = lelp_builder_load(&b, src, size, alloc)) == LELP_OK) st = lelp_builder_inspect(b, out);
        lelp_builder_free(b);
    } else if (memcmp(src, "LELPCOMP", 8) == 0) {
        lelp_compressor* c = NULL;
        if ((st = lelp_compressor_load(&c, src, size, alloc)) == LELP_OK) st = lelp_compressor_inspect(c, out);
        lelp_compressor_free(c);
    } else {
        return lelp__fail(LELP_E_FORMAT, "lelp_inspect: not a liblelp buffer (unknown magic)");
    }
    return st ? lelp__fail_within(st, "lelp_inspect") : LELP_OK;
}

int lelp_inspect_path(lelp_info** out, const char* path, const lelp_allocator* alloc)
{
    lelp__mem mem;
    uint8_t* buf = NULL;
    size_t size = 0;
    if (out) *out = NULL;
    int st = lelp__load_begin(out != NULL, path, alloc, &mem, &buf, &size, "lelp_inspect_path");
    if (st) return st;
    st = lelp_inspect(out, buf, size, alloc);
    lelp__free(&mem, buf, size);
    return st ? lelp__fail_within(st, "lelp_inspect_path") : LELP_OK;
}

static int lelp__info_find(const lelp_info* info, int key, int is_int, const void* value, const char* fn,
                           const lelp__info_entry** e)
{
    int st = lelp__check_handle(info, LELP__MAGIC_INFO, fn, "info");
    if (st) return st;
    if (!value) return lelp__fail(LELP_E_NULL, "%s: value is NULL", fn);
    for (int i = 0; i < info->n; i++)
        if (info->e[i].key == key && info->e[i].is_int == is_int) {
            *e = &info->e[i];
            return LELP_OK;
        }
    return lelp__fail(LELP_E_PARAM_UNSUPPORTED, "%s: %d is not %s key of this kind", fn, key,
                      is_int ? "an integer" : "a real");
}

int lelp_info_get_int(const lelp_info* info, int key, int64_t* value)
{
    const lelp__info_entry* e = NULL;
    int st = lelp__info_find(info, key, 1, value, "lelp_info_get_int", &e);
    if (st) return st;
    *value = e->i;
    return LELP_OK;
}

int lelp_info_get_double(const lelp_info* info, int key, double* value)
{
    const lelp__info_entry* e = NULL;
    int st = lelp__info_find(info, key, 0, value, "lelp_info_get_double", &e);
    if (st) return st;
    *value = e->x;
    return LELP_OK;
}

void lelp_info_free(lelp_info* info)
{
    if (!info || info->magic != LELP__MAGIC_INFO || info->self != info) return;
    lelp__mem mem = info->mem;
    info->magic = LELP__MAGIC_DEAD;
    lelp__free(&mem, info, sizeof *info);
}
