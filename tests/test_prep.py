"""The C data path (zipml.prep, cmodel/zipml_prep.c) against the numpy reference path
(zipml.data.normalize -> add_bias -> zipml.quantize -> zipml.pack): bit-identical streams for
every precision, rounding, normalisation, dtype, memory order and shuffle; errors naming row,
column and value; bounded, copy-free reading of the user's array."""
import itertools

import numpy as np
import pytest

from zipml import data, pack, prep, quantize


def reference(X, y, bits, axis, m11, order, rounding, seed, ds):
    X32 = np.asarray(X, dtype=np.float32)
    if axis in ("c", "r"):
        Xn, st = data.normalize(X32, to_min1_1=m11, axis=axis)
        signed = m11
    else:
        Xn, st = X32, None
        signed = bool(X32.min() < 0)
    yy = y
    if order is not None:
        Xn, yy = Xn[order], y[order]
    A = data.add_bias(Xn)
    if bits == 0:
        return pack.pack(A, yy, 0), st, signed, A
    if ds:
        ca, cb = quantize.double_sample(A, bits, signed, seed)
        return pack.pack(ca, yy, bits, data_b=cb), st, signed, A
    codes = quantize.quantize(A, bits, signed=signed, rounding=rounding, seed=seed)
    return pack.pack(codes, yy, bits), st, signed, A


def problem(rng, n, m):
    X = rng.normal(size=(n, m)) * 3
    X[:, 0] = 2.0                       # a constant column: maps to the low end
    if m > 2:
        X[::7, 1] = 0.0
        X[1::5, 2] = -0.0
    return X, rng.integers(0, 4, n).astype(np.float64)


CASES = [c for c in itertools.product([0, 1, 2, 4, 8], ["c", "r", "none"], [False, True],
                                      ["nearest", "stochastic"], [False, True])
         if not (c[4] and (c[0] == 0 or c[3] != "stochastic"))
         and not (c[0] == 0 and c[3] == "stochastic")]


@pytest.mark.parametrize("bits,axis,m11,rounding,ds", CASES)
def test_streams_bit_identical_to_numpy_path(bits, axis, m11, rounding, ds):
    rng = np.random.default_rng(bits * 100 + len(axis) + m11)
    for n, m in ((1, 1), (37, 5), (200, 67)):
        X, y = problem(rng, n, m)
        if axis == "none":
            X = np.clip(X / 10, -1 if m11 else 0, 1)     # data already in range
        for dt, fortran, shuffle in itertools.product([np.float32, np.float64], [False, True],
                                                      [False, True]):
            Xd = np.asarray(X, dtype=dt)
            Xd = np.asfortranarray(Xd) if fortran else Xd
            order = rng.permutation(n) if shuffle else None
            ref, st, signed, A = reference(Xd, y, bits, axis, m11, order, rounding, 77, ds)
            if axis == "c":
                lo, hi = prep.minmax(Xd, "c")
                assert np.array_equal(lo, st.lo) and np.array_equal(hi, st.hi)
                norm = prep.Norm("c", lo, hi, m11)
            else:
                norm = prep.Norm(axis, None, None, m11)
            s, ss = prep.pack_samples(Xd, y, bits, norm=norm, order=order, signed=signed,
                                      rounding=rounding, seed=77, double_sampling=ds)
            assert s.dtype == np.uint64 and np.array_equal(s, ref), (n, m, dt, fortran, shuffle)
            want = float(np.einsum("ij,ij->", A.astype(np.float64), A.astype(np.float64)))
            assert ss == pytest.approx(want, rel=1e-12)


def test_views_and_strides_read_in_place():
    rng = np.random.default_rng(5)
    X, y = problem(rng, 60, 40)
    big = np.zeros((120, 90))
    big[::2, 3:83:2] = X                                   # a strided view, float64
    view = big[::2, 3:83:2]
    lo, hi = prep.minmax(view, "c")
    a, _ = prep.pack_samples(view, y, 4, norm=prep.Norm("c", lo, hi))
    b, _ = prep.pack_samples(np.ascontiguousarray(X), y, 4, norm=prep.Norm("c", lo, hi))
    assert np.array_equal(a, b)
    rev = X[::-1, ::-1]                                    # negative strides
    lo2, hi2 = prep.minmax(rev, "c")
    assert np.array_equal(lo2, lo[::-1]) and np.array_equal(hi2, hi[::-1])


def test_out_buffer_filled_in_place_and_checked():
    rng = np.random.default_rng(6)
    X, y = problem(rng, 20, 9)
    lo, hi = prep.minmax(X, "c")
    want, _ = prep.pack_samples(X, y, 2, norm=prep.Norm("c", lo, hi))
    out = np.full(want.size, 7, np.uint64)
    got, _ = prep.pack_samples(X, y, 2, norm=prep.Norm("c", lo, hi), out=out)
    assert got is out and np.array_equal(out, want)
    with pytest.raises(ValueError, match="exactly"):
        prep.pack_samples(X, y, 2, norm=prep.Norm("c", lo, hi), out=out[:-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_errors_name_row_column_value(dtype):
    X = np.zeros((5, 4), dtype)
    X[3, 2] = np.nan
    X[4, 1] = np.inf                                       # later in row-major order
    with pytest.raises(prep.PrepError, match=r"row 3, column 2: nan") as e:
        prep.minmax(X, "c")
    assert (e.value.row, e.value.col, e.value.kind) == (3, 2, "nonfinite")
    with pytest.raises(prep.PrepError, match=r"row 3, column 2"):
        prep.minmax(np.asfortranarray(X), "c")           # still the first in row-major order
    with pytest.raises(prep.PrepError, match=r"row 3, column 2"):
        prep.pack_samples(X, np.zeros(5), 0)
    X = np.zeros((3, 3))
    X[1, 2] = 1e300
    with pytest.raises(prep.PrepError, match=r"X has 1e\+300 at row 1, column 2: outside the "
                                             r"float32 range"):
        prep.minmax(X, "r")
    X = np.zeros((3, 3), np.float32)
    X[2, 0] = 300.0
    with pytest.raises(prep.PrepError, match=r"X\[2, 0\] = 300.0 is not a valid Q0 sample"):
        prep.pack_samples(X, np.zeros(3), 0)
    X[2, 0] = 1.5
    with pytest.raises(prep.PrepError, match=r"X\[2, 0\] = 1.5 is outside \[0, 1\]"):
        prep.pack_samples(X, np.zeros(3), 4)
    X[2, 0] = -0.5                                          # unsigned codes need [0, 1]
    with pytest.raises(prep.PrepError, match=r"-0.5 is outside \[0, 1\]"):
        prep.pack_samples(X, np.zeros(3), 1)
    prep.pack_samples(X, np.zeros(3), 1, signed=True)        # fine for signed codes
    with pytest.raises(prep.PrepError, match=r"y\[1\] = 1e\+39 is not a finite float32"):
        prep.pack_samples(np.zeros((3, 2), np.float32), np.array([0, 1e39, 0]), 8)


def test_dot_rows_and_stream_match_numpy():
    rng = np.random.default_rng(7)
    X, y = problem(rng, 300, 30)
    lo, hi = prep.minmax(X, "c")
    W = rng.normal(size=(3, 31))
    norm = prep.Norm("c", lo, hi, True)
    A = data.add_bias(data.normalize(X.astype(np.float32), True, "c")[0]).astype(np.float64)
    np.testing.assert_allclose(prep.dot_rows(X, W, norm), A @ W.T, rtol=1e-12, atol=1e-12)
    s, _ = prep.pack_samples(X, y, 0, norm=norm)
    z, lab = prep.dot_stream(s, 300, 31, 0, W)
    np.testing.assert_allclose(z, A @ W.T, rtol=1e-12, atol=1e-12)
    assert np.array_equal(lab, y.astype(np.float32))
    s4, _ = prep.pack_samples(X, y, 4, norm=norm, signed=True)
    q = quantize.dequantize(quantize.quantize(A.astype(np.float32), 4, signed=True), 4, True)
    z4, _ = prep.dot_stream(s4, 300, 31, 4, W, signed=True)
    np.testing.assert_allclose(z4, q.astype(np.float64) @ W.T, rtol=1e-12, atol=1e-12)


def test_normalize_rows_in_place_equals_numpy():
    rng = np.random.default_rng(8)
    X, _ = problem(rng, 50, 12)
    for axis, m11 in itertools.product("cr", (False, True)):
        A = np.ones((50, 13), np.float32)
        A[:, 1:] = X
        ref, st = data.normalize(A[:, 1:], to_min1_1=m11, axis=axis)
        lo, hi = prep.minmax(A[:, 1:], axis)
        assert np.array_equal(lo, st.lo) and np.array_equal(hi, st.hi)
        prep.normalize_rows(A[:, 1:], prep.Norm(axis, lo, hi, m11, add_bias=False),
                            out=A[:, 1:])
        assert np.array_equal(A[:, 1:], ref) and np.all(A[:, 0] == 1)
