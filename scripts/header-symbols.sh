#!/usr/bin/env bash
# header-symbols.sh -- the sorted names of the functions include/lelp.h exports.
set -euo pipefail
cd "$(dirname "$0")/.."
cc -E -P -DLELP_STATIC include/lelp.h | tr '\n' ' ' | tr ';' '\n' \
  | grep -oE '\blelp_[a-z0-9_]+ *\(' | grep -v '^lelp_[a-z_]*_fn' | tr -d ' (' | sort -u
