/* vec8.h -- eight float32 lanes and four float64 lanes (GCC/Clang vector
 * extensions) for short row loops: the loss's check of its targets.
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

/* *x = n <= 8 floats from p, the other lanes set to fill; called with a
 * constant n = 8 in the loops' body, so the copy is one load there. Vectors
 * go in and out by pointer: by value, GCC notes an ABI change for 32-byte
 * arguments without AVX on every build, although the calls are inlined. */
LELP__VINLINE void lelp__ld8f(lelp__v8f* x, const float* p, int64_t n, float fill)
{
    for (int l = 0; l < 8; l++) (*x)[l] = fill;
    memcpy(x, p, (size_t)n * sizeof(float));
}

/* *acc += the eight lanes of *x in float64, lanes l and l + 4 into lane l */
LELP__VINLINE void lelp__acc8(lelp__v4d* acc, const lelp__v8f* x)
{
    lelp__v4f lo, hi;
    memcpy(&lo, x, sizeof lo);
    memcpy(&hi, (const char*)x + sizeof lo, sizeof hi);
    *acc += __builtin_convertvector(lo, lelp__v4d) + __builtin_convertvector(hi, lelp__v4d);
}

LELP__VINLINE double lelp__hsum4(const lelp__v4d* a)
{
    return ((*a)[0] + (*a)[1]) + ((*a)[2] + (*a)[3]);
}

#endif
