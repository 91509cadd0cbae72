# SPDX-License-Identifier: MIT
"""lelp.dask (issue 24, item 5): the fit from a dask.array on a LocalCluster
of 2 worker processes on loopback equals the one-process fit (statistics to
1e-10, components to 1e-8 up to sign), a chunk without one of the classes
included; targets as a dask array; errors raised on the worker come back as
their LelpError class. Skipped, with the reason shown, without
python3-dask / python3-distributed."""
import numpy as np
import pytest

import lelp

dask = pytest.importorskip("dask", reason="python3-dask not installed: lelp.dask untested")
da = pytest.importorskip("dask.array", reason="dask.array unavailable: lelp.dask untested")
distributed = pytest.importorskip("distributed", reason="python3-distributed not installed: lelp.dask untested")
import lelp.dask as ld  # noqa: E402

N, D, C, S, CHUNK = 3000, 10, 3, 3, 500


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, protocol="tcp")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def data(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N).astype(np.int32)
    y[CHUNK:2 * CHUNK][y[CHUNK:2 * CHUNK] == 2] = 0  # the second chunk holds no row of class 2
    H = (rng.normal(size=(N, D)) * np.linspace(3, 0.5, D) + y[:, None] * 1.5).astype(np.float32)
    Z = rng.normal(size=(N, C)).astype(np.float32)
    W = rng.normal(size=(C, D)).astype(np.float32)
    return H, y, Z, W


def sign_fixed(V):
    return V * np.sign(np.take_along_axis(V, np.argmax(np.abs(V), -1)[..., None], -1))


def test_fit_on_two_worker_processes_equals_the_one_process_fit(client):
    H, y, Z, W = data()
    assert 2 not in y[CHUNK:2 * CHUNK] and all(w.startswith("tcp://127.0.0.1:") for w in client.scheduler_info()["workers"])
    Hd, yd = da.from_array(H, chunks=(CHUNK, D)), da.from_array(y, chunks=CHUNK)
    with distributed.get_task_stream(client) as ts:
        m = ld.fit(Hd, yd, num_classes=C, subclasses=S, seed=7, head=W)
    ran = [(t["key"], t["worker"]) for t in ts.data]
    chunks = [w for k, w in ran if "_chunk_state" in str(k)]
    assert len(chunks) == N // CHUNK and len({w for _, w in ran}) == 2  # both worker processes took part
    assert sum("_merge_states" in str(k) for k, _ in ran) == N // CHUNK - 1
    ref = lelp.SubspaceBuilder(dim=D, num_classes=C, subclasses=S, seed=7, threads=1).update(H, y).set_head(W).fit()
    np.testing.assert_allclose(m.means, ref.means, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(m.eigenvalues, ref.eigenvalues, rtol=1e-10)
    np.testing.assert_allclose(m.explained_variance_ratio, ref.explained_variance_ratio, rtol=1e-10)
    np.testing.assert_allclose(m.offsets, ref.offsets, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(sign_fixed(m.components), sign_fixed(ref.components), atol=1e-8)
    assert abs(m.beta - ref.beta) <= 1e-10 * ref.beta and m.head_rank == ref.head_rank > 0
    # the same chunks give the same bits
    assert ld.fit(Hd, yd, num_classes=C, subclasses=S, seed=7, head=W).to_bytes() == m.to_bytes()


def test_targets_is_a_dask_array_equal_to_the_model_call(client):
    H, y, Z, W = data(1)
    m = lelp.SubspaceBuilder(dim=D, num_classes=C, subclasses=S, seed=2).update(H, y).fit()
    Hd = da.from_array(H, chunks=(CHUNK, 5))  # column chunks are joined
    T = ld.targets(m, Hd, logits=da.from_array(Z, chunks=(700, C)), tau=2.0)
    assert isinstance(T, da.Array) and T.shape == (N, C * S) and T.dtype == np.float32
    assert T.chunks[0] == Hd.chunks[0]
    np.testing.assert_allclose(T.compute(), m.targets(H, logits=Z, tau=2.0, threads=1), rtol=0, atol=1e-6)
    L = ld.targets(m, Hd, labels=y, smoothing=0.1).compute()
    np.testing.assert_allclose(L, m.targets(H, labels=y, smoothing=0.1, threads=1), rtol=0, atol=1e-6)


def test_errors_come_back_with_their_class(client):
    H, y, Z, W = data(2)
    bad = y.copy()
    bad[2 * CHUNK + 3] = 9
    with pytest.raises(lelp.LabelRangeError):
        ld.fit(da.from_array(H, chunks=(CHUNK, D)), da.from_array(bad, chunks=CHUNK), num_classes=C, subclasses=S)
    with pytest.raises(TypeError, match="subclasses="):
        ld.fit(da.from_array(H, chunks=(CHUNK, D)), y, num_classes=C)
    with pytest.raises(ValueError, match="solver"):
        ld.fit(da.from_array(H, chunks=(CHUNK, D)), y, num_classes=C, subclasses=S, solver="qr")
    m = lelp.SubspaceBuilder(dim=D, num_classes=C, subclasses=S).update(H, y).fit()
    with pytest.raises(ValueError, match="exactly one"):
        ld.targets(m, H)
    with pytest.raises(ValueError, match="dimension 1 must be 10"):
        ld.targets(m, H[:, :4], logits=Z)
