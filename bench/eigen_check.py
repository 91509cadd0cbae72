#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Times an exact-solver fit and checks its eigenpairs against NumPy's eigh.

    bench/eigen_check.py N d C S {lowrank|power}

lowrank: 16 strong directions per class plus isotropic noise (the bench data's
shape); power: eigenvalues ~ i^(-1/2), neighbours 1-2 % apart (the hard case for
an iterative solver). Prints the fit time (lelp_builder_fit only) and, per class,
the largest relative eigenvalue error and the largest 1 - |<u, v>| against NumPy.
Set LELP_LIBRARY to another build's liblelp.so.0 to compare two builds on the same
data (docs/performance.md: the Krylov solver against the dsyevr-only build).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import lelp  # noqa: E402


def make(N, d, C, kind, seed=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N).astype(np.int32)
    H = np.empty((N, d), np.float32)
    for c in range(C):
        idx = np.flatnonzero(y == c)
        if kind == "lowrank":
            B = rng.standard_normal((16, d)) / np.sqrt(d)
            coef = rng.standard_normal((idx.size, 16)) * np.geomspace(20, 2, 16)
            H[idx] = coef @ B + 0.3 * rng.standard_normal((idx.size, d)) + c
        else:
            Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            H[idx] = (rng.standard_normal((idx.size, d)) * np.arange(1, d + 1) ** -0.5) @ Q.T + c
    return H, y


def main():
    if len(sys.argv) != 6 or sys.argv[5] not in ("lowrank", "power"):
        sys.exit(__doc__)
    N, d, C, S = map(int, sys.argv[1:5])
    H, y = make(N, d, C, sys.argv[5])
    b = lelp.SubspaceBuilder(d, C, S, null_space=False, rotate=False)
    b.update(H, y)
    t = time.perf_counter()
    m = b.fit()
    print(f"fit (eigen step) {time.perf_counter() - t:.3f} s  N={N} d={d} C={C} S={S} {sys.argv[5]}")
    ev, U = m.eigenvalues, m.components
    for c in range(C):
        w, V = np.linalg.eigh(np.cov(H[y == c].astype(np.float64), rowvar=False))
        w, V = w[::-1][:S], V[:, ::-1][:, :S]
        rel = np.max(np.abs(ev[c] - w) / w)
        vec = np.max(1 - np.abs(np.sum(U[c] * V.T, axis=1)))
        print(f"class {c}: eigenvalue rel. err {rel:.2e}, max 1-|<u,v>| {vec:.2e}")


if __name__ == "__main__":
    main()
