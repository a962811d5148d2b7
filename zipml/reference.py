"""Slow, exact Python reference of the engine specification (``docs/ENGINE.md``).

This module is a second, independent reading of the specification, written to be obviously
correct rather than fast. Every rule of the text maps to a few lines here:

* the float32 stage (sections 2.2, 2.3, 5.3) is done with exact rational arithmetic
  (:class:`fractions.Fraction`) and one explicit rounding function, :func:`_round_to_f32`;
* the fixed-point dot product and update (sections 5.2, 5.4) use Python integers, which never
  overflow, with ``>>`` as the arithmetic shift ``>>>`` of the text;
* the stream is decoded word by word with explicit bit extraction (section 3);
* the delayed-update schedule (section 6) is implemented twice: in the "hardware" form (the
  update of sample ``m - S_d`` is applied word by word while sample ``m`` streams in, each
  model word read once for both purposes) and in the "sequential" form of the text. The tests
  check that the two agree, which checks the equivalence the specification claims.

Readings of the text where it is silent (also listed in the tests):

* data errors are detected word by word in stream order (copy A, copy B, label); within one
  word the content error (ERR_BAD_LABEL / ERR_BAD_SAMPLE) wins over a tlast error, the lower
  code first as for the configuration errors of 7.4;
* SAMPLE_COUNT after a data error counts the samples of the run before the bad one; SAT after a
  data error is whatever the samples before it produced (not compared across engines, since a
  pipeline may or may not have finished the scalar of the last samples);
* ERR_ABORTED needs a host write during a run and has no meaning here.

It is meant for small problems (a few hundred samples and features); the C engine
(``zipml.cengine``) is the fast implementation and is checked bit for bit against this one.

Float values are passed around as their binary32 bit patterns (Python ``int`` in
``[0, 2^32)``).
"""
from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

from . import spec
from .config import EngineConfig, EngineResult, f32_bits

# ============================================================================ float32 stage

#: The canonical quiet NaN every NaN result becomes (section 2.2).
NAN = 0x7FC00000
POS_INF = 0x7F800000
NEG_INF = 0xFF800000
POS_ZERO = 0x00000000
NEG_ZERO = 0x80000000
SIGN_BIT = 0x80000000
ONE = 0x3F800000          # 1.0
MINUS_ONE = 0xBF800000    # -1.0

_MIN_NORMAL_EXP = -126    # smallest normal binary32 is 2^-126
_MAX_EXP = 127            # largest finite binary32 is (2 - 2^-23) * 2^127
_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1

# kinds returned by _decode
_ZERO, _FINITE, _INF, _NAN = "zero", "finite", "inf", "nan"


def _check_bits32(x: int, name: str) -> int:
    x = int(x)
    if not 0 <= x <= 0xFFFFFFFF:
        raise ValueError(f"{name} must be a binary32 bit pattern in [0, 2^32), got {x:#x}")
    return x


def _decode(x: int) -> tuple[str, int, Fraction]:
    """Split a binary32 bit pattern into (kind, sign, magnitude).

    Subnormal inputs are replaced by zero of the same sign (section 2.2, "Inputs").
    ``magnitude`` is the exact value for finite numbers and 0 otherwise.
    """
    sign = (x >> 31) & 1
    exp = (x >> 23) & 0xFF
    frac = x & 0x7FFFFF
    if exp == 0xFF:
        return (_NAN if frac else _INF), sign, Fraction(0)
    if exp == 0:
        return _ZERO, sign, Fraction(0)     # +-0 and subnormals
    # normal: (1 + frac / 2^23) * 2^(exp - 127) = (2^23 + frac) * 2^(exp - 150)
    significand = (1 << 23) | frac
    e = exp - 150
    mag = Fraction(significand << e) if e >= 0 else Fraction(significand, 1 << -e)
    return _FINITE, sign, mag


def _signed_value(x: int) -> Fraction:
    """Exact value of a finite (or zero/subnormal) binary32, sign included."""
    kind, sign, mag = _decode(x)
    assert kind in (_ZERO, _FINITE)
    return -mag if sign else mag


def _floor_log2(r: Fraction) -> int:
    """The integer e with 2^e <= r < 2^(e+1), for a positive Fraction r."""
    e = r.numerator.bit_length() - r.denominator.bit_length()
    # the estimate is off by at most one
    if _pow2(e) > r:
        e -= 1
    elif _pow2(e + 1) <= r:
        e += 1
    assert _pow2(e) <= r < _pow2(e + 1)
    return e


def _pow2(e: int) -> Fraction:
    return Fraction(1 << e) if e >= 0 else Fraction(1, 1 << -e)


def _round_to_f32(r: Fraction) -> int:
    """Round an exact nonzero rational to binary32 by the rules of section 2.2.

    1. Round to a 24-bit significand, to nearest, ties to even, with an unbounded exponent.
    2. If the rounded magnitude is below 2^-126: zero with the sign of ``r`` (flush to zero).
       If it is 2^128 or more: infinity with the sign of ``r``.
    """
    assert r != 0
    sign = 1 if r < 0 else 0
    mag = -r if sign else r
    e = _floor_log2(mag)                   # 2^e <= mag < 2^(e+1)
    scaled = mag / _pow2(e - 23)            # in [2^23, 2^24)
    n = scaled.numerator // scaled.denominator
    rest = scaled - n                      # in [0, 1)
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and n % 2 == 1):
        n += 1
    if n == 1 << 24:                        # rounding carried into the next binade
        n = 1 << 23
        e += 1
    # rounded magnitude is n * 2^(e-23) with 2^23 <= n < 2^24, i.e. in [2^e, 2^(e+1))
    if e < _MIN_NORMAL_EXP:
        return sign << 31                  # flush to zero, sign of the exact result
    if e > _MAX_EXP:
        return (sign << 31) | 0x7F800000   # overflow to infinity
    return (sign << 31) | ((e + 127) << 23) | (n - (1 << 23))


def neg(a: int) -> int:
    """Flip the sign bit (section 2.2: exact, no other effect)."""
    return _check_bits32(a, "a") ^ SIGN_BIT


def fadd(a: int, b: int) -> int:
    """binary32 addition with the rules of section 2.2."""
    ka, sa, ma = _decode(_check_bits32(a, "a"))
    kb, sb, mb = _decode(_check_bits32(b, "b"))
    if ka == _NAN or kb == _NAN:
        return NAN
    if ka == _INF and kb == _INF:
        return NAN if sa != sb else (sa << 31) | 0x7F800000      # inf - inf = NaN
    if ka == _INF:
        return (sa << 31) | 0x7F800000
    if kb == _INF:
        return (sb << 31) | 0x7F800000
    if ka == _ZERO and kb == _ZERO:
        # (-0) + (-0) = -0; every other sum of zeros is +0 (round to nearest)
        return NEG_ZERO if (sa and sb) else POS_ZERO
    exact = (-ma if sa else ma) + (-mb if sb else mb)
    if exact == 0:
        return POS_ZERO                    # x + (-x) = +0 for finite x
    return _round_to_f32(exact)


def fsub(a: int, b: int) -> int:
    """``fadd(a, neg(b))`` (section 2.2)."""
    return fadd(a, neg(b))


def fmul(a: int, b: int) -> int:
    """binary32 multiplication with the rules of section 2.2."""
    ka, sa, ma = _decode(_check_bits32(a, "a"))
    kb, sb, mb = _decode(_check_bits32(b, "b"))
    if ka == _NAN or kb == _NAN:
        return NAN
    sign = sa ^ sb
    if (ka == _INF and kb == _ZERO) or (ka == _ZERO and kb == _INF):
        return NAN                          # 0 * inf = NaN
    if ka == _INF or kb == _INF:
        return (sign << 31) | 0x7F800000
    if ka == _ZERO or kb == _ZERO:
        return sign << 31                  # exact zero, IEEE sign of a product
    return _round_to_f32(-(ma * mb) if sign else ma * mb)


def fix2flt(A: int, F: int) -> int:
    """Signed integer ``A`` with ``F`` fractional bits -> nearest binary32 (section 2.3).

    Exact zero gives +0. (Overflow and flush to zero follow section 2.2; the engine never
    reaches them.)
    """
    A, F = int(A), int(F)
    if A == 0:
        return POS_ZERO
    return _round_to_f32(Fraction(A) * _pow2(-F))


def _round_half_even_int(r: Fraction) -> int:
    """Nearest integer to ``r``, ties to even."""
    n = r.numerator // r.denominator        # floor
    rest = r - n
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and n % 2 == 1):
        n += 1
    return n


def sat32(v: int) -> tuple[int, bool]:
    """Clamp to [-2^31, 2^31 - 1]; returns (value, clamped)."""
    if v > _INT32_MAX:
        return _INT32_MAX, True
    if v < _INT32_MIN:
        return _INT32_MIN, True
    return v, False


def flt2fix(v: int) -> tuple[int, bool]:
    """binary32 -> Q8.23 step (section 2.3); returns (value, saturated).

    ``v * 2^23`` rounded to an integer (ties to even), then ``sat32``. Subnormal and NaN give
    0 (not saturated); +inf / -inf give the extreme values and count as saturation.
    """
    kind, sign, mag = _decode(_check_bits32(v, "v"))
    if kind == _NAN or kind == _ZERO:
        return 0, False
    if kind == _INF:
        return (_INT32_MIN, True) if sign else (_INT32_MAX, True)
    x = _round_half_even_int((-mag if sign else mag) * (1 << spec.MODEL_FRAC_BITS))
    return sat32(x)


def smp2fix(v: int) -> tuple[int, bool]:
    """Q0 sample value -> Q8.23 (section 2.3); returns (value, data_error).

    As :func:`flt2fix`, but NaN, infinities and values whose rounded ``v * 2^23`` is outside
    [-2^31, 2^31 - 1] are data errors (``ERR_BAD_SAMPLE``) instead of saturating. The value
    returned with an error is 0.
    """
    kind, sign, mag = _decode(_check_bits32(v, "v"))
    if kind in (_NAN, _INF):
        return 0, True
    if kind == _ZERO:
        return 0, False
    x = _round_half_even_int((-mag if sign else mag) * (1 << spec.MODEL_FRAC_BITS))
    if not _INT32_MIN <= x <= _INT32_MAX:
        return 0, True
    return x, False


def fcmp_value(a: int) -> float | None:
    """The value a comparison sees (section 2.2): flushed, exact; None for NaN.

    Every binary32 value (and +-inf) is exactly a Python float, so comparing these floats is
    comparing the binary32 values; -0 and +0 compare equal, NaN (None) is handled by callers
    as "compares false".
    """
    kind, sign, mag = _decode(_check_bits32(a, "a"))
    if kind == _NAN:
        return None
    if kind == _INF:
        return float("-inf") if sign else float("inf")
    return float(-mag if sign else mag)


def _gt(a: int, b: int) -> bool:
    va, vb = fcmp_value(a), fcmp_value(b)
    return va is not None and vb is not None and va > vb


def _ge(a: int, b: int) -> bool:
    va, vb = fcmp_value(a), fcmp_value(b)
    return va is not None and vb is not None and va >= vb


def _lt(a: int, b: int) -> bool:
    va, vb = fcmp_value(a), fcmp_value(b)
    return va is not None and vb is not None and va < vb


def _eq(a: int, b: int) -> bool:
    va, vb = fcmp_value(a), fcmp_value(b)
    return va is not None and vb is not None and va == vb


# PLAN constants (section 5.3), as binary32 bit patterns computed by the encoder above
def _const(num: int, den: int = 1) -> int:
    return _round_to_f32(Fraction(num, den))


_F5 = _const(5)              # 5.0
_F2_375 = _const(19, 8)      # 2.375
_F0_03125 = _const(1, 32)    # 0.03125
_F0_84375 = _const(27, 32)   # 0.84375
_F0_125 = _const(1, 8)       # 0.125
_F0_625 = _const(5, 8)       # 0.625
_F0_25 = _const(1, 4)        # 0.25
_F0_5 = _const(1, 2)         # 0.5
assert _const(1) == ONE


def plan(z: int) -> int:
    """PLAN piecewise-linear sigmoid of section 5.3 on a binary32 bit pattern."""
    z = _check_bits32(z, "z")
    u = z & 0x7FFFFFFF                      # |z|: clear the sign bit
    if _ge(u, _F5):
        h = ONE
    elif _ge(u, _F2_375):                   # 2.375 <= u < 5
        h = fadd(fmul(u, _F0_03125), _F0_84375)
    elif _ge(u, ONE):                       # 1 <= u < 2.375
        h = fadd(fmul(u, _F0_125), _F0_625)
    else:                                   # u < 1 (and NaN, which the engine never sees)
        h = fadd(fmul(u, _F0_25), _F0_5)
    return fsub(ONE, h) if _lt(z, POS_ZERO) else h


# ============================================================================ engine
_E = spec.ERR


def _staleness(W: int, delay: int) -> int:
    """``S_d = max(DELAY, 1 + ceil(LATENCY_BUDGET / W))`` (section 6)."""
    return max(delay, 1 + -(-spec.LATENCY_BUDGET // W))


@functools.lru_cache(maxsize=None)
def _default_fifo_words(bits: int, max_dim: int) -> int:
    return spec.default_fifo_words(bits, max_dim)


def _is_finite_f32(x: int) -> bool:
    return ((x >> 23) & 0xFF) != 0xFF


def _register_int(cfg: EngineConfig, name: str) -> int:
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 0xFFFFFFFF:
        raise ValueError(f"EngineConfig.{name} must be an integer register value in "
                         f"[0, 2^32), got {v!r}")
    return int(v)


class _Params:
    """What the engine samples at START, decoded from the configuration (section 7)."""

    def __init__(self, cfg: EngineConfig, max_dim: int, fifo_words: int | None):
        if cfg.bits not in spec.PRECISIONS:
            raise ValueError(f"EngineConfig.bits must be one of {spec.PRECISIONS}, "
                             f"got {cfg.bits!r}")
        if not 1 <= int(max_dim) <= spec.MAX_DIM_LIMIT:
            raise ValueError(f"max_dim must be in [1, {spec.MAX_DIM_LIMIT}], got {max_dim!r}")
        self.bits = int(cfg.bits)
        self.max_dim = int(max_dim)
        if fifo_words is not None and (isinstance(fifo_words, bool) or not isinstance(
                fifo_words, (int, np.integer)) or not 0 <= fifo_words <= 0xFFFFFFFF):
            raise ValueError(f"fifo_words must be an integer in [0, 2^32), got {fifo_words!r}")
        self.fifo_words = (_default_fifo_words(self.bits, self.max_dim) if fifo_words is None
                           else int(fifo_words))
        self.loss = spec.LOSSES.get(cfg.loss, -1)  # -1: a reserved LOSS encoding
        self.signed = bool(cfg.signed)
        self.binarize = bool(cfg.binarize)
        self.keep_model = bool(cfg.keep_model)
        self.double_sampling = bool(cfg.double_sampling)
        self.n = _register_int(cfg, "num_samples")
        self.d = _register_int(cfg, "num_features")
        self.epochs = _register_int(cfg, "num_epochs")
        self.reg_shift = _register_int(cfg, "reg_shift")
        self.delay = _register_int(cfg, "delay")
        self.chunk = _register_int(cfg, "chunk_samples")
        self.step_size = f32_bits(cfg.step_size)
        self.step_decay = f32_bits(cfg.step_decay)
        self.cost_pos = f32_bits(cfg.cost_pos)
        self.cost_neg = f32_bits(cfg.cost_neg)
        self.binarize_value = f32_bits(cfg.binarize_value)
        # section 3
        self.V = 2 if self.bits == 0 else 64 // self.bits
        self.lane_bits = 32 if self.bits == 0 else self.bits
        self.D = -(-self.d // self.V)
        self.W = self.D * (2 if self.double_sampling else 1) + 1
        self.L = 0 if self.bits == 0 else 1 << (self.bits - 1)
        self.QF = spec.MODEL_FRAC_BITS if self.bits == 0 else self.bits - 1
        self.S_d = _staleness(self.W, self.delay)

    def config_error(self) -> int:
        """Configuration error of section 7.4, lowest code first (0 = valid)."""
        if self.loss not in (spec.LOSS_SVM, spec.LOSS_LINREG, spec.LOSS_LOGREG) or (
                self.double_sampling and self.bits == 0):
            return _E["ERR_BAD_MODE"]
        if self.n == 0:
            return _E["ERR_ZERO_SAMPLES"]
        if self.d == 0 or self.d > self.max_dim:
            return _E["ERR_BAD_DIM"]
        if self.epochs == 0:
            return _E["ERR_ZERO_EPOCHS"]
        if not all(_is_finite_f32(x) for x in (self.step_size, self.step_decay, self.cost_pos,
                                               self.cost_neg, self.binarize_value)):
            return _E["ERR_BAD_FLOAT_PARAM"]
        if self.delay == 0 or (self.S_d + 1) * self.D + spec.FIFO_SLACK > self.fifo_words:
            return _E["ERR_BAD_DELAY"]
        if self.reg_shift > 31:
            return _E["ERR_BAD_REG_SHIFT"]
        return 0


class _DataError(Exception):
    def __init__(self, code: int):
        super().__init__(spec.ERROR_NAMES[code])
        self.code = code


def _lane_value(p: _Params, raw: int) -> int:
    """``q_j`` of one lane ``j < d`` from its raw bits (section 3.2); _DataError if bad."""
    if p.bits == 0:
        value, err = smp2fix(raw)
        if err:
            raise _DataError(_E["ERR_BAD_SAMPLE"])
        return value
    if raw > p.L:
        raise _DataError(_E["ERR_BAD_SAMPLE"])
    return 2 * raw - p.L if p.signed else raw


def _label(p: _Params, word: int) -> int:
    """Label word -> y' as binary32 bits (section 4)."""
    y = word & 0xFFFFFFFF                   # bits 63..32 reserved, ignored
    if not _is_finite_f32(y):
        raise _DataError(_E["ERR_BAD_LABEL"])
    if (y >> 23) & 0xFF == 0:
        y &= SIGN_BIT                       # subnormal -> zero of the same sign
    if p.binarize:
        return ONE if _eq(y, p.binarize_value) else MINUS_ONE
    if p.loss in (spec.LOSS_SVM, spec.LOSS_LOGREG) and y not in (ONE, MINUS_ONE):
        raise _DataError(_E["ERR_BAD_LABEL"])
    return y


class _Sample:
    """One parsed sample: q of copy A (dot product), q of copy B (update), label y'."""

    __slots__ = ("qa", "qb", "y", "S")

    def __init__(self, qa, qb, y):
        self.qa, self.qb, self.y, self.S = qa, qb, y, None


def _parse_sample(p: _Params, words: list[int], tlast: list[bool], want_last: bool) -> _Sample:
    """Decode the ``W`` words of one sample, checking them one by one in stream order.

    Data errors are found in stream order. Within one word, the content (label or sample
    value) is checked before tlast: the lower code first, as section 7.4 orders the
    configuration errors (ENGINE.md does not say; this is the reference's reading).
    ``want_last`` tells whether section 7.5 expects tlast on this sample's label word.
    """
    mask = (1 << p.lane_bits) - 1
    copies = [[], []]
    y = None
    for w, word in enumerate(words):
        if w == p.W - 1:
            y = _label(p, word)
        else:
            copy, cw = divmod(w, p.D)            # copy 0 = A, 1 = B; data word cw of it
            for j in range(cw * p.V, min((cw + 1) * p.V, p.d)):  # lanes j >= d ignored
                raw = (word >> (p.lane_bits * (j % p.V))) & mask
                copies[copy].append(_lane_value(p, raw))
        expected = want_last and w == p.W - 1
        if tlast[w] and not expected:
            raise _DataError(_E["ERR_TLAST_EARLY"])
        if expected and not tlast[w]:
            raise _DataError(_E["ERR_TLAST_MISSING"])
    qa = copies[0]
    qb = copies[1] if p.double_sampling else qa
    return _Sample(qa, qb, y)


def _product(p: _Params, x: int, q: int) -> int:
    """``p_j`` of section 5.2."""
    if p.bits == 0:
        return (x * q + (1 << 22)) >> 23    # round half up, arithmetic shift
    return x * q


def _scalar(p: _Params, acc: int, y: int, gamma: int, kp: int, kn: int) -> tuple[int, bool]:
    """z, s and S of sections 5.2/5.3 for one sample; returns (S, saturated)."""
    z = fix2flt(acc, spec.MODEL_FRAC_BITS + (0 if p.bits == 0 else p.QF))
    positive = _eq(y, ONE)
    if p.loss == spec.LOSS_SVM:
        t = z if positive else neg(z)
        m = fsub(ONE, t)
        if _gt(m, POS_ZERO):
            s = fmul(kp if positive else kn, m)
        else:
            s = POS_ZERO
    elif p.loss == spec.LOSS_LINREG:
        s = fmul(gamma, fsub(z, y))
    else:
        target = ONE if positive else POS_ZERO
        s = fmul(gamma, fsub(plan(z), target))
    return flt2fix(s)


def _update(p: _Params, x: int, q: int, S: int) -> tuple[int, bool]:
    """One lane of the update of section 5.4; returns (new X_j, saturated)."""
    if p.QF == 0:
        delta = S * q
    else:
        delta = (S * q + (1 << (p.QF - 1))) >> p.QF
    r = x >> p.reg_shift if p.reg_shift > 0 else 0
    return sat32(x - r - delta)


class _Run:
    """State of one run: the model memory and the sticky SAT flag."""

    def __init__(self, p: _Params, model: list[int]):
        self.p = p
        self.X = model
        self.sat = False

    def apply_update(self, smp: _Sample) -> None:
        for j in range(self.p.d):
            self.X[j], s = _update(self.p, self.X[j], smp.qb[j], smp.S)
            self.sat |= s

    def finish_sample(self, smp: _Sample, acc: int, consts) -> None:
        smp.S, s = _scalar(self.p, acc, smp.y, *consts)
        self.sat |= s

    # ---------------------------------------------------------------- one epoch, two forms
    def epoch_sequential(self, samples, consts) -> None:
        """Section 6, "equivalent sequential form".

        (ENGINE.md v1.0 as first committed applied update ``m - S_d - 1`` *before* the dot
        product of ``m`` but drained only ``n - S_d .. n-1``, which never applied the update of
        sample ``n - S_d - 1``; the text now applies update ``m - S_d`` *after* the dot product
        of ``m``, which is what the hardware form does.)
        """
        p = self.p
        done = []
        for m, sample in enumerate(samples):
            smp = self._parse(m, sample)
            acc = sum(_product(p, self.X[j], smp.qa[j]) for j in range(p.d))
            self.finish_sample(smp, acc, consts)
            done.append(smp)
            if m - p.S_d >= 0:
                self.apply_update(done[m - p.S_d])
        for k in range(max(0, p.n - p.S_d), p.n):
            self.apply_update(done[k])

    def epoch_hardware(self, samples, consts) -> None:
        """Section 6, hardware form: the update of sample ``m - S_d`` is applied word by word
        while sample ``m`` streams in; each model word is read once, the dot product of ``m``
        takes the value before the update."""
        p = self.p
        done = []
        for m, sample in enumerate(samples):
            smp = self._parse(m, sample)
            old = done[m - p.S_d] if m - p.S_d >= 0 else None
            acc = 0
            for w in range(p.D):                           # data words of copy A
                for j in range(w * p.V, min((w + 1) * p.V, p.d)):
                    xj = self.X[j]                         # one read ...
                    acc += _product(p, xj, smp.qa[j])      # ... for the dot product of m
                    if old is not None:                    # ... and the update of m - S_d
                        self.X[j], s = _update(p, xj, old.qb[j], old.S)
                        self.sat |= s
            self.finish_sample(smp, acc, consts)
            done.append(smp)
        for k in range(max(0, p.n - p.S_d), p.n):         # drain at the end of the epoch
            self.apply_update(done[k])

    def _parse(self, m: int, sample) -> _Sample:
        words, tlast = sample
        p = self.p
        want_last = (p.chunk > 0 and (m + 1) % p.chunk == 0) or m == p.n - 1   # section 7.5
        try:
            return _parse_sample(p, words, tlast, want_last)
        except _DataError as exc:
            exc.sample = m
            raise


def _check_stream(p: _Params, stream) -> np.ndarray:
    arr = np.asarray(stream)
    if arr.dtype != np.uint64:
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"stream must be an array of uint64 words, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0):
            raise ValueError("stream words must be non-negative 64-bit values")
        arr = arr.astype(np.uint64)
    ew = p.n * p.W
    if arr.ndim == 1 and arr.shape[0] == ew:
        return arr
    if arr.ndim == 2 and arr.shape == (p.epochs, ew):
        return arr
    raise ValueError(f"stream must have shape ({ew},) (one epoch, reused) or "
                     f"({p.epochs}, {ew}) (one row per epoch) for n={p.n}, W={p.W}; "
                     f"got shape {arr.shape}")


def run_reference(cfg: EngineConfig, stream, *, model_init=None,
                  max_dim: int = spec.DEFAULT_MAX_DIM, fifo_words: int | None = None,
                  tlast=None, schedule: str = "hardware") -> EngineResult:
    """Run the engine of ``docs/ENGINE.md`` on a stream, slowly and exactly.

    Parameters
    ----------
    cfg : EngineConfig
        The parameter registers at START.
    stream : array of uint64
        The sample stream: shape ``(cfg.epoch_words,)`` (the same buffer every epoch) or
        ``(cfg.num_epochs, cfg.epoch_words)`` (one row per epoch). Not looked at when the
        configuration is invalid (the engine takes no word then).
    model_init : array of int, optional
        Q8.23 model left in the engine's memory, used when ``cfg.keep_model`` (zeros when
        None). Ignored without keep_model: START clears the model.
    max_dim : int
        ``MAX_DIM`` of the engine.
    fifo_words : int, optional
        ``FIFO_WORDS`` of the engine; default ``spec.default_fifo_words(bits, max_dim)``.
    tlast : array of bool, optional
        ``s_axis_tlast`` of every stream word, same shape as ``stream``; default: tlast exactly
        where section 7.5 expects it (a correct stream). Only used to test ERR_TLAST_*.
    schedule : {"hardware", "sequential"}
        Which of the two equivalent forms of section 6 to run.

    Returns
    -------
    EngineResult
        ``models`` holds one row per completed epoch; on a data error the epoch in progress
        is not included (its model frame is undefined), ``error_info`` is the sample index
        within that epoch and ``samples`` counts the samples of the run before the bad one.
        On a configuration error nothing runs: zero epochs, zero samples.
    """
    p = _Params(cfg, max_dim, fifo_words)
    if schedule not in ("hardware", "sequential"):
        raise ValueError(f"schedule must be 'hardware' or 'sequential', got {schedule!r}")
    code = p.config_error()
    if code:
        return EngineResult(models=np.zeros((0, p.d), dtype=np.int32), error=code,
                            staleness=p.S_d, samples=0)
    arr = _check_stream(p, stream)
    if tlast is None:
        last = np.zeros(arr.shape[-1], dtype=bool)
        for i in range(p.n):
            if (p.chunk > 0 and (i + 1) % p.chunk == 0) or i == p.n - 1:
                last[(i + 1) * p.W - 1] = True
    else:
        last = np.asarray(tlast)
        if last.dtype != bool or last.shape != arr.shape:
            raise ValueError(f"tlast must be a bool array of the stream's shape {arr.shape}, "
                             f"got {last.dtype} {last.shape}")
    if p.keep_model and model_init is not None:
        init = np.asarray(model_init)
        if init.shape != (p.d,) or not np.issubdtype(init.dtype, np.integer):
            raise ValueError(f"model_init must be an integer array of shape ({p.d},), got "
                             f"{init.dtype} {init.shape}")
        model = [int(v) for v in init]
        for j, v in enumerate(model):
            if not _INT32_MIN <= v <= _INT32_MAX:
                raise ValueError(f"model_init[{j}] = {v} is not a Q8.23 int32 value")
    else:
        model = [0] * p.d
    run = _Run(p, model)
    epoch_fn = run.epoch_hardware if schedule == "hardware" else run.epoch_sequential
    models = []
    gamma = p.step_size
    for e in range(p.epochs):
        if e > 0:
            gamma = fmul(gamma, p.step_decay)             # gamma_{e} = gamma_{e-1} * decay
        kp = neg(fmul(gamma, p.cost_pos))
        kn = fmul(gamma, p.cost_neg)
        row = arr if arr.ndim == 1 else arr[e]
        lrow = last if last.ndim == 1 else last[e]
        words = [int(w) for w in row]
        flags = [bool(t) for t in lrow]
        samples = [(words[i * p.W:(i + 1) * p.W], flags[i * p.W:(i + 1) * p.W])
                   for i in range(p.n)]
        try:
            epoch_fn(samples, (gamma, kp, kn))
        except _DataError as exc:
            return EngineResult(models=_as_models(models, p.d), error=exc.code,
                                error_info=exc.sample, sat=run.sat, staleness=p.S_d,
                                samples=e * p.n + exc.sample)
        models.append(list(run.X))
    return EngineResult(models=_as_models(models, p.d), sat=run.sat, staleness=p.S_d,
                        samples=p.epochs * p.n)


def _as_models(rows, d: int) -> np.ndarray:
    return np.array(rows, dtype=np.int32).reshape(len(rows), d)
