# SPDX-License-Identifier: MIT
# mk/tools.mk -- the `lelp` command-line tool (tools/), built by `make`,
# installed by `make install`, tested by `make check` (tests/cli).
TOOL := $(BUILD)/lelp
ALL_EXTRA += $(TOOL)
INSTALL_HOOKS += install-tool
UNINSTALL_HOOKS += uninstall-tool
CHECK_HOOKS += check-cli
DEPS_EXTRA += python3-numpy time
.PHONY: install-tool uninstall-tool check-cli

$(TOOL): tools/lelp.c tools/npy.c tools/npy.h $(LIB_A)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Iinclude -Itools tools/lelp.c tools/npy.c $(LIB_A) \
	  $(LDFLAGS) $(LAPACK_LIBS) -lm -o $@

install-tool: $(TOOL)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(TOOL) $(DESTDIR)$(BINDIR)/lelp

uninstall-tool:
	rm -f $(DESTDIR)$(BINDIR)/lelp

check-cli: $(TOOL) $(LIB_SO)
	@$(PYTHON) -c 'import numpy' 2>/dev/null && [ -x /usr/bin/time ] || \
	  { echo "check-cli: needs python3-numpy and time (make deps installs them)" >&2; exit 1; }
	PYTHONPATH=bindings/python LELP_LIBRARY=$(CURDIR)/$(LIB_SO) OPENBLAS_NUM_THREADS=1 \
	  $(PYTHON) tests/cli/check_cli.py $(TOOL)
