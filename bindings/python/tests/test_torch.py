# SPDX-License-Identifier: MIT
"""lelp.torch: LELPLoss / LELPFunction against PyTorch autograd of the SPEC
formulas, and the example. Skipped, with the reason shown, without torch."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import lelp

torch = pytest.importorskip("torch", reason="python3-torch not installed: lelp.torch untested")
import lelp.torch as lt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FASHION = "/usr/share/datasets/fashion-mnist"


def spec_loss(u, T, y, w, C, S, tau, alpha, reduction):
    """SPEC 1.3 in float64 torch ops: (1-a) tau^2 KL(T || softmax(u/tau)) + a CE(class marginal)."""
    n = u.shape[0]
    li = torch.zeros(n, dtype=torch.float64)
    if alpha < 1:
        logT = torch.where(T > 0, torch.log(torch.where(T > 0, T, torch.ones_like(T))), torch.zeros_like(T))
        li = li + (1 - alpha) * tau ** 2 * (T * (logT - torch.log_softmax(u / tau, 1))).sum(1)
    if alpha > 0:
        marg = torch.logsumexp(torch.log_softmax(u, 1).reshape(n, C, S), 2)
        li = li + alpha * -marg[torch.arange(n), y]
    wt = torch.ones(n, dtype=torch.float64) if w is None else w
    return (li * wt).sum() / (wt.sum() if reduction == "mean" else 1.0)


@pytest.mark.parametrize("tau,alpha,reduction,weighted", [(1.0, 0.0, "mean", False), (2.0, 0.3, "mean", True),
                                                          (4.0, 0.7, "sum", True), (0.5, 1.0, "sum", False)])
def test_module_backward_equals_autograd_through_a_layer(tau, alpha, reduction, weighted):
    """A linear student x -> u: the parameter gradients from LELPLoss's C
    gradient equal float64 autograd through the SPEC formula (1e-6)."""
    C, S, n, k = 3, 2, 24, 5
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n, k, generator=g)
    T = torch.softmax(torch.randn(n, C * S, generator=g) * 2, 1)
    T[0, :2] = 0.0  # exact zeros: 0 log 0 = 0
    T[0] /= T[0].sum()
    y = torch.randint(0, C, (n,), generator=g)
    w = torch.rand(n, generator=g) + 0.5 if weighted else None
    lin = torch.nn.Linear(k, C * S)
    lin64 = torch.nn.Linear(k, C * S).double()
    with torch.no_grad():
        lin64.weight.copy_(lin.weight)
        lin64.bias.copy_(lin.bias)
    crit = lt.LELPLoss(num_classes=C, subclasses=S, tau=tau, alpha=alpha, reduction=reduction)
    loss = crit(lin(x), T, labels=y, weights=w)
    loss.backward()
    ref = spec_loss(lin64(x.double()), T.double(), y, None if w is None else w.double(), C, S, tau, alpha,
                    reduction)
    ref.backward()
    assert loss.dtype == torch.float32 and loss.dim() == 0
    assert abs(loss.item() - ref.item()) <= 1e-6 * max(1.0, abs(ref.item()))
    np.testing.assert_allclose(lin.weight.grad.numpy(), lin64.weight.grad.numpy(), atol=1e-6 * max(1.0, n / 4))
    np.testing.assert_allclose(lin.bias.grad.numpy(), lin64.bias.grad.numpy(), atol=1e-6 * max(1.0, n / 4))


def test_function_scales_the_incoming_gradient_and_keeps_dtype():
    u = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    T = torch.full((6, 4), 0.25, dtype=torch.float64)
    loss = lelp.Loss(num_classes=2, subclasses=2, tau=1.0)
    v = lt.LELPFunction.apply(u, T, None, None, loss)
    assert v.dtype == torch.float64
    (3.0 * v).backward()
    _, grad = loss(u.detach().numpy(), T.numpy())
    np.testing.assert_allclose(u.grad.numpy(), 3.0 * grad, rtol=1e-6)


def _spy_loss_calls(monkeypatch):
    """The argument tuples of every lelp_loss_compute call from now on."""
    calls = []
    orig = lelp._L.lelp_loss_compute

    def spy(*args):
        calls.append(args)
        return orig(*args)
    monkeypatch.setattr(lelp._L, "lelp_loss_compute", spy)
    return calls


def test_tensors_reach_c_without_copy_and_no_grad_skips_the_gradient(monkeypatch):
    calls = _spy_loss_calls(monkeypatch)
    u = torch.randn(8, 6, dtype=torch.float32, requires_grad=True)
    T = torch.softmax(torch.randn(8, 6, dtype=torch.float32), 1)
    crit = lt.LELPLoss(num_classes=3, subclasses=2)
    crit(u, T).backward()
    assert calls[0][1] == u.data_ptr() and calls[0][2] == T.data_ptr()  # addresses as ints
    assert calls[0][7] is not None
    with torch.no_grad():
        crit(u, T)
    assert calls[1][7] is None  # value only: the C call computes no gradient
    with pytest.raises(ValueError, match="dimension 1 must be 6"):
        crit(u[:, :5], T)


@pytest.mark.parametrize("alpha,weighted", [(0.0, False), (0.4, True), (1.0, False)])
def test_direct_call_equals_the_numpy_path(monkeypatch, alpha, weighted):
    """float32 contiguous tensors (and int32 labels) go to C on their own
    buffers; anything else through the checked NumPy path. Both give the same
    bits, forward and backward, and the direct one really is taken."""
    C, S, n = 3, 4, 37
    g = torch.Generator().manual_seed(11)
    u = (torch.randn(n, C * S, generator=g) * 3).requires_grad_(True)
    T = torch.softmax(torch.randn(n, C * S, generator=g), 1)
    y = torch.randint(0, C, (n,), generator=g, dtype=torch.int32)
    w = torch.rand(n, generator=g) + 0.1 if weighted else None
    calls = _spy_loss_calls(monkeypatch)
    crit = lt.LELPLoss(num_classes=C, subclasses=S, tau=2.0, alpha=alpha)
    v1 = crit(u, T, labels=y, weights=w)
    v1.backward()
    g1 = u.grad.clone()
    assert calls[-1][1] == u.data_ptr() and calls[-1][2] == T.data_ptr() and calls[-1][3] == y.data_ptr()
    u.grad = None
    u2 = u.detach().t().contiguous().t().requires_grad_(True)  # same values, not contiguous
    v2 = crit(u2, T, labels=y.long(), weights=None if w is None else w.double())
    v2.backward()
    assert calls[-1][1] != u2.data_ptr()  # converted: the NumPy path
    assert v1.item() == v2.item()
    assert torch.equal(g1, u2.grad)
    with torch.no_grad():
        assert crit(u, T, labels=y, weights=w).item() == v1.item()


def test_direct_call_reports_bad_targets():
    u = torch.randn(4, 6, requires_grad=True)
    T = torch.full((4, 6), 1 / 6)
    T[2, 3] = -0.1
    T[2, 4] += 0.1
    with pytest.raises(lelp.LelpError, match="negative entry at row 2"):
        lt.LELPLoss(num_classes=3, subclasses=2)(u, T)
    T[2, 3], T[2, 4] = float("nan"), 1 / 6
    with pytest.raises(lelp.LelpError, match="row 2, column 3"):
        lt.LELPLoss(num_classes=3, subclasses=2)(u, T)


def test_lelp_torch_reachable_after_plain_import():
    code = "import lelp; print(lelp.torch.LELPLoss.__name__, issubclass(lelp.torch.LELPLoss, __import__('torch').nn.Module))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "bindings", "python")))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["LELPLoss", "True"]


@pytest.mark.skipif(not os.path.exists(os.path.join(FASHION, "train-images-idx3-ubyte.gz")),
                    reason=f"Fashion-MNIST not in {FASHION} (Debian: dataset-fashion-mnist)")
def test_example_torch_student_learns():
    """examples/torch_student.py end to end, small: the LELP and k-means students
    must beat chance by far on Fashion-MNIST-bin, and the paired lines print."""
    r = subprocess.run([sys.executable, os.path.join(REPO, "examples", "torch_student.py"), "--seeds", "1",
                        "--train", "1000", "--epochs", "3", "--pretrain-epochs", "1", "--teacher-train", "6000"],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "bindings", "python")))
    assert r.returncode == 0, r.stderr
    m = re.search(r"^0\s+(\d\.\d+)\s+(\d\.\d+)\s+(\d\.\d+)\s+(\d\.\d+)\s+(\d\.\d+)\s", r.stdout, re.M)
    assert m, r.stdout
    assert min(float(m.group(k)) for k in (1, 4, 5)) > 0.9, r.stdout  # teacher, LELP, k-means
    assert re.search(r"^paired LELP - KD: [+-]\d\.\d{4} \+- \d\.\d{4} .* ahead on [01] of 1 seeds$", r.stdout, re.M), r.stdout
