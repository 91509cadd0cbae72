//! Safe Rust bindings of liblelp: few-class knowledge distillation with LELP.
//!
//! RAII handles (`Drop` frees them), `Result<T, Error>` carrying the C status
//! and message, slices in and out with their lengths checked before any call.
//! Thread rules follow the C documentation: a [`Model`] is immutable and is
//! `Send + Sync`; a [`Builder`], [`Loss`] or [`Compressor`] may move between
//! threads (`Send`) but is used by one thread at a time (not `Sync`).
use lelp_sys as sys;
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_int;
use std::ptr;

/// A liblelp status code with the library's message.
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

fn usage(message: String) -> Error {
    Error { code: -2, message }
}

fn need(what: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(usage(format!("{what} has {got} elements, {want} expected")))
    }
}

/// The linked library's version, and an error if it is not the 0.1 ABI this crate was written for.
pub fn version() -> Result<String> {
    let v = unsafe { sys::lelp_version_number() };
    let (major, minor) = (v / 10000, (v / 100) % 100);
    if major != sys::LELP_VERSION_MAJOR || minor != sys::LELP_VERSION_MINOR {
        return Err(usage(format!("liblelp {major}.{minor} is linked; this crate needs 0.1")));
    }
    Ok(unsafe { CStr::from_ptr(sys::lelp_version_string()) }.to_string_lossy().into_owned())
}

/// Every constructor refuses a library of another ABI before touching it.
fn ensure_abi() -> Result<()> {
    version().map(|_| ())
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
}

impl Default for BuilderOptions {
    fn default() -> Self {
        BuilderOptions { seed: 0, null_space: true, rotate: true, beta: None, entropy_fraction: 0.5 }
    }
}

/// Streaming per-class statistics (`lelp_builder`).
pub struct Builder {
    h: *mut sys::lelp_builder,
    d: usize,
    c: usize,
}

// SAFETY: the C library allows a builder to be used from any one thread at a time.
unsafe impl Send for Builder {}

impl Drop for Builder {
    fn drop(&mut self) {
        unsafe { sys::lelp_builder_free(self.h) }
    }
}

impl Builder {
    pub fn new(d: usize, c: usize, s: usize, opts: &BuilderOptions) -> Result<Builder> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_builder_create(&mut h, d as i64, c as i64, s as i64, ptr::null()) })?;
        let b = Builder { h, d, c };
        if opts.seed > i64::MAX as u64 {
            return Err(usage("seed must be below 2^63".into()));
        }
        unsafe {
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_SEED, opts.seed as i64))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_NULL_SPACE, opts.null_space as i64))?;
            check(sys::lelp_builder_set_int(b.h, sys::LELP_BUILDER_ROTATE, opts.rotate as i64))?;
            check(sys::lelp_builder_set_double(b.h, sys::LELP_BUILDER_BETA, opts.beta.unwrap_or(0.0)))?;
            check(sys::lelp_builder_set_double(b.h, sys::LELP_BUILDER_ENTROPY_FRACTION, opts.entropy_fraction))?;
        }
        Ok(b)
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

    pub fn fit(&self) -> Result<Model> {
        let mut m = ptr::null_mut();
        check(unsafe { sys::lelp_builder_fit(self.h, &mut m) })?;
        Model::wrap(m)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut n = 0usize;
        check(unsafe { sys::lelp_builder_serialized_size(self.h, &mut n) })?;
        let mut buf = vec![0u8; n];
        check(unsafe { sys::lelp_builder_serialize(self.h, buf.as_mut_ptr().cast(), n, ptr::null_mut()) })?;
        Ok(buf)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Builder> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_builder_load(&mut h, bytes.as_ptr().cast(), bytes.len(), ptr::null()) })?;
        // (d, C) from the state's header (docs/format.md offsets 32 and 40);
        // the load succeeded, so the header is there
        let field = |o: usize| i64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
        Ok(Builder { h, d: field(32), c: field(40) })
    }
}

/// Fitted subspaces (`lelp_model`): immutable, shareable across threads.
pub struct Model {
    h: *mut sys::lelp_model,
    pub d: usize,
    pub c: usize,
    pub s: usize,
}

// SAFETY: a fitted model is never written after fit or load; the C library
// documents that any number of threads may use it at once.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::lelp_model_free(self.h) }
    }
}

impl Model {
    fn wrap(h: *mut sys::lelp_model) -> Result<Model> {
        let get = |key| {
            let mut v = 0i64;
            check(unsafe { sys::lelp_model_get_int(h, key, &mut v) }).map(|_| v as usize)
        };
        // own the handle first, so an error below still frees it
        let mut m = Model { h, d: 0, c: 0, s: 0 };
        m.d = get(sys::LELP_MODEL_DIM)?;
        m.c = get(sys::LELP_MODEL_NUM_CLASSES)?;
        m.s = get(sys::LELP_MODEL_SUBCLASSES)?;
        Ok(m)
    }

    pub fn beta(&self) -> f64 {
        let mut v = 0.0;
        unsafe { sys::lelp_model_get_double(self.h, sys::LELP_MODEL_BETA, &mut v) };
        v
    }

    fn array(&self, f: unsafe extern "C" fn(*const sys::lelp_model, *mut f64, i64) -> c_int, n: usize) -> Result<Vec<f64>> {
        let mut out = vec![0.0; n];
        check(unsafe { f(self.h, out.as_mut_ptr(), n as i64) })?;
        Ok(out)
    }

    /// C x S, descending per class.
    pub fn eigenvalues(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_eigenvalues, self.c * self.s)
    }

    /// C x S x d.
    pub fn components(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_components, self.c * self.s * self.d)
    }

    /// C x d.
    pub fn means(&self) -> Result<Vec<f64>> {
        self.array(sys::lelp_model_means, self.c * self.d)
    }

    /// Soft targets from teacher logits: h n x d, z n x C; out n x C*S.
    pub fn targets_from_logits(&self, h: &[f32], z: &[f32], tau: f64, out: &mut [f32]) -> Result<()> {
        let n = z.len() / self.c;
        need("logits", z.len(), n * self.c)?;
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

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut n = 0usize;
        check(unsafe { sys::lelp_model_serialized_size(self.h, &mut n) })?;
        let mut buf = vec![0u8; n];
        check(unsafe { sys::lelp_model_serialize(self.h, buf.as_mut_ptr().cast(), n, ptr::null_mut()) })?;
        Ok(buf)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        ensure_abi()?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_model_load(&mut h, bytes.as_ptr().cast(), bytes.len(), ptr::null()) })?;
        Model::wrap(h)
    }

    pub fn save(&self, path: &str) -> Result<()> {
        let p = CString::new(path).map_err(|_| usage("path contains NUL".into()))?;
        check(unsafe { sys::lelp_model_save_path(self.h, p.as_ptr()) })
    }

    pub fn load(path: &str) -> Result<Model> {
        ensure_abi()?;
        let p = CString::new(path).map_err(|_| usage("path contains NUL".into()))?;
        let mut h = ptr::null_mut();
        check(unsafe { sys::lelp_model_load_path(&mut h, p.as_ptr(), ptr::null()) })?;
        Model::wrap(h)
    }
}

/// Batch reduction of [`Loss`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reduction {
    Mean,
    Sum,
}

/// Student loss and gradient (`lelp_loss`): (1-alpha) tau^2 KL(t || softmax(u/tau)) + alpha CE.
pub struct Loss {
    h: *mut sys::lelp_loss,
    k: usize,
}

// SAFETY: one thread at a time, as the C library documents.
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

    /// Loss value; writes dL/du into `grad` when given. u, t, grad: n x C*S.
    pub fn compute(&self, u: &[f32], t: Option<&[f32]>, labels: Option<&[i32]>, weights: Option<&[f32]>,
                   grad: Option<&mut [f32]>) -> Result<f64> {
        let n = u.len() / self.k;
        need("logits", u.len(), n * self.k)?;
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

/// Class predictions (argmax of the class marginal) from n x C*S logits.
pub fn predict_class(u: &[f32], c: usize, s: usize) -> Result<Vec<i32>> {
    let n = u.len() / (c * s);
    need("logits", u.len(), n * c * s)?;
    let mut out = vec![0i32; n];
    check(unsafe { sys::lelp_predict_class(u.as_ptr(), n as i64, c as i64, s as i64, out.as_mut_ptr()) })?;
    Ok(out)
}

/// Class log-probabilities (n x C) from n x C*S logits.
pub fn predict_log_proba(u: &[f32], c: usize, s: usize) -> Result<Vec<f32>> {
    let n = u.len() / (c * s);
    need("logits", u.len(), n * c * s)?;
    let mut out = vec![0f32; n * c];
    check(unsafe { sys::lelp_predict_log_proba(u.as_ptr(), n as i64, c as i64, s as i64, out.as_mut_ptr()) })?;
    Ok(out)
}

/// Vanilla-KD targets softmax(z / tau), n x C.
pub fn softmax_targets(z: &[f32], c: usize, tau: f64) -> Result<Vec<f32>> {
    let n = z.len() / c;
    need("logits", z.len(), n * c)?;
    let mut out = vec![0f32; n * c];
    check(unsafe { sys::lelp_softmax_targets(z.as_ptr(), n as i64, c as i64, tau, out.as_mut_ptr()) })?;
    Ok(out)
}
