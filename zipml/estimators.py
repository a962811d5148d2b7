"""scikit-learn estimators on the ZipML engine: ``ZipMLClassifier`` and ``ZipMLRegressor``.

Both train with :class:`zipml.sgd.ZipML_SGD` (one packed stream, reused by every epoch and by
every one-vs-rest class) on the chosen backend, and follow scikit-learn's conventions: the
constructor stores its arguments unchanged, ``fit`` validates them and learns attributes ending
in ``_``, ``predict``/``score``/``decision_function`` work on new data, and both estimators work
in ``Pipeline`` and ``GridSearchCV``.

Feature normalisation (``normalize``) is part of the estimator, fitted on the training data
and reused for prediction, because the engine needs bounded data: [0, 1] or [-1, 1] for the
quantized precisions, |value| < 256 for float32 (Q8.23). ``coef_`` and ``intercept_`` apply to
the *normalised* features: ``decision_function(X) = normalize(X) @ coef_.T + intercept_``.
"""
from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import spec
from .stepsize import auto_step_size

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # older scikit-learn (Python 3.8, PYNQ 2.7: at most 1.3): the method form
    def validate_data(estimator, X="no_validation", y="no_validation", **check_params):
        return estimator._validate_data(X, y, **check_params)

# scikit-learn >= 1.6 reads estimator tags from __sklearn_tags__, older ones from _more_tags
_SKLEARN_TAGS = hasattr(BaseEstimator, "__sklearn_tags__")

__all__ = ["ZipMLClassifier", "ZipMLRegressor", "auto_step_size"]


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _effective_jobs(n_jobs, tasks: int) -> int:
    """scikit-learn's n_jobs convention: None = 1, -1 = all cores, -2 = all but one, ..."""
    import os
    if n_jobs is None:
        return 1
    cpus = os.cpu_count() or 1
    jobs = n_jobs if n_jobs > 0 else max(1, cpus + 1 + n_jobs)
    return max(1, min(jobs, tasks))


class _Timer:
    """Wall time per phase of a fit: ``fit_times_`` (seconds)."""

    def __init__(self):
        self.t0 = self.last = time.perf_counter()
        self.times = {}

    def lap(self, name):
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + (now - self.last)
        self.last = now

    def done(self):
        self.times["total"] = time.perf_counter() - self.t0
        return dict(self.times)


class _ZipMLBase(BaseEstimator):
    """Parameters shared by both estimators; see :class:`ZipMLClassifier`."""

    _losses: tuple = ()

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        def bad(name, what):
            raise ValueError(f"{type(self).__name__}: {name} must be {what}, "
                             f"got {getattr(self, name)!r}")

        if self.bits not in spec.PRECISIONS or isinstance(self.bits, bool):
            bad("bits", f"one of {spec.PRECISIONS}")
        if self.loss not in self._losses:
            bad("loss", f"one of {self._losses}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, numbers.Integral) \
                or self.epochs < 1:
            bad("epochs", "an integer >= 1")
        for name in ("step_size", "step_decay"):
            v = getattr(self, name)
            if name == "step_size" and isinstance(v, str) and v == "auto":
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) \
                    or v <= 0:
                bad(name, "a finite number > 0")
        if isinstance(self.regularization, bool) or not isinstance(
                self.regularization, numbers.Real) or not np.isfinite(self.regularization) \
                or self.regularization < 0:
            bad("regularization", "a finite number >= 0")
        if self.rounding not in ("nearest", "stochastic"):
            bad("rounding", "'nearest' or 'stochastic'")
        if self.normalize not in ("c", "r", "none", None):
            bad("normalize", "'c' (columns), 'r' (rows) or 'none'")
        if isinstance(self.delay, bool) or not isinstance(self.delay, numbers.Integral) \
                or self.delay < 1:
            bad("delay", "an integer >= 1")
        for name in ("cost_pos", "cost_neg"):        # the classifier's SVM costs
            v = getattr(self, name, 1.0)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) \
                    or v <= 0:
                bad(name, "a finite number > 0")
        n_jobs = getattr(self, "n_jobs", None)
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(
                n_jobs, numbers.Integral) or n_jobs == 0):
            bad("n_jobs", "None or a non-zero integer")
        if self.double_sampling and (self.bits == 0 or self.rounding != "stochastic"):
            raise ValueError(f"{type(self).__name__}: double_sampling needs bits > 0 and "
                             f"rounding='stochastic'")

    # ------------------------------------------------------------------ data path
    def _norm(self, X):
        """The normalisation fitted on ``X`` (one C pass for column statistics) and
        MODE.SIGNED; sets ``normalization_``."""
        from . import data, prep
        m11 = bool(self.to_min1_1)
        self._max_abs = 1.0                  # largest |value| of a sample (the bias is 1)
        if self.normalize == "c":
            lo, hi = self._checked(prep.minmax, X, "c")        # also checks every value
            self.normalization_ = data.NormStats("c", lo, hi, m11)
            return prep.Norm("c", lo, hi, m11, add_bias=True, in_range=True,
                             checked=True), m11
        self.normalization_ = None
        if self.normalize == "r":
            return prep.Norm("r", None, None, m11, add_bias=True), m11
        # as they are: the codes are signed when the data have negative values
        lo, hi = self._checked(prep.minmax, X, "c")
        if lo.size:
            self._max_abs = max(1.0, float(np.max(np.abs(lo))), float(np.max(np.abs(hi))))
        return prep.Norm("none", add_bias=True, checked=True), bool(lo.size and lo.min() < 0)

    def _norm_for(self, X):
        """The fitted normalisation for new data (prediction)."""
        from . import prep
        m11 = bool(self.to_min1_1)
        if self.normalize == "c":
            st = self.normalization_
            return prep.Norm("c", st.lo, st.hi, m11, add_bias=True)
        if self.normalize == "r":
            return prep.Norm("r", None, None, m11, add_bias=True)
        return prep.Norm("none", add_bias=True)

    def _checked(self, fn, *args, **kw):
        """Call a zipml.prep function; its errors name the estimator and say what to do."""
        from . import prep
        try:
            return fn(*args, **kw)
        except prep.PrepError as e:
            hint = ""
            if e.kind == "q0_range":
                hint = "; scale the features (normalize='c' or 'r')"
            elif e.kind == "qb_range":
                hint = "; use normalize='c' or 'r' (the quantized precisions need [0, 1] or " \
                       "[-1, 1])"
            raise ValueError(f"{type(self).__name__}: {e}{hint}") from None

    def _prepare(self, X, labels, rng):
        """One C pass from ``X`` to the packed stream (shuffled, normalised, quantized); a
        ZipML_SGD holding it."""
        from . import prep
        from .sgd import ZipML_SGD
        n = X.shape[0]
        order = rng.permutation(n) if self.shuffle else None
        seed = int(rng.randint(0, 2 ** 31 - 1))
        norm, signed = self._norm(X)
        bits = int(self.bits)
        ds = bool(self.double_sampling) and bits > 0
        labels = np.asarray(labels, dtype=np.float64)
        stream, sumsq = self._checked(prep.pack_samples, X, labels, bits, norm=norm,
                                      order=order, signed=signed, rounding=self.rounding,
                                      seed=seed, double_sampling=ds,
                                      want_sumsq=isinstance(self.step_size, str))
        Z = ZipML_SGD(bits=bits, backend=self.backend, rounding=self.rounding, seed=seed,
                      delay=int(self.delay), step_decay=float(self.step_decay))
        Z.set_packed(stream, labels if order is None else labels[order], X.shape[1] + 1,
                     bits=bits, signed=signed, double_sampling=ds)
        self._norm_ = norm
        return Z, sumsq / n

    def _resolve_step(self, Z, mean_sq_norm):
        """``step_size_``: the given step, or the ``"auto"`` rule (see ``auto_step_size``)."""
        from .stepsize import step_from_norm
        if isinstance(self.step_size, str):
            self.step_size_ = step_from_norm(mean_sq_norm, int(self.bits), Z.num_features,
                                             int(self.delay), bool(self.double_sampling),
                                             self.loss)
        else:
            self.step_size_ = float(self.step_size)
        self._warn_tiny_step(Z)
        return self.step_size_

    def _warn_tiny_step(self, Z):
        """Warn when the largest first update, ``step * |gradient| * |feature|`` at the zero
        model, is below one unit (2^-23) of the engine's Q8.23 model: the updates round to
        zero and the model stays (nearly) zero."""
        if self.loss == "linreg":
            g = float(np.max(np.abs(Z.b)))
        elif self.loss == "logreg":
            g = 0.5
        else:
            g = max(float(getattr(self, "cost_pos", 1.0)), float(getattr(self, "cost_neg", 1.0)))
        reach = self.step_size_ * g * self._max_abs
        if 0 < reach < 2.0 ** -23:
            warnings.warn(f"{type(self).__name__}: step_size={self.step_size_!r} is too small "
                          f"for the engine's Q8.23 model: the largest update is {reach:.3g}, "
                          f"below its resolution 2^-23 = 1.19e-07, so the model stays (nearly) "
                          f"zero; use a larger step_size or 'auto'", RuntimeWarning,
                          stacklevel=4)

    def _train(self, Z, loss, targets, n_jobs=1):
        """Engine runs on the one packed stream: one per target class (on-chip binarisation),
        or one regression run (``targets`` None); threads when ``n_jobs`` allows and the
        backend is the C engine (its calls release the GIL)."""
        use_binarized = int(targets is not None)
        cost_pos = float(getattr(self, "cost_pos", 1.0))
        cost_neg = float(getattr(self, "cost_neg", 1.0))
        if use_binarized:
            Z.b_binarize(float(targets[0]))          # each run's value is set in its config
        with warnings.catch_warnings():
            # the REG_SHIFT mapping warning is reported once, by _warn_reg
            warnings.filterwarnings("ignore", message="regularize=")
            backend, cfg, stream = Z._engine_setup(loss, int(self.epochs), self.step_size_,
                                                   cost_pos, cost_neg,
                                                   float(self.regularization), use_binarized)
        cfgs = [cfg] if targets is None else \
            [cfg.with_(binarize_value=float(t)) for t in targets]
        where = f"{backend.name} engine"

        def one(c):
            return backend.run(c, stream)

        jobs = _effective_jobs(n_jobs, len(cfgs))
        if jobs > 1 and backend.name == "cpu":
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=jobs) as ex:
                results = list(ex.map(one, cfgs))
        else:
            results = [one(c) for c in cfgs]
        for r in results:
            r.raise_for_error(where=where)
        if any(r.sat for r in results):
            warnings.warn("the engine saturated (STATUS.SAT): a model value or step left the "
                          "Q8.23 range [-256, 256); lower step_size or normalise the data",
                          RuntimeWarning, stacklevel=3)
        self.bytes_per_epoch_ = cfg.epoch_words * 8
        return results

    def _loss_curve(self, results, loss, X, label_sets):
        """Per-epoch training loss: the engine's progressive loss (C engine, free), else the
        exact end-of-epoch objective in one C pass over X (ENGINE.md section 11)."""
        lam = float(self.regularization)
        models = np.stack([r.models_float() for r in results])          # (k, d, E)
        reg = 0.5 * lam * np.einsum("kde,kde->ke", models, models)
        n = X.shape[0]
        if all(r.loss_sum is not None for r in results):
            self.loss_curve_kind_ = "progressive"
            curve = np.stack([r.loss_sum for r in results]) / n + reg
        else:
            self.loss_curve_kind_ = "objective"
            curve = self._objective_sums(X, models, label_sets, loss) / n + reg
        return np.mean(curve, axis=0)

    def _objective_sums(self, X, models, label_sets, loss):
        """Sum over the samples of the loss of every model (k, d, E) at every epoch: (k, E);
        the dot products in C, rows in chunks (bounded memory)."""
        from . import prep
        k, d, E = models.shape
        W = models.transpose(0, 2, 1).reshape(k * E, d)
        norm = self._norm_for(X)
        sums = np.zeros((k, E))
        step = max(1, (1 << 20) // max(1, k * E))
        cp = float(getattr(self, "cost_pos", 1.0))
        cn = float(getattr(self, "cost_neg", 1.0))
        for r0 in range(0, X.shape[0], step):
            z = self._checked(prep.dot_rows, X[r0:r0 + step], W, norm).reshape(-1, k, E)
            for c in range(k):
                y = label_sets[c][r0:r0 + step, None]
                t = z[:, c, :]
                if loss == "svm":
                    m = np.maximum(0.0, 1.0 - y * t)
                    sums[c] += np.sum(0.5 * np.where(y > 0, cp, cn) * m * m, axis=0)
                elif loss == "logreg":
                    sums[c] += np.sum(np.logaddexp(0.0, -y * t), axis=0)
                else:
                    sums[c] += np.sum(0.5 * (t - y) ** 2, axis=0)
        return sums

    def _warn_reg(self):
        from .sgd import regularize_to_shift
        shift, eff, exact = regularize_to_shift(self.step_size_, float(self.regularization))
        if not exact:
            warnings.warn(f"regularization={self.regularization!r} with step_size="
                          f"{self.step_size_!r} maps to REG_SHIFT={shift}, i.e. an effective "
                          f"regularization of {eff:.6g}", UserWarning, stacklevel=3)
        self.reg_shift_ = shift

    def _set_model(self, models):
        """models: (k, d, epochs) float64 -> coef_, intercept_, models_."""
        self.models_ = models
        last = models[:, :, -1]
        self.coef_ = last[:, 1:].copy()
        self.intercept_ = last[:, 0].copy()

    def _decision(self, X):
        """(n, k) decision values, normalisation and dot products in one C pass."""
        from . import prep
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        coef = np.atleast_2d(self.coef_)
        W = np.column_stack([np.atleast_1d(self.intercept_), coef])
        return self._checked(prep.dot_rows, X, W, self._norm_for(X))

    def _non_deterministic(self):
        return self.rounding == "stochastic" and self.random_state is None

    if _SKLEARN_TAGS:
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags.allow_nan = False
            tags.non_deterministic = self._non_deterministic()
            return tags
    else:
        def _more_tags(self):
            return {"allow_nan": False, "non_deterministic": self._non_deterministic()}


class ZipMLClassifier(ClassifierMixin, _ZipMLBase):
    """Linear classifier trained by the ZipML SGD engine (binary or one-vs-rest).

    Parameters
    ----------
    bits : {0, 1, 2, 4, 8}, default=0
        Precision of the training data on the engine (0 = float32).
    loss : {"svm", "logreg"}, default="svm"
        Squared-hinge L2-SVM or logistic regression.
    epochs : int, default=10
        Passes over the training data.
    step_size : float or "auto", default="auto"
        Step size ``gamma_0`` of the engine. ``"auto"``: :func:`auto_step_size` (a power of
        two that shrinks with the engine's update delay ``S_d`` and the mean squared norm of
        the samples): quantized precisions have a longer delay than float32 (ENGINE.md
        section 6) and need smaller steps. The step used is ``step_size_``.
    regularization : float, default=0.0
        L2 lambda; the engine realises ``step_size * lambda = 2^-r`` (a warning says when the
        value had to be rounded, see :func:`zipml.sgd.regularize_to_shift`).
    rounding : {"nearest", "stochastic"}, default="nearest"
        Quantization rounding for ``bits > 0``.
    normalize : {"c", "r", "none"}, default="c"
        Scale features per column or per row (fitted on the training data).
    to_min1_1 : bool, default=False
        Normalise to [-1, 1] (signed levels) instead of [0, 1].
    backend : {"auto", "cpu", "sim", "pynq"}, default="auto"
    cost_pos, cost_neg : float, default=1.0
        L2-SVM costs of the positive and negative samples.
    delay : int, default=1
        Minimum update delay (the engine's mini-batch knob).
    step_decay : float, default=1.0
        Per-epoch factor of the step size.
    double_sampling : bool, default=False
        Two stochastic quantizations per sample (needs ``rounding="stochastic"``).
    shuffle : bool, default=True
        Shuffle the training samples once before packing.
    random_state : int, RandomState or None
        Seeds the shuffle and stochastic rounding.
    n_jobs : int or None, default=None
        One-vs-rest: binary problems trained at once, in threads (the C engine releases the
        GIL). None = 1, -1 = all cores. The results do not depend on it. Only the CPU backend
        runs in parallel (there is one FPGA).

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray (1,) or (n_classes,)
    models_ : ndarray (n_models, n_features + 1, epochs)
        Model (bias first) after every epoch, per binary problem.
    loss_curve_ : ndarray (epochs,)
        Training loss of every epoch, averaged over the binary problems, plus
        ``regularization / 2 * ||x||^2`` of the end-of-epoch model. With the C engine
        (``loss_curve_kind_ == "progressive"``) the engine's progressive loss: the mean over
        the epoch's samples of each sample's loss at the margin the engine computed for it
        (before its update; ENGINE.md section 11), at no extra cost. The RTL backends have no
        such counter: there (``"objective"``) it is the end-of-epoch objective on the
        normalised float data, one extra C pass over ``X``. :meth:`objective_curve` gives the
        exact objective on request.
    loss_curve_kind_ : {"progressive", "objective"}
    fit_times_ : dict
        Wall time of the fit in seconds: ``prepare`` (checks, statistics, packing),
        ``engine`` (the engine runs), ``evaluate`` (loss curve), ``total``.
    n_features_in_ : int
    reg_shift_ : int
        The engine's REG_SHIFT used.
    step_size_ : float
        The step size used.
    bytes_per_epoch_ : int
        Bytes the engine reads per epoch.
    """

    _losses = ("svm", "logreg")

    def __init__(self, bits=0, loss="svm", epochs=10, step_size="auto", regularization=0.0,
                 rounding="nearest", normalize="c", to_min1_1=False, backend="auto",
                 cost_pos=1.0, cost_neg=1.0, delay=1, step_decay=1.0, double_sampling=False,
                 shuffle=True, random_state=None, n_jobs=None):
        self.bits = bits
        self.loss = loss
        self.epochs = epochs
        self.step_size = step_size
        self.regularization = regularization
        self.rounding = rounding
        self.normalize = normalize
        self.to_min1_1 = to_min1_1
        self.backend = backend
        self.cost_pos = cost_pos
        self.cost_neg = cost_neg
        self.delay = delay
        self.step_decay = step_decay
        self.double_sampling = double_sampling
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Train one model (two classes) or one per class (one-vs-rest).

        ``X`` (float32 or float64, C or Fortran order) is read in place: one C pass packs it
        (normalised, shuffled, quantized) into the engine's stream, shared by every class.
        """
        timer = _Timer()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self._check_params()
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least two classes; "
                             f"got one class: {self.classes_[0]!r}")
        rng = check_random_state(self.random_state)
        y_idx = y_idx.astype(np.float64)
        Z, mean_sq = self._prepare(X, y_idx, rng)
        self._resolve_step(Z, mean_sq)
        self._warn_reg()
        targets = [1] if k == 2 else list(range(k))
        timer.lap("prepare")
        results = self._train(Z, self.loss, targets, self.n_jobs)
        timer.lap("engine")
        self._set_model(np.stack([r.models_float() for r in results]))
        label_sets = [np.where(y_idx == t, 1.0, -1.0) for t in targets]
        self.loss_curve_ = self._loss_curve(results, self.loss, X, label_sets)
        timer.lap("evaluate")
        self.fit_times_ = timer.done()
        return self

    def objective_curve(self, X, y):
        """The exact training objective after every epoch on ``(X, y)`` (one C pass over
        ``X``, normalised as in training): mean loss plus ``regularization / 2 * ||x||^2``,
        averaged over the binary problems. ``loss_curve_`` is the cheaper progressive loss."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        y = np.asarray(y)
        targets = [1] if len(self.classes_) == 2 else list(range(len(self.classes_)))
        label_sets = [np.where(y == self.classes_[t], 1.0, -1.0) for t in targets]
        sums = self._objective_sums(X, self.models_, label_sets, self.loss)
        lam = float(self.regularization)
        reg = 0.5 * lam * np.einsum("kde,kde->ke", self.models_, self.models_)
        return np.mean(sums / X.shape[0] + reg, axis=0)

    def decision_function(self, X):
        """Signed distance: shape (n,) for two classes, (n, n_classes) otherwise."""
        d = self._decision(X)
        return d[:, 0] if d.shape[1] == 1 else d

    def predict(self, X):
        d = self.decision_function(X)
        if d.ndim == 1:
            return self.classes_[(d > 0).astype(int)]
        return self.classes_[np.argmax(d, axis=1)]

    def _has_proba(self):
        return self.loss == "logreg"

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (logistic loss only): the logistic function of the decision
        function; one-vs-rest probabilities are normalised to sum to 1."""
        d = self.decision_function(X)
        if d.ndim == 1:
            p = _sigmoid(d)
            return np.column_stack([1.0 - p, p])
        p = _sigmoid(d)
        s = p.sum(axis=1, keepdims=True)
        s[s == 0] = 1.0
        return p / s

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class ZipMLRegressor(RegressorMixin, _ZipMLBase):
    """Linear (least-squares) regression trained by the ZipML SGD engine.

    Parameters are those of :class:`ZipMLClassifier` (``loss`` is ``"linreg"``, the costs do
    not apply; ``to_min1_1`` defaults to True: centred features condition least squares much
    better than [0, 1] features), plus

    normalize_y : bool, default=True
        Scale the targets to [-1, 1] for training (affine map fitted on the training targets;
        predictions are mapped back). The Q8.23 model holds values in [-256, 256) only.

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    intercept_ : float
    models_ : ndarray (1, n_features + 1, epochs)
        In the scaled target space (see ``y_center_`` and ``y_scale_``).
    loss_curve_ : ndarray (epochs,)
        ``mean (a.x - y)^2 / 2 + regularization / 2 * ||x||^2`` of every epoch, in the scaled
        target space: progressive (at the margins the engine computed) with the C engine, the
        end-of-epoch objective on the RTL backends (see :class:`ZipMLClassifier`).
    loss_curve_kind_ : {"progressive", "objective"}
    fit_times_ : dict
        Seconds per phase: ``prepare``, ``engine``, ``evaluate``, ``total``.
    y_center_, y_scale_ : float
        Training targets were mapped by ``(y - y_center_) / y_scale_``.
    """

    _losses = ("linreg",)

    def __init__(self, bits=0, loss="linreg", epochs=10, step_size="auto",
                 regularization=0.0, rounding="nearest", normalize="c", to_min1_1=True,
                 normalize_y=True, backend="auto", delay=1, step_decay=1.0,
                 double_sampling=False, shuffle=True, random_state=None):
        self.bits = bits
        self.loss = loss
        self.epochs = epochs
        self.step_size = step_size
        self.regularization = regularization
        self.rounding = rounding
        self.normalize = normalize
        self.to_min1_1 = to_min1_1
        self.normalize_y = normalize_y
        self.backend = backend
        self.delay = delay
        self.step_decay = step_decay
        self.double_sampling = double_sampling
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y):
        timer = _Timer()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True)
        self._check_params()
        y = np.asarray(y, dtype=np.float64)
        if self.normalize_y:
            lo, hi = float(y.min()), float(y.max())
            self.y_center_ = 0.5 * (lo + hi)
            self.y_scale_ = 0.5 * (hi - lo) if hi > lo else 1.0
        else:
            self.y_center_, self.y_scale_ = 0.0, 1.0
        ys = (y - self.y_center_) / self.y_scale_
        rng = check_random_state(self.random_state)
        Z, mean_sq = self._prepare(X, ys, rng)
        self._resolve_step(Z, mean_sq)
        self._warn_reg()
        timer.lap("prepare")
        results = self._train(Z, "linreg", None)
        timer.lap("engine")
        self._set_model(results[0].models_float()[None])
        self.loss_curve_ = self._loss_curve(results, "linreg", X, [ys])
        self.coef_ = self.coef_[0] * self.y_scale_
        self.intercept_ = float(self.intercept_[0] * self.y_scale_ + self.y_center_)
        timer.lap("evaluate")
        self.fit_times_ = timer.done()
        return self

    def predict(self, X):
        return self._decision(X)[:, 0]
