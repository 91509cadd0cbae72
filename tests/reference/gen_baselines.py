#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Known answers for the baselines and the embedding compressor, computed
with PyTorch autograd (float64) from the formulas in SPEC 1.3 / 2 and
docs/methods.md -- independently of the C code.

    /usr/bin/python3 tests/reference/gen_baselines.py [outdir]

Writes tests/fixtures/baseline_*.lfx (format: tests/reference/README.md).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import write_lfx  # noqa: E402

torch.set_default_dtype(torch.float64)


def dkd(u, t, y, tau, wt, wnt):
    """Decoupled KD per row (Zhao et al. 2022), teacher probabilities t."""
    n, C = u.shape
    q = torch.softmax(u / tau, dim=1)
    mask = torch.nn.functional.one_hot(torch.as_tensor(y, dtype=torch.long), C).bool()
    pt, qt = t[mask], q[mask]
    # b_nt is the sum of the non-target probabilities (DKD's definition); on
    # float32 targets it differs from 1 - p_t in the last bits
    pnt, qnt = (t * ~mask).sum(1), 1 - qt
    tckd = pt * torch.log(pt / qt) + pnt * torch.log(pnt / qnt)
    # non-target: softmax over the other classes
    big = torch.where(mask, torch.full_like(u, -1e30), u / tau)
    logqh = torch.log_softmax(big, dim=1)
    ph = torch.where(mask, torch.zeros_like(t), t / pnt[:, None])
    nckd = torch.where(ph > 0, ph * (torch.log(torch.where(ph > 0, ph, torch.ones_like(ph))) - logqh),
                       torch.zeros_like(ph)).sum(1)
    return tau * tau * (wt * tckd + wnt * nckd)


def ce_marginal(u, y, C, S):
    ls = torch.log_softmax(u, dim=1).reshape(u.shape[0], C, S)
    return -torch.logsumexp(ls, dim=2)[torch.arange(u.shape[0]), torch.as_tensor(y, dtype=torch.long)]


def subclass_aux(z, T):
    n, K = z.shape
    zh = (z - z.mean(1, keepdim=True)) / z.std(1, unbiased=False, keepdim=True)
    r = zh @ zh.T / (T * K)
    return torch.logsumexp(r, dim=1).mean() - 1.0 / T - np.log(n)


def dcor_loss(F, E):
    def centred(X):
        D = torch.cdist(X, X)
        return D - D.mean(0, keepdim=True) - D.mean(1, keepdim=True) + D.mean()
    A, B = centred(F), centred(E)
    return 1 - torch.sqrt((A * B).sum()) / ((A * A).sum() * (B * B).sum()) ** 0.25


def distance(kind, F, E):
    if kind == 0:
        return ((F - E) ** 2).sum(1).mean()
    if kind == 1:
        return (1 - (F * E).sum(1) / (F.norm(dim=1) * E.norm(dim=1))).mean()
    return dcor_loss(F, E)


def compressor_init(dt, k, C, seed):
    """The documented initialisation: A ~ N(0,1)/sqrt(dt) from stream (seed, 0, 2),
    W ~ N(0,1)/sqrt(k) from (seed, 1, 2), biases 0 (draws row-major)."""
    from lelp_ref import Rng
    r = Rng(seed, 0, 2)
    A = np.array([r.normal() for _ in range(k * dt)]).reshape(k, dt) / np.sqrt(dt)
    r = Rng(seed, 1, 2)
    W = np.array([r.normal() for _ in range(C * k)]).reshape(C, k) / np.sqrt(k)
    return A, np.zeros(k), W, np.zeros(C)


def compressor_case(rng, name, dt, k, C, seed, opt, lr, wd, mom, multilabel, steps, n):
    A, a, W, b = (torch.tensor(x, requires_grad=True) for x in compressor_init(dt, k, C, seed))
    params = [A, a, W, b]
    if opt == 0:
        o = torch.optim.SGD(params, lr=lr, momentum=mom, weight_decay=wd)
    else:
        o = torch.optim.Adam(params, lr=lr, weight_decay=wd)
    arrays = {"shape": np.array([dt, k, C, seed, opt, multilabel, steps, n], np.int64),
              "scalars": np.array([lr, wd, mom])}
    losses = []
    for s in range(steps):
        E = rng.normal(size=(n, dt)).astype(np.float32)
        Et = torch.tensor(E, dtype=torch.float64)
        logits = (Et @ A.T + a) @ W.T + b
        if multilabel:
            Y = (rng.random((n, C)) < 0.4).astype(np.float32)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(Y, dtype=torch.float64))
            arrays[f"Y{s}"] = Y
        else:
            y = rng.integers(0, C, n).astype(np.int32)
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y, dtype=torch.long))
            arrays[f"y{s}"] = y
        arrays[f"E{s}"] = E
        o.zero_grad()
        loss.backward()
        o.step()
        losses.append(loss.item())
    arrays["losses"] = np.array(losses)
    arrays["A"], arrays["a"], arrays["W"], arrays["b"] = (p.detach().numpy() for p in params)
    return arrays


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures")
    rng = np.random.default_rng(7)
    # ---- DKD, C = 4 and the C = 2 degeneracy; alpha mixes in the label CE
    for name, n, C, tau, wt, wnt, alpha, red in [("baseline_dkd", 12, 4, 2.0, 1.0, 8.0, 0.25, 0),
                                                 ("baseline_dkd_c2", 9, 2, 3.0, 1.5, 8.0, 0.0, 1)]:
        u = (rng.normal(size=(n, C)) * 2).astype(np.float32)
        z = (rng.normal(size=(n, C)) * 2).astype(np.float32)
        y = rng.integers(0, C, n).astype(np.int32)
        t = torch.softmax(torch.tensor(z, dtype=torch.float64) / tau, dim=1).float().double()
        U = torch.tensor(u, dtype=torch.float64, requires_grad=True)
        li = (1 - alpha) * dkd(U, t, y, tau, wt, wnt) + alpha * ce_marginal(U, y, C, 1)
        L = li.mean() if red == 0 else li.sum()
        L.backward()
        nckd_only = dkd(U.detach(), t, y, tau, 0.0, 1.0)
        write_lfx(os.path.join(out, name + ".lfx"), {
            "U": u, "T": t.numpy().astype(np.float32), "y": y,
            "shape": np.array([n, C, red], np.int64), "scalars": np.array([tau, wt, wnt, alpha]),
            "value": np.array([L.item()]), "grad": U.grad.numpy(), "nckd": nckd_only.numpy()})
    # ---- subclass auxiliary loss, with a label term
    n, C, S, T, alpha = 10, 2, 3, 0.7, 0.3
    u = (rng.normal(size=(n, C * S)) * 1.5).astype(np.float32)
    y = rng.integers(0, C, n).astype(np.int32)
    U = torch.tensor(u, dtype=torch.float64, requires_grad=True)
    L = (1 - alpha) * subclass_aux(U, T) + alpha * ce_marginal(U, y, C, S).mean()
    L.backward()
    write_lfx(os.path.join(out, "baseline_aux.lfx"), {
        "U": u, "y": y, "shape": np.array([n, C, S], np.int64), "scalars": np.array([T, alpha]),
        "value": np.array([L.item()]), "grad": U.grad.numpy()})
    # ---- distances between student features and a fixed e'
    n, k = 9, 5
    F = (rng.normal(size=(n, k))).astype(np.float32)
    E = (rng.normal(size=(n, k)) + 0.5 * F).astype(np.float64)
    arrays = {"F": F, "E": E}
    for kind in range(3):
        Ft = torch.tensor(F, dtype=torch.float64, requires_grad=True)
        v = distance(kind, Ft, torch.tensor(E))
        v.backward()
        arrays[f"value{kind}"] = np.array([v.item()])
        arrays[f"grad{kind}"] = Ft.grad.numpy()
    write_lfx(os.path.join(out, "baseline_distance.lfx"), arrays)
    for case in [("baseline_comp_sgd", 6, 3, 3, 5, 0, 0.1, 0.01, 0.9, 0, 3, 11),
                 ("baseline_comp_adam", 6, 3, 3, 5, 1, 0.05, 0.001, 0.0, 0, 3, 11),
                 ("baseline_comp_bce", 5, 4, 3, 9, 1, 0.02, 0.0, 0.0, 1, 2, 7)]:
        write_lfx(os.path.join(out, case[0] + ".lfx"), compressor_case(rng, *case))
    print("gen_baselines: wrote baseline_dkd, baseline_dkd_c2, baseline_aux, baseline_distance, baseline_comp_*")


if __name__ == "__main__":
    main()
