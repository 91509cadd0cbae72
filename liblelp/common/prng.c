/* SPDX-License-Identifier: MIT */
/* prng.c -- liblelp's own deterministic PRNG (docs/method.md section 4):
 * SplitMix64-seeded xoshiro256** and a polar normal using the series
 * logarithm of detlog.h, so a seed gives the same numbers on every platform and in every binding. */
#include <math.h>

#include "detlog.h"
#include "common.h"

static uint64_t lelp__splitmix64(uint64_t* x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t lelp__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void lelp__rng_init(lelp__rng* r, uint64_t seed, uint64_t cls, uint64_t stream)
{
    uint64_t x = seed ^ ((cls + 1) * UINT64_C(0xD1B54A32D192ED03)) ^
                 (stream * UINT64_C(0x8CB92BA72F3D8DD7));
    for (int i = 0; i < 4; i++) r->s[i] = lelp__splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0.0;
}

uint64_t lelp__rng_next(lelp__rng* r)
{
    uint64_t* s = r->s;
    uint64_t result = lelp__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = lelp__rotl(s[3], 45);
    return result;
}

double lelp__rng_uniform(lelp__rng* r)
{
    return ((double)(lelp__rng_next(r) >> 11) + 0.5) * 0x1.0p-53;
}

double lelp__rng_normal(lelp__rng* r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    for (;;) {
        double v1 = 2.0 * lelp__rng_uniform(r) - 1.0;
        double v2 = 2.0 * lelp__rng_uniform(r) - 1.0;
        double q = v1 * v1 + v2 * v2;
        if (q >= 1.0 || q == 0.0) continue;
        double f = sqrt((-2.0 * lelp__log(q)) / q);
        r->spare = v2 * f;
        r->has_spare = 1;
        return v1 * f;
    }
}
