"""``zipml synth``: open-source synthesis resource report of the engine for the xc7z020."""
from __future__ import annotations

HELP = ("synthesise the engine with ghdl synth + Yosys synth_xilinx and print LUT/FF/BRAM/DSP "
        "against the xc7z020")


def add_arguments(p):
    p.add_argument("--bits", type=int, nargs="+", choices=(0, 1, 2, 4, 8), default=[4],
                   help="precision(s) to synthesise (default 4)")
    p.add_argument("--max-dim", type=int, default=8192, help="G_MAX_DIM (default 8192)")
    p.add_argument("--verilog-only", action="store_true",
                   help="stop after ghdl synth (print the Verilog path)")


def run(args) -> int:
    from .. import synth
    ok = True
    for bits in args.bits:
        try:
            vfile = synth.ghdl_verilog(bits, args.max_dim)
            if args.verilog_only:
                print(vfile)
                continue
            res = synth.yosys_resources(bits, args.max_dim, vfile=vfile)
        except synth.ToolMissing as exc:
            raise OSError(str(exc)) from None
        except RuntimeError as exc:         # the tool ran and failed: its log, exit 1
            import sys
            print(f"zipml synth: Q{bits}: {exc}", file=sys.stderr)
            return 1
        print(res.table())
        print()
        ok &= res.meets_targets()
    return 0 if ok else 1
