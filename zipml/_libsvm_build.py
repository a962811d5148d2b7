"""cffi build script for ``zipml._libsvm``, the C tokenizer behind :func:`zipml.data.load_libsvm`.

Build in place (from the project root)::

    python zipml/_libsvm_build.py

or through setuptools (``cffi_modules=["zipml/_libsvm_build.py:ffibuilder"]``).
Extra compiler flags can be given in the environment variable ``ZIPML_LIBSVM_CFLAGS``
(e.g. ``-fsanitize=address -g`` for a sanitizer build).
"""
from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CMODEL = ROOT / "cmodel"

CDEF = """
typedef struct {
    int64_t n_rows;
    int64_t nnz;
    int64_t max_col;
    int64_t lines;
    int64_t consumed;
    int64_t err_line;
    int64_t err_pos;
    int64_t err_len;
    int32_t err_code;
} zml_parse_result;

int zml_libsvm_abi(void);
int zml_libsvm_init(void);

int zml_libsvm_parse(const char *buf, int64_t len, int zero_based, int64_t n_features,
                     int64_t max_rows, double *labels, int64_t *rowptr, int32_t *cols,
                     float *vals, int32_t *scratch, int64_t rows_cap, int64_t nnz_cap,
                     zml_parse_result *res);

void zml_libsvm_count(const char *buf, int64_t len, int64_t *newlines, int64_t *colons);

void zml_libsvm_fill(const int64_t *rowptr, const int32_t *cols, const float *vals,
                     int64_t n_rows, int64_t d, float *x);
"""

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
    return dest


if __name__ == "__main__":
    print(build())
