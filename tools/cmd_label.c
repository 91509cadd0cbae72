/* SPDX-License-Identifier: MIT */
/* cmd_label.c -- `lelp label` and `lelp assign`: targets or hard
 * pseudo-subclasses of every row, streamed in and out batch by batch. The
 * main thread reads a batch and writes it; in between, the threads share one
 * model (a const lelp_model* is thread-safe, docs/api.md), each its own
 * block of the batch's rows. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct label_batch {
    const lelp_model* m;
    const opts* o;
    int assign;
    npy_file *H, *Z, *y; /* one handle of each input per thread */
    float *rows, *zb;
    int32_t* lab;
    float* T; /* nb x K, or nb int32 for assign */
    int64_t i, nb, d, C, K;
    share_error* err;
} label_batch;

/* share t of the batch's rows: read through its own handles, checked, computed */
static void label_share(void* ctx, int t, int T)
{
    label_batch* lb = ctx;
    share_error* e = &lb->err[t];
    int64_t r0, r1;
    share_rows(lb->nb, t, T, &r0, &r1);
    if (r1 <= r0) return;
    const int64_t n = r1 - r0, d = lb->d, row = lb->i + r0;
    float* H = lb->rows + r0 * d;
    if (npy_read_f32(&lb->H[t], row, n, H, e->msg, sizeof e->msg) ||
        (lb->o->logits ? npy_read_f32(&lb->Z[t], row, n, lb->zb + r0 * lb->C, e->msg, sizeof e->msg)
                       : (npy_read_i32(&lb->y[t], row, n, lb->lab + r0, e->msg, sizeof e->msg) ||
                          label_problem(lb->o->labels, lb->lab + r0, n, row, lb->C, e->msg, sizeof e->msg)))) {
        e->status = -1; /* an input file's problem: the message names the file and the row */
        return;
    }
    int st;
    if (lb->o->logits)
        st = lelp_model_targets_from_logits(lb->m, H, lb->zb + r0 * lb->C, n, d, lb->o->tau, lb->T + r0 * lb->K);
    else if (lb->assign)
        st = lelp_model_assign(lb->m, H, lb->lab + r0, n, d, (int32_t*)(void*)lb->T + r0);
    else
        st = lelp_model_targets_from_labels(lb->m, H, lb->lab + r0, n, d, lb->o->smoothing, lb->T + r0 * lb->K);
    if (st) share_fail(e, st);
}

int cmd_label(const opts* o, int assign)
{
    const char* cmd = assign ? "assign" : "label";
    if (!o->model || !o->embeddings || !o->out)
        return die(EXIT_USAGE, "%s: MODEL (or --model), --embeddings and -o are required (see lelp %s --help)", cmd, cmd);
    if (assign ? !o->labels : (!o->logits == !o->labels))
        return die(EXIT_USAGE, assign ? "assign: --labels is required" : "label: give exactly one of --logits and --labels");
    if (!assign && o->logits && o->have_smoothing) return die(EXIT_USAGE, "label: --smoothing goes with --labels");
    if (!assign && o->labels && o->have_tau) return die(EXIT_USAGE, "label: --tau goes with --logits");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(o->model, &m, &d, &C, &S);
    if (rc) return rc;
    if (o->have_beta) {
        lelp_model* m2 = NULL;
        if (lelp_model_with_beta(m, o->beta, &m2)) return die(EXIT_USAGE, "label: --beta: %s", lelp_last_error());
        lelp_model_free(m);
        m = m2;
    }
    npy_file H, Z, y, out;
    if ((rc = open_matrix(&H, o->embeddings, "embeddings"))) return rc;
    if (H.cols != d)
        return die(EXIT_BAD, "%s: %lld columns but the model %s has d = %lld", o->embeddings, (long long)H.cols, o->model,
                   (long long)d);
    if (o->logits) {
        if ((rc = open_matrix(&Z, o->logits, "logits"))) return rc;
        if (Z.rows != H.rows || Z.cols != C)
            return die(EXIT_BAD, "%s: shape (%lld, %lld), expected (N, C) = (%lld, %lld)", o->logits, (long long)Z.rows,
                       (long long)Z.cols, (long long)H.rows, (long long)C);
    } else if ((rc = open_labels(&y, o->labels, H.rows, o->embeddings))) {
        return rc;
    }
    char err[1100];
    const int64_t N = H.rows, K = assign ? 1 : C * S, B = batch_rows(o, N, d, K);
    /* buffers first: a batch that does not fit in memory fails before any output exists */
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    float* zb = o->logits ? xalloc((size_t)(B * C), sizeof(float), B) : NULL;
    int32_t* lab = o->logits ? NULL : xalloc((size_t)B, sizeof(int32_t), B);
    float* T = xalloc((size_t)(B * K), sizeof(float), B);
    const char* tmp = out_begin(o->out);
    if (!tmp) return EXIT_BAD;
    if (npy_create(&out, tmp, assign ? "<i4" : "<f4", N, assign ? 0 : K, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    snprintf(out.path, sizeof out.path, "%s", o->out); /* messages name the target */
    const int nt = threads_use(o->threads);
    npy_file* Hs = open_copies(o->embeddings, nt);
    npy_file* Ys = !Hs ? NULL : open_copies(o->logits ? o->logits : o->labels, nt);
    if (!Ys) return EXIT_BAD;
    share_error* errs = xalloc((size_t)nt, sizeof(share_error), nt);
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        memset(errs, 0, sizeof errs[0] * (size_t)nt);
        label_batch lb = {m, o, assign, Hs, Ys, Ys, rows, zb, lab, T, i, nb, d, C, K, errs};
        run_shares(nt, label_share, &lb);
        for (int t = 0; t < nt; t++) /* the first failing share, in row order */
            if (errs[t].status == -1) {
                return die(EXIT_BAD, "%s", errs[t].msg);
            } else if (errs[t].status) {
                int64_t r0, r1;
                share_rows(nb, t, nt, &r0, &r1);
                return die(EXIT_BAD, "%s: rows %lld..%lld: %s (%s)", o->embeddings, (long long)(i + r0),
                           (long long)(i + r1 - 1), errs[t].msg, lelp_status_string(errs[t].status));
            }
        if (npy_write(&out, T, (size_t)(nb * K) * 4, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    }
    close_copies(Hs, nt), close_copies(Ys, nt), free(errs);
    if (npy_finish(&out, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if ((rc = outs_commit())) return rc;
    free(rows), free(zb), free(lab), free(T);
    npy_close(&H);
    if (o->logits) npy_close(&Z);
    else npy_close(&y);
    lelp_model_free(m);
    return 0;
}
