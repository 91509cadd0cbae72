# SPDX-License-Identifier: MIT
"""Fitting and labelling from dask arrays: embedding sets larger than one
machine's memory, on the Dask scheduler in use (a distributed.Client when one
is active, else Dask's local threads).

    model = lelp.dask.fit(H, y, num_classes=C, subclasses=S, head=W)
    T = lelp.dask.targets(model, H, logits=Z)       # a dask array (n, C*S)

fit() streams each row chunk of H into a SubspaceBuilder of its own on the
workers, tree-reduces the serialized states pairwise with
SubspaceBuilder.merge (in chunk order, so the same chunks give the same
bits), and fits once on the caller: equal to the one-process fit to rounding
(Chan's exact merge; the beta sample does not depend on the chunking). Only
builder states (C*d^2 doubles per class set for the exact solver) move
between processes, never rows.

Needs python3-dask (dask.array); distributed is optional. `import lelp`
works without Dask.
"""
from typing import Any, List, Optional

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as e:
    raise ImportError("lelp.dask needs Dask (Debian: apt-get install python3-dask); import lelp works without it"
                      ) from e

from . import Model, SubspaceBuilder

__all__ = ["fit", "targets"]


def _rows(H: Any, name: str) -> Any:
    """H as a 2-d dask array chunked by rows only (one chunk across columns)."""
    H = da.asarray(H)
    if H.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {H.shape}")
    return H.rechunk({1: -1}) if H.numblocks[1] != 1 else H


def _like_rows(a: Any, chunks: tuple, n: int, name: str, ndim: int) -> Any:
    """a (a dask or NumPy array of n rows) as a dask array with the row chunks of H."""
    a = da.asarray(a)
    if a.ndim != ndim or a.shape[0] != n:
        raise ValueError(f"{name} has shape {a.shape}; it must have {n} rows and {ndim} dimension(s)")
    return a.rechunk((chunks,) + ((-1,) if ndim == 2 else ()))


def _chunk_state(H: np.ndarray, y: np.ndarray, dims: tuple, options: dict) -> bytes:
    """Runs on a worker: one builder over one chunk's rows, serialized."""
    b = SubspaceBuilder(*dims, **options)
    if len(H):
        b.update(H, y)
    return b.to_bytes()


def _merge_states(a: bytes, b: bytes, options: dict) -> bytes:
    """Runs on a worker: state a with state b merged into it, serialized."""
    x = SubspaceBuilder.from_bytes(a)
    x.gram_form = options.get("gram_form", True)  # a setting, not saved with states
    x.merge(SubspaceBuilder.from_bytes(b))
    return x.to_bytes()


def _tree(states: List[Any], options: dict) -> Any:
    """Pairwise merges, neighbours first, in chunk order: log2(chunks) rounds."""
    merge = dask.delayed(_merge_states, pure=True)
    while len(states) > 1:
        states = [merge(states[i], states[i + 1], options) if i + 1 < len(states)
                  else states[i] for i in range(0, len(states), 2)]
    return states[0]


def fit(H: Any, y: Any, *, head: Optional[Any] = None, **builder_options: Any) -> Model:
    """Fits a Model from a dask array of embeddings.

    Args:
        H: (n, d) embeddings, a dask.array (or anything dask.array.asarray
            takes) chunked by rows; column chunks are joined first.
        y: (n,) integer labels, a dask or NumPy array (rechunked like H's rows).
        head: the teacher head W (C, d), set on the merged builder before the
            fit (a NumPy/torch/dask array), or None.
        **builder_options: SubspaceBuilder's settings; num_classes and
            subclasses are required (dim is H's width). threads defaults to 1
            in each chunk's builder (Dask runs the chunks in parallel).

    Returns the fitted Model (on the caller). The scheduler is Dask's current
    one: a distributed.Client's cluster when a client is active. Raises
    ValueError/TypeError for shapes and options, and the LelpError of the
    chunk or merge that failed (e.g. LabelRangeError), re-raised here.
    """
    H = _rows(H, "H")
    n, d = H.shape
    y = _like_rows(y, H.chunks[0], n, "y", 1)
    opts = dict(builder_options)
    try:
        dims = (d, opts.pop("num_classes"), opts.pop("subclasses"))
    except KeyError as e:
        raise TypeError(f"lelp.dask.fit() needs {e.args[0]}= (a SubspaceBuilder setting)") from None
    opts.pop("dim", None)
    opts.setdefault("threads", 1)
    SubspaceBuilder(*dims, **opts)  # the options are checked here, before any task runs
    chunk = dask.delayed(_chunk_state, pure=True)
    states = [chunk(h, yy, dims, opts) for h, yy in zip(H.to_delayed().ravel(), y.to_delayed().ravel())]
    b = SubspaceBuilder.from_bytes(_tree(states, opts).compute())
    b.gram_form = opts.get("gram_form", True)
    if head is not None:
        b.set_head(head.compute() if isinstance(head, da.Array) else head)
    return b.fit()


def _targets_block(model: Model, H: np.ndarray, Z: Optional[np.ndarray], y: Optional[np.ndarray], tau: float,
                   smoothing: float) -> np.ndarray:
    """Runs on a worker: the targets of one row chunk."""
    if Z is not None:
        return model.targets(H, logits=Z, tau=tau, threads=1)
    return model.targets(H, labels=y, smoothing=smoothing, threads=1)


def targets(model: Model, H: Any, logits: Optional[Any] = None, tau: float = 1.0, labels: Optional[Any] = None,
            smoothing: float = 0.0) -> Any:
    """Model.targets over a dask array: a lazy (n, C*S) float32 dask array
    with H's row chunks.

    Args:
        model: a fitted Model (sent to each worker once, as its bytes).
        H: (n, d) embeddings, dask (or NumPy) array.
        logits: (n, C) teacher logits -- or labels: (n,) integer labels;
            exactly one of them.
        tau, smoothing: as Model.targets.

    Raises ValueError for shapes here; the C errors (NonFiniteError, ...) are
    raised when the result is computed.
    """
    if (logits is None) == (labels is None):
        raise ValueError("give exactly one of logits= or labels=")
    H = _rows(H, "H")
    n, d = H.shape
    if d != model.dim:
        raise ValueError(f"H has shape {H.shape}; dimension 1 must be {model.dim}")
    K = model.num_classes * model.subclasses
    m = dask.delayed(model, pure=True)
    block = dask.delayed(_targets_block, pure=True)
    hs = H.to_delayed().ravel()
    if logits is not None:
        Z = _like_rows(logits, H.chunks[0], n, "logits", 2)
        if Z.shape[1] != model.num_classes:
            raise ValueError(f"logits has shape {Z.shape}; dimension 1 must be {model.num_classes}")
        parts = [block(m, h, z, None, float(tau), 0.0) for h, z in zip(hs, Z.to_delayed().ravel())]
    else:
        y = _like_rows(labels, H.chunks[0], n, "labels", 1)
        parts = [block(m, h, None, yy, 1.0, float(smoothing)) for h, yy in zip(hs, y.to_delayed().ravel())]
    return da.concatenate([da.from_delayed(p, shape=(rows, K), dtype=np.float32)
                           for p, rows in zip(parts, H.chunks[0])], axis=0)
