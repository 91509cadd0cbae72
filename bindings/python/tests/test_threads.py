# SPDX-License-Identifier: MIT
"""Every core from Python (issue 25, item 1): SubspaceBuilder.update,
Model.targets/assign/project shard large batches over Python threads, one
BLAS thread each, merging in a fixed order -- bit-identical for a thread
count, equal to threads=1 within tolerance, errors from any shard raised with
their own class and message, nothing half-applied."""
import numpy as np
import pytest

import lelp
from _helpers import spy  # noqa: E402
from lelp import _threads

ROWS = _threads.MIN_ROWS_PER_THREAD


def data(n, d=12, C=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n).astype(np.int32)
    scale = np.linspace(3, 0.3, d)
    H = (rng.normal(size=(n, d)) * scale + y[:, None] * 2).astype(np.float32)
    Z = rng.normal(size=(n, C)).astype(np.float32)
    return H, y, Z


def addr(a):
    return a.__array_interface__["data"][0]


def sign_fixed(V):
    """V with each direction's largest-magnitude entry made positive (compares
    directions up to sign, whatever the library's sign rule)."""
    return V * np.sign(np.take_along_axis(V, np.argmax(np.abs(V), -1)[..., None], -1))


def test_ranges_cover_the_rows_in_order():
    assert _threads.ranges(10, 4) == [(0, 10)]  # too few rows: one shard
    r = _threads.ranges(3 * ROWS + 5, 8)
    assert len(r) == 3 and r[0][0] == 0 and r[-1][1] == 3 * ROWS + 5
    assert all(a[1] == b[0] for a, b in zip(r, r[1:]))
    assert _threads.resolve(None) == lelp.cpu_count() >= 1
    with pytest.raises(ValueError, match="threads must be >= 1"):
        _threads.resolve(0)
    with pytest.raises(TypeError, match="threads must be an integer"):
        _threads.resolve(1.5)


@pytest.mark.parametrize("solver", ["exact", "sketch"])
def test_sharded_update_is_reproducible_and_equals_one_thread(monkeypatch, solver):
    n = 2 * ROWS + 777
    H, y, _ = data(n)
    opts = dict(dim=12, num_classes=3, subclasses=3, seed=5, solver=solver)
    one = lelp.SubspaceBuilder(**opts).update(H, y, threads=1)
    calls = spy(monkeypatch, "lelp_builder_update")
    merges = spy(monkeypatch, "lelp_builder_merge")
    two = lelp.SubspaceBuilder(**opts).update(H, y, threads=2)
    # two shards, each a slice of the caller's buffer, on builders of their own,
    # merged in order; the fresh builder takes the first shard's handle
    assert len(calls) == 2 and len(merges) == 1
    assert sorted(c[1] for c in calls) == [addr(H), addr(H) + (n // 2) * 12 * 4]
    again = lelp.SubspaceBuilder(**opts).update(H, y, threads=2)
    assert two.to_bytes() == again.to_bytes()  # the same bits every run
    # the same bits as merging both shards into an empty builder
    half = n // 2
    parts = [lelp.SubspaceBuilder(**opts).update(H[a:b], y[a:b], threads=1) for a, b in ((0, half), (half, n))]
    merged = lelp.SubspaceBuilder(**opts)
    for p in parts:
        merged.merge(p)
    assert merged.to_bytes() == two.to_bytes()
    assert two.gram_form  # the caller's setting, not the shards'
    # a builder that already holds rows merges every shard into itself
    merges.clear()
    three = lelp.SubspaceBuilder(**opts).update(H[:5], y[:5], threads=1).update(H, y, threads=2)
    assert len(merges) == 2 and [three.count(c) for c in range(3)] == (np.bincount(y) + np.bincount(y[:5], minlength=3)).tolist()
    # and so does one with a head (the shards have none): the head stays
    merges.clear()
    W = np.random.default_rng(1).normal(size=(3, 12)).astype(np.float32)
    four = lelp.SubspaceBuilder(**opts).set_head(W).update(H, y, threads=2)
    assert len(merges) == 2 and four.fit().head_rank == 3
    assert [two.count(c) for c in range(3)] == [one.count(c) for c in range(3)] == np.bincount(y).tolist()
    m1, m2 = one.fit(), two.fit()
    assert np.array_equal(m2.components, again.fit().components)
    if solver == "exact":
        np.testing.assert_allclose(m2.means, m1.means, rtol=0, atol=1e-10)
        np.testing.assert_allclose(m2.eigenvalues, m1.eigenvalues, rtol=1e-10)
        np.testing.assert_allclose(sign_fixed(m2.components), sign_fixed(m1.components), atol=1e-8)
        assert abs(m2.beta - m1.beta) <= 1e-9 * m1.beta
    else:  # Frequent Directions: merged sketches keep the sketch's bound, not the bits
        np.testing.assert_allclose(m2.means, m1.means, rtol=0, atol=1e-10)
        np.testing.assert_allclose(m2.eigenvalues, m1.eigenvalues, rtol=0.05)


def test_row_calls_are_reproducible_and_equal_one_thread(monkeypatch):
    n = 2 * ROWS + 333
    H, y, Z = data(n)
    m = lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=4, seed=2).update(H, y, threads=1).fit()
    calls = spy(monkeypatch, "lelp_model_targets_from_logits")
    T2 = m.targets(H, logits=Z, tau=2.0, threads=2)
    assert len(calls) == 2 and sorted(c[6] for c in calls) == [addr(T2), addr(T2) + (n // 2) * 12 * 4]
    assert np.array_equal(T2, m.targets(H, logits=Z, tau=2.0, threads=2))
    np.testing.assert_allclose(T2, m.targets(H, logits=Z, tau=2.0, threads=1), rtol=0, atol=2e-6)
    L2 = m.targets(H, labels=y, smoothing=0.1, threads=2)
    np.testing.assert_allclose(L2, m.targets(H, labels=y, smoothing=0.1, threads=1), rtol=0, atol=2e-6)
    P1, P2 = m.project(H, threads=1), m.project(H, threads=2)
    assert np.array_equal(P2, m.project(H, threads=2))
    np.testing.assert_allclose(P2, P1, rtol=1e-5, atol=1e-5 * np.abs(P1).max())
    A1, A2 = m.assign(H, y, threads=1), m.assign(H, y, threads=2)
    assert np.array_equal(A2, m.assign(H, y, threads=2))
    # a row whose two best subclasses tie to rounding may differ; nothing else
    assert (A1 != A2).mean() < 1e-3
    # the model's setting is the default of its calls
    m.threads = 1
    calls.clear()
    m.targets(H, logits=Z)
    assert len(calls) == 1


def test_an_error_in_any_shard_is_raised_and_nothing_is_applied():
    n = 2 * ROWS + 10
    H, y, Z = data(n)
    b = lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=3).update(H[:100], y[:100], threads=1)
    before = b.to_bytes()
    bad = H.copy()
    bad[n - 3, 4] = np.nan  # in the last shard, run on a worker thread
    with pytest.raises(lelp.NonFiniteError, match="row"):
        b.update(bad, y, threads=2)
    yb = y.copy()
    yb[n - 1] = 7
    with pytest.raises(lelp.LabelRangeError):
        b.update(H, yb, threads=2)
    with pytest.raises(lelp.ShapeMismatchError):
        b.update(np.zeros((n, 11), np.float32), y, threads=2)
    assert b.to_bytes() == before
    m = lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=3).update(H, y).fit()
    with pytest.raises(lelp.NonFiniteError):
        m.targets(bad, logits=Z, threads=2)
    with pytest.raises(lelp.LabelRangeError):
        m.assign(H, yb, threads=2)


@pytest.fixture
def blas_at_two():
    """ONE_BLAS_THREAD with OpenBLAS set to 2 threads for the test (restored after)."""
    one = _threads.ONE_BLAS_THREAD
    if not one.available:
        pytest.skip("the loaded BLAS has no openblas_set_num_threads (documented: set OPENBLAS_NUM_THREADS=1)")
    saved = one._get()
    one._set(2)
    try:
        yield one
    finally:
        one._set(saved)


def test_blas_is_held_at_one_thread_while_shards_run_and_restored(monkeypatch, blas_at_two):
    one = blas_at_two
    seen = []
    orig = lelp._L.lelp_model_project

    def wrapper(*args):
        seen.append(one._get())
        return orig(*args)
    n = 2 * ROWS
    H, y, _ = data(n)
    m = lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=3).update(H, y).fit()
    monkeypatch.setattr(lelp._L, "lelp_model_project", wrapper)
    m.project(H, threads=2)
    assert seen == [1, 1] and one._get() == 2
    seen.clear()
    m.project(H, threads=1)  # one call: the BLAS setting is left alone
    assert seen == [2]


def test_sketch_updates_and_merges_hold_blas_at_one_thread(monkeypatch, blas_at_two):
    # the sketch's BLAS calls are 2l x d shrinks, slower on OpenBLAS threads:
    # one thread through its updates (threads=1 too) and the shards' merges;
    # the exact solver's single-call update keeps the caller's setting
    one = blas_at_two
    seen = []
    for name in ("lelp_builder_update", "lelp_builder_merge"):
        orig = getattr(lelp._L, name)

        def wrapper(*args, _orig=orig, _name=name):
            seen.append((_name, one._get()))
            return _orig(*args)
        monkeypatch.setattr(lelp._L, name, wrapper)
    H, y, _ = data(2 * ROWS)
    lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=3, solver="sketch").update(H, y, threads=1)
    assert seen == [("lelp_builder_update", 1)] and one._get() == 2
    seen.clear()
    lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=3, solver="sketch").update(H, y, threads=2)
    assert sorted(seen) == [("lelp_builder_merge", 1)] + [("lelp_builder_update", 1)] * 2
    assert one._get() == 2
    seen.clear()
    lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=3).update(H, y, threads=1)
    assert seen == [("lelp_builder_update", 2)]


def test_sharding_copies_no_rows():
    # the shards are views of the caller's batch: NumPy allocations (which
    # tracemalloc sees) during a sharded call are the output alone
    import tracemalloc
    n = 2 * ROWS + 100
    H, y, Z = data(n)
    m = lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=4).update(H, y, threads=1).fit()
    m.targets(H, logits=Z, threads=2)  # warm-up (thread pool machinery, ctypes caches)
    tracemalloc.start()
    try:
        T = m.targets(H, logits=Z, threads=2)
        _, peak = tracemalloc.get_traced_memory()
        assert peak < T.nbytes + 256 * 1024, (peak, T.nbytes, H.nbytes)
        del T
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        lelp.SubspaceBuilder(dim=12, num_classes=3, subclasses=4).update(H, y, threads=2)
        _, peak = tracemalloc.get_traced_memory()
        assert peak - before < 256 * 1024 < H.nbytes, peak - before
    finally:
        tracemalloc.stop()


def test_shards_are_capped_by_the_memory_of_the_batch(monkeypatch):
    # each shard's builder holds C*d^2 doubles (exact solver): a batch is not
    # sharded into more states than its own bytes pay for (n >= 2*C*d per shard)
    d, C = 512, 4
    n = 2 * ROWS + 100                     # 8292 rows < 2 * (2*C*d) = 8192 * 2
    rng = np.random.default_rng(0)
    H = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, C, n).astype(np.int32)
    b = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=2)
    assert b._shards_memory_allows(n) == 2 and b._shards_memory_allows(n - 200) == 1
    calls = spy(monkeypatch, "lelp_builder_update")
    b.update(H[:n - 200], y[:n - 200], threads=2)
    assert len(calls) == 1                 # one shard: 4 * 512^2 doubles > the batch
    calls.clear()
    lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=2, solver="sketch").update(H, y, threads=2)
    assert len(calls) == 2                 # the sketch's state is small: sharded
