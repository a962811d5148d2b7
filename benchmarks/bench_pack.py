"""Time quantize + pack for a 60000 x 785 data set (MNIST-sized, bias included) at every
precision, into a fresh array and into a preallocated buffer.

    python benchmarks/bench_pack.py [--n 60000] [--d 785] [--reps 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from zipml.pack import pack, stream_words
from zipml.quantize import double_sample, quantize


def best(f, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--d", type=int, default=785)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((a.n, a.d)).astype(np.float32)
    X[:, 0] = 1.0
    y = rng.choice([-1.0, 1.0], a.n)
    print(f"{a.n} x {a.d}, best of {a.reps}")
    tp = best(lambda: pack(X, y, 0), a.reps)
    out = np.empty(stream_words(0, a.n, a.d), np.uint64)
    to = best(lambda: pack(X, y, 0, out=out), a.reps)
    print(f"Q0: pack {tp:.3f} s, pack(out=) {to:.3f} s, {out.nbytes / 2**20:.0f} MiB")
    for bits in (8, 4, 2, 1):
        tn = best(lambda: quantize(X, bits), a.reps)
        ts = best(lambda: quantize(X, bits, rounding="stochastic", seed=1), a.reps)
        codes = quantize(X, bits)
        tp = best(lambda: pack(codes, y, bits), a.reps)
        out = np.empty(stream_words(bits, a.n, a.d), np.uint64)
        to = best(lambda: pack(codes, y, bits, out=out), a.reps)
        ca, cb = double_sample(X, bits, seed=2)
        out2 = np.empty(stream_words(bits, a.n, a.d, True), np.uint64)
        td = best(lambda: pack(ca, y, bits, data_b=cb, out=out2), a.reps)
        print(f"Q{bits}: quantize nearest {tn:.3f} s, stochastic {ts:.3f} s; pack {tp:.3f} s, "
              f"pack(out=) {to:.3f} s ({out.nbytes / 2**20:.1f} MiB); "
              f"double-sampled pack(out=) {td:.3f} s")


if __name__ == "__main__":
    main()
