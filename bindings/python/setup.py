# SPDX-License-Identifier: MIT
"""Builds liblelp from the source tree this package sits in (`make lib`, which
installs nothing) and copies build/liblelp.so.0 into the package, next to
_lib.py, which loads it first. The version is include/lelp.h's
LELP_VERSION_STRING, the one lelp.__version__ reads back from the library.

Environment: MAKE (default make), LELP_BUILD_DIR (the tree's build directory,
default build), CC/CFLAGS/LAPACK_LIBS as for make. Everything setuptools writes
goes under that build directory, not into bindings/python.
"""
import os
import re
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("LELP_BUILD_DIR", "build"))
SONAME = "liblelp.so.0"


def c_version():
    with open(os.path.join(ROOT, "include", "lelp.h"), encoding="utf-8") as f:
        m = re.search(r'^#define LELP_VERSION_STRING "([^"]+)"', f.read(), re.M)
    if not m:
        raise RuntimeError("lelp: no LELP_VERSION_STRING in include/lelp.h")
    return m.group(1)


class BuildWithLibrary(build_py):
    """build_py, plus liblelp.so.0 built by the tree's Makefile."""

    def run(self):
        super().run()
        make = os.environ.get("MAKE", "make")
        subprocess.check_call([make, "-C", ROOT, f"BUILD={BUILD}", "lib"])
        target = os.path.join(self.build_lib, "lelp", SONAME)
        # the real file (liblelp.so.0 is a symlink), under the soname
        shutil.copyfile(os.path.realpath(os.path.join(BUILD, SONAME)), target)
        os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    """The wheel carries a shared library: platform-specific, not pure."""

    def has_ext_modules(self):
        return True


os.makedirs(os.path.join(BUILD, "python"), exist_ok=True)
setup(
    version=c_version(),
    cmdclass={"build_py": BuildWithLibrary},
    package_data={"lelp": ["py.typed"]},  # PEP 561: the package is typed
    distclass=BinaryDistribution,
    options={
        "build": {"build_base": os.path.join(BUILD, "python", "build")},
        "egg_info": {"egg_base": os.path.join(BUILD, "python")},
    },
)
