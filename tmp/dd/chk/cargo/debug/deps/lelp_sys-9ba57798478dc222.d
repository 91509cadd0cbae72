/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/lelp_sys-9ba57798478dc222.d: lelp-sys/src/lib.rs

/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/liblelp_sys-9ba57798478dc222.rlib: lelp-sys/src/lib.rs

/work/wt/d-demo//tmp/dd/chk/cargo/debug/deps/liblelp_sys-9ba57798478dc222.rmeta: lelp-sys/src/lib.rs

lelp-sys/src/lib.rs:
