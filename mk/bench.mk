# SPDX-License-Identifier: MIT
# mk/bench.mk -- `make check`'s fast test of bench/report.py, the generator of
# docs/performance.md's table (make bench itself is not part of make check).
CHECK_HOOKS += check-bench-report
.PHONY: check-bench-report
check-bench-report:
	$(PYTHON) tests/cli/check_bench_report.py
