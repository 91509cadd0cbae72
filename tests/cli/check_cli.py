#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make check-cli: the `lelp` tool against the library (through the Python
binding), its malformed-input handling, its progress output, its memory bound
on a file larger than its batches, and its report.

Usage: check_cli.py build/lelp        (run by `make check` through mk/tools.mk)
Needs /usr/bin/python3 with numpy, and bindings/python on PYTHONPATH with
LELP_LIBRARY pointing at the shared library of the same build.
"""
import json
import os
import pty
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np

import lelp

TOOL = os.path.abspath(sys.argv[1])
failures = []
SVG = "{http://www.w3.org/2000/svg}"


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args):
    r = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def run_rusage(*args):
    """exit status, stderr and peak RSS in MiB of one run of the tool, measured by
    GNU time (wait4 on its own child: a child forked from this Python process
    would report the parent's pages too)"""
    with tempfile.NamedTemporaryFile("r") as rss:
        r = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name, TOOL, *map(str, args)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        kib = rss.read().strip().splitlines()
        return r.returncode, r.stderr, (int(kib[-1]) / 1024.0 if kib else float("inf"))


def one_line_naming(err, name):
    lines = [ln for ln in err.strip().splitlines() if ln]
    return len(lines) == 1 and name in lines[0] and lines[0].startswith("lelp: ")


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def round_trips(p, H, y, W, Z, C, S):
    n, d = H.shape
    # ---- fit -> export matches the C API (Python binding) on the same data
    rc, out, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--head", p("W.npy"),
                       "--subclasses", S, "--seed", 7, "--batch", 128, "-o", p("m.lelp"))
    check(rc == 0, f"fit exits 0 ({err.strip()})")
    check(out == "" and len(err.strip().splitlines()) == 1 and "900 rows" in err,
          "fit off a terminal: one summary line on stderr, nothing on stdout")
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
    check(all(np.load(p(f"exp/{k}.npy")).shape == s for k, s in
              [("means", (C, d)), ("eigenvalues", (C, S)), ("offsets", (C, S))]), "export: shapes (C, d), (C, S)")
    # one batch holding every row: the model file is byte-identical to the library's own
    for extra, kw in [((), {}), (("--no-rotation",), {"rotate": False}), (("--no-null-space",), {"null_space": False}),
                      (("--beta", 0.37), {"beta": 0.37}), (("--seed", 123456789012), {"seed": 123456789012}),
                      (("--labeller", "kmeans"), {"labeller": "kmeans"})]:
        kwargs = {"seed": 7, **kw}
        args = ["fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--head", p("W.npy"), "--subclasses", S,
                "--batch", n, "-o", p("opt.lelp"), "--seed", kwargs["seed"]] + list(extra)
        rc, _, err = run(*args)
        bb = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, **kwargs)
        bb.update(H, y)
        bb.set_head(W)
        bb.fit().save(p("ref.lelp"))
        check(rc == 0 and same_file(p("opt.lelp"), p("ref.lelp")),
              f"fit {' '.join(map(str, extra)) or '(defaults)'}: the model file equals the library's ({err.strip()})")
    # float64 embeddings, int32 labels, a float64 head and v2.0 headers give the identical model file
    with open(p("H64v2.npy"), "wb") as f:
        np.lib.format.write_array(f, H.astype(np.float64), version=(2, 0))
    with open(p("y32v2.npy"), "wb") as f:
        np.lib.format.write_array(f, y.astype(np.int32), version=(2, 0))
    np.save(p("W64.npy"), W.astype(np.float64))
    rc, _, err = run("fit", "--embeddings", p("H64v2.npy"), "--labels", p("y32v2.npy"), "--head", p("W64.npy"),
                     "--subclasses", S, "--seed", 7, "--batch", 128, "-o", p("m64.lelp"))
    check(rc == 0 and same_file(p("m64.lelp"), p("m.lelp")),
          f"fit: float64/int32 inputs with v2.0 headers give the identical model file ({err.strip()})")
    # ---- label / assign equal the library's
    model = lelp.Model.load(p("m.lelp"))
    rc, _, err = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"),
                     "--tau", 2.0, "-o", p("T.npy"))
    T = np.load(p("T.npy"))
    check(rc == 0 and T.dtype == np.float32 and T.shape == (n, C * S), "label --logits: (N, C*S) float32")
    check(np.array_equal(T, model.targets(H, logits=Z, tau=2.0)), "label --logits equals the library's targets")
    # class-major layout: summing each class's S columns gives softmax(Z / tau)
    pz = np.exp(Z / 2.0 - (Z / 2.0).max(1, keepdims=True))
    pz /= pz.sum(1, keepdims=True)
    check(np.allclose(T.reshape(n, C, S).sum(2), pz, atol=1e-5), "label: class-major, class marginal = softmax(Z/tau)")
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
                   "--batch", 77, "-o", p("sub.npy"))
    sub = np.load(p("sub.npy"))
    check(rc == 0 and sub.dtype == np.int32 and sub.shape == (n,) and np.array_equal(sub, model.assign(H, y)),
          "assign (batches of 77 rows) equals the library's")
    # ---- info
    rc, out, _ = run("info", p("m.lelp"), "--json")
    try:
        info = json.loads(out) if rc == 0 else {}
    except ValueError:
        info = {}
    check(info.get("d") == d and info.get("C") == C and info.get("S") == S and info.get("seed") == 7 and
          np.allclose(info.get("eigenvalues"), ref.eigenvalues) and abs(info["beta"] - ref.beta) < 1e-12 and
          np.allclose(info.get("explained_variance_ratio"), ref.explained_variance_ratio) and
          info.get("null_space") is True and info.get("rotate") is True and info.get("auto_beta") is True and
          info.get("library_version") == lelp.version() and info.get("written_by") == lelp.version(),
          "info --json: shape, seed, options, eigenvalues, explained variance, beta, versions")
    rc, out, _ = run("info", p("m.lelp"))
    check(rc == 0 and "explained variance" in out and f"S = {S}" in out, "info: human-readable")
    return model


def report_checks(p, n, C, S):
    # a file name with characters HTML must escape; more rows than the scatter shows
    rng = np.random.default_rng(5)
    N = 6200
    y = (np.arange(N) % C).astype(np.int32)
    H = (rng.normal(size=(N, 10)) + y[:, None]).astype(np.float32)
    np.save(p("big & <odd>.npy"), H)
    np.save(p("ybig.npy"), y)
    rc, _, err = run("report", p("m.lelp"), "--embeddings", p("big & <odd>.npy"), "--labels", p("ybig.npy"),
                     "--batch", 1000, "-o", p("r.html"))
    html = open(p("r.html"), encoding="utf-8").read() if rc == 0 else ""
    ok, detail = False, err.strip()
    try:
        check(html.startswith("<!DOCTYPE html>\n"), "report: starts with an HTML5 doctype")
        root = ET.fromstring(html.split("\n", 1)[1])  # the rest parses as XML
        sections = [s for s in root.iter("section") if s.get("class") == "class"]
        per_class = [len(list(s.iter(SVG + "svg"))) for s in sections]
        svgs = list(root.iter(SVG + "svg"))
        circles = list(root.iter(SVG + "circle"))
        ok = len(sections) == C and per_class == [3] * C and len(svgs) == 1 + 3 * C
        detail = f"{len(sections)} class sections, charts per class {per_class}, {len(svgs)} charts"
        check(len(circles) == 5000, f"report: the scatters show 5000 of {N} rows ({len(circles)})")
        # occupancy bars over all rows: the bar heights of a class are proportional to its counts
        model = lelp.Model.load(p("m.lelp"))
        counts = np.bincount(model.assign(H, y) + S * y, minlength=C * S).reshape(C, S)
        sec0 = sections[0]
        occ_svg = list(sec0.iter(SVG + "svg"))[1]
        labels = [t.text for t in occ_svg.iter(SVG + "text")]
        check(all(str(int(v)) in labels for v in counts[0]), "report: class 0's occupancy bars carry its counts")
        check(f"{N // C if N % C == 0 else N // C + 1} rows" in "".join(sec0.itertext()), "report: rows per class")
    except ET.ParseError as e:
        detail = str(e)
    check(rc == 0 and ok, f"report: well-formed, one section with three charts per class ({detail})")


def malformed(p, H, y, W, Z, S):
    n, d = H.shape
    bad = {
        "fortran.npy": np.asfortranarray(H),
        "object.npy": np.array([object()] * 4),
        "rank3.npy": H.reshape(n, d, 1),
        "rank1.npy": H[:, 0].copy(),
        "int_H.npy": H.astype(np.int32),
        "bigendian.npy": H.astype(">f4"),
        "half.npy": H.astype(np.float16),
        "uint8.npy": H.astype(np.uint8),
        "complex.npy": H.astype(np.complex64),
        "structured.npy": np.zeros(n, dtype=[("a", "<f4"), ("b", "<f4")]),
    }
    for name, arr in bad.items():
        np.save(p(name), arr, allow_pickle=True)
    nan = H.copy()
    nan[17, 3] = np.nan
    np.save(p("nan.npy"), nan)
    late = H.copy()
    late[650, 2] = np.inf
    np.save(p("inf_late.npy"), late.astype(np.float64))
    huge = H.astype(np.float64)
    huge[5, 1] = 1e300
    np.save(p("huge64.npy"), huge)
    raw = open(p("H.npy"), "rb").read()
    open(p("trunc.npy"), "wb").write(raw[:len(raw) // 2])
    open(p("trunc_header.npy"), "wb").write(raw[:40])
    open(p("garbage.npy"), "wb").write(b"not a numpy file at all")
    open(p("empty.npy"), "wb").close()
    cases = [("fortran.npy", "Fortran"), ("object.npy", "object"), ("rank3.npy", "rank 3"), ("rank1.npy", "2-D"),
             ("int_H.npy", "float32 or float64"), ("bigendian.npy", "big-endian"), ("half.npy", "dtype <f2"),
             ("uint8.npy", "dtype |u1"), ("complex.npy", "dtype <c8"), ("structured.npy", "structured"),
             ("nan.npy", "non-finite value (NaN or Inf) at row 17, column 3"),
             ("inf_late.npy", "non-finite value (NaN or Inf) at row 650, column 2"),
             ("huge64.npy", "outside the float32 range at row 5, column 1"),
             ("trunc.npy", "truncated"), ("trunc_header.npy", "truncated header"), ("garbage.npy", "not a .npy"),
             ("empty.npy", "not a .npy"), ("missing.npy", "cannot open")]
    for name, word in cases:
        rc, _, err = run("fit", "--embeddings", p(name), "--labels", p("y.npy"), "--subclasses", S, "--batch", 100,
                         "-o", p("x.lelp"))
        check(rc == 1 and one_line_naming(err, name) and word in err and not os.path.exists(p("x.lelp")),
              f"fit rejects {name}: exit 1, one line naming it ({err.strip()})")
    # labels
    np.save(p("short_y.npy"), y[:-5])
    np.save(p("y2d.npy"), y[:, None])
    np.save(p("yfloat.npy"), y.astype(np.float64))
    yneg = y.copy()
    yneg[33] = -1
    np.save(p("yneg.npy"), yneg)
    ybig = y.astype(np.int64)
    ybig[44] = 2 ** 40
    np.save(p("ybig64.npy"), ybig)
    yone = y.copy()
    yone[yone == 2] = 1
    yone[10] = 2  # class 2 has a single example
    np.save(p("yone.npy"), yone)
    for name, word in [("short_y.npy", "895 labels"), ("y2d.npy", "1-D"), ("yfloat.npy", "int32 or int64"),
                       ("yneg.npy", "label -1 at row 33"), ("ybig64.npy", "at row 44 does not fit"),
                       ("yone.npy", "class 2")]:
        rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p(name), "--subclasses", S, "-o", p("x.lelp"))
        check(rc == 1 and one_line_naming(err, name) and word in err, f"fit rejects labels {name} ({err.strip()})")
    # the head
    np.save(p("W_wrong.npy"), W[:, :-1])
    Wn = W.copy()
    Wn[1, 1] = np.nan
    np.save(p("W_nan.npy"), Wn)
    for name, word in [("W_wrong.npy", "expected (C, d)"), ("W_nan.npy", "non-finite")]:
        rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--head", p(name),
                         "--subclasses", S, "-o", p("x.lelp"))
        check(rc == 1 and one_line_naming(err, name) and word in err, f"fit rejects head {name} ({err.strip()})")
    rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", d + 1, "-o", p("x.lelp"))
    check(rc == 1 and one_line_naming(err, "H.npy"), f"fit: --subclasses > d is bad input ({err.strip()})")
    # label / assign inputs
    Zn = Z.copy()
    Zn[5, 0] = np.nan
    np.save(p("Z_nan.npy"), Zn)
    np.save(p("Z_short.npy"), Z[:-1])
    np.save(p("H_wide.npy"), np.hstack([H, H[:, :1]]))
    C = Z.shape[1]
    yout = y.copy()
    yout[123] = C
    np.save(p("y_out.npy"), yout)
    for args, name, word in [
            (("--logits", p("Z_nan.npy")), "Z_nan.npy", "row 5, column 0"),
            (("--logits", p("Z_short.npy")), "Z_short.npy", "expected (N, C)"),
            (("--labels", p("y_out.npy")), "y_out.npy", f"label {C} at row 123 is outside [0, {C})"),
            (("--labels", p("y.npy"), "--embeddings", p("H_wide.npy")), "H_wide.npy", "model"),
            (("--labels", p("y.npy"), "--embeddings", p("inf_late.npy"), "--batch", 100), "inf_late.npy", "row 650")]:
        a = ["label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), *args, "-o", p("out.npy")]
        if "--embeddings" in args:
            a = ["label", "--model", p("m.lelp"), *args, "-o", p("out.npy")]
        rc, _, err = run(*a)
        check(rc == 1 and one_line_naming(err, name) and word in err and not os.path.exists(p("out.npy")),
              f"label rejects {name}: exit 1, no partial output ({err.strip()})")
    rc, _, err = run("assign", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("short_y.npy"),
                     "-o", p("out.npy"))
    check(rc == 1 and one_line_naming(err, "short_y.npy"), f"assign: mismatched row counts ({err.strip()})")
    rc, _, err = run("label", "--model", p("H.npy"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                     "-o", p("x.npy"))
    check(rc == 1 and one_line_naming(err, "H.npy"), f"a non-model file as --model: exit 1 ({err.strip()})")
    for cmd in ("info", "export"):
        rc, _, err = run(cmd, p("garbage.npy"), *(("-o", p("d")) if cmd == "export" else ()))
        check(rc == 1 and one_line_naming(err, "garbage.npy"), f"{cmd} of a non-model: exit 1 ({err.strip()})")
    rc, _, err = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                     "-o", p("no/such/dir/T.npy"))
    check(rc == 1 and one_line_naming(err, "T.npy"), f"an unwritable output: exit 1 ({err.strip()})")


def outputs_kept(p, H, y, Z):
    """A failed command leaves every -o target as it was (even one that is
    also its input, an existing file, a link to a device) and no temporaries;
    export writes all of its files or none."""
    def content(name):
        return open(p(name), "rb").read() if os.path.exists(p(name)) else None
    bad = H.copy()
    bad[650, 3] = np.inf
    np.save(p("Hin.npy"), bad)
    before = open(p("Hin.npy"), "rb").read()
    m = ["label", "--model", p("m.lelp"), "--labels", p("y.npy"), "--batch", 100]
    rc, _, err = run(*m, "--embeddings", p("Hin.npy"), "-o", p("Hin.npy"))
    check(rc == 1 and content("Hin.npy") == before,
          f"label -o its own failing input: exit 1, the input intact ({err.strip()})")
    np.save(p("Hin.npy"), bad)
    np.save(p("old.npy"), Z)
    old = open(p("old.npy"), "rb").read()
    rc, _, err = run(*m, "--embeddings", p("Hin.npy"), "-o", p("old.npy"))
    check(rc == 1 and content("old.npy") == old, "a failed label keeps the existing output file")
    np.save(p("Hin.npy"), bad)
    os.symlink("/dev/null", p("null_link"))
    rc, _, err = run(*m, "--embeddings", p("Hin.npy"), "-o", p("null_link"))
    check(rc == 1 and os.path.islink(p("null_link")) and os.path.exists("/dev/null"),
          f"a failed label into a link to a device keeps the link ({err.strip()})")
    rc, _, err = run(*m, "--embeddings", p("H.npy"), "-o", p("null_link"))
    check(rc == 0 and os.path.islink(p("null_link")), "label into a link to a device writes through it")
    np.save(p("Hin.npy"), H)
    rc, _, err = run(*m, "--embeddings", p("Hin.npy"), "-o", p("Hin.npy"))
    check(rc == 0 and np.load(p("Hin.npy")).shape == (H.shape[0], Z.shape[1] * 3),
          f"label -o its own input replaces it once done ({err.strip()})")
    os.makedirs(p("exp2/means.npy"))
    rc, _, err = run("export", p("m.lelp"), "-o", p("exp2"))
    check(rc == 1 and sorted(os.listdir(p("exp2"))) == ["means.npy"],
          f"a failed export writes none of its files ({err.strip()}; {sorted(os.listdir(p('exp2')))})")
    stray = [f for f in os.listdir(os.path.dirname(p("x"))) if ".tmp" in f]
    check(not stray, f"no temporary files left behind {stray}")


def usage(p, S):
    for args in [(), ("fit",), ("fit", "--embeddings", p("H.npy")), ("frobnicate",), ("fit", "--bogus", "1"),
                 ("fit", "--json"), ("info",), ("info", p("m.lelp"), p("m.lelp"), "--extra"), ("export", p("m.lelp")),
                 ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "-o", p("x.npy")),
                 ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                  "--logits", p("Z.npy"), "-o", p("x.npy")),
                 ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"),
                  "--smoothing", 0.1, "-o", p("x.npy")),
                 ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                  "--beta", "auto", "-o", p("x.npy")),
                 ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"),
                  "--tau", 0, "-o", p("x.npy")),
                 ("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                  "--smoothing", 1, "-o", p("x.npy")),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", "three", "-o", "x"),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", 0, "-o", "x"),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S, "--seed", -1, "-o", "x"),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S, "--batch", 0, "-o", "x"),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S, "--beta", 0, "-o", "x"),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S, "--beta", "nan",
                  "-o", "x"),
                 ("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S, "-o")]:
        rc, out, err = run(*args)
        check(rc == 2 and out == "" and len(err.strip().splitlines()) >= 1 and not os.path.exists("x"),
              f"usage error {' '.join(a if len(a) < 30 else os.path.basename(a) for a in map(str, args))}: exit 2 "
              f"({err.strip().splitlines()[0] if err.strip() else ''})")
    rc, out, _ = run("--help")
    check(rc == 0 and all(c in out for c in ("fit", "label", "assign", "info", "export", "report", "Exit status")),
          "--help exits 0 and lists the commands")
    rc, out, _ = run("--version")
    check(rc == 0 and out.strip() == "lelp " + lelp.version(), "--version")
    for cmd in ("fit", "label", "assign", "info", "export", "report"):
        rc, out, _ = run(cmd, "--help")
        check(rc == 0 and out.startswith("usage: lelp " + cmd), f"lelp {cmd} --help")
        rc, out2, _ = run(cmd, "--embeddings", "whatever", "--help")
        check(rc == 0 and out2 == out, f"lelp {cmd} ... --help: help wins over other options")


def progress_on_a_terminal(p, S):
    """fit draws a bar (rows, rate, ETA) when stderr is a terminal"""
    master, slave = pty.openpty()
    proc = subprocess.Popen([TOOL, "fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", str(S),
                             "--batch", "100", "-o", p("tty.lelp")], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    rc = proc.wait()
    text = b"".join(chunks).decode(errors="replace")
    check(rc == 0 and "900/900 rows" in text and "rows/s" in text and "ETA" in text and "\r" in text,
          f"fit on a terminal: progress bar with rows, rate and ETA ({text.strip()[-80:]!r})")


def bounded_memory(t):
    """A file several times larger than the tool's batches: peak RSS stays far below the file size."""
    N, d, C, S = 1_500_000, 32, 2, 4
    Hp, yp = os.path.join(t, "large_H.npy"), os.path.join(t, "large_y.npy")
    rng = np.random.default_rng(11)
    chunk = 100_000
    with open(Hp, "wb") as fh, open(yp, "wb") as fy:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (N, d)})
        np.lib.format.write_array_header_1_0(fy, {"descr": "<i8", "fortran_order": False, "shape": (N,)})
        for i in range(0, N, chunk):
            yc = (np.arange(i, i + chunk) % C).astype(np.int64)
            hc = (rng.normal(size=(chunk, d)) + yc[:, None]).astype(np.float32)
            fh.write(hc.tobytes())
            fy.write(yc.tobytes())
    size_mib = os.path.getsize(Hp) / 2 ** 20
    mp, Tp, sp = (os.path.join(t, x) for x in ("large.lelp", "large_T.npy", "large_sub.npy"))
    rc, err, rss = run_rusage("fit", "--embeddings", Hp, "--labels", yp, "--subclasses", S, "-o", mp)
    check(rc == 0 and rss < size_mib / 2,
          f"fit streams a {size_mib:.0f} MiB file with default batches: peak RSS {rss:.0f} MiB ({err.strip()})")
    rc, err, rss = run_rusage("label", "--model", mp, "--embeddings", Hp, "--labels", yp, "-o", Tp)
    T = np.load(Tp, mmap_mode="r")
    check(rc == 0 and T.shape == (N, C * S) and rss < size_mib / 2,
          f"label streams in and out ({T.nbytes / 2**20:.0f} MiB written): peak RSS {rss:.0f} MiB {err.strip()}")
    # the last rows of the streamed output equal the library's targets for them
    m = lelp.Model.load(mp)
    tail = np.ascontiguousarray(np.load(Hp, mmap_mode="r")[-1000:])
    ytail = (np.arange(N - 1000, N) % C).astype(np.int32)
    check(np.allclose(T[-1000:], m.targets(tail, labels=ytail), atol=1e-6, rtol=0),
          "label: the last streamed batch equals the library's targets")
    rc, err, rss = run_rusage("assign", "--model", mp, "--embeddings", Hp, "--labels", yp, "-o", sp)
    sub = np.load(sp, mmap_mode="r")
    check(rc == 0 and sub.shape == (N,) and np.array_equal(sub[-1000:], m.assign(tail, ytail)) and rss < size_mib / 2,
          f"assign streams: peak RSS {rss:.0f} MiB {err.strip()}")
    del T, sub
    for x in (Hp, yp, mp, Tp, sp):
        os.unlink(x)


def main():
    rng = np.random.default_rng(0)
    n, d, C, S = 900, 10, 3, 3
    y = (np.arange(n) % C).astype(np.int64)
    H = (rng.normal(size=(n, d)) * np.linspace(2, 0.5, d) + y[:, None] * 2).astype(np.float32)
    W = rng.normal(size=(C, d)).astype(np.float32)
    Z = rng.normal(size=(n, C)).astype(np.float32)
    with tempfile.TemporaryDirectory() as t:
        def p(name):
            return os.path.join(t, name)
        np.save(p("H.npy"), H)
        np.save(p("y.npy"), y)
        np.save(p("W.npy"), W)
        np.save(p("Z.npy"), Z)
        cwd = os.getcwd()
        os.chdir(t)  # usage-error cases name "x" as output: it must never appear
        try:
            round_trips(p, H, y, W, Z, C, S)
            report_checks(p, n, C, S)
            malformed(p, H, y, W, Z, S)
            usage(p, S)
            outputs_kept(p, H, y, Z)
            progress_on_a_terminal(p, S)
            if os.environ.get("LELP_CLI_SKIP_LARGE") != "1":
                bounded_memory(t)
        finally:
            os.chdir(cwd)
    print(f"check_cli: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
