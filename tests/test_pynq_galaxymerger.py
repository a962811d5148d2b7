#!/usr/bin/env python3
"""Galaxy mergers: a linear L2-SVM on 2048 InceptionV3 features per image (transfer learning)
with the 2017 ``ZipML_SGD`` API (example script).

On a PYNQ board::

    sudo python3 tests/test_pynq_galaxymerger.py --train galaxy_train --test galaxy_test

Anywhere else (no sudo)::

    python3 tests/test_pynq_galaxymerger.py --train galaxy_train --test galaxy_test \\
        --backend cpu --bits 4 --epochs 50

Data: ``notebooks/get_galaxymerger.sh``, or build them from images with
``zipml features FOLDER --label 1 -o a.libsvm`` (one folder per class) and
``zipml features --mix a.libsvm b.libsvm --train N --test M -o galaxy_train galaxy_test``.
Labels: ``--positive`` (default 1) is the merger class, every other label the rest.
This file is a program, not a pytest module (see conftest.py).
"""
import argparse
import sys
import time

import numpy as np


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, metavar="FILE", help="training data (libsvm)")
    ap.add_argument("--test", required=True, metavar="FILE", help="test data (libsvm)")
    ap.add_argument("--num-train", type=int, default=None, metavar="N")
    ap.add_argument("--num-test", type=int, default=None, metavar="N")
    ap.add_argument("--num-features", type=int, default=2048, help="features (default 2048)")
    ap.add_argument("--positive", type=float, default=1.0,
                    help="label of the positive (merger) class (default 1)")
    ap.add_argument("--backend", choices=("auto", "cpu", "sim", "pynq"), default="auto")
    ap.add_argument("--bits", type=int, choices=(0, 1, 2, 4, 8), default=0,
                    help="data precision: 0 = float32, else 8/4/2/1-bit (default 0)")
    ap.add_argument("--rounding", choices=("nearest", "stochastic"), default="stochastic")
    ap.add_argument("--epochs", type=int, default=50, help="epochs (default 50)")
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

    Z = ZipML_SGD(backend=args.backend, rounding=args.rounding, seed=args.seed)
    Z.load_libsvm_data(args.train, args.num_train, args.num_features)
    Z.a_normalize(to_min1_1=0, row_or_column="c")
    if not np.any(Z.b == args.positive):
        print(f"error: no training sample has the positive label {args.positive:g} "
              f"(labels: {', '.join(f'{v:g}' for v in np.unique(Z.b)[:10])})", file=sys.stderr)
        return 2
    Z.b_binarize(args.positive)
    if args.bits:
        Z.a_quantize(args.bits)
    step = None
    if args.step_size == "auto":
        from zipml.estimators import auto_step_size
        step = auto_step_size(Z.a, args.bits)
    else:
        step = float(args.step_size)
    pos = int(np.sum(Z.binarized_b > 0))
    print(f"train {args.train}: {Z.num_samples} samples ({pos} positive) x "
          f"{Z.num_features - 1} features (+ bias)")
    print(f"backend {Z.backend().name}, Q{args.bits}, {args.epochs} epochs, step {step:g}")
    t = time.perf_counter()
    hist = Z.L2SVM_SGD(args.epochs, step, 1.0, 1.0, 0.0, 1)
    t_train = time.perf_counter() - t
    for e in sorted({0, args.epochs // 2, args.epochs - 1}):
        loss = Z.calculate_L2SVM_loss(hist[:, e], 1.0, 1.0, 0.0, 1) / Z.num_samples
        print(f"epoch {e + 1:>3}: loss {loss:.5f}")
    x = hist[:, -1]
    Xt, yt = data.load_libsvm(args.test, args.num_features, num_samples=args.num_test)
    Xt, _ = data.normalize(Xt, to_min1_1=False, axis="c", stats=Z.a_normalization)
    At = data.add_bias(Xt).astype(np.float64)
    test_acc = float(np.mean((At @ x > 0) == (yt == args.positive)))
    print(f"training time {t_train:.3f} s, {Z.bytes_per_epoch * args.epochs:,d} bytes streamed")
    print(f"train accuracy {100 * Z.binary_classification(x) / Z.num_samples:.2f} %")
    print(f"test accuracy {100 * test_acc:.2f} % on {len(yt)} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
