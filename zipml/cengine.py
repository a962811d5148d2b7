"""The bit-exact C engine (``cmodel/``) through cffi.

Two groups of functions:

* the float32 stage of ``docs/ENGINE.md`` (2.2, 2.3, 5.3), vectorised over numpy arrays of
  binary32 *bit patterns* (``uint32``): :func:`fadd`, :func:`fsub`, :func:`fmul`, :func:`fneg`,
  :func:`fix2flt`, :func:`flt2fix`, :func:`smp2fix`, :func:`plan`. Inputs broadcast against
  each other like numpy ufuncs.
* :func:`run_engine`: a whole engine run (configuration check, epochs, delayed updates).

The extension module ``zipml._zipml_c`` is built by ``pip install -e .`` (or
``python zipml/_cffi_build.py``).
"""
from __future__ import annotations

import numpy as np

from . import spec
from .config import EngineConfig, EngineResult, f32_bits

try:
    from ._zipml_c import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the C engine extension zipml._zipml_c is not built: run `pip install -e .` in the "
        f"project root (or `python zipml/_cffi_build.py`); import failed with: {exc}") from exc

__all__ = ["fadd", "fsub", "fmul", "fneg", "fix2flt", "flt2fix", "smp2fix", "plan",
           "ffi", "lib"]


# --------------------------------------------------------------------------- helpers
def _as_int_array(x, dtype, name: str) -> np.ndarray:
    """``x`` as a C-contiguous array of integer ``dtype``; refuse floats and out-of-range ints."""
    arr = np.asarray(x)
    dt = np.dtype(dtype)
    if arr.dtype == dt:
        return arr
    if arr.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected {dt} (binary32 values as bit patterns, e.g. "
                         f"a.view(np.uint32)), got dtype {arr.dtype}")
    if arr.size:
        info = np.iinfo(dt)
        lo, hi = int(arr.min()), int(arr.max())
        if lo < info.min or hi > info.max:
            bad = lo if lo < info.min else hi
            raise ValueError(f"{name}: value {bad} does not fit {dt} "
                             f"[{info.min}, {info.max}]")
    return arr.astype(dt)


def _ptr(ctype: str, arr: np.ndarray):
    return ffi.cast(ctype, ffi.from_buffer(arr))


def _binary(cfun, a, b, name):
    a = _as_int_array(a, np.uint32, f"{name}: a")
    b = _as_int_array(b, np.uint32, f"{name}: b")
    a, b = np.broadcast_arrays(a, b)
    a = np.require(a, requirements="C")
    b = np.require(b, requirements="C")
    out = np.empty(a.shape, np.uint32)
    cfun(_ptr("uint32_t *", a), _ptr("uint32_t *", b), _ptr("uint32_t *", out), out.size)
    return out


# --------------------------------------------------------------------------- FP stage
def fadd(a, b) -> np.ndarray:
    """``fadd(a, b)`` of ENGINE.md 2.2 on binary32 bit patterns (uint32 arrays, broadcast)."""
    return _binary(lib.zml_fadd_array, a, b, "fadd")


def fsub(a, b) -> np.ndarray:
    """``fsub(a, b) = fadd(a, neg(b))``."""
    return _binary(lib.zml_fsub_array, a, b, "fsub")


def fmul(a, b) -> np.ndarray:
    """``fmul(a, b)`` of ENGINE.md 2.2 on binary32 bit patterns."""
    return _binary(lib.zml_fmul_array, a, b, "fmul")


def fneg(a) -> np.ndarray:
    """``neg(a)``: flip the sign bit."""
    return _as_int_array(a, np.uint32, "fneg: a") ^ np.uint32(0x80000000)


def fix2flt(acc, frac) -> np.ndarray:
    """``fix2flt(A, F)`` (ENGINE.md 2.3): binary32 bits nearest to ``A * 2^-F``.

    Parameters
    ----------
    acc : array_like of int64
        The signed integers ``A``.
    frac : int or array_like of int
        Fractional bits ``F`` (0 .. 4096), broadcast against ``acc``.
    """
    acc = _as_int_array(acc, np.int64, "fix2flt: acc")
    frac = np.asarray(frac)
    if frac.dtype.kind not in "iu" or (frac.size and (frac.min() < 0 or frac.max() > 4096)):
        raise ValueError(f"fix2flt: frac must be integers in 0..4096, got {frac!r}")
    frac = frac.astype(np.uint32)
    acc, frac = np.broadcast_arrays(acc, frac)
    acc = np.require(acc, requirements="C")
    frac = np.require(frac, requirements="C")
    out = np.empty(acc.shape, np.uint32)
    lib.zml_fix2flt_array(_ptr("int64_t *", acc), _ptr("uint32_t *", frac),
                          _ptr("uint32_t *", out), out.size)
    return out


def _convert(cfun, v, name):
    v = np.require(_as_int_array(v, np.uint32, f"{name}: v"), requirements="C")
    out = np.empty(v.shape, np.int32)
    flag = np.empty(v.shape, np.uint8)
    cfun(_ptr("uint32_t *", v), _ptr("int32_t *", out), _ptr("uint8_t *", flag), v.size)
    return out, flag.astype(bool)


def flt2fix(v) -> tuple[np.ndarray, np.ndarray]:
    """``flt2fix(v)`` (ENGINE.md 2.3): Q8.23 int32 values and the per-element SAT flags."""
    return _convert(lib.zml_flt2fix_array, v, "flt2fix")


def smp2fix(v) -> tuple[np.ndarray, np.ndarray]:
    """``smp2fix(v)`` (ENGINE.md 2.3): Q8.23 int32 values and per-element data-error flags
    (the value is 0 where the flag is set)."""
    return _convert(lib.zml_smp2fix_array, v, "smp2fix")


def plan(z) -> np.ndarray:
    """``plan(z)``, the PLAN sigmoid of ENGINE.md 5.3, on binary32 bit patterns."""
    z = np.require(_as_int_array(z, np.uint32, "plan: z"), requirements="C")
    out = np.empty(z.shape, np.uint32)
    lib.zml_plan_array(_ptr("uint32_t *", z), _ptr("uint32_t *", out), z.size)
    return out
