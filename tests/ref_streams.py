"""Test helpers: an independent stream encoder (ENGINE.md section 3) and random problems.

Kept separate from ``zipml/pack.py`` on purpose, so that the tests cross-check the packer.
"""
from __future__ import annotations

import numpy as np

from zipml import spec
from zipml.config import EngineConfig

LOSSES = ("svm", "linreg", "logreg")


def f32(values) -> np.ndarray:
    """binary32 bit patterns (uint32) of float values."""
    return np.asarray(values, dtype=np.float32).view(np.uint32).copy()


def encode_stream(bits: int, d: int, codes, labels, codes_b=None, pad=None,
                  label_hi=None) -> np.ndarray:
    """Encode samples as the engine's 64-bit word stream (one epoch).

    Parameters
    ----------
    bits : int
        0 (``codes`` are binary32 bit patterns) or 1, 2, 4, 8 (``codes`` are b-bit codes).
    d : int
        Features per sample.
    codes : array (n, d) of unsigned ints
        Lane contents of copy A (raw: invalid codes are written as they are).
    labels : array (n,) of uint32
        Label bit patterns (bits 31..0 of the label word).
    codes_b : array (n, d), optional
        Copy B for double sampling.
    pad : array (n, D*V - d), optional
        Raw contents of the padding lanes (default zeros), written into both copies.
    label_hi : array (n,) of uint32, optional
        Reserved bits 63..32 of the label words (default zeros).

    Returns
    -------
    ndarray of uint64, shape (n * W,)
    """
    lane = 32 if bits == 0 else bits
    per_word = 64 // lane
    D = -(-d // per_word)
    codes = np.asarray(codes, dtype=np.uint64).reshape(-1, d)
    n = codes.shape[0]
    copies = [codes] if codes_b is None else [codes, np.asarray(codes_b, np.uint64).reshape(n, d)]
    W = D * len(copies) + 1
    words = np.zeros((n, W), dtype=np.uint64)
    npad = D * per_word - d
    padv = (np.zeros((n, npad), np.uint64) if pad is None
            else np.asarray(pad, dtype=np.uint64).reshape(n, npad))
    for c, arr in enumerate(copies):
        full = np.concatenate([arr, padv], axis=1)
        assert int(full.max(initial=0)) < (1 << lane), "lane value wider than the lane"
        for j in range(D * per_word):
            words[:, c * D + j // per_word] |= full[:, j] << np.uint64(lane * (j % per_word))
    lab = np.asarray(labels, dtype=np.uint64).reshape(n)
    hi = np.zeros(n, np.uint64) if label_hi is None else np.asarray(label_hi, np.uint64)
    words[:, -1] = lab | (hi << np.uint64(32))
    return words.reshape(-1)


def random_labels(rng, loss: str, n: int, binarize: bool = False) -> tuple[np.ndarray, float]:
    """Label bit patterns valid for ``loss``; returns (labels, binarize_value)."""
    if binarize:
        classes = np.array([0.0, 1.0, 3.0, -2.5], np.float32)
        return f32(rng.choice(classes, size=n)), 3.0
    if loss == "linreg":
        return f32(rng.uniform(-2, 2, size=n).astype(np.float32)), 0.0
    return f32(rng.choice(np.array([1.0, -1.0], np.float32), size=n)), 0.0


def random_codes(rng, bits: int, n: int, d: int, scale: float = 1.0) -> np.ndarray:
    """Valid lane contents: codes 0..L for Qb, float32 bits in (-scale, scale) for Q0.

    Column 0 is the bias (code L, or 1.0).
    """
    if bits == 0:
        vals = rng.uniform(-scale, scale, size=(n, d)).astype(np.float32)
        # a sprinkling of exact zeros, negative zeros and subnormals (engine reads them as 0)
        mask = rng.random((n, d))
        vals[mask < 0.03] = 0.0
        vals[(mask >= 0.03) & (mask < 0.05)] = -0.0
        out = f32(vals).astype(np.uint64)
        sub = (mask >= 0.05) & (mask < 0.07)
        out[sub] = rng.integers(1, 1 << 23, size=int(sub.sum())).astype(np.uint64)
        out[:, 0] = int(f32(1.0))
        return out
    L = 1 << (bits - 1)
    out = rng.integers(0, L + 1, size=(n, d)).astype(np.uint64)
    out[:, 0] = L
    return out


def random_problem(rng, cfg: EngineConfig, epochs_rows: bool = False, scale: float = 1.0):
    """A valid random stream for ``cfg``: 1-D (one epoch) or 2-D (one row per epoch)."""
    rows = cfg.num_epochs if epochs_rows else 1
    out = []
    for _ in range(rows):
        a = random_codes(rng, cfg.bits, cfg.num_samples, cfg.num_features, scale)
        b = (random_codes(rng, cfg.bits, cfg.num_samples, cfg.num_features, scale)
             if cfg.double_sampling else None)
        labels, _ = random_labels(rng, cfg.loss, cfg.num_samples, cfg.binarize)
        out.append(encode_stream(cfg.bits, cfg.num_features, a, labels, b))
    return np.stack(out) if epochs_rows else out[0]


# =========================================================================== FP operands
def _bits(sign, exp, man) -> np.ndarray:
    return ((np.asarray(sign, np.uint64) << np.uint64(31))
            | (np.asarray(exp, np.uint64) << np.uint64(23))
            | np.asarray(man, np.uint64)).astype(np.uint32)


def _split(n: int, weights) -> list[int]:
    counts = [int(n * w) for w in weights]
    counts[0] += n - sum(counts)
    return counts


def fp_operand_pairs(rng, n: int, op: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` operand pairs (uint32 bit patterns) for ``fadd``/``fsub``/``fmul`` checks.

    Mixture: uniform random patterns; near-equal magnitudes (cancellation in add/sub);
    results near 2^-126 (flush-to-zero boundary, incl. subnormal operands); results near
    overflow; rounding ties; special values (zeros, subnormals, inf, NaN) against randoms.
    """
    parts_a, parts_b = [], []
    cu, cc, ct, co, cr, cs = _split(n, (0.25, 0.2, 0.2, 0.15, 0.1, 0.1))
    u32 = lambda k: rng.integers(0, 1 << 32, k, dtype=np.uint64).astype(np.uint32)  # noqa: E731
    sgn = lambda k: rng.integers(0, 2, k)                                           # noqa: E731
    man = lambda k: rng.integers(0, 1 << 23, k)                                     # noqa: E731
    # uniform
    parts_a.append(u32(cu))
    parts_b.append(u32(cu))
    # near each other: b = +-a moved by a few ulps (cancellation for add with opposite sign)
    a = _bits(sgn(cc), rng.integers(1, 255, cc), man(cc))
    b = (a.astype(np.int64) + rng.integers(-4, 5, cc)).astype(np.uint32)
    flip = rng.integers(0, 2, cc).astype(np.uint32) << np.uint32(31)
    parts_a.append(a)
    parts_b.append(b ^ flip)
    # near 2^-126
    if op == "mul":
        ea = rng.integers(1, 254, ct)
        eb = np.clip(127 + rng.integers(-2, 3, ct) - ea + 1, 0, 254)   # ea + eb - 127 ~ 1
        parts_a.append(_bits(sgn(ct), ea, man(ct)))
        parts_b.append(_bits(sgn(ct), eb, man(ct)))
    else:
        parts_a.append(_bits(sgn(ct), rng.integers(0, 4, ct), man(ct)))
        parts_b.append(_bits(sgn(ct), rng.integers(0, 4, ct), man(ct)))
    # near overflow
    if op == "mul":
        ea = rng.integers(127, 255, co)
        eb = np.clip(254 + 127 - ea + rng.integers(-1, 2, co), 1, 254)
        parts_a.append(_bits(sgn(co), ea, man(co)))
        parts_b.append(_bits(sgn(co), eb, man(co)))
    else:
        parts_a.append(_bits(sgn(co), rng.integers(252, 255, co), man(co)))
        parts_b.append(_bits(sgn(co), rng.integers(250, 255, co), man(co)))
    # ties
    if op == "mul":
        # (1 + f) * 1.5 with f's last bit set: exact product has one bit beyond 24 -> tie
        ea = rng.integers(40, 215, cr)
        parts_a.append(_bits(sgn(cr), ea, man(cr) | 1))
        parts_b.append(_bits(sgn(cr), rng.integers(40, 215, cr), np.full(cr, 1 << 22)))
    else:
        # b = 0.5 or 1.5 ulp of a (exponent of a minus 24), same or opposite sign
        ea = rng.integers(25, 255, cr)
        parts_a.append(_bits(sgn(cr), ea, man(cr)))
        parts_b.append(_bits(sgn(cr), ea - 24, rng.choice([0, 1 << 22], cr)))
    # specials against randoms
    specials = np.array([0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000,
                         0x80800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001,
                         0x7F800001, 0x3F800000, 0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF],
                        np.uint32)
    s = rng.choice(specials, cs)
    r = np.where(rng.random(cs) < 0.5, u32(cs), rng.choice(specials, cs))
    swap = rng.random(cs) < 0.5
    parts_a.append(np.where(swap, r, s).astype(np.uint32))
    parts_b.append(np.where(swap, s, r).astype(np.uint32))
    return np.concatenate(parts_a), np.concatenate(parts_b)


def fp_unary_operands(rng, n: int) -> np.ndarray:
    """Operands for flt2fix / smp2fix / plan: uniform patterns, values near +-256 (Q8.23
    range), ties of v * 2^23, PLAN breakpoints +- a few ulps, subnormals and specials."""
    cu, cr, ct, cp, cs = _split(n, (0.3, 0.2, 0.2, 0.2, 0.1))
    u32 = rng.integers(0, 1 << 32, cu, dtype=np.uint64).astype(np.uint32)
    edge = np.array([256.0, -256.0, 255.99998474121094, -256.00003051757812], np.float32)
    near = (rng.choice(edge, cr).view(np.uint32).astype(np.int64)
            + rng.integers(-3, 4, cr)).astype(np.uint32)
    # v in [2^-k, 2^-k+1) with k in 0..2: ulp 2^-23-k <= 2^-24: v*2^23 has a half
    ties = _bits(rng.integers(0, 2, ct), rng.integers(124, 127, ct), rng.integers(0, 1 << 23, ct))
    bp = np.array([1.0, 2.375, 5.0, -1.0, -2.375, -5.0, 0.0, -0.0], np.float32)
    plan_near = (rng.choice(bp, cp).view(np.uint32).astype(np.int64)
                 + rng.integers(-3, 4, cp)).astype(np.uint32)
    specials = _bits(rng.integers(0, 2, cs), rng.choice([0, 255], cs), rng.integers(0, 1 << 23, cs))
    return np.concatenate([u32, near, ties, plan_near, specials])


def fix2flt_operands(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(A int64, F) pairs for fix2flt: magnitudes up to 2^62, ties at 24 bits, F the engine's
    23 + QF values and a few others."""
    cu, ct, cz = _split(n, (0.6, 0.35, 0.05))
    mag = rng.integers(0, 63, cu)
    A = (rng.integers(0, 1 << 62, cu, dtype=np.int64) >> (62 - mag)) * rng.choice([-1, 1], cu)
    # ties: 25-bit odd significand (last bit beyond 24 set) shifted left
    sig = (rng.integers(1 << 24, 1 << 25, ct, dtype=np.int64) | 1)
    T = (sig << rng.integers(0, 37, ct)) * rng.choice([-1, 1], ct)
    Z = np.zeros(cz, np.int64)
    A = np.concatenate([A, T, Z])
    F = rng.choice(np.array([23, 24, 25, 27, 30, 46, 0, 60], np.int64), A.size)
    return A, F


def check_pack(bits: int, d: int, codes, labels, codes_b=None) -> bool:
    """If ``zipml.pack`` exists, assert that ``pack()`` and :func:`encode_stream` give the
    same words (zero padding, zero reserved bits). Returns False when there is no packer."""
    try:
        from zipml.pack import pack
    except ImportError:
        return False
    codes = np.asarray(codes, np.uint64).reshape(-1, d)
    lab = np.asarray(labels, np.uint32).view(np.float32)
    if bits == 0:
        data = codes.astype(np.uint32).view(np.float32)
        data_b = None
    else:
        data = codes.astype(np.uint8)
        data_b = None if codes_b is None else np.asarray(codes_b, np.uint8).reshape(-1, d)
    got = pack(data, lab, bits, data_b=data_b, validate=False)
    want = encode_stream(bits, d, codes, labels, codes_b)
    assert got.dtype == np.uint64 and np.array_equal(got, want), (
        f"zipml.pack.pack and the test encoder disagree for bits={bits}, d={d}: first word "
        f"index {int(np.nonzero(got != want)[0][0]) if got.shape == want.shape else 'shape'}")
    return True
