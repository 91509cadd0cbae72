# SPDX-License-Identifier: MIT
"""PyTorch integration: LELPLoss, a torch.nn.Module whose backward uses the
gradient liblelp computes (no autograd graph through the loss itself).

    crit = lelp.torch.LELPLoss(num_classes=C, subclasses=S, tau=2.0)
    loss = crit(student_logits, targets)          # targets from Model.targets
    loss.backward()

CPU tensors only (another device: ValueError naming it; pass .cpu()).
Contiguous float32 tensors reach the C library without a copy; float16,
bfloat16 (torch.autocast on the CPU) and float64 logits are converted to
float32 once, the value is returned as float32 (float64 for float64 logits)
and the gradient in the logits' dtype. The module copies, pickles and goes
through torch.save/torch.load (rebuilt from its settings).
"""
import ctypes as _ct
from typing import Any, Optional, Tuple

try:
    import torch as _torch
except ImportError as e:  # the rest of lelp works without PyTorch
    raise ImportError("lelp.torch needs PyTorch (Debian: apt-get install python3-torch); "
                      "import lelp works without it") from e

from . import Loss, _L, _check

__all__ = ["LELPLoss", "LELPFunction"]


def _plain(t: Optional[Any], dtype: Any, shape: Tuple[int, ...]) -> bool:
    """t is None, or a contiguous CPU tensor of dtype and shape at an aligned
    address (torch.frombuffer at an odd offset is not: it takes the copying path)."""
    return t is None or (isinstance(t, _torch.Tensor) and t.dtype == dtype and t.device.type == "cpu"
                         and t.is_contiguous() and t.shape == shape and t.data_ptr() % 4 == 0)


def _direct(loss: Loss, u: Any, T: Any, labels: Any, weights: Any, want_grad: bool
            ) -> Optional[Tuple[float, Optional[Any]]]:
    """The C call on the tensors' own buffers, for the common case (float32
    contiguous CPU tensors of the right shapes, int32 labels): (value,
    gradient tensor or None), or None to take Loss.__call__, whose
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


def _value_dtype(u: Any) -> Any:
    # a low-precision loss value (bfloat16 keeps 3 digits) would be useless
    # for logging and scaling: float32, as autocast does for its own losses
    return u.dtype if isinstance(u, _torch.Tensor) and u.dtype in (_torch.float32, _torch.float64) \
        else _torch.float32


def _compute(loss: Loss, u: Any, T: Any, labels: Any, weights: Any, want_grad: bool
             ) -> Tuple[float, Optional[Any]]:
    direct = _direct(loss, u, T, labels, weights, want_grad)
    if direct is not None:
        return direct
    r = loss(u, T, labels=labels, weights=weights, grad=want_grad)
    return r if isinstance(r, tuple) else (r, None)


class LELPFunction(_torch.autograd.Function):
    """LELPFunction.apply(u, T, labels, weights, loss): the value of a
    lelp.Loss as a 0-d tensor; backward multiplies liblelp's dL/du by the
    incoming gradient. T, labels and weights get no gradient."""

    @staticmethod
    def forward(ctx: Any, u: Any, T: Any, labels: Any, weights: Any, loss: Loss) -> Any:  # type: ignore[override]
        """The loss value as a 0-d tensor (float32, or float64 for float64 u);
        keeps liblelp's dL/du for backward when u requires grad."""
        want_grad = bool(ctx.needs_input_grad[0])
        value, grad = _compute(loss, u, T, labels, weights, want_grad)
        if want_grad:
            ctx.u_dtype = u.dtype
            ctx.save_for_backward(grad)
        return _torch.scalar_tensor(value, dtype=_value_dtype(u))

    @staticmethod
    def backward(ctx: Any, grad_out: Any) -> Tuple[Any, None, None, None, None]:  # type: ignore[override]
        """grad_out times the saved dL/du, in u's dtype; no gradient for the others."""
        (grad,) = ctx.saved_tensors
        return (grad_out.to(grad.dtype) * grad).to(ctx.u_dtype), None, None, None, None


_LELPFunction = LELPFunction


class LELPLoss(_torch.nn.Module):
    """The LELP student loss as a torch.nn.Module:
    (1-alpha) tau^2 KL(T || softmax(u/tau)) + alpha CE on the class marginal
    (or DKD / the subclass auxiliary loss with kind=), computed by lelp.Loss.

    Args:
        num_classes, subclasses, tau, alpha, reduction, **kw: as lelp.Loss.

    forward(u, T=None, labels=None, weights=None) takes student logits u
    (n, C*S) (CPU; float32 without a copy; float16/bfloat16/float64 converted
    once), targets T (n, C*S), optional labels (n,) and weights (n,), and
    returns a 0-d tensor whose backward is liblelp's gradient. Under
    torch.no_grad(), or when u does not require grad, only the value is
    computed. Raises ValueError for a tensor on another device (naming it;
    the fix: .cpu()) and the errors of lelp.Loss.
    """

    def __init__(self, num_classes: int, subclasses: int = 1, tau: float = 1.0, alpha: float = 0.0,
                 reduction: str = "mean", **kw: Any) -> None:
        super().__init__()
        self.loss = Loss(num_classes=num_classes, subclasses=subclasses, tau=tau, alpha=alpha, reduction=reduction,
                         **kw)

    def extra_repr(self) -> str:
        """The settings shown by repr(): num_classes, subclasses, tau, alpha, reduction, kind."""
        r = repr(self.loss)
        return r[r.index("(") + 1:-1]

    def forward(self, u: Any, T: Optional[Any] = None, labels: Optional[Any] = None,
                weights: Optional[Any] = None) -> Any:
        """The loss of student logits u (n, C*S) against targets T (n, C*S),
        with optional labels (n,) and weights (n,): a 0-d tensor whose
        backward is liblelp's gradient (the value only under torch.no_grad()
        or when u does not require grad). See the class docstring."""
        if not (_torch.is_grad_enabled() and isinstance(u, _torch.Tensor) and u.requires_grad):
            # evaluation: the value only, no gradient
            value, _ = _compute(self.loss, u, T, labels, weights, False)
            return _torch.scalar_tensor(value, dtype=_value_dtype(u))
        return LELPFunction.apply(u, T, labels, weights, self.loss)
