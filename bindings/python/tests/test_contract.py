# SPDX-License-Identifier: MIT
"""The binding's contract: zero copy, one conversion, NumPy-style errors,
status codes -> exception classes, every exported function declared, and the
version check at load time."""
import ctypes
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import lelp
from _helpers import small_data  # noqa: E402
from lelp import _lib

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "..", "..", "include", "lelp.h")
PKG = os.path.normpath(os.path.join(HERE, ".."))


data = small_data


def model(S=2):
    H, y, Z = data()
    return lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=S, seed=1).update(H, y).fit(), H, y, Z


class Spy:
    """Records the arguments ctypes hands to one C function (then calls it)."""

    def __init__(self, monkeypatch, name):
        self.calls = []
        orig = getattr(lelp._L, name)

        def wrapper(*args):
            self.calls.append(args)
            return orig(*args)
        monkeypatch.setattr(lelp._L, name, wrapper)

    def ptr(self, call, i):
        a = self.calls[call][i]
        return a.value if isinstance(a, ctypes.c_void_p) else a


def addr(a):
    return a.__array_interface__["data"][0]


# ---- zero copy: the C side receives the caller's own buffer ---------------------------------
def test_inputs_reach_c_without_copy(monkeypatch):
    H, y, Z = data()
    big = np.ascontiguousarray(np.vstack([H, H]))
    view = big[10:250]          # a C-contiguous view into a larger buffer, at an offset
    yv = np.concatenate([y, y])[10:250]
    spy = Spy(monkeypatch, "lelp_builder_update")
    b = lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2)
    b.update(view, yv)
    assert spy.ptr(0, 1) == addr(view) == addr(big) + 10 * 6 * 4
    assert spy.ptr(0, 2) == addr(yv)
    assert (spy.ptr(0, 3), spy.ptr(0, 4)) == (240, 6)
    m = b.fit()
    spy = Spy(monkeypatch, "lelp_model_targets_from_logits")
    T = m.targets(H, logits=Z, tau=1.5)
    assert spy.ptr(0, 1) == addr(H) and spy.ptr(0, 2) == addr(Z) and spy.ptr(0, 6) == addr(T)
    spy = Spy(monkeypatch, "lelp_loss_compute")
    u = np.random.default_rng(0).normal(size=T.shape).astype(np.float32)
    w = np.ones(len(u), np.float32)
    value, grad = lelp.Loss(num_classes=2, subclasses=2, alpha=0.5)(u, T, labels=y, weights=w)
    assert [spy.ptr(0, i) for i in (1, 2, 3, 4)] == [addr(u), addr(T), addr(y), addr(w)]
    assert spy.ptr(0, 7) == addr(grad)
    spy = Spy(monkeypatch, "lelp_predict_log_proba")
    lelp.predict_log_proba(u, num_classes=2, subclasses=2)
    assert spy.ptr(0, 0) == addr(u)


def test_output_buffers_are_the_callers(monkeypatch):
    m, H, y, Z = model()
    out = np.full((len(H), 4), -1.0, np.float32)
    spy = Spy(monkeypatch, "lelp_model_targets_from_labels")
    T = m.targets(H, labels=y, smoothing=0.1, out=out)
    assert T is out and spy.ptr(0, 6) == addr(out)
    # the C library wrote the caller's buffer: rows are distributions now
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-6)
    g = np.full(out.shape, np.nan, np.float32)
    u = np.zeros(out.shape, np.float32)
    value, grad = lelp.Loss(num_classes=2, subclasses=2)(u, out, out=g)
    assert grad is g and np.isfinite(g).all()
    np.testing.assert_allclose(g, (np.full_like(u, 0.25) - out) / len(u), atol=1e-7)


def test_wrong_dtype_or_order_is_converted_once_with_equal_results(monkeypatch):
    m, H, y, Z = model()
    ref = m.targets(H, logits=Z)
    spy = Spy(monkeypatch, "lelp_model_targets_from_logits")
    for H2, Z2 in [(np.asfortranarray(H), Z), (H.astype(np.float64), Z.astype(np.float64)),
                   (H[::-1][::-1], Z), (H.tolist(), Z.tolist())]:
        T = m.targets(H2, logits=Z2)
        np.testing.assert_array_equal(T, ref)  # bit-identical: the same float32 values reach C
    # a strided (non-contiguous) array is not passed as is: C would read the wrong elements
    Hs = np.repeat(H, 2, axis=0)[::2]
    assert not Hs.flags.c_contiguous
    spy.calls.clear()
    np.testing.assert_array_equal(m.targets(Hs, logits=Z), ref)
    assert spy.ptr(0, 1) != addr(Hs)
    # int64 labels are converted to int32 once (the C API's label type)
    y64 = y.astype(np.int64)
    spy = Spy(monkeypatch, "lelp_model_assign")
    a = m.assign(H, y64)
    assert spy.ptr(0, 2) != addr(y64)
    np.testing.assert_array_equal(a, m.assign(H, y))


# ---- errors a NumPy user understands -----------------------------------------------------
def test_shape_errors_name_the_argument():
    m, H, y, Z = model()
    with pytest.raises(ValueError, match=r"H has shape \(300, 5\); dimension 1 must be 6"):
        m.targets(H[:, :5], logits=Z)
    with pytest.raises(ValueError, match=r"logits has shape \(300, 3\); dimension 1 must be 2"):
        m.targets(H, logits=np.zeros((300, 3), np.float32))
    with pytest.raises(ValueError, match=r"labels has shape \(299,\); dimension 0 must be 300"):
        m.targets(H, labels=y[:299])
    with pytest.raises(ValueError, match="exactly one of logits= or labels="):
        m.targets(H, logits=Z, labels=y)
    with pytest.raises(ValueError, match="exactly one of logits= or labels="):
        m.targets(H)
    with pytest.raises(ValueError, match="2-dimensional"):
        m.assign(H[0], y[:1])
    loss = lelp.Loss(num_classes=2, subclasses=2)
    u = np.zeros((5, 4), np.float32)
    with pytest.raises(ValueError, match=r"u has shape \(5, 3\); dimension 1 must be 4"):
        loss(u[:, :3], u)
    with pytest.raises(ValueError, match=r"T has shape \(4, 4\); dimension 0 must be 5"):
        loss(u, u[:4])
    with pytest.raises(ValueError, match=r"weights has shape \(4,\)"):
        loss(u, np.full((5, 4), 0.25, np.float32), weights=np.ones(4))
    with pytest.raises(ValueError, match="dimension 1 must be 6"):
        lelp.predict_log_proba(u, num_classes=3, subclasses=2)
    with pytest.raises(ValueError, match="reduction"):
        lelp.Loss(num_classes=2, reduction="avg")


def test_dtype_errors():
    m, H, y, Z = model()
    with pytest.raises(TypeError, match="real numeric"):
        m.targets(H.astype(np.complex64), logits=Z)
    with pytest.raises(TypeError, match="real numeric"):
        m.assign(H, np.array(["a"] * 300))
    with pytest.raises(TypeError, match="integer labels"):
        m.assign(H, y.astype(np.float32))
    with pytest.raises(ValueError, match="int32"):
        m.assign(H, np.full(300, 2**40, np.int64))


def test_output_buffer_errors():
    m, H, y, Z = model()
    with pytest.raises(ValueError, match="C-contiguous"):
        m.targets(H, logits=Z, out=np.asfortranarray(np.zeros((300, 4), np.float32)))
    with pytest.raises(ValueError, match="float32"):
        m.targets(H, logits=Z, out=np.zeros((300, 4), np.float64))
    with pytest.raises(ValueError, match=r"shape \(300, 4\)"):
        m.targets(H, logits=Z, out=np.zeros((300, 5), np.float32))
    ro = np.zeros((300, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        m.targets(H, logits=Z, out=ro)
    with pytest.raises(TypeError, match="ndarray"):
        m.targets(H, logits=Z, out=[[0.0] * 4] * 300)


def header_status_codes():
    text = open(HEADER).read()
    body = text[text.index("enum lelp_status_code"):]
    body = body[:body.index("};")]
    return dict((name, int(v)) for name, v in re.findall(r"(LELP_E_[A-Z_]+)\s*=\s*(-?\d+)", body))


def test_every_status_code_has_its_own_exception_class():
    codes = header_status_codes()
    assert len(codes) >= 20
    classes = {}
    for name, code in codes.items():
        cls = lelp._ERRORS[code]
        assert issubclass(cls, lelp.LelpError) and cls is not lelp.LelpError and cls.code == code
        assert getattr(lelp, cls.__name__) is cls
        classes[cls] = name
    assert len(classes) == len(codes)  # one class per code
    # an unknown code still raises the base class, with the library's text
    with pytest.raises(lelp.LelpError) as e:
        lelp._check(-12345)
    assert type(e.value) is lelp.LelpError and e.value.code == -12345


def test_errors_carry_the_library_message():
    b = lelp.SubspaceBuilder(dim=3, num_classes=2, subclasses=1)
    with pytest.raises(lelp.LabelRangeError) as e:
        b.update(np.zeros((4, 3), np.float32), [0, 1, 1, 9])
    assert e.value.code == -42 and "row 3" in str(e.value)
    assert lelp._L.lelp_last_error().decode() in str(e.value)
    b.update(np.array([[0, 0, 0], [1, 2, 3]], np.float32), [0, 0])
    with pytest.raises(lelp.TooFewSamplesError, match="class 1"):
        b.fit()
    with pytest.raises(lelp.LelpIOError):
        lelp.Model.load("/nonexistent/dir/m.lelp")
    with pytest.raises(lelp.ChecksumError):
        blob = bytearray(model()[0].to_bytes())
        blob[-10] ^= 0xFF
        lelp.Model.from_bytes(bytes(blob))


# ---- ABI ----------------------------------------------------------------------------------
def test_every_header_function_is_declared_with_types():
    names = re.findall(r"LELP_API[^;]*?\b(lelp_[a-z0-9_]+)\s*\(", open(HEADER).read())
    assert len(names) >= 60
    assert sorted(names) == sorted(_lib.SIGNATURES)
    for name in names:
        fn = getattr(lelp._L, name)
        restype, argtypes = _lib.SIGNATURES[name]
        assert fn.restype is restype and list(fn.argtypes) == list(argtypes), name


def test_version_check():
    assert lelp.version() == "%d.%d.%d" % _lib.check_version(lelp._L.lelp_version_number())
    _lib.check_version(100)   # 0.1.0
    _lib.check_version(199)   # 0.1.99
    for bad, text in [(200, "0.2.0"), (10100, "1.1.0"), (0, "0.0.0")]:
        with pytest.raises(ImportError, match=rf"liblelp {re.escape(text)}; this binding needs liblelp 0\.1\.x"):
            _lib.check_version(bad)


def test_load_refuses_another_version(monkeypatch):
    monkeypatch.setattr(_lib, "ABI_MINOR", 2)
    with pytest.raises(ImportError, match=r"is liblelp 0\.1\.\d+; this binding needs liblelp 0\.2\.x"):
        _lib.load()
    monkeypatch.setattr(_lib, "ABI_MAJOR", 1)
    with pytest.raises(ImportError, match=r"needs liblelp 1\.x"):
        _lib.load()


def run(code, **env):
    e = dict(os.environ, PYTHONPATH=PKG, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=120)


def test_lelp_library_variable_is_obeyed():
    r = run("import lelp", LELP_LIBRARY="/nonexistent/liblelp.so.0")
    assert r.returncode != 0 and "/nonexistent/liblelp.so.0" in r.stderr and "ImportError" in r.stderr
    r = run("import lelp; print(lelp._L.path)")
    assert r.returncode == 0 and r.stdout.strip() == os.environ.get("LELP_LIBRARY", r.stdout.strip())


def test_import_works_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, lelp\n"
            "l = lelp.Loss(num_classes=2)\n"
            "print(l(np.zeros((1, 2)), np.array([[0.5, 0.5]]), grad=False))\n"
            "try:\n    lelp.torch\nexcept ImportError as e:\n    print('refused:', e)\n")
    r = run(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "0.0"
    assert "refused: lelp.torch needs PyTorch" in r.stdout


def test_model_shared_by_threads():
    """The C rules allow one Model in many threads at once (ctypes drops the GIL)."""
    from concurrent.futures import ThreadPoolExecutor
    m, H, y, Z = model(S=3)
    want = m.targets(H, logits=Z, tau=2.0)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda _: m.targets(H, logits=Z, tau=2.0), range(16)))
    for g in got:
        np.testing.assert_array_equal(g, want)


def test_builders_on_threads_merge():
    """The all-cores route of docs/python.md: one SubspaceBuilder per thread on
    a share of the rows, merged; the same model as one pass (eigenvalues to
    1e-10), for both solvers, and the same bits run to run for the sketch."""
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(7)
    n, d, C, S = 3000, 20, 3, 3
    H = (rng.standard_normal((n, d)) * np.linspace(3.0, 0.1, d)).astype(np.float32)
    y = rng.integers(0, C, n).astype(np.int32)

    def sharded(solver, shards=3, size=0):
        def stream(k):
            b = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, solver=solver, sketch_size=size)
            lo, hi = n * k // shards, n * (k + 1) // shards
            for i in range(lo, hi, 128):
                b.update(H[i:min(i + 128, hi)], y[i:min(i + 128, hi)])
            return b
        with ThreadPoolExecutor(shards) as pool:
            parts = list(pool.map(stream, range(shards)))
        total = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, solver=solver, sketch_size=size)
        for p in parts:
            total.merge(p)
        return total

    one = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S)
    one.update(H, y)
    np.testing.assert_allclose(sharded("exact").fit().eigenvalues, one.fit().eigenvalues, rtol=1e-10)
    runs = [sharded("sketch", size=6).to_bytes() for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


# ---- issue 21: misaligned buffers and aliased outputs --------------------------------------
def misaligned(a):
    """A copy of `a` at an address one byte past an aligned one (C-contiguous,
    the right dtype, flags.aligned False): what np.frombuffer at an odd offset gives."""
    raw = bytearray(a.nbytes + 1)
    m = np.frombuffer(raw, a.dtype, a.size, offset=1).reshape(a.shape)
    m[...] = a
    return m


def test_misaligned_arrays_are_copied_to_aligned_buffers(monkeypatch):
    m, H, y, Z = model()
    Hm, ym, Zm = misaligned(H), misaligned(y), misaligned(Z)
    assert not Hm.flags.aligned and Hm.flags.c_contiguous and Hm.dtype == np.float32
    spy = Spy(monkeypatch, "lelp_model_assign")
    a = m.assign(Hm, ym)
    h_ptr, y_ptr = spy.ptr(0, 1), spy.ptr(0, 2)
    assert h_ptr % 4 == 0 and y_ptr % 4 == 0  # C never reads a float/int at an odd address
    assert np.array_equal(a, m.assign(H, y))
    spy = Spy(monkeypatch, "lelp_builder_update")
    lelp.SubspaceBuilder(dim=6, num_classes=2, subclasses=2).update(Hm, ym)
    assert spy.ptr(0, 1) % 4 == 0 and spy.ptr(0, 2) % 4 == 0
    np.testing.assert_array_equal(m.targets(Hm, logits=Zm), m.targets(H, logits=Z))
    with pytest.raises(ValueError, match="C-contiguous"):  # an out= is never silently replaced
        m.targets(H, logits=Z, out=misaligned(np.zeros((300, 4), np.float32)))


def test_outputs_aliasing_inputs_are_refused():
    # targets written into H (possible when d = C*S) were off by 0.86 and the
    # gradient written into u or T gave another loss, with a success status
    H, y, Z = data(d=4)
    m = lelp.SubspaceBuilder(dim=4, num_classes=2, subclasses=2, seed=1).update(H, y).fit()
    ref = m.targets(H, logits=Z)
    with pytest.raises(ValueError, match="out shares memory with H"):
        m.targets(H, logits=Z, out=H)
    with pytest.raises(ValueError, match="out shares memory with labels"):
        y4 = np.zeros((300, 4), np.int32)
        m.targets(H, labels=y4[:, 0].copy(), out=y4.view(np.float32))  # no alias: fine
        m.targets(H, labels=y4.reshape(-1)[:300], out=y4.view(np.float32))
    assert np.array_equal(m.targets(H, logits=Z), ref) and np.isfinite(H).all()
    loss = lelp.Loss(2, 2)
    u = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    T = ref.copy()
    v, g = loss(u, T)
    for name, buf in (("u", u), ("T", T)):
        with pytest.raises(ValueError, match=f"out shares memory with {name}"):
            loss(u, T, out=buf)
    big = np.zeros((600, 4), np.float32)
    big[:300] = u
    with pytest.raises(ValueError, match="out shares memory with u"):
        loss(big[:300], T, out=big[150:450])  # a partial overlap
    assert loss(big[:300], T, out=big[300:])[0] == v  # adjacent, disjoint: fine
