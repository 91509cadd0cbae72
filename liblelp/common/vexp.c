/* SPDX-License-Identifier: MIT */
/* vexp.c -- exp and log over arrays, written so the compiler vectorizes
 * them (no calls, no branches, no tables), for the softmax of the loss and
 * of the targets.
 *
 * Why not libm: glibc's scalar exp and log cost ~3.5 ns each here, and the
 * loss needs one of each per element, so they were two thirds of its time.
 * These loops run 2 (SSE2) or 4 (AVX2 clone, chosen at load time) lanes
 * with plain IEEE multiplies and adds (ISO C: no FMA contraction), so the
 * result is the same bit for bit on every x86-64 and does not depend on the
 * libm. Accuracy, measured against glibc over the whole domain in
 * tests/test_vexp.c: exp <= 2 ulp, log <= 2 ulp.
 *
 * exp: x = k ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2, so k ln2_hi is
 * exact), e^r by its Taylor series to degree 12 (remainder < 2e-16; Estrin
 * order, so the loop is throughput- not latency-bound), times
 * 2^k built in the exponent bits. Inputs are clamped to [-708, 709]: below,
 * the result is ~3e-308 instead of a subnormal or 0, which no softmax sum
 * or float32 output can tell apart.
 * log: x = 2^k m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
 * s = (m - 1)/(m + 1), |s| <= 0.172, series to s^21 (remainder < 1e-17).
 * Inputs must be normal and positive (callers clamp at DBL_MIN). detlog.h's
 * log (the PRNG's) uses the same series but must keep its published bits, and
 * its int64 -> double exponent conversion does not vectorize; hence two. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

#define LELP__LN2_HI 0x1.62e42fee00000p-1
#define LELP__LN2_LO 0x1.a39ef35793c76p-33
#define LELP__LOG2E 0x1.71547652b82fep0
#define LELP__SHIFTER 0x1.8p52 /* adding it rounds to an integer kept in the low mantissa bits */

static inline uint64_t lelp__bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double lelp__from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static inline double lelp__exp1(double x)
{
    /* max/min once built with -fno-trapping-math (Makefile) */
    x = isgreater(x, -708.0) ? x : -708.0;
    x = isless(x, 709.0) ? x : 709.0;
    double t = x * LELP__LOG2E + LELP__SHIFTER;
    double kd = t - LELP__SHIFTER;
    double r = (x - kd * LELP__LN2_HI) - kd * LELP__LN2_LO;
    /* q = sum_{j=0..10} r^j / (j+2)!, by Estrin's scheme: a dependency
     * chain of 5 steps instead of Horner's 10, so the vectorized loop is
     * not bound by the multiply-add latency */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double p01 = 0.5 + r * (1.0 / 6.0), p23 = 1.0 / 24.0 + r * (1.0 / 120.0);
    double p45 = 1.0 / 720.0 + r * (1.0 / 5040.0), p67 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    double p89 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    double q03 = p01 + r2 * p23, q47 = p45 + r2 * p67, q8a = p89 + r2 * (1.0 / 479001600.0);
    double q = (q03 + r4 * q47) + r8 * q8a;
    /* 1 + (r + r^2 q): the two last roundings are the only full-size ones */
    double p = 1.0 + (r + r * r * q);
    /* t's low bits hold k (two's complement); shifting the biased value up
     * by 52 drops the shifter's own bits. */
    double scale = lelp__from_bits((lelp__bits(t) + 1023) << 52);
    return p * scale;
}

static inline double lelp__log1(double x)
{
    const uint64_t sqrt_half = UINT64_C(0x3fe6a09e667f3bcd);
    uint64_t ix = lelp__bits(x);
    /* the bias keeps the subtraction non-negative, so a logical shift
     * extracts k: m = x / 2^k lands in [sqrt(1/2), sqrt(2)) */
    uint64_t tmp = ix - sqrt_half + (UINT64_C(1) << 62);
    uint64_t kb = tmp >> 52; /* k + 1024, in [0, 2048) */
    double kd = lelp__from_bits(UINT64_C(0x4330000000000000) | kb) - (0x1p52 + 1024.0);
    double m = lelp__from_bits(ix - ((tmp - (UINT64_C(1) << 62)) & (UINT64_C(0xfff) << 52)));
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    /* p = sum_{j=0..9} s2^j / (2j+3), by Estrin's scheme (see exp) */
    double s4 = s2 * s2, s8 = s4 * s4;
    double e01 = 1.0 / 3.0 + s2 * (1.0 / 5.0), e23 = 1.0 / 7.0 + s2 * (1.0 / 9.0);
    double e45 = 1.0 / 11.0 + s2 * (1.0 / 13.0), e67 = 1.0 / 15.0 + s2 * (1.0 / 17.0);
    double e89 = 1.0 / 19.0 + s2 * (1.0 / 21.0);
    double p = ((e01 + s4 * e23) + s8 * (e45 + s4 * e67)) + (s8 * s8) * e89;
    double logm = 2.0 * s + 2.0 * s * s2 * p;
    return kd * LELP__LN2_HI + (logm + kd * LELP__LN2_LO);
}

LELP__CLONES void lelp__vexp(double* x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = lelp__exp1(x[i]);
}

LELP__CLONES void lelp__vlog(double* x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = lelp__log1(x[i]);
}
