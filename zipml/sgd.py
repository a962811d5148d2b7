"""``ZipML_SGD``: the 2017 ZipML-PYNQ training API on any backend (CPU engine, RTL, FPGA).

The method names, arguments and return shapes are those of the 2017 class, so its notebooks and
scripts keep working::

    Z = ZipML_SGD(backend="auto")            # the board when there is one, else the C engine
    Z.load_libsvm_data("mnist", 10000, 780)  # adds the bias column 0 (value 1)
    Z.a_normalize(to_min1_1=0, row_or_column="r")
    Z.a_quantize(quantization_bits=4)        # optional: Q4 instead of float32
    xs = np.zeros((Z.num_features, 10))
    for c in range(10):
        Z.b_binarize(c)
        x_history = Z.L2SVM_SGD(10, 1 / 2**12, 1.0, 1.5, 0, 1)   # (features, epochs)
        xs[:, c] = x_history[:, -1]
    matches = Z.multi_classification(xs, list(range(10)))

What changed since 2017
-----------------------
* The training methods (``L2SVM_SGD``, ``LINREG_SGD``, ``LOGREG_SGD``, ``SGD_FPGA``) all run the
  engine of ``docs/ENGINE.md`` on the chosen backend; in 2017 the first two were numpy loops on
  the board's CPU and only ``SGD_FPGA`` used the FPGA. Off the board ``configure_SGD_FPGA`` /
  ``SGD_FPGA`` run on the CPU engine instead of raising. Results are bit-identical across
  backends.
* The engine's semantics are the specification's: Q8.23 model, float32 scalar stage, delayed
  updates (section 6), regularisation applied to every sample as an arithmetic right shift.
* ``regularize`` is still the 2017 lambda (a float >= 0). The engine implements L2
  regularisation as ``x -= x >>> r`` per sample, i.e. ``step_size * lambda = 2^-r``. The method
  maps ``lambda`` to ``r = round(log2(1 / (step_size * lambda)))`` clamped to 1..31 (0 = off for
  ``lambda = 0``) and warns (``UserWarning``) when ``2^-r`` differs from ``step_size * lambda`` by
  more than 1 % or when ``r`` was clamped; :func:`regularize_to_shift` gives the mapping. Choose
  ``lambda = 2^-r / step_size`` for an exact mapping.
* Data are packed into the DMA stream layout once and the buffer is reused for every epoch and
  for every class of a one-vs-rest run: the engine binarises the labels on chip (``MODE.BINARIZE``
  with ``BINARIZE_VALUE``), as the 2017 FPGA did.
* ``a_quantize`` also takes ``rounding="stochastic"``, ``seed``, ``redraw`` (a new stochastic
  quantization every epoch) and ``double_sampling`` (ZipML, ICML 2017).
* The packed buffer is rebuilt only when the data, the labels or the precision change through
  these methods; after editing ``a`` or ``b`` in place, call :meth:`ZipML_SGD.set_data` (or
  ``a_quantize`` again) so that the next run packs them anew.
* ``load_libsvm_data`` keeps the precision chosen by the constructor or ``a_quantize`` (the 2017
  class reset it to float32); the float data stay in ``self.a`` and are what the loss and
  classification functions use.

Losses are computed in float64 numpy on the float data ``self.a`` with the 2017 definitions:
L2-SVM and logistic losses are sums over the samples, the least-squares loss is a mean (divided
by ``2 n``), each plus ``regularize / 2 * ||x||^2``.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from . import spec
from .config import EngineConfig

__all__ = ["ZipML_SGD", "regularize_to_shift"]


# --------------------------------------------------------------------------- helpers
def regularize_to_shift(step_size: float, regularize: float) -> tuple[int, float, bool]:
    """Map the 2017 lambda to the engine's ``REG_SHIFT``.

    Parameters
    ----------
    step_size : float
        ``gamma_0`` (> 0).
    regularize : float
        ``lambda`` (>= 0). 0 turns regularisation off.

    Returns
    -------
    shift : int
        ``r`` in 1..31, or 0 for ``lambda = 0``.
    effective : float
        The lambda the engine applies: ``2^-r / step_size`` (0 when off).
    exact : bool
        True when ``r`` was not clamped and ``effective`` is within 1 % of ``regularize``.
    """
    _check_positive("step_size", step_size)
    if not isinstance(regularize, numbers.Real) or not math.isfinite(regularize) \
            or regularize < 0:
        raise ValueError(f"regularize must be a finite number >= 0, got {regularize!r}")
    if regularize == 0:
        return 0, 0.0, True
    prod = float(step_size) * float(regularize)
    r_real = math.log2(1.0 / prod)
    r = int(round(r_real))
    clamped = min(max(r, 1), 31)
    effective = 2.0 ** -clamped / float(step_size)
    exact = clamped == r and abs(effective - regularize) <= 0.01 * regularize
    return clamped, effective, exact


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def _check_epochs(num_epochs):
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, numbers.Integral) \
            or num_epochs <= 0:
        raise ValueError(f"num_epochs must be a positive integer, got {num_epochs!r}")
    return int(num_epochs)


def _check_finite(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _flag(value) -> bool:
    """2017 flags were 0/1 integers; accept those and booleans."""
    return bool(value)


class ZipML_SGD:
    """Train linear models by SGD on the ZipML engine.

    Parameters
    ----------
    bits : {0, 1, 2, 4, 8}
        Precision of the data the engine gets: 0 = float32 ("Q0"), else quantized to ``bits``
        bits per value. :meth:`a_quantize` changes it.
    backend : {"auto", "cpu", "sim", "pynq"}
        Where the engine runs (see :mod:`zipml.backends`). ``"auto"``: the board when pynq finds
        one, else the CPU engine.
    rounding : {"nearest", "stochastic"}
        How data are quantized when ``bits > 0`` and :meth:`a_quantize` was not called.
    seed : int or None
        Seed of stochastic rounding.
    delay : int
        Minimum update delay (the engine's ``DELAY``, the 2017 mini-batch knob), >= 1.
    step_decay : float
        Factor applied to the step size after every epoch (1.0 = constant).
    on_pynq : {0, 1} or None
        2017 constructor argument: 1 means ``backend="pynq"``, 0 means ``backend="cpu"``.
    bitstreams_path, ctrl_base, dma_base, dma_buffer_size
        2017 constructor arguments, accepted and ignored (``DeprecationWarning``).
    **backend_kw
        Passed to :func:`zipml.backends.get_backend` (e.g. ``max_dim``).

    Attributes
    ----------
    a : ndarray of float32, shape (num_samples, num_features)
        The data; column 0 is the bias (value 1).
    b : ndarray of float64, shape (num_samples,)
        The labels.
    binarized_b : ndarray of float64 or None
        +1 where ``b == value`` of the last :meth:`b_binarize`, else -1.
    num_samples, num_features : int
        ``n`` and ``d`` (bias included).
    quantization_bits : int
        The current precision.
    last_result : zipml.config.EngineResult or None
        What the last engine run returned (models, counters, staleness).
    bytes_per_epoch : int
        Bytes of the stream the engine reads per epoch in the last run.
    """

    def __init__(self, bits: int = 0, backend: str = "auto", *, rounding: str = "nearest",
                 seed=None, delay: int = 1, step_decay: float = 1.0, on_pynq=None,
                 bitstreams_path=None, ctrl_base=None, dma_base=None, dma_buffer_size=None,
                 **backend_kw):
        spec.check_bits(bits)
        if on_pynq is not None:
            # 2017: on_pynq=0 is the CPU, on_pynq=1 the board (checked now, as the 2017 class
            # loaded the overlay here); bitstreams_path is where the board's bitstreams are.
            backend = "pynq" if on_pynq else "cpu"
            if on_pynq:
                from .hw.board import BoardNotFound, board_available
                if not board_available(refresh=True):
                    raise BoardNotFound(
                        "ZipML_SGD(on_pynq=1): no PYNQ board here (pynq finds no FPGA "
                        "device). Pass on_pynq=0 to train on the CPU engine (bit-identical "
                        "to the FPGA), or backend='sim' for the RTL in simulation")
                if bitstreams_path is not None:
                    backend_kw.setdefault("bitstream_dir", bitstreams_path)
        legacy = {k: v for k, v in (("ctrl_base", ctrl_base), ("dma_base", dma_base),
                                    ("dma_buffer_size", dma_buffer_size)) if v is not None}
        if bitstreams_path is not None and not on_pynq:
            legacy["bitstreams_path"] = bitstreams_path
        if legacy:
            warnings.warn(f"ZipML_SGD: the 2017 arguments {', '.join(sorted(legacy))} are "
                          f"ignored: the overlay's .hwh gives the addresses and buffers are "
                          f"allocated per run", DeprecationWarning, stacklevel=2)
        from .backends import BACKEND_NAMES
        if backend not in BACKEND_NAMES:
            raise ValueError(f"backend must be one of {BACKEND_NAMES}, got {backend!r}")
        if rounding not in ("nearest", "stochastic"):
            raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {rounding!r}")
        if isinstance(delay, bool) or not isinstance(delay, numbers.Integral) or delay < 1:
            raise ValueError(f"delay must be an integer >= 1, got {delay!r}")
        self.step_decay = _check_finite("step_decay", step_decay)
        self.backend_name = backend
        self._backend_kw = backend_kw
        self._backends: dict[int, object] = {}
        self.quantization_bits = bits
        self.rounding = rounding
        self.seed = seed
        self.redraw = False
        self.double_sampling = False
        self.delay = int(delay)
        self.a = None
        self.b = None
        self.binarized_b = None
        self.binarize_value = None
        self.num_samples = 0
        self.num_features = 0
        self.a_to_min1_1 = None   # None: a_normalize not called; the sign is inferred
        self.a_normalization = None
        self.b_normalization = None
        self.last_result = None
        self.bytes_per_epoch = 0
        self._signed_cache = None
        self._stream = None       # packed epoch buffer, reused across epochs and classes
        self._stream_key = None
        self._fpga_cfg = None

    # ------------------------------------------------------------------ backend
    def backend(self, bits: int | None = None):
        """The backend object for precision ``bits`` (default: the current one); cached."""
        from .backends import get_backend
        bits = self.quantization_bits if bits is None else bits
        if bits not in self._backends:
            self._backends[bits] = get_backend(self.backend_name, bits=bits,
                                               **self._backend_kw)
        return self._backends[bits]

    # ------------------------------------------------------------------ data
    def load_libsvm_data(self, path_to_file, num_samples, num_features):
        """Read ``num_samples`` lines of a libsvm file with feature indices 1..num_features
        (or 0..num_features-1: 0-based files, such as the 2017 transfer-learning tool's, are
        detected as in scikit-learn's ``zero_based="auto"``). A file with fewer than
        ``num_samples`` samples is an error.

        Sets ``a`` (bias in column 0, feature ``j`` in column ``j``), ``b``,
        ``num_samples`` and ``num_features = num_features + 1``. ``num_samples=None`` reads
        every line.
        """
        from . import data
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(
                num_samples, numbers.Integral) or num_samples <= 0):
            raise ValueError(f"num_samples must be a positive integer or None, "
                             f"got {num_samples!r}")
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral) \
                or num_features <= 0:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        A, y = data.load_libsvm(path_to_file, int(num_features), num_samples=num_samples,
                                zero_based="auto", bias=True)   # bias filled in place
        if A.shape[0] == 0:
            raise ValueError(f"{path_to_file}: no samples (empty, or blank and comment lines "
                             f"only)")
        if num_samples is not None and A.shape[0] < num_samples:
            # 2017 raised here too (it read num_samples lines): never train on fewer silently
            raise ValueError(f"{path_to_file}: {num_samples} samples requested, the file has "
                             f"only {A.shape[0]} (pass num_samples={A.shape[0]} or None)")
        self._set_biased(A, y)
        return self

    def set_data(self, X, y):
        """Use arrays instead of a file: ``X`` (n, features) without bias, ``y`` (n,)."""
        X = np.asarray(X)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (samples, features), got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if X.shape[0] == 0:
            raise ValueError("no samples")
        from . import prep
        try:      # one C pass over X: NaN, infinities, float64 beyond float32
            prep.minmax(X, "c")
        except prep.PrepError as e:
            if e.kind == "nonfinite":
                raise ValueError(f"X contains {e.value} at sample {e.row}, feature "
                                 f"{e.col}") from None
            raise ValueError(str(e)) from None
        bad = ~np.isfinite(y)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"y contains {y[i]} at sample {i}")
        a = np.empty((X.shape[0], X.shape[1] + 1), dtype=np.float32)
        a[:, 0] = 1.0                   # the bias column
        a[:, 1:] = X                    # one converting copy, no temporaries
        return self._set_biased(a, y)

    def _set_biased(self, a, y):
        """Take ``a`` (float32, bias column first, checked) and ``y`` as the data."""
        y = np.asarray(y, dtype=np.float64)
        self.a = a
        self.b = y.copy()
        self.num_samples, self.num_features = self.a.shape
        self.binarized_b = None
        self.binarize_value = None
        self.a_to_min1_1 = None
        self.a_normalization = None
        self.b_normalization = None
        self._invalidate_codes()
        return self

    def _invalidate_codes(self):
        self._signed_cache = None
        self._stream = None
        self._stream_key = None

    def _need_data(self):
        if self.b is None:
            raise RuntimeError("no data: call load_libsvm_data(path, num_samples, "
                               "num_features) (or set_data(X, y)) first")

    def _need_float_data(self, what):
        self._need_data()
        if self.a is None:
            raise RuntimeError(f"{what} needs the float data a; this object holds a packed "
                               f"stream only (set_packed): call set_data(X, y) instead")

    def set_packed(self, stream, y, num_features, *, bits, signed, double_sampling=False):
        """Use a stream packed elsewhere (e.g. by :func:`zipml.prep.pack_samples`) instead of
        float data: ``stream`` holds ``len(y)`` samples of ``num_features`` values (bias
        included) at precision ``bits``, ``y`` their labels (float64, as in the label words).
        The float data ``a`` is then None: losses and accuracy use the packed values."""
        from . import pack
        spec.check_bits(bits)
        y = np.asarray(y, dtype=np.float64)
        n, d = int(y.shape[0]), int(num_features)
        words = pack.stream_words(bits, n, d, double_sampling=bool(double_sampling))
        stream = np.asarray(stream)
        if stream.dtype != np.uint64 or stream.shape != (words,):
            raise ValueError(f"stream must be uint64 of shape ({words},) for {n} samples of "
                             f"{d} values at bits={bits}, got {stream.dtype} {stream.shape}")
        self.a = None
        self.b = y
        self.num_samples, self.num_features = n, d
        self.binarized_b = None
        self.binarize_value = None
        self.a_to_min1_1 = bool(signed)
        self.a_normalization = None
        self.b_normalization = None
        self.quantization_bits = int(bits)
        self.redraw = False
        self.double_sampling = bool(double_sampling)
        self._invalidate_codes()
        self._stream, self._stream_key = stream, (int(bits), None)
        return self

    def a_normalize(self, to_min1_1, row_or_column):
        """Scale the features (not the bias) per row ``'r'`` or column ``'c'`` to [0, 1], or
        to [-1, 1] when ``to_min1_1`` is true.

        A constant row or column (all values equal, e.g. an all-zero pixel column) is mapped
        to the **low end** of the range: 0, or -1 with ``to_min1_1`` (see
        :func:`zipml.data.normalize`). Deliberately not "left unchanged" as the 2017 docstring
        said: an unchanged constant (say 255) would lie outside the range the engine's
        quantizer and fixed-point model assume."""
        from . import data, prep
        self._need_float_data("a_normalize")
        if row_or_column not in ("r", "c"):
            raise ValueError(f"row_or_column must be 'r' or 'c', got {row_or_column!r}")
        m11 = _flag(to_min1_1)
        feats = self.a[:, 1:]
        # in place, one C pass after the statistics (zipml.data.normalize's arithmetic)
        lo, hi = prep.minmax(feats, row_or_column, name="a")
        stats = data.NormStats(row_or_column, lo, hi, m11)
        prep.normalize_rows(feats, prep.Norm(row_or_column, lo, hi, m11, add_bias=False,
                                             in_range=True, checked=True),
                            out=feats, name="a")
        self.a_to_min1_1 = m11
        self.a_normalization = stats
        self._invalidate_codes()

    def b_normalize(self, to_min1_1):
        """Scale the labels to [0, 1], or to [-1, 1] when ``to_min1_1`` is true."""
        from . import data
        self._need_data()
        self.b, self.b_normalization = data.normalize_labels(self.b, to_min1_1=_flag(to_min1_1))
        self.b = np.asarray(self.b, dtype=np.float64)
        self.binarized_b = None
        self.binarize_value = None      # the labels changed: b_binarize(value) again
        self._stream = None
        self._stream_key = None

    def b_binarize(self, value):
        """One-vs-rest labels: ``binarized_b`` is +1 where ``b == value``, else -1.

        The packed stream keeps the raw labels; the engine binarises on chip with this value
        when a training method is called with ``use_binarized=1``.
        """
        from . import data
        self._need_data()
        value = _check_finite("value", value)
        self.binarized_b = np.asarray(data.binarize_labels(self.b, value), dtype=np.float64)
        self.binarize_value = value
        hits = int(np.count_nonzero(self.binarized_b > 0))
        if hits in (0, self.num_samples):
            vals = np.unique(self.b)
            shown = ", ".join(f"{v:g}" for v in vals[:6]) + (", ..." if len(vals) > 6 else "")
            warnings.warn(f"b_binarize({value:g}): {'no' if hits == 0 else 'every'} label "
                          f"equals {value:g}, so every binarised label is "
                          f"{'-1' if hits == 0 else '+1'} (labels: {shown})", UserWarning,
                          stacklevel=2)

    def a_quantize(self, quantization_bits, rounding=None, seed=None, *, redraw=False,
                   double_sampling=False):
        """Quantize the data to ``quantization_bits`` (1, 2, 4 or 8; 0 goes back to float32).

        Parameters
        ----------
        quantization_bits : int
        rounding : {"nearest", "stochastic"} or None
            None keeps the constructor's choice.
        seed : int or None
            Seed of stochastic rounding (None keeps the constructor's).
        redraw : bool
            Stochastic rounding only: draw a new quantization for every epoch.
        double_sampling : bool
            Stochastic rounding only: two independent quantizations per sample, one for the
            dot product, one for the update (unbiased least-squares gradient).

        The data must be in [0, 1] or, after ``a_normalize(to_min1_1=1, ...)``, in [-1, 1]:
        call :meth:`a_normalize` first. ``self.a`` keeps the float data.
        """
        spec.check_bits(quantization_bits)
        rounding = self.rounding if rounding is None else rounding
        if rounding not in ("nearest", "stochastic"):
            raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {rounding!r}")
        if (redraw or double_sampling) and rounding != "stochastic":
            raise ValueError("redraw and double_sampling need rounding='stochastic'")
        if double_sampling and quantization_bits == 0:
            raise ValueError("double_sampling needs quantized data (bits 1, 2, 4 or 8)")
        state = (self.quantization_bits, self.rounding, self.seed, self.redraw,
                 self.double_sampling)
        self.quantization_bits = int(quantization_bits)
        self.rounding = rounding
        if seed is not None:
            self.seed = seed
        self.redraw = bool(redraw)
        self.double_sampling = bool(double_sampling)
        self._invalidate_codes()
        if self.a is None and self.b is not None:
            (self.quantization_bits, self.rounding, self.seed, self.redraw,
             self.double_sampling) = state
            raise RuntimeError("a_quantize needs the float data a; this object holds a packed "
                               "stream only (set_packed)")
        if self.a is not None:
            try:
                self._check_range()
            except Exception:       # bad data: leave the object as it was
                (self.quantization_bits, self.rounding, self.seed, self.redraw,
                 self.double_sampling) = state
                self._invalidate_codes()
                raise

    # ------------------------------------------------------------------ quantization / packing
    def _signed(self) -> bool:
        """MODE.SIGNED: from a_normalize, else inferred (negative data -> [-1, 1])."""
        if self.a_to_min1_1 is not None:
            return self.a_to_min1_1
        if self._signed_cache is None:
            self._signed_cache = bool(self.a[:, 1:].size and self.a[:, 1:].min() < 0)
        return self._signed_cache

    def _check_range(self):
        """The data must fit the precision: [0,1] / [-1,1] for Qb, Q8.23 for Q0."""
        from . import prep
        a = self.a
        lo_a, hi_a = prep.minmax(a, "c", name="a")    # one C pass; numpy only to locate
        if self.quantization_bits == 0:
            lim = 2.0 ** (31 - spec.MODEL_FRAC_BITS)
            if lo_a.min() > -lim and hi_a.max() < lim:
                return
            bad = np.abs(a) >= lim
            what = f"outside the Q8.23 range (-{lim:g}, {lim:g})"
        else:
            lo = -1.0 if self._signed() else 0.0
            if lo_a.min() >= lo and hi_a.max() <= 1.0:
                return
            bad = (a < lo) | (a > 1.0)
            what = f"outside [{lo:g}, 1] (the range of {self.quantization_bits}-bit levels)"
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"data value {float(a[i, j])!r} at sample {i}, feature column {j} is "
                             f"{what}: call a_normalize(to_min1_1, 'r'|'c') first")

    def _pack_into(self, out, seed):
        """Quantize (seeded) and pack ``a`` into ``out`` in one C pass (zipml.prep)."""
        from . import prep
        try:
            prep.pack_samples(self.a, self.b, self.quantization_bits,
                              norm=prep.Norm("none", add_bias=False, checked=True),
                              signed=self._signed(), rounding=self.rounding, seed=seed,
                              double_sampling=self.double_sampling, out=out, name="a",
                              want_sumsq=False)      # a was checked by _check_range
        except prep.PrepError as e:
            if e.kind == "label":
                raise ValueError(f"label {self.b[e.row]!r} of sample {e.row} does not fit "
                                 f"float32") from None
            raise

    def _build_stream(self, num_epochs: int) -> np.ndarray:
        """The DMA buffer(s): 1-D (one epoch, reused) or 2-D (a new draw per epoch)."""
        from . import pack
        bits = self.quantization_bits
        key = (bits, num_epochs if self.redraw else None)
        if self._stream is not None and self._stream_key == key:
            return self._stream          # data, labels and precision unchanged since packing
        self._need_float_data("packing")
        self._check_range()
        n, d = self.a.shape
        words = pack.stream_words(bits, n, d, double_sampling=self.double_sampling)
        if not self.redraw:
            stream = np.empty(words, dtype=np.uint64)
            self._pack_into(stream, self.seed)
        else:
            stream = np.empty((num_epochs, words), dtype=np.uint64)
            seeds = np.random.SeedSequence(self.seed).generate_state(num_epochs)
            for e in range(num_epochs):
                self._pack_into(stream[e], int(seeds[e]))
        self._stream, self._stream_key = stream, key
        return stream

    # ------------------------------------------------------------------ engine runs
    def _labels_for(self, loss: str, use_binarized) -> np.ndarray:
        if loss == "linreg":
            return self.b
        if _flag(use_binarized):
            if self.binarize_value is None or self.binarized_b is None:
                raise ValueError("use_binarized=1 but b_binarize(value) was not called since "
                                 "the labels were last set or changed (set_data, "
                                 "load_libsvm_data, b_normalize)")
            return self.binarized_b
        bad = (self.b != 1.0) & (self.b != -1.0)
        if bad.any():
            vals = np.unique(self.b[bad])
            shown = ", ".join(repr(float(v)) for v in vals[:5])
            more = f" and {len(vals) - 5} more" if len(vals) > 5 else ""
            raise ValueError(f"{loss} needs labels +1/-1 with use_binarized=0, found "
                             f"{shown}{more} (first at sample {int(np.flatnonzero(bad)[0])}): "
                             f"call b_binarize(value) and use_binarized=1")
        return self.b

    def _engine_setup(self, loss, num_epochs, step_size, cost_pos=1.0, cost_neg=1.0,
                      regularize=0.0, use_binarized=0, binarize_value=None, stacklevel=4):
        """Check the parameters, pack the stream if needed: (backend, EngineConfig, stream)."""
        self._need_data()
        num_epochs = _check_epochs(num_epochs)
        _check_positive("step_size", step_size)
        cost_pos = _check_finite("cost_pos", cost_pos)
        cost_neg = _check_finite("cost_neg", cost_neg)
        shift, effective, exact = regularize_to_shift(step_size, regularize)
        if not exact:
            warnings.warn(f"regularize={regularize!r} with step_size={step_size!r} maps to "
                          f"REG_SHIFT={shift}, i.e. lambda={effective:.6g} "
                          f"(step_size*lambda must be 2^-r, r in 1..31)", UserWarning,
                          stacklevel=stacklevel)
        binarize = loss != "linreg" and _flag(use_binarized)
        self._labels_for(loss, use_binarized)          # label check before any work
        if binarize_value is None:
            binarize_value = self.binarize_value if binarize else 0.0
        backend = self.backend()
        if self.num_features > backend.max_dim:
            raise ValueError(f"{self.num_features} features (bias included) exceed the "
                             f"engine's maximum dimension {backend.max_dim}")
        stream = self._build_stream(num_epochs)
        cfg = EngineConfig(
            bits=self.quantization_bits, num_samples=self.num_samples,
            num_features=self.num_features, num_epochs=num_epochs, loss=loss,
            step_size=float(step_size), step_decay=self.step_decay, cost_pos=cost_pos,
            cost_neg=cost_neg, reg_shift=shift, signed=self._signed(), binarize=binarize,
            binarize_value=float(binarize_value), delay=self.delay,
            double_sampling=self.double_sampling and self.quantization_bits > 0)
        cfg.validate(max_dim=backend.max_dim, fifo_words=backend.fifo_words)
        return backend, cfg, stream

    def _run(self, loss, num_epochs, step_size, cost_pos=1.0, cost_neg=1.0, regularize=0.0,
             use_binarized=0, binarize_value=None, callback=None):
        backend, cfg, stream = self._engine_setup(loss, num_epochs, step_size, cost_pos,
                                                  cost_neg, regularize, use_binarized,
                                                  binarize_value)
        self.bytes_per_epoch = cfg.epoch_words * 8
        where = f"{backend.name} engine"
        if callback is None:
            result = backend.run(cfg, stream)
            self.last_result = result
            result.raise_for_error(where=where)
        else:
            result = self._run_epochwise(backend, cfg, stream, callback, where)
        if result.sat:
            warnings.warn("the engine saturated (STATUS.SAT): a model value or step left the "
                          "Q8.23 range [-256, 256); lower step_size or normalise the data",
                          RuntimeWarning, stacklevel=3)
        return result.models_float()

    def _run_epochwise(self, backend, cfg, stream, callback, where):
        """One engine run per epoch, chained through KEEP_MODEL; the host applies the step
        decay (float32 product, flushed to zero below 2^-126 like the engine's fmul), so the
        models equal those of a single run of ``cfg.num_epochs`` epochs."""
        from .config import EngineResult
        models, init, sat, samples, staleness = [], None, False, 0, 0
        losses = []
        gamma = np.float32(cfg.step_size)
        decay = np.float32(cfg.step_decay)
        for e in range(cfg.num_epochs):
            cfg_e = cfg.with_(num_epochs=1, step_size=float(gamma), keep_model=e > 0)
            s = stream[e] if stream.ndim == 2 else stream
            r = backend.run(cfg_e, s, model_init=init)
            sat |= bool(r.sat)
            samples += int(r.samples)
            staleness = r.staleness
            if r.error:
                r.models = np.asarray(models, dtype=np.int32).reshape(-1, cfg.num_features)
                self.last_result = r
                r.raise_for_error(where=where)
            init = np.asarray(r.models[-1], dtype=np.int32)
            models.append(init)
            losses.append(None if r.loss_sum is None else float(r.loss_sum[-1]))
            callback(e, init.astype(np.float64) * 2.0 ** -spec.MODEL_FRAC_BITS)
            with np.errstate(under="ignore", over="ignore"):
                gamma = np.float32(gamma * decay)
            if 0 < abs(float(gamma)) < 2.0 ** -126:
                gamma = np.float32(0.0) * np.sign(gamma)
        result = EngineResult(models=np.asarray(models, dtype=np.int32), sat=sat,
                              staleness=staleness, samples=samples,
                              loss_sum=None if None in losses else np.asarray(losses))
        self.last_result = result
        return result

    def L2SVM_SGD(self, num_epochs, step_size, cost_pos, cost_neg, regularize, use_binarized,
                  *, callback=None):
        """Train an L2-SVM (squared hinge); returns the model after every epoch,
        float64 (num_features, num_epochs).

        ``callback(epoch, model)`` (keyword-only, not in the 2017 API), when given, is called
        after every epoch with the float64 model (the run is then one engine run per epoch,
        with identical results).
        """
        return self._run("svm", num_epochs, step_size, cost_pos, cost_neg, regularize,
                         use_binarized, callback=callback)

    def LINREG_SGD(self, num_epochs, step_size, regularize, *, callback=None):
        """Train least squares on the labels ``b``; returns (num_features, num_epochs)."""
        return self._run("linreg", num_epochs, step_size, regularize=regularize,
                         callback=callback)

    def LOGREG_SGD(self, num_epochs, step_size, regularize, use_binarized, *, callback=None):
        """Train logistic regression (labels +-1); returns (num_features, num_epochs)."""
        return self._run("logreg", num_epochs, step_size, regularize=regularize,
                         use_binarized=use_binarized, callback=callback)

    def configure_SGD_FPGA(self, num_epochs, step_size, cost_pos, cost_neg, b_binarize,
                           b_to_binarize, *, loss=None, regularize=0.0):
        """Store the parameters of the next :meth:`SGD_FPGA` run (2017 API).

        ``cost_pos = cost_neg = -1`` selects linear regression (the 2017 convention), any other
        costs the L2-SVM; ``loss=`` selects explicitly (``"svm"``, ``"linreg"``, ``"logreg"``).
        ``b_binarize`` (0/1) and ``b_to_binarize`` (the label value mapped to +1) drive the
        engine's on-chip binarisation. Nothing runs yet; parameters are checked now.
        """
        self._need_data()
        _check_epochs(num_epochs)
        _check_positive("step_size", step_size)
        if loss is None:
            loss = "linreg" if (cost_pos == -1 and cost_neg == -1) else "svm"
        if loss not in spec.LOSSES:
            raise ValueError(f"loss must be one of {sorted(spec.LOSSES)}, got {loss!r}")
        if loss == "linreg":
            cost_pos = cost_neg = 1.0
        b_to_binarize = _check_finite("b_to_binarize", b_to_binarize)
        if _flag(b_binarize) and loss != "linreg":
            self.b_binarize(b_to_binarize)
        regularize_to_shift(step_size, regularize)
        self._fpga_cfg = dict(loss=loss, step_size=step_size,
                              cost_pos=_check_finite("cost_pos", cost_pos),
                              cost_neg=_check_finite("cost_neg", cost_neg),
                              regularize=regularize, use_binarized=_flag(b_binarize),
                              binarize_value=b_to_binarize)

    def SGD_FPGA(self, num_epochs):
        """Run the configured training for ``num_epochs`` on the backend (the FPGA on a board,
        the CPU engine elsewhere); returns (num_features, num_epochs)."""
        if self._fpga_cfg is None:
            raise RuntimeError("call configure_SGD_FPGA(...) before SGD_FPGA(num_epochs)")
        c = self._fpga_cfg
        return self._run(c["loss"], num_epochs, c["step_size"], c["cost_pos"], c["cost_neg"],
                         c["regularize"], c["use_binarized"], c["binarize_value"])

    # ------------------------------------------------------------------ losses, accuracy
    def _check_model(self, x, name="x"):
        self._need_data()
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.num_features,):
            raise ValueError(f"{name} must have shape ({self.num_features},), got {x.shape}")
        return x

    def _dots_k(self, xs):
        """(n, k) dot products of the samples with the models ``xs`` (k, d), binary64 in C:
        of the float data ``a``, or of the packed values when only a stream is held."""
        from . import prep
        xs = np.atleast_2d(np.asarray(xs, dtype=np.float64))
        if self.a is not None:
            return prep.dot_rows(self.a, xs, prep.Norm("none", add_bias=False), name="a")
        stream = self._stream if self._stream.ndim == 1 else self._stream[-1]
        return prep.dot_stream(stream, self.num_samples, self.num_features,
                               self.quantization_bits, xs, signed=self._signed(),
                               double_sampling=self.double_sampling)[0]

    def _dots(self, x):
        return self._dots_k(x)[:, 0]

    def dot(self, xs):
        """``a @ xs``: the samples' dot products with a model ``xs`` (num_features,) or with
        models (num_features, k), in binary64, computed in C over the float32 data (no float64
        copy of ``a``); over the packed values when only a stream is held (set_packed).
        Not in the 2017 API."""
        self._need_data()
        xs = np.asarray(xs, dtype=np.float64)
        if xs.ndim not in (1, 2) or xs.shape[0] != self.num_features:
            raise ValueError(f"xs must have shape ({self.num_features},) or "
                             f"({self.num_features}, k), got {xs.shape}")
        z = self._dots_k(xs.T if xs.ndim == 2 else xs)
        return z[:, 0] if xs.ndim == 1 else z

    def calculate_L2SVM_loss(self, x, cost_pos, cost_neg, regularize, use_binarized):
        """``sum_i c_{y_i}/2 * max(0, 1 - y_i a_i.x)^2 + regularize/2 * ||x||^2`` (float64)."""
        x = self._check_model(x)
        y = self._labels_for("svm", use_binarized)
        m = np.maximum(0.0, 1.0 - y * self._dots(x))
        c = np.where(y > 0, float(cost_pos), float(cost_neg))
        return float(np.sum(0.5 * c * m * m) + 0.5 * float(regularize) * x @ x)

    def calculate_LINREG_loss(self, x, regularize):
        """``sum_i (a_i.x - b_i)^2 / (2 n) + regularize/2 * ||x||^2`` (float64)."""
        x = self._check_model(x)
        r = self._dots(x) - self.b
        return float(r @ r / (2 * self.num_samples) + 0.5 * float(regularize) * x @ x)

    def calculate_LOGREG_loss(self, x, regularize, use_binarized=1):
        """``sum_i log(1 + exp(-y_i a_i.x)) + regularize/2 * ||x||^2`` (float64)."""
        x = self._check_model(x)
        y = self._labels_for("logreg", use_binarized)
        return float(np.sum(np.logaddexp(0.0, -y * self._dots(x)))
                     + 0.5 * float(regularize) * x @ x)

    def binary_classification(self, x):
        """Number of samples whose sign of ``a_i.x`` matches the binarised labels (or the
        labels themselves when they are +-1 and b_binarize was not called).

        As in 2017, ``a_i.x > 0`` matches +1, ``a_i.x < 0`` matches -1, and a dot product of
        exactly 0 matches neither (it counts as a miss)."""
        x = self._check_model(x)
        y = self.binarized_b if self.binarized_b is not None else self._labels_for("svm", 0)
        pred = np.sign(self._dots(x))       # 0 at a dot product of 0: never equals +-1
        return int(np.sum(pred == y))

    def multi_classification(self, xs, classes):
        """Number of samples whose label equals ``classes[argmax_c a_i.xs[:, c]]``.

        ``xs`` is (num_features, len(classes)): one one-vs-rest model per column.
        """
        self._need_data()
        xs = np.asarray(xs, dtype=np.float64)
        classes = np.asarray(classes)
        if xs.ndim != 2 or xs.shape[0] != self.num_features or xs.shape[1] != classes.size:
            raise ValueError(f"xs must have shape ({self.num_features}, {classes.size}) "
                             f"(features x classes), got {xs.shape}")
        pred = classes[np.argmax(self._dots_k(xs.T), axis=1)]
        return int(np.sum(pred == self.b))
