/* SPDX-License-Identifier: MIT */
/* cmd_fit.c -- `lelp fit`: stream embeddings and labels into builders (one
 * per thread, each its own share of every batch), merge them in thread
 * order, fit, save. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* the builder options of the command line; 0, or an exit status after a message */
static int configure(lelp_builder* b, const opts* o)
{
    const struct {
        int param;
        int given;
        int64_t value;
        const char* name;
    } iv[] = {
        {LELP_BUILDER_NULL_SPACE, 1, o->null_space, "--no-null-space"},
        {LELP_BUILDER_ROTATE, 1, o->rotate, "--no-rotation"},
        {LELP_BUILDER_SEED, 1, o->seed, "--seed"},
        {LELP_BUILDER_SOLVER, o->solver >= 0, o->solver == 1 ? LELP_SOLVER_SKETCH : LELP_SOLVER_EXACT, "--solver"},
        {LELP_BUILDER_SKETCH_SIZE, o->have_sketch_size, o->sketch_size, "--sketch-size"},
        {LELP_BUILDER_PRECISION, o->precision >= 0,
         o->precision == 1 ? LELP_PRECISION_FLOAT32 : LELP_PRECISION_FLOAT64, "--precision"},
        {LELP_BUILDER_GRAM_FORM, o->gram_form >= 0, o->gram_form, "--gram-form"},
        {LELP_BUILDER_BETA_SAMPLE, o->have_beta_sample, o->beta_sample, "--beta-sample"},
        {LELP_BUILDER_LABELLER, o->labeller >= 0, o->labeller == 1 ? LELP_LABELLER_KMEANS : LELP_LABELLER_PROJECTION,
         "--labeller"},
    };
    for (size_t k = 0; k < sizeof iv / sizeof iv[0]; k++)
        if (iv[k].given && lelp_builder_set_int(b, iv[k].param, iv[k].value))
            return die(EXIT_USAGE, "fit: %s: %s", iv[k].name, lelp_last_error());
    if (lelp_builder_set_double(b, LELP_BUILDER_BETA, o->have_beta ? o->beta : 0.0))
        return die(EXIT_USAGE, "fit: --beta: %s", lelp_last_error());
    if (o->have_entropy_fraction && lelp_builder_set_double(b, LELP_BUILDER_ENTROPY_FRACTION, o->entropy_fraction))
        return die(EXIT_USAGE, "fit: --entropy-fraction: %s", lelp_last_error());
    return 0;
}

/* C = max(y) + 1 from one pass over the labels; 0, or an exit status */
static int count_classes(const opts* o, npy_file* y, int32_t* lab, int64_t B, int64_t* C)
{
    char err[1100];
    int32_t maxlab = -1;
    for (int64_t i = 0; i < y->rows; i += B) {
        int64_t nb = y->rows - i < B ? y->rows - i : B;
        if (npy_read_i32(y, i, nb, lab, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        if (check_labels(o->labels, lab, nb, i, INT32_MAX)) return EXIT_BAD;
        for (int64_t k = 0; k < nb; k++) maxlab = lab[k] > maxlab ? lab[k] : maxlab;
    }
    if (maxlab < 0) return die(EXIT_BAD, "%s: no labels (the file has 0 rows)", o->labels);
    *C = (int64_t)maxlab + 1;
    if (*C > y->rows / 2)
        return die(EXIT_BAD, "%s: the largest label %d implies C = %lld classes but there are only %lld rows "
                   "(every class needs at least 2)", o->labels, maxlab, (long long)*C, (long long)y->rows);
    return 0;
}

/* one batch, shared among the threads: share t is read through handle t and goes into builder t */
typedef struct fit_batch {
    const opts* o;
    lelp_builder** b;
    npy_file *H, *y;
    float* rows;
    int32_t* lab;
    int64_t i, nb, d;
    share_error* err;
} fit_batch;

static void update_share(void* ctx, int t, int T)
{
    fit_batch* fb = ctx;
    share_error* e = &fb->err[t];
    int64_t r0, r1;
    share_rows(fb->nb, t, T, &r0, &r1);
    if (r1 <= r0) return;
    const int64_t n = r1 - r0, row = fb->i + r0;
    float* H = fb->rows + r0 * fb->d;
    if (npy_read_f32(&fb->H[t], row, n, H, e->msg, sizeof e->msg) ||
        npy_read_i32(&fb->y[t], row, n, fb->lab + r0, e->msg, sizeof e->msg)) {
        e->status = -1; /* an input file's problem: the message names the file and the row */
        return;
    }
    int st = lelp_builder_update(fb->b[t], H, fb->lab + r0, n, fb->d);
    if (st) share_fail(e, st);
}

/* Every core by default, but never so many builders (one per thread) that
 * their statistics pass FIT_BUDGET: C*d*d doubles each with the exact solver,
 * (C+1)*2l*d with the sketch (include/lelp.h). --threads overrides. */
#define FIT_BUDGET (INT64_C(2) << 30)
static int64_t default_fit_threads(const opts* o, int64_t d, int64_t C)
{
    /* the automatic l of include/lelp.h (LELP_BUILDER_SKETCH_SIZE): min(d + 1, max(2S, S + 8)) */
    const int64_t auto_l = 2 * o->S > o->S + 8 ? 2 * o->S : o->S + 8;
    int64_t l = o->have_sketch_size && o->sketch_size > 0 ? o->sketch_size : (d + 1 < auto_l ? d + 1 : auto_l);
    double bytes = o->solver == 1 ? 8.0 * (double)(C + 1) * 2.0 * (double)l * (double)d : 8.0 * (double)C * (double)d * (double)d;
    double fit = (double)FIT_BUDGET / (bytes > 1 ? bytes : 1);
    int64_t t = threads_default();
    return fit < 1 ? 1 : (fit < (double)t ? (int64_t)fit : t);
}

static int set_head(const opts* o, lelp_builder* b, int64_t C, int64_t d)
{
    char err[1100];
    npy_file W;
    int rc = open_matrix(&W, o->head, "the head");
    if (rc) return rc;
    if (W.rows != C || W.cols != d)
        return die(EXIT_BAD, "%s: head is (%lld, %lld), expected (C, d) = (%lld, %lld) from %s and %s", o->head,
                   (long long)W.rows, (long long)W.cols, (long long)C, (long long)d, o->labels, o->embeddings);
    float* w = xalloc((size_t)(C * d), sizeof(float), C);
    if (npy_read_f32(&W, 0, C, w, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    int st = lelp_builder_set_head(b, w, C, d);
    free(w);
    npy_close(&W);
    return st ? die(EXIT_BAD, "%s: %s", o->head, lelp_last_error()) : 0;
}

/* the model to o->out: serialized here and written through this run's own
 * temporary (registered for the signal handler), or "-" to standard output */
static int save_model(const opts* o, const lelp_model* m)
{
    size_t size = 0, written = 0;
    if (lelp_model_serialized_size(m, &size)) return die(EXIT_BAD, "%s: %s", o->out, lelp_last_error());
    void* buf = xalloc(size, 1, 1);
    if (lelp_model_serialize(m, buf, size, &written)) return die(EXIT_BAD, "%s: %s", o->out, lelp_last_error());
    const char* tmp = out_begin(o->out);
    int rc = !tmp ? EXIT_BAD : write_bytes(tmp, o->out, buf, written);
    free(buf);
    return rc ? rc : outs_commit();
}

int cmd_fit(const opts* o)
{
    if (!o->embeddings || !o->labels || !o->out || o->S < 1)
        return die(EXIT_USAGE, "fit: --embeddings, --labels, --subclasses and -o are required (see lelp fit --help)");
    npy_file H, y;
    int rc = open_matrix(&H, o->embeddings, "embeddings");
    if (!rc) rc = open_labels(&y, o->labels, H.rows, o->embeddings);
    if (rc) return rc;
    const int64_t N = H.rows, d = H.cols, B = batch_rows(o, N, d, 1);
    if (o->S > d)
        return die(EXIT_USAGE, "fit: --subclasses %lld is more than d = %lld, the width of %s", (long long)o->S,
                   (long long)d, o->embeddings);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    int64_t C = 0;
    if ((rc = count_classes(o, &y, lab, B, &C))) return rc;
    const int T = threads_use(o->threads > 0 ? o->threads : default_fit_threads(o, d, C));
    lelp_builder* b[MAX_THREADS] = {0};
    share_error* errs = xalloc((size_t)T, sizeof(share_error), T);
    for (int t = 0; t < T; t++) {
        if (lelp_builder_create(&b[t], d, C, o->S, NULL)) return die(EXIT_BAD, "%s: %s", o->embeddings, lelp_last_error());
        if ((rc = configure(b[t], o))) return rc;
    }
    npy_file* Hs = open_copies(o->embeddings, T);
    npy_file* Ys = !Hs ? NULL : open_copies(o->labels, T);
    if (!Ys) return EXIT_BAD;
    double t0 = now();
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        fit_batch fb = {o, b, Hs, Ys, rows, lab, i, nb, d, errs};
        run_shares(T, update_share, &fb);
        for (int t = 0; t < T; t++) /* the first failing share, in row order */
            if (errs[t].status == -1) {
                return die(EXIT_BAD, "%s", errs[t].msg);
            } else if (errs[t].status) {
                int64_t r0, r1;
                share_rows(nb, t, T, &r0, &r1);
                return die(EXIT_BAD, "%s: rows %lld..%lld: %s", o->embeddings, (long long)(i + r0),
                           (long long)(i + r1 - 1), errs[t].msg);
            }
        bar(i + nb, N, t0);
    }
    close_copies(Hs, T), close_copies(Ys, T);
    for (int t = 1; t < T; t++) { /* a fixed order: the same bits for the same thread count */
        if (lelp_builder_merge(b[0], b[t])) return die(EXIT_BAD, "%s: merging: %s", o->embeddings, lelp_last_error());
        lelp_builder_free(b[t]);
    }
    if (o->head && (rc = set_head(o, b[0], C, d))) return rc;
    lelp_model* m = NULL;
    int st = lelp_builder_fit(b[0], &m);
    if (st)
        return die(EXIT_BAD, "%s: the fit failed: %s (%s)",
                   st == LELP_E_TOO_FEW_SAMPLES ? o->labels : (st == LELP_E_NONFINITE && o->head ? o->head : o->embeddings),
                   lelp_last_error(), lelp_status_string(st));
    if ((rc = save_model(o, m))) return rc;
    double beta = 0;
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    fprintf(stderr, "lelp fit: %lld rows, d = %lld, C = %lld, S = %lld, beta = %.6g, %d thread%s -> %s (%.1fs)\n",
            (long long)N, (long long)d, (long long)C, (long long)o->S, beta, T, T > 1 ? "s" : "", o->out, now() - t0);
    lelp_model_free(m);
    lelp_builder_free(b[0]);
    free(errs);
    free(lab);
    free(rows);
    npy_close(&H);
    npy_close(&y);
    return 0;
}
