# SPDX-License-Identifier: MIT
# mk/tools.mk -- the `lelp` command-line tool (tools/), built by `make`,
# installed by `make install`, tested by `make check` (tests/cli).
TOOL := $(BUILD)/lelp
ALL_EXTRA += $(TOOL)
INSTALL_HOOKS += install-tool
UNINSTALL_HOOKS += uninstall-tool
CHECK_HOOKS += check-cli
DEPS_EXTRA += python3-numpy python3-sklearn time # check-cli: the references and GNU time
.PHONY: install-tool uninstall-tool check-cli

# One file per concept: lelp.c (dispatch, help), cli_args.c, cli_input.c,
# out_file.c, one cmd_*.c per command family, report.c; npy.c the .npy I/O.
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_HDRS := $(wildcard tools/*.h)

$(TOOL): $(TOOL_SRCS) $(TOOL_HDRS) $(LIB_A)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Iinclude -Itools $(TOOL_SRCS) $(LIB_A) \
	  $(LDFLAGS) $(LAPACK_LIBS) -lm -lpthread -o $@

install-tool: $(TOOL)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/lelp

uninstall-tool:
	rm -f $(DESTDIR)$(BINDIR)/lelp

check-cli: $(TOOL) $(LIB_SO)
	@$(PYTHON) -c 'import numpy, sklearn' 2>/dev/null && [ -x /usr/bin/time ] || \
	  { echo "check-cli: needs python3-numpy, python3-sklearn and time (make deps installs them)" >&2; exit 1; }
	PYTHONPATH=bindings/python LELP_LIBRARY=$(CURDIR)/$(LIB_SO) OPENBLAS_NUM_THREADS=1 \
	  $(PYTHON) tests/cli/check_cli.py $(TOOL)
