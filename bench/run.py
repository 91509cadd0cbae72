#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make bench: liblelp against the peer a user would pick, side by side in one run.

Every step runs at one thread and at all threads (THREADS, default: every
core), liblelp's default route and, where it has one, its tuned route, next to
the peer (NumPy / scikit-learn for fitting, PyTorch CPU for the loss) at the
same thread counts, and next to the step's bound where one is measured. The
arrays are generated and seeded (low-rank-plus-noise classes, float32).
liblelp's C steps run in bench_core (a child process, so its peak memory is its
own); the peers run here. Each figure is the median of REPS runs (default 3)
after a warm-up; wall-clock time, except the loss (one thread, microseconds per
call), which both sides time in CPU time of the calling thread.

Writes bench/results.json (one row per step, route and case; bench/report.py
turns it into the table of docs/performance.md) and prints the rows as it goes.
Environment: REPS, THREADS, BENCH_QUICK=1 (small sizes, for a smoke run),
BENCH_ONLY=fit (or a comma list of fit, gram, targets, assign, loss, memory:
only those steps, written to bench/results-<steps>.json so a subset never
overwrites a full run's bench/results.json).
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

THREADS = int(os.environ.get("THREADS", os.cpu_count() or 1))
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread variables)

REPS = int(os.environ.get("REPS", "3"))
# targets and assign take ~25 ms a call: more interleaved pairs cost little
# and keep one stray time slice of another process out of their medians
PAIR_REPS = max(REPS, 15)
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(ROOT, "build", "bench", "bench_core")
STEPS = ("fit", "gram", "targets", "assign", "loss", "memory")

FIT_SIZE = (100_000, 1024, 2, 8) if not QUICK else (8_000, 256, 2, 8)
GRAM_SIZE = (2_000, 4096, 2, 8) if not QUICK else (400, 1024, 2, 8)
TARGET_SIZE = (100_000, 1024, 2, 8) if not QUICK else (8_000, 256, 2, 8)
LARGE_D = (3000, 16384, 2, 8) if not QUICK else (600, 4096, 2, 8)
LOSS_SIZES = [(256, 2, 8), (4096, 2, 8)]
TUNED_ELL = 12


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


def numpy_targets(H, Z, U, b, beta, tau, C, S):
    F = (H @ U.T - b) / beta  # U: (C*S, d) float32
    F = F.reshape(len(H), C, S).astype(np.float64)
    F -= F.max(axis=2, keepdims=True)
    logsm = F - np.log(np.exp(F).sum(axis=2, keepdims=True))
    z = Z.astype(np.float64) / tau
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.exp(logp[:, :, None] + logsm).reshape(len(H), C * S).astype(np.float32)



def threads(n):
    """NumPy's / scikit-learn's BLAS at n threads for a `with` block"""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n)


def core(*args, blas=None):
    """one bench_core figure (its JSON line); blas: the child's BLAS threads"""
    env = dict(os.environ)
    if blas is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            env[var] = str(blas)
    out = subprocess.run([CORE, *map(str, args)], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(results, step, case, route, unit="s", **kw):
    """one table row: lib_1/lib_all (liblelp at one / all threads), peer_1/peer_all,
    bound_1/bound_all, each optional; prints it"""
    r = {"step": step, "case": case, "route": route, "unit": unit, **kw}
    results["rows"].append(r)
    figs = " ".join(f"{k}={v:.4g}" for k, v in kw.items() if isinstance(v, float))
    print(f"{step} | {case} | {route}: {figs}", flush=True)
    return r


def both(fn):
    """fn(n) at one thread and at THREADS threads"""
    one = fn(1)
    return one, (fn(THREADS) if THREADS > 1 else one)


def paired(fig):
    """(one thread, THREADS threads) from one bench_core figure that timed
    both interleaved in one process (its time_pair): on a shared machine a
    speed-up from two separate processes carries the load's drift between
    them"""
    return {"seconds": fig["one_seconds"]}, fig


def write_data(tmp, name, *arrays):
    paths = []
    for k, a in enumerate(arrays):
        p = os.path.join(tmp, f"{name}{k}.bin")
        a.tofile(p)
        paths.append(p)
    return paths


def bench_fit(results, tmp):
    """exact fit (float64 and float32 products), its streaming part, and the
    sketch at the default l and at l = 16: one builder on one thread, and
    THREADS builders on THREADS threads merged (the host's parallel route,
    docs/api.md "Using every core"); NumPy / randomized PCA at 1 and THREADS
    BLAS threads; the dsyrk / ssyrk bound of the co-moment products."""
    N, d, C, S = FIT_SIZE
    H, y, _ = make_data(N, d, C)
    hp, yp = write_data(tmp, "fit", H, y)
    case = f"N={N} d={d} C={C} S={S}"

    def fit(n, solver=0, ell=0, precision=0, model="-"):
        return core("fit", N, d, C, S, REPS, hp, yp, solver, ell, model, precision, 1, n, blas=n)

    ex = both(lambda n: fit(n))
    f32 = both(lambda n: fit(n, precision=1))
    bound = both(lambda n: core("syrk", N, d, REPS, blas=n))
    with threads(1):
        np1 = median_time(lambda: numpy_fit(H, y, C, S))
    with threads(THREADS):
        npa = median_time(lambda: numpy_fit(H, y, C, S))
    row(results, "exact fit", case, "default (float64)", lib_1=ex[0]["seconds"], lib_all=ex[1]["seconds"],
        peer="NumPy cov + eigh", peer_1=np1, peer_all=npa,
        bound="dsyrk", bound_1=bound[0]["dsyrk_seconds"], bound_all=bound[1]["dsyrk_seconds"])
    results["model"] = {"N": N, "d": d, "threads": THREADS, "stream_1_s": ex[0]["seconds"] - ex[0]["fit_only_seconds"],
                        "stream_all_s": ex[1]["seconds"] - ex[1]["fit_only_seconds"],
                        "merge_s": ex[1]["merge_seconds"] / max(1, THREADS - 1), "eig_s": ex[1]["fit_only_seconds"]}
    row(results, "exact fit, streaming part", case, "default (float64)",
        lib_1=ex[0]["seconds"] - ex[0]["fit_only_seconds"], lib_all=ex[1]["seconds"] - ex[1]["fit_only_seconds"],
        note="the updates (and, at all threads, the merge) without the eigensolve")
    row(results, "float32 products", case, "tuned (LELP_PRECISION_FLOAT32)", lib_1=f32[0]["seconds"],
        lib_all=f32[1]["seconds"], peer="NumPy cov + eigh", peer_1=np1, peer_all=npa,
        bound="ssyrk", bound_1=bound[0]["ssyrk_seconds"], bound_all=bound[1]["ssyrk_seconds"])
    exact_v, exact_l = numpy_fit(H, y, C, S, with_values=True)
    with threads(1):
        rnd1 = median_time(lambda: sklearn_fit(H, y, C, S, "randomized"))
    with threads(THREADS):
        rnda = median_time(lambda: sklearn_fit(H, y, C, S, "randomized"))
        rnd = sklearn_fit(H, y, C, S, "randomized")
    ang_rnd = max(max_angle_deg(rnd[c].components_.T, exact_v[c]) for c in range(C))
    for ell, route in ((0, "default (l = automatic)"), (TUNED_ELL, f"tuned (l = {TUNED_ELL})")):
        mp = os.path.join(tmp, f"sketch{ell}.lelp")
        sk = both(lambda n: fit(n, solver=1, ell=ell, model=mp))
        U, lam = read_model(mp)  # the THREADS-thread (merged) fit's model
        ang = max(max_angle_deg(U[c].T, exact_v[c]) for c in range(C))
        err = max(float(np.max(np.abs(lam[c] - exact_l[c]) / exact_l[c])) for c in range(C))
        row(results, "sketch", case, route, lib_1=sk[0]["seconds"], lib_all=sk[1]["seconds"],
            peer="scikit-learn randomized PCA", peer_1=rnd1, peer_all=rnda,
            note=f"largest angle to the exact subspace {ang:.2g} deg (peer {ang_rnd:.2g}), "
                 f"eigenvalues {100 * err:.2g} % low")
    # the way a user calls it: the Python binding with default settings, all rows in one update
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
    import lelp
    for solver, peer, p1, pa in (("exact", "NumPy cov + eigh", np1, npa),
                                 ("sketch", "scikit-learn randomized PCA", rnd1, rnda)):
        with threads(THREADS):
            t = median_time(lambda: lelp.SubspaceBuilder(d, C, S, solver=solver).update(H, y).fit())
        row(results, "exact fit" if solver == "exact" else "sketch", case, "default, Python binding",
            lib_all=t, peer=peer, peer_1=p1, peer_all=pa,
            note="SubspaceBuilder(d, C, S, solver=...).update(H, y).fit() with the binding's own default threading")
    results["peak"] = {"exact_kb": ex[1]["maxrss_kb"], "exact_1_kb": ex[0]["maxrss_kb"], "case": case}
    load = f"import numpy as np; H=np.fromfile('{hp}',np.float32).reshape({N},{d}); y=np.fromfile('{yp}',np.int32)\n"
    results["peak"]["numpy_kb"] = peer_rss(load + "import sys; sys.path.insert(0, '" + os.path.dirname(__file__) + "')\n"
                                           "from run import numpy_fit; numpy_fit(H, y, %d, %d)\n"
                                           "print([l.split()[1] for l in open('/proc/self/status') "
                                           "if l.startswith('VmHWM')][0])" % (C, S))


def bench_gram(results, tmp):
    """Classes with fewer rows than d/2: the exact solver's n x n Gram form (the
    default) against NumPy's Gram-form eigh of the centred rows."""
    N, d, C, S = GRAM_SIZE
    H, y, _ = make_data(N, d, C, seed=3)
    hp, yp = write_data(tmp, "gram", H, y)
    gr = both(lambda n: core("fit", N, d, C, S, REPS, hp, yp, 0, 0, "-", 0, 1, n, blas=n))

    def numpy_gram():
        out = []
        for c in range(C):
            X = H[y == c].astype(np.float64)
            X -= X.mean(axis=0)
            w, Y = np.linalg.eigh(X @ X.T)
            out.append((X.T @ Y[:, ::-1][:, :S]) / np.sqrt(w[::-1][:S]))
        return out

    with threads(1):
        t1 = median_time(numpy_gram)
    with threads(THREADS):
        ta = median_time(numpy_gram)
    row(results, "Gram form", f"N={N} d={d} C={C} S={S}", "default (rows kept)", lib_1=gr[0]["seconds"],
        lib_all=gr[1]["seconds"], peer="NumPy Gram eigh", peer_1=t1, peer_all=ta)


def model_arrays(path, C, S, d):
    """U (C*S, d) float32, b (C*S) float32 and beta of a saved model (docs/format.md)"""
    import struct
    raw = open(path, "rb").read()
    hlen = struct.unpack_from("<I", raw, 12)[0]
    beta = struct.unpack_from("<d", raw, 72)[0]
    off = hlen
    out = []
    for count, dtype in ((C, "<i8"), (C * d, "<f8"), (C * S, "<f8"), (C * S, "<f8"), (C * S * d, "<f8"), (C * S, "<f8")):
        off = (off + 63) // 64 * 64
        out.append(np.frombuffer(raw, dtype, count, off))
        off += out[-1].nbytes
    return out[4].reshape(C * S, d).astype(np.float32), out[5].astype(np.float32), beta


def bench_targets(results, tmp, assign=False):
    """targets for all rows in one call (or the hard assignment), one thread,
    and THREADS threads sharing the rows (timed interleaved, rep by rep); NumPy at 1 and THREADS BLAS threads;
    the bound: one memcpy of H (one thread / THREADS threads)."""
    N, d, C, S = TARGET_SIZE
    H, y, Z = make_data(N, d, C, seed=1)
    hp, yp, zp = write_data(tmp, "tg", H, y, Z)
    mp = os.path.join(tmp, "tg.lelp")
    core("targets", N, d, C, S, 1, hp, yp, zp, mp)
    U, b, beta = model_arrays(mp, C, S, d)
    if assign:
        lib = paired(core("assign", N, d, C, S, PAIR_REPS, hp, yp, THREADS, blas=1))
        peer_fn = lambda: numpy_assign(H, y, U, b, C, S)  # noqa: E731
        step, peer = "assign", "NumPy (H U^T, argmax)"
    else:
        lib = paired(core("targets", N, d, C, S, PAIR_REPS, hp, yp, zp, "-", THREADS, blas=1))
        peer_fn = lambda: numpy_targets(H, Z, U, b, beta, 2.0, C, S)  # noqa: E731
        step, peer = "targets", "NumPy"
    with threads(1):
        p1 = median_time(peer_fn)
    with threads(THREADS):
        pa = median_time(peer_fn)
    copy = both(lambda n: core("copy", N * d * 4, REPS, n))
    results.setdefault("model", {}).update({f"{step}_1_s": lib[0]["seconds"], f"{step}_all_s": lib[1]["seconds"],
                                            "copy_1_s": copy[0]["seconds"], "copy_all_s": copy[1]["seconds"],
                                            "copy_bytes": N * d * 4})
    row(results, step, f"N={N} d={d} C={C} S={S}", "one call / rows shared by threads", lib_1=lib[0]["seconds"],
        lib_all=lib[1]["seconds"], peer=peer, peer_1=p1, peer_all=pa,
        bound="memcpy of H", bound_1=copy[0]["seconds"], bound_all=copy[1]["seconds"])


def numpy_assign(H, y, U, b, C, S):
    F = (H @ U.T - b).reshape(len(H), C, S)
    return F[np.arange(len(H)), y].argmax(axis=1)


def torch_loss_time(torch, u, t, alpha, y, C, S, inner):
    ut = torch.from_numpy(u.copy()).requires_grad_(True)
    tt, yt = torch.from_numpy(t), torch.from_numpy(y.astype(np.int64))
    n = len(u)

    def call():
        for _ in range(inner):
            ut.grad = None
            logq = torch.log_softmax(ut / 2.0, dim=1)
            val = (1 - alpha) * 4.0 * torch.nn.functional.kl_div(logq, tt, reduction="batchmean")
            if alpha > 0:  # -log of the label's class mass: logsumexp over its S logits minus over all
                lse = torch.logsumexp(ut, dim=1)
                lse_y = torch.logsumexp(ut.view(n, C, S)[torch.arange(n), yt], dim=1)
                val = val + alpha * (lse - lse_y).mean()
            val.backward()
    return cpu_median(call) / inner


def cpu_median(fn, reps=REPS):
    """median CPU time of this thread (the loss's clock, as bench_core's)"""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return statistics.median(times)


def bench_loss(results):
    """the loss and its gradient from C and through the Python binding, against
    PyTorch's log_softmax + kl_div (+ the label term) forward and backward; its
    bound: the library's vector exp and log over the same values (bench_core)."""
    import torch
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    os.environ.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
    import lelp
    for n, C, S in LOSS_SIZES:
        K = C * S
        rng = np.random.default_rng(2)
        u = rng.standard_normal((n, K)).astype(np.float32)
        t = rng.random((n, K)).astype(np.float32)
        t /= t.sum(axis=1, keepdims=True)
        y = (np.arange(n) % C).astype(np.int32)
        inner = max(1, 20000 // n)
        for alpha in (0.0, 0.5):
            c_fig = core("loss", n, C, S, REPS, alpha)
            loss = lelp.Loss(num_classes=C, subclasses=S, tau=2.0, alpha=alpha, reduction="mean")
            g = np.empty_like(u)

            def call():
                for _ in range(inner):
                    loss(u, t, labels=y, out=g) if alpha > 0 else loss(u, t, out=g)
            py = cpu_median(call) / inner
            torch.set_num_threads(1)  # one call of this size is one thread's work (bench_core's too)
            tt = torch_loss_time(torch, u, t, alpha, y, C, S, inner)
            case = f"n={n} C*S={K} alpha={alpha:g}"
            kw = dict(peer="PyTorch CPU, 1 thread", peer_1=tt)
            row(results, "loss (C)", case, "one call", unit="us", lib_1=c_fig["seconds"], bound="vector exp/log",
                bound_1=c_fig["bound_seconds"], note=f"{c_fig['allocs_per_call']:g} allocations per call", **kw)
            row(results, "loss (Python)", case, "one call, out=", unit="us", lib_1=py, **kw)


def bench_memory(results):
    """peak memory: the exact fit against NumPy's (from bench_fit), and a
    sketch fit at large d streamed from generated batches (the exact
    co-moments alone would need C d^2 doubles)."""
    N, d, C, S = LARGE_D
    st = core("stream", N, d, C, S, 1, 0)
    pk = results.get("peak")
    if pk:
        row(results, "peak memory", pk["case"], "exact fit, all threads", unit="MiB", lib_all=pk["exact_kb"] / 1024,
            lib_1=pk["exact_1_kb"] / 1024, peer="NumPy cov + eigh", peer_all=pk["numpy_kb"] / 1024)
    row(results, "peak memory", f"N={N} d={d} C={C} S={S}", "sketch, streamed", unit="MiB",
        lib_1=st["maxrss_kb"] / 1024, bound="exact co-moments", bound_1=C * d * d * 8 / 2**20,
        note=f"fit in {st['seconds']:.1f} s")


def git_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except OSError:
        return "unknown"


def main():
    if not os.path.exists(CORE):
        sys.exit(f"bench: {CORE} missing; run 'make bench'")
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    unknown = only - set(STEPS)
    if unknown:
        sys.exit(f"bench: BENCH_ONLY names unknown steps {sorted(unknown)}; known: {', '.join(STEPS)}")
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    results = {"machine": {"cpu": cpu, "cores": os.cpu_count(), "threads": THREADS,
                           "python": platform.python_version(), "numpy": np.__version__},
               "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "reps": REPS, "quick": QUICK, "load_before": os.getloadavg()[0],
               "command": "make bench" + (f" BENCH_ONLY={','.join(sorted(only))}" if only else ""), "rows": []}
    print(f"bench: {cpu}, {THREADS} threads, median of {REPS} after a warm-up, load {os.getloadavg()[0]:.2f}")
    want = lambda step: not only or step in only  # noqa: E731
    name = "results-" + "-".join(sorted(only)) + ".json" if only else "results.json"
    path = os.path.join(ROOT, "bench", name)

    def save(final=False):
        """after every step, to <name>.tmp (an interrupted run keeps what it
        measured); renamed to <name> at the end"""
        results["load_after"] = os.getloadavg()[0]
        with open(path + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        if final:
            os.replace(path + ".tmp", path)

    with tempfile.TemporaryDirectory() as tmp:
        for step, fn in (("fit", lambda: bench_fit(results, tmp)), ("gram", lambda: bench_gram(results, tmp)),
                         ("targets", lambda: bench_targets(results, tmp)),
                         ("assign", lambda: bench_targets(results, tmp, assign=True)),
                         ("loss", lambda: bench_loss(results)), ("memory", lambda: bench_memory(results))):
            if want(step) or (step == "fit" and want("memory")):  # the memory row needs the fit's figures
                fn()
                save()
    save(final=True)
    print(f"bench: wrote bench/{name}")


if __name__ == "__main__":
    main()
