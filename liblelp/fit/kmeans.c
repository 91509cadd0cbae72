/* SPDX-License-Identifier: MIT */
/* kmeans.c -- the k-means labeller: pseudo-subclasses as S clusters per
 * class (weighted k-means++ seeding, then Lloyd) of the builder's row sample
 * in the null-space projected, class-centred embedding x = P(h - mu_c), and
 * soft targets softmax_s(-|x - m_{c,s}|^2 / beta) (docs/method.md section 7).
 *
 * The clusters are found on the bounded sample (beta_sample.c), so the fit
 * stays streaming: which rows are kept depends only on the rows streamed,
 * and they are visited in the sample's own (key) order, so the centroids
 * are the same for any batching or merge order. Distances are summed in a
 * fixed order in plain C (no BLAS), so the result is the same bits for a
 * given seed on any thread count. */
#include <math.h>
#include <string.h>

#include "kmeans.h"
#include "../linalg/linalg.h"
#include "../model/model_priv.h"

/* Lloyd stops when no assignment changes, or after this many rounds. */
#define LELP__KMEANS_MAX_ITER 300

typedef struct lelp__km {
    int64_t n, d, S;
    double* X;    /* n x d: P(h - mu_c) of the kept rows */
    double* w;    /* n: each kept row's multiplicity */
    double* cen;  /* S x d */
    double* dist; /* n: squared distance to the assigned centroid */
    int32_t* a;   /* n: assigned centroid */
} lelp__km;

/* |x - m|^2 in four running sums (fixed order, vectorizable). */
static double lelp__sqdist(const double* x, const double* m, int64_t d)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4)
        for (int l = 0; l < 4; l++) {
            const double e = x[j + l] - m[j + l];
            s[l] += e * e;
        }
    for (; j < d; j++) s[0] += (x[j] - m[j]) * (x[j] - m[j]);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* X = P (h - mu_c) for the sample rows of class c: x -= Q (Q^T x). */
static void lelp__km_rows(const lelp_builder* b, int64_t c, const double* Q, int64_t r, lelp__km* k)
{
    const int64_t d = b->d;
    for (int64_t i = 0; i < k->n; i++) {
        const float* h = lelp__bsample_row(b->bs, c, i);
        double* x = k->X + i * d;
        for (int64_t j = 0; j < d; j++) x[j] = (double)h[j] - b->mean[c * d + j];
        for (int64_t q = 0; q < r; q++) {
            const double t = lelp__dot(Q + q * d, x, d);
            for (int64_t j = 0; j < d; j++) x[j] -= t * Q[q * d + j];
        }
        k->w[i] = (double)lelp__bsample_mult(b->bs, c, i);
    }
}

/* Index drawn with probability p_i / sum p (the first whose running sum
 * passes u * sum p); -1 when sum p is 0. */
static int64_t lelp__km_draw(const double* p, int64_t n, lelp__rng* rng)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += p[i];
    if (!(total > 0.0)) return -1;
    const double u = lelp__rng_uniform(rng) * total;
    double run = 0.0;
    for (int64_t i = 0; i < n; i++) {
        run += p[i];
        if (run > u && p[i] > 0.0) return i;
    }
    for (int64_t i = n - 1; i >= 0; i--) /* rounding left u past the last sum */
        if (p[i] > 0.0) return i;
    return -1;
}

/* Weighted k-means++: the first centroid a row drawn by weight, each next
 * one a row drawn by weight x squared distance to the nearest chosen one. */
static int lelp__km_seed(lelp__km* k, lelp__rng* rng, double* p, int64_t c)
{
    const int64_t n = k->n, d = k->d;
    for (int64_t s = 0; s < k->S; s++) {
        for (int64_t i = 0; i < n; i++) {
            if (s == 0) {
                p[i] = k->w[i];
                continue;
            }
            const double e = lelp__sqdist(k->X + i * d, k->cen + (s - 1) * d, d);
            k->dist[i] = s == 1 || e < k->dist[i] ? e : k->dist[i];
            p[i] = k->w[i] * k->dist[i];
        }
        const int64_t pick = lelp__km_draw(p, n, rng);
        if (pick < 0)
            return lelp__fail(LELP_E_TOO_FEW_SAMPLES,
                              "lelp_builder_fit: k-means labeller: class %lld has fewer than S = %lld distinct rows "
                              "in its sample (centred, and projected off the head's row space)", (long long)c,
                              (long long)k->S);
        memcpy(k->cen + s * d, k->X + pick * d, (size_t)d * sizeof(double));
    }
    return LELP_OK;
}

/* Nearest centroid of every row (ties: the lowest index); returns how many
 * assignments changed. */
static int64_t lelp__km_assign(lelp__km* k)
{
    int64_t changed = 0;
    for (int64_t i = 0; i < k->n; i++) {
        const double* x = k->X + i * k->d;
        int32_t best = 0;
        double bd = lelp__sqdist(x, k->cen, k->d);
        for (int64_t s = 1; s < k->S; s++) {
            const double e = lelp__sqdist(x, k->cen + s * k->d, k->d);
            if (e < bd) {
                bd = e;
                best = (int32_t)s;
            }
        }
        changed += k->a[i] != best;
        k->a[i] = best;
        k->dist[i] = bd;
    }
    return changed;
}

/* Centroids = weighted means of their rows. A centroid left without rows
 * moves to the row farthest from its own centroid (weight x distance; the
 * first such row), which then belongs to it. */
static void lelp__km_update(lelp__km* k, double* wsum)
{
    const int64_t n = k->n, d = k->d, S = k->S;
    memset(k->cen, 0, (size_t)(S * d) * sizeof(double));
    memset(wsum, 0, (size_t)S * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        double* m = k->cen + k->a[i] * d;
        for (int64_t j = 0; j < d; j++) m[j] += k->w[i] * k->X[i * d + j];
        wsum[k->a[i]] += k->w[i];
    }
    for (int64_t s = 0; s < S; s++) {
        if (wsum[s] > 0.0) {
            for (int64_t j = 0; j < d; j++) k->cen[s * d + j] /= wsum[s];
            continue;
        }
        int64_t far = 0;
        for (int64_t i = 1; i < n; i++)
            if (k->w[i] * k->dist[i] > k->w[far] * k->dist[far]) far = i;
        memcpy(k->cen + s * d, k->X + far * d, (size_t)d * sizeof(double));
        k->a[far] = (int32_t)s;
        k->dist[far] = 0.0;
    }
}

static int lelp__km_class(lelp__km* k, uint64_t seed, int64_t c, double* scratch)
{
    lelp__rng rng;
    lelp__rng_init(&rng, seed, (uint64_t)c, 3);
    int st = lelp__km_seed(k, &rng, scratch, c);
    if (st) return st;
    for (int64_t i = 0; i < k->n; i++) k->a[i] = -1;
    for (int it = 0; it < LELP__KMEANS_MAX_ITER; it++) {
        if (lelp__km_assign(k) == 0) break;
        lelp__km_update(k, scratch);
    }
    return LELP_OK;
}

/* U_{c,s} = 2 m_s (exact: a power of two), b = <U, mu_c> + |m_s|^2; the
 * PCA's eigenvalues stay as the class's spread (rows are still centred by
 * them, model.c). g (n x S) = -|x - m_s|^2 for the automatic beta. */
static void lelp__km_store(const lelp__km* k, lelp_model* m, int64_t c, double* g)
{
    const int64_t d = k->d, S = k->S;
    for (int64_t s = 0; s < S; s++) {
        const double* cen = k->cen + s * d;
        double* U = m->U + (c * S + s) * d;
        for (int64_t j = 0; j < d; j++) U[j] = 2.0 * cen[j];
        m->b[c * S + s] = lelp__dot(U, m->mean + c * d, d) + lelp__dot(cen, cen, d);
    }
    for (int64_t i = 0; i < k->n; i++)
        for (int64_t s = 0; s < S; s++) g[i * S + s] = -lelp__sqdist(k->X + i * d, k->cen + s * d, d);
}

/* The automatic beta's rule (docs/method.md section 5) on the same rows:
 * weights (n_c / N) m_i / sum_kept m, target fraction * log S. */
static int lelp__km_beta(const lelp_builder* b, const lelp_model* m, const double* g, int64_t rows, double* w,
                         double* beta)
{
    const int64_t C = m->C, S = m->S;
    double total = 0.0, spread = 0.0;
    for (int64_t c = 0; c < C; c++) total += (double)m->count[c];
    int64_t k = 0;
    for (int64_t c = 0; c < C; c++) {
        double copies = 0.0;
        for (int64_t i = 0; i < lelp__bsample_size(b->bs, c); i++) copies += (double)lelp__bsample_mult(b->bs, c, i);
        for (int64_t i = 0; i < lelp__bsample_size(b->bs, c); i++, k++) {
            w[k] = (double)m->count[c] / total * ((double)lelp__bsample_mult(b->bs, c, i) / copies);
            double lo = g[k * S], hi = lo;
            for (int64_t s = 1; s < S; s++) {
                lo = g[k * S + s] < lo ? g[k * S + s] : lo;
                hi = g[k * S + s] > hi ? g[k * S + s] : hi;
            }
            spread += w[k] * (hi - lo);
        }
    }
    return lelp__beta_solve(g, w, rows, S, m->entropy_fraction * log((double)S), spread, beta);
}

int lelp__kmeans_label(const lelp_builder* b, lelp_model* m, const double* Q, int64_t r)
{
    if (!b->bs)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_fit: the k-means labeller clusters the builder's row "
                          "sample; LELP_BUILDER_BETA_SAMPLE must not be 0");
    const int64_t C = b->C, S = b->S, d = b->d;
    int64_t rows = 0, most = 0;
    for (int64_t c = 0; c < C; c++) {
        rows += lelp__bsample_size(b->bs, c);
        most = lelp__bsample_size(b->bs, c) > most ? lelp__bsample_size(b->bs, c) : most;
    }
    lelp__km k = {0, d, S, NULL, NULL, NULL, NULL, NULL};
    const size_t xb = lelp__bytes(most, d, sizeof(double)), nb = lelp__bytes(most + S, 1, sizeof(double));
    const size_t cb = lelp__bytes(S, d, sizeof(double)), ab = lelp__bytes(most, 1, sizeof(int32_t));
    const size_t gb = lelp__bytes(rows, S, sizeof(double)), wb = lelp__bytes(rows, 1, sizeof(double));
    k.X = lelp__alloc(&b->mem, xb);
    k.w = lelp__alloc(&b->mem, nb);
    k.dist = lelp__alloc(&b->mem, nb);
    k.cen = lelp__alloc(&b->mem, cb);
    k.a = lelp__alloc(&b->mem, ab);
    double* scratch = lelp__alloc(&b->mem, nb);
    double* g = lelp__alloc(&b->mem, gb);
    double* w = lelp__alloc(&b->mem, wb);
    int st = LELP_OK;
    if (!k.X || !k.w || !k.dist || !k.cen || !k.a || !scratch || !g || !w)
        st = lelp__fail(LELP_E_NOMEM, "lelp_builder_fit: out of memory for the k-means labeller");
    int64_t row0 = 0;
    for (int64_t c = 0; c < C && !st; c++) {
        k.n = lelp__bsample_size(b->bs, c);
        lelp__km_rows(b, c, Q, r, &k);
        if (!(st = lelp__km_class(&k, b->seed, c, scratch))) lelp__km_store(&k, m, c, g + row0 * S);
        row0 += k.n;
    }
    m->labeller = LELP_LABELLER_KMEANS;
    m->format_version = LELP__MODEL_FORMAT_VERSION; /* the k-means flag needs version 2 */
    m->rotate = 0;
    m->entropy_fraction = b->entropy_fraction;
    m->auto_beta = !(b->beta > 0.0);
    m->beta = m->auto_beta ? 1.0 : b->beta;
    if (!st && m->auto_beta && S > 1) st = lelp__km_beta(b, m, g, rows, w, &m->beta);
    lelp__free(&b->mem, k.X, xb);
    lelp__free(&b->mem, k.w, nb);
    lelp__free(&b->mem, k.dist, nb);
    lelp__free(&b->mem, k.cen, cb);
    lelp__free(&b->mem, k.a, ab);
    lelp__free(&b->mem, scratch, nb);
    lelp__free(&b->mem, g, gb);
    lelp__free(&b->mem, w, wb);
    return st;
}
