# SPDX-License-Identifier: MIT
# mk/results.mk -- `make results`: runs the demo (default, --student mlp,
# --teacher binary), examples/torch_student.py and examples/compression_demo.py
# one after the other (scripts/results.sh), then rewrites docs/results.md from
# their printed output (scripts/results.py), stamped with the machine, the
# commit and the commands. The raw outputs stay in build/results.
.PHONY: results
results: $(BUILD)/examples/fashion_distill fashion-data $(LIB_SO)
	@bash scripts/ensure-deps.sh python3-numpy python3-torch
	bash scripts/results.sh $(BUILD) $(PYTHON)
