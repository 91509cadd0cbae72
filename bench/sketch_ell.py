#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The sketch solver's size/accuracy trade-off (docs/performance.md, "What
would move each step"): for several sketch sizes l, the fit time through the
Python binding and the captured variance of its S directions,

    captured = min over classes of  tr(U^T Sigma U) / (sum of the top S eigenvalues of Sigma)

(1 = the exact top-S subspace), on data sets with different spectra:
  fmnist-pixels   Fashion-MNIST training images (784-d, /255), C = 2 (labels < 5 / >= 5)
  fmnist-teacher  the 256-d ReLU layer of a 784-256-10 MLP trained 2 epochs (torch), C = 2
  lowrank         bench/run.py's low-rank-plus-noise classes, d = 1024
  power-p         d = 1024, eigenvalues i^-p (p = 0.5, 1, 2) in a random basis
  flat            d = 1024, isotropic: every subspace captures the same variance

    bench/sketch_ell.py [S l1 l2 ...]      (default 8 16 24 32 48)

Prints, per data set and l, captured variance / largest relative eigenvalue
error (fit seconds), and the same for scikit-learn's randomized PCA.
"""
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (sets the BLAS thread variables first)
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(run.ROOT, "bindings", "python"))
os.environ.setdefault("LELP_LIBRARY", os.path.join(run.ROOT, "build", "liblelp.so.0"))
import lelp  # noqa: E402

FASHION = os.environ.get("FASHION_DIR", "/usr/share/datasets/fashion-mnist")


def idx(path):
    with gzip.open(path) as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fmnist():
    X = idx(os.path.join(FASHION, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    lab = idx(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    return X, lab


def teacher_embedding(X, lab):
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(lab)
    for _ in range(2):
        for b in torch.randperm(len(X)).split(256):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xt[b]), yt[b]).backward()
            opt.step()
    with torch.no_grad():
        return net[1](net[0](Xt)).numpy().astype(np.float32)


def spectrum(N, d, p, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scale = np.arange(1, d + 1, dtype=np.float64) ** (-p / 2)
    y = rng.integers(0, 2, N).astype(np.int32)
    H = ((rng.standard_normal((N, d)) * scale) @ Q.T).astype(np.float32)
    return H, y


def exact(H, y, C, S):
    """per class: the covariance and its top-S eigenvalues (descending)"""
    out = []
    for c in range(C):
        cov = np.cov(H[y == c].astype(np.float64), rowvar=False)
        out.append((cov, np.linalg.eigvalsh(cov)[::-1][:S]))
    return out


def captured(ex, comps):
    """the smallest over classes of tr(U^T Sigma U) / (sum of the top S eigenvalues)"""
    return min(float(np.trace(U @ cov @ U.T) / top.sum()) for (cov, top), U in zip(ex, comps))


def eig_err(ex, vals):
    """the largest relative error of the S eigenvalues over classes"""
    return max(float(np.max(np.abs(v - top) / top)) for (_, top), v in zip(ex, vals))


def main():
    args = [int(a) for a in sys.argv[1:]] or [8, 16, 24, 32, 48]
    S, ells = args[0], args[1:]
    X, lab = fmnist()
    sets = [("fmnist-pixels", X, (lab >= 5).astype(np.int32)),
            ("fmnist-teacher", teacher_embedding(X, lab), (lab >= 5).astype(np.int32))]
    H, y, _ = run.make_data(100_000, 1024, 2)
    sets.append(("lowrank", H, y))
    for p in (0.5, 1.0, 2.0):
        sets.append((f"power-{p:g}", *spectrum(20_000, 1024, p, 1)))
    sets.append(("flat", *spectrum(20_000, 1024, 0.0, 2)))
    from sklearn.decomposition import PCA
    print("captured variance / largest eigenvalue error (fit seconds)")
    for name, H, y in sets:
        ex = exact(H, y, 2, S)
        line = f"{name:15s} N={len(H)} d={H.shape[1]}:"
        for ell in ells:
            b = lelp.SubspaceBuilder(H.shape[1], 2, S, solver="sketch", sketch_size=ell, rotate=False)
            t0 = time.perf_counter()
            m = b.update(H, y).fit()
            t = time.perf_counter() - t0
            line += f"  l={ell}: {captured(ex, m.components):.4f}/{eig_err(ex, m.eigenvalues):.3f} ({t:.2f}s)"
        t0 = time.perf_counter()
        rnd = [PCA(n_components=S, svd_solver="randomized", random_state=0).fit(H[y == c]) for c in range(2)]
        t = time.perf_counter() - t0
        line += (f"  randomized PCA: {captured(ex, [p.components_ for p in rnd]):.4f}/"
                 f"{eig_err(ex, [p.explained_variance_ for p in rnd]):.3f} ({t:.2f}s)")
        print(line, flush=True)


if __name__ == "__main__":
    main()
