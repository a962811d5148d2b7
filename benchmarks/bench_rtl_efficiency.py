"""Stream efficiency of the engine RTL (GHDL + cocotb): input words per clock cycle.

For each precision and d in (64, 784, 4096) the engine (``G_MAX_DIM`` = 4096) runs ``E`` epochs
of ``n`` random samples (linear regression, DELAY = 1, KEEP_MODEL so that START does not
clear the memory) with no valid gaps on the input and no back-pressure on the output. Measured
from the engine's own counters: WORDS / CYCLES over the run (CYCLES counts every cycle while
BUSY: stream, end-of-epoch drain, model output). The bench also counts the cycles in which the
source offered a word that the engine refused (stalls while streaming); the steady state is one
word per cycle when that count is 0. The per-epoch overhead (cycles - words) / E gives the
efficiency at other n by ``n W / (n W + overhead)`` (reported as a projection, labelled so).

Usage::

    python benchmarks/bench_rtl_efficiency.py                 # all precisions, default sizes
    python benchmarks/bench_rtl_efficiency.py --bits 1 8 --words 20000 --epochs 2
    python benchmarks/bench_rtl_efficiency.py --markdown      # table for BENCHMARKS.md

GHDL + cocotb simulates a few thousand cycles per second on this design, so ``--words`` (words
per epoch) is kept moderate there.

``--verilator`` measures the same quantity on epochs of realistic length instead: the Verilator
model of the same RTL (``ghdl synth`` netlist, ``backend="sim"``, ``G_MAX_DIM`` 8192) runs ``E``
epochs of ``--samples`` random samples per d through the package's driver and DMA models at
full rate, and the engine's own WORDS and CYCLES registers give words per cycle (measured, not
projected)::

    python benchmarks/bench_rtl_efficiency.py --verilator --samples 10000 --markdown
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "rtl"))

MAX_DIM = 4096
DIMS = (64, 784, 4096)

# ----------------------------------------------------------------------------- cocotb part
try:
    import cocotb
    from cocotb.triggers import ClockCycles, RisingEdge
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None and os.environ.get("ZIPML_BENCH_CASES"):
    import numpy as np
    from cocotbext.axi import AxiStreamFrame

    from zipml.config import EngineConfig

    @cocotb.test()
    async def bench_efficiency(dut):
        from engine_tb import EngineTB, random_problem
        bits = int(os.environ["ZIPML_BITS"])
        cases = json.loads(os.environ["ZIPML_BENCH_CASES"])
        out = Path(os.environ["ZIPML_BENCH_OUT"])
        tb = EngineTB(dut)
        await tb.reset()
        rng = np.random.default_rng(1)
        results = []
        for d, n, E in cases:
            cfg = EngineConfig(bits, num_samples=n, num_features=d, num_epochs=E,
                               loss="linreg", step_size=2.0 ** -12, keep_model=True,
                               signed=True)
            stream = random_problem(rng, cfg)
            # cycle accounting by core state (S_RUN = 3, S_FINAL = 6 of zipml_core.t_state)
            acct = {"stall": 0, "run": 0, "final": 0, "other": 0}
            running = [True]

            async def count_stalls():
                while running[0]:
                    await RisingEdge(dut.aclk)
                    if not int(dut.u_core.busy.value):
                        continue
                    stt = int(dut.u_core.state.value)
                    if stt == 3:
                        acct["run"] += 1
                        if int(dut.s_axis_tvalid.value) and not int(dut.s_axis_tready.value):
                            acct["stall"] += 1
                    elif stt == 6:
                        acct["final"] += 1
                    else:
                        acct["other"] += 1
            mon = cocotb.start_soon(count_stalls())
            t0 = time.time()
            await tb.configure(cfg)
            await tb.start()
            for _ in range(E):
                await tb.src.send(AxiStreamFrame(stream.astype("<u8").tobytes()))
            for _ in range(E):
                await tb.recv_model(d, 50 * (cfg.epoch_words + 4 * d) + 10000)
            st = await tb.wait_done(5000)
            running[0] = False
            await ClockCycles(dut.aclk, 2)
            mon.cancel()
            cnt = await tb.counters()
            assert st["error"] == 0, st
            res = dict(bits=bits, d=d, n=n, epochs=E, W=cfg.words_per_sample,
                       staleness=cnt["staleness"], words=cnt["words"], cycles=cnt["cycles"],
                       stalls=acct["stall"], run_cycles=acct["run"],
                       final_cycles=acct["final"], other_cycles=acct["other"],
                       wall_s=round(time.time() - t0, 1))
            dut._log.info(f"bench {res}")
            results.append(res)
        out.write_text(json.dumps(results))


# ----------------------------------------------------------------------------- driver
def run_bits(bits: int, words: int, epochs: int, dims=DIMS) -> list[dict]:
    import ghdl
    from zipml import rtl, spec
    cases = []
    for d in dims:
        W = spec.words_per_sample(bits, d)
        n = max(4, -(-words // W))
        cases.append((d, n, epochs))
    out = ROOT / "build" / "bench" / f"eff_q{bits}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    ghdl.run("zipml_sgd_engine", rtl.manifest(bits), "bench_rtl_efficiency",
             generics={"G_BITS": bits, "G_MAX_DIM": MAX_DIM}, name=f"bench_eff_q{bits}",
             env={"ZIPML_BITS": bits, "ZIPML_BENCH_CASES": json.dumps(cases),
                  "ZIPML_BENCH_OUT": str(out),
                  "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"),
                                                 str(ROOT / "tests" / "rtl"), str(ROOT)])})
    return json.loads(out.read_text())


def summarise(r: dict, n_proj: int = 10000) -> dict:
    """Derived figures of one measured run.

    - ``efficiency``: WORDS / CYCLES of the whole run (measured; includes the final model
      output of the run, d cycles, and the per-epoch overhead);
    - ``overhead_per_epoch``: cycles outside the stream per epoch (prep, drain, flush; the
      model output of all but the last epoch overlaps the next epoch) plus input stalls;
    - ``efficiency_epoch``: n W / (n W + overhead) at the measured n (steady state, many
      epochs); ``n_97``: samples per epoch needed for 0.97;
    - ``efficiency_proj``: the same at ``n_proj`` samples (a projection from the measured
      overhead, labelled as such), and the samples/s it gives at 100 and 150 MHz.
    """
    eff = r["words"] / r["cycles"]
    overhead = (r["other_cycles"] + r["stalls"]) / r["epochs"]
    W, n = r["W"], r["n"]
    ep = n * W / (n * W + overhead)
    n97 = math.ceil(0.97 / 0.03 * overhead / W)
    proj = n_proj * W / (n_proj * W + overhead)
    return dict(r, efficiency=eff, overhead_per_epoch=overhead, efficiency_epoch=ep, n_97=n97,
                n_proj=n_proj, efficiency_proj=proj,
                samples_per_s_100=100e6 * proj / W, samples_per_s_150=150e6 * proj / W)


def markdown(rows: list[dict]) -> str:
    lines = ["| precision | d | W | n | S_d | words | cycles | stalls | words/cycle, run "
             "(measured) | overhead/epoch (cycles) | words/cycle per epoch at this n | n for "
             "0.97 | projected words/cycle at n=10000 | projected samples/s @100 MHz "
             "| @150 MHz |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| Q{r['bits']} | {r['d']} | {r['W']} | {r['n']} | {r['staleness']} | "
                     f"{r['words']} | {r['cycles']} | {r['stalls']} | {r['efficiency']:.4f} | "
                     f"{r['overhead_per_epoch']:.0f} | {r['efficiency_epoch']:.4f} | "
                     f"{r['n_97']} | {r['efficiency_proj']:.4f} | "
                     f"{r['samples_per_s_100']:.3g} | {r['samples_per_s_150']:.3g} |")
    return "\n".join(lines)


def run_verilator(bits: int, samples: int, epochs: int, dims=DIMS) -> list[dict]:
    """Measured words/cycle of ``epochs`` epochs of ``samples`` random samples per d, through
    the Verilator model of the RTL (the package's sim backend), checked bit-identical to the
    C engine."""
    import numpy as np

    from zipml import pack, quantize, spec
    from zipml.backends import CpuBackend
    from zipml.config import EngineConfig
    from zipml.hw import EngineDriver, HwBackend, sim

    rows = []
    for d in dims:
        rng = np.random.default_rng(d)
        X = rng.uniform(-1, 1, (samples, d)).astype(np.float32)
        y = rng.uniform(-1, 1, samples)
        s = (pack.pack(X, y, 0) if bits == 0 else
             pack.pack(quantize.quantize(X, bits, rounding="nearest", seed=0, signed=True), y,
                       bits))
        cfg = EngineConfig(bits=bits, num_samples=samples, num_features=d, num_epochs=epochs,
                           loss="linreg", step_size=2.0 ** -14, signed=bits != 0)
        b = HwBackend("sim", EngineDriver(sim.SimDevice(spec.DEFAULT_MAX_DIM), bits,
                                           timeout=60.0))
        t0 = time.perf_counter()
        r = b.run(cfg, s)
        wall = time.perf_counter() - t0
        r.raise_for_error("sim")
        same = bool(np.array_equal(r.models, CpuBackend(bits, max_dim=spec.DEFAULT_MAX_DIM)
                                   .run(cfg, s).models))
        W = spec.words_per_sample(bits, d)
        eff = r.words / r.cycles
        row = dict(bits=bits, d=d, W=W, n=samples, epochs=epochs, words=r.words,
                   cycles=r.cycles, efficiency=eff,
                   overhead_per_epoch=(r.cycles - r.words) / epochs,
                   samples_per_s_100=100e6 * eff / W, samples_per_s_150=150e6 * eff / W,
                   bit_identical=same, sim_s=round(wall, 1))
        print(f"Q{bits} d={d}: {r.words} words in {r.cycles} cycles = {eff:.4f} words/cycle "
              f"({row['overhead_per_epoch']:.0f} cycles/epoch besides words), bit-identical to "
              f"the C engine: {same} [sim {wall:.1f} s]", file=sys.stderr)
        rows.append(row)
    return rows


def markdown_verilator(rows: list[dict]) -> str:
    lines = ["| precision | d | W | n per epoch | epochs | words | cycles | words/cycle "
             "(measured) | target | cycles/epoch besides words | samples/s @100 MHz | @150 MHz "
             "| models = C engine |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| Q{r['bits']} | {r['d']} | {r['W']} | {r['n']} | {r['epochs']} | "
                     f"{r['words']} | {r['cycles']} | {r['efficiency']:.4f} | "
                     f"{'met' if r['efficiency'] >= 0.97 else 'MISSED'} (0.97) | "
                     f"{r['overhead_per_epoch']:.0f} | {r['samples_per_s_100']:.3g} | "
                     f"{r['samples_per_s_150']:.3g} | {r['bit_identical']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bits", type=int, nargs="*", default=[0, 1, 2, 4, 8])
    ap.add_argument("--dims", type=int, nargs="*", default=list(DIMS))
    ap.add_argument("--words", type=int, default=30000, help="stream words per epoch")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--verilator", action="store_true",
                    help="measure through the Verilator model (realistic epoch lengths)")
    ap.add_argument("--samples", type=int, default=10000,
                    help="with --verilator: samples per epoch")
    ap.add_argument("--from-json", action="store_true",
                    help="do not simulate: tabulate build/bench/eff_q<bits>.json of a previous run")
    args = ap.parse_args(argv)
    rows = []
    if args.verilator:
        for b in args.bits:
            rows += run_verilator(b, args.samples, args.epochs, tuple(args.dims))
        print(markdown_verilator(rows) if args.markdown else json.dumps(rows, indent=1))
        return
    if args.from_json:
        for b in args.bits:
            rows += [summarise(r) for r in
                     json.loads((ROOT / "build" / "bench" / f"eff_q{b}.json").read_text())]
        print(markdown(rows) if args.markdown else json.dumps(rows, indent=1))
        return
    for b in args.bits:
        t0 = time.time()
        for r in run_bits(b, args.words, args.epochs, tuple(args.dims)):
            rows.append(summarise(r))
        print(f"Q{b}: {time.time() - t0:.0f} s", file=sys.stderr)
    print(markdown(rows) if args.markdown else json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
