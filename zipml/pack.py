"""Packing samples into the engine's 64-bit DMA stream (``docs/ENGINE.md`` section 3).

One sample is ``D = ceil(d / V)`` data words (``V = 2`` float32 values per word for Q0,
``64 / b`` codes of ``b`` bits for Qb), least-significant value first, padded with zero bits;
with double sampling a second copy of ``D`` words follows; then one label word whose bits
31..0 hold the label as binary32 and bits 63..32 are zero. The stream is a 1-D ``uint64``
array whose memory holds little-endian words (what the AXI DMA reads).

Everything is vectorised: the codes are first packed into bytes (``8 / b`` codes per byte,
lowest bits first), and bytes ``8w .. 8w+7`` of a little-endian word ``w`` are exactly its
bits ``0 .. 63``.
"""
from __future__ import annotations

import sys

import numpy as np

from . import spec
from .quantize import levels

__all__ = ["stream_words", "pack", "unpack"]

_CHUNK_BYTES = 1 << 22  # output bytes per step (bounded temporaries)


def _check_int(v, name: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def stream_words(bits: int, n: int, d: int, double_sampling: bool = False) -> int:
    """64-bit words of one epoch: ``n * W`` (``W`` of :func:`zipml.spec.words_per_sample`)."""
    spec.check_bits(bits)
    n = _check_int(n, "n", 0)
    d = _check_int(d, "d", 1)
    if double_sampling and bits == 0:
        raise ValueError("double sampling needs quantized data (bits 1, 2, 4 or 8), got bits=0")
    return n * spec.words_per_sample(bits, d, bool(double_sampling))


def _q0_valid(v: np.ndarray) -> np.ndarray:
    """``smp2fix`` accepts ``v`` (ENGINE.md 2.3): finite and ``round(v * 2^23)`` within
    [-2^31, 2^31 - 1]. For binary32 this is exactly ``-256 <= v < 256`` (the largest float32
    below 256 is 256 - 2^-16; tests check the equivalence at the boundaries)."""
    return (v >= -256.0) & (v < 256.0)


def _codes_to_bytes(c: np.ndarray, bits: int, nbytes: int) -> np.ndarray:
    """Pack codes (rows, d) uint8 into (rows, nbytes) bytes, lowest lanes in the lowest bits;
    lanes beyond d are zero."""
    rows, d = c.shape
    per = 8 // bits
    if bits == 8:
        out = np.zeros((rows, nbytes), dtype=np.uint8)
        out[:, :d] = c
        return out
    if bits == 1:
        b = np.packbits(c, axis=1, bitorder="little")
        out = np.zeros((rows, nbytes), dtype=np.uint8)
        out[:, :b.shape[1]] = b
        return out
    padded = np.zeros((rows, nbytes * per), dtype=np.uint8)
    padded[:, :d] = c
    g = padded.reshape(rows, nbytes, per)
    out = g[:, :, 0].copy()
    for t in range(1, per):  # per <= 4: loop over bit positions, not over elements
        out |= g[:, :, t] << np.uint8(bits * t)
    return out


def _bytes_to_codes(b: np.ndarray, bits: int, d: int) -> np.ndarray:
    rows = b.shape[0]
    if bits == 8:
        return b[:, :d].copy()
    if bits == 1:
        return np.unpackbits(b, axis=1, bitorder="little")[:, :d].copy()
    per = 8 // bits
    mask = np.uint8((1 << bits) - 1)
    out = np.empty((rows, b.shape[1], per), dtype=np.uint8)
    for t in range(per):
        out[:, :, t] = (b >> np.uint8(bits * t)) & mask
    return out.reshape(rows, b.shape[1] * per)[:, :d].copy()


def _check_samples(a, name: str, bits: int, validate: bool, shape=None) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape} (like data)")
    if a.shape[1] < 1:
        raise ValueError(f"{name} must have at least one feature column, got shape {a.shape}")
    if bits == 0:
        if a.dtype != np.float32:
            raise ValueError(f"{name} must be float32 for bits=0 (Q0), got dtype {a.dtype}")
        if validate:
            ok = _q0_valid(a)
            if not ok.all():
                i, j = (int(v) for v in np.argwhere(~ok)[0])
                raise ValueError(f"{name}[{i}, {j}] = {a[i, j]!r} is not a valid Q0 sample: "
                                 "smp2fix needs a finite value in [-256, 256) (ENGINE.md 2.3)")
        return a
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer codes (uint8) for bits={bits}, got dtype "
                         f"{a.dtype}; use zipml.quantize.quantize first")
    L = levels(bits)
    lim = L if validate else (1 << bits) - 1
    bad = (a > lim) if a.dtype == np.uint8 else (a < 0) | (a > lim)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{name}[{i}, {j}] = {a[i, j]} is not a {bits}-bit code "
                         f"(0..{lim}, ENGINE.md 3.2)")
    return a.astype(np.uint8, copy=False)


def pack(data, y, bits: int, *, data_b=None, out=None, validate: bool = True) -> np.ndarray:
    """Pack samples and labels into the engine's stream layout (ENGINE.md 3.1).

    Parameters
    ----------
    data : ndarray, shape (n, d)
        ``bits=0``: float32 samples (bias column included), each finite and accepted by
        ``smp2fix`` (i.e. in [-256, 256)). ``bits>0``: integer codes ``0 .. L`` (uint8), e.g.
        from :func:`zipml.quantize.quantize`.
    y : array_like, shape (n,)
        Labels; converted to float32 (round to nearest) and placed in bits 31..0 of the label
        word. Must be finite after the conversion.
    bits : {0, 1, 2, 4, 8}
    data_b : ndarray, shape (n, d), optional
        Second quantized copy for double sampling (``MODE.DOUBLE_SAMPLING``; Qb only).
    out : ndarray of uint64, optional
        1-D, C-contiguous, writeable, exactly :func:`stream_words` long (subclasses such as a
        ``pynq`` buffer are accepted and filled in place). Default: a new array.
    validate : bool
        Check values (Q0 range, codes <= L, finite labels). ``False`` only checks shapes and
        types, so that tests can build streams with deliberate data errors (codes > L, NaN
        labels, ...); codes must still fit in ``bits`` bits.

    Returns
    -------
    ndarray of uint64
        ``out`` (or the new array): ``n * W`` words. Padding bits and label bits 63..32 are 0.
    """
    spec.check_bits(bits)
    data = _check_samples(data, "data", bits, validate)
    n, d = data.shape
    ds = data_b is not None
    if ds:
        if bits == 0:
            raise ValueError("data_b (double sampling) needs quantized data, got bits=0")
        data_b = _check_samples(data_b, "data_b", bits, validate, shape=data.shape)
    yv = np.asarray(y)
    if yv.ndim != 1 or yv.shape[0] != n:
        raise ValueError(f"y must be 1-D with {n} entries (one label per sample), "
                         f"got shape {yv.shape}")
    if not (np.issubdtype(yv.dtype, np.floating) or np.issubdtype(yv.dtype, np.integer)):
        raise ValueError(f"y must be a real numeric array, got dtype {yv.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        y32 = yv.astype(np.float32)
    if validate and not np.isfinite(y32).all():
        i = int(np.argwhere(~np.isfinite(y32))[0][0])
        raise ValueError(f"y[{i}] = {yv[i]!r} is not a finite float32 label")

    D = spec.data_words(bits, d)
    W = spec.words_per_sample(bits, d, ds)
    total = n * W
    if out is None:
        out = np.empty(total, dtype=np.uint64)
    else:
        if not isinstance(out, np.ndarray):
            raise ValueError(f"out must be a numpy uint64 array, got {type(out).__name__}")
        if out.dtype != np.uint64 or out.ndim != 1:
            raise ValueError(f"out must be a 1-D uint64 array, got dtype {out.dtype}, "
                             f"shape {out.shape}")
        if out.shape[0] != total:
            raise ValueError(f"out has {out.shape[0]} words, the stream needs exactly {total} "
                             f"(n={n}, d={d}, bits={bits}, double_sampling={ds})")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("out must be C-contiguous and writeable")
    if total == 0:
        return out
    # byte view of the stream: row i = sample i, W * 8 bytes (little-endian words)
    raw = out.view(np.uint8).reshape(n, W * 8)
    if sys.byteorder != "little":  # pragma: no cover - every PYNQ and CI host is little-endian
        raise NotImplementedError("pack() writes little-endian words through a byte view; "
                                  "big-endian hosts are not supported")
    step = max(1, _CHUNK_BYTES // (W * 8))
    for i in range(0, n, step):
        sl = slice(i, min(n, i + step))
        rows = raw[sl]
        if bits == 0:
            block = np.zeros((rows.shape[0], D * 2), dtype=np.float32)
            block[:, :d] = data[sl]
            rows[:, :D * 8] = block.view(np.uint8)
        else:
            rows[:, :D * 8] = _codes_to_bytes(data[sl], bits, D * 8)
            if ds:
                rows[:, D * 8:2 * D * 8] = _codes_to_bytes(data_b[sl], bits, D * 8)
        lab = rows[:, (W - 1) * 8:W * 8]
        lab[:, :4] = y32[sl].reshape(-1, 1).view(np.uint8)
        lab[:, 4:] = 0
    return out


def unpack(stream, bits: int, n: int, d: int, *, double_sampling: bool = False):
    """Inverse of :func:`pack` (tests and reference models).

    Returns
    -------
    data : ndarray, shape (n, d)
        float32 samples (``bits=0``) or uint8 codes (``bits>0``; every b-bit field, also
        values > L, is returned as stored).
    data_b : ndarray or None
        Second copy with ``double_sampling``.
    y : ndarray of float32, shape (n,)
        Bits 31..0 of the label words (bits 63..32 and padding bits are ignored, like the
        engine ignores them).
    """
    total = stream_words(bits, n, d, double_sampling)
    s = np.asarray(stream)
    if s.dtype != np.uint64 or s.ndim != 1:
        raise ValueError(f"stream must be a 1-D uint64 array, got dtype {s.dtype}, "
                         f"shape {s.shape}")
    if s.shape[0] != total:
        raise ValueError(f"stream has {s.shape[0]} words, expected {total} "
                         f"(n={n}, d={d}, bits={bits}, double_sampling={double_sampling})")
    D = spec.data_words(bits, d)
    W = spec.words_per_sample(bits, d, double_sampling)
    raw = np.ascontiguousarray(s).view(np.uint8).reshape(n, W * 8)
    y = raw[:, (W - 1) * 8:(W - 1) * 8 + 4].copy().view(np.float32).reshape(n)
    if bits == 0:
        data = raw[:, :D * 8].copy().view(np.float32)[:, :d].copy()
        return data, None, y
    data = _bytes_to_codes(raw[:, :D * 8], bits, d)
    data_b = _bytes_to_codes(raw[:, D * 8:2 * D * 8], bits, d) if double_sampling else None
    return data, data_b, y
