/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/lelp-6ef07890fab4f152.d: lelp/src/lib.rs

/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/liblelp-6ef07890fab4f152.rlib: lelp/src/lib.rs

/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/liblelp-6ef07890fab4f152.rmeta: lelp/src/lib.rs

lelp/src/lib.rs:
