// SPDX-License-Identifier: MIT
//! Safe Rust bindings of liblelp: few-class knowledge distillation with LELP.
//!
//! RAII handles (`Drop` frees them), `Result<T, Error>` carrying the C status
//! and the library's message, slices in and out with their lengths checked
//! before any call. Thread rules follow the C documentation (include/lelp.h):
//! a [`Model`] is immutable and is `Send + Sync`; a [`Builder`], [`Loss`] or
//! [`Compressor`] may move between threads (`Send`) but is used by one thread
//! at a time, so it is not `Sync`:
//!
//! ```compile_fail,E0277
//! fn sync<T: Sync>() {}
//! sync::<lelp::Builder>();
//! ```
//! ```compile_fail,E0277
//! fn sync<T: Sync>() {}
//! sync::<lelp::Loss>();
//! ```
//! ```compile_fail,E0277
//! fn sync<T: Sync>() {}
//! sync::<lelp::Compressor>();
//! ```
//!
//! A handle's sizes are read-only (they size the buffers passed to C):
//!
//! ```compile_fail,E0616
//! fn shrink(m: &mut lelp::Model) { m.s = 1; }
//! ```
//!
//! Every constructor first checks that the linked library is the 0.1 ABI this
//! crate was written for ([`version`]).
use lelp_sys as sys;
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_int;
use std::ptr;

pub use sys::{
    LELP_E_BUFFER_TOO_SMALL, LELP_E_CHECKSUM, LELP_E_FORMAT, LELP_E_INTERNAL, LELP_E_INVALID_ARG,
    LELP_E_INVALID_HANDLE, LELP_E_INVALID_TARGETS, LELP_E_IO, LELP_E_LABEL_RANGE, LELP_E_NOMEM, LELP_E_NONFINITE,
    LELP_E_NULL, LELP_E_NUMERICAL, LELP_E_PARAM_COMBINATION, LELP_E_PARAM_RANGE, LELP_E_PARAM_UNSUPPORTED,
    LELP_E_RANK_DEFICIENT, LELP_E_SHAPE_MISMATCH, LELP_E_SOLVER, LELP_E_STAGE, LELP_E_TOO_FEW_SAMPLES,
    LELP_E_TRUNCATED, LELP_E_VERSION,
};

/// A liblelp status code (`LELP_E_*`, re-exported by this crate) with the
/// library's message (`lelp_last_error()` and `lelp_status_string()`).
/// Errors found by the binding before calling C (slice lengths, a path with a
/// NUL, another library version) use the code the C library would use.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub code: i32,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "liblelp error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(status: c_int) -> Result<()> {
    if status == sys::LELP_OK {
        return Ok(());
    }
    // SAFETY: both return static or thread-local, NUL-terminated strings.
    let detail = unsafe { CStr::from_ptr(sys::lelp_last_error()) }.to_string_lossy().into_owned();
    let kind = unsafe { CStr::from_ptr(sys::lelp_status_string(status)) }.to_string_lossy().into_owned();
    Err(Error { code: status, message: if detail.is_empty() { kind } else { format!("{detail} [{kind}]") } })
}

fn err(code: c_int, message: String) -> Error {
    Error { code, message }
}

fn need(what: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(err(sys::LELP_E_SHAPE_MISMATCH, format!("{what} has {got} elements, {want} expected")))
    }
}

/// Rows of a row-major slice of width `width`, or an error if it is ragged.
fn rows(what: &str, len: usize, width: usize) -> Result<usize> {
    if width == 0 {
        return Err(err(sys::LELP_E_INVALID_ARG, format!("{what}: row width must be >= 1")));
    }
    need(what, len, len / width * width).map(|_| len / width)
}

fn cpath(path: &str) -> Result<CString> {
    CString::new(path).map_err(|_| err(sys::LELP_E_INVALID_ARG, "path contains a NUL byte".into()))
}

/// Ok if `version` (MAJOR*10000 + MINOR*100 + PATCH) is an ABI this crate
/// can use: the same major and, before 1.0, the same minor.
pub fn check_version(version: u32) -> Result<()> {
    let (major, minor, patch) = (version / 10000, (version / 100) % 100, version % 100);
    if major != sys::LELP_VERSION_MAJOR || (major == 0 && minor != sys::LELP_VERSION_MINOR) {
        return Err(err(
            sys::LELP_E_VERSION,
            format!(
                "liblelp {major}.{minor}.{patch} is linked; this crate needs liblelp {}.{}.x",
                sys::LELP_VERSION_MAJOR,
                sys::LELP_VERSION_MINOR
            ),
        ));
    }
    Ok(())
}

/// The linked library's version string, or an error if it is not the ABI
/// this crate was written for ([`check_version`]).
pub fn version() -> Result<String> {
    check_version(unsafe { sys::lelp_version_number() })?;
    Ok(unsafe { CStr::from_ptr(sys::lelp_version_string()) }.to_string_lossy().into_owned())
}

fn ensure_abi() -> Result<()> {
    version().map(|_| ())
}

/// Legal range (lo, hi) of a settable parameter id (`sys::LELP_*`).
pub fn param_bounds(param: i32) -> Result<(f64, f64)> {
    let (mut lo, mut hi) = (0.0, 0.0);
    check(unsafe { sys::lelp_param_bounds(param, &mut lo, &mut hi) })?;
    Ok((lo, hi))
}

fn bytes_of(size: impl Fn(&mut usize) -> c_int, ser: impl Fn(&mut [u8], &mut usize) -> c_int) -> Result<Vec<u8>> {
    let mut n = 0usize;
    check(size(&mut n))?;
    let mut buf = vec![0u8; n];
    let mut written = 0usize;
    check(ser(&mut buf, &mut written))?;
    buf.truncate(written);
    Ok(buf)
}

/// Integer entries of what `describe` (a `lelp_*_inspect` call) reports, in
/// the order of `keys`: the library's introspection, so no format byte is
/// read here.
fn inspect_ints<const N: usize>(describe: impl FnOnce(*mut *mut sys::lelp_info) -> c_int, keys: [c_int; N])
    -> Result<[usize; N]> {
    let mut info = ptr::null_mut();
    check(describe(&mut info))?;
    let mut out = [0usize; N];
    let mut status = sys::LELP_OK;
    for (o, k) in out.iter_mut().zip(keys) {
        let mut v = 0i64;
        status = unsafe { sys::lelp_info_get_int(info, k, &mut v) };
        if status != sys::LELP_OK {
            break;
        }
        *o = v as usize;
    }
    let result = check(status);
    unsafe { sys::lelp_info_free(info) };
    result.map(|_| out)
}

// ---- builder -------------------------------------------------------------------------

/// Eigen solver of a [`Builder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Solver {
    /// float64 co-moments and LAPACK (C*d*d doubles).
    Exact,
    /// Streaming Frequent Directions sketch with `l` rows per class (0 = automatic).
    Sketch(usize),
}

/// Options of [`Builder::new`].
#[derive(Debug, Clone)]
pub struct BuilderOptions {
    pub seed: u64,
    pub null_space: bool,
    pub rotate: bool,
    /// `None` = automatic beta.
    pub beta: Option<f64>,
    pub entropy_fraction: f64,
    pub solver: Solver,
    /// `true` = `LELP_PRECISION_FLOAT32`: the exact solver multiplies each
    /// block in float32 (SSYRK, ~2x faster, co-moments to ~1e-6 relative).
    pub float32_products: bool,
    /// `true` (default) = `LELP_BUILDER_GRAM_FORM`: the exact solver keeps a
    /// class with at most d/2 rows as rows and fits it from their Gram matrix.
    pub gram_form: bool,
    /// `LELP_BUILDER_BETA_SAMPLE`: rows per class kept for the automatic
    /// beta. `None` (default) = automatic (at most 16 MiB per class),
    /// `Some(0)` = none (the Gaussian model), `Some(k)` = k rows.
    pub beta_sample: Option<usize>,
}

impl Default for BuilderOptions {
    fn default() -> Self {
        BuilderOptions { seed: 0, null_space: true, rotate: true, beta: None, entropy_fraction: 0.5,
                         solver: Solver::Exact, float32_products: false, gram_form: true, beta_sample: None }
    }
}

/// Streaming per-class statistics (`lelp_builder`).
pub struct Builder {
    h: *mut sys::lelp_builder,
    d: usize,
    c: usize,
    s: usize,
}

// SAFETY: the C library allows a builder to be used from any one thread at a
// time; &mut self on every mutating call and the absence of Sync enforce it.
unsafe impl Send for Builder {}

impl Drop for Builder {
    fn drop(&mut self) {
        unsafe { sys::lelp_builder_free(self.h) }
    }
}

impl Builder {
    /// An empty builder for width-`d` embeddings, `c` classes, `s` pseudo-subclasses.
    pub fn new(d: usize, c: usize, s: usize, opts: &BuilderOptions) -> Result<Builder> {
        ensure_abi()?;
        if opts.seed > i64::MAX as u64 {
            return Err(err(sys::LELP_E_PARAM_RANGE, "seed must be below 2^63".into()));
        }
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_builder_create(&mut h, d as i64, c as i64, s as i64, ptr::null()) })?;
        let b = Builder { h, d, c, s };
        unsafe {
            let (solver, l) = match opts.solver {
                Solver::Exact => (sys::LELP_SOLVER_EXACT, 0),
                Solver::Sketch(l) => (sys::LELP_SOLVER_SKETCH, l as i64),
            };
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_SOLVER, solver))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_SKETCH_SIZE, l))?;
            let precision = if opts.float32_products { sys::LELP_PRECISION_FLOAT32 } else { sys::LELP_PRECISION_FLOAT64 };
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_PRECISION, precision))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_GRAM_FORM, opts.gram_form as i64))?;
            let sample = opts.beta_sample.map_or(-1, |k| i64::try_from(k).unwrap_or(i64::MAX));
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_BETA_SAMPLE, sample))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_SEED, opts.seed as i64))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_NULL_SPACE, opts.null_space as i64))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_ROTATE, opts.rotate as i64))?;
            check(sys::lelp_builder_set_double(b.h, sys::LELP_BUILDER_BETA, opts.beta.unwrap_or(0.0)))?;
            check(sys::lelp_builder_set_double(b.h, sys::LELP_BUILDER_ENTROPY_FRACTION, opts.entropy_fraction))?;
        }
        Ok(b)
    }

    /// A loaded builder with its (d, C, S) from the library's introspection;
    /// freed again if that fails.
    fn wrap(h: *mut sys::lelp_builder) -> Result<Builder> {
        let keys = [sys::LELP_INFO_DIM, sys::LELP_INFO_NUM_CLASSES, sys::LELP_INFO_SUBCLASSES];
        match inspect_ints(|out| unsafe { sys::lelp_builder_inspect(h, out) }, keys) {
            Ok([d, c, s]) => Ok(Builder { h, d, c, s }),
            Err(e) => {
                unsafe { sys::lelp_builder_free(h) };
                Err(e)
            }
        }
    }

    /// (d, C, S).
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.d, self.c, self.s)
    }

    /// Streams n = labels.len() rows; `h` is n x d row-major.
    pub fn update(&mut self, h: &[f32], labels: &[i32]) -> Result<()> {
        need("embeddings", h.len(), labels.len() * self.d)?;
        check(unsafe {
            sys::lelp_builder_update(self.h, h.as_ptr(), labels.as_ptr(), labels.len() as i64, self.d as i64)
        })
    }

    /// The teacher head W, C x d row-major.
    pub fn set_head(&mut self, w: &[f32]) -> Result<()> {
        need("head", w.len(), self.c * self.d)?;
        check(unsafe { sys::lelp_builder_set_head(self.h, w.as_ptr(), self.c as i64, self.d as i64) })
    }

    /// Adds another builder's statistics (disjoint data).
    pub fn merge(&mut self, other: &Builder) -> Result<()> {
        check(unsafe { sys::lelp_builder_merge(self.h, other.h) })
    }

    /// Examples streamed so far for class `c`.
    pub fn count(&self, c: usize) -> Result<u64> {
        let mut v = 0i64;
        check(unsafe { sys::lelp_builder_count(self.h, c as i64, &mut v) })?;
        Ok(v as u64)
    }

    /// An integer parameter (`sys::LELP_BUILDER_*`).
    pub fn get_int(&self, param: i32) -> Result<i64> {
        let mut v = 0i64;
        check(unsafe { sys::lelp_builder_get_int(self.h, param, &mut v) })?;
        Ok(v)
    }

    /// A floating-point parameter (`sys::LELP_BUILDER_*`).
    pub fn get_double(&self, param: i32) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { sys::lelp_builder_get_double(self.h, param, &mut v) })?;
        Ok(v)
    }

    /// Fits the model; the builder is unchanged and may keep streaming.
    pub fn fit(&self) -> Result<Model> {
        let mut m = ptr::null_mut();
        check(unsafe { sys::lelp_builder_fit(self.h, &mut m) })?;
        Model::wrap(m)
    }

    /// The serialized partial state (docs/format.md).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        bytes_of(|n| unsafe { sys::lelp_builder_serialized_size(self.h, n) },
                 |buf, w| unsafe { sys::lelp_builder_serialize(self.h, buf.as_mut_ptr().cast(), buf.len(), w) })
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Builder> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_builder_load(&mut h, bytes.as_ptr().cast(), bytes.len(), ptr::null()) })?;
        Builder::wrap(h)
    }

    pub fn save(&self, path: &str) -> Result<()> {
        let p = cpath(path)?;
        check(unsafe { sys::lelp_builder_save_path(self.h, p.as_ptr()) })
    }

    pub fn load(path: &str) -> Result<Builder> {
        ensure_abi()?;
        let p = cpath(path)?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_builder_load_path(&mut h, p.as_ptr(), ptr::null()) })?;
        Builder::wrap(h)
    }
}

// ---- model ---------------------------------------------------------------------------

/// Fitted subspaces (`lelp_model`): immutable, shareable across threads.
pub struct Model {
    h: *mut sys::lelp_model,
    // private: they size the buffers handed to C, so safe code must not be
    // able to change them (read them through dims())
    d: usize,
    c: usize,
    s: usize,
}

// SAFETY: a fitted model is never written after fit or load; the C library
// documents that any number of threads may use a const lelp_model* at once,
// and every method here takes &self and calls only const-model functions.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::lelp_model_free(self.h) }
    }
}

type ModelArrayFn = unsafe extern "C" fn(*const sys::lelp_model, *mut f64, i64) -> c_int;

impl Model {
    fn wrap(h: *mut sys::lelp_model) -> Result<Model> {
        // own the handle first, so an error below still frees it
        let mut m = Model { h, d: 0, c: 0, s: 0 };
        m.d = m.get_int(sys::LELP_MODEL_DIM)? as usize;
        m.c = m.get_int(sys::LELP_MODEL_NUM_CLASSES)? as usize;
        m.s = m.get_int(sys::LELP_MODEL_SUBCLASSES)? as usize;
        Ok(m)
    }

    /// (d, C, S).
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.d, self.c, self.s)
    }

    /// An integer query (`sys::LELP_MODEL_*`).
    pub fn get_int(&self, key: i32) -> Result<i64> {
        let mut v = 0i64;
        check(unsafe { sys::lelp_model_get_int(self.h, key, &mut v) })?;
        Ok(v)
    }

    /// A floating-point query (`sys::LELP_MODEL_*`).
    pub fn get_double(&self, key: i32) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { sys::lelp_model_get_double(self.h, key, &mut v) })?;
        Ok(v)
    }

    /// The subclass temperature in use.
    pub fn beta(&self) -> f64 {
        self.get_double(sys::LELP_MODEL_BETA).expect("a valid model answers LELP_MODEL_BETA")
    }
    pub fn seed(&self) -> u64 {
        self.get_int(sys::LELP_MODEL_SEED).expect("a valid model answers LELP_MODEL_SEED") as u64
    }
    pub fn rotated(&self) -> bool {
        self.get_int(sys::LELP_MODEL_ROTATE).expect("a valid model answers LELP_MODEL_ROTATE") != 0
    }
    pub fn null_space(&self) -> bool {
        self.get_int(sys::LELP_MODEL_NULL_SPACE).expect("a valid model answers LELP_MODEL_NULL_SPACE") != 0
    }
    pub fn auto_beta(&self) -> bool {
        self.get_int(sys::LELP_MODEL_AUTO_BETA).expect("a valid model answers LELP_MODEL_AUTO_BETA") != 0
    }
    /// Numerical rank of the head whose row space was projected out (0 if none).
    pub fn head_rank(&self) -> usize {
        self.get_int(sys::LELP_MODEL_HEAD_RANK).expect("a valid model answers LELP_MODEL_HEAD_RANK") as usize
    }

    fn array(&self, f: ModelArrayFn, n: usize) -> Result<Vec<f64>> {
        let mut out = vec![0.0; n];
        check(unsafe { f(self.h, out.as_mut_ptr(), n as i64) })?;
        Ok(out)
    }

    /// C x S, descending per class.
    pub fn eigenvalues(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_eigenvalues, self.c * self.s)
    }

    /// C x S: eigenvalue / trace.
    pub fn explained_variance_ratio(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_explained_variance_ratio, self.c * self.s)
    }

    /// C x S x d.
    pub fn components(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_components, self.c * self.s * self.d)
    }

    /// C x d.
    pub fn means(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_means, self.c * self.d)
    }

    /// C x S offsets b = <U, mu>.
    pub fn offsets(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_offsets, self.c * self.s)
    }

    /// Soft targets from teacher logits: h n x d, z n x C; out n x C*S.
    pub fn targets_from_logits(&self, h: &[f32], z: &[f32], tau: f64, out: &mut [f32]) -> Result<()> {
        let n = rows("logits", z.len(), self.c)?;
        need("embeddings", h.len(), n * self.d)?;
        need("targets", out.len(), n * self.c * self.s)?;
        check(unsafe {
            sys::lelp_model_targets_from_logits(self.h, h.as_ptr(), z.as_ptr(), n as i64, self.d as i64, tau,
                                                out.as_mut_ptr())
        })
    }

    /// Soft targets from labels with smoothing eps.
    pub fn targets_from_labels(&self, h: &[f32], labels: &[i32], eps: f64, out: &mut [f32]) -> Result<()> {
        let n = labels.len();
        need("embeddings", h.len(), n * self.d)?;
        need("targets", out.len(), n * self.c * self.s)?;
        check(unsafe {
            sys::lelp_model_targets_from_labels(self.h, h.as_ptr(), labels.as_ptr(), n as i64, self.d as i64, eps,
                                                out.as_mut_ptr())
        })
    }

    /// Scaled projections f = (<U, h> - b) / beta: n x C*S.
    pub fn project(&self, h: &[f32]) -> Result<Vec<f32>> {
        let n = rows("embeddings", h.len(), self.d)?;
        let mut out = vec![0f32; n * self.c * self.s];
        check(unsafe { sys::lelp_model_project(self.h, h.as_ptr(), n as i64, self.d as i64, out.as_mut_ptr()) })?;
        Ok(out)
    }

    /// Hard pseudo-subclass of each row within its own class.
    pub fn assign(&self, h: &[f32], labels: &[i32]) -> Result<Vec<i32>> {
        let n = labels.len();
        need("embeddings", h.len(), n * self.d)?;
        let mut out = vec![0i32; n];
        check(unsafe {
            sys::lelp_model_assign(self.h, h.as_ptr(), labels.as_ptr(), n as i64, self.d as i64, out.as_mut_ptr())
        })?;
        Ok(out)
    }

    /// Mean within-class entropy (nats) of softmax_s(f) on a batch at `beta`.
    pub fn mean_entropy(&self, h: &[f32], labels: &[i32], beta: f64) -> Result<f64> {
        let n = labels.len();
        need("embeddings", h.len(), n * self.d)?;
        let mut v = 0.0;
        check(unsafe {
            sys::lelp_model_mean_entropy(self.h, h.as_ptr(), labels.as_ptr(), n as i64, self.d as i64, beta, &mut v)
        })?;
        Ok(v)
    }

    /// The beta at which [`Model::mean_entropy`] on this batch is fraction * log S.
    pub fn estimate_beta(&self, h: &[f32], labels: &[i32], fraction: f64) -> Result<f64> {
        let n = labels.len();
        need("embeddings", h.len(), n * self.d)?;
        let mut v = 0.0;
        check(unsafe {
            sys::lelp_model_estimate_beta(self.h, h.as_ptr(), labels.as_ptr(), n as i64, self.d as i64, fraction,
                                          &mut v)
        })?;
        Ok(v)
    }

    /// A new model equal to this one with a fixed beta.
    pub fn with_beta(&self, beta: f64) -> Result<Model> {
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_model_with_beta(self.h, beta, &mut h) })?;
        Model::wrap(h)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        bytes_of(|n| unsafe { sys::lelp_model_serialized_size(self.h, n) },
                 |buf, w| unsafe { sys::lelp_model_serialize(self.h, buf.as_mut_ptr().cast(), buf.len(), w) })
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_model_load(&mut h, bytes.as_ptr().cast(), bytes.len(), ptr::null()) })?;
        Model::wrap(h)
    }

    pub fn save(&self, path: &str) -> Result<()> {
        let p = cpath(path)?;
        check(unsafe { sys::lelp_model_save_path(self.h, p.as_ptr()) })
    }

    pub fn load(path: &str) -> Result<Model> {
        ensure_abi()?;
        let p = cpath(path)?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_model_load_path(&mut h, p.as_ptr(), ptr::null()) })?;
        Model::wrap(h)
    }
}

// ---- loss ----------------------------------------------------------------------------

/// Batch reduction of [`Loss`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reduction {
    Mean,
    Sum,
}

/// Which distillation term a [`Loss`] computes (`enum lelp_loss_kind`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossKind {
    /// (1-alpha) tau^2 KL(t || softmax(u/tau)) + alpha CE: LELP (and Hinton's KD with S = 1).
    Kl,
    /// Decoupled KD with target / non-target weights (S must be 1).
    Dkd { target_weight: f64, nontarget_weight: f64 },
    /// Subclass Distillation's teacher auxiliary loss at temperature T.
    SubclassAux { temperature: f64 },
}

/// Student loss and gradient (`lelp_loss`).
pub struct Loss {
    h: *mut sys::lelp_loss,
    k: usize,
}

// SAFETY: one thread at a time, as the C library documents (not Sync).
unsafe impl Send for Loss {}

impl Drop for Loss {
    fn drop(&mut self) {
        unsafe { sys::lelp_loss_free(self.h) }
    }
}

impl Loss {
    pub fn new(c: usize, s: usize, tau: f64, alpha: f64, reduction: Reduction) -> Result<Loss> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_loss_create(&mut h, c as i64, s as i64, ptr::null()) })?;
        let l = Loss { h, k: c * s };
        unsafe {
            check(sys::lelp_loss_set_double(l.h, sys::LELP_LOSS_TAU, tau))?;
            check(sys::lelp_loss_set_double(l.h, sys::LELP_LOSS_ALPHA, alpha))?;
            let r = if reduction == Reduction::Mean { sys::LELP_REDUCTION_MEAN } else { sys::LELP_REDUCTION_SUM };
            check(sys::lelp_loss_set_int(l.h, sys::LELP_LOSS_REDUCTION, r))?;
        }
        Ok(l)
    }

    /// Selects the loss kind (default [`LossKind::Kl`]).
    pub fn set_kind(&mut self, kind: LossKind) -> Result<()> {
        unsafe {
            match kind {
                LossKind::Kl => check(sys::lelp_loss_set_int(self.h, sys::LELP_LOSS_KIND, sys::LELP_LOSS_KIND_KL)),
                LossKind::Dkd { target_weight, nontarget_weight } => {
                    check(sys::lelp_loss_set_double(self.h, sys::LELP_LOSS_DKD_TARGET_WEIGHT, target_weight))?;
                    check(sys::lelp_loss_set_double(self.h, sys::LELP_LOSS_DKD_NONTARGET_WEIGHT, nontarget_weight))?;
                    check(sys::lelp_loss_set_int(self.h, sys::LELP_LOSS_KIND, sys::LELP_LOSS_KIND_DKD))
                }
                LossKind::SubclassAux { temperature } => {
                    check(sys::lelp_loss_set_double(self.h, sys::LELP_LOSS_AUX_TEMPERATURE, temperature))?;
                    check(sys::lelp_loss_set_int(self.h, sys::LELP_LOSS_KIND, sys::LELP_LOSS_KIND_SUBCLASS_AUX))
                }
            }
        }
    }

    /// An integer parameter (`sys::LELP_LOSS_*`).
    pub fn get_int(&self, param: i32) -> Result<i64> {
        let mut v = 0i64;
        check(unsafe { sys::lelp_loss_get_int(self.h, param, &mut v) })?;
        Ok(v)
    }

    /// A floating-point parameter (`sys::LELP_LOSS_*`).
    pub fn get_double(&self, param: i32) -> Result<f64> {
        let mut v = 0.0;
        check(unsafe { sys::lelp_loss_get_double(self.h, param, &mut v) })?;
        Ok(v)
    }

    /// Loss value; writes dL/du into `grad` when given. u, t, grad: n x C*S.
    pub fn compute(&self, u: &[f32], t: Option<&[f32]>, labels: Option<&[i32]>, weights: Option<&[f32]>,
                   grad: Option<&mut [f32]>) -> Result<f64> {
        let n = rows("logits", u.len(), self.k)?;
        if let Some(t) = t {
            need("targets", t.len(), n * self.k)?;
        }
        if let Some(y) = labels {
            need("labels", y.len(), n)?;
        }
        if let Some(w) = weights {
            need("weights", w.len(), n)?;
        }
        let g = match grad {
            Some(g) => {
                need("gradient", g.len(), n * self.k)?;
                g.as_mut_ptr()
            }
            None => ptr::null_mut(),
        };
        let mut v = 0.0;
        check(unsafe {
            sys::lelp_loss_compute(self.h, u.as_ptr(), t.map_or(ptr::null(), |x| x.as_ptr()),
                                   labels.map_or(ptr::null(), |x| x.as_ptr()),
                                   weights.map_or(ptr::null(), |x| x.as_ptr()), n as i64, &mut v, g)
        })?;
        Ok(v)
    }
}

// ---- compressor ----------------------------------------------------------------------

/// Distance of [`Compressor::student_loss`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distance {
    Mse,
    Cosine,
    DistanceCorrelation,
}

/// Optimizer of [`Compressor::step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    Sgd { momentum: f64 },
    Adam { beta1: f64, beta2: f64 },
}

/// Options of [`Compressor::new`].
#[derive(Debug, Clone)]
pub struct CompressorOptions {
    pub distance: Distance,
    pub optimizer: Optimizer,
    pub lr: f64,
    pub weight_decay: f64,
    pub multilabel: bool,
    pub seed: u64,
}

impl Default for CompressorOptions {
    fn default() -> Self {
        CompressorOptions { distance: Distance::Mse, optimizer: Optimizer::Adam { beta1: 0.9, beta2: 0.999 },
                            lr: 1e-3, weight_decay: 0.0, multilabel: false, seed: 0 }
    }
}

/// Ding & Lerch's embedding compression e' = A e + a with a linear head
/// (`lelp_compressor`).
pub struct Compressor {
    h: *mut sys::lelp_compressor,
    dt: usize,
    k: usize,
    c: usize,
}

// SAFETY: one thread at a time, as the C library documents (not Sync).
unsafe impl Send for Compressor {}

impl Drop for Compressor {
    fn drop(&mut self) {
        unsafe { sys::lelp_compressor_free(self.h) }
    }
}

/// Labels of [`Compressor::step`]: class ids, or an n x C 0/1 matrix (multi-label).
pub enum Targets<'a> {
    Labels(&'a [i32]),
    MultiLabel(&'a [f32]),
}

impl Compressor {
    pub fn new(teacher_dim: usize, student_dim: usize, c: usize, opts: &CompressorOptions) -> Result<Compressor> {
        ensure_abi()?;
        if opts.seed > i64::MAX as u64 {
            return Err(err(sys::LELP_E_PARAM_RANGE, "seed must be below 2^63".into()));
        }
        let mut h = ptr::null_mut();
        check(unsafe {
            sys::lelp_compressor_create(&mut h, teacher_dim as i64, student_dim as i64, c as i64, ptr::null())
        })?;
        let me = Compressor { h, dt: teacher_dim, k: student_dim, c };
        unsafe {
            check(sys::lelp_compressor_set_int(h, sys::LELP_COMPRESSOR_SEED, opts.seed as i64))?;
            let dist = match opts.distance {
                Distance::Mse => sys::LELP_DISTANCE_MSE,
                Distance::Cosine => sys::LELP_DISTANCE_COSINE,
                Distance::DistanceCorrelation => sys::LELP_DISTANCE_DCOR,
            };
            check(sys::lelp_compressor_set_int(h, sys::LELP_COMPRESSOR_DISTANCE, dist))?;
            match opts.optimizer {
                Optimizer::Sgd { momentum } => {
                    check(sys::lelp_compressor_set_int(h, sys::LELP_COMPRESSOR_OPTIMIZER, sys::LELP_OPTIMIZER_SGD))?;
                    check(sys::lelp_compressor_set_double(h, sys::LELP_COMPRESSOR_MOMENTUM, momentum))?;
                }
                Optimizer::Adam { beta1, beta2 } => {
                    check(sys::lelp_compressor_set_int(h, sys::LELP_COMPRESSOR_OPTIMIZER, sys::LELP_OPTIMIZER_ADAM))?;
                    check(sys::lelp_compressor_set_double(h, sys::LELP_COMPRESSOR_ADAM_BETA1, beta1))?;
                    check(sys::lelp_compressor_set_double(h, sys::LELP_COMPRESSOR_ADAM_BETA2, beta2))?;
                }
            }
            check(sys::lelp_compressor_set_double(h, sys::LELP_COMPRESSOR_LR, opts.lr))?;
            check(sys::lelp_compressor_set_double(h, sys::LELP_COMPRESSOR_WEIGHT_DECAY, opts.weight_decay))?;
            check(sys::lelp_compressor_set_int(h, sys::LELP_COMPRESSOR_MULTILABEL, opts.multilabel as i64))?;
        }
        Ok(me)
    }

    /// (teacher_dim, student_dim, C).
    pub fn dims(&self) -> (usize, usize, usize) {
        (self.dt, self.k, self.c)
    }

    /// One optimizer step on a batch `e` (n x teacher_dim); returns the head loss before the step.
    pub fn step(&mut self, e: &[f32], targets: Targets<'_>) -> Result<f64> {
        let n = rows("embeddings", e.len(), self.dt)?;
        let (y, ym) = match targets {
            Targets::Labels(y) => {
                need("labels", y.len(), n)?;
                (y.as_ptr(), ptr::null())
            }
            Targets::MultiLabel(m) => {
                need("multi-label targets", m.len(), n * self.c)?;
                (ptr::null(), m.as_ptr())
            }
        };
        let mut loss = 0.0;
        check(unsafe { sys::lelp_compressor_step(self.h, e.as_ptr(), y, ym, n as i64, &mut loss) })?;
        Ok(loss)
    }

    /// e' = A e + a: n x student_dim.
    pub fn compress(&self, e: &[f32]) -> Result<Vec<f32>> {
        let n = rows("embeddings", e.len(), self.dt)?;
        let mut out = vec![0f32; n * self.k];
        check(unsafe { sys::lelp_compressor_compress(self.h, e.as_ptr(), n as i64, out.as_mut_ptr()) })?;
        Ok(out)
    }

    /// Distance loss of student features `f` (n x student_dim) to stopgrad(e'); dL/df into `grad`.
    pub fn student_loss(&self, f: &[f32], e: &[f32], grad: Option<&mut [f32]>) -> Result<f64> {
        let n = rows("student features", f.len(), self.k)?;
        need("embeddings", e.len(), n * self.dt)?;
        let g = match grad {
            Some(g) => {
                need("gradient", g.len(), n * self.k)?;
                g.as_mut_ptr()
            }
            None => ptr::null_mut(),
        };
        let mut v = 0.0;
        check(unsafe { sys::lelp_compressor_student_loss(self.h, f.as_ptr(), e.as_ptr(), n as i64, &mut v, g) })?;
        Ok(v)
    }

    /// Copies of (A k x dt, a k, head W C x k, head bias C).
    pub fn weights(&self) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>)> {
        let (mut a_m, mut a_v) = (vec![0f32; self.k * self.dt], vec![0f32; self.k]);
        let (mut w, mut b) = (vec![0f32; self.c * self.k], vec![0f32; self.c]);
        check(unsafe {
            sys::lelp_compressor_weights(self.h, a_m.as_mut_ptr(), a_v.as_mut_ptr(), w.as_mut_ptr(), b.as_mut_ptr())
        })?;
        Ok((a_m, a_v, w, b))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        bytes_of(|n| unsafe { sys::lelp_compressor_serialized_size(self.h, n) },
                 |buf, w| unsafe { sys::lelp_compressor_serialize(self.h, buf.as_mut_ptr().cast(), buf.len(), w) })
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Compressor> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_compressor_load(&mut h, bytes.as_ptr().cast(), bytes.len(), ptr::null()) })?;
        // (teacher_dim, student_dim, C) from the library's introspection
        let keys = [sys::LELP_INFO_DIM, sys::LELP_INFO_STUDENT_DIM, sys::LELP_INFO_NUM_CLASSES];
        match inspect_ints(|out| unsafe { sys::lelp_compressor_inspect(h, out) }, keys) {
            Ok([dt, k, c]) => Ok(Compressor { h, dt, k, c }),
            Err(e) => {
                unsafe { sys::lelp_compressor_free(h) };
                Err(e)
            }
        }
    }

    pub fn save(&self, path: &str) -> Result<()> {
        let p = cpath(path)?;
        check(unsafe { sys::lelp_compressor_save_path(self.h, p.as_ptr()) })
    }

    pub fn load(path: &str) -> Result<Compressor> {
        let bytes = std::fs::read(path).map_err(|e| err(sys::LELP_E_IO, format!("{path}: {e}")))?;
        Compressor::from_bytes(&bytes)
    }
}

// ---- prediction and plain KD helpers ------------------------------------------------------

/// Class predictions (argmax of the class marginal) from n x C*S logits.
pub fn predict_class(u: &[f32], c: usize, s: usize) -> Result<Vec<i32>> {
    let n = rows("logits", u.len(), c * s)?;
    let mut out = vec![0i32; n];
    check(unsafe { sys::lelp_predict_class(u.as_ptr(), n as i64, c as i64, s as i64, out.as_mut_ptr()) })?;
    Ok(out)
}

/// Class log-probabilities (n x C) from n x C*S logits.
pub fn predict_log_proba(u: &[f32], c: usize, s: usize) -> Result<Vec<f32>> {
    let n = rows("logits", u.len(), c * s)?;
    let mut out = vec![0f32; n * c];
    check(unsafe { sys::lelp_predict_log_proba(u.as_ptr(), n as i64, c as i64, s as i64, out.as_mut_ptr()) })?;
    Ok(out)
}

/// Vanilla-KD targets softmax(z / tau), n x C.
pub fn softmax_targets(z: &[f32], c: usize, tau: f64) -> Result<Vec<f32>> {
    let n = rows("logits", z.len(), c)?;
    let mut out = vec![0f32; n * c];
    check(unsafe { sys::lelp_softmax_targets(z.as_ptr(), n as i64, c as i64, tau, out.as_mut_ptr()) })?;
    Ok(out)
}
