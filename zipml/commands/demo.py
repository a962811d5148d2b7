"""``zipml demo``: precision-convergence table on scikit-learn's bundled digits (offline)."""
from __future__ import annotations

import time

import numpy as np

HELP = ("train on scikit-learn's digits at Q0, Q8, Q4, Q2, Q1 and print loss per epoch, "
        "test accuracy and bytes moved per epoch")

#: (bits, rounding) of the table rows. 1 and 2 bits use unbiased stochastic rounding.
ROWS = ((0, "nearest"), (8, "nearest"), (4, "nearest"), (2, "stochastic"), (1, "stochastic"))


def add_arguments(p):
    from .train import positive_int, step_arg
    p.add_argument("--epochs", type=positive_int, default=10, help="epochs (default 10)")
    p.add_argument("--step-size", type=step_arg, default="auto",
                   help="step size, or 'auto' (default): a power of two per precision that "
                        "shrinks with the engine's update delay (see ZipMLClassifier)")
    p.add_argument("--loss", choices=("svm", "logreg"), default="svm", help="default svm")
    p.add_argument("--binary", type=int, metavar="DIGIT", choices=range(10),
                   help="one digit vs the rest instead of 10-class one-vs-rest")
    p.add_argument("--backend", choices=("auto", "cpu", "sim", "pynq"), default="auto")
    p.add_argument("--seed", type=int, default=0, help="train/test split and rounding seed")


def run(args) -> int:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from ..backends import get_backend
    from ..estimators import ZipMLClassifier

    backend = get_backend(args.backend, bits=0).name    # detect the board once, untimed

    X, y = load_digits(return_X_y=True)
    task = "10-class one-vs-rest"
    if args.binary is not None:
        y = np.where(y == args.binary, 1, -1)
        task = f"digit {args.binary} vs rest"
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=args.seed,
                                          stratify=y)
    print(f"digits (scikit-learn, 8x8 images): {len(Xtr)} training and {len(Xte)} test "
          f"samples, 64 features + bias; {task}; {args.loss}, {args.epochs} epochs, step "
          f"{args.step_size}, column normalisation to [0,1]; backend {backend}")
    rows = []
    for bits, rounding in ROWS:
        clf = ZipMLClassifier(bits=bits, loss=args.loss, epochs=args.epochs,
                              step_size=args.step_size, rounding=rounding,
                              backend=args.backend, random_state=args.seed)
        t = time.perf_counter()
        clf.fit(Xtr, ytr)
        secs = time.perf_counter() - t
        rows.append((bits, rounding, clf.loss_curve_, clf.score(Xte, yte),
                     clf.bytes_per_epoch_, secs, len(clf.models_), clf.step_size_))
    _print(rows, args.epochs, backend)
    return 0


def _print(rows, epochs, backend):
    shown = list(range(epochs)) if epochs <= 10 else \
        sorted(set(np.linspace(0, epochs - 1, 10).round().astype(int)))
    print()
    print("training loss per epoch (mean squared-hinge/logistic loss, averaged over the "
          "binary problems)")
    print(f"{'prec':<5} {'rounding':<10} " + " ".join(f"{'e' + str(e + 1):>7}" for e in shown))
    for bits, rounding, curve, acc, nbytes, secs, k, step in rows:
        print(f"{'Q' + str(bits):<5} {rounding if bits else '-':<10} "
              + " ".join(f"{curve[e]:>7.4f}" for e in shown))
    print()
    print(f"{'prec':<5} {'step':>8} {'test acc':>9} {'bytes/epoch':>12} {'vs Q0':>7} "
          f"{'train s':>8}")
    q0 = rows[0][4]
    for bits, rounding, curve, acc, nbytes, secs, k, step in rows:
        print(f"{'Q' + str(bits):<5} {_step(step):>8} {100 * acc:>8.2f}% {nbytes:>12,d} "
              f"{q0 / nbytes:>6.1f}x {secs:>8.3f}")
    print()
    print(f"bytes/epoch = bytes of the packed sample stream the engine reads per epoch and per "
          f"binary model ({rows[0][6]} model(s) per row); train s = wall time of fit "
          f"(normalise, quantize, pack, all models); backend: {backend}")


def _step(step):
    k = -np.log2(step)
    return f"2^-{int(k)}" if k == int(k) else f"{step:.4g}"
