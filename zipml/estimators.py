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
        if self.double_sampling and (self.bits == 0 or self.rounding != "stochastic"):
            raise ValueError(f"{type(self).__name__}: double_sampling needs bits > 0 and "
                             f"rounding='stochastic'")

    # ------------------------------------------------------------------ normalisation
    @staticmethod
    def _check_float32(X):
        """The engine works in float32: a float64 value beyond its range is an error (named
        here, before the cast turns it into inf)."""
        X = np.asarray(X)
        if X.dtype == np.float64 and X.size:
            big = np.abs(X) > np.finfo(np.float32).max
            if big.any():
                i, j = np.argwhere(big)[0]
                raise ValueError(f"X has {X[i, j]!r} at row {i}, column {j}: outside the "
                                 f"float32 range (|x| <= 3.4e38) of the engine's data")
        return X

    def _fit_normalize(self, X):
        from . import data
        X = np.asarray(self._check_float32(X), dtype=np.float32)
        if self.normalize in ("c", "r"):
            Xn, stats = data.normalize(X, to_min1_1=bool(self.to_min1_1), axis=self.normalize)
            self.normalization_ = stats if self.normalize == "c" else None
            return np.asarray(Xn, dtype=np.float32)
        self.normalization_ = None
        return X

    def _transform(self, X):
        from . import data
        X = np.asarray(self._check_float32(X), dtype=np.float32)
        if self.normalize == "c":
            Xn, _ = data.normalize(X, to_min1_1=bool(self.to_min1_1), axis="c",
                                   stats=self.normalization_)
            return np.asarray(Xn, dtype=np.float64)
        if self.normalize == "r":
            Xn, _ = data.normalize(X, to_min1_1=bool(self.to_min1_1), axis="r")
            return np.asarray(Xn, dtype=np.float64)
        return X.astype(np.float64)

    # ------------------------------------------------------------------ training
    def _trainer(self, Xn, labels, rng):
        """A ZipML_SGD holding the (shuffled, normalised, quantized) training data."""
        from .sgd import ZipML_SGD
        n = Xn.shape[0]
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        seed = int(rng.randint(0, 2 ** 31 - 1))
        Z = ZipML_SGD(bits=0, backend=self.backend, rounding=self.rounding, seed=seed,
                      delay=int(self.delay), step_decay=float(self.step_decay))
        Z.set_data(Xn[order], np.asarray(labels, dtype=np.float64)[order])
        if self.normalize in ("c", "r"):
            Z.a_to_min1_1 = bool(self.to_min1_1)
        if self.bits:
            Z.a_quantize(int(self.bits), rounding=self.rounding, seed=seed,
                         double_sampling=bool(self.double_sampling))
        return Z

    def _resolve_step(self, Z):
        """``step_size_``: the given step, or the ``"auto"`` rule (see ``auto_step_size``)."""
        if isinstance(self.step_size, str):
            self.step_size_ = auto_step_size(Z.a, int(self.bits), int(self.delay),
                                             bool(self.double_sampling), self.loss)
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
        reach = self.step_size_ * g * float(np.max(np.abs(Z.a)))
        if 0 < reach < 2.0 ** -23:
            warnings.warn(f"{type(self).__name__}: step_size={self.step_size_!r} is too small "
                          f"for the engine's Q8.23 model: the largest update is {reach:.3g}, "
                          f"below its resolution 2^-23 = 1.19e-07, so the model stays (nearly) "
                          f"zero; use a larger step_size or 'auto'", RuntimeWarning,
                          stacklevel=4)

    def _train(self, Z, loss, use_binarized):
        step = self.step_size_
        with warnings.catch_warnings():
            # the REG_SHIFT mapping warning is reported once, below
            warnings.filterwarnings("ignore", message="regularize=")
            if loss == "svm":
                return Z.L2SVM_SGD(int(self.epochs), step,
                                   float(self.cost_pos), float(self.cost_neg),
                                   float(self.regularization), use_binarized)
            if loss == "logreg":
                return Z.LOGREG_SGD(int(self.epochs), step,
                                    float(self.regularization), use_binarized)
            return Z.LINREG_SGD(int(self.epochs), step,
                                float(self.regularization))

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
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._transform(X) @ self.coef_.T + self.intercept_

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

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coef_ : ndarray (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray (1,) or (n_classes,)
    models_ : ndarray (n_models, n_features + 1, epochs)
        Model (bias first) after every epoch, per binary problem.
    loss_curve_ : ndarray (epochs,)
        Training objective after every epoch, averaged over the binary problems: mean over the
        samples of the loss plus ``regularization / 2 * ||x||^2``, in float64 on the
        normalised float data.
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
                 shuffle=True, random_state=None):
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

    def fit(self, X, y):
        """Train one model (two classes) or one per class (one-vs-rest)."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self._check_params()
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least two classes; "
                             f"got one class: {self.classes_[0]!r}")
        rng = check_random_state(self.random_state)
        Xn = self._fit_normalize(X)
        Z = self._trainer(Xn, y_idx.astype(np.float64), rng)
        self._resolve_step(Z)
        self._warn_reg()
        targets = [1] if k == 2 else list(range(k))
        models, curves = [], []
        for c in targets:
            Z.b_binarize(c)
            hist = self._train(Z, self.loss, 1)
            models.append(hist)
            curves.append([self._objective(Z, hist[:, e]) for e in range(hist.shape[1])])
        self.bytes_per_epoch_ = Z.bytes_per_epoch
        self._set_model(np.stack(models))
        self.loss_curve_ = np.mean(np.asarray(curves), axis=0)
        return self

    def _objective(self, Z, x):
        n = Z.num_samples
        if self.loss == "svm":
            v = Z.calculate_L2SVM_loss(x, self.cost_pos, self.cost_neg, 0.0, 1) / n
        else:
            v = Z.calculate_LOGREG_loss(x, 0.0, 1) / n
        return v + 0.5 * float(self.regularization) * float(x @ x)

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
        ``mean (a.x - y)^2 / 2 + regularization / 2 * ||x||^2`` after every epoch, in the
        scaled target space.
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
        Xn = self._fit_normalize(X)
        Z = self._trainer(Xn, ys, rng)
        self._resolve_step(Z)
        self._warn_reg()
        hist = self._train(Z, "linreg", 0)
        self.bytes_per_epoch_ = Z.bytes_per_epoch
        lam = float(self.regularization)
        self.loss_curve_ = np.array([
            Z.calculate_LINREG_loss(hist[:, e], 0.0) + 0.5 * lam * float(hist[:, e] @ hist[:, e])
            for e in range(hist.shape[1])])
        self._set_model(hist[None])
        self.coef_ = self.coef_[0] * self.y_scale_
        self.intercept_ = float(self.intercept_[0] * self.y_scale_ + self.y_center_)
        return self

    def _decision(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._transform(X) @ self.coef_ + self.intercept_

    def predict(self, X):
        return self._decision(X)
