/* SPDX-License-Identifier: MIT */
/* builder_io.c -- serialization of a builder's partial state, so shards and
 * restarts can resume streaming (docs/format.md). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "fit.h"

/* LELP__B_FORM (flag bit 4) and the beta sample (flag bit 5, format
 * version 3) come last, so states without them keep their layout. */
enum { LELP__B_COUNT, LELP__B_MEAN, LELP__B_M, LELP__B_TRACE, LELP__B_NROWS, LELP__B_SKETCH, LELP__B_HEAD, LELP__B_FORM,
       LELP__B_SNUM, LELP__B_SKEY, LELP__B_SMUL, LELP__B_SROW, LELP__B_N };
#define LELP__FLAG_ROW_FORM 16u
#define LELP__FLAG_BETA_SAMPLE 32u

/* Array offsets for a state of the given shape; exact states carry the
 * packed co-moments (a class in row form: its r x d rows, then zeros) and,
 * with flag bit 4, each class's row count (-1 = co-moment); sketch states the
 * traces, row counts and 2l x d rows per class. Returns the payload length or
 * SIZE_MAX on overflow. */
static size_t lelp__builder_layout(int64_t d, int64_t C, int has_head, int solver, int64_t ell, int row_form,
                                   int64_t scap, int64_t srows, size_t off[LELP__B_N], size_t* end)
{
    size_t tri = lelp__bytes(d, d + 1, 1);
    if (tri != SIZE_MAX) tri /= 2;
    const int exact = solver == LELP_SOLVER_EXACT;
    size_t sizes[LELP__B_N] = {
        lelp__bytes(C, 1, 8),
        lelp__bytes(C, d, 8),
        !exact ? 0 : (tri == SIZE_MAX ? SIZE_MAX : lelp__bytes(C, (int64_t)tri, 8)),
        exact ? 0 : lelp__bytes(C, 1, 8),
        exact ? 0 : lelp__bytes(C, 1, 8),
        exact ? 0 : lelp__bytes(C * 2 * ell, d, 8),
        has_head ? lelp__bytes(C, d, 8) : 0,
        row_form ? lelp__bytes(C, 1, 8) : 0,
        scap ? lelp__bytes(C, 1, 8) : 0,
        lelp__bytes(srows, 1, 8),
        lelp__bytes(srows, 1, 8),
        lelp__bytes(srows, d, 4),
    };
    return lelp__layout(sizes, LELP__B_N, off, end);
}

/* Flag bit 4 is written only when some class holds rows, so states that
 * older readers understand stay readable by them. */
/* The beta sample's capacity K (header offset 96): also for a builder that
 * has not seen data yet, so an empty shard saved and reloaded still keeps a
 * sample (merging it must not drop the others'). 0 = none. */
static int64_t lelp__builder_scap(const lelp_builder* b)
{
    if (b->started) return b->bs ? lelp__bsample_cap(b->bs) : 0;
    return b->bsample_param < 0 ? lelp__bsample_default(b->d) : b->bsample_param;
}

/* Rows held by the beta sample, all classes (header offset 104). */
static int64_t lelp__builder_srows(const lelp_builder* b)
{
    int64_t n = 0;
    for (int64_t c = 0; b->bs && c < b->C; c++) n += lelp__bsample_size(b->bs, c);
    return n;
}

static int lelp__builder_row_form(const lelp_builder* b)
{
    if (b->solver != LELP_SOLVER_EXACT || !b->M) return 0;
    for (int64_t c = 0; c < b->C; c++)
        if (b->nrows[c] > 0) return 1;
    return 0;
}

static int64_t lelp__builder_ell(const lelp_builder* b)
{
    if (b->solver == LELP_SOLVER_EXACT) return 0;
    if (b->sk) return b->sk->ell;
    return b->ell_param ? b->ell_param : lelp__sketch_default_ell(b->d, b->S);
}

int lelp_builder_serialized_size(const lelp_builder* b, size_t* size)
{
    int st = lelp__check_handle(b, LELP__MAGIC_BUILDER, "lelp_builder_serialized_size", "builder");
    if (st) return st;
    if (!size) return lelp__fail(LELP_E_NULL, "lelp_builder_serialized_size: size is NULL");
    size_t off[LELP__B_N];
    *size = LELP__HEADER_LEN + lelp__builder_layout(b->d, b->C, b->has_head, b->solver, lelp__builder_ell(b),
                                                       lelp__builder_row_form(b), lelp__builder_scap(b),
                                                       lelp__builder_srows(b), off, NULL) + 4;
    return LELP_OK;
}

int lelp_builder_serialize(const lelp_builder* b, void* dst, size_t capacity, size_t* written)
{
    size_t need = 0;
    int st = lelp_builder_serialized_size(b, &need);
    if (st) return st;
    if (!dst) return lelp__fail(LELP_E_NULL, "lelp_builder_serialize: dst is NULL");
    if (capacity < need)
        return lelp__fail(LELP_E_BUFFER_TOO_SMALL, "lelp_builder_serialize: capacity %zu < %zu needed", capacity, need);
    if (b->sk && b->sk->failed) /* the format has no place for a sketch that lost rows */
        return lelp__fail(LELP_E_SOLVER, "lelp_builder_serialize: the sketch's eigensolver failed while class %lld was "
                          "streamed", (long long)b->sk->failed_class);
    const int64_t d = b->d, C = b->C;
    size_t off[LELP__B_N];
    const int row_form = lelp__builder_row_form(b);
    const int64_t scap = lelp__builder_scap(b);
    size_t plen = lelp__builder_layout(d, C, b->has_head, b->solver, lelp__builder_ell(b), row_form, scap,
                                       lelp__builder_srows(b), off, NULL);
    lelp__writer w = {dst, 0};
    memcpy(w.p, "LELPBLDR", 8);
    w.pos = 8;
    lelp__put_u32(&w, LELP__BUILDER_FORMAT_VERSION);
    lelp__put_u32(&w, LELP__HEADER_LEN);
    lelp__put_u32(&w, (uint32_t)LELP_VERSION_NUMBER);
    lelp__put_u32(&w, (uint32_t)(b->null_space | (b->rotate << 1) | (b->has_head << 2) | (b->precision << 3)) |
                          (row_form ? LELP__FLAG_ROW_FORM : 0u) | (scap ? LELP__FLAG_BETA_SAMPLE : 0u));
    lelp__put_u64(&w, (uint64_t)plen);
    lelp__put_u64(&w, (uint64_t)d);
    lelp__put_u64(&w, (uint64_t)C);
    lelp__put_u64(&w, (uint64_t)b->S);
    lelp__put_u64(&w, b->seed);
    lelp__put_f64(&w, b->beta);
    lelp__put_f64(&w, b->entropy_fraction);
    lelp__put_u64(&w, (uint64_t)b->solver);
    lelp__put_u64(&w, (uint64_t)lelp__builder_ell(b));
    lelp__put_u64(&w, (uint64_t)scap);
    lelp__put_u64(&w, (uint64_t)lelp__builder_srows(b));
    lelp__put_pad(&w, off[LELP__B_COUNT]);
    for (int64_t c = 0; c < C; c++) lelp__put_u64(&w, (uint64_t)b->count[c]);
    lelp__put_pad(&w, off[LELP__B_MEAN]);
    lelp__put_f64s(&w, b->mean, (size_t)(C * d));
    if (b->solver == LELP_SOLVER_EXACT) {
        lelp__put_pad(&w, off[LELP__B_M]);
        /* lower triangle, column by column (= row-major upper triangle); a
         * class in row form writes its rows and leaves the rest of its slot
         * zero (row form implies flag bit 4, or no rows); a builder that
         * never saw data stores zeros */
        const size_t tri = (size_t)(d * (d + 1) / 2) * 8;
        for (int64_t c = 0; c < C; c++) {
            const double* M = b->M ? b->M + c * d * d : NULL;
            const size_t start = w.pos;
            if (M && b->nrows[c] >= 0)
                lelp__put_f64s(&w, lelp__gram_rows(M, d, b->nrows[c]), (size_t)(b->nrows[c] * d));
            else if (M)
                for (int64_t j = 0; j < d; j++) lelp__put_f64s(&w, M + j * d + j, (size_t)(d - j));
            lelp__put_pad(&w, start + tri);
        }
    } else if (b->sk) {
        lelp__put_pad(&w, off[LELP__B_TRACE]);
        lelp__put_f64s(&w, b->sk->trace, (size_t)C);
        lelp__put_pad(&w, off[LELP__B_NROWS]);
        for (int64_t c = 0; c < C; c++) lelp__put_u64(&w, (uint64_t)b->sk->nrows[c]);
        lelp__put_pad(&w, off[LELP__B_SKETCH]);
        for (int64_t c = 0; c < C; c++) { /* the rows in use, then zeros (the shrink leaves old rows past them) */
            const size_t start = w.pos;
            lelp__put_f64s(&w, b->sk->B[c], (size_t)(b->sk->nrows[c] * d));
            lelp__put_pad(&w, start + (size_t)(b->sk->cap * d) * 8);
        }
    } /* a sketch builder that never saw data: the zero padding below is its empty sketch */
    if (b->has_head) {
        lelp__put_pad(&w, off[LELP__B_HEAD]);
        lelp__put_f64s(&w, b->head, (size_t)(C * d));
    }
    if (row_form) {
        lelp__put_pad(&w, off[LELP__B_FORM]);
        for (int64_t c = 0; c < C; c++) lelp__put_u64(&w, (uint64_t)b->nrows[c]);
    }
    if (scap) { /* the kept rows of each class in (key, bytes) order, classes one after another */
        const lelp__bsample* s = b->bs; /* NULL before any data: no rows */
        lelp__put_pad(&w, off[LELP__B_SNUM]);
        for (int64_t c = 0; c < C; c++) lelp__put_u64(&w, s ? (uint64_t)lelp__bsample_size(s, c) : 0);
        lelp__put_pad(&w, off[LELP__B_SKEY]);
        for (int64_t c = 0; s && c < C; c++)
            for (int64_t i = 0; i < lelp__bsample_size(s, c); i++) lelp__put_u64(&w, lelp__bsample_key(s, c, i));
        lelp__put_pad(&w, off[LELP__B_SMUL]);
        for (int64_t c = 0; s && c < C; c++)
            for (int64_t i = 0; i < lelp__bsample_size(s, c); i++)
                lelp__put_u64(&w, (uint64_t)lelp__bsample_mult(s, c, i));
        lelp__put_pad(&w, off[LELP__B_SROW]);
        for (int64_t c = 0; s && c < C; c++)
            for (int64_t i = 0; i < lelp__bsample_size(s, c); i++)
                lelp__put_f32s(&w, lelp__bsample_row(s, c, i), (size_t)d);
    }
    lelp__put_pad(&w, LELP__HEADER_LEN + plen);
    lelp__put_u32(&w, lelp__crc32(w.p, w.pos));
    if (written) *written = w.pos;
    return LELP_OK;
}

typedef struct lelp__builder_hdr {
    int64_t d, C, S;
    uint32_t flags;
    uint64_t seed;
    double beta, fraction;
    int64_t solver, ell, scap, srows;
} lelp__builder_hdr;

static int lelp__builder_header(const uint8_t* src, size_t plen, lelp__builder_hdr* h)
{
    const uint32_t version = (uint32_t)src[8] | (uint32_t)src[9] << 8 | (uint32_t)src[10] << 16 |
                             (uint32_t)src[11] << 24; /* checked by the envelope */
    lelp__reader r = {src, LELP__HEADER_LEN, 20};
    h->flags = lelp__get_u32(&r);
    r.pos = 32;
    h->d = (int64_t)lelp__get_u64(&r);
    h->C = (int64_t)lelp__get_u64(&r);
    h->S = (int64_t)lelp__get_u64(&r);
    h->seed = lelp__get_u64(&r);
    h->beta = lelp__get_f64(&r);
    h->fraction = lelp__get_f64(&r);
    h->solver = (int64_t)lelp__get_u64(&r);
    h->ell = (int64_t)lelp__get_u64(&r);
    h->scap = (int64_t)lelp__get_u64(&r); /* these two: zero before format version 3 (reserved) */
    h->srows = (int64_t)lelp__get_u64(&r);
    for (size_t i = r.pos; i < LELP__HEADER_LEN; i++)
        if (src[i] != 0) return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: reserved header byte %zu is not zero", i);
    /* flag bit 5 and the sample fields exist from format version 3 on */
    if (h->flags > (version >= 3 ? 63u : 31u))
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: unknown flags 0x%x", (unsigned)h->flags);
    if (h->d < 1 || h->d > LELP__MAX_D || h->C < 1 || h->C > LELP__MAX_C || h->S < 1 || h->S > h->d ||
        h->C * h->S > LELP__MAX_CS || h->seed > (uint64_t)INT64_MAX)
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: impossible shape d = %lld, C = %lld, S = %lld",
                          (long long)h->d, (long long)h->C, (long long)h->S);
    /* C is bounded above, so scap * C cannot overflow */
    if (h->scap < 0 || h->scap > LELP__MAX_BSAMPLE || (h->scap > 0) != ((h->flags & LELP__FLAG_BETA_SAMPLE) != 0) ||
        h->srows < 0 || h->srows > h->scap * h->C)
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: beta sample of %lld rows with flags 0x%x",
                          (long long)h->scap, (unsigned)h->flags);
    if (!(h->beta >= 0.0 && h->beta <= 1e30) || !(h->fraction >= 0.01 && h->fraction <= 0.99))
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: beta %g or entropy fraction %g out of range", h->beta,
                          h->fraction);
    if (h->solver == LELP_SOLVER_EXACT ? h->ell != 0
                                       : (h->solver != LELP_SOLVER_SKETCH || h->ell < 2 || h->ell > 65537))
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: solver %lld with sketch size %lld is invalid",
                          (long long)h->solver, (long long)h->ell);
    if ((h->flags & LELP__FLAG_ROW_FORM) && h->solver != LELP_SOLVER_EXACT)
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: row-form flag on a sketch state");
    size_t off[LELP__B_N];
    if (lelp__builder_layout(h->d, h->C, (int)((h->flags >> 2) & 1u), (int)h->solver, h->ell,
                             (h->flags & LELP__FLAG_ROW_FORM) != 0, h->scap, h->srows, off, NULL) != plen)
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: payload length %zu does not match the shape", plen);
    return LELP_OK;
}

/* Exact classes: without flag bit 4 every class is a co-moment (one that is
 * all zero, i.e. no data yet, restarts in row form); with it, a class of
 * r >= 0 rows holds them first in its slot and zeros after. */
static int lelp__builder_exact_payload(const uint8_t* src, size_t size, const size_t off[LELP__B_N],
                                       int row_form, lelp_builder* b)
{
    const int64_t d = b->d, C = b->C, rmax = lelp__gram_max_rows(d);
    lelp__reader r = {src, size, off[LELP__B_FORM]};
    for (int64_t c = 0; c < C; c++) {
        b->nrows[c] = row_form ? (int64_t)lelp__get_u64(&r) : -1;
        /* rows per example: a block of k >= 2 adds k + 1, a lone row or a
         * merge at most 1, so n examples give at most 2n - 2 rows */
        const int64_t most = b->count[c] > 1 ? 2 * b->count[c] - 2 : 0;
        if (b->nrows[c] < -1 || b->nrows[c] > rmax || b->nrows[c] > most)
            return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld has %lld rows in row form (at most %lld for "
                              "%lld examples)", (long long)c, (long long)b->nrows[c],
                              (long long)(most < rmax ? most : rmax), (long long)b->count[c]);
    }
    const size_t tri = (size_t)(d * (d + 1) / 2) * 8;
    for (int64_t c = 0; c < C; c++) {
        double* M = b->M + c * d * d;
        r.pos = off[LELP__B_M] + (size_t)c * tri;
        const size_t end = r.pos + tri;
        if (b->nrows[c] >= 0)
            lelp__get_f64s(&r, M + (d - b->nrows[c]) * d, (size_t)(b->nrows[c] * d));
        else
            for (int64_t j = 0; j < d; j++) lelp__get_f64s(&r, M + j * d + j, (size_t)(d - j));
        for (size_t i = r.pos; i < end; i++)
            if (src[i] != 0)
                return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld has data past its rows", (long long)c);
        if (b->nrows[c] >= 0) {
            const double* R = lelp__gram_rows(M, d, b->nrows[c]);
            for (int64_t i = 0; i < b->nrows[c] * d; i++)
                if (!isfinite(R[i])) return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: non-finite row");
            continue;
        }
        int zero = 1;
        for (int64_t j = 0; j < d; j++) {
            memset(M + j * d, 0, (size_t)j * sizeof(double)); /* the upper triangle, never stored */
            for (int64_t i = j; i < d; i++) {
                if (!isfinite(M[j * d + i])) return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: non-finite co-moment");
                zero &= M[j * d + i] == 0.0;
            }
        }
        if (!zero && b->count[c] < 2)
            return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld has %lld example(s) but a non-zero co-moment",
                              (long long)c, (long long)b->count[c]);
        if (zero) b->nrows[c] = 0;
    }
    return LELP_OK;
}

/* The beta sample: k_c <= min(count_c, K) distinct rows per class, each key
 * the hash of its row, in strictly ascending (key, bytes) order, with
 * multiplicities m >= 1 that add up to count_c while the class is not full
 * (k_c < K) and to at most count_c once it is. */
static int lelp__builder_sample_payload(const uint8_t* src, size_t size, const size_t off[LELP__B_N],
                                        int64_t srows, lelp_builder* b)
{
    lelp__bsample* s = b->bs;
    const int64_t C = b->C, d = b->d, K = lelp__bsample_cap(s);
    lelp__reader r = {src, size, off[LELP__B_SNUM]};
    int64_t total = 0;
    for (int64_t c = 0; c < C; c++) {
        const int64_t n = (int64_t)lelp__get_u64(&r);
        if (n < 0 || n > (b->count[c] < K ? b->count[c] : K) || (b->count[c] > 0 && n == 0))
            return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld keeps %lld sample rows for %lld examples",
                              (long long)c, (long long)n, (long long)b->count[c]);
        total += n;
    }
    if (total != srows)
        return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: the beta sample holds %lld rows, the header says %lld",
                          (long long)total, (long long)srows);
    /* storage for the rows the buffer holds, once they are known to be there */
    r.pos = off[LELP__B_SNUM];
    for (int64_t c = 0; c < C; c++) {
        int st = lelp__bsample_load_begin(&b->mem, s, c, (int64_t)lelp__get_u64(&r));
        if (st) return lelp__fail(st, "lelp_builder_load: out of memory for the beta sample of class %lld", (long long)c);
    }
    lelp__reader rk = {src, size, off[LELP__B_SKEY]}, rm = {src, size, off[LELP__B_SMUL]}, rr = {src, size, off[LELP__B_SROW]};
    for (int64_t c = 0; c < C; c++) {
        int64_t copies = 0;
        const int64_t n = lelp__bsample_size(s, c);
        for (int64_t i = 0; i < n; i++) {
            const uint64_t key = lelp__get_u64(&rk), m = lelp__get_u64(&rm);
            if (m < 1 || m > (uint64_t)(b->count[c] - copies))
                return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: beta sample row %lld of class %lld stands for %llu "
                                  "rows", (long long)i, (long long)c, (unsigned long long)m);
            copies += (int64_t)m;
            float* h = lelp__bsample_load_entry(s, c, i, key, (int64_t)m);
            lelp__get_f32s(&rr, h, (size_t)d);
            if (lelp__any_nonfinite(h, d) || !lelp__bsample_load_valid(s, c, i))
                return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: beta sample row %lld of class %lld is invalid",
                                  (long long)i, (long long)c);
        }
        if (n < K && copies != b->count[c])
            return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: the beta sample of class %lld holds %lld of its %lld "
                              "rows but is not full", (long long)c, (long long)copies, (long long)b->count[c]);
        lelp__bsample_loaded(s, c);
    }
    return LELP_OK;
}

static int lelp__builder_payload(const uint8_t* src, size_t size, int row_form, int64_t srows, lelp_builder* b)
{
    const int64_t d = b->d, C = b->C;
    size_t off[LELP__B_N], end[LELP__B_N];
    const size_t plen = lelp__builder_layout(d, C, b->has_head, b->solver, lelp__builder_ell(b), row_form,
                                             b->bs ? lelp__bsample_cap(b->bs) : 0, srows, off, end);
    int st0 = lelp__zero_gaps(src, off, end, LELP__B_N, LELP__HEADER_LEN + plen, "lelp_builder_load");
    if (st0) return st0;
    lelp__reader r = {src, size, off[LELP__B_COUNT]};
    for (int64_t c = 0; c < C; c++) {
        b->count[c] = (int64_t)lelp__get_u64(&r);
        if (b->count[c] < 0 || b->count[c] > LELP__MAX_COUNT)
            return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld has an impossible count", (long long)c);
    }
    r.pos = off[LELP__B_MEAN];
    lelp__get_f64s(&r, b->mean, (size_t)(C * d));
    if (b->solver == LELP_SOLVER_EXACT) {
        int st = lelp__builder_exact_payload(src, size, off, row_form, b);
        if (st) return st;
    } else {
        lelp__sketch* sk = b->sk;
        r.pos = off[LELP__B_TRACE];
        lelp__get_f64s(&r, sk->trace, (size_t)C);
        r.pos = off[LELP__B_NROWS];
        for (int64_t c = 0; c < C; c++) {
            sk->nrows[c] = (int64_t)lelp__get_u64(&r);
            if (sk->nrows[c] < 0 || sk->nrows[c] > sk->cap || !(sk->trace[c] >= 0.0) || !isfinite(sk->trace[c]))
                return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld has an invalid sketch", (long long)c);
        }
        r.pos = off[LELP__B_SKETCH];
        lelp__get_f64s(&r, sk->rows, (size_t)(C * sk->cap * d)); /* a new sketch: B[c] = rows + c cap d */
        for (int64_t i = 0; i < C * sk->cap * d; i++)
            if (!isfinite(sk->rows[i])) return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: non-finite sketch row");
        /* fewer than 2 examples: every centred row, and so the sketch, is zero */
        for (int64_t c = 0; c < C; c++) {
            int zero = sk->trace[c] == 0.0;
            for (int64_t i = 0; i < sk->cap * d && zero; i++) zero = sk->rows[c * sk->cap * d + i] == 0.0;
            if (b->count[c] < 2 && !zero)
                return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: class %lld has %lld example(s) but a non-zero sketch",
                                  (long long)c, (long long)b->count[c]);
        }
    }
    if (b->has_head) {
        r.pos = off[LELP__B_HEAD];
        lelp__get_f64s(&r, b->head, (size_t)(C * d));
    }
    if (b->bs && (st0 = lelp__builder_sample_payload(src, size, off, srows, b))) return st0;
    /* both are float32 inputs or averages of them: anything beyond FLT_MAX
     * is not a state the library wrote (and would overflow the co-moments) */
    for (int64_t i = 0; i < C * d; i++)
        if (!(fabs(b->mean[i]) <= FLT_MAX) || !(fabs(b->head[i]) <= FLT_MAX))
            return lelp__fail(LELP_E_FORMAT, "lelp_builder_load: a mean or head value is not finite or beyond the float32 range");
    return LELP_OK;
}

int lelp_builder_load(lelp_builder** out, const void* src, size_t size, const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_builder_load: out is NULL");
    *out = NULL;
    if (!src) return lelp__fail(LELP_E_NULL, "lelp_builder_load: src is NULL");
    lelp__envelope env;
    int st = lelp__check_envelope(src, size, "LELPBLDR", LELP__BUILDER_FORMAT_VERSION, &env, "lelp_builder_load");
    if (st) return st;
    lelp__builder_hdr h;
    if ((st = lelp__builder_header(src, env.payload_len, &h))) return st;
    lelp_builder* b = NULL;
    if ((st = lelp_builder_create(&b, h.d, h.C, h.S, alloc))) return lelp__fail_within(st, "lelp_builder_load");
    b->null_space = (int)(h.flags & 1u);
    b->rotate = (int)((h.flags >> 1) & 1u);
    b->has_head = (int)((h.flags >> 2) & 1u);
    b->precision = (int)((h.flags >> 3) & 1u);
    b->seed = h.seed;
    b->beta = h.beta;
    b->entropy_fraction = h.fraction;
    b->solver = (int)h.solver;
    b->ell_param = h.ell;
    b->bsample_param = h.scap; /* 0: a state without a sample (or saved before it existed) */
    b->format_version = env.format_version;
    b->writer_version = env.writer_version;
    if ((st = lelp__builder_storage(b, "lelp_builder_load")) || (st = lelp__builder_payload(src, size, (h.flags & LELP__FLAG_ROW_FORM) != 0, h.srows, b))) {
        lelp_builder_free(b);
        return st;
    }
    *out = b;
    return LELP_OK;
}

int lelp_builder_save_path(const lelp_builder* b, const char* path)
{
    size_t size = 0;
    uint8_t* buf = NULL;
    int st = lelp_builder_serialized_size(b, &size);
    if (st || (st = lelp__save_begin(&b->mem, path, size, &buf, "lelp_builder_save_path"))) return st;
    return lelp__save_end(&b->mem, path, buf, size, lelp_builder_serialize(b, buf, size, NULL), "lelp_builder_save_path");
}

int lelp_builder_load_path(lelp_builder** out, const char* path, const lelp_allocator* alloc)
{
    lelp__mem mem;
    uint8_t* buf = NULL;
    size_t size = 0;
    if (out) *out = NULL;
    int st = lelp__load_begin(out != NULL, path, alloc, &mem, &buf, &size, "lelp_builder_load_path");
    if (st) return st;
    st = lelp_builder_load(out, buf, size, alloc);
    lelp__free(&mem, buf, size);
    return st ? lelp__fail_within(st, "lelp_builder_load_path") : LELP_OK;
}
