#!/usr/bin/python3
"""Writes the known-answer fixtures of tests/test_known_answers.c.

    /usr/bin/python3 tests/reference/gen_fixtures.py [outdir]   (default tests/fixtures)

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
        "beta": np.array([m["beta"]]), "head_rank": np.array([m["head_rank"]], np.int64),
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
    if t is not None:
        arrays["T"] = t
    if w is not None:
        arrays["w"] = w
    if z is not None:
        arrays["Z"] = z
        arrays["softmax_targets"] = ref.softmax_targets(z, tau)
    return arrays


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures")
    os.makedirs(out, exist_ok=True)
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
    print(f"gen_fixtures: wrote {len(FIT_CASES) + len(LOSS_CASES) + 1} fixtures to {out}")


if __name__ == "__main__":
    main()
