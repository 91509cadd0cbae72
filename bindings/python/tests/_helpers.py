# SPDX-License-Identifier: MIT
"""Helpers shared by the binding's tests (imported as a sibling module)."""
import numpy as np

import lelp


def small_data(n=300, d=6, C=2, seed=0):
    """n rows of d features in C classes with a decaying spectrum, and teacher logits."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % C).astype(np.int32)
    H = (rng.normal(size=(n, d)) * np.linspace(2, 0.5, d) + y[:, None] * 3).astype(np.float32)
    Z = rng.normal(size=(n, C)).astype(np.float32)
    return H, y, Z


def spy(monkeypatch, name):
    """Records the arguments of every call of lelp._L.<name> (the C function)."""
    calls = []
    orig = getattr(lelp._L, name)

    def wrapper(*args):
        calls.append(args)
        return orig(*args)
    monkeypatch.setattr(lelp._L, name, wrapper)
    return calls
