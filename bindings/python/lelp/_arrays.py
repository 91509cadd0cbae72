# SPDX-License-Identifier: MIT
"""Array conversion between the caller's arrays (NumPy or CPU torch tensors)
and the buffers the C calls read and write.

The rule everywhere: an input that already is what the C call takes (a
C-contiguous, aligned ndarray of float32 data or int32 labels, or a CPU torch
tensor whose .numpy() view is one) reaches C without a copy; anything else is
converted once. Outputs come back as the type of the call's first array
argument: a torch tensor sharing the NumPy output's buffer (torch.from_numpy,
no copy) when that argument was a tensor, else the ndarray.
"""
import operator
import sys
from typing import Any, Callable, Optional, Sequence, Tuple

import ctypes as ct
import numpy as np

__all__: list = []


def is_tensor(x: Any) -> bool:
    """True for a torch.Tensor; never imports torch (a caller holding a tensor
    has imported it already)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def tensor_to_numpy(t: Any, name: str) -> np.ndarray:
    """The ndarray view of a CPU tensor (shares its buffer: no copy).

    A tensor on another device is refused with the device and the fix;
    bfloat16 (which NumPy has no dtype for) is converted to float32 here, once;
    float16/float64 views are converted to float32 by the caller's conversion,
    once. The autograd graph is not followed (detach)."""
    if t.device.type != "cpu":
        raise ValueError(f"{name} is a tensor on device '{t.device}', but liblelp runs on the CPU: "
                         f"pass {name}.cpu() (e.g. {name} = {name}.detach().cpu())")
    t = t.detach()
    torch = sys.modules["torch"]
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)
    if t.is_conj() or t.is_neg():
        t = t.resolve_conj().resolve_neg()
    return t.numpy()


def like(ref: Any) -> Callable[[np.ndarray], Any]:
    """A function giving an output in the type of the input `ref`: torch.from_numpy
    (the same buffer) for a tensor, the ndarray itself otherwise."""
    if is_tensor(ref):
        return sys.modules["torch"].from_numpy
    return _identity


def _identity(a: np.ndarray) -> np.ndarray:
    return a


def as_array(arr: Any, dtype: Any, ndim: int, name: str, shape: Optional[Sequence[Optional[int]]] = None
             ) -> np.ndarray:
    """The array the C call reads: `arr` itself when it is already a
    C-contiguous, aligned ndarray of `dtype` (zero copy: C reads the caller's
    buffer), else one converted copy. Torch tensors go through their NumPy view
    (tensor_to_numpy). Shapes and dtypes are checked here, before the C call,
    with NumPy-style messages.

    Raises ValueError (wrong ndim, shape, labels outside int32, non-CPU
    tensor) or TypeError (non-numeric dtype, float labels)."""
    if type(arr) is np.ndarray and arr.ndim == ndim and arr.dtype == dtype and arr.flags.c_contiguous \
            and arr.flags.aligned:
        # the per-batch fast path (the loss is called per training step):
        # nothing to convert, only the shape to check
        if shape is not None:
            for got, want in zip(arr.shape, shape):
                if want is not None and got != want:
                    shape_error(arr, shape, name)
        return arr
    a = tensor_to_numpy(arr, name) if is_tensor(arr) else np.asarray(arr)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if shape is not None:
        shape_error(a, shape, name)
    if dtype == np.int32 and a.dtype != np.int32:
        if a.dtype.kind == "f":
            raise TypeError(f"{name} must hold integer labels, got dtype {a.dtype}")
        if a.size and a.dtype.kind in "iu":
            lo, hi = int(a.min()), int(a.max())
            if lo < -2**31 or hi >= 2**31:
                raise ValueError(f"{name} holds {lo if lo < -2**31 else hi}, which does not fit the C API's int32")
    # np.ascontiguousarray returns a misaligned array as is (it only checks
    # order and dtype); C would then read floats at an odd address (UB: a
    # misaligned load), so such an array is copied to an aligned buffer.
    return np.require(a, dtype, ("C", "A"))


def shape_error(a: np.ndarray, shape: Sequence[Optional[int]], name: str) -> None:
    """Raises ValueError naming the first dimension of `a` that differs from
    `shape` (None: any size)."""
    for i, (got, want) in enumerate(zip(a.shape, shape)):
        if want is not None and got != want:
            raise ValueError(f"{name} has shape {a.shape}; dimension {i} must be {want}")


def as_int(v: Any, name: str, lo: int = -2**63, hi: int = 2**63 - 1) -> int:
    """v as a Python int for an int64 (or narrower) C argument: ctypes would
    silently wrap a value outside the C type, so a seed of 2**64 became 0."""
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(v).__name__}") from None
    if not lo <= i <= hi:
        raise ValueError(f"{name} = {i} does not fit the C API's range [{lo}, {hi}]")
    return i


def ptr(a: Optional[np.ndarray]) -> Optional[int]:
    """The buffer's address as an int (ctypes passes it as the c_void_p
    argument), or None for NULL."""
    if a is None:
        return None
    try:
        # a third of the cost of a.ctypes.data; needs a writeable buffer
        return ct.addressof(ct.c_char.from_buffer(a)) if a.size else a.ctypes.data  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def out_buffer(out: Any, shape: Tuple[int, ...], dtype: Any, name: str) -> Tuple[np.ndarray, Any]:
    """(the ndarray C writes, what the call returns) for an `out=` argument:
    a new array when out is None; else the caller's ndarray or CPU tensor,
    which must already be right (writeable, C-contiguous, aligned, the exact
    dtype and shape): it is never silently replaced. Raises TypeError or
    ValueError."""
    if out is None:
        a = np.empty(shape, dtype)
        return a, a
    if is_tensor(out):
        torch = sys.modules["torch"]
        if out.device.type != "cpu":
            tensor_to_numpy(out, name)  # raises with the device and the fix
        if out.requires_grad and torch.is_grad_enabled():
            raise ValueError(f"{name} requires grad; pass a tensor without requires_grad (or {name}.detach())")
        if not out.is_contiguous() or out.dtype != torch.float32 and dtype == np.float32 \
                or out.dtype != torch.int32 and dtype == np.int32:
            raise ValueError(f"{name} must be a contiguous {np.dtype(dtype).name} tensor of shape {shape}")
        a = out.detach().numpy()
    elif isinstance(out, np.ndarray):
        a = out
    else:
        raise TypeError(f"{name} must be a numpy.ndarray or a CPU torch.Tensor, got {type(out).__name__}")
    if a.shape != tuple(shape) or a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable \
            or not a.flags.aligned:
        raise ValueError(f"{name} must be a writeable C-contiguous {np.dtype(dtype).name} array of shape {shape}")
    return a, out


def check_no_alias(out: np.ndarray, name: str, **inputs: Optional[np.ndarray]) -> None:
    """Raises ValueError when the output buffer overlaps an input the same C
    call reads: the C kernels read inputs after writing outputs, so an aliased
    call returned wrong numbers with a success status (issue 21, item 5).
    The arrays here are C-contiguous, so bounds overlap is exact."""
    for arg, a in inputs.items():
        if a is not None and a.size and out.size and np.may_share_memory(out, a):
            raise ValueError(f"{name} shares memory with {arg}; the call would overwrite its own input: "
                             f"pass a separate buffer as {name}")
