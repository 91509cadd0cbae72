/* SPDX-License-Identifier: MIT */
/* builder.c -- the mutable streaming builder: lifecycle, parameters,
 * batch updates, merge and the teacher head. */
#include <math.h>
#include <string.h>

#include "fit.h"

static void lelp__builder_release(lelp_builder* b)
{
    lelp__mem mem = b->mem;
    int64_t C = b->C, d = b->d;
    lelp__free(&mem, b->count, lelp__bytes(C, 1, sizeof(int64_t)));
    lelp__free(&mem, b->mean, lelp__bytes(C, d, sizeof(double)));
    lelp__free(&mem, b->M, lelp__bytes(C, d * d, sizeof(double)));
    lelp__free(&mem, b->nrows, lelp__bytes(C, 1, sizeof(int64_t)));
    lelp__sketch_free(&mem, b->sk);
    lelp__bsample_free(&mem, b->bs);
    lelp__free(&mem, b->head, lelp__bytes(C, d, sizeof(double)));
    lelp__free(&mem, b->block, lelp__bytes(LELP__BLOCK_ROWS + 1, d, sizeof(double)));
    lelp__free(&mem, b->delta, lelp__bytes(d, 1, sizeof(double)));
    lelp__free(&mem, b->bmean, lelp__bytes(d, 1, sizeof(double)));
    lelp__free(&mem, b->batch_count, lelp__bytes(C, 1, sizeof(int64_t)));
    lelp__free(&mem, b->Mf, lelp__bytes(d, d, sizeof(float)));
    lelp__scratch_release(&mem, &b->order);
    b->magic = LELP__MAGIC_DEAD;
    lelp__free(&mem, b, sizeof *b);
}

static int lelp__check_shape(int64_t d, int64_t C, int64_t S)
{
    if (d < 1 || d > LELP__MAX_D)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_create: d = %lld must be in [1, %lld]", (long long)d,
                          (long long)LELP__MAX_D);
    if (C < 1 || C > LELP__MAX_C)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_create: C = %lld must be in [1, %lld]", (long long)C,
                          (long long)LELP__MAX_C);
    if (S < 1 || S > d)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_create: S = %lld must be in [1, d = %lld]", (long long)S,
                          (long long)d);
    if (C * S > LELP__MAX_CS)
        return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_create: C*S = %lld exceeds %lld", (long long)(C * S),
                          (long long)LELP__MAX_CS);
    return LELP_OK;
}

int lelp_builder_create(lelp_builder** out, int64_t d, int64_t C, int64_t S,
                        const lelp_allocator* alloc)
{
    if (!out) return lelp__fail(LELP_E_NULL, "lelp_builder_create: out is NULL");
    *out = NULL;
    int st = lelp__check_shape(d, C, S);
    if (st) return st;
    if ((st = lelp__check_allocator(alloc, "lelp_builder_create"))) return st;
    lelp__mem mem;
    lelp__mem_init(&mem, alloc);
    lelp_builder* b = lelp__calloc(&mem, sizeof *b);
    if (!b) return lelp__fail(LELP_E_NOMEM, "lelp_builder_create: out of memory");
    b->magic = LELP__MAGIC_BUILDER;
    b->self = b;
    b->mem = mem;
    b->d = d;
    b->C = C;
    b->S = S;
    b->null_space = 1;
    b->rotate = 1;
    b->seed = 0;
    b->beta = 0.0;
    b->entropy_fraction = 0.5;
    b->solver = LELP_SOLVER_EXACT;
    b->ell_param = 0;
    b->precision = LELP_PRECISION_FLOAT64;
    b->gram_form = 1;
    b->bsample_param = -1;
    b->format_version = LELP__BUILDER_FORMAT_VERSION;
    b->writer_version = LELP_VERSION_NUMBER;
    b->count = lelp__calloc(&mem, lelp__bytes(C, 1, sizeof(int64_t)));
    b->nrows = lelp__calloc(&mem, lelp__bytes(C, 1, sizeof(int64_t)));
    b->mean = lelp__calloc(&mem, lelp__bytes(C, d, sizeof(double)));
    b->head = lelp__calloc(&mem, lelp__bytes(C, d, sizeof(double)));
    b->block = lelp__alloc_dense(&mem, lelp__bytes(LELP__BLOCK_ROWS + 1, d, sizeof(double)));
    b->delta = lelp__alloc(&mem, lelp__bytes(d, 1, sizeof(double)));
    b->bmean = lelp__alloc(&mem, lelp__bytes(d, 1, sizeof(double)));
    b->batch_count = lelp__alloc(&mem, lelp__bytes(C, 1, sizeof(int64_t)));
    if (!b->count || !b->nrows || !b->mean || !b->head || !b->block || !b->delta || !b->bmean ||
        !b->batch_count) {
        lelp__builder_release(b);
        return lelp__fail(LELP_E_NOMEM, "lelp_builder_create: out of memory for d = %lld, C = %lld",
                          (long long)d, (long long)C);
    }
    *out = b;
    return LELP_OK;
}

/* The statistics are allocated at first use, once the solver is known:
 * C*d*d doubles (exact; plus d*d floats with LELP_PRECISION_FLOAT32) or
 * C*2l*d (sketch). Exact classes start in row form with no rows (gram.c). */
static int lelp__builder_solver_storage(lelp_builder* b, const char* fn);

int lelp__builder_storage(lelp_builder* b, const char* fn)
{
    if (b->started) return LELP_OK;
    const int64_t cap = b->bsample_param < 0 ? lelp__bsample_default(b->d) : b->bsample_param;
    int st = lelp__bsample_create(&b->mem, b->d, b->C, cap, &b->bs);
    if (st) return lelp__fail(st, "%s: out of memory for the beta sample of %lld classes", fn, (long long)b->C);
    if ((st = lelp__builder_solver_storage(b, fn))) {
        lelp__bsample_free(&b->mem, b->bs);
        b->bs = NULL;
        return st;
    }
    b->started = 1;
    return LELP_OK;
}

/* Back to the state before lelp__builder_storage: only while nothing was
 * added, so a call that fails after allocating the statistics leaves the
 * builder as it was and the settings they fixed are free again. */
static void lelp__builder_unstart(lelp_builder* b)
{
    if (!b->started) return;
    lelp__free(&b->mem, b->M, lelp__bytes(b->C, b->d * b->d, sizeof(double)));
    lelp__free(&b->mem, b->Mf, lelp__bytes(b->d, b->d, sizeof(float)));
    lelp__sketch_free(&b->mem, b->sk);
    lelp__bsample_free(&b->mem, b->bs);
    b->M = NULL;
    b->Mf = NULL;
    b->sk = NULL;
    b->bs = NULL;
    for (int64_t c = 0; c < b->C; c++) b->nrows[c] = 0;
    b->started = 0;
}

/* The solver's part of the storage above. */
static int lelp__builder_solver_storage(lelp_builder* b, const char* fn)
{
    if (b->solver == LELP_SOLVER_EXACT) {
        /* not zeroed: every class starts in row form with no rows, and its
         * switch to a co-moment writes the whole matrix, so pages a small
         * class never reaches are never touched (nor counted in RSS). Huge
         * pages (alloc_dense.c): rows and co-moments are written in runs of
         * whole rows, so a class touches one contiguous stretch of its d x d
         * block, and 2 MiB pages add at most 2 MiB at each end of it */
        b->M = lelp__alloc_dense(&b->mem, lelp__bytes(b->C, b->d * b->d, sizeof(double)));
        if (!b->M)
            return lelp__fail(LELP_E_NOMEM, "%s: out of memory for %lld co-moment matrices of %lld x %lld doubles "
                              "(LELP_SOLVER_SKETCH needs O(C*l*d))", fn, (long long)b->C, (long long)b->d, (long long)b->d);
        if (b->precision == LELP_PRECISION_FLOAT32 &&
            !(b->Mf = lelp__alloc(&b->mem, lelp__bytes(b->d, b->d, sizeof(float))))) {
            lelp__free(&b->mem, b->M, lelp__bytes(b->C, b->d * b->d, sizeof(double)));
            b->M = NULL;
            return lelp__fail(LELP_E_NOMEM, "%s: out of memory for the %lld x %lld float32 block co-moment",
                              fn, (long long)b->d, (long long)b->d);
        }
    } else {
        int64_t ell = b->ell_param ? b->ell_param : lelp__sketch_default_ell(b->d, b->S);
        if (ell <= b->S)
            return lelp__fail(LELP_E_PARAM_COMBINATION, "%s: the sketch solver keeps at most %lld rows per class, "
                              "not more than S = %lld", fn, (long long)LELP__MAX_SKETCH, (long long)b->S);
        int st = lelp__sketch_create(&b->mem, b->d, b->C, ell, &b->sk);
        if (st)
            return lelp__fail(st, "%s: out of memory for a sketch of %lld x %lld rows per class", fn,
                              (long long)(2 * ell), (long long)b->d);
    }
    return LELP_OK;
}

void lelp_builder_free(lelp_builder* b)
{
    if (!b || b->magic != LELP__MAGIC_BUILDER || b->self != b) return;
    lelp__builder_release(b);
}

static int lelp__builder_started(const void* handle)
{
    return ((const lelp_builder*)handle)->started;
}

/* The sketch size's lower bound depends on the builder's S. */
static int lelp__builder_param_check(const void* handle, int param, int64_t value, const char* fn)
{
    const lelp_builder* b = handle;
    if (param == LELP_BUILDER_SKETCH_SIZE && value != 0 && value <= b->S)
        return lelp__fail(LELP_E_PARAM_RANGE, "%s: sketch size %lld must be 0 (automatic) or in [S+1 = %lld, %lld]",
                          fn, (long long)value, (long long)(b->S + 1), (long long)LELP__MAX_SKETCH);
    return LELP_OK;
}

static const lelp__param_set lelp__builder_params = {LELP__MAGIC_BUILDER, "builder", lelp__builder_started,
                                                     "once data was streamed, merged or loaded",
                                                     lelp__builder_param_check, NULL};

int lelp_builder_set_int(lelp_builder* b, int param, int64_t value)
{
    return lelp__param_set_int(b, &lelp__builder_params, param, value, "lelp_builder_set_int");
}

int lelp_builder_set_double(lelp_builder* b, int param, double value)
{
    return lelp__param_set_double(b, &lelp__builder_params, param, value, "lelp_builder_set_double");
}

int lelp_builder_get_int(const lelp_builder* b, int param, int64_t* value)
{
    return lelp__param_get_int(b, &lelp__builder_params, param, value, "lelp_builder_get_int");
}

int lelp_builder_get_double(const lelp_builder* b, int param, double* value)
{
    return lelp__param_get_double(b, &lelp__builder_params, param, value, "lelp_builder_get_double");
}

/* Class c of the exact solver leaves row form (gram.c) when `add` more rows
 * would pass d/2, or when the Gram form is off. The update's block buffer
 * is free at this point and serves as the switch's scratch. */
static void lelp__builder_room(lelp_builder* b, int64_t c, int64_t add)
{
    if (b->nrows[c] < 0) return;
    if (b->gram_form && b->nrows[c] + add <= lelp__gram_max_rows(b->d)) return;
    lelp__gram_to_comoment(b->M + c * b->d * b->d, b->nrows[c], b->d, b->block, (LELP__BLOCK_ROWS + 1) * b->d);
    b->nrows[c] = -1;
}

/* Streams the rows of class c in blocks: block mean, centred copy (float64,
 * or rounded to float32 for LELP_PRECISION_FLOAT32), then the class's rows
 * (row form), or one dsyrk (ssyrk) that also carries the Chan correction;
 * the sketch centres straight into its buffer. */
static void lelp__builder_add_class(lelp_builder* b, const float* H, const int64_t* idx, int64_t n, int32_t c)
{
    const int64_t d = b->d;
    double* mean = b->mean + (int64_t)c * d;
    double* M = b->solver == LELP_SOLVER_EXACT ? b->M + (int64_t)c * d * d : NULL;
    double* X = b->block;
    double* bm = b->bmean;
    for (int64_t i = 0; i < n;) {
        const int64_t* rows = idx + i;
        const int64_t nb = n - i < LELP__BLOCK_ROWS ? n - i : LELP__BLOCK_ROWS;
        i += nb;
        for (int64_t j = 0; j < d; j++) bm[j] = 0.0;
        for (int64_t r = 0; r < nb; r++) { /* the sample's key while the row is in cache */
            const float* h = H + rows[r] * d;
            for (int64_t j = 0; j < d; j++) bm[j] += (double)h[j];
            if (b->bs) lelp__bsample_add(b->bs, c, h, lelp__row_key(h, d), 1);
        }
        for (int64_t j = 0; j < d; j++) bm[j] /= (double)nb;
        const int exact = b->solver == LELP_SOLVER_EXACT;
        if (exact) lelp__builder_room(b, c, lelp__gram_block_rows(b->count[c], nb));
        if (exact && b->nrows[c] < 0 && b->precision == LELP_PRECISION_FLOAT32) {
            float* Xf = (float*)X; /* half of the float64 block */
            float big = 0.0f;
            for (int64_t r = 0; r < nb; r++) {
                const float* h = H + rows[r] * d;
                float* x = Xf + r * d;
                for (int64_t j = 0; j < d; j++) {
                    x[j] = (float)((double)h[j] - bm[j]);
                    big = fabsf(x[j]) > big ? fabsf(x[j]) : big;
                }
            }
            /* squares summed over a block must stay finite in float32: a
             * block with centred values beyond 2^56 (sums of its squares can
             * pass FLT_MAX) takes the float64 route below instead */
            if (big <= 0x1p56f) {
                lelp__comoment_add_block_f32(mean, M, &b->count[c], d, Xf, nb, bm, b->delta, b->Mf);
                continue;
            }
        }
        if (!exact) {
            lelp__sketch_add_block(b->sk, mean, &b->count[c], c, H, rows, nb, bm, b->delta);
            continue;
        }
        for (int64_t r = 0; r < nb; r++) {
            const float* h = H + rows[r] * d;
            double* x = X + r * d;
            for (int64_t j = 0; j < d; j++) x[j] = (double)h[j] - bm[j];
        }
        if (b->nrows[c] >= 0)
            lelp__gram_add_block(M, &b->nrows[c], mean, &b->count[c], d, X, nb, bm, b->delta);
        else
            lelp__comoment_add_block(mean, M, &b->count[c], d, X, nb, bm, b->delta);
    }
}

int lelp_builder_update(lelp_builder* b, const float* H, const int32_t* labels, int64_t n,
                        int64_t d)
{
    int st = lelp__check_handle(b, LELP__MAGIC_BUILDER, "lelp_builder_update", "builder");
    if (st) return st;
    if ((st = lelp__check_batch(H, n, d, b->d, "lelp_builder_update"))) return st;
    if (n == 0) return LELP_OK;
    if (!labels) return lelp__fail(LELP_E_NULL, "lelp_builder_update: labels is NULL");
    if ((st = lelp__check_labels(labels, n, b->C, "lelp_builder_update", "labels"))) return st;
    for (int64_t c = 0; c < b->C; c++) b->batch_count[c] = 0;
    for (int64_t i = 0; i < n; i++) b->batch_count[labels[i]]++;
    for (int64_t c = 0; c < b->C; c++)
        if (b->batch_count[c] > LELP__MAX_COUNT - b->count[c])
            return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_update: class %lld would exceed 2^53 examples", (long long)c);
    /* every allocation before anything changes; a failure also undoes the
     * first call's storage, so the settings it fixed stay settable */
    const int was_started = b->started;
    if ((st = lelp__builder_storage(b, "lelp_builder_update"))) return st;
    /* the rows of each class, in their order (a counting sort: one pass
     * over the batch, not one per class) */
    int64_t* idx = lelp__scratch_reserve(&b->mem, &b->order, lelp__bytes(n, 1, sizeof(int64_t)));
    if (!idx) {
        if (!was_started) lelp__builder_unstart(b);
        return lelp__fail(LELP_E_NOMEM, "lelp_builder_update: out of memory for %lld row indices", (long long)n);
    }
    for (int64_t c = 0; b->bs && c < b->C; c++)
        if ((st = lelp__bsample_reserve(&b->mem, b->bs, c, b->batch_count[c]))) {
            if (!was_started) lelp__builder_unstart(b);
            return lelp__fail(st, "lelp_builder_update: out of memory for the beta sample of class %lld", (long long)c);
        }
    int64_t start = 0;
    for (int64_t c = 0; c < b->C; c++) { /* batch_count becomes each class's next slot */
        const int64_t k = b->batch_count[c];
        b->batch_count[c] = start;
        start += k;
    }
    for (int64_t i = 0; i < n; i++) idx[b->batch_count[labels[i]]++] = i;
    for (int64_t c = 0, first = 0; c < b->C; c++) { /* batch_count[c] is now the end of class c's rows */
        if (b->batch_count[c] > first) lelp__builder_add_class(b, H, idx + first, b->batch_count[c] - first, (int32_t)c);
        first = b->batch_count[c];
    }
    if (b->bs) lelp__bsample_flush(b->bs);
    return LELP_OK;
}

/* Class c of src into dst, each in row form or co-moment form. */
static void lelp__builder_merge_exact(lelp_builder* dst, const lelp_builder* src, int64_t c)
{
    const int64_t d = dst->d, r_b = src->nrows[c];
    double* M = dst->M + c * d * d;
    const double* M_b = src->M + c * d * d;
    if (src->count[c] == 0) return;
    lelp__builder_room(dst, c, r_b < 0 ? lelp__gram_max_rows(d) + 1 : r_b + (dst->count[c] > 0));
    if (dst->nrows[c] >= 0)
        lelp__gram_merge(M, &dst->nrows[c], dst->mean + c * d, &dst->count[c], d, lelp__gram_rows(M_b, d, r_b), r_b,
                         src->mean + c * d, src->count[c], dst->delta);
    else if (r_b >= 0)
        lelp__comoment_merge_rows(dst->mean + c * d, M, &dst->count[c], d, src->mean + c * d,
                                  lelp__gram_rows(M_b, d, r_b), r_b, src->count[c], dst->delta);
    else
        lelp__comoment_merge(dst->mean + c * d, M, &dst->count[c], d, src->mean + c * d, M_b, src->count[c],
                             dst->delta);
}

int lelp_builder_merge(lelp_builder* dst, const lelp_builder* src)
{
    int st = lelp__check_handle(dst, LELP__MAGIC_BUILDER, "lelp_builder_merge", "dst");
    if (st) return st;
    if ((st = lelp__check_handle(src, LELP__MAGIC_BUILDER, "lelp_builder_merge", "src"))) return st;
    if (dst == src) return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_merge: dst and src are the same builder");
    if (dst->d != src->d || dst->C != src->C || dst->S != src->S)
        return lelp__fail(LELP_E_SHAPE_MISMATCH,
                          "lelp_builder_merge: src has (d, C, S) = (%lld, %lld, %lld), dst (%lld, %lld, %lld)",
                          (long long)src->d, (long long)src->C, (long long)src->S, (long long)dst->d,
                          (long long)dst->C, (long long)dst->S);
    if (!src->started) return LELP_OK; /* nothing streamed into src */
    if (dst->solver != src->solver)
        return lelp__fail(LELP_E_PARAM_COMBINATION, "lelp_builder_merge: src uses solver %d, dst solver %d",
                          src->solver, dst->solver);
    for (int64_t c = 0; c < dst->C; c++)
        if (src->count[c] > LELP__MAX_COUNT - dst->count[c])
            return lelp__fail(LELP_E_INVALID_ARG, "lelp_builder_merge: class %lld would exceed 2^53 examples", (long long)c);
    const int was_started = dst->started;
    if ((st = lelp__builder_storage(dst, "lelp_builder_merge"))) return st;
    /* a sample is only a sample of all the rows if every part kept one of
     * the same size: otherwise the automatic beta falls back to the
     * Gaussian model (a state saved before the sample existed, or shards
     * set differently) */
    const int keep = dst->bs && src->bs && lelp__bsample_cap(src->bs) == lelp__bsample_cap(dst->bs);
    for (int64_t c = 0; keep && c < dst->C; c++)
        if ((st = lelp__bsample_reserve(&dst->mem, dst->bs, c, lelp__bsample_size(src->bs, c)))) {
            if (!was_started) lelp__builder_unstart(dst);
            return lelp__fail(st, "lelp_builder_merge: out of memory for the beta sample of class %lld", (long long)c);
        }
    if (!keep) {
        lelp__bsample_free(&dst->mem, dst->bs);
        dst->bs = NULL;
    } else {
        lelp__bsample_merge(dst->bs, src->bs);
    }
    for (int64_t c = 0; c < dst->C; c++) {
        if (dst->solver == LELP_SOLVER_EXACT)
            lelp__builder_merge_exact(dst, src, c);
        else
            lelp__sketch_merge(dst->sk, dst->mean + c * dst->d, &dst->count[c], c, src->sk, src->mean + c * dst->d,
                               src->count[c], dst->delta);
    }
    return LELP_OK;
}

int lelp_builder_set_head(lelp_builder* b, const float* W, int64_t C, int64_t d)
{
    int st = lelp__check_handle(b, LELP__MAGIC_BUILDER, "lelp_builder_set_head", "builder");
    if (st) return st;
    if (!W) return lelp__fail(LELP_E_NULL, "lelp_builder_set_head: W is NULL");
    if (C != b->C || d != b->d)
        return lelp__fail(LELP_E_SHAPE_MISMATCH,
                          "lelp_builder_set_head: W is %lld x %lld but the builder needs C x d = %lld x %lld",
                          (long long)C, (long long)d, (long long)b->C, (long long)b->d);
    if ((st = lelp__check_finite_f32(W, C, d, "lelp_builder_set_head", "W"))) return st;
    for (int64_t i = 0; i < C * d; i++) b->head[i] = (double)W[i];
    b->has_head = 1;
    return LELP_OK;
}

int lelp_builder_count(const lelp_builder* b, int64_t c, int64_t* count)
{
    int st = lelp__check_handle(b, LELP__MAGIC_BUILDER, "lelp_builder_count", "builder");
    if (st) return st;
    if (!count) return lelp__fail(LELP_E_NULL, "lelp_builder_count: count is NULL");
    if (c < 0 || c >= b->C)
        return lelp__fail(LELP_E_LABEL_RANGE, "lelp_builder_count: class %lld is outside [0, %lld)",
                          (long long)c, (long long)b->C);
    *count = b->count[c];
    return LELP_OK;
}
