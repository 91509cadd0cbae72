# SPDX-License-Identifier: MIT
# mk/compilers.mk -- the library, the CLI and the cmocka suite build
# warning-free with gcc and with clang (run by .ci/run).
#   make check-clang    CC=clang -Werror build in build/clang, then the cmocka suite
#   make check-werror   CC=gcc -Werror build in build/werror (the suite itself is `make check`)
# -Werror is added here only: a user's `make` never fails on a new compiler's warning.
WERROR_CFLAGS ?= -O3 -g -Werror
.PHONY: check-clang check-werror

# $(1): compiler, $(2): build dir
werror-build = $(MAKE) --no-print-directory CC=$(1) BUILD=$(2) CFLAGS="$(WERROR_CFLAGS)" CHECK_HOOKS= \
  $(2)/liblelp.a $(2)/$(SONAME) $(2)/lelp $(patsubst $(BUILD)/%,$(2)/%,$(TEST_BINS))

check-clang:
	@command -v clang >/dev/null || { echo "check-clang: clang not found (make deps installs it)" >&2; exit 1; }
	@+$(call werror-build,clang,$(BUILD)/clang)
	@pass=0; fail=0; \
	for t in $(patsubst $(BUILD)/%,$(BUILD)/clang/%,$(TEST_BINS)); do \
	  echo "== clang $$t"; \
	  if OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-2} timeout $(TEST_TIMEOUT) $$t >/dev/null; \
	  then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED (clang build): $$t"; fi; \
	done; \
	echo "clang: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

check-werror:
	@+$(call werror-build,gcc,$(BUILD)/werror)
	@echo "check-werror: library, CLI and tests build with gcc -Werror"
