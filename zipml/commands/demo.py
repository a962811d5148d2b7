"""``zipml demo``: precision-convergence table on scikit-learn's bundled digits (offline)."""
from __future__ import annotations

import textwrap
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
    p.add_argument("--backend", choices=("auto", "cpu", "sim", "pynq"), default="auto",
                   help="where the engine runs (default auto: the board if found, else cpu)")
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
    from .train import fmt_step
    step = ("auto (a power of two per precision, in the table)" if args.step_size == "auto"
            else fmt_step(args.step_size))
    _wrap(f"digits (scikit-learn, 8x8 images): {len(Xtr):,} training and {len(Xte):,} test "
          f"samples, 64 features + bias; {task}; {args.loss}, {args.epochs} epochs, step "
          f"{step}, column normalisation to [0,1]; backend {backend}")
    print()
    _wrap("Precisions: Q0 = the data as float32; Q8, Q4, Q2, Q1 = the data quantized to 8, 4, "
          "2 or 1 bit(s) per value. Q8 and Q4 round to the nearest level. Q2 and Q1 have only "
          "3 and 2 levels and round stochastically: up or down at random, with the "
          "probabilities that make the expected quantized value equal the value (unbiased, the "
          "rounding ZipML's convergence analysis assumes), where nearest rounding moves every "
          "value to a fixed level.")
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
    _print(rows, args.epochs, backend, getattr(clf, "loss_curve_kind_", "objective"))
    return 0


def _print(rows, epochs, backend, kind="progressive"):
    shown = list(range(epochs)) if epochs <= 10 else \
        sorted(set(np.linspace(0, epochs - 1, 10).round().astype(int)))
    print()
    if kind == "progressive":
        _wrap("training loss per epoch (progressive: the mean over the epoch's samples of each "
              "sample's squared-hinge/logistic loss when the engine reached it, before its "
              "update; averaged over the binary problems)")
    else:
        _wrap("training loss per epoch (the end-of-epoch model's mean squared-hinge/logistic "
              "loss over the training samples, averaged over the binary problems)")
    print(f"{'prec':<5} {'rounding':<10} " + " ".join(f"{'e' + str(e + 1):>7}" for e in shown))
    for bits, rounding, curve, acc, nbytes, secs, k, step in rows:
        print(f"{'Q' + str(bits):<5} {rounding if bits else '-':<10} "
              + " ".join(f"{curve[e]:>7.4f}" for e in shown))
    print()
    from .train import fmt_step
    w = max(8, max(len(fmt_step(r[7])) for r in rows))
    print(f"{'prec':<5} {'step':>{w}} {'test acc':>9} {'bytes/epoch':>12} {'vs Q0':>7} "
          f"{'train s':>8}")
    q0 = rows[0][4]
    for bits, rounding, curve, acc, nbytes, secs, k, step in rows:
        print(f"{'Q' + str(bits):<5} {fmt_step(step):>{w}} {100 * acc:>8.2f}% {nbytes:>12,d} "
              f"{q0 / nbytes:>6.1f}x {secs:>8.3f}")
    print()
    k = rows[0][6]
    models = f"{k} one-vs-rest models per row" if k > 1 else "one model per row"
    _wrap(f"bytes/epoch: bytes of packed sample stream read per epoch per model ({models}); "
          f"vs Q0: Q0's bytes/epoch divided by the row's (how many times fewer bytes the "
          f"engine reads); train s: wall time of fit (normalise, quantize, pack, all models); "
          f"backend: {backend}")


def _wrap(text, width=100):
    print(textwrap.fill(text, width=width, break_on_hyphens=False))
