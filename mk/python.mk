# SPDX-License-Identifier: MIT
# mk/python.mk -- the Python binding (bindings/python, ctypes over the C ABI).
#   make check-python   pytest of bindings/python/tests against build/liblelp.so.0 (run by make check)
# Debian's /usr/bin/python3 with python3-numpy and python3-pytest (`make deps`).
# python3-torch, python3-dask and python3-distributed are optional (DEPS_OPTIONAL;
# the last two in mk/python-docs.mk): without them the torch and Dask tests are
# skipped with their reason shown (-rs), never hidden.
# Nothing is written into the source tree (no bytecode, no pytest cache).
CHECK_HOOKS += check-python
DEPS_EXTRA += python3-numpy python3-pytest
DEPS_OPTIONAL += python3-torch
.PHONY: check-python

check-python: $(LIB_SO)
	@$(PYTHON) -c 'import numpy, pytest' 2>/dev/null || \
	  { echo "check-python: needs python3-numpy python3-pytest (make deps installs them)" >&2; exit 1; }
	@rc=0; PYTHONPATH=$(CURDIR)/bindings/python LELP_LIBRARY=$(CURDIR)/$(LIB_SO) \
	  PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1 \
	  $(PYTHON) -m pytest -q -rs -p no:cacheprovider bindings/python/tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "check-python: FAILED: pytest collected no tests"; exit 1; fi; \
	exit $$rc
