"""Single source of truth for every constant shared by Python, C, VHDL and TCL.

The engine specification (``docs/ENGINE.md``) refers to the names defined here. The C header
``cmodel/zipml_spec.h``, the VHDL package ``RTL/zipml_spec_pkg.vhd``, the TCL file
``scripts/zipml_spec.tcl`` and the register/error tables in ``docs/ENGINE.md`` are generated
from this module (and ``scripts/zipml_bd.tcl`` from the block design of ``zipml/hw/bd.py``)::

    python -m zipml.spec --write     # regenerate
    python -m zipml.spec --check     # exit 1 if a generated file is stale (run by the tests)
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------- identity
ID_VALUE = 0x5A4D4C45  # "ZMLE"
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = 1, 0, 0
VERSION_VALUE = (VERSION_MAJOR << 16) | (VERSION_MINOR << 8) | VERSION_PATCH

#: Vivado IP identity; the pynq driver binds to it.
VLNV_VENDOR = "zipml.dev"
VLNV_LIBRARY = "zipml"
VLNV_NAME = "zipml_sgd_engine"
VLNV_VERSION = "1.0"
VLNV = f"{VLNV_VENDOR}:{VLNV_LIBRARY}:{VLNV_NAME}:{VLNV_VERSION}"
TOP_ENTITY = "zipml_sgd_engine"

# --------------------------------------------------------------------------- numerics
PRECISIONS = (0, 1, 2, 4, 8)       #: 0 = float32 samples
MODEL_FRAC_BITS = 23               #: Q8.23 model, step and Q0 samples
LATENCY_BUDGET = 128               #: cycles, section 6 of ENGINE.md
FIFO_SLACK = 16                    #: words, section 6
MAX_DIM_LIMIT = 8192               #: accumulator bound, section 10
DEFAULT_MAX_DIM = 8192             #: board builds
IN_WIDTH = 64                      #: s_axis_tdata bits
OUT_WIDTH = 32                     #: m_axis_tdata bits
AXIL_ADDR_WIDTH = 8
AXIL_DATA_WIDTH = 32
DMA_LENGTH_WIDTH = 26              #: AXI DMA buffer length register bits of the board builds

# --------------------------------------------------------------------------- losses
LOSS_SVM = 0
LOSS_LINREG = 1
LOSS_LOGREG = 2
LOSSES = {"svm": LOSS_SVM, "linreg": LOSS_LINREG, "logreg": LOSS_LOGREG}


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: str  # RO, RW, WO
    doc: str


REGISTERS = (
    Register("ID", 0x00, "RO", 'constant 0x5A4D4C45 ("ZMLE")'),
    Register("VERSION", 0x04, "RO", "spec version: major << 16 / minor << 8 / patch"),
    Register("CONFIG", 0x08, "RO", "[3:0] precision bits (0 = float32); [8] FP units are Xilinx IP"),
    Register("MAX_DIM", 0x0C, "RO", "largest NUM_FEATURES this engine accepts"),
    Register("FIFO_WORDS", 0x10, "RO", "capacity of the sample FIFO in 64-bit words (section 6)"),
    Register("CTRL", 0x14, "WO", "[0] START, [1] SOFT_RESET, [2] ABORT; reads 0"),
    Register("STATUS", 0x18, "RO",
             "[0] BUSY, [1] DONE, [2] SAT (a saturation happened), [15:8] ERROR code"),
    Register("MODE", 0x1C, "RW",
             "[1:0] LOSS (0 svm, 1 linreg, 2 logreg), [4] SIGNED, [5] BINARIZE, [6] KEEP_MODEL, "
             "[7] DOUBLE_SAMPLING"),
    Register("NUM_SAMPLES", 0x20, "RW", "samples per epoch n >= 1"),
    Register("NUM_FEATURES", 0x24, "RW", "features d (bias included), 1 <= d <= MAX_DIM"),
    Register("NUM_EPOCHS", 0x28, "RW", "epochs per run >= 1"),
    Register("STEP_SIZE", 0x2C, "RW", "binary32 gamma_0, finite"),
    Register("STEP_DECAY", 0x30, "RW", "binary32 factor per epoch, finite"),
    Register("COST_POS", 0x34, "RW", "binary32 L2-SVM cost of positive samples, finite"),
    Register("COST_NEG", 0x38, "RW", "binary32 L2-SVM cost of negative samples, finite"),
    Register("REG_SHIFT", 0x3C, "RW", "0 = no regularisation, 1..31 = shift r"),
    Register("BINARIZE_VALUE", 0x40, "RW", "binary32 label value mapped to +1, finite"),
    Register("DELAY", 0x44, "RW", "minimum update delay in samples >= 1 (section 6)"),
    Register("CHUNK_SAMPLES", 0x48, "RW",
             "samples per DMA transfer; 0 = one transfer per epoch (7.5)"),
    Register("STALENESS", 0x4C, "RO", "S_d of the current run (valid after START)"),
    Register("EPOCH_COUNT", 0x50, "RO", "epochs completed in this run"),
    Register("SAMPLE_COUNT", 0x54, "RO", "samples taken in this run (all epochs)"),
    Register("CYCLES_LO", 0x58, "RO", "clock cycles while BUSY, bits 31..0"),
    Register("CYCLES_HI", 0x5C, "RO", "bits 63..32 (read LO first: it latches HI)"),
    Register("WORDS_LO", 0x60, "RO", "input words accepted in this run, bits 31..0"),
    Register("WORDS_HI", 0x64, "RO", "bits 63..32 (read LO first: it latches HI)"),
    Register("ERROR_INFO", 0x68, "RO",
             "sample index within the epoch where a data error was detected"),
)
REG = {r.name: r.offset for r in REGISTERS}

#: Reset (power-on) values of the RW registers; every other RW register resets to 0. They match
#: the defaults of ``zipml.config.EngineConfig`` (0.01f = 0x3C23D70A, 1.0f = 0x3F800000).
RESET = {
    "NUM_EPOCHS": 1,
    "STEP_SIZE": 0x3C23D70A,
    "STEP_DECAY": 0x3F800000,
    "COST_POS": 0x3F800000,
    "COST_NEG": 0x3F800000,
    "DELAY": 1,
}

# Bit fields: (register, field) -> (lsb, width)
FIELDS = {
    ("CONFIG", "BITS"): (0, 4),
    ("CONFIG", "FP_XILINX"): (8, 1),
    ("CTRL", "START"): (0, 1),
    ("CTRL", "SOFT_RESET"): (1, 1),
    ("CTRL", "ABORT"): (2, 1),
    ("STATUS", "BUSY"): (0, 1),
    ("STATUS", "DONE"): (1, 1),
    ("STATUS", "SAT"): (2, 1),
    ("STATUS", "ERROR"): (8, 8),
    ("MODE", "LOSS"): (0, 2),
    ("MODE", "SIGNED"): (4, 1),
    ("MODE", "BINARIZE"): (5, 1),
    ("MODE", "KEEP_MODEL"): (6, 1),
    ("MODE", "DOUBLE_SAMPLING"): (7, 1),
}


@dataclass(frozen=True)
class ErrorCode:
    name: str
    code: int
    doc: str


ERRORS = (
    ErrorCode("ERR_NONE", 0, "no error"),
    ErrorCode("ERR_BAD_MODE", 1, "reserved LOSS value, or DOUBLE_SAMPLING on a Q0 engine"),
    ErrorCode("ERR_ZERO_SAMPLES", 2, "NUM_SAMPLES = 0"),
    ErrorCode("ERR_BAD_DIM", 3, "NUM_FEATURES = 0 or > MAX_DIM"),
    ErrorCode("ERR_ZERO_EPOCHS", 4, "NUM_EPOCHS = 0"),
    ErrorCode("ERR_BAD_FLOAT_PARAM", 5,
              "STEP_SIZE, STEP_DECAY, COST_POS, COST_NEG or BINARIZE_VALUE is NaN or infinite"),
    ErrorCode("ERR_BAD_DELAY", 6, "DELAY = 0, or the FIFO cannot hold S_d + 1 samples (section 6)"),
    ErrorCode("ERR_BAD_REG_SHIFT", 7, "REG_SHIFT > 31"),
    ErrorCode("ERR_BAD_LABEL", 8, "label NaN/inf, or not +-1 for svm/logreg without BINARIZE"),
    ErrorCode("ERR_BAD_SAMPLE", 9,
              "Q0 value NaN/inf/out of Q8.23 range, or Qb code > 2^(b-1)"),
    ErrorCode("ERR_TLAST_EARLY", 10, "tlast on a word that is not the end of a transfer (7.5)"),
    ErrorCode("ERR_TLAST_MISSING", 11, "no tlast on the last word of a transfer (7.5)"),
    ErrorCode("ERR_ABORTED", 12, "the host wrote CTRL.ABORT"),
)
ERR = {e.name: e.code for e in ERRORS}
ERROR_NAMES = {e.code: e.name for e in ERRORS}
FIRST_DATA_ERROR = ERR["ERR_BAD_LABEL"]


# --------------------------------------------------------------------------- derived sizes
def values_per_word(bits: int) -> int:
    """Sample values in one 64-bit stream word (section 3.1)."""
    check_bits(bits)
    return 2 if bits == 0 else IN_WIDTH // bits


def data_words(bits: int, d: int) -> int:
    """Data words of one copy of a sample, ``D = ceil(d / V)``."""
    v = values_per_word(bits)
    return (d + v - 1) // v


def words_per_sample(bits: int, d: int, double_sampling: bool = False) -> int:
    """``W``: data words (one or two copies) plus the label word."""
    return data_words(bits, d) * (2 if double_sampling else 1) + 1


def quant_frac_bits(bits: int) -> int:
    """``QF``: fractional bits of the integer sample value q (section 3.2)."""
    check_bits(bits)
    return MODEL_FRAC_BITS if bits == 0 else bits - 1


def staleness(bits: int, d: int, delay: int = 1, double_sampling: bool = False) -> int:
    """``S_d`` of section 6."""
    w = words_per_sample(bits, d, double_sampling)
    return max(delay, 1 + (LATENCY_BUDGET + w - 1) // w)


def fifo_words_needed(bits: int, d: int, delay: int = 1, double_sampling: bool = False) -> int:
    """FIFO words a configuration needs: ``(S_d + 1) * D + FIFO_SLACK``."""
    return ((staleness(bits, d, delay, double_sampling) + 1) * data_words(bits, d)
            + FIFO_SLACK)


def default_fifo_words(bits: int, max_dim: int) -> int:
    """Smallest power of two that makes ``DELAY = 1`` valid for every ``d <= max_dim``."""
    need = max(fifo_words_needed(bits, d, 1, ds)
               for d in range(1, max_dim + 1)
               for ds in ((False, True) if bits else (False,)))
    n = 1
    while n < need:
        n <<= 1
    return n


def bitstream_name(bits: int) -> str:
    """Base name of the bitstream of precision ``bits`` in ``zipml/bitstreams/``.

    The Vivado flow (``make_hw``) writes ``<name>.bit`` and ``<name>.hwh`` there; the pynq driver
    loads them by this name. One pair per precision (the PYNQ-Z1 and PYNQ-Z2 builds share the
    part and use no PL pins, so the name does not carry the board).
    """
    check_bits(bits)
    return f"zipml_q{bits}"


def check_bits(bits: int) -> None:
    if bits not in PRECISIONS:
        raise ValueError(f"bits must be one of {PRECISIONS} (0 = float32), got {bits!r}")


def field(reg: str, name: str, value: int) -> int:
    """Place ``value`` into the bit field ``name`` of register ``reg``."""
    lsb, width = FIELDS[(reg, name)]
    if not 0 <= value < (1 << width):
        raise ValueError(f"{reg}.{name} takes {width} bit(s), got {value}")
    return value << lsb


def get_field(reg: str, name: str, word: int) -> int:
    lsb, width = FIELDS[(reg, name)]
    return (word >> lsb) & ((1 << width) - 1)


# --------------------------------------------------------------------------- generators
ROOT = Path(__file__).resolve().parent.parent
_HEADER = "generated by python -m zipml.spec --write from zipml/spec.py; do not edit"


def _scalar_constants():
    """(name, value) pairs emitted into every generated language."""
    out = [
        ("ID_VALUE", ID_VALUE), ("VERSION_VALUE", VERSION_VALUE),
        ("MODEL_FRAC_BITS", MODEL_FRAC_BITS), ("LATENCY_BUDGET", LATENCY_BUDGET),
        ("FIFO_SLACK", FIFO_SLACK), ("MAX_DIM_LIMIT", MAX_DIM_LIMIT),
        ("DEFAULT_MAX_DIM", DEFAULT_MAX_DIM), ("IN_WIDTH", IN_WIDTH), ("OUT_WIDTH", OUT_WIDTH),
        ("AXIL_ADDR_WIDTH", AXIL_ADDR_WIDTH), ("AXIL_DATA_WIDTH", AXIL_DATA_WIDTH),
        ("LOSS_SVM", LOSS_SVM), ("LOSS_LINREG", LOSS_LINREG), ("LOSS_LOGREG", LOSS_LOGREG),
    ]
    out += [(f"REG_{r.name}", r.offset) for r in REGISTERS]
    out += [(f"RESET_{r.name}", RESET.get(r.name, 0)) for r in REGISTERS if r.access == "RW"]
    for (reg, name), (lsb, width) in FIELDS.items():
        out.append((f"{reg}_{name}_LSB", lsb))
        out.append((f"{reg}_{name}_WIDTH", width))
    out += [(e.name, e.code) for e in ERRORS]
    return out


def gen_c() -> str:
    lines = [f"/* {_HEADER} */", "#ifndef ZIPML_SPEC_H", "#define ZIPML_SPEC_H", ""]
    for name, value in _scalar_constants():
        lines.append(f"#define ZML_{name} {value}u" if value > 0x7FFFFFFF
                     else f"#define ZML_{name} {value}")
    lines += [f'#define ZML_VLNV "{VLNV}"', "", "#endif /* ZIPML_SPEC_H */", ""]
    return "\n".join(lines)


def gen_vhdl() -> str:
    lines = [f"-- {_HEADER}", "library ieee;", "use ieee.std_logic_1164.all;",
             "use ieee.numeric_std.all;", "", "package zipml_spec_pkg is"]
    for name, value in _scalar_constants():
        if value > 0x7FFFFFFF:
            lines.append(f'  constant C_{name} : std_logic_vector(31 downto 0) := x"{value:08X}";')
        else:
            lines.append(f"  constant C_{name} : natural := {value};")
    lines += [f'  constant C_VLNV : string := "{VLNV}";', "end package zipml_spec_pkg;", ""]
    return "\n".join(lines)


def gen_tcl() -> str:
    lines = [f"# {_HEADER}", "namespace eval zipml_spec {"]
    for name, value in _scalar_constants():
        lines.append(f"  variable {name} {value}")
    for key, val in (("VLNV", VLNV), ("VLNV_VENDOR", VLNV_VENDOR), ("VLNV_LIBRARY", VLNV_LIBRARY),
                     ("VLNV_NAME", VLNV_NAME), ("VLNV_VERSION", VLNV_VERSION),
                     ("TOP_ENTITY", TOP_ENTITY)):
        lines.append(f'  variable {key} "{val}"')
    lines.append(f'  variable PRECISIONS {{{" ".join(str(p) for p in PRECISIONS)}}}')
    lines.append("  variable BITSTREAM_NAMES {"
                 + " ".join(f"{p} {bitstream_name(p)}" for p in PRECISIONS) + "}")
    lines.append(f"  variable DMA_LENGTH_WIDTH {DMA_LENGTH_WIDTH}")
    lines += ["}", ""]
    return "\n".join(lines)


def gen_register_table() -> str:
    rows = ["| offset | name | access | meaning |", "|---|---|---|---|"]
    rows += [f"| 0x{r.offset:02X} | `{r.name}` | {r.access} | {r.doc} |" for r in REGISTERS]
    return "\n".join(rows)


def gen_error_table() -> str:
    rows = ["| code | name | when |", "|---|---|---|"]
    rows += [f"| {e.code} | `{e.name}` | {e.doc} |" for e in ERRORS]
    return "\n".join(rows)


def _splice(text: str, tag: str, body: str) -> str:
    begin = f"<!-- BEGIN {tag} (generated by python -m zipml.spec --write) -->"
    end = f"<!-- END {tag} -->"
    i, j = text.index(begin) + len(begin), text.index(end)
    return text[:i] + "\n" + body + "\n" + text[j:]


def _gen_bd_tcl() -> str:
    from .hw import bd            # the block design (imports this module)
    return bd.gen_tcl()


def generated_files() -> dict[Path, str]:
    """Map of path -> expected content for every generated artefact."""
    doc = ROOT / "docs" / "ENGINE.md"
    text = doc.read_text()
    text = _splice(text, "REGISTER TABLE", gen_register_table())
    text = _splice(text, "ERROR TABLE", gen_error_table())
    return {
        ROOT / "cmodel" / "zipml_spec.h": gen_c(),
        ROOT / "RTL" / "zipml_spec_pkg.vhd": gen_vhdl(),
        ROOT / "scripts" / "zipml_spec.tcl": gen_tcl(),
        ROOT / "scripts" / "zipml_bd.tcl": _gen_bd_tcl(),
        doc: text,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zipml.spec", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", action="store_true", help="regenerate the derived files")
    g.add_argument("--check", action="store_true", help="fail if a derived file is stale")
    args = ap.parse_args(argv)
    stale = []
    for path, content in generated_files().items():
        current = path.read_text() if path.exists() else None
        if current != content:
            if args.write:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
                print(f"wrote {path.relative_to(ROOT)}")
            else:
                stale.append(path.relative_to(ROOT))
    if stale:
        print("stale generated files (run python -m zipml.spec --write): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
