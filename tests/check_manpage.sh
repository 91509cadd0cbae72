#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lelp(1) (docs/lelp.1) and the CLI's --help stay in step: the commands listed
# by `lelp --help` are the man page's COMMANDS subsections, and for each one
# the options `lelp CMD --help` prints are the options its subsection
# documents (both ways); `lelp --help`'s own options are in GLOBAL OPTIONS.
# Nothing is hard-coded: a new option or command in either place fails here
# until the other has it. Also: the page renders without groff warnings.
# Run by `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tool=$BUILD/lelp
[ -x "$tool" ] || { echo "check_manpage: $tool not built" >&2; exit 1; }
PYTHONDONTWRITEBYTECODE=1 ${PYTHON:-/usr/bin/python3} - "$tool" docs/lelp.1 <<'PY'
import re, subprocess, sys
tool, page = sys.argv[1], sys.argv[2]
OPT = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")

def help_text(*args):
    r = subprocess.run([tool, *args, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"check_manpage: `lelp {' '.join(args)} --help` exited {r.returncode}")
    return r.stdout + r.stderr

top = help_text()
m = re.search(r"^commands:\n((?:[ \t]+\S.*\n)+)", top, re.M)
if not m:
    sys.exit("check_manpage: no 'commands:' list in `lelp --help`")
commands = [line.split()[0] for line in m.group(1).splitlines()]

# roff -> text: \- is '-', font escapes go, comments go
text = open(page, encoding="utf-8").read()
text = "\n".join(l for l in text.splitlines() if not l.startswith('.\\"'))
text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\(<=", "<=").replace("\\(mu", "x")
sections, current, name = {}, None, None
for line in text.splitlines():
    if line.startswith(".SH "):
        name = line[4:].strip().strip('"')
        current = sections.setdefault(("SH", name), [])
    elif line.startswith(".SS ") and name == "COMMANDS":
        current = sections.setdefault(("SS", line[4:].strip().strip('"')), [])
    elif current is not None:
        current.append(line)
man_commands = [k[1] for k in sections if k[0] == "SS"]

errors = []
def compare(where, helped, documented):
    for o in sorted(helped - documented):
        errors.append(f"{where}: {o} is in --help but not in the man page")
    for o in sorted(documented - helped):
        errors.append(f"{where}: {o} is in the man page but not in --help")

for c in sorted(set(commands) - set(man_commands)):
    errors.append(f"command {c!r} is in `lelp --help` but has no .SS section in {page}")
for c in sorted(set(man_commands) - set(commands)):
    errors.append(f"command {c!r} has a .SS section in {page} but is not in `lelp --help`")
# the top-level help's own options (the commands' lists are checked below)
compare("lelp", set(OPT.findall(top.replace(m.group(1), ""))) - {"-o"} | {"--help"},
        set(OPT.findall("\n".join(sections.get(("SH", "GLOBAL OPTIONS"), [])))))
synopsis = "\n".join(sections.get(("SH", "SYNOPSIS"), []))
total = 0
for c in commands:
    helped = set(OPT.findall(help_text(c))) - {"--help"}
    documented = set(OPT.findall("\n".join(sections.get(("SS", c), []))))
    compare(f"lelp {c}", helped, documented)
    total += len(helped)
    if f"lelp {c}" not in synopsis.replace("\n.B ", " ").replace(".B ", ""):
        errors.append(f"command {c!r} is not in the SYNOPSIS")
if errors:
    print("\n".join("check_manpage: " + e for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"check_manpage: {len(commands)} commands, {total} options in step with --help")
PY
if command -v groff >/dev/null; then
    warn=$(groff -man -ww -z docs/lelp.1 2>&1)
    [ -z "$warn" ] || { echo "check_manpage: groff warnings:" >&2; echo "$warn" >&2; exit 1; }
fi
