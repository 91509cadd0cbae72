# SPDX-License-Identifier: MIT
# mk/rust.mk -- the Rust bindings (bindings/rust: lelp-sys + lelp), std only.
#   make check-rust   cargo test --offline against build/liblelp.so.0, then an
#                     out-of-tree crate with feature `static` (tests/rust/check_rust_static.sh;
#                     run by make check)
# cargo: the one on PATH, else ~/.cargo/bin/cargo, else Debian's `cargo` (an
# optional package of `make deps`); without any, the check says SKIPPED and passes. Everything cargo
# writes goes to build/cargo (CARGO_TARGET_DIR); the crates link build/ through
# LELP_LIB_DIR (an rpath; LD_LIBRARY_PATH for the doc tests).
CHECK_HOOKS += check-rust
CARGO ?= $(firstword $(shell command -v cargo 2>/dev/null) $(wildcard $(HOME)/.cargo/bin/cargo))
DEPS_OPTIONAL += $(if $(CARGO),,cargo)
RUST_ENV = LELP_LIB_DIR=$(CURDIR)/$(BUILD) CARGO_TARGET_DIR=$(CURDIR)/$(BUILD)/cargo \
           LD_LIBRARY_PATH=$(CURDIR)/$(BUILD)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}
RUST_MANIFEST = --manifest-path bindings/rust/Cargo.toml
.PHONY: check-rust

check-rust: $(LIB_SO) $(LIB_A) $(BUILD)/pkgconfig/lelp.pc
	@cargo="$(CARGO)"; \
	if [ -z "$$cargo" ]; then echo "check-rust: SKIPPED (no cargo; make deps installs Debian's cargo)"; exit 0; fi; \
	echo "check-rust: $$($$cargo --version)"; \
	$(RUST_ENV) $$cargo test --offline -q $(RUST_MANIFEST) -p lelp --test api --test abi && \
	$(RUST_ENV) $$cargo test --offline -q $(RUST_MANIFEST) -p lelp --doc && \
	$(RUST_ENV) $$cargo build --offline -q $(RUST_MANIFEST) -p lelp --examples && \
	bash tests/rust/check_rust_static.sh $$cargo
