# SPDX-License-Identifier: MIT
"""Tensors in, tensors out (issue 24, items 1-2): every array call takes CPU
torch tensors and returns tensors for them, without copies where dtype and
layout allow; float16/bfloat16/float64 converted once; other devices refused
with the fix; modules copy, pickle, torch.save/torch.load; reprs show the
settings; LELPLoss under no_grad and autocast. Skipped, with the reason shown,
without torch."""
import copy
import io
import pickle

import numpy as np
import pytest

import lelp
from _helpers import small_data, spy  # noqa: E402

torch = pytest.importorskip("torch", reason="python3-torch not installed: tensor interop untested")
import lelp.torch as lt  # noqa: E402


data = small_data


def fitted(S=2):
    H, y, Z = data()
    return lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=S, seed=1).update(H, y).fit(), H, y, Z


def test_every_array_call_returns_tensors_for_tensors_with_equal_values():
    m, H, y, Z = fitted()
    tH, ty, tZ = torch.from_numpy(H), torch.from_numpy(y), torch.from_numpy(Z)
    cases = [
        (lambda h, z, lab: m.targets(h, logits=z, tau=1.5), (H, Z, y), (tH, tZ, ty)),
        (lambda h, z, lab: m.targets(h, labels=lab, smoothing=0.1), (H, Z, y), (tH, tZ, ty)),
        (lambda h, z, lab: m.project(h), (H, Z, y), (tH, tZ, ty)),
        (lambda h, z, lab: m.assign(h, lab), (H, Z, y), (tH, tZ, ty)),
    ]
    for f, np_args, t_args in cases:
        a, t = f(*np_args), f(*t_args)
        assert isinstance(a, np.ndarray) and isinstance(t, torch.Tensor)
        assert np.array_equal(t.numpy(), a)
    T = m.targets(H, logits=Z)
    u = np.random.default_rng(1).normal(size=T.shape).astype(np.float32)
    tu = torch.from_numpy(u)
    for f in (lambda x: lelp.predict_log_proba(x, 2, 2), lambda x: lelp.predict_class(x, 2, 2),
              lambda x: lelp.softmax_targets(x, 2.0)):
        a, t = f(u), f(tu)
        assert isinstance(t, torch.Tensor) and np.array_equal(t.numpy(), a)
    v, g = lelp.Loss(2, 2, alpha=0.3)(u, T, labels=y)
    tv, tg = lelp.Loss(2, 2, alpha=0.3)(tu, torch.from_numpy(T), labels=ty.long())
    assert tv == v and isinstance(tg, torch.Tensor) and np.array_equal(tg.numpy(), g)
    c = lelp.Compressor(6, 3, 2, seed=2)
    assert isinstance(c.compress(tH), torch.Tensor) and np.array_equal(c.compress(tH).numpy(), c.compress(H))
    F = np.random.default_rng(2).normal(size=(300, 3)).astype(np.float32)
    (v1, g1), (v2, g2) = c.student_loss(F, H), c.student_loss(torch.from_numpy(F), tH)
    assert v1 == v2 and isinstance(g2, torch.Tensor) and np.array_equal(g2.numpy(), g1)
    assert c.step(tH, ty) == lelp.Compressor(6, 3, 2, seed=2).step(H, y)
    # inputs the builder takes: tensors too, same statistics
    b1 = lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2, seed=1).update(H, y)
    b2 = lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2, seed=1).update(tH, ty.long())
    assert b1.to_bytes() == b2.to_bytes()


def test_float32_tensors_reach_c_without_copy_and_outputs_share_the_buffer(monkeypatch):
    m, H, y, Z = fitted()
    tH, tZ = torch.from_numpy(H.copy()), torch.from_numpy(Z.copy())
    calls = spy(monkeypatch, "lelp_model_targets_from_logits")
    T = m.targets(tH, logits=tZ)
    assert calls[0][1] == tH.data_ptr() and calls[0][2] == tZ.data_ptr()
    assert calls[0][6] == T.data_ptr()  # the tensor returned is the buffer C wrote
    out = torch.zeros(300, 4)
    r = m.targets(tH, logits=tZ, out=out)
    assert r is out and calls[1][6] == out.data_ptr() and torch.allclose(out.sum(1), torch.ones(300))
    calls = spy(monkeypatch, "lelp_builder_update")
    b = lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2)
    ty = torch.from_numpy(y)
    b.update(tH, ty)
    assert calls[0][1] == tH.data_ptr() and calls[0][2] == ty.data_ptr()
    # a tensor requiring grad is read through detach(): still no copy
    g = tH.clone().requires_grad_(True)
    m.targets(g, logits=tZ)
    calls = spy(monkeypatch, "lelp_model_project")
    m.project(g)
    assert calls[0][1] == g.data_ptr()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_float_dtypes_are_converted_once(monkeypatch, dtype):
    m, H, y, Z = fitted()
    tH = torch.from_numpy(H).to(getattr(torch, dtype))
    ref = m.targets(tH.to(torch.float32).numpy(), logits=Z)  # the same values, rounded first
    calls = spy(monkeypatch, "lelp_model_targets_from_logits")
    T = m.targets(tH, logits=torch.from_numpy(Z))
    assert calls[0][1] != tH.data_ptr()
    assert T.dtype == torch.float32 and np.array_equal(T.numpy(), ref)


def test_a_tensor_on_another_device_names_it_and_the_fix():
    m, H, y, Z = fitted()
    meta = torch.empty((300, 6), device="meta")
    with pytest.raises(ValueError, match=r"H is a tensor on device 'meta'.*H\.cpu\(\)"):
        m.targets(meta, logits=Z)
    with pytest.raises(ValueError, match=r"u is a tensor on device 'meta'.*u\.cpu\(\)"):
        lt.LELPLoss(2, 2)(torch.empty((4, 4), device="meta", requires_grad=True), torch.full((4, 4), 0.25))
    with pytest.raises(ValueError, match="device 'meta'"):
        m.targets(H, logits=Z, out=torch.empty((300, 4), device="meta"))


def test_out_tensor_must_be_right():
    m, H, y, Z = fitted()
    with pytest.raises(ValueError, match="float32"):
        m.targets(H, logits=Z, out=torch.zeros(300, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="contiguous"):
        m.targets(H, logits=Z, out=torch.zeros(4, 300).t())
    with pytest.raises(ValueError, match="requires grad"):
        m.targets(H, logits=Z, out=torch.zeros(300, 4, requires_grad=True))


def loss_inputs(n=16, C=3, S=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, C * S, generator=g)
    T = torch.softmax(torch.randn(n, C * S, generator=g), 1)
    y = torch.randint(0, C, (n,), generator=g)
    return u, T, y


def test_modules_copy_pickle_and_go_through_torch_save():
    crit = lt.LELPLoss(num_classes=3, subclasses=2, tau=2.0, alpha=0.25, reduction="sum")
    u, T, y = loss_inputs()
    ref = crit(u, T, labels=y).item()
    holder = torch.nn.Module()
    holder.student = torch.nn.Linear(4, 6)
    holder.crit = crit
    buf = io.BytesIO()
    torch.save(holder, buf)
    buf.seek(0)
    kw = {"weights_only": False} if "weights_only" in torch.load.__code__.co_varnames else {}
    loaded = torch.load(buf, **kw)
    # a shallow copy shares the Loss object, as it shares a layer's parameters
    assert copy.copy(crit).loss is crit.loss
    for c2 in (copy.deepcopy(crit), pickle.loads(pickle.dumps(crit)), loaded.crit):
        assert c2.loss._h.value != crit.loss._h.value
        assert c2.loss.settings() == crit.loss.settings()
        assert c2(u, T, labels=y).item() == ref
    assert torch.equal(loaded.student.weight, holder.student.weight)
    # the state dict has no tensors for the loss (its settings are not weights)
    assert set(holder.state_dict()) == {"student.weight", "student.bias"}


def test_every_handle_copies_and_pickles():
    m, H, y, Z = fitted()
    b = lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2, seed=3, threads=1, beta_sample=64).update(H, y)
    c = lelp.Compressor(6, 3, 2, optimizer="sgd", lr=0.05, momentum=0.5, seed=4)
    c.step(H, y)
    loss = lelp.Loss(2, 2, kind="dkd", dkd_target_weight=2.0)
    for obj in (m, b, c, loss):
        for dup in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
            o2 = dup(obj)
            assert type(o2) is type(obj) and o2._h.value != obj._h.value
            assert repr(o2) == repr(obj)
    b2 = pickle.loads(pickle.dumps(b))
    assert b2.threads == 1 and b2.to_bytes() == b.to_bytes()
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.settings() == c.settings() and c2.step(H, y) == c.step(H, y)


def test_reprs_show_settings_and_shapes():
    m, H, y, Z = fitted()
    r = repr(m)
    assert r.startswith("Model(dim=6, num_classes=2, subclasses=2, beta=") and "solver='exact'" in r
    b = lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2, solver="sketch", beta=1.5).update(H, y)
    assert repr(b).startswith("SubspaceBuilder(dim=6, num_classes=2, subclasses=2, seed=0,")
    assert "beta=1.5" in repr(b) and "solver='sketch'" in repr(b) and repr(b).endswith("with 300 rows")
    assert repr(lelp.Loss(3, 2, tau=2.0, alpha=0.5)) == \
        "Loss(num_classes=3, subclasses=2, tau=2.0, alpha=0.5, reduction='mean', kind='kl')"
    assert repr(lt.LELPLoss(3, 2, tau=2.0)) == \
        "LELPLoss(num_classes=3, subclasses=2, tau=2.0, alpha=0.0, reduction='mean', kind='kl')"
    assert "loss='cosine'" in repr(lelp.Compressor(6, 3, 2, loss="cosine"))


def test_loss_under_no_grad_and_autocast():
    C, S, k, n = 3, 2, 5, 32
    torch.manual_seed(0)
    student = torch.nn.Linear(k, C * S)
    x = torch.randn(n, k)
    _, T, y = loss_inputs(n, C, S)
    crit = lt.LELPLoss(num_classes=C, subclasses=S, tau=2.0, alpha=0.3)
    ref = crit(student(x), T, labels=y)
    ref.backward()
    g32 = student.weight.grad.clone()
    student.zero_grad()
    with torch.no_grad():
        v = crit(student(x), T, labels=y)
    assert not v.requires_grad and v.item() == ref.item()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        u = student(x)
        assert u.dtype == torch.bfloat16  # what autocast hands a loss
        loss = crit(u, T, labels=y)
    assert loss.dtype == torch.float32  # the value is not rounded to bfloat16
    loss.backward()
    # bfloat16 logits (3 significant digits): the loss and gradient follow the float32 ones
    assert abs(loss.item() - ref.item()) < 0.02 * abs(ref.item())
    assert student.weight.grad.dtype == torch.float32
    assert torch.allclose(student.weight.grad, g32, rtol=0.05, atol=0.02 * g32.abs().max().item())
