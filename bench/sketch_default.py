#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The sketch solver's automatic size, ell = min(d+1, max(2S, S+8)), against
nearby sizes (docs/method.md section 6): for S = 2, 4, 8, 16, the captured
variance of the fitted directions,

    min over the 2 classes of  tr(U^T Sigma U) / (sum of the top S eigenvalues of Sigma)

on synthetic classes with eigenvalues i^-p in a random basis (p = 0.3, 0.5,
0.7), d = 512 ... 2048, N = 20 000 ... 100 000, two seeds. One thread; takes
~20 minutes (the exact covariances dominate).

    bench/sketch_default.py

Prints one line per data set: S<S>/l<ell>=<captured> for each size tried.
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
os.environ.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
import lelp  # noqa: E402


def spectrum(N, d, p, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scale = np.arange(1, d + 1, dtype=np.float64) ** (-p / 2)
    y = rng.integers(0, 2, N).astype(np.int32)
    return ((rng.standard_normal((N, d)) * scale) @ Q.T).astype(np.float32), y


def captured(H, y, S, comps):
    worst = 1.0
    for c in range(2):
        cov = np.cov(H[y == c].astype(np.float64), rowvar=False)
        top = np.linalg.eigvalsh(cov)[::-1][:S].sum()
        U = comps[c]
        worst = min(worst, float(np.trace(U @ cov @ U.T) / top))
    return worst


def main():
    for d, N in ((512, 20000), (1024, 20000), (1024, 100000), (2048, 40000)):
        for p in (0.3, 0.5, 0.7):
            for seed in (1, 2):
                H, y = spectrum(N, d, p, seed)
                line = f"d={d} N={N} p={p} seed={seed}:"
                for S in (2, 4, 8, 16):
                    for ell in sorted({2 * S, S + 8, 2 * S + 4}):
                        b = lelp.SubspaceBuilder(d, 2, S, solver="sketch", sketch_size=ell, rotate=False, threads=1)
                        line += f" S{S}/l{ell}={captured(H, y, S, b.update(H, y).fit().components):.4f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
