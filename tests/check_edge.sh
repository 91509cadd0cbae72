#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The edge library (make edge, docs/edge.md) and each small-target switch:
# every variant is built from EDGE_SRCS at -Os, shows no BLAS/LAPACK/Fortran
# symbol, links tests/edge/test_edge.c with libc and libm only, and passes it;
# the switches visibly do what they say (no stdio symbol, no TLS section, no
# message text). Prints the text size of each variant.
set -euo pipefail
BUILD=${BUILD:-build}
make_q() { make --no-print-directory -s BUILD="$BUILD" "$@"; }
fail() { echo "check_edge: FAIL: $*" >&2; exit 1; }

# name | defines
variants=(
  "edge|"
  "edge-no-stdio|-DLELP_NO_STDIO"
  "edge-no-tls|-DLELP_NO_TLS"
  "edge-no-error-strings|-DLELP_NO_ERROR_STRINGS"
  "edge-minimal|-DLELP_NO_STDIO -DLELP_NO_TLS -DLELP_NO_ERROR_STRINGS"
)
for v in "${variants[@]}"; do
    name=${v%%|*} defs=${v#*|}
    dir=$BUILD/$name
    make_q edge-test EDGE_DIR="$dir" EDGE_DEFS="$defs"
    lib=$dir/liblelp_edge.a
    undef=$(nm -u "$lib" | awk 'NF == 2 { print $2 }' | sort -u)
    if grep -E '^(cblas_|LAPACKE_|[sdcz](gemm|syrk|syevr?d?|gesvd)_|openblas|_gfortran|lapack|blas)' <<<"$undef"; then
        fail "$lib references BLAS/LAPACK/Fortran"
    fi
    # everything still undefined must be lelp's own or libc/libm
    other=$(grep -vE '^(lelp_|lelp__)' <<<"$undef" || true)
    case "$defs" in *LELP_NO_STDIO*)
        if grep -E 'printf|^f(open|write|read|close|puts)$|^stdout$|^stderr$' <<<"$other"; then
            fail "$lib (LELP_NO_STDIO) still calls stdio"
        fi ;;
    esac
    tls=$(readelf -SW "$lib" | grep -cE '\.t(bss|data)' || true)
    case "$defs" in
        *LELP_NO_TLS*) [ "$tls" -eq 0 ] || fail "$lib (LELP_NO_TLS) has a thread-local section" ;;
        *) [ "$tls" -gt 0 ] || fail "$lib: the last-error message is not thread-local" ;;
    esac
    texts=$(strings "$lib" | grep -c ' is NULL' || true)
    case "$defs" in
        *LELP_NO_ERROR_STRINGS*) [ "$texts" -eq 0 ] || fail "$lib (LELP_NO_ERROR_STRINGS) still holds message texts" ;;
        *) [ "$texts" -gt 0 ] || fail "$lib has no message texts" ;;
    esac
    out=$("$dir/test_edge") || { echo "$out"; fail "$dir/test_edge"; }
    text=$(size -t "$lib" | awk '/TOTALS/ { print $1 }')
    echo "check_edge: $name ($defs): text $text bytes; libc calls: $(tr '\n' ' ' <<<"$other")"
    echo "  $out"
done
echo "check_edge: ok (${#variants[@]} variants)"
