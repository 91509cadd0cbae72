/* SPDX-License-Identifier: MIT */
/* vec8.h -- eight float32 lanes and four float64 lanes (GCC/Clang vector
 * extensions) for short row loops: the loss's check of its targets and its
 * KL chunks.
 *
 * Why: a loss row holds C*S values (16 in the common case); GCC leaves
 * such short loops scalar or wraps them in alias checks and epilogues that
 * cost more than the arithmetic. These types make the lanes explicit. Each
 * lane is plain IEEE arithmetic (ISO C mode: no FMA contraction), so the
 * bits do not depend on the instruction set: SSE2 runs a vector as two
 * halves, AVX2 as one. */
#ifndef LELP_VEC8_H
#define LELP_VEC8_H

#include <stdint.h>
#include <string.h>

typedef float lelp__v8f __attribute__((vector_size(32)));
typedef int32_t lelp__v8i __attribute__((vector_size(32)));
typedef float lelp__v4f __attribute__((vector_size(16)));
typedef double lelp__v4d __attribute__((vector_size(32)));

#define LELP__VINLINE static inline __attribute__((always_inline))

/* The exp/log and loss loops also get an AVX-512 clone (x86-64-v4): twice
 * the lanes of AVX2 for the float64 polynomials, the same IEEE operations
 * lane by lane (no FMA contraction: ISO C mode, -ffp-contract=off), so the same bits as the AVX2 and
 * default clones. Off where LELP__CLONES is off
 * (sanitizers, clang, non-glibc). A file built with contraction
 * (project_kernel.c) uses the levels x86-64-v3 (AVX2 with FMA) and v4
 * (LELP__X86_LEVELS, GCC 11 and later), whose FMAs give the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__GLIBC__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__) /* internal.h's LELP__CLONES test */
#if __GNUC__ >= 11 /* the x86-64-v4 level name */
#define LELP__WIDE_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#define LELP__X86_LEVELS 1 /* the two below exist */
#define LELP__TARGET_V4 __attribute__((target("arch=x86-64-v4")))
#define LELP__CLONES_V3 __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define LELP__WIDE_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#else
#define LELP__WIDE_CLONES
#endif

/* *x = n <= 8 floats from p, the other lanes set to fill; called with a
 * constant n = 8 in the loops' body, so the copy is one load there. Vectors
 * go in and out by pointer: by value, GCC notes an ABI change for 32-byte
 * arguments without AVX on every build, although the calls are inlined. */
LELP__VINLINE void lelp__ld8f(lelp__v8f* x, const float* p, int64_t n, float fill)
{
    for (int l = 0; l < 8; l++) (*x)[l] = fill;
    memcpy(x, p, (size_t)n * sizeof(float));
}

LELP__VINLINE double lelp__hsum4(const lelp__v4d* a)
{
    return ((*a)[0] + (*a)[1]) + ((*a)[2] + (*a)[3]);
}

/* *lo, *hi = the lanes 0-3 and 4-7 of *x in float64 (exact). Built lane by
 * lane: GCC 12 turns __builtin_convertvector on 4-lane halves into 2-lane
 * conversions and inserts, twice the instructions. */
LELP__VINLINE void lelp__widen8(lelp__v4d* lo, lelp__v4d* hi, const lelp__v8f* x)
{
    const lelp__v4d a = {(*x)[0], (*x)[1], (*x)[2], (*x)[3]}, b = {(*x)[4], (*x)[5], (*x)[6], (*x)[7]};
    *lo = a;
    *hi = b;
}

/* *acc += the eight lanes of *x in float64, lanes l and l + 4 into lane l */
LELP__VINLINE void lelp__acc8(lelp__v4d* acc, const lelp__v8f* x)
{
    lelp__v4d lo, hi;
    lelp__widen8(&lo, &hi, x);
    *acc += lo + hi;
}

/* *x = *lo, *hi rounded to float32 */
LELP__VINLINE void lelp__narrow8(lelp__v8f* x, const lelp__v4d* lo, const lelp__v4d* hi)
{
    const lelp__v4f a = __builtin_convertvector(*lo, lelp__v4f), b = __builtin_convertvector(*hi, lelp__v4f);
    *x = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
}

/* *m = lanewise max(*m, *x); lanes are finite (inputs are checked first) */
LELP__VINLINE void lelp__max8(lelp__v8f* m, const lelp__v8f* x)
{
    const lelp__v8i c = (lelp__v8i)(*m > *x);
    *m = (lelp__v8f)((c & (lelp__v8i)*m) | (~c & (lelp__v8i)*x));
}

/* Four rows' partial sums (4 doubles per row from p, any alignment) ->
 * lane j = the sum of row j, as ((p0 + p1) + (p2 + p3)) within each row */
LELP__VINLINE void lelp__sum4_rows(lelp__v4d* out, const double* p)
{
    lelp__v4d r0, r1, r2, r3; /* named, not an array: GCC keeps an array of vectors in memory */
    memcpy(&r0, p, sizeof r0);
    memcpy(&r1, p + 4, sizeof r1);
    memcpy(&r2, p + 8, sizeof r2);
    memcpy(&r3, p + 12, sizeof r3);
    const lelp__v4d a = __builtin_shufflevector(r0, r1, 0, 4, 2, 6) + __builtin_shufflevector(r0, r1, 1, 5, 3, 7);
    const lelp__v4d b = __builtin_shufflevector(r2, r3, 0, 4, 2, 6) + __builtin_shufflevector(r2, r3, 1, 5, 3, 7);
    *out = __builtin_shufflevector(a, b, 0, 1, 4, 5) + __builtin_shufflevector(a, b, 2, 3, 6, 7);
}

#endif
