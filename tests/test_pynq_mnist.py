#!/usr/bin/env python3
"""MNIST: 10-class one-vs-rest L2-SVM with the 2017 ``ZipML_SGD`` API (example script).

On a PYNQ board (the FPGA)::

    sudo python3 tests/test_pynq_mnist.py --train mnist --test mnist.t

Anywhere else (the bit-exact C engine, or the RTL in simulation), no sudo needed::

    python3 tests/test_pynq_mnist.py --train mnist --test mnist.t --backend cpu --bits 4

Data: ``notebooks/get_mnist.sh`` downloads MNIST in libsvm format; off-line,
``zipml convert`` turns Debian's Fashion-MNIST (``/usr/share/datasets/fashion-mnist``, same
shape) into libsvm files. This file is a program, not a pytest module (conftest.py keeps pytest
away from ``tests/test_pynq_*.py``); tests/test_examples.py runs it on small files.
"""
import argparse
import sys
import time

import numpy as np


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, metavar="FILE", help="training data (libsvm)")
    ap.add_argument("--test", required=True, metavar="FILE", help="test data (libsvm)")
    ap.add_argument("--num-train", type=int, default=None, metavar="N",
                    help="training samples to read (default: all)")
    ap.add_argument("--num-test", type=int, default=None, metavar="N",
                    help="test samples to read (default: all)")
    ap.add_argument("--num-features", type=int, default=784, help="features (default 784)")
    ap.add_argument("--backend", choices=("auto", "cpu", "sim", "pynq"), default="auto",
                    help="where the engine runs (default auto: the board if found, else cpu)")
    ap.add_argument("--bits", type=int, choices=(0, 1, 2, 4, 8), default=0,
                    help="data precision: 0 = float32, else 8/4/2/1-bit (default 0)")
    ap.add_argument("--rounding", choices=("nearest", "stochastic"), default="stochastic",
                    help="quantization rounding (default stochastic)")
    ap.add_argument("--epochs", type=int, default=10, help="epochs per class (default 10)")
    ap.add_argument("--step-size", default="auto",
                    help="step size, or auto (default; zipml.estimators.auto_step_size)")
    ap.add_argument("--seed", type=int, default=0, help="seed of stochastic rounding")
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def main(argv=None):
    args = parse_args(argv)
    from zipml import ZipML_SGD

    t0 = time.perf_counter()
    Z = ZipML_SGD(backend=args.backend, rounding=args.rounding, seed=args.seed)
    Z.load_libsvm_data(args.train, args.num_train, args.num_features)
    Z.a_normalize(to_min1_1=0, row_or_column="r")
    T = ZipML_SGD(backend="cpu")           # holds the test data; never trains
    T.load_libsvm_data(args.test, args.num_test, args.num_features)
    T.a_normalize(to_min1_1=0, row_or_column="r")
    t_load = time.perf_counter() - t0
    if args.bits:
        Z.a_quantize(args.bits)
    if args.step_size == "auto":
        from zipml.estimators import auto_step_size
        step = auto_step_size(Z.a, args.bits)
    else:
        step = float(args.step_size)
    backend = Z.backend().name
    classes = np.unique(Z.b)
    print(f"train {args.train}: {Z.num_samples} x {Z.num_features - 1} (+ bias), test "
          f"{args.test}: {T.num_samples}; {len(classes)} classes; loaded and normalised in "
          f"{t_load:.2f} s")
    print(f"backend {backend}, Q{args.bits}, {args.epochs} epochs, step {step:g}")

    xs = np.zeros((Z.num_features, len(classes)))
    t_train = 0.0
    for k, c in enumerate(classes):
        Z.b_binarize(c)
        t = time.perf_counter()
        hist = Z.L2SVM_SGD(args.epochs, step, 1.0, 1.0, 0.0, 1)
        dt = time.perf_counter() - t
        t_train += dt
        xs[:, k] = hist[:, -1]
        loss = Z.calculate_L2SVM_loss(hist[:, -1], 1.0, 1.0, 0.0, 1) / Z.num_samples
        print(f"class {c:g}: {dt:.3f} s, loss {loss:.4f}, binary train accuracy "
              f"{Z.binary_classification(hist[:, -1]) / Z.num_samples:.4f}")
    train_acc = Z.multi_classification(xs, classes) / Z.num_samples
    test_acc = T.multi_classification(xs, classes) / T.num_samples
    moved = Z.bytes_per_epoch * args.epochs * len(classes)
    print(f"training time {t_train:.3f} s ({backend}), {moved:,d} bytes streamed "
          f"({Z.bytes_per_epoch:,d} per epoch)")
    print(f"train accuracy {100 * train_acc:.2f} %")
    print(f"test accuracy {100 * test_acc:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
