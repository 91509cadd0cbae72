/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/api-b452cdbe0ad56a68.d: lelp/tests/api.rs

/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/api-b452cdbe0ad56a68: lelp/tests/api.rs

lelp/tests/api.rs:

# env-dep:CARGO_MANIFEST_DIR=/work/wt/d-demo/bindings/rust/lelp
