#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The sketch solver's size/accuracy trade-off (docs/performance.md, "Sketch
fit"): fit time of the streaming sketch for several sketch sizes l, and its
largest principal angle and eigenvalue error against the exact NumPy fit
(np.cov + eigh) of the same data, run.py's low-rank-plus-noise classes.

    THREADS=2 bench/sketch_ell.py [N d C S l1 l2 ...]   (default 100000 1024 2 8 16 24 32 48)
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (sets the BLAS thread variables first)
import numpy as np  # noqa: E402

args = [int(a) for a in sys.argv[1:]] or [100_000, 1024, 2, 8, 16, 24, 32, 48]
N, d, C, S, ells = args[0], args[1], args[2], args[3], args[4:]
H, y, _ = run.make_data(N, d, C)
exact_v, exact_l = run.numpy_fit(H, y, C, S, with_values=True)
with tempfile.TemporaryDirectory() as tmp:
    hp, yp, mp = (os.path.join(tmp, f) for f in ("H.f32", "y.i32", "m.lelp"))
    H.tofile(hp)
    y.tofile(yp)
    for ell in ells:
        fig = run.core("fit", N, d, C, S, run.REPS, hp, yp, 1, ell, mp)
        U, lam = run.read_model(mp)
        ang = max(run.max_angle_deg(U[c].T, exact_v[c]) for c in range(C))
        err = max(float(np.max(np.abs(lam[c] - exact_l[c]) / exact_l[c])) for c in range(C))
        print(f"l={ell}: fit {fig['seconds']:.3f}s, largest angle to exact {ang:.2g} deg, eigenvalue error {err:.2g}")
