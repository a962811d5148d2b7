#!/usr/bin/env python3
"""CPU benchmark (issue 2, section 4): Fashion-MNIST class 0 vs. rest, 10 epochs, single thread.

Prints side by side the epoch time and test accuracy of

* the C engine (``backend="cpu"``) at Q0 (float32), Q8, Q4 (nearest rounding), Q2, Q1
  (stochastic rounding);
* the float64 numpy reference loop (the 2017 software path: one ``np.dot`` and one vector
  update per sample in a Python loop);
* scikit-learn ``SGDClassifier(loss="squared_hinge", max_iter=10, tol=None)``, fastest epoch
  time and median test accuracy over ``random_state`` 0..4 (its last iterate depends strongly
  on the shuffling seed here);
* the memory-bandwidth bound of every precision: bytes the engine reads per epoch divided by
  the single-thread read bandwidth measured in the same run (numpy sum over a 256 MiB array);

then the targets with PASS/MISS. Timings are best-of-N (the engine runs ``--repeats`` times)
because a shared machine adds noise only upwards. Usage::

    python3 benchmarks/bench_cpu.py [--epochs 10] [--ref-epochs 10] [--json out.json]

Data: Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``); the
script exits with code 2 and prints the install command when it is missing.

Hyper-parameters (the same for every precision, chosen by a rule, not tuned on the test set):
pixels are scaled to [0, 1] (``/ 255``, as the 2017 MNIST notebook normalised to [0, 1]);
costs 1 for both classes (``SGDClassifier``'s squared hinge has none); the step size is the
largest power of two ``2^-k`` with ``step * max_i ||a_i||^2 <= 1/4`` (``a_i`` with the bias):
the squared hinge's per-sample curvature is ``||a_i||^2``, so each update at most removes a
quarter of the margin violation, which keeps the delayed updates (up to 11 samples of
staleness at Q1..Q4) stable.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # single thread, set before numpy loads a BLAS

import numpy as np  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
ROWS = ((0, "nearest"), (8, "nearest"), (4, "nearest"), (2, "stochastic"), (1, "stochastic"))


def read_idx(path):
    """Read an idx file (gzip): uint8 images (n, rows*cols) or labels (n,)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic 0x{magic:08x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data, header says {dims}")
    return data.reshape(dims[0], -1) if ndim > 1 else data


def load(data_dir):
    out = {}
    for split, (img, lab) in FILES.items():
        X = read_idx(os.path.join(data_dir, img)).astype(np.float32) / np.float32(255.0)
        y = read_idx(os.path.join(data_dir, lab)).astype(np.float64)
        out[split] = (X, y)
    return out


def read_bandwidth(mib=256, repeats=5):
    """Single-thread read bandwidth in bytes/s: best of ``repeats`` numpy sums."""
    a = np.ones(mib * 2 ** 20 // 4, dtype=np.float32)
    a.sum()  # page in
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - t)
    return a.nbytes / best


def numpy_reference(A, y, epochs, step, cost_pos=1.0, cost_neg=1.0):
    """The 2017 software path: float64 per-sample L2-SVM SGD in a Python loop."""
    A = A.astype(np.float64)
    x = np.zeros(A.shape[1])
    hist, times = [], []
    for _ in range(epochs):
        t = time.perf_counter()
        for i in range(A.shape[0]):
            a = A[i]
            dot = a @ x
            if y[i] * dot < 1.0:
                c = cost_pos if y[i] > 0 else cost_neg
                x -= step * c * (dot - y[i]) * a
        times.append(time.perf_counter() - t)
        hist.append(x.copy())
    return hist, times


def accuracy(A, y, x):
    return float(np.mean(np.where(A @ x > 0, 1.0, -1.0) == y))


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--ref-epochs", type=int, default=10,
                    help="epochs of the slow numpy reference loop (default 10)")
    ap.add_argument("--data", default=DATA_DIR)
    ap.add_argument("--json", help="also write the results as JSON")
    ap.add_argument("--seed", type=int, default=0, help="stochastic rounding seed")
    ap.add_argument("--sk-seeds", type=int, default=5,
                    help="scikit-learn runs (random_state 0..N-1): fastest epoch time and "
                         "median accuracy reported")
    ap.add_argument("--repeats", type=int, default=3,
                    help="engine runs per precision; the fastest is reported")
    args = ap.parse_args(argv)
    if not all(os.path.isfile(os.path.join(args.data, f)) for fs in FILES.values() for f in fs):
        print(f"Fashion-MNIST not found in {args.data}. Install it with:\n"
              f"    sudo apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 2

    from sklearn.linear_model import SGDClassifier

    from zipml.sgd import ZipML_SGD

    d = load(args.data)
    Xtr, ytr_raw = d["train"]
    Xte, yte_raw = d["test"]
    ytr = np.where(ytr_raw == 0, 1.0, -1.0)
    yte = np.where(yte_raw == 0, 1.0, -1.0)
    Atr = np.hstack([np.ones((len(Xtr), 1), np.float32), Xtr])
    Ate = np.hstack([np.ones((len(Xte), 1), np.float32), Xte]).astype(np.float64)
    max_norm2 = float(np.max(np.einsum("ij,ij->i", Atr, Atr, dtype=np.float64)))
    k = int(np.ceil(np.log2(4 * max_norm2)))
    step = 2.0 ** -k
    E = args.epochs
    print(f"Fashion-MNIST {Xtr.shape[0]} x {Xtr.shape[1]} (+ bias), class 0 vs rest, "
          f"{E} epochs, L2-SVM, step 2^-{k} (max ||a||^2 = {max_norm2:.1f}), costs 1/1")
    loadavg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; single thread; load average "
          f"{loadavg:.2f} at start (other jobs on the machine slow the timings down)")

    bw = read_bandwidth()
    print(f"single-thread read bandwidth (numpy sum, 256 MiB): {bw / 1e9:.2f} GB/s")

    results = {}
    for bits, rounding in ROWS:
        Z = ZipML_SGD(bits=0, backend="cpu", seed=args.seed)
        Z.set_data(Xtr, ytr_raw)
        Z.a_to_min1_1 = False
        t = time.perf_counter()
        if bits:
            Z.a_quantize(bits, rounding=rounding, seed=args.seed)
        Z.b_binarize(0)
        Z._build_stream(E)
        prep = time.perf_counter() - t
        total = float("inf")
        for _ in range(args.repeats):          # best of N: the machine may be shared
            t = time.perf_counter()
            hist = Z.L2SVM_SGD(E, step, 1.0, 1.0, 0, 1)
            total = min(total, time.perf_counter() - t)
        name = f"Q{bits}"
        results[name] = dict(epoch_s=total / E, acc=accuracy(Ate, yte, hist[:, -1]),
                             bytes=Z.bytes_per_epoch, prep_s=prep, rounding=rounding,
                             bound_s=Z.bytes_per_epoch / bw,
                             staleness=int(Z.last_result.staleness))

    # SGDClassifier's last iterate depends strongly on its shuffling seed on this task
    # (test accuracy 0.90 .. 0.96 for seeds 0..2): report the median over --sk-seeds seeds
    import warnings
    sk_t, sk_acc = [], []
    for seed in range(args.sk_seeds):
        clf = SGDClassifier(loss="squared_hinge", max_iter=E, tol=None, random_state=seed)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(Xtr, ytr)
        sk_t.append((time.perf_counter() - t) / E)
        sk_acc.append(float(clf.score(Xte, yte)))
    results["sklearn"] = dict(epoch_s=float(np.min(sk_t)), acc=float(np.median(sk_acc)),
                              acc_min=min(sk_acc), acc_max=max(sk_acc), seeds=args.sk_seeds)

    R = args.ref_epochs
    if R > 0:
        hist, times = numpy_reference(Atr, ytr, R, step)
        results["numpy-ref"] = dict(epoch_s=float(np.min(times)), acc=accuracy(Ate, yte,
                                                                                hist[-1]),
                                    epochs=R)

    print()
    print(f"{'engine':<10} {'rounding':<10} {'epoch ms':>9} {'bound ms':>9} {'x bound':>8} "
          f"{'bytes/epoch':>12} {'S_d':>4} {'test acc':>9}")
    for name, r in results.items():
        if "bytes" in r:
            print(f"{name:<10} {r['rounding'] if name != 'Q0' else '-':<10} "
                  f"{1e3 * r['epoch_s']:>9.2f} {1e3 * r['bound_s']:>9.2f} "
                  f"{r['epoch_s'] / r['bound_s']:>8.2f} {r['bytes']:>12,d} "
                  f"{r['staleness']:>4d} {100 * r['acc']:>8.2f}%")
        else:
            label = (f"sklearn ({r['seeds']} seeds)" if name == "sklearn"
                     else f"numpy-ref ({r['epochs']} ep)")
            print(f"{label:<21} {1e3 * r['epoch_s']:>9.2f} {'':>9} {'':>8} {'':>12} {'':>4} "
                  f"{100 * r['acc']:>8.2f}%")
    sk = results["sklearn"]
    print(f"(sklearn test accuracy over seeds 0..{sk['seeds'] - 1}: {100 * sk['acc_min']:.2f} .. "
          f"{100 * sk['acc_max']:.2f} %)")
    print(f"(epoch times are best-of: engine {args.repeats} runs of all epochs / epochs, "
          f"sklearn fastest of {sk['seeds']} fits / epochs, numpy-ref fastest epoch)")
    print("(engine packing excluded: "
          + ", ".join(f"{n} packing {1e3 * r['prep_s']:.0f} ms" for n, r in results.items()
                      if "prep_s" in r) + ")")

    q0, q4, sk = results["Q0"], results["Q4"], results["sklearn"]
    pt = lambda a, b: 100 * (a - b)  # noqa: E731
    targets = [
        ("Q0 epoch <= 2x its bandwidth bound", q0["epoch_s"] / q0["bound_s"], "<=", 2.0),
        ("Q0 epoch >= 3x faster than sklearn", sk["epoch_s"] / q0["epoch_s"], ">=", 3.0),
        ("Q4 epoch >= 2.5x faster than Q0", q0["epoch_s"] / q4["epoch_s"], ">=", 2.5),
        ("Q4 epoch >= 10x faster than sklearn", sk["epoch_s"] / q4["epoch_s"], ">=", 10.0),
        ("Q0 accuracy within 0.5 point of sklearn", abs(pt(q0["acc"], sk["acc"])), "<=", 0.5),
        ("Q8 accuracy within 0.5 point of Q0", abs(pt(results["Q8"]["acc"], q0["acc"])),
         "<=", 0.5),
        ("Q4 accuracy within 0.5 point of Q0", abs(pt(q4["acc"], q0["acc"])), "<=", 0.5),
        ("Q2 accuracy within 2 points of Q0", abs(pt(results["Q2"]["acc"], q0["acc"])),
         "<=", 2.0),
        ("Q1 accuracy within 5 points of Q0", abs(pt(results["Q1"]["acc"], q0["acc"])),
         "<=", 5.0),
    ]
    print()
    print("targets")
    verdicts = []
    signed = {"Q0 accuracy within 0.5 point of sklearn": pt(q0["acc"], sk["acc"])}
    for name in ("Q8", "Q4", "Q2", "Q1"):
        signed[f"{name} accuracy within"] = pt(results[name]["acc"], q0["acc"])
    for text, value, op, lim in targets:
        ok = value <= lim if op == "<=" else value >= lim
        verdicts.append(dict(target=text, value=value, ok=ok))
        note = next((f" (signed difference {v:+.2f})" for k, v in signed.items()
                     if text.startswith(k)), "")
        print(f"  {'PASS' if ok else 'MISS'}  {text}: {value:.2f} (need {op} {lim:g}){note}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results=results, targets=verdicts, bandwidth=bw, step=step,
                           machine=cpu_model()), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
