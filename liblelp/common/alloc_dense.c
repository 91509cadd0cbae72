/* SPDX-License-Identifier: MIT */
/* alloc_dense.c -- allocation of blocks their owner writes in full. Not in
 * the edge library (EDGE_SRCS): nothing there allocates such blocks, and it
 * keeps that archive's libc calls to the documented few. */
#define _POSIX_C_SOURCE 200112L
#if defined(__linux__)
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include <sys/mman.h>
#endif
#include <stdint.h>
#include <stdlib.h>

#include "common.h"

/* With the default allocator, a block of 4 MiB or more that its owner
 * writes in full or in one contiguous stretch (the beta sample's rows, the
 * update's block, the exact solver's co-moments, whose classes held as rows
 * fill their d x d storage from the end) is 2 MiB-aligned and advised as
 * transparent huge pages where Linux offers them, as NumPy does for its
 * arrays: its first touch then faults once per 2 MiB instead of once per
 * 4 KiB, and a stretch costs at most 2 MiB more resident memory at each
 * end. Measured on a VM where a fault costs ~10 us: 82 ms -> 2.5 ms to
 * first touch 32 MiB, ~0.1 s of a 0.6 s sketch fit; a merge of two
 * Gram-form builders (2 x 500 rows of d = 4096 per class) 90-115 ms -> 6 ms.
 * The advice may be ignored (THP off, another kernel); nothing depends on
 * it. A user allocator gets the request as it is. */
#define LELP__HUGE_MIN ((size_t)4 << 20)
#define LELP__HUGE_ALIGN ((size_t)2 << 20)

void* lelp__alloc_dense(const lelp__mem* mem, size_t size)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (lelp__mem_is_default(mem) && size >= LELP__HUGE_MIN && size != SIZE_MAX) {
        void* p = NULL;
        if (posix_memalign(&p, LELP__HUGE_ALIGN, size) != 0) return NULL;
        (void)madvise(p, size & ~(LELP__HUGE_ALIGN - 1), MADV_HUGEPAGE);
        return p; /* freed by the default allocator's free() */
    }
#endif
    return lelp__alloc(mem, size);
}
