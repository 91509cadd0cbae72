#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make check-bench-report: bench/report.py (results.json -> the table of
docs/performance.md) on a committed sample with known figures, the splice
into a page, and that docs/performance.md holds the rendering of
bench/results.json. Fast: no benchmark runs (make bench is not part of make check)."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import report  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


sample = json.load(open(os.path.join(ROOT, "bench", "testdata", "results-sample.json")))
table = report.render(sample)
rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Step")]
check(len(rows) == len(sample["rows"]), f"one table row per result row ({len(rows)})")
cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
fit, stream, loss, mem = cells
check(fit[3] == "4.00 s" and fit[4] == "2.00 s (2.00×)", f"exact fit: 1 thread, all threads and speed-up {fit[3:5]}")
check(fit[7] == "2.50×", f"ratio at all threads = peer 5 s / liblelp 2 s: {fit[7]}")
check(fit[9] == "50 %", f"fraction of the bound at all threads = 1 s / 2 s: {fit[9]}")
check(stream[5] == "—" and stream[7] == "—", "a row without a peer has no ratio")
check(loss[3] == "10.0 µs" and loss[7] == "20.00×", f"loss in µs, ratio at one thread: {loss[3]}, {loss[7]}")
check(loss[9] == "60 %", f"loss: bound 6 µs / 10 µs: {loss[9]}")
check(mem[3] == "32 MiB" and mem[9] == "uses 12.5 %", f"memory against what the exact co-moments need: {mem[9]}")
check("Commit `abc1234`" in table and "Reproduce: `make bench`" in table and "load average 0.5" in table,
      "the table states the commit, the command and the load")
check("- exact fit, streaming part, default (float64) (N=10 d=4): the updates." in table, "notes listed under the table")

page = "# Title\n\nintro\n\n" + report.BEGIN + "\nold table\n" + report.END + "\n\nprose after\n"
new = report.splice(page, table)
check(new.startswith("# Title\n\nintro\n\n") and new.endswith("\n\nprose after\n") and "old table" not in new,
      "the splice replaces only the generated block")
check(report.splice(new, table) == new, "the splice is idempotent")
try:
    report.splice("no markers\n", table)
    check(False, "a page without markers is refused")
except ValueError:
    check(True, "a page without markers is refused")

docs = os.path.join(ROOT, "docs", "performance.md")
check(report.main(["--check", docs]) == 0, "docs/performance.md holds the rendering of bench/results.json")
stale = dict(json.load(open(os.path.join(ROOT, "bench", "results.json"))))
stale["commit"] = "0000000"
tmp = os.path.join(ROOT, "build", "stale-results.json")
os.makedirs(os.path.dirname(tmp), exist_ok=True)
json.dump(stale, open(tmp, "w"))
check(report.main(["--check", docs, tmp]) == 1, "--check fails on a page that does not match the results")

if failures:
    print(f"check_bench_report: {len(failures)} failed")
    sys.exit(1)
print("check_bench_report: all passed")
