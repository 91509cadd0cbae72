#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench: liblelp against the peer a user would pick, side by side in one run.

Every figure is the median of REPS runs (default 5) after a warm-up, on the
same generated arrays (seeded low-rank-plus-noise spectrum per class, float32).
liblelp's C steps run in bench_core (a child process, so its ru_maxrss is its
own); the peers run here with the same BLAS/torch thread count.

Prints one line per figure and writes bench/results.json.
Environment: REPS, THREADS (default: all cores), BENCH_QUICK=1 (small sizes),
BENCH_FIT=first (skip the d=4096 fit case, whose NumPy/scikit-learn peers take
minutes per repeat on 2 cores), BENCH_ONLY=loss (or a comma list of fit, gram,
targets, large_d, loss: only those steps, written to bench/results-<steps>.json
so a subset never overwrites a full run's bench/results.json).
"""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

THREADS = int(os.environ.get("THREADS", os.cpu_count() or 1))
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread variables)

REPS = int(os.environ.get("REPS", "5"))
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "build", "bench", "bench_core")

FIT_SIZES = [(100_000, 1024, 2, 8), (20_000, 4096, 5, 4)]
TARGET_SIZE = (100_000, 1024, 2, 8)
LOSS_SIZES = [(256, 2, 8), (4096, 2, 8)]
if os.environ.get("BENCH_FIT") == "first":  # only the (N=100 000, d=1024) fit case
    FIT_SIZES = FIT_SIZES[:1]
if QUICK:
    FIT_SIZES = [(8_000, 256, 2, 8)]
    TARGET_SIZE = (8_000, 256, 2, 8)


def median_time(fn, reps=REPS):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_data(N, d, C, seed=0):
    """Low-rank-plus-noise classes: a few strong directions per class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N).astype(np.int32)
    H = np.empty((N, d), np.float32)
    rank = 16
    for c in range(C):
        idx = np.flatnonzero(y == c)
        basis = rng.standard_normal((rank, d)).astype(np.float32) / np.sqrt(d)
        scales = (np.geomspace(20.0, 2.0, rank)).astype(np.float32)
        coef = rng.standard_normal((idx.size, rank)).astype(np.float32) * scales
        H[idx] = coef @ basis + 0.1 * rng.standard_normal((idx.size, d)).astype(np.float32) + c
    Z = rng.standard_normal((N, C)).astype(np.float32)
    return H, y, Z


def core(*args):
    out = subprocess.run([CORE, *map(str, args)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def numpy_fit(H, y, C, S, with_values=False):
    comps, vals = [], []
    for c in range(C):
        X = H[y == c]
        cov = np.cov(X, rowvar=False)  # float64
        w, V = np.linalg.eigh(cov)
        comps.append(V[:, ::-1][:, :S])
        vals.append(w[::-1][:S])
    return (comps, vals) if with_values else comps


def read_model(path):
    """components (C, S, d) and eigenvalues (C, S) of a saved liblelp model (docs/format.md)"""
    import struct
    raw = open(path, "rb").read()
    hlen = struct.unpack_from("<I", raw, 12)[0]
    d, C, S = struct.unpack_from("<qqq", raw, 32)
    off = hlen
    out = []
    for count in (C, C * d, C * S, C * S, C * S * d):
        off = (off + 63) // 64 * 64
        out.append(np.frombuffer(raw, "<f8" if len(out) else "<i8", count, off))
        off += 8 * count
    return out[4].reshape(C, S, d), out[2].reshape(C, S)


def max_angle_deg(A, B):
    """largest principal angle between span(A) and span(B), A and B d x S orthonormal"""
    s = np.linalg.svd(A.T @ B, compute_uv=False)
    return float(np.degrees(np.arccos(np.clip(s.min(), -1.0, 1.0))))


def sklearn_fit(H, y, C, S, solver):
    from sklearn.decomposition import PCA

    return [PCA(n_components=S, svd_solver=solver).fit(H[y == c]) for c in range(C)]


def peer_rss(code):
    """Peak RSS (KiB, VmHWM: this process image only) of a peer run in a fresh
    interpreter, for a fair memory figure."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def bench_fit(results, tmp):
    for N, d, C, S in FIT_SIZES:
        H, y, _ = make_data(N, d, C)
        hp, yp = os.path.join(tmp, "H.f32"), os.path.join(tmp, "y.i32")
        H.tofile(hp)
        y.tofile(yp)
        lib = core("fit", N, d, C, S, REPS, hp, yp)
        bound = core("syrk", N, d, REPS)
        t_np = median_time(lambda: numpy_fit(H, y, C, S))
        t_sk = median_time(lambda: sklearn_fit(H, y, C, S, "auto"))
        t_skf = median_time(lambda: sklearn_fit(H, y, C, S, "full"))
        load = f"import numpy as np; H=np.fromfile('{hp}',np.float32).reshape({N},{d}); y=np.fromfile('{yp}',np.int32)\n"
        rss_np = peer_rss(load + "import sys; sys.path.insert(0, '" + os.path.dirname(__file__) + "')\n"
                          "from run import numpy_fit; numpy_fit(H, y, %d, %d)\n"
                          "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])" % (C, S))
        entry = {
            "N": N, "d": d, "C": C, "S": S,
            "liblelp_s": lib["seconds"], "liblelp_fit_only_s": lib["fit_only_seconds"],
            "numpy_s": t_np, "sklearn_auto_s": t_sk, "sklearn_full_s": t_skf,
            "dsyrk_bound_s": bound["dsyrk_seconds"], "ssyrk_bound_s": bound["ssyrk_seconds"],
            "dsyrk_gflops": bound["dsyrk_gflops"],
            "liblelp_maxrss_kb": lib["maxrss_kb"], "numpy_maxrss_kb": rss_np,
        }
        results["fit"].append(entry)
        print(f"fit N={N} d={d} C={C} S={S}: liblelp {lib['seconds']:.3f}s | numpy {t_np:.3f}s "
              f"({t_np / lib['seconds']:.1f}x) | sklearn auto {t_sk:.3f}s ({t_sk / lib['seconds']:.1f}x) "
              f"| sklearn full {t_skf:.3f}s ({t_skf / lib['seconds']:.1f}x)")
        print(f"fit bound N={N} d={d}: dsyrk {bound['dsyrk_seconds']:.3f}s ({bound['dsyrk_gflops']:.0f} GFLOP/s); "
              f"liblelp = {lib['seconds'] / bound['dsyrk_seconds']:.2f}x the dsyrk bound")
        print(f"fit memory N={N} d={d}: liblelp {lib['maxrss_kb'] / 1024:.0f} MiB, numpy {rss_np / 1024:.0f} MiB")
        # the opt-in float32 block products (LELP_PRECISION_FLOAT32): time
        # against NumPy and the ssyrk bound, and how far it moves the fit
        p64, p32 = os.path.join(tmp, "p64.lelp"), os.path.join(tmp, "p32.lelp")
        core("fit", N, d, C, S, 1, hp, yp, 0, 0, p64, 0)
        f32 = core("fit", N, d, C, S, REPS, hp, yp, 0, 0, p32, 1)
        (U64, l64), (U32, l32) = read_model(p64), read_model(p32)
        ang32 = max(max_angle_deg(U32[c].T, U64[c].T) for c in range(C))
        err32 = max(float(np.max(np.abs(l32[c] - l64[c]) / l64[c])) for c in range(C))
        entry.update({"float32_products_s": f32["seconds"], "float32_products_max_angle_deg": ang32,
                      "float32_products_eig_rel_err": err32})
        print(f"fit float32 products N={N} d={d}: liblelp {f32['seconds']:.3f}s ({t_np / f32['seconds']:.1f}x numpy, "
              f"{f32['seconds'] / bound['ssyrk_seconds']:.2f}x the ssyrk bound); vs float64: angle {ang32:.1e} deg, "
              f"eigenvalues {err32:.1e}")
        # the streaming sketch solver against scikit-learn's randomized PCA:
        # time, largest principal angle to the exact subspace, eigenvalue error
        mp = os.path.join(tmp, "sketch.lelp")
        sk = core("fit", N, d, C, S, REPS, hp, yp, 1, 0, mp)
        exact_v, exact_l = numpy_fit(H, y, C, S, with_values=True)
        U, lam = read_model(mp)
        t_rnd = median_time(lambda: sklearn_fit(H, y, C, S, "randomized"))
        rnd = sklearn_fit(H, y, C, S, "randomized")
        ang_sk = max(max_angle_deg(U[c].T, exact_v[c]) for c in range(C))
        ang_rnd = max(max_angle_deg(rnd[c].components_.T, exact_v[c]) for c in range(C))
        lam_err = max(float(np.max(np.abs(lam[c] - exact_l[c]) / exact_l[c])) for c in range(C))
        entry.update({"sketch_s": sk["seconds"], "sketch_maxrss_kb": sk["maxrss_kb"], "sklearn_randomized_s": t_rnd,
                      "sketch_max_angle_deg": ang_sk, "randomized_max_angle_deg": ang_rnd,
                      "sketch_eig_rel_err": lam_err})
        print(f"fit sketch N={N} d={d}: liblelp sketch {sk['seconds']:.3f}s, {sk['maxrss_kb'] / 1024:.0f} MiB, "
              f"angle {ang_sk:.2f} deg, eigenvalue rel. err {lam_err:.2e} | sklearn randomized {t_rnd:.3f}s "
              f"({t_rnd / sk['seconds']:.1f}x), angle {ang_rnd:.2f} deg")
        if THREADS > 1:
            bench_sharded(entry, (N, d, C, S), hp, yp, tmp, (exact_v, exact_l), t_np, t_rnd, ang_rnd, bound)
        sys.stdout.flush()


def bench_sharded(entry, shape, hp, yp, tmp, exact, t_np, t_rnd, ang_rnd, bound):
    """The host's parallel route (docs/api.md, Threads): THREADS builders on
    THREADS threads, each streaming a contiguous share of the rows with one BLAS
    thread, merged into one and fitted -- what a user with THREADS cores does
    instead of one builder on a THREADS-thread BLAS. The peers keep THREADS BLAS
    threads. The sketch runs at its default size and at the smaller sizes 16
    and 24 (LELP_BUILDER_SKETCH_SIZE), each with its angle to the exact subspace."""
    N, d, C, S = shape
    exact_v, exact_l = exact
    ex = core("fit", N, d, C, S, REPS, hp, yp, 0, 0, "-", 0, 1, THREADS)
    f32 = core("fit", N, d, C, S, REPS, hp, yp, 0, 0, "-", 1, 1, THREADS)
    out = {"shards": THREADS, "exact_s": ex["seconds"], "float32_products_s": f32["seconds"], "sketch": []}
    print(f"fit sharded N={N} d={d}: {THREADS} builders on {THREADS} threads, merged: exact {ex['seconds']:.3f}s "
          f"({t_np / ex['seconds']:.1f}x numpy, {ex['seconds'] / bound['dsyrk_seconds']:.2f}x the {THREADS}-thread "
          f"dsyrk bound) | float32 products {f32['seconds']:.3f}s ({t_np / f32['seconds']:.1f}x numpy)")
    for ell in (0, 24, 16):
        mp = os.path.join(tmp, f"sharded{ell}.lelp")
        sk = core("fit", N, d, C, S, REPS, hp, yp, 1, ell, mp, 0, 1, THREADS)
        U, lam = read_model(mp)
        ang = max(max_angle_deg(U[c].T, exact_v[c]) for c in range(C))
        err = max(float(np.max(np.abs(lam[c] - exact_l[c]) / exact_l[c])) for c in range(C))
        out["sketch"].append({"ell": ell or "default", "seconds": sk["seconds"], "max_angle_deg": ang,
                              "eig_rel_err": err, "maxrss_kb": sk["maxrss_kb"]})
        print(f"fit sharded sketch N={N} d={d} ell={ell or 'default'}: {sk['seconds']:.3f}s "
              f"({t_rnd / sk['seconds']:.1f}x sklearn randomized), angle {ang:.4f} deg (randomized {ang_rnd:.4f}), "
              f"eigenvalue rel. err {err:.1e}")
    entry["sharded"] = out


def bench_large_d(results):
    """d = 16384: the exact solver would need C*d*d*8 = 4 GiB; the sketch streams."""
    N, d, C, S = (3000, 16384, 2, 8) if not QUICK else (600, 4096, 2, 8)
    st = core("stream", N, d, C, S, 1, 0)
    results["large_d"] = st
    print(f"large d: sketch fit of N={N}, d={d}, C={C}, S={S} in {st['seconds']:.2f}s, peak RSS "
          f"{st['maxrss_kb'] / 1024:.0f} MiB (exact co-moments alone: {C * d * d * 8 / 2**30:.1f} GiB)")


def bench_gram(results, tmp):
    """Classes with fewer rows than d/2: the exact solver's n x n Gram form (the
    default, LELP_BUILDER_GRAM_FORM = 1: rows kept, r x r Gram eigenproblem)
    against its d x d co-moment form (LELP_BUILDER_GRAM_FORM = 0: dsyrk per
    block, block Krylov eigensolver), and NumPy's Gram-form eigh of the centred
    rows (what faiss's PCA does for n < d)."""
    N, d, C, S = (2_000, 4096, 2, 8) if not QUICK else (400, 1024, 2, 8)
    H, y, _ = make_data(N, d, C, seed=3)
    hp, yp = os.path.join(tmp, "Hg.f32"), os.path.join(tmp, "yg.i32")
    H.tofile(hp)
    y.tofile(yp)
    ell = int(np.bincount(y).max())
    mp = os.path.join(tmp, "gram.lelp")
    ex = core("fit", N, d, C, S, REPS, hp, yp, 0, 0, "-", 0, 0)
    gr = core("fit", N, d, C, S, REPS, hp, yp, 0, 0, mp, 0, 1)

    def numpy_gram():
        out = []
        for c in range(C):
            X = H[y == c].astype(np.float64)
            X -= X.mean(axis=0)
            w, Y = np.linalg.eigh(X @ X.T)
            out.append((X.T @ Y[:, ::-1][:, :S]) / np.sqrt(w[::-1][:S]))
        return out

    t_np = median_time(numpy_gram)
    exact_v, _ = numpy_fit(H, y, C, S, with_values=True)
    U, _ = read_model(mp)
    ang = max(max_angle_deg(U[c].T, exact_v[c]) for c in range(C))
    results["gram"] = {"N": N, "d": d, "C": C, "S": S, "rows_per_class_max": ell, "exact_s": ex["seconds"],
                       "exact_fit_only_s": ex["fit_only_seconds"], "gram_s": gr["seconds"],
                       "gram_fit_only_s": gr["fit_only_seconds"], "numpy_gram_s": t_np, "gram_max_angle_deg": ang}
    print(f"gram N={N} d={d} C={C} S={S} (<= {ell} rows per class): exact, co-moment form {ex['seconds']:.3f}s "
          f"(eigensolve {ex['fit_only_seconds']:.3f}s) | exact, Gram form (default) {gr['seconds']:.3f}s, "
          f"angle {ang:.2e} deg | numpy Gram eigh {t_np:.3f}s")
    sys.stdout.flush()


def numpy_targets(H, Z, U, b, beta, tau, C, S):
    F = (H @ U.T - b) / beta  # U: (C*S, d) float32
    F = F.reshape(len(H), C, S).astype(np.float64)
    F -= F.max(axis=2, keepdims=True)
    logsm = F - np.log(np.exp(F).sum(axis=2, keepdims=True))
    z = Z.astype(np.float64) / tau
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.exp(logp[:, :, None] + logsm).reshape(len(H), C * S).astype(np.float32)


def bench_targets(results, tmp):
    N, d, C, S = TARGET_SIZE
    H, y, Z = make_data(N, d, C, seed=1)
    paths = [os.path.join(tmp, n) for n in ("Ht.f32", "yt.i32", "Zt.f32", "model.lelp")]
    H.tofile(paths[0])
    y.tofile(paths[1])
    Z.tofile(paths[2])
    lib = core("targets", N, d, C, S, REPS, *paths)
    # the peer gets the same subspaces, read straight from the saved model file
    raw = open(paths[3], "rb").read()
    import struct

    hlen, plen = struct.unpack_from("<I", raw, 12)[0], struct.unpack_from("<Q", raw, 24)[0]
    beta = struct.unpack_from("<d", raw, 72)[0]
    off = hlen
    def arr(count, dtype):
        nonlocal off
        off = (off + 63) // 64 * 64
        a = np.frombuffer(raw, dtype, count, off)
        off += a.nbytes
        return a
    arr(C, "<i8")
    arr(C * d, "<f8")
    arr(C * S, "<f8")
    arr(C * S, "<f8")
    U = arr(C * S * d, "<f8").reshape(C * S, d).astype(np.float32)
    b = arr(C * S, "<f8").astype(np.float32)
    t_np = median_time(lambda: numpy_targets(H, Z, U, b, beta, 2.0, C, S))
    copy = core("copy", 400_000_000, REPS)
    gbps = lib["input_bytes"] / lib["seconds"] * 1e-9
    results["targets"] = {"N": N, "d": d, "C": C, "S": S, "liblelp_s": lib["seconds"], "numpy_s": t_np,
                          "input_gbps": gbps, "copy_read_gbps": copy["read_gbps"]}
    print(f"targets N={N} d={d} C={C} S={S}: liblelp {lib['seconds']:.4f}s | numpy {t_np:.4f}s "
          f"({t_np / lib['seconds']:.1f}x)")
    print(f"targets bandwidth: {gbps:.2f} GB/s of H read = {100 * gbps / copy['read_gbps']:.0f}% of "
          f"a memcpy's read bandwidth ({copy['read_gbps']:.1f} GB/s)")
    if THREADS > 1:
        # the host's parallel route: THREADS threads share each call's rows on
        # the one (immutable, thread-safe) model, one BLAS thread each
        sh = core("targets", N, d, C, S, REPS, *paths[:3], "-", THREADS)
        sh_gbps = sh["input_bytes"] / sh["seconds"] * 1e-9
        results["targets"].update({"sharded_threads": THREADS, "sharded_s": sh["seconds"], "sharded_gbps": sh_gbps})
        print(f"targets sharded ({THREADS} threads share the rows): liblelp {sh['seconds']:.4f}s "
              f"({t_np / sh['seconds']:.1f}x numpy), {sh_gbps:.2f} GB/s = {100 * sh_gbps / copy['read_gbps']:.0f}% of "
              f"the memcpy read bandwidth")


def bench_loss(results):
    try:
        import torch
        torch.set_num_threads(THREADS)
    except ImportError:
        torch = None
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
    try:
        import lelp
    except Exception as e:  # the binding is optional for the C figure
        print(f"loss: Python binding unavailable ({e}); C figures only")
        lelp = None
    for n, C, S in LOSS_SIZES:
        K = C * S
        c_fig = core("loss", n, C, S, REPS)
        rng = np.random.default_rng(2)
        u = rng.standard_normal((n, K)).astype(np.float32)
        t = rng.random((n, K)).astype(np.float32)
        t /= t.sum(axis=1, keepdims=True)
        entry = {"n": n, "C": C, "S": S, "liblelp_c_s": c_fig["seconds"]}
        line = f"loss n={n} C*S={K}: liblelp C {c_fig['seconds'] * 1e6:.1f}us"
        inner = max(1, 20000 // n)
        if lelp is not None:
            loss = lelp.Loss(num_classes=C, subclasses=S, tau=2.0, alpha=0.0, reduction="mean")
            def call():
                for _ in range(inner):
                    loss(u, t)
            entry["liblelp_python_s"] = median_time(call) / inner
            line += f" | liblelp via Python {entry['liblelp_python_s'] * 1e6:.1f}us"
        if torch is not None:
            ut = torch.from_numpy(u.copy()).requires_grad_(True)
            tt = torch.from_numpy(t)
            def tcall():
                for _ in range(inner):
                    ut.grad = None
                    logq = torch.log_softmax(ut / 2.0, dim=1)
                    val = 4.0 * torch.nn.functional.kl_div(logq, tt, reduction="batchmean")
                    val.backward()
            entry["torch_s"] = median_time(tcall) / inner
            line += f" | torch {entry['torch_s'] * 1e6:.1f}us"
            if "liblelp_python_s" in entry:
                line += f" ({entry['torch_s'] / entry['liblelp_python_s']:.1f}x via Python"
                line += f", {entry['torch_s'] / c_fig['seconds']:.1f}x C)"
            if lelp is not None:
                # what a PyTorch training loop calls: lelp.torch.LELPLoss, an
                # autograd Function around the same C call, forward + backward
                import lelp.torch as lt
                crit = lt.LELPLoss(num_classes=C, subclasses=S, tau=2.0, alpha=0.0, reduction="mean")
                def lcall():
                    for _ in range(inner):
                        ut.grad = None
                        crit(ut, tt).backward()
                entry["liblelp_torch_s"] = median_time(lcall) / inner
                line += (f" | liblelp via lelp.torch {entry['liblelp_torch_s'] * 1e6:.1f}us "
                         f"({entry['torch_s'] / entry['liblelp_torch_s']:.1f}x)")
        results["loss"].append(entry)
        print(line)


def main():
    if not os.path.exists(CORE):
        sys.exit(f"bench: {CORE} missing; run 'make bench'")
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                           "threads": THREADS, "python": platform.python_version(),
                           "numpy": np.__version__},
               "date": time.strftime("%Y-%m-%d %H:%M:%S"), "reps": REPS, "fit": [], "loss": []}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                results["machine"]["cpu"] = line.split(":", 1)[1].strip()
                break
    print(f"bench: {results['machine']['cpu']}, {THREADS} threads, median of {REPS} after a warm-up")
    # BENCH_ONLY=loss (or a comma list of fit, gram, targets, large_d, loss)
    # runs a subset, written beside results.json, never over it
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    unknown = only - {"fit", "gram", "targets", "large_d", "loss"}
    if unknown:
        sys.exit(f"bench: BENCH_ONLY names unknown steps {sorted(unknown)}; "
                 "known: fit, gram, targets, large_d, loss")
    want = lambda step: not only or step in only  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        if want("fit"):
            bench_fit(results, tmp)
        if want("gram"):
            bench_gram(results, tmp)
        if want("targets"):
            bench_targets(results, tmp)
    if want("large_d"):
        bench_large_d(results)
    if want("loss"):
        bench_loss(results)
    name = "results-" + "-".join(sorted(only)) + ".json" if only else "results.json"
    with open(os.path.join(ROOT, "bench", name), "w") as f:
        json.dump(results, f, indent=2)
    print(f"bench: wrote bench/{name}")


if __name__ == "__main__":
    main()
