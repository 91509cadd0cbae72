# SPDX-License-Identifier: MIT
"""The binding's numbers against the known-answer fixtures the C suite uses
(tests/fixtures/*.lfx, written by the independent NumPy reference
tests/reference/lelp_ref.py), at the tolerances of tests/test_known_answers.c.
This pins every scalar argument the binding forwards (tau vs smoothing, seed,
fraction, reduction, ...): a swapped or dropped argument changes the numbers."""
import os
import struct

import numpy as np
import pytest

import lelp

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "fixtures")
DTYPES = {0: np.float32, 1: np.float64, 2: np.int32, 3: np.int64}


def read_lfx(name):
    """The arrays of tests/fixtures/NAME.lfx (format: tests/reference/README.md)."""
    path = os.path.join(FIXTURES, name + ".lfx")
    if not os.path.exists(path):
        pytest.skip(f"fixture {path} not in this tree")
    b = open(path, "rb").read()
    assert b[:4] == b"LFX1"
    (count,), o, out = struct.unpack_from("<I", b, 4), 8, {}
    for _ in range(count):
        (nlen,) = struct.unpack_from("<H", b, o)
        name_ = b[o + 2:o + 2 + nlen].decode()
        o += 2 + nlen
        dt, nd = struct.unpack_from("<BB", b, o)
        dims = struct.unpack_from("<%dQ" % nd, b, o + 2)
        o += 2 + 8 * nd
        a = np.frombuffer(b, DTYPES[dt], int(np.prod(dims, dtype=np.int64)), o).reshape(dims).copy()
        o += a.nbytes
        out[name_] = a
    assert o == len(b)
    return out


@pytest.mark.parametrize("case", ["fit_plain", "fit_head_rot_auto", "fit_head_nons_rot", "fit_rankdef_head_auto",
                                  "fit_offset_s1"])
def test_fit_targets_assign_match_reference(case):
    fx = read_lfx(case)
    H, y, W, Z = fx["H"], fx["y"], fx["W"], fx["Z"]
    use_head, null_space, rotate, seed = (int(v) for v in fx["params"])
    beta, fraction, tau, eps = fx["scalars"]
    n, d = H.shape
    C, S = fx["eig"].shape
    b = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, seed=seed, null_space=bool(null_space),
                             rotate=bool(rotate), beta="auto" if beta == 0 else float(beta),
                             entropy_fraction=float(fraction))
    for lo, hi in [(0, 1), (1, 8), (8, 58), (58, n)]:  # the C test's uneven batches
        b.update(H[lo:hi], y[lo:hi])
    if use_head:
        b.set_head(W)
    m = b.fit()
    assert (m.dim, m.num_classes, m.subclasses, m.seed) == (d, C, S, seed)
    assert m.head_rank == int(fx["head_rank"][0]) and m.auto_beta == (beta == 0) and m.rotate == bool(rotate)
    np.testing.assert_allclose(m.means, fx["means"], rtol=1e-9)
    np.testing.assert_allclose(m.eigenvalues, fx["eig"], rtol=1e-9)
    np.testing.assert_allclose(m.explained_variance_ratio, fx["ratio"], atol=1e-9)
    np.testing.assert_allclose(m.components, fx["components"], atol=1e-6 if rotate else 1e-7)
    np.testing.assert_allclose(m.offsets, fx["offsets"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(m.beta, fx["beta"][0], rtol=1e-6)
    np.testing.assert_allclose(m.targets(H, logits=Z, tau=tau), fx["targets_logits"], atol=2e-6)
    np.testing.assert_allclose(m.targets(H, labels=y, smoothing=eps), fx["targets_labels"], atol=2e-6)
    P = fx["project"]
    assert np.all(np.abs(m.project(H) - P) <= 3e-5 * (1 + np.abs(P)))
    a = m.assign(H, y)
    sure = fx["assign_margin"] > 1e-4  # rows whose top two projections nearly tie may flip in float32
    assert sure.sum() > n / 2  # the comparison is not vacuous
    np.testing.assert_array_equal(a[sure], fx["assign"][sure])
    if S > 1:
        np.testing.assert_allclose(m.mean_entropy(H, y, m.beta), fx["batch_entropy"][0], atol=1e-6)
        np.testing.assert_allclose(m.estimate_beta(H, y, fraction), fx["batch_beta"][0], rtol=1e-6)


@pytest.mark.parametrize("case", ["loss_mixed", "loss_kd_s1", "loss_label_only", "loss_sparse_sum"])
def test_loss_gradient_prediction_match_reference(case):
    fx = read_lfx(case)
    n, C, S, primary, has_w, has_t = (int(v) for v in fx["shape"])
    tau, alpha = fx["scalars"]
    U, y = fx["U"], fx["y"]
    T = fx["T"] if has_t else None
    w = fx["w"] if has_w else None
    for r, red in enumerate(["mean", "sum"]):
        loss = lelp.Loss(num_classes=C, subclasses=S, tau=tau, alpha=alpha, reduction=red)
        value, grad = loss(U, T, labels=y if alpha > 0 else None, weights=w)
        np.testing.assert_allclose(value, fx[f"value_r{r}"][0], rtol=1e-9)
        np.testing.assert_allclose(grad, fx[f"grad_r{r}"], atol=1e-6)
        if r == primary:
            np.testing.assert_allclose(value, fx["value"][0], rtol=1e-9)
    lp = fx["log_proba"]
    got = lelp.predict_log_proba(U, num_classes=C, subclasses=S)
    assert got.shape == (n, C) and got.dtype == np.float32
    assert np.all(np.abs(got - lp) <= 2e-6 * (1 + np.abs(lp)))
    np.testing.assert_array_equal(lelp.predict_class(U, C, S), np.argmax(lp, axis=1))
    if "Z" in fx:
        np.testing.assert_allclose(lelp.softmax_targets(fx["Z"], tau=tau), fx["softmax_targets"], atol=1e-7)
