"""Generate the Xilinx IP files of ``xlnx_ip/`` from one table.

The engine's float32 units (``RTL/fp/zipml_fp_*.vhd``) instantiate, when ``G_FP_XILINX`` is
true, four Floating-Point Operator v7.1 cores. Their latencies and fixed-point formats are
constants of ``RTL/fp/zipml_fp_pkg.vhd``; this script reads them from there, so the cores and the
RTL cannot drift apart silently. It writes:

* ``xlnx_ip/<name>/<name>.xci`` -- the IP customisation in the XML (IP-XACT 1685-2009) format of
  Vivado 2020.2, which ``scripts/package_ip.tcl`` imports (and upgrades on newer Vivado);
* ``xlnx_ip/ip_table.tcl`` -- the same parameters as a TCL dict, which
  ``scripts/create_xlnx_ip.tcl`` and ``make_hw --recreate-ip`` feed to ``create_ip`` /
  ``set_property`` for Vivado versions that cannot read the .xci files.

Usage::

    python scripts/gen_xci.py            # write the files
    python scripts/gen_xci.py --check    # exit 1 if a file is stale (run by the tests)
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
FP_PKG = ROOT / "RTL" / "fp" / "zipml_fp_pkg.vhd"
IP_DIR = ROOT / "xlnx_ip"
PART = "xc7z020clg400-1"
#: Vivado release whose .xci format and floating_point version the files are written for.
VIVADO_VERSION = "2020.2"
FP_VLNV = ("xilinx.com", "ip", "floating_point", "7.1")

_CONST_RE = re.compile(r"^\s*constant\s+(\w+)\s*:\s*natural\s*:=\s*(\d+)\s*;", re.I | re.M)


def vhdl_constants(path: Path = FP_PKG) -> dict[str, int]:
    """``natural`` constants of a VHDL package, by upper-case name.

    Raises
    ------
    FileNotFoundError
        If the package does not exist.
    """
    text = path.read_text()
    return {m.group(1).upper(): int(m.group(2)) for m in _CONST_RE.finditer(text)}


def _need(consts: dict[str, int], name: str, path: Path) -> int:
    if name not in consts:
        raise KeyError(f"{path}: constant {name} (natural) not found; the Xilinx IP table needs it")
    return consts[name]


#: Settings of every core (zipml_fp_pkg.vhd: NonBlocking, no TREADY, fixed latency, one
#: operation per cycle, no ACLKEN/ARESETn, no TLAST/TUSER on the inputs, no flags unless listed).
COMMON = {
    "Flow_Control": "NonBlocking",
    "Has_RESULT_TREADY": "false",
    "Maximum_Latency": "false",
    "C_Rate": "1",
    "Has_ACLKEN": "false",
    "Has_ARESETn": "false",
    "Has_A_TLAST": "false",
    "Has_A_TUSER": "false",
    "Has_B_TLAST": "false",
    "Has_B_TUSER": "false",
    "C_Has_UNDERFLOW": "false",
    "C_Has_OVERFLOW": "false",
    "C_Has_INVALID_OP": "false",
    "C_Has_DIVIDE_BY_ZERO": "false",
    "C_Optimization": "Speed_Optimized",
}


def ip_table(pkg: Path = FP_PKG) -> dict[str, dict[str, str]]:
    """The user parameters (``CONFIG.*`` without the prefix) of each core, in a fixed order."""
    c = vhdl_constants(pkg)

    def n(name):
        return str(_need(c, name, pkg))

    fix_w, fix_f = _need(c, "C_FIX2FLT_IN_WIDTH", pkg), _need(c, "C_FIX2FLT_IN_FRAC", pkg)
    flt_w, flt_f = _need(c, "C_FLT2FIX_OUT_WIDTH", pkg), _need(c, "C_FLT2FIX_OUT_FRAC", pkg)
    single = {"A_Precision_Type": "Single", "C_A_Exponent_Width": "8",
              "C_A_Fraction_Width": "24"}
    single_out = {"Result_Precision_Type": "Single", "C_Result_Exponent_Width": "8",
                  "C_Result_Fraction_Width": "24"}
    table = {
        "xlnx_fp_add": {"Operation_Type": "Add_Subtract", "Add_Sub_Value": "Add", **single,
                        **single_out, "C_Mult_Usage": "No_Usage",
                        "C_Latency": n("C_XLNX_FP_ADD_LATENCY")},
        "xlnx_fp_mul": {"Operation_Type": "Multiply", **single, **single_out,
                        "C_Mult_Usage": "Full_Usage", "C_Latency": n("C_XLNX_FP_MUL_LATENCY")},
        # Fixed-point operands: the Exponent_Width field holds the integer width (incl. sign).
        "xlnx_fp_fix2flt": {"Operation_Type": "Fixed_to_float", "A_Precision_Type": "Custom",
                            "C_A_Exponent_Width": str(fix_w - fix_f),
                            "C_A_Fraction_Width": str(fix_f), **single_out,
                            "C_Latency": n("C_XLNX_FP_FIX2FLT_LATENCY")},
        "xlnx_fp_flt2fix": {"Operation_Type": "Float_to_fixed", **single,
                            "Result_Precision_Type": "Custom",
                            "C_Result_Exponent_Width": str(flt_w - flt_f),
                            "C_Result_Fraction_Width": str(flt_f),
                            "C_Latency": n("C_XLNX_FP_FLT2FIX_LATENCY"),
                            "C_Has_OVERFLOW": "true", "C_Has_INVALID_OP": "true"},
    }
    out = {}
    for name, params in table.items():
        merged = dict(COMMON)
        merged.update(params)
        out[name] = {"Component_Name": name, **dict(sorted(merged.items()))}
    return out


def gen_xci(name: str, params: dict[str, str]) -> str:
    """One .xci (IP-XACT 1685-2009 design with one componentInstance), Vivado 2020.2 layout."""
    vendor, library, ipname, version = FP_VLNV
    family, rest = "zynq", PART[len("xc7z020"):]
    package, speed = rest.split("-")
    values = [(f"PARAM_VALUE.{k}", v) for k, v in params.items()]
    values += [
        ("PROJECT_PARAM.ARCHITECTURE", family),
        ("PROJECT_PARAM.DEVICE", "xc7z020"),
        ("PROJECT_PARAM.PACKAGE", package),
        ("PROJECT_PARAM.SPEEDGRADE", f"-{speed}"),
        ("PROJECT_PARAM.PREFHDL", "VHDL"),
        ("PROJECT_PARAM.SIMULATOR_LANGUAGE", "MIXED"),
        ("PROJECT_PARAM.USE_RDI_CUSTOMIZATION", "TRUE"),
        ("PROJECT_PARAM.USE_RDI_GENERATION", "TRUE"),
        ("RUNTIME_PARAM.IPCONTEXT", "IP_Flow"),
        ("RUNTIME_PARAM.MANAGED", "TRUE"),
        ("RUNTIME_PARAM.OUTPUTDIR", "."),
        ("RUNTIME_PARAM.SHAREDDIR", "."),
        ("RUNTIME_PARAM.SWVERSION", VIVADO_VERSION),
        ("RUNTIME_PARAM.SYNTHESISFLOW", "OUT_OF_CONTEXT"),
    ]
    sp = "spirit:configurableElementValue"
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!-- generated by python scripts/gen_xci.py from RTL/fp/zipml_fp_pkg.vhd; do not edit -->",
        '<spirit:design xmlns:xilinx="http://www.xilinx.com" '
        'xmlns:spirit="http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "  <spirit:vendor>xilinx.com</spirit:vendor>",
        "  <spirit:library>xci</spirit:library>",
        "  <spirit:name>unknown</spirit:name>",
        "  <spirit:version>1.0</spirit:version>",
        "  <spirit:componentInstances>",
        "    <spirit:componentInstance>",
        f"      <spirit:instanceName>{escape(name)}</spirit:instanceName>",
        f'      <spirit:componentRef spirit:vendor="{vendor}" spirit:library="{library}" '
        f'spirit:name="{ipname}" spirit:version="{version}"/>',
        "      <spirit:configurableElementValues>",
    ]
    lines += [f'        <{sp} spirit:referenceId="{escape(k)}">{escape(v)}</{sp}>'
              for k, v in values]
    lines += [
        "      </spirit:configurableElementValues>",
        "      <spirit:vendorExtensions>",
        "        <xilinx:componentInstanceExtensions>",
        "          <xilinx:configElementInfos>",
    ]
    lines += [f'            <xilinx:configElementInfo xilinx:referenceId="PARAM_VALUE.{escape(k)}"'
              ' xilinx:valueSource="user"/>' for k in params if k != "Component_Name"]
    lines += [
        "          </xilinx:configElementInfos>",
        "        </xilinx:componentInstanceExtensions>",
        "      </spirit:vendorExtensions>",
        "    </spirit:componentInstance>",
        "  </spirit:componentInstances>",
        "</spirit:design>",
        "",
    ]
    return "\n".join(lines)


def gen_tcl_table(table: dict[str, dict[str, str]]) -> str:
    """``xlnx_ip/ip_table.tcl``: namespace zipml_xlnx_ip, variable TABLE (name -> vlnv, config)."""
    lines = ["# generated by python scripts/gen_xci.py from RTL/fp/zipml_fp_pkg.vhd; do not edit",
             "namespace eval zipml_xlnx_ip {",
             f"    variable PART {PART}",
             f"    variable VIVADO_VERSION {VIVADO_VERSION}",
             "    variable TABLE {"]
    for name, params in table.items():
        lines.append(f"        {name} {{")
        lines.append(f"            vlnv {':'.join(FP_VLNV)}")
        lines.append("            config {")
        lines += [f"                CONFIG.{k} {v}" for k, v in params.items()
                  if k != "Component_Name"]
        lines.append("            }")
        lines.append("        }")
    lines += ["    }", "}", ""]
    return "\n".join(lines)


def generated_files(pkg: Path = FP_PKG, ip_dir: Path = IP_DIR) -> dict[Path, str]:
    table = ip_table(pkg)
    files = {ip_dir / name / f"{name}.xci": gen_xci(name, params)
             for name, params in table.items()}
    files[ip_dir / "ip_table.tcl"] = gen_tcl_table(table)
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/gen_xci.py",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = ap.parse_args(argv)
    stale = []
    for path, content in generated_files().items():
        current = path.read_text() if path.exists() else None
        if current == content:
            continue
        if args.check:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("stale (run python scripts/gen_xci.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
