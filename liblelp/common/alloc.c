/* SPDX-License-Identifier: MIT */
/* alloc.c -- allocation through the per-handle allocator. */
#define _POSIX_C_SOURCE 200112L
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define LELP__ALIGN 64

struct lelp_allocator {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
};

static void* lelp__default_alloc(void* opaque, size_t size, size_t align)
{
    void* p = NULL;
    (void)opaque;
    if (posix_memalign(&p, align, size) != 0) return NULL;
    return p;
}

static void lelp__default_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    (void)size;
    free(p);
}

void lelp__mem_init(lelp__mem* mem, const lelp_allocator* alloc)
{
    if (alloc) {
        *mem = alloc->mem;
    } else {
        mem->alloc = lelp__default_alloc;
        mem->free = lelp__default_free;
        mem->opaque = NULL;
    }
}

/* Zero-byte requests still allocate, so NULL always means failure. */
static size_t lelp__real_size(size_t size)
{
    return size == 0 ? LELP__ALIGN : size;
}

void* lelp__alloc(const lelp__mem* mem, size_t size)
{
    if (size == SIZE_MAX) return NULL;
    return mem->alloc(mem->opaque, lelp__real_size(size), LELP__ALIGN);
}

void* lelp__calloc(const lelp__mem* mem, size_t size)
{
    void* p = lelp__alloc(mem, size);
    if (p) memset(p, 0, lelp__real_size(size));
    return p;
}

int lelp__mem_is_default(const lelp__mem* mem)
{
    return mem->alloc == lelp__default_alloc;
}

void lelp__free(const lelp__mem* mem, void* p, size_t size)
{
    if (p) mem->free(mem->opaque, p, lelp__real_size(size));
}

void* lelp__scratch_reserve(const lelp__mem* mem, lelp__scratch* sc, size_t size)
{
    if (sc->p && sc->bytes >= size) return sc->p;
    void* p = lelp__alloc(mem, size);
    if (!p) return NULL;
    lelp__free(mem, sc->p, sc->bytes);
    sc->p = p;
    sc->bytes = size;
    return p;
}

void lelp__scratch_release(const lelp__mem* mem, lelp__scratch* sc)
{
    lelp__free(mem, sc->p, sc->bytes);
    sc->p = NULL;
    sc->bytes = 0;
}

size_t lelp__bytes(int64_t a, int64_t b, size_t elem)
{
    if (a < 0 || b < 0) return SIZE_MAX;
    if ((uint64_t)a > SIZE_MAX) return SIZE_MAX;
    size_t n = (size_t)a;
    if (b != 0 && n > SIZE_MAX / (size_t)b) return SIZE_MAX;
    n *= (size_t)b;
    if (elem != 0 && n > (SIZE_MAX - 1) / elem) return SIZE_MAX;
    return n * elem;
}

int lelp__check_allocator(const lelp_allocator* alloc, const char* fn)
{
    if (!alloc) return LELP_OK;
    return lelp__check_handle(alloc, LELP__MAGIC_ALLOCATOR, fn, "alloc");
}

int lelp_allocator_create(lelp_allocator** out, lelp_alloc_fn alloc_fn, lelp_free_fn free_fn,
                          void* opaque)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_allocator_create: out is NULL");
    *out = NULL;
    if (!alloc_fn) return lelp__fail(LELP_E_NULL, "lelp_allocator_create: alloc_fn is NULL");
    if (!free_fn) return lelp__fail(LELP_E_NULL, "lelp_allocator_create: free_fn is NULL");
    lelp_allocator* a = alloc_fn(opaque, sizeof *a, LELP__ALIGN);
    if (!a) return lelp__fail(LELP_E_NOMEM, "lelp_allocator_create: allocation failed");
    a->magic = LELP__MAGIC_ALLOCATOR;
    a->self = a;
    a->mem.alloc = alloc_fn;
    a->mem.free = free_fn;
    a->mem.opaque = opaque;
    *out = a;
    return LELP_OK;
}

void lelp_allocator_free(lelp_allocator* a)
{
    if (!a || a->magic != LELP__MAGIC_ALLOCATOR || a->self != a) return;
    lelp__mem mem = a->mem;
    a->magic = LELP__MAGIC_DEAD;
    mem.free(mem.opaque, a, sizeof *a);
}
