#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_output.sh BINARY -- runs examples/libtorch_student and checks what it
# prints: liblelp's loss gradient equals libtorch autograd's on the same loss
# (to 1e-4), the loss falls from the first epoch to the last, and the
# student's held-out accuracy is at least 0.75 (chance is 1/3 with 3 classes).
set -euo pipefail
bin=${1:?usage: check_output.sh build/examples/libtorch_student}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$SECONDS
if ! timeout 120 "$bin" > "$out"; then
    cat "$out"; echo "check-libtorch: FAILED: $bin exited with an error" >&2; exit 1
fi
cat "$out"
awk -v secs=$((SECONDS - start)) '
    /^gradient check vs libtorch autograd:/ { gsub(",", ""); dloss = $(NF - 4); dgrad = $NF; grad = 1 }
    /^epoch / { if (first == "") first = $4; last = $4; epochs++ }
    /^student held-out accuracy:/ { acc = $4; seen = 1 }
    END {
        bad = 0
        if (!grad || dloss + 0 > 1e-4 || dgrad + 0 > 1e-4) {
            print "check-libtorch: FAILED: liblelp and libtorch autograd disagree (loss " dloss ", grad " dgrad ")"; bad = 1 }
        if (epochs < 2 || last + 0 >= first + 0) {
            print "check-libtorch: FAILED: the loss did not fall (" first " -> " last " over " epochs " epochs)"; bad = 1 }
        if (!seen || acc + 0 < 0.75) {
            print "check-libtorch: FAILED: held-out accuracy " (seen ? acc : "missing") " < 0.75"; bad = 1 }
        if (!bad) print "check-libtorch: ok (accuracy " acc ", loss " first " -> " last ", grad diff " dgrad ", " secs " s)"
        exit bad
    }' "$out"
