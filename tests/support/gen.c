/* gen.c -- seeded synthetic data for the tests. */
#include "gen.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static uint64_t state = 88172645463325252ULL;

void gen_seed(uint64_t seed)
{
    state = seed ? seed : 1;
}

double gen_uniform(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return ((double)(state >> 11) + 0.5) / 9007199254740992.0;
}

double gen_gauss(void)
{
    return sqrt(-2.0 * log(gen_uniform())) * cos(6.283185307179586 * gen_uniform());
}

void gen_data(float* H, int32_t* y, int64_t n, int64_t d, int64_t C)
{
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % C);
        int k = (int)(gen_uniform() * 3.0);
        for (int64_t j = 0; j < d; j++) {
            double centre = 2.0 * y[i] + (j % 3 == k ? 2.0 : 0.0);
            H[i * d + j] = (float)(centre + gen_gauss() * (1.5 / (1.0 + 0.3 * (double)j)));
        }
    }
}

lelp_model* gen_fit(const float* H, const int32_t* y, int64_t n, int64_t d, int64_t C, int64_t S,
                      const float* W)
{
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_create(&b, d, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, n, d), LELP_OK);
    if (W) assert_int_equal(lelp_builder_set_head(b, W, C, d), LELP_OK);
    assert_int_equal(lelp_builder_fit(b, &m), LELP_OK);
    lelp_builder_free(b);
    return m;
}
