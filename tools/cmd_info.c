/* SPDX-License-Identifier: MIT */
/* cmd_info.c -- `lelp info` (a model's settings and spectrum) and `lelp export`
 * (its arrays as .npy files). */
#include <sys/stat.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* format version and writer's library version from the envelope (docs/format.md) */
/* format version and writer's library version of a loaded model (liblelp's
 * introspection: the tool reads no file bytes itself) */
static void model_versions(const lelp_model* m, uint32_t* format, uint32_t* writer)
{
    lelp_info* info = NULL;
    int64_t f = 0, w = 0;
    if (lelp_model_inspect(m, &info) == LELP_OK) {
        lelp_info_get_int(info, LELP_INFO_FORMAT_VERSION, &f);
        lelp_info_get_int(info, LELP_INFO_WRITER_VERSION, &w);
    }
    lelp_info_free(info);
    *format = (uint32_t)f;
    *writer = (uint32_t)w;
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

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if the byte at s does not start one. */
static int utf8_length(const unsigned char* s)
{
    if (s[0] < 0x80) return 1;
    int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : (s[0] >= 0xe0 && s[0] <= 0xef ? 3 : (s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0));
    if (!n) return 0;
    /* the second byte's range carries the overlong / surrogate / > U+10FFFF exclusions */
    unsigned char lo = s[0] == 0xe0 ? 0xa0 : (s[0] == 0xf0 ? 0x90 : 0x80);
    unsigned char hi = s[0] == 0xed ? 0x9f : (s[0] == 0xf4 ? 0x8f : 0xbf);
    if (s[1] < lo || s[1] > hi) return 0;
    for (int k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xbf) return 0;
    return n;
}

/* A JSON string: valid UTF-8 as is, ", backslash and control characters escaped, and
 * each byte that is not part of well-formed UTF-8 (a file name is bytes, not
 * text) written as the escape u+FFFD, the replacement character -- so the output is
 * always valid JSON (docs/cli.md). */
static void print_json_string(const char* str)
{
    const unsigned char* s = (const unsigned char*)str;
    putchar('"');
    while (*s) {
        int n = utf8_length(s);
        if (!n) printf("\\ufffd"), n = 1;
        else if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if (*s < 0x20 || *s == 0x7f) printf("\\u%04x", *s);
        else fwrite(s, 1, (size_t)n, stdout);
        s += n;
    }
    putchar('"');
}

int cmd_info(const opts* o)
{
    if (!o->model) return die(EXIT_USAGE, "info: MODEL is required (see lelp info --help)");
    lelp_model* m = NULL;
    int64_t d, C, S, seed, ns, rot, rank, ab, solver, labeller = LELP_LABELLER_PROJECTION;
    int rc = load_model(o->model, &m, &d, &C, &S);
    if (rc) return rc;
    double beta, frac;
    lelp_model_get_int(m, LELP_MODEL_SEED, &seed);
    lelp_model_get_int(m, LELP_MODEL_NULL_SPACE, &ns);
    lelp_model_get_int(m, LELP_MODEL_ROTATE, &rot);
    lelp_model_get_int(m, LELP_MODEL_HEAD_RANK, &rank);
    lelp_model_get_int(m, LELP_MODEL_AUTO_BETA, &ab);
    lelp_model_get_int(m, LELP_MODEL_SOLVER, &solver);
    lelp_model_get_int(m, LELP_MODEL_LABELLER, &labeller);
    const char* lab = labeller == LELP_LABELLER_KMEANS ? "kmeans" : "projection";
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    lelp_model_get_double(m, LELP_MODEL_ENTROPY_FRACTION, &frac);
    uint32_t fmt, writer;
    model_versions(m, &fmt, &writer);
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
               "\"labeller\": \"%s\", \"format_version\": %u, \"written_by\": \"%s\", \"library_version\": \"%s\", \"eigenvalues\": ",
               (long long)d, (long long)C, (long long)S, beta, ab ? "true" : "false", frac, (long long)seed,
               ns ? "true" : "false", (long long)rank, rot ? "true" : "false", solver ? "sketch" : "exact", lab, fmt, wv,
               lelp_version_string());
        print_rows(eig, C, S);
        printf(", \"explained_variance_ratio\": ");
        print_rows(ratio, C, S);
        printf("}\n");
    } else {
        printf("%s: LELP model, format version %u, written by liblelp %s (reading with %s)\n"
               "  d = %lld, C = %lld, S = %lld, solver %s, labeller %s\n  beta = %.6g (%s, entropy fraction %.2f), seed = %lld\n"
               "  null space: %s (head rank %lld), rotation: %s\n",
               o->model, fmt, wv, lelp_version_string(), (long long)d, (long long)C, (long long)S,
               solver ? "sketch" : "exact", lab, beta, ab ? "automatic" : "fixed", frac, (long long)seed, ns ? "on" : "off",
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

int cmd_export(const opts* o)
{
    if (!o->model || !o->out) return die(EXIT_USAGE, "export: MODEL and -o DIR are required (see lelp export --help)");
    if (!strcmp(o->out, "-")) return die(EXIT_USAGE, "export: -o names a directory; standard output (-) cannot hold four files");
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
