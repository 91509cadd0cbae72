# SPDX-License-Identifier: MIT
"""lelp -- Python binding of liblelp (LELP few-class knowledge distillation).

Pure Python over ctypes and the public C ABI. Arrays are passed without a
copy when they are C-contiguous and of the dtype the C call takes (float32
data, int32 labels); anything else is converted once with
numpy.ascontiguousarray. Status codes become LelpError subclasses carrying the
library's message. See docs/python.md.
"""
import ctypes as ct
import operator

import numpy as np

from ._lib import LIB as _L

__all__ = ["SubspaceBuilder", "Model", "Loss", "Compressor", "predict_log_proba", "predict_class",
           "softmax_targets", "LelpError", "version"]

# ---- constants (values of include/lelp.h) -----------------------------------------
_BUILDER_NULL_SPACE, _BUILDER_ROTATE, _BUILDER_SEED, _BUILDER_BETA, _BUILDER_ENTROPY_FRACTION = 101, 102, 103, 104, 105
_BUILDER_SOLVER, _BUILDER_SKETCH_SIZE = 106, 107
_MODEL_DIM, _MODEL_C, _MODEL_S, _MODEL_SEED, _MODEL_BETA = 201, 202, 203, 204, 205
_MODEL_NULL_SPACE, _MODEL_ROTATE, _MODEL_HEAD_RANK, _MODEL_FRACTION, _MODEL_AUTO_BETA, _MODEL_SOLVER = (
    206, 207, 208, 209, 210, 211)
_LOSS_TAU, _LOSS_ALPHA, _LOSS_REDUCTION, _LOSS_KIND = 301, 302, 303, 304
_LOSS_DKD_T, _LOSS_DKD_NT, _LOSS_AUX_T = 305, 306, 307
_COMP_DISTANCE, _COMP_OPTIMIZER, _COMP_LR, _COMP_WD, _COMP_MOMENTUM = 401, 402, 403, 404, 405
_COMP_BETA1, _COMP_BETA2, _COMP_MULTILABEL, _COMP_SEED = 406, 407, 408, 409
_REDUCTIONS = {"mean": 0, "sum": 1}
_KINDS = {"kl": 0, "dkd": 1, "subclass_aux": 2}
_SOLVERS = {"exact": 0, "sketch": 1}
_PRECISIONS = {"float64": 0, "float32": 1}
_BUILDER_PRECISION = 108
_BUILDER_GRAM_FORM = 109
_BUILDER_BETA_SAMPLE = 110
_BUILDER_LABELLER, _MODEL_LABELLER = 111, 212
_LABELLERS = {"projection": 0, "kmeans": 1}
_DISTANCES = {"mse": 0, "cosine": 1, "dcor": 2}
_OPTIMIZERS = {"sgd": 0, "adam": 1}


def version():
    """The linked C library's version string."""
    return _L.lelp_version_string().decode()


# ---- errors ---------------------------------------------------------------------------
class LelpError(Exception):
    """A liblelp status code; .code is the C status, the message the library's."""

    code = None

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


_ERRORS = {}
for _name, _code in [("NullError", -1), ("InvalidArgumentError", -2), ("InvalidHandleError", -3),
                     ("OutOfMemoryError", -10), ("ParamUnsupportedError", -20), ("ParamRangeError", -21),
                     ("ParamCombinationError", -22), ("StageError", -30), ("ShapeMismatchError", -40),
                     ("BufferTooSmallError", -41), ("LabelRangeError", -42), ("NonFiniteError", -50),
                     ("TooFewSamplesError", -51), ("RankDeficientError", -52), ("SolverError", -53),
                     ("NumericalError", -54), ("InvalidTargetsError", -55), ("FormatError", -60),
                     ("VersionError", -61), ("ChecksumError", -62), ("TruncatedError", -63), ("IOError_", -70),
                     ("InternalError", -99)]:
    _cls = type(_name.rstrip("_") if _name != "IOError_" else "LelpIOError", (LelpError,), {"code": _code})
    _ERRORS[_code] = _cls
    globals()[_cls.__name__] = _cls
    __all__.append(_cls.__name__)


def _check(status):
    if status != 0:
        msg = _L.lelp_last_error().decode(errors="replace") or _L.lelp_status_string(status).decode()
        raise _ERRORS.get(status, LelpError)(status, f"{msg} [{_L.lelp_status_string(status).decode()}]")


# ---- array conversion -------------------------------------------------------------------
def _as(arr, dtype, ndim, name, shape=None):
    """The array the C call reads: `arr` itself when it is already a
    C-contiguous ndarray of `dtype` (zero copy: C reads the caller's buffer),
    else one converted copy (numpy.ascontiguousarray). Shapes and dtypes are
    checked here, before the C call, with NumPy-style messages."""
    if type(arr) is np.ndarray and arr.ndim == ndim and arr.dtype == dtype and arr.flags.c_contiguous:
        # the per-batch fast path (the loss is called per training step):
        # nothing to convert, only the shape to check
        if shape is not None:
            for got, want in zip(arr.shape, shape):
                if want is not None and got != want:
                    _as_shape_error(arr, shape, name)
        return arr
    a = np.asarray(arr)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if shape is not None:
        _as_shape_error(a, shape, name)
    if dtype == np.int32 and a.dtype != np.int32:
        if a.dtype.kind == "f":
            raise TypeError(f"{name} must hold integer labels, got dtype {a.dtype}")
        if a.size and a.dtype.kind in "iu":
            lo, hi = int(a.min()), int(a.max())
            if lo < -2**31 or hi >= 2**31:
                raise ValueError(f"{name} holds {lo if lo < -2**31 else hi}, which does not fit the C API's int32")
    return np.ascontiguousarray(a, dtype=dtype)


def _int(v, name, lo=-2**63, hi=2**63 - 1):
    """v as a Python int for an int64 (or narrower) C argument: ctypes would
    silently wrap a value outside the C type, so a seed of 2**64 became 0."""
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}") from None
    if not lo <= i <= hi:
        raise ValueError(f"{name} = {i} does not fit the C API's range [{lo}, {hi}]")
    return i


def _as_shape_error(a, shape, name):
    for i, (got, want) in enumerate(zip(a.shape, shape)):
        if want is not None and got != want:
            raise ValueError(f"{name} has shape {a.shape}; dimension {i} must be {want}")


def _ptr(a):
    """The buffer's address as an int (ctypes passes it as the c_void_p
    argument), or None for NULL."""
    if a is None:
        return None
    try:
        # a third of the cost of a.ctypes.data; needs a writeable buffer
        return ct.addressof(ct.c_char.from_buffer(a)) if a.size else a.ctypes.data
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def _out_i64(fn, *args):
    v = ct.c_int64()
    _check(fn(*args, ct.byref(v)))
    return v.value


def _out_f64(fn, *args):
    v = ct.c_double()
    _check(fn(*args, ct.byref(v)))
    return v.value


def _serialize(size_fn, ser_fn, handle):
    n = ct.c_size_t()
    _check(size_fn(handle, ct.byref(n)))
    buf = ct.create_string_buffer(n.value)
    _check(ser_fn(handle, buf, n, None))
    return buf.raw


class _Handle:
    _free = None

    def __init__(self, ptr):
        self._h = ptr

    def __del__(self):
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            type(self)._free(h)
            self._h = None

    @property
    def _as_parameter_(self):
        return self._h

    # A shallow copy would share the C handle and free it twice; handles with a
    # serialized form copy and pickle through it (an independent handle), the
    # others refuse.
    def __copy__(self):
        if not hasattr(self, "to_bytes"):
            raise TypeError(f"{type(self).__name__} cannot be copied; create another one")
        return type(self).from_bytes(self.to_bytes())

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        if not hasattr(self, "to_bytes"):
            raise TypeError(f"{type(self).__name__} cannot be pickled; create another one")
        return (type(self).from_bytes, (self.to_bytes(),))


# ---- builder ------------------------------------------------------------------------------
class SubspaceBuilder(_Handle):
    """Streaming per-class statistics; fit() gives a Model. One thread at a time."""

    _free = staticmethod(_L.lelp_builder_free)

    def __copy__(self):
        return SubspaceBuilder._restore(self.to_bytes(), self.gram_form, self.labeller)

    def __reduce__(self):
        return (SubspaceBuilder._restore, (self.to_bytes(), self.gram_form, self.labeller))

    @staticmethod
    def _restore(blob, gram_form, labeller="projection"):
        b = SubspaceBuilder.from_bytes(blob)
        b.gram_form = gram_form  # settings, not part of the saved state
        b.labeller = labeller
        return b

    def __init__(self, dim, num_classes, subclasses, seed=0, null_space=True, rotate=True, beta="auto",
                 entropy_fraction=0.5, solver="exact", sketch_size=0, precision="float64", gram_form=True,
                 beta_sample=-1, labeller="projection", _ptr_=None):
        self._dims = (_int(dim, "dim"), _int(num_classes, "num_classes"), _int(subclasses, "subclasses"))
        if _ptr_ is None:
            h = ct.c_void_p()
            _check(_L.lelp_builder_create(ct.byref(h), *self._dims, None))
            super().__init__(h)
            self._set(seed, null_space, rotate, beta, entropy_fraction, solver, sketch_size, precision)
            self.gram_form = gram_form
            _check(_L.lelp_builder_set_int(self, _BUILDER_BETA_SAMPLE, _int(beta_sample, "beta_sample")))
            self.labeller = labeller
        else:
            super().__init__(_ptr_)

    def _set(self, seed, null_space, rotate, beta, fraction, solver, sketch_size, precision):
        if solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {sorted(_SOLVERS)}, got {solver!r}")
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(_PRECISIONS)}, got {precision!r}")
        _check(_L.lelp_builder_set_int(self, _BUILDER_PRECISION, _PRECISIONS[precision]))
        _check(_L.lelp_builder_set_int(self, _BUILDER_SOLVER, _SOLVERS[solver]))
        _check(_L.lelp_builder_set_int(self, _BUILDER_SKETCH_SIZE, _int(sketch_size, "sketch_size")))
        _check(_L.lelp_builder_set_int(self, _BUILDER_SEED, _int(seed, "seed")))
        _check(_L.lelp_builder_set_int(self, _BUILDER_NULL_SPACE, int(bool(null_space))))
        _check(_L.lelp_builder_set_int(self, _BUILDER_ROTATE, int(bool(rotate))))
        if isinstance(beta, str):
            if beta != "auto":
                raise ValueError(f'beta must be "auto" or a positive float, got {beta!r}')
            beta = 0.0
        elif not beta > 0:
            raise ValueError(f'beta must be "auto" or a positive float, got {beta!r}')
        _check(_L.lelp_builder_set_double(self, _BUILDER_BETA, float(beta)))
        _check(_L.lelp_builder_set_double(self, _BUILDER_ENTROPY_FRACTION, float(fraction)))

    dim = property(lambda self: self._dims[0])
    num_classes = property(lambda self: self._dims[1])
    subclasses = property(lambda self: self._dims[2])

    @property
    def precision(self):
        """"float64" or "float32": how the exact solver multiplies each block."""
        v = _out_i64(_L.lelp_builder_get_int, self, _BUILDER_PRECISION)
        return {n: k for k, n in _PRECISIONS.items()}[v]

    @property
    def labeller(self):
        """"projection" (LELP's projections, default) or "kmeans" (k-means
        clusters of the beta sample; docs/api.md LELP_BUILDER_LABELLER)."""
        v = _out_i64(_L.lelp_builder_get_int, self, _BUILDER_LABELLER)
        return {n: k for k, n in _LABELLERS.items()}[v]

    @labeller.setter
    def labeller(self, value):
        if value not in _LABELLERS:
            raise ValueError(f"labeller must be one of {sorted(_LABELLERS)}, got {value!r}")
        _check(_L.lelp_builder_set_int(self, _BUILDER_LABELLER, _LABELLERS[value]))

    @property
    def beta_sample(self):
        """Rows per class kept for the automatic beta: -1 automatic, 0 none
        (the Gaussian model), k rows (docs/api.md LELP_BUILDER_BETA_SAMPLE)."""
        return _out_i64(_L.lelp_builder_get_int, self, _BUILDER_BETA_SAMPLE)

    @property
    def gram_form(self):
        """True (default): the exact solver keeps a class with at most d/2 rows
        as rows and fits it from their n x n Gram matrix; False: always the
        d x d co-moment. Settable at any time; applies from the next update or
        merge; not saved with the state."""
        return bool(_out_i64(_L.lelp_builder_get_int, self, _BUILDER_GRAM_FORM))

    @gram_form.setter
    def gram_form(self, on):
        _check(_L.lelp_builder_set_int(self, _BUILDER_GRAM_FORM, int(bool(on))))

    @staticmethod
    def _header_dims(blob):
        # (d, C, S) at bytes 32..56 of every liblelp buffer's header (docs/format.md)
        return tuple(int.from_bytes(blob[o:o + 8], "little", signed=True) for o in (32, 40, 48))

    def update(self, H, y):
        """Streams a batch: H (n, d) float32, y (n,) integer labels in [0, C)."""
        H = _as(H, np.float32, 2, "H")  # a wrong d: ShapeMismatchError from C
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        _check(_L.lelp_builder_update(self, _ptr(H), _ptr(y), H.shape[0], H.shape[1]))
        return self

    def set_head(self, W):
        """The teacher's output head W (C, d)."""
        W = _as(W, np.float32, 2, "W")  # the shape is checked by C (ShapeMismatchError)
        _check(_L.lelp_builder_set_head(self, _ptr(W), W.shape[0], W.shape[1]))
        return self

    def merge(self, other):
        """Adds another builder's statistics (disjoint data) into this one."""
        if not isinstance(other, SubspaceBuilder):
            raise TypeError("merge() takes a SubspaceBuilder")
        _check(_L.lelp_builder_merge(self, other))
        return self

    def count(self, c):
        """Rows streamed so far for class c."""
        return _out_i64(_L.lelp_builder_count, self, _int(c, "c"))

    def fit(self):
        h = ct.c_void_p()
        _check(_L.lelp_builder_fit(self, ct.byref(h)))
        return Model(h)

    def to_bytes(self):
        return _serialize(_L.lelp_builder_serialized_size, _L.lelp_builder_serialize, self._h)

    @classmethod
    def from_bytes(cls, blob):
        blob = bytes(blob)
        h = ct.c_void_p()
        _check(_L.lelp_builder_load(ct.byref(h), blob, len(blob), None))
        return cls(*cls._header_dims(blob), _ptr_=h)

    def save(self, path):
        _check(_L.lelp_builder_save_path(self, str(path).encode()))

    @classmethod
    def load(cls, path):
        h = ct.c_void_p()
        _check(_L.lelp_builder_load_path(ct.byref(h), str(path).encode(), None))
        with open(path, "rb") as f:
            head = f.read(56)
        return cls(*cls._header_dims(head), _ptr_=h)


# ---- model ----------------------------------------------------------------------------------
class Model(_Handle):
    """Fitted, immutable subspaces; safe to share across threads."""

    _free = staticmethod(_L.lelp_model_free)

    def _int(self, key):
        return _out_i64(_L.lelp_model_get_int, self, key)

    def _dbl(self, key):
        return _out_f64(_L.lelp_model_get_double, self, key)

    dim = property(lambda self: self._int(_MODEL_DIM))
    num_classes = property(lambda self: self._int(_MODEL_C))
    subclasses = property(lambda self: self._int(_MODEL_S))
    seed = property(lambda self: self._int(_MODEL_SEED))
    beta = property(lambda self: self._dbl(_MODEL_BETA))
    head_rank = property(lambda self: self._int(_MODEL_HEAD_RANK))
    null_space = property(lambda self: bool(self._int(_MODEL_NULL_SPACE)))
    rotate = property(lambda self: bool(self._int(_MODEL_ROTATE)))
    auto_beta = property(lambda self: bool(self._int(_MODEL_AUTO_BETA)))
    entropy_fraction = property(lambda self: self._dbl(_MODEL_FRACTION))
    solver = property(lambda self: {n: k for k, n in _SOLVERS.items()}[self._int(_MODEL_SOLVER)])
    labeller = property(lambda self: {n: k for k, n in _LABELLERS.items()}[self._int(_MODEL_LABELLER)])

    def _array(self, fn, shape):
        out = np.empty(shape, np.float64)
        _check(fn(self, _ptr(out), out.size))
        return out

    @property
    def eigenvalues(self):
        return self._array(_L.lelp_model_eigenvalues, (self.num_classes, self.subclasses))

    @property
    def explained_variance_ratio(self):
        return self._array(_L.lelp_model_explained_variance_ratio, (self.num_classes, self.subclasses))

    @property
    def components(self):
        return self._array(_L.lelp_model_components, (self.num_classes, self.subclasses, self.dim))

    @property
    def means(self):
        return self._array(_L.lelp_model_means, (self.num_classes, self.dim))

    @property
    def offsets(self):
        return self._array(_L.lelp_model_offsets, (self.num_classes, self.subclasses))

    def _H(self, H):
        return _as(H, np.float32, 2, "H", (None, self.dim))

    def targets(self, H, logits=None, tau=1.0, labels=None, smoothing=0.0, out=None):
        """(n, C*S) float32 soft targets from teacher logits (n, C) or labels (n,)."""
        if (logits is None) == (labels is None):
            raise ValueError("give exactly one of logits= or labels=")
        H = self._H(H)
        n, K = H.shape[0], self.num_classes * self.subclasses
        T = self._out(out, (n, K), np.float32, "out")
        if logits is not None:
            Z = _as(logits, np.float32, 2, "logits", (n, self.num_classes))
            _check(_L.lelp_model_targets_from_logits(self, _ptr(H), _ptr(Z), n, H.shape[1], float(tau), _ptr(T)))
        else:
            y = _as(labels, np.int32, 1, "labels", (n,))
            _check(_L.lelp_model_targets_from_labels(self, _ptr(H), _ptr(y), n, H.shape[1], float(smoothing),
                                                     _ptr(T)))
        return T

    @staticmethod
    def _out(out, shape, dtype, name):
        if out is None:
            return np.empty(shape, dtype)
        if not isinstance(out, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"{name} must be a writeable C-contiguous {np.dtype(dtype).name} array of shape {shape}")
        return out

    def project(self, H):
        H = self._H(H)
        F = np.empty((H.shape[0], self.num_classes * self.subclasses), np.float32)
        _check(_L.lelp_model_project(self, _ptr(H), H.shape[0], H.shape[1], _ptr(F)))
        return F

    def assign(self, H, y):
        """(n,) int32 hard pseudo-subclass of each example within its own class."""
        H = self._H(H)
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        out = np.empty(H.shape[0], np.int32)
        _check(_L.lelp_model_assign(self, _ptr(H), _ptr(y), H.shape[0], H.shape[1], _ptr(out)))
        return out

    def mean_entropy(self, H, y, beta=None):
        H = self._H(H)
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        b = self.beta if beta is None else float(beta)
        return _out_f64(_L.lelp_model_mean_entropy, self, _ptr(H), _ptr(y), H.shape[0], H.shape[1], b)

    def estimate_beta(self, H, y, fraction=0.5):
        H = self._H(H)
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        return _out_f64(_L.lelp_model_estimate_beta, self, _ptr(H), _ptr(y), H.shape[0], H.shape[1], float(fraction))

    def with_beta(self, beta):
        h = ct.c_void_p()
        _check(_L.lelp_model_with_beta(self, float(beta), ct.byref(h)))
        return Model(h)

    def to_bytes(self):
        return _serialize(_L.lelp_model_serialized_size, _L.lelp_model_serialize, self._h)

    @classmethod
    def from_bytes(cls, blob):
        blob = bytes(blob)
        h = ct.c_void_p()
        _check(_L.lelp_model_load(ct.byref(h), blob, len(blob), None))
        return cls(h)

    def save(self, path):
        _check(_L.lelp_model_save_path(self, str(path).encode()))

    @classmethod
    def load(cls, path):
        h = ct.c_void_p()
        _check(_L.lelp_model_load_path(ct.byref(h), str(path).encode(), None))
        return cls(h)


# ---- loss -------------------------------------------------------------------------------------
class Loss(_Handle):
    """Student loss and gradient: loss(u, T, labels=None, weights=None) -> (value, grad).

    grad is float32 with u's shape. No allocation in the C call; pass out= to
    reuse a gradient buffer across calls.
    """

    _free = staticmethod(_L.lelp_loss_free)

    def __init__(self, num_classes, subclasses=1, tau=1.0, alpha=0.0, reduction="mean", kind="kl",
                 dkd_target_weight=1.0, dkd_nontarget_weight=8.0, aux_temperature=1.0):
        h = ct.c_void_p()
        C, S = _int(num_classes, "num_classes"), _int(subclasses, "subclasses")
        _check(_L.lelp_loss_create(ct.byref(h), C, S, None))
        super().__init__(h)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
        self.C, self.S = C, S
        _check(_L.lelp_loss_set_double(self, _LOSS_TAU, float(tau)))
        _check(_L.lelp_loss_set_double(self, _LOSS_ALPHA, float(alpha)))
        _check(_L.lelp_loss_set_int(self, _LOSS_REDUCTION, _REDUCTIONS[reduction]))
        _check(_L.lelp_loss_set_int(self, _LOSS_KIND, _KINDS[kind]))
        _check(_L.lelp_loss_set_double(self, _LOSS_DKD_T, float(dkd_target_weight)))
        _check(_L.lelp_loss_set_double(self, _LOSS_DKD_NT, float(dkd_nontarget_weight)))
        _check(_L.lelp_loss_set_double(self, _LOSS_AUX_T, float(aux_temperature)))
        self._value = ct.c_double()

    def __call__(self, u, T=None, labels=None, weights=None, out=None, grad=True):
        K = self.C * self.S
        u = _as(u, np.float32, 2, "u", (None, K))
        n = u.shape[0]
        T = None if T is None else _as(T, np.float32, 2, "T", (n, K))
        y = None if labels is None else _as(labels, np.int32, 1, "labels", (n,))
        w = None if weights is None else _as(weights, np.float32, 1, "weights", (n,))
        g = Model._out(out, (n, K), np.float32, "out") if grad else None
        # self._h, not self: the handle property costs as much as a pointer
        st = _L.lelp_loss_compute(self._h, _ptr(u), _ptr(T), _ptr(y), _ptr(w), n, ct.byref(self._value), _ptr(g))
        if st:
            _check(st)
        return (self._value.value, g) if grad else self._value.value


# ---- compressor ----------------------------------------------------------------------------------
class Compressor(_Handle):
    """Ding & Lerch's embedding compression: e' = A e + a with a linear head."""

    _free = staticmethod(_L.lelp_compressor_free)

    def __init__(self, teacher_dim, student_dim, num_classes, loss="mse", optimizer="adam", lr=1e-3,
                 weight_decay=0.0, multilabel=False, seed=0, momentum=0.9, _ptr_=None):
        self._dims = (_int(teacher_dim, "teacher_dim"), _int(student_dim, "student_dim"),
                      _int(num_classes, "num_classes"))
        if _ptr_ is not None:
            super().__init__(_ptr_)
            return
        h = ct.c_void_p()
        _check(_L.lelp_compressor_create(ct.byref(h), *self._dims, None))
        super().__init__(h)
        if loss not in _DISTANCES or optimizer not in _OPTIMIZERS:
            raise ValueError(f"loss in {sorted(_DISTANCES)}, optimizer in {sorted(_OPTIMIZERS)}")
        _check(_L.lelp_compressor_set_int(self, _COMP_SEED, _int(seed, "seed")))
        _check(_L.lelp_compressor_set_int(self, _COMP_DISTANCE, _DISTANCES[loss]))
        _check(_L.lelp_compressor_set_int(self, _COMP_OPTIMIZER, _OPTIMIZERS[optimizer]))
        _check(_L.lelp_compressor_set_int(self, _COMP_MULTILABEL, int(bool(multilabel))))
        _check(_L.lelp_compressor_set_double(self, _COMP_LR, float(lr)))
        _check(_L.lelp_compressor_set_double(self, _COMP_WD, float(weight_decay)))
        _check(_L.lelp_compressor_set_double(self, _COMP_MOMENTUM, float(momentum)))

    def step(self, E, y):
        """One optimizer step; y (n,) int labels or (n, C) 0/1 for multi-label. Returns the head loss."""
        # the C calls take no widths: every one is checked here
        E = _as(E, np.float32, 2, "E", (None, self.teacher_dim))
        y = np.asarray(y)
        loss = ct.c_double()
        if y.ndim == 1:
            yy = _as(y, np.int32, 1, "y", (E.shape[0],))
            _check(_L.lelp_compressor_step(self, _ptr(E), _ptr(yy), None, E.shape[0], ct.byref(loss)))
        else:
            Y = _as(y, np.float32, 2, "y", (E.shape[0], self.num_classes))
            _check(_L.lelp_compressor_step(self, _ptr(E), None, _ptr(Y), E.shape[0], ct.byref(loss)))
        return loss.value

    teacher_dim = property(lambda self: self._dims[0])
    student_dim = property(lambda self: self._dims[1])
    num_classes = property(lambda self: self._dims[2])

    def compress(self, E):
        """e' = A e + a for each row of E (n, teacher_dim): (n, student_dim) float32."""
        E = _as(E, np.float32, 2, "E", (None, self.teacher_dim))
        out = np.empty((E.shape[0], self.student_dim), np.float32)
        _check(_L.lelp_compressor_compress(self, _ptr(E), E.shape[0], _ptr(out)))
        return out

    def student_loss(self, F, E):
        """(value, dL/dF) of the distance between F (n, student_dim) and stopgrad(e')."""
        F = _as(F, np.float32, 2, "F", (None, self.student_dim))
        E = _as(E, np.float32, 2, "E", (F.shape[0], self.teacher_dim))
        g = np.empty(F.shape, np.float32)
        v = ct.c_double()
        _check(_L.lelp_compressor_student_loss(self, _ptr(F), _ptr(E), F.shape[0], ct.byref(v), _ptr(g)))
        return v.value, g

    def weights(self):
        """Copies of the parameters: (A (k, dt), a (k,), W (C, k), bias (C,)), float32."""
        dt, k, C = self._dims
        A, a = np.empty((k, dt), np.float32), np.empty(k, np.float32)
        W, bias = np.empty((C, k), np.float32), np.empty(C, np.float32)
        _check(_L.lelp_compressor_weights(self, _ptr(A), _ptr(a), _ptr(W), _ptr(bias)))
        return A, a, W, bias

    def to_bytes(self):
        return _serialize(_L.lelp_compressor_serialized_size, _L.lelp_compressor_serialize, self._h)

    @classmethod
    def from_bytes(cls, blob):
        blob = bytes(blob)
        h = ct.c_void_p()
        _check(_L.lelp_compressor_load(ct.byref(h), blob, len(blob), None))
        return cls(*SubspaceBuilder._header_dims(blob), _ptr_=h)

    def save(self, path):
        _check(_L.lelp_compressor_save_path(self, str(path).encode()))

    @classmethod
    def load(cls, path):
        h = ct.c_void_p()
        _check(_L.lelp_compressor_load_path(ct.byref(h), str(path).encode(), None))
        with open(path, "rb") as f:
            head = f.read(56)
        return cls(*SubspaceBuilder._header_dims(head), _ptr_=h)


# ---- free functions ---------------------------------------------------------------------------------
def predict_log_proba(u, num_classes, subclasses):
    """(n, C) class log-probabilities from (n, C*S) student logits."""
    C, S = _int(num_classes, "num_classes"), _int(subclasses, "subclasses")
    u = _as(u, np.float32, 2, "u", (None, C * S))
    out = np.empty((u.shape[0], C), np.float32)
    _check(_L.lelp_predict_log_proba(_ptr(u), u.shape[0], C, S, _ptr(out)))
    return out


def predict_class(u, num_classes, subclasses):
    """(n,) int32 predicted class (the largest class probability; ties: the lowest class)."""
    C, S = _int(num_classes, "num_classes"), _int(subclasses, "subclasses")
    u = _as(u, np.float32, 2, "u", (None, C * S))
    out = np.empty(u.shape[0], np.int32)
    _check(_L.lelp_predict_class(_ptr(u), u.shape[0], C, S, _ptr(out)))
    return out


def softmax_targets(logits, tau=1.0):
    """softmax(z / tau): the targets of vanilla KD (use with a Loss of subclasses=1)."""
    z = _as(logits, np.float32, 2, "logits")
    out = np.empty_like(z)
    _check(_L.lelp_softmax_targets(_ptr(z), z.shape[0], z.shape[1], float(tau), _ptr(out)))
    return out


def __getattr__(name):
    # `lelp.torch` after a plain `import lelp`; PyTorch stays optional
    if name == "torch":
        import importlib
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
