"""Epoch time of the C engine (zipml.cengine.run_engine) on Fashion-MNIST, class 0 vs rest.

    python benchmarks/cengine_epoch_time.py [--epochs 10] [--repeat 3] [--bits 0 8 4 2 1]

Data: /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist), 60,000 x 784 pixels
/ 255 plus a bias column (d = 785); Qb codes by nearest rounding (unsigned). L2-SVM with
binarized labels. Prints the best of ``--repeat`` runs, per epoch, single thread: wall time and
the CPU time of the calling thread (the C engine runs in it; on a loaded machine the CPU time is
the better measure of the engine itself).
"""
from __future__ import annotations

import argparse
import gzip
import time
from pathlib import Path

import numpy as np

from zipml import cengine, spec
from zipml.config import EngineConfig

DATA = Path("/usr/share/datasets/fashion-mnist")


def load():
    with gzip.open(DATA / "train-images-idx3-ubyte.gz") as f:
        img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(DATA / "train-labels-idx1-ubyte.gz") as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    a = np.concatenate([np.full((img.shape[0], 1), 255, np.uint8), img], axis=1)
    return a, lab.astype(np.float32)


def pack(bits, a_u8, labels):
    n, d = a_u8.shape
    if bits == 0:
        x = (a_u8.astype(np.float32) / np.float32(255.0)).view(np.uint32)
        D = (d + 1) // 2
        u = np.zeros((n, 2 * D), np.uint64)
        u[:, :d] = x
        data = u[:, 0::2] | (u[:, 1::2] << np.uint64(32))
    else:
        L = 1 << (bits - 1)
        codes = np.rint(a_u8.astype(np.float64) * (L / 255.0)).astype(np.uint64)
        V = 64 // bits
        D = -(-d // V)
        c = np.zeros((n, D * V), np.uint64)
        c[:, :d] = codes
        c = c.reshape(n, D, V) << (np.arange(V, dtype=np.uint64) * np.uint64(bits))
        data = np.bitwise_or.reduce(c, axis=2)
    lab = labels.view(np.uint32).astype(np.uint64)[:, None]
    return np.ascontiguousarray(np.concatenate([data, lab], axis=1).ravel())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bits", type=int, nargs="+", default=[0, 8, 4, 2, 1])
    args = ap.parse_args()
    a, y = load()
    n, d = a.shape
    for bits in args.bits:
        stream = pack(bits, a, y)
        cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=args.epochs,
                           loss="svm", step_size=2.0**-10, binarize=True, binarize_value=0.0)
        best = cpu = float("inf")
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.thread_time()
            res = cengine.run_engine(cfg, stream).raise_for_error()
            best = min(best, time.perf_counter() - t)
            cpu = min(cpu, time.thread_time() - c)
        x = res.models[-1].astype(np.float64) * 2.0**-23
        scale = 1.0 if bits == 0 else float(1 << (bits - 1))
        feats = a.astype(np.float64) / 255.0
        acc = np.mean((feats @ x > 0) == (y == 0))
        print(f"Q{bits}: {stream.nbytes / 1e6:7.1f} MB/epoch  wall {best / args.epochs * 1e3:7.2f}"
              f" ms/epoch  cpu {cpu / args.epochs * 1e3:7.2f} ms/epoch"
              f"  ({stream.nbytes / (best / args.epochs) / 1e9:5.2f} GB/s)  S_d={res.staleness}"
              f"  sat={res.sat}  train acc {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
