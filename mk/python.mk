# mk/python.mk -- the Python binding (bindings/python, ctypes over the C ABI).
#   make check-python   pytest of bindings/python/tests against build/liblelp.so.0 (run by make check)
CHECK_HOOKS += check-python
PYTHON_DEPS := python3-numpy python3-pytest python3-torch
.PHONY: check-python

check-python: $(LIB_SO)
	@bash scripts/ensure-deps.sh $(PYTHON_DEPS)
	cd bindings/python && LELP_LIBRARY=$(CURDIR)/$(LIB_SO) OPENBLAS_NUM_THREADS=1 \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests
