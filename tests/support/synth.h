/* SPDX-License-Identifier: MIT */
/* synth.h -- seeded synthetic data for the liblelp tests.
 *
 * Classes are "low rank plus noise" with hidden subclasses: example i of class
 * c and hidden subclass k is
 *
 *     h = mu_c + sep * v_{c,k} + B_c g + noise * e,
 *
 * with mu_c a random class mean (scale class_sep), v_{c,k} random unit
 * vectors (the hidden subclass centres), B_c a d x r random basis of a
 * class-specific low-rank spread (g ~ N(0, I_r)), and e ~ N(0, I_d).
 * Everything is drawn from one xorshift64* stream seeded by `seed`, so the
 * same arguments give the same bytes on every run. All arrays are float32
 * (int32 for labels), row-major, as the library takes them. */
#ifndef LELP_TEST_SYNTH_H
#define LELP_TEST_SYNTH_H

#include <stdint.h>

typedef struct synth_rng {
    uint64_t s;
} synth_rng;

void synth_rng_seed(synth_rng* r, uint64_t seed);
uint64_t synth_rng_u64(synth_rng* r);
/* uniform in (0, 1) */
double synth_uniform(synth_rng* r);
/* standard normal (Box-Muller) */
double synth_normal(synth_rng* r);

typedef struct synth_spec {
    int64_t n;         /* rows */
    int64_t d;         /* embedding width */
    int64_t C;         /* classes */
    int64_t K;         /* hidden subclasses per class (>= 1) */
    int64_t rank;      /* rank r of the class-specific spread (>= 0) */
    double class_sep;  /* scale of the class means */
    double sub_sep;    /* distance of the subclass centres from the class mean */
    double spread;     /* std of the low-rank part */
    double noise;      /* std of the isotropic noise */
    uint64_t seed;
} synth_spec;

/* A reasonable default: the given shape, class_sep 4, sub_sep 3, spread 1,
 * noise 0.3. */
synth_spec synth_default(int64_t n, int64_t d, int64_t C, int64_t K, uint64_t seed);

typedef struct synth_data {
    int64_t n, d, C, K;
    float* H;    /* n x d embeddings */
    int32_t* y;  /* n labels, round-robin over classes (every class is hit) */
    int32_t* k;  /* n hidden subclasses in [0, K) */
    float* Z;    /* n x C teacher logits: Z = W h / sqrt(d) with the head W */
    float* W;    /* C x d random teacher head */
    double* centers; /* C x K x d subclass centres (double) */
} synth_data;

/* Allocates and fills *out; returns 0, or -1 on allocation failure / bad spec. */
int synth_make(synth_data* out, const synth_spec* spec);
void synth_free(synth_data* data);

/* Fills x[0..n) with N(0, sd^2) float32 values. */
void synth_fill_normal(synth_rng* r, float* x, int64_t n, double sd);

/* Relative difference |a-b| / max(|a|, |b|, floor). */
double synth_reldiff(double a, double b, double floor_);

#endif
