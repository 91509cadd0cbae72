#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Train a small PyTorch student on Fashion-MNIST-bin with lelp's LELPLoss.

The 10 Fashion-MNIST classes are grouped into 2 superclasses, {0,2,3,4,6}
vs {1,5,7,8,9}. A teacher MLP (784-256-2) is trained on the binary labels; its
256-d penultimate activations are streamed into lelp.SubspaceBuilder with its
last layer as the head; the student (784-32-2*S) learns LELP's 2*S-way
targets through lelp.torch.LELPLoss, whose backward is liblelp's gradient.

    PYTHONPATH=bindings/python /usr/bin/python3 examples/torch_student.py [--train 3000] [--S 5]

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import lelp  # noqa: E402
import lelp.torch as lt  # noqa: E402

SUPER = np.array([0, 1, 0, 0, 0, 1, 0, 1, 1, 1])  # {0,2,3,4,6} -> 0, {1,5,7,8,9} -> 1


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir):
    X = idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y = idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    Xt = idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    yt = idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return X, y, Xt, yt


def train(model, loss_fn, X, epochs, lr, seed, batch=128):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for idxs in torch.randperm(len(X), generator=g).split(batch):
            opt.zero_grad()
            loss = loss_fn(model(X[idxs]), idxs)
            loss.backward()
            opt.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train", type=int, default=3000, help="training subset size")
    ap.add_argument("--S", type=int, default=5, help="pseudo-subclasses per class")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tau", type=float, default=2.0)
    a = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(a.seed)
    if not os.path.exists(os.path.join(a.data, "train-images-idx3-ubyte.gz")):
        sys.exit(f"torch_student: no Fashion-MNIST in {a.data} (Debian: apt-get install dataset-fashion-mnist)")
    X, y10, Xt, yt10 = load(a.data)
    rng = np.random.default_rng(a.seed)
    sub = rng.choice(len(X), a.train, replace=False)
    Xs, ys, y10s = torch.from_numpy(X[sub]), torch.from_numpy(SUPER[y10[sub]]), y10[sub]
    Xtt, ytt = torch.from_numpy(Xt), SUPER[yt10]

    # teacher on the full binary training set (it should know more than the subset)
    teacher = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 2))
    Xall, yall = torch.from_numpy(X), torch.from_numpy(SUPER[y10])
    train(teacher, lambda out, i: torch.nn.functional.cross_entropy(out, yall[i]), Xall, 3, 1e-3, a.seed)
    with torch.no_grad():
        t_acc = (teacher(Xtt).argmax(1).numpy() == ytt).mean()
        emb = teacher[1](teacher[0](Xs)).numpy()
        logits = teacher(Xs).numpy()

    # LELP: stream the embeddings, the head, fit (automatic beta)
    b = lelp.SubspaceBuilder(dim=256, num_classes=2, subclasses=a.S, seed=a.seed)
    for i in range(0, len(emb), 1000):
        b.update(emb[i:i + 1000], ys.numpy()[i:i + 1000])
    b.set_head(teacher[2].weight.detach().numpy())
    model = b.fit()
    T = torch.from_numpy(model.targets(emb, logits=logits, tau=a.tau))
    purity = _purity(model.assign(emb, ys.numpy()), ys.numpy(), y10s, a.S)

    torch.manual_seed(a.seed)
    student = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2 * a.S))
    crit = lt.LELPLoss(num_classes=2, subclasses=a.S, tau=a.tau)
    train(student, lambda out, i: crit(out, T[i]), Xs, a.epochs, 3e-3, a.seed)
    with torch.no_grad():
        pred = lelp.predict_class(student(Xtt).numpy(), num_classes=2, subclasses=a.S)
    acc = (pred == ytt).mean()
    # the same student on the same subset with plain cross-entropy on the binary labels, for comparison
    torch.manual_seed(a.seed)
    base = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    train(base, lambda out, i: torch.nn.functional.cross_entropy(out, ys[i]), Xs, a.epochs, 3e-3, a.seed)
    with torch.no_grad():
        base_acc = (base(Xtt).argmax(1).numpy() == ytt).mean()
    print(f"teacher test accuracy {t_acc:.4f}; LELP student (S={a.S}, beta={model.beta:.3f}, "
          f"{a.train} examples) test accuracy {acc:.4f}; pseudo-subclass purity {purity:.3f}; "
          f"{time.time() - t0:.1f}s")
    print(f"plain-CE student (same subset, same architecture) test accuracy {base_acc:.4f}")


def _purity(assign, y, y10, S):
    good = 0
    for c in range(2):
        for s in range(S):
            m = (y == c) & (assign == s)
            if m.any():
                good += np.bincount(y10[m], minlength=10).max()
    return good / len(y)


if __name__ == "__main__":
    main()
