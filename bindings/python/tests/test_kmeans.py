# SPDX-License-Identifier: MIT
"""The k-means labeller (LELP_BUILDER_LABELLER = LELP_LABELLER_KMEANS,
docs/method.md section 7) against the independent NumPy reference
(tests/reference/lelp_ref.py): the targets given the centroids the library
found, the centroids as a fixed point of Lloyd's iteration (each the mean of
the rows nearest to it), the automatic beta's entropy rule, determinism over
batchings and merges, the partition a NumPy k-means finds on well-separated
data, the file format, and the errors."""
import math
import os
import sys

import numpy as np
import pytest

import lelp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "reference"))
import lelp_ref as ref  # noqa: E402


def clustered(seed, d=12, C=2, S=3, per=60, spread=6.0, noise=0.4):
    """C classes, each S well-separated clusters (plus a few of different sizes)."""
    rng = np.random.default_rng(seed)
    H, y, hidden = [], [], []
    for c in range(C):
        centres = rng.normal(0, spread, (S, d))
        for s in range(S):
            k = per + 7 * s
            H.append(centres[s] + rng.normal(0, noise, (k, d)))
            y += [c] * k
            hidden += [s] * k
    return (np.vstack(H).astype(np.float32), np.array(y, np.int32), np.array(hidden),
            rng.normal(size=(C, d)).astype(np.float32))


def fit(H, y, S, W=None, seed=0, beta="auto", batches=(1, 7, 50), **kw):
    b = lelp.SubspaceBuilder(H.shape[1], int(y.max()) + 1, S, seed=seed, beta=beta, labeller="kmeans", **kw)
    lo = 0
    for hi in list(batches) + [len(H)]:
        b.update(H[lo:hi], y[lo:hi])
        lo = hi
    if W is not None:
        b.set_head(W)
    return b.fit()


def centroids(m):
    # the model stores U_{c,s} = 2 m_{c,s}: halving is exact
    return m.components.reshape(m.num_classes, m.subclasses, m.dim) / 2.0


@pytest.mark.parametrize("use_head,beta", [(True, "auto"), (False, "auto"), (True, 0.7)])
def test_targets_match_reference_given_the_centroids(use_head, beta):
    H, y, _, W = clustered(1)
    m = fit(H, y, 3, W if use_head else None, seed=5, beta=beta)
    assert m.labeller == "kmeans" and m.auto_beta == (beta == "auto")
    means, cen = m.means, centroids(m)
    if use_head:  # the centroids live in the head's null space
        Q = ref.head_basis(W)
        assert np.abs(np.einsum("csd,dr->csr", cen, Q)).max() < 1e-9 * np.abs(cen).max()
    Z = np.random.default_rng(2).normal(0, 2, (len(H), 2)).astype(np.float32)
    T = m.targets(H, logits=Z, tau=1.5)
    R = ref.kmeans_targets(H, means, cen, m.beta, W if use_head else None, logits=Z, tau=1.5)
    np.testing.assert_allclose(T, R, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(T.reshape(len(H), 2, 3).sum(2), np.exp(ref.log_softmax(Z / 1.5)), rtol=1e-5)


def test_centroids_are_a_fixed_point_of_lloyd():
    H, y, _, W = clustered(3, per=40, spread=2.0, noise=1.0)  # overlapping: Lloyd has work to do
    m = fit(H, y, 4, W, seed=9)
    means, cen = m.means, centroids(m)
    a = m.assign(H, y)
    for c in range(2):
        X = ref.null_space_rows(H[y == c], means[c], W)
        D = ((X[:, None, :] - cen[c][None]) ** 2).sum(2)
        near = np.argmin(D, axis=1)
        np.testing.assert_array_equal(a[y == c], near)  # assign = the nearest centroid
        for s in range(4):
            assert np.any(near == s), "an empty cluster"
            np.testing.assert_allclose(cen[c, s], X[near == s].mean(0), rtol=1e-9, atol=1e-9)


def test_automatic_beta_meets_the_entropy_target():
    H, y, _, W = clustered(4, spread=2.0, noise=1.0)
    for fraction in (0.3, 0.5, 0.8):
        m = fit(H, y, 3, W, entropy_fraction=fraction)
        beta = ref.kmeans_beta(H, y, m.means, centroids(m), fraction, W)
        assert m.beta == pytest.approx(beta, rel=1e-7)
        g = [ref.kmeans_log_softmax(ref.null_space_rows(H[y == c], m.means[c], W), centroids(m)[c], m.beta)[0]
             for c in range(2)]
        h = -sum(float((np.exp(ls) * ls).sum()) for ls in g) / len(H)
        assert h == pytest.approx(fraction * math.log(3), rel=1e-7)


def test_well_separated_partition_matches_numpy_kmeans():
    H, y, hidden, W = clustered(5, C=3, S=4)
    m = fit(H, y, 4, W, seed=123)
    a = m.assign(H, y)
    rng = np.random.default_rng(0)
    for c in range(3):
        X = ref.null_space_rows(H[y == c], m.means[c], W)
        part, _ = ref.kmeans(X, 4, rng)
        table = np.zeros((4, 4), int)
        np.add.at(table, (a[y == c], part), 1)
        assert (np.count_nonzero(table, axis=1) == 1).all() and (np.count_nonzero(table, axis=0) == 1).all()
        np.add.at(table := np.zeros((4, 4), int), (a[y == c], hidden[y == c]), 1)
        assert (np.count_nonzero(table, axis=1) == 1).all(), "the hidden clusters are recovered"


def test_deterministic_for_a_seed_whatever_the_batching():
    H, y, _, W = clustered(6, spread=2.0, noise=1.0)
    m1 = fit(H, y, 3, W, seed=7)
    assert fit(H, y, 3, W, seed=7).to_bytes() == m1.to_bytes()  # the same run: the same bytes
    # other batchings, another order in two merged shards: the sample (and so the k-means++
    # draws) is the same; only the streamed means' rounding differs
    perm = np.random.default_rng(1).permutation(len(H))
    a = lelp.SubspaceBuilder(12, 2, 3, seed=7, labeller="kmeans")
    b = lelp.SubspaceBuilder(12, 2, 3, seed=7)
    a.update(H[perm[:150]], y[perm[:150]])
    b.update(H[perm[150:]], y[perm[150:]])
    a.merge(b)
    a.set_head(W)
    for m in (fit(H, y, 3, W, seed=7, batches=(100, 101, 250)), a.fit()):
        np.testing.assert_array_equal(m.assign(H, y), m1.assign(H, y))
        np.testing.assert_allclose(m.components, m1.components, rtol=1e-9, atol=1e-12)
        assert m.beta == pytest.approx(m1.beta, rel=1e-9)


def test_format_version_and_flag():
    H, y, _, W = clustered(7)
    m = fit(H, y, 3, W)
    blob = m.to_bytes()
    version, flags = (int.from_bytes(blob[o:o + 4], "little") for o in (8, 20))
    assert version == 2 and flags & 16
    back = lelp.Model.from_bytes(blob)
    assert back.labeller == "kmeans" and back.to_bytes() == blob
    Z = np.zeros((len(H), 2), np.float32)
    np.testing.assert_array_equal(back.targets(H, logits=Z), m.targets(H, logits=Z))
    # a projection model is still written in the version-1 layout, byte for byte the old format
    p = lelp.SubspaceBuilder(12, 2, 3)
    p.update(H, y)
    pb = p.fit().to_bytes()
    assert int.from_bytes(pb[8:12], "little") == 1 and not int.from_bytes(pb[20:24], "little") & 16
    # the k-means flag in a version-1 buffer is refused (fix the CRC so the flag check is what fails)
    import zlib
    bad = bytearray(pb)
    bad[20] |= 16
    n = len(bad) - 4
    bad[n:] = zlib.crc32(bytes(bad[:n])).to_bytes(4, "little")
    with pytest.raises(lelp.FormatError):
        lelp.Model.from_bytes(bytes(bad))


def test_errors_and_defaults():
    H, y, _, W = clustered(8)
    assert lelp.SubspaceBuilder(12, 2, 3).labeller == "projection"
    with pytest.raises(ValueError):
        lelp.SubspaceBuilder(12, 2, 3, labeller="spectral")
    with pytest.raises(lelp.InvalidArgumentError, match="BETA_SAMPLE"):
        fit(H, y, 3, W, beta_sample=0)
    # fewer sample rows in a class than S (the PCA needs S + 1 distinct rows, so a class
    # kept whole always has enough; a sample of 2 rows per class does not)
    with pytest.raises(lelp.TooFewSamplesError, match="fewer than S = 3 distinct rows"):
        fit(H, y, 3, W, beta_sample=2)
    m = fit(H, y, 3, W, beta_sample=3)
    assert m.labeller == "kmeans"
