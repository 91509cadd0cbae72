# SPDX-License-Identifier: MIT
"""Loading liblelp and declaring every exported function (ctypes).

The library is found through $LELP_LIBRARY (an explicit choice, which must then
load: no silent fallback), else the liblelp.so.0 bundled inside this package
(`pip install ./bindings/python` puts it there), else the repository's
build/liblelp.so.0 (when run from a source tree), else the system loader
(ctypes.util.find_library("lelp")). A library of another major version (or,
before 1.0, another minor version) is refused. __version__ is the loaded
library's own version string.
"""
import ctypes as ct
import ctypes.util
import os

ABI_MAJOR, ABI_MINOR = 0, 1  # the C API this binding was written for

P = ct.c_void_p
I64 = ct.c_int64
I32P = ct.POINTER(ct.c_int32)
F32P = ct.POINTER(ct.c_float)
F64P = ct.POINTER(ct.c_double)
SZ = ct.c_size_t
PP = ct.POINTER(ct.c_void_p)
INT = ct.c_int
DBL = ct.c_double
I64P = ct.POINTER(ct.c_int64)
SZP = ct.POINTER(ct.c_size_t)
STR = ct.c_char_p

# name: (restype, argtypes) -- every function of include/lelp.h
SIGNATURES = {
    "lelp_version_number": (ct.c_uint32, []),
    "lelp_version_string": (STR, []),
    "lelp_status_string": (STR, [INT]),
    "lelp_last_error": (STR, []),
    "lelp_allocator_create": (INT, [PP, P, P, P]),
    "lelp_allocator_free": (None, [P]),
    "lelp_param_bounds": (INT, [INT, F64P, F64P]),
    "lelp_builder_create": (INT, [PP, I64, I64, I64, P]),
    "lelp_builder_free": (None, [P]),
    "lelp_builder_set_int": (INT, [P, INT, I64]),
    "lelp_builder_set_double": (INT, [P, INT, DBL]),
    "lelp_builder_get_int": (INT, [P, INT, I64P]),
    "lelp_builder_get_double": (INT, [P, INT, F64P]),
    "lelp_builder_update": (INT, [P, P, P, I64, I64]),
    "lelp_builder_merge": (INT, [P, P]),
    "lelp_builder_set_head": (INT, [P, P, I64, I64]),
    "lelp_builder_count": (INT, [P, I64, I64P]),
    "lelp_builder_fit": (INT, [P, PP]),
    "lelp_builder_serialized_size": (INT, [P, SZP]),
    "lelp_builder_serialize": (INT, [P, P, SZ, SZP]),
    "lelp_builder_load": (INT, [PP, P, SZ, P]),
    "lelp_builder_save_path": (INT, [P, STR]),
    "lelp_builder_load_path": (INT, [PP, STR, P]),
    "lelp_model_free": (None, [P]),
    "lelp_model_get_int": (INT, [P, INT, I64P]),
    "lelp_model_get_double": (INT, [P, INT, F64P]),
    "lelp_model_eigenvalues": (INT, [P, P, I64]),
    "lelp_model_explained_variance_ratio": (INT, [P, P, I64]),
    "lelp_model_components": (INT, [P, P, I64]),
    "lelp_model_means": (INT, [P, P, I64]),
    "lelp_model_offsets": (INT, [P, P, I64]),
    "lelp_model_targets_from_logits": (INT, [P, P, P, I64, I64, DBL, P]),
    "lelp_model_targets_from_labels": (INT, [P, P, P, I64, I64, DBL, P]),
    "lelp_model_project": (INT, [P, P, I64, I64, P]),
    "lelp_model_assign": (INT, [P, P, P, I64, I64, P]),
    "lelp_model_mean_entropy": (INT, [P, P, P, I64, I64, DBL, F64P]),
    "lelp_model_estimate_beta": (INT, [P, P, P, I64, I64, DBL, F64P]),
    "lelp_model_with_beta": (INT, [P, DBL, PP]),
    "lelp_model_serialized_size": (INT, [P, SZP]),
    "lelp_model_serialize": (INT, [P, P, SZ, SZP]),
    "lelp_model_load": (INT, [PP, P, SZ, P]),
    "lelp_model_save_path": (INT, [P, STR]),
    "lelp_model_load_path": (INT, [PP, STR, P]),
    "lelp_loss_create": (INT, [PP, I64, I64, P]),
    "lelp_loss_free": (None, [P]),
    "lelp_loss_set_int": (INT, [P, INT, I64]),
    "lelp_loss_set_double": (INT, [P, INT, DBL]),
    "lelp_loss_get_int": (INT, [P, INT, I64P]),
    "lelp_loss_get_double": (INT, [P, INT, F64P]),
    "lelp_loss_compute": (INT, [P, P, P, P, P, I64, F64P, P]),
    "lelp_compressor_create": (INT, [PP, I64, I64, I64, P]),
    "lelp_compressor_free": (None, [P]),
    "lelp_compressor_set_int": (INT, [P, INT, I64]),
    "lelp_compressor_set_double": (INT, [P, INT, DBL]),
    "lelp_compressor_get_int": (INT, [P, INT, I64P]),
    "lelp_compressor_get_double": (INT, [P, INT, F64P]),
    "lelp_compressor_step": (INT, [P, P, P, P, I64, F64P]),
    "lelp_compressor_compress": (INT, [P, P, I64, P]),
    "lelp_compressor_student_loss": (INT, [P, P, P, I64, F64P, P]),
    "lelp_compressor_weights": (INT, [P, P, P, P, P]),
    "lelp_compressor_serialized_size": (INT, [P, SZP]),
    "lelp_compressor_serialize": (INT, [P, P, SZ, SZP]),
    "lelp_compressor_load": (INT, [PP, P, SZ, P]),
    "lelp_compressor_save_path": (INT, [P, STR]),
    "lelp_compressor_load_path": (INT, [PP, STR, P]),
    "lelp_predict_log_proba": (INT, [P, I64, I64, I64, P]),
    "lelp_predict_class": (INT, [P, I64, I64, I64, P]),
    "lelp_softmax_targets": (INT, [P, I64, I64, DBL, P]),
    "lelp_inspect": (INT, [PP, P, SZ, P]),
    "lelp_inspect_path": (INT, [PP, STR, P]),
    "lelp_model_inspect": (INT, [P, PP]),
    "lelp_builder_inspect": (INT, [P, PP]),
    "lelp_compressor_inspect": (INT, [P, PP]),
    "lelp_loss_inspect": (INT, [P, PP]),
    "lelp_info_get_int": (INT, [P, INT, I64P]),
    "lelp_info_get_double": (INT, [P, INT, F64P]),
    "lelp_info_free": (None, [P]),
}


def _candidates():
    env = os.environ.get("LELP_LIBRARY")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    bundled = os.path.join(here, "liblelp.so.0")
    if os.path.exists(bundled):
        yield bundled
    repo_build = os.path.normpath(os.path.join(here, "..", "..", "..", "build", "liblelp.so.0"))
    if os.path.exists(repo_build):
        yield repo_build
    found = ctypes.util.find_library("lelp")
    if found:
        yield found


def check_version(version, path="liblelp"):
    """Raises ImportError unless `version` (lelp_version_number()) is the ABI
    this binding was written for: same major, and before 1.0 the same minor."""
    major, minor, patch = version // 10000, (version // 100) % 100, version % 100
    if major != ABI_MAJOR or (ABI_MAJOR == 0 and minor != ABI_MINOR):
        want = f"{ABI_MAJOR}.{ABI_MINOR}.x" if ABI_MAJOR == 0 else f"{ABI_MAJOR}.x"
        raise ImportError(f"lelp: {path} is liblelp {major}.{minor}.{patch}; this binding needs liblelp {want} "
                          f"(set LELP_LIBRARY to a matching build/liblelp.so.0)")
    return major, minor, patch


def load():
    errors = []
    for path in _candidates():
        try:
            lib = ct.CDLL(path)
            vfn = lib.lelp_version_number
        except (OSError, AttributeError) as e:
            if path == os.environ.get("LELP_LIBRARY"):  # asked for explicitly: no silent fallback
                raise ImportError(f"lelp: LELP_LIBRARY={path} is not a loadable liblelp: {e}") from None
            errors.append(f"{path}: {e}")
            continue
        vfn.restype, vfn.argtypes = ct.c_uint32, []
        check_version(vfn(), path)
        missing = [name for name in SIGNATURES if not hasattr(lib, name)]
        if missing:
            raise ImportError(f"lelp: {path} lacks {', '.join(missing)}")
        for name, (res, args) in SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        lib.path = path
        return lib
    raise ImportError("lelp: cannot find liblelp (set LELP_LIBRARY, build the repository with `make`, or install "
                      "it); tried: " + "; ".join(errors or ["nothing found"]))


LIB = load()
__version__ = LIB.lelp_version_string().decode()
