"""cocotb bench of zipml_fp_add (portable implementation) against the C model.

Run alone: ``pytest tests/rtl/test_fp_add.py`` (``ZIPML_FP_N`` random operations, default
100000, plus the corner cases of ``fp_bench``). Reference: ``zipml.cengine.fadd``.
"""
from __future__ import annotations

import numpy as np

import fp_bench as fb

TOP = "zipml_fp_add"


# ----------------------------------------------------------------------------- cocotb
try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:
    @cocotb.test()
    async def fp_add_vs_cmodel(dut):
        """Corner cases then random operands, one per cycle, compared with the C model."""
        from zipml import cengine as ce
        rng = np.random.default_rng(fb.SEED)
        ca, cb = fb.corner_pairs_add(rng)
        ra, rb = fb.random_pairs_add(rng, fb.N_RANDOM)
        a = np.concatenate([ca, ra])
        b = np.concatenate([cb, rb])
        latency = fb.pkg_latency("add", fb.XILINX)
        out = await fb.stream(dut, {"in_a": a, "in_b": b}, ("out_result",), latency)
        exp = ce.fadd(a, b)
        fb.compare("fadd", out["out_result"], exp, {"a": a, "b": b}, dut._log)


# ----------------------------------------------------------------------------- pytest
def test_fp_add_sim():
    """GHDL + cocotb: the portable add matches zipml.cengine bit for bit."""
    from ghdl import run
    run(TOP, fb.fp_sources(), "test_fp_add", generics={"G_FP_XILINX": False},
        env={"ZIPML_FP_N": fb.N_RANDOM, "ZIPML_FP_SEED": fb.SEED})


def test_fp_add_xilinx_glue_sim():
    """G_FP_XILINX = true with the simulation stand-in of the core (tests/rtl/xlnx_stub):
    checks the wrapper's glue (latency, canonical NaN), not the Xilinx core."""
    from ghdl import run
    run(TOP + "_xlnx_tb", fb.glue_sources("add"), "test_fp_add",
        env={"ZIPML_FP_N": fb.N_GLUE, "ZIPML_FP_SEED": fb.SEED, "ZIPML_FP_XILINX": 1})


def test_fp_add_synth(tmp_path):
    """``ghdl synth`` of the portable unit and of the wrapper passes without latches."""
    fb.check_synth(TOP + "_portable", tmp_path)
    fb.check_synth(TOP, tmp_path)
