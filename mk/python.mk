# SPDX-License-Identifier: MIT
# mk/python.mk -- the Python binding (bindings/python, ctypes over the C ABI).
#   make check-python   pytest of bindings/python/tests against build/liblelp.so.0 (run by make check)
# Debian's /usr/bin/python3 with python3-numpy and python3-pytest (installed if
# missing). python3-torch is optional: it is installed if missing, and if that
# fails the torch tests are skipped with their reason shown (-rs), never hidden.
# Nothing is written into the source tree (no bytecode, no pytest cache).
CHECK_HOOKS += check-python
PYTHON_DEPS := python3-numpy python3-pytest
PYTHON_OPT_DEPS := python3-torch
.PHONY: check-python

check-python: $(LIB_SO)
	@bash scripts/ensure-deps.sh $(PYTHON_DEPS)
	@bash scripts/ensure-deps.sh $(PYTHON_OPT_DEPS) || \
	  echo "check-python: $(PYTHON_OPT_DEPS) unavailable; the lelp.torch tests will be SKIPPED"
	@rc=0; PYTHONPATH=$(CURDIR)/bindings/python LELP_LIBRARY=$(CURDIR)/$(LIB_SO) \
	  PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1 \
	  $(PYTHON) -m pytest -q -rs -p no:cacheprovider bindings/python/tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "check-python: FAILED: pytest collected no tests"; exit 1; fi; \
	exit $$rc
