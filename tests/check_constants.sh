#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bindings' constants against include/lelp.h: bindings/python/lelp/_constants.py
# must be what scripts/gen-constants.py generates from the header, and every
# enum constant must be in bindings/rust/lelp-sys with the header's value (and
# nothing else). The Python package takes every id from _constants.py. Run by
# `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" scripts/gen-constants.py --check
# no parameter id, status code or enum value spelled as a number in the package:
# `_X = 108`, `_X, _Y = 1, 2`, `{"mean": 0}` or `("NullError", -1)`
pkg=bindings/python/lelp/__init__.py
bad=$(grep -nE '^_[A-Z0-9_]+(, *_[A-Z0-9_]+)* *= *\(?[-0-9 ,]+\)?$|^_[A-Z0-9_]+ *= *\{.*": *-?[0-9]+[,}]|Error_?", *-[0-9]+\)' "$pkg" || true)
if [ -n "$bad" ]; then
    echo "check_constants: $pkg spells header constants as numbers (use _constants.py):" >&2
    echo "$bad" >&2
    exit 1
fi
