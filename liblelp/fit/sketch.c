/* SPDX-License-Identifier: MIT */
/* sketch.c -- the streaming solver for large d: Frequent Directions
 * (Liberty 2013; Ghashami, Liberty, Phillips, Woodruff 2016) in its alpha-FD
 * form (Desai, Ghashami, Phillips 2016) per class, on the same centred rows
 * and Chan correction rows that the exact solver adds into its co-moment
 * matrix, so B^T B approximates M_c with
 *     0 <= x^T (M_c - B^T B) x <= ||A - A_k||_F^2 / (m - k)   for every unit x
 * and every k < m = lelp__sketch_shrunk_rows(l) (A = all rows fed).
 * Memory O(C * l * d), one pass, mergeable, deterministic (no randomness). See docs/method.md section 6. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "fit.h"
#include "../linalg/linalg.h"

#define LELP__LAPACK_INT_MAX (sizeof(lapack_int) >= 8 ? INT64_MAX : INT32_MAX)

int64_t lelp__sketch_default_ell(int64_t d, int64_t S)
{
    /* 2S rows: alpha-FD keeps >= 0.99 of the exact top-S variance down to
     * eigenvalues decaying as i^-1/2 (bench/sketch_ell.py, docs/method.md
     * section 6); S + 8 for small S, whose few rows leave too little room.
     * d + 1 rows already hold any d-dimensional class exactly. */
    int64_t ell = 2 * S > S + 8 ? 2 * S : S + 8;
    if (ell > d + 1) ell = d + 1;
    return ell < LELP__MAX_SKETCH ? ell : LELP__MAX_SKETCH;
}

int64_t lelp__dsyevd_lwork(int64_t n)
{
    return 1 + 6 * n + 2 * n * n;
}

int64_t lelp__dsyevd_liwork(int64_t n)
{
    return 3 + 5 * n;
}

/* Bytes a sketch of this shape allocates (lelp__sketch_create). */
double lelp__sketch_bytes(int64_t d, int64_t C, int64_t ell)
{
    const double cap = 2.0 * (double)ell, small = (double)lelp__small_eigen_work(2 * ell, ell - 1);
    const double lwork = (double)lelp__dsyevd_lwork(2 * ell);
    return 8.0 * ((double)C * cap * (double)d + 3.0 * (double)C + cap * cap + cap + cap * (double)d +
                  (double)lelp__rows_combine_work(2 * ell) + cap * (double)ell + (lwork > small ? lwork : small)) +
           4.0 * (double)lelp__dsyevd_liwork(2 * ell);
}

int lelp__sketch_create(const lelp__mem* mem, int64_t d, int64_t C, int64_t ell, lelp__sketch** out)
{
    *out = NULL;
    lelp__sketch* sk = lelp__calloc(mem, sizeof *sk);
    if (!sk) return lelp__fail(LELP_E_NOMEM, "sketch: out of memory");
    sk->ell = ell;
    sk->cap = 2 * ell;
    sk->d = d;
    sk->C = C;
    sk->rows = lelp__calloc(mem, lelp__bytes(C * sk->cap, d, sizeof(double)));
    sk->nrows = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(int64_t)));
    sk->trace = lelp__calloc(mem, lelp__bytes(C, 1, sizeof(double)));
    sk->G = lelp__alloc(mem, lelp__bytes(sk->cap, sk->cap, sizeof(double)));
    sk->w = lelp__alloc(mem, lelp__bytes(sk->cap, 1, sizeof(double)));
    sk->B = lelp__alloc(mem, lelp__bytes(C, 1, sizeof(double*)));
    sk->spare = sk->spare0 = lelp__alloc(mem, lelp__bytes(sk->cap, d, sizeof(double)));
    sk->panel = lelp__alloc(mem, lelp__bytes(lelp__rows_combine_work(sk->cap), 1, sizeof(double)));
    sk->Z = lelp__alloc(mem, lelp__bytes(sk->cap, ell, sizeof(double)));
    /* dsyevd's documented workspace for a cap x cap problem with vectors,
     * in 64 bits: its own query answers in lapack_int, which wraps past
     * 2^31 (cap >= 32768 with 32-bit LAPACK integers); the query is only
     * trusted when it asks for more and still fits */
    const int64_t lwmin = lelp__dsyevd_lwork(sk->cap), liwmin = lelp__dsyevd_liwork(sk->cap);
    if (lwmin > (int64_t)LELP__LAPACK_INT_MAX) {
        lelp__sketch_free(mem, sk);
        return lelp__fail(LELP_E_INVALID_ARG, "sketch: %lld rows per class need a LAPACK workspace of %lld doubles, "
                          "more than its integers address (sketch size at most %lld)", (long long)(2 * ell),
                          (long long)lwmin, (long long)LELP__MAX_SKETCH);
    }
    double query = 0.0;
    lapack_int iquery = 0, info = -1;
    const lapack_int cap = (lapack_int)sk->cap;
    if (sk->G && sk->w)
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', cap, sk->G, cap, sk->w, &query, -1, &iquery, -1);
    /* one workspace for both eigensolvers */
    const int64_t small = lelp__small_eigen_work(sk->cap, ell - 1);
    sk->lwork = info == 0 && query > (double)lwmin && query <= (double)LELP__LAPACK_INT_MAX ? (int64_t)query : lwmin;
    if (small > sk->lwork) sk->lwork = small;
    sk->liwork = info == 0 && iquery > liwmin ? (int64_t)iquery : liwmin;
    sk->work = lelp__alloc(mem, lelp__bytes(sk->lwork, 1, sizeof(double)));
    sk->iwork = lelp__alloc(mem, lelp__bytes(sk->liwork, 1, sizeof(lapack_int)));
    if (!sk->rows || !sk->nrows || !sk->trace || !sk->G || !sk->w || !sk->B || !sk->spare || !sk->panel || !sk->Z ||
        !sk->work || !sk->iwork) {
        const long long rows = (long long)sk->cap; /* read before the free */
        lelp__sketch_free(mem, sk);
        return lelp__fail(LELP_E_NOMEM, "sketch: out of memory for %lld x %lld rows per class", rows, (long long)d);
    }
    for (int64_t c = 0; c < C; c++) sk->B[c] = sk->rows + c * sk->cap * d;
    *out = sk;
    return LELP_OK;
}

void lelp__sketch_free(const lelp__mem* mem, lelp__sketch* sk)
{
    if (!sk) return;
    lelp__free(mem, sk->rows, lelp__bytes(sk->C * sk->cap, sk->d, sizeof(double)));
    lelp__free(mem, sk->nrows, lelp__bytes(sk->C, 1, sizeof(int64_t)));
    lelp__free(mem, sk->trace, lelp__bytes(sk->C, 1, sizeof(double)));
    lelp__free(mem, sk->G, lelp__bytes(sk->cap, sk->cap, sizeof(double)));
    lelp__free(mem, sk->w, lelp__bytes(sk->cap, 1, sizeof(double)));
    lelp__free(mem, sk->B, lelp__bytes(sk->C, 1, sizeof(double*)));
    lelp__free(mem, sk->spare0, lelp__bytes(sk->cap, sk->d, sizeof(double)));
    lelp__free(mem, sk->panel, lelp__bytes(lelp__rows_combine_work(sk->cap), 1, sizeof(double)));
    lelp__free(mem, sk->Z, lelp__bytes(sk->cap, sk->ell, sizeof(double)));
    lelp__free(mem, sk->work, lelp__bytes(sk->lwork, 1, sizeof(double)));
    lelp__free(mem, sk->iwork, lelp__bytes(sk->liwork, 1, sizeof(lapack_int)));
    lelp__free(mem, sk, sizeof *sk);
}

/* small_eigen.c up to this Gram size (measured 2x faster than dsyevd at
 * 32 ... 48, 1.2-1.3x at 96, on a par at 128: docs/performance.md); above
 * it dsyevd, whose divide and conquer grows more slowly than the inverse
 * iteration's Gram-Schmidt */
#define LELP__SMALL_EIGEN_MAX 96

/* The eigenvalues of B B^T (ascending, in w) and the eigenvectors of the
 * top `keep` (the columns of *V, leading dimension cap): small_eigen.c, or
 * dsyevd for large buffers or if small_eigen ever fails. */
static lapack_int lelp__sketch_gram_eigen(lelp__sketch* sk, const double* B, int64_t keep, double** V)
{
    const int64_t d = sk->d, cap = sk->cap;
    *V = sk->Z;
    if (cap <= LELP__SMALL_EIGEN_MAX) { /* small_gemm.c's Gram kernel: 2.5x dsyrk at 32 x 1024 */
        lelp__rows_gram(B, cap, d, sk->G, cap);
        if (lelp__small_eigen(cap, sk->G, keep, sk->w, sk->Z, sk->work, sk->lwork) == 0) return 0;
        lelp__rows_gram(B, cap, d, sk->G, cap);
    } else {
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, (int)cap, (int)d, 1.0, B, (int)d, 0.0, sk->G, (int)cap);
    }
    *V = sk->G + (cap - keep) * cap;
    return LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)cap, sk->G, (lapack_int)cap, sk->w, sk->work,
                               (lapack_int)sk->lwork, (lapack_int*)sk->iwork, (lapack_int)sk->liwork);
}

/* Rows of a shrink that lose delta: the smallest ceil(l/5) of the top l
 * (the l-th, which becomes zero, included). The rest keep their singular
 * values. This is "alpha-FD" (Desai, Ghashami, Phillips 2016, "Improved
 * practical matrix sketching with guarantees", alpha = 0.2). Classic FD
 * shrinks all l, which drags the strong directions down at every shrink, so
 * the final rows favour the latest data: on a slowly decaying spectrum
 * (eigenvalues i^-1/2, d = 1024) FD at l = 16 captures 24 % of the top-8
 * variance and alpha-FD 99.4 % (bench/sketch_ell.py). The bound keeps its
 * form with l replaced by this count (docs/method.md section 6). */
int64_t lelp__sketch_shrunk_rows(int64_t ell)
{
    return (ell + 4) / 5;
}

/* A full buffer B (cap rows) becomes l-1 rows: B = U S V^T, subtract the
 * l-th largest squared singular value delta from the smallest
 * lelp__sketch_shrunk_rows(l) of the top l S^2 and keep sqrt(S^2 - delta) V^T
 * for those, S V^T for the others. Computed through the cap x cap Gram matrix
 * B B^T (small_gemm.c or dsyrk) and its eigendecomposition; the directions that survive have
 * S^2 > delta, well away from the Gram matrix's rounding floor. */
static void lelp__sketch_shrink(lelp__sketch* sk, int64_t c)
{
    const int64_t d = sk->d, cap = sk->cap, ell = sk->ell, keep = ell - 1;
    double* B = sk->B[c];
    double* V = NULL;
    lapack_int info = lelp__sketch_gram_eigen(sk, B, keep, &V);
    if (info != 0) {
        /* cannot happen for a finite symmetric matrix: the class's sketch
         * no longer bounds its co-moment, so the failure is sticky and fit
         * reports it (LELP_E_SOLVER); the newest rows are kept so the
         * buffer stays well-formed until then */
        if (!sk->failed) {
            sk->failed = LELP_E_SOLVER;
            sk->failed_class = c;
            sk->failed_info = (int64_t)info;
        }
        memmove(B, B + (cap - keep) * d, (size_t)(keep * d) * sizeof(double));
        sk->nrows[c] = keep;
        return;
    }
    /* w ascending: w[cap-l] is the l-th largest (delta), the last l-1 are
     * kept, the first `shrunk` of them shrunk. Each kept eigenvector v_i (a
     * column of V) is scaled by sqrt((s2_i - delta) / s2_i) (shrunk) or 1
     * first, so the new rows are one product
     * V^T B (small_gemm.c for buffers small_eigen.c serves, dgemm above),
     * written to the spare buffer, which becomes the class's buffer
     * (B the spare: no copy back). Rows past the kept ones are not
     * initialised: nothing reads a row at or past nrows (the state writer
     * puts zeros there). */
    const int64_t first = cap - keep;
    const double delta = sk->w[cap - ell] > 0.0 ? sk->w[cap - ell] : 0.0;
    const int64_t shrunk = lelp__sketch_shrunk_rows(ell) - 1; /* of the kept rows: the l-th is dropped */
    for (int64_t i = 0; i < keep; i++) {
        const double s2 = sk->w[first + i];
        const double f = i >= shrunk ? 1.0 : s2 > delta ? sqrt((s2 - delta) / s2) : 0.0;
        for (int64_t j = 0; j < cap; j++) V[i * cap + j] *= f;
    }
    if (cap <= LELP__SMALL_EIGEN_MAX) /* small_gemm.c: ~30 % faster than dgemm at l = 16, d = 1024 */
        lelp__rows_combine(V, cap, keep, B, cap, d, sk->spare, sk->panel);
    else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)keep, (int)d, (int)cap, 1.0, V, (int)cap, B,
                    (int)d, 0.0, sk->spare, (int)d);
    sk->B[c] = sk->spare;
    sk->spare = B;
    sk->nrows[c] = keep;
}

static void lelp__sketch_append(lelp__sketch* sk, int64_t c, const double* rows, int64_t nr, double scale)
{
    const int64_t d = sk->d;
    for (int64_t r = 0; r < nr; r++) {
        if (sk->nrows[c] == sk->cap) lelp__sketch_shrink(sk, c);
        double* dst = sk->B[c] + sk->nrows[c] * d; /* a shrink moves the buffer */
        const double* src = rows + r * d;
        for (int64_t j = 0; j < d; j++) dst[j] = scale * src[j];
        sk->nrows[c]++;
    }
}

/* Chan's combination of a part with mean mean_b and count nb into (mean,
 * count): the part's own rows are already in the sketch with trace tr; the
 * mean shift adds one row sqrt(w) * delta, exactly as the exact solver. */
static void sketch_shift(lelp__sketch* sk, double* mean, int64_t* count, int64_t c, const double* mean_b,
                         int64_t nb, double tr, double* delta)
{
    const int64_t d = sk->d;
    const int64_t na = *count;
    const double w = lelp__chan_mean(mean, na, d, mean_b, nb, delta);
    if (na > 0) {
        tr += w * lelp__sumsq(delta, d);
        lelp__sketch_append(sk, c, delta, 1, sqrt(w));
    }
    sk->trace[c] += tr;
    *count = na + nb;
}

/* M += X^T X + w delta delta^T as rows: the block's rows H[rows[r]] centred
 * on the block mean bm straight into the sketch buffer (no block copy; each
 * row's squares summed while it is in cache), then the Chan correction row. */
void lelp__sketch_add_block(lelp__sketch* sk, double* mean, int64_t* count, int64_t c, const float* H,
                            const int64_t* rows, int64_t nb, const double* bm, double* delta)
{
    const int64_t d = sk->d;
    double tr = 0.0;
    for (int64_t r = 0; r < nb; r++) {
        if (sk->nrows[c] == sk->cap) lelp__sketch_shrink(sk, c);
        double* dst = sk->B[c] + sk->nrows[c] * d; /* a shrink moves the buffer */
        const float* h = H + rows[r] * d;
        for (int64_t j = 0; j < d; j++) dst[j] = (double)h[j] - bm[j];
        tr += lelp__sumsq(dst, d);
        sk->nrows[c]++;
    }
    sketch_shift(sk, mean, count, c, bm, nb, tr, delta);
}

void lelp__sketch_merge(lelp__sketch* dst, double* mean, int64_t* count, int64_t c, const lelp__sketch* src,
                        const double* mean_b, int64_t count_b, double* delta)
{
    if (count_b == 0) return;
    if (src->failed && !dst->failed) { /* src's rows are incomplete: so is the merge */
        dst->failed = src->failed;
        dst->failed_class = src->failed_class;
        dst->failed_info = src->failed_info;
    }
    lelp__sketch_append(dst, c, src->B[c], src->nrows[c], 1.0);
    sketch_shift(dst, mean, count, c, mean_b, count_b, src->trace[c], delta);
}

/* Top-S eigenpairs of P B^T B P / (n - 1) for class c's sketch B: the Gram
 * form of gram.c on the sketch rows, with the exact trace kept alongside. */
int lelp__sketch_eigen(const lelp__mem* mem, const lelp__sketch* sk, int64_t c, int64_t count, const double* Q,
                       int64_t rh, int64_t S, double* lam, double* V, double* trace, double* trace0)
{
    if (sk->failed)
        return lelp__fail(LELP_E_SOLVER, "lelp_builder_fit: the sketch's eigensolver failed (LAPACK info %lld) while "
                          "class %lld was streamed, so its rows were not all kept", (long long)sk->failed_info,
                          (long long)sk->failed_class);
    return lelp__gram_eigen(mem, sk->B[c], sk->nrows[c], sk->d, 0, sk->trace[c], count, Q, rh, S,
                            lam, V, trace, trace0, c);
}
