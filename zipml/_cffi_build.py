"""cffi build script of the C engine extension ``zipml._zipml_c``.

Used by ``setup.py`` (``cffi_modules=["zipml/_cffi_build.py:ffibuilder"]``); can also be run
directly (``python zipml/_cffi_build.py``) to build the extension in place.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import re
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CMODEL = ROOT / "cmodel"
SOURCES = ["zipml_fp.c", "zipml_engine.c", "zipml_prep.c"]

HEADERS = ["zipml_fp.h", "zipml_engine.h", "zipml_prep.h"]

# loaded by path: setuptools runs this file on its own, before the package exists
_spec = importlib.util.spec_from_file_location("_zipml_cdef", Path(__file__).with_name("_cdef.py"))
_cdef = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cdef)
header_cdef = _cdef.header_cdef


def engine_cdef() -> str:
    """All declarations the extension exposes: the C headers plus ``ARRAY_CDEF``."""
    return "".join(header_cdef(CMODEL / h) for h in HEADERS) + ARRAY_CDEF


ARRAY_SRC = r"""
#include "zipml_fp.h"
#include "zipml_engine.h"
#include "zipml_prep.h"

void zml_fadd_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fadd(a[i], b[i]); }
void zml_fsub_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fsub(a[i], b[i]); }
void zml_fmul_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fmul(a[i], b[i]); }
void zml_fix2flt_array(const int64_t *a, const uint32_t *frac, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fix2flt(a[i], frac[i]); }
void zml_flt2fix_array(const uint32_t *v, int32_t *out, uint8_t *flag, size_t n)
{ for (size_t i = 0; i < n; i++) { int f = 0; out[i] = zml_flt2fix(v[i], &f); flag[i] = (uint8_t)f; } }
void zml_smp2fix_array(const uint32_t *v, int32_t *out, uint8_t *flag, size_t n)
{ for (size_t i = 0; i < n; i++) { int f = 0; out[i] = zml_smp2fix(v[i], &f); flag[i] = (uint8_t)f; } }
void zml_plan_array(const uint32_t *z, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_plan(z[i]); }
"""


# their declarations, read from the definitions above
ARRAY_CDEF = "".join(f"{proto};\n" for proto in
                     re.findall(r"^void zml_\w+_array\([^)]*\)", ARRAY_SRC, flags=re.M))


def _compile_args() -> list[str]:
    # -ffp-contract=off: zipml_prep.c must round every binary64 operation as numpy does
    args = ["-O3", "-std=c99", "-Wall", "-ffp-contract=off"]
    if os.environ.get("ZIPML_CFLAGS"):
        args += os.environ["ZIPML_CFLAGS"].split()
    return args


ffibuilder = FFI()
ffibuilder.cdef(engine_cdef())
ffibuilder.set_source(
    "zipml._zipml_c",
    ARRAY_SRC,
    # setuptools wants paths relative to setup.py; a direct build (tmpdir) needs absolute ones
    sources=[f"cmodel/{s}" if Path.cwd() == ROOT else str(CMODEL / s) for s in SOURCES],
    include_dirs=[str(CMODEL)],
    extra_compile_args=_compile_args(),
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build" / "cffi"), verbose=True)
    print("machine:", platform.machine())
