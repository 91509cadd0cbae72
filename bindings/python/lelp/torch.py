"""PyTorch integration: LELPLoss, a torch.nn.Module whose backward uses the
gradient liblelp computes (no autograd graph through the loss itself).

    crit = lelp.torch.LELPLoss(num_classes=C, subclasses=S, tau=2.0)
    loss = crit(student_logits, targets)          # targets from Model.targets
    loss.backward()

CPU tensors only; float32 tensors are passed to the C library without a copy.
"""
import numpy as np

try:
    import torch as _torch
except ImportError as e:  # the rest of lelp works without PyTorch
    raise ImportError("lelp.torch needs PyTorch (Debian: apt-get install python3-torch); "
                      "import lelp works without it") from e

from . import Loss


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


class LELPFunction(_torch.autograd.Function):
    """LELPFunction.apply(u, T, labels, weights, loss): the value of a
    lelp.Loss as a 0-d tensor; backward multiplies liblelp's dL/du by the
    incoming gradient. T, labels and weights get no gradient."""

    @staticmethod
    def forward(ctx, u, T, labels, weights, loss):
        want_grad = bool(ctx.needs_input_grad[0])
        r = loss(_np(u, "u"), _np(T, "T"), labels=_np(labels, "labels"), weights=_np(weights, "weights"),
                 grad=want_grad)
        value, grad = r if want_grad else (r, None)
        if want_grad:
            ctx.save_for_backward(_torch.from_numpy(grad))
        return u.new_tensor(value)

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
            return u.new_tensor(self.loss(_np(u, "u"), _np(T, "T"), labels=_np(labels, "labels"),
                                          weights=_np(weights, "weights"), grad=False))
        return LELPFunction.apply(u, T, labels, weights, self.loss)
