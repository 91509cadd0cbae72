/* SPDX-License-Identifier: MIT */
/* test_sketch.c -- the streaming Frequent Directions solver
 * (LELP_SOLVER_SKETCH): its guarantee on data with a known spectrum,
 * agreement with the exact solver, merging, state round trips, stage rules,
 * and bounded memory at d = 16384. */
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
#include "synth.h"
#include "../liblelp/fit/fit.h" /* the sketch buffer, to plant a value no eigensolver can take */

static uint64_t rs = 0x2545F4914F6CDD1DULL;
static double unif(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return ((double)(rs >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(6.283185307179586 * unif());
}

/* Class c: n rows, independent coordinates with standard deviation sd[j]
 * (a decaying spectrum plus a flat tail), rotated by a fixed sign pattern.
 * drift > 0 moves the last coordinate's mean by drift per 333-row block, so
 * the strongest direction lives only in the between-block mean shifts (the
 * Chan correction rows), not in any block's centred rows. */
static void spectrum_data(float* H, int32_t* y, int64_t n, int64_t d, int64_t C, double drift)
{
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < d; j++) {
            double sd = j < 6 ? 10.0 / (1.0 + (double)j) + (double)y[i] : 0.3;
            double shift = j == d - 1 ? drift * (double)(i / 333) : 0.0;
            H[i * d + j] = (float)(sd * gauss() + (double)y[i] + shift);
        }
    }
}

static lelp_builder* make(int64_t d, int64_t C, int64_t S, int solver, int64_t ell)
{
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, d, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, solver), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, ell), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_ROTATE, 0), LELP_OK);
    assert_int_equal(lelp_builder_set_double(b, LELP_BUILDER_BETA, 1.0), LELP_OK);
    return b;
}

static lelp_model* fit(const lelp_builder* b)
{
    lelp_model* m = NULL;
    int st = lelp_builder_fit(b, &m);
    if (st) fail_msg("fit: %s (%s)", lelp_status_string(st), lelp_last_error());
    return m;
}

/* min over the rows U_i of the norm of U_i's projection onto span(V): every
 * direction of U lies within acos(result) of V's span (U, V: S x d,
 * orthonormal rows). */
static double worst_projection(const double* U, const double* V, int64_t S, int64_t d)
{
    double worst = 1.0;
    for (int64_t i = 0; i < S; i++) {
        double n2 = 0.0;
        for (int64_t k = 0; k < S; k++) {
            double dot = 0.0;
            for (int64_t j = 0; j < d; j++) dot += U[i * d + j] * V[k * d + j];
            n2 += dot * dot;
        }
        worst = fmin(worst, sqrt(n2));
    }
    return worst;
}

/* ELL = 12 runs the shrinks through small_eigen.c (2l <= 96), ELL = 70
 * (with d = 80) through dsyevd */
static void check_guarantee_and_agreement(double drift, int64_t ELL, int64_t d)
{
    enum { n = 4000, C = 2, S = 4, DMAX = 80 };
    assert_true(d <= DMAX);
    static float H[n * DMAX];
    static int32_t y[n];
    spectrum_data(H, y, n, d, C, drift);
    lelp_builder* ex = make(d, C, S, LELP_SOLVER_EXACT, 0);
    lelp_builder* sk = make(d, C, S, LELP_SOLVER_SKETCH, ELL);
    for (int64_t i = 0; i < n; i += 333) {
        int64_t nb = n - i < 333 ? n - i : 333;
        assert_int_equal(lelp_builder_update(ex, H + i * d, y + i, nb, d), LELP_OK);
        assert_int_equal(lelp_builder_update(sk, H + i * d, y + i, nb, d), LELP_OK);
    }
    lelp_model *me = fit(ex), *ms = fit(sk);
    int64_t solver = -1;
    assert_int_equal(lelp_model_get_int(ms, LELP_MODEL_SOLVER, &solver), LELP_OK);
    assert_int_equal(solver, LELP_SOLVER_SKETCH);
    static double ue[C * S * DMAX], us[C * S * DMAX], mue[C * DMAX], mus[C * DMAX];
    double le[C * S], ls[C * S], re[C * S];
    assert_int_equal(lelp_model_eigenvalues(me, le, C * S), LELP_OK);
    assert_int_equal(lelp_model_eigenvalues(ms, ls, C * S), LELP_OK);
    assert_int_equal(lelp_model_explained_variance_ratio(me, re, C * S), LELP_OK);
    assert_int_equal(lelp_model_components(me, ue, C * S * d), LELP_OK);
    assert_int_equal(lelp_model_components(ms, us, C * S * d), LELP_OK);
    assert_int_equal(lelp_model_means(me, mue, C * d), LELP_OK);
    assert_int_equal(lelp_model_means(ms, mus, C * d), LELP_OK);
    for (int i = 0; i < C * d; i++) assert_true(fabs(mue[i] - mus[i]) <= 1e-12 * (1.0 + fabs(mue[i])));
    for (int c = 0; c < C; c++) {
        /* the alpha-FD guarantee: 0 <= lambda_i - lambda_i(sketch) <=
         * tail_k / (m - k) for every k < m, m = ceil(l / 5) (the rows each
         * shrink lowers), tail_k = the sum of the eigenvalues beyond the k-th;
         * the smallest of those known from the top S */
        const int64_t m = (ELL + 4) / 5;
        double trace = le[c * S] / re[c * S], head = 0.0, bound = INFINITY;
        for (int64_t k = 0; k < m && k <= S; k++) {
            bound = fmin(bound, (trace - head) / (double)(m - k));
            if (k < S) head += le[c * S + k];
        }
        for (int i = 0; i < S; i++) {
            double gap = le[c * S + i] - ls[c * S + i];
            if (!(gap >= -1e-9 * le[c * S] && gap <= bound * (1.0 + 1e-9)))
                fail_msg("class %d eigenvalue %d: exact %.9g sketch %.9g, bound %.9g", c, i, le[c * S + i],
                         ls[c * S + i], bound);
        }
        /* the strong directions are recovered: every sketch direction lies
         * almost in the exact span (angle below ~8 degrees here) */
        double w = worst_projection(us + c * S * d, ue + c * S * d, S, d);
        if (!(w > 0.99)) fail_msg("class %d: subspace overlap %.6f", c, w);
    }
    lelp_model_free(me);
    lelp_model_free(ms);
    lelp_builder_free(ex);
    lelp_builder_free(sk);
}

static void test_guarantee_and_agreement(void** s)
{
    (void)s;
    check_guarantee_and_agreement(0.0, 12, 40);
    check_guarantee_and_agreement(0.0, 70, 80);
}

/* What the alpha-FD shrink is for (docs/method.md section 6): on a slowly
 * decaying spectrum (eigenvalues i^-1/2, d = 256) the automatic sketch size
 * keeps >= 0.99 of the exact top-S variance, tr(U^T Sigma U) over the sum of
 * the exact top S eigenvalues. Classic FD, which lowers every kept value at
 * each shrink, keeps ~0.3-0.6 here; so does a shrink that removes too much. */
static void test_captured_variance_on_a_slow_spectrum(void** s)
{
    (void)s;
    enum { d = 256, C = 2, S = 4, n = 8000 };
    float* H = malloc(sizeof(float) * (size_t)n * d);
    int32_t* y = malloc(sizeof(int32_t) * n);
    assert_non_null(H), assert_non_null(y);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < d; j++) H[i * d + j] = (float)(pow(1.0 + (double)j, -0.25) * gauss() + y[i]);
    }
    lelp_builder* ex = make(d, C, S, LELP_SOLVER_EXACT, 0);
    lelp_builder* sk = make(d, C, S, LELP_SOLVER_SKETCH, 0); /* the automatic size: 12 at S = 4 */
    assert_int_equal(lelp_builder_update(ex, H, y, n, d), LELP_OK);
    assert_int_equal(lelp_builder_update(sk, H, y, n, d), LELP_OK);
    lelp_model *me = fit(ex), *ms = fit(sk);
    static double U[C * S * d], mu[C * d];
    double le[C * S];
    assert_int_equal(lelp_model_eigenvalues(me, le, C * S), LELP_OK);
    assert_int_equal(lelp_model_components(ms, U, C * S * d), LELP_OK);
    assert_int_equal(lelp_model_means(me, mu, C * d), LELP_OK);
    for (int c = 0; c < C; c++) {
        double got = 0.0, top = 0.0; /* sum over rows of (u_s . (h - mu_c))^2 / (n_c - 1) */
        for (int64_t i = c; i < n; i += C)
            for (int k = 0; k < S; k++) {
                double p = 0.0;
                for (int64_t j = 0; j < d; j++) p += U[(c * S + k) * d + j] * ((double)H[i * d + j] - mu[c * d + j]);
                got += p * p / (double)(n / C - 1);
            }
        for (int k = 0; k < S; k++) top += le[c * S + k];
        if (!(got >= 0.99 * top)) fail_msg("class %d: the sketch captures %.4f of the exact top-%d variance", c, got / top, S);
    }
    lelp_model_free(me);
    lelp_model_free(ms);
    lelp_builder_free(ex);
    lelp_builder_free(sk);
    free(H);
    free(y);
}

/* a drifting mean: catches a sketch that drops the mean-shift rows */
static void test_guarantee_under_drift(void** s)
{
    (void)s;
    check_guarantee_and_agreement(6.0, 12, 40);
    check_guarantee_and_agreement(6.0, 70, 80);
}

static void test_merge_roundtrip_and_rules(void** s)
{
    (void)s;
    enum { n = 1500, d = 24, C = 2, S = 3, ELL = 10 };
    static float H[n * d];
    static int32_t y[n];
    spectrum_data(H, y, n, d, C, 6.0); /* shards with different means */
    lelp_builder* one = make(d, C, S, LELP_SOLVER_SKETCH, ELL);
    lelp_builder* a = make(d, C, S, LELP_SOLVER_SKETCH, ELL);
    lelp_builder* b = make(d, C, S, LELP_SOLVER_SKETCH, ELL);
    assert_int_equal(lelp_builder_update(one, H, y, n, d), LELP_OK);
    assert_int_equal(lelp_builder_update(a, H, y, 700, d), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H + 700 * d, y + 700, n - 700, d), LELP_OK);
    /* stage rule: the solver is fixed once data arrived */
    assert_int_equal(lelp_builder_set_int(a, LELP_BUILDER_SOLVER, LELP_SOLVER_EXACT), LELP_E_STAGE);
    assert_int_equal(lelp_builder_set_int(a, LELP_BUILDER_SKETCH_SIZE, 20), LELP_E_STAGE);
    assert_int_equal(lelp_builder_set_int(one, LELP_BUILDER_SKETCH_SIZE, S), LELP_E_STAGE);
    lelp_builder* fresh = NULL;
    assert_int_equal(lelp_builder_create(&fresh, d, C, S, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(fresh, LELP_BUILDER_SKETCH_SIZE, S), LELP_E_PARAM_RANGE);
    assert_int_equal(lelp_builder_set_int(fresh, LELP_BUILDER_SOLVER, 2), LELP_E_PARAM_RANGE);
    /* exact and sketch statistics do not mix */
    assert_int_equal(lelp_builder_update(fresh, H, y, 100, d), LELP_OK);
    assert_int_equal(lelp_builder_merge(fresh, a), LELP_E_PARAM_COMBINATION);
    lelp_builder_free(fresh);
    /* merged shards: exact means and counts, the same guarantee */
    assert_int_equal(lelp_builder_merge(a, b), LELP_OK);
    lelp_model *m1 = fit(one), *m2 = fit(a);
    double mu1[C * d], mu2[C * d], l1[C * S], l2[C * S];
    assert_int_equal(lelp_model_means(m1, mu1, C * d), LELP_OK);
    assert_int_equal(lelp_model_means(m2, mu2, C * d), LELP_OK);
    for (int i = 0; i < C * d; i++) assert_true(fabs(mu1[i] - mu2[i]) <= 1e-12 * (1.0 + fabs(mu1[i])));
    assert_int_equal(lelp_model_eigenvalues(m1, l1, C * S), LELP_OK);
    assert_int_equal(lelp_model_eigenvalues(m2, l2, C * S), LELP_OK);
    for (int i = 0; i < C * S; i++) assert_true(fabs(l1[i] - l2[i]) <= 0.05 * l1[i]);
    /* state round trip: save -> load -> save identical, fit identical */
    size_t n1 = 0, n2 = 0;
    assert_int_equal(lelp_builder_serialized_size(a, &n1), LELP_OK);
    uint8_t* buf = malloc(n1);
    assert_int_equal(lelp_builder_serialize(a, buf, n1, NULL), LELP_OK);
    lelp_builder* back = NULL;
    assert_int_equal(lelp_builder_load(&back, buf, n1, NULL), LELP_OK);
    int64_t solver = -1;
    assert_int_equal(lelp_builder_get_int(back, LELP_BUILDER_SOLVER, &solver), LELP_OK);
    assert_int_equal(solver, LELP_SOLVER_SKETCH);
    assert_int_equal(lelp_builder_serialized_size(back, &n2), LELP_OK);
    assert_int_equal(n1, n2);
    uint8_t* buf2 = malloc(n2);
    assert_int_equal(lelp_builder_serialize(back, buf2, n2, NULL), LELP_OK);
    assert_memory_equal(buf, buf2, n1);
    lelp_model* m3 = fit(back);
    double l3[C * S];
    assert_int_equal(lelp_model_eigenvalues(m3, l3, C * S), LELP_OK);
    assert_memory_equal(l2, l3, sizeof l2);
    /* a truncated sketch state is refused */
    lelp_builder* bad = NULL;
    assert_int_equal(lelp_builder_load(&bad, buf, n1 - 9, NULL), LELP_E_TRUNCATED);
    free(buf);
    free(buf2);
    lelp_model_free(m1);
    lelp_model_free(m2);
    lelp_model_free(m3);
    lelp_builder_free(one);
    lelp_builder_free(a);
    lelp_builder_free(b);
    lelp_builder_free(back);
}

typedef struct peak {
    size_t live, max;
} peak;
static void* pk_alloc(void* o, size_t n, size_t align)
{
    peak* p = o;
    void* q = NULL;
    if (posix_memalign(&q, align < sizeof(void*) ? sizeof(void*) : align, n)) return NULL;
    p->live += n;
    if (p->live > p->max) p->max = p->live;
    return q;
}
static void pk_free(void* o, void* q, size_t n)
{
    peak* p = o;
    p->live -= n;
    free(q);
}

/* d = 16384, C = 2, S = 8: the exact solver would need 4 GiB of co-moments;
 * the sketch stays far below 2 GB (the budget). */
static void test_large_d_bounded_memory(void** s)
{
    (void)s;
    enum { d = 16384, C = 2, S = 8, n = 300 };
    float* H = malloc(sizeof(float) * (size_t)n * d);
    int32_t y[n];
    assert_non_null(H);
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % C);
        for (int64_t j = 0; j < d; j++) H[i * d + j] = (float)((j % 97 < 10 ? 3.0 : 0.2) * gauss());
    }
    peak pk = {0, 0};
    lelp_allocator* a = NULL;
    assert_int_equal(lelp_allocator_create(&a, pk_alloc, pk_free, &pk), LELP_OK);
    lelp_builder* b = NULL;
    assert_int_equal(lelp_builder_create(&b, d, C, S, a), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH), LELP_OK);
    for (int64_t i = 0; i < n; i += 100) assert_int_equal(lelp_builder_update(b, H + i * d, y + i, 100, d), LELP_OK);
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_fit(b, &m), LELP_OK);
    float T[4 * C * S];
    assert_int_equal(lelp_model_targets_from_labels(m, H, y, 4, d, 0.0, T), LELP_OK);
    if (!(pk.max < (size_t)512 << 20)) fail_msg("peak %zu bytes", pk.max);
    lelp_model_free(m);
    lelp_builder_free(b);
    lelp_allocator_free(a);
    assert_int_equal(pk.live, 0);
    free(H);
}

/* builder states of format version 1 (0.1.0 before the sketch solver)
 * still load and fit */
static void test_reads_version1_states(void** s)
{
    (void)s;
    lelp_builder* b = NULL;
    int st = lelp_builder_load_path(&b, "fuzz/corpus/load/builder_v1_d3c2s2", NULL);
    if (st) fail_msg("%s (%s)", lelp_status_string(st), lelp_last_error());
    lelp_model* m = fit(b);
    int64_t solver = -1;
    assert_int_equal(lelp_model_get_int(m, LELP_MODEL_SOLVER, &solver), LELP_OK);
    assert_int_equal(solver, LELP_SOLVER_EXACT);
    lelp_model_free(m);
    lelp_builder_free(b);
}

/* A shrink whose eigensolver fails (a NaN planted in the buffer: public
 * inputs are checked, so only a solver failure gets here) is sticky: fit
 * and serialize report LELP_E_SOLVER instead of fitting on the rows that
 * happened to be kept (the old code returned LELP_OK). A merge passes it
 * on. */
static void test_solver_failure_is_sticky(void** s)
{
    (void)s;
    enum { D = 8, ELL = 4, N = 64 };
    float H[N * D];
    int32_t y[N];
    for (int i = 0; i < N * D; i++) H[i] = (float)gauss();
    for (int i = 0; i < N; i++) y[i] = 0;
    lelp_builder *b = NULL, *other = NULL;
    assert_int_equal(lelp_builder_create(&b, D, 1, 2, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH), LELP_OK);
    assert_int_equal(lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, ELL), LELP_OK);
    assert_int_equal(lelp_builder_update(b, H, y, 3, D), LELP_OK); /* 3 rows + no Chan row: below cap = 8 */
    assert_true(b->sk->nrows[0] < b->sk->cap);
    b->sk->B[0][0] = NAN;
    assert_int_equal(lelp_builder_update(b, H + 3 * D, y, N - 3, D), LELP_OK); /* shrinks */
    assert_int_equal(b->sk->failed, LELP_E_SOLVER);
    lelp_model* m = NULL;
    assert_int_equal(lelp_builder_fit(b, &m), LELP_E_SOLVER);
    assert_null(m);
    assert_non_null(strstr(lelp_last_error(), "lelp_builder_fit"));
    size_t size = 0;
    assert_int_equal(lelp_builder_serialized_size(b, &size), LELP_OK);
    void* buf = malloc(size);
    assert_int_equal(lelp_builder_serialize(b, buf, size, NULL), LELP_E_SOLVER);
    free(buf);
    /* merged into a healthy builder, the loss travels along */
    assert_int_equal(lelp_builder_create(&other, D, 1, 2, NULL), LELP_OK);
    assert_int_equal(lelp_builder_set_int(other, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH), LELP_OK);
    assert_int_equal(lelp_builder_set_int(other, LELP_BUILDER_SKETCH_SIZE, ELL), LELP_OK);
    assert_int_equal(lelp_builder_update(other, H, y, N, D), LELP_OK);
    assert_int_equal(lelp_builder_fit(other, &m), LELP_OK);
    lelp_model_free(m);
    m = NULL;
    assert_int_equal(lelp_builder_merge(other, b), LELP_OK);
    assert_int_equal(lelp_builder_fit(other, &m), LELP_E_SOLVER);
    lelp_builder_free(other);
    lelp_builder_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarantee_and_agreement),
        cmocka_unit_test(test_guarantee_under_drift),
        cmocka_unit_test(test_captured_variance_on_a_slow_spectrum),
        cmocka_unit_test(test_merge_roundtrip_and_rules),
        cmocka_unit_test(test_large_d_bounded_memory),
        cmocka_unit_test(test_reads_version1_states),
        cmocka_unit_test(test_solver_failure_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
