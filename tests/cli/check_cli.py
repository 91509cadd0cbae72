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
                "--batch", n, "--threads", 1, "-o", p("opt.lelp"), "--seed", kwargs["seed"]] + list(extra)
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
    # big-endian inputs ('>f4', '>f8', '>i8') are byte-swapped on reading: the same model file
    np.save(p("Hbe.npy"), H.astype(">f4"))
    np.save(p("ybe.npy"), y.astype(">i8"))
    np.save(p("Wbe.npy"), W.astype(">f8"))
    rc, _, err = run("fit", "--embeddings", p("Hbe.npy"), "--labels", p("ybe.npy"), "--head", p("Wbe.npy"),
                     "--subclasses", S, "--seed", 7, "--batch", 128, "-o", p("mbe.lelp"))
    check(rc == 0 and same_file(p("mbe.lelp"), p("m.lelp")),
          f"fit: big-endian .npy inputs give the identical model file ({err.strip()})")
    # ---- label / assign equal the library's
    model = lelp.Model.load(p("m.lelp"))
    rc, _, err = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"),
                     "--tau", 2.0, "--threads", 1, "-o", p("T.npy"))
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
                   "--smoothing", 0.1, "--threads", 1, "-o", p("T2.npy"))
    check(rc == 0 and np.array_equal(np.load(p("T2.npy")), model.targets(H, labels=y, smoothing=0.1)),
          "label --labels --smoothing equals the library's targets")
    rc, _, _ = run("label", "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                   "--beta", 0.5, "--threads", 1, "-o", p("T3.npy"))
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


SUBCLASS_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                    "#bcbd22", "#17becf"]


def text_boxes(svg):
    """(box, text) of every <text> in one chart: width estimated as 0.6 x font size per character,
    height as the font size (baseline at y, descenders 0.2 of it), placed by text-anchor"""
    out = []
    for t in svg.iter(SVG + "text"):
        size = float(t.get("font-size", 12))
        w, x, y = 0.6 * size * len(t.text or ""), float(t.get("x")), float(t.get("y"))
        x0 = {"middle": x - w / 2, "end": x - w}.get(t.get("text-anchor"), x)
        out.append(((x0, y - 0.8 * size, x0 + w, y + 0.2 * size), t.text))
    return out


def layout_problems(root):
    """text boxes that overlap one another (titles included) or leave their chart"""
    bad = []
    for svg in root.iter(SVG + "svg"):
        W, Hh = float(svg.get("width")), float(svg.get("height"))
        boxes = text_boxes(svg)
        for i, (a, ta) in enumerate(boxes):
            if a[0] < 0 or a[1] < 0 or a[2] > W or a[3] > Hh:
                bad.append(f"{ta!r} outside its {W:.0f}x{Hh:.0f} chart")
            for b, tb in boxes[i + 1:]:
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    bad.append(f"{ta!r} overlaps {tb!r}")
    return bad


def entropy_reference(model, H, y, S):
    """mean within-class entropy of softmax_s(f_{y,s}) per class, in NumPy from the projections"""
    F = model.project(H).astype(np.float64).reshape(len(y), -1, S)[np.arange(len(y)), y]
    F -= F.max(1, keepdims=True)
    logp = F - np.log(np.exp(F).sum(1, keepdims=True))
    ent = -(np.exp(logp) * logp).sum(1)
    return np.array([ent[y == c].mean() for c in range(int(y.max()) + 1)])


def report_checks(p, n, C, S):
    from sklearn.metrics import normalized_mutual_info_score as sk_nmi
    # a file name with characters HTML must escape; more rows than the scatter shows
    rng = np.random.default_rng(5)
    N = 6200
    y = (np.arange(N) % C).astype(np.int32)
    fine = (y * 2 + rng.integers(0, 2, N)).astype(np.int64)
    H = (rng.normal(size=(N, 10)) + y[:, None] + np.eye(2 * C, 10)[fine] * 2).astype(np.float32)
    np.save(p("big & <odd>.npy"), H)
    np.save(p("ybig.npy"), y)
    np.save(p("fine.npy"), fine)
    rc, _, err = run("report", p("m.lelp"), "--embeddings", p("big & <odd>.npy"), "--labels", p("ybig.npy"),
                     "--fine-labels", p("fine.npy"), "--batch", 1000, "-o", p("r.html"))
    html = open(p("r.html"), encoding="utf-8").read() if rc == 0 else ""
    ok, detail = False, err.strip()
    model = lelp.Model.load(p("m.lelp"))
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
        sub = model.assign(H, y)
        counts = np.bincount(sub + S * y, minlength=C * S).reshape(C, S)
        sec0 = sections[0]
        occ_svg = list(sec0.iter(SVG + "svg"))[1]
        labels = [t.text for t in occ_svg.iter(SVG + "text")]
        check(all(str(int(v)) in labels for v in counts[0]), "report: class 0's occupancy bars carry its counts")
        check(f"{N // C if N % C == 0 else N // C + 1} rows" in "".join(sec0.itertext()), "report: rows per class")
        bad = layout_problems(root)
        check(not bad, f"report: no text box overlaps another or leaves its chart ({bad[:3]})")
        # every scatter: axes with tick labels, a legend entry per pseudo-subclass in the subclass palette
        for c, sec in enumerate(sections):
            sc = list(sec.iter(SVG + "svg"))[2]
            axes = [g for g in sc.iter(SVG + "g") if g.get("class") == "axes"]
            legend = [g for g in sc.iter(SVG + "g") if g.get("class") == "legend"]
            ticks = len(list(axes[0].iter(SVG + "text"))) if axes else 0
            lcols = [r.get("fill") for r in legend[0].iter(SVG + "rect")] if legend else []
            ltext = [t.text for t in legend[0].iter(SVG + "text")] if legend else []
            pcols = {ci.get("fill") for ci in sc.iter(SVG + "circle")}
            occ_cols = [r.get("fill") for r in list(sec.iter(SVG + "svg"))[1].iter(SVG + "rect")]
            dir_cols = {r.get("fill") for r in list(sec.iter(SVG + "svg"))[0].iter(SVG + "rect")}
            check(axes and ticks >= 4 and len(list(axes[0].iter(SVG + "line"))) >= 4,
                  f"report class {c}: the scatter has axes with {ticks} tick labels")
            check(lcols == SUBCLASS_PALETTE[:S] and ltext == [f"s={s}" for s in range(S)] and pcols <= set(lcols),
                  f"report class {c}: a legend per pseudo-subclass, points in its colours ({lcols}, {ltext})")
            check(occ_cols == SUBCLASS_PALETTE[:S] and not dir_cols & set(SUBCLASS_PALETTE),
                  f"report class {c}: occupancy bars in the pseudo-subclass colours, directions in another "
                  f"({occ_cols}, {dir_cols})")
        # the entropy chart: the target 0.5 log S drawn to the bars' scale
        ent_svg = svgs[0]
        target = [ln for ln in ent_svg.iter(SVG + "line") if ln.get("class") == "target"]
        rects = list(ent_svg.iter(SVG + "rect"))
        y0 = float(rects[2].get("y")) + float(rects[2].get("height"))
        mid = float(rects[2].get("height"))  # the bar at the model's beta
        want = 0.5 * np.log(S)
        ent_ref = entropy_reference(model, H, y, S)
        mean_ref = (ent_ref * np.bincount(y)).sum() / N
        check(len(target) == 1 and abs(float(target[0].get("data-value")) - want) < 1e-5 and
              abs((y0 - float(target[0].get("y1"))) / mid - want / mean_ref) < 0.02,
              f"report: the entropy target 1/2 log S = {want:.4f} drawn to the bars' scale")
        check(not {r.get("fill") for r in rects} & set(SUBCLASS_PALETTE), "report: entropy bars outside the subclass palette")
        # the summary table, against NumPy / scikit-learn
        table = [tb for tb in root.iter("table") if tb.get("class") == "summary"]
        rows = [[td.text for td in tr.iter("td")] for tr in table[0].iter("tr")][1:] if table else []
        ev = model.explained_variance_ratio.sum(1)
        shares = counts / counts.sum(1, keepdims=True)
        good = len(rows) == C
        for c, r in enumerate(rows):
            v = [float(x) for x in r]
            nmi_c = sk_nmi(fine[y == c], sub[y == c])
            good &= (int(v[0]) == c and int(v[1]) == (y == c).sum() and abs(v[2] - ev[c]) < 1e-4 and
                     abs(v[3] - shares[c].min()) < 1e-4 and abs(v[4] - shares[c].max()) < 1e-4 and
                     abs(v[5] - ent_ref[c]) < 1e-3 and abs(v[6] - nmi_c) < 1e-4)
        nmi_all = [sp.text for sp in root.iter("span") if sp.get("id") == "nmi-all"]
        good &= bool(nmi_all) and abs(float(nmi_all[0]) - sk_nmi(fine, sub + S * y)) < 1e-4
        check(good, f"report: summary per class (rows, explained variance, smallest/largest share, entropy, NMI) "
                    f"equals NumPy / scikit-learn ({rows}, nmi {nmi_all})")
    except (ET.ParseError, IndexError, ValueError) as e:
        detail = f"{type(e).__name__}: {e}"
    check(rc == 0 and ok, f"report: well-formed, one section with three charts per class ({detail})")
    # many pseudo-subclasses, few rows: bars too narrow for every label, a legend in columns; still no overlap
    Hs = (rng.normal(size=(400, 40)) + np.repeat(np.arange(2), 200)[:, None]).astype(np.float32)
    ys = np.repeat(np.arange(2), 200).astype(np.int64)
    np.save(p("Hs.npy"), Hs)
    np.save(p("ys.npy"), ys)
    for S_many in (12, 32):
        rc1, _, _ = run("fit", "--embeddings", p("Hs.npy"), "--labels", p("ys.npy"), "--subclasses", S_many,
                        "-o", p("many.lelp"))
        rc2, _, err = run("report", p("many.lelp"), "--embeddings", p("Hs.npy"), "--labels", p("ys.npy"),
                          "-o", p("many.html"))
        try:
            root = ET.fromstring(open(p("many.html"), encoding="utf-8").read().split("\n", 1)[1])
            bad = layout_problems(root)
            legends = [g for g in root.iter(SVG + "g") if g.get("class") == "legend"]
            nleg = [len(list(g.iter(SVG + "rect"))) for g in legends]
        except (OSError, ET.ParseError) as e:
            bad, nleg = [str(e)], []
        check(rc1 == 0 and rc2 == 0 and not bad and nleg == [S_many] * 2,
              f"report with S = {S_many}: no overlapping text, a full legend per scatter ({bad[:3]}, {nleg}) {err.strip()}")
    np.save(p("short_y_report.npy"), fine[:-3])
    rc, _, err = run("report", p("m.lelp"), "--embeddings", p("big & <odd>.npy"), "--labels", p("ybig.npy"),
                     "--fine-labels", p("short_y_report.npy"), "-o", p("x.html"))
    check(rc == 1 and "short_y_report.npy" in err and not os.path.exists(p("x.html")),
          f"report --fine-labels of another length: exit 1 ({err.strip()})")


def malformed(p, H, y, W, Z, S):
    n, d = H.shape
    bad = {
        "fortran.npy": np.asfortranarray(H),
        "object.npy": np.array([object()] * 4),
        "rank3.npy": H.reshape(n, d, 1),
        "rank1.npy": H[:, 0].copy(),
        "int_H.npy": H.astype(np.int32),
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
             ("int_H.npy", "float32 or float64"), ("half.npy", "dtype <f2"),
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
    check(rc == 2 and one_line_naming(err, "H.npy") and not os.path.exists(p("x.lelp")),
          f"fit: --subclasses > d is a usage error, exit 2 as docs/cli.md says ({err.strip()})")
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


def run_bytes(*args):
    r = subprocess.run([TOOL, *map(str, args)], capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def export_arrays(p, model_path, tag):
    rc, _, err = run("export", model_path, "-o", p(tag))
    return {k: np.load(p(f"{tag}/{k}.npy")) for k in ("components", "eigenvalues", "means")} if rc == 0 else None


def threads(p, H, y, Z, C, S):
    """--threads N: the same bits for the same N, the one-thread result within
    tolerance for any N; label/assign rows do not depend on the split."""
    fit = ["fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--head", p("W.npy"), "--subclasses", S,
           "--seed", 3, "--batch", 256]
    outs = {}
    for t in (1, 2, 3, 2, 3):
        rc, _, err = run(*fit, "--threads", t, "-o", p(f"thr{t}.lelp"))
        data = open(p(f"thr{t}.lelp"), "rb").read() if rc == 0 else None
        if t in outs:
            check(data is not None and data == outs[t], f"fit --threads {t} twice: the identical model file ({err.strip()})")
        outs[t] = data
    one = export_arrays(p, p("thr1.lelp"), "thr1")
    for t in (2, 3):
        many = export_arrays(p, p(f"thr{t}.lelp"), f"thr{t}")
        ok = (one is not None and many is not None and
              np.allclose(many["eigenvalues"], one["eigenvalues"], rtol=1e-10) and
              np.allclose(many["means"], one["means"], rtol=1e-12, atol=1e-12) and
              np.allclose(many["components"], one["components"], atol=1e-8))
        check(ok, f"fit --threads {t} equals --threads 1 (eigenvalues 1e-10, components 1e-8)")
    model = lelp.Model.load(p("thr1.lelp"))
    ref_T = model.targets(H, logits=Z, tau=1.5)
    ref_sub = model.assign(H, y)
    for t in (2, 3, 7):
        rc, _, err = run("label", p("thr1.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"), "--tau", 1.5,
                         "--batch", 200, "--threads", t, "-o", p("Tt.npy"))
        check(rc == 0 and np.allclose(np.load(p("Tt.npy")), ref_T, atol=1e-6, rtol=0),
              f"label --threads {t} equals the library's targets ({err.strip()})")
        rc, _, err = run("assign", p("thr1.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                         "--batch", 200, "--threads", t, "-o", p("subt.npy"))
        check(rc == 0 and np.array_equal(np.load(p("subt.npy")), ref_sub),
              f"assign --threads {t} equals the library's assignments ({err.strip()})")
    # a failing row in the second thread's share is named by its absolute row
    bad = H.copy()
    bad[650, 1] = np.nan
    np.save(p("Hnan_t.npy"), bad)
    rc, _, err = run("label", p("thr1.lelp"), "--embeddings", p("Hnan_t.npy"), "--labels", p("y.npy"),
                     "--threads", 2, "-o", p("Tnan.npy"))
    check(rc == 1 and "row 650" in err and not os.path.exists(p("Tnan.npy")),
          f"label --threads 2: a bad row is named by its absolute row ({err.strip()})")
    for bad_t in (0, -1, "many", 100000):
        rc, _, err = run("label", p("thr1.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                         "--threads", bad_t, "-o", p("x.npy"))
        check(rc == 2 and "--threads" in err, f"--threads {bad_t}: usage error ({err.strip()})")


def fit_options(p, H, y, W, C, S):
    """fit exposes the builder's parameters: each gives the library's own model file."""
    n, d = H.shape
    cases = [(("--solver", "sketch"), {"solver": "sketch"}),
             (("--solver", "sketch", "--sketch-size", 6), {"solver": "sketch", "sketch_size": 6}),
             (("--precision", "float32"), {"precision": "float32"}),
             (("--gram-form", "off"), {"gram_form": False}),
             (("--entropy-fraction", 0.3), {"entropy_fraction": 0.3}),
             (("--beta-sample", 0), {"beta_sample": 0})]
    for extra, kw in cases:
        rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--head", p("W.npy"),
                         "--subclasses", S, "--batch", n, "--threads", 1, "-o", p("fo.lelp"), *extra)
        b = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, **kw)
        b.update(H, y)
        b.set_head(W)
        b.fit().save(p("fo_ref.lelp"))
        check(rc == 0 and same_file(p("fo.lelp"), p("fo_ref.lelp")),
              f"fit {' '.join(map(str, extra))}: the library's model file ({err.strip()})")
    rc, out, _ = run("info", p("fo.lelp"), "--json")  # the last case kept
    rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S,
                     "--entropy-fraction", 0.3, "-o", p("ef.lelp"))
    rc2, out, _ = run("info", "--model", p("ef.lelp"), "--json")
    check(rc == 0 and rc2 == 0 and abs(json.loads(out)["entropy_fraction"] - 0.3) < 1e-12,
          "fit --entropy-fraction 0.3: info --json reports it")
    for bad in (("--solver", "svd"), ("--precision", "float16"), ("--gram-form", "yes"), ("--sketch-size", -1),
                ("--entropy-fraction", 1.0), ("--beta-sample", -2), ("--solver", "exact", "--sketch-size", 2)):
        rc, _, err = run("fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", S, *bad,
                         "-o", p("bad.lelp"))
        check(rc == 2 and not os.path.exists(p("bad.lelp")),
              f"fit {' '.join(map(str, bad))}: usage error, exit 2 ({err.strip()})")


def model_either_way(p):
    """Every command that reads a model takes it as MODEL or as --model MODEL."""
    base = {"label": ["--embeddings", p("H.npy"), "--labels", p("y.npy"), "-o"],
            "assign": ["--embeddings", p("H.npy"), "--labels", p("y.npy"), "-o"],
            "report": ["--embeddings", p("H.npy"), "--labels", p("y.npy"), "-o"],
            "export": ["-o"], "info": []}
    for cmd, rest in base.items():
        outs = []
        for how in (("pos",), ("opt",), ("both",)):
            m = {"pos": [p("m.lelp")], "opt": ["--model", p("m.lelp")],
                 "both": [p("m.lelp"), "--model", p("m.lelp")]}[how[0]]
            target = p(f"either_{cmd}_{how[0]}") + (".npy" if cmd in ("label", "assign") else "")
            args = [cmd, *m, *rest] + ([target] if rest and rest[-1] == "-o" else [])
            rc, out, err = run_bytes(*args)
            if cmd == "export":
                data = open(os.path.join(target, "components.npy"), "rb").read() if rc == 0 else None
            elif cmd == "info":
                data = out.replace(p("m.lelp").encode(), b"M") if rc == 0 else None
            else:
                data = open(target, "rb").read() if rc == 0 else None
            outs.append(data)
        check(outs[0] is not None and outs[0] == outs[1] == outs[2],
              f"{cmd}: MODEL, --model MODEL and both (the same) give the same output")
        rc, _, err = run(cmd, p("m.lelp"), "--model", p("ef.lelp"), *rest, *([p("x.out")] if rest else []))
        check(rc == 2 and "once" in err, f"{cmd}: two different models: usage error ({err.strip()})")


def standard_output(p):
    """-o - writes to standard output where the output is one stream, is refused (exit 2) where it is not."""
    cases = [("label", ["--embeddings", p("H.npy"), "--logits", p("Z.npy"), "--threads", 1], "std_T.npy"),
             ("assign", ["--embeddings", p("H.npy"), "--labels", p("y.npy")], "std_sub.npy"),
             ("fit", ["--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", 3, "--threads", 2],
              "std.lelp"),
             ("report", ["--embeddings", p("H.npy"), "--labels", p("y.npy")], "std.html")]
    for cmd, args, name in cases:
        model = [] if cmd == "fit" else [p("m.lelp")]
        rc1, _, err1 = run_bytes(cmd, *model, *args, "-o", p(name))
        rc2, out, err2 = run_bytes(cmd, *model, *args, "-o", "-")
        same = rc1 == 0 and rc2 == 0 and out == open(p(name), "rb").read()
        if cmd == "report":  # the report names its output nowhere, but the run's rows: identical
            same = rc1 == 0 and rc2 == 0 and out.startswith(b"<!DOCTYPE html>") and out == open(p(name), "rb").read()
        check(same and not os.path.exists("-"), f"{cmd} -o -: the same bytes on standard output ({err2.strip()})")
    rc, out, err = run_bytes("label", p("m.lelp"), "--embeddings", p("H.npy"), "--logits", p("Z.npy"), "-o", "-")
    import io
    check(rc == 0 and np.load(io.BytesIO(out)).shape == (900, 9), "label -o - | np.load: a valid .npy")
    rc, out, err = run_bytes("export", p("m.lelp"), "-o", "-")
    check(rc == 2 and out == b"" and not os.path.exists("-"), f"export -o -: refused, exit 2 ({err.strip()})")
    rc, out, err = run_bytes("compress", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--dim", 2,
                             "--save", "-")
    check(rc == 2 and out == b"", f"compress --save -: refused, exit 2 ({err.strip()})")


def compress(p, H, y):
    """lelp compress trains the compressor as the library does and applies it."""
    n, d = H.shape
    C = int(y.max()) + 1
    rc, _, err = run("compress", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--dim", 4, "--epochs", 3,
                     "--batch", 128, "--lr", 0.01, "--seed", 5, "--save", p("comp.state"), "-o", p("E4.npy"))
    ref = lelp.Compressor(d, 4, C, lr=0.01, seed=5)
    for _ in range(3):
        for i in range(0, n, 128):
            ref.step(H[i:i + 128], y[i:i + 128])
    E4 = np.load(p("E4.npy")) if rc == 0 else None
    check(rc == 0 and E4.shape == (n, 4) and E4.dtype == np.float32 and
          np.allclose(E4, ref.compress(H), atol=1e-5, rtol=1e-5),
          f"compress: 3 epochs of batches of 128 equal the library's compressor ({err.strip()})")
    check(rc == 0 and "3 epochs" in err and "loss" in err, "compress: one summary line with the epochs and the loss")
    loaded = lelp.Compressor.load(p("comp.state"))
    check(np.allclose(loaded.compress(H), E4, atol=1e-6), "compress --save: the state the library loads")
    rc, _, err = run("compress", p("comp.state"), "--embeddings", p("H.npy"), "--batch", 100, "-o", p("E4b.npy"))
    check(rc == 0 and np.allclose(np.load(p("E4b.npy")), E4, atol=1e-6),
          f"compress STATE: applies the saved compressor ({err.strip()})")
    rc, _, err = run("compress", "--model", p("comp.state"), "--embeddings", p("H.npy"), "--labels", p("y.npy"),
                     "--epochs", 1, "--save", p("comp2.state"))
    check(rc == 0 and os.path.exists(p("comp2.state")), f"compress --model STATE --labels: trains on ({err.strip()})")
    np.save(p("H_narrow.npy"), H[:, :5])
    for args, code, word in [
            (("--embeddings", p("H.npy"), "--labels", p("y.npy"), "-o", p("x.npy")), 2, "--dim"),
            (("--embeddings", p("H.npy"), "--dim", 3, "-o", p("x.npy")), 2, "--labels"),
            (("--embeddings", p("H.npy"), "--labels", p("y.npy"), "--dim", 3), 2, "--save"),
            ((p("comp.state"), "--embeddings", p("H_narrow.npy"), "-o", p("x.npy")), 1, "H_narrow.npy"),
            ((p("m.lelp"), "--embeddings", p("H.npy"), "-o", p("x.npy")), 1, "m.lelp"),
            (("--embeddings", p("H.npy"), "--labels", p("y.npy"), "--dim", 3, "--lr", 0, "-o", p("x.npy")), 2, "--lr"),
            (("--embeddings", p("H.npy"), "--labels", p("y.npy"), "--dim", 3, "--optimizer", "rmsprop",
              "-o", p("x.npy")), 2, "--optimizer")]:
        rc, _, err = run("compress", *args)
        check(rc == code and word in err and not os.path.exists(p("x.npy")),
              f"compress {' '.join(os.path.basename(str(a)) for a in args)}: exit {code} ({err.strip()})")


def hardening(p, H, y, Z):
    """(the model as --model, which the tool has always taken: these tests fail on the tool before
    the fixes for their own reasons) issue 21: interrupted and killed writes, batch sizes past the file, JSON of any file name, messages."""
    n, d = H.shape
    lab = ["label", "--model", p("m.lelp"), "--labels", p("y.npy"), "--embeddings"]
    # stale temporaries of the old naming scheme (OUT.tmp, OUT.tmp1 .. OUT.tmp99) never block a write
    os.makedirs(p("stale"))
    for k in range(100):
        open(p("stale/T.npy.tmp" + (str(k) if k else "")), "w").close()
    rc, _, err = run(*lab, p("H.npy"), "-o", p("stale/T.npy"))
    check(rc == 0 and os.path.exists(p("stale/T.npy")),
          f"100 stale temporaries beside the output do not block a write ({err.strip()})")
    # SIGINT / SIGTERM while a label runs: the temporary goes, the target never appears, the exit is the signal
    N = 200_000
    big = np.random.default_rng(2).normal(size=(N, d)).astype(np.float32)
    np.save(p("sig_H.npy"), big)
    np.save(p("sig_y.npy"), (np.arange(N) % 3).astype(np.int64))
    import signal
    import time
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        os.makedirs(p(f"sig{int(sig)}"))
        target = p(f"sig{int(sig)}/T.npy")
        proc = subprocess.Popen([TOOL, "label", "--model", p("m.lelp"), "--embeddings", p("sig_H.npy"), "--labels",
                                 p("sig_y.npy"), "--batch", "1", "-o", target],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while time.time() - t0 < 20 and not os.listdir(p(f"sig{int(sig)}")) and proc.poll() is None:
            time.sleep(0.01)
        seen = list(os.listdir(p(f"sig{int(sig)}")))
        time.sleep(0.1)
        proc.send_signal(sig)
        rc = proc.wait()
        left = os.listdir(p(f"sig{int(sig)}"))
        if sig == signal.SIGKILL:
            # a killed run leaves its temporary (nothing can remove it); the next write still works
            rc2, _, err = run(*lab, p("H.npy"), "-o", target)
            check(rc == -sig and rc2 == 0 and os.path.exists(target),
                  f"a run killed by SIGKILL ({left}) does not block the next write ({err.strip()})")
        else:
            check(rc == -sig and seen and left == [],
                  f"{signal.Signals(sig).name} during label: dies of it, its temporary {seen} removed ({left})")
    # --batch beyond the file: buffers sized by the rows there are, no overflow, no temporary left
    rc0, _, _ = run(*lab, p("H.npy"), "--threads", 1, "-o", p("b_ref.npy"))
    for batch in (2 ** 61, 10 ** 9, 2 ** 63 - 1):
        for cmd in ("label", "assign", "report", "fit", "compress"):
            out = p(f"b_{cmd}")
            if cmd == "fit":
                args = ["fit", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--subclasses", 3]
            elif cmd == "compress":
                args = ["compress", "--embeddings", p("H.npy"), "--labels", p("y.npy"), "--dim", 2, "--epochs", 1]
            else:
                args = [cmd, "--model", p("m.lelp"), "--embeddings", p("H.npy"), "--labels", p("y.npy")]
            rc, err, rss = run_rusage(*args, "--batch", batch, "-o", out)
            stray = [f for f in os.listdir(os.path.dirname(out)) if ".tmp" in f]
            check(rc == 0 and not stray and rss < 200,
                  f"{cmd} --batch {batch} on a {n}-row file: exit 0, peak RSS {rss:.0f} MiB, no temporary {stray} "
                  f"({err.strip()[-100:]})")
        rc, _, _ = run(*lab, p("H.npy"), "--threads", 1, "--batch", batch, "-o", p("b_lab.npy"))
        check(rc0 == 0 and rc == 0 and np.array_equal(np.load(p("b_lab.npy")), np.load(p("b_ref.npy"))),
              f"label --batch {batch}: the same targets")
    # info --json of any file name: valid JSON; bytes that are not UTF-8 become U+FFFD
    raw_dir = os.fsencode(p(""))
    for name, shown in [(b"caf\xc3\xa9 \"q\" \\ \x01.lelp", "caf\u00e9 \"q\" \\ \x01.lelp"),
                        (b"bad\xff\xfe-\xed\xa0\x80-\xc0\xaf.lelp", "bad\ufffd\ufffd-\ufffd\ufffd\ufffd-\ufffd\ufffd.lelp")]:
        path = raw_dir + name
        with open(p("m.lelp"), "rb") as src, open(path, "wb") as dst:
            dst.write(src.read())
        r = subprocess.run([os.fsencode(TOOL), b"info", b"--json", path], capture_output=True)
        try:
            doc = json.loads(r.stdout.decode("utf-8"))  # strict UTF-8 and strict JSON
        except ValueError as e:
            doc = {"error": str(e)}
        check(r.returncode == 0 and doc.get("model") == p("") + shown,
              f"info --json of the file name {name!r}: valid UTF-8 JSON, model = {doc.get('model', doc)!r}")
    # messages
    rc, _, err = run(*lab, p("H.npy"), "--smoothing", 1.5, "-o", p("x.npy"))
    check(rc == 2 and "[0, 1)" in err, f"--smoothing 1.5: the message says [0, 1) ({err.strip()})")


COMMANDS = ("fit", "label", "assign", "info", "export", "report", "compress")


def help_options(cmd):
    """the options `lelp CMD --help` lists under options:, one a line"""
    import re
    rc, out, _ = run(cmd, "--help")
    body = out.split("\noptions:\n", 1)[1] if "\noptions:\n" in out else ""
    return {m.group(1) for m in re.finditer(r"^  (?:(?:MODEL|STATE), )?(?:-o, )?(--[a-z-]+)", body, re.M)}


def docs_options():
    """per command, the options of docs/cli.md's option table"""
    import re
    text = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "cli.md"),
                encoding="utf-8").read()
    table = text.split("## Options", 1)[1].split("\n## ", 1)[0]
    per = {c: set() for c in COMMANDS}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        opts = re.findall(r"--[a-z-]+", cells[0])
        for cmd in re.findall(r"[a-z]+", re.sub(r"\(.*?\)", "", cells[1])):
            if cmd in per and opts:
                per[cmd].add(opts[-1] if cells[0].startswith("`-o`") else opts[0])
    return per


def help_matches_docs():
    """docs/cli.md's option table, --help and the parser agree, command by command"""
    docs = docs_options()
    every = set().union(*docs.values())
    for cmd in COMMANDS:
        listed = help_options(cmd)
        check(listed and listed == docs[cmd],
              f"{cmd}: --help lists the options docs/cli.md gives it "
              f"(help only {sorted(listed - docs[cmd])}, docs only {sorted(docs[cmd] - listed)})")
        wrong = []
        for opt in sorted(every):
            _, _, err = run(cmd, opt, "x")
            if ("unknown option" in err) == (opt in listed):
                wrong.append(opt)
        check(not wrong, f"{cmd}: the parser accepts exactly the options --help lists ({wrong})")


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
    check(rc == 0 and all(c in out for c in ("fit", "label", "assign", "info", "export", "report", "compress", "Exit status")),
          "--help exits 0 and lists the commands")
    rc, out, _ = run("--version")
    check(rc == 0 and out.strip() == "lelp " + lelp.version(), "--version")
    for cmd in ("fit", "label", "assign", "info", "export", "report", "compress"):
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
    # every tool at 1, 2 and 8 threads: memory is one batch (plus a builder per thread for fit), not the file
    runs = [("fit", ["fit", "--embeddings", Hp, "--labels", yp, "--subclasses", S, "-o", mp]),
            ("label", ["label", mp, "--embeddings", Hp, "--labels", yp, "-o", Tp]),
            ("assign", ["assign", mp, "--embeddings", Hp, "--labels", yp, "-o", sp])]
    for name, args in runs:
        rss = {}
        for threads in (1, 2, 8):
            rc, err, rss[threads] = run_rusage(*args, "--threads", threads)
            check(rc == 0 and rss[threads] < size_mib / 4,
                  f"{name} --threads {threads} streams a {size_mib:.0f} MiB file with default batches: "
                  f"peak RSS {rss[threads]:.0f} MiB ({err.strip()[-90:]})")
        # fit holds a builder per thread (here ~1.3 MiB each: the beta sample, 4096 rows x d per class)
        allow = {t: 16 + (2 * (t - 1) if name == "fit" else 0) for t in rss}
        check(all(rss[t] - rss[1] < allow[t] for t in rss),
              f"{name}: peak RSS at 2 and 8 threads within {allow[8]} MiB of one thread's ({rss})")
    T = np.load(Tp, mmap_mode="r")
    check(T.shape == (N, C * S), f"label streams in and out ({T.nbytes / 2**20:.0f} MiB written)")
    # the last rows of the streamed output equal the library's targets for them
    m = lelp.Model.load(mp)
    tail = np.ascontiguousarray(np.load(Hp, mmap_mode="r")[-1000:])
    ytail = (np.arange(N - 1000, N) % C).astype(np.int32)
    check(np.allclose(T[-1000:], m.targets(tail, labels=ytail), atol=1e-6, rtol=0),
          "label: the last streamed batch equals the library's targets")
    sub = np.load(sp, mmap_mode="r")
    check(sub.shape == (N,) and np.array_equal(sub[-1000:], m.assign(tail, ytail)),
          "assign streams: the last rows equal the library's")
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
            steps = [lambda: round_trips(p, H, y, W, Z, C, S), lambda: threads(p, H, y, Z, C, S),
                     lambda: fit_options(p, H, y, W, C, S), lambda: model_either_way(p), lambda: standard_output(p),
                     lambda: compress(p, H, y), lambda: hardening(p, H, y, Z), lambda: report_checks(p, n, C, S),
                     lambda: malformed(p, H, y, W, Z, S), lambda: usage(p, S), lambda: help_matches_docs(),
                     lambda: outputs_kept(p, H, y, Z), lambda: progress_on_a_terminal(p, S)]
            if os.environ.get("LELP_CLI_SKIP_LARGE") != "1":
                steps.append(lambda: bounded_memory(t))
            for step in steps:
                try:  # a step that breaks (a missing output, say) is a failure; the others still run
                    step()
                except Exception as e:  # noqa: BLE001
                    check(False, f"{step.__code__.co_names[0]} raised {type(e).__name__}: {e}")
        finally:
            os.chdir(cwd)
    print(f"check_cli: {'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
