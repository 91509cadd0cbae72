#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ABI surface checks, run by `make check`:
#  1. the functions declared in include/lelp.h == the names in liblelp/liblelp.map
#     (no wildcard in its global: section) == abi/liblelp.exports;
#  2. the shared library exports exactly abi/liblelp.exports;
#  3. every global symbol defined in liblelp.a is lelp_ (public) or lelp__ (internal);
#  4. SONAME liblelp.so.<major>, and no executable stack.
# Every mismatch is printed; the script fails if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
major=$(sed -n 's/^#define LELP_VERSION_MAJOR \([0-9]*\).*/\1/p' include/lelp.h)
minor=$(sed -n 's/^#define LELP_VERSION_MINOR \([0-9]*\).*/\1/p' include/lelp.h)
patch=$(sed -n 's/^#define LELP_VERSION_PATCH \([0-9]*\).*/\1/p' include/lelp.h)
so=$BUILD/liblelp.so.$major.$minor.$patch
map=liblelp/liblelp.map
for f in "$so" "$BUILD/liblelp.a" "$map" abi/liblelp.exports; do
    [ -f "$f" ] || { echo "check_exports: $f missing" >&2; exit 1; }
done
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash scripts/header-symbols.sh > "$tmp/header"
[ -s "$tmp/header" ] || { echo "check_exports: no functions found in include/lelp.h" >&2; exit 1; }
# names between "global:" and "local:" in the version script
sed -n '/global:/,/local:/p' "$map" | sed 's/\/\*.*\*\///' | grep -oE '[A-Za-z0-9_*?]+;' | tr -d ';' | sort > "$tmp/map"
if grep -q '[*?]' "$tmp/map"; then
    echo "check_exports: wildcard in the global: section of $map" >&2; fail=1
fi
diff -u --label include/lelp.h --label "$map" "$tmp/header" "$tmp/map" \
  || { echo "check_exports: include/lelp.h and $map disagree (run scripts/gen-map.sh)" >&2; fail=1; }
diff -u --label include/lelp.h --label abi/liblelp.exports "$tmp/header" abi/liblelp.exports \
  || { echo "check_exports: include/lelp.h and abi/liblelp.exports disagree (run scripts/gen-map.sh)" >&2; fail=1; }

nm -D --defined-only "$so" | awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" {print $3}' | sed 's/@.*//' | sort -u > "$tmp/dynsym"
diff -u --label "$so" --label abi/liblelp.exports "$tmp/dynsym" abi/liblelp.exports \
  || { echo "check_exports: the symbols $so exports differ from abi/liblelp.exports" >&2; fail=1; }
# every export carries the version node of the map
unversioned=$(nm -D --defined-only --with-symbol-versions "$so" 2>/dev/null \
  | awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" && $3 !~ /@@?LIBLELP_/ {print $3}' || true)
[ -z "$unversioned" ] || { echo "check_exports: exports without a LIBLELP_ version: $unversioned" >&2; fail=1; }

bad=$(nm --defined-only "$BUILD/liblelp.a" | awk '$2 ~ /^[TDBRCGSVWiu]$/ {print $3}' | grep -v '^lelp_' | sort -u || true)
[ -z "$bad" ] || { echo "check_exports: globals in liblelp.a without the lelp_/lelp__ prefix:" $bad >&2; fail=1; }

# (tool output is captured first: `tool | grep -q` under pipefail fails at random on SIGPIPE)
dyn=$(objdump -p "$so")
grep -qE "^ *SONAME +liblelp\.so\.$major\$" <<<"$dyn" \
  || { echo "check_exports: SONAME is not liblelp.so.$major:" $(grep SONAME <<<"$dyn") >&2; fail=1; }
phdrs=$(readelf -lW "$so")
stack=$(grep GNU_STACK <<<"$phdrs" || true)
if [ -z "$stack" ] || grep -q 'RWE' <<<"$stack"; then
    echo "check_exports: no GNU_STACK header or an executable stack: $stack" >&2; fail=1
fi
grep -q GNU_RELRO <<<"$phdrs" || { echo "check_exports: no RELRO segment" >&2; fail=1; }
dflags=$(readelf -dW "$so")
grep -qE 'BIND_NOW|FLAGS.*NOW' <<<"$dflags" || { echo "check_exports: not linked with -z now" >&2; fail=1; }

[ $fail -eq 0 ] && echo "check_exports: ok ($(wc -l < abi/liblelp.exports) symbols = header = map, SONAME liblelp.so.$major, RELRO/NOW, non-executable stack)"
exit $fail
