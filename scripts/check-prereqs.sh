#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-prereqs.sh STAMP -- what building liblelp needs: a C compiler ($CC),
# OpenBLAS (cblas.h, cblas_*) and LAPACKE (lapacke.h, LAPACKE_*), through
# $LAPACK_CFLAGS / $LAPACK_LIBS. Installs nothing: when something is missing it
# prints one message naming it and the packages that provide it on
# Debian/Ubuntu, Fedora and Arch, and fails. On success it writes STAMP.
set -uo pipefail
stamp=${1:?usage: check-prereqs.sh STAMP}
CC=${CC:-cc}
LAPACK_CFLAGS=${LAPACK_CFLAGS:-}
LAPACK_LIBS=${LAPACK_LIBS:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
missing=()

# $1: program text; compiled (and linked with $LAPACK_LIBS when $2 = link)
try() {
    printf '%s\n' "$1" > "$tmp/t.c"
    if [ "${2:-}" = link ]; then
        # shellcheck disable=SC2086
        $CC $LAPACK_CFLAGS "$tmp/t.c" -o "$tmp/t" $LAPACK_LIBS -lm >/dev/null 2>&1
    else
        # shellcheck disable=SC2086
        $CC $LAPACK_CFLAGS -c "$tmp/t.c" -o "$tmp/t.o" >/dev/null 2>&1
    fi
}

if ! command -v "${CC%% *}" >/dev/null 2>&1 || ! try 'int main(void) { return 0; }' \
   || ! LAPACK_LIBS= try 'int main(void) { return 0; }' link; then
    missing+=("a working C compiler and C library (CC=$CC)")
fi
if [ ${#missing[@]} -eq 0 ]; then
    try '#include <cblas.h>
int main(void) { double x = 1.0; return (int)cblas_ddot(1, &x, 1, &x, 1) - 1; }' link \
        || missing+=("OpenBLAS (cblas.h and libopenblas, LAPACK_LIBS='$LAPACK_LIBS')")
    try '#include <lapacke.h>
int main(void) { double a = 1.0, w; return LAPACKE_dsyev(LAPACK_COL_MAJOR, (char)78, (char)85, 1, &a, 1, &w); }' link \
        || missing+=("LAPACKE (lapacke.h and liblapacke, LAPACK_LIBS='$LAPACK_LIBS')")
fi

if [ ${#missing[@]} -gt 0 ]; then
    {
        msg=""
        for m in "${missing[@]}"; do msg+="${msg:+; }$m"; done
        echo "liblelp: cannot build: missing $msg." 
        echo "  Debian/Ubuntu: apt-get install gcc make pkg-config libopenblas-dev liblapacke-dev   (or: make deps)"
        echo "  Fedora:        dnf install gcc make pkgconf-pkg-config openblas-devel lapack-devel"
        echo "  Arch:          pacman -S gcc make pkgconf openblas lapacke"
        echo "  (another BLAS/LAPACK: make LAPACK_CFLAGS=... LAPACK_LIBS=...)"
    } >&2
    exit 1
fi
mkdir -p "$(dirname "$stamp")"
printf '%s\n' "CC=$CC" "LAPACK_CFLAGS=$LAPACK_CFLAGS" "LAPACK_LIBS=$LAPACK_LIBS" > "$stamp"
