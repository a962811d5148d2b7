"""scikit-learn estimators: the estimator checks, Pipeline, GridSearchCV, accuracy sanity."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from zipml import spec
from zipml.estimators import ZipMLClassifier, ZipMLRegressor, auto_step_size

ESTIMATORS = [
    ZipMLClassifier(backend="cpu"),
    ZipMLClassifier(loss="logreg", backend="cpu"),
    ZipMLClassifier(bits=4, backend="cpu"),
    ZipMLClassifier(bits=1, rounding="stochastic", backend="cpu"),
    ZipMLRegressor(backend="cpu"),
    ZipMLRegressor(bits=8, backend="cpu"),
]


def expected_failed_checks(estimator):
    """Checks that cannot pass by design, with the reason (run as xfail, strict)."""
    if estimator.bits == 1 and estimator.rounding == "stochastic":
        return {"check_classifiers_train": (
            "1-bit stochastic rounding of the check's 2-feature blobs (every value becomes 0 "
            "or 1 at random) makes the result depend on the draw: measured 0.53 training "
            "accuracy with the check's random_state=0, 0.91 with random_state 1 and 2; the "
            "check needs 0.83 (Q0 reaches 0.91 on the same data)")}
    # every other estimator passes every check (scikit-learn skips the pandas check itself
    # when pandas is not installed)
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks,
                         xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize("bits,rounding,loss,floor", [
    # measured on this split (random_state=0): 0.958, 0.953, 0.944, 0.936, 0.922
    (0, "nearest", "svm", 0.93),
    (0, "nearest", "logreg", 0.92),
    (4, "nearest", "svm", 0.92),
    (1, "stochastic", "svm", 0.91),
    (1, "stochastic", "logreg", 0.89),
])
def test_digits_one_vs_rest_accuracy(digits_split, bits, rounding, loss, floor):
    Xtr, Xte, ytr, yte = digits_split
    clf = ZipMLClassifier(bits=bits, rounding=rounding, loss=loss, backend="cpu",
                          random_state=0).fit(Xtr, ytr)
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert clf.models_.shape == (10, 65, 10)
    assert clf.loss_curve_.shape == (10,) and clf.loss_curve_[-1] < clf.loss_curve_[0]
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    d = clf.decision_function(Xte)
    assert d.shape == (len(Xte), 10)
    np.testing.assert_array_equal(clf.predict(Xte), np.argmax(d, axis=1))
    assert clf.score(Xte, yte) > floor
    # bytes per epoch: n samples x words per sample x 8
    assert clf.bytes_per_epoch_ == len(Xtr) * spec.words_per_sample(bits, 65) * 8
    if loss == "logreg":
        p = clf.predict_proba(Xte)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        np.testing.assert_array_equal(np.argmax(p, axis=1), clf.predict(Xte))
    else:
        assert not hasattr(clf, "predict_proba")


def test_binary_string_labels_and_proba():
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.array(["benign", "malignant"])[1 - y]
    Xtr, Xte, ytr, yte = train_test_split(X, labels, test_size=0.25, random_state=0,
                                          stratify=labels)
    clf = ZipMLClassifier(loss="logreg", backend="cpu", random_state=0).fit(Xtr, ytr)
    assert list(clf.classes_) == ["benign", "malignant"]
    assert clf.coef_.shape == (1, 30) and clf.models_.shape == (1, 31, 10)
    d = clf.decision_function(Xte)
    assert d.shape == (len(Xte),)
    np.testing.assert_array_equal(clf.predict(Xte), clf.classes_[(d > 0).astype(int)])
    p = clf.predict_proba(Xte)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-12)
    assert clf.score(Xte, yte) > 0.93         # measured 0.965


def test_regressor_diabetes_close_to_least_squares():
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    ols = LinearRegression().fit(Xtr, ytr).score(Xte, yte)            # 0.359
    for bits in (0, 8, 4):
        reg = ZipMLRegressor(bits=bits, backend="cpu", random_state=0).fit(Xtr, ytr)
        assert reg.coef_.shape == (10,) and isinstance(reg.intercept_, float)
        assert reg.loss_curve_[-1] < reg.loss_curve_[0]
        # measured R^2 0.364 (Q0), 0.383 (Q8), 0.386 (Q4)
        assert reg.score(Xte, yte) > ols - 0.05


def test_pipeline_and_grid_search(digits_split):
    Xtr, Xte, ytr, yte = digits_split
    pipe = make_pipeline(StandardScaler(), ZipMLClassifier(backend="cpu", random_state=0))
    grid = GridSearchCV(pipe, {"zipmlclassifier__bits": [0, 4],
                               "zipmlclassifier__epochs": [2, 8]}, cv=3)
    grid.fit(Xtr, ytr)
    assert set(grid.best_params_) == {"zipmlclassifier__bits", "zipmlclassifier__epochs"}
    assert grid.best_params_["zipmlclassifier__epochs"] == 8
    assert grid.score(Xte, yte) > 0.9
    assert len(grid.cv_results_["mean_test_score"]) == 4
    reg = GridSearchCV(ZipMLRegressor(backend="cpu", random_state=0),
                       {"bits": [0, 8], "regularization": [0.0, 2.0 ** -10 * 128]}, cv=3)
    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reg.fit(X, y)
    assert reg.best_score_ > 0.3


def test_parameters_unchanged_and_validated():
    clf = ZipMLClassifier(bits=3, backend="cpu")
    assert clf.get_params()["bits"] == 3                     # stored unchanged
    X, y = load_digits(return_X_y=True)
    for kw, msg in (({"bits": 3}, "bits must be one of"), ({"epochs": 0}, "epochs"),
                    ({"step_size": -1.0}, "step_size"), ({"step_size": "big"}, "step_size"),
                    ({"loss": "hinge"}, "loss"), ({"rounding": "up"}, "rounding"),
                    ({"normalize": "z"}, "normalize"), ({"regularization": -1}, "regularization"),
                    ({"double_sampling": True}, "double_sampling"), ({"delay": 0}, "delay")):
        with pytest.raises(ValueError, match=msg):
            clone(clf).set_params(**{"bits": 0, **kw}).fit(X[:50], y[:50])
    with pytest.raises(FileNotFoundError, match=r"\./make_hw 0"):   # no bitstream installed
        ZipMLClassifier(backend="pynq").fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="one class"):
        ZipMLClassifier(backend="cpu").fit(X[:5], np.zeros(5))


def test_regularization_warning_and_shift():
    X, y = load_breast_cancer(return_X_y=True)
    clf = ZipMLClassifier(backend="cpu", step_size=2.0 ** -6, regularization=2.0 ** -4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y)
    assert clf.reg_shift_ == 10
    with pytest.warns(UserWarning, match="REG_SHIFT=13"):
        clf.set_params(step_size=0.01, regularization=0.01).fit(X, y)


def test_auto_step_rule_and_pickle():
    A = np.ones((4, 3))                               # ||a||^2 = 3
    sd = spec.staleness(0, 3)                         # 1 + ceil(128 / 3) = 44
    assert auto_step_size(A, 0) == 2.0 ** -int(np.ceil(np.log2(3 * sd)))
    X, y = load_breast_cancer(return_X_y=True)
    clf = ZipMLClassifier(bits=2, backend="cpu", random_state=1).fit(X, y)
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf2.decision_function(X), clf.decision_function(X))
    # same random_state -> same model (stochastic rounding and shuffle seeded)
    again = ZipMLClassifier(bits=2, rounding="stochastic", backend="cpu", random_state=1)
    np.testing.assert_array_equal(clone(again).fit(X, y).coef_, clone(again).fit(X, y).coef_)
