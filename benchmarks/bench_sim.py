#!/usr/bin/env python3
"""RTL simulation benchmark (issue 4): the engine's VHDL, ghdl synth -> Verilator, at full size.

Measures and prints

1. the Verilator build time of each simulated precision (``G_MAX_DIM`` = 8192, the board
   builds' size; cached builds are reported as such, with the time recorded when they were
   built);
2. one full Fashion-MNIST epoch (60,000 x 784 + bias, Q4, class 0 vs rest) through the RTL in
   simulation (``backend="sim"``): wall time, simulated cycles, projected FPGA time at
   100 MHz, next to the C engine's time for the same epoch; the models are checked equal;
3. the driver's own time per epoch (``EngineDriver``, excluding time waiting for the engine)
   against the simulated device, over many short epochs;
4. the projected board time per MNIST digit (10,000 x 784, 10 epochs; the Fashion-MNIST test
   set has that shape) at 100 MHz = simulated cycles x 10 ns + 10 x driver overhead per epoch
   + the driver's per-run setup (checks, buffer allocation, stream copy, registers), next to
   the 2017 figures (float 0.52 s, 1-bit 0.14 s).

Usage::

    python3 benchmarks/bench_sim.py [--precisions 0 1 2 4 8] [--json out.json]

The driver overhead is measured on this machine's CPU; the board's Cortex-A9 is slower, so the
projection is a lower bound of the host part (see BENCHMARKS.md).
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zipml import pack, quantize, spec  # noqa: E402
from zipml.backends import CpuBackend  # noqa: E402
from zipml.config import EngineConfig  # noqa: E402
from zipml.hw import EngineDriver, HwBackend, sim  # noqa: E402

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
CLOCK_HZ = 100e6
FIGURES_2017 = {0: 0.52, 1: 0.14}      # s per MNIST digit, 10 epochs (2017 ZipML-PYNQ)


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic 0x{magic:08x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims[0], -1) if ndim > 1 else data


def load(split: str):
    names = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}[split]
    paths = [DATA_DIR / n for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"missing {missing}: apt-get install dataset-fashion-mnist", file=sys.stderr)
        sys.exit(2)
    X = read_idx(paths[0]).astype(np.float64) / 255.0
    y = np.where(read_idx(paths[1]) == 0, 1.0, -1.0)
    return np.hstack([np.ones((X.shape[0], 1)), X]), y          # bias column first


def stream_for(X, y, bits: int) -> np.ndarray:
    if bits == 0:
        return pack.pack(X.astype(np.float32), y, 0)
    return pack.pack(quantize.quantize(X, bits, rounding="nearest", seed=0), y, bits)


def backend(bits: int, max_dim: int) -> HwBackend:
    return HwBackend("sim", EngineDriver(sim.SimDevice(max_dim), bits, timeout=10.0))


def build_times(precisions, max_dim):
    rows = []
    for bits in precisions:
        t0 = time.perf_counter()
        lib = sim.build_sim_library(bits, max_dim)
        wall = time.perf_counter() - t0
        recorded = float((lib.parent / "build_seconds.txt").read_text())
        cached = str(lib) not in sim.BUILD_TIMES
        rows.append({"bits": bits, "build_s": recorded, "cached": cached,
                     "lookup_s": wall, "library": str(lib)})
        print(f"  Q{bits}: Verilator build {recorded:6.1f} s"
              + (f" (cached; lookup {wall:.1f} s incl. ghdl synth check)" if cached else ""))
    return rows


def full_epoch(max_dim):
    X, y = load("train")
    bits = 4
    s = stream_for(X, y, bits)
    n, d = X.shape
    cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=1, loss="svm",
                       step_size=2.0 ** -12)
    b = backend(bits, max_dim)
    t0 = time.perf_counter()
    r = b.run(cfg, s)
    t_sim = time.perf_counter() - t0
    r.raise_for_error("sim")
    cpu = CpuBackend(bits, max_dim=max_dim)
    t_cpu = min(_timed(lambda: cpu.run(cfg, s)) for _ in range(3))
    same = bool(np.array_equal(r.models, cpu.run(cfg, s).models))
    out = {"n": n, "d": d, "bits": bits, "words": r.words, "cycles": r.cycles,
           "sim_s": t_sim, "cpu_s": t_cpu, "fpga_projected_s": r.cycles / CLOCK_HZ,
           "sim_cycles_per_s": r.cycles / t_sim, "bit_identical": same,
           "driver_setup_s": b.driver.last_timing["setup"]}
    print(f"  {n} x {d} Q{bits}, {r.words} words: RTL sim {t_sim:.2f} s "
          f"({r.cycles} cycles, {r.cycles / t_sim / 1e6:.2f} Mcycles/s; "
          f"{r.cycles / r.words:.3f} cycles/word), C engine {t_cpu:.3f} s, projected FPGA "
          f"{r.cycles / CLOCK_HZ * 1e3:.1f} ms at 100 MHz; models bit-identical: {same}")
    return out


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def driver_overhead(max_dim, epochs=400):
    """Driver time per epoch excluding the waits, over many short epochs (n=32, d=65)."""
    rows = []
    rng = np.random.default_rng(0)
    for bits in (0, 1):
        n, d = 32, 65
        X = np.hstack([np.ones((n, 1)), rng.uniform(0, 1, (n, d - 1))])
        y = rng.choice([-1.0, 1.0], n)
        s = stream_for(X, y, bits)
        cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=epochs,
                           loss="svm", step_size=2.0 ** -8)
        b = backend(bits, max_dim)
        best = None
        for _ in range(5):
            b.run(cfg, s)
            t = dict(b.driver.last_timing)
            if best is None or t["overhead_per_epoch"] < best["overhead_per_epoch"]:
                best = t
        rows.append({"bits": bits, "epochs": epochs, **best})
        print(f"  Q{bits}: {best['overhead_per_epoch'] * 1e6:6.1f} us per epoch (driver, "
              f"excluding engine waits; best of 5 runs of {epochs} epochs), per-run setup "
              f"{best['setup'] * 1e3:.2f} ms")
    return rows


def per_digit(precisions, max_dim, overhead_s):
    X, y = load("test")
    n, d = X.shape
    rows = []
    for bits in precisions:
        s = stream_for(X, y, bits)
        cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=10,
                           loss="svm", step_size=2.0 ** -12)
        b = backend(bits, max_dim)
        t0 = time.perf_counter()
        r = b.run(cfg, s)
        wall = time.perf_counter() - t0
        r.raise_for_error("sim")
        host = 10 * overhead_s          # steady-state driver time per epoch (section 3)
        setup = b.driver.last_timing["setup"]
        proj = r.cycles / CLOCK_HZ + host + setup
        ref = FIGURES_2017.get(bits)
        rows.append({"bits": bits, "cycles": r.cycles, "words": r.words,
                     "engine_s": r.cycles / CLOCK_HZ, "driver_s": host, "setup_s": setup,
                     "driver_this_run_per_epoch_s": b.driver.last_timing["overhead_per_epoch"],
                     "projected_s": proj,
                     "sim_wall_s": wall, "fig_2017_s": ref})
        print(f"  Q{bits}: {r.cycles:>10d} cycles ({r.cycles / r.words:.3f}/word) -> engine "
              f"{r.cycles / CLOCK_HZ * 1e3:7.1f} ms + driver {host * 1e3:.2f} ms + setup "
              f"{setup * 1e3:.2f} ms = "
              f"{proj * 1e3:7.1f} ms per digit"
              + (f"   (2017: {ref * 1e3:.0f} ms, {ref / proj:.1f}x)" if ref else "")
              + f"   [sim {wall:.1f} s]")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--precisions", type=int, nargs="+", default=list(spec.PRECISIONS))
    ap.add_argument("--max-dim", type=int, default=spec.DEFAULT_MAX_DIM)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo"],
                         capture_output=True, text=True).stdout.split(":")[-1].strip()
    print(f"machine: {platform.node()} {cpu}, {os.cpu_count()} cores; "
          f"{sim.verilator_version()}")
    res = {"machine": cpu, "cores": os.cpu_count()}
    print(f"1. Verilator builds (G_MAX_DIM={args.max_dim}):")
    res["builds"] = build_times(sorted(set(args.precisions) | {4}), args.max_dim)
    print("2. one Fashion-MNIST epoch through the RTL (target <= 30 s):")
    res["epoch"] = full_epoch(args.max_dim)
    print(f"   -> {'PASS' if res['epoch']['sim_s'] <= 30 else 'MISS'}")
    print("3. driver time per epoch (target <= 100 us):")
    res["overhead"] = driver_overhead(args.max_dim)
    worst = max(r["overhead_per_epoch"] for r in res["overhead"])
    print(f"   -> {'PASS' if worst <= 100e-6 else 'MISS'}")
    print("4. projected board time per MNIST digit (10,000 x 784, 10 epochs, 100 MHz):")
    res["digit"] = per_digit(args.precisions, args.max_dim, worst)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
