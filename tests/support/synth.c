/* SPDX-License-Identifier: MIT */
/* synth.c -- seeded synthetic data for the liblelp tests (see synth.h). */
#include "synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void synth_rng_seed(synth_rng* r, uint64_t seed)
{
    /* splitmix64 scramble so that small seeds give unrelated streams; the
     * state of xorshift64* must be non-zero. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1DULL;
}

uint64_t synth_rng_u64(synth_rng* r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double synth_uniform(synth_rng* r)
{
    return ((double)(synth_rng_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double synth_normal(synth_rng* r)
{
    double u1 = synth_uniform(r), u2 = synth_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void synth_fill_normal(synth_rng* r, float* x, int64_t n, double sd)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)(sd * synth_normal(r));
}

double synth_reldiff(double a, double b, double floor_)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (m < floor_) m = floor_;
    return fabs(a - b) / m;
}

synth_spec synth_default(int64_t n, int64_t d, int64_t C, int64_t K, uint64_t seed)
{
    synth_spec s;
    s.n = n;
    s.d = d;
    s.C = C;
    s.K = K;
    s.rank = 2;
    s.class_sep = 4.0;
    s.sub_sep = 3.0;
    s.spread = 1.0;
    s.noise = 0.3;
    s.seed = seed;
    return s;
}

static void random_unit(synth_rng* r, double* v, int64_t d)
{
    double nn = 0.0;
    for (int64_t j = 0; j < d; j++) {
        v[j] = synth_normal(r);
        nn += v[j] * v[j];
    }
    nn = sqrt(nn);
    for (int64_t j = 0; j < d; j++) v[j] /= nn;
}

int synth_make(synth_data* out, const synth_spec* sp)
{
    memset(out, 0, sizeof *out);
    if (sp->n < 0 || sp->d < 1 || sp->C < 1 || sp->K < 1 || sp->rank < 0) return -1;
    int64_t n = sp->n, d = sp->d, C = sp->C, K = sp->K, r = sp->rank;
    synth_rng rng;
    synth_rng_seed(&rng, sp->seed);

    out->n = n;
    out->d = d;
    out->C = C;
    out->K = K;
    out->H = malloc(sizeof(float) * (size_t)(n * d + 1));
    out->y = malloc(sizeof(int32_t) * (size_t)(n + 1));
    out->k = malloc(sizeof(int32_t) * (size_t)(n + 1));
    out->Z = malloc(sizeof(float) * (size_t)(n * C + 1));
    out->W = malloc(sizeof(float) * (size_t)(C * d));
    out->centers = malloc(sizeof(double) * (size_t)(C * K * d));
    double* B = malloc(sizeof(double) * (size_t)(C * d * (r + 1)));
    double* v = malloc(sizeof(double) * (size_t)d);
    double* g = malloc(sizeof(double) * (size_t)(r + 1));
    if (!out->H || !out->y || !out->k || !out->Z || !out->W || !out->centers || !B || !v || !g) {
        free(B);
        free(v);
        free(g);
        synth_free(out);
        return -1;
    }

    /* Class means, subclass centres, low-rank bases (unit columns), head. */
    for (int64_t c = 0; c < C; c++) {
        random_unit(&rng, v, d);
        for (int64_t kk = 0; kk < K; kk++) {
            double* ctr = out->centers + (c * K + kk) * d;
            random_unit(&rng, ctr, d); /* direction of the subclass offset */
            for (int64_t j = 0; j < d; j++)
                ctr[j] = sp->class_sep * v[j] + (K > 1 ? sp->sub_sep * ctr[j] : 0.0);
        }
        for (int64_t q = 0; q < r; q++) random_unit(&rng, B + (c * r + q) * d, d);
    }
    for (int64_t i = 0; i < C * d; i++) out->W[i] = (float)synth_normal(&rng);

    for (int64_t i = 0; i < n; i++) {
        int64_t c = i % C;
        int64_t kk = (int64_t)(synth_rng_u64(&rng) % (uint64_t)K);
        out->y[i] = (int32_t)c;
        out->k[i] = (int32_t)kk;
        for (int64_t q = 0; q < r; q++) g[q] = sp->spread * synth_normal(&rng);
        const double* ctr = out->centers + (c * K + kk) * d;
        for (int64_t j = 0; j < d; j++) {
            double x = ctr[j] + sp->noise * synth_normal(&rng);
            for (int64_t q = 0; q < r; q++) x += B[(c * r + q) * d + j] * g[q];
            out->H[i * d + j] = (float)x;
        }
        for (int64_t cc = 0; cc < C; cc++) {
            double z = 0.0;
            for (int64_t j = 0; j < d; j++) z += (double)out->W[cc * d + j] * out->H[i * d + j];
            out->Z[i * C + cc] = (float)(z / sqrt((double)d));
        }
    }
    free(B);
    free(v);
    free(g);
    return 0;
}

void synth_free(synth_data* data)
{
    if (!data) return;
    free(data->H);
    free(data->y);
    free(data->k);
    free(data->Z);
    free(data->W);
    free(data->centers);
    memset(data, 0, sizeof *data);
}
