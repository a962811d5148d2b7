"""Resource estimate of the portable float32 units: ghdl synth + Yosys synth_xilinx (xc7).

Usage: ``python benchmarks/fp_synth_yosys.py [add mul fix2flt flt2fix]`` (about a minute per
unit). Prints, per unit, LUTs (LUT1..LUT6), SRL16E/SRLC32E, flip-flops (FD*), CARRY4, MUXF7/8,
DSP48E1, and the longest combinational path between registers in cells (Yosys ``ltp`` on the
mapped netlist without FD*/SRL*/DSP48E1 cells; a CARRY4 counts as one cell): a logic-depth proxy,
as Yosys has no 7-series timing model.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "rtl"))
import fp_bench  # noqa: E402

UNITS = ("add", "mul", "fix2flt", "flt2fix")


def synth(unit: str) -> dict:
    top = f"zipml_fp_{unit}_portable"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        verilog = tmp / f"{top}.v"
        verilog.write_text(fp_bench.check_synth(top, tmp / "work"))
        script = (f"read_verilog {verilog}; synth_xilinx -family xc7 -top {top}; "
                  f"tee -o {tmp}/stat.txt stat; "
                  # longest path through LUT / CARRY4 / MUXF cells only: registers (FD*, SRL*,
                  # the DSP48E1 used with its pipeline registers) cut the paths
                  f"tee -o {tmp}/ltp.txt ltp -noff w:* t:* %u t:FD* %d t:SRL* %d t:DSP48E1 %d")
        r = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"yosys failed for {top}:\n{r.stderr[-3000:]}")
        stat = (tmp / "stat.txt").read_text()
        ltp = (tmp / "ltp.txt").read_text()
    cells = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+(\d+)$", stat, re.M)}
    if any(k.startswith("LD") for k in cells):
        raise RuntimeError(f"{top}: latches in the mapped netlist: {cells}")
    m = re.search(r"Longest topological path in \S+ \(length=(\d+)\)", ltp)
    return {
        "LUT": sum(v for k, v in cells.items() if re.fullmatch(r"LUT\d", k)),
        "SRL": sum(v for k, v in cells.items() if k.startswith("SRL")),
        "FF": sum(v for k, v in cells.items() if re.fullmatch(r"FD\w+", k)),
        "CARRY4": cells.get("CARRY4", 0),
        "MUXF": cells.get("MUXF7", 0) + cells.get("MUXF8", 0),
        "DSP48E1": cells.get("DSP48E1", 0),
        "depth": int(m.group(1)) if m else None,
    }


def main(argv: list[str]) -> None:
    units = argv or list(UNITS)
    bad = set(units) - set(UNITS)
    if bad:
        raise SystemExit(f"unknown unit(s) {sorted(bad)}; choose from {UNITS}")
    print(f"{'unit':10} {'LUT':>5} {'SRL':>4} {'FF':>5} {'CARRY4':>6} {'MUXF':>5} {'DSP':>4} "
          f"{'ltp':>4}")
    for u in units:
        r = synth(u)
        print(f"{u:10} {r['LUT']:5} {r['SRL']:4} {r['FF']:5} {r['CARRY4']:6} {r['MUXF']:5} "
              f"{r['DSP48E1']:4} {r['depth'] if r['depth'] is not None else '?':>4}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
