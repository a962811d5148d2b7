"""Tests of the C engine through cffi (zipml.cengine): float32 stage and engine runs.

Expected values are derived independently of the C code: from numpy float32/float64 arithmetic
where ENGINE.md 2.2 coincides with IEEE-754, and from bit patterns derived by hand (comments
show the derivation) where flush-to-zero makes them differ.
"""
from __future__ import annotations

import functools

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
    with np.errstate(invalid="ignore"):
        f = bits.view(np.float32).astype(np.float64)
        f = np.where(is_sub(bits), 0.0, f)
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


# ============================================================================= engine runs
from zipml import spec  # noqa: E402
from zipml.config import EngineConfig, EngineError  # noqa: E402

ERR = spec.ERR


def pack(bits, vals, labels, vals_b=None):
    """Stream of ENGINE.md section 3 built directly with numpy (independent of zipml.pack).

    vals: (n, d) float32 values (Q0) or integer codes (Qb); labels: (n,) floats or uint32 bits.
    """
    vals = np.asarray(vals)
    n, d = vals.shape
    V = 2 if bits == 0 else 64 // bits
    D = -(-d // V)

    def words(v):
        if bits == 0:
            u = np.zeros((n, 2 * D), np.uint64)
            u[:, :d] = np.asarray(v, np.float32).view(np.uint32)
            return u[:, 0::2] | (u[:, 1::2] << np.uint64(32))
        c = np.zeros((n, D * V), np.uint64)
        c[:, :d] = v
        c = c.reshape(n, D, V) << (np.arange(V, dtype=np.uint64) * np.uint64(bits))
        return np.bitwise_or.reduce(c, axis=2)

    labels = np.asarray(labels)
    lab = labels if labels.dtype == np.uint32 else labels.astype(np.float32).view(np.uint32)
    parts = [words(vals)] + ([words(vals_b)] if vals_b is not None else [])
    return np.concatenate(parts + [lab.astype(np.uint64)[:, None]], axis=1).ravel()


def random_problem(rng, bits, n, d, loss="svm", ds=False, signed=False):
    if bits == 0:
        vals = rng.uniform(-1 if signed else 0, 1, (n, d)).astype(np.float32)
        vals[:, 0] = 1.0
        vb = None
    else:
        L = 1 << (bits - 1)
        vals = rng.integers(0, L + 1, (n, d))
        vals[:, 0] = L
        vb = rng.integers(0, L + 1, (n, d)) if ds else None
        if ds:
            vb[:, 0] = L
    labels = (rng.normal(0, 1, n) if loss == "linreg"
              else rng.choice([-1.0, 1.0], n))
    return vals, vb, labels


def test_hand_computed_linreg_one_sample():
    # d = 1 (bias), Q8 code L = 128 -> q = 128 (value 1.0); label 1.0; gamma = 0.5, model 0:
    # z = 0, s = 0.5 * (0 - 1) = -0.5, S = -2^22, delta = (S*128 + 2^6) >>> 7 = -2^22,
    # X = 0 - 0 - (-2^22) = 2^22 (0.5).
    cfg = EngineConfig(bits=8, num_samples=1, num_features=1, loss="linreg", step_size=0.5)
    res = ce.run_engine(cfg, pack(8, [[128]], [1.0])).raise_for_error()
    assert res.models.tolist() == [[2**22]]
    assert res.staleness == cfg.staleness == max(1, 1 + -(-128 // 2))
    assert res.samples == 1 and not res.sat
    # second epoch (step decay 0.5 -> gamma 0.25): z = 0.5, s = 0.25 * (0.5 - 1) = -0.125,
    # S = -2^20, X = 2^22 + 2^20
    cfg2 = cfg.with_(num_epochs=2, step_decay=0.5)
    res = ce.run_engine(cfg2, pack(8, [[128]], [1.0]))
    assert res.models.tolist() == [[2**22], [2**22 + 2**20]]
    # Q0 with sample value 0.5: z = 0, s = -0.5, S = -2^22, delta = (S * 2^22 + 2^22) >>> 23
    # = -2^21 (exact) -> X = 2^21
    cfg0 = cfg.with_(bits=0)
    res = ce.run_engine(cfg0, pack(0, np.float32([[0.5]]), [1.0]))
    assert res.models.tolist() == [[2**21]]


@pytest.mark.parametrize("bits", [0, 8])
def test_every_update_applied_once_at_the_end_of_the_epoch(bits):
    """Section 6: the updates of the last S_d + 1 samples are applied once each.

    linreg; feature 0 of every sample is 1.0, the others 0 (wide samples, so W is large and
    S_d = max(DELAY, 2) is small); labels 0 except sample k with label 1. Model 0 -> every
    sample before k has z = 0, y = 0 -> S = 0. Sample k: s = 0.5 (0 - 1), S = -2^22, its update
    adds 2^22 to X_0 (and 0 to the others). When k >= n - S_d - 1 no later dot product sees
    that update, so every later S is 0 too: the final model is exactly [2^22, 0, ...] (X_0 = 0
    if the update were lost, 2^23 if applied twice).
    """
    d = 300 if bits == 0 else 1200                 # W = 151
    one = 128 if bits else 1.0
    for delay in (1, 3, 7):
        for n in (1, 2, 5, 12, 40):
            cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, loss="linreg",
                               step_size=0.5, delay=delay)
            sd = cfg.staleness
            assert sd == max(delay, 2)
            for k in range(max(0, n - sd - 1), n):
                labels = np.zeros(n)
                labels[k] = 1.0
                vals = np.zeros((n, d), dtype=np.float32 if bits == 0 else np.int64)
                vals[:, 0] = one
                res = ce.run_engine(cfg, pack(bits, vals, labels)).raise_for_error()
                exp = np.zeros((1, d), np.int32)
                exp[0, 0] = 2**22
                assert np.array_equal(res.models, exp), (delay, n, k, sd, res.models[0, :3])


def test_hand_computed_regularisation_and_svm_margin():
    # svm, label +1, model starts at 2^24 (2.0) via keep_model, q = 1 (Q1 unsigned code 1):
    # z = 2.0 -> m = 1 - 2 < 0 -> s = 0 -> only regularisation: X - (X >>> 3) = 2^24 - 2^21.
    cfg = EngineConfig(bits=1, num_samples=1, num_features=1, loss="svm", reg_shift=3,
                       keep_model=True)
    res = ce.run_engine(cfg, pack(1, [[1]], [1.0]), model_init=np.int32([2**24]))
    assert res.models.tolist() == [[2**24 - 2**21]]
    # negative model: -5 >>> 1 = -3 (floor) -> -5 - (-3) = -2
    cfg = cfg.with_(reg_shift=1, loss="linreg", step_size=0.0)
    res = ce.run_engine(cfg, pack(1, [[1]], [0.0]), model_init=np.int32([-5]))
    assert res.models.tolist() == [[-2]]
    # without keep_model the init is ignored
    res = ce.run_engine(cfg.with_(keep_model=False), pack(1, [[1]], [0.0]),
                        model_init=np.int32([-5]))
    assert res.models.tolist() == [[0]]


def test_sat_flag():
    # huge step: s = 1e6 * (0 - 1) -> flt2fix saturates -> SAT
    cfg = EngineConfig(bits=8, num_samples=2, num_features=3, loss="linreg", step_size=1e6)
    res = ce.run_engine(cfg, pack(8, [[128, 0, 5], [128, 3, 0]], [1.0, 1.0]))
    assert res.error == 0 and res.sat
    res = ce.run_engine(cfg.with_(step_size=1e-3), pack(8, [[128, 0, 5], [128, 3, 0]],
                                                        [1.0, 1.0]))
    assert not res.sat


@pytest.mark.parametrize("bits", [0, 1, 2, 4, 8])
def test_buffer_forms_and_padding_ignored(bits):
    rng = np.random.default_rng(bits)
    n, d, E = 7, 13, 3
    vals, vb, labels = random_problem(rng, bits, n, d, ds=bits > 0)
    cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=E,
                       double_sampling=bits > 0, step_size=0.25)
    s1 = pack(bits, vals, labels, vb)
    r1 = ce.run_engine(cfg, s1).raise_for_error()
    assert r1.models.shape == (E, d) and r1.samples == n * E
    assert np.any(r1.models != 0)
    r2 = ce.run_engine(cfg, np.ascontiguousarray(np.tile(s1, (E, 1)))).raise_for_error()
    assert np.array_equal(r1.models, r2.models)
    # garbage in the padding lanes (j >= d) and in label bits 63..32 changes nothing
    s3 = s1.reshape(n, -1).copy()
    V = spec.values_per_word(bits)
    D = spec.data_words(bits, d)
    if D * V > d:
        used = (d - (D - 1) * V) * (32 if bits == 0 else bits)
        s3[:, D - 1] |= np.uint64(((1 << 64) - 1) ^ ((1 << used) - 1))
        if vb is not None:
            s3[:, 2 * D - 1] |= np.uint64(((1 << 64) - 1) ^ ((1 << used) - 1))
    s3[:, -1] |= np.uint64(0xDEADBEEF << 32)
    r3 = ce.run_engine(cfg, s3.ravel()).raise_for_error()
    assert np.array_equal(r1.models, r3.models)
    # a different buffer in the last epoch changes only the last model
    s4 = np.tile(s1, (E, 1))
    other = random_problem(np.random.default_rng(99), bits, n, d, ds=bits > 0)
    s4[E - 1] = pack(bits, other[0], labels, other[1])
    r4 = ce.run_engine(cfg, s4).raise_for_error()
    assert np.array_equal(r1.models[:E - 1], r4.models[:E - 1])
    assert not np.array_equal(r1.models[E - 1], r4.models[E - 1])


def test_delay_changes_schedule():
    rng = np.random.default_rng(3)
    n, d = 200, 9          # W = 2 -> S_d = 65 for DELAY <= 65
    vals, _, labels = random_problem(rng, 4, n, d)
    cfg = EngineConfig(bits=4, num_samples=n, num_features=d, step_size=0.01)
    st = pack(4, vals, labels)
    a = ce.run_engine(cfg, st)
    assert not a.sat
    b = ce.run_engine(cfg.with_(delay=a.staleness), st)    # same S_d -> same model
    c = ce.run_engine(cfg.with_(delay=a.staleness + 3), st)
    assert np.array_equal(a.models, b.models)
    assert not np.array_equal(a.models, c.models)
    assert c.staleness == a.staleness + 3
    # S_d >= n: every update at the end of the epoch, all from the zero model: the result is
    # the sum of the updates computed independently of each other.
    e = ce.run_engine(cfg.with_(delay=n), st)
    assert e.staleness == n and e.error == 0


# ----------------------------------------------------------------------------- data errors
@pytest.mark.parametrize("bits", [0, 1, 2, 4, 8])
def test_data_errors_report_sample_and_keep_completed_epochs(bits):
    rng = np.random.default_rng(10 + bits)
    n, d, E = 9, 11, 3
    vals, _, labels = random_problem(rng, bits, n, d)
    cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=E, step_size=0.1)
    clean = pack(bits, vals, labels)
    good = ce.run_engine(cfg, clean).raise_for_error()
    W = cfg.words_per_sample

    def run_bad(epoch, sample, mutate):
        st = np.tile(clean, (E, 1))
        row = st[epoch].reshape(n, W)
        mutate(row[sample])
        return ce.run_engine(cfg, st)

    def set_label(word_bits):
        def m(w):
            w[W - 1] = np.uint64(word_bits)
        return m

    for lab in (0x7FC00000, 0x7F800000, 0xFF800000, 0x7F800001, int(np.float32(0.5).view(U32)),
                0, int(np.float32(2.0).view(U32))):
        r = run_bad(1, 4, set_label(lab))
        assert (r.error, r.error_info, r.epochs_done, r.samples) == (ERR["ERR_BAD_LABEL"], 4,
                                                                      1, n + 4), hex(lab)
        assert np.array_equal(r.models, good.models[:1])
        with pytest.raises(EngineError, match="ERR_BAD_LABEL.*sample 4 of epoch 1"):
            r.raise_for_error()

    if bits == 0:
        bad_vals = [0x7FC00000, 0x7F800000, 0xFF800000, int(np.float32(256.0).view(U32)),
                    int(np.float32(-300.0).view(U32))]
    elif bits == 1:
        bad_vals = []           # every 1-bit code is valid
    else:
        bad_vals = [(1 << (bits - 1)) + 1, (1 << bits) - 1]
    lane = d - 1
    V = spec.values_per_word(bits)
    width = 32 if bits == 0 else bits
    for bv in bad_vals:
        def mutate(w, bv=bv):
            word, pos = divmod(lane, V)
            w[word] = (w[word] & ~np.uint64(((1 << width) - 1) << (width * pos))) \
                | np.uint64(bv << (width * pos))
            w[W - 1] = np.uint64(0x7FC00000)        # a bad label too: the sample error wins
        r = run_bad(2, 0, mutate)
        assert (r.error, r.error_info, r.epochs_done, r.samples) == (ERR["ERR_BAD_SAMPLE"], 0,
                                                                      2, 2 * n), hex(bv)
        assert np.array_equal(r.models, good.models[:2])
    if bits == 0:
        # -256.0 is the one value of exponent 2^8 in range; subnormals are zero: no error
        for ok in (int(np.float32(-256.0).view(U32)), 0x00000001, 0x80400000):
            r = run_bad(0, 3, lambda w, ok=ok: w.__setitem__(0, (w[0] & np.uint64(~0xFFFFFFFF
                        & 0xFFFFFFFFFFFFFFFF)) | np.uint64(ok)))
            assert r.error == 0, hex(ok)


def test_double_sampling_copy_b_checked_and_used():
    rng = np.random.default_rng(4)
    n, d = 6, 20
    vals, vb, labels = random_problem(rng, 4, n, d, ds=True)
    cfg = EngineConfig(bits=4, num_samples=n, num_features=d, double_sampling=True,
                       loss="linreg", step_size=0.25)
    res = ce.run_engine(cfg, pack(4, vals, labels, vb)).raise_for_error()
    same = ce.run_engine(cfg, pack(4, vals, labels, vals)).raise_for_error()
    plain = ce.run_engine(cfg.with_(double_sampling=False), pack(4, vals, labels))
    assert np.array_equal(same.models, plain.models)      # copy B = copy A: plain SGD
    assert not np.array_equal(res.models, plain.models)
    vb2 = vb.copy()
    vb2[3, 5] = 9                                          # > L = 8 in copy B
    r = ce.run_engine(cfg, pack(4, vals, labels, vb2))
    assert (r.error, r.error_info) == (ERR["ERR_BAD_SAMPLE"], 3)


def test_labels_binarize_and_linreg():
    rng = np.random.default_rng(8)
    n, d = 12, 5
    vals, _, _ = random_problem(rng, 8, n, d)
    raw = rng.choice([0.0, 3.0, 7.5], n).astype(np.float32)
    raw[0] = -0.0   # equal to binarize value 0.0 after flushing
    raw[1] = np.float32(1e-40)  # subnormal -> 0 -> equal to 0.0
    cfg = EngineConfig(bits=8, num_samples=n, num_features=d, binarize=True,
                       binarize_value=0.0, step_size=0.25)
    r = ce.run_engine(cfg, pack(8, vals, raw)).raise_for_error()
    y = np.where((raw == 0.0) | (np.abs(raw) < 2.0**-126), 1.0, -1.0)   # flushed compare
    assert y[1] == 1.0 and raw[1] != 0.0
    r2 = ce.run_engine(cfg.with_(binarize=False), pack(8, vals, y)).raise_for_error()
    assert np.array_equal(r.models, r2.models)
    # svm / logreg without binarize refuse a label of 3.0; linreg takes it
    for loss, code in (("svm", ERR["ERR_BAD_LABEL"]), ("logreg", ERR["ERR_BAD_LABEL"]),
                       ("linreg", 0)):
        rr = ce.run_engine(cfg.with_(binarize=False, loss=loss), pack(8, vals, raw))
        assert rr.error == code
        if code:
            assert rr.error_info == int(np.flatnonzero(~np.isin(raw, [1.0, -1.0]))[0])


# ----------------------------------------------------------------------------- config errors
def random_config(rng):
    f = [1.0, 0.5, float("inf"), float("nan"), 1e39, -2.0]
    pick = lambda xs: xs[int(rng.integers(len(xs)))]   # noqa: E731
    return EngineConfig(
        bits=pick([0, 1, 2, 4, 8]),
        num_samples=pick([0, 1, 5, 2**32 - 1]),
        num_features=pick([0, 1, 7, 64, 500, 8192, 8193]),
        num_epochs=pick([0, 1, 3]),
        loss=pick(["svm", "linreg", "logreg", "hinge"]),
        step_size=pick(f), step_decay=pick(f), cost_pos=pick(f), cost_neg=pick(f),
        binarize_value=pick(f),
        reg_shift=pick([0, 1, 31, 32, 2**32 - 1]),
        delay=pick([0, 1, 2, 30, 300, 5000, 2**32 - 1]),
        double_sampling=bool(rng.random() < 0.3),
        signed=bool(rng.random() < 0.5), keep_model=bool(rng.random() < 0.5))


@functools.lru_cache(maxsize=None)
def default_fifo(bits, max_dim):
    return spec.default_fifo_words(bits, max_dim)


def test_config_error_precedence_matches_engine_config():
    rng = np.random.default_rng(2024)
    seen = set()
    empty = np.zeros(0, np.uint64)
    for i in range(3000):
        cfg = random_config(rng)
        max_dim = [64, 512, 8192][i % 3]
        fifo = [None, 64, 300, 2**20][(i // 3) % 4]
        fw = default_fifo(cfg.bits, max_dim) if fifo is None else fifo
        exp = cfg.config_error(max_dim, fw)
        assert ce.config_error(cfg, max_dim, fifo) == exp, (cfg, max_dim, fw)
        if exp:
            r = ce.run_engine(cfg, empty, max_dim=max_dim, fifo_words=fifo)
            assert (r.error, r.epochs_done, r.samples) == (exp, 0, 0)
            assert r.staleness == cfg.staleness
            with pytest.raises(EngineError, match=spec.ERROR_NAMES[exp]):
                r.raise_for_error()
        seen.add(exp)
    assert seen == set(range(0, 8))   # every configuration error code was exercised


def test_config_error_boundaries():
    cfg = EngineConfig(bits=1, num_samples=3, num_features=64)
    need = spec.fifo_words_needed(1, 64, 1)
    assert ce.config_error(cfg, 8192, need) == 0
    assert ce.config_error(cfg, 8192, need - 1) == ERR["ERR_BAD_DELAY"]
    assert ce.config_error(cfg, 64) == 0
    assert ce.config_error(cfg, 63) == ERR["ERR_BAD_DIM"]
    assert ce.config_error(cfg.with_(reg_shift=31)) == 0
    assert ce.config_error(cfg.with_(reg_shift=32)) == ERR["ERR_BAD_REG_SHIFT"]
    assert ce.config_error(cfg.with_(delay=0, reg_shift=32)) == ERR["ERR_BAD_DELAY"]
    assert ce.config_error(cfg.with_(bits=0, double_sampling=True,
                                     num_samples=0)) == ERR["ERR_BAD_MODE"]
    assert ce.config_error(cfg.with_(step_decay=float("nan"))) == ERR["ERR_BAD_FLOAT_PARAM"]
    assert ce.config_error(cfg.with_(cost_neg=-3.4e38)) == 0
    assert ce.config_error(cfg.with_(cost_neg=-3.5e38)) == ERR["ERR_BAD_FLOAT_PARAM"]


# ----------------------------------------------------------------------------- call errors
def test_stream_shape_and_dtype_errors():
    cfg = EngineConfig(bits=4, num_samples=3, num_features=20, num_epochs=2)
    ew = cfg.epoch_words
    good = np.zeros(ew, np.uint64)
    with pytest.raises(ValueError, match="expected dtype uint64, got int64"):
        ce.run_engine(cfg, good.astype(np.int64))
    with pytest.raises(ValueError, match="expected dtype uint64, got float64"):
        ce.run_engine(cfg, good.astype(np.float64))
    with pytest.raises(ValueError, match="numpy.ndarray of uint64, got list"):
        ce.run_engine(cfg, [0] * ew)
    with pytest.raises(ValueError, match=rf"expected shape \({ew},\).*got \({ew - 1},\)"):
        ce.run_engine(cfg, good[:-1])
    with pytest.raises(ValueError, match=rf"expected shape \(2, {ew}\).*got \(3, {ew}\)"):
        ce.run_engine(cfg, np.zeros((3, ew), np.uint64))
    with pytest.raises(ValueError, match="1-D.*2-D.*got shape"):
        ce.run_engine(cfg, np.zeros((2, 1, ew), np.uint64))
    with pytest.raises(ValueError, match="C-contiguous"):
        ce.run_engine(cfg, np.zeros(2 * ew, np.uint64)[::2])
    with pytest.raises(ValueError, match=r"model_init: expected shape \(20,\)"):
        ce.run_engine(cfg.with_(keep_model=True), good, model_init=np.zeros(19, np.int32))
    with pytest.raises(ValueError, match="model_init: expected int32"):
        ce.run_engine(cfg.with_(keep_model=True), good, model_init=np.zeros(20))
    with pytest.raises(ValueError, match="int32 range"):
        ce.run_engine(cfg.with_(keep_model=True), good,
                      model_init=np.full(20, 2**31, np.int64))
    with pytest.raises(ValueError, match="num_samples must be an integer in"):
        ce.run_engine(cfg.with_(num_samples=2**32), good)
    with pytest.raises(ValueError, match="delay must be an integer"):
        ce.run_engine(cfg.with_(delay=-1), good)
    with pytest.raises(ValueError, match="bits must be one of"):
        ce.run_engine(cfg.with_(bits=3), good)
    with pytest.raises(ValueError, match="max_dim"):
        ce.run_engine(cfg, good, max_dim=8193)
    with pytest.raises(TypeError, match="EngineConfig"):
        ce.run_engine({"bits": 4}, good)
    assert ce.run_engine(cfg, good).error == ERR["ERR_BAD_LABEL"]   # label 0.0 for svm


def test_c_api_refuses_bad_lengths():
    """The C entry point checks every length itself (not only the Python wrapper)."""
    cfg = EngineConfig(bits=2, num_samples=4, num_features=33, num_epochs=2)
    c = ce._c_config(cfg, 8192, None)
    ew = int(ce.lib.zml_epoch_words(c))
    assert ew == cfg.epoch_words
    st = ce.ffi.new("zml_status *")
    buf = np.zeros(2 * ew, np.uint64)
    models = np.zeros(2 * 33, np.int32)
    P = ce._ptr
    args = lambda sw, nb, ml: (c, P("uint64_t *", buf), sw, nb, ce.ffi.NULL, 0,  # noqa: E731
                               P("int32_t *", models), ml, st)
    assert ce.lib.zml_run(*args(ew - 1, 1, 66)) == ce.lib.ZML_API_STREAM_LENGTH
    assert ce.lib.zml_run(*args(ew, 2, 66)) == ce.lib.ZML_API_STREAM_LENGTH
    assert ce.lib.zml_run(*args(2 * ew, 3, 66)) == ce.lib.ZML_API_NUM_BUFFERS
    assert ce.lib.zml_run(*args(ew, 1, 65)) == ce.lib.ZML_API_MODELS_LENGTH
    assert ce.lib.zml_run(*args(2 * ew, 2, 66)) == 0
    assert st.error == ERR["ERR_BAD_LABEL"]


def test_cffi_declarations_come_from_the_headers():
    """Every function and constant of the C headers is reachable from Python: the cffi
    declarations are read from the headers (zipml/_cdef.py), not copied by hand."""
    import re
    from pathlib import Path

    import zipml._libsvm as libsvm
    import zipml._zipml_c as engine
    from zipml._cdef import header_cdef

    cmodel = Path(__file__).resolve().parent.parent / "cmodel"
    for header, mod in (("zipml_fp.h", engine), ("zipml_engine.h", engine),
                        ("zipml_libsvm.h", libsvm)):
        text = (cmodel / header).read_text()
        names = re.findall(r"^[A-Za-z_][\w \*]*?\b(zml_\w+)\s*\(", text, flags=re.M)
        names += re.findall(r"^#define\s+(ZML_\w+)\s+\S", text, flags=re.M)
        assert len(names) >= 5, header
        for name in names:
            assert hasattr(mod.lib, name), f"{header}: {name} is not exposed by {mod.__name__}"
        cdef = header_cdef(cmodel / header)
        assert "/*" not in cdef and "#include" not in cdef and 'extern "C"' not in cdef
