#!/usr/bin/env python3
"""YearPredictionMSD: linear regression (year of a song from 90 audio features) with the 2017
``ZipML_SGD`` API (example script).

On a PYNQ board::

    sudo python3 tests/test_pynq_YearPredictionMSD.py --train YearPredictionMSD

Anywhere else (no sudo)::

    python3 tests/test_pynq_YearPredictionMSD.py --train YearPredictionMSD --backend cpu --bits 8

Data: ``notebooks/get_yearpredictionMSD.sh`` (LIBSVM data sets site). Any libsvm regression
file works (``--num-features``). Features are column-normalised to [-1, 1], labels scaled to
[-1, 1]; the RMSE is reported in label units (years) next to the closed-form least-squares fit
on the same data. This file is a program, not a pytest module (see conftest.py).
"""
import argparse
import sys
import time

import numpy as np


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, metavar="FILE", help="training data (libsvm)")
    ap.add_argument("--test", metavar="FILE", help="test data (libsvm, optional)")
    ap.add_argument("--num-train", type=int, default=None, metavar="N",
                    help="training samples to read (default: all)")
    ap.add_argument("--num-test", type=int, default=None, metavar="N")
    ap.add_argument("--num-features", type=int, default=90, help="features (default 90)")
    ap.add_argument("--backend", choices=("auto", "cpu", "sim", "pynq"), default="auto")
    ap.add_argument("--bits", type=int, choices=(0, 1, 2, 4, 8), default=0,
                    help="data precision: 0 = float32, else 8/4/2/1-bit (default 0)")
    ap.add_argument("--rounding", choices=("nearest", "stochastic"), default="stochastic")
    ap.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    ap.add_argument("--step-size", default="auto",
                    help="step size, or auto (default; zipml.estimators.auto_step_size)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def main(argv=None):
    args = parse_args(argv)
    from zipml import ZipML_SGD
    from zipml import data

    t0 = time.perf_counter()
    Z = ZipML_SGD(backend=args.backend, rounding=args.rounding, seed=args.seed)
    Z.load_libsvm_data(args.train, args.num_train, args.num_features)
    Z.a_normalize(to_min1_1=1, row_or_column="c")
    y_raw = Z.b.copy()
    Z.b_normalize(to_min1_1=1)
    lab = Z.b_normalization
    print(f"train {args.train}: {Z.num_samples} x {Z.num_features - 1} (+ bias), labels "
          f"{y_raw.min():g}..{y_raw.max():g}; loaded in {time.perf_counter() - t0:.2f} s")
    if args.bits:
        Z.a_quantize(args.bits)
    if args.step_size == "auto":
        from zipml.estimators import auto_step_size
        step = auto_step_size(Z.a, args.bits, loss="linreg")
    else:
        step = float(args.step_size)
    print(f"backend {Z.backend().name}, Q{args.bits}, {args.epochs} epochs, step {step:g}")

    t = time.perf_counter()
    hist = Z.LINREG_SGD(args.epochs, step, 0.0)
    t_train = time.perf_counter() - t
    A = Z.a.astype(np.float64)
    for e in range(args.epochs):
        print(f"epoch {e + 1:>3}: loss {Z.calculate_LINREG_loss(hist[:, e], 0.0):.6f}")

    def rmse(A, y, x):
        pred = data.denormalize_labels(A @ x, lab)
        return float(np.sqrt(np.mean((pred - y) ** 2)))

    x_ls, *_ = np.linalg.lstsq(A, Z.b, rcond=None)
    print(f"closed-form least squares: loss {Z.calculate_LINREG_loss(x_ls, 0.0):.6f}")
    print(f"training time {t_train:.3f} s, {Z.bytes_per_epoch * args.epochs:,d} bytes streamed")
    print(f"train RMSE {rmse(A, y_raw, hist[:, -1]):.4f} (least squares "
          f"{rmse(A, y_raw, x_ls):.4f})")
    if args.test:
        Xt, yt = data.load_libsvm(args.test, args.num_features, num_samples=args.num_test)
        Xt, _ = data.normalize(Xt, to_min1_1=True, axis="c", stats=Z.a_normalization)
        At = data.add_bias(Xt).astype(np.float64)
        print(f"test RMSE {rmse(At, yt, hist[:, -1]):.4f} (least squares "
              f"{rmse(At, yt, x_ls):.4f}) on {len(yt)} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
