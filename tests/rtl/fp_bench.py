"""Shared parts of the float32 unit benches (``tests/rtl/test_fp_*.py``).

* operand generators: corner cases and random operands for fadd / fmul / fix2flt / flt2fix;
* :func:`stream`: a cocotb driver that pushes one operation per cycle (with a stretch of random
  gaps in ``in_valid`` first), collects the results and checks the latency of every result
  against the constant of ``RTL/fp/zipml_fp_pkg.vhd``;
* :func:`fp_sources`, :func:`check_synth`: the unit's VHDL files from ``RTL/manifest.txt`` and a
  ``ghdl synth`` check (no latches).

Expected values come from the C model (``zipml.cengine``), never from this module.
Environment: ``ZIPML_FP_N`` random operations per bench (default 100000), ``ZIPML_FP_SEED``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FP_PKG = ROOT / "RTL" / "fp" / "zipml_fp_pkg.vhd"
U32 = np.uint32

N_RANDOM = int(os.environ.get("ZIPML_FP_N", "100000"))
SEED = int(os.environ.get("ZIPML_FP_SEED", "20261122"))
XILINX = os.environ.get("ZIPML_FP_XILINX", "0") == "1"   # bench runs the G_FP_XILINX branch
N_GLUE = min(N_RANDOM, 20000)   # random operations of the (stand-in) Xilinx glue runs
XLNX_STUB = Path(__file__).resolve().parent / "xlnx_stub"
N_GAPPY = 3000          # first operations driven with random gaps in in_valid


# ----------------------------------------------------------------------------- package constants
def pkg_latency(op: str, xilinx: bool = False) -> int:
    """Latency constant of unit ``op`` read from ``zipml_fp_pkg.vhd`` (C_PORT_/C_XLNX_FP_*)."""
    name = f"C_{'XLNX' if xilinx else 'PORT'}_FP_{op.upper()}_LATENCY"
    m = re.search(rf"constant\s+{name}\s*:\s*natural\s*:=\s*(\d+)\s*;", FP_PKG.read_text())
    if not m:
        raise ValueError(f"{FP_PKG}: constant {name} not found")
    return int(m.group(1))


# ----------------------------------------------------------------------------- sources / synth
def fp_sources() -> list[Path]:
    """VHDL files of the FP units, in manifest order (the ``fp/`` lines of RTL/manifest.txt)."""
    from zipml import rtl
    files = []
    # parse_manifest rather than manifest(): the other lines (engine files being written by
    # others) need not exist for the FP benches
    for rel, bits, flows, lineno in rtl.parse_manifest():
        wanted = (bits is None or 0 in bits) and (flows is None or "sim" in flows)
        if rel.startswith("fp/") and wanted:
            p = rtl.RTL_DIR / rel
            if not p.exists():
                raise FileNotFoundError(f"{rtl.MANIFEST}:{lineno}: {rel} does not exist")
            files.append(p)
    if not files:
        raise FileNotFoundError(f"{rtl.MANIFEST}: no fp/ files listed")
    return files


def glue_sources(op: str) -> list[Path]:
    """FP files plus the simulation stand-in of core ``xlnx_fp_<op>`` and the configuration
    ``zipml_fp_<op>_xlnx_stub`` that binds the wrapper's core instance to it, instantiated with
    G_FP_XILINX = true by the test top ``zipml_fp_<op>_xlnx_tb``."""
    files = fp_sources()
    return files + [XLNX_STUB / f"xlnx_fp_{op}.vhd"]


def check_synth(entity: str, workdir: Path) -> str:
    """``ghdl -a`` the FP files and ``ghdl synth`` ``entity``; fail on errors or latches.

    Returns the synthesised Verilog (for Yosys).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for f in fp_sources():
        r = subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={workdir}", str(f)],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"ghdl -a {f} failed:\n{r.stderr}"
    r = subprocess.run(["ghdl", "synth", "--std=08", f"--workdir={workdir}", "-Wno-binding",
                        "--out=verilog", entity], capture_output=True, text=True)
    assert r.returncode == 0, f"ghdl synth {entity} failed:\n{r.stderr}"
    assert "latch" not in r.stderr.lower(), f"ghdl synth {entity}: latch inferred:\n{r.stderr}"
    assert f"module {entity}" in r.stdout, f"ghdl synth {entity}: no module in the output"
    # ghdl 2.0 can write latch-free VHDL (e.g. a case with "when others") as Verilog that
    # Yosys turns into a latch; Yosys' proc pass (fast) catches that
    if shutil.which("yosys"):
        v = workdir / f"{entity}.v"
        v.write_text(r.stdout)
        y = subprocess.run(["yosys", "-p", f"read_verilog {v}; proc"], capture_output=True,
                           text=True)
        assert y.returncode == 0, f"yosys read_verilog {v} failed:\n{y.stderr[-2000:]}"
        latches = [ln for ln in y.stdout.splitlines() if ln.startswith("Latch inferred")]
        assert not latches, f"yosys infers latches in {entity}:\n" + "\n".join(latches)
    return r.stdout


# ----------------------------------------------------------------------------- operand generators
def f32(x) -> np.ndarray:
    """binary32 bit patterns of python / numpy floats."""
    return np.asarray(x, dtype=np.float32).view(U32)


SPECIAL_F32 = np.array([
    0x00000000, 0x80000000,                      # signed zeros
    0x00000001, 0x807FFFFF, 0x00400000, 0x80000010,  # subnormals
    0x00800000, 0x80800000, 0x00800001, 0x00FFFFFF, 0x01000000,  # smallest normals
    0x3F800000, 0xBF800000, 0x3F800001, 0x3F7FFFFF, 0x3FC00000, 0x40000000, 0x3FFFFFFF,
    0x33800000, 0x34000000, 0x4B000000, 0x4B800000, 0x4B7FFFFF,    # 2^-24, 2^-23, 2^23, 2^24
    0x1F800000, 0x5F800000, 0x20000000, 0x5F000000,  # 2^-64, 2^64, 2^-63, 2^63 (products
    # near 2^-126 / 2^128)
    0x7F7FFFFF, 0xFF7FFFFF, 0x7F000000, 0x7EFFFFFF,  # largest finite
    0x7F800000, 0xFF800000,                      # infinities
    0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF, 0xFFBFFFFF,  # NaNs (quiet, signalling)
    0x43800000, 0xC3800000, 0x437FFFFF, 0xC37FFFFF, 0x43800001, 0xC3800001,  # +-256 region
    0x3EAAAAAB, 0xC0490FDB, 0x00C00000, 0x80A00000,
], dtype=U32)


def _rand_u32(rng, n):
    return rng.integers(0, 2**32, n, dtype=np.uint64).astype(U32)


def _pack(sign, exp, frac):
    return ((sign.astype(U32) & U32(1)) << U32(31)) | ((exp.astype(U32) & U32(0xFF)) << U32(23)) \
        | (frac.astype(U32) & U32(0x7FFFFF))


def _exp(x):
    return ((x >> U32(23)) & U32(0xFF)).astype(np.int64)


def corner_pairs_add(rng) -> tuple[np.ndarray, np.ndarray]:
    """Corner cases for fadd: all pairs of special values and targeted families."""
    s = SPECIAL_F32
    a0, b0 = np.meshgrid(s, s, indexing="ij")
    a_list, b_list = [a0.ravel(), a0.ravel()], [b0.ravel(), b0.ravel() ^ U32(0x80000000)]
    m = 2000
    base = _pack(rng.integers(0, 2, m), rng.integers(30, 220, m), rng.integers(0, 2**23, m))
    ea = _exp(base)
    sgn = (base >> U32(31)).astype(np.int64)
    # rounding ties and near-ties: b = +-2^(ea-24) * (1 or 1.f), same or opposite sign
    for k in (23, 24, 25, 26):
        frac = np.where(rng.random(m) < 0.5, 0, rng.integers(0, 2**23, m))
        a_list.append(base)
        b_list.append(_pack(rng.integers(0, 2, m), ea - k, frac))
    # exact tie constructions: a odd/even significand + half an ulp
    a_list.append(base)
    b_list.append(_pack(sgn, ea - 24, np.zeros(m, np.int64)))
    a_list.append(base | U32(1))
    b_list.append(_pack(sgn, ea - 24, np.zeros(m, np.int64)))
    # massive cancellation: b = -(a +- k ulp), and equal magnitudes (x + (-x) = +0)
    for k in (0, 1, 2, 3, 7, 1000):
        a_list.append(base)
        b_list.append((base ^ U32(0x80000000)) + U32(k))
        a_list.append(base)
        b_list.append((base ^ U32(0x80000000)) - U32(k))
    # results near 2^-126: small exponents, opposite and equal signs
    for _ in range(4):
        a = _pack(rng.integers(0, 2, m), rng.integers(1, 4, m), rng.integers(0, 2**23, m))
        b = _pack(rng.integers(0, 2, m), rng.integers(1, 4, m), rng.integers(0, 2**23, m))
        a_list.append(a)
        b_list.append(b)
    # overflow: large exponents, same sign
    for _ in range(2):
        sg = rng.integers(0, 2, m)
        a_list.append(_pack(sg, rng.integers(252, 255, m), rng.integers(0, 2**23, m)))
        b_list.append(_pack(sg, rng.integers(252, 255, m), rng.integers(0, 2**23, m)))
    # widely different exponents (alignment shift beyond the significand, sticky only)
    for lo, hi in ((20, 30), (30, 60), (100, 200)):
        d = rng.integers(lo, hi, m)
        a = _pack(rng.integers(0, 2, m), rng.integers(200, 254, m), rng.integers(0, 2**23, m))
        a_list.append(a)
        b_list.append(_pack(rng.integers(0, 2, m), np.maximum(_exp(a) - d, 0),
                            rng.integers(0, 2**23, m)))
    # normal + subnormal (the subnormal must act as zero)
    a_list.append(_pack(rng.integers(0, 2, m), rng.integers(1, 30, m), rng.integers(0, 2**23, m)))
    b_list.append(_pack(rng.integers(0, 2, m), np.zeros(m, np.int64), rng.integers(1, 2**23, m)))
    return np.concatenate(a_list).astype(U32), np.concatenate(b_list).astype(U32)


def random_pairs_add(rng, n) -> tuple[np.ndarray, np.ndarray]:
    """Random fadd operands: a quarter raw bits, half close exponents, a quarter medium gaps."""
    a = _rand_u32(rng, n)
    b = _rand_u32(rng, n)
    q = n // 4
    # close exponents (carry, cancellation, normalisation by many positions)
    idx = np.arange(q, 3 * q)
    e = np.clip(_exp(a[idx]) + rng.integers(-3, 4, idx.size), 0, 255)
    b[idx] = _pack(b[idx] >> U32(31), e, b[idx])
    # medium gaps (alignment shifts 0..30)
    idx = np.arange(3 * q, n)
    e = np.clip(_exp(a[idx]) - rng.integers(0, 31, idx.size), 0, 255)
    b[idx] = _pack(b[idx] >> U32(31), e, b[idx])
    return a, b


def corner_pairs_mul(rng) -> tuple[np.ndarray, np.ndarray]:
    """Corner cases for fmul: all pairs of special values and targeted families."""
    s = SPECIAL_F32
    a0, b0 = np.meshgrid(s, s, indexing="ij")
    a_list, b_list = [a0.ravel()], [b0.ravel()]
    m = 3000
    # products near 2^-126 (flush boundary, rounding up to 2^-126) and near 2^128 (overflow)
    for target in (0, 1, 2, 253, 254, 255):     # ea + eb - 127 around target
        ea = rng.integers(1, 255, m)
        eb = np.clip(target + 127 - ea + rng.integers(-1, 2, m), 1, 254)
        fa = np.where(rng.random(m) < 0.3, 0x7FFFFF, rng.integers(0, 2**23, m))
        fb = np.where(rng.random(m) < 0.3, 0x7FFFFF - rng.integers(0, 4, m),
                      rng.integers(0, 2**23, m))
        a_list.append(_pack(rng.integers(0, 2, m), ea, fa))
        b_list.append(_pack(rng.integers(0, 2, m), eb, fb))
    # (1 + k 2^-12)(1 + j 2^-12) with k, j odd: a product below 2 ends in the bit 2^-24,
    # exactly half an ulp (a tie); above 2 the last bit is sticky below the guard bit
    k = rng.integers(0, 2**11, m) * 2 + 1
    j = rng.integers(0, 2**11, m) * 2 + 1
    a_list.append(_pack(rng.integers(0, 2, m), rng.integers(100, 150, m), k << 11))
    b_list.append(_pack(rng.integers(0, 2, m), rng.integers(100, 150, m), j << 11))
    a_list.append(_pack(rng.integers(0, 2, m), rng.integers(100, 150, m), k << 11))
    b_list.append(_pack(rng.integers(0, 2, m), rng.integers(100, 150, m), j << 12))
    # powers of two (exact scaling, flush to zero only)
    a_list.append(_pack(rng.integers(0, 2, m), rng.integers(1, 255, m), rng.integers(0, 2**23, m)))
    b_list.append(_pack(rng.integers(0, 2, m), rng.integers(1, 255, m), np.zeros(m, np.int64)))
    # subnormal operands (act as signed zero) against normals and infinities
    a_list.append(_pack(rng.integers(0, 2, m), np.zeros(m, np.int64), rng.integers(1, 2**23, m)))
    b_list.append(rng.choice(SPECIAL_F32, m))
    return np.concatenate(a_list).astype(U32), np.concatenate(b_list).astype(U32)


def random_pairs_mul(rng, n) -> tuple[np.ndarray, np.ndarray]:
    """Random fmul operands: half raw bits, half with exponents whose sum stays in range."""
    a = _rand_u32(rng, n)
    b = _rand_u32(rng, n)
    idx = np.arange(n // 2, n)
    a[idx] = _pack(a[idx] >> U32(31), rng.integers(64, 191, idx.size), a[idx])
    b[idx] = _pack(b[idx] >> U32(31), rng.integers(64, 191, idx.size), b[idx])
    return a, b


def corner_fix(rng) -> np.ndarray:
    """Corner cases for fix2flt (int64 accumulators, 30 fraction bits)."""
    vals = [0, 1, -1, 2, -2, 3, (1 << 63) - 1, -(1 << 63), -(1 << 63) + 1, 1 << 30, -(1 << 30)]
    for k in range(0, 63):
        vals += [1 << k, -(1 << k), (1 << k) + 1, (1 << k) - 1, -((1 << k) + 1)]
    for k in range(0, 39):                  # ties and carries at every position
        for core in ((1 << 24) + 1, (1 << 24) + 3, (1 << 25) - 1, (1 << 24) - 1,
                     (1 << 23) + 1, (3 << 23) + 1):
            v = core << k
            if v < (1 << 63):
                vals += [v, -v, v + 1, -v - 1, v - 1]
    m = 5000
    sh = rng.integers(0, 40, m)
    core = rng.integers(1 << 24, 1 << 25, m)
    ties = (core | 1) << sh                 # odd 25-bit cores: exact half-ulp cases
    arr = np.concatenate([np.array(vals, dtype=np.int64), ties.astype(np.int64),
                          -ties.astype(np.int64)])
    return arr


def random_fix(rng, n) -> np.ndarray:
    """Random int64 accumulators with uniformly distributed bit lengths (and raw bits)."""
    raw = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True)
    bits = rng.integers(0, 64, n)
    shifted = (raw.view(np.uint64) >> (63 - bits).astype(np.uint64)).view(np.int64)
    sign = rng.integers(0, 2, n).astype(bool)
    out = np.where(sign, -shifted, shifted)
    raw_part = rng.random(n) < 0.2
    return np.where(raw_part, raw, out)


def corner_flt(rng) -> np.ndarray:
    """Corner cases for flt2fix."""
    vals = list(SPECIAL_F32)
    # around the clamp bounds and the rounding of the last bit
    for x in (256.0, -256.0, 255.99998474121094, -255.99998474121094, 128.0, -128.0,
              2.0**-23, 2.0**-24, -(2.0**-24), 2.0**-25, 1.5 * 2.0**-24, 3 * 2.0**-24, 2.0**-126,
              1e30, -1e30, 0.5, -0.5, 1.0, -1.0):
        vals.append(int(f32(x)))
    vals += [0x43800001, 0xC3800001, 0x437FFFFF, 0xC37FFFFF, 0x4F000000, 0xCF000000]
    m = 4000
    # exact ties: (k + 0.5) * 2^-23 for k of both parities, scaled into range
    k = rng.integers(0, 2**20, m)
    t = (2 * k + 1).astype(np.float64) * 2.0**-24
    t = np.where(rng.random(m) < 0.5, t, -t).astype(np.float32)
    assert np.all(t.astype(np.float64) * 2.0**24 % 2 == 1), "tie construction not exact"
    near = _pack(rng.integers(0, 2, m), rng.integers(133, 137, m), rng.integers(0, 2**23, m))
    small = _pack(rng.integers(0, 2, m), rng.integers(98, 106, m), rng.integers(0, 2**23, m))
    return np.concatenate([np.array(vals, dtype=U32), t.view(U32), near, small]).astype(U32)


def random_flt(rng, n) -> np.ndarray:
    """Random flt2fix operands: a fifth raw bits, the rest with exponents in 90 .. 140."""
    v = _rand_u32(rng, n)
    idx = np.arange(n // 5, n)
    v[idx] = _pack(v[idx] >> U32(31), rng.integers(90, 141, idx.size), v[idx])
    return v


# ----------------------------------------------------------------------------- cocotb driver
async def stream(dut, inputs: dict, outputs: tuple, latency: int, *, gappy: int = N_GAPPY,
                 seed: int = SEED):
    """Push one operation per cycle through ``dut`` and return the outputs in order.

    ``inputs`` maps port names to integer arrays (all the same length; negative values are
    written as two's complement of the port width). ``outputs`` names the result ports. The
    first ``gappy`` operations are driven with random gaps in ``in_valid``. Every result must
    appear exactly ``latency`` cycles after its operation was sampled; raises AssertionError
    otherwise. Returns a dict port -> numpy uint64 array.
    """
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import ClockCycles, RisingEdge

    clk = dut.aclk
    cocotb.start_soon(Clock(clk, 10, unit="ns").start())
    names = list(inputs)
    n = len(inputs[names[0]])
    handles = [getattr(dut, k) for k in names]
    masks = [(1 << len(h)) - 1 for h in handles]
    cols = [[int(v) & mk for v in np.asarray(inputs[k]).tolist()] for k, mk in zip(names, masks)]
    out_h = [getattr(dut, k) for k in outputs]
    res = [[] for _ in outputs]
    v_in = dut.in_valid
    v_out = dut.out_valid
    rng = np.random.default_rng(seed)
    gap = (rng.random(2 * N_GAPPY + 10) < 0.4).tolist()   # by cycle
    gappy = min(gappy, n)

    v_in.value = 0
    for h in handles:
        h.value = 0
    await ClockCycles(clk, 2)
    edge = RisingEdge(clk)
    in_cycle = []          # cycle index at which each operation was presented
    out_cycle = []
    i = 0
    cycle = 0
    limit = 2 * n + latency + 100
    while len(res[0]) < n:
        await edge
        # values read here are those registered at the previous edge
        if v_out.value == 1:
            for r, h in zip(res, out_h):
                v = h.value
                r.append(v.to_unsigned() if hasattr(v, "to_unsigned") else int(v))
            out_cycle.append(cycle)
        if i < n and not (i < gappy and gap[cycle]):
            for h, c in zip(handles, cols):
                h.value = c[i]
            v_in.value = 1
            in_cycle.append(cycle)
            i += 1
        else:
            v_in.value = 0
        cycle += 1
        if cycle > limit:
            raise AssertionError(f"only {len(res[0])} of {n} results after {cycle} cycles")
    await edge
    assert v_out.value == 0, "out_valid high after the last result"
    lat = np.array(out_cycle) - np.array(in_cycle) - 1
    bad = np.flatnonzero(lat != latency)
    assert bad.size == 0, (f"latency {lat[bad[0]]} instead of {latency} for operation "
                           f"{bad[0]} ({bad.size} operations)")
    return {k: np.array(r, dtype=np.uint64) for k, r in zip(outputs, res)}


def compare(name: str, got: np.ndarray, exp: np.ndarray, operands: dict, log=None) -> None:
    """Assert ``got == exp`` element-wise, listing the first mismatches with their operands."""
    got = np.asarray(got).astype(np.uint64)
    exp = np.asarray(exp).astype(np.uint64)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    bad = np.flatnonzero(got != exp)
    if log is not None:
        log.info("%s: %d operations, %d mismatches", name, got.size, bad.size)
    if bad.size:
        lines = []
        for i in bad[:8]:
            ops = ", ".join(f"{k}=0x{int(v[i]) & (2**64 - 1):x}" for k, v in operands.items())
            lines.append(f"  #{i}: {ops}: got 0x{int(got[i]):x}, expected 0x{int(exp[i]):x}")
        raise AssertionError(f"{name}: {bad.size} of {got.size} results differ from the C "
                             "model:\n" + "\n".join(lines))
