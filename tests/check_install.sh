#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install into a scratch DESTDIR (PREFIX=/opt/lelp) with every package
# manager on PATH replaced by one that records its call (make and make install
# must not install anything), then build and run a program against the
# installed header and libraries: through pkg-config (shared; liblelp.a with
# Libs.private; a fully static `cc -static` executable) and through CMake
# (find_package(lelp 0.1 CONFIG REQUIRED), lelp::lelp and lelp::lelp_static);
# the man page is installed and renders; make uninstall removes every
# installed file. Run by `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CC=${CC:-cc}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/opt/lelp
mkdir -p "$dest/fakebin"
for pm in apt-get apt dpkg dpkg-query dnf yum pacman zypper apk sudo; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/pm-calls"\nexit 1\n' "$pm" "$dest" > "$dest/fakebin/$pm"
    chmod +x "$dest/fakebin/$pm"
done
PATH="$dest/fakebin:$PATH" make --no-print-directory -s all BUILD="$BUILD" >/dev/null
PATH="$dest/fakebin:$PATH" make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$dest" PREFIX=$prefix >/dev/null
if [ -s "$dest/pm-calls" ]; then
    echo "check_install: make / make install ran a package manager:" >&2; cat "$dest/pm-calls" >&2; exit 1
fi
for f in include/lelp.h lib/liblelp.a lib/liblelp.so lib/liblelp.so.0 lib/pkgconfig/lelp.pc \
         lib/cmake/lelp/lelpConfig.cmake lib/cmake/lelp/lelpConfigVersion.cmake share/man/man1/lelp.1; do
    [ -e "$dest$prefix/$f" ] || { echo "check_install: $prefix/$f not installed" >&2; exit 1; }
done
[ "$(readlink "$dest$prefix/lib/liblelp.so.0")" = "$(basename "$(ls "$dest$prefix"/lib/liblelp.so.*.*.*)")" ] \
  || { echo "check_install: liblelp.so.0 does not point at the versioned library" >&2; exit 1; }
grep -qx "prefix=$prefix" "$dest$prefix/lib/pkgconfig/lelp.pc" \
  || { echo "check_install: lelp.pc does not carry prefix=$prefix" >&2; exit 1; }
export PKG_CONFIG_PATH="$dest$prefix/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$dest"
cat > "$dest/t.c" <<'C'
#include <lelp.h>
#include <stdio.h>
int main(void)
{
    lelp_loss* l = NULL;
    if (lelp_loss_create(&l, 2, 3, NULL) != LELP_OK) return 1;
    lelp_loss_free(l);
    printf("liblelp %s\n", lelp_version_string());
    return lelp_version_number() == LELP_VERSION_NUMBER ? 0 : 2;
}
C
$CC -std=c99 "$dest/t.c" $(pkg-config --cflags --libs lelp) -Wl,-rpath,"$dest$prefix/lib" -o "$dest/t_shared"
"$dest/t_shared"
# (ldd's output is captured first: `ldd | grep -q` under pipefail fails at random on SIGPIPE)
deps=$(ldd "$dest/t_shared")
grep -q "liblelp.so.0 => $dest" <<<"$deps" \
  || { echo "check_install: the shared binary does not use the installed .so:" >&2; echo "$deps" >&2; exit 1; }
$CC -std=c99 "$dest/t.c" $(pkg-config --cflags lelp) "$dest$prefix/lib/liblelp.a" \
    $(pkg-config --static --libs lelp | sed 's/-llelp//') -o "$dest/t_static"
"$dest/t_static"
deps=$(ldd "$dest/t_static")
if grep -q liblelp <<<"$deps"; then
    echo "check_install: the static binary still needs liblelp.so" >&2; exit 1
fi
# Fully static: `cc -static` with nothing but pkg-config's --static line (a fit,
# so LAPACK and OpenBLAS's Fortran runtime are linked in and run).
! grep -q 'example.invalid' "$dest$prefix/lib/pkgconfig/lelp.pc" || { echo "check_install: placeholder in lelp.pc" >&2; exit 1; }
$CC -std=c11 -static examples/minimal.c $(pkg-config --cflags lelp) $(pkg-config --static --libs lelp) -o "$dest/t_full_static"
! readelf -l "$dest/t_full_static" | grep -q 'INTERP' \
  || { echo "check_install: cc -static did not give a static executable" >&2; exit 1; }
OPENBLAS_NUM_THREADS=1 "$dest/t_full_static" | grep -q 'held-out accuracy' \
  || { echo "check_install: the fully static example did not run" >&2; exit 1; }
# CMake: a consumer of both imported targets
if command -v cmake >/dev/null; then
    mkdir -p "$dest/cm"
    cat > "$dest/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.13)
project(lelp_consumer C)
find_package(lelp 0.1 CONFIG REQUIRED)
add_executable(t_cmake_shared t.c)
target_link_libraries(t_cmake_shared PRIVATE lelp::lelp)
add_executable(t_cmake_static t.c)
target_link_libraries(t_cmake_static PRIVATE lelp::lelp_static)
CM
    cp "$dest/t.c" "$dest/cm/t.c"
    cmake -S "$dest/cm" -B "$dest/cm/b" -DCMAKE_C_COMPILER="${CC%% *}" -DCMAKE_PREFIX_PATH="$dest$prefix" >/dev/null \
      || { echo "check_install: cmake could not configure a find_package(lelp 0.1) consumer" >&2; exit 1; }
    cmake --build "$dest/cm/b" >/dev/null || { echo "check_install: the CMake consumer did not build" >&2; exit 1; }
    "$dest/cm/b/t_cmake_shared" >/dev/null && "$dest/cm/b/t_cmake_static" >/dev/null
    grep -q "liblelp.so.0 => $dest" <<<"$(ldd "$dest/cm/b/t_cmake_shared")" \
      || { echo "check_install: lelp::lelp does not link the installed liblelp.so" >&2; exit 1; }
    ! grep -q liblelp <<<"$(ldd "$dest/cm/b/t_cmake_static")" \
      || { echo "check_install: lelp::lelp_static links liblelp.so" >&2; exit 1; }
    # the version file refuses another minor version before 1.0
    printf 'cmake_minimum_required(VERSION 3.13)\nproject(v C)\nfind_package(lelp 0.2 CONFIG REQUIRED)\n' > "$dest/cm/CMakeLists.txt"
    if cmake -S "$dest/cm" -B "$dest/cm/b2" -DCMAKE_PREFIX_PATH="$dest$prefix" >/dev/null 2>&1; then
        echo "check_install: find_package(lelp 0.2) accepted liblelp 0.1" >&2; exit 1
    fi
    cmake_note="CMake find_package + both targets"
else
    cmake_note="CMake consumer SKIPPED (no cmake)"
fi
if command -v man >/dev/null; then
    MANPATH="$dest$prefix/share/man" man -P cat lelp 2>/dev/null | grep -q 'lelp fit' \
      || { echo "check_install: man lelp does not show the installed page" >&2; exit 1; }
fi
PATH="$dest/fakebin:$PATH" make --no-print-directory -s uninstall BUILD="$BUILD" DESTDIR="$dest" PREFIX=$prefix >/dev/null
[ ! -s "$dest/pm-calls" ] || { echo "check_install: make uninstall ran a package manager" >&2; exit 1; }
left=$(find "$dest$prefix" ! -type d)
[ -z "$left" ] || { echo "check_install: make uninstall left:" $left >&2; exit 1; }
echo "check_install: ok (no package manager; install; pkg-config shared, static, cc -static; $cmake_note; man; uninstall)"
