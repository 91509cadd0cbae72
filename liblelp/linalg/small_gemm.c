/* SPDX-License-Identifier: MIT */
/* small_gemm.c -- the Frequent Directions shrink's new rows T = V^T B for
 * the buffers small_eigen.c serves (at most 96 rows).
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
 * AVX2 clones give the SSE2 bits. (The Gram matrix B B^T stays with
 * dsyrk: a kernel of this kind was no faster there.) */
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
