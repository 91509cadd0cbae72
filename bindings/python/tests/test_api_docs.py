# SPDX-License-Identifier: MIT
"""Typed and documented (issue 24, item 3): every public function, method
and property has a docstring of its own and type annotations; py.typed is
shipped; `python3 -m pydoc lelp` renders the reference."""
import importlib
import inspect
import os
import pydoc
import subprocess
import sys

import pytest

import lelp

PKG = os.path.dirname(os.path.abspath(lelp.__file__))


def public_modules():
    mods = [lelp]
    for name in ("torch", "dask"):
        try:
            mods.append(importlib.import_module("lelp." + name))
        except ImportError:
            pass
    return mods


def public_callables():
    """(qualified name, object) of every public function, class, method and property."""
    for mod in public_modules():
        for name in mod.__all__:
            obj = getattr(mod, name)
            yield f"{mod.__name__}.{name}", obj
            if inspect.isclass(obj) and obj.__module__.startswith("lelp"):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr not in ("__init__", "__call__"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if inspect.isfunction(member) or isinstance(member, property):
                        yield f"{mod.__name__}.{name}.{attr}", member


def test_every_public_name_has_its_own_docstring():
    missing = []
    for qual, obj in public_callables():
        doc = obj.__doc__ if not isinstance(obj, property) else obj.fget.__doc__
        if qual.endswith(".__init__"):
            continue  # documented by the class docstring (Args:)
        if not doc or not doc.strip():
            missing.append(qual)
    assert not missing, f"no docstring: {missing}"
    assert "Call self as a function" not in pydoc.render_doc(lelp.Loss.__call__)
    assert "dL/du" in (lelp.Loss.__call__.__doc__ or "")


def test_every_public_function_is_annotated():
    missing = []
    for qual, obj in public_callables():
        fn = obj.fget if isinstance(obj, property) else obj
        if inspect.isclass(fn) or not callable(fn):
            continue
        sig = inspect.signature(fn)
        for p in list(sig.parameters.values()):
            if p.name in ("self", "cls", "ctx") or p.name.startswith("_"):
                continue
            if p.annotation is inspect.Parameter.empty:
                missing.append(f"{qual}({p.name})")
        if sig.return_annotation is inspect.Signature.empty and not qual.endswith(".__init__"):
            missing.append(f"{qual} -> ?")
    assert not missing, f"not annotated: {missing}"


def test_py_typed_is_shipped():
    assert os.path.isfile(os.path.join(PKG, "py.typed"))


def test_pydoc_reads_as_a_reference():
    r = subprocess.run([sys.executable, "-m", "pydoc", "lelp"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PAGER="cat", PYTHONDONTWRITEBYTECODE="1"))
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for name in ("SubspaceBuilder", "Model", "Loss", "Compressor", "targets(", "threads", "ShapeMismatchError",
                 "Raises", "float32", "torch"):
        assert name in text, name
    assert "<lelp.Model object" not in text


@pytest.mark.parametrize("name", ["SubspaceBuilder", "Model", "Loss", "Compressor"])
def test_no_default_object_repr(name):
    assert getattr(lelp, name).__repr__ is not object.__repr__
