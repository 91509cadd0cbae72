#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""threads= of the Python binding, side by side in one run: wall and CPU time
of SubspaceBuilder.update, Model.targets, Model.assign and Model.project at
threads=1 and at every core, alternated, best of REPEAT (docs/python.md).

    bench/python_threads.py [N [D [C [S [REPEAT]]]]]     (default 100000 256 2 8 5)

A loaded machine shows it in the CPU column: the speed-up needs idle cores.
"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import numpy as np  # noqa: E402
import lelp  # noqa: E402

n, d, C, S, repeat = (list(map(int, sys.argv[1:])) + [100000, 256, 2, 8, 5][len(sys.argv) - 1:])[:5]
rng = np.random.default_rng(0)
y = rng.integers(0, C, n).astype(np.int32)
H = (rng.normal(size=(n, d)) + y[:, None]).astype(np.float32)
Z = rng.normal(size=(n, C)).astype(np.float32)
m = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S).update(H, y, threads=1).fit()
T = lelp.cpu_count()
steps = [
    ("update", lambda t: lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S).update(H, y, threads=t)),
    ("update beta_sample=0",
     lambda t: lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, beta_sample=0).update(H, y, threads=t)),
    ("targets", lambda t: m.targets(H, logits=Z, threads=t)),
    ("assign", lambda t: m.assign(H, y, threads=t)),
    ("project", lambda t: m.project(H, threads=t)),
]
print(f"N={n} d={d} C={C} S={S}, threads=1 vs threads={T}, best of {repeat}, load {os.getloadavg()[0]:.1f}")
for name, f in steps:
    best = {1: (1e9, 1e9), T: (1e9, 1e9)}
    for _ in range(repeat):
        for t in (1, T):
            w0, c0 = time.perf_counter(), time.process_time()
            f(t)
            w, c = time.perf_counter() - w0, time.process_time() - c0
            best[t] = (min(best[t][0], w), min(best[t][1], c))
    (w1, c1), (wT, cT) = best[1], best[T]
    print(f"{name:22s} wall {w1 * 1e3:8.1f} -> {wT * 1e3:8.1f} ms ({w1 / wT:4.2f}x)   "
          f"cpu {c1 * 1e3:8.1f} -> {cT * 1e3:8.1f} ms ({cT / c1:4.2f}x the CPU)")
