"""Open-source synthesis path: GHDL -> Verilog repair -> Yosys (zipml/synth.py, zipml synth)."""
import shutil
import subprocess
from pathlib import Path

import pytest

from zipml import synth

DATA = Path(__file__).parent / "data"
needs_ghdl = pytest.mark.skipif(shutil.which("ghdl") is None, reason="ghdl not installed")


@needs_ghdl
@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed")
def test_pmux_default_is_restored(tmp_path):
    """GHDL 2.0 writes `case ... when others` as a Verilog case without its default; the
    repaired netlist must take the `others` value (here input d) when s = "10" or "11"."""
    src = DATA / "pmux_others.vhd"
    ghdl = ["ghdl", "synth", "--std=08", f"--workdir={tmp_path}"]
    subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={tmp_path}", str(src)], check=True)
    verilog = subprocess.run(ghdl + ["--out=verilog", "pmux_others"], check=True,
                             capture_output=True, text=True).stdout
    raw = subprocess.run(ghdl + ["--out=raw", "pmux_others"], check=True,
                         capture_output=True, text=True).stdout
    assert "default" not in verilog          # the GHDL bug this repair exists for
    with pytest.raises(RuntimeError, match="case without default"):
        synth.fix_ghdl_verilog(verilog)      # refuses to guess without the raw netlist
    fixed = synth.fix_ghdl_verilog(verilog, raw)
    (tmp_path / "dut.v").write_text(fixed)
    (tmp_path / "tb.v").write_text("""
module tb;
  reg clk = 0; reg [1:0] s; wire [3:0] y;
  pmux_others dut(.clk(clk), .s(s), .a(4'd1), .b(4'd2), .c(4'd3), .d(4'd4), .y(y));
  integer i;
  initial begin
    for (i = 0; i < 4; i = i + 1) begin
      s = i; #1 clk = 1; #1 clk = 0; $display("s=%0d y=%0d", i, y);
    end
    $finish;
  end
endmodule
""")
    subprocess.run(["iverilog", "-o", str(tmp_path / "sim"), str(tmp_path / "tb.v"),
                    str(tmp_path / "dut.v")], check=True)
    out = subprocess.run(["vvp", str(tmp_path / "sim")], check=True, capture_output=True,
                         text=True).stdout
    assert [line for line in out.splitlines() if line.startswith("s=")] == [
        "s=0 y=1", "s=1 y=2", "s=2 y=4", "s=3 y=4"]


def test_parse_stat_and_targets():
    text = """
   Number of cells:               10
     DSP48E1                         3
     FDRE                          100
     FDSE                            2
     LUT6                           50
     LUT2                            7
     RAMB18E1                        3
     RAMB36E1                        1
     RAM64M                          4
"""
    res = synth.Resources(4, 1024, synth.parse_stat(text))
    assert res.used == {"LUT": 61, "FF": 102, "BRAM36": 2.5, "DSP48": 3}
    assert res.latches == 0 and res.meets_targets()
    res.cells["LDCE"] = 1
    assert res.latches == 1 and not res.meets_targets()
    with pytest.raises(RuntimeError):
        synth.parse_stat("nothing here")


@needs_ghdl
@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make test "
                    "installs it)")
def test_zipml_synth_board_size_meets_targets(tmp_path):
    """CI keeps the engine synthesisable with open tools: Q0 at the board's G_MAX_DIM 8192
    through ghdl synth -> repaired Verilog -> Yosys synth_xilinx, no latches, within the
    resource targets (the Q0 engine has the largest sample FIFO, 2 x 32-bit multiplier lanes)."""
    import sys
    res = subprocess.run([sys.executable, "-m", "zipml", "synth", "--bits", "0",
                          "--max-dim", "8192"], capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = {line.split()[0]: line for line in res.stdout.splitlines() if line.strip()}
    assert lines["latches"].split()[1] == "0"
    for key in ("LUT", "BRAM36", "DSP48"):
        assert lines[key].rstrip().endswith("PASS"), lines[key]
