# SPDX-License-Identifier: MIT
# mk/docs.mk -- every code block in README.md and docs/*.md works (tests/docs/check_docs.py).
#   make check-docs   compile each C block (-std=c11 -Wall -Wextra -Werror), run each shell block
CHECK_HOOKS += check-docs
.PHONY: check-docs

check-docs: all
	BUILD=$(BUILD) CC="$(CC)" LAPACK_LIBS="$(LAPACK_LIBS)" $(PYTHON) tests/docs/check_docs.py
