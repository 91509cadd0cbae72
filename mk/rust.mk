# mk/rust.mk -- the Rust bindings (bindings/rust: lelp-sys + lelp), std only.
#   make check-rust   cargo test --offline against build/liblelp.so.0 (run by make check when cargo exists)
CHECK_HOOKS += check-rust
CARGO ?= $(shell command -v cargo 2>/dev/null)
.PHONY: check-rust

check-rust: $(LIB_SO)
	@if [ -z "$(CARGO)" ]; then \
	  echo "check-rust: cargo not found; installing Debian's cargo"; \
	  bash scripts/ensure-deps.sh cargo || { echo "check-rust: SKIPPED (no cargo)"; exit 0; }; \
	fi; \
	cargo=$${CARGO:-$$(command -v cargo)}; [ -n "$(CARGO)" ] && cargo="$(CARGO)"; \
	LELP_LIB_DIR=$(CURDIR)/$(BUILD) CARGO_TARGET_DIR=$(CURDIR)/$(BUILD)/cargo \
	  $$cargo test --offline -q --manifest-path bindings/rust/Cargo.toml -p lelp --test api && \
	LELP_LIB_DIR=$(CURDIR)/$(BUILD) CARGO_TARGET_DIR=$(CURDIR)/$(BUILD)/cargo \
	  $$cargo build --offline -q --manifest-path bindings/rust/Cargo.toml -p lelp --examples
