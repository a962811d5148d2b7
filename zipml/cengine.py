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

import functools

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
           "run_engine", "config_error", "ffi", "lib"]


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


# --------------------------------------------------------------------------- engine runs
_U32_FIELDS = ("num_samples", "num_features", "num_epochs", "reg_shift", "delay",
               "chunk_samples")


@functools.lru_cache(maxsize=64)
def _default_fifo_words(bits: int, max_dim: int) -> int:
    return spec.default_fifo_words(bits, max_dim)


def _c_config(cfg: EngineConfig, max_dim: int, fifo_words: int | None):
    """The ``zml_config`` struct for ``cfg`` (and the FIFO size actually used)."""
    if not isinstance(cfg, EngineConfig):
        raise TypeError(f"cfg must be a zipml.config.EngineConfig, got {type(cfg).__name__}")
    spec.check_bits(cfg.bits)
    if not isinstance(max_dim, (int, np.integer)) or not 1 <= max_dim <= spec.MAX_DIM_LIMIT:
        raise ValueError(f"max_dim must be an integer in 1..{spec.MAX_DIM_LIMIT}, "
                         f"got {max_dim!r}")
    if fifo_words is None:
        fifo_words = _default_fifo_words(cfg.bits, int(max_dim))
    if not isinstance(fifo_words, (int, np.integer)) or not 0 <= fifo_words <= 0xFFFFFFFF:
        raise ValueError(f"fifo_words must be an integer in [0, 2^32), got {fifo_words!r}")
    for name in _U32_FIELDS:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 0xFFFFFFFF:
            raise ValueError(f"EngineConfig.{name} must be an integer in [0, 2^32) (a 32-bit "
                             f"register), got {v!r}")
    loss = spec.LOSSES.get(cfg.loss, 3)  # 3 = reserved LOSS value: the engine says ERR_BAD_MODE
    mode = (spec.field("MODE", "LOSS", loss)
            | spec.field("MODE", "SIGNED", int(bool(cfg.signed)))
            | spec.field("MODE", "BINARIZE", int(bool(cfg.binarize)))
            | spec.field("MODE", "KEEP_MODEL", int(bool(cfg.keep_model)))
            | spec.field("MODE", "DOUBLE_SAMPLING", int(bool(cfg.double_sampling))))
    c = ffi.new("zml_config *")
    c.bits = cfg.bits
    c.max_dim = int(max_dim)
    c.fifo_words = int(fifo_words)
    c.mode = mode
    c.num_samples = int(cfg.num_samples)
    c.num_features = int(cfg.num_features)
    c.num_epochs = int(cfg.num_epochs)
    c.step_size = f32_bits(cfg.step_size)
    c.step_decay = f32_bits(cfg.step_decay)
    c.cost_pos = f32_bits(cfg.cost_pos)
    c.cost_neg = f32_bits(cfg.cost_neg)
    c.reg_shift = int(cfg.reg_shift)
    c.binarize_value = f32_bits(cfg.binarize_value)
    c.delay = int(cfg.delay)
    rc = lib.zml_check_setup(c)
    if rc:  # pragma: no cover - excluded by the checks above
        raise ValueError(ffi.string(lib.zml_api_error_text(rc)).decode())
    return c


def config_error(cfg: EngineConfig, max_dim: int = spec.DEFAULT_MAX_DIM,
                 fifo_words: int | None = None) -> int:
    """The configuration error code the C engine reports at START (0 = valid)."""
    return int(lib.zml_config_error(_c_config(cfg, max_dim, fifo_words), ffi.NULL))


def _check_stream(stream) -> np.ndarray:
    if not isinstance(stream, np.ndarray):
        raise ValueError(f"stream: expected a numpy.ndarray of uint64, got "
                         f"{type(stream).__name__}")
    if stream.dtype != np.uint64:
        raise ValueError(f"stream: expected dtype uint64, got {stream.dtype}")
    if stream.ndim not in (1, 2):
        raise ValueError(f"stream: expected a 1-D (epoch_words,) or 2-D (num_epochs, "
                         f"epoch_words) array, got shape {stream.shape}")
    if not stream.flags.c_contiguous:
        raise ValueError("stream: expected a C-contiguous array, got a non-contiguous view "
                         "(use numpy.ascontiguousarray)")
    return stream


def run_engine(cfg: EngineConfig, stream, *, model_init=None, max_dim: int = spec.DEFAULT_MAX_DIM,
               fifo_words: int | None = None) -> EngineResult:
    """Run the bit-exact C engine (``docs/ENGINE.md``) on a packed sample stream.

    Parameters
    ----------
    cfg : EngineConfig
        Parameters of the run (the register values).
    stream : numpy.ndarray of uint64
        1-D of length ``cfg.epoch_words`` (streamed every epoch) or 2-D
        ``(cfg.num_epochs, cfg.epoch_words)`` (row e is epoch e), C-contiguous, packed as in
        ENGINE.md section 3.
    model_init : array_like of int32, shape (d,), optional
        The Q8.23 model at START when ``cfg.keep_model`` (zeros if omitted); ignored otherwise.
    max_dim : int
        ``MAX_DIM`` of the emulated engine (1..8192).
    fifo_words : int, optional
        ``FIFO_WORDS`` of the emulated engine; default ``spec.default_fifo_words(bits, max_dim)``.

    Returns
    -------
    EngineResult
        Models after every completed epoch, error code and ERROR_INFO, SAT, staleness,
        SAMPLE_COUNT and ``loss_sum``, the progressive training loss of every completed epoch
        (ENGINE.md section 11). Configuration and data errors are reported here, not raised (use
        ``result.raise_for_error()``); the C engine has no stream framing, so the tlast errors
        never occur. ``extra["epoch_count"]`` is EPOCH_COUNT.

    Raises
    ------
    ValueError
        Malformed call: wrong stream dtype/shape/contiguity, bad ``model_init``, parameters
        that do not fit their 32-bit registers, bad ``bits``/``max_dim``/``fifo_words``.
    """
    c = _c_config(cfg, max_dim, fifo_words)
    stream = _check_stream(stream)
    d = int(cfg.num_features)
    st = ffi.new("zml_status *")
    code = int(lib.zml_config_error(c, ffi.NULL))
    if code:
        rc = lib.zml_run(c, ffi.NULL, 0, 1, ffi.NULL, 0, ffi.NULL, 0, st)
        assert rc == 0 and st.error == code, (rc, st.error, code)
        return EngineResult(models=np.zeros((0, d), np.int32), error=code,
                            staleness=int(st.staleness), extra={"epoch_count": 0})
    ew = int(lib.zml_epoch_words(c))
    E = int(cfg.num_epochs)
    if stream.ndim == 1:
        if stream.shape != (ew,):
            raise ValueError(f"stream: expected shape ({ew},) (epoch_words = num_samples "
                             f"{cfg.num_samples} x words_per_sample {cfg.words_per_sample}) "
                             f"or ({E}, {ew}), got {stream.shape}")
        nbuf = 1
    else:
        if stream.shape != (E, ew):
            raise ValueError(f"stream: expected shape ({E}, {ew}) (num_epochs x epoch_words) "
                             f"or ({ew},), got {stream.shape}")
        nbuf = E
    init = ffi.NULL
    init_len = 0
    if model_init is not None:
        mi = np.asarray(model_init)
        if mi.dtype.kind not in "iu":
            raise ValueError(f"model_init: expected int32 Q8.23 values, got dtype {mi.dtype}")
        if mi.shape != (d,):
            raise ValueError(f"model_init: expected shape ({d},), got {mi.shape}")
        if mi.size and (int(mi.min()) < -2**31 or int(mi.max()) > 2**31 - 1):
            raise ValueError("model_init: values outside the int32 range")
        if cfg.keep_model:
            mi = np.require(mi.astype(np.int32, copy=False), requirements="C")
            init = _ptr("int32_t *", mi)
            init_len = d
    models = np.zeros((E, d), np.int32)
    loss = np.zeros(E, np.float64)
    rc = lib.zml_run_loss(c, _ptr("uint64_t *", stream), stream.size, nbuf, init, init_len,
                          _ptr("int32_t *", models), models.size, _ptr("double *", loss), E,
                          st)
    if rc:
        msg = ffi.string(lib.zml_api_error_text(rc)).decode()
        if rc == lib.ZML_API_NO_MEMORY:
            raise MemoryError(f"C engine: {msg}")
        raise ValueError(f"C engine refused the call: {msg} (code {rc})")
    done = int(st.epoch_count)
    return EngineResult(models=models[:done].copy() if done < E else models,
                        error=int(st.error), error_info=int(st.error_info), sat=bool(st.sat),
                        staleness=int(st.staleness), samples=int(st.sample_count),
                        loss_sum=loss[:done].copy(), extra={"epoch_count": done})
