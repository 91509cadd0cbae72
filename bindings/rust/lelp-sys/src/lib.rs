// SPDX-License-Identifier: MIT
//! Raw declarations of every function of liblelp's public C API
//! (include/lelp.h), written against the 0.1 ABI, and every constant of its
//! enums. The `extern` block was generated from the preprocessed header and
//! committed:
//!     /usr/bin/python3 bindings/rust/lelp-sys/gen_sys.py > /tmp/decls.rs
//! (then pasted between `extern "C" {` and `}`); the handle types and the
//! constants above it are maintained by hand. The `lelp` crate's test
//! `tests/api.rs` checks both against include/lelp.h (every function declared
//! and linked, every constant's value), so drift fails `make check`.
//!
//! The build script finds the library through `$LELP_LIB_DIR`, else
//! `pkg-config --libs-only-L lelp`, else the source tree's `build/`.
#![allow(non_camel_case_types, non_snake_case)]
use std::os::raw::{c_char, c_int, c_void};

#[repr(C)]
pub struct lelp_builder {
    _private: [u8; 0],
}
#[repr(C)]
pub struct lelp_model {
    _private: [u8; 0],
}
#[repr(C)]
pub struct lelp_loss {
    _private: [u8; 0],
}
#[repr(C)]
pub struct lelp_allocator {
    _private: [u8; 0],
}
#[repr(C)]
pub struct lelp_compressor {
    _private: [u8; 0],
}
#[repr(C)]
pub struct lelp_info {
    _private: [u8; 0],
}

pub type lelp_alloc_fn = Option<unsafe extern "C" fn(opaque: *mut c_void, size: usize, align: usize) -> *mut c_void>;
pub type lelp_free_fn = Option<unsafe extern "C" fn(opaque: *mut c_void, ptr: *mut c_void, size: usize)>;

pub const LELP_VERSION_MAJOR: u32 = 0;
pub const LELP_VERSION_MINOR: u32 = 1;
pub const LELP_VERSION_PATCH: u32 = 0;
pub const LELP_VERSION_NUMBER: u32 = LELP_VERSION_MAJOR * 10000 + LELP_VERSION_MINOR * 100 + LELP_VERSION_PATCH;

// status codes (enum lelp_status_code)
pub const LELP_OK: c_int = 0;
pub const LELP_E_NULL: c_int = -1;
pub const LELP_E_INVALID_ARG: c_int = -2;
pub const LELP_E_INVALID_HANDLE: c_int = -3;
pub const LELP_E_NOMEM: c_int = -10;
pub const LELP_E_PARAM_UNSUPPORTED: c_int = -20;
pub const LELP_E_PARAM_RANGE: c_int = -21;
pub const LELP_E_PARAM_COMBINATION: c_int = -22;
pub const LELP_E_STAGE: c_int = -30;
pub const LELP_E_SHAPE_MISMATCH: c_int = -40;
pub const LELP_E_BUFFER_TOO_SMALL: c_int = -41;
pub const LELP_E_LABEL_RANGE: c_int = -42;
pub const LELP_E_NONFINITE: c_int = -50;
pub const LELP_E_TOO_FEW_SAMPLES: c_int = -51;
pub const LELP_E_RANK_DEFICIENT: c_int = -52;
pub const LELP_E_SOLVER: c_int = -53;
pub const LELP_E_NUMERICAL: c_int = -54;
pub const LELP_E_INVALID_TARGETS: c_int = -55;
pub const LELP_E_FORMAT: c_int = -60;
pub const LELP_E_VERSION: c_int = -61;
pub const LELP_E_CHECKSUM: c_int = -62;
pub const LELP_E_TRUNCATED: c_int = -63;
pub const LELP_E_IO: c_int = -70;
pub const LELP_E_INTERNAL: c_int = -99;

// parameter ids (enum lelp_param)
pub const LELP_BUILDER_NULL_SPACE: c_int = 101;
pub const LELP_BUILDER_ROTATE: c_int = 102;
pub const LELP_BUILDER_SEED: c_int = 103;
pub const LELP_BUILDER_BETA: c_int = 104;
pub const LELP_BUILDER_ENTROPY_FRACTION: c_int = 105;
pub const LELP_BUILDER_SOLVER: c_int = 106;
pub const LELP_BUILDER_SKETCH_SIZE: c_int = 107;
pub const LELP_BUILDER_PRECISION: c_int = 108;
pub const LELP_BUILDER_GRAM_FORM: c_int = 109;
pub const LELP_BUILDER_BETA_SAMPLE: c_int = 110;
pub const LELP_BUILDER_LABELLER: c_int = 111;
pub const LELP_MODEL_DIM: c_int = 201;
pub const LELP_MODEL_NUM_CLASSES: c_int = 202;
pub const LELP_MODEL_SUBCLASSES: c_int = 203;
pub const LELP_MODEL_SEED: c_int = 204;
pub const LELP_MODEL_BETA: c_int = 205;
pub const LELP_MODEL_NULL_SPACE: c_int = 206;
pub const LELP_MODEL_ROTATE: c_int = 207;
pub const LELP_MODEL_HEAD_RANK: c_int = 208;
pub const LELP_MODEL_ENTROPY_FRACTION: c_int = 209;
pub const LELP_MODEL_AUTO_BETA: c_int = 210;
pub const LELP_MODEL_SOLVER: c_int = 211;
pub const LELP_MODEL_LABELLER: c_int = 212;
pub const LELP_LOSS_TAU: c_int = 301;
pub const LELP_LOSS_ALPHA: c_int = 302;
pub const LELP_LOSS_REDUCTION: c_int = 303;
pub const LELP_LOSS_KIND: c_int = 304;
pub const LELP_LOSS_DKD_TARGET_WEIGHT: c_int = 305;
pub const LELP_LOSS_DKD_NONTARGET_WEIGHT: c_int = 306;
pub const LELP_LOSS_AUX_TEMPERATURE: c_int = 307;
pub const LELP_COMPRESSOR_DISTANCE: c_int = 401;
pub const LELP_COMPRESSOR_OPTIMIZER: c_int = 402;
pub const LELP_COMPRESSOR_LR: c_int = 403;
pub const LELP_COMPRESSOR_WEIGHT_DECAY: c_int = 404;
pub const LELP_COMPRESSOR_MOMENTUM: c_int = 405;
pub const LELP_COMPRESSOR_ADAM_BETA1: c_int = 406;
pub const LELP_COMPRESSOR_ADAM_BETA2: c_int = 407;
pub const LELP_COMPRESSOR_MULTILABEL: c_int = 408;
pub const LELP_COMPRESSOR_SEED: c_int = 409;

// values of enum lelp_loss_kind (passed to the *_set_int calls as i64)
pub const LELP_LOSS_KIND_KL: i64 = 0;
pub const LELP_LOSS_KIND_DKD: i64 = 1;
pub const LELP_LOSS_KIND_SUBCLASS_AUX: i64 = 2;

// values of enum lelp_distance (passed to the *_set_int calls as i64)
pub const LELP_DISTANCE_MSE: i64 = 0;
pub const LELP_DISTANCE_COSINE: i64 = 1;
pub const LELP_DISTANCE_DCOR: i64 = 2;

// values of enum lelp_optimizer (passed to the *_set_int calls as i64)
pub const LELP_OPTIMIZER_SGD: i64 = 0;
pub const LELP_OPTIMIZER_ADAM: i64 = 1;

// values of enum lelp_limit (lelp_limit_set / lelp_limit_get)
pub const LELP_LIMIT_LOAD_BYTES: c_int = 1;

// values of enum lelp_solver (passed to the *_set_int calls as i64)
pub const LELP_SOLVER_EXACT: i64 = 0;
pub const LELP_SOLVER_SKETCH: i64 = 1;
pub const LELP_LABELLER_PROJECTION: i64 = 0;
pub const LELP_LABELLER_KMEANS: i64 = 1;

// values of enum lelp_precision (passed to the *_set_int calls as i64)
pub const LELP_PRECISION_FLOAT64: i64 = 0;
pub const LELP_PRECISION_FLOAT32: i64 = 1;

// values of enum lelp_reduction (passed to the *_set_int calls as i64)
pub const LELP_REDUCTION_MEAN: i64 = 0;
pub const LELP_REDUCTION_SUM: i64 = 1;

// values of enum lelp_kind (read through lelp_info_get_int as i64)
pub const LELP_KIND_MODEL: i64 = 1;
pub const LELP_KIND_BUILDER: i64 = 2;
pub const LELP_KIND_COMPRESSOR: i64 = 3;
pub const LELP_KIND_LOSS: i64 = 4;

// keys of enum lelp_info_key (lelp_info_get_int)
pub const LELP_INFO_KIND: c_int = 1;
pub const LELP_INFO_FORMAT_VERSION: c_int = 2;
pub const LELP_INFO_WRITER_VERSION: c_int = 3;
pub const LELP_INFO_DIM: c_int = 4;
pub const LELP_INFO_NUM_CLASSES: c_int = 5;
pub const LELP_INFO_SUBCLASSES: c_int = 6;
pub const LELP_INFO_STUDENT_DIM: c_int = 7;
extern "C" {
    pub fn lelp_version_number() -> u32;
    pub fn lelp_version_string() -> *const c_char;
    pub fn lelp_status_string(status: c_int) -> *const c_char;
    pub fn lelp_last_error() -> *const c_char;
    pub fn lelp_allocator_create(out: *mut *mut lelp_allocator, alloc_fn: lelp_alloc_fn, free_fn: lelp_free_fn, opaque: *mut c_void) -> c_int;
    pub fn lelp_allocator_free(a: *mut lelp_allocator);
    pub fn lelp_param_bounds(param: c_int, lo: *mut f64, hi: *mut f64) -> c_int;
    pub fn lelp_limit_set(limit: c_int, value: i64) -> c_int;
    pub fn lelp_limit_get(limit: c_int, value: *mut i64) -> c_int;
    pub fn lelp_builder_create(out: *mut *mut lelp_builder, d: i64, C: i64, S: i64, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_builder_free(b: *mut lelp_builder);
    pub fn lelp_builder_set_int(b: *mut lelp_builder, param: c_int, value: i64) -> c_int;
    pub fn lelp_builder_set_double(b: *mut lelp_builder, param: c_int, value: f64) -> c_int;
    pub fn lelp_builder_get_int(b: *const lelp_builder, param: c_int, value: *mut i64) -> c_int;
    pub fn lelp_builder_get_double(b: *const lelp_builder, param: c_int, value: *mut f64) -> c_int;
    pub fn lelp_builder_update(b: *mut lelp_builder, H: *const f32, labels: *const i32, n: i64, d: i64) -> c_int;
    pub fn lelp_builder_merge(dst: *mut lelp_builder, src: *const lelp_builder) -> c_int;
    pub fn lelp_builder_set_head(b: *mut lelp_builder, W: *const f32, C: i64, d: i64) -> c_int;
    pub fn lelp_builder_count(b: *const lelp_builder, c: i64, count: *mut i64) -> c_int;
    pub fn lelp_builder_fit(b: *const lelp_builder, out: *mut *mut lelp_model) -> c_int;
    pub fn lelp_builder_serialized_size(b: *const lelp_builder, size: *mut usize) -> c_int;
    pub fn lelp_builder_serialize(b: *const lelp_builder, dst: *mut c_void, capacity: usize, written: *mut usize) -> c_int;
    pub fn lelp_builder_load(out: *mut *mut lelp_builder, src: *const c_void, size: usize, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_builder_save_path(b: *const lelp_builder, path: *const c_char) -> c_int;
    pub fn lelp_builder_load_path(out: *mut *mut lelp_builder, path: *const c_char, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_model_free(m: *mut lelp_model);
    pub fn lelp_model_get_int(m: *const lelp_model, key: c_int, value: *mut i64) -> c_int;
    pub fn lelp_model_get_double(m: *const lelp_model, key: c_int, value: *mut f64) -> c_int;
    pub fn lelp_model_eigenvalues(m: *const lelp_model, out: *mut f64, capacity: i64) -> c_int;
    pub fn lelp_model_explained_variance_ratio(m: *const lelp_model, out: *mut f64, capacity: i64) -> c_int;
    pub fn lelp_model_components(m: *const lelp_model, out: *mut f64, capacity: i64) -> c_int;
    pub fn lelp_model_means(m: *const lelp_model, out: *mut f64, capacity: i64) -> c_int;
    pub fn lelp_model_offsets(m: *const lelp_model, out: *mut f64, capacity: i64) -> c_int;
    pub fn lelp_model_targets_from_logits(m: *const lelp_model, H: *const f32, Z: *const f32, n: i64, d: i64, tau: f64, T_out: *mut f32) -> c_int;
    pub fn lelp_model_targets_from_labels(m: *const lelp_model, H: *const f32, labels: *const i32, n: i64, d: i64, smoothing: f64, T_out: *mut f32) -> c_int;
    pub fn lelp_model_project(m: *const lelp_model, H: *const f32, n: i64, d: i64, F_out: *mut f32) -> c_int;
    pub fn lelp_model_assign(m: *const lelp_model, H: *const f32, labels: *const i32, n: i64, d: i64, out: *mut i32) -> c_int;
    pub fn lelp_model_mean_entropy(m: *const lelp_model, H: *const f32, labels: *const i32, n: i64, d: i64, beta: f64, entropy: *mut f64) -> c_int;
    pub fn lelp_model_estimate_beta(m: *const lelp_model, H: *const f32, labels: *const i32, n: i64, d: i64, fraction: f64, beta: *mut f64) -> c_int;
    pub fn lelp_model_with_beta(m: *const lelp_model, beta: f64, out: *mut *mut lelp_model) -> c_int;
    pub fn lelp_model_serialized_size(m: *const lelp_model, size: *mut usize) -> c_int;
    pub fn lelp_model_serialize(m: *const lelp_model, dst: *mut c_void, capacity: usize, written: *mut usize) -> c_int;
    pub fn lelp_model_load(out: *mut *mut lelp_model, src: *const c_void, size: usize, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_model_save_path(m: *const lelp_model, path: *const c_char) -> c_int;
    pub fn lelp_model_load_path(out: *mut *mut lelp_model, path: *const c_char, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_loss_create(out: *mut *mut lelp_loss, C: i64, S: i64, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_loss_free(l: *mut lelp_loss);
    pub fn lelp_loss_set_int(l: *mut lelp_loss, param: c_int, value: i64) -> c_int;
    pub fn lelp_loss_set_double(l: *mut lelp_loss, param: c_int, value: f64) -> c_int;
    pub fn lelp_loss_get_int(l: *const lelp_loss, param: c_int, value: *mut i64) -> c_int;
    pub fn lelp_loss_get_double(l: *const lelp_loss, param: c_int, value: *mut f64) -> c_int;
    pub fn lelp_loss_compute(l: *const lelp_loss, U: *const f32, T: *const f32, labels: *const i32, weights: *const f32, n: i64, value: *mut f64, grad: *mut f32) -> c_int;
    pub fn lelp_compressor_create(out: *mut *mut lelp_compressor, teacher_dim: i64, student_dim: i64, C: i64, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_compressor_free(c: *mut lelp_compressor);
    pub fn lelp_compressor_set_int(c: *mut lelp_compressor, param: c_int, value: i64) -> c_int;
    pub fn lelp_compressor_set_double(c: *mut lelp_compressor, param: c_int, value: f64) -> c_int;
    pub fn lelp_compressor_get_int(c: *const lelp_compressor, param: c_int, value: *mut i64) -> c_int;
    pub fn lelp_compressor_get_double(c: *const lelp_compressor, param: c_int, value: *mut f64) -> c_int;
    pub fn lelp_compressor_step(c: *mut lelp_compressor, E: *const f32, labels: *const i32, Y: *const f32, n: i64, loss: *mut f64) -> c_int;
    pub fn lelp_compressor_compress(c: *const lelp_compressor, E: *const f32, n: i64, out: *mut f32) -> c_int;
    pub fn lelp_compressor_student_loss(c: *const lelp_compressor, F: *const f32, E: *const f32, n: i64, value: *mut f64, grad: *mut f32) -> c_int;
    pub fn lelp_compressor_weights(c: *const lelp_compressor, A: *mut f32, a: *mut f32, W: *mut f32, bias: *mut f32) -> c_int;
    pub fn lelp_compressor_serialized_size(c: *const lelp_compressor, size: *mut usize) -> c_int;
    pub fn lelp_compressor_serialize(c: *const lelp_compressor, dst: *mut c_void, capacity: usize, written: *mut usize) -> c_int;
    pub fn lelp_compressor_load(out: *mut *mut lelp_compressor, src: *const c_void, size: usize, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_compressor_save_path(c: *const lelp_compressor, path: *const c_char) -> c_int;
    pub fn lelp_compressor_load_path(out: *mut *mut lelp_compressor, path: *const c_char, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_predict_log_proba(U: *const f32, n: i64, C: i64, S: i64, out: *mut f32) -> c_int;
    pub fn lelp_predict_class(U: *const f32, n: i64, C: i64, S: i64, out: *mut i32) -> c_int;
    pub fn lelp_softmax_targets(Z: *const f32, n: i64, C: i64, tau: f64, out: *mut f32) -> c_int;
    pub fn lelp_inspect(out: *mut *mut lelp_info, src: *const c_void, size: usize, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_inspect_path(out: *mut *mut lelp_info, path: *const c_char, alloc: *const lelp_allocator) -> c_int;
    pub fn lelp_model_inspect(m: *const lelp_model, out: *mut *mut lelp_info) -> c_int;
    pub fn lelp_builder_inspect(b: *const lelp_builder, out: *mut *mut lelp_info) -> c_int;
    pub fn lelp_compressor_inspect(c: *const lelp_compressor, out: *mut *mut lelp_info) -> c_int;
    pub fn lelp_loss_inspect(l: *const lelp_loss, out: *mut *mut lelp_info) -> c_int;
    pub fn lelp_info_get_int(info: *const lelp_info, key: c_int, value: *mut i64) -> c_int;
    pub fn lelp_info_get_double(info: *const lelp_info, key: c_int, value: *mut f64) -> c_int;
    pub fn lelp_info_free(info: *mut lelp_info);
}
