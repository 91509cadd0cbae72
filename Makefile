# SPDX-License-Identifier: MIT
# liblelp -- top-level Makefile (GNU make).
#
#   make                 liblelp.a, liblelp.so.X.Y.Z (+ tools from mk/*.mk)
#   make check           build and run the whole test suite
#   make check-sanitize  the cmocka suite under ASan + UBSan
#   make check-valgrind  the cmocka suite under valgrind
#   make demo            the main job (see README.md)
#   make results         reruns the demos and rewrites docs/results.md (mk/results.mk)
#   make bench           benchmarks against NumPy / scikit-learn / PyTorch
#   make install PREFIX=/usr/local DESTDIR=   make uninstall   make clean
#
# Honoured: CC CFLAGS CPPFLAGS LDFLAGS AR PREFIX LIBDIR INCLUDEDIR PKGCONFIGDIR
# DESTDIR, and LAPACK_CFLAGS / LAPACK_LIBS to use another BLAS/LAPACK.

.DEFAULT_GOAL := all
SHELL := /bin/bash

# ---- version, from the header (single source of truth) --------------------
VERSION_MAJOR := $(shell sed -n 's/^\#define LELP_VERSION_MAJOR \([0-9]*\).*/\1/p' include/lelp.h)
VERSION_MINOR := $(shell sed -n 's/^\#define LELP_VERSION_MINOR \([0-9]*\).*/\1/p' include/lelp.h)
VERSION_PATCH := $(shell sed -n 's/^\#define LELP_VERSION_PATCH \([0-9]*\).*/\1/p' include/lelp.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME := liblelp.so.$(VERSION_MAJOR)

# ---- tools and flags --------------------------------------------------------
CC ?= cc
AR ?= ar
# -O3: gcc's -O2 cost model leaves the validation and centring loops scalar.
CFLAGS ?= -O3 -g
PYTHON ?= /usr/bin/python3
# Mandatory flags: the PRNG's bit-reproducibility needs -ffp-contract=off.
LELP_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -ffp-contract=off -Iinclude -Iliblelp
# vexp.c's clamps become vector max/min only when FP compares may be assumed
# not to trap (liblelp never enables FP exceptions); vectorize it at any -O
# (gcc: -ftree-loop-vectorize, clang: -fvectorize).
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
VECTORIZE_FLAG := $(if $(CC_IS_CLANG),-fvectorize,-ftree-loop-vectorize)
%/vexp.o: LELP_CFLAGS += -fno-trapping-math $(VECTORIZE_FLAG)
# The projection kernel's multiply-adds are FMAs where the target has them,
# as in the sgemm kernels it replaced (project_kernel.c says which bits).
%/project_kernel.o: LELP_CFLAGS += -ffp-contract=fast
LAPACK_CFLAGS ?= $(shell pkg-config --cflags lapacke openblas 2>/dev/null)
LAPACK_LIBS ?= $(shell pkg-config --libs lapacke openblas 2>/dev/null || echo -llapacke -lopenblas)
CMOCKA_CFLAGS ?= $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS ?= $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

BUILD := build
# One folder per module (docs/architecture.md); the edge part is the
# BLAS-free subset an inference stack can embed alone (tests/check_blasfree.sh).
LELP_MODULES := common train linalg fit model compress inspect
SRCS := $(foreach m,$(LELP_MODULES),$(wildcard liblelp/$(m)/*.c))
HDRS := $(wildcard liblelp/*.h liblelp/*/*.h) include/lelp.h
EDGE_SRCS := $(addprefix liblelp/,common/alloc.c common/status.c common/validate.c common/params.c \
  common/version.c common/softmax.c common/vexp.c train/loss.c train/aux_loss.c train/predict.c)
STATIC_OBJS := $(patsubst liblelp/%.c,$(BUILD)/static/%.o,$(SRCS))
SHARED_OBJS := $(patsubst liblelp/%.c,$(BUILD)/shared/%.o,$(SRCS))
LIB_A := $(BUILD)/liblelp.a
LIB_SO_REAL := $(BUILD)/liblelp.so.$(VERSION)
LIB_SO := $(BUILD)/$(SONAME)
MAP := liblelp/liblelp.map

TEST_SRCS := $(wildcard tests/test_*.c)
# seconds one test executable may run before it counts as failed (x10 under valgrind)
TEST_TIMEOUT ?= 300
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TEST_SUPPORT := $(wildcard tests/support/*.c)
CHECK_SCRIPTS := $(wildcard tests/check_*.sh)
# mpi_fit.c needs mpicc: built by `make mpi` (mk/mpi.mk)
EXAMPLE_SRCS := $(filter-out examples/mpi_fit.c,$(wildcard examples/*.c))
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))

# Extension points for mk/*.mk (each feature appends to these).
CHECK_HOOKS :=
ALL_EXTRA :=
INSTALL_HOOKS :=
UNINSTALL_HOOKS :=
DEPS_EXTRA :=
DEMO_TARGET ?= run-minimal

# Debian packages the build and the tests need (installed by `make deps` only).
# (g++: tests/check_header.sh compiles the header as C++.)
DEPS := gcc g++ make pkg-config libopenblas-dev liblapacke-dev libcmocka-dev valgrind \
  python3-sklearn
DEPS_OPTIONAL :=

-include $(sort $(wildcard mk/*.mk))

# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:
FORCE:

.PHONY: FORCE all static shared lib deps check check-suite check-sanitize check-valgrind demo run-minimal \
        bench install uninstall clean ffi-header examples

# ---- dependencies -------------------------------------------------------------
# Building never installs anything. The objects wait for a check of the
# compiler, OpenBLAS and LAPACKE (scripts/check-prereqs.sh: one message naming
# what is missing and its Debian/Ubuntu, Fedora and Arch packages); its stamp
# is keyed on CC and the LAPACK flags, so another compiler is checked again.
PREREQ_STAMP := $(BUILD)/.prereqs-$(shell printf '%s' '$(CC)|$(LAPACK_CFLAGS)|$(LAPACK_LIBS)' | cksum | cut -d' ' -f1)
$(PREREQ_STAMP): scripts/check-prereqs.sh
	@CC="$(CC)" LAPACK_CFLAGS="$(LAPACK_CFLAGS)" LAPACK_LIBS="$(LAPACK_LIBS)" bash scripts/check-prereqs.sh $@

# `make deps` is the one target that installs packages (Debian/Ubuntu, apt-get):
# DEPS and every mk/*.mk's DEPS_EXTRA; DEPS_OPTIONAL may fail (its tests skip):
# if they cannot all be installed at once, each is tried alone, so one package
# missing on an architecture (e.g. libtorch-dev) does not keep the others out.
# `make demo`, `make check` and .ci/run call it first unless LELP_NO_DEPS=1
# (for packagers and CI systems that install their own).
deps:
	@bash scripts/ensure-deps.sh $(sort $(DEPS) $(DEPS_EXTRA))
	@$(if $(DEPS_OPTIONAL),bash scripts/ensure-deps.sh $(sort $(DEPS_OPTIONAL)) 2>/dev/null || \
	  for p in $(sort $(DEPS_OPTIONAL)); do bash scripts/ensure-deps.sh $$p || \
	    echo "deps: optional $$p unavailable; the tests that need it will be SKIPPED"; done,:)

# Runs `make deps` unless LELP_NO_DEPS is set (used by the check and demo recipes).
RUN_DEPS = $(if $(LELP_NO_DEPS),:,$(MAKE) --no-print-directory deps)

# ---- the library ----------------------------------------------------------------
all: $(LIB_A) $(LIB_SO) $(BUILD)/liblelp.so $(BUILD)/pkgconfig/lelp.pc $(ALL_EXTRA)
lib: $(LIB_A) $(LIB_SO) $(BUILD)/liblelp.so
static: $(LIB_A)
shared: $(LIB_SO)

# -MMD -MP: each object depends on exactly the headers it includes (the .d files).
$(BUILD)/static/%.o: liblelp/%.c | $(PREREQ_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LELP_CFLAGS) $(LAPACK_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/shared/%.o: liblelp/%.c | $(PREREQ_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LELP_CFLAGS) $(LAPACK_CFLAGS) -MMD -MP -fPIC -fvisibility=hidden \
	  -DLELP_BUILD_SHARED -c $< -o $@

-include $(STATIC_OBJS:.o=.d) $(SHARED_OBJS:.o=.d)

$(LIB_A): $(STATIC_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO_REAL): $(SHARED_OBJS) $(MAP)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(MAP) \
	  -Wl,--no-undefined -Wl,-z,relro,-z,now,-z,noexecstack -o $@ $(SHARED_OBJS) $(LAPACK_LIBS) -lm

$(LIB_SO): $(LIB_SO_REAL)
	ln -sf $(notdir $<) $@

$(BUILD)/liblelp.so: $(LIB_SO)
	ln -sf $(notdir $<) $@

# ---- tests ------------------------------------------------------------------------
TEST_CFLAGS := -std=c11 -D_GNU_SOURCE -DLELP_EXPERIMENTAL -Wall -Wextra -Iinclude -Itests/support $(CMOCKA_CFLAGS)
TEST_LIBS := $(CMOCKA_LIBS) $(LAPACK_LIBS) -lm -lpthread

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(wildcard tests/support/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TEST_CFLAGS) $< $(TEST_SUPPORT) $(LIB_A) $(LDFLAGS) $(TEST_LIBS) -o $@

# `make check`: `make deps` (unless LELP_NO_DEPS=1), then check-suite.
check:
	@+$(RUN_DEPS)
	@$(MAKE) --no-print-directory check-suite

# Runs every cmocka executable, every tests/check_*.sh, then CHECK_HOOKS, and
# prints one "N passed, M failed" line. Any failure makes the target fail.
check-suite: all $(TEST_BINS)
	@pass=0; fail=0; failed=""; \
	for t in $(TEST_BINS); do \
	  echo "== $$t"; \
	  if OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-2} timeout $(TEST_TIMEOUT) $$t; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$t"; fi; \
	done; \
	for s in $(CHECK_SCRIPTS); do \
	  echo "== $$s"; \
	  if CC="$(CC)" BUILD=$(BUILD) EDGE_SRCS="$(EDGE_SRCS)" bash $$s; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$s"; fi; \
	done; \
	for h in $(CHECK_HOOKS); do \
	  echo "== make $$h"; \
	  if $(MAKE) --no-print-directory $$h; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$h"; fi; \
	done; \
	echo; [ -z "$$failed" ] || echo "failed:$$failed"; \
	echo "$$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

# ASan + UBSan build of the library and the cmocka suite in build/asan.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-sanitize:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
	  CHECK_HOOKS= $(BUILD)/asan/liblelp.a \
	  $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(TEST_BINS))
	@pass=0; fail=0; \
	for t in $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(TEST_BINS)); do \
	  echo "== asan $$t"; \
	  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	     OPENBLAS_NUM_THREADS=1 timeout $(TEST_TIMEOUT) $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); fi; \
	done; \
	if OPENBLAS_NUM_THREADS=1 $(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
	     FUZZ_REPLAY_FLAGS="$(ASAN_FLAGS)" check-fuzz-replay; then pass=$$((pass+1)); else fail=$$((fail+1)); fi; \
	echo "sanitize: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# valgrind over the same executables (single-threaded OpenBLAS: its worker
# threads are not leaks, but their pools confuse the leak report).
check-valgrind: $(TEST_BINS)
	@command -v valgrind >/dev/null || { echo "check-valgrind: valgrind not found (make deps installs it)" >&2; exit 1; }
	@pass=0; fail=0; \
	for t in $(TEST_BINS); do \
	  echo "== valgrind $$t"; \
	  if LELP_TEST_LIGHT=1 OPENBLAS_NUM_THREADS=1 timeout $$((10 * $(TEST_TIMEOUT))) valgrind -q --error-exitcode=1 --leak-check=full \
	     --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp $$t >/dev/null; \
	  then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED under valgrind: $$t"; fi; \
	done; \
	echo "valgrind: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- examples and the demo ----------------------------------------------------------
$(BUILD)/examples/%: examples/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude $< $(LIB_A) \
	  $(LDFLAGS) $(LAPACK_LIBS) -lm -lpthread -o $@

examples: $(EXAMPLE_BINS)

run-minimal: $(BUILD)/examples/minimal
	$(BUILD)/examples/minimal

demo:
	@+$(RUN_DEPS)
	@$(MAKE) --no-print-directory $(DEMO_TARGET)

# ---- benchmarks ------------------------------------------------------------------------
$(BUILD)/bench/bench_core: bench/bench_core.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -O2 -std=c11 -Iinclude $< $(LIB_A) $(LDFLAGS) $(LAPACK_CFLAGS) $(LAPACK_LIBS) -lm -lpthread -o $@

# A full run (no BENCH_ONLY) also regenerates docs/performance.md's table.
bench: all $(BUILD)/bench/bench_core
	@$(PYTHON) -c 'import numpy, sklearn, torch' 2>/dev/null || \
	  { echo "bench: needs python3-numpy python3-sklearn python3-torch (make deps installs them)" >&2; exit 1; }
	$(PYTHON) bench/run.py
	@if [ -z "$$BENCH_ONLY" ]; then $(PYTHON) bench/report.py --write docs/performance.md; fi

# ---- install -------------------------------------------------------------------------------
# What a static liblelp.a needs after it on the link line (lelp.pc's
# Libs.private, lelp::lelp_static), derived from this machine's libraries by
# scripts/static-libs.sh; an overridden LAPACK_LIBS is used as it is, unless
# LAPACK_STATIC_LIBS says otherwise.
LAPACK_STATIC_LIBS ?= $(if $(filter-out file default undefined,$(origin LAPACK_LIBS)),$(LAPACK_LIBS))
LELP_STATIC_LIBS = $(shell CC="$(CC)" LAPACK_LIBS="$(LAPACK_LIBS)" LAPACK_STATIC_LIBS="$(LAPACK_STATIC_LIBS)" \
  bash scripts/static-libs.sh)
# $(1): prefix, $(2): libdir, $(3): includedir
pc-gen = sed -e 's|@PREFIX@|$(1)|g' -e 's|@LIBDIR@|$(2)|g' -e 's|@INCLUDEDIR@|$(3)|g' \
  -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS_PRIVATE@|$(LELP_STATIC_LIBS)|g' $< > $@

# Regenerated on every install: its paths depend on PREFIX/LIBDIR/INCLUDEDIR,
# which a file timestamp cannot see.
$(BUILD)/lelp.pc: pkgconfig/lelp.pc.in include/lelp.h FORCE
	@mkdir -p $(BUILD)
	@$(call pc-gen,$(PREFIX),$(LIBDIR),$(INCLUDEDIR))

# The same for the build tree (`make` writes it): PKG_CONFIG_PATH=$PWD/build/pkgconfig
# links against build/ and include/ without installing (lelp-sys's static feature).
$(BUILD)/pkgconfig/lelp.pc: pkgconfig/lelp.pc.in include/lelp.h scripts/static-libs.sh | $(PREREQ_STAMP)
	@mkdir -p $(dir $@)
	@$(call pc-gen,$(abspath .),$(abspath $(BUILD)),$(abspath include))

install: all $(BUILD)/lelp.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/lelp.h $(DESTDIR)$(INCLUDEDIR)/lelp.h
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/liblelp.a
	install -m 755 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/liblelp.so.$(VERSION)
	ln -sf liblelp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblelp.so
	install -m 644 $(BUILD)/lelp.pc $(DESTDIR)$(PKGCONFIGDIR)/lelp.pc
	@for h in $(INSTALL_HOOKS); do $(MAKE) --no-print-directory $$h || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/lelp.h $(DESTDIR)$(LIBDIR)/liblelp.a \
	  $(DESTDIR)$(LIBDIR)/liblelp.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/liblelp.so $(DESTDIR)$(PKGCONFIGDIR)/lelp.pc
	@for h in $(UNINSTALL_HOOKS); do $(MAKE) --no-print-directory $$h || exit 1; done

# A macro-free declaration list for FFI generators (cffi cdef, bindgen checks).
ffi-header: $(BUILD)/lelp_ffi.h
$(BUILD)/lelp_ffi.h: include/lelp.h
	@mkdir -p $(BUILD)
	$(CC) -E -P -DLELP_STATIC include/lelp.h | grep -v '^$$' > $@

# The BLAS-free edge file list, for scripts (tests/check_blasfree.sh).
print-edge-srcs:
	@echo $(EDGE_SRCS)
.PHONY: print-edge-srcs

clean:
	rm -rf $(BUILD)
