"""Where the board's bitstreams are, whether there is a board, and the errors of the board
backend. Importing this module does not import pynq (:func:`board_available` does, once).

The package's import graph is one-way: :mod:`zipml.backends` imports :mod:`zipml.hw` (lazily,
in its factories, and this module for :func:`board_available`); nothing in :mod:`zipml.hw`
imports :mod:`zipml.backends`.
"""
from __future__ import annotations

import warnings
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


_BOARD: "bool | None" = None


def board_available(refresh: bool = False) -> bool:
    """True when pynq is installed and finds an FPGA device.

    Never raises: off the board pynq 4.0 imports but has no device (``Device.devices`` is
    empty; ``Device.active_device`` raises ``RuntimeError("No Devices Found")``); without pynq
    installed the import fails. Both mean "no board". The answer is cached; ``refresh=True``
    asks pynq again (e.g. after a simulated board was made pynq's active device).
    """
    global _BOARD
    if _BOARD is None or refresh:
        _BOARD = _detect_board()
    return _BOARD


def _detect_board() -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pynq  # noqa: F401
            from pynq import Device
            devices = Device.devices
            return bool(devices)
    except Exception:  # ImportError, RuntimeError("No Devices Found"), XRT errors, ...
        return False
