/* SPDX-License-Identifier: MIT */
/* project_kernel.c -- the model's projections F = X U^T of a batch, with
 * X = flush(flush(H) - center) (or flush(H)), in one read of H: no BLAS.
 *
 * Why not centre a copy and call sgemm: at C*S = 16 the copy and sgemm's
 * own packing of it cost as much as the multiply, and every byte of H went
 * through memory three times. Here a group of rows is flushed and centred
 * 32 columns at a time into a buffer that stays in L1 (the next columns
 * while the multiply works on these), and the rows 12 ahead are
 * prefetched. NaN/Inf are not tested here: they reach every output of
 * their row (callers test the K outputs instead of the d inputs).
 *
 * U is packed once per model (lelp__project_pack): per pair of columns j,
 * j + 1, tiles of 8 directions, 16 lanes each, direction m in lanes 2m
 * (column j) and 2m + 1 (column j + 1). One broadcast of (x_j, x_j+1)
 * times a tile is 16 multiply-adds; so each broadcast feeds a whole tile
 * and an FMA unit, not the loads, sets the pace. Each output is the sum of
 * its even-column and its odd-column partial sums, each taken over j in
 * order, in float32: the same for every vector width (the lanes are fixed
 * at 16 by the layout, AVX2 runs them as halves), every position of the
 * row in its group and every number of rows in the call, so a row gives
 * the same bits alone or in any shard. The multiply and add are contracted
 * (the Makefile builds this file with -ffp-contract=fast; sgemm's kernels
 * use FMA too): the x86-64-v3 and v4 code and FMA targets (aarch64,
 * s390x) give the same bits; code without FMA (the x86-64 baseline, clang
 * without -march) rounds each product first: within the same bound. */
#include <string.h>

#include "linalg.h"
#include "../common/vec8.h"

typedef float lelp__v16f __attribute__((vector_size(64)));
typedef uint32_t lelp__v16u __attribute__((vector_size(64)));
typedef int32_t lelp__v16i __attribute__((vector_size(64)));
typedef uint32_t lelp__v8u __attribute__((vector_size(32)));
typedef int32_t lelp__v8i __attribute__((vector_size(32)));
typedef uint64_t lelp__v8u64 __attribute__((vector_size(64)));
typedef uint64_t lelp__v4u64 __attribute__((vector_size(32)));
typedef float lelp__v16f_u __attribute__((vector_size(64), aligned(4))); /* any float's address */

#define LELP__KT LELP__PROJECT_LANES /* directions per tile: 8 directions x 2 columns fill 16 lanes */
#define LELP__KRMAX 12 /* rows per group at most */
#define LELP__KJ 32 /* columns prepared per step: preparing and multiplying overlap in the core's window */
#define LELP__KPF 12 /* prefetch the rows this many rows ahead: with the hardware prefetcher alone a
                        call took ~1.4 times as long, waiting for memory */
#define LELP__KBLOCK 65536 /* floats of H per block when U takes more than two tiles: the block stays in
                              L2 while each pair of tiles passes over it */

int64_t lelp__project_kpad(int64_t K)
{
    return (K + LELP__KT - 1) / LELP__KT * LELP__KT;
}

/* Floats per tile of the packed copy: 16 per column pair. */
static int64_t lelp__tile_floats(int64_t d)
{
    return (d + 1) / 2 * 2 * LELP__KT;
}

int64_t lelp__project_packed(int64_t K, int64_t d)
{
    return lelp__project_kpad(K) / LELP__KT * lelp__tile_floats(d);
}

/* Where U[k][j] sits in the packed copy: tiles of 8 directions one after
 * the other (a pass over the rows reads one or two tiles, each
 * contiguous); in a tile, column pairs (j even, j + 1) of 16 floats,
 * direction k % 8 in lanes 2 (k % 8) (column j) and 2 (k % 8) + 1 (column
 * j + 1). */
static int64_t lelp__packed_at(int64_t d, int64_t k, int64_t j)
{
    return k / LELP__KT * lelp__tile_floats(d) + j / 2 * 2 * LELP__KT + k % LELP__KT * 2 + j % 2;
}

float lelp__project_entry(const float* Ut, int64_t d, int64_t k, int64_t j)
{
    return Ut[lelp__packed_at(d, k, j)];
}

/* b with a subnormal (exponent bits zero) replaced by a zero of its sign:
 * integer tests, which take no microcode assist. */
static inline uint32_t lelp__flush_bits(uint32_t b)
{
    return b & ((b & LELP__F32_EXPONENT) ? 0xffffffffu : 0x80000000u);
}

void lelp__project_pack(const double* U, int64_t K, int64_t d, float* Ut)
{
    memset(Ut, 0, (size_t)lelp__project_packed(K, d) * sizeof(float));
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < d; j++) {
            float u = (float)U[k * d + j];
            uint32_t b;
            memcpy(&b, &u, sizeof b);
            b = lelp__flush_bits(b); /* as the rows are: the lanes never see a subnormal */
            memcpy(&Ut[lelp__packed_at(d, k, j)], &b, sizeof b);
        }
}

/* The same on 16 (or 8) lanes: e - 1 has its top bit set iff the
 * exponent bits e are zero (three instructions, no mask registers). */
LELP__VINLINE void lelp__flush16(lelp__v16u* b)
{
    const lelp__v16i zero = (lelp__v16i)((*b & LELP__F32_EXPONENT) - 1u) >> 31;
    *b &= ~(lelp__v16u)zero | 0x80000000u;
}

LELP__VINLINE void lelp__flush8(lelp__v8u* b)
{
    const lelp__v8i zero = (lelp__v8i)((*b & LELP__F32_EXPONENT) - 1u) >> 31;
    *b &= ~(lelp__v8u)zero | 0x80000000u;
}

/* x[0..16) = the flushed (and centred, then flushed) h[0..16), as one
 * vector of 16 lanes (W = 16) or two of 8: a 64-byte vector on a target
 * with 32-byte registers goes through the stack. */
LELP__VINLINE void lelp__prep16(const int W, const float* h, const float* c, float* x)
{
    if (W == 16) {
        lelp__v16u b;
        memcpy(&b, h, sizeof b);
        lelp__flush16(&b);
        if (c) {
            lelp__v16f v, cv;
            memcpy(&v, &b, sizeof v);
            memcpy(&cv, c, sizeof cv);
            v -= cv;
            memcpy(&b, &v, sizeof b);
            lelp__flush16(&b);
        }
        memcpy(x, &b, sizeof b);
        return;
    }
    for (int l = 0; l < 16; l += 8) {
        lelp__v8u b;
        memcpy(&b, h + l, sizeof b);
        lelp__flush8(&b);
        if (c) {
            lelp__v8f v, cv;
            memcpy(&v, &b, sizeof v);
            memcpy(&cv, c + l, sizeof cv);
            v -= cv;
            memcpy(&b, &v, sizeof b);
            lelp__flush8(&b);
        }
        memcpy(x + l, &b, sizeof b);
    }
}

/* The same for len < 16 values, one at a time: the last step of a row
 * whose width is not a multiple of 32, once per row, out of line. */
static __attribute__((noinline)) void lelp__prep_tail(const float* h, const float* c, float* x, int64_t len)
{
    for (int64_t j = 0; j < len; j++) {
        uint32_t b;
        memcpy(&b, h + j, sizeof b);
        b = lelp__flush_bits(b);
        if (c) {
            float v;
            memcpy(&v, &b, sizeof v);
            v -= c[j];
            memcpy(&b, &v, sizeof b);
            b = lelp__flush_bits(b);
        }
        memcpy(x + j, &b, sizeof b);
    }
}

/* Columns [j0, j0 + len) of nr rows (H rows d apart) into x, flushed and
 * centred; an odd len gets a zero after it, the other column of its pair. */
LELP__VINLINE void lelp__prep_rows(const int W, const float* H, int64_t nr, int64_t d, const float* c, int64_t j0,
                                   int64_t len, float (*x)[LELP__KJ])
{
    for (int64_t r = 0; r < nr; r++) {
        const float* h = H + r * d + j0;
        int64_t l = 0;
        if (len == LELP__KJ) { /* the common step: a constant trip count */
            for (; l < LELP__KJ; l += 16) lelp__prep16(W, h + l, c ? c + j0 + l : NULL, x[r] + l);
        } else {
            for (; l + 16 <= len; l += 16) lelp__prep16(W, h + l, c ? c + j0 + l : NULL, x[r] + l);
            lelp__prep_tail(h + l, c ? c + j0 + l : NULL, x[r] + l, len - l);
            if (len % 2) x[r][len] = 0.0f;
        }
    }
}

/* Lanes 2m and 2m + 1 of *p: columns j and j + 1 of direction m. */
LELP__VINLINE void lelp__bcast2(lelp__v16f* v, const float* p)
{
    uint64_t pair;
    memcpy(&pair, p, sizeof pair);
    const lelp__v8u64 w = {pair, pair, pair, pair, pair, pair, pair, pair};
    memcpy(v, &w, sizeof *v);
}

/* out[0..n) = v[0..n), n <= 16: a fixed count of lane tests (masked
 * stores) rather than a memcpy of variable size, a library call per row. */
LELP__VINLINE void lelp__store_n(float* out, const float* v, int64_t n)
{
    if (n == 16) {
        memcpy(out, v, 16 * sizeof(float));
        return;
    }
    for (int64_t l = 0; l < 16; l++)
        if (l < n) out[l] = v[l];
}

/* Sums of the even and odd columns of directions 0..7 (*a) and 8..15 (*b):
 * out[0..16). */
LELP__VINLINE void lelp__store_pairs(float* out, const lelp__v16f* a, const lelp__v16f* b)
{
    const lelp__v16f even = __builtin_shufflevector(*a, *b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const lelp__v16f odd = __builtin_shufflevector(*a, *b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const lelp__v16f sum = even + odd;
    memcpy(out, &sum, sizeof sum);
}

/* lelp__bcast2 and lelp__store_pairs on 8-lane halves: *a, *b directions
 * 0..3 and 4..7, *c, *e directions 8..11 and 12..15. */
LELP__VINLINE void lelp__bcast2_8(lelp__v8f* v, const float* p)
{
    uint64_t pair;
    memcpy(&pair, p, sizeof pair);
    const lelp__v4u64 w = {pair, pair, pair, pair};
    memcpy(v, &w, sizeof *v);
}

LELP__VINLINE void lelp__store_pairs8(float* out, const lelp__v8f* a, const lelp__v8f* b, const lelp__v8f* c,
                                      const lelp__v8f* e)
{
    const lelp__v8f lo = __builtin_shufflevector(*a, *b, 0, 2, 4, 6, 8, 10, 12, 14) +
                         __builtin_shufflevector(*a, *b, 1, 3, 5, 7, 9, 11, 13, 15);
    const lelp__v8f hi = __builtin_shufflevector(*c, *e, 0, 2, 4, 6, 8, 10, 12, 14) +
                         __builtin_shufflevector(*c, *e, 1, 3, 5, 7, 9, 11, 13, 15);
    memcpy(out, &lo, sizeof lo);
    memcpy(out + 8, &hi, sizeof hi);
}

/* The multiply-adds of one column pair for row r of a group: TT == 2
 * feeds accumulators p (tile 0) and q (tile 1), TT == 1 accumulator p.
 * Macros over named accumulators: GCC keeps an array of vectors, or a
 * vector wider than the target's, in memory. */
#define LELP__ROW(r, p, q)                                      \
    if ((r) < R) {                                              \
        lelp__v16f b_;                                          \
        lelp__bcast2(&b_, xs[r] + j);                           \
        p += b_ * u0;                                           \
        if (TT == 2) q += b_ * u1;                              \
    }
#define LELP__STORE(r, p, q) \
    if ((r) < R) lelp__store_pairs(sums[r], &(p), TT == 2 ? &(q) : &(p))

/* TT <= 2 tiles (8 TT directions) for a group of nr <= R rows (H rows d
 * apart, R * TT <= 12): out[r*K + 0..nk) = the even-column sum + the
 * odd-column sum of x_r[j] U[k][j]. The R rows share each U load and each
 * broadcast feeds TT FMAs. The accumulators stay in registers over all of
 * d. u: the first tile, ts floats before the second; pf: rows to prefetch
 * alongside, or NULL. */
LELP__VINLINE void lelp__group(const int R, const int TT, const float* H, int64_t nr, int64_t d, const float* c,
                               const float* u, int64_t ts, const float* pf, float* out, int64_t K, int64_t nk)
{
    _Alignas(64) float x[2][LELP__KRMAX][LELP__KJ];
    for (int64_t r = nr; r < R; r++) { /* rows past the end: zeros, their sums are dropped */
        memset(x[0][r], 0, sizeof x[0][r]);
        memset(x[1][r], 0, sizeof x[1][r]);
    }
    lelp__v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0}, a8 = {0}, a9 = {0},
               a10 = {0}, a11 = {0};
    _Alignas(64) float sums[LELP__KRMAX][16];
    lelp__prep_rows(16, H, nr, d, c, 0, d < LELP__KJ ? d : LELP__KJ, x[0]);
    for (int64_t j0 = 0, s = 0; j0 < d; j0 += LELP__KJ, s ^= 1) {
        const int64_t len = d - j0 < LELP__KJ ? d - j0 : LELP__KJ, j1 = j0 + LELP__KJ;
        /* the next step's columns first: no dependence on this step's
         * multiply, so the two overlap instead of taking turns */
        if (j1 < d) lelp__prep_rows(16, H, nr, d, c, j1, d - j1 < LELP__KJ ? d - j1 : LELP__KJ, x[s ^ 1]);
        if (pf)
            for (int64_t r = 0; r < R; r++)
                for (int64_t l = 0; l < len; l += 16) __builtin_prefetch(pf + r * d + j0 + l);
        float(*xs)[LELP__KJ] = x[s];
        const float* up = u + j0 * LELP__KT;
        for (int64_t j = 0; j < len; j += 2, up += 2 * LELP__KT) {
            lelp__v16f u0, u1;
            /* volatile: one load each, held in a register; otherwise GCC
             * folds the load into every FMA that uses it (x86 allows one
             * memory operand, and the broadcast cannot take it) */
            u0 = *(const volatile lelp__v16f_u*)up;
            u1 = TT == 2 ? *(const volatile lelp__v16f_u*)(up + ts) : u0;
            if (TT == 2) {
                LELP__ROW(0, a0, a1) LELP__ROW(1, a2, a3) LELP__ROW(2, a4, a5)
                LELP__ROW(3, a6, a7) LELP__ROW(4, a8, a9) LELP__ROW(5, a10, a11)
            } else {
                LELP__ROW(0, a0, a0) LELP__ROW(1, a1, a1) LELP__ROW(2, a2, a2) LELP__ROW(3, a3, a3)
                LELP__ROW(4, a4, a4) LELP__ROW(5, a5, a5) LELP__ROW(6, a6, a6) LELP__ROW(7, a7, a7)
                LELP__ROW(8, a8, a8) LELP__ROW(9, a9, a9) LELP__ROW(10, a10, a10) LELP__ROW(11, a11, a11)
            }
        }
    }
    if (TT == 2) {
        LELP__STORE(0, a0, a1);
        LELP__STORE(1, a2, a3);
        LELP__STORE(2, a4, a5);
        LELP__STORE(3, a6, a7);
        LELP__STORE(4, a8, a9);
        LELP__STORE(5, a10, a11);
    } else {
        LELP__STORE(0, a0, a0);
        LELP__STORE(1, a1, a1);
        LELP__STORE(2, a2, a2);
        LELP__STORE(3, a3, a3);
        LELP__STORE(4, a4, a4);
        LELP__STORE(5, a5, a5);
        LELP__STORE(6, a6, a6);
        LELP__STORE(7, a7, a7);
        LELP__STORE(8, a8, a8);
        LELP__STORE(9, a9, a9);
        LELP__STORE(10, a10, a10);
        LELP__STORE(11, a11, a11);
    }
    for (int64_t r = 0; r < nr; r++) lelp__store_n(out + r * K, sums[r], nk);
}
#undef LELP__ROW
#undef LELP__STORE

/* The same with 8-lane vectors (half a tile each) for targets with 16
 * vector registers of 8 floats (AVX2) or fewer lanes: R * TT <= 4, so the
 * 2 R TT accumulators, the U halves and a broadcast fit in 16 registers.
 * Each lane does the same arithmetic as in lelp__group: the same bits. */
#define LELP__ROW8(r, p0, p1, q0, q1)                           \
    if ((r) < R) {                                              \
        lelp__v8f b_;                                           \
        lelp__bcast2_8(&b_, xs[r] + j);                         \
        p0 += b_ * u0;                                          \
        p1 += b_ * u1;                                          \
        if (TT == 2) {                                          \
            q0 += b_ * u2;                                      \
            q1 += b_ * u3;                                      \
        }                                                       \
    }
#define LELP__STORE8(r, p0, p1, q0, q1) \
    if ((r) < R) lelp__store_pairs8(sums[r], &(p0), &(p1), &(q0), &(q1))

LELP__VINLINE void lelp__group8(const int R, const int TT, const float* H, int64_t nr, int64_t d, const float* c,
                                const float* u, int64_t ts, const float* pf, float* out, int64_t K, int64_t nk)
{
    _Alignas(64) float x[2][LELP__KRMAX][LELP__KJ];
    for (int64_t r = nr; r < R; r++) {
        memset(x[0][r], 0, sizeof x[0][r]);
        memset(x[1][r], 0, sizeof x[1][r]);
    }
    lelp__v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
    _Alignas(64) float sums[LELP__KRMAX][16];
    lelp__prep_rows(8, H, nr, d, c, 0, d < LELP__KJ ? d : LELP__KJ, x[0]);
    for (int64_t j0 = 0, s = 0; j0 < d; j0 += LELP__KJ, s ^= 1) {
        const int64_t len = d - j0 < LELP__KJ ? d - j0 : LELP__KJ, j1 = j0 + LELP__KJ;
        if (j1 < d) lelp__prep_rows(8, H, nr, d, c, j1, d - j1 < LELP__KJ ? d - j1 : LELP__KJ, x[s ^ 1]);
        if (pf)
            for (int64_t r = 0; r < R; r++)
                for (int64_t l = 0; l < len; l += 16) __builtin_prefetch(pf + r * d + j0 + l);
        float(*xs)[LELP__KJ] = x[s];
        const float* up = u + j0 * LELP__KT;
        for (int64_t j = 0; j < len; j += 2, up += 2 * LELP__KT) {
            lelp__v8f u0, u1, u2, u3;
            memcpy(&u0, up, sizeof u0);
            memcpy(&u1, up + 8, sizeof u1);
            memcpy(&u2, TT == 2 ? up + ts : up, sizeof u2);
            memcpy(&u3, TT == 2 ? up + ts + 8 : up, sizeof u3);
            if (TT == 2) {
                LELP__ROW8(0, a0, a1, a2, a3) LELP__ROW8(1, a4, a5, a6, a7)
            } else {
                LELP__ROW8(0, a0, a1, a0, a1) LELP__ROW8(1, a2, a3, a2, a3)
                LELP__ROW8(2, a4, a5, a4, a5) LELP__ROW8(3, a6, a7, a6, a7)
            }
        }
    }
    if (TT == 2) {
        LELP__STORE8(0, a0, a1, a2, a3);
        LELP__STORE8(1, a4, a5, a6, a7);
    } else {
        LELP__STORE8(0, a0, a1, a0, a1);
        LELP__STORE8(1, a2, a3, a2, a3);
        LELP__STORE8(2, a4, a5, a4, a5);
        LELP__STORE8(3, a6, a7, a6, a7);
    }
    for (int64_t r = 0; r < nr; r++) lelp__store_n(out + r * K, sums[r], nk);
}
#undef LELP__ROW8
#undef LELP__STORE8

/* The tiles t, t + 1 (or t alone, the last of an odd count) of rows [i0,
 * i0 + nb), in groups of rows; the rows LELP__KPF ahead are prefetched on
 * the first pass. */
LELP__VINLINE void lelp__tiles(const int wide, const float* H, int64_t n, int64_t i0, int64_t nb, int64_t d,
                               const float* c, const float* Ut, int64_t K, int64_t t, float* F)
{
    const int64_t kpad = lelp__project_kpad(K), k0 = t * LELP__KT, ts = lelp__tile_floats(d);
    const int TT = kpad - k0 >= 2 * LELP__KT ? 2 : 1;
    const int R = (wide ? 12 : 4) / TT;
    const int64_t nk = K - k0 < TT * LELP__KT ? K - k0 : TT * LELP__KT;
    for (int64_t g = 0; g < nb; g += R) {
        const int64_t nr = nb - g < R ? nb - g : R, ahead = i0 + g + LELP__KPF;
        const float* pf = t == 0 && ahead + R <= n ? H + ahead * d : NULL;
        const float* h = H + (i0 + g) * d;
        const float* u = Ut + t * ts;
        float* out = F + (i0 + g) * K + k0;
        if (wide && TT == 2)
            lelp__group(6, 2, h, nr, d, c, u, ts, pf, out, K, nk);
        else if (wide)
            lelp__group(12, 1, h, nr, d, c, u, ts, pf, out, K, nk);
        else if (TT == 2)
            lelp__group8(2, 2, h, nr, d, c, u, ts, pf, out, K, nk);
        else
            lelp__group8(4, 1, h, nr, d, c, u, ts, pf, out, K, nk);
    }
}

/* Rows per block: with at most two tiles (C*S <= 16) each row is read once
 * and the block is the call; with more, a block of about LELP__KBLOCK
 * floats of H is read from memory by the first pass and from L2 by the
 * others. wide: 32 vector registers of 16 floats (AVX-512), where the
 * FMA's latency needs 12 accumulators to keep both units busy; 16
 * registers of 8 floats (AVX2) hold 8. The rows' results do not depend on
 * it. */
LELP__VINLINE void lelp__rows(const int wide, const float* H, int64_t n, int64_t d, const float* center,
                              const float* Ut, int64_t K, float* F)
{
    const int64_t ntile = lelp__project_kpad(K) / LELP__KT;
    int64_t rb = ntile <= 2 ? n : LELP__KBLOCK / d / LELP__KRMAX * LELP__KRMAX;
    rb = rb < LELP__KRMAX ? LELP__KRMAX : rb;
    for (int64_t i0 = 0; i0 < n; i0 += rb) {
        const int64_t nb = n - i0 < rb ? n - i0 : rb;
        for (int64_t t = 0; t < ntile; t += 2) {
            lelp__tiles(wide, H, n, i0, nb, d, center, Ut, K, t, F);
        }
    }
}

#if defined(LELP__X86_LEVELS)
/* x86-64 with GCC's multiversioning: the wide kernel for x86-64-v4 only,
 * the narrow one for v3 (AVX2 and FMA) and the baseline. */
LELP__TARGET_V4 static void lelp__rows_v4(const float* H, int64_t n, int64_t d, const float* center,
                                          const float* Ut, int64_t K, float* F)
{
    lelp__rows(1, H, n, d, center, Ut, K, F);
}

LELP__CLONES_V3 static void lelp__rows_v3(const float* H, int64_t n, int64_t d, const float* center,
                                          const float* Ut, int64_t K, float* F)
{
    lelp__rows(0, H, n, d, center, Ut, K, F);
}

void lelp__project_rows(const float* H, int64_t n, int64_t d, const float* center, const float* Ut, int64_t K,
                        float* F)
{
    /* the features of x86-64-v4 */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd"))
        lelp__rows_v4(H, n, d, center, Ut, K, F);
    else
        lelp__rows_v3(H, n, d, center, Ut, K, F);
}
#else
void lelp__project_rows(const float* H, int64_t n, int64_t d, const float* center, const float* Ut, int64_t K,
                        float* F)
{
#if defined(__AVX512F__) && defined(__AVX512VL__)
    lelp__rows(1, H, n, d, center, Ut, K, F);
#else
    lelp__rows(0, H, n, d, center, Ut, K, F);
#endif
}
#endif
