# SPDX-License-Identifier: MIT
"""lelp -- Python binding of liblelp (LELP few-class knowledge distillation).

Pure Python over ctypes and the public C ABI (include/lelp.h); no compiled
extension. Classes: SubspaceBuilder (streams teacher embeddings, fit() gives a
Model), Model (soft subclass targets, projections, assignments), Loss (the
student loss and its gradient), Compressor (embedding compression); functions
predict_log_proba, predict_class, softmax_targets; lelp.torch (LELPLoss, a
torch.nn.Module) and lelp.dask (fit and targets over dask arrays) load on
first use.

Arrays: every call taking arrays accepts NumPy arrays, CPU torch tensors, or
anything numpy.asarray takes, and returns outputs of the type of its first
array argument (a torch tensor for a tensor, sharing the output's buffer).
Inputs that are C-contiguous, aligned float32 data / int32 labels reach C
without a copy (a contiguous CPU float32 tensor too: its .numpy() view shares
the buffer); float16, bfloat16, float64, int64 and strided inputs are
converted once. Tensors on another device are refused (ValueError naming the
device; pass .cpu()).

Errors: a C status becomes a LelpError subclass (one per status code, .code and
the library's message); wrong shapes and dtypes are ValueError/TypeError raised
before the C call. docs/python.md is the guide.
"""
import ctypes as ct
import os
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _arrays, _threads
from ._lib import LIB as _L
from ._lib import __version__  # the C library's version (lelp_version_string)

__all__ = ["SubspaceBuilder", "Model", "Loss", "Compressor", "predict_log_proba", "predict_class",
           "softmax_targets", "cpu_count", "LelpError", "version"]

#: An array argument: a NumPy array, a CPU torch.Tensor, or anything numpy.asarray takes.
ArrayLike = Any

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
_DISTANCES = {"mse": 0, "cosine": 1, "dcor": 2}
_OPTIMIZERS = {"sgd": 0, "adam": 1}


def version() -> str:
    """The linked C library's version string, e.g. "0.1.0" (lelp_version_string)."""
    return _L.lelp_version_string().decode()


def cpu_count() -> int:
    """The cores this process may run on: the default `threads=` of the sharded
    calls (SubspaceBuilder.update, Model.targets/assign/project)."""
    return _threads.cpu_count()


# ---- errors ---------------------------------------------------------------------------
class LelpError(Exception):
    """A liblelp status code. `.code` is the C status (a negative int, the
    LELP_E_* value of include/lelp.h); the message is the library's
    (lelp_last_error) followed by the status name. Each status has its own
    subclass (ShapeMismatchError, NonFiniteError, ...); catch LelpError for all."""

    code: Optional[int] = None

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> Tuple[Any, Tuple[Optional[int], str]]:
        # pickled by dask/multiprocessing: rebuilt with both arguments
        return type(self), (self.code, str(self))


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

# what each status means (include/lelp.h), for help() of each class
_MEANINGS = {
    "NullError": "a required pointer argument is NULL",
    "InvalidArgumentError": "a size or scalar argument is out of its domain",
    "InvalidHandleError": "a handle of the wrong type, freed, or corrupt",
    "OutOfMemoryError": "an allocation failed",
    "ParamUnsupportedError": "an unknown parameter id for this object, or of the wrong type",
    "ParamRangeError": "a parameter value outside lelp_param_bounds()",
    "ParamCombinationError": "parameters inconsistent with each other or the call",
    "StageError": "a call made in the wrong stage (e.g. fit before update)",
    "ShapeMismatchError": "dimensions disagree with the object's (d, C, S)",
    "BufferTooSmallError": "an output capacity smaller than needed",
    "LabelRangeError": "a label outside [0, C)",
    "NonFiniteError": "NaN or Inf in an input",
    "TooFewSamplesError": "a class has fewer than 2 examples",
    "RankDeficientError": "a class has fewer than S non-zero eigenvalues",
    "SolverError": "LAPACK reported failure",
    "NumericalError": "another numerical failure (overflow, search failed)",
    "InvalidTargetsError": "targets negative or rows not summing to 1",
    "FormatError": "not a liblelp buffer of this kind, or inconsistent fields",
    "VersionError": "a format version newer than this library reads",
    "ChecksumError": "a payload checksum mismatch (corruption)",
    "TruncatedError": "a buffer shorter than its header says",
    "LelpIOError": "a file could not be opened, read or written",
    "InternalError": "a bug in liblelp; please report",
}
for _code, _cls in _ERRORS.items():
    _cls.__doc__ = f"Status {_code}: {_MEANINGS.get(_cls.__name__, 'see include/lelp.h')}."
    _cls.__module__ = __name__


def _check(status):
    if status != 0:
        msg = _L.lelp_last_error().decode(errors="replace") or _L.lelp_status_string(status).decode()
        raise _ERRORS.get(status, LelpError)(status, f"{msg} [{_L.lelp_status_string(status).decode()}]")


# ---- array conversion (lelp/_arrays.py) -----------------------------------------------------
_as, _int, _ptr, _as_shape_error = _arrays.as_array, _arrays.as_int, _arrays.ptr, _arrays.shape_error
_like, _out_buf, _no_alias = _arrays.like, _arrays.out_buffer, _arrays.check_no_alias


def _out_i64(fn: Any, *args: Any) -> int:
    v = ct.c_int64()
    _check(fn(*args, ct.byref(v)))
    return v.value


def _out_f64(fn: Any, *args: Any) -> float:
    v = ct.c_double()
    _check(fn(*args, ct.byref(v)))
    return v.value


def _serialize(size_fn: Any, ser_fn: Any, handle: Any) -> bytes:
    n = ct.c_size_t()
    _check(size_fn(handle, ct.byref(n)))
    buf = ct.create_string_buffer(n.value)
    _check(ser_fn(handle, buf, n, None))
    return buf.raw


def _name_of(table: Dict[str, int], value: int) -> str:
    return {v: k for k, v in table.items()}[value]


class _Handle:
    """An owned C handle, freed with the Python object. Copies (copy.copy,
    copy.deepcopy) and pickles go through __reduce__ -- the serialized state or
    the settings -- so each copy owns an independent handle (a shared handle
    would be freed twice)."""

    _free: Any = None

    def __init__(self, ptr: ct.c_void_p) -> None:
        self._h: Optional[ct.c_void_p] = ptr

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h is not None and h.value:
            type(self)._free(h)
            self._h = None

    @property
    def _as_parameter_(self) -> Optional[ct.c_void_p]:
        return self._h

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        raise NotImplementedError

    def __copy__(self) -> Any:
        fn, args = self.__reduce__()
        return fn(*args)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Any:
        return self.__copy__()


# ---- builder ------------------------------------------------------------------------------
class SubspaceBuilder(_Handle):
    """Streams teacher embeddings and labels into per-class statistics; fit()
    gives a Model.

    Args:
        dim: d, the embedding width (1 <= d <= 65536).
        num_classes: C, the number of teacher classes (>= 1).
        subclasses: S, subclasses (principal directions) per class (S <= d).
        seed: seed of the rotation and the automatic beta, 0 ... 2**63-1.
        null_space: project out the head's row space when a head is set.
        rotate: seeded Haar rotation of each class's directions.
        beta: "auto" (solved so the mean within-class entropy is
            entropy_fraction * log S) or a positive float.
        entropy_fraction: the automatic beta's target entropy as a fraction
            of log S, in [0.01, 0.99].
        solver: "exact" (C*d^2 co-moments) or "sketch" (Frequent Directions,
            C*2l*d doubles).
        sketch_size: sketch rows l per class; 0 automatic (min(d+1, 4S+16)).
        precision: "float64" or "float32" (the exact solver's block products).
        gram_form: keep a class with at most d/2 rows as rows (fitted from their
            Gram matrix). Not saved with the state.
        beta_sample: rows per class kept for the automatic beta; -1 automatic, 0
            none (a Gaussian model of the statistics).
        threads: default `threads=` of update(): None (every core,
            lelp.cpu_count()) or a positive int; 1 streams on the calling thread
            only. Not saved with the state.

    Raises:
        ValueError, TypeError: a setting of the wrong type or value, found in
            Python; ParamRangeError and other LelpError subclasses from C.

    One thread at a time may use a builder (update() itself may shard over
    threads). docs/api.md documents each setting (LELP_BUILDER_*).
    """

    _free = staticmethod(_L.lelp_builder_free)

    def __init__(self, dim: int, num_classes: int, subclasses: int, seed: int = 0, null_space: bool = True,
                 rotate: bool = True, beta: Union[str, float] = "auto", entropy_fraction: float = 0.5,
                 solver: str = "exact", sketch_size: int = 0, precision: str = "float64", gram_form: bool = True,
                 beta_sample: int = -1, *, threads: Optional[int] = None, _ptr_: Optional[ct.c_void_p] = None
                 ) -> None:
        self._dims = (_int(dim, "dim"), _int(num_classes, "num_classes"), _int(subclasses, "subclasses"))
        self.threads = threads
        if _ptr_ is None:
            h = ct.c_void_p()
            _check(_L.lelp_builder_create(ct.byref(h), *self._dims, None))
            super().__init__(h)
            self._set(seed, null_space, rotate, beta, entropy_fraction, solver, sketch_size, precision)
            self.gram_form = gram_form
            _check(_L.lelp_builder_set_int(self, _BUILDER_BETA_SAMPLE, _int(beta_sample, "beta_sample")))
        else:
            super().__init__(_ptr_)

    def _set(self, seed: int, null_space: bool, rotate: bool, beta: Union[str, float], fraction: float,
             solver: str, sketch_size: int, precision: str) -> None:
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

    def _get_int(self, key: int) -> int:
        return _out_i64(_L.lelp_builder_get_int, self, key)

    def _get_double(self, key: int) -> float:
        return _out_f64(_L.lelp_builder_get_double, self, key)

    def settings(self) -> Dict[str, Any]:
        """The constructor's keyword settings as the C builder holds them (read
        back with lelp_builder_get_*), plus `threads`:
        SubspaceBuilder(dim, num_classes, subclasses, **b.settings()) is an
        empty builder configured like b."""
        beta = self._get_double(_BUILDER_BETA)
        return dict(seed=self._get_int(_BUILDER_SEED), null_space=bool(self._get_int(_BUILDER_NULL_SPACE)),
                    rotate=bool(self._get_int(_BUILDER_ROTATE)), beta="auto" if beta == 0 else beta,
                    entropy_fraction=self._get_double(_BUILDER_ENTROPY_FRACTION),
                    solver=_name_of(_SOLVERS, self._get_int(_BUILDER_SOLVER)),
                    sketch_size=self._get_int(_BUILDER_SKETCH_SIZE), precision=self.precision,
                    gram_form=self.gram_form, beta_sample=self.beta_sample, threads=self.threads)

    def __repr__(self) -> str:
        s = self.settings()
        rows = sum(self.count(c) for c in range(self.num_classes)) if self.num_classes <= 4096 else "?"
        opts = ", ".join(f"{k}={v!r}" for k, v in s.items())
        return (f"SubspaceBuilder(dim={self.dim}, num_classes={self.num_classes}, subclasses={self.subclasses}, "
                f"{opts}) with {rows} rows")

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (SubspaceBuilder._restore, (self.to_bytes(), self.gram_form, self.threads))

    @staticmethod
    def _restore(blob: bytes, gram_form: bool, threads: Optional[int] = None) -> "SubspaceBuilder":
        b = SubspaceBuilder.from_bytes(blob)
        b.gram_form = gram_form  # a setting, not part of the saved state
        b.threads = threads
        return b

    @property
    def dim(self) -> int:
        """d, the embedding width."""
        return self._dims[0]

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return self._dims[1]

    @property
    def subclasses(self) -> int:
        """S, subclasses per class."""
        return self._dims[2]

    @property
    def precision(self) -> str:
        """"float64" or "float32": how the exact solver multiplies each block."""
        return _name_of(_PRECISIONS, self._get_int(_BUILDER_PRECISION))

    @property
    def beta_sample(self) -> int:
        """Rows per class kept for the automatic beta: -1 automatic, 0 none
        (the Gaussian model), k rows (docs/api.md LELP_BUILDER_BETA_SAMPLE)."""
        return self._get_int(_BUILDER_BETA_SAMPLE)

    @property
    def gram_form(self) -> bool:
        """True (default): the exact solver keeps a class with at most d/2 rows
        as rows and fits it from their n x n Gram matrix; False: always the
        d x d co-moment. Settable at any time; applies from the next update or
        merge; not saved with the state."""
        return bool(self._get_int(_BUILDER_GRAM_FORM))

    @gram_form.setter
    def gram_form(self, on: bool) -> None:
        _check(_L.lelp_builder_set_int(self, _BUILDER_GRAM_FORM, int(bool(on))))

    @staticmethod
    def _header_dims(blob):
        # (d, C, S) at bytes 32..56 of every liblelp buffer's header (docs/format.md)
        return tuple(int.from_bytes(blob[o:o + 8], "little", signed=True) for o in (32, 40, 48))

    def update(self, H: ArrayLike, y: ArrayLike, *, threads: Optional[int] = None) -> "SubspaceBuilder":
        """Streams a batch of rows.

        Args:
            H: (n, d) embeddings; float32 reaches C without a copy, other real
                dtypes (float16, bfloat16, float64) are converted once.
            y: (n,) integer labels in [0, C) (int32 without a copy).
            threads: shards of the batch (None: self.threads, whose default is
                every core). A batch of at least 2 x 4096 rows is split into
                contiguous row slices (no more than the shards whose builder
                states fit in the batch's own bytes: n >= 2*C*d rows per
                shard for the exact solver), one fresh builder each on its own thread
                (one BLAS thread each), merged into this builder in slice
                order once all succeeded: the same bits every run for a given
                thread count, equal to threads=1 to rounding. Smaller batches,
                and threads=1, take one C call on the calling thread.

        Returns self. Raises ValueError/TypeError (shapes, dtypes: Python),
        ShapeMismatchError (a width other than d), LabelRangeError,
        NonFiniteError; a failed call leaves the statistics unchanged.
        """
        H = _as(H, np.float32, 2, "H")  # a wrong d: ShapeMismatchError from C
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        n, d = H.shape
        T = _threads.resolve(self.threads if threads is None else threads)
        shards = _threads.ranges(n, T)
        if len(shards) > 1:
            shards = _threads.ranges(n, min(T, self._shards_memory_allows(n)))
        if len(shards) == 1:
            _check(_L.lelp_builder_update(self, _ptr(H), _ptr(y), n, d))
            return self
        if d != self.dim:  # before any shard is built
            _check(_L.lelp_builder_update(self, _ptr(H[:1]), _ptr(y[:1]), 1, d))
        # a batch wider than d rows would leave each shard's classes as Gram rows
        # for the merge to multiply on one thread: shards keep co-moments then
        s = dict(self.settings(), threads=1, gram_form=self.gram_form and n <= d)
        parts = [SubspaceBuilder(*self._dims, **s) for _ in shards]

        def work(k: int, lo: int, hi: int) -> None:
            _check(_L.lelp_builder_update(parts[k], _ptr(H[lo:hi]), _ptr(y[lo:hi]), hi - lo, d))
        _threads.run(work, shards)
        for p in parts:
            self.merge(p)
        return self

    def _shards_memory_allows(self, n: int) -> int:
        """The most shards whose builder states together take no more memory
        than the batch's own n x d float32 rows, so a sharded update stays
        within twice the batch: each shard holds C*d^2 doubles (the exact
        solver's co-moments; Gram-form shards of a batch of <= d rows hold
        their rows) or C*2l*d doubles (the sketch)."""
        d, C, S = self._dims
        if self._get_int(_BUILDER_SOLVER) == _SOLVERS["sketch"]:
            ell = self._get_int(_BUILDER_SKETCH_SIZE) or min(d + 1, 4 * S + 16)
            per_shard = C * 2 * ell * d * 8
        elif self.gram_form and n <= d:
            return n  # the shards keep their rows: no more than the batch
        else:
            per_shard = C * d * d * 8
        return max(1, (n * d * 4) // per_shard)

    def set_head(self, W: ArrayLike) -> "SubspaceBuilder":
        """Sets the teacher's output head W, (C, d) float32 (other real dtypes
        converted once); its row space is projected out before the fit when
        null_space is on. Returns self. Raises ShapeMismatchError, NonFiniteError."""
        W = _as(W, np.float32, 2, "W")  # the shape is checked by C (ShapeMismatchError)
        _check(_L.lelp_builder_set_head(self, _ptr(W), W.shape[0], W.shape[1]))
        return self

    def merge(self, other: "SubspaceBuilder") -> "SubspaceBuilder":
        """Adds another builder's statistics (over rows disjoint from this
        one's) into this one -- Chan's exact merge, or the sketch's mergeable
        summary; `other` is unchanged. Returns self. Raises TypeError (not a
        builder), ShapeMismatchError, InvalidArgumentError (other is self)."""
        if not isinstance(other, SubspaceBuilder):
            raise TypeError(f"merge() takes a SubspaceBuilder, got {type(other).__name__}")
        _check(_L.lelp_builder_merge(self, other))
        return self

    def count(self, c: int) -> int:
        """Rows streamed so far for class c (0 <= c < C; LabelRangeError otherwise)."""
        return _out_i64(_L.lelp_builder_count, self, _int(c, "c"))

    def fit(self) -> "Model":
        """Fits the subspaces (and the automatic beta) from the statistics so
        far; the builder stays usable. Returns a new Model. Raises StageError
        (no rows), TooFewSamplesError (a class with < 2 rows),
        RankDeficientError, SolverError."""
        h = ct.c_void_p()
        _check(_L.lelp_builder_fit(self, ct.byref(h)))
        return Model(h)

    def to_bytes(self) -> bytes:
        """The builder's state (statistics, settings except gram_form/threads,
        head) in the checksummed format of docs/format.md; from_bytes and
        merge on another process take it."""
        return _serialize(_L.lelp_builder_serialized_size, _L.lelp_builder_serialize, self._h)

    @classmethod
    def from_bytes(cls, blob: Union[bytes, bytearray, memoryview]) -> "SubspaceBuilder":
        """A builder from to_bytes() output. Raises FormatError, VersionError,
        ChecksumError, TruncatedError on a bad buffer (it is validated first)."""
        blob = bytes(blob)
        h = ct.c_void_p()
        _check(_L.lelp_builder_load(ct.byref(h), blob, len(blob), None))
        return cls(*cls._header_dims(blob), _ptr_=h)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes to_bytes() to path (atomically: a temporary file renamed).
        Raises LelpIOError."""
        _check(_L.lelp_builder_save_path(self, str(path).encode()))

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "SubspaceBuilder":
        """Reads a builder saved with save(). Raises LelpIOError and the
        format errors of from_bytes."""
        h = ct.c_void_p()
        _check(_L.lelp_builder_load_path(ct.byref(h), str(path).encode(), None))
        with open(path, "rb") as f:
            head = f.read(56)
        return cls(*cls._header_dims(head), _ptr_=h)


# ---- model ----------------------------------------------------------------------------------
class Model(_Handle):
    """Fitted, immutable subspaces (from SubspaceBuilder.fit, Model.load or
    Model.from_bytes); safe to share across threads.

    `threads` (attribute, default None: every core) is the default `threads=`
    of targets/assign/project; it is not saved with the model.
    """

    _free = staticmethod(_L.lelp_model_free)

    def __init__(self, _ptr_: ct.c_void_p, threads: Optional[int] = None) -> None:
        super().__init__(_ptr_)
        self.threads = threads

    def _get_int(self, key: int) -> int:
        return _out_i64(_L.lelp_model_get_int, self, key)

    def _get_double(self, key: int) -> float:
        return _out_f64(_L.lelp_model_get_double, self, key)

    @property
    def dim(self) -> int:
        """d, the embedding width."""
        return self._get_int(_MODEL_DIM)

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return self._get_int(_MODEL_C)

    @property
    def subclasses(self) -> int:
        """S, subclasses per class."""
        return self._get_int(_MODEL_S)

    @property
    def seed(self) -> int:
        """The seed the model was fitted with."""
        return self._get_int(_MODEL_SEED)

    @property
    def beta(self) -> float:
        """beta, the inverse temperature of the subclass softmax."""
        return self._get_double(_MODEL_BETA)

    @property
    def head_rank(self) -> int:
        """Rank of the head's row space projected out (0: no null-space projection)."""
        return self._get_int(_MODEL_HEAD_RANK)

    @property
    def null_space(self) -> bool:
        """Whether the head's row space is projected out (when a head was set)."""
        return bool(self._get_int(_MODEL_NULL_SPACE))

    @property
    def rotate(self) -> bool:
        """Whether each class's directions were given the seeded Haar rotation."""
        return bool(self._get_int(_MODEL_ROTATE))

    @property
    def auto_beta(self) -> bool:
        """Whether beta was solved automatically."""
        return bool(self._get_int(_MODEL_AUTO_BETA))

    @property
    def entropy_fraction(self) -> float:
        """The target fraction of log S of the automatic beta."""
        return self._get_double(_MODEL_FRACTION)

    @property
    def solver(self) -> str:
        """"exact" or "sketch": the solver that fitted the model."""
        return _name_of(_SOLVERS, self._get_int(_MODEL_SOLVER))

    def __repr__(self) -> str:
        return (f"Model(dim={self.dim}, num_classes={self.num_classes}, subclasses={self.subclasses}, "
                f"beta={self.beta:.6g}, auto_beta={self.auto_beta}, solver={self.solver!r}, "
                f"null_space={self.null_space}, head_rank={self.head_rank}, rotate={self.rotate}, "
                f"seed={self.seed})")

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (Model._restore, (self.to_bytes(), self.threads))

    @staticmethod
    def _restore(blob: bytes, threads: Optional[int] = None) -> "Model":
        m = Model.from_bytes(blob)
        m.threads = threads
        return m

    def _array(self, fn: Any, shape: Tuple[int, ...]) -> np.ndarray:
        out = np.empty(shape, np.float64)
        _check(fn(self, _ptr(out), out.size))
        return out

    @property
    def eigenvalues(self) -> np.ndarray:
        """(C, S) float64: each class's top-S covariance eigenvalues (of the
        unrotated eigenvectors), descending."""
        return self._array(_L.lelp_model_eigenvalues, (self.num_classes, self.subclasses))

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """(C, S) float64: eigenvalues over each class's total variance."""
        return self._array(_L.lelp_model_explained_variance_ratio, (self.num_classes, self.subclasses))

    @property
    def components(self) -> np.ndarray:
        """(C, S, d) float64: the directions the projections use -- each
        class's top-S eigenvectors (signs by the sign rule of docs/method.md),
        rotated when rotation is on."""
        return self._array(_L.lelp_model_components, (self.num_classes, self.subclasses, self.dim))

    @property
    def means(self) -> np.ndarray:
        """(C, d) float64: each class's mean embedding."""
        return self._array(_L.lelp_model_means, (self.num_classes, self.dim))

    @property
    def offsets(self) -> np.ndarray:
        """(C, S) float64: b = <components, mean>, subtracted in project()."""
        return self._array(_L.lelp_model_offsets, (self.num_classes, self.subclasses))

    def _H(self, H: ArrayLike) -> np.ndarray:
        return _as(H, np.float32, 2, "H", (None, self.dim))

    def _shards(self, n: int, threads: Optional[int]) -> list:
        return _threads.ranges(n, _threads.resolve(self.threads if threads is None else threads))

    def targets(self, H: ArrayLike, logits: Optional[ArrayLike] = None, tau: float = 1.0,
                labels: Optional[ArrayLike] = None, smoothing: float = 0.0, out: Optional[ArrayLike] = None,
                *, threads: Optional[int] = None) -> Any:
        """Soft subclass targets, (n, C*S) float32 (rows sum to 1).

        Args:
            H: (n, d) teacher embeddings.
            logits: (n, C) teacher logits -- give exactly one of logits/labels.
            tau: temperature of the class softmax of the logits (> 0).
            labels: (n,) integer labels (hard class targets instead of logits).
            smoothing: label smoothing in [0, 1) with labels=.
            out: an (n, C*S) float32 C-contiguous buffer (ndarray or CPU
                tensor) to write into; must not overlap H, logits or labels.
            threads: row shards over threads (None: self.threads, default every
                core; batches under 2 x 4096 rows take one call).

        Returns out if given, else a new array -- a torch tensor when H is one.
        Raises ValueError/TypeError (shapes, dtypes, aliasing, non-CPU
        tensor), NonFiniteError, LabelRangeError.
        """
        if (logits is None) == (labels is None):
            raise ValueError("give exactly one of logits= or labels=")
        wrap = _like(H)
        H = self._H(H)
        n, K = H.shape[0], self.num_classes * self.subclasses
        T, ret = _out_buf(out, (n, K), np.float32, "out")
        if logits is not None:
            Z = _as(logits, np.float32, 2, "logits", (n, self.num_classes))
            _no_alias(T, "out", H=H, logits=Z)
            tau = float(tau)

            def work(k: int, lo: int, hi: int) -> None:
                _check(_L.lelp_model_targets_from_logits(self, _ptr(H[lo:hi]), _ptr(Z[lo:hi]), hi - lo, H.shape[1],
                                                         tau, _ptr(T[lo:hi])))
        else:
            y = _as(labels, np.int32, 1, "labels", (n,))
            _no_alias(T, "out", H=H, labels=y)
            smoothing = float(smoothing)

            def work(k: int, lo: int, hi: int) -> None:
                _check(_L.lelp_model_targets_from_labels(self, _ptr(H[lo:hi]), _ptr(y[lo:hi]), hi - lo, H.shape[1],
                                                         smoothing, _ptr(T[lo:hi])))
        _threads.run(work, self._shards(n, threads))
        return ret if out is not None else wrap(T)

    def project(self, H: ArrayLike, *, threads: Optional[int] = None) -> Any:
        """The subclass logits f = (<components, h> - offsets) / beta of each
        row for every class and subclass: (n, C*S) float32 (a tensor when H
        is one). threads= as in targets(). Raises ValueError/TypeError,
        NonFiniteError."""
        wrap = _like(H)
        H = self._H(H)
        F = np.empty((H.shape[0], self.num_classes * self.subclasses), np.float32)

        def work(k: int, lo: int, hi: int) -> None:
            _check(_L.lelp_model_project(self, _ptr(H[lo:hi]), hi - lo, H.shape[1], _ptr(F[lo:hi])))
        _threads.run(work, self._shards(H.shape[0], threads))
        return wrap(F)

    def assign(self, H: ArrayLike, y: ArrayLike, *, threads: Optional[int] = None) -> Any:
        """Hard pseudo-subclass of each row within its own class y: (n,) int32
        in [0, S) (a tensor when H is one). threads= as in targets(). Raises
        ValueError/TypeError, NonFiniteError, LabelRangeError."""
        wrap = _like(H)
        H = self._H(H)
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        out = np.empty(H.shape[0], np.int32)

        def work(k: int, lo: int, hi: int) -> None:
            _check(_L.lelp_model_assign(self, _ptr(H[lo:hi]), _ptr(y[lo:hi]), hi - lo, H.shape[1],
                                        _ptr(out[lo:hi])))
        _threads.run(work, self._shards(H.shape[0], threads))
        return wrap(out)

    def mean_entropy(self, H: ArrayLike, y: ArrayLike, beta: Optional[float] = None) -> float:
        """Mean entropy (nats) of the within-class subclass distributions of
        rows H (n, d) with labels y (n,) at beta (default: the model's)."""
        H = self._H(H)
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        b = self.beta if beta is None else float(beta)
        return _out_f64(_L.lelp_model_mean_entropy, self, _ptr(H), _ptr(y), H.shape[0], H.shape[1], b)

    def estimate_beta(self, H: ArrayLike, y: ArrayLike, fraction: float = 0.5) -> float:
        """The beta at which mean_entropy(H, y) is fraction * log S, for
        fraction in (0, 1). Raises NumericalError when the search fails."""
        H = self._H(H)
        y = _as(y, np.int32, 1, "y", (H.shape[0],))
        return _out_f64(_L.lelp_model_estimate_beta, self, _ptr(H), _ptr(y), H.shape[0], H.shape[1], float(fraction))

    def with_beta(self, beta: float) -> "Model":
        """A new Model equal to this one but with beta (> 0; ParamRangeError otherwise)."""
        h = ct.c_void_p()
        _check(_L.lelp_model_with_beta(self, float(beta), ct.byref(h)))
        return Model(h, self.threads)

    def to_bytes(self) -> bytes:
        """The model in the checksummed format of docs/format.md."""
        return _serialize(_L.lelp_model_serialized_size, _L.lelp_model_serialize, self._h)

    @classmethod
    def from_bytes(cls, blob: Union[bytes, bytearray, memoryview]) -> "Model":
        """A model from Model.to_bytes() output (a builder's bytes are refused:
        FormatError). Raises FormatError, VersionError, ChecksumError,
        TruncatedError."""
        blob = bytes(blob)
        h = ct.c_void_p()
        _check(_L.lelp_model_load(ct.byref(h), blob, len(blob), None))
        return cls(h)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes to_bytes() to path. Raises LelpIOError."""
        _check(_L.lelp_model_save_path(self, str(path).encode()))

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Model":
        """Reads a model saved with save() (or `lelp fit`). Raises LelpIOError
        and the format errors of from_bytes."""
        h = ct.c_void_p()
        _check(_L.lelp_model_load_path(ct.byref(h), str(path).encode(), None))
        return cls(h)


# ---- loss -------------------------------------------------------------------------------------
class Loss(_Handle):
    """The student loss and its gradient (no allocation per call).

    loss(u, T) is (1 - alpha) tau^2 KL(T || softmax(u / tau)) + alpha CE of the
    class marginal against labels (kind="kl"), or DKD (kind="dkd") or the
    subclass auxiliary loss (kind="subclass_aux") of docs/method.md.

    Args:
        num_classes: C.
        subclasses: S (1: Hinton's KD on C logits).
        tau: temperature (> 0).
        alpha: weight of the cross-entropy term, in [0, 1].
        reduction: "mean" or "sum" over rows.
        kind: "kl", "dkd" or "subclass_aux".
        dkd_target_weight, dkd_nontarget_weight: DKD's alpha and beta.
        aux_temperature: the auxiliary loss's temperature.

    Copies and pickles rebuild the loss from these settings.
    """

    _free = staticmethod(_L.lelp_loss_free)

    def __init__(self, num_classes: int, subclasses: int = 1, tau: float = 1.0, alpha: float = 0.0,
                 reduction: str = "mean", kind: str = "kl", dkd_target_weight: float = 1.0,
                 dkd_nontarget_weight: float = 8.0, aux_temperature: float = 1.0) -> None:
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

    @property
    def num_classes(self) -> int:
        """C."""
        return self.C

    @property
    def subclasses(self) -> int:
        """S."""
        return self.S

    def settings(self) -> Dict[str, Any]:
        """The keyword settings as the C loss holds them (lelp_loss_get_*):
        Loss(num_classes, subclasses, **loss.settings()) is an equal loss."""
        def i(k: int) -> int:
            return _out_i64(_L.lelp_loss_get_int, self, k)

        def f(k: int) -> float:
            return _out_f64(_L.lelp_loss_get_double, self, k)
        return dict(tau=f(_LOSS_TAU), alpha=f(_LOSS_ALPHA), reduction=_name_of(_REDUCTIONS, i(_LOSS_REDUCTION)),
                    kind=_name_of(_KINDS, i(_LOSS_KIND)), dkd_target_weight=f(_LOSS_DKD_T),
                    dkd_nontarget_weight=f(_LOSS_DKD_NT), aux_temperature=f(_LOSS_AUX_T))

    def __repr__(self) -> str:
        s = self.settings()
        if s["kind"] != "dkd":
            s.pop("dkd_target_weight"), s.pop("dkd_nontarget_weight")
        if s["kind"] != "subclass_aux":
            s.pop("aux_temperature")
        opts = ", ".join(f"{k}={v!r}" for k, v in s.items())
        return f"Loss(num_classes={self.C}, subclasses={self.S}, {opts})"

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (_restore_loss, (self.C, self.S, self.settings()))

    def __call__(self, u: ArrayLike, T: Optional[ArrayLike] = None, labels: Optional[ArrayLike] = None,
                 weights: Optional[ArrayLike] = None, out: Optional[ArrayLike] = None, grad: bool = True
                 ) -> Union[float, Tuple[float, Any]]:
        """The loss of student logits u against targets T, and dL/du.

        Args:
            u: (n, C*S) student logits.
            T: (n, C*S) targets (rows are distributions, e.g. Model.targets);
                None only when alpha == 1 or kind="subclass_aux".
            labels: (n,) integer class labels for the CE term (needed when
                alpha > 0 and for DKD).
            weights: (n,) non-negative row weights, or None.
            out: an (n, C*S) float32 buffer for the gradient (ndarray or CPU
                tensor); must not overlap u, T, labels or weights.
            grad: False returns the value only (the C call skips the gradient).

        Returns (value, gradient) -- the gradient float32 of u's shape, a
        tensor when u is one -- or the value alone with grad=False. Raises
        ValueError/TypeError (shapes, dtypes, aliasing), InvalidTargetsError,
        NonFiniteError, LabelRangeError.
        """
        K = self.C * self.S
        wrap = _like(u) if type(u) is not np.ndarray else None
        u = _as(u, np.float32, 2, "u", (None, K))
        n = u.shape[0]
        T = None if T is None else _as(T, np.float32, 2, "T", (n, K))
        y = None if labels is None else _as(labels, np.int32, 1, "labels", (n,))
        w = None if weights is None else _as(weights, np.float32, 1, "weights", (n,))
        pu, pT, py, pw = _ptr(u), _ptr(T), _ptr(y), _ptr(w)
        if not grad:
            g = pg = None
        elif out is None:
            g = np.empty((n, K), np.float32)
            pg = _ptr(g)
        else:
            gb, ret = _out_buf(out, (n, K), np.float32, "out")
            g, pg = gb, _ptr(gb)
            # the inputs are contiguous buffers here: an address-range test is
            # exact, and cheaper per training step than np.may_share_memory
            for name, a, pa in (("u", u, pu), ("T", T, pT), ("labels", y, py), ("weights", w, pw)):
                if a is not None and pa is not None and pg is not None and a.nbytes and gb.nbytes \
                        and pa < pg + gb.nbytes and pg < pa + a.nbytes:
                    _no_alias(gb, "out", **{name: a})
        # self._h, not self: the handle property costs as much as a pointer
        st = _L.lelp_loss_compute(self._h, pu, pT, py, pw, n, ct.byref(self._value), pg)
        if st:
            _check(st)
        if not grad:
            return self._value.value
        if out is not None:
            return self._value.value, ret
        assert g is not None
        return self._value.value, (g if wrap is None else wrap(g))


def _restore_loss(C: int, S: int, settings: Dict[str, Any]) -> Loss:
    return Loss(C, S, **settings)


# ---- compressor ----------------------------------------------------------------------------------
class Compressor(_Handle):
    """Ding & Lerch's embedding compression: e' = A e + a, trained with a
    linear head W e' + bias on the teacher's labels; the student then matches
    e' (student_loss).

    Args:
        teacher_dim: dt, the teacher embedding width.
        student_dim: k, the compressed width.
        num_classes: C.
        loss: the student distance, "mse", "cosine" or "dcor".
        optimizer: "adam" or "sgd".
        lr, weight_decay, momentum: the optimizer's settings (momentum: SGD).
        multilabel: step() takes (n, C) 0/1 targets (sigmoid head) instead of labels.
        seed: seed of the initial weights.

    Copies and pickles go through to_bytes (weights, optimizer state, settings).
    """

    _free = staticmethod(_L.lelp_compressor_free)

    def __init__(self, teacher_dim: int, student_dim: int, num_classes: int, loss: str = "mse",
                 optimizer: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0, multilabel: bool = False,
                 seed: int = 0, momentum: float = 0.9, *, _ptr_: Optional[ct.c_void_p] = None) -> None:
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

    def settings(self) -> Dict[str, Any]:
        """The keyword settings as the C compressor holds them (lelp_compressor_get_*)."""
        def i(k: int) -> int:
            return _out_i64(_L.lelp_compressor_get_int, self, k)

        def f(k: int) -> float:
            return _out_f64(_L.lelp_compressor_get_double, self, k)
        return dict(loss=_name_of(_DISTANCES, i(_COMP_DISTANCE)), optimizer=_name_of(_OPTIMIZERS, i(_COMP_OPTIMIZER)),
                    lr=f(_COMP_LR), weight_decay=f(_COMP_WD), multilabel=bool(i(_COMP_MULTILABEL)),
                    seed=i(_COMP_SEED), momentum=f(_COMP_MOMENTUM))

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return (f"Compressor(teacher_dim={self.teacher_dim}, student_dim={self.student_dim}, "
                f"num_classes={self.num_classes}, {opts})")

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return (Compressor.from_bytes, (self.to_bytes(),))

    def step(self, E: ArrayLike, y: ArrayLike) -> float:
        """One optimizer step on a batch; returns the head loss before the step.

        Args:
            E: (n, teacher_dim) teacher embeddings.
            y: (n,) integer labels, or (n, C) 0/1 targets with multilabel=True.

        Raises ValueError/TypeError (shapes, dtypes), LabelRangeError,
        NonFiniteError, NumericalError (the step would make weights non-finite).
        """
        # the C calls take no widths: every one is checked here
        E = _as(E, np.float32, 2, "E", (None, self.teacher_dim))
        y = _arrays.tensor_to_numpy(y, "y") if _arrays.is_tensor(y) else np.asarray(y)
        loss = ct.c_double()
        if y.ndim == 1:
            yy = _as(y, np.int32, 1, "y", (E.shape[0],))
            _check(_L.lelp_compressor_step(self, _ptr(E), _ptr(yy), None, E.shape[0], ct.byref(loss)))
        else:
            Y = _as(y, np.float32, 2, "y", (E.shape[0], self.num_classes))
            _check(_L.lelp_compressor_step(self, _ptr(E), None, _ptr(Y), E.shape[0], ct.byref(loss)))
        return loss.value

    @property
    def teacher_dim(self) -> int:
        """dt, the teacher embedding width."""
        return self._dims[0]

    @property
    def student_dim(self) -> int:
        """k, the compressed width."""
        return self._dims[1]

    @property
    def num_classes(self) -> int:
        """C."""
        return self._dims[2]

    def compress(self, E: ArrayLike) -> Any:
        """e' = A e + a for each row of E (n, teacher_dim): (n, student_dim)
        float32, a tensor when E is one."""
        wrap = _like(E)
        E = _as(E, np.float32, 2, "E", (None, self.teacher_dim))
        out = np.empty((E.shape[0], self.student_dim), np.float32)
        _check(_L.lelp_compressor_compress(self, _ptr(E), E.shape[0], _ptr(out)))
        return wrap(out)

    def student_loss(self, F: ArrayLike, E: ArrayLike) -> Tuple[float, Any]:
        """(value, dL/dF) of the distance between student features F (n,
        student_dim) and stopgrad(e') of E (n, teacher_dim); dL/dF is float32
        of F's shape, a tensor when F is one."""
        wrap = _like(F)
        F = _as(F, np.float32, 2, "F", (None, self.student_dim))
        E = _as(E, np.float32, 2, "E", (F.shape[0], self.teacher_dim))
        g = np.empty(F.shape, np.float32)
        v = ct.c_double()
        _check(_L.lelp_compressor_student_loss(self, _ptr(F), _ptr(E), F.shape[0], ct.byref(v), _ptr(g)))
        return v.value, wrap(g)

    def weights(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Copies of the parameters: (A (k, dt), a (k,), W (C, k), bias (C,)), float32."""
        dt, k, C = self._dims
        A, a = np.empty((k, dt), np.float32), np.empty(k, np.float32)
        W, bias = np.empty((C, k), np.float32), np.empty(C, np.float32)
        _check(_L.lelp_compressor_weights(self, _ptr(A), _ptr(a), _ptr(W), _ptr(bias)))
        return A, a, W, bias

    def to_bytes(self) -> bytes:
        """The compressor (settings, weights, optimizer state) in the format of docs/format.md."""
        return _serialize(_L.lelp_compressor_serialized_size, _L.lelp_compressor_serialize, self._h)

    @classmethod
    def from_bytes(cls, blob: Union[bytes, bytearray, memoryview]) -> "Compressor":
        """A compressor from to_bytes() output. Raises the format errors."""
        blob = bytes(blob)
        h = ct.c_void_p()
        _check(_L.lelp_compressor_load(ct.byref(h), blob, len(blob), None))
        return cls(*SubspaceBuilder._header_dims(blob), _ptr_=h)

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes to_bytes() to path. Raises LelpIOError."""
        _check(_L.lelp_compressor_save_path(self, str(path).encode()))

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Compressor":
        """Reads a compressor saved with save(). Raises LelpIOError and the format errors."""
        h = ct.c_void_p()
        _check(_L.lelp_compressor_load_path(ct.byref(h), str(path).encode(), None))
        with open(path, "rb") as f:
            head = f.read(56)
        return cls(*SubspaceBuilder._header_dims(head), _ptr_=h)


# ---- free functions ---------------------------------------------------------------------------------
def predict_log_proba(u: ArrayLike, num_classes: int, subclasses: int) -> Any:
    """(n, C) float32 class log-probabilities from (n, C*S) student logits u:
    log sum over each class's S subclass probabilities. A tensor when u is one."""
    wrap = _like(u)
    C, S = _int(num_classes, "num_classes"), _int(subclasses, "subclasses")
    u = _as(u, np.float32, 2, "u", (None, C * S))
    out = np.empty((u.shape[0], C), np.float32)
    _check(_L.lelp_predict_log_proba(_ptr(u), u.shape[0], C, S, _ptr(out)))
    return wrap(out)


def predict_class(u: ArrayLike, num_classes: int, subclasses: int) -> Any:
    """(n,) int32 predicted class of (n, C*S) student logits u: the largest
    class probability, ties to the lowest class. A tensor when u is one."""
    wrap = _like(u)
    C, S = _int(num_classes, "num_classes"), _int(subclasses, "subclasses")
    u = _as(u, np.float32, 2, "u", (None, C * S))
    out = np.empty(u.shape[0], np.int32)
    _check(_L.lelp_predict_class(_ptr(u), u.shape[0], C, S, _ptr(out)))
    return wrap(out)


def softmax_targets(logits: ArrayLike, tau: float = 1.0) -> Any:
    """softmax(z / tau) of (n, K) logits, float32 (n, K): the targets of
    vanilla KD (use with a Loss of subclasses=1). A tensor when logits is one."""
    wrap = _like(logits)
    z = _as(logits, np.float32, 2, "logits")
    out = np.empty_like(z)
    _check(_L.lelp_softmax_targets(_ptr(z), z.shape[0], z.shape[1], float(tau), _ptr(out)))
    return wrap(out)


def __getattr__(name: str) -> Any:
    # `lelp.torch` and `lelp.dask` after a plain `import lelp`; PyTorch and
    # Dask stay optional
    if name in ("torch", "dask"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
