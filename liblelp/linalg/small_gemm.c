/* SPDX-License-Identifier: MIT */
/* small_gemm.c -- the Frequent Directions shrink's two products for the
 * buffers small_eigen.c serves (at most 96 rows): the new rows T = V^T B
 * and the Gram matrix B B^T.
 *
 * Why not BLAS: at 32 x 1024 OpenBLAS's dgemm takes ~70-85 us (~12-14
 * GFLOP/s on one core here), a third of a shrink, and a shrink runs every
 * l + 1 rows (bench_core shrink, docs/performance.md). Here each panel of 32
 * columns of B is copied into a contiguous scratch (in place, rows of
 * d = 1024 doubles are 8 KiB apart, so every row's piece maps to the same
 * L1 sets), and every new row's panel is summed from it in four eight-lane
 * accumulators (one register each with AVX-512, two with AVX2). Each output
 * is one fixed sum over j in order, whatever the blocking or the
 * instruction set (no FMA contraction in ISO C mode), so the AVX-512 and
 * AVX2 clones give the SSE2 bits.
 *
 * The Gram matrix: OpenBLAS's dsyrk takes ~38 us at 32 x 1024 here, more
 * than the eigensolve; four rows against four, eight lanes at a time, take
 * ~15 us (bench_core shrink). Each entry is again one fixed sum (eight lane
 * sums over k < d - d mod 8, reduced in a fixed tree, then the last columns
 * in order), whatever the block it falls in. */
#include <string.h>

#include "linalg.h"
#include "../common/vec8.h"

#define LELP__PANEL 32 /* columns per panel: 8 vectors */

/* Eight doubles: one AVX-512 register, two AVX2 ones (GCC splits the type
 * on narrower clones) */
typedef double lelp__v8d __attribute__((vector_size(64)));

/* eight doubles from p, any alignment (a vector goes out by pointer: by
 * value GCC warns of an ABI change without AVX, although it is inlined) */
LELP__VINLINE void lelp__ld8(lelp__v8d* x, const double* p)
{
    memcpy(x, p, sizeof *x);
}

/* Doubles of scratch lelp__rows_combine needs for n rows: one panel. */
int64_t lelp__rows_combine_work(int64_t n)
{
    return n * LELP__PANEL;
}

/* T (m x d, row-major) = V^T B: row i of T = sum over j < n, in order, of
 * V[i * ldv + j] B_j (B row-major n x d). work: n * 32 doubles. */
LELP__WIDE_CLONES void lelp__rows_combine(const double* V, int64_t ldv, int64_t m, const double* B, int64_t n,
                                          int64_t d, double* T, double* work)
{
    const int64_t d0 = d - d % LELP__PANEL;
    for (int64_t c = 0; c < d0; c += LELP__PANEL) {
        for (int64_t j = 0; j < n; j++) memcpy(work + j * LELP__PANEL, B + j * d + c, LELP__PANEL * sizeof(double));
        for (int64_t i = 0; i < m; i++) {
            const double* v = V + i * ldv;
            const double* p = work;
            lelp__v8d t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
            for (int64_t j = 0; j < n; j++, p += LELP__PANEL) {
                const lelp__v8d w = {v[j], v[j], v[j], v[j], v[j], v[j], v[j], v[j]};
                lelp__v8d x0, x1, x2, x3;
                lelp__ld8(&x0, p), lelp__ld8(&x1, p + 8), lelp__ld8(&x2, p + 16), lelp__ld8(&x3, p + 24);
                t0 += w * x0, t1 += w * x1, t2 += w * x2, t3 += w * x3;
            }
            double* t = T + i * d + c;
            memcpy(t, &t0, sizeof t0), memcpy(t + 8, &t1, sizeof t1), memcpy(t + 16, &t2, sizeof t2);
            memcpy(t + 24, &t3, sizeof t3);
        }
    }
    for (int64_t i = 0; i < m && d0 < d; i++) { /* the last columns: the same sums, one at a time */
        const double* v = V + i * ldv;
        for (int64_t k = d0; k < d; k++) {
            double s = 0.0;
            for (int64_t j = 0; j < n; j++) s += v[j] * B[j * d + k];
            T[i * d + k] = s;
        }
    }
}

/* The lane sums' fixed reduction tree */
LELP__VINLINE double lelp__hsum8(const lelp__v8d* a)
{
    return (((*a)[0] + (*a)[4]) + ((*a)[2] + (*a)[6])) + (((*a)[1] + (*a)[5]) + ((*a)[3] + (*a)[7]));
}

/* x . y over the last columns [k0, d), added in order to s */
static inline double lelp__dot_tail(const double* x, const double* y, int64_t k0, int64_t d, double s)
{
    for (int64_t k = k0; k < d; k++) s += x[k] * y[k];
    return s;
}

/* The 4 x 4 block of dot products of rows a[0..3] with rows b[0..3] (a
 * block on the matrix's edge repeats its last row: the extra sums are
 * computed and not stored), into s[p * 4 + q]. */
LELP__VINLINE void lelp__gram_block(const double* const a[4], const double* const b[4], int64_t d, double s[16])
{
    const int64_t d8 = d & ~INT64_C(7);
    lelp__v8d s00 = {0}, s01 = {0}, s02 = {0}, s03 = {0}, s10 = {0}, s11 = {0}, s12 = {0}, s13 = {0};
    lelp__v8d s20 = {0}, s21 = {0}, s22 = {0}, s23 = {0}, s30 = {0}, s31 = {0}, s32 = {0}, s33 = {0};
    for (int64_t k = 0; k < d8; k += 8) {
        lelp__v8d x0, x1, x2, x3, y0, y1, y2, y3;
        lelp__ld8(&x0, a[0] + k), lelp__ld8(&x1, a[1] + k), lelp__ld8(&x2, a[2] + k), lelp__ld8(&x3, a[3] + k);
        lelp__ld8(&y0, b[0] + k), lelp__ld8(&y1, b[1] + k), lelp__ld8(&y2, b[2] + k), lelp__ld8(&y3, b[3] + k);
        s00 += x0 * y0, s01 += x0 * y1, s02 += x0 * y2, s03 += x0 * y3;
        s10 += x1 * y0, s11 += x1 * y1, s12 += x1 * y2, s13 += x1 * y3;
        s20 += x2 * y0, s21 += x2 * y1, s22 += x2 * y2, s23 += x2 * y3;
        s30 += x3 * y0, s31 += x3 * y1, s32 += x3 * y2, s33 += x3 * y3;
    }
    /* named accumulators, not an array: GCC keeps an array of vectors in memory */
    const lelp__v8d* acc[16] = {&s00, &s01, &s02, &s03, &s10, &s11, &s12, &s13,
                                &s20, &s21, &s22, &s23, &s30, &s31, &s32, &s33};
    for (int p = 0; p < 4; p++)
        for (int q = 0; q < 4; q++) s[p * 4 + q] = lelp__dot_tail(a[p], b[q], d8, d, lelp__hsum8(acc[p * 4 + q]));
}

/* G[i + j * ldg] = B_i . B_j for n >= i >= j (the lower triangle, column-
 * major, as dsyrk's 'L' with B row-major n x d). */
LELP__WIDE_CLONES void lelp__rows_gram(const double* B, int64_t n, int64_t d, double* G, int64_t ldg)
{
    for (int64_t i0 = 0; i0 < n; i0 += 4)
        for (int64_t j0 = 0; j0 <= i0; j0 += 4) {
            const double* a[4];
            const double* b[4];
            double s[16];
            for (int64_t p = 0; p < 4; p++) {
                a[p] = B + (i0 + p < n ? i0 + p : n - 1) * d;
                b[p] = B + (j0 + p < n ? j0 + p : n - 1) * d;
            }
            lelp__gram_block(a, b, d, s);
            for (int64_t p = 0; p < 4 && i0 + p < n; p++)
                for (int64_t q = 0; q < 4 && j0 + q <= i0 + p; q++) G[(i0 + p) + (j0 + q) * ldg] = s[p * 4 + q];
        }
}
