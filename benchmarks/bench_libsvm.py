"""Throughput of zipml.data.load_libsvm (and save_libsvm) on a generated 100+ MB libsvm file.

    python benchmarks/bench_libsvm.py [--mb 120] [--kind float|int] [--path /tmp/bench.svm]

kind=float: 200 features per line, ~50% nonzero, values like 0.123456789 (9 digits) and
1e-3-style exponents; kind=int: MNIST-like, 784 features, ~19% nonzero, integers 1..255.
Compares with sklearn.datasets.load_svmlight_file (CSR, then .toarray()) on the same file.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from zipml.data import load_libsvm, save_libsvm


def generate(path: str, mb: float, kind: str, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    target = int(mb * 1e6)
    with open(path, "w") as f:
        size = 0
        while size < target:
            if kind == "int":
                X = np.where(rng.random((2000, 784)) < 0.19, rng.integers(1, 256, (2000, 784)), 0)
                X = X.astype(np.float32)
            else:
                X = np.where(rng.random((2000, 200)) < 0.5,
                             rng.standard_normal((2000, 200)) * 10.0 ** rng.integers(-4, 3, (2000, 200)),
                             0).astype(np.float32)
            y = rng.integers(0, 10, 2000).astype(np.float64)
            tmp = path + ".part"
            save_libsvm(tmp, X, y)
            with open(tmp) as g:
                text = g.read()
            os.remove(tmp)
            f.write(text)
            size += len(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=120.0)
    ap.add_argument("--kind", choices=("float", "int"), default="float")
    ap.add_argument("--path", default="/tmp/zipml_bench.svm")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sklearn", action="store_true", help="also time scikit-learn")
    args = ap.parse_args()
    if not os.path.exists(args.path) or os.path.getsize(args.path) < args.mb * 1e6 * 0.99:
        t = time.perf_counter()
        generate(args.path, args.mb, args.kind)
        print(f"generated {args.path} in {time.perf_counter() - t:.1f} s")
    size = os.path.getsize(args.path)
    for rep in range(args.reps):
        t, c = time.perf_counter(), time.process_time()
        X, y = load_libsvm(args.path)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        print(f"load_libsvm: {size / 1e6:.1f} MB, {X.shape[0]} x {X.shape[1]}, "
              f"nnz {np.count_nonzero(X)}: wall {dt:.2f} s = {size / 1e6 / dt:.0f} MB/s, "
              f"CPU {dc:.2f} s = {size / 1e6 / dc:.0f} MB/s (load average "
              f"{os.getloadavg()[0]:.1f})")
    t, c = time.perf_counter(), time.process_time()
    save_libsvm(args.path + ".out", X, y)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    out_mb = os.path.getsize(args.path + ".out") / 1e6
    print(f"save_libsvm: wall {dt:.2f} s = {out_mb / dt:.0f} MB/s, CPU {dc:.2f} s = "
          f"{out_mb / dc:.0f} MB/s")
    os.remove(args.path + ".out")
    if args.sklearn:
        from sklearn.datasets import load_svmlight_file
        t, c = time.perf_counter(), time.process_time()
        Xs, ys = load_svmlight_file(args.path, dtype=np.float32)
        Xs = Xs.toarray()
        dt, dc = time.perf_counter() - t, time.process_time() - c
        print(f"sklearn load_svmlight_file + toarray: wall {dt:.2f} s = {size / 1e6 / dt:.0f} "
              f"MB/s, CPU {dc:.2f} s = {size / 1e6 / dc:.0f} MB/s;"
              f" identical: {np.array_equal(Xs, X[:, :Xs.shape[1]]) and np.array_equal(ys, y)}")


if __name__ == "__main__":
    main()
