/* SPDX-License-Identifier: MIT */
/* cli_args.c -- the lelp tool's option parsing. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_int(const char* cmd, const char* a, const char* v, int64_t lo, int64_t hi, int64_t* out)
{
    char* end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return die(EXIT_USAGE, "%s: %s expects an integer in [%lld, %lld], got '%s'", cmd, a, (long long)lo,
                   (long long)hi, v);
    *out = x;
    return 0;
}

/* a finite number in the interval (lo or [lo, hi] or hi), named as such in the message */
static int parse_real(const char* cmd, const char* a, const char* v, double lo, double hi, int lo_open, int hi_open,
                      double* out)
{
    char* end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || (lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi))
        return die(EXIT_USAGE, "%s: %s expects a number in %s%g, %g%s, got '%s'", cmd, a, lo_open ? "(" : "[", lo, hi,
                   hi_open ? ")" : "]", v);
    *out = x;
    return 0;
}

/* one of the words in `choices` ("a|b|c"); *out = its index */
static int parse_choice(const char* cmd, const char* a, const char* v, const char* choices, int* out)
{
    const char* p = choices;
    for (int k = 0; *p; k++) {
        size_t len = strcspn(p, "|");
        if (strlen(v) == len && !strncmp(p, v, len)) return *out = k, 0;
        p += len + (p[len] == '|');
    }
    return die(EXIT_USAGE, "%s: %s expects one of %s, got '%s'", cmd, a, choices, v);
}

static int parse_value(const char* cmd, const char* a, const char* v, opts* o)
{
    if (!strcmp(a, "--embeddings")) o->embeddings = v;
    else if (!strcmp(a, "--labels")) o->labels = v;
    else if (!strcmp(a, "--head")) o->head = v;
    else if (!strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--logits")) o->logits = v;
    else if (!strcmp(a, "--fine-labels")) o->fine_labels = v;
    else if (!strcmp(a, "--save")) o->save = v;
    else if (!strcmp(a, "-o") || !strcmp(a, "--output")) o->out = v;
    else if (!strcmp(a, "--subclasses")) return parse_int(cmd, a, v, 1, INT32_MAX, &o->S);
    else if (!strcmp(a, "--seed")) return parse_int(cmd, a, v, 0, INT64_MAX, &o->seed);
    else if (!strcmp(a, "--batch")) return parse_int(cmd, a, v, 1, INT64_MAX, &o->batch);
    else if (!strcmp(a, "--threads")) return parse_int(cmd, a, v, 1, MAX_THREADS, &o->threads);
    else if (!strcmp(a, "--sketch-size")) return o->have_sketch_size = 1, parse_int(cmd, a, v, 0, 65536, &o->sketch_size);
    else if (!strcmp(a, "--beta-sample")) return o->have_beta_sample = 1, parse_int(cmd, a, v, -1, 1048576, &o->beta_sample);
    else if (!strcmp(a, "--dim")) return parse_int(cmd, a, v, 1, INT32_MAX, &o->dim);
    else if (!strcmp(a, "--epochs")) return parse_int(cmd, a, v, 1, 1000000, &o->epochs);
    else if (!strcmp(a, "--solver")) return parse_choice(cmd, a, v, "exact|sketch", &o->solver);
    else if (!strcmp(a, "--precision")) return parse_choice(cmd, a, v, "float64|float32", &o->precision);
    else if (!strcmp(a, "--gram-form")) return parse_choice(cmd, a, v, "off|on", &o->gram_form);
    else if (!strcmp(a, "--optimizer")) return parse_choice(cmd, a, v, "sgd|adam", &o->optimizer);
    else if (!strcmp(a, "--labeller")) return parse_choice(cmd, a, v, "projection|kmeans", &o->labeller);
    else if (!strcmp(a, "--lr")) return parse_real(cmd, a, v, 1e-12, 10.0, 0, 0, &o->lr);
    else if (!strcmp(a, "--weight-decay")) return parse_real(cmd, a, v, 0.0, 1.0, 0, 0, &o->weight_decay);
    else if (!strcmp(a, "--tau")) return o->have_tau = 1, parse_real(cmd, a, v, 0.01, 100.0, 0, 0, &o->tau);
    else if (!strcmp(a, "--smoothing")) return o->have_smoothing = 1, parse_real(cmd, a, v, 0.0, 1.0, 0, 1, &o->smoothing);
    else if (!strcmp(a, "--entropy-fraction"))
        return o->have_entropy_fraction = 1, parse_real(cmd, a, v, 0.01, 0.99, 0, 0, &o->entropy_fraction);
    else if (!strcmp(a, "--beta")) {
        o->have_beta = 1;
        if (strcmp(v, "auto") || !strcmp(cmd, "label"))
            return parse_real(cmd, a, v, 0.0, 1e30, 1, 0, &o->beta); /* the library's range */
    }
    return 0;
}

int parse(int argc, char** argv, const char* cmd, const char* accepted, opts* o)
{
    memset(o, 0, sizeof *o);
    o->null_space = o->rotate = 1;
    o->tau = 1.0;
    o->solver = o->precision = o->gram_form = o->optimizer = o->labeller = -1;
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
            int rc = parse_value(cmd, a, v, o);
            if (rc) return rc;
        }
    }
    if (o->positional && o->model && strcmp(o->positional, o->model))
        return die(EXIT_USAGE, "%s: give the model once (MODEL or --model)", cmd);
    if (o->positional) {
        if (!strstr(accepted, " --model "))
            return die(EXIT_USAGE, "%s: unexpected argument '%s'", cmd, o->positional);
        o->model = o->positional; /* every command that takes a model takes it either way */
    }
    return 0;
}
