/* SPDX-License-Identifier: MIT */
/*
 * lelp.h -- public interface of liblelp, a C library for few-class knowledge
 * distillation with LELP (Learning Embedding Linear Projections).
 *
 * This is the only public header. It is C99, usable from C++, and exposes no
 * struct layouts: every object is an opaque handle created and freed by the
 * library. See docs/api.md for every call with an example. Supported
 * platforms: GCC or Clang on POSIX systems (Linux is what the tests run on).
 *
 * Two stability tiers, as in zstd: everything declared by default is the
 * stable API (never changed in meaning, only added to). Tuning knobs whose
 * future is open are declared only when LELP_EXPERIMENTAL is defined before
 * this header is included; they are exported and work the same either way,
 * but may change or go in a later minor version.
 *
 * Conventions that hold for every function below:
 *  - Every fallible call returns an int status: LELP_OK (0) or a negative
 *    LELP_E_* code; each function's "Errors:" line lists the codes it returns.
 *    On failure lelp_last_error() holds a message that starts with the
 *    function's name and names the bad argument, class or row (thread-local);
 *    outputs are left unspecified unless the function says otherwise, and a
 *    handle the call was given is left as it was (settings included).
 *    Creators set *out = NULL on failure.
 *  - Handle checks are best effort: a NULL handle is always LELP_E_NULL; a
 *    handle of another type, or a freed one whose memory was not reused, is
 *    LELP_E_INVALID_HANDLE; any other invalid pointer is undefined behaviour.
 *  - Matrices are dense, row-major and contiguous: an n x d matrix is n*d values
 *    with element (i, j) at [i*d + j].
 *  - Every S*C vector is class-major: index c*S + s.
 *  - The caller owns every input and output buffer; the library never keeps a
 *    pointer to a caller buffer past the call.
 *  - Sizes are int64_t element counts, byte sizes are size_t, labels int32_t.
 *  - Threads: a const lelp_model* may be used by any number of threads at once.
 *    A lelp_builder or lelp_loss may be used by one thread at a time; using one
 *    such handle from two threads at once is the caller's error.
 *  - Nothing aborts, exits or prints on bad input.
 */
#ifndef LELP_H
#define LELP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Visibility (GCC/Clang: default visibility from a -fvisibility=hidden build) */
/* ------------------------------------------------------------------------ */
#if defined(LELP_STATIC)
#  define LELP_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define LELP_API __attribute__((visibility("default")))
#else
#  define LELP_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                    */
/* ------------------------------------------------------------------------ */
#define LELP_VERSION_MAJOR 0
#define LELP_VERSION_MINOR 1
#define LELP_VERSION_PATCH 0
#define LELP_VERSION_NUMBER \
    (LELP_VERSION_MAJOR * 10000 + LELP_VERSION_MINOR * 100 + LELP_VERSION_PATCH)
#define LELP_VERSION_STRING "0.1.0"

/* Runtime version of the linked library, MAJOR*10000 + MINOR*100 + PATCH.
 * Bindings compare it with the version they were written for.
 * Errors: none (cannot fail). Since v0.1. */
LELP_API uint32_t lelp_version_number(void);
/* Runtime version as "MAJOR.MINOR.PATCH"; static storage.
 * Errors: none (cannot fail). Since v0.1. */
LELP_API const char* lelp_version_string(void);

/* ------------------------------------------------------------------------ */
/* Status codes (explicit values; never renumbered, never reused)             */
/* ------------------------------------------------------------------------ */
enum lelp_status_code {
    LELP_OK                   =   0,
    /* arguments and handles */
    LELP_E_NULL               =  -1, /* a required pointer argument is NULL */
    LELP_E_INVALID_ARG        =  -2, /* a size or scalar argument is out of its domain */
    LELP_E_INVALID_HANDLE     =  -3, /* handle of the wrong type, or freed (best effort: see above) */
    /* allocation */
    LELP_E_NOMEM              = -10, /* an allocation failed */
    /* parameters */
    LELP_E_PARAM_UNSUPPORTED  = -20, /* unknown parameter id for this handle, or wrong type */
    LELP_E_PARAM_RANGE        = -21, /* parameter value outside lelp_param_bounds() */
    LELP_E_PARAM_COMBINATION  = -22, /* parameters inconsistent with each other or the call */
    /* call order */
    LELP_E_STAGE              = -30, /* call made in the wrong stage (e.g. fit before update) */
    /* shapes and buffers */
    LELP_E_SHAPE_MISMATCH     = -40, /* dimensions disagree with the handle's (d, C, S) */
    LELP_E_BUFFER_TOO_SMALL   = -41, /* output capacity smaller than needed */
    LELP_E_LABEL_RANGE        = -42, /* a label outside [0, C) */
    /* numerical */
    LELP_E_NONFINITE          = -50, /* NaN or Inf in an input */
    LELP_E_TOO_FEW_SAMPLES    = -51, /* a class has fewer than 2 examples */
    LELP_E_RANK_DEFICIENT     = -52, /* a class has fewer than S non-zero eigenvalues */
    LELP_E_SOLVER             = -53, /* LAPACK reported failure */
    LELP_E_NUMERICAL          = -54, /* other numerical failure (overflow, search failed) */
    LELP_E_INVALID_TARGETS    = -55, /* targets negative or rows not summing to 1 */
    /* serialized formats */
    LELP_E_FORMAT             = -60, /* not a liblelp buffer of this kind, or inconsistent fields */
    LELP_E_VERSION            = -61, /* format version newer than this library reads */
    LELP_E_CHECKSUM           = -62, /* payload checksum mismatch (corruption) */
    LELP_E_TRUNCATED          = -63, /* buffer shorter than its header says */
    /* I/O */
    LELP_E_IO                 = -70, /* file could not be opened, read or written */
    /* internal */
    LELP_E_INTERNAL           = -99  /* a bug in liblelp; please report */
};

/* Static, never-NULL description of a status code (unknown codes get a
 * generic text). Thread-safe. Errors: none (cannot fail). Since v0.1. */
LELP_API const char* lelp_status_string(int status);

/* Detailed message of the most recent failing liblelp call on this thread
 * ("" if none), starting with that call's name. Valid until the next
 * liblelp call on the same thread. Never NULL.
 * Errors: none (cannot fail). Since v0.1. */
LELP_API const char* lelp_last_error(void);

/* Opaque handles. */
typedef struct lelp_allocator lelp_allocator; /* custom allocation functions */
typedef struct lelp_builder lelp_builder;     /* mutable streaming statistics */
typedef struct lelp_model lelp_model;         /* immutable fitted subspaces */
typedef struct lelp_loss lelp_loss;           /* student loss settings */
typedef struct lelp_compressor lelp_compressor; /* trainable teacher-embedding compression */
typedef struct lelp_info lelp_info;           /* what a buffer or handle is (introspection) */

/* ------------------------------------------------------------------------ */
/* Custom allocation (optional)                                              */
/* ------------------------------------------------------------------------ */
/* alloc returns a block of `size` bytes aligned to `align` (a power of two,
 * at most 64) or NULL; free receives the size that was requested. Both must
 * be thread-safe if one allocator serves handles used from several threads. */
typedef void* (*lelp_alloc_fn)(void* opaque, size_t size, size_t align);
typedef void (*lelp_free_fn)(void* opaque, void* ptr, size_t size);

/* Creates an allocator descriptor (itself allocated through alloc_fn).
 * Handles created with it copy the functions and opaque pointer, so the
 * descriptor may be freed right after the creating call; opaque must stay
 * valid as long as any such handle lives.
 * Errors: LELP_E_NULL (out, alloc_fn or free_fn), LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_allocator_create(lelp_allocator** out, lelp_alloc_fn alloc_fn,
                                   lelp_free_fn free_fn, void* opaque);
/* Frees a descriptor; NULL (or a pointer that is not a live descriptor) is
 * a no-op. Errors: none. Since v0.1. */
LELP_API void lelp_allocator_free(lelp_allocator* a);

/* ------------------------------------------------------------------------ */
/* Parameters                                                                 */
/* ------------------------------------------------------------------------ */
/* Ids are grouped by handle family: builder 100s, model queries 200s,
 * loss 300s, compressor 400s. Values are append-only. */
enum lelp_param {
    /* builder (int): 1 = project out the row space of the head W before PCA
     * when a head is set; 0 = never. Default 1. */
    LELP_BUILDER_NULL_SPACE       = 101,
    /* builder (int): 1 = apply the seeded Haar rotation. Default 1. */
    LELP_BUILDER_ROTATE           = 102,
    /* builder (int): seed of the rotation and of the automatic beta,
     * 0 .. 2^63-1. Default 0. */
    LELP_BUILDER_SEED             = 103,
    /* builder (double): subclass temperature beta. 0 = automatic (default);
     * > 0 = fixed. */
    LELP_BUILDER_BETA             = 104,
    /* builder (double): automatic beta's target mean within-class entropy as
     * a fraction of log S, in [0.01, 0.99]. Default 0.5. */
    LELP_BUILDER_ENTROPY_FRACTION = 105,
    /* builder (int): LELP_SOLVER_EXACT (default: float64 co-moments, C*d*d
     * doubles) or LELP_SOLVER_SKETCH (Frequent Directions, C*2l*d doubles).
     * Set before the first update, merge or load (LELP_E_STAGE after). */
    LELP_BUILDER_SOLVER           = 106,
    /* builder (int): how pseudo-subclasses are made, enum lelp_labeller:
     * LELP_LABELLER_PROJECTION (default, LELP's projections) or
     * LELP_LABELLER_KMEANS (k-means on the beta sample's rows, so it needs
     * the sample: LELP_BUILDER_BETA_SAMPLE != 0). May be set at any time
     * before fit; not saved with the builder's state. Since v0.1. */
    LELP_BUILDER_LABELLER         = 111,

    /* model queries (read-only; lelp_model_get_int / _get_double) */
    LELP_MODEL_DIM                = 201, /* int: d */
    LELP_MODEL_NUM_CLASSES        = 202, /* int: C */
    LELP_MODEL_SUBCLASSES         = 203, /* int: S */
    LELP_MODEL_SEED               = 204, /* int: rotation seed */
    LELP_MODEL_BETA               = 205, /* double: beta in use */
    LELP_MODEL_NULL_SPACE         = 206, /* int: 1 if a head's row space was projected out */
    LELP_MODEL_ROTATE             = 207, /* int: 1 if rotated */
    LELP_MODEL_HEAD_RANK          = 208, /* int: numerical rank r of the head (0 if none) */
    LELP_MODEL_ENTROPY_FRACTION   = 209, /* double: entropy fraction used for auto beta */
    LELP_MODEL_AUTO_BETA          = 210, /* int: 1 if beta was chosen automatically */
    LELP_MODEL_SOLVER             = 211, /* int: the lelp_solver that produced the subspaces */
    LELP_MODEL_LABELLER           = 212, /* int: the lelp_labeller of the model (since v0.1) */

    /* loss (double): KD temperature tau, in [0.01, 100]. Default 1. */
    LELP_LOSS_TAU                 = 301,
    /* loss (double): weight alpha of the label term, in [0, 1]. Default 0. */
    LELP_LOSS_ALPHA               = 302,
    /* loss (int): LELP_REDUCTION_MEAN (default) or LELP_REDUCTION_SUM. */
    LELP_LOSS_REDUCTION           = 303,
    /* loss (int): which distillation term, enum lelp_loss_kind. Default
     * LELP_LOSS_KIND_KL (LELP and, with S = 1, Hinton's KD). */
    LELP_LOSS_KIND                = 304,
    /* loss (double): DKD's target-class weight (its "alpha"), >= 0. Default 1. */
    LELP_LOSS_DKD_TARGET_WEIGHT   = 305,
    /* loss (double): DKD's non-target weight (its "beta"), >= 0. Default 8. */
    LELP_LOSS_DKD_NONTARGET_WEIGHT = 306,
    /* loss (double): temperature T of the subclass auxiliary loss, [0.01, 100].
     * Default 1. */
    LELP_LOSS_AUX_TEMPERATURE     = 307,

    /* compressor (int): distance of lelp_compressor_student_loss, enum
     * lelp_distance. Default LELP_DISTANCE_MSE. */
    LELP_COMPRESSOR_DISTANCE      = 401,
    /* compressor (int): LELP_OPTIMIZER_SGD (momentum) or LELP_OPTIMIZER_ADAM
     * (default). Fixed after the first step. */
    LELP_COMPRESSOR_OPTIMIZER     = 402,
    /* compressor (double): learning rate, [1e-12, 10]. Default 1e-3. */
    LELP_COMPRESSOR_LR            = 403,
    /* compressor (double): L2 weight decay added to every gradient, [0, 1].
     * Default 0. */
    LELP_COMPRESSOR_WEIGHT_DECAY  = 404,
    /* compressor (double): SGD momentum, [0, 1). Default 0.9. */
    LELP_COMPRESSOR_MOMENTUM      = 405,
    /* compressor (double): Adam beta1 and beta2, [0, 1). Defaults 0.9, 0.999. */
    LELP_COMPRESSOR_ADAM_BETA1    = 406,
    LELP_COMPRESSOR_ADAM_BETA2    = 407,
    /* compressor (int): 1 = multi-label head (sigmoid BCE), 0 = softmax CE
     * (default). Fixed after the first step. */
    LELP_COMPRESSOR_MULTILABEL    = 408,
    /* compressor (int): seed of the initial weights, 0 .. 2^63-1 (default 0);
     * setting it re-initialises the weights, only before the first step. */
    LELP_COMPRESSOR_SEED          = 409
};

#if defined(LELP_EXPERIMENTAL)
/* Experimental builder knobs (ids 107-110 of the builder family; see the
 * tiers above). Each is saved with the builder's state unless it says
 * otherwise. */
enum lelp_param_experimental {
    /* builder (int): sketch rows l per class for LELP_SOLVER_SKETCH, S+1 ..
     * 16383 (the shrink's LAPACK workspace, 8l^2 doubles, must be
     * addressable by 32-bit LAPACK integers), or 0 = automatic,
     * min(d + 1, max(2S, S + 8), 16383) (default). Memory: C*2l*d doubles plus
     * 2l*d + ~14 l^2 of scratch (docs/api.md). Set before the first update,
     * merge or load (LELP_E_STAGE after). */
    LELP_BUILDER_SKETCH_SIZE      = 107,
    /* builder (int): how the exact solver multiplies each block of centred
     * rows: LELP_PRECISION_FLOAT64 (default) or LELP_PRECISION_FLOAT32
     * (SSYRK, ~2x faster; co-moments to ~1e-6 relative, docs/method.md).
     * The sketch solver ignores it. Set before the first update, merge or
     * load (LELP_E_STAGE after; merging an empty builder changes nothing and
     * fixes nothing). */
    LELP_BUILDER_PRECISION        = 108,
    /* builder (int): 1 (default) = the exact solver keeps a class with at
     * most d/2 rows (fewer past d = 4100) as the rows and fits it from
     * their n x n Gram matrix (docs/method.md); 0 = always the d x d
     * co-moment. Same memory either way; results agree to rounding. May be
     * set at any time: it applies from the next update or merge. Not saved
     * with the builder's state. */
    LELP_BUILDER_GRAM_FORM        = 109,
    /* builder (int): rows per class kept for the automatic beta, which is
     * then solved on the entropy of those rows (over the fitting data; a
     * class of at most this many rows is kept whole). -1 (default) =
     * automatic: min(4096, max(256, 2^22 / d)) rows, 16 MiB per class up to
     * d = 16384 (plus as many candidates while a call runs); 0 = none (the
     * Gaussian model of each class's statistics); k in [1, 1048576] = k
     * rows. Which rows are kept depends only on the rows streamed, not on
     * batching, order or merges (docs/method.md). Fixed once data was
     * streamed, merged or loaded. */
    LELP_BUILDER_BETA_SAMPLE      = 110
};
#endif

/* What lelp_loss_compute computes (LELP_LOSS_KIND). */
enum lelp_loss_kind {
    /* (1-alpha) tau^2 KL(t || softmax(u/tau)) + alpha CE: LELP's loss; with
     * S = 1 and softmax targets, Hinton's vanilla KD. */
    LELP_LOSS_KIND_KL          = 0,
    /* Decoupled KD (Zhao et al. 2022), S must be 1, T = softmax(z/tau):
     * (1-alpha) [w_t TCKD + w_nt NCKD] + alpha CE. For C = 2 NCKD is 0. */
    LELP_LOSS_KIND_DKD         = 1,
    /* Subclass Distillation's teacher auxiliary loss (Mueller et al. 2020) on
     * the teacher's own S*C logits U (T unused): (1-alpha) L_aux + alpha CE. */
    LELP_LOSS_KIND_SUBCLASS_AUX = 2
};

/* Distances of the embedding compressor (LELP_COMPRESSOR_DISTANCE). */
enum lelp_distance {
    LELP_DISTANCE_MSE    = 0, /* (1/n) sum_i ||f_i - e'_i||^2 */
    LELP_DISTANCE_COSINE = 1, /* (1/n) sum_i (1 - cos(f_i, e'_i)) */
    LELP_DISTANCE_DCOR   = 2  /* 1 - dCor(F, E'), V-statistic distance correlation */
};

/* The compressor's optimizer (LELP_COMPRESSOR_OPTIMIZER): PyTorch's rules. */
enum lelp_optimizer {
    LELP_OPTIMIZER_SGD  = 0,
    LELP_OPTIMIZER_ADAM = 1
};

/* The builder's solver (LELP_BUILDER_SOLVER). */
enum lelp_solver {
    LELP_SOLVER_EXACT  = 0, /* exact per-class co-moments; dsyevr or block Krylov */
    LELP_SOLVER_SKETCH = 1  /* streaming Frequent Directions sketch, O(C*l*d) memory */
};

/* How pseudo-subclasses are made (LELP_BUILDER_LABELLER; docs/method.md 7). */
enum lelp_labeller {
    LELP_LABELLER_PROJECTION = 0, /* f_{c,s} = (<U_c[:,s], h> - b_{c,s}) / beta: LELP's projections */
    LELP_LABELLER_KMEANS     = 1  /* f_{c,s} = -|P(h - mu_c) - m_{c,s}|^2 / beta, m: k-means centroids;
                                     stored as U_c[:,s] = 2 m_{c,s}, b = <U, mu_c> + |m_{c,s}|^2 */
};

#if defined(LELP_EXPERIMENTAL)
/* The exact solver's block products (LELP_BUILDER_PRECISION). */
enum lelp_precision {
    LELP_PRECISION_FLOAT64 = 0, /* rows centred and multiplied in float64 (DSYRK) */
    LELP_PRECISION_FLOAT32 = 1  /* centred in float64, rounded, multiplied in float32 (SSYRK)
                                   over <= 1024 rows, carried in float64 */
};
#endif

/* How lelp_loss_compute reduces over the batch (LELP_LOSS_REDUCTION). */
enum lelp_reduction {
    LELP_REDUCTION_MEAN = 0, /* sum_i w_i L_i / sum_i w_i  (w_i = 1 without weights) */
    LELP_REDUCTION_SUM  = 1  /* sum_i w_i L_i */
};

/* Legal range of a settable parameter (ints reported as doubles), stable
 * or experimental. Errors: LELP_E_NULL (lo or hi), LELP_E_PARAM_UNSUPPORTED
 * (unknown or read-only id). Since v0.1. */
LELP_API int lelp_param_bounds(int param, double* lo, double* hi);

/* ------------------------------------------------------------------------ */
/* Resource limits (process-wide)                                             */
/* ------------------------------------------------------------------------ */
/* What a serialized buffer -- untrusted input -- may make the library
 * allocate. Calls that take sizes from the caller (create, update, ...)
 * allocate what docs/api.md states for those sizes and are not limited. */
enum lelp_limit {
    /* Bytes one load (lelp_*_load, lelp_*_load_path) may allocate for the
     * object it builds beyond what the buffer justifies (4 times its size):
     * a loader refuses with LELP_E_NOMEM, before allocating, when the object
     * would hold more than max(4 * size, this limit). Default 2^30 (1 GiB);
     * 0 = only what the buffer justifies. Since v0.1. */
    LELP_LIMIT_LOAD_BYTES = 1
};
/* Sets or reads a limit (value >= 0; LELP_E_PARAM_UNSUPPORTED for an
 * unknown id). Process-wide and thread-safe; applies to calls that start
 * after it returns. Since v0.1. */
LELP_API int lelp_limit_set(int limit, int64_t value);
LELP_API int lelp_limit_get(int limit, int64_t* value);

/* ------------------------------------------------------------------------ */
/* Builder: streaming per-class statistics (mutable)                          */
/* ------------------------------------------------------------------------ */
/* Creates an empty builder for embeddings of width d (1 .. 65536), C
 * classes (1 .. 2^20) and S pseudo-subclasses per class (1 <= S <= d,
 * C*S <= 2^24). The statistics are allocated at the first update, merge or
 * load: C*d*d doubles with the exact solver, (C+1)*2l*d with the sketch
 * solver plus ~14 l^2 for its shrink (the 2l x 2l Gram matrix and LAPACK's
 * workspace); plus O(C*d + 1024*d) scratch and the beta sample
 * (docs/api.md). alloc may be NULL (malloc).
 * Errors: LELP_E_NULL (out), LELP_E_INVALID_ARG (d, C, S), LELP_E_NULL or
 * LELP_E_INVALID_HANDLE (alloc not a live allocator), LELP_E_NOMEM.
 * Since v0.1. */
LELP_API int lelp_builder_create(lelp_builder** out, int64_t d, int64_t C, int64_t S,
                                 const lelp_allocator* alloc);
/* Frees a builder; NULL (or a pointer that is not a live builder) is a
 * no-op. Errors: none. Since v0.1. */
LELP_API void lelp_builder_free(lelp_builder* b);

/* Sets an integer builder parameter (LELP_BUILDER_*). Nothing changes on
 * failure. Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_PARAM_UNSUPPORTED
 * (not an integer builder parameter), LELP_E_PARAM_RANGE, LELP_E_STAGE (a
 * parameter fixed once data was streamed, merged or loaded). Since v0.1. */
LELP_API int lelp_builder_set_int(lelp_builder* b, int param, int64_t value);
/* Sets a real builder parameter (LELP_BUILDER_BETA, _ENTROPY_FRACTION).
 * Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_PARAM_UNSUPPORTED,
 * LELP_E_PARAM_RANGE (NaN included). Since v0.1. */
LELP_API int lelp_builder_set_double(lelp_builder* b, int param, double value);
/* Reads an integer builder parameter into *value.
 * Errors: LELP_E_NULL (b or value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_builder_get_int(const lelp_builder* b, int param, int64_t* value);
/* Reads a real builder parameter into *value.
 * Errors: LELP_E_NULL (b or value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_builder_get_double(const lelp_builder* b, int param, double* value);

/* Streams a batch: H is n x d float32, labels n int32 in [0, C). n == 0 is
 * a no-op. The batch is validated whole and every allocation made before
 * any state changes, so a failing call leaves the builder as it was
 * (settings included: a failed first call fixes nothing).
 * Errors: LELP_E_NULL (b, H, labels), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 0, a class past 2^53 rows), LELP_E_SHAPE_MISMATCH
 * (d), LELP_E_NONFINITE, LELP_E_LABEL_RANGE, LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_builder_update(lelp_builder* b, const float* H, const int32_t* labels,
                                 int64_t n, int64_t d);
/* Adds src's statistics (disjoint data) into dst: exact Chan merge. src is
 * unchanged; dst's parameters and head are kept. Shapes must match; a
 * failing call leaves dst as it was.
 * Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_INVALID_ARG (dst ==
 * src, a class past 2^53 rows), LELP_E_SHAPE_MISMATCH,
 * LELP_E_PARAM_COMBINATION (different solvers), LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_builder_merge(lelp_builder* dst, const lelp_builder* src);
/* Sets (or replaces) the teacher head W, C x d float32 (copied). May be
 * called at any time before fit.
 * Errors: LELP_E_NULL (b, W), LELP_E_INVALID_HANDLE, LELP_E_SHAPE_MISMATCH,
 * LELP_E_NONFINITE. Since v0.1. */
LELP_API int lelp_builder_set_head(lelp_builder* b, const float* W, int64_t C, int64_t d);
/* Number of examples streamed so far for class c (into *count).
 * Errors: LELP_E_NULL (b, count), LELP_E_INVALID_HANDLE, LELP_E_LABEL_RANGE
 * (c outside [0, C)). Since v0.1. */
LELP_API int lelp_builder_count(const lelp_builder* b, int64_t c, int64_t* count);
/* Fits the model: null-space projection, top-S eigenvectors per class, sign
 * rule, rotation, offsets, beta. The builder is not changed and may keep
 * streaming.
 * Errors: LELP_E_NULL (b, out), LELP_E_INVALID_HANDLE, LELP_E_STAGE (nothing
 * streamed), LELP_E_TOO_FEW_SAMPLES, LELP_E_RANK_DEFICIENT, LELP_E_SOLVER
 * (LAPACK failed, now or in a sketch update), LELP_E_NUMERICAL, LELP_E_NOMEM.
 * Since v0.1. */
LELP_API int lelp_builder_fit(const lelp_builder* b, lelp_model** out);

/* Bytes lelp_builder_serialize writes (counts, means, co-moments or sketch,
 * head, parameters, beta sample; docs/format.md).
 * Errors: LELP_E_NULL (b, size), LELP_E_INVALID_HANDLE. Since v0.1. */
LELP_API int lelp_builder_serialized_size(const lelp_builder* b, size_t* size);
/* Writes the builder's partial state into dst (capacity bytes); *written
 * (may be NULL) receives the byte count.
 * Errors: those of lelp_builder_serialized_size, LELP_E_NULL (dst),
 * LELP_E_BUFFER_TOO_SMALL, LELP_E_SOLVER (a sketch that lost rows).
 * Since v0.1. */
LELP_API int lelp_builder_serialize(const lelp_builder* b, void* dst, size_t capacity,
                                    size_t* written);
/* A new builder from a serialized state; never reads past size.
 * Errors: LELP_E_NULL (out, src), LELP_E_INVALID_HANDLE (alloc),
 * LELP_E_FORMAT, LELP_E_VERSION, LELP_E_CHECKSUM, LELP_E_TRUNCATED,
 * LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_builder_load(lelp_builder** out, const void* src, size_t size,
                               const lelp_allocator* alloc);
/* lelp_builder_serialize into a file, written atomically.
 * Errors: those of lelp_builder_serialize, LELP_E_NULL (path), LELP_E_NOMEM,
 * LELP_E_IO. Since v0.1. */
LELP_API int lelp_builder_save_path(const lelp_builder* b, const char* path);
/* lelp_builder_load from a file.
 * Errors: those of lelp_builder_load, LELP_E_NULL (path), LELP_E_IO.
 * Since v0.1. */
LELP_API int lelp_builder_load_path(lelp_builder** out, const char* path,
                                    const lelp_allocator* alloc);

/* ------------------------------------------------------------------------ */
/* Model: fitted subspaces (immutable, shareable across threads)             */
/* ------------------------------------------------------------------------ */
/* Frees a model; NULL (or a pointer that is not a live model) is a no-op.
 * Errors: none. Since v0.1. */
LELP_API void lelp_model_free(lelp_model* m);
/* An integer query (keys LELP_MODEL_*) into *value.
 * Errors: LELP_E_NULL (m, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED (not an integer model key). Since v0.1. */
LELP_API int lelp_model_get_int(const lelp_model* m, int key, int64_t* value);
/* A real query (LELP_MODEL_BETA, _ENTROPY_FRACTION) into *value.
 * Errors: LELP_E_NULL (m, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_model_get_double(const lelp_model* m, int key, double* value);
/* Eigenvalues of P Sigma_c P, descending: C x S into out (`capacity`
 * elements).
 * Errors: LELP_E_NULL (m, out), LELP_E_INVALID_HANDLE, LELP_E_BUFFER_TOO_SMALL.
 * Since v0.1. */
LELP_API int lelp_model_eigenvalues(const lelp_model* m, double* out, int64_t capacity);
/* Eigenvalue / trace(P Sigma_c P): C x S.
 * Errors: LELP_E_NULL (m, out), LELP_E_INVALID_HANDLE, LELP_E_BUFFER_TOO_SMALL.
 * Since v0.1. */
LELP_API int lelp_model_explained_variance_ratio(const lelp_model* m, double* out,
                                                 int64_t capacity);
/* Projection directions U_c (rotated if rotation is on): C x S x d, element
 * (c, s, j) at [(c*S + s)*d + j].
 * Errors: LELP_E_NULL (m, out), LELP_E_INVALID_HANDLE, LELP_E_BUFFER_TOO_SMALL.
 * Since v0.1. */
LELP_API int lelp_model_components(const lelp_model* m, double* out, int64_t capacity);
/* Class means mu_c of the raw embeddings: C x d.
 * Errors: LELP_E_NULL (m, out), LELP_E_INVALID_HANDLE, LELP_E_BUFFER_TOO_SMALL.
 * Since v0.1. */
LELP_API int lelp_model_means(const lelp_model* m, double* out, int64_t capacity);
/* Offsets b_{c,s} = <U_c[:,s], mu_c>: C x S.
 * Errors: LELP_E_NULL (m, out), LELP_E_INVALID_HANDLE, LELP_E_BUFFER_TOO_SMALL.
 * Since v0.1. */
LELP_API int lelp_model_offsets(const lelp_model* m, double* out, int64_t capacity);

/* Soft targets from teacher logits: H n x d (d must equal the model's),
 * Z n x C (float32), tau in [0.01, 100].
 * T_out n x (C*S): t_{c,s} = softmax(Z/tau)_c * softmax_s(f_{c,.})_s.
 * Rows of T sum to 1; sum_s t_{c,s} = softmax(Z/tau)_c.
 * Errors: LELP_E_NULL (m, H, Z, T_out), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 0, tau), LELP_E_SHAPE_MISMATCH (d),
 * LELP_E_NONFINITE, LELP_E_NUMERICAL (projections overflow float32),
 * LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_model_targets_from_logits(const lelp_model* m, const float* H,
                                            const float* Z, int64_t n, int64_t d,
                                            double tau,
                                            float* T_out);
/* Soft targets from labels: p = (1-eps)*onehot(y) + eps/C, eps in [0, 1).
 * Errors: LELP_E_NULL (m, H, labels, T_out), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 0, smoothing), LELP_E_SHAPE_MISMATCH,
 * LELP_E_LABEL_RANGE, LELP_E_NONFINITE, LELP_E_NUMERICAL, LELP_E_NOMEM.
 * Since v0.1. */
LELP_API int lelp_model_targets_from_labels(const lelp_model* m, const float* H,
                                            const int32_t* labels, int64_t n,
                                            int64_t d, double smoothing, float* T_out);
/* Raw scaled projections f_{c,s} = (<U_c[:,s], h> - b_{c,s}) / beta: n x (C*S).
 * Errors: LELP_E_NULL (m, H, F_out), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 0), LELP_E_SHAPE_MISMATCH, LELP_E_NONFINITE,
 * LELP_E_NUMERICAL, LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_model_project(const lelp_model* m, const float* H, int64_t n,
                                int64_t d, float* F_out);
/* Hard pseudo-subclass of each example within its own class:
 * out[i] = argmax_s f_{y_i,s} (ties: lowest s), in [0, S).
 * Errors: LELP_E_NULL (m, H, labels, out), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 0), LELP_E_SHAPE_MISMATCH, LELP_E_LABEL_RANGE,
 * LELP_E_NONFINITE, LELP_E_NUMERICAL, LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_model_assign(const lelp_model* m, const float* H, const int32_t* labels,
                               int64_t n, int64_t d, int32_t* out);
/* Mean within-class entropy of softmax_s(f) on a caller batch (each row
 * in its own class) at a given beta (> 0), in nats.
 * Errors: LELP_E_NULL (m, H, labels, entropy), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 1, beta), LELP_E_SHAPE_MISMATCH,
 * LELP_E_LABEL_RANGE, LELP_E_NONFINITE, LELP_E_NUMERICAL, LELP_E_NOMEM.
 * Since v0.1. */
LELP_API int lelp_model_mean_entropy(const lelp_model* m, const float* H,
                                     const int32_t* labels, int64_t n, int64_t d,
                                     double beta, double* entropy);
/* The beta at which lelp_model_mean_entropy on this batch equals
 * fraction * log S (fraction in [0.01, 0.99]); monotone bisection.
 * Errors: LELP_E_NULL (m, H, labels, beta), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 1, fraction), LELP_E_SHAPE_MISMATCH,
 * LELP_E_LABEL_RANGE, LELP_E_NONFINITE, LELP_E_NUMERICAL (no root),
 * LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_model_estimate_beta(const lelp_model* m, const float* H,
                                      const int32_t* labels, int64_t n, int64_t d,
                                      double fraction, double* beta);
/* A new model equal to m but with a fixed beta (> 0). m is unchanged.
 * Errors: LELP_E_NULL (m, out), LELP_E_INVALID_HANDLE, LELP_E_INVALID_ARG
 * (beta), LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_model_with_beta(const lelp_model* m, double beta, lelp_model** out);

/* Bytes lelp_model_serialize writes (docs/format.md).
 * Errors: LELP_E_NULL (m, size), LELP_E_INVALID_HANDLE. Since v0.1. */
LELP_API int lelp_model_serialized_size(const lelp_model* m, size_t* size);
/* Writes the model into dst (capacity bytes); *written (may be NULL)
 * receives the byte count.
 * Errors: LELP_E_NULL (m, dst), LELP_E_INVALID_HANDLE,
 * LELP_E_BUFFER_TOO_SMALL. Since v0.1. */
LELP_API int lelp_model_serialize(const lelp_model* m, void* dst, size_t capacity,
                                  size_t* written);
/* A new model from a serialized one. A truncated, corrupt or foreign buffer
 * is refused and never read past `size`.
 * Errors: LELP_E_NULL (out, src), LELP_E_INVALID_HANDLE (alloc),
 * LELP_E_FORMAT, LELP_E_VERSION, LELP_E_CHECKSUM, LELP_E_TRUNCATED,
 * LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_model_load(lelp_model** out, const void* src, size_t size,
                             const lelp_allocator* alloc);
/* lelp_model_serialize into a file, written atomically.
 * Errors: those of lelp_model_serialize, LELP_E_NULL (path), LELP_E_NOMEM,
 * LELP_E_IO. Since v0.1. */
LELP_API int lelp_model_save_path(const lelp_model* m, const char* path);
/* lelp_model_load from a file.
 * Errors: those of lelp_model_load, LELP_E_NULL (path), LELP_E_IO. Since v0.1. */
LELP_API int lelp_model_load_path(lelp_model** out, const char* path,
                                  const lelp_allocator* alloc);

/* ------------------------------------------------------------------------ */
/* Loss: student loss and gradient (BLAS-free)                                */
/* ------------------------------------------------------------------------ */
/* Creates a loss for student logits of width C*S (C >= 1, S >= 1,
 * C*S <= 2^24). alloc may be NULL.
 * Errors: LELP_E_NULL (out), LELP_E_INVALID_ARG (C, S), LELP_E_INVALID_HANDLE
 * (alloc), LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_loss_create(lelp_loss** out, int64_t C, int64_t S,
                              const lelp_allocator* alloc);
/* Frees a loss; NULL (or a pointer that is not a live loss) is a no-op.
 * Errors: none. Since v0.1. */
LELP_API void lelp_loss_free(lelp_loss* l);
/* Sets an integer loss parameter (LELP_LOSS_REDUCTION, _KIND).
 * Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_PARAM_UNSUPPORTED,
 * LELP_E_PARAM_RANGE. Since v0.1. */
LELP_API int lelp_loss_set_int(lelp_loss* l, int param, int64_t value);
/* Sets a real loss parameter (LELP_LOSS_TAU, _ALPHA, _DKD_*, _AUX_TEMPERATURE).
 * Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_PARAM_UNSUPPORTED,
 * LELP_E_PARAM_RANGE (NaN included). Since v0.1. */
LELP_API int lelp_loss_set_double(lelp_loss* l, int param, double value);
/* Reads an integer loss parameter into *value.
 * Errors: LELP_E_NULL (l, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_loss_get_int(const lelp_loss* l, int param, int64_t* value);
/* Reads a real loss parameter into *value.
 * Errors: LELP_E_NULL (l, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_loss_get_double(const lelp_loss* l, int param, double* value);
/* L = (1-alpha)*tau^2*KL(t || softmax(u/tau)) + alpha*CE(y, class marginal of
 * softmax(u)), reduced over the batch. U, T, grad: n x (C*S) float32.
 * T may be NULL only if alpha == 1 (or for LELP_LOSS_KIND_SUBCLASS_AUX);
 * labels may be NULL only if alpha == 0 and the kind is not DKD; weights
 * (n, finite, >= 0) may be NULL; grad may be NULL (value only). *value
 * receives L; grad receives dL/du. No allocation per call: the batch-coupled
 * LELP_LOSS_KIND_SUBCLASS_AUX allocates at its first batch (and for a larger
 * one) and keeps its buffers. See docs/method.md for the other kinds.
 * Errors: LELP_E_NULL (l, U, value, or a T / labels the settings need),
 * LELP_E_INVALID_HANDLE, LELP_E_INVALID_ARG (n, a negative weight, weights
 * summing to 0 with mean reduction), LELP_E_PARAM_COMBINATION (DKD with
 * S != 1, weights with the auxiliary loss), LELP_E_NONFINITE,
 * LELP_E_LABEL_RANGE, LELP_E_INVALID_TARGETS, LELP_E_NUMERICAL (a loss that
 * is not finite), LELP_E_NOMEM (auxiliary loss only). Since v0.1. */
LELP_API int lelp_loss_compute(const lelp_loss* l, const float* U, const float* T,
                               const int32_t* labels, const float* weights, int64_t n,
                               double* value, float* grad);

/* ------------------------------------------------------------------------ */
/* Embedding compression (Ding & Lerch, arXiv 2402.06761)                     */
/* ------------------------------------------------------------------------ */
/* A trainable linear map e' = A e + a (A: k x dt) with a linear head on e'
 * (C outputs), trained on the target labels while the teacher stays frozen;
 * the student's features f (width k) are pulled toward stopgrad(e'). One
 * thread at a time per compressor. Creates one for teacher_dim dt and
 * student_dim k (each 1 .. 2^20, k*dt*8 <= 2^40 bytes) and C classes.
 * Errors: LELP_E_NULL (out), LELP_E_INVALID_ARG, LELP_E_INVALID_HANDLE
 * (alloc), LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_compressor_create(lelp_compressor** out, int64_t teacher_dim, int64_t student_dim,
                                    int64_t C, const lelp_allocator* alloc);
/* Frees a compressor; NULL (or a pointer that is not a live compressor) is
 * a no-op. Errors: none. Since v0.1. */
LELP_API void lelp_compressor_free(lelp_compressor* c);
/* Sets an integer compressor parameter (LELP_COMPRESSOR_DISTANCE,
 * _OPTIMIZER, _MULTILABEL, _SEED).
 * Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_PARAM_UNSUPPORTED,
 * LELP_E_PARAM_RANGE, LELP_E_STAGE (fixed after the first step). Since v0.1. */
LELP_API int lelp_compressor_set_int(lelp_compressor* c, int param, int64_t value);
/* Sets a real compressor parameter (LR, WEIGHT_DECAY, MOMENTUM, ADAM_*).
 * Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE, LELP_E_PARAM_UNSUPPORTED,
 * LELP_E_PARAM_RANGE. Since v0.1. */
LELP_API int lelp_compressor_set_double(lelp_compressor* c, int param, double value);
/* Reads an integer compressor parameter into *value.
 * Errors: LELP_E_NULL (c, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_compressor_get_int(const lelp_compressor* c, int param, int64_t* value);
/* Reads a real compressor parameter into *value.
 * Errors: LELP_E_NULL (c, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Since v0.1. */
LELP_API int lelp_compressor_get_double(const lelp_compressor* c, int param, double* value);
/* One optimizer step on the head's mean loss over the batch: softmax CE with
 * int labels (n), or -- multi-label compressors -- sigmoid BCE with Y an
 * n x C matrix of 0/1 targets. E is n x teacher_dim. *loss receives the
 * batch loss before the step. Exactly one of labels / Y must be given.
 * Errors: LELP_E_NULL (c, E, loss, the labels or Y needed),
 * LELP_E_INVALID_HANDLE, LELP_E_INVALID_ARG (n < 1),
 * LELP_E_PARAM_COMBINATION (labels and Y mixed up), LELP_E_NONFINITE,
 * LELP_E_LABEL_RANGE, LELP_E_INVALID_TARGETS (Y outside [0, 1]),
 * LELP_E_NUMERICAL (a loss that is not finite; no step taken), LELP_E_NOMEM.
 * Since v0.1. */
LELP_API int lelp_compressor_step(lelp_compressor* c, const float* E, const int32_t* labels,
                                  const float* Y, int64_t n, double* loss);
/* e' = A e + a for a batch: out is n x student_dim.
 * Errors: LELP_E_NULL (c, E, out), LELP_E_INVALID_HANDLE, LELP_E_INVALID_ARG
 * (n < 1), LELP_E_NONFINITE, LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_compressor_compress(const lelp_compressor* c, const float* E, int64_t n,
                                      float* out);
/* Student loss against stopgrad(e'): F n x student_dim, E n x teacher_dim;
 * *value and grad = dL/dF (n x student_dim, may be NULL).
 * Errors: LELP_E_NULL (c, F, E, value), LELP_E_INVALID_HANDLE,
 * LELP_E_INVALID_ARG (n < 1), LELP_E_NONFINITE, LELP_E_NUMERICAL,
 * LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_compressor_student_loss(const lelp_compressor* c, const float* F,
                                          const float* E, int64_t n, double* value,
                                          float* grad);
/* Copies of the parameters: A (k x dt), a (k), head W (C x k), head bias (C);
 * each output may be NULL (not copied).
 * Errors: LELP_E_NULL (c), LELP_E_INVALID_HANDLE. Since v0.1. */
LELP_API int lelp_compressor_weights(const lelp_compressor* c, float* A, float* a, float* W,
                                     float* bias);
/* Bytes lelp_compressor_serialize writes (magic LELPCOMP, docs/format.md;
 * optimizer state included).
 * Errors: LELP_E_NULL (c, size), LELP_E_INVALID_HANDLE. Since v0.1. */
LELP_API int lelp_compressor_serialized_size(const lelp_compressor* c, size_t* size);
/* Writes the compressor into dst (capacity bytes); *written may be NULL.
 * Errors: LELP_E_NULL (c, dst), LELP_E_INVALID_HANDLE,
 * LELP_E_BUFFER_TOO_SMALL. Since v0.1. */
LELP_API int lelp_compressor_serialize(const lelp_compressor* c, void* dst, size_t capacity,
                                       size_t* written);
/* A new compressor from a serialized one; never reads past size.
 * Errors: LELP_E_NULL (out, src), LELP_E_INVALID_HANDLE (alloc),
 * LELP_E_FORMAT, LELP_E_VERSION, LELP_E_CHECKSUM, LELP_E_TRUNCATED,
 * LELP_E_NOMEM. Since v0.1. */
LELP_API int lelp_compressor_load(lelp_compressor** out, const void* src, size_t size,
                                  const lelp_allocator* alloc);
/* lelp_compressor_serialize into a file, written atomically.
 * Errors: those of lelp_compressor_serialize, LELP_E_NULL (path),
 * LELP_E_NOMEM, LELP_E_IO. Since v0.1. */
LELP_API int lelp_compressor_save_path(const lelp_compressor* c, const char* path);
/* lelp_compressor_load from a file.
 * Errors: those of lelp_compressor_load, LELP_E_NULL (path), LELP_E_IO.
 * Since v0.1. */
LELP_API int lelp_compressor_load_path(lelp_compressor** out, const char* path,
                                       const lelp_allocator* alloc);

/* ------------------------------------------------------------------------ */
/* Prediction and plain KD helpers (BLAS-free; link alone on edge devices)    */
/* ------------------------------------------------------------------------ */
/* Class log-probabilities from S*C student logits: out[i*C + c] =
 * logsumexp_s U[i, c*S+s] - logsumexp U[i, :].
 * Errors: LELP_E_NULL (U, out), LELP_E_INVALID_ARG (n < 0, C, S, sizes that
 * overflow), LELP_E_NONFINITE. Since v0.1. */
LELP_API int lelp_predict_log_proba(const float* U, int64_t n, int64_t C, int64_t S,
                                    float* out);
/* Argmax class of each row (ties: lowest c).
 * Errors: LELP_E_NULL (U, out), LELP_E_INVALID_ARG, LELP_E_NONFINITE.
 * Since v0.1. */
LELP_API int lelp_predict_class(const float* U, int64_t n, int64_t C, int64_t S,
                                int32_t* out);
/* Vanilla-KD targets softmax(Z/tau): Z and out n x C. With S = 1 these are
 * the targets of Hinton's KD for lelp_loss_compute.
 * Errors: LELP_E_NULL (Z, out), LELP_E_INVALID_ARG (n, C, tau outside
 * [0.01, 100]), LELP_E_NONFINITE. Since v0.1. */
LELP_API int lelp_softmax_targets(const float* Z, int64_t n, int64_t C, double tau,
                                  float* out);

/* ------------------------------------------------------------------------ */
/* Introspection: what a buffer, file or handle is                            */
/* ------------------------------------------------------------------------ */
/* Kinds (LELP_INFO_KIND). */
enum lelp_kind {
    LELP_KIND_MODEL      = 1,
    LELP_KIND_BUILDER    = 2, /* a builder, or its serialized partial state */
    LELP_KIND_COMPRESSOR = 3,
    LELP_KIND_LOSS       = 4  /* handles only: a loss is never serialized */
};

/* Integer keys of every lelp_info. The kind's settings are read with their
 * parameter ids (LELP_BUILDER_*, LELP_MODEL_*, LELP_LOSS_*,
 * LELP_COMPRESSOR_*, each through the getter of its type). */
enum lelp_info_key {
    LELP_INFO_KIND           = 1, /* enum lelp_kind */
    LELP_INFO_FORMAT_VERSION = 2, /* the buffer's format version (a handle: the one it was
                                     loaded from, else the one it would write; 0 for a loss) */
    LELP_INFO_WRITER_VERSION = 3, /* the writing library's lelp_version_number() (a handle
                                     not loaded from a buffer: this library's) */
    LELP_INFO_DIM            = 4, /* d; a compressor's teacher_dim; 0 for a loss */
    LELP_INFO_NUM_CLASSES    = 5, /* C */
    LELP_INFO_SUBCLASSES     = 6, /* S; 0 for a compressor */
    LELP_INFO_STUDENT_DIM    = 7  /* a compressor's student_dim; 0 otherwise */
};

/* Describes a serialized buffer (model, builder state or compressor). It
 * is validated as the kind's loader would (the cost of a load); the
 * description is allocated through alloc (may be NULL).
 * Errors: LELP_E_NULL (out, src), LELP_E_INVALID_HANDLE (alloc),
 * LELP_E_TRUNCATED, LELP_E_FORMAT (unknown magic, or the loader's),
 * LELP_E_VERSION, LELP_E_CHECKSUM, LELP_E_NOMEM. Added after v0.1.0. */
LELP_API int lelp_inspect(lelp_info** out, const void* src, size_t size,
                          const lelp_allocator* alloc);
/* lelp_inspect on a file's bytes.
 * Errors: those of lelp_inspect, LELP_E_NULL (path), LELP_E_IO. Added after v0.1.0. */
LELP_API int lelp_inspect_path(lelp_info** out, const char* path, const lelp_allocator* alloc);
/* Describes a live handle (allocated through the handle's allocator).
 * Errors: LELP_E_NULL (handle, out), LELP_E_INVALID_HANDLE, LELP_E_NOMEM.
 * Added after v0.1.0. */
LELP_API int lelp_model_inspect(const lelp_model* m, lelp_info** out);
/* The same for a builder. Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE,
 * LELP_E_NOMEM. Added after v0.1.0. */
LELP_API int lelp_builder_inspect(const lelp_builder* b, lelp_info** out);
/* The same for a compressor. Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE,
 * LELP_E_NOMEM. Added after v0.1.0. */
LELP_API int lelp_compressor_inspect(const lelp_compressor* c, lelp_info** out);
/* The same for a loss. Errors: LELP_E_NULL, LELP_E_INVALID_HANDLE,
 * LELP_E_NOMEM. Added after v0.1.0. */
LELP_API int lelp_loss_inspect(const lelp_loss* l, lelp_info** out);
/* An integer entry (LELP_INFO_* or an integer parameter id of the kind).
 * Errors: LELP_E_NULL (info, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED (no such integer entry for this kind).
 * Added after v0.1.0. */
LELP_API int lelp_info_get_int(const lelp_info* info, int key, int64_t* value);
/* A real entry (a real parameter id of the kind).
 * Errors: LELP_E_NULL (info, value), LELP_E_INVALID_HANDLE,
 * LELP_E_PARAM_UNSUPPORTED. Added after v0.1.0. */
LELP_API int lelp_info_get_double(const lelp_info* info, int key, double* value);
/* Frees a description; NULL (or a pointer that is not a live description)
 * is a no-op. Errors: none. Added after v0.1.0. */
LELP_API void lelp_info_free(lelp_info* info);

#ifdef __cplusplus
}
#endif
#endif /* LELP_H */
