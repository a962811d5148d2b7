"""Engine configuration and run results, shared by every backend (cpu, sim, pynq).

:class:`EngineConfig` holds what the host writes into the engine's parameter registers
(``docs/ENGINE.md`` section 7); :meth:`EngineConfig.registers` gives the exact 32-bit words.
:class:`EngineResult` is what a run returns, whatever ran it.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field as dc_field, replace

import numpy as np

from . import spec


def f32_bits(value: float) -> int:
    """binary32 bit pattern of ``value`` (rounded to nearest float32)."""
    with np.errstate(over="ignore"):
        return int(np.array(value, dtype=np.float64).astype(np.float32).view(np.uint32))


def bits_f32(word: int) -> float:
    return struct.unpack("<f", struct.pack("<I", word & 0xFFFFFFFF))[0]


class EngineError(RuntimeError):
    """The engine reported an error code in STATUS.

    Attributes
    ----------
    code : int
        ``ERROR`` field of STATUS (``zipml.spec.ERRORS``).
    name : str
        Its name, e.g. ``"ERR_BAD_LABEL"``.
    info : int
        ``ERROR_INFO`` (sample index within the epoch) for data errors.
    epoch : int
        Epochs completed before the error.
    """

    def __init__(self, code: int, info: int = 0, epoch: int = 0, where: str = "engine"):
        self.code, self.info, self.epoch = code, info, epoch
        self.name = spec.ERROR_NAMES.get(code, f"unknown error code {code}")
        doc = next((e.doc for e in spec.ERRORS if e.code == code), "")
        msg = f"{where}: STATUS.ERROR = {code} ({self.name}: {doc})"
        if code >= spec.FIRST_DATA_ERROR and code != spec.ERR["ERR_ABORTED"]:
            msg += f" at sample {info} of epoch {epoch}"
        super().__init__(msg)


@dataclass(frozen=True)
class EngineConfig:
    """Parameters of one engine run (sampled at START).

    Parameters
    ----------
    bits : int
        Precision of the engine and of the stream: 0 (float32), 1, 2, 4 or 8.
    num_samples, num_features, num_epochs : int
        ``n``, ``d`` (bias column included) and ``E``.
    loss : str
        ``"svm"`` (squared hinge), ``"linreg"`` or ``"logreg"``.
    step_size, step_decay : float
        ``gamma_0`` and the per-epoch factor (float32).
    cost_pos, cost_neg : float
        L2-SVM costs of positive and negative samples.
    reg_shift : int
        0 (off) or 1..31: the update subtracts ``x >>> reg_shift``.
    signed : bool
        Quantized codes stand for [-1, 1] (True) or [0, 1] (False) data.
    binarize : bool
        Map labels equal to ``binarize_value`` to +1 and all others to -1.
    binarize_value : float
    delay : int
        Minimum update delay in samples (the 2017 mini-batch knob), >= 1.
    keep_model : bool
        Start from the model left in the engine instead of zero.
    double_sampling : bool
        Each sample carries two quantized copies (Qb only).
    chunk_samples : int
        Samples per DMA transfer, 0 = one transfer per epoch.
    """

    bits: int
    num_samples: int
    num_features: int
    num_epochs: int = 1
    loss: str = "svm"
    step_size: float = 0.01
    step_decay: float = 1.0
    cost_pos: float = 1.0
    cost_neg: float = 1.0
    reg_shift: int = 0
    signed: bool = False
    binarize: bool = False
    binarize_value: float = 0.0
    delay: int = 1
    keep_model: bool = False
    double_sampling: bool = False
    chunk_samples: int = 0

    # ---------------------------------------------------------------- derived
    @property
    def words_per_sample(self) -> int:
        return spec.words_per_sample(self.bits, self.num_features, self.double_sampling)

    @property
    def epoch_words(self) -> int:
        return self.num_samples * self.words_per_sample

    @property
    def staleness(self) -> int:
        return spec.staleness(self.bits, self.num_features, self.delay, self.double_sampling)

    def with_(self, **kw) -> "EngineConfig":
        return replace(self, **kw)

    # ---------------------------------------------------------------- registers
    def mode_word(self) -> int:
        if self.loss not in spec.LOSSES:
            raise ValueError(f"loss must be one of {sorted(spec.LOSSES)}, got {self.loss!r}")
        return (spec.field("MODE", "LOSS", spec.LOSSES[self.loss])
                | spec.field("MODE", "SIGNED", int(self.signed))
                | spec.field("MODE", "BINARIZE", int(self.binarize))
                | spec.field("MODE", "KEEP_MODEL", int(self.keep_model))
                | spec.field("MODE", "DOUBLE_SAMPLING", int(self.double_sampling)))

    def registers(self) -> dict[str, int]:
        """Register name -> 32-bit value, in the order the driver writes them."""
        return {
            "MODE": self.mode_word(),
            "NUM_SAMPLES": self.num_samples & 0xFFFFFFFF,
            "NUM_FEATURES": self.num_features & 0xFFFFFFFF,
            "NUM_EPOCHS": self.num_epochs & 0xFFFFFFFF,
            "STEP_SIZE": f32_bits(self.step_size),
            "STEP_DECAY": f32_bits(self.step_decay),
            "COST_POS": f32_bits(self.cost_pos),
            "COST_NEG": f32_bits(self.cost_neg),
            "REG_SHIFT": self.reg_shift & 0xFFFFFFFF,
            "BINARIZE_VALUE": f32_bits(self.binarize_value),
            "DELAY": self.delay & 0xFFFFFFFF,
            "CHUNK_SAMPLES": self.chunk_samples & 0xFFFFFFFF,
        }

    # ---------------------------------------------------------------- validation
    def config_error(self, max_dim: int, fifo_words: int) -> int:
        """The configuration error code the engine reports at START (0 = valid).

        Same checks, same precedence as ``docs/ENGINE.md`` section 7.4.
        """
        E = spec.ERR
        if self.loss not in spec.LOSSES or (self.double_sampling and self.bits == 0):
            return E["ERR_BAD_MODE"]
        if self.num_samples == 0:
            return E["ERR_ZERO_SAMPLES"]
        if self.num_features == 0 or self.num_features > max_dim:
            return E["ERR_BAD_DIM"]
        if self.num_epochs == 0:
            return E["ERR_ZERO_EPOCHS"]
        for v in (self.step_size, self.step_decay, self.cost_pos, self.cost_neg,
                  self.binarize_value):
            if not math.isfinite(bits_f32(f32_bits(v))):
                return E["ERR_BAD_FLOAT_PARAM"]
        if self.delay == 0 or spec.fifo_words_needed(
                self.bits, self.num_features, self.delay, self.double_sampling) > fifo_words:
            return E["ERR_BAD_DELAY"]
        if self.reg_shift > 31:
            return E["ERR_BAD_REG_SHIFT"]
        return 0

    def validate(self, max_dim: int = spec.DEFAULT_MAX_DIM, fifo_words: int | None = None):
        """Raise ``ValueError`` naming the bad parameter before any work starts."""
        spec.check_bits(self.bits)
        for name in ("num_samples", "num_features", "num_epochs", "reg_shift", "delay",
                     "chunk_samples"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 0 or v > 0xFFFFFFFF:
                raise ValueError(f"{name} must be an integer in [0, 2^32), got {v!r}")
        if fifo_words is None:
            fifo_words = spec.default_fifo_words(self.bits, max_dim)
        code = self.config_error(max_dim, fifo_words)
        if code:
            detail = {
                "ERR_BAD_MODE": f"loss={self.loss!r}, double_sampling={self.double_sampling} "
                                f"with bits={self.bits}",
                "ERR_ZERO_SAMPLES": "num_samples=0",
                "ERR_BAD_DIM": f"num_features={self.num_features} (engine maximum {max_dim})",
                "ERR_ZERO_EPOCHS": "num_epochs=0",
                "ERR_BAD_FLOAT_PARAM": f"step_size={self.step_size}, step_decay="
                                       f"{self.step_decay}, cost_pos={self.cost_pos}, cost_neg="
                                       f"{self.cost_neg}, binarize_value={self.binarize_value}",
                "ERR_BAD_DELAY": f"delay={self.delay} needs "
                                 f"{spec.fifo_words_needed(self.bits, self.num_features, max(self.delay, 1), self.double_sampling)}"
                                 f" FIFO words, the engine has {fifo_words}",
                "ERR_BAD_REG_SHIFT": f"reg_shift={self.reg_shift} (0..31)",
            }[spec.ERROR_NAMES[code]]
            raise ValueError(f"invalid engine configuration: {spec.ERROR_NAMES[code]}: {detail}")
        if self.step_size <= 0 or not math.isfinite(self.step_size):
            raise ValueError(f"step_size must be positive and finite, got {self.step_size}")
        return self


@dataclass
class EngineResult:
    """What a run of the engine produced.

    Attributes
    ----------
    models : ndarray of int32, shape (epochs_done, d)
        Q8.23 model after every completed epoch (row e = after epoch e).
    error, error_info : int
        STATUS.ERROR and ERROR_INFO (0 when the run succeeded).
    sat : bool
        STATUS.SAT.
    staleness : int
        S_d used by the run.
    samples : int
        SAMPLE_COUNT at the end of the run.
    cycles, words : int or None
        CYCLES and WORDS counters (hardware and simulation only).
    loss_sum : ndarray of float64, shape (epochs_done,), or None
        Progressive training loss of every completed epoch: the sum over the epoch's samples
        of each sample's loss at the margin the engine computed for it (ENGINE.md section 11).
        The C engine only (the RTL has no such counter): None from the other backends.
    """

    models: np.ndarray
    error: int = 0
    error_info: int = 0
    sat: bool = False
    staleness: int = 0
    samples: int = 0
    cycles: int | None = None
    words: int | None = None
    loss_sum: np.ndarray | None = None
    extra: dict = dc_field(default_factory=dict)

    @property
    def epochs_done(self) -> int:
        return int(self.models.shape[0])

    def raise_for_error(self, where: str = "engine") -> "EngineResult":
        if self.error:
            raise EngineError(self.error, self.error_info, self.epochs_done, where)
        return self

    def models_float(self) -> np.ndarray:
        """The models as float64, shape (d, epochs) like the 2017 API returned them."""
        return (self.models.astype(np.float64) * 2.0 ** -spec.MODEL_FRAC_BITS).T
