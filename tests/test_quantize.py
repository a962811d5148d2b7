"""zipml.quantize: exact nearest rounding (checked with rational arithmetic), unbiased
stochastic rounding (statistical test), dequantize, double sampling, bad input."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import zipml.quantize as zq
from zipml.quantize import dequantize, double_sample, levels, quantize

BITS = (1, 2, 4, 8)


def test_levels():
    assert [levels(b) for b in BITS] == [1, 2, 8, 128]
    for bad in (0, 3, 16, -1, True, 2.0 + 0.5):
        with pytest.raises(ValueError, match="bits"):
            levels(bad)


def exact_position(x: float, L: int, signed: bool) -> Fraction:
    fx = Fraction(float(x))
    return (fx + 1) * L / 2 if signed else fx * L


def interesting_values(L: int, signed: bool, rng) -> np.ndarray:
    lo = -1.0 if signed else 0.0
    vals = [lo, 1.0, 0.0, 2.0**-149, -(2.0**-149), 2.0**-126, 1e-30, -1e-30, 0.5, -0.5]
    # every tie (half-way between two levels) and its float32 neighbours
    for m in range(0, L):
        tie = Fraction(2 * m + 1, 2 * L)
        t = float(2 * tie - 1) if signed else float(tie)
        t32 = np.float32(t)
        vals += [t, np.nextafter(t32, np.float32(-2)), np.nextafter(t32, np.float32(2))]
        lev = float(Fraction(m, L) * 2 - 1) if signed else m / L
        vals.append(lev)
    vals += list(rng.uniform(lo, 1.0, 300))
    v = np.array(vals, dtype=np.float32)
    return v[(v >= lo) & (v <= 1.0)]


@pytest.mark.parametrize("signed", (False, True))
@pytest.mark.parametrize("bits", BITS)
def test_nearest_is_round_half_even_of_exact_position(bits, signed):
    L = levels(bits)
    v = interesting_values(L, signed, np.random.default_rng(bits))
    codes = quantize(v.reshape(1, -1), bits, signed=signed).ravel()
    expect = [round(exact_position(x, L, signed)) for x in v]  # Fraction: ties to even
    assert codes.tolist() == expect
    assert codes.dtype == np.uint8 and codes.max() <= L


def test_nearest_hand_examples():
    # Q2 unsigned: L = 2, positions 0.5 -> 0 (even), 1.5 -> 2 (even), 0.75 * 2 = 1.5 -> 2
    x = np.array([[0.25, 0.75, 0.3, 1.0, 0.0]], dtype=np.float32)
    assert quantize(x, 2).tolist() == [[0, 2, 1, 2, 0]]
    # Q1 signed: only -1 and +1; 0 is a tie -> code 0 (value -1)
    x = np.array([[0.0, 1e-40, -1e-40, 1.0, -1.0]], dtype=np.float32)
    assert quantize(x, 1, signed=True).tolist() == [[0, 1, 0, 1, 0]]
    # the bias column (1.0) is code L in both modes
    for b in BITS:
        assert quantize(np.ones((1, 1)), b)[0, 0] == levels(b)
        assert quantize(np.ones((1, 1)), b, signed=True)[0, 0] == levels(b)


@pytest.mark.parametrize("signed", (False, True))
@pytest.mark.parametrize("bits", BITS)
def test_stochastic_rounds_to_a_neighbour_and_is_unbiased(bits, signed):
    L = levels(bits)
    rng = np.random.default_rng(100 + bits)
    lo = -1.0 if signed else 0.0
    x = np.concatenate([rng.uniform(lo, 1.0, 14), [lo, 1.0]]).astype(np.float32)
    N = 20000
    X = np.broadcast_to(x, (N, x.size))
    codes = quantize(X, bits, signed=signed, rounding="stochastic", seed=12345)
    pos = np.array([float(exact_position(v, L, signed)) for v in x])
    assert (codes >= np.floor(pos)).all() and (codes <= np.ceil(pos)).all()
    vals = dequantize(codes, bits, signed).astype(np.float64)
    mean = vals.mean(axis=0)
    f = pos - np.floor(pos)
    step = (2.0 if signed else 1.0) / L
    sigma = step * np.sqrt(f * (1 - f) / N)  # std of the mean of N Bernoulli(f) steps
    # 5 sigma per value (16 values: false alarm probability ~1e-5); exact for f = 0
    assert (np.abs(mean - x) <= 5 * sigma + 1e-12).all(), (mean - x) / np.maximum(sigma, 1e-30)
    # the same statistic rejects nearest rounding (biased): the test has teeth
    near = dequantize(quantize(X[:1], bits, signed=signed), bits, signed).astype(np.float64)
    inner = (f > 0.05) & (f < 0.95)
    assert (np.abs(near[0] - x) > 5 * sigma + 1e-12)[inner].all()


def test_stochastic_reproducible_and_chunk_independent(monkeypatch):
    rng = np.random.default_rng(5)
    X = rng.random((50, 33)).astype(np.float32)
    a = quantize(X, 4, rounding="stochastic", seed=9)
    assert np.array_equal(a, quantize(X, 4, rounding="stochastic", seed=9))
    assert not np.array_equal(a, quantize(X, 4, rounding="stochastic", seed=10))
    monkeypatch.setattr(zq, "_CHUNK_ELEMS", 40)  # a few rows per chunk
    assert np.array_equal(a, quantize(X, 4, rounding="stochastic", seed=9))
    # the documented draw: floor(pos + u), u = default_rng(seed).random(X.size) row-major
    u = np.random.default_rng(9).random(X.size).reshape(X.shape)
    pos = X.astype(np.float64) * 8
    assert np.array_equal(a, np.floor(pos) + (u < pos - np.floor(pos)))


def test_tolerance_and_range_errors():
    tol = zq.TOLERANCE
    X = np.array([[1.0 + tol / 2, -tol / 2]], dtype=np.float64)
    assert quantize(X, 4).tolist() == [[8, 0]]  # clipped
    X = np.zeros((3, 4), dtype=np.float32)
    X[2, 1] = 1.01
    with pytest.raises(ValueError, match=r"X\[2, 1\] = .*1\.01.* outside \[0, 1\]"):
        quantize(X, 4)
    X[2, 1] = -0.5
    with pytest.raises(ValueError, match=r"X\[2, 1\].*outside \[0, 1\]"):
        quantize(X, 4)
    assert quantize(X, 4, signed=True)[2, 1] == 2  # -0.5 is fine signed: pos (0.5)*4 = 2
    X[2, 1] = -1.5
    with pytest.raises(ValueError, match=r"X\[2, 1\].*outside \[-1, 1\]"):
        quantize(X, 4, signed=True)
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[2, 1\] = nan"):
        quantize(X, 4, rounding="stochastic")
    with pytest.raises(ValueError, match="2-D"):
        quantize(np.zeros(3), 4)
    with pytest.raises(ValueError, match="rounding"):
        quantize(np.zeros((1, 1)), 4, rounding="up")
    with pytest.raises(ValueError, match="bits"):
        quantize(np.zeros((1, 1)), 0)
    with pytest.raises(ValueError, match="numeric"):
        quantize(np.array([["a"]]), 4)


@pytest.mark.parametrize("bits", BITS)
def test_dequantize(bits):
    L = levels(bits)
    k = np.arange(L + 1, dtype=np.uint8).reshape(1, -1)
    np.testing.assert_array_equal(dequantize(k, bits), (np.arange(L + 1) / L).reshape(1, -1))
    np.testing.assert_array_equal(dequantize(k, bits, True),
                                  ((2 * np.arange(L + 1) - L) / L).reshape(1, -1))
    assert dequantize(k, bits).dtype == np.float32
    # quantize(dequantize(k)) == k for both modes (levels are exact)
    for s in (False, True):
        assert np.array_equal(quantize(dequantize(k, bits, s), bits, signed=s), k)
    with pytest.raises(ValueError, match=rf"codes\[0, 1\] = {L + 1}"):
        dequantize(np.array([[0, L + 1]]), bits)
    with pytest.raises(ValueError, match="integer"):
        dequantize(np.zeros((1, 1)), bits)


def test_double_sample_independent_copies():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (2000, 20)).astype(np.float32)
    a, b = double_sample(X, 2, signed=True, seed=77)
    a2, b2 = double_sample(X, 2, signed=True, seed=77)
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    # copy A is the first draw of the generator, copy B the second
    g = np.random.default_rng(77)
    assert np.array_equal(a, quantize(X, 2, signed=True, rounding="stochastic", seed=g))
    assert np.array_equal(b, quantize(X, 2, signed=True, rounding="stochastic", seed=g))
    # independence: the rounding decisions of A and B are uncorrelated
    pos = (X.astype(np.float64) + 1) * 1.0
    f = pos - np.floor(pos)
    ua = (a - np.floor(pos)) - f
    ub = (b - np.floor(pos)) - f
    corr = (ua * ub).sum() / np.sqrt((ua**2).sum() * (ub**2).sum())
    assert abs(corr) < 5 / np.sqrt(X.size)
    assert not np.array_equal(a, b)
