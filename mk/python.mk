# SPDX-License-Identifier: MIT
# mk/python.mk -- the Python binding (bindings/python, ctypes over the C ABI).
#   make check-python      pytest of bindings/python/tests against build/liblelp.so.0 (run by make check)
#   make check-doc-python  every fenced Python block of README.md, docs/*.md and
#                          bindings/*/README.md, as written (tests/check_doc_python.py; run by make check)
# Debian's /usr/bin/python3 with python3-numpy and python3-pytest (installed if
# missing). python3-torch is optional: it is installed if missing, and if that
# fails the torch tests are skipped with their reason shown (-rs), never hidden;
# the same for python3-dask/python3-distributed and the lelp.dask tests.
# Nothing is written into the source tree (no bytecode, no pytest cache).
CHECK_HOOKS += check-python check-doc-python
PYTHON_DEPS := python3-numpy python3-pytest
PYTHON_OPT_DEPS := python3-torch python3-dask python3-distributed
.PHONY: check-python check-doc-python

check-python: $(LIB_SO)
	@bash scripts/ensure-deps.sh $(PYTHON_DEPS)
	@bash scripts/ensure-deps.sh $(PYTHON_OPT_DEPS) || \
	  echo "check-python: $(PYTHON_OPT_DEPS) unavailable; the lelp.torch / lelp.dask tests will be SKIPPED"
	@rc=0; PYTHONPATH=$(CURDIR)/bindings/python LELP_LIBRARY=$(CURDIR)/$(LIB_SO) \
	  PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1 \
	  $(PYTHON) -m pytest -q -rs -p no:cacheprovider bindings/python/tests || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "check-python: FAILED: pytest collected no tests"; exit 1; fi; \
	exit $$rc

check-doc-python: $(LIB_SO)
	@bash scripts/ensure-deps.sh $(PYTHON_DEPS)
	@bash scripts/ensure-deps.sh $(PYTHON_OPT_DEPS) || \
	  echo "check-doc-python: $(PYTHON_OPT_DEPS) unavailable; pages that need them will be SKIPPED"
	@LELP_LIBRARY=$(CURDIR)/$(LIB_SO) OPENBLAS_NUM_THREADS=1 $(PYTHON) tests/check_doc_python.py
