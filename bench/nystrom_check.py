#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Why the streaming solver is Frequent Directions and not a single-pass
randomized sketch (docs/performance.md, "Sketch fit"): the accuracy a
single-pass Nystrom sketch of each class's co-moment would reach on the
benchmark data, for several sketch widths k.

The sketch is what a one-pass, mergeable randomized solver can keep: Y = M Omega
for a seeded orthonormal d x k Omega (Y += X^T (X Omega) per block, Chan-merged),
then the stabilised Nystrom approximation M ~ Y (Omega^T Y)^+ Y^T (Tropp, Yurtsever,
Udell, Cevher 2017, Alg. 3) and its top S eigenvectors. Its cost is ~4 k d flops
per row (two GEMMs), against d^2 for the exact solver's DSYRK (d^2/2 multiply-adds).
Prints the largest principal angle to NumPy's exact subspaces per k.

    bench/nystrom_check.py [N d C S k1 k2 ...]   (default 100000 1024 2 8 16 32 48 64 128 192)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (sets the BLAS thread variables first)
import numpy as np  # noqa: E402


def nystrom(X, S, k, seed=0):
    d = X.shape[1]
    omega = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, k)))[0]
    Xc = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    Y = Xc.T @ (Xc @ omega)  # = M omega, M the centred co-moment
    nu = np.finfo(float).eps * np.linalg.norm(Y) * np.sqrt(d)  # shift for stability
    Yn = Y + nu * omega
    B = omega.T @ Yn
    L = np.linalg.cholesky((B + B.T) / 2)
    U, s, _ = np.linalg.svd(np.linalg.solve(L, Yn.T).T, full_matrices=False)
    return U[:, :S], np.maximum(s[:S] ** 2 - nu, 0.0)


args = [int(a) for a in sys.argv[1:]] or [100_000, 1024, 2, 8, 16, 32, 48, 64, 128, 192]
N, d, C, S, ks = args[0], args[1], args[2], args[3], args[4:]
H, y, _ = run.make_data(N, d, C)
exact_v = run.numpy_fit(H, y, C, S)
for k in ks:
    ang = max(run.max_angle_deg(nystrom(H[y == c], S, k)[0], exact_v[c]) for c in range(C))
    print(f"k={k}: largest angle to exact {ang:.3g} deg, ~{4 * k} d flops per row (exact DSYRK: {d} d)")
