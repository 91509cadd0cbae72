/* gen.h -- seeded synthetic data for the tests. */
#ifndef LELP_TEST_GEN_H
#define LELP_TEST_GEN_H

#include <stdint.h>

#include "lelp.h"

/* Deterministic xorshift stream. */
void gen_seed(uint64_t seed);
double gen_uniform(void);
double gen_gauss(void);
/* n rows of width d in C classes (labels i % C), each class a few Gaussian
 * clusters with decaying per-dimension spread. */
void gen_data(float* H, int32_t* y, int64_t n, int64_t d, int64_t C);
/* Fits a model on gen_data-like inputs; asserts success. */
lelp_model* gen_fit(const float* H, const int32_t* y, int64_t n, int64_t d, int64_t C, int64_t S,
                      const float* W);

#endif
