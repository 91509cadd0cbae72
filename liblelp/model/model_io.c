/* SPDX-License-Identifier: MIT */
/* model_io.c -- model serialization (docs/format.md). Every length is
 * validated before use; loading never reads past `size`. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "model_priv.h"
#include "../linalg/linalg.h"

enum { LELP__M_COUNT, LELP__M_MEAN, LELP__M_EIG, LELP__M_RATIO, LELP__M_U, LELP__M_B, LELP__M_N };

/* Offsets (from the start of the buffer) of each payload array, each
 * 64-byte aligned; returns the payload length or SIZE_MAX on overflow. */
static size_t lelp__model_layout(int64_t d, int64_t C, int64_t S, size_t off[LELP__M_N], size_t* end)
{
    size_t sizes[LELP__M_N] = {
        lelp__bytes(C, 1, 8), lelp__bytes(C, d, 8), lelp__bytes(C, S, 8),
        lelp__bytes(C, S, 8), lelp__bytes(C * S, d, 8), lelp__bytes(C, S, 8),
    };
    return lelp__layout(sizes, LELP__M_N, off, end);
}

int lelp_model_serialized_size(const lelp_model* m, size_t* size)
{
    int st = lelp__check_handle(m, LELP__MAGIC_MODEL, "lelp_model_serialized_size", "model");
    if (st) return st;
    if (!size) return lelp__fail(LELP_E_NULL, "lelp_model_serialized_size: size is NULL");
    size_t off[LELP__M_N];
    *size = LELP__HEADER_LEN + lelp__model_layout(m->d, m->C, m->S, off, NULL) + 4;
    return LELP_OK;
}

int lelp_model_serialize(const lelp_model* m, void* dst, size_t capacity, size_t* written)
{
    size_t need = 0;
    int st = lelp_model_serialized_size(m, &need);
    if (st) return st;
    if (!dst) return lelp__fail(LELP_E_NULL, "lelp_model_serialize: dst is NULL");
    if (capacity < need)
        return lelp__fail(LELP_E_BUFFER_TOO_SMALL, "lelp_model_serialize: capacity %zu < %zu needed", capacity, need);
    size_t off[LELP__M_N];
    size_t plen = lelp__model_layout(m->d, m->C, m->S, off, NULL);
    lelp__writer w = {dst, 0};
    memcpy(w.p, "LELPMODL", 8);
    w.pos = 8;
    /* a projection model is the version-1 layout, unchanged; only the
     * k-means flag needs version 2, so older readers refuse it by version */
    lelp__put_u32(&w, m->labeller == LELP_LABELLER_KMEANS ? LELP__MODEL_FORMAT_VERSION : 1u);
    lelp__put_u32(&w, LELP__HEADER_LEN);
    lelp__put_u32(&w, (uint32_t)LELP_VERSION_NUMBER);
    lelp__put_u32(&w, (uint32_t)(m->null_space | (m->rotate << 1) | (m->auto_beta << 2) | (m->solver << 3) |
                                 (m->labeller << 4)));
    lelp__put_u64(&w, (uint64_t)plen);
    lelp__put_u64(&w, (uint64_t)m->d);
    lelp__put_u64(&w, (uint64_t)m->C);
    lelp__put_u64(&w, (uint64_t)m->S);
    lelp__put_u64(&w, (uint64_t)m->head_rank);
    lelp__put_u64(&w, m->seed);
    lelp__put_f64(&w, m->beta);
    lelp__put_f64(&w, m->entropy_fraction);
    const int64_t C = m->C, S = m->S, d = m->d;
    lelp__put_pad(&w, off[LELP__M_COUNT]);
    for (int64_t c = 0; c < C; c++) lelp__put_u64(&w, (uint64_t)m->count[c]);
    lelp__put_pad(&w, off[LELP__M_MEAN]);
    lelp__put_f64s(&w, m->mean, (size_t)(C * d));
    lelp__put_pad(&w, off[LELP__M_EIG]);
    lelp__put_f64s(&w, m->eig, (size_t)(C * S));
    lelp__put_pad(&w, off[LELP__M_RATIO]);
    lelp__put_f64s(&w, m->ratio, (size_t)(C * S));
    lelp__put_pad(&w, off[LELP__M_U]);
    lelp__put_f64s(&w, m->U, (size_t)(C * S * d));
    lelp__put_pad(&w, off[LELP__M_B]);
    lelp__put_f64s(&w, m->b, (size_t)(C * S));
    lelp__put_pad(&w, LELP__HEADER_LEN + plen);
    lelp__put_u32(&w, lelp__crc32(w.p, w.pos));
    if (written) *written = w.pos;
    return LELP_OK;
}

static int lelp__all_finite(const double* v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

/* Header fields after the envelope: shape, options, scalars. */
static int lelp__model_header(const uint8_t* src, size_t plen, lelp_model* h, uint32_t* flags)
{
    lelp__reader r = {src, LELP__HEADER_LEN, 20};
    *flags = lelp__get_u32(&r);
    r.pos = 32;
    h->d = (int64_t)lelp__get_u64(&r);
    h->C = (int64_t)lelp__get_u64(&r);
    h->S = (int64_t)lelp__get_u64(&r);
    h->head_rank = (int64_t)lelp__get_u64(&r);
    h->seed = lelp__get_u64(&r);
    h->beta = lelp__get_f64(&r);
    h->entropy_fraction = lelp__get_f64(&r);
    for (size_t i = r.pos; i < LELP__HEADER_LEN; i++)
        if (src[i] != 0) return lelp__fail(LELP_E_FORMAT, "lelp_model_load: reserved header byte %zu is not zero", i);
    lelp__reader vr = {src, LELP__HEADER_LEN, 8};
    const uint32_t known = lelp__get_u32(&vr) >= 2u ? 31u : 15u; /* bit 4, k-means, since version 2 */
    if (*flags > known) return lelp__fail(LELP_E_FORMAT, "lelp_model_load: unknown flags 0x%x", (unsigned)*flags);
    if (h->d < 1 || h->d > LELP__MAX_D || h->C < 1 || h->C > LELP__MAX_C || h->S < 1 || h->S > h->d ||
        h->C * h->S > LELP__MAX_CS)
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: impossible shape d = %lld, C = %lld, S = %lld", (long long)h->d,
                          (long long)h->C, (long long)h->S);
    if (h->head_rank < 0 || h->head_rank > h->C || h->head_rank > h->d)
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: impossible head rank %lld", (long long)h->head_rank);
    /* an automatic beta follows the data's scale, so any finite positive beta is valid here */
    if (!(h->beta > 0.0 && isfinite(h->beta)) || !(h->entropy_fraction >= 0.01 && h->entropy_fraction <= 0.99))
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: beta %g or entropy fraction %g out of range", h->beta,
                          h->entropy_fraction);
    size_t off[LELP__M_N];
    if (lelp__model_layout(h->d, h->C, h->S, off, NULL) != plen)
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: payload length %zu does not match the shape", plen);
    return LELP_OK;
}

/* Tolerances of the invariants a fitted model satisfies (docs/format.md):
 * the fit orthonormalizes its components to rounding (~1e-15) and
 * computes ratios and offsets from the stored values in float64. */
#define LELP__ORTHO_TOL 1e-6
#define LELP__REL_TOL 1e-9
/* Ratios against 1: the trace is that of the whole co-moment, whose float32
 * block products (LELP_PRECISION_FLOAT32) leave its smallest eigenvalues
 * noise of either sign ~1e-7 of the trace each, so the top S can add up to a
 * little more than the trace. */
#define LELP__RATIO_TOL 1e-3

/* Class c's spectrum: eigenvalues positive (the fit refuses a zero one) and
 * descending; ratios lambda / trace in (0, 1], summing to at most 1, with one
 * trace for the class. */
static int lelp__model_spectrum(const lelp_model* m, int64_t c)
{
    const int64_t S = m->S;
    const double* lam = m->eig + c * S;
    const double* ratio = m->ratio + c * S;
    double sum = 0.0;
    for (int64_t s = 0; s < S; s++) {
        if (!(lam[s] > 0.0) || (s > 0 && !(lam[s] <= lam[s - 1] * (1.0 + LELP__REL_TOL))))
            return lelp__fail(LELP_E_FORMAT, "lelp_model_load: eigenvalue %lld of class %lld is %g: not positive and descending",
                              (long long)s, (long long)c, lam[s]);
        if (!(ratio[s] > 0.0 && ratio[s] <= 1.0 + LELP__RATIO_TOL) ||
            !(fabs(ratio[s] * lam[0] - ratio[0] * lam[s]) <= LELP__REL_TOL * ratio[0] * lam[s]))
            return lelp__fail(LELP_E_FORMAT, "lelp_model_load: explained-variance ratio %lld of class %lld is %g: not in (0, 1] "
                              "or not its eigenvalue over the class's trace", (long long)s, (long long)c, ratio[s]);
        sum += ratio[s];
    }
    if (!(sum <= 1.0 + LELP__RATIO_TOL))
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: the explained-variance ratios of class %lld sum to %g > 1",
                          (long long)c, sum);
    return LELP_OK;
}

/* Class c's components orthonormal and its offsets <U, mu_c>. A k-means
 * model's components are twice its centroids (no orthonormality to check)
 * and its offsets add |U/2|^2 (kmeans.c). */
static int lelp__model_basis(const lelp_model* m, int64_t c)
{
    const int64_t S = m->S, d = m->d;
    const double* U = m->U + c * S * d;
    const double* mu = m->mean + c * d;
    const int kmeans = m->labeller == LELP_LABELLER_KMEANS;
    for (int64_t s = 0; s < S; s++) {
        for (int64_t t = 0; t <= s && !kmeans; t++) {
            double g = 0.0;
            for (int64_t j = 0; j < d; j++) g += U[s * d + j] * U[t * d + j];
            if (!(fabs(g - (s == t ? 1.0 : 0.0)) <= LELP__ORTHO_TOL))
                return lelp__fail(LELP_E_FORMAT, "lelp_model_load: components %lld and %lld of class %lld have inner product %g: "
                                  "not orthonormal", (long long)t, (long long)s, (long long)c, g);
        }
        double b = 0.0, scale = 0.0;
        for (int64_t j = 0; j < d; j++) {
            const double half = kmeans ? 0.5 * U[s * d + j] : 0.0;
            b += U[s * d + j] * mu[j] + half * half;
            scale += fabs(U[s * d + j] * mu[j]) + half * half;
        }
        if (!(fabs(b - m->b[c * S + s]) <= LELP__REL_TOL * scale + DBL_MIN))
            return lelp__fail(LELP_E_FORMAT, "lelp_model_load: offset %lld of class %lld is %g, not <U, mu> = %g", (long long)s,
                              (long long)c, m->b[c * S + s], b);
    }
    return LELP_OK;
}

/* What every model the library fits satisfies (docs/format.md lists each):
 * a file that is checksummed but says otherwise is refused, so what
 * lelp_model_* report is what the projections use. */
static int lelp__model_invariants(const lelp_model* m)
{
    if (m->head_rank > 0 && !m->null_space)
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: head rank %lld without the null-space flag", (long long)m->head_rank);
    for (int64_t i = 0; i < m->C * m->d; i++)
        if (!(fabs(m->mean[i]) <= FLT_MAX))
            return lelp__fail(LELP_E_FORMAT, "lelp_model_load: a class mean is %g, beyond the float32 range of the embeddings",
                              m->mean[i]);
    for (int64_t c = 0; c < m->C; c++) {
        int st = lelp__model_spectrum(m, c);
        if (st || (st = lelp__model_basis(m, c))) return st;
    }
    return LELP_OK;
}

static int lelp__model_payload(const uint8_t* src, size_t size, lelp_model* m)
{
    const int64_t C = m->C, S = m->S, d = m->d;
    size_t off[LELP__M_N], end[LELP__M_N];
    const size_t plen = lelp__model_layout(d, C, S, off, end);
    int st = lelp__zero_gaps(src, off, end, LELP__M_N, LELP__HEADER_LEN + plen, "lelp_model_load");
    if (st) return st;
    lelp__reader r = {src, size, off[LELP__M_COUNT]};
    for (int64_t c = 0; c < C; c++) {
        m->count[c] = (int64_t)lelp__get_u64(&r);
        if (m->count[c] < 2 || m->count[c] > LELP__MAX_COUNT) return lelp__fail(LELP_E_FORMAT, "lelp_model_load: class %lld has count %lld", (long long)c, (long long)m->count[c]);
    }
    r.pos = off[LELP__M_MEAN];
    lelp__get_f64s(&r, m->mean, (size_t)(C * d));
    r.pos = off[LELP__M_EIG];
    lelp__get_f64s(&r, m->eig, (size_t)(C * S));
    r.pos = off[LELP__M_RATIO];
    lelp__get_f64s(&r, m->ratio, (size_t)(C * S));
    r.pos = off[LELP__M_U];
    lelp__get_f64s(&r, m->U, (size_t)(C * S * d));
    r.pos = off[LELP__M_B];
    lelp__get_f64s(&r, m->b, (size_t)(C * S));
    if (!lelp__all_finite(m->mean, C * d) || !lelp__all_finite(m->eig, C * S) ||
        !lelp__all_finite(m->ratio, C * S) || !lelp__all_finite(m->U, C * S * d) || !lelp__all_finite(m->b, C * S))
        return lelp__fail(LELP_E_FORMAT, "lelp_model_load: non-finite value in the payload");
    return lelp__model_invariants(m);
}

int lelp_model_load(lelp_model** out, const void* src, size_t size, const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_model_load: out is NULL");
    *out = NULL;
    if (!src) return lelp__fail(LELP_E_NULL, "lelp_model_load: src is NULL");
    int st = lelp__check_allocator(alloc, "lelp_model_load");
    if (st) return st;
    lelp__envelope env;
    if ((st = lelp__check_envelope(src, size, "LELPMODL", LELP__MODEL_FORMAT_VERSION, &env, "lelp_model_load"))) return st;
    lelp_model h;
    uint32_t flags = 0;
    memset(&h, 0, sizeof h);
    if ((st = lelp__model_header(src, env.payload_len, &h, &flags))) return st;
    /* what lelp__model_alloc allocates: the stored arrays, a float32 copy of
     * the components padded to whole tiles (lelp__project_packed), the centre */
    const double d = (double)h.d, C = (double)h.C, S = (double)h.S,
                 packed = 2.0 * ceil(d / 2.0) * LELP__PROJECT_LANES * ceil(C * S / LELP__PROJECT_LANES);
    if ((st = lelp__load_budget(8.0 * (C + C * d + 4.0 * C * S) + 8.0 * C * S * d + 4.0 * packed + 4.0 * d, size,
                                "lelp_model_load")))
        return st;
    lelp__mem mem;
    lelp__mem_init(&mem, alloc);
    lelp_model* m = NULL;
    if ((st = lelp__model_alloc(&mem, h.d, h.C, h.S, &m, "lelp_model_load"))) return st;
    m->head_rank = h.head_rank;
    m->seed = h.seed;
    m->beta = h.beta;
    m->entropy_fraction = h.entropy_fraction;
    m->null_space = (int)(flags & 1u);
    m->rotate = (int)((flags >> 1) & 1u);
    m->auto_beta = (int)((flags >> 2) & 1u);
    m->solver = (int)((flags >> 3) & 1u);
    m->labeller = (int)((flags >> 4) & 1u);
    m->format_version = env.format_version;
    m->writer_version = env.writer_version;
    if ((st = lelp__model_payload(src, size, m))) {
        lelp_model_free(m);
        return st;
    }
    lelp__model_finish(m);
    *out = m;
    return LELP_OK;
}

int lelp_model_save_path(const lelp_model* m, const char* path)
{
    size_t size = 0;
    uint8_t* buf = NULL;
    int st = lelp_model_serialized_size(m, &size);
    if (st || (st = lelp__save_begin(&m->mem, path, size, &buf, "lelp_model_save_path"))) return st;
    return lelp__save_end(&m->mem, path, buf, size, lelp_model_serialize(m, buf, size, NULL), "lelp_model_save_path");
}

int lelp_model_load_path(lelp_model** out, const char* path, const lelp_allocator* alloc)
{
    static const lelp__file_kind kind = {"LELPMODL", LELP__MODEL_FORMAT_VERSION};
    lelp__mem mem;
    uint8_t* buf = NULL;
    size_t size = 0;
    if (out) *out = NULL;
    int st = lelp__load_begin(out != NULL, path, alloc, &mem, &kind, &buf, &size, "lelp_model_load_path");
    if (st) return st;
    st = lelp_model_load(out, buf, size, alloc);
    lelp__free(&mem, buf, size);
    return st ? lelp__fail_within(st, "lelp_model_load_path") : LELP_OK;
}
