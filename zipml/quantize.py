"""Host-side quantization of normalised samples to the engine's b-bit codes.

``docs/ENGINE.md`` section 3.2: a code ``k`` in ``0 .. L`` with ``L = levels(bits) =
2^(bits-1)`` stands for the value ``k / L`` (unsigned data in [0, 1]) or ``(2k - L) / L``
(signed data in [-1, 1]). The *level position* of a value ``x`` is the real number

    pos = x * L              (unsigned)
    pos = (x + 1) * L / 2    (signed)

so that code ``k`` has position ``k``. :func:`quantize` maps ``pos`` to an integer code by
rounding to nearest (ties to even) or by unbiased stochastic rounding.

All functions work on whole arrays (bounded float64 temporaries, in row chunks), never element
by element.
"""
from __future__ import annotations

import numpy as np

from .spec import PRECISIONS

__all__ = ["levels", "quantize", "dequantize", "double_sample", "TOLERANCE"]

#: Values may exceed the normalised range by this much (float32 rounding of a normalisation);
#: they are clipped to the range. Anything further out is an error.
TOLERANCE = 1e-6

_CHUNK_ELEMS = 1 << 20


def levels(bits: int) -> int:
    """``L = 2^(bits-1)``: the largest code (there are ``L + 1`` levels)."""
    if isinstance(bits, bool) or bits not in PRECISIONS or bits == 0:
        raise ValueError(f"bits must be one of 1, 2, 4, 8 for quantized data, got {bits!r}")
    return 1 << (int(bits) - 1)


def _check_data(X, signed: bool) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype == object or not (np.issubdtype(X.dtype, np.floating)
                                 or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"X must be a real numeric array, got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples x features), got shape {X.shape}")
    lo = -1.0 if signed else 0.0
    # one vectorised pass; NaN fails both comparisons
    ok = (X >= lo - TOLERANCE) & (X <= 1.0 + TOLERANCE)
    if not ok.all():
        i, j = (int(v) for v in np.argwhere(~ok)[0])
        rng = "[-1, 1] (signed)" if signed else "[0, 1] (unsigned)"
        raise ValueError(f"X[{i}, {j}] = {X[i, j]!r} is outside {rng}; normalise the data first "
                         f"(zipml.data.normalize{', to_min1_1=True' if signed else ''})")
    return X


def _positions(x: np.ndarray, L: int, signed: bool) -> np.ndarray:
    """Level positions (float64) of float data already checked to be in range."""
    x = x.astype(np.float64)
    np.clip(x, -1.0 if signed else 0.0, 1.0, out=x)
    # x * L is exact (L is a power of two). Signed: x * L + L is exact except for
    # |x| < ~2^-29, where pos = L/2 +- tiny is far from a tie when L >= 2 (L = 1 is handled
    # by the caller for nearest rounding; for stochastic rounding the error is < 2^-53).
    if signed:
        x *= L
        x += L
        x *= 0.5
    else:
        x *= L
    return x


def quantize(X, bits: int, *, signed: bool = False, rounding: str = "nearest", seed=None):
    """Quantize normalised data to codes ``0 .. L`` (uint8).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data normalised to [0, 1] (``signed=False``) or [-1, 1] (``signed=True``), e.g. by
        :func:`zipml.data.normalize`. Values outside by at most :data:`TOLERANCE` are clipped;
        values further out, NaN or infinities raise ``ValueError`` naming the row and column.
        The bias column (1.0) becomes code ``L`` in both modes.
    bits : {1, 2, 4, 8}
    signed : bool
        Data in [-1, 1] (``MODE.SIGNED``): code ``k`` stands for ``(2k - L) / L``.
    rounding : {"nearest", "stochastic"}
        ``"nearest"``: round the exact level position half to even (``numpy.rint``).
        ``"stochastic"``: ``k = floor(pos) + (u < frac(pos))`` with ``u`` uniform in [0, 1)
        from ``numpy.random.default_rng(seed).random`` (one draw per element, row-major order),
        i.e. ``floor(pos + u)`` computed without rounding error; hence
        ``E[dequantize(k)] = x`` (exactly, up to the 2^-53 granularity of ``u``).
    seed : int, numpy.random.Generator or None
        Seed for stochastic rounding (a Generator is used and advanced as is).

    Returns
    -------
    codes : ndarray of uint8, shape (n, d), values in ``0 .. L``
    """
    L = levels(bits)
    if rounding not in ("nearest", "stochastic"):
        raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {rounding!r}")
    signed = bool(signed)
    X = _check_data(X, signed)
    n, d = X.shape
    out = np.empty((n, d), dtype=np.uint8)
    rng = np.random.default_rng(seed) if rounding == "stochastic" else None
    step = max(1, _CHUNK_ELEMS // max(1, d))
    for i in range(0, n, step):
        x = X[i:i + step]
        if rounding == "nearest" and signed and L == 1:
            # pos = (x + 1) / 2: the tie is x = 0 exactly (-> even code 0); decide on x itself
            # because x + 1 is not exact for tiny x
            k = (x > 0).astype(np.uint8)
        else:
            pos = _positions(x, L, signed)
            if rounding == "nearest":
                k = np.rint(pos)  # round half to even
            else:
                k = np.floor(pos)
                pos -= k  # exact fraction
                k += rng.random(pos.shape) < pos
            k = k.astype(np.uint8)
        out[i:i + step] = k
    return out


def dequantize(codes, bits: int, signed: bool = False) -> np.ndarray:
    """Values ``q / L`` of codes (ENGINE.md 3.2): ``k / L``, or ``(2k - L) / L`` if ``signed``.

    Returns float32 (exact: every value is a small dyadic rational). Codes above ``L`` or below
    0 raise ``ValueError`` naming the position.
    """
    L = levels(bits)
    c = np.asarray(codes)
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"codes must be an integer array, got dtype {c.dtype}")
    bad = (c < 0) | (c > L)
    if bad.any():
        pos = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"codes{list(pos)} = {c[pos]} is not a {bits}-bit code (0..{L})")
    q = c.astype(np.float32)
    if signed:
        q = 2.0 * q - L
    return (q / np.float32(L)).astype(np.float32)


def double_sample(X, bits: int, signed: bool = False, seed=None):
    """Two independent stochastic quantizations of ``X`` (ZipML double sampling, ENGINE.md 5.5).

    Both draws come from one ``numpy.random.default_rng(seed)``, copy A first.

    Returns
    -------
    codes_a, codes_b : ndarray of uint8, shape (n, d)
    """
    rng = np.random.default_rng(seed)
    a = quantize(X, bits, signed=signed, rounding="stochastic", seed=rng)
    b = quantize(X, bits, signed=signed, rounding="stochastic", seed=rng)
    return a, b
