"""The RTL file manifest: which VHDL files, in which order, for which precision.

``RTL/manifest.txt`` is the one list used by simulation (tests), open-source synthesis
(``zipml synth``) and the Vivado scripts (``scripts/*.tcl`` read the same file). Format, one file
per line, in compile order::

    # comment
    zipml_spec_pkg.vhd                 # every precision, every flow
    zipml_lanes_q0.vhd      bits=0     # only for the listed precisions
    sim/some_model.vhd      flow=sim   # only for a flow: sim, synth (open tools) or vivado

Paths are relative to ``RTL/``. Tags: ``bits=`` comma-separated precisions; ``flow=``
comma-separated flows. A line without a tag applies everywhere.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import spec

#: True when running from a source checkout (``RTL/`` beside the package); False for an
#: installed wheel, where the RTL sources are package data (``zipml/_rtl/``).
CHECKOUT = (spec.ROOT / "RTL" / "manifest.txt").is_file() and \
    (spec.ROOT / "pyproject.toml").is_file()
RTL_DIR = spec.ROOT / "RTL" if CHECKOUT else Path(__file__).resolve().parent / "_rtl"


def build_root() -> Path:
    """Where compiled artefacts (GHDL netlists, Verilator libraries) are cached.

    ``$ZIPML_BUILD_DIR`` if set; else ``build/`` of the checkout; else, for an installed
    package, ``$XDG_CACHE_HOME/zipml`` (default ``~/.cache/zipml``).
    """
    env = os.environ.get("ZIPML_BUILD_DIR")
    if env:
        return Path(env)
    if CHECKOUT:
        return spec.ROOT / "build"
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "zipml"


MANIFEST = RTL_DIR / "manifest.txt"
FLOWS = ("sim", "synth", "vivado")


def parse_manifest(path: Path = MANIFEST):
    """Yield ``(relative_path, bits_set_or_None, flows_set_or_None, line_number)``."""
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        bits = flows = None
        for tag in parts[1:]:
            key, _, val = tag.partition("=")
            if key == "bits":
                bits = {int(v) for v in val.split(",")}
                bad = bits - set(spec.PRECISIONS)
                if bad:
                    raise ValueError(f"{path}:{lineno}: unknown precision(s) {sorted(bad)}")
            elif key == "flow":
                flows = set(val.split(","))
                if flows - set(FLOWS):
                    raise ValueError(f"{path}:{lineno}: unknown flow(s) {sorted(flows - set(FLOWS))}")
            else:
                raise ValueError(f"{path}:{lineno}: unknown tag {tag!r} (bits=, flow=)")
        yield parts[0], bits, flows, lineno


def manifest(bits: int, flow: str = "sim", path: Path = MANIFEST) -> list[Path]:
    """Absolute paths of the VHDL files for precision ``bits`` and ``flow``, in compile order."""
    spec.check_bits(bits)
    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
    out = []
    for rel, b, f, lineno in parse_manifest(path):
        if (b is None or bits in b) and (f is None or flow in f):
            p = path.parent / rel
            if not p.exists():
                raise FileNotFoundError(f"{path}:{lineno}: {rel} does not exist")
            out.append(p)
    return out
