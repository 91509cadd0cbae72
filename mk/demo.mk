# mk/demo.mk -- `make demo`: few-class distillation on Fashion-MNIST, end to end
# (examples/fashion_distill.c). The IDX files come from Debian's
# dataset-fashion-mnist and are decompressed into build/data (the C core has
# no zlib dependency).
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
FASHION_FILES := train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte
DEMO_TARGET := run-fashion
DEMO_FLAGS ?=
.PHONY: run-fashion fashion-data

fashion-data:
	@bash scripts/ensure-deps.sh dataset-fashion-mnist gzip
	@mkdir -p $(BUILD)/data
	@for f in $(FASHION_FILES); do \
	  [ -s $(BUILD)/data/$$f ] || gzip -dc $(FASHION_DIR)/$$f.gz > $(BUILD)/data/$$f || exit 1; \
	done

run-fashion: $(BUILD)/examples/fashion_distill fashion-data
	$(BUILD)/examples/fashion_distill --data $(BUILD)/data $(DEMO_FLAGS)
