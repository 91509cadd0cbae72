# SPDX-License-Identifier: MIT
# mk/mpi.mk -- distributed fitting over MPI (examples/mpi_fit.c, Debian's Open MPI).
#   make mpi         build build/examples/mpi_fit (needs libopenmpi-dev openmpi-bin: make deps)
#   make check-mpi   mpirun -np 1, 2, 4 against the single-process fit (tests/mpi/check_mpi.py)
MPICC ?= mpicc
DEPS_EXTRA += libopenmpi-dev openmpi-bin
.PHONY: mpi check-mpi mpi-deps

mpi-deps:
	@command -v $(firstword $(MPICC)) >/dev/null && command -v mpirun >/dev/null || \
	  { echo "mpi: needs $(MPICC) and mpirun: libopenmpi-dev openmpi-bin (make deps installs them)" >&2; exit 1; }

$(BUILD)/examples/mpi_fit: examples/mpi_fit.c tools/npy.c tools/npy.h $(LIB_A) | mpi-deps
	@mkdir -p $(dir $@)
	$(MPICC) $(CPPFLAGS) $(CFLAGS) -std=c11 -Wall -Wextra -Iinclude -Itools $< tools/npy.c $(LIB_A) $(LDFLAGS) \
	  $(LAPACK_LIBS) -lm -o $@

mpi: $(BUILD)/examples/mpi_fit

check-mpi: $(BUILD)/examples/mpi_fit
	OPENBLAS_NUM_THREADS=1 $(PYTHON) tests/mpi/check_mpi.py $(BUILD)/examples/mpi_fit $(BUILD)/lelp
