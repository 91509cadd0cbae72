#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# header-symbols.sh -- the sorted names of the functions include/lelp.h declares
# (one per line). Preprocessed, so comments and macros do not count; typedefs
# (the allocator callback types) are skipped; each remaining declaration
# contributes the lelp_ name in front of its first parenthesis.
set -euo pipefail
cd "$(dirname "$0")/.."
${CC:-cc} -E -P -DLELP_STATIC include/lelp.h | tr '\n' ' ' | tr ';' '\n' \
  | grep -v '^[[:space:]]*typedef\b' \
  | sed -n 's/^[^(]*\b\(lelp_[A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' | sort -u
