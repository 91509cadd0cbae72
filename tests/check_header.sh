#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# include/lelp.h alone: compiles as C99 -pedantic -Werror and as C++11 -Werror
# (twice-included), links from C++ against the built shared library (so the
# extern "C" block is right), and keeps the ABI rules: no bool/_Bool, no long,
# no varargs, no struct/union layouts (comments excluded). Run by `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
CXX=${CXX:-g++}
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

printf '#include "lelp.h"\n#include "lelp.h"\nint main(void) { return lelp_version_number() == LELP_VERSION_NUMBER ? 0 : 1; }\n' > "$tmp/c.c"
$CC -std=c99 -pedantic -Werror -Wall -Wextra -Wstrict-prototypes -Iinclude -c "$tmp/c.c" -o "$tmp/c.o" \
  || { echo "check_header: include/lelp.h does not compile as C99 -pedantic -Werror" >&2; fail=1; }

command -v "$CXX" >/dev/null || { echo "check_header: $CXX not found (install g++)" >&2; exit 1; }
printf '#include "lelp.h"\n#include "lelp.h"\nint main() { lelp_model* m = nullptr; lelp_model_free(m); return lelp_version_number() == LELP_VERSION_NUMBER ? 0 : 1; }\n' > "$tmp/x.cc"
if $CXX -std=c++11 -Werror -Wall -Wextra -Iinclude -c "$tmp/x.cc" -o "$tmp/x.o"; then
    if [ -e "$BUILD/liblelp.so" ]; then
        # C++ name mangling would make this link fail without extern "C".
        if $CXX "$tmp/x.o" -L"$BUILD" -llelp -Wl,-rpath,"$PWD/$BUILD" -o "$tmp/x" && "$tmp/x"; then :; else
            echo "check_header: a C++ program cannot link/run against $BUILD/liblelp.so (extern \"C\"?)" >&2; fail=1
        fi
    fi
else
    echo "check_header: include/lelp.h does not compile as C++11 -Werror" >&2; fail=1
fi

# Forbidden constructs, looked for in the comment-free header flattened to one line.
code=$($CC -fpreprocessed -dD -E -P include/lelp.h 2>/dev/null | tr '\n' ' ')
[ -n "$code" ] || { echo "check_header: could not strip the comments of include/lelp.h" >&2; exit 1; }
while IFS='~' read -r pat what; do
    hits=$(grep -oE "$pat" <<<"$code" | sort -u | tr '\n' ' ' || true)
    [ -z "$hits" ] || { echo "check_header: $what in include/lelp.h: $hits" >&2; fail=1; }
done <<'RULES'
\b(bool|_Bool)\b~bool (size differs across compilers/languages)
\blong\b~long (32 or 64 bits depending on the platform)
\.\.\.~varargs (...)
\b(struct|union)[[:space:]]*[A-Za-z_0-9]*[[:space:]]*\{~a struct/union layout (handles must stay opaque)
RULES
[ $fail -eq 0 ] && echo "check_header: ok (C99 -pedantic, C++11 with extern \"C\" link, no bool/long/varargs/struct layouts)"
exit $fail
