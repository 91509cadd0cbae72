#!/usr/bin/env bash
# make install into a scratch DESTDIR, then build and run a program against
# the installed header and libraries through pkg-config (shared and static).
set -euo pipefail
BUILD=${BUILD:-build}
CC=${CC:-cc}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make --no-print-directory -s install DESTDIR="$dest" PREFIX=/opt/lelp >/dev/null
export PKG_CONFIG_PATH="$dest/opt/lelp/lib/pkgconfig"
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
$CC -std=c99 "$dest/t.c" $(pkg-config --cflags --libs lelp) -Wl,-rpath,"$dest/opt/lelp/lib" -o "$dest/t_shared"
"$dest/t_shared"
$CC -std=c99 "$dest/t.c" $(pkg-config --cflags lelp) "$dest/opt/lelp/lib/liblelp.a" \
    $(pkg-config --static --libs-only-other --libs-only-l lelp | sed 's/-llelp//') -o "$dest/t_static"
"$dest/t_static"
ldd "$dest/t_shared" | grep -q "liblelp.so.0 => $dest" || { echo "check_install: shared binary not using the installed .so" >&2; exit 1; }
echo "check_install: ok (pkg-config shared + static)"
