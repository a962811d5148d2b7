"""Long FP cross-check: C engine (zipml.cengine) vs exact reference (zipml.reference).

The test suite (tests/test_c_vs_reference.py) runs 10^5 operands per op; this script runs as
many as you like with other seeds and reports mismatches and timings::

    python benchmarks/fp_crosscheck.py --n 1000000 --seed 1
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from ref_streams import fix2flt_operands, fp_operand_pairs, fp_unary_operands  # noqa: E402

from zipml import cengine  # noqa: E402
from zipml import reference as R  # noqa: E402


def _check(name, c_out, ref_fn, args):
    t0 = time.perf_counter()
    ref = [ref_fn(*(int(x) for x in row)) for row in zip(*args)]
    t_ref = time.perf_counter() - t0
    if isinstance(ref[0], tuple):
        want = np.array([r[0] for r in ref], np.int64)
        flag = np.array([r[1] for r in ref], bool)
        got, got_flag = c_out
        bad = (got.astype(np.int64) != want) | (got_flag != flag)
    else:
        want = np.array(ref, np.uint32)
        bad = c_out != want
    idx = np.nonzero(bad)[0][:5]
    print(f"{name:8s} n={args[0].size:>9d} mismatches={int(bad.sum()):>6d}  "
          f"reference {t_ref:7.2f} s  first: {[tuple(int(a[i]) for a in args) for i in idx]}")
    return int(bad.sum())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=float, default=1e5, help="operands per op (default 1e5)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    n = int(args.n)
    rng = np.random.default_rng(args.seed)
    total = 0
    for op in ("fadd", "fsub", "fmul"):
        a, b = fp_operand_pairs(rng, n, "mul" if op == "fmul" else "add")
        t0 = time.perf_counter()
        c = getattr(cengine, op)(a, b)
        print(f"  C {op}: {time.perf_counter() - t0:.3f} s")
        total += _check(op, c, getattr(R, op), (a, b))
    A, F = fix2flt_operands(rng, n)
    total += _check("fix2flt", cengine.fix2flt(A, F), R.fix2flt, (A, F))
    for op in ("flt2fix", "smp2fix", "plan"):
        v = fp_unary_operands(rng, n)
        total += _check(op, getattr(cengine, op)(v), getattr(R, op), (v,))
    print("TOTAL mismatches:", total)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
