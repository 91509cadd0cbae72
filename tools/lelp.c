/* lelp -- the command-line tool: liblelp for embeddings already in .npy files.
 *
 *   lelp fit    --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S
 *               [--beta B|auto] [--seed N] [--no-null-space] [--no-rotation]
 *               [--batch ROWS] -o MODEL
 *   lelp label  --model MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy)
 *               [--smoothing E] [--beta B] -o T.npy
 *   lelp assign --model MODEL --embeddings H.npy --labels y.npy -o SUB.npy
 *   lelp info   MODEL [--json]
 *   lelp export MODEL -o DIR
 *   lelp report MODEL --embeddings H.npy --labels y.npy -o report.html
 *
 * Exit status: 0 success, 1 bad input (one line naming the file and the
 * problem), 2 usage error. Inputs are streamed in batches of --batch rows. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lelp.h"
#include "npy.h"

#define EXIT_BAD 1
#define EXIT_USAGE 2

static const char* HELP_MAIN =
    "usage: lelp COMMAND [OPTIONS]\n"
    "LELP few-class distillation on .npy files (liblelp " LELP_VERSION_STRING ").\n\n"
    "commands:\n"
    "  fit      stream embeddings and labels, fit the per-class subspaces, write a model\n"
    "  label    soft targets (N, C*S) float32 for a batch, from teacher logits or labels\n"
    "  assign   hard pseudo-subclass (N,) int32 of each example within its class\n"
    "  info     a model's shape, options and spectrum (--json for machines)\n"
    "  export   a model's arrays as .npy files in a directory\n"
    "  report   a self-contained HTML report with charts\n\n"
    "`lelp COMMAND --help` documents each command. Exit status: 0 success, 1 bad input, 2 usage error.\n";

static const char* HELP[] = {
    "fit",
    "usage: lelp fit --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S\n"
    "                [--beta B|auto] [--seed N] [--no-null-space] [--no-rotation] [--batch ROWS] -o MODEL\n"
    "H (N, d) float32/float64, y (N,) int32/int64 in [0, C) with C = max(y) + 1, W (C, d) the teacher head.\n"
    "--beta: a fixed subclass temperature, or auto (default). --batch: rows streamed at a time (default: as\n"
    "many as fit in 64 MiB, at most 65536), so memory stays bounded whatever the file size.\n",
    "label",
    "usage: lelp label --model MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy [--smoothing E])\n"
    "                  [--beta B] [--batch ROWS] -o T.npy\n"
    "Writes float32 targets of shape (N, C*S), class-major (index c*S + s). --beta overrides the model's.\n",
    "assign",
    "usage: lelp assign --model MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o SUB.npy\n"
    "Writes int32 (N,): argmax_s of each row's projections within its own class.\n",
    "info",
    "usage: lelp info MODEL [--json]\n"
    "d, C, S, beta, seed, options, eigenvalues and explained-variance ratio per class, versions.\n",
    "export",
    "usage: lelp export MODEL -o DIR\n"
    "DIR/components.npy float64 (C, S, d) = rows U_c^T, DIR/means.npy (C, d), DIR/eigenvalues.npy (C, S),\n"
    "DIR/offsets.npy (C, S).\n",
    "report",
    "usage: lelp report MODEL --embeddings H.npy --labels y.npy -o report.html\n"
    "One HTML file with inline SVG: explained-variance spectrum and subclass occupancy per class, the\n"
    "within-class entropy beta gives, and each class's first two rotated coordinates coloured by\n"
    "pseudo-subclass (at most 5000 points).\n",
    NULL};

static int die(int code, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lelp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

static int lib_fail(const char* what, int st)
{
    return die(EXIT_BAD, "%s: %s (%s)", what, lelp_last_error(), lelp_status_string(st));
}

/* ---- options ------------------------------------------------------------------------- */
typedef struct opts {
    const char *embeddings, *labels, *head, *model, *logits, *out, *positional;
    int64_t S, seed, batch;
    double beta, tau, smoothing;
    int null_space, rotate, json, have_beta;
} opts;

static int parse(int argc, char** argv, const char* cmd, opts* o)
{
    memset(o, 0, sizeof *o);
    o->null_space = o->rotate = 1;
    o->batch = 0; /* automatic: batch_rows() */
    o->tau = 1.0;
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return -1;
        int flag = 1;
        if (!strcmp(a, "--no-null-space")) o->null_space = 0;
        else if (!strcmp(a, "--no-rotation")) o->rotate = 0;
        else if (!strcmp(a, "--json")) o->json = 1;
        else flag = 0;
        if (flag) continue;
        if (a[0] != '-') {
            if (o->positional) return die(EXIT_USAGE, "%s: unexpected argument '%s'", cmd, a);
            o->positional = a;
            continue;
        }
        if (!v) return die(EXIT_USAGE, "%s: option %s needs a value", cmd, a);
        char* end = NULL;
        if (!strcmp(a, "--embeddings")) o->embeddings = v;
        else if (!strcmp(a, "--labels")) o->labels = v;
        else if (!strcmp(a, "--head")) o->head = v;
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--logits")) o->logits = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output")) o->out = v;
        else if (!strcmp(a, "--subclasses")) o->S = strtoll(v, &end, 10);
        else if (!strcmp(a, "--seed")) o->seed = strtoll(v, &end, 10);
        else if (!strcmp(a, "--batch")) o->batch = strtoll(v, &end, 10);
        else if (!strcmp(a, "--tau")) o->tau = strtod(v, &end);
        else if (!strcmp(a, "--smoothing")) o->smoothing = strtod(v, &end);
        else if (!strcmp(a, "--beta")) {
            o->have_beta = 1;
            if (strcmp(v, "auto")) o->beta = strtod(v, &end);
        } else
            return die(EXIT_USAGE, "%s: unknown option %s (see lelp %s --help)", cmd, a, cmd);
        if (end && *end) return die(EXIT_USAGE, "%s: %s expects a number, got '%s'", cmd, a, v);
        i++;
    }
    if (o->batch < 0) return die(EXIT_USAGE, "%s: --batch must be >= 1", cmd);
    return 0;
}

/* Rows per batch: --batch, or as many as fit in 64 MiB of float32 rows (at
 * most 65536), so memory stays bounded whatever the file size. */
static int64_t batch_rows(const opts* o, int64_t d)
{
    if (o->batch > 0) return o->batch;
    int64_t b = (INT64_C(64) << 20) / (4 * (d > 0 ? d : 1));
    return b < 1 ? 1 : (b > 65536 ? 65536 : b);
}

/* ---- progress ------------------------------------------------------------------------------ */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bar(int64_t done, int64_t total, double t0)
{
    if (!isatty(2)) return;
    double el = now() - t0, rate = el > 0 ? (double)done / el : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    int w = 30, f = total ? (int)(done * w / total) : w;
    fprintf(stderr, "\r[%.*s%*s] %lld/%lld rows  %.0f rows/s  ETA %.0fs ", f, "##############################", w - f,
            "", (long long)done, (long long)total, rate, eta);
    if (done == total) fputc('\n', stderr);
}

/* ---- shared input handling ----------------------------------------------------------------------- */
static int open_matrix(npy_file* f, const char* path, const char* what)
{
    char err[1100];
    if (npy_open(f, path, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if (f->ndim != 2 || f->kind != 'f') return die(EXIT_BAD, "%s: %s must be a 2-D float array", path, what);
    return 0;
}

static int open_labels(npy_file* f, const char* path, int64_t rows)
{
    char err[1100];
    if (npy_open(f, path, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if (f->ndim != 1 || f->kind != 'i') return die(EXIT_BAD, "%s: labels must be a 1-D int32/int64 array", path);
    if (rows >= 0 && f->rows != rows)
        return die(EXIT_BAD, "%s: %lld labels but the embeddings have %lld rows", path, (long long)f->rows,
                   (long long)rows);
    return 0;
}

static int load_model(const char* path, lelp_model** m, int64_t* d, int64_t* C, int64_t* S)
{
    int st = lelp_model_load_path(m, path, NULL);
    if (st) return die(EXIT_BAD, "%s: %s (%s)", path, lelp_last_error(), lelp_status_string(st));
    lelp_model_get_int(*m, LELP_MODEL_DIM, d);
    lelp_model_get_int(*m, LELP_MODEL_NUM_CLASSES, C);
    lelp_model_get_int(*m, LELP_MODEL_SUBCLASSES, S);
    return 0;
}

/* status of a batch call, with the file named when the library blames the data */
static int batch_fail(int st, const char* file, int64_t row0)
{
    const char* msg = lelp_last_error();
    if (st == LELP_E_NONFINITE || st == LELP_E_LABEL_RANGE)
        return die(EXIT_BAD, "%s: %s (batch starting at row %lld)", file, msg, (long long)row0);
    return die(EXIT_BAD, "%s: %s (%s)", file, msg, lelp_status_string(st));
}

/* ---- fit ------------------------------------------------------------------------------------------ */
static int cmd_fit(const opts* o)
{
    if (!o->embeddings || !o->labels || !o->out || o->S < 1)
        return die(EXIT_USAGE, "fit: --embeddings, --labels, --subclasses (>= 1) and -o are required");
    if (o->have_beta && o->beta < 0) return die(EXIT_USAGE, "fit: --beta must be auto or > 0");
    npy_file H, y;
    int rc = open_matrix(&H, o->embeddings, "embeddings");
    if (!rc) rc = open_labels(&y, o->labels, H.rows);
    if (rc) return rc;
    char err[1100];
    const int64_t N = H.rows, d = H.cols, B = batch_rows(o, H.cols);
    int32_t* lab = malloc(sizeof(int32_t) * (size_t)B);
    float* rows = malloc(sizeof(float) * (size_t)(B * d));
    if (!lab || !rows) return die(EXIT_BAD, "out of memory for a batch of %lld rows", (long long)B);
    int32_t maxlab = -1;
    for (int64_t i = 0; i < N; i += B) { /* the class count: one pass over the labels */
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_i32(&y, i, nb, lab, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        for (int64_t k = 0; k < nb; k++) {
            if (lab[k] < 0)
                return die(EXIT_BAD, "%s: negative label %d at row %lld", o->labels, lab[k], (long long)(i + k));
            maxlab = lab[k] > maxlab ? lab[k] : maxlab;
        }
    }
    if (maxlab < 0) return die(EXIT_BAD, "%s: no labels", o->labels);
    const int64_t C = (int64_t)maxlab + 1;
    lelp_builder* b = NULL;
    int st = lelp_builder_create(&b, d, C, o->S, NULL);
    if (st) return lib_fail("fit", st);
    lelp_builder_set_int(b, LELP_BUILDER_NULL_SPACE, o->null_space);
    lelp_builder_set_int(b, LELP_BUILDER_ROTATE, o->rotate);
    if ((st = lelp_builder_set_int(b, LELP_BUILDER_SEED, o->seed))) return lib_fail("--seed", st);
    if ((st = lelp_builder_set_double(b, LELP_BUILDER_BETA, o->beta))) return lib_fail("--beta", st);
    double t0 = now();
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err) || npy_read_i32(&y, i, nb, lab, err, sizeof err))
            return die(EXIT_BAD, "%s", err);
        if ((st = lelp_builder_update(b, rows, lab, nb, d))) return batch_fail(st, o->embeddings, i);
        bar(i + nb, N, t0);
    }
    if (o->head) {
        npy_file W;
        if ((rc = open_matrix(&W, o->head, "the head"))) return rc;
        if (W.rows != C || W.cols != d)
            return die(EXIT_BAD, "%s: head is (%lld, %lld), expected (C, d) = (%lld, %lld)", o->head,
                       (long long)W.rows, (long long)W.cols, (long long)C, (long long)d);
        float* w = malloc(sizeof(float) * (size_t)(C * d));
        if (!w || npy_read_f32(&W, 0, C, w, err, sizeof err)) return die(EXIT_BAD, "%s", w ? err : "out of memory");
        if ((st = lelp_builder_set_head(b, w, C, d))) return batch_fail(st, o->head, 0);
        free(w);
        npy_close(&W);
    }
    lelp_model* m = NULL;
    if ((st = lelp_builder_fit(b, &m))) return die(EXIT_BAD, "fit: %s", lelp_last_error());
    if ((st = lelp_model_save_path(m, o->out))) return die(EXIT_BAD, "%s: %s", o->out, lelp_last_error());
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

/* ---- label / assign ------------------------------------------------------------------------------- */
static int cmd_label(const opts* o, int assign)
{
    const char* cmd = assign ? "assign" : "label";
    if (!o->model || !o->embeddings || !o->out) return die(EXIT_USAGE, "%s: --model, --embeddings and -o are required", cmd);
    if (assign ? !o->labels : (!o->logits == !o->labels))
        return die(EXIT_USAGE, assign ? "assign: --labels is required" : "label: give exactly one of --logits and --labels");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(o->model, &m, &d, &C, &S);
    if (rc) return rc;
    if (o->have_beta) {
        lelp_model* m2 = NULL;
        int st = lelp_model_with_beta(m, o->beta, &m2);
        if (st) return lib_fail("--beta", st);
        lelp_model_free(m);
        m = m2;
    }
    npy_file H, Z, y, out;
    if ((rc = open_matrix(&H, o->embeddings, "embeddings"))) return rc;
    if (H.cols != d)
        return die(EXIT_BAD, "%s: %lld columns but the model has d = %lld", o->embeddings, (long long)H.cols, (long long)d);
    if (o->logits) {
        if ((rc = open_matrix(&Z, o->logits, "logits"))) return rc;
        if (Z.rows != H.rows || Z.cols != C)
            return die(EXIT_BAD, "%s: shape (%lld, %lld), expected (%lld, %lld)", o->logits, (long long)Z.rows,
                       (long long)Z.cols, (long long)H.rows, (long long)C);
    } else if ((rc = open_labels(&y, o->labels, H.rows))) {
        return rc;
    }
    char err[1100];
    const int64_t N = H.rows, B = batch_rows(o, d), K = assign ? 1 : C * S;
    if (npy_create(&out, o->out, assign ? "<i4" : "<f4", N, assign ? 0 : K, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    float* rows = malloc(sizeof(float) * (size_t)(B * d));
    float* zb = malloc(sizeof(float) * (size_t)(B * C));
    int32_t* lab = malloc(sizeof(int32_t) * (size_t)B);
    float* T = malloc(sizeof(float) * (size_t)(B * K));
    if (!rows || !zb || !lab || !T) return die(EXIT_BAD, "out of memory for a batch of %lld rows", (long long)B);
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        int st;
        if (o->logits) {
            if (npy_read_f32(&Z, i, nb, zb, err, sizeof err)) return die(EXIT_BAD, "%s", err);
            st = lelp_model_targets_from_logits(m, rows, zb, nb, d, o->tau, T);
            if (st == LELP_E_NONFINITE && strncmp(lelp_last_error(), "Z", 1) == 0) return batch_fail(st, o->logits, i);
        } else {
            if (npy_read_i32(&y, i, nb, lab, err, sizeof err)) return die(EXIT_BAD, "%s", err);
            st = assign ? lelp_model_assign(m, rows, lab, nb, d, (int32_t*)(void*)T)
                        : lelp_model_targets_from_labels(m, rows, lab, nb, d, o->smoothing, T);
            if (st == LELP_E_LABEL_RANGE) return batch_fail(st, o->labels, i);
        }
        if (st) return batch_fail(st, o->embeddings, i);
        if (npy_write(&out, T, (size_t)(nb * K) * 4, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    }
    if (npy_finish(&out, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    free(rows), free(zb), free(lab), free(T);
    lelp_model_free(m);
    return 0;
}

/* ---- info / export ----------------------------------------------------------------------------------- */
static int cmd_info(const opts* o)
{
    const char* path = o->positional ? o->positional : o->model;
    if (!path) return die(EXIT_USAGE, "info: MODEL is required");
    lelp_model* m = NULL;
    int64_t d, C, S, seed, ns, rot, rank, ab, solver;
    int rc = load_model(path, &m, &d, &C, &S);
    if (rc) return rc;
    double beta, frac;
    lelp_model_get_int(m, LELP_MODEL_SEED, &seed);
    lelp_model_get_int(m, LELP_MODEL_NULL_SPACE, &ns);
    lelp_model_get_int(m, LELP_MODEL_ROTATE, &rot);
    lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &rank);
    lelp_model_get_int(m, LELP_MODEL_AUTO_BETA, &ab);
    lelp_model_get_int(m, LELP_MODEL_SOLVER, &solver);
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    lelp_model_get_double(m, LELP_MODEL_ENTROPY_FRACTION, &frac);
    double* eig = malloc(sizeof(double) * (size_t)(C * S));
    double* ratio = malloc(sizeof(double) * (size_t)(C * S));
    lelp_model_eigenvalues(m, eig, C * S);
    lelp_model_explained_variance_ratio(m, ratio, C * S);
    if (o->json) {
        printf("{\"d\": %lld, \"C\": %lld, \"S\": %lld, \"beta\": %.17g, \"auto_beta\": %s, \"entropy_fraction\": %.17g, "
               "\"seed\": %lld, \"null_space\": %s, \"head_rank\": %lld, \"rotate\": %s, \"solver\": \"%s\", "
               "\"library_version\": \"%s\", \"eigenvalues\": [",
               (long long)d, (long long)C, (long long)S, beta, ab ? "true" : "false", frac, (long long)seed,
               ns ? "true" : "false", (long long)rank, rot ? "true" : "false", solver ? "sketch" : "exact",
               lelp_version_string());
        for (int64_t c = 0; c < C; c++) {
            printf("%s[", c ? ", " : "");
            for (int64_t s = 0; s < S; s++) printf("%s%.17g", s ? ", " : "", eig[c * S + s]);
            printf("]");
        }
        printf("], \"explained_variance_ratio\": [");
        for (int64_t c = 0; c < C; c++) {
            printf("%s[", c ? ", " : "");
            for (int64_t s = 0; s < S; s++) printf("%s%.17g", s ? ", " : "", ratio[c * S + s]);
            printf("]");
        }
        printf("]}\n");
    } else {
        printf("%s: LELP model (liblelp %s)\n  d = %lld, C = %lld, S = %lld, solver %s\n  beta = %.6g (%s, entropy "
               "fraction %.2f), seed = %lld\n  null space: %s (head rank %lld), rotation: %s\n",
               path, lelp_version_string(), (long long)d, (long long)C, (long long)S, solver ? "sketch" : "exact", beta,
               ab ? "automatic" : "fixed", frac, (long long)seed, ns ? "on" : "off", (long long)rank, rot ? "on" : "off");
        for (int64_t c = 0; c < C; c++) {
            printf("  class %lld: eigenvalues", (long long)c);
            for (int64_t s = 0; s < S; s++) printf(" %.4g", eig[c * S + s]);
            printf("; explained variance");
            for (int64_t s = 0; s < S; s++) printf(" %.3f", ratio[c * S + s]);
            printf("\n");
        }
    }
    free(eig), free(ratio);
    lelp_model_free(m);
    return 0;
}

static int write_f64(const char* dir, const char* name, const double* v, int64_t rows, int64_t cols, int64_t depth)
{
    char path[2048], err[1100], descr_shape[64];
    (void)descr_shape;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    npy_file f;
    /* 3-D arrays are written as their own header (npy_create knows rank 1 and 2) */
    if (depth > 0) {
        FILE* fp = fopen(path, "wb");
        if (!fp) return die(EXIT_BAD, "%s: cannot create", path);
        char dict[256];
        int len = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%lld, %lld, %lld), }",
                           (long long)rows, (long long)cols, (long long)depth);
        int pad = (64 - (10 + len + 1) % 64) % 64;
        unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((len + pad + 1) & 0xff),
                                 (unsigned char)((len + pad + 1) >> 8)};
        fwrite(pre, 1, 10, fp);
        fwrite(dict, 1, (size_t)len, fp);
        for (int i = 0; i < pad; i++) fputc(' ', fp);
        fputc('\n', fp);
        size_t n = (size_t)(rows * cols * depth);
        int bad = fwrite(v, 8, n, fp) != n;
        bad |= fclose(fp) != 0;
        return bad ? die(EXIT_BAD, "%s: write failed", path) : 0;
    }
    if (npy_create(&f, path, "<f8", rows, cols, err, sizeof err) ||
        npy_write(&f, v, (size_t)(rows * cols) * 8, err, sizeof err) || npy_finish(&f, err, sizeof err))
        return die(EXIT_BAD, "%s", err);
    return 0;
}

static int cmd_export(const opts* o)
{
    const char* path = o->positional ? o->positional : o->model;
    if (!path || !o->out) return die(EXIT_USAGE, "export: MODEL and -o DIR are required");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(path, &m, &d, &C, &S);
    if (rc) return rc;
    if (mkdir(o->out, 0777) != 0 && errno != EEXIST) return die(EXIT_BAD, "%s: cannot create directory", o->out);
    double* buf = malloc(sizeof(double) * (size_t)(C * S * d + C * d));
    lelp_model_components(m, buf, C * S * d);
    rc = write_f64(o->out, "components.npy", buf, C, S, d);
    if (!rc) lelp_model_means(m, buf, C * d), rc = write_f64(o->out, "means.npy", buf, C, d, 0);
    if (!rc) lelp_model_eigenvalues(m, buf, C * S), rc = write_f64(o->out, "eigenvalues.npy", buf, C, S, 0);
    if (!rc) lelp_model_offsets(m, buf, C * S), rc = write_f64(o->out, "offsets.npy", buf, C, S, 0);
    free(buf);
    lelp_model_free(m);
    return rc;
}

/* ---- report ------------------------------------------------------------------------------------------ */
static const char* COLORS[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                               "#bcbd22", "#17becf"};

static void svg_bars(FILE* f, const char* title, const double* v, int n, const char* xlabel, const char* fmt)
{
    const int W = 360, H = 200, L = 40, B = 30;
    double mx = 0;
    for (int i = 0; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    mx = mx > 0 ? mx : 1;
    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">"
               "<title>%s</title>\n", W, H + 20, title);
    fprintf(f, "<text x=\"%d\" y=\"14\" font-size=\"13\">%s</text>\n", L, title);
    double bw = (double)(W - L - 10) / (n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        double h = (H - B - 20) * v[i] / mx;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", L + i * bw + 2,
                H - B - h, bw - 4, h, COLORS[i % 10]);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%d</text>", L + (i + 0.5) * bw,
                H - B + 12, i);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\">", L + (i + 0.5) * bw, H - B - h - 3);
        fprintf(f, fmt, v[i]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>", L, H - B, W - 10, H - B);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text></svg></figure>\n",
            (W + L) / 2, H, xlabel);
}

static int cmd_report(const opts* o)
{
    const char* path = o->positional ? o->positional : o->model;
    if (!path || !o->embeddings || !o->labels || !o->out)
        return die(EXIT_USAGE, "report: MODEL, --embeddings, --labels and -o are required");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(path, &m, &d, &C, &S);
    if (rc) return rc;
    npy_file H, y;
    if ((rc = open_matrix(&H, o->embeddings, "embeddings")) || (rc = open_labels(&y, o->labels, H.rows))) return rc;
    if (H.cols != d) return die(EXIT_BAD, "%s: %lld columns but the model has d = %lld", o->embeddings, (long long)H.cols, (long long)d);
    /* a subsample of at most 5000 rows, evenly spaced */
    const int64_t N = H.rows, n = N < 5000 ? N : 5000;
    float* rows = malloc(sizeof(float) * (size_t)(n * d));
    int32_t* lab = malloc(sizeof(int32_t) * (size_t)n);
    char err[1100];
    for (int64_t i = 0; i < n; i++) {
        int64_t r = n == N ? i : i * N / n;
        if (npy_read_f32(&H, r, 1, rows + i * d, err, sizeof err) || npy_read_i32(&y, r, 1, lab + i, err, sizeof err))
            return die(EXIT_BAD, "%s", err);
    }
    int32_t* sub = malloc(sizeof(int32_t) * (size_t)n);
    float* F = malloc(sizeof(float) * (size_t)(n * C * S));
    int st = lelp_model_assign(m, rows, lab, n, d, sub);
    if (st == LELP_E_LABEL_RANGE) return batch_fail(st, o->labels, 0);
    if (st || (st = lelp_model_project(m, rows, n, d, F))) return batch_fail(st, o->embeddings, 0);
    double beta = 0;
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    double* ratio = malloc(sizeof(double) * (size_t)(C * S));
    lelp_model_explained_variance_ratio(m, ratio, C * S);
    FILE* f = fopen(o->out, "w");
    if (!f) return die(EXIT_BAD, "%s: cannot create", o->out);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>LELP report: %s</title>"
               "<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:0.5em}"
               "section{border-top:1px solid #ccc;margin-top:1em}</style></head><body>\n", path);
    fprintf(f, "<h1>LELP model report</h1><p>%s: d = %lld, C = %lld, S = %lld, beta = %.4g; %lld of %lld rows of %s "
               "shown.</p>\n", path, (long long)d, (long long)C, (long long)S, beta, (long long)n, (long long)N,
            o->embeddings);
    /* the mean within-class entropy of softmax_s(f) at beta x {1/4, 1/2, 1, 2, 4} */
    double ent[5] = {0};
    for (int k = 0; k < 5 && S > 1; k++)
        lelp_model_mean_entropy(m, rows, lab, n, d, beta * pow(2.0, k - 2), &ent[k]);
    fprintf(f, "<section><h2>Within-class entropy of the pseudo-subclass softmax</h2><p>beta x 1/4, 1/2, 1, 2, 4 "
               "(bars 0-4); log S = %.3f.</p>\n", log((double)S));
    svg_bars(f, "mean entropy (nats) vs beta", ent, 5, "beta multiplier index", "%.2f");
    fprintf(f, "</section>\n");
    for (int64_t c = 0; c < C; c++) {
        fprintf(f, "<section class=\"class\" id=\"class-%lld\"><h2>Class %lld</h2>\n", (long long)c, (long long)c);
        char title[128];
        snprintf(title, sizeof title, "class %lld: explained-variance ratio", (long long)c);
        svg_bars(f, title, ratio + c * S, (int)S, "direction", "%.3f");
        double occ[64] = {0};
        int64_t nc = 0;
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c) {
                nc++;
                if (sub[i] < 64) occ[sub[i]] += 1;
            }
        snprintf(title, sizeof title, "class %lld: pseudo-subclass occupancy (%lld rows)", (long long)c, (long long)nc);
        svg_bars(f, title, occ, (int)(S < 64 ? S : 64), "pseudo-subclass", "%.0f");
        /* scatter of the first two coordinates of this class's directions */
        double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
        int64_t k0 = c * S, k1 = c * S + (S > 1 ? 1 : 0);
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c) {
                double x = F[i * C * S + k0], yv = F[i * C * S + k1];
                xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, yv), ymax = fmax(ymax, yv);
            }
        double sx = xmax > xmin ? 320.0 / (xmax - xmin) : 1, sy = ymax > ymin ? 180.0 / (ymax - ymin) : 1;
        fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"360\" height=\"220\" role=\"img\">"
                   "<title>class %lld: first two rotated coordinates by pseudo-subclass</title>"
                   "<text x=\"20\" y=\"14\" font-size=\"13\">class %lld: coordinates 1-2, coloured by pseudo-subclass"
                   "</text>\n", (long long)c, (long long)c);
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>",
                        20 + (F[i * C * S + k0] - xmin) * sx, 200 - (F[i * C * S + k1] - ymin) * sy,
                        COLORS[sub[i] % 10]);
        fprintf(f, "</svg></figure></section>\n");
    }
    fprintf(f, "</body></html>\n");
    if (fclose(f) != 0) return die(EXIT_BAD, "%s: write failed", o->out);
    free(rows), free(lab), free(sub), free(F), free(ratio);
    lelp_model_free(m);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(HELP_MAIN, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lelp %s\n", lelp_version_string());
        return 0;
    }
    const char* cmd = argv[1];
    const char* help = NULL;
    for (int i = 0; HELP[i]; i += 2)
        if (!strcmp(HELP[i], cmd)) help = HELP[i + 1];
    if (!help) return die(EXIT_USAGE, "unknown command '%s' (see lelp --help)", cmd);
    opts o;
    int rc = parse(argc, argv, cmd, &o);
    if (rc == -1) {
        fputs(help, stdout);
        return 0;
    }
    if (rc) return rc;
    if (!strcmp(cmd, "fit")) return cmd_fit(&o);
    if (!strcmp(cmd, "label")) return cmd_label(&o, 0);
    if (!strcmp(cmd, "assign")) return cmd_label(&o, 1);
    if (!strcmp(cmd, "info")) return cmd_info(&o);
    if (!strcmp(cmd, "export")) return cmd_export(&o);
    return cmd_report(&o);
}
