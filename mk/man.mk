# SPDX-License-Identifier: MIT
# mk/man.mk -- the lelp(1) man page (docs/lelp.1), installed with the tool
# under $(MANDIR)/man1; tests/check_manpage.sh keeps it in step with --help.
MANDIR ?= $(PREFIX)/share/man
INSTALL_HOOKS += install-man
UNINSTALL_HOOKS += uninstall-man
.PHONY: install-man uninstall-man

install-man:
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 644 docs/lelp.1 $(DESTDIR)$(MANDIR)/man1/lelp.1

uninstall-man:
	rm -f $(DESTDIR)$(MANDIR)/man1/lelp.1
