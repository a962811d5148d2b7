#!/usr/bin/env python3
"""Peak memory of ``zipml train`` against the file size (issue 9: at most the packed stream +
128 MB whatever the file size).

Writes Fashion-MNIST (pixels / 255, 784 features, label 0..9) as libsvm files of growing size
(the 60,000 training images repeated, cached under ``build/bench/``), then runs
``zipml train --bits B --binarize 0`` on each in a child process and reports, side by side:
the file size, the dense float32 matrix the file stands for, the packed stream, the child's
peak RSS (``ru_maxrss``), the peak RSS of a child that only imports the command (the
interpreter and its libraries), and peak minus that baseline minus the stream, which is what
the data path adds. Time per phase comes from the command's ``--json`` output.

    python benchmarks/bench_train_memory.py [--rows 60000 200000 400000] [--bits 4]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
LABELS = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"


def fashion():
    if not os.path.exists(FASHION):
        sys.exit("needs Fashion-MNIST: apt-get install dataset-fashion-mnist")
    with gzip.open(FASHION) as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(LABELS) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return X, y


def write_file(path, rows, base60k):
    """The first ``rows`` lines of the 60,000-line Fashion-MNIST libsvm file repeated."""
    if os.path.exists(path):
        return
    with open(base60k, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        left = rows
        while left:
            k = min(left, len(lines))
            f.writelines(lines[:k])
            left -= k
    os.replace(tmp, path)


def write_base(path):
    if os.path.exists(path):
        return
    from zipml import data
    X, y = fashion()
    data.save_libsvm(path + ".tmp", X.astype(np.float32) / 255, y.astype(np.float64))
    os.replace(path + ".tmp", path)


def child_peak(cmd):
    """Run cmd; its wall time and peak RSS (bytes), measured by GNU time (``%M``): the child is
    forked from time's small process, so its peak is its own."""
    import tempfile
    with tempfile.NamedTemporaryFile("r") as m:
        t = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", m.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
        return wall, int(m.read().split()[-1]) * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[60000, 200000, 400000])
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--make", metavar="PATH", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.make:
        sys.path.insert(0, ROOT)
        write_base(a.make)
        return
    out = os.path.join(ROOT, "build", "bench")
    os.makedirs(out, exist_ok=True)
    py = sys.executable
    _, base = child_peak([py, "-c", "import zipml.cli, zipml.commands.train, zipml.filestream"])
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}; zipml train --bits {a.bits} --binarize 0 --epochs "
          f"{a.epochs}; baseline (python + imports) peak RSS {base / 2**20:.0f} MiB")
    print("| rows | file MB | dense float32 MB | stream MB | peak RSS MB | peak - baseline - "
          "stream MB | prepare s | engine s | total s |")
    print("|---|---|---|---|---|---|---|---|---|")
    from zipml import spec
    base60k = os.path.join(out, "fashion_60000.svm")
    # the files are written by a child: this process stays small, so that the children it
    # forks start small (a forked child's ru_maxrss includes the parent's pages at the fork)
    subprocess.run([py, os.path.abspath(__file__), "--make", base60k], check=True)
    for rows in a.rows:
        path = os.path.join(out, f"fashion_{rows}.svm")
        write_file(path, rows, base60k)
        js = os.path.join(out, f"train_{rows}.json")
        wall, peak = child_peak([py, "-m", "zipml", "train", "--train", path, "--bits",
                                 str(a.bits), "--binarize", "0", "--epochs", str(a.epochs),
                                 "--backend", "cpu", "--quiet", "--json", js])
        res = json.load(open(js))
        stream = rows * spec.words_per_sample(a.bits, 785) * 8
        s = res["seconds"]
        print(f"| {rows:,} | {os.path.getsize(path) / 1e6:.0f} | {rows * 784 * 4 / 1e6:.0f} | "
              f"{stream / 1e6:.1f} | {peak / 1e6:.0f} | {(peak - base - stream) / 1e6:.0f} | "
              f"{s['prepare']:.2f} | {s['engine']:.2f} | {wall:.2f} |")


if __name__ == "__main__":
    main()
