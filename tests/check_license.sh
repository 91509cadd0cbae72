#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every tracked source, header and script carries an SPDX line in its first
# three lines, and the LICENSE file is the MIT text the manifests declare.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -q '^MIT License$' LICENSE || { echo "check_license: LICENSE is not the MIT text" >&2; exit 1; }
bad=0
while IFS= read -r f; do
    [ -f "$f" ] || continue
    if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
        echo "check_license: no SPDX line: $f" >&2; bad=1
    fi
done < <(git ls-files 2>/dev/null | grep -E '\.(c|h|cpp|hpp|py|rs|sh|mk|toml|cmake)$|(^|/)Makefile$|^\.ci/run$' \
         || find . -path ./build -prune -o -type f \( -name '*.[ch]' -o -name '*.py' -o -name '*.rs' -o -name '*.sh' \) -print)
[ $bad -eq 0 ] && echo "check_license: ok"
