"""The host data path in C: from the user's array to the engine's stream, and back to
predictions, without converted copies of the data.

:func:`pack_samples` is the one pass from a float32/float64 matrix (C or Fortran order, or any
strided view) to a DMA stream: normalisation (statistics of :func:`minmax` per column, or of
each row), the bias column, quantization (nearest, or stochastic with numpy's generator) and
packing, written straight into ``out`` (on a board a ``pynq.allocate`` buffer). The result is
bit-identical to the numpy reference ``pack(quantize(add_bias(normalize(X))))`` of
:mod:`zipml.data`, :mod:`zipml.quantize` and :mod:`zipml.pack`, which the tests keep.
:func:`dot_rows` and :func:`dot_stream` give the dot products behind losses, accuracy and
predictions, in binary64, from the same matrix or from a packed stream.

The C functions (``cmodel/zipml_prep.c``) release the GIL; the work is done in row chunks so
that Ctrl-C acts between chunks. Stochastic rounding draws numpy's PCG64 sequence in C (the
generator's state is passed down; no array of uniform numbers is made).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import spec

__all__ = ["PrepError", "Norm", "minmax", "pack_samples", "normalize_rows", "dot_rows",
           "dot_stream", "sum_squares"]

_CHUNK_ELEMS = 1 << 20

try:
    from ._zipml_c import ffi, lib
except ImportError as e:  # pragma: no cover - only without a compiler
    raise ImportError("zipml._zipml_c is not built (pip install . builds it)") from e


class PrepError(ValueError):
    """A value the data path cannot take; ``kind``, ``row``, ``col`` (source matrix, bias not
    counted) and ``value`` say which."""

    KINDS = {1: "nonfinite", 2: "float32_range", 3: "q0_range", 4: "qb_range", 5: "label"}

    def __init__(self, message, kind, row, col, value):
        super().__init__(message)
        self.kind, self.row, self.col, self.value = kind, row, col, value


@dataclass(frozen=True)
class Norm:
    """Normalisation applied on the fly: ``mode`` "none", "c" (with ``lo``/``hi`` per column,
    values clipped to them) or "r" (each row to its own range); ``to_min1_1``; ``add_bias``.

    Two promises that save work (never set them for data they are not true of: the result
    would differ from the reference): ``in_range``, the values lie in ``[lo, hi]`` (the
    statistics are of these very data), so the clip is skipped; ``checked``, :func:`minmax`
    (or the libsvm tokenizer) has checked every element, so it is not checked again."""

    mode: str = "none"
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    to_min1_1: bool = False
    add_bias: bool = True
    in_range: bool = False
    checked: bool = False


_MODES = {"none": 0, "c": 1, "r": 2}


def _as_matrix(X, name="X"):
    """(zml_matrix *, keep-alive) for a 2-D real array, float32/float64 read in place."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {X.shape}")
    if X.dtype == object or X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real numeric array, got dtype {X.dtype}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float32)        # integers, bools, float16: converted (exactly or not)
    item = X.itemsize
    if any(s % item for s in X.strides):
        X = np.ascontiguousarray(X)
    m = ffi.new("zml_matrix *")
    m.data = ffi.cast("void *", X.ctypes.data) if X.size else ffi.NULL
    m.dtype = lib.ZML_PREP_F32 if X.dtype == np.float32 else lib.ZML_PREP_F64
    m.row_stride = X.strides[0] // item
    m.col_stride = X.strides[1] // item
    m.rows, m.cols = X.shape
    return m, X


def _c_norm(norm: Norm, cols: int):
    c = ffi.new("zml_norm *")
    keep = []
    if norm.mode not in _MODES:
        raise ValueError(f"normalisation must be one of {sorted(_MODES)}, got {norm.mode!r}")
    c.mode = _MODES[norm.mode]
    c.to_min1_1 = bool(norm.to_min1_1)
    c.add_bias = bool(norm.add_bias)
    c.in_range = bool(norm.in_range) and norm.mode == "c"
    c.checked = bool(norm.checked)
    if norm.mode == "c":
        for name in ("lo", "hi"):
            v = np.ascontiguousarray(getattr(norm, name), dtype=np.float64)
            if v.shape != (cols,):
                raise ValueError(f"column statistics have {v.shape[0]} entries, X has {cols} "
                                 f"columns")
            keep.append(v)
        c.lo = ffi.cast("double *", ffi.from_buffer(keep[0]))
        c.hi = ffi.cast("double *", ffi.from_buffer(keep[1]))
    return c, keep


def _raise(err, name="X", bits=None, signed=False, label_name="y"):
    code = int(err.code)
    i, j, v = int(err.row), int(err.col), float(err.value)
    kind = PrepError.KINDS.get(code, "args")
    if code == lib.ZML_PREP_E_NONFINITE:
        msg = f"{name} contains a non-finite value at row {i}, column {j}: {v!r}"
    elif code == lib.ZML_PREP_E_F32_RANGE:
        msg = (f"{name} has {v!r} at row {i}, column {j}: outside the float32 range "
               f"(|x| <= 3.4e38) of the engine's data")
    elif code == lib.ZML_PREP_E_Q0_RANGE:
        msg = (f"{name}[{i}, {j}] = {v!r} is not a valid Q0 sample: smp2fix needs a finite "
               f"value in [-256, 256) (ENGINE.md 2.3)")
    elif code == lib.ZML_PREP_E_QB_RANGE:
        rng = "[-1, 1] (signed)" if signed else "[0, 1] (unsigned)"
        msg = (f"{name}[{i}, {j}] = {v!r} is outside {rng}, the range of {bits}-bit levels; "
               f"normalise the data first")
    elif code == lib.ZML_PREP_E_LABEL:
        msg = f"{label_name}[{i}] = {v!r} is not a finite float32 label"
    else:
        raise ValueError(f"zipml.prep: malformed call (code {code}, row {i})")
    raise PrepError(msg, kind, i, j, v)


def minmax(X, axis: str = "c", *, name: str = "X"):
    """Minimum and maximum per column (``"c"``) or row (``"r"``) of the float32 values of ``X``
    (float64 rounded to float32 first), as float64; every element is checked (NaN, infinity,
    beyond float32: :class:`PrepError` naming row and column)."""
    m, keep = _as_matrix(X, name)
    k = m.cols if axis == "c" else m.rows
    lo = np.zeros(k, np.float64)
    hi = np.zeros(k, np.float64)
    err = ffi.new("zml_prep_error *")
    rc = lib.zml_minmax(m, 0 if axis == "c" else 1, ffi.cast("double *", ffi.from_buffer(lo)),
                        ffi.cast("double *", ffi.from_buffer(hi)), err)
    if rc:
        _raise(err, name)
    del keep
    return lo, hi


def _pcg64(seed):
    """(zml_pcg64 *, generator) for ``seed`` (int, None, SeedSequence or a PCG64 Generator):
    the C code draws the uniform numbers numpy's ``Generator.random`` would."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    st = rng.bit_generator.state
    if st.get("bit_generator") != "PCG64":
        raise ValueError(f"stochastic rounding draws from numpy's PCG64 generator (the default); "
                         f"got a {st.get('bit_generator')} generator")
    c = ffi.new("zml_pcg64 *")
    state, inc = int(st["state"]["state"]), int(st["state"]["inc"])
    c.state_hi, c.state_lo = state >> 64, state & 0xFFFFFFFFFFFFFFFF
    c.inc_hi, c.inc_lo = inc >> 64, inc & 0xFFFFFFFFFFFFFFFF
    return c, rng


def pack_samples(X, y, bits: int, *, norm: Norm = Norm(), order=None, signed: bool = False,
                 rounding: str = "nearest", seed=None, double_sampling: bool = False,
                 out=None, label_check: bool = True, name: str = "X", tol: float = 0.0,
                 want_sumsq: bool = True):
    """One pass from ``X`` to the engine's stream (ENGINE.md section 3).

    Parameters
    ----------
    X : array_like (n_src, m)
        float32 or float64, any order or strides (read in place).
    y : array_like (n_src,) or None
        Labels (float64 values rounded to float32 in the label word).
    bits : {0, 1, 2, 4, 8}
    norm : Norm
        Normalisation and bias column.
    order : array_like of int, optional
        Output sample ``i`` is source row ``order[i]`` (a shuffle); default: all rows in order.
    signed : bool
        Codes of [-1, 1] instead of [0, 1] (``MODE.SIGNED``).
    rounding, seed, double_sampling
        As :func:`zipml.quantize.quantize` / :func:`zipml.quantize.double_sample`: the uniform
        numbers are drawn from ``numpy.random.default_rng(seed)`` in the same order.
    out : 1-D uint64 array, optional
        The stream buffer (C-contiguous, writeable, exactly the stream's length), e.g. a
        ``pynq.allocate`` array; default a new array.
    tol : float
        Quantized precisions: values outside the range by at most ``tol`` are clipped.

    Returns
    -------
    stream : ndarray of uint64
    sumsq : float
        Sum over the samples of ``||a_i||^2`` (float32 values after normalisation, bias
        included), for the automatic step size; 0.0 when ``want_sumsq`` is false (not
        computed).
    """
    spec.check_bits(bits)
    if rounding not in ("nearest", "stochastic"):
        raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {rounding!r}")
    if double_sampling and (bits == 0 or rounding != "stochastic"):
        raise ValueError("double sampling needs bits > 0 and rounding='stochastic'")
    m, keepX = _as_matrix(X, name)
    src_rows, cols = int(m.rows), int(m.cols)
    if order is not None:
        order = np.ascontiguousarray(order, dtype=np.int64)
        if order.ndim != 1:
            raise ValueError(f"order must be 1-D, got shape {order.shape}")
        if order.size and (order.min() < 0 or order.max() >= src_rows):
            raise ValueError(f"order holds row indices outside 0..{src_rows - 1}")
        n = order.shape[0]
    else:
        n = src_rows
    d = cols + (1 if norm.add_bias else 0)
    if d < 1:
        raise ValueError(f"{name} has no feature column")
    W = spec.words_per_sample(bits, d, bool(double_sampling))
    if out is None:
        out = np.empty(n * W, dtype=np.uint64)
    elif not (isinstance(out, np.ndarray) and out.dtype == np.uint64 and out.ndim == 1
              and out.shape[0] == n * W and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out must be a writeable C-contiguous 1-D uint64 array of exactly "
                         f"{n * W} words (n={n}, d={d}, bits={bits}), got "
                         f"{getattr(out, 'dtype', type(out))} {getattr(out, 'shape', '')}")
    yv = None
    if y is not None:
        yv = np.ascontiguousarray(y, dtype=np.float64)
        if yv.shape != (src_rows,):
            raise ValueError(f"y must have shape ({src_rows},), got {yv.shape}")
    cn, keepN = _c_norm(norm, cols)
    stochastic = bits > 0 and rounding == "stochastic"
    c_rng, rng = _pcg64(seed) if stochastic else (ffi.NULL, None)
    err = ffi.new("zml_prep_error *")
    ss = ffi.new("double *")
    total = 0.0
    p_out = ffi.cast("uint64_t *", ffi.from_buffer(out)) if out.size else ffi.NULL
    p_order = ffi.cast("int64_t *", ffi.from_buffer(order)) if order is not None and n else \
        ffi.NULL
    p_y = ffi.cast("double *", ffi.from_buffer(yv)) if yv is not None and yv.size else ffi.NULL
    step = max(1, 8 * _CHUNK_ELEMS // d)       # chunks: Ctrl-C acts between them
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        rc = lib.zml_pack_rows(m, p_order, n, r0, r1, cn, bits, bool(signed),
                               1 if stochastic else 0, float(tol), c_rng,
                               bool(double_sampling), p_y, bool(label_check), p_out, out.size,
                               ss if want_sumsq else ffi.NULL, err)
        if rc:
            _raise(err, name, bits, signed)
        total += ss[0] if want_sumsq else 0.0
    if rng is not None and isinstance(seed, np.random.Generator):
        rng.bit_generator.advance(n * d * (2 if double_sampling else 1))   # draws used
    del keepX, keepN
    return out, total


def normalize_rows(A, norm: Norm, *, out=None, name: str = "X"):
    """The normalised float32 values of ``A`` (no bias column): into ``out`` (float32, same
    shape, may be ``A`` itself for in-place normalisation) or a new array."""
    if norm.add_bias:
        raise ValueError("normalize_rows adds no bias column")
    m, keep = _as_matrix(A, name)
    n, cols = int(m.rows), int(m.cols)
    if out is None:
        out = np.empty((n, cols), np.float32)
    if out.dtype != np.float32 or out.shape != (n, cols) or out.strides[1] != 4:
        raise ValueError("out must be float32 of the shape of A with contiguous rows")
    cn, keepN = _c_norm(norm, cols)
    err = ffi.new("zml_prep_error *")
    if n and cols:
        base = ffi.cast("float *", out.ctypes.data)
        rc = lib.zml_normalize_rows(m, 0, n, cn, base, out.strides[0] // 4, err)
        if rc:
            _raise(err, name)
    del keep, keepN
    return out


def dot_rows(X, models, norm: Norm = Norm(), *, name: str = "X"):
    """``a_i . models[c]`` for every row ``a_i`` of ``X`` normalised by ``norm`` (float32
    values, bias first when ``norm.add_bias``), in binary64: (n, k)."""
    m, keep = _as_matrix(X, name)
    n, cols = int(m.rows), int(m.cols)
    d = cols + (1 if norm.add_bias else 0)
    W = np.ascontiguousarray(np.atleast_2d(models), dtype=np.float64)
    if W.shape[1] != d:
        raise ValueError(f"models have {W.shape[1]} weights, the samples {d}")
    k = W.shape[0]
    out = np.empty((n, k), np.float64)
    cn, keepN = _c_norm(norm, cols)
    err = ffi.new("zml_prep_error *")
    step = max(1, _CHUNK_ELEMS // max(1, d))
    pW = ffi.cast("double *", ffi.from_buffer(W))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        rc = lib.zml_dot_rows(m, r0, r1, cn, pW, k,
                              ffi.cast("double *", ffi.from_buffer(out[r0:r1])), err)
        if rc:
            _raise(err, name)
    del keep, keepN
    return out


def dot_stream(stream, n: int, d: int, bits: int, models, *, signed: bool = False,
               double_sampling: bool = False):
    """Dot products of the samples of a packed epoch buffer (the values the engine takes)
    with k models, binary64 (n, k), and the float32 labels (n,)."""
    stream = np.ascontiguousarray(stream, dtype=np.uint64).reshape(-1)
    W = np.ascontiguousarray(np.atleast_2d(models), dtype=np.float64)
    if W.shape[1] != d:
        raise ValueError(f"models have {W.shape[1]} weights, the samples {d}")
    k = W.shape[0]
    out = np.empty((n, k), np.float64)
    labels = np.empty(n, np.float32)
    if n:
        rc = lib.zml_dot_stream(ffi.cast("uint64_t *", ffi.from_buffer(stream)), stream.size,
                                n, d, bits, bool(signed), bool(double_sampling),
                                ffi.cast("double *", ffi.from_buffer(W)), k,
                                ffi.cast("double *", ffi.from_buffer(out)),
                                ffi.cast("float *", ffi.from_buffer(labels)))
        if rc:
            raise ValueError(f"stream of {stream.size} words is not {n} samples of d={d} at "
                             f"bits={bits}")
    return out, labels


def sum_squares(A, *, name: str = "A") -> float:
    """``sum_i ||a_i||^2`` of ``A`` in binary64, in row chunks of at most ``_CHUNK_ELEMS``
    values (bounded temporaries, no float64 copy of ``A``)."""
    A = np.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {A.shape}")
    n, cols = A.shape
    total = 0.0
    step = max(1, _CHUNK_ELEMS // max(1, cols))
    for r0 in range(0, n, step):
        blk = np.asarray(A[r0:r0 + step], dtype=np.float64)
        total += float(np.einsum("ij,ij->", blk, blk))
    return total
