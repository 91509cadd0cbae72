# SPDX-License-Identifier: MIT
# mk/demo.mk -- `make demo`: few-class distillation on Fashion-MNIST, end to end
# (examples/fashion_distill.c, results in docs/results.md).
#
# The IDX files come from Debian's dataset-fashion-mnist (installed by
# `make deps`, which `make demo` runs first) and are decompressed with `gzip -dc` into build/data, so neither
# the library nor the example links zlib. Extra flags for the program:
#   make demo DEMO_FLAGS="--seeds 10 --student mlp"
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
FASHION_FILES := train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
DEMO_TARGET := run-fashion
DEMO_FLAGS ?=
DEPS_EXTRA += dataset-fashion-mnist gzip
.PHONY: run-fashion fashion-data

fashion-data:
	@[ -s $(FASHION_DIR)/train-images-idx3-ubyte.gz ] || \
	  { echo "fashion-data: $(FASHION_DIR) missing: dataset-fashion-mnist (make deps installs it)" >&2; exit 1; }
	@mkdir -p $(BUILD)/data
	@for f in $(FASHION_FILES); do \
	  if [ ! -s $(BUILD)/data/$$f ] || [ $(FASHION_DIR)/$$f.gz -nt $(BUILD)/data/$$f ]; then \
	    echo "gzip -dc $(FASHION_DIR)/$$f.gz > $(BUILD)/data/$$f"; \
	    gzip -dc $(FASHION_DIR)/$$f.gz > $(BUILD)/data/$$f.tmp && mv $(BUILD)/data/$$f.tmp $(BUILD)/data/$$f || exit 1; \
	  fi; \
	done

run-fashion: $(BUILD)/examples/fashion_distill fashion-data
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-2} $(BUILD)/examples/fashion_distill --data $(BUILD)/data $(DEMO_FLAGS)

# `make check`: the program end to end on a small synthetic IDX set (no download).
CHECK_HOOKS += check-demo
.PHONY: check-demo
check-demo: $(BUILD)/examples/fashion_distill
	$(PYTHON) tests/cli/check_demo.py $(BUILD)/examples/fashion_distill
