"""The ``step_size="auto"`` rule shared by the estimators and ``zipml train``.

Kept apart from :mod:`zipml.estimators` so that it works without scikit-learn (a PYNQ 2.7 board
installs the package with ``--no-deps`` and has no scikit-learn).
"""
from __future__ import annotations

import numpy as np

from . import spec

__all__ = ["auto_step_size", "step_from_norm"]


def auto_step_size(A, bits: int, delay: int = 1, double_sampling: bool = False,
                   loss: str = "svm") -> float:
    """The ``step_size="auto"`` rule: ``2^-k`` with ``k = ceil(log2(S_d * c * mean_i ||a_i||^2))``.

    ``A`` is the training data with the bias column, ``S_d`` the engine's update delay for this
    precision and dimension (ENGINE.md section 6). A delayed update behaves like a mini-batch of
    ``S_d`` samples whose gradients add up; the per-sample curvature of the loss is at most
    ``c * ||a_i||^2`` with ``c = 1`` for the squared hinge and least squares and ``c = 1/4`` for
    the logistic loss, so ``step * S_d * c * ||a||^2 <= 1`` keeps the delayed iteration stable
    on average. Powers of two keep the float32 step exact. Never above 1.
    """
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"A must be 2-D with at least one sample, got shape {A.shape}")
    from . import prep   # ||a_i||^2 in one C pass, no float64 copy of A
    sumsq = prep.sum_squares(A)
    return step_from_norm(sumsq / A.shape[0], bits, A.shape[1], delay, double_sampling, loss)


def step_from_norm(mean_sq_norm: float, bits: int, d: int, delay: int = 1,
                   double_sampling: bool = False, loss: str = "svm") -> float:
    """:func:`auto_step_size` from ``mean_i ||a_i||^2`` (e.g. the ``sumsq`` that
    :func:`zipml.prep.pack_samples` returns divided by n) and the dimension ``d`` (bias
    included)."""
    sd = spec.staleness(bits, d, delay, double_sampling and bits > 0)
    c = 0.25 if loss == "logreg" else 1.0
    k = max(0, int(np.ceil(np.log2(max(sd * c * float(mean_sq_norm), 1.0)))))
    return 2.0 ** -k
