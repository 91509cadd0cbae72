/* SPDX-License-Identifier: MIT */
/* test_project_paths.c -- the two ways lelp_model_project and the targets
 * project their rows (docs/method.md section 3): centred by the pooled
 * mean, or as given when the mean is small against the spread. Both must
 * give the projections of the model's own components and offsets within a
 * float32 dot-product error bound, computed here in double from the public
 * queries; both must report a NaN/Inf of H by row and column; and the
 * choice must follow the rule (mean vs spread, any all-zero column of U
 * forces centring). The projection kernel itself (linalg/project_kernel.c)
 * is checked against a float64 reference on random data for many shapes:
 * direction counts around its tiles of 8, widths around its steps of 32
 * columns and its column pairs, subnormal rows (flushed, in and out of the
 * centring), NaN/Inf rows, and results that do not depend on how the rows
 * are split between calls. */
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
#include "../liblelp/linalg/linalg.h"     /* the projection kernel, tested alone below */
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

/* ---- the kernel alone ------------------------------------------------------ */

static uint64_t kt_state = 0x9e3779b97f4a7c15ull;

static double kt_normal(void) /* a rough normal: the sum of four uniforms, centred */
{
    double s = 0.0;
    for (int i = 0; i < 4; i++) {
        kt_state ^= kt_state << 13;
        kt_state ^= kt_state >> 7;
        kt_state ^= kt_state << 17;
        s += (double)(kt_state >> 11) * 0x1.0p-53;
    }
    return (s - 2.0) * 1.7;
}

static float kt_flush(float v) /* subnormal -> zero of its sign (the kernel's rule) */
{
    return fabsf(v) < FLT_MIN ? copysignf(0.0f, v) : v;
}

typedef struct kt_case {
    int64_t n, d, K;
    double* U;    /* K x d */
    float* Ut;    /* packed */
    float* H;     /* n x d */
    float* c;     /* d, or NULL */
    float* F;     /* n x K */
} kt_case;

static void kt_make(kt_case* t, int64_t n, int64_t d, int64_t K, int centred)
{
    t->n = n;
    t->d = d;
    t->K = K;
    t->U = malloc(sizeof(double) * (size_t)(K * d));
    t->Ut = malloc(sizeof(float) * (size_t)lelp__project_packed(K, d));
    t->H = malloc(sizeof(float) * (size_t)(n * d));
    t->c = centred ? malloc(sizeof(float) * (size_t)d) : NULL;
    t->F = malloc(sizeof(float) * (size_t)(n * K));
    assert_true(t->U && t->Ut && t->H && (t->c || !centred) && t->F);
    for (int64_t i = 0; i < K * d; i++) t->U[i] = kt_normal() / sqrt((double)d);
    for (int64_t i = 0; i < n * d; i++) t->H[i] = (float)(kt_normal() * 3.0 + (centred ? 50.0 : 0.0));
    if (centred)
        for (int64_t j = 0; j < d; j++) t->c[j] = (float)(50.0 + kt_normal());
    lelp__project_pack(t->U, K, d, t->Ut);
}

static void kt_free(kt_case* t)
{
    free(t->U);
    free(t->Ut);
    free(t->H);
    free(t->c);
    free(t->F);
}

/* F[i][k] against sum_j x_j u_kj in float64, x_j = flush(flush(h_j) - c_j)
 * and u = flush((float)U) as the kernel takes them: two float32 sums of
 * d/2 terms each (even and odd columns) and their sum are within
 * (d/2 + 2) FLT_EPSILON sum_j |x_j u_kj|, plus d FLT_TRUE_MIN for sums that
 * pass through subnormal values. Rows holding a NaN/Inf must come out
 * NaN/Inf in every direction. */
static void kt_check(const kt_case* t, const char* what)
{
    for (int64_t i = 0; i < t->n; i++) {
        const float* h = t->H + i * t->d;
        int bad_row = 0;
        for (int64_t j = 0; j < t->d; j++) bad_row |= !isfinite(h[j]);
        for (int64_t k = 0; k < t->K; k++) {
            const double got = t->F[i * t->K + k];
            if (bad_row) {
                if (isfinite(got))
                    fail_msg("%s n=%lld d=%lld K=%lld: row %lld holds a NaN/Inf but F[%lld] = %g", what,
                             (long long)t->n, (long long)t->d, (long long)t->K, (long long)i, (long long)k, got);
                continue;
            }
            double want = 0.0, mag = 0.0;
            for (int64_t j = 0; j < t->d; j++) {
                const float x = t->c ? kt_flush(kt_flush(h[j]) - t->c[j]) : kt_flush(h[j]);
                const double term = (double)x * (double)kt_flush((float)t->U[k * t->d + j]);
                want += term;
                mag += fabs(term);
            }
            const double bound = ((double)t->d / 2.0 + 2.0) * FLT_EPSILON * mag + (double)t->d * FLT_TRUE_MIN;
            if (!(fabs(got - want) <= bound))
                fail_msg("%s n=%lld d=%lld K=%lld centred=%d: F[%lld][%lld] = %.9g, want %.9g (error %.3g > %.3g)",
                         what, (long long)t->n, (long long)t->d, (long long)t->K, t->c != NULL, (long long)i,
                         (long long)k, got, want, fabs(got - want), bound);
        }
    }
}

/* Random shapes against the reference, centred and not: direction counts
 * 1..40 (tiles of 8, passes of two tiles, blocks of rows when more), widths
 * 1..1030 (steps of 32 columns, odd widths' last pair), 1..130 rows (groups
 * of 2..12 rows and their remainders). */
static void kernel_matches_float64_reference(void** state)
{
    (void)state;
    const int64_t Ks[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 25, 40};
    const int64_t ds[] = {1, 2, 7, 31, 32, 33, 64, 100, 1030};
    const int64_t ns[] = {1, 5, 13, 37, 130};
    for (size_t a = 0; a < sizeof Ks / sizeof Ks[0]; a++)
        for (size_t b = 0; b < sizeof ds / sizeof ds[0]; b++)
            for (int centred = 0; centred < 2; centred++) {
                const int64_t n = ns[(a + b + (size_t)centred) % (sizeof ns / sizeof ns[0])];
                kt_case t;
                kt_make(&t, n, ds[b], Ks[a], centred);
                lelp__project_rows(t.H, t.n, t.d, t.c, t.Ut, t.K, t.F);
                kt_check(&t, "random");
                kt_free(&t);
            }
}

/* Subnormal inputs are flushed before they are multiplied: a row of
 * subnormals projects to exactly 0 (unflushed, the products would be
 * subnormal and their sums not 0), and on the centred path a difference
 * h - c that is subnormal is flushed too (a row at c + a subnormal step
 * projects to exactly 0). Subnormals among normal values, and subnormal
 * components, are checked against the reference. */
static void kernel_flushes_subnormals(void** state)
{
    (void)state;
    const int64_t Ks[] = {5, 16, 19};
    for (size_t a = 0; a < sizeof Ks / sizeof Ks[0]; a++)
        for (int centred = 0; centred < 2; centred++) {
            const int64_t n = 9, d = 70, K = Ks[a];
            kt_case t;
            kt_make(&t, n, d, K, centred);
            for (int64_t j = 0; j < d; j++) {
                if (centred) t.c[j] = 1.5e-38f * (j % 2 ? -1.0f : 1.0f); /* normal, next to FLT_MIN */
                t.H[0 * d + j] = (j % 3 ? 1e-40f : -3e-39f);             /* all subnormal */
                t.H[1 * d + j] = centred ? 2.0e-38f * (j % 2 ? -1.0f : 1.0f) : 7e-39f; /* h - c = 5e-39 */
                if (j % 5 == 0) t.H[2 * d + j] = -2e-42f;                 /* a few among normal values */
                if (j % 7 == 0) t.U[(K - 1) * d + j] = 1e-41;            /* subnormal as a float */
            }
            lelp__project_pack(t.U, K, d, t.Ut);
            lelp__project_rows(t.H, t.n, t.d, t.c, t.Ut, t.K, t.F);
            kt_check(&t, "subnormal");
            for (int64_t k = 0; k < K; k++) {
                if (!centred && t.F[k] != 0.0f) fail_msg("K=%lld: a subnormal row projects to %g", (long long)K, t.F[k]);
                if (t.F[K + k] != 0.0f)
                    fail_msg("K=%lld centred=%d: a row whose centred values are subnormal projects to %g",
                             (long long)K, centred, t.F[K + k]);
            }
            kt_free(&t);
        }
}

/* NaN, +Inf and -Inf anywhere in a row (first, last and middle columns,
 * first and last rows of a group) make all of that row's outputs NaN/Inf,
 * also where a direction has a zero weight on that column; the other rows
 * stay exact. */
static void kernel_propagates_nonfinite(void** state)
{
    (void)state;
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const int64_t Ks[] = {4, 16, 21};
    for (size_t a = 0; a < sizeof Ks / sizeof Ks[0]; a++)
        for (int centred = 0; centred < 2; centred++)
            for (int v = 0; v < 3; v++) {
                const int64_t n = 14, d = 45, K = Ks[a];
                kt_case t;
                kt_make(&t, n, d, K, centred);
                for (int64_t k = 0; k < K; k++) t.U[k * d + 44] = 0.0; /* a column no direction uses */
                lelp__project_pack(t.U, K, d, t.Ut);
                t.H[0 * d + 0] = bad[v];
                t.H[5 * d + 44] = bad[v];
                t.H[11 * d + 20] = bad[v];
                t.H[13 * d + 31] = bad[v];
                lelp__project_rows(t.H, t.n, t.d, t.c, t.Ut, t.K, t.F);
                kt_check(&t, "nonfinite");
                kt_free(&t);
            }
}

/* A row's projections do not depend on the rows around it: the whole
 * batch, each row alone and the batch split at every offset give the same
 * bits (the tools shard rows over threads). */
static void kernel_rows_are_independent(void** state)
{
    (void)state;
    const int64_t Ks[] = {6, 16, 30};
    for (size_t a = 0; a < sizeof Ks / sizeof Ks[0]; a++)
        for (int centred = 0; centred < 2; centred++) {
            const int64_t n = 29, d = 77, K = Ks[a];
            kt_case t;
            kt_make(&t, n, d, K, centred);
            float* G = malloc(sizeof(float) * (size_t)(n * K));
            assert_non_null(G);
            lelp__project_rows(t.H, n, d, t.c, t.Ut, K, t.F);
            for (int64_t i = 0; i < n; i++) lelp__project_rows(t.H + i * d, 1, d, t.c, t.Ut, K, G + i * K);
            assert_memory_equal(t.F, G, sizeof(float) * (size_t)(n * K));
            for (int64_t split = 1; split < n; split++) {
                memset(G, 0, sizeof(float) * (size_t)(n * K));
                lelp__project_rows(t.H, split, d, t.c, t.Ut, K, G);
                lelp__project_rows(t.H + split * d, n - split, d, t.c, t.Ut, K, G + split * K);
                assert_memory_equal(t.F, G, sizeof(float) * (size_t)(n * K));
            }
            free(G);
            kt_free(&t);
        }
}

/* A counting allocator: the largest single request since the last reset. */
typedef struct {
    size_t largest;
} biggest_alloc;

static void* ba_alloc(void* opaque, size_t size, size_t align)
{
    biggest_alloc* b = opaque;
    if (size > b->largest) b->largest = size;
    void* p = NULL;
    return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size) ? NULL : p;
}

static void ba_free(void* opaque, void* p, size_t size)
{
    (void)opaque;
    (void)size;
    free(p);
}

/* assign and mean_entropy work block by block: their scratch does not grow
 * with the batch (an n x S buffer per call cost page faults on every call
 * of a sharded host), and the results equal the same calls on the blocks'
 * rows one call at a time */
static void own_class_calls_scratch_one_block(void** state)
{
    (void)state;
    enum { REP = 8, NB = N * REP };
    synth_data data;
    make(&data, 0.0);
    float* H = malloc(sizeof(float) * NB * D);
    int32_t* y = malloc(sizeof(int32_t) * NB);
    int32_t *a1 = malloc(sizeof(int32_t) * NB), *a2 = malloc(sizeof(int32_t) * NB);
    assert_non_null(H), assert_non_null(y), assert_non_null(a1), assert_non_null(a2);
    for (int r = 0; r < REP; r++) {
        memcpy(H + (size_t)r * N * D, data.H, sizeof(float) * N * D);
        memcpy(y + (size_t)r * N, data.y, sizeof(int32_t) * N);
    }
    biggest_alloc big = {0};
    lelp_allocator* a = NULL;
    EXPECT_OK(lelp_allocator_create(&a, ba_alloc, ba_free, &big));
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    EXPECT_OK(lelp_builder_create(&b, D, C, S, a));
    EXPECT_OK(lelp_builder_update(b, data.H, data.y, N, D));
    EXPECT_OK(lelp_builder_fit(b, &m));
    big.largest = 0;
    EXPECT_OK(lelp_model_assign(m, H, y, NB, D, a1));
    double e1 = 0.0, e2 = 0.0;
    EXPECT_OK(lelp_model_mean_entropy(m, H, y, NB, D, 1.5, &e1));
    if (!(big.largest * 8 <= (size_t)NB * S * sizeof(double)))
        fail_msg("largest scratch %zu bytes for %d rows", big.largest, NB);
    for (int64_t i0 = 0; i0 < NB; i0 += 700) { /* blocks that do not line up with the library's */
        const int64_t nb = NB - i0 < 700 ? NB - i0 : 700;
        EXPECT_OK(lelp_model_assign(m, H + i0 * D, y + i0, nb, D, a2 + i0));
    }
    assert_memory_equal(a1, a2, sizeof(int32_t) * NB);
    EXPECT_OK(lelp_model_mean_entropy(m, data.H, data.y, N, D, 1.5, &e2));
    if (!(fabs(e1 - e2) <= 1e-12 * fabs(e2))) fail_msg("mean entropy %.17g over the copies, %.17g once", e1, e2);
    lelp_model_free(m);
    lelp_builder_free(b);
    lelp_allocator_free(a);
    free(H), free(y), free(a1), free(a2);
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
        cmocka_unit_test(kernel_matches_float64_reference),
        cmocka_unit_test(kernel_flushes_subnormals),
        cmocka_unit_test(kernel_propagates_nonfinite),
        cmocka_unit_test(kernel_rows_are_independent),
        cmocka_unit_test(own_class_calls_scratch_one_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
