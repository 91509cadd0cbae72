/* SPDX-License-Identifier: MIT */
/* test_project_paths.c -- the two ways lelp_model_project and the targets
 * run their GEMM (docs/method.md section 2): on rows centred by the pooled
 * mean, or on the rows as given when the mean is small against the spread
 * (no centring copy). Both must give the projections of the model's own
 * components and offsets within a float32 dot-product error bound,
 * computed here in double from the public queries; both must report a
 * NaN/Inf of H by row and column; and the choice must follow the rule
 * (mean vs spread, any all-zero column of U forces centring). */
#include <float.h>
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
#include "../liblelp/model/model_priv.h" /* centre_rows: which path a model takes */
#include "expect.h"
#include "synth.h"

enum { N = 900, D = 40, C = 3, S = 3 };

/* synth data shifted by `offset` on every coordinate */
static void make(synth_data* data, double offset)
{
    synth_spec sp = synth_default(N, D, C, 2, 77);
    assert_int_equal(synth_make(data, &sp), 0);
    for (int64_t i = 0; i < N * D; i++) data->H[i] = (float)((double)data->H[i] + offset);
}

static lelp_model* fit(const synth_data* data)
{
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, NULL));
    EXPECT_OK(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1.5));
    EXPECT_OK(lelp_builder_update(b, data->H, data->y, N, D));
    EXPECT_OK(lelp_builder_fit(b, &m));
    lelp_builder_free(b);
    return m;
}

/* |F - (<U, h> - b)/beta| within (d + 4) eps (sum |h_j u_j| + sum |c_j u_j|
 * + |b|)/beta for every row and direction: a float32 dot product of d
 * terms, plus the centring and the offset's rounding */
static void check_projections(const lelp_model* m, const float* H, int64_t n)
{
    const int64_t K = C * S;
    double* U = malloc(sizeof(double) * K * D);
    double* b = malloc(sizeof(double) * K);
    float* F = malloc(sizeof(float) * n * K);
    assert_non_null(U);
    assert_non_null(b);
    assert_non_null(F);
    double beta = 0.0;
    EXPECT_OK(lelp_model_components(m, U, K * D));
    EXPECT_OK(lelp_model_offsets(m, b, K));
    EXPECT_OK(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    EXPECT_OK(lelp_model_project(m, H, n, D, F));
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = 0; k < K; k++) {
            double dot = 0.0, mag = fabs(b[k]);
            for (int64_t j = 0; j < D; j++) {
                dot += (double)H[i * D + j] * U[k * D + j];
                mag += fabs((double)H[i * D + j] * U[k * D + j]) + fabs((double)m->center[j] * U[k * D + j]);
            }
            double want = (dot - b[k]) / beta, err = fabs((double)F[i * K + k] - want);
            double bound = (D + 4) * FLT_EPSILON * mag / beta;
            if (err > bound)
                fail_msg("row %lld direction %lld: %.9g, want %.9g (error %.3g > bound %.3g)", (long long)i,
                         (long long)k, (double)F[i * K + k], want, err, bound);
            worst = err / bound > worst ? err / bound : worst;
        }
    }
    assert_true(worst > 0.0); /* the comparison ran on real rounding */
    free(U);
    free(b);
    free(F);
}

/* NaN and +-Inf at (row, col) of a copy of H: project and targets fail with
 * LELP_E_NONFINITE naming both, on blocks past the first too */
static void check_nonfinite(const lelp_model* m, const float* H)
{
    const int64_t n = 700, K = C * S; /* two GEMM blocks of <= 512 rows */
    float* X = malloc(sizeof(float) * n * D);
    float* F = malloc(sizeof(float) * n * K);
    float* Z = calloc((size_t)(n * C), sizeof(float));
    assert_non_null(X);
    assert_non_null(F);
    assert_non_null(Z);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const int64_t rows[] = {0, 511, 699}, cols[] = {0, 17, D - 1};
    for (int v = 0; v < 3; v++) {
        for (int p = 0; p < 3; p++) {
            memcpy(X, H, sizeof(float) * n * D);
            X[rows[p] * D + cols[p]] = bad[v];
            char want[64];
            snprintf(want, sizeof want, "row %lld, column %lld", (long long)rows[p], (long long)cols[p]);
            EXPECT_STATUS(lelp_model_project(m, X, n, D, F), LELP_E_NONFINITE);
            if (!strstr(lelp_last_error(), want)) fail_msg("message '%s' lacks '%s'", lelp_last_error(), want);
            EXPECT_STATUS(lelp_model_targets_from_logits(m, X, Z, n, D, 1.0, F), LELP_E_NONFINITE);
            if (!strstr(lelp_last_error(), want)) fail_msg("message '%s' lacks '%s'", lelp_last_error(), want);
        }
    }
    free(X);
    free(F);
    free(Z);
}

/* data on `offset` takes the path want_centre, projects within the bound
 * and reports NaN/Inf */
static void check_path(double offset, int want_centre)
{
    synth_data data;
    make(&data, offset);
    lelp_model* m = fit(&data);
    assert_int_equal(m->centre_rows, want_centre);
    check_projections(m, data.H, N);
    check_nonfinite(m, data.H);
    lelp_model_free(m);
    synth_free(&data);
}

static void small_mean_projects_rows_as_given(void** state)
{
    (void)state;
    check_path(0.0, 0);
}

static void large_mean_centres_rows(void** state)
{
    (void)state;
    check_path(1000.0, 1);
}

/* F1, F2 (N x C*S, malloc'd) = the projections of H1 by m1 and of H2 by m2 */
static void project_pair(const lelp_model* m1, const float* H1, const lelp_model* m2, const float* H2, float** F1,
                         float** F2)
{
    *F1 = malloc(sizeof(float) * N * C * S);
    *F2 = malloc(sizeof(float) * N * C * S);
    assert_non_null(*F1);
    assert_non_null(*F2);
    EXPECT_OK(lelp_model_project(m1, H1, N, D, *F1));
    EXPECT_OK(lelp_model_project(m2, H2, N, D, *F2));
}

/* The two paths on the same spread: projections of a row and of the row
 * shifted with its model agree (the shift only changes the rounding). */
static void paths_agree_on_shifted_data(void** state)
{
    (void)state;
    synth_data a, b;
    make(&a, 0.0);
    make(&b, 1000.0);
    lelp_model* ma = fit(&a);
    lelp_model* mb = fit(&b);
    assert_int_equal(ma->centre_rows, 0);
    assert_int_equal(mb->centre_rows, 1);
    const int64_t K = C * S;
    float *Fa = NULL, *Fb = NULL;
    project_pair(ma, a.H, mb, b.H, &Fa, &Fb);
    double scale = 0.0;
    for (int64_t i = 0; i < N * K; i++) scale = fabs(Fa[i]) > scale ? fabs(Fa[i]) : scale;
    /* shifting by 1000 rounds H at ~6e-5 (1000 * 2^-24), so the fits and
     * projections differ at that level, not more */
    for (int64_t i = 0; i < N * K; i++)
        if (fabs(Fa[i] - Fb[i]) > 1e-3 * scale)
            fail_msg("entry %lld: %.9g vs %.9g", (long long)i, (double)Fa[i], (double)Fb[i]);
    free(Fa);
    free(Fb);
    lelp_model_free(ma);
    lelp_model_free(mb);
    synth_free(&a);
    synth_free(&b);
}

/* A coordinate no direction uses (a zero column of U) forces centring: the
 * uncentred path finds NaN/Inf through the projections only. */
static void zero_column_forces_centring(void** state)
{
    (void)state;
    synth_data data;
    make(&data, 0.0);
    lelp_model* m = fit(&data);
    assert_int_equal(m->centre_rows, 0);
    for (int64_t k = 0; k < C * S; k++) m->U[k * D + 5] = 0.0;
    lelp__model_finish(m);
    assert_int_equal(m->centre_rows, 1);
    float* X = malloc(sizeof(float) * N * D);
    float* F = malloc(sizeof(float) * N * C * S);
    assert_non_null(X);
    assert_non_null(F);
    memcpy(X, data.H, sizeof(float) * N * D);
    X[3 * D + 5] = NAN;
    EXPECT_STATUS(lelp_model_project(m, X, N, D, F), LELP_E_NONFINITE);
    free(X);
    free(F);
    lelp_model_free(m);
    synth_free(&data);
}

/* The choice is derived on load too: a saved and reloaded model takes the
 * same path and gives the same bits. */
static void reload_keeps_the_path(void** state)
{
    (void)state;
    for (int shifted = 0; shifted < 2; shifted++) {
        synth_data data;
        make(&data, shifted ? 1000.0 : 0.0);
        lelp_model* m = fit(&data);
        size_t size = 0;
        EXPECT_OK(lelp_model_serialized_size(m, &size));
        unsigned char* buf = malloc(size);
        assert_non_null(buf);
        EXPECT_OK(lelp_model_serialize(m, buf, size, NULL));
        lelp_model* r = NULL;
        EXPECT_OK(lelp_model_load(&r, buf, size, NULL));
        assert_int_equal(r->centre_rows, m->centre_rows);
        float *F1 = NULL, *F2 = NULL;
        project_pair(m, data.H, r, data.H, &F1, &F2);
        assert_memory_equal(F1, F2, sizeof(float) * N * C * S);
        free(F1);
        free(F2);
        free(buf);
        lelp_model_free(r);
        lelp_model_free(m);
        synth_free(&data);
    }
}

/* Targets at a beta so small that one row's f = (projection - b) / beta
 * overflows: LELP_E_NUMERICAL naming that row (700: the third block of the
 * targets' softmaxes), for both target calls; without that row the same
 * beta gives finite targets summing to 1 (huge but finite f, and f of
 * -inf where a class's largest f is finite, are not errors). */
static void targets_overflow_names_the_row(void** state)
{
    (void)state;
    const int64_t K = C * S;
    synth_data data;
    make(&data, 0.0);
    lelp_model* m = fit(&data); /* beta = 1.5 */
    float* F = malloc(sizeof(float) * N * K);
    float* T = malloc(sizeof(float) * N * K);
    float* X = malloc(sizeof(float) * N * D);
    assert_true(F && T && X);
    EXPECT_OK(lelp_model_project(m, data.H, N, D, F));
    double big = 0.0; /* the largest |projection - b| over the rows */
    for (int64_t i = 0; i < N * K; i++) big = fmax(big, 1.5 * fabs((double)F[i]));
    lelp_model* tiny = NULL;
    EXPECT_OK(lelp_model_with_beta(m, big / 1e307, &tiny));
    EXPECT_OK(lelp_model_targets_from_logits(tiny, data.H, data.Z, N, D, 1.0, T));
    for (int64_t i = 0; i < N; i++) {
        double sum = 0.0;
        for (int64_t k = 0; k < K; k++) {
            assert_true(isfinite(T[i * K + k]) && T[i * K + k] >= 0.0f);
            sum += T[i * K + k];
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
    }
    memcpy(X, data.H, sizeof(float) * N * D);
    for (int64_t j = 0; j < D; j++) X[700 * D + j] *= 1e3f; /* projections ~1e3 x: f overflows */
    EXPECT_STATUS(lelp_model_targets_from_logits(tiny, X, data.Z, N, D, 1.0, T), LELP_E_NUMERICAL);
    assert_non_null(strstr(lelp_last_error(), "row 700 "));
    EXPECT_STATUS(lelp_model_targets_from_labels(tiny, X, data.y, N, D, 0.1, T), LELP_E_NUMERICAL);
    assert_non_null(strstr(lelp_last_error(), "row 700 "));
    free(F);
    free(T);
    free(X);
    lelp_model_free(tiny);
    lelp_model_free(m);
    synth_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_mean_projects_rows_as_given),
        cmocka_unit_test(large_mean_centres_rows),
        cmocka_unit_test(paths_agree_on_shifted_data),
        cmocka_unit_test(zero_column_forces_centring),
        cmocka_unit_test(reload_keeps_the_path),
        cmocka_unit_test(targets_overflow_names_the_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
