# SPDX-License-Identifier: MIT
"""Independent NumPy reference of liblelp's mathematics.

Written from ../shared/SPEC.md section 1 and docs/method.md only -- not from
the C sources -- so the known-answer tests compare two implementations.
Everything is float64 with log-space softmax. Runs with Debian's numpy.
"""
import math

import numpy as np

M64 = (1 << 64) - 1
EPS = 2.0 ** -52


# ---------------------------------------------------------------- PRNG (method.md s4)
def _splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def series_ln(x):
    """The library's own ln: frexp, series in s = (m-1)/(m+1)."""
    m, e = math.frexp(x)
    if m < 0.70710678118654752440:
        m = 2.0 * m
        e -= 1
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 27.0
    for k in range(12, -1, -1):
        p = p * s2 + 1.0 / float(2 * k + 1)
    return 2.0 * s * p + float(e) * 0.69314718055994530942


class Rng:
    def __init__(self, seed, cls, stream):
        x = (seed ^ (((cls + 1) * 0xD1B54A32D192ED03) & M64) ^ ((stream * 0x8CB92BA72F3D8DD7) & M64)) & M64
        self.s = []
        for _ in range(4):
            x, v = _splitmix64(x)
            self.s.append(v)
        self.spare = None

    def next(self):
        s = self.s
        result = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform(self):
        return (float(self.next() >> 11) + 0.5) * 2.0 ** -53

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        while True:
            v1 = 2.0 * self.uniform() - 1.0
            v2 = 2.0 * self.uniform() - 1.0
            q = v1 * v1 + v2 * v2
            if q >= 1.0 or q == 0.0:
                continue
            f = math.sqrt((-2.0 * series_ln(q)) / q)
            self.spare = v2 * f
            return v1 * f


def haar_rotation(seed, c, S):
    rng = Rng(seed, c, 0)
    G = np.array([[rng.normal() for _ in range(S)] for _ in range(S)])  # row-major fill
    Q, R = np.linalg.qr(G)
    return Q * np.sign(np.diag(R))[None, :]


# ---------------------------------------------------------------- fit (SPEC 1.1)
def head_basis(W):
    d, C = W.shape[1], W.shape[0]
    U, s, _ = np.linalg.svd(W.astype(np.float64).T, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((d, 0))
    r = int(np.sum(s > s[0] * max(C, d) * EPS))
    return U[:, :r]


def sign_rule(V):
    V = V.copy()
    for s in range(V.shape[1]):
        k = int(np.argmax(np.abs(V[:, s])))  # first index of the largest magnitude
        if V[k, s] < 0:
            V[:, s] = -V[:, s]
    return V


def softmax_entropy(x):
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    z = e.sum(axis=-1)
    h = np.log(z) - (e * (x - m)).sum(axis=-1) / z
    return np.maximum(h, 0.0)


def mean_entropy(g, w, beta):
    return float(np.sum(w * softmax_entropy(g / beta)))


def beta_solve(g, w, target, beta0):
    """Bracket by doubling/halving, then bisection on log beta to 1e-12."""
    lo = hi = beta0
    while mean_entropy(g, w, hi) < target:
        hi *= 2.0
    while mean_entropy(g, w, lo) > target:
        lo *= 0.5
    it = 0
    while hi / lo - 1.0 > 1e-12 and it < 200:
        mid = math.sqrt(lo * hi)
        if mean_entropy(g, w, mid) < target:
            lo = mid
        else:
            hi = mid
        it += 1
    return math.sqrt(lo * hi)


def data_beta(components, means, H, y, fraction):
    """SPEC 1.2's automatic beta: the mean within-class entropy of softmax_s(f)
    over the fitting data equals fraction * log S. (liblelp keeps a bounded
    sample of each class's rows for this; a class of at most 256 rows -- the
    smallest automatic sample -- is kept whole, so on such data the two agree.)"""
    C, S, d = components.shape
    if S == 1:
        return 1.0
    H = H.astype(np.float64)
    g = np.einsum("nsd,nd->ns", components[y], H - means[y])
    w = np.full(len(H), 1.0 / len(H))
    lmax = max(float(np.linalg.eigvalsh(np.cov((H[y == c] - means[c]) @ components[c].T, rowvar=False,
                                                ddof=1).reshape(S, S)).max()) for c in range(C))
    return beta_solve(g, w, fraction * math.log(S), math.sqrt(lmax))


def auto_beta(counts, eig, seed, rotate, fraction, K=4096):
    """The Gaussian model of each class's statistics: liblelp's automatic beta
    with LELP_BUILDER_BETA_SAMPLE = 0 (method.md s5)."""
    C, S = eig.shape
    if S == 1:
        return 1.0
    gs, ws = [], []
    N = float(np.sum(counts))
    for c in range(C):
        R = haar_rotation(seed, c, S) if rotate else np.eye(S)
        rng = Rng(seed, c, 1)
        xi = np.array([[rng.normal() for _ in range(S)] for _ in range(K)])
        xi *= np.sqrt(eig[c])[None, :]
        gs.append(xi @ R)  # g_s = sum_i R[i, s] xi_i
        ws.append(np.full(K, counts[c] / (N * K)))
    g, w = np.concatenate(gs), np.concatenate(ws)
    return beta_solve(g, w, fraction * math.log(S), math.sqrt(eig[:, 0].max()))


def fit(H, y, C, S, W=None, null_space=True, rotate=True, seed=0, beta=0.0, fraction=0.5):
    H = H.astype(np.float64)
    d = H.shape[1]
    Q = head_basis(W) if (W is not None and null_space) else np.zeros((d, 0))
    P = np.eye(d) - Q @ Q.T
    out = {"counts": [], "means": [], "eig": [], "ratio": [], "components": [], "offsets": []}
    for c in range(C):
        X = H[y == c]
        mu = X.mean(axis=0)
        Sigma = P @ np.cov(X, rowvar=False, ddof=1).reshape(d, d) @ P
        w, V = np.linalg.eigh(Sigma)
        order = np.argsort(-w, kind="stable")[:S]
        lam, V = w[order], sign_rule(V[:, order])
        U = V @ haar_rotation(seed, c, S) if rotate else V
        out["counts"].append(len(X))
        out["means"].append(mu)
        out["eig"].append(lam)
        out["ratio"].append(lam / np.trace(Sigma))
        out["components"].append(U.T)  # (S, d)
        out["offsets"].append(U.T @ mu)
    out = {k: np.array(v) for k, v in out.items()}
    out["head_rank"] = Q.shape[1]
    out["beta"] = beta if beta > 0 else data_beta(out["components"], out["means"], H, y, fraction)
    out["beta_gaussian"] = beta if beta > 0 else auto_beta(out["counts"], out["eig"], seed, rotate, fraction)
    return out


# ---------------------------------------------------------------- targets (SPEC 1.2)
def log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def project(model, H):
    U, b = model["components"], model["offsets"]  # (C, S, d), (C, S)
    f = np.einsum("csd,nd->ncs", U, H.astype(np.float64)) - b[None]
    return f / model["beta"]


def targets(model, H, logits=None, tau=1.0, labels=None, smoothing=0.0):
    f = project(model, H)
    n, C, S = f.shape
    if logits is not None:
        logp = log_softmax(logits.astype(np.float64) / tau)
    else:
        p = np.full((n, C), smoothing / C)
        p[np.arange(n), labels] += 1.0 - smoothing
        with np.errstate(divide="ignore"):
            logp = np.log(p)
    return np.exp(logp[:, :, None] + log_softmax(f, axis=2)).reshape(n, C * S)


def assign(model, H, labels):
    f = project(model, H)
    return np.argmax(f[np.arange(len(H)), labels], axis=1)


def _own_projection(model, H, labels):
    """beta * f_{y_i, .}(h_i): the unscaled projections of each row in its own class."""
    return project(model, H)[np.arange(len(H)), labels] * model["beta"]


def batch_mean_entropy(model, H, labels, beta):
    """Mean over the rows of the entropy of softmax_s(f_{y_i,s}) at temperature beta (nats)."""
    g = _own_projection(model, H, labels)
    return mean_entropy(g, np.full(len(H), 1.0 / len(H)), beta)


def estimate_beta(model, H, labels, fraction):
    """The beta at which batch_mean_entropy = fraction * log S (method.md s5: same bisection)."""
    S = model["components"].shape[1]
    g = _own_projection(model, H, labels)
    return beta_solve(g, np.full(len(H), 1.0 / len(H)), fraction * math.log(S), model["beta"])


# ---------------------------------------------------------------- loss (SPEC 1.3)
def loss(u, t, labels, weights, C, S, tau, alpha, reduction):
    u = u.astype(np.float64)
    n = u.shape[0]
    w = np.ones(n) if weights is None else weights.astype(np.float64)
    li = np.zeros(n)
    g = np.zeros_like(u)
    if alpha < 1:
        t = t.astype(np.float64)
        logq = log_softmax(u / tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1.0)) - logq), 0.0).sum(axis=1)
        li += (1 - alpha) * tau * tau * kl
        g += (1 - alpha) * tau * (np.exp(logq) - t)
    if alpha > 0:
        ls = log_softmax(u)
        cls = np.log(np.exp(ls.reshape(n, C, S)).sum(axis=2))
        li += alpha * -cls[np.arange(n), labels]
        gl = np.exp(ls)
        for i in range(n):
            blk = u[i].reshape(C, S)[labels[i]]
            gl[i, labels[i] * S:(labels[i] + 1) * S] -= np.exp(log_softmax(blk))
        g += alpha * gl
    norm = w.sum() if reduction == 0 else 1.0
    return float((w * li).sum() / norm), g * (w / norm)[:, None]


def predict_log_proba(u, C, S):
    ls = log_softmax(u.astype(np.float64))
    n = u.shape[0]
    m = ls.reshape(n, C, S)
    mx = m.max(axis=2, keepdims=True)
    return (mx + np.log(np.exp(m - mx).sum(axis=2, keepdims=True)))[:, :, 0]


def softmax_targets(z, tau):
    return np.exp(log_softmax(z.astype(np.float64) / tau))


# ---------------------------------------------------------------- k-means labeller (method.md s7)
def null_space_rows(H, mu, W=None):
    """x = P (h - mu) with P = I - Q Q^T, Q an orthonormal basis of W's row space."""
    X = H.astype(np.float64) - mu
    if W is None:
        return X
    Q = head_basis(W)
    return X - (X @ Q) @ Q.T


def kmeans_log_softmax(X, centroids, beta):
    """log softmax_s(-|x - m_s|^2 / beta) for rows X (n, d), centroids (S, d)."""
    D = ((X[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return log_softmax(-D / beta, axis=1), D


def kmeans_targets(H, means, centroids, beta, W=None, logits=None, tau=1.0):
    """t_{c,s} = softmax(z/tau)_c * softmax_s(-|P(h - mu_c) - m_{c,s}|^2 / beta), class-major (n, C*S)."""
    C, S, _ = centroids.shape
    logp = log_softmax(logits.astype(np.float64) / tau)
    out = np.empty((len(H), C, S))
    for c in range(C):
        ls, _ = kmeans_log_softmax(null_space_rows(H, means[c], W), centroids[c], beta)
        out[:, c, :] = np.exp(logp[:, c:c + 1] + ls)
    return out.reshape(len(H), C * S)


def kmeans_beta(H, y, means, centroids, fraction, W=None):
    """The automatic beta's rule on distances: mean over the rows (each 1/n; every class kept
    whole) of the entropy of softmax_s(-|x - m_s|^2 / beta) equals fraction * log S."""
    C, S, _ = centroids.shape
    g = np.empty((len(H), S))
    for c in range(C):
        X = null_space_rows(H[y == c], means[c], W)
        g[y == c] = -((X[:, None, :] - centroids[c][None]) ** 2).sum(axis=2)
    w = np.full(len(H), 1.0 / len(H))
    return beta_solve(g, w, fraction * math.log(S), float(np.mean(g.max(1) - g.min(1))))


def kmeans(X, k, rng, restarts=10, iters=300):
    """Plain NumPy k-means (k-means++ seeding from numpy's generator, Lloyd), best of
    `restarts` by inertia: an independent partition for well-separated data."""
    best = None
    for _ in range(restarts):
        cen = [X[rng.integers(len(X))]]
        for _ in range(1, k):
            D = np.min(((X[:, None, :] - np.array(cen)[None]) ** 2).sum(2), axis=1)
            cen.append(X[rng.choice(len(X), p=D / D.sum())])
        cen = np.array(cen)
        a = None
        for _ in range(iters):
            new = np.argmin(((X[:, None, :] - cen[None]) ** 2).sum(2), axis=1)
            if a is not None and np.array_equal(new, a):
                break
            a = new
            cen = np.array([X[a == s].mean(0) if np.any(a == s) else cen[s] for s in range(k)])
        inertia = float(((X - cen[a]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, a, cen)
    return best[1], best[2]
