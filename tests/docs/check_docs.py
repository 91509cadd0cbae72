#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""check_docs.py -- every fenced C and shell block in README.md and docs/*.md works.

C blocks, by the fence's info string:
  ```c               a complete program: compiled and linked against liblelp.a
  ```c fragment      statements: compiled inside a function of tests/docs/harness.h,
                     whose variables (b, m, H, y, n, d, C, S, ...) they may use
  ```c declarations  prototypes: compiled at file scope after lelp.h, so each must
                     agree with the header's declaration
every one with -std=c11 -Wall -Wextra -Werror.

Shell blocks (```sh) run with bash -e in a scratch directory that looks like
the repository's top level (its entries are symlinks) and also holds small .npy
inputs (H.npy, y.npy, W.npy, Z.npy); build/ is on PATH, the repository is $REPO.
`make` there is a dry run (`make -n`) in the repository: it checks that the
target and its recipe exist; the targets themselves run in make check and CI.
cargo writes to build/cargo. A block preceded by
`<!-- check-docs: skip REASON -->` is not run (e.g. it needs 64 MPI hosts, or
trains for minutes): it is listed with its reason, and every repository path it
names must exist. Output shown to the reader goes in a ```text block; one
preceded by `<!-- check-docs: output -->` must equal what the shell block before
it prints (line by line; `...` in a line matches anything, e.g. a time).

Prints one line per block and "check_docs: N passed, M failed, K skipped".
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
CC = os.environ.get("CC", "cc")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]
FENCE = re.compile(r"^(```+)\s*([A-Za-z0-9_+-]*)\s*(.*)$")
SKIP = re.compile(r"<!--\s*check-docs:\s*(skip\s+.+?|output)\s*-->")


def doc_files():
    files = [os.path.join(REPO, "README.md")]
    ddir = os.path.join(REPO, "docs")
    files += sorted(os.path.join(ddir, f) for f in os.listdir(ddir) if f.endswith(".md"))
    for b in ("python", "rust"):
        p = os.path.join(REPO, "bindings", b, "README.md")
        if os.path.exists(p):
            files.append(p)
    return files


def blocks(path):
    """Yields (line, lang, info, text, skip_reason) for each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i, skip = 0, None
    while i < len(lines):
        m = FENCE.match(lines[i])
        s = SKIP.search(lines[i])
        if s:
            skip = s.group(1)
            if skip.startswith("skip"):
                skip = skip[4:].strip()
        if m:
            ticks, lang, info = m.groups()
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith(ticks):
                body.append(lines[i])
                i += 1
            yield start, lang.lower(), info.strip(), "\n".join(body) + "\n", skip
            skip = None
        elif lines[i].strip() and not s:
            skip = None
        i += 1


def compile_c(src, work, name, link):
    c = os.path.join(work, name + ".c")
    with open(c, "w") as f:
        f.write(src)
    cmd = [CC] + CFLAGS + ["-I" + os.path.join(REPO, "include"), "-I" + os.path.join(REPO, "tests", "docs")]
    if link:
        lib = os.path.join(REPO, BUILD, "liblelp.a")
        libs = os.environ.get("LAPACK_LIBS", "-llapacke -lopenblas").split()
        cmd += [c, lib] + libs + ["-lm", "-lpthread", "-o", os.path.join(work, name)]
    else:
        cmd += ["-c", c, "-o", os.path.join(work, name + ".o")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def check_c(info, text, work, name):
    kind = info.split()[0] if info else "program"
    if kind == "program":
        if "main(" not in text:
            return False, "a ```c block without main(): mark it `c fragment` or `c declarations`"
        return compile_c(text, work, name, link=True)
    if kind == "fragment":
        src = "#include \"harness.h\"\nint doc_fragment(void);\nint doc_fragment(void)\n{\n{\n" + text + \
              "\n}\nreturn 0;\n}\n"
        return compile_c(src, work, name, link=False)
    if kind == "declarations":
        return compile_c("#include <stddef.h>\n#include <stdint.h>\n#include \"lelp.h\"\n" + text, work, name,
                         link=False)
    return False, "unknown C block kind %r (program, fragment, declarations)" % kind


def scratch_inputs(work):
    sys.path.insert(0, os.path.join(REPO, "tests", "docs"))
    import numpy as np
    rng = np.random.default_rng(7)
    n, d, C = 400, 24, 2
    y = np.arange(n, dtype=np.int32) % C
    H = (rng.standard_normal((n, d)) + 3.0 * y[:, None]).astype(np.float32)
    np.save(os.path.join(work, "H.npy"), H)
    np.save(os.path.join(work, "y.npy"), y)
    np.save(os.path.join(work, "W.npy"), rng.standard_normal((C, d)).astype(np.float32))
    np.save(os.path.join(work, "Z.npy"), rng.standard_normal((n, C)).astype(np.float32))
    for e in os.listdir(REPO):
        if not e.startswith(".") and not os.path.exists(os.path.join(work, e)):
            os.symlink(os.path.join(REPO, e), os.path.join(work, e))
    shim = os.path.join(work, ".bin")
    os.makedirs(shim, exist_ok=True)
    # `make -n` would still run recursive $(MAKE) lines: the shim only checks
    # that each target named exists in make's database (make -p, nothing run).
    with open(os.path.join(shim, "make"), "w") as f:
        f.write("""#!/usr/bin/python3
import os, re, subprocess, sys
db = subprocess.run(["%s", "-C", os.environ["REPO"], "-pRrq", "-f", "Makefile", ":"],
                    capture_output=True, text=True).stdout
targets = set(re.findall(r"^([A-Za-z0-9_./-]+):", db, re.M))
bad = [a for a in sys.argv[1:] if not a.startswith("-") and "=" not in a and a not in targets]
if bad:
    sys.exit("make (check-docs shim): no such target: " + " ".join(bad))
""" % shutil.which("make"))
    os.chmod(os.path.join(shim, "make"), 0o755)
    return shim


def check_sh(text, work, shim):
    env = dict(os.environ)
    env["REPO"] = REPO
    env["PATH"] = shim + ":" + os.path.join(REPO, BUILD) + ":/usr/bin:" + env["PATH"]
    env["PYTHONPATH"] = os.path.join(REPO, "bindings", "python")
    env["LELP_LIBRARY"] = os.path.join(REPO, BUILD, "liblelp.so")
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["CARGO_TARGET_DIR"] = os.path.join(REPO, BUILD, "cargo")
    env["LELP_LIB_DIR"] = os.path.join(REPO, BUILD)
    env["LD_LIBRARY_PATH"] = os.path.join(REPO, BUILD)
    r = subprocess.run(["bash", "-e", "-c", text], cwd=work, env=env, capture_output=True, text=True,
                       timeout=600)
    check_sh.stdout = r.stdout
    return r.returncode == 0, (r.stdout + r.stderr)[-2000:]


def same_output(shown, printed):
    """The ```text block equals the output, `...` matching any run of characters."""
    want = [l.rstrip() for l in shown.strip("\n").split("\n")]
    got = [l.rstrip() for l in printed.strip("\n").split("\n")]
    if len(want) != len(got):
        return False
    for w, g in zip(want, got):
        pat = ".*".join(re.escape(part) for part in w.split("..."))
        if not re.fullmatch(pat, g):
            return False
    return True


PATHLIKE = re.compile(r"(?<![\w$/.-])((?:examples|tools|bindings|tests|bench|docs|include|liblelp|scripts)/[\w./-]*\w)")


def check_paths(text):
    """The repository paths a skipped block names exist."""
    missing = [p for p in PATHLIKE.findall(text) if not os.path.exists(os.path.join(REPO, p))]
    return (not missing), ("missing: " + " ".join(missing)) if missing else ""


def main():
    passed = failed = skipped = 0
    last_sh = None
    work = tempfile.mkdtemp(prefix="lelp-docs-")
    try:
        shim = scratch_inputs(work)
        for path in doc_files():
            rel = os.path.relpath(path, REPO)
            for k, (line, lang, info, text, skip) in enumerate(blocks(path)):
                where = "%s:%d" % (rel, line)
                if lang == "text" and skip == "output":
                    ok = last_sh is not None and same_output(text, last_sh)
                    print("%s %s output of the block above" % ("ok  " if ok else "FAIL", where))
                    if ok:
                        passed += 1
                    else:
                        failed += 1
                        print("     shown:\n       " + text.strip().replace("\n", "\n       "))
                        print("     printed:\n       " + (last_sh or "(no shell block ran)").strip()
                              .replace("\n", "\n       "))
                    continue
                if lang not in ("c", "sh"):
                    continue
                last_sh = None
                if skip:
                    ok, err = check_paths(text)
                    print("%s %s (%s)%s" % ("skip" if ok else "FAIL", where, skip, "" if ok else ": " + err))
                    skipped += ok
                    failed += not ok
                    continue
                if lang == "c":
                    ok, err = check_c(info, text, work, "blk%d_%d" % (len(rel), k))
                else:
                    ok, err = check_sh(text, work, shim)
                    last_sh = check_sh.stdout if ok else None
                print("%s %s %s%s" % ("ok  " if ok else "FAIL", where, lang, (" " + info) if info else ""))
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print("     " + err.strip().replace("\n", "\n     "))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("check_docs: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
