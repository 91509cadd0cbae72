# SPDX-License-Identifier: MIT
"""Differential check of the exact solver's two forms (LELP_BUILDER_GRAM_FORM):
random shapes (d = 1..47, C = 1..3, S = 1..5), spectra (decaying, flat, on a
large offset, low rank), batchings, shards merged in any form, states saved and
reloaded part way, and heads. Both forms must succeed or fail with the same
status, and agree on eigenvalues (1e-7 relative), explained-variance ratios and
directions where the spectrum has a gap. The co-moment form is itself checked
against NumPy (test_reference.py, the C known-answer tests)."""
import numpy as np

import lelp


def _fit(H, y, parts, d, C, S, head, gram, rng):
    shards = []
    for p in parts:
        b = lelp.SubspaceBuilder(d, C, S, rotate=False, beta=1.0, gram_form=gram)
        step = int(rng.integers(1, 50)) if gram else len(p) + 1
        for i in range(0, len(p), step):
            b.update(H[p[i:i + step]], y[p[i:i + step]])
        if gram and rng.random() < 0.3:
            b = lelp.SubspaceBuilder.from_bytes(b.to_bytes())
        shards.append(b)
    b = shards[0]
    for other in shards[1:]:
        b.merge(other)
    if head is not None:
        b.set_head(head)
    try:
        m = b.fit()
    except lelp.LelpError as e:
        return type(e).__name__, None
    return "ok", m


def test_gram_form_equals_comoment_form():
    rng = np.random.default_rng(20261127)
    fitted = 0
    for _ in range(400):
        d = int(rng.integers(1, 48))
        C = int(rng.integers(1, 4))
        S = int(rng.integers(1, min(d, 5) + 1))
        n = int(rng.integers(2, 6 * d + 10))
        kind = int(rng.integers(0, 4))
        if kind == 3:  # low rank
            k = int(rng.integers(1, d + 1))
            H = rng.standard_normal((n, k)) @ rng.standard_normal((k, d)) + 1.0
        else:
            H = rng.standard_normal((n, d)) * np.geomspace(5, 1 if kind == 1 else 0.01, d)
            H += 1000.0 if kind == 2 else 3.0
        H = H.astype(np.float32)
        y = rng.integers(0, C, n).astype(np.int32)
        head = rng.standard_normal((C, d)).astype(np.float32) if rng.random() < 0.3 else None
        parts = np.split(np.arange(n), np.sort(rng.integers(0, n, int(rng.integers(0, 3)))))
        case = (d, C, S, n, kind, head is not None)
        st0, m0 = _fit(H, y, parts, d, C, S, head, False, rng)
        st1, m1 = _fit(H, y, parts, d, C, S, head, True, rng)
        assert st0 == st1, case
        if m0 is None:
            continue
        fitted += 1
        e0, e1 = m0.eigenvalues, m1.eigenvalues
        np.testing.assert_allclose(e1, e0, rtol=1e-7, err_msg=str(case))
        np.testing.assert_allclose(m1.explained_variance_ratio, m0.explained_variance_ratio, rtol=1e-7,
                                   err_msg=str(case))
        # directions: those whose eigenvalue is separated from its neighbours by 1e-3
        dots = np.abs(np.sum(m0.components * m1.components, axis=2))
        for c in range(C):
            lam = e0[c]
            for s in range(S):
                gaps = [abs(lam[s] - lam[t]) / lam[0] for t in (s - 1, s + 1) if 0 <= t < S]
                if min(gaps, default=1.0) > 1e-3:
                    assert dots[c, s] > 1 - 1e-6, (case, c, s, dots[c, s])
    assert fitted > 300  # the comparison is not vacuous
