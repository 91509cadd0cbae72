# SPDX-License-Identifier: MIT
"""Tests of the Python binding (run by `make check` with Debian's pytest)."""
import os
import tempfile

import numpy as np
import pytest

import lelp

try:
    import torch
except ImportError:  # torch is optional for the binding; its tests skip
    torch = None


def data(n=400, d=10, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % C).astype(np.int64)
    H = (rng.normal(size=(n, d)) * np.linspace(2, 0.5, d) + y[:, None] * 2).astype(np.float32)
    W = rng.normal(size=(C, d)).astype(np.float32)
    Z = rng.normal(size=(n, C)).astype(np.float32)
    return H, y, W, Z


def fitted(**kw):
    H, y, W, Z = data()
    b = lelp.SubspaceBuilder(dim=10, num_classes=3, subclasses=3, seed=4, **kw)
    b.update(H[:150], y[:150])
    b.update(H[150:], y[150:])
    b.set_head(W)
    return b, b.fit(), (H, y, W, Z)


def test_builder_model_queries():
    b, m, (H, y, W, Z) = fitted()
    assert (m.dim, m.num_classes, m.subclasses, m.seed) == (10, 3, 3, 4)
    assert m.beta > 0 and m.auto_beta and m.null_space and m.rotate and m.head_rank == 3
    assert m.eigenvalues.shape == (3, 3) and np.all(np.diff(m.eigenvalues, axis=1) <= 0)
    assert m.components.shape == (3, 3, 10) and m.means.shape == (3, 10)
    assert m.explained_variance_ratio.shape == (3, 3)
    # independent check of the means and of the null space
    np.testing.assert_allclose(m.means, [H[y == c].astype(np.float64).mean(0) for c in range(3)], rtol=1e-10)
    assert np.max(np.abs(m.components @ W.T.astype(np.float64))) < 1e-6
    assert b.count(0) == 134


def test_targets_assign_and_marginals():
    b, m, (H, y, W, Z) = fitted()
    T = m.targets(H, logits=Z, tau=2.0)
    assert T.shape == (400, 9) and T.dtype == np.float32
    p = np.exp(Z / 2.0) / np.exp(Z / 2.0).sum(1, keepdims=True)
    np.testing.assert_allclose(T.reshape(400, 3, 3).sum(2), p, atol=1e-6)
    T2 = m.targets(H, labels=y, smoothing=0.1)
    np.testing.assert_allclose(T2.sum(1), 1.0, atol=1e-6)
    sub = m.assign(H, y)
    assert sub.dtype == np.int32 and sub.shape == (400,) and set(np.unique(sub)) <= {0, 1, 2}
    F = m.project(H).reshape(400, 3, 3)
    assert np.array_equal(sub, np.argmax(F[np.arange(400), y], axis=1))
    # the formula, independently: f = (<U, h> - b) / beta
    f = (np.einsum("csd,nd->ncs", m.components, H.astype(np.float64)) - m.offsets[None]) / m.beta
    np.testing.assert_allclose(F, f, atol=1e-4)


def test_round_trips_and_merge():
    b, m, (H, y, W, Z) = fitted()
    blob = m.to_bytes()
    m2 = lelp.Model.from_bytes(blob)
    assert m2.to_bytes() == blob
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.lelp")
        m.save(path)
        m3 = lelp.Model.load(path)
        assert np.array_equal(m3.targets(H, logits=Z), m.targets(H, logits=Z))
        b.save(os.path.join(tmp, "b.lelpb"))
        assert lelp.SubspaceBuilder.load(os.path.join(tmp, "b.lelpb")).to_bytes() == b.to_bytes()
    b2 = lelp.SubspaceBuilder.from_bytes(b.to_bytes())
    assert b2.to_bytes() == b.to_bytes()
    # two shards merged = one pass
    one = lelp.SubspaceBuilder(dim=10, num_classes=3, subclasses=3).update(H, y)
    s1 = lelp.SubspaceBuilder(dim=10, num_classes=3, subclasses=3).update(H[:170], y[:170])
    s2 = lelp.SubspaceBuilder(dim=10, num_classes=3, subclasses=3).update(H[170:], y[170:])
    s1.merge(s2)
    np.testing.assert_allclose(s1.fit().eigenvalues, one.fit().eigenvalues, rtol=1e-12)
    np.testing.assert_allclose(m.with_beta(0.5).beta, 0.5)
    beta = m.estimate_beta(H, y, fraction=0.3)
    assert abs(m.mean_entropy(H, y, beta) - 0.3 * np.log(3)) < 1e-8


def test_loss_matches_formulas():
    rng = np.random.default_rng(1)
    C, S, n, tau, alpha = 3, 2, 20, 2.5, 0.3
    u = rng.normal(size=(n, C * S)).astype(np.float32)
    T = rng.random((n, C * S)).astype(np.float32)
    T /= T.sum(1, keepdims=True)
    y = rng.integers(0, C, n)
    w = rng.uniform(0.5, 1.5, n).astype(np.float32)
    loss = lelp.Loss(num_classes=C, subclasses=S, tau=tau, alpha=alpha, reduction="mean")
    value, grad = loss(u, T, labels=y, weights=w)
    U, Td, W = u.astype(np.float64), T.astype(np.float64), w.astype(np.float64)

    def lsm(a):
        m = a.max(1, keepdims=True)
        return a - m - np.log(np.exp(a - m).sum(1, keepdims=True))
    logq = lsm(U / tau)
    kl = (Td * (np.log(Td) - logq)).sum(1) * tau * tau
    ls = lsm(U).reshape(n, C, S)
    ce = -np.log(np.exp(ls).sum(2))[np.arange(n), y]
    ref = ((1 - alpha) * kl + alpha * ce) @ W / W.sum()
    assert abs(value - ref) <= 1e-6 * abs(ref)
    assert grad.shape == u.shape and grad.dtype == np.float32
    # the value-only call
    assert loss(u, T, labels=y, weights=w, grad=False) == value


@pytest.mark.skipif(torch is None, reason="python3-torch not installed")
def test_loss_and_gradient_equal_torch_autograd():
    rng = np.random.default_rng(2)
    C, S, n = 2, 4, 16
    for tau, alpha, red in [(1.0, 0.0, "mean"), (3.0, 0.4, "sum"), (0.5, 1.0, "mean")]:
        u = rng.normal(size=(n, C * S)).astype(np.float32)
        T = rng.random((n, C * S)).astype(np.float32)
        T /= T.sum(1, keepdims=True)
        y = rng.integers(0, C, n)
        value, grad = lelp.Loss(num_classes=C, subclasses=S, tau=tau, alpha=alpha, reduction=red)(u, T, labels=y)
        ut = torch.tensor(u, dtype=torch.float64, requires_grad=True)
        Tt = torch.tensor(T, dtype=torch.float64)
        kl = (Tt * (torch.log(Tt) - torch.log_softmax(ut / tau, 1))).sum(1) * tau ** 2
        ce = -torch.logsumexp(torch.log_softmax(ut, 1).reshape(n, C, S), 2)[torch.arange(n), torch.tensor(y)]
        li = (1 - alpha) * kl + alpha * ce
        L = li.mean() if red == "mean" else li.sum()
        L.backward()
        assert abs(value - L.item()) <= 1e-6 * max(1.0, abs(L.item()))
        np.testing.assert_allclose(grad, ut.grad.numpy(), atol=1e-6)


@pytest.mark.skipif(torch is None, reason="python3-torch not installed")
def test_torch_module_backward():
    import lelp.torch as lt
    rng = np.random.default_rng(3)
    u = torch.tensor(rng.normal(size=(8, 6)), dtype=torch.float32, requires_grad=True)
    T = torch.softmax(torch.tensor(rng.normal(size=(8, 6)), dtype=torch.float32), 1)
    crit = lt.LELPLoss(num_classes=3, subclasses=2, tau=2.0)
    loss = crit(u, T)
    loss.backward()
    value, grad = lelp.Loss(num_classes=3, subclasses=2, tau=2.0)(u.detach().numpy(), T.numpy())
    assert abs(loss.item() - value) < 1e-6
    np.testing.assert_allclose(u.grad.numpy(), grad, atol=1e-7)


def test_zero_copy_and_conversion():
    import lelp as pkg
    a = np.ones((4, 3), np.float32)
    assert pkg._as(a, np.float32, 2, "a") is a  # already right: the same buffer goes to C
    b = np.ones((4, 3), np.float64)
    assert pkg._as(b, np.float32, 2, "b") is not b  # converted once
    f = np.asfortranarray(np.ones((4, 3), np.float32))
    assert pkg._as(f, np.float32, 2, "f").flags.c_contiguous
    # an output buffer the C side writes into is the caller's own array
    b_, m, (H, y, W, Z) = fitted()
    out = np.zeros((400, 9), np.float32)
    T = m.targets(H, logits=Z, out=out)
    assert T is out and np.shares_memory(T, out) and out.sum() > 0
    # pointers: writeable and read-only buffers reach C at their own address
    assert pkg._ptr(a) == a.ctypes.data
    ro = np.ones((4, 3), np.float32)
    ro.flags.writeable = False
    assert pkg._ptr(ro) == ro.ctypes.data
    assert pkg._ptr(None) is None
    # the fast path still checks shapes, and read-only inputs give the same loss
    with pytest.raises(ValueError, match="dimension 1 must be 4"):
        pkg._as(a, np.float32, 2, "a", (None, 4))
    rng = np.random.default_rng(3)
    u = rng.standard_normal((5, 6)).astype(np.float32)
    t = rng.random((5, 6)).astype(np.float32)
    t /= t.sum(axis=1, keepdims=True)
    v, g = lelp.Loss(3, 2)(u, t)
    u.flags.writeable = False
    t.flags.writeable = False
    v_ro, g_ro = lelp.Loss(3, 2)(u, t)
    assert v_ro == v and np.array_equal(g_ro, g)


def test_errors():
    b = lelp.SubspaceBuilder(dim=4, num_classes=2, subclasses=2)
    with pytest.raises(ValueError, match="2-dimensional"):
        b.update(np.ones(4, np.float32), [0])
    with pytest.raises(ValueError, match="dimension 0"):
        b.update(np.ones((3, 4), np.float32), [0, 1])
    with pytest.raises(TypeError):
        b.update(np.ones((2, 4), np.float32), [0.5, 1.0])
    with pytest.raises(lelp.LabelRangeError):
        b.update(np.ones((2, 4), np.float32), [0, 7])
    with pytest.raises(lelp.NonFiniteError, match="row 1"):
        b.update(np.array([[1, 2, 3, 4], [1, np.nan, 3, 4]], np.float32), [0, 1])
    with pytest.raises(lelp.ShapeMismatchError):
        b.update(np.ones((2, 5), np.float32), [0, 1])
    with pytest.raises(lelp.StageError):
        b.fit()
    with pytest.raises(lelp.FormatError):
        lelp.Model.from_bytes(b.to_bytes())
    with pytest.raises(lelp.TruncatedError):
        lelp.SubspaceBuilder.from_bytes(b.to_bytes()[:100])
    with pytest.raises(ValueError):
        lelp.SubspaceBuilder(dim=4, num_classes=2, subclasses=2, beta="big")
    with pytest.raises(lelp.InvalidArgumentError):
        lelp.SubspaceBuilder(dim=4, num_classes=2, subclasses=5)
    with pytest.raises(lelp.InvalidTargetsError):
        lelp.Loss(num_classes=2)(np.zeros((1, 2)), np.array([[0.9, 0.9]]))
    assert issubclass(lelp.ChecksumError, lelp.LelpError)


def test_compressor():
    rng = np.random.default_rng(5)
    E = rng.normal(size=(32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    c = lelp.Compressor(teacher_dim=6, student_dim=4, num_classes=3, loss="cosine", optimizer="adam", lr=0.05)
    losses = [c.step(E, y) for _ in range(30)]
    assert losses[-1] < losses[0]
    Ec = c.compress(E)
    assert Ec.shape == (32, 4)
    v, g = c.student_loss(Ec, E)
    assert abs(v) < 1e-6 and g.shape == (32, 4)
    c2 = lelp.Compressor.from_bytes(c.to_bytes())
    np.testing.assert_array_equal(c2.compress(E), Ec)
    ml = lelp.Compressor(6, 4, 3, multilabel=True)
    assert ml.step(E, (rng.random((32, 3)) < 0.5).astype(np.float32)) > 0


def test_predict_and_softmax_targets():
    rng = np.random.default_rng(6)
    u = rng.normal(size=(5, 6)).astype(np.float32)
    lp = lelp.predict_log_proba(u, num_classes=3, subclasses=2)
    ref = np.log(np.exp(u.astype(np.float64)).reshape(5, 3, 2).sum(2) / np.exp(u.astype(np.float64)).sum(1)[:, None])
    np.testing.assert_allclose(lp, ref, atol=1e-6)
    assert np.array_equal(lelp.predict_class(u, 3, 2), lp.argmax(1))
    z = rng.normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(lelp.softmax_targets(z, tau=2.0).sum(1), 1, atol=1e-6)


def test_float32_products_option():
    rng = np.random.default_rng(4)
    d = 40
    H = (rng.standard_normal((3000, d)) * np.linspace(5, 0.5, d) + 100.0).astype(np.float32)
    y = (np.arange(3000) % 2).astype(np.int32)
    models = {}
    for p in ("float64", "float32"):
        b = lelp.SubspaceBuilder(d, 2, 4, rotate=False, beta=1.0, precision=p)
        assert b.precision == p
        b.update(H, y)
        assert lelp.SubspaceBuilder.from_bytes(b.to_bytes()).precision == p
        models[p] = b.fit()
    e64, e32 = models["float64"].eigenvalues, models["float32"].eigenvalues
    assert np.max(np.abs(e32 - e64) / e64) < 1e-5
    # against NumPy directly, in float64
    for c in range(2):
        X = H[y == c].astype(np.float64)
        w = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1][:4]
        assert np.max(np.abs(e32[c] - w) / w) < 1e-5
    with pytest.raises(ValueError, match="precision must be"):
        lelp.SubspaceBuilder(d, 2, 4, precision="float16")


def test_gram_form_against_numpy():
    """Classes with at most d/2 rows are fitted from their n x n Gram matrix
    (LELP_BUILDER_GRAM_FORM); checked against NumPy's d x d covariance, for
    batchings that keep the rows and that pass d/2 part way."""
    rng = np.random.default_rng(11)
    d, S = 90, 4
    for n in (50, 400):  # 25 rows per class (row form to the end), 200 (switches)
        H = (rng.standard_normal((n, d)) * np.geomspace(6, 0.2, d) + 30.0).astype(np.float32)
        y = (np.arange(n) % 2).astype(np.int32)
        want = []
        for c in range(2):
            w, V = np.linalg.eigh(np.cov(H[y == c].astype(np.float64), rowvar=False))
            want.append((w[::-1][:S], V[:, ::-1][:, :S]))
        for gram in (True, False):
            for batch in (1, 6, n):
                b = lelp.SubspaceBuilder(d, 2, S, rotate=False, beta=1.0, gram_form=gram)
                assert b.gram_form is gram
                for i in range(0, n, batch):
                    b.update(H[i:i + batch], y[i:i + batch])
                m = b.fit()
                for c in range(2):
                    np.testing.assert_allclose(m.eigenvalues[c], want[c][0], rtol=1e-9)
                    # the same directions: |<u, v>| = 1 (the spectrum's gaps are wide)
                    dots = np.abs(np.sum(m.components[c].T * want[c][1], axis=0))
                    np.testing.assert_allclose(dots, 1.0, atol=1e-9)
    b = lelp.SubspaceBuilder(d, 2, S)
    b.gram_form = False
    assert b.gram_form is False


def test_compressor_widths_checked_in_python():
    # the C calls take no widths: a narrow E was read past its end, a narrow F
    # had its gradient written past the array
    c = lelp.Compressor(8, 4, 3)
    E, F = np.ones((5, 8), np.float32), np.ones((5, 4), np.float32)
    for call in (lambda: c.compress(E[:, :2]), lambda: c.compress(np.ones((5, 16), np.float32)),
                 lambda: c.student_loss(np.ones((5, 1), np.float32), E),
                 lambda: c.student_loss(F, E[:, :7]), lambda: c.step(E[:, :2], np.zeros(5, np.int32))):
        with pytest.raises(ValueError, match="dimension 1"):
            call()
    m = lelp.Compressor(8, 4, 3, multilabel=True)
    with pytest.raises(ValueError, match="dimension 1 must be 3"):
        m.step(E, np.zeros((5, 2), np.float32))
    A, a, W, bias = c.weights()
    assert A.shape == (4, 8) and a.shape == (4,) and W.shape == (3, 4) and bias.shape == (3,)
    # e' = A e + a, from the copies
    np.testing.assert_allclose(c.compress(E), E @ A.T + a, rtol=1e-5, atol=1e-6)


def test_integers_are_range_checked():
    for bad in (2**64, 2**63, -2**63 - 1):
        with pytest.raises(ValueError, match="does not fit"):
            lelp.SubspaceBuilder(4, 2, 1, seed=bad)
    with pytest.raises(TypeError, match="integer"):
        lelp.SubspaceBuilder(4, 2, 1, seed=1.5)
    b = lelp.SubspaceBuilder(np.int64(4), 2, 1, seed=np.uint32(7))
    with pytest.raises(ValueError, match="does not fit"):
        b.count(2**70)
    with pytest.raises(ValueError, match="does not fit"):
        lelp.Loss(2**64, 1)


def test_copies_are_independent_handles():
    import copy
    import pickle
    b, m, _ = fitted()
    b.gram_form = False
    for dup in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
        m2 = dup(m)
        assert m2._h.value != m._h.value
        del m2  # frees its own handle only
        assert np.array_equal(m.components, m.components) and m.beta > 0
        b2 = dup(b)
        assert b2._h.value != b._h.value and b2.gram_form is False
        assert np.array_equal(b2.fit().components, m.components)
        c = lelp.Compressor(6, 3, 2, seed=5)
        c2 = dup(c)
        assert np.array_equal(c2.weights()[0], c.weights()[0])
    # a Loss copies through its settings: an independent handle computing the same values
    loss = lelp.Loss(3, 2, tau=2.5, alpha=0.25, reduction="sum")
    rng = np.random.default_rng(1)
    u = rng.normal(size=(7, 6)).astype(np.float32)
    T = rng.random((7, 6)).astype(np.float32)
    T /= T.sum(1, keepdims=True)
    y = np.arange(7) % 3
    v, g = loss(u, T, labels=y)
    for dup in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
        l2 = dup(loss)
        assert l2._h.value != loss._h.value and l2.settings() == loss.settings()
        v2, g2 = l2(u, T, labels=y)
        assert v2 == v and np.array_equal(g2, g)
        del l2
        assert loss(u, T, labels=y)[0] == v
    assert m.solver == "exact"


def test_automatic_beta_is_solved_on_the_fitting_data():
    # SPEC 1.2: the mean within-class entropy over the fitting data is
    # fraction * log S at the automatic beta (classes kept whole by the sample)
    H, y, W, Z = data(n=600)
    b = lelp.SubspaceBuilder(dim=10, num_classes=3, subclasses=3, seed=4, entropy_fraction=0.3)
    assert b.beta_sample == -1
    for i in range(0, 600, 128):
        b.update(H[i:i + 128], y[i:i + 128])
    m = b.fit()
    assert abs(m.mean_entropy(H, y) - 0.3 * np.log(3)) < 1e-6
    # LELP_BUILDER_BETA_SAMPLE = 0: the Gaussian model of the statistics instead
    g = lelp.SubspaceBuilder(dim=10, num_classes=3, subclasses=3, seed=4, entropy_fraction=0.3, beta_sample=0)
    g.update(H, y)
    assert g.beta_sample == 0 and g.fit().beta != m.beta
