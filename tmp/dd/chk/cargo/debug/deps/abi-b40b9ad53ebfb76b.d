/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/abi-b40b9ad53ebfb76b.d: lelp/tests/abi.rs

/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/abi-b40b9ad53ebfb76b: lelp/tests/abi.rs

lelp/tests/abi.rs:

# env-dep:CARGO_MANIFEST_DIR=/work/wt/d-demo/bindings/rust/lelp
