"""cffi build script for ``zipml._libsvm``, the C tokenizer behind :func:`zipml.data.load_libsvm`.

Build in place (from the project root)::

    python zipml/_libsvm_build.py

or through setuptools (``cffi_modules=["zipml/_libsvm_build.py:ffibuilder"]``).
Extra compiler flags can be given in the environment variable ``ZIPML_LIBSVM_CFLAGS``
(e.g. ``-fsanitize=address -g`` for a sanitizer build).
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CMODEL = ROOT / "cmodel"

# loaded by path: setuptools runs this file on its own, before the package exists
_spec = importlib.util.spec_from_file_location("_zipml_cdef", Path(__file__).with_name("_cdef.py"))
_cdef = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cdef)
CDEF = _cdef.header_cdef(CMODEL / "zipml_libsvm.h")

_extra = shlex.split(os.environ.get("ZIPML_LIBSVM_CFLAGS", ""))


def _make_builder(absolute: bool) -> FFI:
    # setuptools (setup.py, run from the project root) wants source paths relative to
    # setup.py; a direct build in a temporary directory needs absolute ones
    base = CMODEL if absolute else Path("cmodel")
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source(
        "zipml._libsvm",
        '#include "zipml_libsvm.h"',
        sources=[str(base / "zipml_libsvm.c")],
        include_dirs=[str(base)],
        depends=[str(base / "zipml_libsvm.h")],
        extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra"] + _extra,
        extra_link_args=_extra,
    )
    return ffi


ffibuilder = _make_builder(absolute=Path.cwd().resolve() != ROOT)


def build(tmpdir: str | os.PathLike | None = None) -> Path:
    """Compile the module in ``tmpdir`` (default ``build/cffi``), copy the library next to
    ``zipml/__init__.py`` and return its path."""
    tmp = Path(tmpdir) if tmpdir else ROOT / "build" / "cffi"
    lib = Path(_make_builder(absolute=True).compile(tmpdir=str(tmp), verbose=False))
    dest = ROOT / "zipml" / lib.name
    shutil.copyfile(lib, dest.with_suffix(".tmp"))
    os.replace(dest.with_suffix(".tmp"), dest)  # atomic: a running import never sees half a file
    for other in dest.parent.glob("_libsvm.*.so"):
        if other != dest:       # another build (e.g. setup.py's abi3 one) must not shadow it
            other.unlink()
    return dest


if __name__ == "__main__":
    print(build())
