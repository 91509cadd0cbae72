/* SPDX-License-Identifier: MIT */
/* lelp -- the command-line tool: liblelp for embeddings already in .npy files.
 *
 *   lelp fit    --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S
 *               [--beta B|auto] [--seed N] [--no-null-space] [--no-rotation]
 *               [--labeller projection|kmeans] [--batch ROWS] -o MODEL
 *   lelp label  --model MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy)
 *               [--smoothing E] [--beta B] [--batch ROWS] -o T.npy
 *   lelp assign --model MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o SUB.npy
 *   lelp info   MODEL [--json]
 *   lelp export MODEL -o DIR
 *   lelp report MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o report.html
 *
 * Exit status: 0 success, 1 bad input (one line naming the file and the
 * problem), 2 usage error. Inputs are streamed in batches of --batch rows and
 * outputs written batch by batch, so memory does not grow with the file. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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
    "  label    soft targets (N, C*S) float32, class-major, from teacher logits or labels\n"
    "  assign   hard pseudo-subclass (N,) int32 of each example within its class\n"
    "  info     a model's shape, options and spectrum (--json for machines)\n"
    "  export   a model's arrays as .npy files in a directory\n"
    "  report   a self-contained HTML report with charts\n\n"
    "`lelp COMMAND --help` documents each command; `lelp --version` prints the version.\n"
    "Inputs: .npy v1.0/2.0, C order, little-endian; embeddings, logits and head float32 or\n"
    "float64; labels int32 or int64 in [0, C). Large files are streamed in batches.\n"
    "Exit status: 0 success, 1 bad input (one line on stderr naming the file and the problem),\n"
    "2 usage error.\n";

/* name, options it accepts, help text */
static const char* const COMMANDS[][3] = {
    {"fit", " --embeddings --labels --head --subclasses --beta --seed --no-null-space --no-rotation --labeller --batch -o --output ",
     "usage: lelp fit --embeddings H.npy --labels y.npy [--head W.npy] --subclasses S\n"
     "                [--beta B|auto] [--seed N] [--no-null-space] [--no-rotation]\n"
     "                [--labeller projection|kmeans] [--batch ROWS] -o MODEL\n\n"
     "Streams H and y into per-class statistics, fits S pseudo-subclass directions per class and\n"
     "writes the model (liblelp's serialized format, docs/format.md) to MODEL.\n\n"
     "  --embeddings H.npy  (N, d) float32/float64 teacher embeddings\n"
     "  --labels y.npy      (N,) int32/int64 class labels; C = max(y) + 1\n"
     "  --head W.npy        (C, d) float32/float64 teacher output layer; its row space is projected\n"
     "                      out before the PCA unless --no-null-space\n"
     "  --subclasses S      pseudo-subclasses per class, 1 <= S <= d\n"
     "  --beta B|auto       subclass temperature: a number > 0, or auto (default): the beta at which\n"
     "                      the mean within-class entropy is half of log S on the fitting data\n"
     "  --seed N            seed of the random rotation, 0 .. 2^63-1 (default 0)\n"
     "  --no-null-space     keep the head's row space (no projection)\n"
     "  --no-rotation       no random rotation of the directions\n"
     "  --labeller L        projection (default): LELP's projections; kmeans: k-means clusters of a\n"
     "                      bounded row sample per class, in the same null-space projected space\n"
     "  --batch ROWS        rows streamed at a time (default: as many as fit in 64 MiB, at most\n"
     "                      65536), so memory stays bounded whatever the file size\n"
     "  -o, --output MODEL  the model file to write\n\n"
     "A progress bar (rows, rate, ETA) on a terminal, one summary line on stderr otherwise.\n"},
    {"label", " --model --embeddings --logits --tau --labels --smoothing --beta --batch -o --output ",
     "usage: lelp label --model MODEL --embeddings H.npy (--logits Z.npy [--tau T] | --labels y.npy [--smoothing E])\n"
     "                  [--beta B] [--batch ROWS] -o T.npy\n\n"
     "Writes the LELP soft targets, float32 of shape (N, C*S), class-major (column c*S + s):\n"
     "t[c*S+s] = p_c * softmax_s((<U_c[:,s], h> - b_cs) / beta), written batch by batch.\n\n"
     "  --logits Z.npy      (N, C) float32/float64 teacher logits: p = softmax(Z / tau)\n"
     "  --tau T             KD temperature in [0.01, 100] (default 1)\n"
     "  --labels y.npy      (N,) int32/int64 labels instead: p = (1 - E) one-hot(y) + E / C\n"
     "  --smoothing E       label smoothing in [0, 1) (default 0)\n"
     "  --beta B            use this subclass temperature instead of the model's\n"
     "  --batch ROWS        rows per batch (default: bounded by 64 MiB of input and of output)\n"},
    {"assign", " --model --embeddings --labels --batch -o --output ",
     "usage: lelp assign --model MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o SUB.npy\n\n"
     "Writes int32 (N,): the hard pseudo-subclass argmax_s f_{y,s} of each row within its own\n"
     "class (ties: lowest s), in [0, S).\n"},
    {"info", " --json --model ",
     "usage: lelp info MODEL [--json]\n\n"
     "Prints d, C, S, beta (and whether it was automatic), seed, options (null space, head rank,\n"
     "rotation, solver), eigenvalues and explained-variance ratio per class, the model format\n"
     "version, the library version that wrote it and the one reading it. --json: one JSON object.\n"},
    {"export", " --model -o --output ",
     "usage: lelp export MODEL -o DIR\n\n"
     "Writes the model's arrays as float64 .npy files into DIR (created if missing):\n"
     "  components.npy (C, S, d)  rows U_c^T: the projection directions of each class\n"
     "  means.npy      (C, d)     class means of the raw embeddings\n"
     "  eigenvalues.npy (C, S)    eigenvalues of P Sigma_c P, descending\n"
     "  offsets.npy    (C, S)     b_cs = <U_c[:,s], mu_c>\n"},
    {"report", " --model --embeddings --labels --batch -o --output ",
     "usage: lelp report MODEL --embeddings H.npy --labels y.npy [--batch ROWS] -o report.html\n\n"
     "One self-contained HTML file with inline SVG charts: the mean within-class entropy that beta\n"
     "(and beta x 1/4 .. 4) gives, and per class the explained-variance spectrum, the\n"
     "pseudo-subclass occupancy (both over all rows, streamed) and a scatter of the first two\n"
     "rotated coordinates coloured by pseudo-subclass (at most 5000 rows, evenly subsampled).\n"},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

/* Outputs: each is written to a temporary file beside its target (created
 * exclusively, so it never overwrites anything) and renamed over the target
 * only when the whole command has succeeded. A failed command therefore
 * leaves every target as it was -- even one that is also an input -- and
 * removes only its own temporaries. A target that is not a regular file (a
 * FIFO, /dev/stdout) is written in place and never removed. */
typedef struct out_file {
    char target[1024], tmp[1040];
    int in_place;
} out_file;
static out_file g_outs[4];
static int g_nouts;

static void outs_discard(void)
{
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place) unlink(g_outs[k].tmp);
    g_nouts = 0;
}

static int die(int code, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lelp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    outs_discard();
    return code;
}

/* The name to write `path`'s content under (see above), or NULL after a
 * message. A symbolic link is followed: the file it names is replaced. */
static const char* out_begin(const char* path)
{
    out_file* o = &g_outs[g_nouts];
    struct stat sb;
    o->in_place = 0;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return die(EXIT_BAD, "%s: is a directory", path), NULL;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        o->in_place = 1;
        snprintf(o->tmp, sizeof o->tmp, "%s", path);
    } else {
        char* real = stat(path, &sb) == 0 ? realpath(path, NULL) : NULL;
        int long_path = snprintf(o->target, sizeof o->target, "%s", real ? real : path) >= (int)sizeof o->target;
        free(real);
        if (long_path) return die(EXIT_BAD, "%s: path too long", path), NULL;
        int fd = -1;
        for (int k = 0; k < 100 && fd < 0; k++) {
            snprintf(o->tmp, sizeof o->tmp, k ? "%s.tmp%d" : "%s.tmp", o->target, k);
            fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
            if (fd < 0 && errno != EEXIST) break;
        }
        if (fd < 0) return die(EXIT_BAD, "%s: cannot create a temporary file beside it (%s)", path, strerror(errno)), NULL;
        close(fd);
    }
    g_nouts++;
    return o->tmp;
}

/* Every output into place; 0, or an exit status after a message. */
static int outs_commit(void)
{
    for (int k = 0; k < g_nouts; k++)
        if (!g_outs[k].in_place && rename(g_outs[k].tmp, g_outs[k].target) != 0)
            return die(EXIT_BAD, "%s: cannot rename into place (%s)", g_outs[k].target, strerror(errno));
    g_nouts = 0;
    return 0;
}

/* ---- options ------------------------------------------------------------------------- */
typedef struct opts {
    const char *embeddings, *labels, *head, *model, *logits, *out, *positional;
    int64_t S, seed, batch;
    double beta, tau, smoothing;
    int null_space, rotate, json, have_beta, have_tau, have_smoothing;
    int labeller; /* enum lelp_labeller */
} opts;

static int parse_int(const char* cmd, const char* a, const char* v, int64_t lo, int64_t* out)
{
    char* end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < lo)
        return die(EXIT_USAGE, "%s: %s expects an integer >= %lld, got '%s'", cmd, a, (long long)lo, v);
    *out = x;
    return 0;
}

static int parse_real(const char* cmd, const char* a, const char* v, double lo, double hi, int lo_open, double* out)
{
    char* end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || (lo_open ? x <= lo : x < lo) || x > hi)
        return die(EXIT_USAGE, "%s: %s expects a number in %s%g, %g], got '%s'", cmd, a, lo_open ? "(" : "[", lo, hi, v);
    *out = x;
    return 0;
}

static int parse(int argc, char** argv, int c, opts* o)
{
    const char* cmd = COMMANDS[c][0];
    memset(o, 0, sizeof *o);
    o->null_space = o->rotate = 1;
    o->tau = 1.0;
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return -1;
    }
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (o->positional) return die(EXIT_USAGE, "%s: unexpected argument '%s'", cmd, a);
            o->positional = a;
            continue;
        }
        char key[64];
        snprintf(key, sizeof key, " %s ", a);
        if (strlen(a) > 40 || !strstr(COMMANDS[c][1], key))
            return die(EXIT_USAGE, "%s: unknown option %s (see lelp %s --help)", cmd, a, cmd);
        if (!strcmp(a, "--no-null-space")) o->null_space = 0;
        else if (!strcmp(a, "--no-rotation")) o->rotate = 0;
        else if (!strcmp(a, "--json")) o->json = 1;
        else {
            const char* v = i + 1 < argc ? argv[++i] : NULL;
            if (!v) return die(EXIT_USAGE, "%s: option %s needs a value", cmd, a);
            int rc = 0;
            if (!strcmp(a, "--embeddings")) o->embeddings = v;
            else if (!strcmp(a, "--labels")) o->labels = v;
            else if (!strcmp(a, "--head")) o->head = v;
            else if (!strcmp(a, "--model")) o->model = v;
            else if (!strcmp(a, "--logits")) o->logits = v;
            else if (!strcmp(a, "-o") || !strcmp(a, "--output")) o->out = v;
            else if (!strcmp(a, "--subclasses")) rc = parse_int(cmd, a, v, 1, &o->S);
            else if (!strcmp(a, "--seed")) rc = parse_int(cmd, a, v, 0, &o->seed);
            else if (!strcmp(a, "--batch")) rc = parse_int(cmd, a, v, 1, &o->batch);
            else if (!strcmp(a, "--labeller")) {
                o->labeller = !strcmp(v, "kmeans") ? LELP_LABELLER_KMEANS : LELP_LABELLER_PROJECTION;
                if (strcmp(v, "kmeans") && strcmp(v, "projection"))
                    rc = die(EXIT_USAGE, "%s: --labeller expects projection or kmeans, got '%s'", cmd, v);
            }
            else if (!strcmp(a, "--tau")) rc = parse_real(cmd, a, v, 0.01, 100.0, 0, &o->tau), o->have_tau = 1;
            else if (!strcmp(a, "--smoothing"))
                rc = parse_real(cmd, a, v, 0.0, 1.0, 0, &o->smoothing), o->have_smoothing = 1;
            else if (!strcmp(a, "--beta")) {
                o->have_beta = 1;
                if (strcmp(v, "auto") || !strcmp(cmd, "label"))
                    rc = parse_real(cmd, a, v, 0.0, 1e30, 1, &o->beta); /* the library's range */
            }
            if (rc) return rc;
        }
    }
    if (o->have_smoothing && o->smoothing >= 1.0)
        return die(EXIT_USAGE, "%s: --smoothing expects a number in [0, 1), got %g", cmd, o->smoothing);
    if (o->positional && o->model && strcmp(o->positional, o->model))
        return die(EXIT_USAGE, "%s: give the model once (MODEL or --model)", cmd);
    if (o->positional) {
        if (strcmp(cmd, "info") && strcmp(cmd, "export") && strcmp(cmd, "report"))
            return die(EXIT_USAGE, "%s: unexpected argument '%s'", cmd, o->positional);
        o->model = o->positional;
    }
    return 0;
}

/* Rows per batch: --batch, or as many as keep one batch of input (in_width
 * float32 values a row) and one of output (out_width) under 64 MiB each, at
 * most 65536: memory stays bounded whatever the file size. */
static int64_t batch_rows(const opts* o, int64_t in_width, int64_t out_width)
{
    if (o->batch > 0) return o->batch;
    int64_t w = in_width > out_width ? in_width : out_width;
    int64_t b = (INT64_C(64) << 20) / (4 * (w > 0 ? w : 1));
    return b < 1 ? 1 : (b > 65536 ? 65536 : b);
}

static void* xalloc(size_t count, size_t size, int64_t rows)
{
    void* p = calloc(count ? count : 1, size);
    if (!p) {
        die(EXIT_BAD, "out of memory for a batch of %lld rows (try a smaller --batch)", (long long)rows);
        exit(EXIT_BAD);
    }
    return p;
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
    static double last = -1.0;
    if (!isatty(2)) return;
    double t = now();
    if (done < total && t - last < 0.1) return; /* at most ten redraws a second */
    last = t;
    double el = t - t0, rate = el > 0 ? (double)done / el : 0.0;
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
    if (f->ndim != 2)
        return die(EXIT_BAD, "%s: %s must be a 2-D array, this one has rank 1 (shape (%lld,))", path, what,
                   (long long)f->rows);
    if (f->kind != 'f') return die(EXIT_BAD, "%s: %s must be float32 or float64, not int%d", path, what, 8 * f->itemsize);
    return 0;
}

static int open_labels(npy_file* f, const char* path, int64_t rows, const char* rows_file)
{
    char err[1100];
    if (npy_open(f, path, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if (f->ndim != 1)
        return die(EXIT_BAD, "%s: labels must be a 1-D array, this one has shape (%lld, %lld)", path, (long long)f->rows,
                   (long long)f->cols);
    if (f->kind != 'i') return die(EXIT_BAD, "%s: labels must be int32 or int64, not float%d", path, 8 * f->itemsize);
    if (f->rows != rows)
        return die(EXIT_BAD, "%s: %lld labels but %s has %lld rows", path, (long long)f->rows, rows_file, (long long)rows);
    return 0;
}

static int load_model(const char* path, lelp_model** m, int64_t* d, int64_t* C, int64_t* S)
{
    int st = lelp_model_load_path(m, path, NULL);
    if (st) return die(EXIT_BAD, "%s: not a readable LELP model: %s (%s)", path, lelp_last_error(), lelp_status_string(st));
    lelp_model_get_int(*m, LELP_MODEL_DIM, d);
    lelp_model_get_int(*m, LELP_MODEL_NUM_CLASSES, C);
    lelp_model_get_int(*m, LELP_MODEL_SUBCLASSES, S);
    return 0;
}

/* labels in [0, C) (the library checks too; this names the file and the absolute row) */
static int check_labels(const char* file, const int32_t* lab, int64_t n, int64_t row0, int64_t C)
{
    for (int64_t k = 0; k < n; k++)
        if (lab[k] < 0)
            return die(EXIT_BAD, "%s: label %d at row %lld is negative", file, lab[k], (long long)(row0 + k));
        else if (lab[k] >= C)
            return die(EXIT_BAD, "%s: label %d at row %lld is outside [0, %lld)", file, lab[k], (long long)(row0 + k),
                       (long long)C);
    return 0;
}

/* ---- fit ------------------------------------------------------------------------------------------ */
static int cmd_fit(const opts* o)
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
    lelp_builder_set_int(b, LELP_BUILDER_LABELLER, o->labeller);
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

/* ---- label / assign ------------------------------------------------------------------------------- */
static int cmd_label(const opts* o, int assign)
{
    const char* cmd = assign ? "assign" : "label";
    if (!o->model || !o->embeddings || !o->out)
        return die(EXIT_USAGE, "%s: --model, --embeddings and -o are required (see lelp %s --help)", cmd, cmd);
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
    const int64_t N = H.rows, K = assign ? 1 : C * S, B = batch_rows(o, d, K);
    const char* tmp = out_begin(o->out);
    if (!tmp) return EXIT_BAD;
    if (npy_create(&out, tmp, assign ? "<i4" : "<f4", N, assign ? 0 : K, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    snprintf(out.path, sizeof out.path, "%s", o->out); /* messages name the target */
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    float* zb = xalloc((size_t)(B * C), sizeof(float), B);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    float* T = xalloc((size_t)(B * K), sizeof(float), B);
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err)) return die(EXIT_BAD, "%s", err);
        int st;
        if (o->logits) {
            if (npy_read_f32(&Z, i, nb, zb, err, sizeof err)) return die(EXIT_BAD, "%s", err);
            st = lelp_model_targets_from_logits(m, rows, zb, nb, d, o->tau, T);
        } else {
            if (npy_read_i32(&y, i, nb, lab, err, sizeof err)) return die(EXIT_BAD, "%s", err);
            if (check_labels(o->labels, lab, nb, i, C)) return EXIT_BAD;
            st = assign ? lelp_model_assign(m, rows, lab, nb, d, (int32_t*)(void*)T)
                        : lelp_model_targets_from_labels(m, rows, lab, nb, d, o->smoothing, T);
        }
        if (st)
            return die(EXIT_BAD, "%s: rows %lld..%lld: %s (%s)", o->embeddings, (long long)i, (long long)(i + nb - 1),
                       lelp_last_error(), lelp_status_string(st));
        if (npy_write(&out, T, (size_t)(nb * K) * 4, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    }
    if (npy_finish(&out, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    if ((rc = outs_commit())) return rc;
    free(rows), free(zb), free(lab), free(T);
    npy_close(&H);
    if (o->logits) npy_close(&Z);
    else npy_close(&y);
    lelp_model_free(m);
    return 0;
}

/* ---- info / export ----------------------------------------------------------------------------------- */
/* format version and writer's library version from the envelope (docs/format.md) */
static void envelope_versions(const char* path, uint32_t* format, uint32_t* writer)
{
    unsigned char h[20] = {0};
    FILE* f = fopen(path, "rb");
    if (f) {
        if (fread(h, 1, sizeof h, f) != sizeof h) memset(h, 0, sizeof h);
        fclose(f);
    }
    *format = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
    *writer = (uint32_t)h[16] | (uint32_t)h[17] << 8 | (uint32_t)h[18] << 16 | (uint32_t)h[19] << 24;
}

static void print_rows(const double* v, int64_t C, int64_t S)
{
    printf("[");
    for (int64_t c = 0; c < C; c++) {
        printf("%s[", c ? ", " : "");
        for (int64_t s = 0; s < S; s++) printf("%s%.17g", s ? ", " : "", v[c * S + s]);
        printf("]");
    }
    printf("]");
}

static void print_json_string(const char* s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static int cmd_info(const opts* o)
{
    if (!o->model) return die(EXIT_USAGE, "info: MODEL is required (see lelp info --help)");
    lelp_model* m = NULL;
    int64_t d, C, S, seed, ns, rot, rank, ab, solver;
    int rc = load_model(o->model, &m, &d, &C, &S);
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
    uint32_t fmt, writer;
    envelope_versions(o->model, &fmt, &writer);
    char wv[32];
    snprintf(wv, sizeof wv, "%u.%u.%u", writer / 10000, writer / 100 % 100, writer % 100);
    double* eig = xalloc((size_t)(C * S), sizeof(double), C);
    double* ratio = xalloc((size_t)(C * S), sizeof(double), C);
    lelp_model_eigenvalues(m, eig, C * S);
    lelp_model_explained_variance_ratio(m, ratio, C * S);
    if (o->json) {
        printf("{\"model\": ");
        print_json_string(o->model);
        printf(", \"d\": %lld, \"C\": %lld, \"S\": %lld, \"beta\": %.17g, \"auto_beta\": %s, \"entropy_fraction\": %.17g, "
               "\"seed\": %lld, \"null_space\": %s, \"head_rank\": %lld, \"rotate\": %s, \"solver\": \"%s\", "
               "\"format_version\": %u, \"written_by\": \"%s\", \"library_version\": \"%s\", \"eigenvalues\": ",
               (long long)d, (long long)C, (long long)S, beta, ab ? "true" : "false", frac, (long long)seed,
               ns ? "true" : "false", (long long)rank, rot ? "true" : "false", solver ? "sketch" : "exact", fmt, wv,
               lelp_version_string());
        print_rows(eig, C, S);
        printf(", \"explained_variance_ratio\": ");
        print_rows(ratio, C, S);
        printf("}\n");
    } else {
        printf("%s: LELP model, format version %u, written by liblelp %s (reading with %s)\n"
               "  d = %lld, C = %lld, S = %lld, solver %s\n  beta = %.6g (%s, entropy fraction %.2f), seed = %lld\n"
               "  null space: %s (head rank %lld), rotation: %s\n",
               o->model, fmt, wv, lelp_version_string(), (long long)d, (long long)C, (long long)S,
               solver ? "sketch" : "exact", beta, ab ? "automatic" : "fixed", frac, (long long)seed, ns ? "on" : "off",
               (long long)rank, rot ? "on" : "off");
        for (int64_t c = 0; c < C; c++) {
            double tot = 0;
            printf("  class %lld: eigenvalues", (long long)c);
            for (int64_t s = 0; s < S; s++) printf(" %.4g", eig[c * S + s]);
            printf("; explained variance");
            for (int64_t s = 0; s < S; s++) printf(" %.3f", ratio[c * S + s]), tot += ratio[c * S + s];
            printf(" (total %.3f)\n", tot);
        }
    }
    free(eig), free(ratio);
    lelp_model_free(m);
    return 0;
}

static int write_f64(const char* dir, const char* name, const double* v, int ndim, const int64_t* dims)
{
    char path[1024], err[1100];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return die(EXIT_BAD, "%s: path too long", dir);
    size_t count = 1;
    for (int k = 0; k < ndim; k++) count *= (size_t)dims[k];
    npy_file f;
    const char* tmp = out_begin(path);
    if (!tmp) return EXIT_BAD;
    if (npy_create_shape(&f, tmp, "<f8", ndim, dims, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    snprintf(f.path, sizeof f.path, "%s", path);
    if (npy_write(&f, v, count * 8, err, sizeof err) || npy_finish(&f, err, sizeof err)) return die(EXIT_BAD, "%s", err);
    return 0;
}

static int cmd_export(const opts* o)
{
    if (!o->model || !o->out) return die(EXIT_USAGE, "export: MODEL and -o DIR are required (see lelp export --help)");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(o->model, &m, &d, &C, &S);
    if (rc) return rc;
    struct stat sb;
    if (mkdir(o->out, 0777) != 0 && !(errno == EEXIST && stat(o->out, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return die(EXIT_BAD, "%s: cannot create directory (%s)", o->out, strerror(errno));
    double* buf = xalloc((size_t)(C * S * d + C * d), sizeof(double), C);
    const int64_t csd[3] = {C, S, d}, cd[2] = {C, d}, cs[2] = {C, S};
    lelp_model_components(m, buf, C * S * d);
    rc = write_f64(o->out, "components.npy", buf, 3, csd);
    if (!rc) lelp_model_means(m, buf, C * d), rc = write_f64(o->out, "means.npy", buf, 2, cd);
    if (!rc) lelp_model_eigenvalues(m, buf, C * S), rc = write_f64(o->out, "eigenvalues.npy", buf, 2, cs);
    if (!rc) lelp_model_offsets(m, buf, C * S), rc = write_f64(o->out, "offsets.npy", buf, 2, cs);
    if (!rc) rc = outs_commit(); /* all four, or none */
    free(buf);
    lelp_model_free(m);
    return rc;
}

/* ---- report ------------------------------------------------------------------------------------------ */
static const char* COLORS[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                               "#bcbd22", "#17becf"};

/* text with &, <, >, " escaped */
static void html_text(FILE* f, const char* s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void svg_bars(FILE* f, const char* title, const double* v, const char* const* names, int n, const char* xlabel,
                     const char* fmt)
{
    const int W = 380, H = 200, L = 30, B = 30;
    double mx = 0;
    for (int i = 0; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    mx = mx > 0 ? mx : 1;
    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">"
               "<title>%s</title>\n", W, H + 20, title);
    fprintf(f, "<text x=\"%d\" y=\"14\" font-size=\"13\">%s</text>\n", L, title);
    double bw = (double)(W - L - 10) / (n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        double h = (H - B - 20) * v[i] / mx;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", L + i * bw + 1,
                H - B - h, bw > 3 ? bw - 2 : bw, h, COLORS[i % 10]);
        if (n <= 32) {
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">", L + (i + 0.5) * bw, H - B + 12);
            if (names) fputs(names[i], f);
            else fprintf(f, "%d", i);
            fprintf(f, "</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\">", L + (i + 0.5) * bw,
                    H - B - h - 3);
            fprintf(f, fmt, v[i]);
            fprintf(f, "</text>");
        }
        fputc('\n', f);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>", L, H - B, W - 10, H - B);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text></svg></figure>\n",
            (W + L) / 2, H + 10, xlabel);
}

static int cmd_report(const opts* o)
{
    if (!o->model || !o->embeddings || !o->labels || !o->out)
        return die(EXIT_USAGE, "report: MODEL, --embeddings, --labels and -o are required (see lelp report --help)");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(o->model, &m, &d, &C, &S);
    if (rc) return rc;
    npy_file H, y;
    if ((rc = open_matrix(&H, o->embeddings, "embeddings")) || (rc = open_labels(&y, o->labels, H.rows, o->embeddings)))
        return rc;
    if (H.cols != d)
        return die(EXIT_BAD, "%s: %lld columns but the model %s has d = %lld", o->embeddings, (long long)H.cols, o->model,
                   (long long)d);
    char err[1100];
    double beta = 0;
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    /* pass 1, over all rows in batches: occupancy per class and subclass, and the
     * mean within-class entropy at beta x {1/4, 1/2, 1, 2, 4} */
    const int64_t N = H.rows, B = batch_rows(o, d, C * S);
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    int32_t* sub = xalloc((size_t)B, sizeof(int32_t), B);
    double* occ = xalloc((size_t)(C * S), sizeof(double), C);
    int64_t* count = xalloc((size_t)C, sizeof(int64_t), C);
    double ent[5] = {0};
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err) || npy_read_i32(&y, i, nb, lab, err, sizeof err))
            return die(EXIT_BAD, "%s", err);
        if (check_labels(o->labels, lab, nb, i, C)) return EXIT_BAD;
        int st = lelp_model_assign(m, rows, lab, nb, d, sub);
        for (int k = 0; k < 5 && !st && S > 1; k++) {
            double e = 0;
            st = lelp_model_mean_entropy(m, rows, lab, nb, d, beta * pow(2.0, k - 2), &e);
            ent[k] += e * (double)nb / (double)N;
        }
        if (st)
            return die(EXIT_BAD, "%s: rows %lld..%lld: %s (%s)", o->embeddings, (long long)i, (long long)(i + nb - 1),
                       lelp_last_error(), lelp_status_string(st));
        for (int64_t k = 0; k < nb; k++) occ[lab[k] * S + sub[k]] += 1.0, count[lab[k]]++;
    }
    free(rows), free(lab), free(sub);
    /* pass 2: a subsample of at most 5000 rows, evenly spaced, for the scatters:
     * each row's first two coordinates in its own class, projected in batches */
    const int64_t n = N < 5000 ? N : 5000;
    lab = xalloc((size_t)n, sizeof(int32_t), n);
    sub = xalloc((size_t)n, sizeof(int32_t), n);
    double* XY = xalloc((size_t)(2 * n), sizeof(double), n);
    const int64_t Bs = B < n ? B : (n > 0 ? n : 1);
    rows = xalloc((size_t)(Bs * d), sizeof(float), Bs);
    float* F = xalloc((size_t)(Bs * C * S), sizeof(float), Bs);
    for (int64_t i0 = 0; i0 < n; i0 += Bs) {
        const int64_t nb = n - i0 < Bs ? n - i0 : Bs;
        for (int64_t i = i0; i < i0 + nb; i++) {
            int64_t r = n == N ? i : i * N / n;
            if (npy_read_f32(&H, r, 1, rows + (i - i0) * d, err, sizeof err) ||
                npy_read_i32(&y, r, 1, lab + i, err, sizeof err))
                return die(EXIT_BAD, "%s", err);
        }
        int st = lelp_model_assign(m, rows, lab + i0, nb, d, sub + i0);
        if (!st) st = lelp_model_project(m, rows, nb, d, F);
        if (st) return die(EXIT_BAD, "%s: %s (%s)", o->embeddings, lelp_last_error(), lelp_status_string(st));
        for (int64_t i = 0; i < nb; i++) {
            const int64_t k0 = lab[i0 + i] * S, k1 = k0 + (S > 1 ? 1 : 0);
            XY[2 * (i0 + i)] = F[i * C * S + k0];
            XY[2 * (i0 + i) + 1] = F[i * C * S + k1];
        }
    }
    free(rows), free(F);
    double* ratio = xalloc((size_t)(C * S), sizeof(double), C);
    lelp_model_explained_variance_ratio(m, ratio, C * S);
    const char* tmp = out_begin(o->out);
    if (!tmp) return EXIT_BAD;
    FILE* f = fopen(tmp, "w");
    if (!f) return die(EXIT_BAD, "%s: cannot create (%s)", o->out, strerror(errno));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>LELP report: ");
    html_text(f, o->model);
    fprintf(f, "</title><style>body{font-family:sans-serif;margin:2em;max-width:80em}figure{display:inline-block;"
               "margin:0.5em;vertical-align:top}section{border-top:1px solid #ccc;margin-top:1em}"
               "td,th{padding:0 0.6em;text-align:right}</style></head><body>\n<h1>LELP model report</h1>\n<p>Model <code>");
    html_text(f, o->model);
    fprintf(f, "</code>: d = %lld, C = %lld, S = %lld, &#946; = %.4g. Data <code>", (long long)d, (long long)C,
            (long long)S, beta);
    html_text(f, o->embeddings);
    fprintf(f, "</code> with labels <code>");
    html_text(f, o->labels);
    fprintf(f, "</code>: %lld rows (occupancy and entropy over all of them; scatters over %lld evenly spaced rows).</p>\n",
            (long long)N, (long long)n);
    /* the mean within-class entropy of softmax_s(f) at beta x {1/4 .. 4} */
    fprintf(f, "<section id=\"entropy\"><h2>Within-class entropy of the pseudo-subclass softmax</h2>\n<p>Mean entropy "
               "of softmax<sub>s</sub>(f<sub>y,s</sub>) in nats at the model's &#946; and around it; its maximum is "
               "log S = %.3f (uniform over the S pseudo-subclasses), 0 is a hard assignment.</p>\n",
            log((double)S));
    static const char* const mult[5] = {"&#946;/4", "&#946;/2", "&#946;", "2&#946;", "4&#946;"};
    svg_bars(f, "mean within-class entropy (nats)", ent, mult, 5, "subclass temperature", "%.3f");
    fprintf(f, "</section>\n");
    char title[160];
    for (int64_t c = 0; c < C; c++) {
        fprintf(f, "<section class=\"class\" id=\"class-%lld\"><h2>Class %lld</h2><p>%lld rows.</p>\n", (long long)c,
                (long long)c, (long long)count[c]);
        snprintf(title, sizeof title, "class %lld: explained-variance ratio per direction", (long long)c);
        svg_bars(f, title, ratio + c * S, NULL, (int)S, "direction (descending eigenvalue)", "%.3f");
        snprintf(title, sizeof title, "class %lld: pseudo-subclass occupancy", (long long)c);
        svg_bars(f, title, occ + c * S, NULL, (int)S, "pseudo-subclass", "%.0f");
        /* scatter of the first two (rotated) coordinates of this class */
        double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
        int64_t shown = 0;
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c) {
                xmin = fmin(xmin, XY[2 * i]), xmax = fmax(xmax, XY[2 * i]);
                ymin = fmin(ymin, XY[2 * i + 1]), ymax = fmax(ymax, XY[2 * i + 1]);
                shown++;
            }
        double sx = xmax > xmin ? 340.0 / (xmax - xmin) : 1, sy = ymax > ymin ? 170.0 / (ymax - ymin) : 1;
        snprintf(title, sizeof title, "class %lld: coordinates 1 and 2 by pseudo-subclass (%lld points)", (long long)c,
                 (long long)shown);
        fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"380\" height=\"220\" role=\"img\">"
                   "<title>%s</title><text x=\"20\" y=\"14\" font-size=\"13\">%s</text>\n", title, title);
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>", 20 + (XY[2 * i] - xmin) * sx,
                        200 - (XY[2 * i + 1] - ymin) * sy, COLORS[sub[i] % 10]);
        fprintf(f, "\n</svg></figure></section>\n");
    }
    fprintf(f, "</body></html>\n");
    if (ferror(f) | (fclose(f) != 0)) return die(EXIT_BAD, "%s: write failed", o->out);
    if ((rc = outs_commit())) return rc;
    free(lab), free(sub), free(XY), free(ratio), free(occ), free(count);
    npy_close(&H);
    npy_close(&y);
    lelp_model_free(m);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(HELP_MAIN, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("lelp %s\n", lelp_version_string());
        return 0;
    }
    int c = -1;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(COMMANDS[i][0], argv[1])) c = (int)i;
    if (c < 0) return die(EXIT_USAGE, "unknown command '%s' (see lelp --help)", argv[1]);
    opts o;
    int rc = parse(argc, argv, c, &o);
    if (rc == -1) {
        fputs(COMMANDS[c][2], stdout);
        return 0;
    }
    if (rc) return rc;
    switch (c) {
    case 0: return cmd_fit(&o);
    case 1: return cmd_label(&o, 0);
    case 2: return cmd_label(&o, 1);
    case 3: return cmd_info(&o);
    case 4: return cmd_export(&o);
    default: return cmd_report(&o);
    }
}
