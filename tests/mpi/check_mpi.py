#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make check-mpi: examples/mpi_fit under mpirun -np 1, 2, 4 must give the
single-process result: builder statistics (counts, means, co-moments) to
1e-10 relative -- also against NumPy on the raw data --, the same components
(same sign rule) and targets to 1e-6; also when a rank gets no rows and when
a class is absent on some ranks.

Usage: check_mpi.py MPI_FIT [LELP_CLI]
"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

MPI_FIT = sys.argv[1]
LELP_CLI = sys.argv[2] if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else None
MPIRUN = ["mpirun", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def arrays(raw, specs):
    """payload arrays of a liblelp buffer (docs/format.md): specs = [(dtype, count)]"""
    off = struct.unpack_from("<I", raw, 12)[0]
    out = []
    for dt, count in specs:
        off = (off + 63) // 64 * 64
        out.append(np.frombuffer(raw, dt, count, off))
        off += 8 * count
    return out


def read_state(path):
    raw = open(path, "rb").read()
    d, C, S = struct.unpack_from("<qqq", raw, 32)
    solver = struct.unpack_from("<q", raw, 80)[0]
    assert solver == 0, "exact states only"
    tri = d * (d + 1) // 2
    counts, means, packed = arrays(raw, [("<i8", C), ("<f8", C * d), ("<f8", C * tri)])
    M = np.zeros((C, d, d))
    for c in range(C):
        k = 0
        for j in range(d):
            M[c, j:, j] = packed[c * tri + k:c * tri + k + d - j]
            k += d - j
        M[c] = M[c] + np.tril(M[c], -1).T
    return counts, means.reshape(C, d), M


def read_model(path):
    raw = open(path, "rb").read()
    d, C, S = struct.unpack_from("<qqq", raw, 32)
    beta = struct.unpack_from("<d", raw, 72)[0]
    counts, means, eig, ratio, U, b = arrays(raw, [("<i8", C), ("<f8", C * d), ("<f8", C * S), ("<f8", C * S),
                                                  ("<f8", C * S * d), ("<f8", C * S)])
    return {"U": U.reshape(C, S, d), "b": b.reshape(C, S), "beta": beta, "C": C, "S": S}


def targets(m, H, Z, tau=2.0):
    f = (np.einsum("csd,nd->ncs", m["U"], H.astype(np.float64)) - m["b"][None]) / m["beta"]
    f -= f.max(axis=2, keepdims=True)
    ls = f - np.log(np.exp(f).sum(axis=2, keepdims=True))
    z = Z.astype(np.float64) / tau
    z -= z.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.exp(lp[:, :, None] + ls).reshape(len(H), -1)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
    return r.returncode


def case(tmp, name, H, y, W, S, nps):
    hp, yp, wp = (os.path.join(tmp, f"{name}_{x}.npy") for x in ("H", "y", "W"))
    np.save(hp, H)
    np.save(yp, y)
    flags = ["--embeddings", hp, "--labels", yp, "--subclasses", str(S), "--seed", "3", "--batch", "64"]
    if W is not None:
        np.save(wp, W)
        flags += ["--head", wp]
    single = os.path.join(tmp, f"{name}_single")
    check(run([MPI_FIT] + flags + ["-o", single + ".lelp", "--state-out", single + ".lelpb"]) == 0,
          f"{name}: single-process fit")
    c0, mu0, M0 = read_state(single + ".lelpb")
    m0 = read_model(single + ".lelp")
    # independent: NumPy on the raw data
    C = m0["C"]
    mu_np = np.array([H[y == c].astype(np.float64).mean(0) for c in range(C)])
    M_np = np.array([(lambda X: (X - X.mean(0)).T @ (X - X.mean(0)))(H[y == c].astype(np.float64)) for c in range(C)])
    check(rel(mu0, mu_np) < 1e-10 and rel(M0, M_np) < 1e-10, f"{name}: single-process statistics = NumPy")
    if LELP_CLI:
        cli = os.path.join(tmp, f"{name}_cli.lelp")
        args = [LELP_CLI, "fit"] + flags + ["-o", cli]
        check(run(args) == 0, f"{name}: lelp fit")
        mc = read_model(cli)
        check(np.max(np.abs(mc["U"] - m0["U"])) < 1e-9, f"{name}: lelp fit = single-process mpi_fit")
    Z = np.random.default_rng(1).normal(size=(len(H), C)).astype(np.float32)
    T0 = targets(m0, H, Z)
    for p in nps:
        out = os.path.join(tmp, f"{name}_np{p}")
        ok = run(MPIRUN + ["-np", str(p), MPI_FIT] + flags + ["-o", out + ".lelp", "--state-out", out + ".lelpb"]) == 0
        check(ok, f"{name}: mpirun -np {p}")
        if not ok:
            continue
        c1, mu1, M1 = read_state(out + ".lelpb")
        m1 = read_model(out + ".lelp")
        check(np.array_equal(c1, c0), f"{name} -np {p}: counts equal")
        check(rel(mu1, mu0) < 1e-10, f"{name} -np {p}: means within 1e-10 ({rel(mu1, mu0):.1e})")
        check(rel(M1, M0) < 1e-10, f"{name} -np {p}: co-moments within 1e-10 ({rel(M1, M0):.1e})")
        check(np.max(np.abs(m1["U"] - m0["U"])) < 1e-8, f"{name} -np {p}: components equal (same sign rule)")
        dt = float(np.max(np.abs(targets(m1, H, Z) - T0)))
        check(dt < 1e-6, f"{name} -np {p}: targets within 1e-6 ({dt:.1e})")


def main():
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        # class 2 only in the first 300 rows: absent on ranks 2 and 3 of 4
        n, d = 1000, 12
        y = np.where(np.arange(n) < 300, rng.integers(0, 3, n), rng.integers(0, 2, n)).astype(np.int32)
        H = (rng.normal(size=(n, d)) * np.linspace(2, 0.5, d) + y[:, None] * 1.5 + 10).astype(np.float32)
        W = rng.normal(size=(3, d)).astype(np.float32)
        case(tmp, "absent_class", H, y, W, 3, [1, 2, 4])
        # three rows on four ranks: rank 0 gets none
        H2 = np.array([[1, 2], [2, 5], [0, 1]], np.float32)
        case(tmp, "empty_rank", H2, np.zeros(3, np.int64), None, 1, [4])
    print(f"check_mpi: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
