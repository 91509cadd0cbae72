#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python package route of docs/python.md, as a user takes it:
#   python3 -m venv --system-site-packages V
#   V/bin/pip install --no-build-isolation ./bindings/python
# from a copy of this source tree (its built objects copied too, so `make lib`
# inside has nothing to redo), then the copy is deleted and a smoke test runs
# from another directory with LELP_LIBRARY, PYTHONPATH and LD_LIBRARY_PATH
# unset: lelp imports, loads the liblelp.so.0 bundled in the venv, reports
# the header's version as lelp.__version__, fits a model whose targets match
# NumPy, and declares numpy (and the torch extra) in its metadata; with
# LELP_LIBRARY set, that library is loaded instead.
# No network: --no-index, setuptools and numpy from the system.
# Run by `make check` (mk/pypkg.mk).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/usr/bin/python3}
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree_lib=$(cd "$BUILD" && pwd)/liblelp.so.0
version=$(sed -n 's/^#define LELP_VERSION_STRING "\(.*\)"/\1/p' include/lelp.h)

mkdir -p "$tmp/src/build"
tar -C . --exclude=./build --exclude=./.git -cf - . | tar -C "$tmp/src" -xf -
for f in "$BUILD"/static "$BUILD"/shared "$BUILD"/liblelp.a "$BUILD"/liblelp.so* "$BUILD"/.prereqs-*; do
    [ -e "$f" ] && cp -a "$f" "$tmp/src/build/"
done
"$PYTHON" -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/pip" install -v --no-build-isolation --no-index "$tmp/src/bindings/python" \
  > "$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; echo "check_pypkg: pip install failed" >&2; exit 1; }
grep -E '^(cc|gcc|clang) ' "$tmp/pip.log" | sed 's/^/check_pypkg: compiled: /' | cut -c1-120 || true
rm -rf "$tmp/src"
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
env -u LELP_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1 \
  "$tmp/venv/bin/python" - "$version" "$tmp/venv" <<'PY'
import importlib.metadata as md, os, sys
import numpy as np
import lelp, lelp._lib
version, venv = sys.argv[1], os.path.realpath(sys.argv[2])
assert lelp.__version__ == version, (lelp.__version__, version)
path = os.path.realpath(lelp._lib.LIB.path)
assert path.startswith(venv + os.sep) and os.path.dirname(path) == os.path.dirname(os.path.realpath(lelp.__file__)), path
assert md.version("lelp") == version, md.version("lelp")
requires = md.requires("lelp") or []
assert any(r.split(";")[0].strip() == "numpy" for r in requires), requires
assert any(r.startswith("torch") and "extra == 'torch'" in r.replace('"', "'") for r in requires), requires
pkg = os.path.dirname(os.path.realpath(lelp.__file__))
for f in ("py.typed", "_arrays.py", "_threads.py", "dask.py", "torch.py"):  # typed (PEP 561), every module
    assert os.path.isfile(os.path.join(pkg, f)), f
# a fit and its label targets against NumPy: t[c*S+s] = onehot(y)_c * softmax_s(f_{c,s})
rng = np.random.default_rng(1)
n, d, C, S = 400, 6, 2, 3
y = rng.integers(0, C, n).astype(np.int32)
H = (rng.standard_normal((n, d)) + 3.0 * y[:, None]).astype(np.float32)
b = lelp.SubspaceBuilder(dim=d, num_classes=C, subclasses=S, seed=0, beta=1.0)
b.update(H, y)
m = b.fit()
T = m.targets(H, labels=y)
U, off = m.components.astype(np.float64), m.offsets.astype(np.float64)
f = np.einsum("csd,nd->ncs", U, H.astype(np.float64)) - off[None]
f -= f.max(axis=2, keepdims=True)
q = np.exp(f) / np.exp(f).sum(axis=2, keepdims=True)
ref = (np.eye(C)[y][:, :, None] * q).reshape(n, C * S)
err = float(np.abs(T - ref).max())
assert err < 1e-5, err
print(f"check_pypkg: ok (lelp {lelp.__version__} from {path}; targets vs NumPy max |err| {err:.1e})")
PY
# $LELP_LIBRARY still overrides the bundled library (an explicit choice)
LELP_LIBRARY="$tree_lib" PYTHONDONTWRITEBYTECODE=1 "$tmp/venv/bin/python" -c \
  'import os, lelp._lib as L; assert L.LIB.path == os.environ["LELP_LIBRARY"], L.LIB.path' \
  || { echo "check_pypkg: LELP_LIBRARY did not override the bundled library" >&2; exit 1; }
echo "check_pypkg: LELP_LIBRARY overrides the bundled library"
