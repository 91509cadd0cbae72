/* SPDX-License-Identifier: MIT */
/* fuzz_format.c -- structure-aware fuzzing of the three serialized formats
 * (model, builder state, compressor) through the real checksum: built
 * without LELP_FUZZING_SKIP_CRC, with a custom mutator that edits header
 * fields, payload values, flags and lengths as the format defines them
 * (docs/format.md) and then re-seals the CRC-32, so mutants reach the
 * field and invariant checks behind the checksum.
 *
 * Oracles: only documented status codes; what loads must work (targets,
 * compress, fit) and must save back to the same bytes (apart from the
 * writer's library version); a model fitted from a loaded builder state
 * must reload; reported offsets are <U, mu>; compressor weights finite. */
#include <math.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed);
int LLVMFuzzerInitialize(int* argc, char*** argv);
/* libFuzzer's; absent from the plain replay build (weak: NULL there) */
size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) __attribute__((weak));

/* Loads under a 64 MiB budget (LELP_LIMIT_LOAD_BYTES), so a mutant that
 * declares a large but consistent object is refused rather than run the
 * fuzzer out of memory; the budget itself is part of what is fuzzed. */
int LLVMFuzzerInitialize(int* argc, char*** argv)
{
    (void)argc;
    (void)argv;
    lelp_limit_set(LELP_LIMIT_LOAD_BYTES, INT64_C(64) << 20);
    return 0;
}

/* ---- the envelope, independently of the library ------------------------ */
static uint32_t crc32_ieee(const uint8_t* p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static uint64_t rd64(const uint8_t* p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void wr64(uint8_t* p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr32(uint8_t* p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void reseal(uint8_t* b, size_t size)
{
    if (size >= 132) wr32(b + size - 4, crc32_ieee(b, size - 4));
}

/* ---- the mutator ------------------------------------------------------- */
static uint64_t next(uint64_t* s)
{
    *s += UINT64_C(0x9E3779B97F4A7C15);
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Integers at the edges of the formats' ranges. */
static uint64_t interesting_int(uint64_t* s, uint64_t old)
{
    static const uint64_t v[] = {0, 1, 2, 3, 4, 7, 8, 16, 63, 64, 255, 256, 4096, 16383, 16384, 65536, 65537,
                                 1048576, 1048577, 16777216, UINT64_C(1) << 31, UINT64_C(1) << 53,
                                 (UINT64_C(1) << 53) + 1, UINT64_C(1) << 63, ~UINT64_C(0)};
    switch (next(s) % 4) {
    case 0: return old + 1;
    case 1: return old - 1;
    case 2: return old * 2;
    default: return v[next(s) % (sizeof v / sizeof v[0])];
    }
}

/* Doubles that break invariants: signs, NaN, Inf, denormals, huge, off by
 * an ulp or a factor. */
static double interesting_f64(uint64_t* s, double old)
{
    static const double v[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 7.5, 1e-310, 1e300, -1e300, 3.5e38, 1e-30, 1e30};
    switch (next(s) % 6) {
    case 0: return old * 2.0;
    case 1: return -old;
    case 2: return nextafter(old, INFINITY);
    case 3: return old * (1.0 + 1e-3);
    case 4: return (next(s) & 1) ? NAN : INFINITY;
    default: return v[next(s) % (sizeof v / sizeof v[0])];
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t s = seed;
    const int structured = size >= 132 && max_size >= 132 && memcmp(data, "LELP", 4) == 0;
    const unsigned what = structured ? (unsigned)(next(&s) % 8) : 7u;
    if (what == 0) { /* a header field (shape, seed, scalars, solver, l, K, rows) */
        const size_t at = 32 + 8 * (size_t)(next(&s) % 12);
        wr64(data + at, interesting_int(&s, rd64(data + at)));
    } else if (what == 1 || what == 2) { /* a payload value as a double */
        const size_t slots = (size - 132) / 8;
        if (slots) {
            const size_t at = 128 + 8 * (size_t)(next(&s) % slots);
            uint64_t u = rd64(data + at);
            double x;
            memcpy(&x, &u, 8);
            x = interesting_f64(&s, x);
            memcpy(&u, &x, 8);
            wr64(data + at, u);
        }
    } else if (what == 3) { /* a payload value as an integer (counts, rows, keys) */
        const size_t slots = (size - 132) / 8;
        if (slots) {
            const size_t at = 128 + 8 * (size_t)(next(&s) % slots);
            wr64(data + at, interesting_int(&s, rd64(data + at)));
        }
    } else if (what == 4) { /* a flag bit or the version */
        if (next(&s) & 1) data[20 + next(&s) % 2] ^= (uint8_t)(1u << (next(&s) % 8));
        else data[8] = (uint8_t)(next(&s) % 5);
    } else if (what == 5) { /* the length: follow the header's payload length, or make the header follow */
        const uint64_t plen = rd64(data + 24);
        if ((next(&s) & 1) && plen <= max_size - 132 && plen % 64 == 0) {
            const size_t total = (size_t)(128 + plen + 4);
            if (total > size) memset(data + size, 0, total - size);
            size = total;
        } else {
            wr64(data + 24, (uint64_t)(size - 132));
        }
    } else if (what == 6) { /* a payload range copied from elsewhere in the file */
        const size_t n = 8 * (1 + next(&s) % 8);
        if (size - 132 > 2 * n) {
            const size_t from = 128 + next(&s) % (size - 132 - n), to = 128 + next(&s) % (size - 132 - n);
            memmove(data + to, data + from, n);
        }
    } else if (LLVMFuzzerMutate) { /* libFuzzer's own byte mutations */
        size = LLVMFuzzerMutate(data, size, max_size);
    }
    if (size >= 132 && memcmp(data, "LELP", 4) == 0 && next(&s) % 16 != 0) reseal(data, size);
    return size;
}

/* ---- the oracles ------------------------------------------------------- */
/* Re-serialized bytes equal the loaded ones, apart from the writer's
 * library version (offset 16) and so the CRC. */
static void same_bytes(const uint8_t* a, const uint8_t* b, size_t n)
{
    FUZZ_CHECK(memcmp(a, b, 16) == 0);
    FUZZ_CHECK(memcmp(a + 20, b + 20, n - 24) == 0);
}

static void check_model(const lelp_model* m, const uint8_t* src, size_t size)
{
    int64_t d = 0, C = 0, S = 0;
    FUZZ_CHECK(lelp_model_get_int(m, LELP_MODEL_DIM, &d) == LELP_OK);
    FUZZ_CHECK(lelp_model_get_int(m, LELP_MODEL_NUM_CLASSES, &C) == LELP_OK);
    FUZZ_CHECK(lelp_model_get_int(m, LELP_MODEL_SUBCLASSES, &S) == LELP_OK);
    size_t n = 0;
    FUZZ_CHECK(lelp_model_serialized_size(m, &n) == LELP_OK && n == size);
    uint8_t* back = malloc(n);
    FUZZ_CHECK(back && lelp_model_serialize(m, back, n, &n) == LELP_OK);
    same_bytes(src, back, n);
    free(back);
    if (d * C * S > 4096) return;
    double* U = malloc(sizeof(double) * (size_t)(C * S * d));
    double* mu = malloc(sizeof(double) * (size_t)(C * d));
    double* b = malloc(sizeof(double) * (size_t)(C * S));
    float* H = calloc((size_t)d, sizeof(float));
    float* T = malloc(sizeof(float) * (size_t)(C * S));
    FUZZ_CHECK(U && mu && b && H && T);
    FUZZ_CHECK(lelp_model_components(m, U, C * S * d) == LELP_OK);
    FUZZ_CHECK(lelp_model_means(m, mu, C * d) == LELP_OK);
    FUZZ_CHECK(lelp_model_offsets(m, b, C * S) == LELP_OK);
    for (int64_t k = 0; k < C * S; k++) { /* what is reported is what projections use */
        double v = 0.0, scale = 0.0;
        for (int64_t j = 0; j < d; j++) {
            v += U[k * d + j] * mu[(k / S) * d + j];
            scale += fabs(U[k * d + j] * mu[(k / S) * d + j]);
        }
        FUZZ_CHECK(fabs(v - b[k]) <= 1e-6 * scale + 1e-300);
    }
    int32_t y = 0;
    int st = lelp_model_targets_from_labels(m, H, &y, 1, d, 0.0, T);
    FUZZ_CHECK(fuzz_documented(st));
    if (st == LELP_OK)
        for (int64_t k = 0; k < C * S; k++) FUZZ_CHECK(T[k] >= 0.0f && T[k] <= 1.0f);
    free(U);
    free(mu);
    free(b);
    free(H);
    free(T);
}

static void check_builder(const lelp_builder* b, const uint8_t* src, size_t size)
{
    size_t n = 0;
    FUZZ_CHECK(lelp_builder_serialized_size(b, &n) == LELP_OK);
    if (src[8] == 3 && n == size) { /* the current version saves back as it was */
        uint8_t* back = malloc(n);
        FUZZ_CHECK(back && lelp_builder_serialize(b, back, n, &n) == LELP_OK);
        same_bytes(src, back, n);
        free(back);
    }
    lelp_model* m = NULL;
    int st = lelp_builder_fit(b, &m);
    FUZZ_CHECK(fuzz_documented(st) && (st == LELP_OK) == (m != NULL));
    if (m) { /* a model fitted from a loaded state reloads */
        FUZZ_CHECK(lelp_model_serialized_size(m, &n) == LELP_OK);
        uint8_t* mb = malloc(n);
        FUZZ_CHECK(mb && lelp_model_serialize(m, mb, n, &n) == LELP_OK);
        lelp_model* m2 = NULL;
        FUZZ_CHECK(lelp_model_load(&m2, mb, n, NULL) == LELP_OK);
        lelp_model_free(m2);
        free(mb);
        lelp_model_free(m);
    }
}

static void check_compressor(const lelp_compressor* c, const uint8_t* src, size_t size)
{
    size_t n = 0;
    FUZZ_CHECK(lelp_compressor_serialized_size(c, &n) == LELP_OK && n == size);
    uint8_t* back = malloc(n);
    FUZZ_CHECK(back && lelp_compressor_serialize(c, back, n, &n) == LELP_OK);
    same_bytes(src, back, n);
    free(back);
    const int64_t dt = (int64_t)rd64(src + 32), k = (int64_t)rd64(src + 40), C = (int64_t)rd64(src + 48);
    if (dt * k + k + C * k + C > 65536) return;
    float* A = malloc(sizeof(float) * (size_t)(k * dt));
    float* a = malloc(sizeof(float) * (size_t)k);
    float* W = malloc(sizeof(float) * (size_t)(C * k));
    float* bias = malloc(sizeof(float) * (size_t)C);
    FUZZ_CHECK(A && a && W && bias && lelp_compressor_weights(c, A, a, W, bias) == LELP_OK);
    for (int64_t i = 0; i < k * dt; i++) FUZZ_CHECK(isfinite(A[i]));
    for (int64_t i = 0; i < C * k; i++) FUZZ_CHECK(isfinite(W[i]));
    float* E = calloc((size_t)dt, sizeof(float));
    float* out = malloc(sizeof(float) * (size_t)k);
    FUZZ_CHECK(E && out);
    int st = lelp_compressor_compress(c, E, 1, out);
    FUZZ_CHECK(fuzz_documented(st));
    if (st == LELP_OK)
        for (int64_t i = 0; i < k; i++) FUZZ_CHECK(isfinite(out[i]));
    free(A);
    free(a);
    free(W);
    free(bias);
    free(E);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    /* an exact-size heap block, so ASan sees any over-read */
    uint8_t* buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    lelp_model* m = NULL;
    int st = lelp_model_load(&m, buf, size, NULL);
    FUZZ_CHECK(fuzz_documented(st) && (st == LELP_OK) == (m != NULL));
    if (m) check_model(m, buf, size);
    lelp_model_free(m);
    lelp_builder* b = NULL;
    st = lelp_builder_load(&b, buf, size, NULL);
    FUZZ_CHECK(fuzz_documented(st) && (st == LELP_OK) == (b != NULL));
    if (b) check_builder(b, buf, size);
    lelp_builder_free(b);
    lelp_compressor* c = NULL;
    st = lelp_compressor_load(&c, buf, size, NULL);
    FUZZ_CHECK(fuzz_documented(st) && (st == LELP_OK) == (c != NULL));
    if (c) check_compressor(c, buf, size);
    lelp_compressor_free(c);
    free(buf);
    return 0;
}
