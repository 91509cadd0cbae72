# SPDX-License-Identifier: MIT
# mk/libtorch.mk -- a student trained in C++ with libtorch (examples/libtorch_student.cpp).
#   make examples        also builds build/examples/libtorch_student when libtorch is present
#   make check-libtorch  runs it on its small synthetic set and checks its output
#                        (tests/libtorch/check_output.sh; run by make check)
# Needs Debian's libtorch-dev (PyTorch's C++ API; optional in `make deps`):
# without its header both targets say SKIPPED and succeed. LIBTORCH_INCLUDE,
# LIBTORCH_LIBS and LIBTORCH_CXXFLAGS point them at another libtorch.
LIBTORCH_INCLUDE ?= /usr/include/torch/csrc/api/include
LIBTORCH_LIBS ?= -ltorch -ltorch_cpu -lc10
LIBTORCH_CXXFLAGS ?= -O2 -g
LIBTORCH_FOUND := $(wildcard $(LIBTORCH_INCLUDE)/torch/torch.h)
LIBTORCH_BIN := $(BUILD)/examples/libtorch_student
LIBTORCH_SKIP := libtorch-dev is not installed (no $(LIBTORCH_INCLUDE)/torch/torch.h; make deps installs it)
CXX ?= g++
CHECK_HOOKS += check-libtorch
DEPS_OPTIONAL += libtorch-dev
.PHONY: libtorch-example check-libtorch

examples: libtorch-example

ifneq ($(LIBTORCH_FOUND),)
$(LIBTORCH_BIN): examples/libtorch_student.cpp include/lelp.h $(LIB_A)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(LIBTORCH_CXXFLAGS) -std=c++17 -Wall -Wextra -Iinclude -isystem $(LIBTORCH_INCLUDE) $< $(LIB_A) \
	  $(LDFLAGS) $(LIBTORCH_LIBS) $(LAPACK_LIBS) -lm -lpthread -o $@

libtorch-example: $(LIBTORCH_BIN)

check-libtorch: $(LIBTORCH_BIN)
	@OPENBLAS_NUM_THREADS=1 bash tests/libtorch/check_output.sh $(LIBTORCH_BIN)
else
libtorch-example:
	@echo "examples: libtorch_student SKIPPED: $(LIBTORCH_SKIP)"

check-libtorch:
	@echo "check-libtorch: SKIPPED: $(LIBTORCH_SKIP)"
endif
