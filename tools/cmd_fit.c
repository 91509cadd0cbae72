/* SPDX-License-Identifier: MIT */
/* cmd_fit.c -- `lelp fit`: stream embeddings and labels into a builder, fit, save. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_fit(const opts* o)
{
    if (!o->embeddings || !o->labels || !o->out || o->S < 1)
        return die(EXIT_USAGE, "fit: --embeddings, --labels, --subclasses and -o are required (see lelp fit --help)");
    npy_file H, y;
    int rc = open_matrix(&H, o->embeddings, "embeddings");
    if (!rc) rc = open_labels(&y, o->labels, H.rows, o->embeddings);
    if (rc) return rc;
    char err[1100];
    const int64_t N = H.rows, d = H.cols, B = batch_rows(o, d, 1);
    if (o->S > d)
        return die(EXIT_BAD, "%s: d = %lld columns, fewer than --subclasses %lld", o->embeddings, (long long)d,
                   (long long)o->S);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    int32_t maxlab = -1;
    for (int64_t i = 0; i < N; i += B) { /* the class count: one pass over the labels */
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_i32(&y, i, nb, lab, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        if (check_labels(o->labels, lab, nb, i, INT32_MAX)) return EXIT_BAD;
        for (int64_t k = 0; k < nb; k++) maxlab = lab[k] > maxlab ? lab[k] : maxlab;
    }
    if (maxlab < 0) return die(EXIT_BAD, "%s: no labels (the file has 0 rows)", o->labels);
    const int64_t C = (int64_t)maxlab + 1;
    if (C > N / 2)
        return die(EXIT_BAD, "%s: the largest label %d implies C = %lld classes but there are only %lld rows "
                   "(every class needs at least 2)", o->labels, maxlab, (long long)C, (long long)N);
    lelp_builder* b = NULL;
    int st = lelp_builder_create(&b, d, C, o->S, NULL);
    if (st) return die(EXIT_BAD, "%s: %s", o->embeddings, lelp_last_error());
    lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, o->null_space);
    lelp_builder_set_int(b, LELP_BUILDER_ROTATE, o->rotate);
    if ((st = lelp_builder_set_int(b, LELP_BUILDER_SEED, o->seed)))
        return die(EXIT_USAGE, "fit: --seed: %s", lelp_last_error());
    if ((st = lelp_builder_set_double(b, LELP_BUILDER_BETA, o->have_beta ? o->beta : 0.0)))
        return die(EXIT_USAGE, "fit: --beta: %s", lelp_last_error());
    double t0 = now();
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err) || npy_read_i32(&y, i, nb, lab, err, sizeof err))
            return die(EXIT_BAD, "%s", err);
        if ((st = lelp_builder_update(b, rows, lab, nb, d)))
            return die(EXIT_BAD, "%s: rows %lld..%lld: %s", o->embeddings, (long long)i, (long long)(i + nb - 1),
                       lelp_last_error());
        bar(i + nb, N, t0);
    }
    if (o->head) {
        npy_file W;
        if ((rc = open_matrix(&W, o->head, "the head"))) return rc;
        if (W.rows != C || W.cols != d)
            return die(EXIT_BAD, "%s: head is (%lld, %lld), expected (C, d) = (%lld, %lld) from %s and %s", o->head,
                       (long long)W.rows, (long long)W.cols, (long long)C, (long long)d, o->labels, o->embeddings);
        float* w = xalloc((size_t)(C * d), sizeof(float), C);
        if (npy_read_f32(&W, 0, C, w, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        if ((st = lelp_builder_set_head(b, w, C, d))) return die(EXIT_BAD, "%s: %s", o->head, lelp_last_error());
        free(w);
        npy_close(&W);
    }
    lelp_model* m = NULL;
    if ((st = lelp_builder_fit(b, &m)))
        return die(EXIT_BAD, "%s: the fit failed: %s (%s)",
                   st == LELP_E_TOO_FEW_SAMPLES ? o->labels : (st == LELP_E_NONFINITE && o->head ? o->head : o->embeddings),
                   lelp_last_error(), lelp_status_string(st));
    if ((st = lelp_model_save_path(m, o->out))) return die(EXIT_BAD, "%s", lelp_last_error()); /* names the path */
    double beta = 0;
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    fprintf(stderr, "lelp fit: %lld rows, d = %lld, C = %lld, S = %lld, beta = %.6g -> %s (%.1fs)\n", (long long)N,
            (long long)d, (long long)C, (long long)o->S, beta, o->out, now() - t0);
    lelp_model_free(m);
    lelp_builder_free(b);
    free(lab);
    free(rows);
    npy_close(&H);
    npy_close(&y);
    return 0;
}
