#!/usr/bin/env bash
# The shared library exports exactly abi/liblelp.exports (= the header's
# functions), has its SONAME and a non-executable stack; every global symbol
# of the static library is lelp_ (public) or lelp__ (internal).
set -euo pipefail
BUILD=${BUILD:-build}
so=$(ls "$BUILD"/liblelp.so.*.*.* | head -n 1)
fail=0
diff <(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sed 's/@.*//' | sort -u) \
     abi/liblelp.exports || { echo "check_exports: exported set differs from abi/liblelp.exports" >&2; fail=1; }
diff <(bash scripts/header-symbols.sh) abi/liblelp.exports \
     || { echo "check_exports: include/lelp.h and abi/liblelp.exports disagree (run scripts/gen-map.sh)" >&2; fail=1; }
bad=$(nm --defined-only "$BUILD/liblelp.a" | awk '$2 ~ /^[TDBRC]$/ {print $3}' | grep -v '^lelp_' || true)
[ -z "$bad" ] || { echo "check_exports: non-lelp_ globals in liblelp.a: $bad" >&2; fail=1; }
major=$(sed -n 's/^#define LELP_VERSION_MAJOR \([0-9]*\).*/\1/p' include/lelp.h)
objdump -p "$so" | grep -q "SONAME *liblelp.so.$major\$" \
     || { echo "check_exports: SONAME is not liblelp.so.$major" >&2; fail=1; }
if readelf -lW "$so" | grep GNU_STACK | grep -q RWE; then
    echo "check_exports: executable stack" >&2; fail=1
fi
[ $fail -eq 0 ] && echo "check_exports: ok ($(wc -l < abi/liblelp.exports) symbols, SONAME liblelp.so.$major)"
exit $fail
