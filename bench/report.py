#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/results.json -> the table of docs/performance.md.

    bench/report.py [results.json]                 prints the table (markdown)
    bench/report.py --write docs/performance.md    replaces the page's table (make bench does this)
    bench/report.py --check docs/performance.md    exit 1 if the page's table is not the rendering
                                                   of bench/results.json (make check)

The table sits between the lines BEGIN and END below; everything else on the
page is prose. Columns: liblelp at one thread and at all threads (with the
speed-up), the peer at the same thread counts, the ratio peer / liblelp (at
all threads where both have the figure, else at one), and the bound with the
fraction of it liblelp reaches (bound time / liblelp time at the same thread
count: 100 % is at the bound). For peak memory, the ratio is the peer's memory
over liblelp's and the bound column is what the exact co-moments would need.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- bench/report.py: table from bench/results.json (make bench regenerates it; do not edit) -->"
END = "<!-- end of the generated table -->"


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "MiB":
        return f"{v:.0f} MiB"
    if unit == "us" or v < 1e-3:
        return f"{v * 1e6:.1f} µs"
    if v < 1.0:
        return f"{v * 1e3:.1f} ms"
    return f"{v:.2f} s"


def at_same_threads(r, a, b):
    """(a, b) figures at all threads if both have one, else at one thread"""
    if r.get(a + "_all") is not None and r.get(b + "_all") is not None:
        return r[a + "_all"], r[b + "_all"]
    if r.get(a + "_1") is not None and r.get(b + "_1") is not None:
        return r[a + "_1"], r[b + "_1"]
    return None, None


def cells(r):
    """one row's cells"""
    unit = r.get("unit", "s")
    lib1, liba = r.get("lib_1"), r.get("lib_all")
    allc = fmt(liba, unit)
    if lib1 is not None and liba is not None and unit != "MiB":
        allc += f" ({lib1 / liba:.2f}×)"
    peer = r.get("peer", "—")
    p1, pa = r.get("peer_1"), r.get("peer_all")
    pcell = "—" if p1 is None and pa is None else f"{fmt(p1, unit)} / {fmt(pa, unit)}"
    lib, pv = at_same_threads(r, "lib", "peer")
    ratio = "—" if lib is None else f"{pv / lib:.2f}×"
    bname = r.get("bound")
    lib_b, bv = at_same_threads(r, "lib", "bound")
    if bname is None:
        bcell = frac = "—"
    elif unit == "MiB":
        bcell = f"{bname}: {fmt(r.get('bound_1') or r.get('bound_all'), unit)}"
        lv = liba if liba is not None else lib1
        frac = f"uses {100 * lv / (r.get('bound_1') or r.get('bound_all')):.1f} %"
    else:
        b1, ba = r.get("bound_1"), r.get("bound_all")
        bcell = f"{bname}: " + (fmt(b1, unit) if ba is None else f"{fmt(b1, unit)} / {fmt(ba, unit)}")
        frac = "—" if lib_b is None else f"{100 * bv / lib_b:.0f} %"
    return [r["step"], r["case"], r["route"], fmt(lib1, unit), allc, peer, pcell, ratio, bcell, frac]


HEAD = ["Step", "Case", "Route", "liblelp, 1 thread", "all threads (speed-up)", "Peer",
        "peer, 1 / all threads", "Ratio", "Bound, 1 / all threads", "Fraction of the bound"]


def model_lines(res):
    """the scaling model's constants and its predictions (docs/performance.md,
    "How it scales past 2 cores")"""
    m = res.get("model")
    if not m or "stream_1_s" not in m or "copy_all_s" not in m:  # a subset run without targets
        return []
    p_meas = m["threads"]
    s1, merge, eig = m["stream_1_s"], m["merge_s"], m["eig_s"]
    lines = ["", "Scaling model (constants from this run; p = threads):", "",
             "| Part | constant | model of T(p) | p = " + " | p = ".join(str(p) for p in (2, 4, 8, 32)) + " |",
             "|---|---|---|---|---|---|---|"]
    floor_fit = m.get("copy_all_s")

    def fit_t(p):
        return max(s1 / p, floor_fit or 0.0) + (p - 1) * merge

    lines.append(f"| exact fit, streaming | one thread {fmt(s1, 's')}, one merge {fmt(merge, 's')}, "
                 f"memory floor {fmt(floor_fit, 's')} | max(T(1)/p, floor) + (p − 1)·merge | "
                 + " | ".join(f"{s1 / fit_t(p):.2f}×" for p in (2, 4, 8, 32)) + " |")
    for step in ("targets", "assign"):
        if f"{step}_1_s" not in m:
            continue
        t1, floor = m[f"{step}_1_s"], m["copy_all_s"] / 2
        lines.append(f"| {step} | one thread {fmt(t1, 's')}, read floor {fmt(floor, 's')} | max(T(1)/p, floor) | "
                     + " | ".join(f"{t1 / max(t1 / p, floor):.2f}×" for p in (2, 4, 8, 32)) + " |")
    meas = [f"exact fit streaming {s1 / m['stream_all_s']:.2f}× (model {s1 / fit_t(p_meas):.2f}×)"]
    for step in ("targets", "assign"):
        if f"{step}_1_s" in m:
            t1, floor = m[f"{step}_1_s"], m["copy_all_s"] / 2
            meas.append(f"{step} {t1 / m[f'{step}_all_s']:.2f}× (model {t1 / max(t1 / p_meas, floor):.2f}×)")
    lines += ["", f"Measured speed-ups at p = {p_meas}: " + ", ".join(meas) + f"; the eigensolve after the merge, "
              f"{fmt(eig, 's')}, does not shard. The floors use this machine's memcpy rate at {p_meas} threads "
              f"(a copy of H: {fmt(m['copy_all_s'], 's')}), so past p = {p_meas} they are what this machine would "
              "give, not what a machine with more memory channels gives."]
    return lines


def render(res):
    m = res["machine"]
    lines = [BEGIN, "",
             f"Machine: {m['cpu']}, {m['cores']} cores; all threads = {m['threads']}. Commit `{res['commit']}`, "
             f"{res['date']}, median of {res['reps']} runs after a warm-up, load average {res['load_before']:.1f} "
             f"before and {res['load_after']:.1f} after the run"
             + (" (BENCH_QUICK sizes)" if res.get("quick") else "") + f". Reproduce: `{res['command']}`.", ""]
    lines.append("| " + " | ".join(HEAD) + " |")
    lines.append("|" + "|".join("---" for _ in HEAD) + "|")
    notes = []
    first = {}
    for k, r in enumerate(res["rows"]):
        first.setdefault(r["step"], k)
    for r in sorted(res["rows"], key=lambda r: first[r["step"]]):  # rows of one step together, in run order
        c = cells(r)
        if r.get("note"):  # one line per step, route and note, listing its cases
            key = (r["step"], r["route"], r["note"])
            hit = next((n for n in notes if n[0] == key), None)
            if hit:
                hit[1].append(r["case"])
            else:
                notes.append((key, [r["case"]]))
        lines.append("| " + " | ".join(c) + " |")
    if notes:
        lines += [""] + [f"- {s}, {rt} ({'; '.join(cs)}): {n}." for (s, rt, n), cs in notes]
    lines += model_lines(res)
    lines += ["", END]
    return "\n".join(lines) + "\n"


def splice(page, table):
    """page with the block between BEGIN and END replaced by table"""
    a, b = page.find(BEGIN), page.find(END)
    if a < 0 or b < a:
        raise ValueError("the page has no generated-table markers")
    return page[:a] + table + page[b + len(END) + 1:]


def main(argv):
    results = os.path.join(ROOT, "bench", "results.json")
    if len(argv) >= 2 and argv[0] in ("--write", "--check"):
        res = json.load(open(argv[2] if len(argv) > 2 else results))
        page = open(argv[1]).read()
        new = splice(page, render(res))
        if argv[0] == "--write":
            open(argv[1], "w").write(new)
            return 0
        if new != page:
            print(f"{argv[1]}: the table is not the rendering of the results; run bench/report.py --write {argv[1]}")
            return 1
        return 0
    sys.stdout.write(render(json.load(open(argv[0] if argv else results))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
