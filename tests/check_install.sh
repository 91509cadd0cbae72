#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install into a scratch DESTDIR (PREFIX=/opt/lelp), then build and run a
# program against the installed header and libraries through pkg-config
# (shared, and static with Libs.private), then make uninstall removes every
# installed file. Run by `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CC=${CC:-cc}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/opt/lelp
make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$dest" PREFIX=$prefix >/dev/null
for f in include/lelp.h lib/liblelp.a lib/liblelp.so lib/liblelp.so.0 lib/pkgconfig/lelp.pc; do
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
make --no-print-directory -s uninstall BUILD="$BUILD" DESTDIR="$dest" PREFIX=$prefix >/dev/null
left=$(find "$dest$prefix" ! -type d)
[ -z "$left" ] || { echo "check_install: make uninstall left:" $left >&2; exit 1; }
echo "check_install: ok (install, pkg-config shared + static, uninstall)"
