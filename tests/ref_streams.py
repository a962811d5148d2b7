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
