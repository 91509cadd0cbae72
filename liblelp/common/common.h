/* SPDX-License-Identifier: MIT */
/* common.h -- the common module's private interface: what every other
 * module of liblelp uses (docs/architecture.md). Every non-static symbol
 * starts with lelp__ and is hidden from the shared library by
 * -fvisibility=hidden and the version script. Headers of the other modules
 * include this one by a relative path, so tests and benchmarks that reach
 * an internal symbol need no extra -I flag. */
#ifndef LELP_COMMON_H
#define LELP_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* the library implements both tiers of its header */
#ifndef LELP_EXPERIMENTAL
#define LELP_EXPERIMENTAL
#endif
#include "lelp.h"

/* ---- limits: every shape and size bound, in one place ------------------ */
/* Embedding width d of a builder or model. */
#define LELP__MAX_D INT64_C(65536)
/* Classes C of a builder, model or compressor. */
#define LELP__MAX_C INT64_C(1048576)
/* C*S pseudo-subclasses of a builder or model. */
#define LELP__MAX_CS INT64_C(16777216)
/* Largest per-class count: counts stay exact in a double and sums of them
 * cannot overflow (loaders refuse more, merges stop before it). */
#define LELP__MAX_COUNT (INT64_C(1) << 53)
/* Sketch rows per class (LELP_BUILDER_SKETCH_SIZE): the shrink's dsyevd on
 * 2l x 2l needs 1 + 12l + 8l^2 doubles of workspace, which a 32-bit LAPACK
 * integer addresses up to l = 16383 (tests/test_harden.c checks the formula). */
#define LELP__MAX_SKETCH INT64_C(16383)
/* Rows per class of the beta sample (LELP_BUILDER_BETA_SAMPLE). */
#define LELP__MAX_BSAMPLE INT64_C(1048576)
/* Teacher and student widths of a compressor, and its A's bytes. */
#define LELP__MAX_COMP_DIM INT64_C(1048576)
#define LELP__MAX_COMP_BYTES (INT64_C(1) << 40) /* int64: (size_t)1 << 40 is 0 on 32-bit targets */
/* Seeds: 0 .. 2^63-1. */
#define LELP__MAX_SEED INT64_MAX
/* Rows of a class processed per dsyrk call by the builder. */
#define LELP__BLOCK_ROWS 1024

/* ---- handles ---------------------------------------------------------- */
/* Each handle starts with a type magic and its own address (lelp__head), so
 * a pointer of the wrong type, or a freed handle whose memory was not yet
 * reused, is caught before it is used: a best-effort check, not a
 * guarantee. */
#define LELP__MAGIC_ALLOCATOR UINT64_C(0x4c454c50414c4f43) /* "LELPALOC" */
#define LELP__MAGIC_BUILDER   UINT64_C(0x4c454c50424c4452) /* "LELPBLDR" */
#define LELP__MAGIC_MODEL     UINT64_C(0x4c454c504d4f444c) /* "LELPMODL" */
#define LELP__MAGIC_LOSS      UINT64_C(0x4c454c504c4f5353) /* "LELPLOSS" */
#define LELP__MAGIC_COMPRESSOR UINT64_C(0x4c454c50434f4d50) /* "LELPCOMP" */
#define LELP__MAGIC_INFO      UINT64_C(0x4c454c50494e464f) /* "LELPINFO" */
#define LELP__MAGIC_DEAD      UINT64_C(0xdeaddeaddeaddead)

typedef struct lelp__mem {
    lelp_alloc_fn alloc;
    lelp_free_fn free;
    void* opaque;
} lelp__mem;

/* A buffer that only grows: a handle keeps one so that calls after the
 * first of a given size allocate nothing. */
typedef struct lelp__scratch {
    void* p;
    size_t bytes;
} lelp__scratch;

/* Hot loops get an AVX2 clone, picked by an ifunc resolver at load time:
 * glibc only, and not under sanitizers, whose runtime is not up yet when
 * resolvers run (ThreadSanitizer crashes in an instrumented resolver). ISO C
 * mode keeps FMA contraction off, so both clones give the same bits. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__GLIBC__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define LELP__CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LELP__CLONES
#endif

/* ---- errors (status.c) -------------------------------------------------- */
#if defined(__GNUC__)
#  define LELP__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define LELP__PRINTF(a, b)
#endif
/* Records a formatted message for lelp_last_error() and returns code. The
 * message starts with the public entry point's name (the `what` or `fn`
 * argument the callers pass down). */
#if defined(LELP_NO_ERROR_STRINGS)
/* Built with LELP_NO_ERROR_STRINGS (docs/edge.md) only the code is kept: the
 * macro leaves the format and its arguments in an unevaluated sizeof, so
 * they are still type-checked and "used" but no text reaches the binary. */
int lelp__fail_code(int code);
int lelp__fail_unused(const char* fmt, ...); /* never defined nor called */
#define lelp__fail(code, ...) (lelp__fail_code(code) + 0 * (int)sizeof lelp__fail_unused(__VA_ARGS__))
#else
int lelp__fail(int code, const char* fmt, ...) LELP__PRINTF(2, 3);
#endif
/* Prefixes the current message with "fn: " (a public call that failed in
 * another public call it made) and returns code. */
int lelp__fail_within(int code, const char* fn);

/* ---- memory (alloc.c) --------------------------------------------------- */
void lelp__mem_init(lelp__mem* mem, const lelp_allocator* alloc);
/* 64-byte aligned; NULL on failure or when the size overflowed (SIZE_MAX). */
void* lelp__alloc(const lelp__mem* mem, size_t size);
void* lelp__calloc(const lelp__mem* mem, size_t size);
/* lelp__alloc for a block the caller will write in full or in one
 * contiguous stretch (huge pages with the default allocator, alloc_dense.c;
 * not in the edge library); freed with lelp__free. */
void* lelp__alloc_dense(const lelp__mem* mem, size_t size);
/* 1 if mem is the default (posix_memalign/free) allocator. */
int lelp__mem_is_default(const lelp__mem* mem);
void lelp__free(const lelp__mem* mem, void* p, size_t size);
/* a*b*c in size_t, SIZE_MAX on overflow or negative input. */
size_t lelp__bytes(int64_t a, int64_t b, size_t elem);
int lelp__check_allocator(const lelp_allocator* alloc, const char* fn);
/* At least size bytes of sc (64-byte aligned, contents undefined), grown
 * when smaller; NULL on failure, sc left as it was. */
void* lelp__scratch_reserve(const lelp__mem* mem, lelp__scratch* sc, size_t size);
void lelp__scratch_release(const lelp__mem* mem, lelp__scratch* sc);

/* ---- validation (validate.c) -------------------------------------------- */
/* The one NaN/Inf test: a float32 is NaN or Inf iff its exponent bits are
 * all ones; 1 then, else 0. Integer arithmetic, so loops over it vectorize
 * (the loss's eight-lane target check is its vector form, with
 * LELP__F32_EXPONENT as the mask). */
#define LELP__F32_EXPONENT 0x7f800000u
static inline uint32_t lelp__nonfinite_bit(uint32_t bits)
{
    return ((bits & LELP__F32_EXPONENT) + 0x00800000u) >> 31;
}
/* fn: the public entry point, what: the argument's name. */
int lelp__check_handle(const void* h, uint64_t magic, const char* fn, const char* what);
/* The one NaN/Inf test: nonzero iff x[0..n) holds a NaN or an Inf. */
int lelp__any_nonfinite(const float* x, int64_t n);
int lelp__check_finite_f32(const float* x, int64_t rows, int64_t cols, const char* fn, const char* what);
int lelp__check_finite_rows(const float* x, int64_t rows, int64_t cols, int64_t row0, const char* fn,
                            const char* what);
int lelp__check_labels(const int32_t* y, int64_t n, int64_t C, const char* fn, const char* what);
/* n >= 0, d == want_d, H != NULL when n > 0 (no scan of the values). */
int lelp__check_batch_shape(const float* H, int64_t n, int64_t d, int64_t want_d, const char* fn);
/* check_batch_shape plus a finite scan of H. */
int lelp__check_batch(const float* H, int64_t n, int64_t d, int64_t want_d, const char* fn);
/* LELP_E_INVALID_ARG naming both when the byte ranges of an output and an
 * input overlap (NULL or empty ranges never do). */
int lelp__check_disjoint(const void* out, size_t out_bytes, const char* out_name, const void* in, size_t in_bytes,
                         const char* in_name, const char* what);

/* ---- log-space kernels (softmax.c, BLAS-free) ---------------------------- */
double lelp__lse_f32(const float* x, int64_t n, double scale);
double lelp__lse_f64(const double* x, int64_t n);
/* Entropy (nats) of softmax(x * scale). */
double lelp__softmax_entropy(const double* x, int64_t n, double scale, double* var);

/* vexp.c: in-place exp (inputs clamped to [-708, 709]) and log (inputs
 * normal, > 0) over arrays; vectorized, same bits on every x86-64. */
void lelp__vexp(double* x, int64_t n);
void lelp__vlog(double* x, int64_t n);

/* ---- PRNG (prng.c) ------------------------------------------------------ */
typedef struct lelp__rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} lelp__rng;
void lelp__rng_init(lelp__rng* r, uint64_t seed, uint64_t cls, uint64_t stream);
uint64_t lelp__rng_next(lelp__rng* r);
double lelp__rng_uniform(lelp__rng* r);
double lelp__rng_normal(lelp__rng* r);

/* ---- serialization helpers (format.c) ----------------------------------- */
typedef struct lelp__writer {
    uint8_t* p;
    size_t pos;
} lelp__writer;
typedef struct lelp__reader {
    const uint8_t* p;
    size_t size, pos;
} lelp__reader;
uint32_t lelp__crc32(const uint8_t* p, size_t n);
void lelp__put_u32(lelp__writer* w, uint32_t v);
void lelp__put_u64(lelp__writer* w, uint64_t v);
void lelp__put_f64(lelp__writer* w, double v);
void lelp__put_f64s(lelp__writer* w, const double* v, size_t n);
void lelp__put_f32s(lelp__writer* w, const float* v, size_t n);
void lelp__put_pad(lelp__writer* w, size_t to);
uint32_t lelp__get_u32(lelp__reader* r);
uint64_t lelp__get_u64(lelp__reader* r);
double lelp__get_f64(lelp__reader* r);
void lelp__get_f64s(lelp__reader* r, double* v, size_t n);
void lelp__get_f32s(lelp__reader* r, float* v, size_t n);
size_t lelp__layout(const size_t* sizes, int n, size_t* off, size_t* end);
int lelp__zero_gaps(const uint8_t* src, const size_t* off, const size_t* end, int n, size_t payload_end,
                    const char* what);
/* What the envelope says (docs/format.md): the writer's format and library
 * versions, read by the loaders so a handle can report them. */
typedef struct lelp__envelope {
    uint32_t format_version, writer_version;
    size_t payload_len;
} lelp__envelope;
/* Checks magic, version, header length, total length and CRC. */
int lelp__check_envelope(const uint8_t* src, size_t size, const char* magic, uint32_t max_version,
                         lelp__envelope* env, const char* what);
/* Its parts: steps 1-3 on the fixed header (size >= 32 bytes of it, or the
 * whole buffer if shorter), *total = the length it declares; step 4. */
int lelp__envelope_header(const uint8_t* src, size_t size, const char* magic, uint32_t max_version,
                          lelp__envelope* env, size_t* total, const char* what);
int lelp__envelope_size(size_t size, size_t total, const char* what);

/* Format versions, per kind (docs/format.md). Models: 2 adds flag bit 4
 * (the k-means labeller); projection models are still written as 1. */
#define LELP__MODEL_FORMAT_VERSION 2u
#define LELP__BUILDER_FORMAT_VERSION 3u
#define LELP__COMPRESSOR_FORMAT_VERSION 1u
#define LELP__HEADER_LEN 128u

/* ---- files (file_io.c) -------------------------------------------------- */
/* save: allocate the buffer (then serialize into it), write and free it */
int lelp__save_begin(const lelp__mem* mem, const char* path, size_t size, uint8_t** buf, const char* what);
int lelp__save_end(const lelp__mem* mem, const char* path, uint8_t* buf, size_t size, int status, const char* what);
/* What a file must be: its magic and the newest format version read
 * (magic NULL: any of liblelp's kinds). */
typedef struct lelp__file_kind {
    const char* magic;
    uint32_t max_version;
} lelp__file_kind;
/* load: check out (the caller has set *out = NULL), path and allocator, read
 * the file: its header first (kind, version, length against the file's
 * size), then the rest */
int lelp__load_begin(int have_out, const char* path, const lelp_allocator* alloc, lelp__mem* mem,
                     const lelp__file_kind* kind, uint8_t** buf, size_t* size, const char* what);

/* ---- resource limits (limits.c) ----------------------------------------- */
/* LELP_OK when a loader may allocate `need` bytes (an upper bound of what
 * the loaded object will hold) for a buffer of `size` bytes; else
 * LELP_E_NOMEM naming the limit. */
int lelp__load_budget(double need, size_t size, const char* what);

/* ---- parameters (params.c) ---------------------------------------------- */
/* The one table of parameters: each handle kind's getters and setters go
 * through it. An entry says where the parameter lives in its handle (an
 * offset from the handle's start), its bounds, and which rule guards it;
 * the handle supplies whether its LELP__FIXED parameters are fixed now. */
enum lelp__param_type { LELP__T_INT = 1, LELP__T_U64, LELP__T_I64, LELP__T_DOUBLE };
enum lelp__param_rule {
    LELP__ANY_TIME = 0, /* settable whenever */
    LELP__FIXED = 1,    /* refused with LELP_E_STAGE once the handle says it is fixed */
    LELP__READ_ONLY = 2 /* a query (the model's) */
};
typedef struct lelp__param_info {
    int id;
    int is_int;              /* set/get through the _int calls (else _double) */
    double lo, hi;           /* bounds reported by lelp_param_bounds */
    uint64_t family;         /* the magic of the handle kind it belongs to */
    int type;                /* enum lelp__param_type: how the field is stored */
    size_t offset;           /* the field's offset in the handle struct */
    int rule;                /* enum lelp__param_rule */
    const char* name;        /* for messages: the header's enum name */
} lelp__param_info;
/* Entry i of the table, NULL past its end; and an entry's value in a handle
 * of its kind (no checks: for introspection). */
const lelp__param_info* lelp__param_at(size_t i);
void lelp__param_read(const void* handle, const lelp__param_info* p, int64_t* iv, double* dv);

/* One handle kind's view of the table. */
typedef struct lelp__param_set {
    uint64_t family;         /* the handle's magic */
    const char* kind;        /* "builder", "loss", "compressor", "model" */
    int (*fixed)(const void* handle); /* nonzero: LELP__FIXED parameters can no longer change ... */
    const char* fixed_why;   /* ... and why, for the message */
    /* optional: a check that depends on the handle (run after the table's
     * bounds), and what follows a successful set */
    int (*check)(const void* handle, int param, int64_t value, const char* fn);
    void (*after)(void* handle, int param);
} lelp__param_set;
/* set writes the field only after every check passed. */
int lelp__param_set_int(void* handle, const lelp__param_set* ps, int param, int64_t value, const char* fn);
int lelp__param_set_double(void* handle, const lelp__param_set* ps, int param, double value, const char* fn);
int lelp__param_get_int(const void* handle, const lelp__param_set* ps, int param, int64_t* value, const char* fn);
int lelp__param_get_double(const void* handle, const lelp__param_set* ps, int param, double* value, const char* fn);

#endif /* LELP_COMMON_H */
