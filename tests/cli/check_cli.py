#!/usr/bin/python3
"""make check-cli: the `lelp` tool against the library (through the Python
binding), its malformed-input handling and its report.

Usage: check_cli.py build/lelp
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np

import lelp

TOOL = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args):
    r = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def one_line_naming(err, name):
    lines = [ln for ln in err.strip().splitlines() if ln]
    return len(lines) == 1 and name in lines[0]


def main():
    rng = np.random.default_rng(0)
    n, d, C, S = 900, 10, 3, 3
    y = (np.arange(n) % C).astype(np.int64)
    H = (rng.normal(size=(n, d)) * np.linspace(2, 0.5, d) + y[:, None] * 2).astype(np.float32)
    W = rng.normal(size=(C, d)).astype(np.float32)
    Z = rng.normal(size=(n, C)).astype(np.float32)
    with tempfile.TemporaryDirectory() as t:
        p = lambda name: os.path.join(t, name)  # noqa: E731
        np.save(p("H.npy"), H)
        np.save(p("H64.npy"), H.astype(np.float64))
        np.save(p("y.npy"), y)
        np.save(p("y32.npy"), y.astype(np.int32))
        np.save(p("W.npy"), W)
        np.save(p("Z.npy"), Z)
        # ---- fit -> export matches the C API (Python binding) with the same data
        rc, out, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--head", p("W.npy"),
                           "--subclasses", S, "--seed", 7, "--batch", 128, "-o", p("m.lelp"))
        check(rc == 0, f"fit exits 0 ({err.strip()})")
        b = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, seed=7)
        b.update(H, y)
        b.set_head(W)
        ref = b.fit()
        rc, _, err = run("export", p("m.lelp"), "-o", p("exp"))
        check(rc == 0, "export exits 0")
        comps = np.load(p("exp/components.npy"))
        check(comps.shape == (C, S, d) and comps.dtype == np.float64, "export: components (C, S, d) float64")
        check(np.allclose(comps, ref.components, atol=1e-9), "export: components equal the C API's")
        check(np.allclose(np.load(p("exp/means.npy")), ref.means, rtol=1e-12), "export: means equal the C API's")
        check(np.allclose(np.load(p("exp/eigenvalues.npy")), ref.eigenvalues, rtol=1e-9), "export: eigenvalues")
        check(np.allclose(np.load(p("exp/offsets.npy")), ref.offsets, rtol=1e-9, atol=1e-12), "export: offsets")
        # float64 embeddings and int32 labels give the same model
        rc, _, _ = run("fit", "--embeddings", p("H64.npy"), "--labels", p("y32.npy"), "--head", p("W.npy"),
                       "--subclasses", S, "--seed", 7, "--batch", 128, "-o", p("m64.lelp"))
        check(rc == 0 and open(p("m64.lelp"), "rb").read() == open(p("m.lelp"), "rb").read(),
              "fit: float64/int32 inputs give the identical model file")
        # ---- label / assign equal the library's
        model = lelp.Model.load(p("m.lelp"))
        rc, _, err = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"),
                         "--tau", 2.0, "-o", p("T.npy"))
        T = np.load(p("T.npy"))
        check(rc == 0 and T.dtype == np.float32 and T.shape == (n, C * S), "label --logits: (N, C*S) float32")
        check(np.array_equal(T, model.targets(H, logits=Z, tau=2.0)), "label --logits equals the library's targets")
        # streamed in batches of 100 rows: the same targets up to SGEMM blocking (float32 rounding)
        rc, _, err = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"),
                         "--tau", 2.0, "--batch", 100, "-o", p("Tb.npy"))
        check(rc == 0 and np.allclose(np.load(p("Tb.npy")), T, atol=1e-6, rtol=0), "label --batch 100: same targets")
        rc, _, _ = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                       "--smoothing", 0.1, "-o", p("T2.npy"))
        check(rc == 0 and np.array_equal(np.load(p("T2.npy")), model.targets(H, labels=y, smoothing=0.1)),
              "label --labels --smoothing equals the library's targets")
        rc, _, _ = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                       "--beta", 0.5, "-o", p("T3.npy"))
        check(rc == 0 and np.array_equal(np.load(p("T3.npy")), model.with_beta(0.5).targets(H, labels=y)),
              "label --beta overrides the model's beta")
        rc, _, _ = run("assign", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                       "-o", p("sub.npy"))
        sub = np.load(p("sub.npy"))
        check(rc == 0 and sub.dtype == np.int32 and np.array_equal(sub, model.assign(H, y)),
              "assign equals the library's")
        # ---- info
        rc, out, _ = run("info", p("m.lelp"), "--json")
        info = json.loads(out) if rc == 0 else {}
        check(info.get("d") == d and info.get("C") == C and info.get("S") == S and
              np.allclose(info.get("eigenvalues"), ref.eigenvalues) and abs(info["beta"] - ref.beta) < 1e-12,
              "info --json: shape, eigenvalues and beta")
        rc, out, _ = run("info", p("m.lelp"))
        check(rc == 0 and "explained variance" in out, "info: human-readable")
        # ---- report: well-formed XHTML-compatible markup, one chart section per class
        rc, _, err = run("report", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                         "-o", p("r.html"))
        html = open(p("r.html")).read() if rc == 0 else ""
        try:
            root = ET.fromstring(html.split("\n", 1)[1])  # drop the doctype line
            sections = [s for s in root.iter("section") if s.get("class") == "class"]
            svgs = list(root.iter("{http://www.w3.org/2000/svg}svg"))
            ok = len(sections) == C and len(svgs) == 1 + 3 * C
        except ET.ParseError as e:
            print(e)
            ok = False
        check(rc == 0 and ok, "report: well-formed, one section with three charts per class")
        # ---- malformed inputs: exit 1, one line naming the file
        bad = {
            "fortran.npy": np.asfortranarray(H),
            "object.npy": np.array([object()] * 4),
            "rank3.npy": H.reshape(n, d, 1),
            "short_y.npy": y[:-5],
        }
        for name, arr in bad.items():
            np.save(p(name), arr, allow_pickle=True)
        nan = H.copy()
        nan[17, 3] = np.nan
        np.save(p("nan.npy"), nan)
        raw = open(p("H.npy"), "rb").read()
        open(p("trunc.npy"), "wb").write(raw[:len(raw) // 2])
        open(p("garbage.npy"), "wb").write(b"not a numpy file at all")
        cases = [("fortran.npy", "Fortran"), ("object.npy", "object"), ("rank3.npy", "rank"), ("nan.npy", "non-finite"),
                 ("trunc.npy", "truncated"), ("garbage.npy", "not a .npy")]
        for name, word in cases:
            rc, _, err = run("fit", "--embeddings", p(name), "--labels", p("y.npy"), "--subclasses", S,
                             "-o", p("x.lelp"))
            check(rc == 1 and one_line_naming(err, name) and word in err,
                  f"fit rejects {name}: exit 1, one line naming it ({err.strip()})")
        rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("short_y.npy"), "--subclasses", S,
                         "-o", p("x.lelp"))
        check(rc == 1 and one_line_naming(err, "short_y.npy"), f"mismatched row counts: exit 1 ({err.strip()})")
        rc, _, err = run("label", "--model", p("H.npy"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                         "-o", p("x.npy"))
        check(rc == 1 and one_line_naming(err, "H.npy"), f"a non-model file as --model: exit 1 ({err.strip()})")
        # ---- usage errors: exit 2
        for args in [("fit",), ("fit", "--embeddings", p("H.npy")), ("frobnicate",), ("fit", "--bogus", "1"),
                     ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "-o", p("x.npy")),
                     ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", "three", "-o", "x")]:
            rc, _, err = run(*args)
            check(rc == 2 and err.strip(), f"usage error {args[:2]}: exit 2")
        rc, out, _ = run("--help")
        check(rc == 0 and "report" in out, "--help exits 0 and lists the commands")
        for cmd in ("fit", "label", "assign", "info", "export", "report"):
            rc, out, _ = run(cmd, "--help")
            check(rc == 0 and out.startswith("usage: lelp " + cmd), f"lelp {cmd} --help")
    print(f"check_cli: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
