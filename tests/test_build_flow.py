"""Checks of the Vivado build flow that run without Vivado.

* ``tclint`` on every TCL/XDC file of the flow;
* the TCL scripts run in ``tclsh`` against a strict mock of the Vivado commands
  (``tests/tcl/vivado_mock.tcl``): files added vs. the RTL manifest, the packaged IP, the block
  design's connections, outputs per precision, argument errors;
* the ``.xci`` files of ``xlnx_ip/`` against ``RTL/fp/zipml_fp_pkg.vhd`` (latencies, formats,
  component ports, the configuration documented there);
* ``make_hw``: usage errors, the missing-vivado message, and a run through a stand-in ``vivado``
  that executes the build script on the mock.

Nothing here runs Vivado: the mock checks the shape of each command and the consistency of the
objects passed around, not what Vivado would do with them.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from zipml import rtl, spec

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
MOCK_DIR = ROOT / "tests" / "tcl"
RUN_MOCK = MOCK_DIR / "run_mock.tcl"
FP_PKG = ROOT / "RTL" / "fp" / "zipml_fp_pkg.vhd"
XLNX_IP = ROOT / "xlnx_ip"
FP_CORES = ("xlnx_fp_add", "xlnx_fp_mul", "xlnx_fp_fix2flt", "xlnx_fp_flt2fix")
BOARD_PARTS = "www.digilentinc.com:pynq-z1:part0:1.0 tul.com.tw:pynq-z2:part0:1.0"

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")


# --------------------------------------------------------------------------- RTL top entity
def _strip_vhdl_comments(text: str) -> str:
    return re.sub(r"--[^\n]*", "", text)


def _paren_body(text: str, start: int) -> str:
    """Text inside the parenthesis that opens at or after ``start``."""
    i = text.index("(", start)
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    raise ValueError("unbalanced parenthesis")


def _decl_names(body: str) -> list[str]:
    names, depth, cur = [], 0, ""
    for ch in body + ";":
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            if ":" in cur:
                names += [n.strip().lower() for n in cur.split(":")[0].split(",")]
            cur = ""
        else:
            cur += ch
    return names


def engine_interface(bits: int):
    """``(generics, ports, source)`` of the RTL top entity of ``bits`` (vivado flow).

    Parsed from the manifest file that declares ``entity zipml_sgd_engine``; the mock's IP
    packager infers the IP's interfaces from these ports as Vivado does (by prefix).
    """
    pat = re.compile(rf"\bentity\s+{spec.TOP_ENTITY}\s+is\b", re.I)
    for path in rtl.manifest(bits, "vivado"):
        text = _strip_vhdl_comments(path.read_text())
        m = pat.search(text)
        if not m:
            continue
        end = re.compile(r"\bend\b", re.I).search(text, m.end())
        head = text[m.end():end.start() if end else len(text)]
        g = re.search(r"\bgeneric\b", head, re.I)
        p = re.search(r"\bport\b", head, re.I)
        generics = _decl_names(_paren_body(head, g.end())) if g else []
        ports = _decl_names(_paren_body(head, p.end())) if p else []
        return [x.upper() for x in generics], ports, str(path)
    raise AssertionError(f"no file of RTL/manifest.txt (bits={bits}, flow=vivado) declares "
                         f"entity {spec.TOP_ENTITY}")


@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_rtl_top_has_the_interface_the_flow_packages(bits):
    """docs/ENGINE.md section 9: the generics the IP exposes and the five interfaces."""
    generics, ports, source = engine_interface(bits)
    assert {"G_BITS", "G_MAX_DIM", "G_FP_XILINX"} <= set(generics), source
    assert {"aclk", "aresetn"} <= set(ports)
    for prefix, sigs in (("s_axis", "tdata tvalid tready tlast"),
                         ("m_axis", "tdata tvalid tready tlast"),
                         ("s_axi", "awaddr awvalid awready wdata wstrb wvalid wready bresp "
                                   "bvalid bready araddr arvalid arready rdata rresp rvalid "
                                   "rready")):
        assert {f"{prefix}_{s}" for s in sigs.split()} <= set(ports), (source, prefix)


@pytest.mark.skipif(shutil.which("ghdl") is None, reason="ghdl not installed")
def test_vivado_file_list_analyses_in_order(tmp_path):
    """The vivado-flow file list compiles in manifest order (GHDL, VHDL-2008, no -frelaxed).

    This checks the order and the syntax Vivado will be given; the Xilinx FP components are
    only declared, so elaboration with G_FP_XILINX = true is left to Vivado.
    """
    lists = {tuple(rtl.manifest(bits, "vivado")) for bits in spec.PRECISIONS}
    for i, files in enumerate(sorted(lists)):
        work = tmp_path / f"w{i}"
        work.mkdir()
        for f in files:
            proc = subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={work}", str(f)],
                                  capture_output=True, text=True, cwd=work)
            assert proc.returncode == 0, f"{f}:\n{proc.stderr}"


# --------------------------------------------------------------------------- running the mock
def run_mock(script: Path, args, tmp_path: Path, env_extra=None):
    """Run ``script`` with ``args`` on the mock; return (returncode, stderr, state dict)."""
    state = tmp_path / "mock_state.json"
    generics, ports, _ = engine_interface(_bits_of(args))
    env = dict(os.environ, ZIPML_MOCK_STATE=str(state),
               ZIPML_MOCK_TOP_PORTS=" ".join(ports), ZIPML_MOCK_TOP_GENERICS=" ".join(generics))
    env.pop("ZIPML_BOARD_REPO", None)
    env.update(env_extra or {})
    proc = subprocess.run(["tclsh", str(RUN_MOCK), str(script), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=60)
    data = json.loads(state.read_text()) if state.exists() else None
    return proc.returncode, proc.stdout + proc.stderr, data


def _bits_of(args) -> int:
    args = list(map(str, args))
    if "--bits" in args:
        i = args.index("--bits")
        if i + 1 < len(args) and args[i + 1] in {str(p) for p in spec.PRECISIONS}:
            return int(args[i + 1])
    return spec.PRECISIONS[0]


def build(tmp_path, bits, *extra, env_extra=None):
    out, export = tmp_path / "out", tmp_path / "export"
    rc, text, state = run_mock(SCRIPTS / "build_hw.tcl",
                               ["--bits", bits, "--out", out, "--export", export, *extra],
                               tmp_path, env_extra)
    return rc, text, state, out, export


def tcl_eval(script: str, tmp_path: Path) -> str:
    """Evaluate a TCL snippet after sourcing zipml_hw_lib.tcl (no Vivado command involved)."""
    f = tmp_path / "snippet.tcl"
    f.write_text(f"source {{{SCRIPTS / 'zipml_hw_lib.tcl'}}}\n{script}\n")
    proc = subprocess.run(["tclsh", str(f)], capture_output=True, text=True, timeout=30)
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return proc.stdout


# --------------------------------------------------------------------------- tclint
def test_tclint_passes_on_every_tcl_file():
    files = sorted([*SCRIPTS.glob("*.tcl"), *SCRIPTS.glob("constraints/*.xdc"),
                    XLNX_IP / "ip_table.tcl", *MOCK_DIR.glob("*.tcl")])
    assert len(files) >= 10
    exe = shutil.which("tclint")
    cmd = [exe] if exe else [sys.executable, "-m", "tclint"]
    proc = subprocess.run([*cmd, *map(str, files)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_tclint_would_catch_an_error(tmp_path):
    bad = tmp_path / "bad.tcl"
    bad.write_text("proc f {x} {\n    if {$x} {puts yes}\n    set y [expr $x + 1]\n}\n")
    exe = shutil.which("tclint")
    cmd = [exe] if exe else [sys.executable, "-m", "tclint"]
    assert subprocess.run([*cmd, str(bad)], capture_output=True).returncode != 0


# --------------------------------------------------------------------------- manifest in TCL
@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_tcl_manifest_equals_python_manifest(bits, tmp_path):
    for flow in rtl.FLOWS:
        got = tcl_eval(f"puts [join [zipml_hw::manifest_files {bits} {flow}] \\n]",
                       tmp_path).split()
        assert got == [str(p) for p in rtl.manifest(bits, flow)], flow


def test_tcl_manifest_filter_on_tagged_manifest(tmp_path):
    """The TCL filter follows zipml/rtl.py on a manifest that uses every kind of tag."""
    d = tmp_path / "rtl"
    d.mkdir()
    names = ["pkg.vhd", "q0.vhd", "qb.vhd", "simonly.vhd", "viv.vhd", "both.vhd", "q48v.vhd"]
    for n in names:
        (d / n).write_text("-- x\n")
    (d / "manifest.txt").write_text(
        "# comment\npkg.vhd\nq0.vhd bits=0\nqb.vhd   bits=1,2,4,8  # trailing comment\n"
        "simonly.vhd flow=sim\nviv.vhd flow=vivado\nboth.vhd flow=synth,vivado\n\n"
        "q48v.vhd bits=4,8 flow=vivado\n")
    m = d / "manifest.txt"
    seen = set()
    for bits in spec.PRECISIONS:
        for flow in rtl.FLOWS:
            got = tcl_eval(f"puts [join [zipml_hw::manifest_files {bits} {flow} {{{m}}}] \\n]",
                           tmp_path).split()
            want = [str(p) for p in rtl.manifest(bits, flow, path=m)]
            assert got == want, (bits, flow)
            seen.add(tuple(want))
    assert len(seen) >= 6  # the tags really select different lists


@pytest.mark.parametrize("line, message", [
    ("x.vhd bits=3", "unknown precision '3'"),
    ("x.vhd flow=fpga", "unknown flow 'fpga'"),
    ("x.vhd speed=2", "unknown tag 'speed=2'"),
    ("missing.vhd", "missing.vhd does not exist"),
])
def test_tcl_manifest_errors_name_file_and_line(line, message, tmp_path):
    d = tmp_path / "rtl"
    d.mkdir()
    (d / "x.vhd").write_text("")
    (d / "manifest.txt").write_text(f"x.vhd\n{line}\n")
    with pytest.raises(RuntimeError) as e:
        tcl_eval(f"zipml_hw::manifest_files 4 vivado {{{d / 'manifest.txt'}}}", tmp_path)
    assert f"manifest.txt:2: {message}" in str(e.value)
    with pytest.raises((ValueError, FileNotFoundError)):  # Python agrees that it is an error
        rtl.manifest(4, "vivado", path=d / "manifest.txt")


def test_bitstream_names_distinct_and_shared_with_python(tmp_path):
    got = tcl_eval("foreach b $zipml_spec::PRECISIONS {puts [zipml_hw::bitstream_name $b]}",
                   tmp_path).split()
    assert got == [spec.bitstream_name(b) for b in spec.PRECISIONS]
    assert len(set(got)) == len(spec.PRECISIONS)
    outs = tcl_eval("foreach b $zipml_spec::PRECISIONS {foreach bd {pynq-z1 pynq-z2} {"
                    "puts [dict get [zipml_hw::parse_args [list --bits $b --board $bd]] out]}}",
                    tmp_path).split()
    assert len(set(outs)) == 2 * len(spec.PRECISIONS)  # one build folder per precision and board
    with pytest.raises(ValueError):
        spec.bitstream_name(3)


# --------------------------------------------------------------------------- full flow on mock
def _connected(state):
    """Map pin -> set of peers (pins on the same net), for nets and interface nets."""
    peers = {}
    for net in state["nets"] + state["intf_nets"]:
        for p in net:
            peers.setdefault(p, set()).update(q for q in net if q != p)
    return peers


@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_build_flow_on_mock(bits, tmp_path):
    rc, text, st, out, export = build(tmp_path, bits, "--clock", "125")
    assert rc == 0, text
    generics, ports, source = engine_interface(bits)
    name = spec.bitstream_name(bits)

    # IP packaging: the manifest's files, the floating-point IP, the VLNV, parameters.
    core = st["core"]
    assert core["files"] == [str(p) for p in rtl.manifest(bits, "vivado")]
    assert all(Path(f).is_file() for f in core["files"])
    assert core["ips"] == list(FP_CORES)
    ip_proj = st["projects"]["zipml_ip"]
    assert ip_proj["part"] == "xc7z020clg400-1"
    for ip, info in ip_proj["ips"].items():
        assert info["info"]["how"] == "import"
        assert Path(info["info"]["source"]) == XLNX_IP / ip / f"{ip}.xci"
    assert {f: k for f, k in ip_proj["files"].items()} == {
        str(p): "sources_1" for p in rtl.manifest(bits, "vivado")}
    assert {f: p["FILE_TYPE"] for f, p in ip_proj["file_props"].items()} == {
        str(p): "VHDL 2008" for p in rtl.manifest(bits, "vivado")}
    assert core["vlnv"] == spec.VLNV and core["saved"] == 1
    assert set(core["steps"]) == {"create_xgui_files", "update_checksums", "check_integrity",
                                  "save_core"}
    assert core["params"]["G_BITS"]["value"] == str(bits)
    assert core["params"]["G_BITS"]["value_validation_list"] == str(bits)
    assert core["hdl_params"]["G_BITS"]["value"] == str(bits)
    assert core["params"]["G_MAX_DIM"]["value"] == str(spec.DEFAULT_MAX_DIM)
    assert int(core["params"]["G_MAX_DIM"]["value_validation_range_maximum"]) \
        == spec.MAX_DIM_LIMIT
    assert core["params"]["G_FP_XILINX"]["value"] == "true"
    assert core["params"]["ipx_busparam:aresetn/POLARITY"]["value"] == "ACTIVE_LOW"
    assert sorted(map(tuple, core["associations"])) == sorted(
        [("aclk", "s_axis"), ("aclk", "m_axis"), ("aclk", "s_axi"), ("aclk", "aresetn")])
    assert core["loose_ports"] == [], f"ports of {source} outside every interface"

    # Block design: every pin and interface of the engine is connected, to the right peer.
    assert st["bd"]["validated"] and st["bd"]["saved"] and st["bd"]["addressed"]
    eng = st["cells"]["engine"]
    assert eng["vlnv"] == spec.VLNV
    assert eng["config"]["CONFIG.G_BITS"] == str(bits)
    assert sorted(eng["intf"]) == ["m_axis", "s_axi", "s_axis"]
    assert sorted(eng["pins"]) == ["aclk", "aresetn"]
    peers = _connected(st)
    for i in eng["intf"]:
        assert peers.get(f"bd_intf_pin:/engine/{i}"), f"engine/{i} unconnected"
    for p in eng["pins"]:
        assert peers.get(f"bd_pin:/engine/{p}"), f"engine/{p} unconnected"
    assert peers["bd_intf_pin:/engine/s_axis"] == {"bd_intf_pin:/axi_dma/M_AXIS_MM2S"}
    assert peers["bd_intf_pin:/engine/m_axis"] == {"bd_intf_pin:/axi_dma/S_AXIS_S2MM"}
    (ic_port,) = peers["bd_intf_pin:/engine/s_axi"]
    assert re.fullmatch(r"bd_intf_pin:/ctrl_ic/M\d\d_AXI", ic_port)
    assert peers["bd_intf_pin:/ctrl_ic/S00_AXI"] == {"bd_intf_pin:/ps7/M_AXI_GP0"}
    assert "bd_pin:/ps7/FCLK_CLK0" in peers["bd_pin:/engine/aclk"]
    assert "bd_pin:/rst/peripheral_aresetn" in peers["bd_pin:/engine/aresetn"]
    assert peers["bd_pin:/rst/ext_reset_in"] == {"bd_pin:/ps7/FCLK_RESET0_N"}
    # DMA: control on GP0, both memory masters reach HP0, interrupts to the PS.
    assert peers["bd_intf_pin:/axi_dma/S_AXI_LITE"] <= {f"bd_intf_pin:/ctrl_ic/M{i:02d}_AXI"
                                                     for i in range(16)}
    (sc_in1,) = peers["bd_intf_pin:/axi_dma/M_AXI_MM2S"]
    (sc_in2,) = peers["bd_intf_pin:/axi_dma/M_AXI_S2MM"]
    assert sc_in1.startswith("bd_intf_pin:/mem_sc/S") and sc_in2.startswith(
        "bd_intf_pin:/mem_sc/S") and sc_in1 != sc_in2
    assert peers["bd_intf_pin:/mem_sc/M00_AXI"] == {"bd_intf_pin:/ps7/S_AXI_HP0"}
    assert "bd_pin:/irq_concat/dout" in peers["bd_pin:/ps7/IRQ_F2P"]
    # Every pin and interface of every cell is connected, except PS7/reset/concat outputs
    # that have no consumer by design.
    unused_ok = {"bd_pin:/rst/aux_reset_in", "bd_pin:/rst/mb_debug_sys_rst",
                 "bd_pin:/rst/dcm_locked", "bd_pin:/rst/mb_reset",
                 "bd_pin:/rst/bus_struct_reset", "bd_pin:/rst/peripheral_reset"}
    for cell, c in st["cells"].items():
        for i in c["intf"]:
            assert f"bd_intf_pin:/{cell}/{i}" in peers, f"{cell}/{i} unconnected"
        for p in c["pins"]:
            h = f"bd_pin:/{cell}/{p}"
            assert h in peers or h in unused_ok, f"{cell}/{p} unconnected"
    # Every clock pin is on FCLK0, every reset on the proc_sys_reset.
    clk_net = peers["bd_pin:/ps7/FCLK_CLK0"] | {"bd_pin:/ps7/FCLK_CLK0"}
    for cell, c in st["cells"].items():
        for p in c["pins"]:
            if re.search(r"(?i)aclk$|_clk$", p):
                assert f"bd_pin:/{cell}/{p}" in clk_net, f"{cell}/{p} not on FCLK0"

    # Settings: PS7 ports and FCLK0, DMA simple mode and widths.
    ps7 = st["cells"]["ps7"]["config"]
    assert ps7["CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ"] == "125"
    assert ps7["CONFIG.PCW_USE_S_AXI_HP0"] == "1" and ps7["CONFIG.PCW_USE_M_AXI_GP0"] == "1"
    dma = st["cells"]["axi_dma"]["config"]
    assert dma["CONFIG.c_include_sg"] == "0"
    assert int(dma["CONFIG.c_sg_length_width"]) >= 23
    assert int(dma["CONFIG.c_sg_length_width"]) == spec.DMA_LENGTH_WIDTH
    assert dma["CONFIG.c_m_axis_mm2s_tdata_width"] == str(spec.IN_WIDTH) == "64"
    assert dma["CONFIG.c_s_axis_s2mm_tdata_width"] == str(spec.OUT_WIDTH) == "32"
    # No board files installed in this run: the fallback preset is applied, not the board's.
    assert st["bd"]["automation"]["apply_board_preset"] == "0"
    assert ps7["CONFIG.PCW_UIPARAM_DDR_PARTNO"]

    # Build project: wrapper top, constraints of the board, runs, reports, exported files.
    proj = st["projects"][name]
    assert proj["part"] == "xc7z020clg400-1"
    assert st["sources_1"]["top"] == "zipml_wrapper"
    xdc = [f for f, fs in proj["files"].items() if fs == "constrs_1"]
    assert xdc == [str(ROOT / "scripts" / "constraints" / "pynq-z1.xdc")]
    assert str(out) in proj["props"]["ip_repo_paths"]
    assert set(st["runs"]) == {"synth_1", "impl_1"}
    assert all(r["waited"] == "1" and r["jobs"] == "2" for r in st["runs"].values())
    assert set(st["reports"]) == {"report_utilization", "report_timing_summary"}
    for ext in (".bit", ".hwh", "_report.txt"):
        assert (export / f"{name}{ext}").is_file()
        assert (out / f"{name}{ext}").is_file()
    report = (export / f"{name}_report.txt").read_text()
    assert "WNS (setup): 0.25 ns" in report and f"precision bits: {bits}" in report


def test_five_precisions_five_outputs(tmp_path):
    exported = set()
    for bits in spec.PRECISIONS:
        rc, text, st, out, export = build(tmp_path / str(bits), bits)
        assert rc == 0, text
        exported |= {p.name for p in export.iterdir()}
    assert exported == {spec.bitstream_name(b) + ext for b in spec.PRECISIONS
                        for ext in (".bit", ".hwh", "_report.txt")}
    assert len(exported) == 3 * 5


def test_board_files_present_pynq_z2(tmp_path):
    rc, text, st, out, export = build(tmp_path, 8, "--board", "pynq-z2", "--jobs", "4",
                                      env_extra={"ZIPML_MOCK_BOARD_PARTS": BOARD_PARTS})
    assert rc == 0, text
    proj = st["projects"][spec.bitstream_name(8)]
    assert proj["props"]["board_part"] == "tul.com.tw:pynq-z2:part0:1.0"
    assert st["bd"]["automation"]["apply_board_preset"] == "1"
    assert "CONFIG.PCW_UIPARAM_DDR_PARTNO" not in st["cells"]["ps7"]["config"]
    xdc = [f for f, fs in proj["files"].items() if fs == "constrs_1"]
    assert xdc == [str(ROOT / "scripts" / "constraints" / "pynq-z2.xdc")]
    assert all(r["jobs"] == "4" for r in st["runs"].values())


def test_default_out_folder_per_board_and_precision(tmp_path):
    # Only parsed (a real build may live there): build/hw/<board>/<name>.
    got = tcl_eval("puts [dict get [zipml_hw::parse_args {--bits 2 --board pynq-z2}] out]",
                   tmp_path).strip()
    assert got == str(ROOT / "build" / "hw" / "pynq-z2" / spec.bitstream_name(2))


def test_board_repo_variable(tmp_path):
    rc, text, st, out, export = build(tmp_path, 2, env_extra={"ZIPML_BOARD_REPO": str(tmp_path)})
    assert rc == 0, text
    assert st["params"]["board.repoPaths"] == str(tmp_path)
    assert st["projects"][spec.bitstream_name(2)]["dir"] == str(out / "project")


def test_rerun_is_clean(tmp_path):
    for _ in range(2):
        rc, text, st, out, export = build(tmp_path, 1)
        assert rc == 0, text
    # A failing re-run leaves no output of the earlier run behind.
    rc, text, st, out, export = build(tmp_path, 1, env_extra={"ZIPML_MOCK_RUN_FAIL": "impl_1"})
    assert rc != 0
    assert not (out / f"{spec.bitstream_name(1)}.bit").exists()
    assert not (out / f"{spec.bitstream_name(1)}_report.txt").exists()


@pytest.mark.parametrize("args, message", [
    ([], "--bits is required"),
    (["--bits", "3"], "bits must be one of 0 1 2 4 8 (0 = float32), got '3'"),
    (["--bits", "four"], "got 'four'"),
    (["--bits"], "--bits needs a value"),
    (["--bits", "4", "--board", "zybo"], "--board must be one of pynq-z1 pynq-z2, got 'zybo'"),
    (["--bits", "4", "--clock", "0"], "--clock must be a frequency in MHz"),
    (["--bits", "4", "--clock", "fast"], "got 'fast'"),
    (["--bits", "4", "--jobs", "0"], "--jobs must be a positive integer, got '0'"),
    (["--bits", "4", "--frobnicate"], "unknown argument '--frobnicate'"),
])
def test_wrong_argument_stops_with_message(args, message, tmp_path):
    rc, text, st = run_mock(SCRIPTS / "build_hw.tcl", args, tmp_path)
    assert rc != 0
    assert "zipml build:" in text and message in text, text
    assert st["commands"] == [], "a Vivado command ran before the arguments were checked"


def test_timing_violation_is_not_exported(tmp_path):
    rc, text, st, out, export = build(tmp_path, 4, env_extra={"ZIPML_MOCK_WNS": "-0.412"})
    assert rc != 0 and "timing not met (WNS -0.412 ns" in text, text
    name = spec.bitstream_name(4)
    assert (out / f"{name}.bit").is_file()
    assert "timing met: NO" in (out / f"{name}_report.txt").read_text()
    assert not export.exists() or not any(export.iterdir())
    rc, text, st, out, export = build(tmp_path, 4, "--allow-timing-violation",
                                      env_extra={"ZIPML_MOCK_WHS": "-0.01"})
    assert rc == 0, text
    assert (export / f"{name}.bit").is_file()


@pytest.mark.parametrize("run", ["synth_1", "impl_1"])
def test_failed_run_stops_the_build(run, tmp_path):
    rc, text, st, out, export = build(tmp_path, 1, env_extra={"ZIPML_MOCK_RUN_FAIL": run})
    assert rc != 0
    assert f"run {run} did not complete (progress 0%, status '{run} ERROR')" in text, text
    assert str(out / "project") in text
    assert not export.exists()
    if run == "synth_1":
        assert "impl_1" not in st["runs"]


def test_export_none_keeps_files_in_build_folder(tmp_path):
    out = tmp_path / "o"
    rc, text, st = run_mock(SCRIPTS / "build_hw.tcl",
                            ["--bits", 0, "--out", out, "--export", "none"], tmp_path)
    assert rc == 0, text
    assert (out / f"{spec.bitstream_name(0)}.bit").is_file()
    assert not (tmp_path / "none").exists()


def test_hwh_found_when_not_listed_as_project_file(tmp_path):
    rc, text, st, out, export = build(tmp_path, 8, env_extra={"ZIPML_MOCK_HWH_UNLISTED": "1"})
    assert rc == 0, text
    assert (export / f"{spec.bitstream_name(8)}.hwh").read_text().startswith("<!-- mock hwh")


def test_locked_xci_is_upgraded(tmp_path):
    rc, text, st, out, export = build(tmp_path, 4, env_extra={"ZIPML_MOCK_IP_LOCKED": "1"})
    assert rc == 0, text
    ips = st["projects"]["zipml_ip"]["ips"]
    assert all(i["props"].get("UPGRADED") == "1" for i in ips.values())


def _table():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import gen_xci
    finally:
        sys.path.pop(0)
    return gen_xci


def test_recreate_ip_uses_the_table(tmp_path):
    rc, text, st, out, export = build(tmp_path, 4, "--recreate-ip")
    assert rc == 0, text
    ips = st["projects"]["zipml_ip"]["ips"]
    table = _table().ip_table()
    assert list(ips) == list(table) == list(FP_CORES)
    for name, i in ips.items():
        assert i["info"]["how"] == "create"
        assert i["info"]["vlnv"] == "xilinx.com:ip:floating_point:7.1"
        want = {f"CONFIG.{k}": v for k, v in table[name].items() if k != "Component_Name"}
        assert {k: v for k, v in i["props"].items() if k.startswith("CONFIG.")} == want


def test_create_xlnx_ip_script(tmp_path):
    rc, text, st = run_mock(SCRIPTS / "create_xlnx_ip.tcl", [tmp_path / "ip"], tmp_path)
    assert rc == 0, text
    (proj,) = st["projects"].values()
    assert proj["part"] == "xc7z020clg400-1"
    assert {n: i["info"]["dir"] for n, i in proj["ips"].items()} == {
        n: str(tmp_path / "ip") for n in FP_CORES}
    rc, text, st = run_mock(SCRIPTS / "create_xlnx_ip.tcl", ["a", "b"], tmp_path)
    assert rc != 0 and "usage: create_xlnx_ip.tcl" in text and st["commands"] == []


@pytest.mark.parametrize("snippet, message", [
    ("write_bitstream top.bit", "unknown Vivado command 'write_bitstream'"),
    ("create_project -force -bogus p d -part x", "unknown option '-bogus'"),
    ("create_project p d", "no -part"),
    ("create_project p d -part x; launch_runs synth_1 -jobs 1", "launch_runs synth_1: no top"),
    ("create_project p d -part x; set_property top t sources_1", "is not an object"),
    ("create_project p d -part x; create_bd_design bd; "
     "create_bd_cell -type ip -vlnv zipml.dev:zipml:zipml_sgd_engine:1.0 e",
     "no IP 'zipml.dev:zipml:zipml_sgd_engine:1.0' in the catalog"),
    ("create_project p d -part x; create_bd_design bd; "
     "create_bd_cell -type ip -vlnv [lindex [get_ipdefs -filter {NAME == axi_dma}] 0] dma; "
     "get_bd_pins dma/aclk", "has no bd_pin 'aclk'"),
    ("create_project p d -part x; create_bd_design bd; "
     "set c [create_bd_cell -type ip -vlnv [lindex [get_ipdefs -filter {NAME == xlconcat}] 0] c]; "
     "connect_bd_net [get_bd_pins c/In0] [get_bd_pins c/dout]; "
     "connect_bd_net [get_bd_pins c/In0] [get_bd_pins c/In1]", "already connected"),
    ("create_project p d -part x; create_bd_design bd; "
     "set c [create_bd_cell -type ip -vlnv [lindex [get_ipdefs -filter {NAME == axi_dma}] 0] c]; "
     "set_property CONFIG.c_sg_lenght_width 26 $c", "axi_dma has no parameter 'c_sg_lenght_width'"),
])
def test_mock_is_strict(snippet, message, tmp_path):
    script = tmp_path / "s.tcl"
    script.write_text(f"cd {{{tmp_path}}}\n{snippet}\n")
    rc, text, st = run_mock(script, [], tmp_path)
    assert rc != 0 and message in text, text


# --------------------------------------------------------------------------- .xci vs RTL
SPIRIT = "{http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009}"


def xci_values(name: str) -> tuple[ET.Element, dict[str, str]]:
    path = XLNX_IP / name / f"{name}.xci"
    root = ET.parse(path).getroot()
    vals = {e.get(f"{SPIRIT}referenceId"): (e.text or "")
            for e in root.iter(f"{SPIRIT}configurableElementValue")}
    return root, vals


def vhdl_naturals(path: Path) -> dict[str, int]:
    text = _strip_vhdl_comments(path.read_text())
    return {m.group(1).upper(): int(m.group(2))
            for m in re.finditer(r"constant\s+(\w+)\s*:\s*natural\s*:=\s*(\d+)\s*;", text, re.I)}


def vhdl_components(path: Path) -> dict[str, dict[str, tuple[str, int]]]:
    """component name -> port -> (direction, width)."""
    text = _strip_vhdl_comments(path.read_text())
    out = {}
    for m in re.finditer(r"\bcomponent\s+(\w+)\s+is\b", text, re.I):
        body = _paren_body(text, re.compile(r"\bport\b", re.I).search(text, m.end()).end())
        ports = {}
        for decl in body.split(";"):
            if ":" not in decl:
                continue
            names, typ = decl.split(":", 1)
            d = re.match(r"\s*(in|out)\s+(.*)", typ, re.S)
            w = re.search(r"\(\s*(\d+)\s+downto\s+(\d+)\s*\)", d.group(2))
            width = int(w.group(1)) - int(w.group(2)) + 1 if w else 1
            for n in names.split(","):
                ports[n.strip().lower()] = (d.group(1).lower(), width)
        out[m.group(1).lower()] = ports
    return out


def documented_config(path: Path) -> dict[str, dict[str, str]]:
    """``CONFIG.X = value`` lines of the package's comments: block name -> {X: value}.

    Block "common" holds the lines before the first component block. Entries naming two
    parameters at once (``Has_A_TLAST/B_TLAST``) are skipped.
    """
    out, block = {"common": {}}, "common"
    for line in path.read_text().splitlines():
        m = re.match(r"\s*--\s+(xlnx_fp_\w+):", line)
        if m:
            block = m.group(1)
            out[block] = {}
            continue
        m = re.match(r"\s*--\s+CONFIG\.(\w+)\s*=\s*(\S+)", line)
        if m and "/" not in m.group(1):
            out[block][m.group(1)] = m.group(2)
    return out


OPERATIONS = {"xlnx_fp_add": "Add_Subtract", "xlnx_fp_mul": "Multiply",
              "xlnx_fp_fix2flt": "Fixed_to_float", "xlnx_fp_flt2fix": "Float_to_fixed"}
LATENCY_CONST = {"xlnx_fp_add": "C_XLNX_FP_ADD_LATENCY", "xlnx_fp_mul": "C_XLNX_FP_MUL_LATENCY",
                 "xlnx_fp_fix2flt": "C_XLNX_FP_FIX2FLT_LATENCY",
                 "xlnx_fp_flt2fix": "C_XLNX_FP_FLT2FIX_LATENCY"}


def test_xci_files_are_current():
    proc = subprocess.run([sys.executable, str(SCRIPTS / "gen_xci.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", FP_CORES)
def test_xci_parses_and_names_part_and_ip(name):
    root, vals = xci_values(name)
    assert root.tag == f"{SPIRIT}design"
    (inst,) = root.iter(f"{SPIRIT}componentInstance")
    assert inst.find(f"{SPIRIT}instanceName").text == name
    ref = inst.find(f"{SPIRIT}componentRef")
    assert (ref.get(f"{SPIRIT}vendor"), ref.get(f"{SPIRIT}library"), ref.get(f"{SPIRIT}name"),
            ref.get(f"{SPIRIT}version")) == ("xilinx.com", "ip", "floating_point", "7.1")
    part = (vals["PROJECT_PARAM.DEVICE"] + vals["PROJECT_PARAM.PACKAGE"]
            + vals["PROJECT_PARAM.SPEEDGRADE"])
    assert part == "xc7z020clg400-1"
    assert vals["PARAM_VALUE.Component_Name"] == name


@pytest.mark.parametrize("name", FP_CORES)
def test_xci_parameter_names_are_floating_point_parameters(name):
    known = set()
    for line in (MOCK_DIR / "ip_params.txt").read_text().splitlines():
        if line.startswith("floating_point "):
            known |= set(line.split()[1:])
    _, vals = xci_values(name)
    params = {k.split(".", 1)[1] for k in vals if k.startswith("PARAM_VALUE.")}
    assert params and params <= known, params - known


@pytest.mark.parametrize("name", FP_CORES)
def test_xci_matches_rtl_package(name):
    """Operation, latency, widths and ports of each core against RTL/fp/zipml_fp_pkg.vhd."""
    _, v = xci_values(name)
    p = {k[len("PARAM_VALUE."):]: x for k, x in v.items() if k.startswith("PARAM_VALUE.")}
    consts = vhdl_naturals(FP_PKG)
    assert p["Operation_Type"] == OPERATIONS[name]
    if name == "xlnx_fp_add":
        assert p["Add_Sub_Value"] == "Add"
    assert int(p["C_Latency"]) == consts[LATENCY_CONST[name]]
    assert p["Maximum_Latency"] == "false"  # else Vivado would ignore C_Latency
    assert p["Flow_Control"] == "NonBlocking" and p["Has_RESULT_TREADY"] == "false"
    assert p["C_Rate"] == "1"

    # Widths of operand and result, in bits.
    def width(prefix, kind):
        if p[f"{prefix}_Precision_Type"] == "Single":
            return 32, None
        assert p[f"{prefix}_Precision_Type"] == "Custom"
        e, f = int(p[f"C_{kind}_Exponent_Width"]), int(p[f"C_{kind}_Fraction_Width"])
        return e + f, f
    a_w, a_frac = width("A", "A")
    r_w, r_frac = width("Result", "Result")
    if name == "xlnx_fp_fix2flt":
        assert (a_w, a_frac) == (consts["C_FIX2FLT_IN_WIDTH"], consts["C_FIX2FLT_IN_FRAC"])
        assert r_w == 32
    elif name == "xlnx_fp_flt2fix":
        assert (r_w, r_frac) == (consts["C_FLT2FIX_OUT_WIDTH"], consts["C_FLT2FIX_OUT_FRAC"])
        assert r_frac == spec.MODEL_FRAC_BITS and a_w == 32
    else:
        assert (a_w, r_w) == (32, 32)

    # Ports the core will have with this configuration == the component the RTL declares.
    flags = [f for f in ("UNDERFLOW", "OVERFLOW", "INVALID_OP", "DIVIDE_BY_ZERO")
             if p[f"C_Has_{f}"] == "true"]
    want = {"aclk": ("in", 1),
            "s_axis_a_tvalid": ("in", 1), "s_axis_a_tdata": ("in", -(-a_w // 8) * 8),
            "m_axis_result_tvalid": ("out", 1), "m_axis_result_tdata": ("out", -(-r_w // 8) * 8)}
    if name in ("xlnx_fp_add", "xlnx_fp_mul"):
        want.update({"s_axis_b_tvalid": ("in", 1), "s_axis_b_tdata": ("in", 32)})
    if flags:
        want["m_axis_result_tuser"] = ("out", len(flags))
    for flag, port in (("Has_ACLKEN", "aclken"), ("Has_ARESETn", "aresetn"),
                       ("Has_RESULT_TREADY", "m_axis_result_tready")):
        if p[flag] == "true":
            want[port] = ("in", 1)
    assert vhdl_components(FP_PKG)[name] == want


def test_xci_matches_documented_configuration():
    """Every ``CONFIG.X = v`` the package documents for a core is what its .xci says."""
    doc = documented_config(FP_PKG)
    consts = vhdl_naturals(FP_PKG)
    assert set(FP_CORES) <= set(doc) and doc["common"]
    for name in FP_CORES:
        _, v = xci_values(name)
        checked = 0
        for key, val in {**doc["common"], **doc[name]}.items():
            # The package writes flag parameters as Has_<FLAG>; the IP names them C_Has_<FLAG>.
            if key in ("Has_OVERFLOW", "Has_UNDERFLOW", "Has_INVALID_OP", "Has_DIVIDE_BY_ZERO"):
                key = "C_" + key
            val = str(consts.get(val, val))
            assert v.get(f"PARAM_VALUE.{key}", "<missing>").lower() == val.lower(), (name, key)
            checked += 1
        assert checked >= 8, name


# --------------------------------------------------------------------------- make_hw
MAKE_HW = ROOT / "make_hw"


def make_hw(args, env_path=None, tmp_path=None, extra_env=None):
    env = dict(os.environ)
    if env_path is not None:
        env["PATH"] = env_path
    env.update(extra_env or {})
    return subprocess.run([sys.executable, str(MAKE_HW), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("args, message", [
    ([], "the following arguments are required: BITS"),
    (["3"], "BITS must be one of 0, 1, 2, 4, 8 (0 = float32), got '3'"),
    (["q4"], "got 'q4'"),
    (["4", "--board", "zedboard"], "invalid choice: 'zedboard'"),
    (["4", "--jobs", "0"], "--jobs must be a positive integer, got '0'"),
    (["4", "--jobs", "many"], "got 'many'"),
    (["4", "--clock", "900"], "--clock must be a frequency in MHz between 10 and 250"),
    (["4", "--clock", "x"], "got 'x'"),
    (["4", "--turbo"], "unrecognized arguments: --turbo"),
])
def test_make_hw_usage_errors(args, message):
    proc = make_hw(args)
    assert proc.returncode == 2
    assert "usage: make_hw" in proc.stderr and message in proc.stderr, proc.stderr


def test_make_hw_help():
    proc = make_hw(["--help"])
    assert proc.returncode == 0 and "--board {pynq-z1,pynq-z2}" in proc.stdout


def test_make_hw_without_vivado(tmp_path):
    proc = make_hw(["4"], env_path=str(tmp_path))
    assert proc.returncode == 3
    assert "'vivado' not found on PATH" in proc.stderr and "settings64.sh" in proc.stderr
    proc = make_hw(["4", "--vivado", str(tmp_path / "nope")], env_path=os.environ["PATH"])
    assert proc.returncode == 3 and "nope" in proc.stderr


def _fake_vivado(tmp_path: Path) -> Path:
    """A `vivado` that checks its batch options and runs the -source script on the mock."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "vivado"
    exe.write_text(f"""#!{sys.executable}
import os, subprocess, sys
a = sys.argv[1:]
assert a[:2] == ["-mode", "batch"], a
assert "-nojournal" in a and "-log" in a, a
i = a.index("-source")
script = a[i + 1]
assert a[i + 2] == "-tclargs", a
open(os.environ["FAKE_VIVADO_ARGS"], "w").write("\\n".join(a))
sys.exit(subprocess.call(["tclsh", {str(RUN_MOCK)!r}, script, *a[i + 3:]]))
""")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return bindir


def test_make_hw_runs_the_build_script(tmp_path):
    bindir = _fake_vivado(tmp_path)
    generics, ports, _ = engine_interface(2)
    extra = {"FAKE_VIVADO_ARGS": str(tmp_path / "args.txt"),
             "ZIPML_MOCK_STATE": str(tmp_path / "state.json"),
             "ZIPML_MOCK_TOP_PORTS": " ".join(ports),
             "ZIPML_MOCK_TOP_GENERICS": " ".join(generics)}
    out, export = tmp_path / "out", tmp_path / "exp"
    proc = make_hw(["2", "--board", "pynq-z2", "--jobs", "3", "--clock", "142.86",
                    "--out", out, "--export", export],
                   env_path=f"{bindir}{os.pathsep}{os.environ['PATH']}", extra_env=extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    args = (tmp_path / "args.txt").read_text().split("\n")
    assert args[args.index("-source") + 1] == str(SCRIPTS / "build_hw.tcl")
    assert args[args.index("-log") + 1] == str(out / "vivado.log")
    st = json.loads((tmp_path / "state.json").read_text())
    assert st["error"] == ""
    assert st["cells"]["ps7"]["config"]["CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ"] == "142.86"
    assert all(r["jobs"] == "3" for r in st["runs"].values())
    assert (export / "zipml_q2.bit").is_file() and (export / "zipml_q2.hwh").is_file()

    # A failing build is reported with its exit status and the log's place.
    extra["ZIPML_MOCK_WNS"] = "-1"
    proc = make_hw(["2", "--out", out, "--export", tmp_path / "exp2"],
                   env_path=f"{bindir}{os.pathsep}{os.environ['PATH']}", extra_env=extra)
    assert proc.returncode == 1
    assert "Vivado failed (exit 1)" in proc.stderr and "timing not met" in proc.stderr
