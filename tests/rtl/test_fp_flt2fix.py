"""cocotb bench of zipml_fp_flt2fix (portable implementation) against the C model.

Run alone: ``pytest tests/rtl/test_fp_flt2fix.py`` (``ZIPML_FP_N`` random operations, default
100000, plus the corner cases of ``fp_bench``). Reference: ``zipml.cengine.flt2fix``.
"""
from __future__ import annotations

import numpy as np

import fp_bench as fb

TOP = "zipml_fp_flt2fix"


# ----------------------------------------------------------------------------- cocotb
try:
    import cocotb
except ImportError:  # pragma: no cover
    cocotb = None

if cocotb is not None:
    @cocotb.test()
    async def fp_flt2fix_vs_cmodel(dut):
        """Corner cases then random operands, one per cycle, compared with the C model."""
        from zipml import cengine as ce
        rng = np.random.default_rng(fb.SEED)
        v = np.concatenate([fb.corner_flt(rng), fb.random_flt(rng, fb.N_RANDOM)])
        latency = fb.pkg_latency("flt2fix", fb.XILINX)
        out = await fb.stream(dut, {"in_a": v}, ("out_result", "out_sat"), latency)
        exp, sat = ce.flt2fix(v)
        fb.compare("flt2fix", out["out_result"], exp.view(np.uint32), {"v": v}, dut._log)
        fb.compare("flt2fix SAT", out["out_sat"], sat.astype(np.uint32), {"v": v}, dut._log)


# ----------------------------------------------------------------------------- pytest
def test_fp_flt2fix_sim():
    """GHDL + cocotb: the portable flt2fix matches zipml.cengine bit for bit."""
    from ghdl import run
    run(TOP, fb.fp_sources(), "test_fp_flt2fix", generics={"G_FP_XILINX": False},
        env={"ZIPML_FP_N": fb.N_RANDOM, "ZIPML_FP_SEED": fb.SEED})


def test_fp_flt2fix_xilinx_glue_sim():
    """G_FP_XILINX = true with the simulation stand-in of the core (tests/rtl/xlnx_stub):
    checks the wrapper's glue (latency, NaN / saturation override from tuser and the operand),
    not the Xilinx core."""
    from ghdl import run
    run(TOP + "_xlnx_tb", fb.glue_sources("flt2fix"), "test_fp_flt2fix",
        env={"ZIPML_FP_N": fb.N_GLUE, "ZIPML_FP_SEED": fb.SEED, "ZIPML_FP_XILINX": 1})


def test_fp_flt2fix_synth(tmp_path):
    """``ghdl synth`` of the portable unit and of the wrapper passes without latches."""
    fb.check_synth(TOP + "_portable", tmp_path)
    fb.check_synth(TOP, tmp_path)
