#!/usr/bin/env bash
# include/lelp.h compiles alone as C99 -pedantic and as C++, and keeps the ABI
# rules: no bool, no long, no varargs, no struct layouts.
set -euo pipefail
CC=${CC:-cc}
CXX=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "lelp.h"\nint main(void) { return lelp_version_number() == LELP_VERSION_NUMBER ? 0 : 1; }\n' > "$tmp/c.c"
$CC -std=c99 -pedantic -Werror -Wall -Wextra -Iinclude -c "$tmp/c.c" -o "$tmp/c.o"
printf '#include "lelp.h"\n#include "lelp.h"\nint main() { lelp_model* m = nullptr; lelp_model_free(m); return 0; }\n' > "$tmp/x.cc"
if command -v "$CXX" >/dev/null; then
    $CXX -std=c++11 -Werror -Wall -Wextra -Iinclude -c "$tmp/x.cc" -o "$tmp/x.o"
else
    echo "check_header: $CXX not found; C++ check skipped" >&2
    exit 1
fi
# strip comments, then look for forbidden constructs in the declarations
code=$($CC -fpreprocessed -dD -E -P include/lelp.h 2>/dev/null)
fail=0
for pat in '\bbool\b' '\blong\b' '\.\.\.' 'struct [a-z_]+ *\{' '_Bool'; do
    if grep -En "$pat" <<<"$code"; then echo "check_header: forbidden construct /$pat/" >&2; fail=1; fi
done
[ $fail -eq 0 ] && echo "check_header: ok (C99 -pedantic, C++11, no bool/long/varargs/struct layouts)"
exit $fail
