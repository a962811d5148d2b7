"""The engine top level analyses and synthesises with GHDL (``ghdl -a`` + ``ghdl synth``,
VHDL-2008) for every precision, without latches and with the memories inferred as RAMs.

Small ``G_MAX_DIM`` for every precision, plus the board size (8192) for Q8 and Q0 (the largest
FIFO). ``ghdl synth`` refuses to infer latches (it errors out), and the output is also searched
for the word. The only warnings allowed are those about the Xilinx FP components, which are
unbound outside Vivado (they are never instantiated with ``G_FP_XILINX = false``).
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from zipml import rtl, spec

TOP = spec.TOP_ENTITY


def _synth(bits: int, max_dim: int, workdir, fp_xilinx: bool = False) -> str:
    if shutil.which("ghdl") is None:
        pytest.skip("ghdl not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    for src in rtl.manifest(bits, "synth"):
        a = subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={workdir}", str(src)],
                           capture_output=True, text=True)
        assert a.returncode == 0, f"ghdl -a {src.name} failed:\n{a.stderr}"
    s = subprocess.run(["ghdl", "synth", "--std=08", f"--workdir={workdir}",
                        f"-gG_BITS={bits}", f"-gG_MAX_DIM={max_dim}",
                        f"-gG_FP_XILINX={'true' if fp_xilinx else 'false'}", "--out=verilog",
                        TOP], capture_output=True, text=True)
    assert s.returncode == 0, f"ghdl synth {TOP} G_BITS={bits} failed:\n{s.stderr[-3000:]}"
    assert f"module {TOP}" in s.stdout, "no Verilog module for the top level"
    return s.stderr


def _check_log(log: str, bits: int, max_dim: int):
    assert "latch" not in log.lower(), log[-2000:]
    warnings = [ln for ln in log.splitlines() if "warning" in ln]
    other = [ln for ln in warnings
             if "xlnx_fp" not in ln and "in default configuration of zipml_fp_" not in ln]
    assert not other, "unexpected synthesis warnings:\n" + "\n".join(other)
    rams = re.findall(r'found RAM "(?:g_ram\.)?mem", width: (\d+) bits, depth: (\d+)', log)
    V = spec.values_per_word(bits)
    words = -(-max_dim // V)
    fifo = spec.default_fifo_words(bits, max_dim)
    # model banks (32 bits x words; GHDL reports one line per distinct RAM entity), sample
    # FIFO (64 x FIFO_WORDS), scalar queue (32 x FIFO_WORDS)
    assert ("32", str(words)) in rams, f"model memory banks not inferred: {rams}"
    assert ("32", str(fifo)) in rams, f"scalar queue not inferred as RAM: {rams}"
    assert ("64", str(fifo)) in rams, f"sample FIFO not inferred as RAM: {rams}"


@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_synth_small(bits, tmp_path):
    log = _synth(bits, 1024, tmp_path / "work")
    _check_log(log, bits, 1024)


@pytest.mark.parametrize("bits", [8, 0])
def test_synth_board_size(bits, tmp_path):
    log = _synth(bits, spec.DEFAULT_MAX_DIM, tmp_path / "work")
    _check_log(log, bits, spec.DEFAULT_MAX_DIM)


def test_synth_xilinx_fp(tmp_path):
    """With G_FP_XILINX the FP units are the (black-box) Xilinx IP components."""
    log = _synth(4, 1024, tmp_path / "work", fp_xilinx=True)
    assert "latch" not in log.lower()
