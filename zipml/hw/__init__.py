"""Hardware access: the engine on the board (pynq) or as simulated RTL (Verilator).

- :mod:`zipml.hw.device`: :class:`EngineDevice`, the narrow hardware-access interface;
- :mod:`zipml.hw.driver`: :class:`EngineDriver`, the driver logic written once above it;
- :mod:`zipml.hw.sim`: :class:`SimDevice`, the RTL compiled with Verilator (``backend="sim"``);
- :mod:`zipml.hw.pynq_driver`: the board (``backend="pynq"``; imports pynq);
- :mod:`zipml.hw.board`: bitstream paths, :func:`~zipml.hw.board.board_available`, the
  board errors (no pynq import);
- :mod:`zipml.hw.bd`: the block design, described once (TCL and ``.hwh`` are generated);
- :mod:`zipml.hw.simboard`: a simulated PYNQ-Z1/Z2 for the real pynq library (tests).

:class:`HwBackend` puts an :class:`EngineDriver` behind the backend interface of
:mod:`zipml.backends`.
"""
from __future__ import annotations

from .device import DeviceMemoryError, DeviceTimeout, DmaError, EngineDevice
from .driver import EngineDriver, EngineIdentityError, EngineTimeout

__all__ = ["EngineDevice", "EngineDriver", "EngineIdentityError", "EngineTimeout",
           "DeviceTimeout", "DeviceMemoryError", "DmaError", "HwBackend", "sim_backend",
           "pynq_backend"]


class HwBackend:
    """A backend (see :mod:`zipml.backends`) that runs an :class:`EngineDriver`.

    ``max_dim`` and ``fifo_words`` are the engine's MAX_DIM and FIFO_WORDS registers.
    """

    def __init__(self, name: str, driver: EngineDriver):
        self.name = name
        self.driver = driver
        self.bits = driver.bits
        self.max_dim = driver.max_dim
        self.fifo_words = driver.fifo_words

    @property
    def device(self) -> EngineDevice:
        return self.driver.device

    def run(self, cfg, stream, model_init=None):
        """One engine run; see :meth:`EngineDriver.run`."""
        return self.driver.run(cfg, stream, model_init=model_init)

    def close(self) -> None:
        self.driver.device.close()

    def __repr__(self):
        return f"HwBackend({self.name!r}, bits={self.bits}, max_dim={self.max_dim})"


def sim_backend(bits=None, *, max_dim=None, fifo_words=None, timeout=1.0, **device_kw):
    """``backend="sim"``: the RTL compiled with Verilator.

    Parameters
    ----------
    bits : int
        Precision.
    max_dim : int, optional
        ``G_MAX_DIM`` of the simulated engine (default ``zipml.hw.sim.SIM_MAX_DIM``, 8192
        unless the environment variable ``ZIPML_SIM_MAX_DIM`` sets it).
    fifo_words : int, optional
        ``G_FIFO_WORDS`` (default: the engine's default size).
    timeout : float
        Base DMA time-out in simulated seconds.
    **device_kw
        Passed to :class:`zipml.hw.sim.SimDevice`.
    """
    from . import sim
    if max_dim is None:
        max_dim = sim.SIM_MAX_DIM
    dev = sim.SimDevice(max_dim, fifo_words=fifo_words, **device_kw)
    return HwBackend("sim", EngineDriver(dev, bits, timeout=timeout))


def pynq_backend(bits=None, *, bitstream_dir=None, timeout=1.0, max_transfer_bytes=None,
                 **kw):
    """``backend="pynq"``: the engine on a PYNQ board (see :mod:`zipml.hw.pynq_driver`).

    ``timeout`` is in seconds of wall time; ``max_transfer_bytes`` caps one DMA transfer."""
    if kw:
        raise TypeError(f"backend 'pynq' takes bitstream_dir, timeout and max_transfer_bytes, got "
                        f"{sorted(kw)} (max_dim and fifo_words are read from the bitstream)")
    from .board import BoardNotFound, bitstream_path, board_available
    bit = bitstream_path(bits, bitstream_dir)          # missing: says how to build it
    if not board_available():
        raise BoardNotFound(
            f"backend 'pynq' needs a PYNQ board: pynq finds no FPGA device here (bitstream "
            f"{bit.name} is installed). Use backend='sim' (the RTL in simulation) or "
            f"backend='cpu' (the bit-exact C engine)")
    from .pynq_driver import PynqDevice
    dev = PynqDevice(bitstream_dir=bitstream_dir, max_transfer_bytes=max_transfer_bytes)
    return HwBackend("pynq", EngineDriver(dev, bits, timeout=timeout))
