"""Where the board's bitstreams are, and the errors of the board backend (no pynq import)."""
from __future__ import annotations

from pathlib import Path

from .. import spec

#: Folder of the package's bitstreams.
BITSTREAM_DIR = Path(__file__).resolve().parent.parent / "bitstreams"


class BitstreamNotFound(FileNotFoundError):
    """The bitstream of a precision is not in the package."""


class BoardNotFound(RuntimeError):
    """pynq finds no FPGA device (not running on a PYNQ board)."""


def bitstream_path(bits: int, bitstream_dir=None) -> Path:
    """Path of the ``.bit`` of precision ``bits``; raises :class:`BitstreamNotFound` with the
    command that builds it when it or its ``.hwh`` is missing."""
    spec.check_bits(bits)
    folder = Path(bitstream_dir) if bitstream_dir is not None else BITSTREAM_DIR
    name = spec.bitstream_name(bits)
    bit, hwh = folder / f"{name}.bit", folder / f"{name}.hwh"
    missing = [p.name for p in (bit, hwh) if not p.exists()]
    if missing:
        raise BitstreamNotFound(
            f"the Q{bits} engine's bitstream is not installed: {', '.join(missing)} missing in "
            f"{folder}. Build it on a machine with Vivado with `./make_hw {bits}` (from the "
            f"project root; see zipml/bitstreams/README.md) and copy {name}.bit and {name}.hwh "
            f"to {folder}")
    return bit
