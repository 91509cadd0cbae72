/* SPDX-License-Identifier: MIT */
/* detlog.h -- liblelp's own logarithm for the PRNG: plain IEEE arithmetic
 * on the bit pattern, so the normal draws (and with them every rotation) are
 * the same bits on every platform; libm's log may differ in the last bit.
 * Relative error below 5e-16. The library is built with -ffp-contract=off.
 * vexp.c has a second log on the same series, kept apart on purpose: this
 * one is frozen bit for bit by the PRNG's published known answers (every
 * rotation depends on it), that one is shaped for SIMD (integer-only
 * exponent handling, no int64 -> double conversion), which would change
 * these bits. */
#ifndef LELP_DETLOG_H
#define LELP_DETLOG_H

#include <stdint.h>
#include <string.h>

/* Natural log of a positive normal double, by the series of
 * docs/method.md section 4 (identical to frexp-based evaluation). */
static inline double lelp__log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int64_t e = (int64_t)((bits >> 52) & 0x7ff) - 1023;      /* x = m2 * 2^e, m2 in [1, 2) */
    uint64_t mbits = (bits & UINT64_C(0x000fffffffffffff)) | UINT64_C(0x3fe0000000000000);
    double m;                                                 /* m = m2 / 2 in [0.5, 1) */
    memcpy(&m, &mbits, sizeof m);
    e += 1;
    int small = m < 0.70710678118654752440;
    m = small ? 2.0 * m : m;
    e = small ? e - 1 : e;
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 1.0 / 27.0;
    p = p * s2 + 1.0 / 25.0;
    p = p * s2 + 1.0 / 23.0;
    p = p * s2 + 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return 2.0 * s * p + (double)e * 0.69314718055994530942;
}

#endif
