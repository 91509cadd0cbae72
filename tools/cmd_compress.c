/* SPDX-License-Identifier: MIT */
/* cmd_compress.c -- `lelp compress`: train the embedding compressor
 * e' = A e + a (lelp_compressor_*, Ding & Lerch) on teacher embeddings and
 * labels in .npy files, save it, and apply it to every row. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TRAIN_BATCH 256 /* rows per optimizer step unless --batch */

static int64_t le64(const unsigned char* p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | p[k];
    return (int64_t)v;
}

/* d_t, k and C of a compressor, from its serialized header (docs/format.md) */
static int shape_of(const lelp_compressor* c, int64_t* dt, int64_t* k, int64_t* C)
{
    size_t size = 0, written = 0;
    if (lelp_compressor_serialized_size(c, &size) || size < 64) return 1;
    unsigned char* buf = xalloc(size, 1, 1);
    int st = lelp_compressor_serialize(c, buf, size, &written);
    if (!st) *dt = le64(buf + 32), *k = le64(buf + 40), *C = le64(buf + 48);
    free(buf);
    return st;
}

static int settings(lelp_compressor* c, const opts* o)
{
    if (o->optimizer >= 0 &&
        lelp_compressor_set_int(c, LELP_COMPRESSOR_OPTIMIZER, o->optimizer ? LELP_OPTIMIZER_ADAM : LELP_OPTIMIZER_SGD))
        return die(EXIT_USAGE, "compress: --optimizer: %s", lelp_last_error());
    if (o->lr > 0 && lelp_compressor_set_double(c, LELP_COMPRESSOR_LR, o->lr))
        return die(EXIT_USAGE, "compress: --lr: %s", lelp_last_error());
    if (o->weight_decay > 0 && lelp_compressor_set_double(c, LELP_COMPRESSOR_WEIGHT_DECAY, o->weight_decay))
        return die(EXIT_USAGE, "compress: --weight-decay: %s", lelp_last_error());
    return 0;
}

/* --epochs passes over (E, y) in file order, one optimizer step per batch */
static int train(lelp_compressor* c, const opts* o, npy_file* E, npy_file* y, int64_t C)
{
    char err[1100];
    const int64_t N = E->rows, dt = E->cols, B = o->batch > 0 ? (o->batch < N ? o->batch : N) : TRAIN_BATCH;
    float* rows = xalloc((size_t)(B * dt), sizeof(float), B);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    const int64_t epochs = o->epochs > 0 ? o->epochs : 10;
    double t0 = now(), loss_sum = 0;
    for (int64_t e = 0; e < epochs; e++) {
        loss_sum = 0;
        for (int64_t i = 0; i < N; i += B) {
            int64_t nb = N - i < B ? N - i : B;
            double loss = 0;
            if (npy_read_f32(E, i, nb, rows, err, sizeof err) || npy_read_i32(y, i, nb, lab, err, sizeof err))
                return die(EXIT_BAD, "%s", err);
            if (check_labels(o->labels, lab, nb, i, C)) return EXIT_BAD;
            int st = lelp_compressor_step(c, rows, lab, NULL, nb, &loss);
            if (st)
                return die(EXIT_BAD, "%s: epoch %lld, rows %lld..%lld: %s (%s)", o->embeddings, (long long)(e + 1),
                           (long long)i, (long long)(i + nb - 1), lelp_last_error(), lelp_status_string(st));
            loss_sum += loss * (double)nb;
        }
        bar((e + 1) * N, epochs * N, t0);
    }
    fprintf(stderr, "lelp compress: %lld epochs over %lld rows, last epoch's mean loss %.6g (%.1fs)\n",
            (long long)epochs, (long long)N, loss_sum / (double)N, now() - t0);
    free(rows), free(lab);
    return 0;
}

/* e' for every row of E into o->out, (N, k) float32, streamed */
static int apply(const lelp_compressor* c, const opts* o, npy_file* E, int64_t k)
{
    char err[1100];
    const int64_t N = E->rows, dt = E->cols, B = batch_rows(o, N, dt, k);
    float* rows = xalloc((size_t)(B * dt), sizeof(float), B);
    float* out = xalloc((size_t)(B * k), sizeof(float), B);
    const char* tmp = out_begin(o->out);
    if (!tmp) return EXIT_BAD;
    npy_file f;
    if (npy_create(&f, tmp, "<f4", N, k, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    snprintf(f.path, sizeof f.path, "%s", o->out);
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(E, i, nb, rows, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        int st = lelp_compressor_compress(c, rows, nb, out);
        if (st)
            return die(EXIT_BAD, "%s: rows %lld..%lld: %s (%s)", o->embeddings, (long long)i, (long long)(i + nb - 1),
                       lelp_last_error(), lelp_status_string(st));
        if (npy_write(&f, out, (size_t)(nb * k) * 4, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    }
    free(rows), free(out);
    return npy_finish(&f, err, sizeof err) ? die(EXIT_BAD, "%s", err) : 0;
}

int cmd_compress(const opts* o)
{
    if (!o->embeddings || (!o->out && !o->save))
        return die(EXIT_USAGE, "compress: --embeddings and at least one of -o and --save are required "
                               "(see lelp compress --help)");
    if (!o->labels && !o->model)
        return die(EXIT_USAGE, "compress: give --labels to train, or a trained compressor (STATE or --model) to apply");
    if (!o->model && o->dim < 1) return die(EXIT_USAGE, "compress: --dim K is required to train a new compressor");
    if (o->model && o->dim > 0) return die(EXIT_USAGE, "compress: --dim goes with a new compressor, not with STATE");
    if (o->save && !strcmp(o->save, "-"))
        return die(EXIT_USAGE, "compress: --save needs a file; standard output (-) is for -o's .npy");
    npy_file E, y;
    int rc = open_matrix(&E, o->embeddings, "embeddings");
    if (rc) return rc;
    if (o->labels && (rc = open_labels(&y, o->labels, E.rows, o->embeddings))) return rc;
    lelp_compressor* c = NULL;
    int64_t dt = E.cols, k = o->dim, C = 0;
    if (o->model) {
        int st = lelp_compressor_load_path(&c, o->model, NULL);
        if (st)
            return die(EXIT_BAD, "%s: not a readable LELP compressor: %s (%s)", o->model, lelp_last_error(),
                       lelp_status_string(st));
        if (shape_of(c, &dt, &k, &C)) return die(EXIT_BAD, "%s: %s", o->model, lelp_last_error());
        if (dt != E.cols)
            return die(EXIT_BAD, "%s: %lld columns but the compressor %s has d_t = %lld", o->embeddings,
                       (long long)E.cols, o->model, (long long)dt);
    } else {
        char err[1100];
        int32_t lab[4096];
        int32_t maxlab = -1;
        for (int64_t i = 0; i < y.rows; i += 4096) { /* C = max(y) + 1 */
            int64_t nb = y.rows - i < 4096 ? y.rows - i : 4096;
            if (npy_read_i32(&y, i, nb, lab, err, sizeof err)) return die(EXIT_BAD, "%s", err);
            if (check_labels(o->labels, lab, nb, i, INT32_MAX)) return EXIT_BAD;
            for (int64_t j = 0; j < nb; j++) maxlab = lab[j] > maxlab ? lab[j] : maxlab;
        }
        if (maxlab < 0) return die(EXIT_BAD, "%s: no labels (the file has 0 rows)", o->labels);
        C = (int64_t)maxlab + 1;
        if (lelp_compressor_create(&c, dt, k, C, NULL))
            return die(EXIT_USAGE, "compress: %s", lelp_last_error()); /* --dim out of the library's range */
        if (lelp_compressor_set_int(c, LELP_COMPRESSOR_SEED, o->seed))
            return die(EXIT_USAGE, "compress: --seed: %s", lelp_last_error());
    }
    if ((rc = settings(c, o))) return rc;
    if (o->labels && (rc = train(c, o, &E, &y, C))) return rc;
    if (o->save) { /* serialized here, written through this run's own temporary */
        size_t size = 0, written = 0;
        if (lelp_compressor_serialized_size(c, &size)) return die(EXIT_BAD, "%s: %s", o->save, lelp_last_error());
        void* buf = xalloc(size, 1, 1);
        if (lelp_compressor_serialize(c, buf, size, &written)) return die(EXIT_BAD, "%s: %s", o->save, lelp_last_error());
        const char* tmp = out_begin(o->save);
        rc = !tmp ? EXIT_BAD : write_bytes(tmp, o->save, buf, written);
        free(buf);
        if (rc) return rc;
    }
    if (o->out && (rc = apply(c, o, &E, k))) return rc;
    if ((rc = outs_commit())) return rc; /* the state and the .npy together, or neither */
    lelp_compressor_free(c);
    npy_close(&E);
    if (o->labels) npy_close(&y);
    return 0;
}
