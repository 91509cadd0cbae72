#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What the Python binding adds to a loss call (docs/performance.md): a 1-row
batch, so the C work is nil, timed as a bare ctypes call with prepared
pointers, as Loss(u, T), and as Loss(u, T, out=G). Best of 7 x 5000 calls.

    bench/binding_overhead.py
"""
import ctypes as ct
import os
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import numpy as np  # noqa: E402
import lelp  # noqa: E402

u = np.zeros((1, 16), np.float32)
t = np.full((1, 16), 1 / 16, np.float32)
g = np.empty_like(u)
loss = lelp.Loss(num_classes=2, subclasses=8, tau=2.0)
v = ct.c_double()
pu, pt, pg = ct.c_void_p(u.ctypes.data), ct.c_void_p(t.ctypes.data), ct.c_void_p(g.ctypes.data)


def raw():
    lelp._L.lelp_loss_compute(loss._h, pu, pt, None, None, 1, ct.byref(v), pg)


for name, f in [("bare ctypes call", raw), ("Loss(u, T)", lambda: loss(u, t)),
                ("Loss(u, T, out=G)", lambda: loss(u, t, out=g))]:
    best = min(timeit.repeat(f, number=5000, repeat=7)) / 5000
    print(f"{name:18s} {best * 1e6:6.2f} us")
