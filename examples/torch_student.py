#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch students on Fashion-MNIST-bin with lelp's LELPLoss, in the paper's regime, over seeds.

The 10 Fashion-MNIST classes are grouped into 2 superclasses, {0,2,3,4,6} vs
{1,5,7,8,9}. Per seed, as `make demo` (examples/fashion_distill.c) does in C:
a 784-512-256-2 teacher whose encoder is pretrained without labels (a
denoising autoencoder with masking noise, a linear decoder), then the binary
head alone, then the whole network at a tenth of the learning rate; its 256-d
penultimate activations on a training subset are streamed into
lelp.SubspaceBuilder with its last layer as the head (S = 10, tau = 1,
automatic beta), once with LELP's projections and once with the k-means
labeller; linear students (784 -> 2 or 2S) learn, through
lelp.torch.LELPLoss (whose backward is liblelp's gradient), from the labels,
from vanilla KD targets, from LELP's targets and from the k-means targets.
Prints per-seed test accuracy, mean +- std, and the paired differences to KD
(mean +- std over seeds, seeds ahead).

    PYTHONPATH=bindings/python /usr/bin/python3 examples/torch_student.py [--seeds 5] [--train 3000] [--S 10]

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
STUDENTS = ["labels only", "vanilla KD", "LELP", "k-means"]


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


def train(params, loss_fn, n, epochs, lr, gen, batch=128):
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(epochs):
        for i in torch.randperm(n, generator=gen).split(batch):
            opt.zero_grad()
            loss_fn(i).backward()
            opt.step()


def teacher(X, y2, a, gen):
    """DAE pretraining without labels, then the head, then fine-tuning (as fashion_distill.c)."""
    enc = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256), torch.nn.ReLU())
    dec = torch.nn.Linear(256, 784)
    head = torch.nn.Linear(256, 2)

    def dae_loss(i):
        x = X[i]
        noisy = x * (torch.rand(x.shape, generator=gen) >= 0.3)
        return 0.5 * ((dec(enc(noisy)) - x) ** 2).sum(1).mean()

    ce = lambda i: torch.nn.functional.cross_entropy(head(enc(X[i])), y2[i])  # noqa: E731
    train(list(enc.parameters()) + list(dec.parameters()), dae_loss, len(X), a.pretrain_epochs, 1e-3, gen)
    train(head.parameters(), ce, len(X), 1, 1e-3, gen)
    train(list(enc.parameters()) + list(head.parameters()), ce, len(X), 1, 1e-4, gen)
    return enc, head


def run_seed(seed, a, X, y10, Xt, yt10):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Xall, yall = torch.from_numpy(X), torch.from_numpy(SUPER[y10])
    enc, head = teacher(Xall[:a.teacher_train], yall[:a.teacher_train], a, gen)
    Xtt, ytt = torch.from_numpy(Xt), SUPER[yt10]
    sub = np.random.default_rng(seed).choice(len(X), a.train, replace=False)
    Xs, ys = Xall[sub], SUPER[y10[sub]].astype(np.int32)
    with torch.no_grad():
        t_acc = float((head(enc(Xtt)).argmax(1).numpy() == ytt).mean())
        emb = enc(Xs).numpy()
        logits = head(torch.from_numpy(emb)).numpy()
    targets = {"vanilla KD": lelp.softmax_targets(logits, tau=a.tau)}
    betas = []
    for name, labeller in (("LELP", "projection"), ("k-means", "kmeans")):
        b = lelp.SubspaceBuilder(dim=256, num_classes=2, subclasses=a.S, seed=seed, labeller=labeller)
        for i in range(0, len(emb), 1000):
            b.update(emb[i:i + 1000], ys[i:i + 1000])
        b.set_head(head.weight.detach().numpy())
        model = b.fit()
        betas.append(model.beta)
        targets[name] = model.targets(emb, logits=logits, tau=a.tau)
    accs = [t_acc]
    yt = torch.from_numpy(ys)
    for name in STUDENTS:
        S = 1 if name in ("labels only", "vanilla KD") else a.S
        torch.manual_seed(seed)
        student = torch.nn.Linear(784, 2 * S)
        if name == "labels only":
            crit = lt.LELPLoss(num_classes=2, subclasses=1, alpha=1.0)
            loss = lambda i: crit(student(Xs[i]), labels=yt[i])  # noqa: E731
        else:
            crit = lt.LELPLoss(num_classes=2, subclasses=S, tau=a.tau)
            T = torch.from_numpy(targets[name])
            loss = lambda i: crit(student(Xs[i]), T[i])  # noqa: E731
        train(student.parameters(), loss, a.train, a.epochs, a.lr, torch.Generator().manual_seed(seed), batch=64)
        with torch.no_grad():
            pred = lelp.predict_class(student(Xtt).numpy(), num_classes=2, subclasses=S)
        accs.append(float((pred == ytt).mean()))
    return accs, betas


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=3000, help="training subset size")
    ap.add_argument("--S", type=int, default=10, help="pseudo-subclasses per class")
    ap.add_argument("--tau", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=20, help="student epochs")
    ap.add_argument("--lr", type=float, default=1e-3, help="student Adam learning rate")
    ap.add_argument("--pretrain-epochs", type=int, default=2, help="denoising-autoencoder epochs")
    ap.add_argument("--teacher-train", type=int, default=60000, help="training images the teacher sees")
    a = ap.parse_args()
    t0, c0 = time.time(), time.process_time()
    if not os.path.exists(os.path.join(a.data, "train-images-idx3-ubyte.gz")):
        sys.exit(f"torch_student: no Fashion-MNIST in {a.data} (Debian: apt-get install dataset-fashion-mnist)")
    X, y10, Xt, yt10 = load(a.data)
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    print(f"teacher DAE-pretrained 784-512-256-2; linear students on {a.train} examples, {a.epochs} epochs; "
          f"tau {a.tau:g}, S = {a.S}, automatic beta; seeds {seeds[0]}..{seeds[-1]}")
    print(f"{'seed':<6}{'teacher':<9}" + "".join(f"{n:<13}" for n in STUDENTS) + "beta LELP / k-means")
    rows = []
    for s in seeds:
        accs, betas = run_seed(s, a, X, y10, Xt, yt10)
        rows.append(accs)
        print(f"{s:<6}" + "".join(f"{v:<9.4f}" if k == 0 else f"{v:<13.4f}" for k, v in enumerate(accs))
              + f"{betas[0]:.4g} / {betas[1]:.4g}", flush=True)
    R = np.array(rows)
    sd = (lambda v: v.std(ddof=1) if len(v) > 1 else 0.0)  # noqa: E731
    print("\nmean +- std over seeds: " + ", ".join(f"{n} {R[:, k].mean():.4f} +- {sd(R[:, k]):.4f}"
                                                   for k, n in enumerate(["teacher"] + STUDENTS)))
    for k, n in ((3, "LELP"), (4, "k-means"), (1, "labels only")):
        d = R[:, k] - R[:, 2]
        print(f"paired {n} - KD: {d.mean():+.4f} +- {sd(d):.4f} (std over seeds), ahead on "
              f"{int((d > 0).sum())} of {len(d)} seeds")
    print(f"total time {time.time() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU")


if __name__ == "__main__":
    main()
