#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs every fenced Python block of the documentation, as written.

    python3 tests/check_doc_python.py [FILE.md ...]
        (default: README.md, docs/*.md, bindings/*/README.md of the repository)

The blocks of one file run in order in one namespace (a page reads top to
bottom), in a fresh interpreter per file whose working directory is an empty
temporary directory, with PYTHONPATH=bindings/python,
LELP_LIBRARY=build/liblelp.so.0 and LD_LIBRARY_PATH=build. A block fenced
```python (or ```py) must run; the only block that may be left out is output,
marked on the line right above its fence with tests/docs/check_docs.py's marker

    <!-- check-docs: output -->

(that checker runs the C and shell blocks; this one the Python blocks).
A block that needs an optional package the machine lacks (torch, dask,
distributed) is reported as SKIPPED with the missing module named; any other
exception fails the file with the block's line and the traceback. Exit status:
0 all ran (or were skipped for a missing optional package), 1 otherwise.
"""
import glob
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUTPUT_MARK = "<!-- check-docs: output -->"  # the marker of tests/docs/check_docs.py
OPTIONAL = {"torch", "dask", "distributed"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


def blocks(path):
    """[(line, language, code, marked_output)] of the fenced blocks of a Markdown file."""
    out, lines = [], open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        marked = i > 0 and lines[i - 1].strip() == OUTPUT_MARK
        j, body = i + 1, []
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        out.append((i + 1, lang, "\n".join(body) + "\n", marked))
        i = j + 1
    return out


def run_file(path):
    """Executes the Python blocks of path in order (in this process); prints
    and returns 0 (ran), 2 (skipped: an optional package is missing) or 1."""
    ns = {"__name__": "__main__", "__file__": path}
    ran = 0
    for line, lang, code, marked in blocks(path):
        if lang not in ("python", "py", "python3"):
            continue
        where = f"{os.path.relpath(path, ROOT)}:{line}"
        if marked:
            print(f"  {where}: output block, not run")
            continue
        try:
            exec(compile(code, where, "exec"), ns)
        except ModuleNotFoundError as e:
            top = (e.name or "").split(".")[0]
            if top in OPTIONAL and importlib.util.find_spec(top) is None:  # the package itself is absent
                print(f"  {where}: SKIPPED: needs {e.name}, which is not installed")
                return 2
            traceback.print_exc()
            print(f"  {where}: FAILED")
            return 1
        except BaseException:  # noqa: B036 -- a block's SystemExit is a failure too
            traceback.print_exc()
            print(f"  {where}: FAILED")
            return 1
        ran += 1
    print(f"  {os.path.relpath(path, ROOT)}: {ran} block(s) ran")
    return 0


def default_files():
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    files += sorted(glob.glob(os.path.join(ROOT, "bindings", "*", "README.md")))
    return [f for f in files if os.path.exists(f)]


def has_python(path):
    return any(lang in ("python", "py", "python3") for _, lang, _, _ in blocks(path))


def main(argv):
    if len(argv) == 3 and argv[1] == "--run":
        return run_file(argv[2])
    files = [os.path.abspath(f) for f in argv[1:]] or default_files()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("LELP_LIBRARY", os.path.join(ROOT, "build", "liblelp.so.0"))
    env["LD_LIBRARY_PATH"] = os.path.join(ROOT, "build") + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    failed, skipped, ran = [], [], 0
    for f in files:
        if not has_python(f):
            continue
        with tempfile.TemporaryDirectory(prefix="lelp-doc-") as tmp:
            try:
                rc = subprocess.run([sys.executable, os.path.abspath(__file__), "--run", f], cwd=tmp, env=env,
                                    timeout=600).returncode
            except subprocess.TimeoutExpired:
                print(f"  {os.path.relpath(f, ROOT)}: FAILED: timed out after 600 s")
                rc = 1
        ran += rc == 0
        (skipped if rc == 2 else failed if rc else []).append(os.path.relpath(f, ROOT))
    print(f"check_doc_python: {ran} file(s) ran every Python block; {len(skipped)} skipped {skipped}; "
          f"{len(failed)} failed {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
