"""cocotb bench of zipml_fp_fix2flt (portable implementation) against the C model.

Run alone: ``pytest tests/rtl/test_fp_fix2flt.py`` (``ZIPML_FP_N`` random operations, default
100000, plus the corner cases of ``fp_bench``). Reference: ``zipml.cengine.fix2flt``.
"""
from __future__ import annotations

import numpy as np

import fp_bench as fb

TOP = "zipml_fp_fix2flt"


# ----------------------------------------------------------------------------- cocotb
try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:
    @cocotb.test()
    async def fp_fix2flt_vs_cmodel(dut):
        """Corner cases then random operands, one per cycle, compared with the C model."""
        from zipml import cengine as ce
        rng = np.random.default_rng(fb.SEED)
        acc = np.concatenate([fb.corner_fix(rng), fb.random_fix(rng, fb.N_RANDOM)])
        latency = fb.pkg_latency("fix2flt", fb.XILINX)
        out = await fb.stream(dut, {"in_a": acc}, ("out_result",), latency)
        exp = ce.fix2flt(acc, 30)
        fb.compare("fix2flt(A, 30)", out["out_result"], exp, {"A": acc}, dut._log)


# ----------------------------------------------------------------------------- pytest
def test_fp_fix2flt_sim():
    """GHDL + cocotb: the portable fix2flt matches zipml.cengine bit for bit."""
    from ghdl import run
    run(TOP, fb.fp_sources(), "test_fp_fix2flt", generics={"G_FP_XILINX": False},
        env={"ZIPML_FP_N": fb.N_RANDOM, "ZIPML_FP_SEED": fb.SEED})


def test_fp_fix2flt_xilinx_glue_sim():
    """G_FP_XILINX = true with the simulation stand-in of the core (tests/rtl/xlnx_stub):
    checks the wrapper's glue (latency, pass-through), not the Xilinx core."""
    from ghdl import run
    run(TOP + "_xlnx_tb", fb.glue_sources("fix2flt"), "test_fp_fix2flt",
        env={"ZIPML_FP_N": fb.N_GLUE, "ZIPML_FP_SEED": fb.SEED, "ZIPML_FP_XILINX": 1})


def test_fp_fix2flt_synth(tmp_path):
    """``ghdl synth`` of the portable unit and of the wrapper passes without latches."""
    fb.check_synth(TOP + "_portable", tmp_path)
    fb.check_synth(TOP, tmp_path)
