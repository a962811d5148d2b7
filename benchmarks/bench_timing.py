"""Timing estimate of every precision (Yosys 0.70 -abc9 + zipml.timing), as Markdown tables.

    python benchmarks/bench_timing.py [--bits 0 1 2 4 8] [--max-dim 8192]

Per precision: the worst estimated register-to-register path, the number of path groups (start
and end register buses) above 8.0 ns (100 MHz with 20 % margin), 6.67 ns (150 MHz, the HP
port's limit) and 5.33 ns (150 MHz with 20 % margin), and per RTL unit the worst path with the
register stages it would need for 150 MHz: ceil(delay / 6.67 ns) - 1 more cuts, if the logic
divides evenly (a lower bound). One Yosys run per precision (cached by RTL digest under
build/synth/): about 1.5 min and 650 MB on an idle core.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zipml import timing  # noqa: E402

P150 = 1000 / 150


def unit(name: str) -> str:
    """RTL unit of a register name: the instance path without the signal."""
    name = re.sub(r" \(.*\)$", "", name)
    parts = name.split(".")
    if len(parts) == 1:
        return "(top level ports)" if "port" in name else "zipml_sgd_engine"
    path = [p for p in parts[:-1] if not p.startswith("g_")]
    return ".".join(path[:3])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bits", type=int, nargs="+", default=[0, 1, 2, 4, 8])
    ap.add_argument("--max-dim", type=int, default=8192)
    args = ap.parse_args(argv)
    summary = ["| precision | worst path (ns) | est. MHz | groups > 8.0 ns | > 6.67 ns | "
               "> 5.33 ns | LUT | FF | BRAM36 | DSP |", "|---|---|---|---|---|---|---|---|---|---|"]
    detail = []
    for bits in args.bits:
        rep = timing.estimate(bits, args.max_dim, n=1)
        paths = rep.analysis.worst(10 ** 6)
        over = lambda t: sum(p.ns > t for p in paths)
        u = rep.resources.used
        summary.append(f"| Q{bits} | {paths[0].ns:.2f} | {1000 / paths[0].ns:.0f} | {over(8.0)} | "
                       f"{over(P150):.0f} | {over(0.8 * P150)} | {u['LUT']} | {u['FF']} | "
                       f"{u['BRAM36']:g} | {u['DSP48']} |")
        worst_by_unit = {}
        for p in paths:
            key = unit(p.end)
            if key not in worst_by_unit:
                worst_by_unit[key] = p
        detail.append(f"\nQ{bits}: worst path per unit (end register's unit), those above "
                      f"{P150:.2f} ns\n")
        detail.append("| unit | worst (ns) | levels | start -> end | cuts for 150 MHz |")
        detail.append("|---|---|---|---|---|")
        for key, p in sorted(worst_by_unit.items(), key=lambda kv: -kv[1].ns):
            if p.ns <= P150:
                continue
            lv = ", ".join(f"{v} {k}" for k, v in sorted(p.levels.items()))
            detail.append(f"| {key} | {p.ns:.2f} | {lv} | `{p.start}` -> `{p.end}` | "
                          f"{math.ceil(p.ns / P150) - 1} |")
        print(f"Q{bits} done: worst {paths[0].ns:.2f} ns", file=sys.stderr)
    print("\n".join(summary))
    print("\n".join(detail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
