#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check_cross.sh "EDGE_TRIPLES" "FULL_TRIPLES" "CORE_TESTS" -- make check-cross
# (mk/cross.mk, docs/edge.md):
#  1. the edge test (tests/edge/test_edge.c, liblelp_edge.a only, static) for
#     each EDGE triple under qemu-user; its outputs equal the native run's to
#     the test's tolerances (scripts/compare_dump.py);
#  2. for each FULL triple: the whole library, lelp and the CORE cmocka tests
#     against the target's reference BLAS/LAPACK (make cross-tests), run under
#     qemu (build/<triple>/run), LELP_TEST_LIGHT=1 as under valgrind;
#  3. files across hosts (tests/cross/portable.c): what the native build
#     writes, the target reads, and the reverse; lelp info on the other
#     host's model; the last row of a sparse .npy over 2 GiB (32-bit offsets).
# Prints one line per step and "check-cross: N passed, M failed".
set -uo pipefail
edge_triples=$1 full_triples=$2 core_tests=$3
BUILD=${BUILD:-build}
out=$BUILD/cross-results
rm -rf "$out" && mkdir -p "$out"
pass=0 fail=0 failed=""
mk() { make --no-print-directory -s BUILD="$BUILD" "$@"; }
step() { # name command...
    local name=$1 t0=$SECONDS
    shift
    if "$@" > "$out/$(tr ' /' '__' <<<"$name").log" 2>&1; then
        pass=$((pass + 1)); echo "ok   $name ($((SECONDS - t0)) s)"
    else
        fail=$((fail + 1)); failed="$failed; $name"; echo "FAIL $name ($((SECONDS - t0)) s):"
        tail -n 15 "$out/$(tr ' /' '__' <<<"$name").log" | sed 's/^/     /'
    fi
}
qemu_of() { case $1 in aarch64-*) echo qemu-aarch64 ;; arm-*) echo qemu-arm ;; s390x-*) echo qemu-s390x ;; esac; }

# 1. the edge library
step "edge native" bash -c "make --no-print-directory -s BUILD=$BUILD edge-test && $BUILD/edge/test_edge $out/edge-native.txt"
for t in $edge_triples; do
    step "edge $t build" mk edge-test CROSS="$t-"
    step "edge $t run" bash -c "$(qemu_of "$t") $BUILD/$t/edge/test_edge $out/edge-$t.txt && cat $out/edge-$t.txt > /dev/null"
    step "edge $t = native" /usr/bin/python3 scripts/compare_dump.py "$out/edge-native.txt" "$out/edge-$t.txt"
    grep -h 'test_edge\|compare_dump' "$out/edge_${t}_run.log" "$out/edge_${t}_=_native.log" 2>/dev/null | sed 's/^/     /'
done

# 2./3. the whole library
step "native portable build" mk "$BUILD/cross/portable" "$BUILD/lelp"
step "native portable write" bash -c "mkdir -p $out/native && $BUILD/cross/portable write $out/native"
# a sparse 2 GiB + 128 B .npy whose last row only is data (no disk used)
big=$out/big.npy
step "sparse .npy over 2 GiB" /usr/bin/python3 -c "
import numpy as np
a = np.lib.format.open_memmap('$big', mode='w+', dtype='<f4', shape=((1 << 27) + 8, 4))
a[-1] = [1.5, -2.25, 3.0, 4.125]
a.flush()"
for t in $full_triples; do
    run=$BUILD/$t/run
    step "$t library, lelp, tests build" mk -j2 cross-tests CROSS="$t-"
    for test in $core_tests; do
        step "$t $test" env LELP_TEST_LIGHT=1 timeout 900 "$run" "$BUILD/$t/tests/$test"
    done
    step "$t portable write" bash -c "mkdir -p $out/$t && $run $BUILD/$t/cross/portable write $out/$t"
    step "$t reads native files" "$run" "$BUILD/$t/cross/portable" check "$out/native"
    step "native reads $t files" "$BUILD/cross/portable" check "$out/$t"
    step "$t lelp info on a native model" "$run" "$BUILD/$t/lelp" info "$out/native/exact_model.lelp"
    step "$t .npy over 2 GiB: last row" bash -c "[ \"\$($run $BUILD/$t/cross/portable lastrow $big)\" = '1.5 -2.25 3 4.125' ]"
done

echo
[ -z "$failed" ] || echo "failed:${failed#;}"
echo "check-cross: $pass passed, $fail failed ($SECONDS s)"
[ "$fail" -eq 0 ]
