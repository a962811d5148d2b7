"""Tests of the C engine through cffi (zipml.cengine): float32 stage and engine runs.

Expected values are derived independently of the C code: from numpy float32/float64 arithmetic
where ENGINE.md 2.2 coincides with IEEE-754, and from bit patterns derived by hand (comments
show the derivation) where flush-to-zero makes them differ.
"""
from __future__ import annotations

import numpy as np
import pytest

from zipml import cengine as ce

U32 = np.uint32
QNAN = 0x7FC00000
TINY = 0x00800000          # 2^-126, smallest normal
F32_MAX = 0x7F7FFFFF
INF, NINF = 0x7F800000, 0xFF800000


def fb(x: float) -> int:
    """binary32 bits of x (x must be exactly representable)."""
    v = np.float32(x)
    assert float(v) == x or np.isnan(x) or np.isinf(x), x
    return int(v.view(U32))


def scalar(fn, *args):
    return int(np.asarray(fn(*[np.asarray(a, dtype=np.uint64).astype(U32) for a in args])))


def np_op(op, a, b):
    """IEEE binary32 result computed by numpy (subnormals honoured), as bits."""
    with np.errstate(all="ignore"):
        r = op(a.view(np.float32), b.view(np.float32))
    return r.view(U32)


def is_sub(bits):
    return ((bits & U32(0x7F800000)) == 0) & ((bits & U32(0x007FFFFF)) != 0)


def canon_nan(bits):
    f = bits.view(np.float32)
    return np.where(np.isnan(f), U32(QNAN), bits)


# ----------------------------------------------------------------------------- fadd / fmul
@pytest.mark.parametrize("op,npop", [(ce.fadd, np.add), (ce.fmul, np.multiply)])
def test_random_vs_numpy_where_ieee_coincides(op, npop):
    """Where no operand or result is subnormal, the rules are IEEE binary32 RNE."""
    rng = np.random.default_rng(2026)
    n = 300_000
    a = rng.integers(0, 2**32, n, dtype=np.uint64).astype(U32)
    b = rng.integers(0, 2**32, n, dtype=np.uint64).astype(U32)
    # half of the b's share a's exponent (cancellation, carries, ties)
    b[::2] = (a[::2] & U32(0xFF800000)) | (b[::2] & U32(0x807FFFFF))
    # some exact ties: b = a's half-ulp neighbourhood
    got = op(a, b)
    exp = canon_nan(np_op(npop, a, b))
    ok = ~is_sub(a) & ~is_sub(b) & ~is_sub(exp)
    assert ok.sum() > 0.9 * n
    bad = np.flatnonzero(ok & (got != exp))
    assert bad.size == 0, [(hex(a[i]), hex(b[i]), hex(got[i]), hex(exp[i])) for i in bad[:5]]


def test_fadd_signed_zeros_inf_nan():
    z, nz = 0x00000000, 0x80000000
    assert scalar(ce.fadd, z, nz) == z
    assert scalar(ce.fadd, nz, z) == z
    assert scalar(ce.fadd, nz, nz) == nz
    assert scalar(ce.fadd, z, z) == z
    x = fb(3.25)
    assert scalar(ce.fadd, x, x ^ 0x80000000) == z          # x + (-x) = +0
    assert scalar(ce.fadd, x ^ 0x80000000, x) == z
    assert scalar(ce.fsub, x, x) == z
    assert scalar(ce.fadd, INF, NINF) == QNAN
    assert scalar(ce.fsub, INF, INF) == QNAN
    assert scalar(ce.fadd, INF, fb(-2.0**100)) == INF
    assert scalar(ce.fadd, NINF, NINF) == NINF
    for nan in (0x7FC00000, 0x7F800001, 0xFFC00000, 0xFFFFFFFF):
        assert scalar(ce.fadd, nan, fb(1.0)) == QNAN
        assert scalar(ce.fadd, INF, nan) == QNAN
        assert scalar(ce.fmul, nan, z) == QNAN


def test_fadd_subnormal_inputs_flushed():
    # subnormal operands read as zero of the same sign
    assert scalar(ce.fadd, 0x00000001, 0x00000001) == 0             # IEEE: 0x00000002
    assert scalar(ce.fadd, 0x80000001, 0x80000001) == 0x80000000    # (-0) + (-0)
    assert scalar(ce.fadd, 0x807FFFFF, 0x00000001) == 0             # (-0) + (+0)
    assert scalar(ce.fadd, 0x00400000, fb(1.0)) == fb(1.0)
    # 2^-126 minus a subnormal: IEEE gives 0x007FFFFF (subnormal); here b is zero
    assert scalar(ce.fsub, TINY, 0x00000001) == TINY
    # subnormal * inf: the subnormal is a zero, 0 * inf = NaN (IEEE: inf)
    assert scalar(ce.fmul, 0x00000001, INF) == QNAN
    assert scalar(ce.fmul, 0x00400000, fb(2.0**100)) == 0           # IEEE: 2^-27 * ... normal
    assert scalar(ce.fmul, 0x80400000, fb(2.0**100)) == 0x80000000


def test_results_at_and_below_min_normal():
    # exact 2^-126 from a normal sum: kept
    assert scalar(ce.fadd, fb(2.0**-125), fb(-(2.0**-126))) == TINY
    # 2^-126 (1 + 2^-23) - 2^-126 = 2^-149: IEEE gives the subnormal 0x00000001, here +0
    assert scalar(ce.fsub, 0x00800001, TINY) == 0
    assert scalar(ce.fsub, TINY, 0x00800001) == 0x80000000         # sign of the exact result
    # product exactly (2^24 - 1) * 2^-150 = 2^-126 (1 - 2^-24): 24 significant bits, so the
    # rounded value (unbounded exponent) is itself, below 2^-126 -> signed zero.
    # (IEEE with subnormals rounds it on the 2^-149 grid: tie -> even -> 0x00800000.)
    x, y = fb(4095 * 2.0**-75), fb(4097 * 2.0**-75)               # 4095 * 4097 = 2^24 - 1
    assert scalar(ce.fmul, x, y) == 0
    assert scalar(ce.fmul, x ^ 0x80000000, y) == 0x80000000
    # product exactly (2^25 - 1) * 2^-151 = 2^-126 (1 - 2^-25): 25 significant bits; rounding to
    # 24 bits is a tie between 2^-127 (2 - 2^-23) (odd) and 2^-126 (even) -> 2^-126, kept
    # (tininess after rounding).
    x, y = fb(18631 * 2.0**-75), fb(1801 * 2.0**-76)              # 31*601 * 1801 = 2^25 - 1
    assert 18631 * 1801 == 2**25 - 1
    assert scalar(ce.fmul, x, y) == TINY
    assert scalar(ce.fmul, x, y ^ 0x80000000) == TINY | 0x80000000
    # just above the tie: (2^25 + 1) * 2^-151 rounds to 2^-126 too; (2^25 - 3) * 2^-151 rounds
    # down to 2^-127 (2 - 2^-23) < 2^-126 -> flushed
    assert scalar(ce.fix2flt, 2**25 - 3, 151) == 0
    assert scalar(ce.fix2flt, 2**25 - 1, 151) == TINY
    assert scalar(ce.fix2flt, 2**25 + 1, 151) == TINY


def test_overflow_and_ties():
    assert scalar(ce.fmul, fb(2.0**127), fb(2.0)) == INF
    assert scalar(ce.fmul, fb(2.0**127), fb(-2.0)) == NINF
    assert scalar(ce.fadd, F32_MAX, F32_MAX) == INF
    # max + half ulp of max (2^103): tie, even rounds up to 2^128 -> inf
    assert scalar(ce.fadd, F32_MAX, fb(2.0**103)) == INF
    # max + just under half ulp stays max
    assert scalar(ce.fadd, F32_MAX, fb(2.0**102)) == F32_MAX
    # ties to even at 1.0
    assert scalar(ce.fadd, fb(1.0), fb(2.0**-24)) == fb(1.0)
    assert scalar(ce.fadd, fb(1.0 + 2.0**-23), fb(2.0**-24)) == fb(1.0 + 2.0**-22)
    assert scalar(ce.fsub, fb(1.0), fb(2.0**-25)) == fb(1.0)
    # 1 - 3 * 2^-26 = 1 - 0.75 ulp(below 1): rounds to 1 - 2^-24 (a sticky-bit case)
    assert scalar(ce.fsub, fb(1.0), fb(3 * 2.0**-26)) == fb(1.0 - 2.0**-24)
    # far-apart operands (exponent difference > 63): only the sticky bit remains
    assert scalar(ce.fsub, fb(1.0), fb(2.0**-100)) == fb(1.0)
    assert scalar(ce.fadd, fb(1.0), fb(2.0**-100)) == fb(1.0)
    assert scalar(ce.fsub, fb(2.0**-60), fb(1.0)) == fb(-1.0)
    assert scalar(ce.fmul, fb(0.0), INF) == QNAN
    assert scalar(ce.fmul, 0x80000000, NINF) == QNAN
    assert scalar(ce.fmul, NINF, fb(-3.0)) == INF
    assert scalar(ce.fmul, 0x80000000, fb(5.0)) == 0x80000000


def test_fneg_and_broadcasting():
    a = np.array([fb(1.0), fb(-2.0), 0, QNAN], U32)
    assert list(ce.fneg(a)) == [fb(-1.0), fb(2.0), 0x80000000, 0xFFC00000]
    out = ce.fadd(a[:2, None], np.array([fb(1.0), fb(2.0)], U32)[None, :])
    assert out.shape == (2, 2)
    assert out[1, 1] == 0


def test_fp_input_validation():
    with pytest.raises(ValueError, match="float32"):
        ce.fadd(np.float32([1.0]), np.uint32([1]))
    with pytest.raises(ValueError, match="does not fit"):
        ce.fmul(np.array([-1]), np.uint32([1]))
    with pytest.raises(ValueError, match="frac"):
        ce.fix2flt(np.int64([1]), -1)


# ----------------------------------------------------------------------------- conversions
def test_fix2flt_vs_numpy():
    rng = np.random.default_rng(7)
    acc = np.concatenate([
        rng.integers(-2**62, 2**62, 20000, dtype=np.int64),
        rng.integers(-2**30, 2**30, 20000, dtype=np.int64),
        np.array([0, 1, -1, 2**24 + 1, 2**24 + 3, -(2**24 + 1), 2**63 - 1, -2**63], np.int64)])
    for frac in (0, 23, 30, 52):
        got = ce.fix2flt(acc, frac)
        # numpy int64 -> float32 is one correctly rounded conversion; * 2^-frac is exact here
        exp = (acc.astype(np.float32) * np.float32(2.0 ** -frac)).view(U32)
        assert np.array_equal(got, exp)
    assert int(ce.fix2flt(0, 23)) == 0                     # exact zero -> +0
    assert int(ce.fix2flt(2**24 + 1, 0)) == fb(2.0**24)    # tie -> even
    assert int(ce.fix2flt(2**24 + 3, 0)) == fb(2.0**24 + 4)
    assert int(ce.fix2flt(-2**63, 0)) == 0xDF000000
    assert int(ce.fix2flt(1, 126)) == TINY
    assert int(ce.fix2flt(1, 127)) == 0                    # 2^-127: flushed
    assert int(ce.fix2flt(-1, 127)) == 0x80000000
    assert int(ce.fix2flt(3, 0)) == fb(3.0)


def q823_expected(bits):
    """Independent flt2fix model in float64: rint(v * 2^23) (RNE), NaN -> 0, subnormal -> 0."""
    f = bits.view(np.float32).astype(np.float64)
    f = np.where(is_sub(bits), 0.0, f)
    with np.errstate(invalid="ignore"):
        r = np.rint(f * 2.0**23)
    nan = np.isnan(r)
    r = np.where(nan, 0.0, r)
    over = r > 2**31 - 1
    under = r < -2**31
    return np.clip(r, -2**31, 2**31 - 1).astype(np.int64), over | under, nan


def test_flt2fix_and_smp2fix():
    rng = np.random.default_rng(11)
    # exponents around the Q8.23 range and the rounding region
    e = rng.integers(90, 140, 50000)
    bits = ((rng.integers(0, 2, 50000) << 31) | (e << 23)
            | rng.integers(0, 2**23, 50000)).astype(U32)
    special = np.array([0, 0x80000000, 1, 0x807FFFFF, INF, NINF, QNAN, 0xFF800001,
                        fb(1.0), fb(-256.0), fb(256.0), 0x437FFFFF, 0xC37FFFFF,
                        fb(2.0**-24), fb(3 * 2.0**-24), fb(2.5 * 2.0**-23), fb(-2.5 * 2.0**-23),
                        fb(1.5 * 2.0**-23), fb(2.0**-25), fb(2.0**100), fb(-2.0**100)], U32)
    bits = np.concatenate([bits, special])
    exp, exp_sat, is_nan = q823_expected(bits)
    got, sat = ce.flt2fix(bits)
    assert np.array_equal(got.astype(np.int64), exp)
    assert np.array_equal(sat, exp_sat)
    got2, err = ce.smp2fix(bits)
    assert np.array_equal(err, exp_sat | is_nan)
    assert np.array_equal(got2.astype(np.int64), np.where(err, 0, exp))
    # hand-checked values
    v, s = ce.flt2fix(np.array([fb(-256.0), fb(256.0), 0x437FFFFF, fb(2.0**-24),
                                fb(3 * 2.0**-24), QNAN, INF, NINF, 0x00000001], U32))
    assert list(v) == [-2**31, 2**31 - 1, 2**31 - 2**7, 0, 2, 0, 2**31 - 1, -2**31, 0]
    assert list(s) == [False, True, False, False, False, False, True, True, False]
    v, e = ce.smp2fix(np.array([fb(-256.0), fb(256.0), QNAN, NINF, 0x80000001], U32))
    assert list(v) == [-2**31, 0, 0, 0, 0]
    assert list(e) == [False, True, True, True, False]


# ----------------------------------------------------------------------------- plan
def plan_expected(z_bits):
    """PLAN in numpy float32 (each step one IEEE op; the values involved stay normal)."""
    z = z_bits.view(np.float32)
    u = np.abs(z)
    f = np.float32
    h = np.where(u >= f(5.0), f(1.0),
                 np.where(u >= f(2.375), u * f(0.03125) + f(0.84375),
                          np.where(u >= f(1.0), u * f(0.125) + f(0.625),
                                   u * f(0.25) + f(0.5)))).astype(np.float32)
    r = np.where(z < 0, f(1.0) - h, h).astype(np.float32)
    return r.view(U32)


def test_plan():
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.uniform(-8, 8, 50000), rng.normal(0, 1e-3, 1000)]).astype(np.float32)
    edges = np.array([0.0, -0.0, 1.0, -1.0, 2.375, -2.375, 5.0, -5.0, 1e30, -1e30,
                      np.inf, -np.inf], np.float32)
    # neighbours of the thresholds
    near = np.concatenate([np.nextafter(edges, np.float32(np.inf)),
                           np.nextafter(edges, np.float32(-np.inf))])
    z = np.concatenate([z, edges, near[np.isfinite(near)]]).view(U32)
    z = z[~is_sub(z)]
    assert np.array_equal(ce.plan(z), plan_expected(z))
    # hand values: plan(0) = plan(-0) = 0.5, plan(+-5) = 1 / +0, plan(-1) = 1 - 0.75
    got = ce.plan(np.array([0, 0x80000000, fb(5.0), fb(-5.0), fb(1.0), fb(-1.0), fb(2.375),
                            0x80000001, QNAN], U32))
    assert list(got) == [fb(0.5), fb(0.5), fb(1.0), 0, fb(0.75), fb(0.25),
                         fb(2.375 * 0.03125 + 0.84375), fb(0.5), QNAN]
