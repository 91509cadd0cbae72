/* SPDX-License-Identifier: MIT */
/* make_corpus.c -- writes the seed corpus (fuzz/corpus/<target>/...):
 * valid model and builder-state buffers plus a few byte strings for the
 * data-driven targets. Run once; the output is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LELP_EXPERIMENTAL /* the builder knobs the corpus varies */
#include "lelp.h"

static void write_file(const char* dir, const char* name, const void* p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* rows <= 64; d <= 8 */
static void model_and_state_n(const char* dir, int64_t d, int64_t C, int64_t S, int head, int sketch, const char* tag,
                              int64_t rows)
{
    enum { NMAX = 64 };
    const int64_t N = rows;
    float H[NMAX * 8], W[4 * 8];
    int32_t y[NMAX];
    uint32_t s = 7u + (uint32_t)d;
    for (int i = 0; i < N * d; i++) {
        s = s * 1103515245u + 12345u;
        H[i] = (float)((s >> 8) % 1000) / 100.0f - 5.0f;
    }
    for (int i = 0; i < N; i++) y[i] = (int32_t)(i % C);
    for (int i = 0; i < C * d; i++) W[i] = (float)((i * 5) % 7) - 3.0f;
    lelp_builder* b = NULL;
    lelp_model* m = NULL;
    if (lelp_builder_create(&b, d, C, S, NULL)) exit(2);
    if (sketch && (lelp_builder_set_int(b, LELP_BUILDER_SOLVER, LELP_SOLVER_SKETCH) ||
                   lelp_builder_set_int(b, LELP_BUILDER_SKETCH_SIZE, S + 2)))
        exit(2);
    if (lelp_builder_update(b, H, y, N, d)) exit(2);
    if (head && lelp_builder_set_head(b, W, C, d)) exit(3);
    size_t n = 0;
    lelp_builder_serialized_size(b, &n);
    void* buf = malloc(n);
    lelp_builder_serialize(b, buf, n, &n);
    char name[64];
    snprintf(name, sizeof name, "builder_%s", tag);
    write_file(dir, name, buf, n);
    free(buf);
    if (lelp_builder_fit(b, &m)) exit(4);
    lelp_model_serialized_size(m, &n);
    buf = malloc(n);
    lelp_model_serialize(m, buf, n, &n);
    snprintf(name, sizeof name, "model_%s", tag);
    write_file(dir, name, buf, n);
    free(buf);
    lelp_model_free(m);
    lelp_builder_free(b);
}

static void model_and_state(const char* dir, int64_t d, int64_t C, int64_t S, int head, int sketch, const char* tag)
{
    model_and_state_n(dir, d, C, S, head, sketch, tag, 64);
}

int main(int argc, char** argv)
{
    const char* root = argc > 1 ? argv[1] : "fuzz/corpus";
    char load[256], rt[256], api[256];
    snprintf(load, sizeof load, "%s/load", root);
    snprintf(rt, sizeof rt, "%s/roundtrip", root);
    snprintf(api, sizeof api, "%s/api", root);
    model_and_state(load, 3, 2, 2, 0, 0, "d3c2s2");
    model_and_state(load, 5, 3, 1, 1, 0, "d5c3s1_head");
    model_and_state(load, 8, 2, 3, 1, 0, "d8c2s3_head");
    model_and_state(load, 6, 2, 2, 1, 1, "d6c2s2_sketch");
    /* 4 rows per class: an exact state in the Gram form (flag bit 4) */
    model_and_state_n(load, 8, 2, 2, 1, 0, "d8c2s2_rows_head", 8);
    write_file(load, "empty", "", 0);
    write_file(load, "magic_only", "LELPMODL", 8);
    for (int k = 0; k < 4; k++) {
        uint8_t bytes[512];
        uint32_t s = 99u + (uint32_t)k;
        for (size_t i = 0; i < sizeof bytes; i++) {
            s = s * 1664525u + 1013904223u;
            bytes[i] = (uint8_t)(s >> 24);
        }
        char name[32];
        snprintf(name, sizeof name, "seed%d", k);
        write_file(rt, name, bytes, 64 + 128 * (size_t)k);
        write_file(api, name, bytes, 128 + 128 * (size_t)k);
    }
    return 0;
}
