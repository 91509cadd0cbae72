#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Prints Rust `pub fn` declarations for every function of include/lelp.h
(from `cc -E -P -DLELP_STATIC include/lelp.h`). Used to write lelp-sys/src/lib.rs."""
import os
import re
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
src = subprocess.run(["cc", "-E", "-P", "-DLELP_STATIC", "-DLELP_EXPERIMENTAL", os.path.join(ROOT, "include", "lelp.h")],
                     capture_output=True, text=True, check=True).stdout
src = " ".join(src.split())
decls = re.findall(r'((?:const )?[a-z_0-9]+\s*\**\s*(?:const\s*)?\**)\s*(lelp_[a-z_0-9]+)\s*\(([^)]*)\)\s*;', src)
TMAP = {"int": "c_int", "double": "f64", "float": "f32", "int64_t": "i64", "int32_t": "i32", "uint32_t": "u32",
        "size_t": "usize", "void": "c_void", "char": "c_char"}
HANDLES = {"lelp_builder", "lelp_model", "lelp_loss", "lelp_allocator", "lelp_compressor", "lelp_info", "lelp_alloc_fn",
           "lelp_free_fn"}


def rust_type(t):
    t = t.strip()
    const = t.startswith("const ")
    base = t.replace("const", "").strip()
    stars = base.count("*")
    base = base.replace("*", "").strip()
    name = base if base in HANDLES else TMAP[base]
    for i in range(stars):
        name = ("*const " if (const and i == stars - 1) else "*mut ") + name
    return name


for ret, name, args in decls:
    params = []
    if args.strip() != "void":
        for a in args.split(","):
            ty, pn = re.match(r"(.*?)([A-Za-z_0-9]+)$", a.strip()).groups()
            params.append(f"{pn}: {rust_type(ty)}")
    r = rust_type(ret)
    print(f"    pub fn {name}({', '.join(params)})" + ("" if r == "c_void" else f" -> {r}") + ";")
