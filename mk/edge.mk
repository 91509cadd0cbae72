# SPDX-License-Identifier: MIT
# mk/edge.mk -- the BLAS-free edge library (docs/edge.md).
#   make edge                                 build/edge/liblelp_edge.a (-Os, EDGE_SRCS only)
#   make edge CROSS=aarch64-linux-gnu-        build/aarch64-linux-gnu/edge/liblelp_edge.a
#   make edge EDGE_DEFS=-DLELP_NO_STDIO EDGE_DIR=build/edge-no-stdio   a switch variant
#   make edge-test [CROSS=...]                EDGE_DIR/test_edge (tests/edge/, no cmocka)
#   make edge-size                            `size` of the archive, one line per object
# The switches (LELP_NO_STDIO, LELP_NO_TLS, LELP_NO_ERROR_STRINGS) are each
# built and tested by tests/check_edge.sh, which `make check` runs.

CROSS ?=
# the target triple (CROSS without its trailing dash), empty for the host
TRIPLE := $(patsubst %-,%,$(CROSS))
XBUILD := $(BUILD)$(if $(CROSS),/$(TRIPLE))
XCC := $(if $(CROSS),$(CROSS)gcc,$(CC))
XAR := $(if $(CROSS),$(CROSS)ar,$(AR))
XSIZE := $(CROSS)size

EDGE_DIR ?= $(XBUILD)/edge
EDGE_OPT ?= -Os
EDGE_DEFS ?=
EDGE_LIB := $(EDGE_DIR)/liblelp_edge.a
EDGE_OBJS := $(patsubst liblelp/%.c,$(EDGE_DIR)/obj/%.o,$(EDGE_SRCS))
# cross test binaries are static, so qemu-user runs them without a sysroot
EDGE_TEST_LDFLAGS ?= $(if $(CROSS),-static)

.PHONY: edge edge-test edge-size

edge: $(EDGE_LIB)

# The flags string is a prerequisite (a file rewritten when it changes), so
# switching EDGE_DEFS or EDGE_OPT in the same folder rebuilds the objects.
EDGE_FLAGS = $(EDGE_OPT) $(EDGE_DEFS) $(LELP_CFLAGS)
$(EDGE_DIR)/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(XCC) $(EDGE_FLAGS)' | cmp -s - $@ || echo '$(XCC) $(EDGE_FLAGS)' > $@

$(EDGE_DIR)/obj/%.o: liblelp/%.c $(HDRS) $(EDGE_DIR)/flags
	@mkdir -p $(dir $@)
	$(XCC) $(CPPFLAGS) $(EDGE_FLAGS) -c $< -o $@

$(EDGE_LIB): $(EDGE_OBJS)
	@rm -f $@
	$(XAR) rcs $@ $^

EDGE_TEST := $(EDGE_DIR)/test_edge
edge-test: $(EDGE_TEST)

# Only the archive, libc and libm: the test is the proof that nothing else is needed.
$(EDGE_TEST): tests/edge/test_edge.c tests/support/fixture.c tests/support/fixture.h $(EDGE_LIB)
	$(XCC) -std=c11 -O2 -Wall -Wextra -ffp-contract=off $(EDGE_DEFS) -Iinclude -Itests/support \
	  tests/edge/test_edge.c tests/support/fixture.c $(EDGE_LIB) $(EDGE_TEST_LDFLAGS) -lm -o $@

edge-size: $(EDGE_LIB)
	@$(XSIZE) -t $(EDGE_LIB)
