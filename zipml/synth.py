"""Open-source synthesis of the engine: ``ghdl synth`` -> Verilog -> Yosys ``synth_xilinx``.

Used by ``zipml synth`` (resource report against the xc7z020) and by the Verilator fast
simulation path (which compiles the same Verilog), so that what is simulated is what was
synthesised.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import rtl, spec

#: Zynq-7020 (xc7z020clg400-1) capacity.
XC7Z020 = {"LUT": 53200, "FF": 106400, "BRAM36": 140, "DSP48": 220}
#: Targets of the RTL issue (fraction of the device).
TARGETS = {"LUT": 0.60, "BRAM36": 0.70, "DSP48": 0.80}
BUILD = rtl.build_root() / "synth"


class ToolMissing(RuntimeError):
    pass


def _need(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise ToolMissing(f"{tool} not found on PATH ({hint})")
    return path


#: Bump when the Verilog repair (fix_ghdl_verilog) changes: cached netlists are keyed on it.
NETLIST_REVISION = 4


def rtl_digest(bits: int, flow: str = "synth") -> str:
    """Hash of the manifest files' contents for a precision (cache key)."""
    h = hashlib.sha256(f"netlist-revision-{NETLIST_REVISION}".encode())
    for p in rtl.manifest(bits, flow):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def ghdl_verilog(bits: int, max_dim: int, out_dir: Path | None = None, *,
                 fifo_words: int | None = None, flow: str = "synth") -> Path:
    """Synthesise the engine with GHDL and write it as Verilog; returns the ``.v`` path.

    The result is cached under ``build/synth/`` by precision, dimension and RTL content.
    """
    spec.check_bits(bits)
    if max_dim % 64 or not 64 <= max_dim <= spec.MAX_DIM_LIMIT:
        raise ValueError(f"max_dim must be a multiple of 64 in [64, {spec.MAX_DIM_LIMIT}], "
                         f"got {max_dim}")
    ghdl = _need("ghdl", "apt-get install ghdl")
    files = rtl.manifest(bits, flow)
    key = f"q{bits}_d{max_dim}" + (f"_f{fifo_words}" if fifo_words else "")
    out_dir = Path(out_dir or BUILD / f"{key}_{rtl_digest(bits, flow)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    vfile = out_dir / f"{spec.TOP_ENTITY}.v"
    if vfile.exists() and vfile.stat().st_size:
        return vfile
    work = out_dir / "ghdl"
    work.mkdir(exist_ok=True)
    common = ["--std=08", "-frelaxed", f"--workdir={work}"]
    _run([ghdl, "-a", *common, *map(str, files)], "ghdl -a")
    generics = [f"-gG_BITS={bits}", f"-gG_MAX_DIM={max_dim}"]
    if fifo_words:
        generics.append(f"-gG_FIFO_WORDS={fifo_words}")
    res = _run([ghdl, "synth", *common, *generics, "--out=verilog", spec.TOP_ENTITY],
               "ghdl synth")
    log = res.stderr
    (out_dir / "ghdl_synth.log").write_text(log)
    if re.search(r"latch", log, re.IGNORECASE):
        raise RuntimeError(f"ghdl synth inferred a latch (see {out_dir / 'ghdl_synth.log'})")
    raw = _run([ghdl, "synth", *common, *generics, "--out=raw", spec.TOP_ENTITY],
               "ghdl synth --out=raw").stdout
    tmp = vfile.with_suffix(".v.tmp")
    tmp.write_text(fix_ghdl_verilog(res.stdout, raw))
    tmp.replace(vfile)
    return vfile


_BIT_STRING = re.compile(r'"([01]+)"')
_SIGNED_SHR = re.compile(r"(\$signed\([^()]*\)) >> ")


def fix_ghdl_verilog(text: str, raw: str | None = None) -> str:
    """Repair three errors of the Verilog written by ``ghdl synth --out=verilog`` (GHDL 2.0).

    The netlist itself is right (``--out=vhdl`` of the same synthesis simulates like the RTL);
    its Verilog rendering is not, in every simulator (Verilator, Icarus) and in Yosys:

    - constants wider than 32 bits are written ``"0101..."``, a Verilog *string* literal (8 bits
      of ASCII per character), not a bit vector: the engine's register reset values read back
      as 0x18181818. Rewritten as sized binary constants ``N'b0101...`` (GHDL writes no other
      strings);
    - ``shift_right`` of a ``signed`` value (arithmetic) is written ``$signed(x) >> n``, a
      logical shift in Verilog: negative updates became huge positive ones and the models
      saturated. Rewritten as ``$signed(x) >>> n``;
    - a parallel multiplexer (``$pmux``, from ``case ... when others``) is written as a Verilog
      ``case`` *without its default input*: when no select bit is set the output keeps its old
      value (a latch in Yosys, a hold in Verilator) instead of taking the ``others`` value. The
      defaults are read from the same synthesis written ``--out=raw`` (``raw``) and inserted as
      ``default:`` items (``'bx`` for ``others => '-'``/don't care, which is what GHDL emits for
      a ``case`` whose ``others`` branch assigns nothing). Without ``raw`` a netlist containing
      such a ``case`` is refused, and a default that names an undeclared net is refused too.
    """
    text = _BIT_STRING.sub(lambda m: f"{len(m.group(1))}'b{m.group(1)}", text)
    text = _SIGNED_SHR.sub(r"\1 >>> ", text)
    return _fix_pmux_defaults(text, raw)


_RAW_MODULE = re.compile(r"^\s*module \{m\d+\} \\(\S+)\s*$", re.MULTILINE)
_RAW_PMUX = re.compile(r"%(\d+):\$o\{[^}]*\} := \$pmux\{i\d+\}(?: #\([^)]*\))? \(")
_V_MODULE = re.compile(r"^module (\S+)\s*$", re.MULTILINE)
_V_CASE = re.compile(r"(  always @\*\n    case \([^)]*\)\n(?:      [^\n]*: (n\d+_o) <= [^\n]*;\n)+)"
                     r"(    endcase)")


def _raw_pmux_defaults(raw: str) -> dict:
    """{module name: {pmux output net: Verilog expression of its default input}}."""
    out = {}
    bounds = [(m.start(), m.group(1)) for m in _RAW_MODULE.finditer(raw)] + [(len(raw), None)]
    for (start, name), (end, _) in zip(bounds, bounds[1:]):
        body = raw[start:end]
        found = {}
        for m in _RAW_PMUX.finditer(body):
            depth, i, default = 1, m.end(), None
            while depth and i < len(body):
                c = body[i]
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                elif depth == 1 and body.startswith(".$def{", i):
                    rest = body[body.index(":", i) + 1:].lstrip()
                    tok = rest.split(None, 1)[0].rstrip(",")
                    driver = re.match(r"\S+ := (\$const_X\{|(\d+)'u([hb])([0-9a-fA-F]+))", rest)
                    if driver and driver.group(1).startswith("$const_X"):
                        default = "'bx"         # VHDL "others => don't care"
                    elif driver:                # an inlined constant
                        default = f"{driver.group(2)}'{driver.group(3)}{driver.group(4)}"
                    else:
                        default = _raw_net_to_verilog(tok, name)
                i += 1
            if default is None:
                raise RuntimeError(f"ghdl raw netlist: no default input for pmux n{m.group(1)}_o "
                                   f"in module {name}")
            found[f"n{m.group(1)}_o"] = default
        out[name] = found
    return out


def _raw_net_to_verilog(tok: str, module: str) -> str:
    tok = tok.split("{", 1)[0]
    m = re.fullmatch(r"%(\d+):\$(o|q)", tok)
    if m:
        return f"n{m.group(1)}_{m.group(2)}"
    m = re.fullmatch(r"\\([A-Za-z_][A-Za-z0-9_]*)", tok)
    if m:
        return m.group(1)
    m = re.fullmatch(r"(\d+)'[us]?([bhd])([0-9a-fA-FxXzZ]+)", tok)
    if m:
        return f"{m.group(1)}'{m.group(2)}{m.group(3)}"
    raise RuntimeError(f"ghdl raw netlist: pmux default {tok!r} in module {module} is not a "
                       "form this repair knows; refusing to write a wrong Verilog netlist")


def _fix_pmux_defaults(text: str, raw: str | None) -> str:
    defaults = _raw_pmux_defaults(raw) if raw is not None else None
    parts = []
    bounds = [(m.start(), m.group(1)) for m in _V_MODULE.finditer(text)] + [(len(text), None)]
    parts.append(text[:bounds[0][0]])
    for (start, name), (end, _) in zip(bounds, bounds[1:]):
        body = text[start:end]
        mod_defaults = (defaults or {}).get(name, {})

        def add_default(m, name=name, mod_defaults=mod_defaults):
            net = m.group(2)
            if defaults is None:
                raise RuntimeError("the GHDL Verilog has a case without default "
                                   f"({net} in module {name}); pass the --out=raw netlist")
            if net not in mod_defaults:
                items = m.group(1).count(f": {net} <= ")
                sel_bits = re.search(r"\n      (\d+)'b[01]+: ", m.group(1))
                if sel_bits and items == 2 ** int(sel_bits.group(1)):
                    return m.group(0)           # a full case ($mux4): needs no default
                raise RuntimeError(f"no pmux default known for {net} in module {name}")
            value = mod_defaults.pop(net)
            if re.fullmatch(r"[A-Za-z_]\w*", value) and not re.search(
                    rf"^\s*\(?\s*(?:wire|reg|input|output)\b[^;,)]*\b{value}\s*[;,)]", body,
                    re.MULTILINE):
                raise RuntimeError(f"pmux default {value} of {net} in module {name} is not "
                                   "declared in the GHDL Verilog")
            return f"{m.group(1)}      default: {net} <= {value};\n{m.group(3)}"

        body = _V_CASE.sub(add_default, body)
        if mod_defaults:
            raise RuntimeError(f"pmux defaults not placed in module {name}: {sorted(mod_defaults)}")
        parts.append(body)
    return "".join(parts)


def _run(cmd, what):
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(f"{what} failed (exit {res.returncode}):\n{res.stderr[-4000:]}")
    return res


@dataclass
class Resources:
    bits: int
    max_dim: int
    cells: dict
    tool: str = "yosys synth_xilinx -family xc7"

    @property
    def used(self) -> dict:
        c = self.cells
        lut = sum(v for k, v in c.items() if re.fullmatch(r"LUT[1-6]|INV", k))
        # LUT RAM / shift registers occupy LUTs too (SLICEM); count them in the LUT figure.
        lut += sum(v for k, v in c.items() if k.startswith(("RAM32", "RAM64", "RAM128",
                                                               "RAM256", "SRL")))
        ff = sum(v for k, v in c.items() if re.fullmatch(r"FD[A-Z]*", k))
        bram = c.get("RAMB36E1", 0) + 0.5 * c.get("RAMB18E1", 0)
        dsp = c.get("DSP48E1", 0)
        return {"LUT": lut, "FF": ff, "BRAM36": bram, "DSP48": dsp}

    @property
    def latches(self) -> int:
        """Latch cells (LDCE/LDPE): the RTL must have none."""
        return sum(v for k, v in self.cells.items() if re.fullmatch(r"LD[CP]E?", k))

    def table(self) -> str:
        used = self.used
        lines = [f"zipml_sgd_engine Q{self.bits}, G_MAX_DIM={self.max_dim}, "
                 f"{self.tool} (xc7z020clg400-1)",
                 f"{'resource':<8} {'used':>9} {'available':>10} {'util':>7} {'target':>7}  ok"]
        for k, avail in XC7Z020.items():
            u = used[k]
            frac = u / avail
            tgt = TARGETS.get(k)
            ok = "" if tgt is None else ("PASS" if frac <= tgt else "MISS")
            lines.append(f"{k:<8} {u:>9g} {avail:>10} {100 * frac:>6.1f}% "
                         f"{'' if tgt is None else f'{100 * tgt:.0f}%':>7}  {ok}")
        lines.append(f"{'latches':<8} {self.latches:>9}      (must be 0)"
                     f"{'  FAIL' if self.latches else ''}")
        return "\n".join(lines)

    def meets_targets(self) -> bool:
        used = self.used
        return (not self.latches
                and all(used[k] / XC7Z020[k] <= t for k, t in TARGETS.items()))


def yosys_resources(bits: int, max_dim: int = spec.DEFAULT_MAX_DIM, *,
                    vfile: Path | None = None) -> Resources:
    """Map the engine to 7-series cells with Yosys (flattened) and count them."""
    yosys = _need("yosys", "apt-get install yosys")
    vfile = vfile or ghdl_verilog(bits, max_dim)
    out = vfile.parent / "yosys_stat.txt"
    log = vfile.parent / "yosys.log"
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        script = (f"read_verilog {vfile}; synth_xilinx -family xc7 -flatten "
                  f"-top {spec.TOP_ENTITY}; tee -q -o {tmp} stat")
        res = subprocess.run([yosys, "-q", "-l", str(log), "-p", script],
                             capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"yosys failed (exit {res.returncode}), log {log}:\n"
                               f"{res.stderr[-4000:]}")
        tmp.replace(out)
    return Resources(bits, max_dim, parse_stat(out.read_text()))


def parse_stat(text: str) -> dict:
    """Cell counts from the text of Yosys ``stat`` on a flattened design."""
    cells = {}
    # Yosys 0.23 writes "name count", Yosys 0.70 "count name"
    for m in re.finditer(r"^\s+(?:([A-Za-z_$\\][^\s]*)\s+(\d+)|(\d+)\s+([A-Za-z_$\\][^\s]*))\s*$",
                         text, re.MULTILINE):
        name = (m.group(1) or m.group(4)).lstrip("\\$")
        count = int(m.group(2) or m.group(3))
        if name in ("wires", "wire", "cells", "ports", "memories", "processes"):
            continue
        cells[name] = cells.get(name, 0) + count
    if not cells:
        raise RuntimeError("no cell counts in the Yosys stat output")
    return cells
