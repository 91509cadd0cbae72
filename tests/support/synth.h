/* synth.h -- seeded synthetic data for the tests. */
#ifndef LELP_TEST_SYNTH_H
#define LELP_TEST_SYNTH_H

#include <stdint.h>

#include "lelp.h"

/* Deterministic xorshift stream. */
void synth_seed(uint64_t seed);
double synth_uniform(void);
double synth_gauss(void);
/* n rows of width d in C classes (labels i % C), each class a few Gaussian
 * clusters with decaying per-dimension spread. */
void synth_data(float* H, int32_t* y, int64_t n, int64_t d, int64_t C);
/* Fits a model on synth_data-like inputs; asserts success. */
lelp_model* synth_fit(const float* H, const int32_t* y, int64_t n, int64_t d, int64_t C, int64_t S,
                      const float* W);

#endif
