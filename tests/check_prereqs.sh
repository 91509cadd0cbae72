#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make` with a missing compiler, or without a usable LAPACKE / OpenBLAS, stops
# before compiling anything with one message that names what is missing and
# the packages on Debian/Ubuntu, Fedora and Arch, and calls no package manager
# (each one on PATH is replaced by a stub that records its call). The
# LAPACKE / OpenBLAS cases hide the real headers behind ones that #error.
# Run by `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fakebin" "$tmp/nolapacke" "$tmp/noblas"
for pm in apt-get apt dpkg dpkg-query dnf yum pacman zypper apk sudo; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/pm-calls"\nexit 1\n' "$pm" "$tmp" > "$tmp/fakebin/$pm"
    chmod +x "$tmp/fakebin/$pm"
done
echo '#error hidden by check_prereqs' > "$tmp/nolapacke/lapacke.h"
echo '#error hidden by check_prereqs' > "$tmp/noblas/cblas.h"
cflags=$(pkg-config --cflags lapacke openblas 2>/dev/null || true)

# $1: label, $2: what the message must name; the rest: make arguments
expect_stop() {
    local label=$1 want=$2; shift 2
    local out rc=0
    out=$(PATH="$tmp/fakebin:$PATH" make --no-print-directory BUILD="$tmp/build-$label" "$@" lib 2>&1) || rc=$?
    [ $rc -ne 0 ] || { echo "check_prereqs: $label: make succeeded" >&2; exit 1; }
    [ "$(grep -c 'cannot build' <<<"$out")" -eq 1 ] || { echo "check_prereqs: $label: not one message:" >&2; echo "$out" >&2; exit 1; }
    for w in "$want" "Debian/Ubuntu:" "Fedora:" "Arch:" libopenblas-dev liblapacke-dev openblas-devel lapacke; do
        grep -qF -- "$w" <<<"$out" || { echo "check_prereqs: $label: message lacks '$w':" >&2; echo "$out" >&2; exit 1; }
    done
    if grep -qE '(^| )-c liblelp/' <<<"$out" || [ -n "$(find "$tmp/build-$label" -name '*.o' 2>/dev/null)" ]; then
        echo "check_prereqs: $label: compiled before stopping" >&2; exit 1
    fi
}
expect_stop no-compiler "a working C compiler" CC="$tmp/no-such-cc"
expect_stop no-lapacke "LAPACKE" LAPACK_CFLAGS="-I$tmp/nolapacke $cflags"
expect_stop no-openblas "OpenBLAS" LAPACK_CFLAGS="-I$tmp/noblas $cflags"
[ ! -s "$tmp/pm-calls" ] || { echo "check_prereqs: a package manager was called:" >&2; cat "$tmp/pm-calls" >&2; exit 1; }
echo "check_prereqs: ok (missing compiler, LAPACKE, OpenBLAS: one message each, no package manager, nothing compiled)"
