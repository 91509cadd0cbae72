# SPDX-License-Identifier: MIT
# mk/pypkg.mk -- the pip-installable Python package (bindings/python/pyproject.toml,
# setup.py: builds liblelp and bundles liblelp.so.0 in the package).
#   make check-pypkg   pip install into a scratch venv, delete the tree copy,
#                      smoke test from elsewhere (tests/pypkg/check_pypkg.sh; run by make check)
CHECK_HOOKS += check-pypkg
DEPS_EXTRA += python3-venv python3-setuptools python3-wheel
.PHONY: check-pypkg

check-pypkg: $(LIB_SO)
	@$(PYTHON) -c 'import venv, ensurepip, setuptools, wheel' 2>/dev/null || \
	  { echo "check-pypkg: needs python3-venv python3-setuptools python3-wheel (make deps installs them)" >&2; exit 1; }
	@PYTHON=$(PYTHON) BUILD=$(BUILD) bash tests/pypkg/check_pypkg.sh
