"""Tests of the exact Python reference (zipml/reference.py) against hand-worked examples,
numpy float32 (where the rules of ENGINE.md 2.2 coincide with IEEE-754) and hand-derived bit
patterns (where they differ: flush to zero, canonical NaN, subnormal inputs)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from zipml import reference as R
from zipml import spec
from zipml.config import EngineConfig

try:
    from ref_streams import check_pack, encode_stream, f32, random_codes, random_problem
except ImportError:  # tests/ imported as a package
    from tests.ref_streams import check_pack, encode_stream, f32, random_codes, random_problem

E = spec.ERR


def b(x: float) -> int:
    """binary32 bits of a float (exactly representable in these tests)."""
    return int(f32(x))


def rand_normal_bits(rng, n, emin=-60, emax=60) -> np.ndarray:
    """Random binary32 bit patterns with unbiased exponent in [emin, emax]."""
    sign = rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(31)
    exp = rng.integers(127 + emin, 127 + emax + 1, n).astype(np.uint64) << np.uint64(23)
    man = rng.integers(0, 1 << 23, n).astype(np.uint64)
    return (sign | exp | man).astype(np.uint32)


# =========================================================================== FP: normal range
def _numpy_op(op, a, bb):
    fa, fb = a.view(np.float32), bb.view(np.float32)
    with np.errstate(all="ignore"):
        return {"add": fa + fb, "sub": fa - fb, "mul": fa * fb}[op].view(np.uint32)


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_fp_matches_ieee_in_normal_range(op):
    """Away from 2^-126 and without NaN, ENGINE.md 2.2 is IEEE round-to-nearest-even."""
    rng = np.random.default_rng(1)
    a = rand_normal_bits(rng, 3000)
    bb = rand_normal_bits(rng, 3000)
    # cancellation: b close to -a (add) or a (sub), a few ulps apart, and equal exponents
    k = 1000
    near = (a[:k].astype(np.int64) + rng.integers(-3, 4, k)).astype(np.uint32)
    bb[:k] = near ^ np.uint32(0x80000000) if op == "add" else near
    # ties in fadd: b exactly half an ulp of a (or 1.5 ulp)
    if op != "mul":
        ea = ((a[k:2 * k] >> 23) & 0xFF).astype(np.int64)
        bb[k:2 * k] = (((ea - 24) << 23) | rng.choice([0, 1 << 22], k)).astype(np.uint32)
    fn = {"add": R.fadd, "sub": R.fsub, "mul": R.fmul}[op]
    want = _numpy_op(op, a, bb)
    got = np.array([fn(int(x), int(y)) for x, y in zip(a, bb)], dtype=np.uint32)
    subn = ((want & 0x7F800000) == 0) & ((want & 0x7FFFFF) != 0)
    assert not subn.any(), "test data must stay in the normal range"
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, [(hex(a[i]), hex(bb[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]


# =========================================================================== FP: hand-derived
FTZ_CASES = [
    # (op, a, b, expected, numpy differs?) ; the arithmetic is in the comment of each row
    # (1 - 2^-24) * 2^-126 = (2^24 - 1) * 2^-150: 24 significant bits, no rounding, below
    # 2^-126 -> +0. IEEE with subnormals rounds on the 2^-149 grid: tie -> 2^-126.
    ("mul", 0x3F7FFFFF, 0x00800000, 0x00000000, True),
    ("mul", 0xBF7FFFFF, 0x00800000, 0x80000000, True),     # same, negative: -0
    # (18631 * 2^-75) * (1801 * 2^-76) = (2^25 - 1) * 2^-151: 25 bits, the 24-bit rounding is
    # a tie between (2^24 - 1) * 2^-150 (odd) and 2^24 * 2^-150 = 2^-126 (even) -> 2^-126,
    # which is not below 2^-126: tininess after rounding keeps the minimum normal.
    ("mul", b(18631 * 2.0 ** -75), b(1801 * 2.0 ** -76), 0x00800000, False),
    # 2^-125 - (1 + 2^-23) * 2^-126 = 2^-126 - 2^-149 < 2^-126 -> +0 (IEEE: 0x007FFFFF)
    ("add", 0x01000000, 0x80800001, 0x00000000, True),
    ("add", 0x81000000, 0x00800001, 0x80000000, True),     # mirrored: -0
    ("mul", 0x00800000, b(0.5), 0x00000000, True),         # 2^-127 -> +0
    ("mul", 0x00800000, b(1.0), 0x00800000, False),        # the minimum normal survives
    # subnormal inputs are zeros of the same sign
    ("add", 0x00400000, 0x00400000, 0x00000000, True),     # 0 + 0 (IEEE: 2^-126)
    ("mul", 0x00400000, b(2.0 ** 23), 0x00000000, True),   # 0 * 2^23 (IEEE: 2^-104)
    ("mul", 0x807FFFFF, b(2.0), 0x80000000, True),         # -0 * 2 = -0
    ("mul", 0x00000001, 0x7F800000, R.NAN, True),          # 0 * inf = NaN (IEEE: inf)
    ("add", 0x80000001, 0x80000000, 0x80000000, True),     # (-0) + (-0) = -0
    ("add", 0x80000001, 0x00000000, 0x00000000, True),     # (-0) + (+0) = +0
    ("add", 0x00000001, b(1.0), b(1.0), False),
    # signed zeros
    ("add", 0x80000000, 0x80000000, 0x80000000, False),
    ("add", 0x80000000, 0x00000000, 0x00000000, False),
    ("add", b(1.5), b(-1.5), 0x00000000, False),           # x + (-x) = +0
    ("add", b(-1.5), b(1.5), 0x00000000, False),
    ("mul", 0x80000000, b(3.0), 0x80000000, False),
    ("mul", 0x80000000, b(-3.0), 0x00000000, False),
    # overflow: largest finite (2^24 - 1) * 2^104; + 2^103 is a tie, significand odd -> 2^128
    ("add", 0x7F7FFFFF, 0x73000000, 0x7F800000, False),
    ("add", 0x7F7FFFFF, 0x72800000, 0x7F7FFFFF, False),    # + 2^102: below half an ulp
    ("mul", 0x7F000000, b(2.0), 0x7F800000, False),        # 2^127 * 2 = 2^128 -> inf
    ("mul", 0xFF7FFFFF, b(2.0), 0xFF800000, False),
    # infinities and NaN: every NaN result is 0x7FC00000
    ("add", 0x7F800000, 0xFF800000, R.NAN, True),          # inf - inf (x86 numpy: 0xFFC00000)
    ("add", 0x7F800000, b(1.0), 0x7F800000, False),
    ("add", 0xFF800000, 0xFF800000, 0xFF800000, False),
    ("mul", 0x7F800000, 0x80000000, R.NAN, True),          # inf * -0
    ("mul", 0xFF800000, b(-2.0), 0x7F800000, False),
    ("add", 0x7F800001, b(1.0), R.NAN, True),              # signalling NaN in
    ("add", 0xFFC00001, b(1.0), R.NAN, True),              # negative NaN with payload
    ("mul", b(2.0), 0x7FFFFFFF, R.NAN, True),
]


@pytest.mark.parametrize("op,a,bb,want,differs", FTZ_CASES)
def test_fp_hand_derived(op, a, bb, want, differs):
    fn = R.fadd if op == "add" else R.fmul
    assert fn(a, bb) == want, (hex(a), hex(bb), hex(fn(a, bb)), hex(want))
    assert fn(bb, a) == want                                # both ops commute
    ieee = int(_numpy_op(op, np.array([a], np.uint32), np.array([bb], np.uint32))[0])
    assert (ieee != want) == differs, f"numpy gives {ieee:#x}: 'differs' flag is wrong"


def test_neg_and_fsub():
    assert R.neg(b(1.0)) == b(-1.0)
    assert R.neg(0x00000000) == 0x80000000
    assert R.neg(0x00000001) == 0x80000001                  # sign flip only, exact
    assert R.fsub(b(1.0), b(1.0)) == 0x00000000
    assert R.fsub(0x80000000, 0x00000000) == 0x80000000     # -0 - +0 = -0 + -0 = -0
    with pytest.raises(ValueError, match="binary32"):
        R.fadd(1 << 32, 0)


# =========================================================================== conversions
def test_fix2flt_matches_numpy():
    rng = np.random.default_rng(2)
    for F in (0, 23, 24, 25, 26, 30, 46):
        mag = rng.integers(0, 53, 400)
        A = np.array([int(rng.integers(-(1 << int(m)), (1 << int(m)) + 1)) for m in mag],
                     dtype=np.int64)
        want = (A.astype(np.float64) * 2.0 ** -F).astype(np.float32).view(np.uint32)
        got = np.array([R.fix2flt(int(x), F) for x in A], dtype=np.uint32)
        assert np.array_equal(got, want), F


def test_fix2flt_hand():
    assert R.fix2flt(0, 23) == 0x00000000                   # exact zero -> +0
    assert R.fix2flt(-1, 23) == 0xB4000000                  # -2^-23
    # 2^24 + 1 is halfway between 2^24 and 2^24 + 2 -> even significand 2^24
    assert R.fix2flt((1 << 24) + 1, 0) == 0x4B800000
    # 2^24 + 3 is halfway between 2^24 + 2 (odd significand) and 2^24 + 4 -> 2^24 + 4
    assert R.fix2flt((1 << 24) + 3, 0) == 0x4B800002
    assert R.fix2flt(3 << 23, 24) == b(1.5)


FLT2FIX_CASES = [
    (b(1.0), 1 << 23, False),
    (b(2.0 ** -24), 0, False),               # 0.5 -> tie to even 0
    (b(3 * 2.0 ** -24), 2, False),           # 1.5 -> 2
    (b(5 * 2.0 ** -24), 2, False),           # 2.5 -> 2
    (b(-(2.0 ** -24)), 0, False),
    (b(-3 * 2.0 ** -24), -2, False),
    (b(256.0), 2 ** 31 - 1, True),           # 2^31 does not fit: saturate
    (b(-256.0), -2 ** 31, False),            # -2^31 fits
    (b(256.0 - 2.0 ** -16), 2 ** 31 - 128, False),
    (b(-257.0), -2 ** 31, True),
    (b(1e30), 2 ** 31 - 1, True),
    (0x7F800000, 2 ** 31 - 1, True),         # +inf
    (0xFF800000, -2 ** 31, True),            # -inf
    (0x7FC00000, 0, False),                  # NaN -> 0, no SAT
    (0xFFFFFFFF, 0, False),
    (0x00000001, 0, False),                  # subnormal -> 0
    (0x807FFFFF, 0, False),
    (0x80000000, 0, False),
]


@pytest.mark.parametrize("v,want,sat", FLT2FIX_CASES)
def test_flt2fix_hand(v, want, sat):
    assert R.flt2fix(v) == (want, sat)


def test_flt2fix_matches_numpy_rint():
    rng = np.random.default_rng(3)
    v = rand_normal_bits(rng, 3000, -40, 12)
    x = np.rint(v.view(np.float32).astype(np.float64) * 2.0 ** 23)   # rint: ties to even
    want_sat = (x > 2 ** 31 - 1) | (x < -2 ** 31)
    want = np.clip(x, -2 ** 31, 2 ** 31 - 1).astype(np.int64)
    got = [R.flt2fix(int(t)) for t in v]
    assert [g[0] for g in got] == want.tolist()
    assert [g[1] for g in got] == want_sat.tolist()
    assert want_sat.any() and not want_sat.all()


@pytest.mark.parametrize("v,want,err", [
    (b(1.0), 1 << 23, False),
    (b(-256.0), -2 ** 31, False),
    (b(256.0 - 2.0 ** -16), 2 ** 31 - 128, False),
    (b(256.0), 0, True),                     # out of Q8.23: data error, not saturation
    (b(-257.0), 0, True),
    (b(1e10), 0, True),
    (0x7F800000, 0, True), (0xFF800000, 0, True), (0x7FC00000, 0, True),
    (b(2.0 ** -24), 0, False),
    (0x00000001, 0, False), (0x80000000, 0, False),
])
def test_smp2fix(v, want, err):
    assert R.smp2fix(v) == (want, err)


# =========================================================================== PLAN
@pytest.mark.parametrize("z,want", [
    (0.0, 0.5), (-0.0, 0.5),                 # -0 is not negative: h = 0.5
    (0.5, 0.625), (-0.5, 0.375),
    (1.0, 0.75), (-1.0, 0.25),               # u = 1 is in the 0.125 segment: 0.125 + 0.625
    (1.5, 0.8125),                           # 0.1875 + 0.625
    (2.375, 0.91796875),                     # 2.375/32 + 0.84375 (breakpoint: upper segment)
    (-2.375, 0.08203125),                    # 1 - 0.91796875, exact
    # largest float below 2.375 = 2.375 - 2^-22: lower segment 0.125u + 0.625
    # = 0.921875 - 2^-25, half an ulp (2^-24) below 0.921875 whose significand is even -> 0.921875
    (2.375 - 2.0 ** -22, 0.921875),
    (3.0, 0.9375),                           # 3/32 + 0.84375
    (5.0, 1.0), (-5.0, 0.0), (100.0, 1.0),
    # just below 5: (5 - 2^-21)/32 + 0.84375 = 1 - 2^-26 -> rounds to 1.0
    (5.0 - 2.0 ** -21, 1.0),
    (float("inf"), 1.0), (float("-inf"), 0.0),
])
def test_plan_breakpoints(z, want):
    assert R.plan(b(z)) == b(want), (z, hex(R.plan(b(z))))


def test_plan_subnormal_and_sign():
    assert R.plan(0x80000001) == b(0.5)      # -subnormal -> -0: not negative
    assert R.plan(b(-5.0)) == 0x00000000     # 1 - 1 = +0


def test_plan_matches_float32_formula():
    """The PLAN segments composed of IEEE float32 ops (normal range) on random z."""
    rng = np.random.default_rng(4)
    z = rng.uniform(-7, 7, 3000).astype(np.float32)
    u = np.abs(z)
    one = np.float32(1)
    h = np.where(u >= 5, one,
                 np.where(u >= 2.375, u * np.float32(0.03125) + np.float32(0.84375),
                          np.where(u >= 1, u * np.float32(0.125) + np.float32(0.625),
                                   u * np.float32(0.25) + np.float32(0.5)))).astype(np.float32)
    want = np.where(z < 0, one - h, h).astype(np.float32).view(np.uint32)
    got = np.array([R.plan(int(t)) for t in z.view(np.uint32)], np.uint32)
    assert np.array_equal(got, want)


# =========================================================================== hand-worked engine
def test_hand_worked_q2_linreg_two_epochs():
    """Q2 unsigned (L = 2, q = k, QF = 1), d = 2, n = 2, linreg, gamma 0.5, decay 0.5.

    W = D + 1 = 2, S_d = 1 + ceil(128/2) = 65 > n: every dot product of an epoch sees the
    model at the start of the epoch, all updates are applied at the end, in order.
    """
    cfg = EngineConfig(bits=2, num_samples=2, num_features=2, num_epochs=2, loss="linreg",
                       step_size=0.5, step_decay=0.5)
    # sample 0: codes (2, 1) -> word 2 | 1 << 2 = 6, label 1.0; sample 1: codes (2, 0), -0.25
    stream = np.array([6, 0x3F800000, 2, 0xBE800000], np.uint64)
    assert np.array_equal(stream, encode_stream(2, 2, [[2, 1], [2, 0]], f32([1.0, -0.25])))
    r = R.run_reference(cfg, stream)
    # ---- epoch 0, gamma = 0.5, X = 0 for both dot products -> z = 0
    # s0 = 0.5 * (0 - 1) = -0.5      -> S0 = -0.5 * 2^23 = -4194304
    # s1 = 0.5 * (0 + 0.25) = 0.125  -> S1 = 1048576
    # update 0 (q = 2, 1): delta = (S*q + 1) >>> 1
    #   (-8388608 + 1) >>> 1 = floor(-4194303.5) = -4194304; (-4194304 + 1) >>> 1 = -2097152
    #   X = (4194304, 2097152)
    # update 1 (q = 2, 0): delta = ((2097152 + 1) >>> 1, (0 + 1) >>> 1) = (1048576, 0)
    #   X = (3145728, 2097152)
    x0 = [3145728, 2097152]
    # ---- epoch 1, gamma = 0.25
    # z0 = (3145728 * 2 + 2097152 * 1) / 2^24 = 8388608 / 2^24 = 0.5
    #   s0 = 0.25 * (0.5 - 1) = -0.125 -> S0 = -1048576
    # z1 = 3145728 * 2 / 2^24 = 0.375;  s1 = 0.25 * (0.375 + 0.25) = 0.15625 -> S1 = 1310720
    # update 0: ((-2097152 + 1) >>> 1, (-1048576 + 1) >>> 1) = (-1048576, -524288)
    #   X = (4194304, 2621440)
    # update 1: ((2621440 + 1) >>> 1, 0) = (1310720, 0) -> X = (2883584, 2621440)
    x1 = [2883584, 2621440]
    assert r.error == 0 and not r.sat and r.staleness == 65 and r.samples == 4
    assert r.models.tolist() == [x0, x1]


def _svm_q4_case(reg_shift):
    cfg = EngineConfig(bits=4, num_samples=2, num_features=2, loss="svm", step_size=0.25,
                       cost_pos=2.0, cost_neg=1.0, signed=True, reg_shift=reg_shift)
    # Q4 signed: L = 8, q = 2k - 8, QF = 3. sample 0: codes (8, 6) -> q (8, 4), label +1;
    # sample 1: codes (8, 1) -> q (8, -6), label -1. Word = k0 | k1 << 4.
    stream = np.array([8 | 6 << 4, b(1.0), 8 | 1 << 4, b(-1.0)], np.uint64)
    return R.run_reference(cfg, stream)


def test_hand_worked_q4_svm():
    """L2-SVM: kp = -(0.25 * 2) = -0.5, kn = 0.25 * 1 = 0.25; both samples see X = 0.

    z = 0, t = +-0, m = 1 - t = 1 > 0 -> s = kp * 1 = -0.5 (S = -4194304) for y = +1,
    s = kn * 1 = 0.25 (S = 2097152) for y = -1.
    update 0: delta = (S*q + 4) >>> 3: ((-33554432 + 4) >>> 3, (-16777216 + 4) >>> 3)
              = (floor(-4194303.5), floor(-2097151.5)) = (-4194304, -2097152)
              X = (4194304, 2097152)
    update 1: ((16777216 + 4) >>> 3, (-12582912 + 4) >>> 3) = (2097152, -1572864)
              X = (4194304 - 2097152, 2097152 + 1572864) = (2097152, 3670016)
    """
    r = _svm_q4_case(0)
    assert r.models.tolist() == [[2097152, 3670016]]


def test_hand_worked_q4_svm_reg_shift():
    """Same with REG_SHIFT = 2: r_j = X_j >>> 2 subtracted at every update.

    update 0: X = 0, r = 0: X = (4194304, 2097152) as before.
    update 1: r = (1048576, 524288): X = (4194304 - 1048576 - 2097152,
                                          2097152 - 524288 + 1572864) = (1048576, 3145728)
    """
    assert _svm_q4_case(2).models.tolist() == [[1048576, 3145728]]


def test_reg_shift_is_floor_shift():
    """r_j = X_j >>> r rounds toward -inf: X = -5, r = 1 -> r_j = -3, X <- -5 + 3 = -2."""
    cfg = EngineConfig(bits=1, num_samples=1, num_features=1, loss="svm", step_size=0.0,
                       reg_shift=1, keep_model=True)
    # Q1 unsigned: code 1 = q 1. step 0 -> s = 0 * m = +0, S = 0: only regularisation acts.
    r = R.run_reference(cfg, np.array([1, b(1.0)], np.uint64), model_init=np.array([-5]))
    assert r.models.tolist() == [[-2]]


def test_hand_worked_staleness_two_q0():
    """Q0, d = 1000 (only the bias nonzero): D = 500, W = 501, S_d = 1 + ceil(128/501) = 2.

    Linreg, gamma 0.5, all labels 1.0, bias 1.0 (q = 2^23): z = X_0 exactly and the update
    is X_0 -= S (delta = (S * 2^23 + 2^22) >>> 23 = S). Sample m sees the updates of samples
    0 .. m-3.
      m=0,1,2: see nothing: z = 0, s = 0.5 * (0 - 1) = -0.5, S = -2^22
      m=3: sees update 0: X = 0.5, s = 0.5 * (0.5 - 1) = -0.25, S = -2^21
      m=4: sees updates 0, 1: X = 1.0, s = 0, S = 0
      m=5: sees updates 0..2: X = 1.5, s = 0.5 * 0.5 = 0.25, S = 2^21
    End: X = 3 * 0.5 + 0.25 + 0 - 0.25 = 1.5 (plain SGD without delay would give 63/64).
    """
    d, n = 1000, 6
    cfg = EngineConfig(bits=0, num_samples=n, num_features=d, loss="linreg", step_size=0.5)
    assert cfg.staleness == 2
    codes = np.zeros((n, d), np.uint64)
    codes[:, 0] = b(1.0)
    stream = encode_stream(0, d, codes, f32([1.0] * n))
    for schedule in ("hardware", "sequential"):
        r = R.run_reference(cfg, stream, schedule=schedule)
        assert r.staleness == 2
        assert r.models[0, 0] == 3 * 2 ** 22  # 1.5 * 2^23
        assert not r.models[0, 1:].any()
    # with 4 samples the last one (m = 3) sees X = 0.5: X = 1.5 + 0.25 = 1.75
    cfg4 = cfg.with_(num_samples=4)
    assert R.run_reference(cfg4, stream[:4 * 501]).models[0, 0] == 7 * 2 ** 21


def test_hand_worked_logreg():
    """Logreg, Q8 unsigned (L = 128, QF = 7), d = 1 (bias code 128 = q 128), gamma 0.5.

    z = 0: plan(0) = 0.5. y = +1: s = 0.5 * (0.5 - 1) = -0.25, S = -2^21;
    y = -1: s = 0.5 * (0.5 - 0) = 0.25, S = 2^21. delta = (S * 128 + 64) >>> 7 = S.
    Samples (+1, +1, -1): X = 2^21 + 2^21 - 2^21 = 2^21.
    """
    cfg = EngineConfig(bits=8, num_samples=3, num_features=1, loss="logreg", step_size=0.5)
    stream = encode_stream(8, 1, [[128]] * 3, f32([1.0, 1.0, -1.0]))
    assert R.run_reference(cfg, stream).models.tolist() == [[2 ** 21]]


def test_binarize():
    """BINARIZE: label == 3.0 -> +1, anything else -> -1; with logreg the same as above."""
    cfg = EngineConfig(bits=8, num_samples=3, num_features=1, loss="logreg", step_size=0.5,
                       binarize=True, binarize_value=3.0)
    stream = encode_stream(8, 1, [[128]] * 3, f32([3.0, 3.0, 0.5]))
    assert R.run_reference(cfg, stream).models.tolist() == [[2 ** 21]]
    # -0 and +0 compare equal after flushing; a subnormal label is 0 too
    cfg0 = cfg.with_(binarize_value=-0.0)
    s0 = encode_stream(8, 1, [[128]] * 3, np.array([0, 0x00000001, b(2.0)], np.uint32))
    assert R.run_reference(cfg0, s0).models.tolist() == [[2 ** 21]]


def test_double_sampling_uses_a_for_dot_b_for_update():
    """Q2 unsigned linreg, n = 1, 2 epochs, gamma 0.5, label 1, d = 2.

    Copy A codes (1, 2) (q = 1, 2), copy B codes (2, 0) (q = 2, 0).
    epoch 0: z = 0, s = 0.5 * (0 - 1) = -0.5, S = -4194304; update with B:
             delta = (S*q + 1) >>> 1 = ((-8388608 + 1) >>> 1, 1 >>> 1) = (-4194304, 0)
             -> X = (4194304, 0)
    epoch 1: z with A = (4194304 * 1 + 0 * 2) / 2^24 = 0.25 (B would give 0.5),
             s = 0.5 * (0.25 - 1) = -0.375, S = -3145728, delta = (-3145728, 0)
             -> X = (7340032, 0)
    """
    cfg = EngineConfig(bits=2, num_samples=1, num_features=2, num_epochs=2, loss="linreg",
                       step_size=0.5, double_sampling=True)
    stream = encode_stream(2, 2, [[1, 2]], f32([1.0]), codes_b=[[2, 0]])
    r = R.run_reference(cfg, stream)
    assert r.models.tolist() == [[4194304, 0], [7340032, 0]]
    # without double sampling, the same codes (1, 2) for the update: q = (1, 2):
    # delta = ((-4194304 + 1) >>> 1, (-8388608 + 1) >>> 1) = (-2097152, -4194304)
    r1 = R.run_reference(cfg.with_(double_sampling=False),
                         encode_stream(2, 2, [[1, 2]], f32([1.0])))
    assert r1.models[0].tolist() == [2097152, 4194304]


def test_keep_model():
    cfg = EngineConfig(bits=8, num_samples=1, num_features=2, loss="linreg", step_size=0.0)
    stream = encode_stream(8, 2, [[128, 5]], f32([0.0]))
    init = np.array([123, -456])
    # step 0: S = 0, the model stays what it was
    assert R.run_reference(cfg.with_(keep_model=True), stream,
                           model_init=init).models.tolist() == [[123, -456]]
    assert R.run_reference(cfg, stream, model_init=init).models.tolist() == [[0, 0]]
    assert R.run_reference(cfg.with_(keep_model=True), stream).models.tolist() == [[0, 0]]
    with pytest.raises(ValueError, match="model_init"):
        R.run_reference(cfg.with_(keep_model=True), stream, model_init=np.array([1]))


def test_sat_flag():
    """A huge step saturates S (SAT); the model update clamps at -2^31 (SAT)."""
    cfg = EngineConfig(bits=8, num_samples=1, num_features=1, loss="linreg", step_size=1e6)
    # z = 0, y = 1: s = 1e6 * (0 - 1) = -1e6 -> S = -2^31 (saturated)
    # delta = (-2^31 * 128 + 64) >>> 7 = -2^31 -> X = 0 + 2^31 -> clamps to 2^31 - 1
    r = R.run_reference(cfg, encode_stream(8, 1, [[128]], f32([1.0])))
    assert r.sat and r.models.tolist() == [[2 ** 31 - 1]]
    r = R.run_reference(cfg.with_(step_size=1.0), encode_stream(8, 1, [[128]], f32([1.0])))
    assert not r.sat and r.models.tolist() == [[2 ** 23]]


def test_step_decay_overflow_gives_nan_step_zero():
    """gamma_1 = fmul(3e38, 10) = inf; kn = inf * COST_NEG(0) = NaN -> s NaN -> S = 0."""
    cfg = EngineConfig(bits=1, num_samples=1, num_features=1, num_epochs=2, loss="svm",
                       step_size=3e38, step_decay=10.0, cost_pos=0.0, cost_neg=0.0)
    r = R.run_reference(cfg, encode_stream(1, 1, [[1]], f32([-1.0])))
    # epoch 0: kn = 3e38 * 0 = 0, s = 0 * 1 = 0; epoch 1: NaN -> flt2fix = 0, no SAT
    assert r.error == 0 and not r.sat and r.models.tolist() == [[0], [0]]


def test_padding_and_reserved_bits_are_ignored():
    rng = np.random.default_rng(5)
    for bits, d in ((0, 3), (2, 5), (4, 17), (8, 9)):
        cfg = EngineConfig(bits=bits, num_samples=4, num_features=d, num_epochs=2,
                           loss="linreg", step_size=0.125)
        clean = random_problem(rng, cfg)
        lane = 32 if bits == 0 else bits
        V = 64 // lane
        D = -(-d // V)
        npad = D * V - d
        n, W = 4, D + 1
        codes = np.zeros((n, d), np.uint64)
        words = clean.reshape(n, W)
        for j in range(d):
            codes[:, j] = (words[:, j // V] >> np.uint64(lane * (j % V))) & np.uint64((1 << lane) - 1)
        labels = (words[:, -1] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        assert np.array_equal(encode_stream(bits, d, codes, labels), clean)
        pad = rng.integers(0, 1 << lane, size=(n, npad), dtype=np.uint64)
        if bits == 0:
            pad[:, :1] = 0x7FC00000                      # NaN in a padding lane
        noisy = encode_stream(bits, d, codes, labels, pad=pad,
                              label_hi=rng.integers(0, 1 << 32, n, dtype=np.uint64))
        assert npad == 0 or not np.array_equal(noisy, clean)
        r0, r1 = R.run_reference(cfg, clean), R.run_reference(cfg, noisy)
        assert r1.error == 0 and np.array_equal(r0.models, r1.models)


# =========================================================================== schedule forms
def _schedule_configs():
    rng = np.random.default_rng(6)
    out = []
    for bits, loss in itertools.product(spec.PRECISIONS, ("svm", "linreg", "logreg")):
        # small W: S_d = 65 (or 44), n > S_d so that updates land inside the epoch
        out.append(EngineConfig(bits=bits, num_samples=80, num_features=3, num_epochs=2,
                                loss=loss, step_size=0.05, step_decay=0.75,
                                signed=bool(rng.integers(2)), reg_shift=int(rng.choice([0, 6])),
                                double_sampling=bool(bits and rng.integers(2))))
        # large W: D = 64, W = 65, S_d = 1 + ceil(128/65) = 3, or DELAY = 5; d not a
        # multiple of V
        V = 2 if bits == 0 else 64 // bits
        out.append(EngineConfig(bits=bits, num_samples=8, num_features=64 * V - 3,
                                num_epochs=2, loss=loss, step_size=0.01,
                                delay=int(rng.choice([1, 5])),
                                signed=bool(rng.integers(2))))
    return out


@pytest.mark.parametrize("cfg", _schedule_configs(),
                         ids=lambda c: f"b{c.bits}-{c.loss}-d{c.num_features}-D{c.delay}")
def test_hardware_form_equals_sequential_form(cfg):
    """ENGINE.md 6 claims the word-by-word hardware schedule equals the sequential form."""
    rng = np.random.default_rng(cfg.num_features * 10 + cfg.bits)
    stream = random_problem(rng, cfg)
    hw = R.run_reference(cfg, stream, schedule="hardware")
    sq = R.run_reference(cfg, stream, schedule="sequential")
    assert hw.error == sq.error == 0
    assert np.array_equal(hw.models, sq.models) and hw.sat == sq.sat
    assert cfg.num_samples > hw.staleness                   # updates happen mid-epoch
    # the schedule matters: one more sample of delay changes the model (so the equality above
    # is not vacuous)
    later = R.run_reference(cfg.with_(delay=hw.staleness + 1), stream)
    assert later.staleness == hw.staleness + 1
    assert not np.array_equal(later.models, hw.models)


def test_staleness_matches_spec():
    for bits in spec.PRECISIONS:
        for d in (1, 2, 63, 64, 65, 200, 1000, 4000):
            for ds in ((False, True) if bits else (False,)):
                for delay in (1, 2, 7, 100):
                    cfg = EngineConfig(bits=bits, num_samples=1, num_features=d, delay=delay,
                                       double_sampling=ds)
                    p = R._Params(cfg, spec.DEFAULT_MAX_DIM, None)
                    assert p.S_d == spec.staleness(bits, d, delay, ds)
                    assert p.W == cfg.words_per_sample


# =========================================================================== errors
def _ok_cfg(**kw):
    base = dict(bits=4, num_samples=3, num_features=5, num_epochs=2, loss="svm")
    base.update(kw)
    return EngineConfig(**base)


CONFIG_ERRORS = [
    (dict(loss="hinge"), "ERR_BAD_MODE"),
    (dict(bits=0, double_sampling=True), "ERR_BAD_MODE"),
    (dict(num_samples=0), "ERR_ZERO_SAMPLES"),
    (dict(num_features=0), "ERR_BAD_DIM"),
    (dict(num_features=spec.DEFAULT_MAX_DIM + 1), "ERR_BAD_DIM"),
    (dict(num_epochs=0), "ERR_ZERO_EPOCHS"),
    (dict(step_size=float("inf")), "ERR_BAD_FLOAT_PARAM"),
    (dict(step_decay=float("nan")), "ERR_BAD_FLOAT_PARAM"),
    (dict(cost_pos=1e39), "ERR_BAD_FLOAT_PARAM"),          # rounds to inf in binary32
    (dict(cost_neg=-float("inf")), "ERR_BAD_FLOAT_PARAM"),
    (dict(binarize_value=float("nan")), "ERR_BAD_FLOAT_PARAM"),
    (dict(delay=0), "ERR_BAD_DELAY"),
    (dict(delay=100000), "ERR_BAD_DELAY"),
    (dict(reg_shift=32), "ERR_BAD_REG_SHIFT"),
    # precedence: lowest code first
    (dict(loss="x", num_samples=0, reg_shift=40), "ERR_BAD_MODE"),
    (dict(num_samples=0, num_features=0, num_epochs=0), "ERR_ZERO_SAMPLES"),
    (dict(num_features=0, num_epochs=0, delay=0), "ERR_BAD_DIM"),
    (dict(num_epochs=0, step_size=float("nan")), "ERR_ZERO_EPOCHS"),
    (dict(step_size=float("nan"), delay=0, reg_shift=99), "ERR_BAD_FLOAT_PARAM"),
    (dict(delay=0, reg_shift=99), "ERR_BAD_DELAY"),
]


@pytest.mark.parametrize("kw,name", CONFIG_ERRORS)
def test_config_errors(kw, name):
    cfg = _ok_cfg(**kw)
    r = R.run_reference(cfg, np.zeros(7, np.uint64))   # stream never looked at
    assert r.error == E[name]
    assert r.models.shape == (0, cfg.num_features) and r.samples == 0
    assert cfg.config_error(spec.DEFAULT_MAX_DIM,
                            spec.default_fifo_words(cfg.bits, spec.DEFAULT_MAX_DIM)) == r.error


def test_config_error_fifo_and_max_dim():
    cfg = _ok_cfg(num_features=100)
    # D = ceil(100/16) = 7, W = 8, S_d = 17: needs (17 + 1) * 7 + 16 = 142 FIFO words
    assert spec.fifo_words_needed(4, 100) == 142
    stream = np.zeros(cfg.epoch_words, np.uint64)
    stream[cfg.words_per_sample - 1::cfg.words_per_sample] = b(1.0)
    assert R.run_reference(cfg, stream, fifo_words=142).error == 0
    assert R.run_reference(cfg, stream, fifo_words=141).error == E["ERR_BAD_DELAY"]
    assert R.run_reference(cfg, stream, max_dim=100).error == 0
    assert R.run_reference(cfg, stream, max_dim=99).error == E["ERR_BAD_DIM"]


def test_config_error_agrees_with_engine_config_randomly():
    rng = np.random.default_rng(7)
    for _ in range(300):
        cfg = EngineConfig(
            bits=int(rng.choice(spec.PRECISIONS)), num_samples=int(rng.integers(0, 3)),
            num_features=int(rng.choice([0, 1, 64, 300, 8192, 8193])),
            num_epochs=int(rng.integers(0, 3)),
            loss=str(rng.choice(["svm", "linreg", "logreg", "bad"])),
            step_size=float(rng.choice([0.1, np.inf, np.nan])),
            cost_neg=float(rng.choice([1.0, 1.0, -np.inf])),
            delay=int(rng.choice([0, 1, 2, 50, 300, 5000])),
            reg_shift=int(rng.choice([0, 31, 32])),
            double_sampling=bool(rng.integers(2)))
        fifo = int(rng.choice([64, 1024, spec.default_fifo_words(cfg.bits, 8192)]))
        p = R._Params(cfg, 8192, fifo)
        assert p.config_error() == cfg.config_error(8192, fifo), cfg


def _labels_run(loss, labels, binarize=False, bits=4):
    n = len(labels)
    cfg = EngineConfig(bits=bits, num_samples=n, num_features=2, loss=loss, binarize=binarize,
                       binarize_value=2.0)
    L = 1 << (bits - 1) if bits else 0
    codes = [[L, 1]] * n if bits else [[b(1.0), b(0.5)]] * n
    return R.run_reference(cfg, encode_stream(bits, 2, codes, np.array(labels, np.uint32)))


@pytest.mark.parametrize("loss,labels,info", [
    ("svm", [b(1.0), b(0.5)], 1),
    ("svm", [b(1.0), b(-1.0), 0x00000001], 2),              # subnormal -> 0, not +-1
    ("logreg", [b(2.0)], 0),
    ("logreg", [b(-1.0), b(0.0)], 1),
    ("linreg", [b(0.5), 0x7FC00000], 1),
    ("linreg", [0x7F800000], 0),
    ("linreg", [b(3.0), b(-2.0), 0xFF800000], 2),
])
def test_bad_label(loss, labels, info):
    r = _labels_run(loss, labels)
    assert (r.error, r.error_info, r.models.shape[0]) == (E["ERR_BAD_LABEL"], info, 0)
    assert r.samples == info


def test_labels_accepted():
    assert _labels_run("linreg", [b(0.5), b(-7.0), 0x00000001]).error == 0
    assert _labels_run("svm", [b(0.5), b(7.0)], binarize=True).error == 0
    assert _labels_run("svm", [b(1.0), 0x7FC00000], binarize=True).error == E["ERR_BAD_LABEL"]


def test_bad_sample_qb_and_padding():
    cfg = EngineConfig(bits=2, num_samples=3, num_features=3, num_epochs=2, loss="svm")
    labels = f32([1.0, -1.0, 1.0])
    ok = [[2, 1, 0]] * 3
    bad = [[2, 1, 0], [2, 1, 0], [2, 3, 0]]                 # code 3 > L = 2 in lane 1
    r = R.run_reference(cfg, encode_stream(2, 3, bad, labels))
    assert (r.error, r.error_info, r.samples) == (E["ERR_BAD_SAMPLE"], 2, 2)
    # code 3 in a padding lane (j >= d) is ignored
    pad = np.full((3, 29), 3, np.uint64)
    assert R.run_reference(cfg, encode_stream(2, 3, ok, labels, pad=pad)).error == 0
    # error in the second epoch (2-D stream): the first epoch's model is returned
    s = np.stack([encode_stream(2, 3, ok, labels), encode_stream(2, 3, bad, labels)])
    r2 = R.run_reference(cfg, s)
    r1 = R.run_reference(cfg.with_(num_epochs=1), s[0])
    assert (r2.error, r2.error_info, r2.samples) == (E["ERR_BAD_SAMPLE"], 2, 5)
    assert np.array_equal(r2.models, r1.models)


def test_bad_sample_copy_b_and_stream_order():
    cfg = EngineConfig(bits=4, num_samples=2, num_features=2, loss="svm", double_sampling=True)
    ok = [[8, 3]] * 2
    bad_b = [[8, 3], [8, 9]]                               # 9 > L = 8 in copy B of sample 1
    r = R.run_reference(cfg, encode_stream(4, 2, ok, f32([1.0, 1.0]), codes_b=bad_b))
    assert (r.error, r.error_info) == (E["ERR_BAD_SAMPLE"], 1)
    # bad code and bad label in the same sample: the data words come first
    r = R.run_reference(cfg, encode_stream(4, 2, ok, np.array([b(1.0), 0x7FC00000], np.uint32),
                                           codes_b=bad_b))
    assert (r.error, r.error_info) == (E["ERR_BAD_SAMPLE"], 1)


@pytest.mark.parametrize("value,err", [
    (0x7FC00000, True), (0x7F800000, True), (0xFF800000, True),
    (b(256.0), True), (b(1e10), True), (b(-256.0), False), (0x00000001, False),
])
def test_bad_sample_q0(value, err):
    cfg = EngineConfig(bits=0, num_samples=2, num_features=3, loss="linreg")
    codes = np.array([[b(1.0), b(0.5), b(0.25)], [b(1.0), value, b(0.0)]], np.uint64)
    r = R.run_reference(cfg, encode_stream(0, 3, codes, f32([1.0, 2.0])))
    assert (r.error, r.error_info) == ((E["ERR_BAD_SAMPLE"], 1) if err else (0, 0))


def test_bq1_cannot_have_bad_codes():
    """b = 1: L = 1 and a lane holds 0 or 1, so every stream is valid data."""
    rng = np.random.default_rng(8)
    cfg = EngineConfig(bits=1, num_samples=5, num_features=70, loss="linreg")
    stream = rng.integers(0, 2 ** 63, cfg.epoch_words, dtype=np.uint64)
    stream[cfg.words_per_sample - 1::cfg.words_per_sample] = b(0.5)
    assert R.run_reference(cfg, stream).error == 0


def test_tlast_errors():
    """Section 7.5: with CHUNK_SAMPLES = 3 and n = 7, tlast on the label words of samples
    2, 5 and 6."""
    cfg = EngineConfig(bits=8, num_samples=7, num_features=10, loss="linreg", chunk_samples=3)
    W = cfg.words_per_sample  # D = 2, W = 3
    rng = np.random.default_rng(9)
    stream = random_problem(rng, cfg)
    good = np.zeros(cfg.epoch_words, bool)
    good[[3 * W - 1, 6 * W - 1, 7 * W - 1]] = True
    ref = R.run_reference(cfg, stream)
    assert R.run_reference(cfg, stream, tlast=good).models.tolist() == ref.models.tolist()
    assert ref.error == 0
    missing = good.copy()
    missing[3 * W - 1] = False
    r = R.run_reference(cfg, stream, tlast=missing)
    assert (r.error, r.error_info) == (E["ERR_TLAST_MISSING"], 2)
    early = good.copy()
    early[4 * W] = True                                    # first data word of sample 4
    r = R.run_reference(cfg, stream, tlast=early)
    assert (r.error, r.error_info) == (E["ERR_TLAST_EARLY"], 4)
    # one transfer per epoch: tlast only at the very end
    cfg0 = cfg.with_(chunk_samples=0)
    assert R.run_reference(cfg0, stream, tlast=good).error == E["ERR_TLAST_EARLY"]
    # a bad label on a word that also misses tlast: the lower code (content) first
    bad = stream.copy()
    bad[3 * W - 1] = 0x7FC00000
    r = R.run_reference(cfg, bad, tlast=missing)
    assert (r.error, r.error_info) == (E["ERR_BAD_LABEL"], 2)


def test_bad_arguments():
    cfg = EngineConfig(bits=2, num_samples=2, num_features=2)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        R.run_reference(cfg, np.zeros(5, np.uint64))
    with pytest.raises(ValueError, match="num_samples"):
        R.run_reference(cfg.with_(num_samples=-1), np.zeros(4, np.uint64))
    with pytest.raises(TypeError, match="uint64"):
        R.run_reference(cfg, np.zeros(4, np.float64))
    with pytest.raises(ValueError, match="schedule"):
        R.run_reference(cfg, np.zeros(4, np.uint64), schedule="fast")
    with pytest.raises(ValueError, match="bits"):
        R.run_reference(cfg.with_(bits=3), np.zeros(4, np.uint64))


def test_pack_matches_independent_encoder():
    """zipml.pack.pack (another helper's packer) against the encoder of tests/ref_streams.py,
    which builds every word lane by lane with shifts: d = 1, d not a multiple of V, d a
    multiple of V, double sampling, NaN/inf labels and codes > L with validate=False."""
    pytest.importorskip("zipml.pack", reason="zipml.pack not written yet")
    rng = np.random.default_rng(30)
    for bits in spec.PRECISIONS:
        V = 2 if bits == 0 else 64 // bits
        for d in sorted({1, 2, V - 1 if V > 2 else 3, V, V + 1, 2 * V + 3, 37}):
            for ds in ((False, True) if bits else (False,)):
                n = int(rng.integers(1, 6))
                if bits == 0:
                    a = rng.integers(0, 1 << 32, (n, d), dtype=np.uint64)   # any bit pattern
                else:
                    a = rng.integers(0, 1 << bits, (n, d), dtype=np.uint64)  # codes > L too
                bb = rng.integers(0, 1 << bits, (n, d), dtype=np.uint64) if ds else None
                labels = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
                labels[0] = 0x7FC00000
                assert check_pack(bits, d, a, labels, bb)
