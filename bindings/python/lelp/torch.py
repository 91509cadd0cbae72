"""PyTorch integration: LELPLoss, a torch.nn.Module whose backward uses the
gradient liblelp computes (no autograd graph through the loss itself).

    crit = lelp.torch.LELPLoss(num_classes=C, subclasses=S, tau=2.0)
    loss = crit(student_logits, targets)          # targets from Model.targets
    loss.backward()

CPU tensors only; float32 tensors are passed to the C library without a copy.
"""
import numpy as np
import torch as _torch

from . import Loss


def _np(t, name):
    if t is None:
        return None
    if not isinstance(t, _torch.Tensor):
        return np.asarray(t)
    if t.device.type != "cpu":
        raise ValueError(f"{name} must be a CPU tensor (liblelp runs on the CPU)")
    return t.detach().contiguous().numpy()


class _LELPFunction(_torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, T, labels, weights, loss):
        value, grad = loss(_np(u, "u"), _np(T, "T"), labels=_np(labels, "labels"), weights=_np(weights, "weights"))
        ctx.save_for_backward(_torch.from_numpy(grad))
        return u.new_tensor(value)

    @staticmethod
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad_out * grad.to(grad_out.dtype), None, None, None, None


class LELPLoss(_torch.nn.Module):
    """(1-alpha) tau^2 KL(T || softmax(u/tau)) + alpha CE on the class marginal
    (or DKD / the subclass auxiliary loss with kind=), as lelp.Loss."""

    def __init__(self, num_classes, subclasses=1, tau=1.0, alpha=0.0, reduction="mean", **kw):
        super().__init__()
        self.loss = Loss(num_classes=num_classes, subclasses=subclasses, tau=tau, alpha=alpha, reduction=reduction,
                         **kw)

    def forward(self, u, T=None, labels=None, weights=None):
        return _LELPFunction.apply(u, T, labels, weights, self.loss)
