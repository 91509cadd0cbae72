# SPDX-License-Identifier: MIT
# mk/abi.mk -- the ABI gate (Debian's abigail-tools).
#   make abi-dump    write abi/liblelp-$(VERSION).abi from the current build (at a release)
#   make abi-check   fail on an incompatible change against the checked-in baseline,
#                    and on any export not in abi/liblelp.exports
ABI_BASELINE ?= abi/liblelp-0.1.0.abi
CHECK_HOOKS += abi-check
DEPS_EXTRA += abigail-tools

.PHONY: abi-dump abi-check

abi-dump: $(LIB_SO_REAL)
	abidw --headers-dir include --no-corpus-path --drop-private-types $(LIB_SO_REAL) > abi/liblelp-$(VERSION).abi
	@echo "abi-dump: wrote abi/liblelp-$(VERSION).abi"

# abidiff exit status: bit 0 error, bit 1 usage, bit 2 ABI change, bit 3
# incompatible change. Any removed or changed function/variable fails; pure
# additions (bit 2 alone, nothing changed) pass and are reported.
abi-check: $(LIB_SO_REAL)
	@bash tests/check_exports.sh
	@abidw --headers-dir include --no-corpus-path --drop-private-types $(LIB_SO_REAL) > $(BUILD)/liblelp-current.abi
	@rc=0; abidiff --headers-dir2 include $(ABI_BASELINE) $(BUILD)/liblelp-current.abi > $(BUILD)/abidiff.txt || rc=$$?; \
	cat $(BUILD)/abidiff.txt; \
	if [ $$((rc & 11)) -ne 0 ]; then echo "abi-check: incompatible ABI change or abidiff error (status $$rc)"; exit 1; fi; \
	if grep -Eq '(Functions|Variables) changes summary: ([1-9][0-9]* Removed|[0-9]+ Removed[^,]*, [1-9][0-9]* Changed)' $(BUILD)/abidiff.txt; then \
	  echo "abi-check: a published function or variable was removed or changed"; exit 1; fi; \
	if [ $$((rc & 4)) -ne 0 ]; then echo "abi-check: compatible ABI additions (needs a CHANGELOG entry and a minor bump)"; fi; \
	echo "abi-check: ok against $(ABI_BASELINE)"
