#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make check-demo: examples/fashion_distill end to end on a small synthetic
IDX data set (no download, a few seconds): exit codes, the printed tables,
seeded determinism, and the malformed-data paths.

Usage: check_demo.py build/examples/fashion_distill
The real run is `make demo` (docs/results.md).
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

PROG = os.path.abspath(sys.argv[1])
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def write_idx(path, arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, arr.ndim]))
        for s in arr.shape:
            f.write(int(s).to_bytes(4, "big"))
        f.write(arr.tobytes())


def make_data(d, n_train=1500, n_test=500, seed=0):
    """ten well-separated classes: each a fixed random template plus noise"""
    rng = np.random.default_rng(seed)
    templates = rng.integers(0, 256, size=(10, 28, 28))
    for name, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, size=n)
        x = np.clip(templates[y] + rng.normal(0, 40, size=(n, 28, 28)), 0, 255)
        write_idx(os.path.join(d, f"{name}-images-idx3-ubyte"), x)
        write_idx(os.path.join(d, f"{name}-labels-idx1-ubyte"), y)


def run(*args):
    r = subprocess.run([PROG, *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return r.returncode, r.stdout, r.stderr


COLS = ["teacher", "labels", "KD", "LELP", "k-means", "control"]


def per_seed(out):
    """{seed: [teacher, labels, KD, LELP, k-means, control, LELP-KD]} from the per-seed table"""
    rows = re.findall(r"^(\d+)\s+((?:\d\.\d{4}\s+){6})([+-]\d\.\d{4})\s", out, re.M)
    return {int(s): [float(x) for x in accs.split()] + [float(diff)] for s, accs, diff in rows}


def main():
    small = ["--seeds", 2, "--train", 400, "--epochs", 3, "--pretrain-epochs", 1, "--S", 3]
    with tempfile.TemporaryDirectory() as t:
        make_data(t)
        rc, out, err = run("--data", t, *small)
        check(rc == 0, f"runs on a synthetic IDX set (exit {rc}) {err.strip()[-200:]}")
        acc = dict(re.findall(r"^(teacher|student: [\w ()-]+?)\s+(\d\.\d{4}) \+- \d\.\d{4}$", out, re.M))
        check(len(acc) == 6, f"prints the teacher and five students ({list(acc)})")
        vals = {k: float(v) for k, v in acc.items()}
        check(all(0.0 <= v <= 1.0 for v in vals.values()), "accuracies in [0, 1]")
        check(vals.get("teacher", 0) > 0.95, f"the pretrained, fine-tuned teacher learns a separable task ({vals})")
        rows = per_seed(out)
        check(sorted(rows) == [0, 1], f"one per-seed row per seed ({sorted(rows)})")
        if len(rows) == 2:
            check(all(abs(r[3] - r[2] - r[6]) < 1.5e-4 for r in rows.values()), "per-seed LELP-KD = LELP - KD")
            names = ["teacher", "student: labels only", "student: vanilla KD", "student: LELP",
                     "student: k-means subclasses", "student: shuffled LELP (control)"]
            check(all(abs(vals.get(n, -1) - sum(r[k] for r in rows.values()) / 2) < 1.5e-4
                      for k, n in enumerate(names)), "the means are the means of the per-seed rows")
            diffs = [r[6] for r in rows.values()]
            m = re.search(r"^LELP - KD\s+([+-]\d\.\d{4}) \+- (\d\.\d{4})\s+ahead on (\d+) of (\d+) seeds$", out,
                          re.M)
            mean = sum(diffs) / 2
            sd = abs(diffs[0] - diffs[1]) / 2 ** 0.5
            check(bool(m) and abs(float(m[1]) - mean) < 1.5e-4 and abs(float(m[2]) - sd) < 1.5e-4
                  and int(m[3]) == sum(x > 0 for x in diffs) and m[4] == "2",
                  f"paired LELP - KD: mean, std over seeds and wins from the per-seed rows ({m and m[0]})")
        check(all(re.search(rf"^{k} - KD\s+[+-]\d\.\d{{4}} \+- \d\.\d{{4}}\s+ahead on \d+ of 2 seeds$", out, re.M)
                  for k in ("k-means", "control")), "paired k-means - KD and control - KD")
        nmi = re.findall(r"^\{[\d,]+\}\s+(\d\.\d{3})\+-\d\.\d{3}\s+(\d\.\d{3})\+-\d\.\d{3}$", out, re.M)
        check(len(nmi) == 2 and all(0.0 <= float(x) <= 1.0 for row in nmi for x in row),
              f"NMI rows for both superclasses, in [0, 1] ({nmi})")
        check(len(nmi) == 2 and all(float(row[1]) > 0.3 for row in nmi),
              f"the k-means labeller recovers some of the well-separated hidden classes ({nmi})")
        check(re.search(r"^total time [\d.]+ s wall, [\d.]+ s CPU$", out, re.M) is not None, "wall and CPU time")
        check("epoch 3/3" in err and "loss" in err and "elapsed" in err and "autoencoder" in err,
              "progress on stderr off a terminal: epoch, loss, elapsed, the teacher's phases")
        rc2, out2, _ = run("--data", t, *small)
        strip = lambda s: re.sub(r"total time .*", "", s)  # noqa: E731
        check(rc2 == 0 and strip(out2) == strip(out), "same seeds, same output (seeded end to end)")
        rc3, out3, _ = run("--data", t, *small[:-2], "--S", 3, "--first-seed", 1, "--seeds", 1)
        check(rc3 == 0 and per_seed(out3).get(1) == rows.get(1), "--first-seed 1 reproduces seed 1's row")
        one = ["--data", t, "--seeds", 1, "--train", 300, "--epochs", 2, "--S", 2]
        rc4, out4, _ = run(*one, "--teacher", "binary", "--teacher-epochs", 1, "--student", "mlp")
        check(rc4 == 0 and "trained on the binary labels only" in out4 and "784-32-k MLP students" in out4
              and len(per_seed(out4)) == 1, f"--teacher binary --student mlp (exit {rc4})")
        # malformed data: exit 1 and a message naming the file
        img = os.path.join(t, "train-images-idx3-ubyte")
        raw = open(img, "rb").read()
        open(img, "wb").write(raw[: len(raw) // 2])
        rc, _, err = run("--data", t, *small)
        check(rc == 1 and "train-images-idx3-ubyte is truncated" in err, f"truncated IDX: exit 1 ({err.strip()})")
        open(img, "wb").write(b"\x1f\x8b\x08\x00gzip data")
        rc, _, err = run("--data", t, *small)
        check(rc == 1 and "not an uncompressed uint8 IDX" in err, f"a gzip file: exit 1 ({err.strip()})")
        open(img, "wb").write(raw)
        lab = os.path.join(t, "t10k-labels-idx1-ubyte")
        y = np.frombuffer(open(lab, "rb").read()[8:], dtype=np.uint8).copy()
        y[3] = 12
        write_idx(lab, y)
        rc, _, err = run("--data", t, *small)
        check(rc == 1 and "label 12 at row 3" in err, f"a label outside 0..9: exit 1 ({err.strip()})")
        rc, _, err = run("--data", os.path.join(t, "nope"))
        check(rc == 1 and "cannot open" in err, "a missing directory: exit 1")
    for args in (["--S", 0], ["--seeds", "x"], ["--tau", 0], ["--bogus", 1], ["--train"], ["--beta", -1],
                 ["--teacher", "vae"], ["--student", "cnn"], ["--lr", 0], ["--finetune-epochs", -1]):
        rc, out, err = run(*args)
        check(rc == 2 and "usage:" in err, f"usage error {args}: exit 2")
    rc, out, _ = run("--help")
    check(rc == 0 and out.startswith("usage: fashion_distill") and "--first-seed" in out
          and "--teacher dae|binary" in out and "--student linear|mlp" in out, "--help")
    print(f"check_demo: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
