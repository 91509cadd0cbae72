# SPDX-License-Identifier: MIT
"""PyTorch integration: LELPLoss, a torch.nn.Module whose backward uses the
gradient liblelp computes (no autograd graph through the loss itself).

    crit = lelp.torch.LELPLoss(num_classes=C, subclasses=S, tau=2.0)
    loss = crit(student_logits, targets)          # targets from Model.targets
    loss.backward()

CPU tensors only; float32 tensors are passed to the C library without a copy.
"""
import ctypes as _ct

import numpy as np

try:
    import torch as _torch
except ImportError as e:  # the rest of lelp works without PyTorch
    raise ImportError("lelp.torch needs PyTorch (Debian: apt-get install python3-torch); "
                      "import lelp works without it") from e

from . import Loss, _L, _check


def _np(t, name):
    if t is None:
        return None
    if not isinstance(t, _torch.Tensor):
        return np.asarray(t)
    if t.device.type != "cpu":
        raise ValueError(f"{name} must be a CPU tensor (liblelp runs on the CPU), got device {t.device}")
    # a contiguous CPU tensor shares its buffer with the array (no copy);
    # lelp converts dtypes it does not take (float64 -> float32, int64 -> int32) once
    return t.detach().contiguous().numpy()


def _plain(t, dtype, shape):
    """t is None, or a contiguous CPU tensor of dtype and shape."""
    return t is None or (isinstance(t, _torch.Tensor) and t.dtype == dtype and t.device.type == "cpu"
                         and t.is_contiguous() and t.shape == shape)


def _direct(loss, u, T, labels, weights, want_grad):
    """The C call on the tensors' own buffers, for the common case (float32
    contiguous CPU tensors of the right shapes, int32 labels): (value,
    gradient tensor or None), or None to take the checked NumPy path, whose
    conversions and messages cover everything else."""
    if not isinstance(u, _torch.Tensor) or u.dim() != 2:
        return None
    n, K = u.shape[0], loss.C * loss.S
    if not (_plain(u, _torch.float32, (n, K)) and _plain(T, _torch.float32, (n, K))
            and _plain(labels, _torch.int32, (n,)) and _plain(weights, _torch.float32, (n,))):
        return None
    g = _torch.empty_like(u) if want_grad else None
    ptr = lambda t: None if t is None else t.data_ptr()  # noqa: E731
    st = _L.lelp_loss_compute(loss._h, ptr(u), ptr(T), ptr(labels), ptr(weights), n, _ct.byref(loss._value), ptr(g))
    if st:
        _check(st)
    return loss._value.value, g


class LELPFunction(_torch.autograd.Function):
    """LELPFunction.apply(u, T, labels, weights, loss): the value of a
    lelp.Loss as a 0-d tensor; backward multiplies liblelp's dL/du by the
    incoming gradient. T, labels and weights get no gradient."""

    @staticmethod
    def forward(ctx, u, T, labels, weights, loss):
        want_grad = bool(ctx.needs_input_grad[0])
        r = _direct(loss, u, T, labels, weights, want_grad)
        if r is None:
            r = loss(_np(u, "u"), _np(T, "T"), labels=_np(labels, "labels"), weights=_np(weights, "weights"),
                     grad=want_grad)
            r = (r[0], _torch.from_numpy(r[1])) if want_grad else (r, None)
        value, grad = r
        if want_grad:
            ctx.save_for_backward(grad)
        return _torch.scalar_tensor(value, dtype=u.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad_out * grad.to(grad_out.dtype), None, None, None, None


_LELPFunction = LELPFunction


class LELPLoss(_torch.nn.Module):
    """(1-alpha) tau^2 KL(T || softmax(u/tau)) + alpha CE on the class marginal
    (or DKD / the subclass auxiliary loss with kind=), as lelp.Loss."""

    def __init__(self, num_classes, subclasses=1, tau=1.0, alpha=0.0, reduction="mean", **kw):
        super().__init__()
        self.loss = Loss(num_classes=num_classes, subclasses=subclasses, tau=tau, alpha=alpha, reduction=reduction,
                         **kw)

    def forward(self, u, T=None, labels=None, weights=None):
        if not (_torch.is_grad_enabled() and u.requires_grad):  # evaluation: the value only, no gradient
            r = _direct(self.loss, u, T, labels, weights, False)
            value = r[0] if r is not None else self.loss(_np(u, "u"), _np(T, "T"), labels=_np(labels, "labels"),
                                                         weights=_np(weights, "weights"), grad=False)
            return u.new_tensor(value)
        return LELPFunction.apply(u, T, labels, weights, self.loss)
