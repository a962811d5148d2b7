"""Long cross-check of the portable float32 units against the C model, through Verilator.

The cocotb benches (``tests/rtl/test_fp_*.py``) check ~1e5 operations per unit; this script
checks many more: ``ghdl synth`` turns each portable unit into Verilog, Verilator compiles it
together with a C++ harness and ``cmodel/zipml_fp.c`` (the C engine's FP functions), and the
harness drives one random operation per cycle, comparing every result (and its latency) with the
C function. ``--exhaustive`` runs flt2fix over all 2^32 inputs.

Usage::

    python benchmarks/fp_verilator_crosscheck.py [-n 100000000] [--seed S] [--exhaustive] [units]

Exit status 1 on any mismatch. Build products go to ``build/verilator_fp/<unit>``.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rtl"))
import fp_bench  # noqa: E402

UNITS = ("add", "mul", "fix2flt", "flt2fix")

HARNESS = r"""
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "V{top}.h"
#include "verilated.h"
extern "C" {{
#include "zipml_fp.h"
}}

static uint64_t rs;
static inline uint64_t rnd() {{ rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }}
static inline uint32_t pack(uint32_t s, uint32_t e, uint32_t f) {{
  return (s << 31) | ((e & 0xFF) << 23) | (f & 0x7FFFFF);
}}
static inline uint32_t expo(uint32_t x) {{ return (x >> 23) & 0xFF; }}
static inline int32_t clampi(int64_t v, int64_t lo, int64_t hi) {{
  return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}}

struct Op {{ uint64_t a; uint32_t b; uint32_t res; int sat; uint64_t cycle; }};

int main(int argc, char **argv) {{
  uint64_t n = strtoull(argv[1], nullptr, 0);
  rs = strtoull(argv[2], nullptr, 0) | 1;
  int exhaustive = argc > 3;
  const uint64_t LAT = {latency};
  V{top} *t = new V{top};
  std::vector<Op> fifo(1024);
  uint64_t head = 0, tail = 0, issued = 0, checked = 0, bad = 0, cycle = 0;
  t->aclk = 0; t->in_valid = 0; t->eval();
  while (checked < n) {{
    bool v = issued < n;
    if (v) {{
      Op op{{}};
      uint64_t r = rnd(), r2 = rnd();
      uint32_t a = (uint32_t)r, b = (uint32_t)(r >> 32);
      int kind = (int)(r2 & 3);
      (void)kind; (void)b; (void)a;
{gen}
      op.cycle = cycle;
      fifo[tail++ & 1023] = op;
      t->in_valid = 1;
{drive}
      issued++;
    }} else {{
      t->in_valid = 0;
    }}
    t->aclk = 1; t->eval();
    if (t->out_valid) {{
      if (head == tail) {{ printf("ERROR result without operation at cycle %llu\n",
                                 (unsigned long long)cycle); return 1; }}
      Op &op = fifo[head++ & 1023];
      uint64_t lat = cycle - op.cycle + 1;
{check}
      if (lat != LAT || !ok) {{
        if (bad < 10)
          printf("MISMATCH a=0x%llx b=0x%x: got 0x%x sat %d (latency %llu), expected 0x%x sat %d\n",
                 (unsigned long long)op.a, op.b, got, gsat, (unsigned long long)lat, op.res,
                 op.sat);
        bad++;
      }}
      checked++;
    }}
    t->aclk = 0; t->eval();
    cycle++;
    if (cycle > 2 * n + 1000) {{ printf("ERROR timeout\n"); return 1; }}
  }}
  printf("RESULT checked=%llu mismatches=%llu cycles=%llu\n", (unsigned long long)checked,
         (unsigned long long)bad, (unsigned long long)cycle);
  delete t;
  return bad ? 1 : 0;
}}
"""

GEN_AB_ADD = """
      if (kind == 1 || kind == 2) {            // close exponents
        int e = (int)expo(a) + (int)(r2 >> 8) % 7 - 3;
        b = pack(b >> 31, (uint32_t)(e < 0 ? 0 : e > 255 ? 255 : e), b);
      } else if (kind == 3) {                  // alignment shifts 0..30
        int e = (int)expo(a) - (int)((r2 >> 8) % 31);
        b = pack(b >> 31, (uint32_t)(e < 0 ? 0 : e), b);
      }
      op.a = a; op.b = b; op.res = zml_fadd(a, b);"""
GEN_AB_MUL = """
      if (kind >= 2) {                         // exponent sums mostly in range
        a = pack(a >> 31, 64 + (uint32_t)((r2 >> 8) % 127), a);
        b = pack(b >> 31, 64 + (uint32_t)((r2 >> 20) % 127), b);
      }
      op.a = a; op.b = b; op.res = zml_fmul(a, b);"""
GEN_FIX = """
      uint64_t raw = r;
      int bits = (int)((r2 >> 8) % 64);
      int64_t acc = (int64_t)(raw >> (63 - bits));
      if (r2 & 0x10000) acc = -acc;
      if (kind == 0) acc = (int64_t)raw;
      if (exhaustive) acc = (int64_t)issued;
      op.a = (uint64_t)acc; op.res = zml_fix2flt(acc, 30);"""
GEN_FLT = """
      if (kind != 0) a = pack(a >> 31, 90 + (uint32_t)((r2 >> 8) % 51), a);
      if (exhaustive) a = (uint32_t)issued;
      int s = 0;
      op.a = a; op.res = (uint32_t)zml_flt2fix(a, &s); op.sat = s;"""
DRIVE_AB = """      t->in_a = (uint32_t)op.a;
      t->in_b = op.b;"""
DRIVE_A32 = """      t->in_a = (uint32_t)op.a;"""
DRIVE_A64 = """      t->in_a = op.a;"""
CHECK = """      uint32_t got = t->out_result; int gsat = op.sat;
      bool ok = got == op.res;"""
CHECK_SAT = """      uint32_t got = t->out_result; int gsat = t->out_sat;
      bool ok = got == op.res && gsat == op.sat;"""

SPEC = {
    "add": (GEN_AB_ADD, DRIVE_AB, CHECK),
    "mul": (GEN_AB_MUL, DRIVE_AB, CHECK),
    "fix2flt": (GEN_FIX, DRIVE_A64, CHECK),
    "flt2fix": (GEN_FLT, DRIVE_A32, CHECK_SAT),
}


def build(unit: str) -> Path:
    top = f"zipml_fp_{unit}_portable"
    d = ROOT / "build" / "verilator_fp" / unit
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{top}.v").write_text(fp_bench.check_synth(top, d / "ghdl"))
    gen, drive, check = SPEC[unit]
    (d / "harness.cpp").write_text(HARNESS.format(top=top, latency=fp_bench.pkg_latency(unit),
                                                  gen=gen, drive=drive, check=check))
    cmd = ["verilator", "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint",
           "--top-module", top, "-CFLAGS", f"-O2 -I{ROOT / 'cmodel'}", "-Mdir", str(d / "obj"),
           str(d / f"{top}.v"), str(d / "harness.cpp"), str(ROOT / "cmodel" / "zipml_fp.c")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"verilator failed for {top}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return d / "obj" / f"V{top}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("units", nargs="*", default=list(UNITS))
    ap.add_argument("-n", type=int, default=100_000_000, help="operations per unit")
    ap.add_argument("--seed", type=lambda s: int(s, 0), default=0x2026_1122)
    ap.add_argument("--exhaustive", action="store_true",
                    help="flt2fix / fix2flt: operands 0 .. n-1 (flt2fix with -n 4294967296: all)")
    args = ap.parse_args(argv)
    bad_units = set(args.units) - set(UNITS)
    if bad_units:
        ap.error(f"unknown unit(s) {sorted(bad_units)}; choose from {UNITS}")
    failed = False
    for u in args.units:
        exe = build(u)
        t0 = time.time()
        cmd = [str(exe), str(args.n), str(args.seed)] + (["x"] if args.exhaustive else [])
        r = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.time() - t0
        print(f"{u}: {r.stdout.strip()} ({dt:.1f} s)", flush=True)
        m = re.search(r"RESULT checked=(\d+) mismatches=(\d+)", r.stdout)
        if r.returncode or not m or int(m.group(2)) or int(m.group(1)) != args.n:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
