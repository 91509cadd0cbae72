/* SPDX-License-Identifier: MIT */
/* internal.h -- declarations shared by liblelp's translation units.
 * Every non-static symbol here starts with lelp__ and is hidden from the
 * shared library by -fvisibility=hidden and the version script. */
#ifndef LELP_INTERNAL_H
#define LELP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lelp.h"

/* ---- handles ---------------------------------------------------------- */
/* Each handle starts with a type magic and its own address, so a pointer of
 * the wrong type or a freed handle is caught before it is used. */
#define LELP__MAGIC_ALLOCATOR UINT64_C(0x4c454c50414c4f43) /* "LELPALOC" */
#define LELP__MAGIC_BUILDER   UINT64_C(0x4c454c50424c4452) /* "LELPBLDR" */
#define LELP__MAGIC_MODEL     UINT64_C(0x4c454c504d4f444c) /* "LELPMODL" */
#define LELP__MAGIC_LOSS      UINT64_C(0x4c454c504c4f5353) /* "LELPLOSS" */
#define LELP__MAGIC_COMPRESSOR UINT64_C(0x4c454c50434f4d50) /* "LELPCOMP" */
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

struct lelp_allocator {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
};

/* Frequent Directions state of all classes (sketch.c). */
typedef struct lelp__sketch {
    int64_t ell, cap, d, C;  /* cap = 2 * ell rows per class */
    double* rows;            /* C x cap x d, row-major: the buffers' storage */
    double** B;              /* C: class c's buffer (cap x d), one of rows' C or the spare */
    int64_t* nrows;          /* C */
    double* trace;           /* C: exact trace of each class's co-moment matrix */
    /* scratch for a shrink, allocated up front so updates never allocate */
    double* G;               /* cap x cap */
    double* w;               /* cap */
    double* spare;           /* cap x d: a shrink writes its rows here and trades it for the class's buffer */
    double* spare0;          /* the spare's own allocation (the buffers move between classes) */
    double* panel;           /* lelp__rows_combine_work(cap) doubles */
    double* Z;               /* cap x ell: the kept eigenvectors */
    double* work;
    int64_t lwork;
    int* iwork;              /* lapack_int, sized for dsyevd */
    int64_t liwork;
} lelp__sketch;

/* beta_sample.c: the builder's bounded sample of rows per class for the
 * automatic beta, in ascending (key, bytes) order */
typedef struct lelp__bsample {
    int64_t cap, d, C;
    int64_t chunk;            /* rows of a class's first storage chunk (beta_sample.c) */
    int64_t* n;               /* C: entries; after every call (normalized) = the distinct rows kept, <= cap */
    int64_t* nsorted;         /* C: entries [0, nsorted) sorted, distinct, kept, <= cap; the rest wait */
    int64_t* room;            /* C: entries the arrays hold (<= 2 cap, grown as rows arrive) */
    int64_t* slots;           /* C: row slots allocated (whole chunks, <= cap) */
    int64_t* used;            /* C: row slots ever used */
    int64_t* nfree;           /* C: freed row slots, on freeslot[c] */
    uint64_t** key;           /* C arrays of room: ascending over [0, nsorted) */
    const float*** row;       /* C arrays of room: entry i's row (a slot, or the caller's row while it waits) */
    int64_t** slot;           /* C arrays of room: entry i's slot, -1 while it waits */
    int64_t** mult;           /* C arrays of room: how many streamed rows equal entry i's */
    int64_t** freeslot;       /* C arrays of slots[c] */
    float** chunks;           /* C x 64 chunk pointers (class c's from c * 64) */
    uint64_t* tmp_key;        /* the normalization's scratch: tmp_room entries */
    const float** tmp_row;
    int64_t *tmp_slot, *tmp_mult, tmp_room;
} lelp__bsample;
int64_t lelp__bsample_default(int64_t d);
uint64_t lelp__row_key(const float* h, int64_t d);
int lelp__bsample_create(const lelp__mem* mem, int64_t d, int64_t C, int64_t cap, lelp__bsample** out);
void lelp__bsample_free(const lelp__mem* mem, lelp__bsample* s);
int lelp__bsample_reserve(const lelp__mem* mem, lelp__bsample* s, int64_t c, int64_t need);
const float* lelp__bsample_row(const lelp__bsample* s, int64_t c, int64_t i);
float* lelp__bsample_load_row(lelp__bsample* s, int64_t c, int64_t i);
int lelp__bsample_before(uint64_t ka, const float* a, uint64_t kb, const float* b, int64_t d);
void lelp__bsample_add(lelp__bsample* s, int64_t c, const float* h, uint64_t key, int64_t mult);
void lelp__bsample_flush(lelp__bsample* s);
void lelp__bsample_merge(lelp__bsample* dst, const lelp__bsample* src);
void lelp__bsample_loaded(lelp__bsample* s, int64_t c);

struct lelp_builder {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t d, C, S;
    /* parameters */
    int null_space, rotate;
    uint64_t seed;
    double beta;             /* 0 = automatic */
    double entropy_fraction;
    int solver;              /* enum lelp_solver */
    int64_t ell_param;       /* LELP_BUILDER_SKETCH_SIZE as set (0 = automatic) */
    int precision;           /* enum lelp_precision */
    int started;             /* statistics allocated: solver frozen */
    /* statistics */
    int64_t* count;          /* C */
    double* mean;            /* C x d */
    double* M;               /* exact: C x (d x d), lower triangle, column-major */
    int64_t* nrows;          /* exact, C: rows kept in row form (gram.c), -1 once M holds the co-moment */
    int gram_form;           /* LELP_BUILDER_GRAM_FORM */
    lelp__sketch* sk;        /* sketch solver state */
    int64_t bsample_param;   /* LELP_BUILDER_BETA_SAMPLE as set (-1 = automatic) */
    lelp__bsample* bs;       /* rows kept for the automatic beta; NULL = none */
    int labeller;            /* enum lelp_labeller (kmeans.c) */
    int has_head;
    double* head;            /* C x d */
    /* scratch for update, kept between calls */
    double* block;           /* (LELP__BLOCK_ROWS + 1) x d: a block and its Chan row */
    double* delta;           /* d */
    double* bmean;           /* d */
    int64_t* batch_count;    /* C */
    float* Mf;               /* d x d: a block's float32 co-moment (LELP_PRECISION_FLOAT32) */
};

struct lelp_model {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t d, C, S, head_rank;
    int null_space, rotate, auto_beta, solver;
    int labeller;            /* enum lelp_labeller: KMEANS adds |U/2|^2 to b_proj */
    uint64_t seed;
    double beta, entropy_fraction;
    int64_t* count;          /* C */
    double* mean;            /* C x d */
    double* eig;             /* C x S, descending */
    double* ratio;           /* C x S */
    double* U;               /* (C*S) x d, row c*S+s is direction s of class c */
    double* b;               /* C x S offsets <U, mu_c> */
    /* derived on creation, not serialized */
    float* Uf;               /* float copy of U for SGEMM */
    float* center;           /* pooled mean, float, d */
    int centre_rows;         /* 1: the GEMM runs on h - center; 0: on h as given */
    double* b_proj;          /* <U, mu_c - center>, or <U, mu_c> when !centre_rows:
                                what lelp__project_raw's output is offset by */
};

struct lelp_loss {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t C, S;
    double tau, alpha;
    int reduction, kind;
    double dkd_target, dkd_nontarget, aux_temperature;
    double* row;             /* 2*C*S doubles: a row's gradient and exponentials */
    double* chunk;           /* chunk_rows*(C*S + 2) doubles for the KL-only path */
    int64_t chunk_rows;
    lelp__scratch* aux;      /* the auxiliary loss's batch buffers, kept between calls */
};

struct lelp_compressor {
    uint64_t magic;
    const void* self;
    lelp__mem mem;
    int64_t dt, k, C;
    int distance, optimizer, multilabel;
    uint64_t seed;
    double lr, wd, momentum, beta1, beta2;
    int64_t steps;
    double* P;               /* A (k x dt), a (k), W (C x k), bias (C) */
    double* m1;              /* SGD velocity / Adam first moment */
    double* m2;              /* Adam second moment */
    double* G;               /* gradient scratch */
};

/* Largest per-class count: counts stay exact in a double and sums of them
 * cannot overflow (loaders refuse more, merges stop before it). */
#define LELP__MAX_COUNT (INT64_C(1) << 53)

/* Rows of a class processed per dsyrk call by the builder. */
#define LELP__BLOCK_ROWS 1024
/* Rows per SGEMM block when projecting a batch. */
#define LELP__PROJECT_ROWS 512
/* Monte-Carlo samples per class for the automatic beta. */
#define LELP__BETA_SAMPLES 4096

/* ---- errors (status.c) -------------------------------------------------- */
#if defined(__GNUC__)
#  define LELP__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define LELP__PRINTF(a, b)
#endif
/* Records a formatted message for lelp_last_error() and returns code. */
int lelp__fail(int code, const char* fmt, ...) LELP__PRINTF(2, 3);

/* ---- memory (alloc.c) --------------------------------------------------- */
void lelp__mem_init(lelp__mem* mem, const lelp_allocator* alloc);
/* 64-byte aligned; NULL on failure or when the size overflowed (SIZE_MAX). */
void* lelp__alloc(const lelp__mem* mem, size_t size);
void* lelp__calloc(const lelp__mem* mem, size_t size);
void lelp__free(const lelp__mem* mem, void* p, size_t size);
/* a*b*c in size_t, SIZE_MAX on overflow or negative input. */
size_t lelp__bytes(int64_t a, int64_t b, size_t elem);
int lelp__check_allocator(const lelp_allocator* alloc);
/* At least size bytes of sc (64-byte aligned, contents undefined), grown
 * when smaller; NULL on failure, sc left as it was. */
void* lelp__scratch_reserve(const lelp__mem* mem, lelp__scratch* sc, size_t size);
void lelp__scratch_release(const lelp__mem* mem, lelp__scratch* sc);

/* ---- validation (validate.c) -------------------------------------------- */
int lelp__check_handle(const void* h, uint64_t magic, const char* what);
int lelp__check_finite_f32(const float* x, int64_t rows, int64_t cols, const char* what);
int lelp__check_labels(const int32_t* y, int64_t n, int64_t C, const char* what);
int lelp__check_finite_rows(const float* x, int64_t rows, int64_t cols, int64_t row0, const char* what);
int lelp__any_nonfinite(const float* x, int64_t n);
/* n >= 0, d == want_d, H != NULL when n > 0 (no scan of the values). */
int lelp__check_batch_shape(const float* H, int64_t n, int64_t d, int64_t want_d);
/* check_batch_shape plus a finite scan of H. */
int lelp__check_batch(const float* H, int64_t n, int64_t d, int64_t want_d);

/* ---- log-space kernels (softmax.c, BLAS-free) ---------------------------- */
double lelp__lse_f32(const float* x, int64_t n, double scale);
double lelp__lse_f64(const double* x, int64_t n);
/* Entropy (nats) of softmax(x * scale). */
double lelp__softmax_entropy(const double* x, int64_t n, double scale, double* var);

/* aux_loss.c: Subclass Distillation's auxiliary loss over a batch (mean);
 * writes gscale * d(mean)/dU into grad (n x K floats) when grad != NULL. */
int lelp__subclass_aux(const lelp__mem* mem, lelp__scratch* sc, const float* U, int64_t n, int64_t K, double T, double gscale,
                       double* value, float* grad);

/* compressor.c / distance.c */
int lelp__compressor_alloc(const lelp__mem* mem, int64_t dt, int64_t k, int64_t C, lelp_compressor** out);
void lelp__compressor_release(lelp_compressor* c);
void lelp__compressor_views(const lelp_compressor* c, double** A, double** a, double** W, double** bw);
int lelp__distance_loss(const lelp__mem* mem, int kind, const float* F, const double* Z, int64_t n, int64_t k,
                        double* value, float* grad);

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

/* small_gemm.c: the shrink's new rows for small buffers, fixed summation
 * order: T = V^T B, row i of T = sum_j V[i*ldv + j] B_j (B row-major n x d,
 * T row-major m x d), work: lelp__rows_combine_work(n) doubles. */
int64_t lelp__rows_combine_work(int64_t n);
void lelp__rows_combine(const double* V, int64_t ldv, int64_t m, const double* B, int64_t n, int64_t d, double* T,
                        double* work);

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

/* ---- fit pieces --------------------------------------------------------- */
/* rotation.c: R (S x S, column-major) Haar-random from stream (seed, c, 0). */
void lelp__haar_rotation(uint64_t seed, int64_t c, int64_t S, double* R);
/* sumsq.c: sum of x_i^2 in a fixed order (four running sums) */
/* sum x_i y_i in four running sums: with one accumulator the loop is bound
 * by the add's latency (gcc may not reorder it without -ffast-math). The
 * order is fixed, so the result is the same run to run and whatever vector
 * width the compiler picks; inline, so the AVX2 clones of its callers
 * (small_eigen.c) vectorize it. */
static inline double lelp__dot(const double* x, const double* y, int64_t n)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int l = 0; l < 4; l++) a[l] += x[i + l] * y[i + l];
    for (; i < n; i++) a[0] += x[i] * y[i];
    return (a[0] + a[1]) + (a[2] + a[3]);
}
double lelp__sumsq(const double* x, int64_t n);
int64_t lelp__small_eigen_work(int64_t n, int64_t k);
int lelp__small_eigen(int64_t n, double* A, int64_t k, double* w, double* Z, double* work, int64_t lwork);
/* comoment.c */
double lelp__chan_mean(double* mean, int64_t na, int64_t d, const double* mean_b, int64_t nb, double* delta);
void lelp__comoment_add_block(double* mean, double* M, int64_t* count, int64_t d, double* X, int64_t nb,
                              const double* block_mean, double* delta);
void lelp__comoment_add_block_f32(double* mean, double* M, int64_t* count, int64_t d, const float* X, int64_t nb,
                                  const double* block_mean, double* delta, float* Mf);
void lelp__comoment_merge(double* mean, double* M, int64_t* count, int64_t d,
                          const double* mean_b, const double* M_b, int64_t count_b,
                          double* delta);
/* The same for a part given as rows (row-major rows x d) whose R^T R is M_b. */
void lelp__comoment_merge_rows(double* mean, double* M, int64_t* count, int64_t d, const double* mean_b,
                               const double* R_b, int64_t rows, int64_t count_b, double* delta);
/* sketch.c: Frequent Directions */
int lelp__sketch_create(const lelp__mem* mem, int64_t d, int64_t C, int64_t ell, lelp__sketch** out);
void lelp__sketch_free(const lelp__mem* mem, lelp__sketch* sk);
/* Appends nr rows (row-major, width d) times `scale` to class c's sketch. */
void lelp__sketch_append(lelp__sketch* sk, int64_t c, const double* rows, int64_t nr, double scale);
/* Chan update of class c with the block H[rows[0..nb)] of mean bm, centred
 * straight into the sketch buffer. */
void lelp__sketch_add_block(lelp__sketch* sk, double* mean, int64_t* count, int64_t c, const float* H,
                            const int64_t* rows, int64_t nb, const double* bm, double* delta);
/* Adds src's class-c sketch (disjoint data) into dst's. */
void lelp__sketch_merge(lelp__sketch* dst, double* mean, int64_t* count, int64_t c, const lelp__sketch* src,
                        const double* mean_b, int64_t count_b, double* delta);
int64_t lelp__sketch_default_ell(int64_t d, int64_t S);
/* Top-S eigenpairs of P B^T B P / (n-1) for class c (V: d x S column-major);
 * *trace0 = the trace before the projection (0 without a head). */
int lelp__sketch_eigen(const lelp__mem* mem, const lelp__sketch* sk, int64_t c, int64_t count, const double* Q,
                       int64_t rh, int64_t S, double* lam, double* V, double* trace, double* trace0);
/* gram.c: the exact solver's row form of a class with at most d/2 rows (kept
 * in its d x d storage, newest row first at column d - r), and the Gram
 * eigensolver shared with the sketch. */
int64_t lelp__gram_max_rows(int64_t d);
int64_t lelp__gram_block_rows(int64_t na, int64_t nb);
const double* lelp__gram_rows(const double* M, int64_t d, int64_t r);
void lelp__gram_add_block(double* M, int64_t* r, double* mean, int64_t* count, int64_t d, const double* X,
                          int64_t nb, const double* bm, double* delta);
void lelp__gram_merge(double* M, int64_t* r, double* mean, int64_t* count, int64_t d, const double* rows_b,
                      int64_t r_b, const double* mean_b, int64_t count_b, double* delta);
void lelp__gram_to_comoment(double* M, int64_t r, int64_t d, double* work, int64_t lwork);
int lelp__gram_eigen(const lelp__mem* mem, const double* rows, int64_t r, int64_t d, int exact_rows, double total,
                     int64_t count, const double* Q, int64_t rh, int64_t S, double* lam, double* V, double* trace,
                     double* trace0, int64_t c);
/* builder.c: allocates the statistics for the chosen solver (first use). */
int lelp__builder_storage(lelp_builder* b);
/* nullspace.c */
int lelp__head_basis(const lelp__mem* mem, const double* W, int64_t C, int64_t d,
                     double** Q, int64_t* rank);
int lelp__project_out(const lelp__mem* mem, double* Sigma, int64_t d, const double* Q,
                      int64_t r);
/* eigen.c: top-S eigenpairs of the lower triangle of A (destroyed). */
int lelp__top_eigen(const lelp__mem* mem, double* A, int64_t d, int64_t S, double* w,
                    double* V, int64_t cls);
int lelp__top_eigen_lapack(const lelp__mem* mem, double* A, int64_t d, int64_t S, double* w,
                           double* V, int64_t cls);
/* krylov.c: the same for large d by restarted block Krylov (A read only);
 * LELP__KRYLOV_FALLBACK when it did not converge. */
#define LELP__KRYLOV_FALLBACK 1
int lelp__krylov_applies(int64_t d, int64_t S);
int lelp__krylov_top(const lelp__mem* mem, const double* A, int64_t d, int64_t S, double* w, double* V,
                     int64_t cls);
void lelp__sign_rule(double* V, int64_t d, int64_t S);
void lelp__stable_ties(double* w, double* V, int64_t d, int64_t S);
/* beta.c */
int lelp__beta_solve(const double* g, const double* weight, int64_t m, int64_t S,
                     double target, double beta0, double* beta);
double lelp__mean_entropy(const double* g, const double* weight, int64_t m, int64_t S,
                          double beta);
int lelp__auto_beta(const lelp__mem* mem, const lelp_model* m, double* beta);
int lelp__sample_beta(const lelp__mem* mem, const lelp_model* m, const lelp__bsample* bs, double* beta);

/* ---- model (model.c) ---------------------------------------------------- */
int lelp__model_alloc(const lelp__mem* mem, int64_t d, int64_t C, int64_t S,
                      lelp_model** out);
/* Computes the derived arrays; the model's stored fields must be set. */
void lelp__model_finish(lelp_model* m);
int lelp__model_copy(const lelp_model* src, lelp_model** out);
/* project.c: F (n x C*S, float) = <U, h - center> (or <U, h> when
 * !m->centre_rows), unscaled: subtract m->b_proj; also checks H for
 * NaN/Inf, in the centring pass or through the projections
 * (LELP_E_NONFINITE naming the row and column). */
int lelp__project_raw(const lelp_model* m, const float* H, int64_t n, int64_t row0, float* F);

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
size_t lelp__align64(size_t n);
size_t lelp__layout(const size_t* sizes, int n, size_t* off, size_t* end);
int lelp__zero_gaps(const uint8_t* src, const size_t* off, const size_t* end, int n, size_t payload_end,
                    const char* what);
/* Checks magic, version, header length, total length and CRC. */
int lelp__check_envelope(const uint8_t* src, size_t size, const char* magic,
                         uint32_t max_version, size_t* payload_len, const char* what);

/* Format versions, per kind: models 2 (flag bit 4, the k-means labeller;
 * projection models are still written as version 1); builder states 3. */
#define LELP__MODEL_FORMAT_VERSION 2u
#define LELP__BUILDER_FORMAT_VERSION 3u
#define LELP__HEADER_LEN 128u

/* ---- files (file_io.c) -------------------------------------------------- */
int lelp__read_file(const lelp__mem* mem, const char* path, uint8_t** buf, size_t* size);
int lelp__write_file(const char* path, const uint8_t* buf, size_t size);
/* save: allocate the buffer (then serialize into it), write and free it */
int lelp__save_begin(const lelp__mem* mem, const char* path, size_t size, uint8_t** buf, const char* what);
int lelp__save_end(const lelp__mem* mem, const char* path, uint8_t* buf, size_t size, int status);
/* load: check out (the caller has set *out = NULL), path and allocator, read the file */
int lelp__load_begin(int have_out, const char* path, const lelp_allocator* alloc, lelp__mem* mem, uint8_t** buf,
                     size_t* size, const char* what);

/* ---- parameters (params.c) ---------------------------------------------- */
int lelp__param_check(int param, double value);

#endif /* LELP_INTERNAL_H */
