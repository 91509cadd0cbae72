/* SPDX-License-Identifier: MIT */
/* test_determinism.c -- the same inputs and thread count give the same bits,
 * run after run (issue 5's rule; `make check` runs this on a 2-thread
 * OpenBLAS). For each way of fitting -- exact float64, exact float32
 * products, the Gram form of small classes, the sketch solver, each with a
 * teacher head and automatic beta -- two independent runs stream the same
 * rows in the same batches and must give byte-identical serialized models,
 * targets, projections and loss values and gradients. A third run, fed the
 * rows in other batches, must agree to rounding (bit equality across batch
 * sizes is not promised: the Chan updates round differently). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lelp.h"
#include "expect.h"
#include "synth.h"

enum { C = 3, S = 4, CS = C * S };

typedef struct run {
    unsigned char* model; /* serialized */
    size_t size;
    float* T;             /* targets, n x CS */
    float* F;             /* projections, n x CS */
    float* G;             /* loss gradient, n x CS */
    double loss;
    double eig[CS];
} run;

typedef struct config {
    const char* name;
    int solver, precision, gram;
    int64_t n;            /* rows: few enough per class for the Gram form when gram = 1 */
} config;

/* Streams data in batches of the given sizes (cycled), fits, and computes
 * everything a training loop would from the model. */
static void one_run(const config* cf, const synth_data* g, const int64_t* batches, int nb, run* out)
{
    const int64_t n = g->n, d = g->d;
    lelp_builder* b = NULL;
    EXPECT_OK(lelp_builder_create(&b, d, C, S, NULL));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, cf->solver));
    if (cf->solver == LELP_SOLVER_EXACT) EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_PRECISION, cf->precision));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_GRAM_FORM, cf->gram));
    EXPECT_OK(lelp_builder_set_int(b, LELP_BUILDER_SEED, 1234));
    EXPECT_OK(lelp_builder_set_head(b, g->W, C, d));
    for (int64_t i = 0, k = 0; i < n; k++) {
        int64_t m = batches[k % nb] < n - i ? batches[k % nb] : n - i;
        EXPECT_OK(lelp_builder_update(b, g->H + i * d, g->y + i, m, d));
        i += m;
    }
    lelp_model* mdl = NULL;
    EXPECT_OK(lelp_builder_fit(b, &mdl));
    lelp_builder_free(b);
    EXPECT_OK(lelp_model_serialized_size(mdl, &out->size));
    out->model = malloc(out->size);
    out->T = malloc(sizeof(float) * (size_t)(n * CS));
    out->F = malloc(sizeof(float) * (size_t)(n * CS));
    out->G = malloc(sizeof(float) * (size_t)(n * CS));
    assert_true(out->model && out->T && out->F && out->G);
    size_t written = 0;
    EXPECT_OK(lelp_model_serialize(mdl, out->model, out->size, &written));
    assert_int_equal(written, out->size);
    EXPECT_OK(lelp_model_eigenvalues(mdl, out->eig, CS));
    EXPECT_OK(lelp_model_targets_from_logits(mdl, g->H, g->Z, n, d, 2.0, out->T));
    EXPECT_OK(lelp_model_project(mdl, g->H, n, d, out->F));
    lelp_loss* l = NULL;
    EXPECT_OK(lelp_loss_create(&l, C, S, NULL));
    EXPECT_OK(lelp_loss_set_double(l, LELP_LOSS_TAU, 2.0));
    EXPECT_OK(lelp_loss_compute(l, out->F, out->T, NULL, NULL, n, &out->loss, out->G));
    lelp_loss_free(l);
    lelp_model_free(mdl);
}

static void run_free(run* r)
{
    free(r->model);
    free(r->T);
    free(r->F);
    free(r->G);
}

static double max_rel(const float* a, const float* b, int64_t n)
{
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, synth_reldiff(a[i], b[i], 1.0));
    return worst;
}

static void test_run_to_run(void** state)
{
    (void)state;
    const int light = getenv("LELP_TEST_LIGHT") != NULL; /* under valgrind */
    const int64_t d = light ? 48 : 384;
    const config configs[] = {
        {"exact float64", LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, 0, light ? 600 : 6000},
        {"exact float32", LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT32, 0, light ? 600 : 6000},
        {"exact, Gram form", LELP_SOLVER_EXACT, LELP_PRECISION_FLOAT64, 1, light ? 60 : 480},
        {"sketch", LELP_SOLVER_SKETCH, LELP_PRECISION_FLOAT64, 0, light ? 600 : 6000},
    };
    const int64_t same[] = {1000, 37, 500}, other[] = {256};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        const config* cf = &configs[c];
        synth_spec spec = synth_default(cf->n, d, C, S, 99 + c);
        synth_data g;
        assert_int_equal(synth_make(&g, &spec), 0);
        run r[3];
        one_run(cf, &g, same, 3, &r[0]);
        one_run(cf, &g, same, 3, &r[1]);
        one_run(cf, &g, other, 1, &r[2]);
        const size_t bytes = sizeof(float) * (size_t)(cf->n * CS);
        if (r[0].size != r[1].size || memcmp(r[0].model, r[1].model, r[0].size) != 0)
            fail_msg("%s: two runs serialized different models", cf->name);
        if (memcmp(r[0].T, r[1].T, bytes) || memcmp(r[0].F, r[1].F, bytes) || memcmp(r[0].G, r[1].G, bytes) ||
            memcmp(&r[0].loss, &r[1].loss, sizeof(double)))
            fail_msg("%s: two runs gave different targets, projections or loss", cf->name);
        /* other batches: the same model to rounding (float32 products:
         * their own 1e-6 level, docs/method.md section 1.1; the sketch:
         * its buffers fill at other rows, so only the eigenvalues to its
         * bound's order are compared) */
        const double tol = cf->solver == LELP_SOLVER_SKETCH ? 5e-2 : cf->precision ? 1e-4 : 1e-7;
        for (int i = 0; i < CS; i++)
            if (!(fabs(r[2].eig[i] - r[0].eig[i]) <= tol * r[0].eig[0]))
                fail_msg("%s: eigenvalue %d is %.10g with other batches, %.10g", cf->name, i, r[2].eig[i], r[0].eig[i]);
        if (cf->solver == LELP_SOLVER_EXACT) {
            double e = max_rel(r[2].T, r[0].T, cf->n * CS);
            if (!(e <= tol * 10)) fail_msg("%s: targets with other batches differ by %g", cf->name, e);
        }
        for (int k = 0; k < 3; k++) run_free(&r[k]);
        synth_free(&g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_to_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
