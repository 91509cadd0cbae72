/* SPDX-License-Identifier: MIT */
/* cli_args.c -- the lelp tool's option parsing. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

int parse(int argc, char** argv, const char* cmd, const char* accepted, opts* o)
{
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
        if (strlen(a) > 40 || !strstr(accepted, key))
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
