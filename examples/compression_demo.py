#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Embedding compression (Ding & Lerch) on Fashion-MNIST, with a teacher whose
embedding was trained on a *different* task.

Teacher: a 784-256-10 MLP trained on the 10-class task; its 256-d hidden layer
is the (foreign) teacher embedding e. Target task: the binary superclass task
{0,2,3,4,6} vs {1,5,7,8,9}. Student: 784-32-2 MLP whose 32-d hidden layer f is
pulled toward a 32-d version of e, with total loss (1 - lam) CE + lam * dist:

  (a) no teacher          lam = 0
  (b) random projection   dist(f, P e), P a fixed random 32 x 256 matrix
  (c) trained compression dist(f, e') with e' = A e + a from lelp.Compressor,
                          trained per batch on the binary labels (the teacher frozen)

dist is the cosine distance (liblelp's LELP_DISTANCE_COSINE, scale-free).
Mean +- std of test accuracy over seeds.

    PYTHONPATH=bindings/python /usr/bin/python3 examples/compression_demo.py [--seeds 3]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import lelp  # noqa: E402
from torch_student import SUPER, load  # noqa: E402


class Student(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU())
        self.head = torch.nn.Linear(32, 2)

    def forward(self, x):
        f = self.body(x)
        return f, self.head(f)


def cosine_distance(F, E):
    return (1 - torch.nn.functional.cosine_similarity(F, E, dim=1, eps=1e-12)).mean()


def run(method, seed, Xs, ys, Es, Xt, yt, epochs, lam, P):
    torch.manual_seed(seed)
    st = Student()
    opt = torch.optim.Adam(st.parameters(), lr=3e-3)
    comp = None
    if method == "compression":
        comp = lelp.Compressor(teacher_dim=Es.shape[1], student_dim=32, num_classes=2, loss="cosine",
                               optimizer="adam", lr=1e-2, seed=seed)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(Xs), generator=g).split(64):
            f, out = st(Xs[idx])
            loss = torch.nn.functional.cross_entropy(out, ys[idx])
            if method == "projection":
                loss = (1 - lam) * loss + lam * cosine_distance(f, Es[idx] @ P.T)
            elif method == "compression":
                E = Es[idx].numpy()
                comp.step(E, ys[idx].numpy())              # trains A, a and its head; teacher frozen
                d, grad = comp.student_loss(f.detach().numpy(), E)
                # the distance's gradient comes from liblelp: inject it through a surrogate
                loss = (1 - lam) * loss + lam * (f * torch.from_numpy(grad)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((st(Xt)[1].argmax(1).numpy() == yt).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lam", type=float, default=0.5)
    a = ap.parse_args()
    t0 = time.time()
    X, y10, Xt, yt10 = load(a.data)
    torch.manual_seed(0)
    teacher = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(teacher.parameters(), lr=1e-3)
    Xall, yall = torch.from_numpy(X), torch.from_numpy(y10)
    for _ in range(3):  # the 10-class task: a different task from the target
        for idx in torch.randperm(len(X)).split(128):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(teacher(Xall[idx]), yall[idx]).backward()
            opt.step()
    results = {m: [] for m in ("no teacher", "random projection", "trained compression")}
    for seed in range(a.seeds):
        rng = np.random.default_rng(seed)
        sub = rng.choice(len(X), a.train, replace=False)
        Xs, ys = torch.from_numpy(X[sub]), torch.from_numpy(SUPER[y10[sub]])
        with torch.no_grad():
            Es = teacher[1](teacher[0](Xs))
        P = torch.from_numpy(rng.normal(size=(32, 256)).astype(np.float32) / np.sqrt(256))
        Xtt, ytt = torch.from_numpy(Xt), SUPER[yt10]
        for method, key in [("none", "no teacher"), ("projection", "random projection"),
                            ("compression", "trained compression")]:
            results[key].append(run(method, seed, Xs, ys, Es, Xtt, ytt, a.epochs, a.lam, P))
            print(f"seed {seed} {key}: {results[key][-1]:.4f}", file=sys.stderr)
    print(f"binary Fashion-MNIST, teacher embedding from the 10-class task, student 784-32-2 on {a.train} "
          f"examples, {a.epochs} epochs, lambda {a.lam}, cosine distance, {a.seeds} seeds")
    for key, v in results.items():
        print(f"  {key:22s} {np.mean(v):.4f} +- {np.std(v, ddof=1) if len(v) > 1 else 0:.4f}")
    print(f"  ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
