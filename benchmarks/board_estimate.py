#!/usr/bin/env python3
"""What the host does per fit on a PYNQ board, against the FPGA's stream time (issue 9).

No board here: this estimates, for the 2017 MNIST notebook's problem (10,000 x 784, one-vs-rest
over 10 digits, 10 epochs), per precision:

* the FPGA's time per epoch: the stream's words at 100 MHz and the RTL's measured stream
  efficiency (``--efficiency``, words per cycle; BENCHMARKS.md: 0.988 .. 0.9996);
* the host bytes the fit touches: once per fit (the data path of ``zipml.prep``: read X for the
  column statistics, read it again and write the stream) and per epoch (the model read back:
  d x 4 bytes; the loss is the engine's, so no pass over the data), beside the per-epoch bytes
  of the former path (a float64 copy of the data for the objective of every epoch and class:
  read the float32 data, write and read the float64 copy);
* the host instructions of the data path, counted by callgrind in a portable build of
  ``cmodel/zipml_prep.c`` without vectorisation (the Cortex-A9's NEON has no binary64
  arithmetic, so this is the closer model of the board), and the time they take at the
  Zynq-7020's 650 MHz for an assumed 0.5 .. 1 instructions per cycle.

Everything but the IPC range and the efficiency is computed or measured in this run. Usage::

    python benchmarks/board_estimate.py [--n 10000] [--d 784] [--classes 10] [--epochs 10]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from zipml import spec  # noqa: E402

CLOCK_HZ = 100e6
ARM_HZ = 650e6


def instructions_per_element(bits: int, tmp: str, n: int = 2000, d: int = 784) -> float:
    exe = os.path.join(tmp, "prep_driver")
    if not os.path.exists(exe):
        subprocess.run(["gcc", "-O3", "-fno-tree-vectorize", "-std=c99", "-ffp-contract=off",
                        "-DZML_NO_CLONES", "-o", exe,
                        os.path.join(ROOT, "benchmarks", "prep_driver.c"),
                        os.path.join(ROOT, "cmodel", "zipml_prep.c"), "-lm"], check=True)
    out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg",
                          "--toggle-collect=zml_*", exe, str(n), str(d), str(bits)],
                         capture_output=True, text=True, check=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    return int(m.group(1)) / (n * (d + 1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--d", type=int, default=784)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--efficiency", type=float, default=0.98,
                   help="stream words per cycle of the RTL (BENCHMARKS.md: 0.988-0.9996)")
    a = p.parse_args()
    if not shutil.which("valgrind") or not shutil.which("gcc"):
        sys.exit("needs gcc and valgrind (Debian packages)")
    n, m, k, E = a.n, a.d, a.classes, a.epochs
    d = m + 1
    x_bytes = n * m * 4
    print(f"# {n} x {m} (+ bias), {k} one-vs-rest models, {E} epochs; FPGA 100 MHz at "
          f"{a.efficiency} words/cycle; ARM {ARM_HZ / 1e6:.0f} MHz at 0.5-1 instr/cycle")
    print("| precision | stream MB | FPGA s/epoch (1 model) | FPGA s/fit | host MB/fit (prep) | "
          "host MB/epoch now (k models) | host MB/epoch before (k models) | prep instr/value | "
          "prep s on ARM (est.) |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for bits in spec.PRECISIONS:
            words = n * spec.words_per_sample(bits, d)
            t_epoch = words / (CLOCK_HZ * a.efficiency)
            prep_bytes = 2 * x_bytes + words * 8          # two reads of X, one stream write
            now_epoch = k * d * 4                          # the k models read back
            before_epoch = k * (n * d * 4 + 2 * n * d * 8)  # per class: read a, f64 copy
            ipe = instructions_per_element(bits, tmp)
            instr = ipe * n * d
            lo, hi = instr / ARM_HZ / 1.0, instr / ARM_HZ / 0.5
            print(f"| Q{bits} | {words * 8 / 1e6:.1f} | {t_epoch * 1e3:.2f} ms | "
                  f"{t_epoch * E * k:.3f} | {prep_bytes / 1e6:.0f} | {now_epoch / 1e6:.3f} | "
                  f"{before_epoch / 1e6:.0f} | {ipe:.0f} | {lo:.2f} .. {hi:.2f} |")


if __name__ == "__main__":
    main()
