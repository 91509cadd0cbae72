# SPDX-License-Identifier: MIT
# mk/tsan.mk -- ThreadSanitizer build of the concurrency tests (8 threads
# sharing one model, each with its own loss handle). Run by .ci/run.
TSAN_FLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_TESTS ?= test_threads
.PHONY: check-tsan

check-tsan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan CFLAGS="$(TSAN_FLAGS)" LDFLAGS="$(TSAN_FLAGS)" CHECK_HOOKS= \
	  $(BUILD)/tsan/liblelp.a $(foreach t,$(TSAN_TESTS),$(if $(wildcard tests/$(t).c),$(BUILD)/tsan/tests/$(t)))
	@fail=0; for t in $(TSAN_TESTS); do \
	  [ -x $(BUILD)/tsan/tests/$$t ] || continue; echo "== tsan $$t"; \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" OPENBLAS_NUM_THREADS=1 \
	    $(BUILD)/tsan/tests/$$t || fail=1; \
	done; [ $$fail -eq 0 ] && echo "check-tsan: clean"
