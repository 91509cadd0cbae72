#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the known-answer fixtures of tests/test_known_answers.c.

    /usr/bin/python3 tests/reference/gen_fixtures.py [outdir]   (default tests/fixtures)

Before writing, the reference is checked against itself (self_check_*: streaming
Chan merges = two-pass covariance, eigenpairs, sign rule, orthogonal rotations,
null space, auto-beta entropy crossing, target marginals, loss gradient against
finite differences, the ln series against log); a failed check aborts.

Inputs are seeded synthetic data with hidden subclass structure; expected
outputs come from lelp_ref.py (an independent NumPy implementation of the
SPEC). File format (.lfx, little-endian), see tests/reference/README.md:
    "LFX1" u32 count, then per array: u16 name length, name bytes,
    u8 dtype (0 f32, 1 f64, 2 i32, 3 i64), u8 ndim, ndim x u64 dims, data.
"""
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lelp_ref as ref  # noqa: E402

DTYPES = {np.dtype("<f4"): 0, np.dtype("<f8"): 1, np.dtype("<i4"): 2, np.dtype("<i8"): 3}


def write_lfx(path, arrays):
    with open(path, "wb") as f:
        f.write(b"LFX1" + struct.pack("<I", len(arrays)))
        for name, a in arrays.items():
            a = np.ascontiguousarray(a)
            if a.dtype not in DTYPES:
                raise TypeError(f"{name}: dtype {a.dtype}")
            nb = name.encode()
            f.write(struct.pack("<H", len(nb)) + nb + struct.pack("<BB", DTYPES[a.dtype], a.ndim))
            f.write(struct.pack("<%dQ" % a.ndim, *a.shape))
            f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())


def read_lfx(path):
    """The arrays of an .lfx file, in file order (the inverse of write_lfx)."""
    names = {v: k for k, v in DTYPES.items()}
    b = open(path, "rb").read()
    if b[:4] != b"LFX1":
        raise ValueError(f"{path}: not an LFX1 file")
    (count,), o, out = struct.unpack_from("<I", b, 4), 8, {}
    for _ in range(count):
        (nlen,) = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + nlen].decode()
        o += 2 + nlen
        dt, nd = struct.unpack_from("<BB", b, o)
        dims = struct.unpack_from("<%dQ" % nd, b, o + 2)
        o += 2 + 8 * nd
        a = np.frombuffer(b, names[dt], int(np.prod(dims, dtype=np.int64)), o).reshape(dims).copy()
        o += a.nbytes
        out[name] = a
    if o != len(b):
        raise ValueError(f"{path}: {len(b) - o} trailing bytes")
    return out


def synthetic(rng, n, d, C, hidden=3, offset=0.0):
    """Each class: `hidden` clusters on a low-rank-plus-noise structure."""
    y = rng.integers(0, C, n).astype(np.int32)
    centres = rng.normal(scale=3.0, size=(C, hidden, d))
    k = rng.integers(0, hidden, n)
    scales = np.linspace(1.5, 0.3, d)
    H = centres[y, k] + rng.normal(size=(n, d)) * scales + offset
    return H.astype(np.float32), y


FIT_CASES = [
    # name, n, d, C, S, head, null_space, rotate, seed, beta, fraction, offset
    ("fit_plain", 300, 12, 2, 3, False, True, False, 0, 1.7, 0.5, 0.0),
    ("fit_head_rot_auto", 420, 16, 3, 4, True, True, True, 11, 0.0, 0.5, 0.0),
    ("fit_head_nons_rot", 260, 10, 2, 2, True, False, True, 5, 0.9, 0.5, 5.0),
    ("fit_rankdef_head_auto", 360, 20, 3, 3, "dup", True, False, 3, 0.0, 0.7, 0.0),
    ("fit_offset_s1", 200, 8, 2, 1, True, True, True, 2, 0.0, 0.5, 100.0),
]


def fit_case(rng, name, n, d, C, S, head, null_space, rotate, seed, beta, fraction, offset):
    H, y = synthetic(rng, n, d, C, offset=offset)
    W = rng.normal(size=(C, d)).astype(np.float32)
    if head == "dup":
        W[1] = W[0]  # rank-deficient head: rank C-1
    use_head = head is not False
    m = ref.fit(H, y, C, S, W if use_head else None, null_space, rotate, seed, beta, fraction)
    Z = (H @ W.T / 3.0).astype(np.float32)
    tau, eps = 2.5, 0.1
    arrays = {
        "H": H, "y": y, "W": W, "Z": Z,
        "params": np.array([int(use_head), int(null_space), int(rotate), seed], np.int64),
        "scalars": np.array([beta, fraction, tau, eps], np.float64),
        "means": m["means"], "eig": m["eig"], "ratio": m["ratio"],
        "components": m["components"], "offsets": m["offsets"],
        "beta": np.array([m["beta"]]), "beta_gaussian": np.array([m["beta_gaussian"]]),
        "head_rank": np.array([m["head_rank"]], np.int64),
        "targets_logits": ref.targets(m, H, logits=Z, tau=tau),
        "targets_labels": ref.targets(m, H, labels=y, smoothing=eps),
        "project": ref.project(m, H).reshape(n, C * S),
        "assign": ref.assign(m, H, y).astype(np.int32),
    }
    f = ref.project(m, H)
    own = np.sort(f[np.arange(n), y], axis=1)
    arrays["assign_margin"] = (own[:, -1] - own[:, -2]) if S > 1 else np.full(n, np.inf)
    if S > 1:
        arrays["rotation0"] = ref.haar_rotation(seed, 0, S)
    # The same fit without rotation (V_c, sign rule only) and every class's R_c,
    # so the test can check V_c^T U_c = R_c independently of eigenvector error.
    plain = ref.fit(H, y, C, S, W if use_head else None, null_space, False, seed, m["beta"], fraction)
    arrays["components_norot"] = plain["components"]
    arrays["rotations"] = np.array([ref.haar_rotation(seed, c, S) if rotate else np.eye(S) for c in range(C)])
    if S > 1:
        # lelp_model_mean_entropy / lelp_model_estimate_beta on the fitting batch
        arrays["batch_entropy"] = np.array([ref.batch_mean_entropy(m, H, y, m["beta"])])
        arrays["batch_beta"] = np.array([ref.estimate_beta(m, H, y, fraction)])
    self_check_fit(name, H, y, W if use_head else None, null_space, rotate, seed, fraction, beta, m, plain, arrays, tau, eps)
    return arrays


LOSS_CASES = [
    # name, n, C, S, tau, alpha, reduction, weights, targets (kind)
    ("loss_mixed", 37, 3, 4, 2.5, 0.3, 0, True, "soft"),
    ("loss_kd_s1", 20, 2, 1, 4.0, 0.0, 1, False, "kd"),
    ("loss_label_only", 25, 4, 2, 0.7, 1.0, 0, False, "none"),
    ("loss_sparse_sum", 30, 2, 5, 1.0, 0.6, 1, True, "sparse"),
]


def loss_case(rng, name, n, C, S, tau, alpha, reduction, weights, kind):
    K = C * S
    u = (rng.normal(size=(n, K)) * 2.0).astype(np.float32)
    y = rng.integers(0, C, n).astype(np.int32)
    w = rng.uniform(0.2, 2.0, n).astype(np.float32) if weights else None
    z = None
    if kind == "kd":
        z = (rng.normal(size=(n, C)) * 3).astype(np.float32)
        t = ref.softmax_targets(z, tau).astype(np.float32)
    elif kind == "none":
        t = None
    else:
        t = rng.random((n, K))
        if kind == "sparse":
            t[t < 0.5] = 0.0
            t[:, 0] += 0.01
        t = (t / t.sum(axis=1, keepdims=True)).astype(np.float32)
    value, grad = ref.loss(u, t, y, w, C, S, tau, alpha, reduction)
    arrays = {"U": u, "y": y, "shape": np.array([n, C, S, reduction, int(weights), int(t is not None)], np.int64),
              "scalars": np.array([tau, alpha]), "value": np.array([value]), "grad": grad,
              "log_proba": ref.predict_log_proba(u, C, S)}
    # both reductions (0 mean, 1 sum), whatever the case's primary one is
    for r in (0, 1):
        v_r, g_r = ref.loss(u, t, y, w, C, S, tau, alpha, r)
        arrays["value_r%d" % r], arrays["grad_r%d" % r] = np.array([v_r]), g_r
        self_check_loss(name, u, t, y, w, C, S, tau, alpha, r, v_r, g_r)
    assert np.allclose(np.exp(arrays["log_proba"]).sum(axis=1), 1.0, rtol=0, atol=1e-13), name
    if t is not None:
        arrays["T"] = t
    if w is not None:
        arrays["w"] = w
    if z is not None:
        arrays["Z"] = z
        arrays["softmax_targets"] = ref.softmax_targets(z, tau)
    return arrays


# ---------------------------------------------------------------- self-checks of the reference
# Run on every generation, so a broken reference cannot silently write fixtures.
def _chan_stream(H, y, C, cuts):
    """Welford/Chan batch merges (SPEC 1.1) over uneven batches; returns counts, means, co-moments."""
    d = H.shape[1]
    n = np.zeros(C)
    mu = np.zeros((C, d))
    M = np.zeros((C, d, d))
    for a, b in zip(cuts[:-1], cuts[1:]):
        for c in range(C):
            X = H[a:b][y[a:b] == c].astype(np.float64)
            if len(X) == 0:
                continue
            nb, mb = len(X), X.mean(axis=0)
            Mb = (X - mb).T @ (X - mb)
            tot = n[c] + nb
            delta = mb - mu[c]
            M[c] += Mb + np.outer(delta, delta) * n[c] * nb / tot
            mu[c] += delta * nb / tot
            n[c] = tot
    return n, mu, M


def self_check_fit(name, H, y, W, null_space, rotate, seed, fraction, beta, m, plain, arrays, tau, eps):
    C, S = m["eig"].shape
    n, d = H.shape
    # streaming statistics equal the two-pass ones (so the C test may stream uneven batches)
    cnt, mu, M = _chan_stream(H, y, C, [0, 1, 8, 58, n])
    assert np.array_equal(cnt, m["counts"]), name
    assert np.allclose(mu, m["means"], rtol=1e-12, atol=1e-12 * np.abs(H).max()), name
    for c in range(C):
        cov = np.cov(H[y == c].astype(np.float64), rowvar=False, ddof=1)
        assert np.allclose(M[c] / (cnt[c] - 1), cov, rtol=1e-10, atol=1e-12 * np.abs(cov).max()), name
    # null space: P projects out the head's row space
    Q = ref.head_basis(W) if (W is not None and null_space) else np.zeros((d, 0))
    P = np.eye(d) - Q @ Q.T
    for c in range(C):
        V = plain["components"][c].T  # d x S, unrotated
        U = m["components"][c].T
        R = arrays["rotations"][c]
        Sig = P @ np.cov(H[y == c].astype(np.float64), rowvar=False, ddof=1) @ P
        lam = m["eig"][c]
        assert np.all(np.diff(lam) <= 0) and lam[-1] > 0, name  # descending, positive
        assert np.allclose(Sig @ V, V * lam, atol=1e-10 * lam[0]), name  # eigenpairs
        assert np.allclose(V.T @ V, np.eye(S), atol=1e-12), name
        for s in range(S):  # sign rule: first entry of largest magnitude is positive
            assert V[np.argmax(np.abs(V[:, s])), s] > 0, name
        assert np.allclose(R.T @ R, np.eye(S), atol=1e-13), name  # Haar rotation orthogonal
        assert np.allclose(U, V @ R, atol=1e-14), name
        assert np.allclose(V.T @ U, R, atol=1e-12), name
        if Q.shape[1]:
            assert np.abs(Q.T @ U).max() < 1e-12, name  # P U = U
        assert np.allclose(m["offsets"][c], U.T @ m["means"][c], rtol=1e-13, atol=1e-13), name
    if W is not None and null_space:
        assert m["head_rank"] == np.linalg.matrix_rank(W.astype(np.float64)), name
    # auto beta: the entropy over the fitting data hits fraction * log S (the
    # classes are small enough to be kept whole by the library's sample) ...
    if beta == 0.0 and S > 1:
        assert max(m["counts"]) <= 256, name
        h = ref.batch_mean_entropy(m, H, y, m["beta"])
        assert abs(h - fraction * np.log(S)) < 1e-9, (name, h)
        # ... and the Gaussian model's Monte-Carlo entropy hits it at beta_gaussian
        gs, ws = [], []
        for c in range(C):
            rng = ref.Rng(seed, c, 1)
            xi = np.array([[rng.normal() for _ in range(S)] for _ in range(4096)]) * np.sqrt(m["eig"][c])
            gs.append(xi @ arrays["rotations"][c])
            ws.append(np.full(4096, m["counts"][c] / (n * 4096.0)))
        h = ref.mean_entropy(np.concatenate(gs), np.concatenate(ws), m["beta_gaussian"])
        assert abs(h - fraction * np.log(S)) < 1e-9, (name, h)
    if S == 1:
        assert m["beta"] == (beta if beta > 0 else 1.0), name
    # targets: rows sum to 1 and the class marginal is the teacher's distribution
    Z = arrays["Z"].astype(np.float64)
    p = np.exp(ref.log_softmax(Z / tau))
    T = arrays["targets_logits"].reshape(n, C, S)
    assert np.allclose(T.sum(axis=2), p, rtol=1e-13, atol=1e-15), name
    T = arrays["targets_labels"].reshape(n, C, S)
    pl = np.full((n, C), eps / C)
    pl[np.arange(n), y] += 1 - eps
    assert np.allclose(T.sum(axis=2), pl, rtol=1e-13, atol=1e-15), name
    if S > 1:
        own = arrays["project"].reshape(n, C, S)[np.arange(n), y]
        assert np.array_equal(np.argmax(own, axis=1), arrays["assign"]), name
        h = ref.batch_mean_entropy(m, H, y, arrays["batch_beta"][0])
        assert abs(h - fraction * np.log(S)) < 1e-9, (name, h)


def self_check_loss(name, u, t, y, w, C, S, tau, alpha, reduction, value, grad):
    """Gradient against central finite differences of the reference loss (float64)."""
    u64 = u.astype(np.float64)
    h = 1e-6
    rng = np.random.default_rng(7)
    for _ in range(12):
        i, j = rng.integers(0, u.shape[0]), rng.integers(0, u.shape[1])
        up, dn = u64.copy(), u64.copy()
        up[i, j] += h
        dn[i, j] -= h
        fd = (ref.loss(up, t, y, w, C, S, tau, alpha, reduction)[0] -
              ref.loss(dn, t, y, w, C, S, tau, alpha, reduction)[0]) / (2 * h)
        assert abs(fd - grad[i, j]) < 1e-7 * max(1.0, abs(fd)), (name, i, j, fd, grad[i, j])
    if t is None or np.allclose(t.astype(np.float64).sum(axis=1), 1.0, atol=1e-6):
        assert np.abs(grad.sum(axis=1)).max() < 1e-6, name  # softmax gradients sum to ~0 per row
    assert value >= 0.0, name


def self_check_prng():
    for x in np.concatenate([np.geomspace(1e-300, 1e300, 997), np.linspace(0.01, 1.0, 1001)]):
        x = float(x)
        assert abs(ref.series_ln(x) - np.log(x)) <= 4 * np.spacing(max(abs(np.log(x)), 1e-300)) + 1e-300, x
    # the first SplitMix64 output from 0 is a published constant (Vigna)
    assert ref._splitmix64(0)[1] == 0xE220A8397B1DCDAF
    r = ref.Rng(1, 0, 1)
    z = np.array([r.normal() for _ in range(20000)])
    assert abs(z.mean()) < 0.03 and abs(z.var() - 1) < 0.04
    for S in (2, 3, 5):
        R = ref.haar_rotation(9, 1, S)
        assert np.allclose(R.T @ R, np.eye(S), atol=1e-14)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures")
    os.makedirs(out, exist_ok=True)
    self_check_prng()
    rng = np.random.default_rng(20261123)
    for case in FIT_CASES:
        write_lfx(os.path.join(out, case[0] + ".lfx"), fit_case(rng, *case))
    for case in LOSS_CASES:
        write_lfx(os.path.join(out, case[0] + ".lfx"), loss_case(rng, *case))
    # PRNG known answers: first outputs of stream (seed 42, class 3, stream 0)
    r = ref.Rng(42, 3, 0)
    raw = np.array([r.next() for _ in range(8)], np.uint64).view(np.int64)
    r = ref.Rng(42, 3, 0)
    normals = np.array([r.normal() for _ in range(9)])
    write_lfx(os.path.join(out, "prng.lfx"), {"raw": raw, "normals": normals,
                                              "rotation_s5": ref.haar_rotation(42, 3, 5)})
    for name in os.listdir(out):  # every file reads back as written
        if name.endswith(".lfx"):
            path = os.path.join(out, name)
            buf = open(path, "rb").read()
            tmp = path + ".rt"
            write_lfx(tmp, read_lfx(path))
            same = open(tmp, "rb").read() == buf
            os.remove(tmp)
            assert same, name
    print(f"gen_fixtures: wrote {len(FIT_CASES) + len(LOSS_CASES) + 1} fixtures to {out}")


if __name__ == "__main__":
    main()
