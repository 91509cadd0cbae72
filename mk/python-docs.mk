# SPDX-License-Identifier: MIT
# mk/python-docs.mk -- the documentation's Python blocks run as written.
#   make check-doc-python  every fenced Python block of README.md, docs/*.md and
#                          bindings/*/README.md (tests/check_doc_python.py; run by make check)
# The blocks of a page run in order in one interpreter, in a scratch directory.
# Pages that need python3-torch / python3-dask / python3-distributed (optional,
# DEPS_OPTIONAL: `make deps` installs them) are SKIPPED, named, when those are
# missing; every other failure fails the check.
CHECK_HOOKS += check-doc-python
DEPS_OPTIONAL += python3-dask python3-distributed
.PHONY: check-doc-python

check-doc-python: $(LIB_SO)
	@$(PYTHON) -c 'import numpy' 2>/dev/null || \
	  { echo "check-doc-python: needs python3-numpy (make deps installs it)" >&2; exit 1; }
	@LELP_LIBRARY=$(CURDIR)/$(LIB_SO) OPENBLAS_NUM_THREADS=1 $(PYTHON) tests/check_doc_python.py
