/* SPDX-License-Identifier: MIT */
/* test_small_gemm.c -- small_gemm.c (the sketch shrink's T = V^T B and
 * Gram matrix B B^T for small buffers). Its contract is a fixed summation order: row i of T, column k,
 * is ((0 + V[i][0] B[0][k]) + V[i][1] B[1][k]) + ... in j order, whatever
 * the panel blocking or the instruction set. So it must equal, bit for bit,
 * the plain triple loop below, on shapes that cover whole panels, the
 * columns past the last panel (d mod 32 != 0), d < 32 (no panel at all),
 * one row, and the shrink's shapes (l - 1 rows out of 2l, d = 1024); and it
 * must agree with cblas_dgemm to rounding (1e-13 relative to sum |v b|).
 * The Gram kernel's order: eight lane sums over k < d - d mod 8 (lane l
 * takes k = l mod 8), reduced as ((s0 + s4) + (s2 + s6)) + ((s1 + s5) +
 * (s3 + s7)), then the last columns added in order; the same for every
 * entry, whichever 4 x 4 block (or edge block) holds it. */
#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../liblelp/linalg/linalg.h" /* lelp__rows_combine: an internal symbol of liblelp.a */

static void one_shape(int64_t m, int64_t n, int64_t d, int64_t ldv, uint64_t seed)
{
    lelp__rng rng;
    lelp__rng_init(&rng, seed, 0, 0);
    double* V = malloc(sizeof(double) * (size_t)(m * ldv + 1));
    double* B = malloc(sizeof(double) * (size_t)(n * d));
    double* T = malloc(sizeof(double) * (size_t)(m * d + 1));
    double* R = malloc(sizeof(double) * (size_t)(m * d + 1));
    double* G = malloc(sizeof(double) * (size_t)(m * d + 1));
    double* work = malloc(sizeof(double) * (size_t)lelp__rows_combine_work(n));
    assert_true(V && B && T && R && G && work);
    for (int64_t i = 0; i < m * ldv; i++) V[i] = lelp__rng_uniform(&rng) - 0.5;
    for (int64_t i = 0; i < n * d; i++) B[i] = (lelp__rng_uniform(&rng) - 0.5) * (double)(1 + i % 7);
    lelp__rows_combine(V, ldv, m, B, n, d, T, work);
    for (int64_t i = 0; i < m; i++)
        for (int64_t k = 0; k < d; k++) {
            double s = 0.0;
            for (int64_t j = 0; j < n; j++) s += V[i * ldv + j] * B[j * d + k];
            R[i * d + k] = s;
        }
    assert_memory_equal(T, R, sizeof(double) * (size_t)(m * d));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d, (int)n, 1.0, V, (int)ldv, B, (int)d, 0.0,
                G, (int)d);
    for (int64_t i = 0; i < m; i++)
        for (int64_t k = 0; k < d; k++) {
            double mag = 0.0;
            for (int64_t j = 0; j < n; j++) mag += fabs(V[i * ldv + j] * B[j * d + k]);
            assert_true(fabs(T[i * d + k] - G[i * d + k]) <= 1e-13 * mag + 1e-300);
        }
    free(V);
    free(B);
    free(T);
    free(R);
    free(G);
    free(work);
}

static void fixed_order_on_every_shape(void** state)
{
    (void)state;
    const int64_t shapes[][4] = {
        {15, 32, 1024, 32}, /* the shrink at l = 16, d = 1024 */
        {47, 96, 1000, 96}, /* l = 48: 8 columns past the panels */
        {23, 48, 4096, 48}, {1, 1, 1, 1}, {3, 5, 37, 5}, {5, 7, 31, 9}, {5, 7, 32, 7},
        {5, 7, 33, 7},      {2, 3, 64, 4}, {4, 2, 95, 2},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        one_shape(shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], 0xC0FFEE + s);
}

/* Signed zeros and exact cancellation keep the loop's semantics too: a
 * row of zeros gives +0.0 (the sum starts at +0.0), not -0.0. */
static void zeros_stay_positive(void** state)
{
    (void)state;
    enum { M = 2, N = 3, D = 40 };
    double V[M * N] = {-1.0, -1.0, -1.0, 1.0, -1.0, 0.0};
    double B[N * D], T[M * D], work[N * 32];
    for (int i = 0; i < N * D; i++) B[i] = i < D ? -0.0 : 0.0;
    lelp__rows_combine(V, N, M, B, N, D, T, work);
    for (int i = 0; i < M * D; i++) {
        assert_true(T[i] == 0.0);
        assert_false(signbit(T[i]));
    }
}

/* The Gram kernel's documented order, written out lane by lane */
static double gram_entry(const double* x, const double* y, int64_t d)
{
    double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    const int64_t d8 = d - d % 8;
    for (int64_t k = 0; k < d8; k++) s[k % 8] += x[k] * y[k];
    double t = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
    for (int64_t k = d8; k < d; k++) t += x[k] * y[k];
    return t;
}

/* Every entry of the lower triangle equals the reference bit for bit, the
 * upper triangle is left alone, and dsyrk agrees to rounding. */
static void gram_shape(int64_t n, int64_t d, int64_t ldg, uint64_t seed)
{
    lelp__rng rng;
    lelp__rng_init(&rng, seed, 0, 0);
    double* B = malloc(sizeof(double) * (size_t)(n * d));
    double* G = malloc(sizeof(double) * (size_t)(ldg * n));
    double* R = malloc(sizeof(double) * (size_t)(ldg * n));
    assert_true(B && G && R);
    for (int64_t i = 0; i < n * d; i++) B[i] = (lelp__rng_uniform(&rng) - 0.5) * (double)(1 + i % 5);
    for (int64_t i = 0; i < ldg * n; i++) G[i] = R[i] = -7.0; /* a sentinel outside the written entries */
    lelp__rows_gram(B, n, d, G, ldg);
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < ldg; i++) {
            const double want = i >= j && i < n ? gram_entry(B + i * d, B + j * d, d) : -7.0;
            assert_memory_equal(&G[i + j * ldg], &want, sizeof want);
        }
    cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)n, (int)d, 1.0, B, (int)d, 0.0, R, (int)ldg);
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = j; i < n; i++) {
            double mag = 0.0;
            for (int64_t k = 0; k < d; k++) mag += fabs(B[i * d + k] * B[j * d + k]);
            assert_true(fabs(G[i + j * ldg] - R[i + j * ldg]) <= 1e-13 * mag + 1e-300);
        }
    free(B);
    free(G);
    free(R);
}

static void gram_fixed_order_on_every_shape(void** state)
{
    (void)state;
    const int64_t shapes[][3] = {
        {32, 1024, 32}, /* the shrink at l = 16, d = 1024 */
        {96, 1000, 96}, /* the largest buffer it serves, d mod 8 = 0 but not a panel */
        {20, 1030, 20}, /* l = 10 (S = 2): an edge block, six last columns */
        {1, 1, 1},      {1, 9, 3}, {2, 7, 2}, {3, 8, 3}, {5, 17, 6}, {7, 33, 7}, {33, 64, 40},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        gram_shape(shapes[s][0], shapes[s][1], shapes[s][2], 0xBEEF + s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_order_on_every_shape),
        cmocka_unit_test(zeros_stay_positive),
        cmocka_unit_test(gram_fixed_order_on_every_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
