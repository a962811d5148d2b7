"""The simulated board's .hwh (zipml.hw.bd.hwh) against what scripts/build_bd.tcl declares.

``build_hw.tcl`` runs on the Vivado mock (tests/tcl/vivado_mock.tcl, see test_build_flow.py);
its recorded block design (cells and their VLNVs and CONFIG, nets, explicit address
assignments) is compared with the generated .hwh: cell names, VLNVs, base addresses and
ranges on M_AXI_GP0, FCLK0 (frequency and divisors), the DMA's parameters, the engine's
generics, the interrupt wiring. Both come from zipml/hw/bd.py (the TCL through the generated
scripts/zipml_bd.tcl), so this test catches a TCL edit that bypasses the description.
"""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from zipml import spec
from zipml.hw import bd

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")

_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _hwh_modules(text: str) -> dict:
    root = ET.fromstring(text)
    out = {}
    for m in root.iter("MODULE"):
        params = {p.get("NAME"): p.get("VALUE") for p in m.iter("PARAMETER")}
        ranges = [r.attrib for r in m.iter("MEMRANGE")]
        ports = {p.get("NAME"): {(c.get("INSTANCE"), c.get("PORT")) for c in p.iter("CONNECTION")}
                 for p in m.iter("PORT")}
        out[m.get("INSTANCE")] = {"vlnv": m.get("VLNV"), "params": params, "ranges": ranges,
                                  "ports": ports}
    return out


def differences(state: dict, hwh_text: str, bits: int) -> list[str]:
    """What the .hwh says differently from the block design the TCL built (empty: agree)."""
    diffs = []
    mods = _hwh_modules(hwh_text)
    cells = state["cells"]
    # cells and VLNVs (every IP the .hwh describes exists in the design with that VLNV)
    for inst, m in mods.items():
        if inst not in cells:
            diffs.append(f"cell {inst}: in the .hwh, not in the block design")
        elif cells[inst]["vlnv"] != m["vlnv"]:
            diffs.append(f"cell {inst}: VLNV {m['vlnv']} in the .hwh, {cells[inst]['vlnv']} "
                         f"in the TCL")
    for need in (bd.PS7_CELL, bd.ENGINE_CELL, bd.DMA_CELL):
        if need not in mods:
            diffs.append(f"cell {need} missing in the .hwh")
    if diffs:
        return diffs
    # address map: the TCL's explicit assignments vs the PS7's MEMRANGEs
    tcl = {}
    for seg, offset, rng, space in state["addresses"]:
        cell, intf, block = seg.split("/")
        if space != f"{bd.PS7_CELL}/Data":
            diffs.append(f"{seg}: assigned in address space {space}")
        tcl[cell] = (intf, block, int(offset, 16), int(rng[:-1]) * _UNITS[rng[-1]])
    hwh = {}
    for r in mods[bd.PS7_CELL]["ranges"]:
        if r["MASTERBUSINTERFACE"] != "M_AXI_GP0":
            diffs.append(f"MEMRANGE of {r['INSTANCE']} on {r['MASTERBUSINTERFACE']}")
        base, high = int(r["BASEVALUE"], 16), int(r["HIGHVALUE"], 16)
        hwh[r["INSTANCE"]] = (r["SLAVEBUSINTERFACE"], r["ADDRESSBLOCK"], base, high - base + 1)
    if tcl != hwh:
        diffs.append(f"address map: TCL {tcl} != .hwh {hwh}")
    # FCLK0: requested frequency, and divisors that give it from the IO PLL
    ps7_cfg, ps7_hwh = cells[bd.PS7_CELL]["config"], mods[bd.PS7_CELL]["params"]
    want = float(ps7_cfg["CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ"])
    if float(ps7_hwh["PCW_FPGA0_PERIPHERAL_FREQMHZ"]) != want:
        diffs.append(f"FCLK0: TCL {want} MHz, .hwh {ps7_hwh['PCW_FPGA0_PERIPHERAL_FREQMHZ']}")
    d0, d1 = (int(ps7_hwh[f"PCW_FCLK0_PERIPHERAL_DIVISOR{i}"]) for i in (0, 1))
    if abs(bd.IO_PLL_MHZ / (d0 * d1) - want) > 0.01 * want:
        diffs.append(f"FCLK0 divisors {d0} x {d1} do not give {want} MHz")
    if int(ps7_hwh["PCW_FPGA_FCLK0_ENABLE"]) != 1:
        diffs.append("FCLK0 not enabled in the .hwh")
    # the DMA's and the engine's parameters
    for cell in (bd.DMA_CELL, bd.ENGINE_CELL):
        for key, value in cells[cell]["config"].items():
            name = key[len("CONFIG."):]
            got = mods[cell]["params"].get(name)
            if got != str(value):
                diffs.append(f"{cell} {name}: TCL {value}, .hwh {got}")
    if mods[bd.ENGINE_CELL]["params"].get("G_BITS") != str(bits):
        diffs.append(f"engine G_BITS != {bits}")
    # interrupts: what the TCL wires into IRQ_F2P
    nets = [set(n) for n in state["nets"]]
    for cell, port in bd.INTERRUPTS:
        peers = mods[cell]["ports"].get(port, set())
        for inst, p in peers:
            if not any({f"bd_pin:/{cell}/{port}", f"bd_pin:/{inst}/{p}"} <= n for n in nets):
                diffs.append(f"interrupt {cell}/{port} -> {inst}/{p} not in the TCL's nets")
        if not peers:
            diffs.append(f"interrupt {cell}/{port} unconnected in the .hwh")
    return diffs


@pytest.fixture(scope="module")
def tcl_state(tmp_path_factory):
    from test_build_flow import build
    states = {}
    for bits in (0, 4):
        rc, text, st, _, _ = build(tmp_path_factory.mktemp(f"q{bits}"), bits)
        assert rc == 0, text
        states[bits] = st
    return states


@pytest.mark.parametrize("bits", [0, 4])
def test_hwh_matches_the_block_design_of_the_tcl(tcl_state, bits):
    st = tcl_state[bits]
    assert st["bd"]["addressed"]
    assert {a[0] for a in st["addresses"]} == {f"{c}/{i}/{b}" for c, (i, b, _, _)
                                               in bd.ADDRESS_MAP.items()}
    assert differences(st, bd.hwh(bits), bits) == []
    # the names pynq users see
    assert bd.ENGINE_CELL in st["cells"] and bd.DMA_CELL == "axi_dma"
    assert st["cells"][bd.ENGINE_CELL]["vlnv"] == spec.VLNV


def test_the_comparison_catches_drift(tcl_state):
    st, good = tcl_state[4], bd.hwh(4)
    assert differences(st, good.replace('BASEVALUE="0x43C00000"', 'BASEVALUE="0x43C10000"'), 4)
    assert differences(st, good.replace('NAME="c_sg_length_width" VALUE="26"',
                                        'NAME="c_sg_length_width" VALUE="23"'), 4)
    assert differences(st, good.replace('INSTANCE="axi_dma"', 'INSTANCE="dma"'), 4)
    assert differences(st, good, 2)                              # G_BITS
    assert differences(st, bd.hwh(4, fclk0_mhz=125), 4)
    wrong = dict(st, addresses=[[s, "0x40000000" if "dma" in s else o, r, sp]
                                for s, o, r, sp in st["addresses"]])
    assert differences(wrong, good, 4)


def test_clock_option_and_fclk_divisors():
    assert bd.fclk_divisors(100) == (10, 1)
    d0, d1 = bd.fclk_divisors(142.86)
    assert abs(1000 / (d0 * d1) - 142.86) < 0.5
    text = bd.hwh(8, fclk0_mhz=125)
    assert 'NAME="PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ" VALUE="125.000000"' in text
