#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/results.sh BUILD PYTHON -- the runs of `make results` (mk/results.mk), one
# after the other (the machine's cores go to one run at a time), then
# scripts/results.py writes docs/results.md from their outputs.
set -euo pipefail
BUILD=${1:-build}
PYTHON=${2:-/usr/bin/python3}
RUN=$BUILD/results
rm -rf "$RUN" && mkdir -p "$RUN"
cut -d' ' -f1-3 /proc/loadavg > "$RUN/load"
{ git rev-parse --short=12 HEAD; git status --porcelain --untracked-files=no | head -1; } > "$RUN/commit" 2>/dev/null || true
run() { # NAME COMMAND...: the command as shown on the page, run through env
    local name=$1
    shift
    echo "$*" > "$RUN/$name.cmd"
    echo "results: $*" >&2
    env "$@" > "$RUN/$name.out"
}
demo="$BUILD/examples/fashion_distill --data $BUILD/data"
run demo OPENBLAS_NUM_THREADS=2 $demo
run demo_mlp OPENBLAS_NUM_THREADS=2 $demo --student mlp
run demo_binary OPENBLAS_NUM_THREADS=2 $demo --teacher binary
run torch PYTHONPATH=bindings/python LELP_LIBRARY=$BUILD/liblelp.so.0 "$PYTHON" examples/torch_student.py
run compression PYTHONPATH=bindings/python LELP_LIBRARY=$BUILD/liblelp.so.0 "$PYTHON" examples/compression_demo.py
"$PYTHON" scripts/results.py "$RUN" docs/results.md
echo "results: wrote docs/results.md" >&2
