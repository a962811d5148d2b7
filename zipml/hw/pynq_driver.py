"""The engine on a PYNQ board (PYNQ 2.7 and 3.x, PYNQ-Z1/Z2).

- :class:`ZipMLOverlay`: a ``pynq.Overlay`` for the package's bitstreams
  (``zipml/bitstreams/<zipml.spec.bitstream_name(bits)>.bit`` and ``.hwh``);
- :class:`EngineIP`: a ``pynq.DefaultIP`` driver bound to the engine's VLNV
  (``zipml.spec.VLNV``), so ``ol.engine`` is an :class:`EngineIP`;
- :class:`PynqDevice`: :class:`zipml.hw.device.EngineDevice` on the board (``pynq.allocate``
  buffers, the AXI DMA's ``sendchannel``/``recvchannel``), driven by
  :class:`zipml.hw.driver.EngineDriver`.

Importing this module imports pynq.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pynq

from .. import spec
from .board import BoardNotFound, bitstream_path
from .device import DeviceTimeout, EngineDevice

_DMA_RESET = 1 << 2            # MM2S_DMACR / S2MM_DMACR bit 2 (PG021): soft reset of the DMA
_S2MM_DMACR = 0x30


class EngineIP(pynq.DefaultIP):
    """Driver of the ZipML SGD engine IP (bound to ``zipml.spec.VLNV``).

    Register offsets are those of ``zipml.spec.REG`` (``docs/ENGINE.md`` section 7).

    Attributes
    ----------
    REG : dict
        Register name -> byte offset.
    """

    bindto = [spec.VLNV]
    REG = spec.REG

    def __init__(self, description):
        super().__init__(description=description)

    def read_reg(self, name: str) -> int:
        """Read a register by name.

        Parameters
        ----------
        name : str
            A key of ``zipml.spec.REG``, e.g. ``"STATUS"``.
        """
        return self.read(self.REG[name])

    def write_reg(self, name: str, value: int) -> None:
        """Write a register by name.

        Parameters
        ----------
        name : str
            A key of ``zipml.spec.REG``, e.g. ``"NUM_SAMPLES"``.
        value : int
            32-bit value.
        """
        self.write(self.REG[name], int(value) & 0xFFFFFFFF)

    @property
    def identity(self) -> tuple[int, int]:
        """``(ID, VERSION)`` register values."""
        return self.read_reg("ID"), self.read_reg("VERSION")


class ZipMLOverlay(pynq.Overlay):
    """The overlay of the Q``bits`` engine: ``engine`` (:class:`EngineIP`) and ``dma``.

    Parameters
    ----------
    bits : int
        Precision (selects ``zipml/bitstreams/<spec.bitstream_name(bits)>.bit``).
    bitstream_dir : path, optional
        Folder with the bitstreams (default: the package's).
    download : bool
        Program the PL (pynq's default).
    **kwargs
        Passed to ``pynq.Overlay``.
    """

    def __init__(self, bits: int, bitstream_dir=None, download: bool = True, **kwargs):
        path = bitstream_path(bits, bitstream_dir)
        self.bits = bits
        super().__init__(str(path), download=download, **kwargs)


def _cma_free_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("CmaFree:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class PynqDevice(EngineDevice):
    """The board behind the hardware-access interface.

    Parameters
    ----------
    bitstream_dir : path, optional
        Folder with the bitstreams (default: the package's).
    poll_interval : float
        Seconds between two polls of a DMA channel's idle bit while waiting (0 = busy-poll).
    """

    name = "pynq"

    def __init__(self, bitstream_dir=None, poll_interval: float = 0.0):
        self.bitstream_dir = bitstream_dir
        self.poll_interval = poll_interval
        self.overlay = self.engine = self.dma = None
        self._live: dict[int, object] = {}
        self.bits = None

    def load(self, bits: int) -> None:
        path = bitstream_path(bits, self.bitstream_dir)
        from ..backends import board_available
        if not board_available():
            raise BoardNotFound(
                f"backend 'pynq' needs a PYNQ board: pynq finds no FPGA device here (bitstream "
                f"{path.name} is installed). Use backend='sim' (the RTL in simulation) or "
                f"backend='cpu' (the bit-exact C engine)")
        ol = ZipMLOverlay(bits, self.bitstream_dir)
        engine, dma = getattr(ol, "engine", None), getattr(ol, "dma", None)
        if not isinstance(engine, EngineIP):
            raise RuntimeError(f"{path.name}: the overlay has no engine bound to {spec.VLNV} "
                               f"(ol.engine is {type(engine).__name__})")
        if dma is None or getattr(dma, "sendchannel", None) is None or \
                getattr(dma, "recvchannel", None) is None:
            raise RuntimeError(f"{path.name}: the overlay has no AXI DMA 'dma' with both "
                               f"channels")
        self.overlay, self.engine, self.dma, self.bits = ol, engine, dma, bits

    def read(self, offset: int) -> int:
        return int(self.engine.read(offset))

    def write(self, offset: int, value: int) -> None:
        self.engine.write(offset, int(value) & 0xFFFFFFFF)

    @property
    def memory_capacity(self) -> int:
        free = _cma_free_bytes()
        return free if free is not None else (1 << 62)

    def allocate(self, shape, dtype) -> np.ndarray:
        buf = pynq.allocate(shape=shape, dtype=dtype)
        self._live[id(buf)] = buf
        return buf

    def free(self, buf) -> None:
        self._live.pop(id(buf), None)
        buf.freebuffer()

    @property
    def max_transfer_bytes(self) -> int:
        sizes = [getattr(ch, "_max_size", None)
                 for ch in (self.dma.sendchannel, self.dma.recvchannel)]
        sizes = [s for s in sizes if s]
        if not sizes:
            sizes = [getattr(self.dma, "buffer_max_size", (1 << spec.DMA_LENGTH_WIDTH) - 1)]
        return int(min(sizes))

    @staticmethod
    def _transfer(channel, buf, offset, count):
        flat = buf.reshape(-1)
        try:
            channel.transfer(flat, start=offset * buf.itemsize, nbytes=count * buf.itemsize)
        except TypeError:      # older pynq: transfer(array) of a slice (keeps its address)
            channel.transfer(flat[offset:offset + count])

    def send(self, buf, offset, count):
        self._transfer(self.dma.sendchannel, buf, offset, count)

    def recv(self, buf, offset, count):
        self._transfer(self.dma.recvchannel, buf, offset, count)

    def _wait(self, channel, timeout, what):
        deadline = time.monotonic() + timeout
        while not channel.idle:
            if channel.error:
                channel.wait()               # raises pynq's description of the DMA error
            if time.monotonic() > deadline:
                raise DeviceTimeout(f"{what} did not complete within {timeout:g} s")
            if self.poll_interval:
                time.sleep(self.poll_interval)
        channel.wait()                       # idle: bookkeeping (cache invalidate, length)

    def wait_send(self, timeout: float) -> None:
        self._wait(self.dma.sendchannel, timeout, "DMA MM2S transfer")

    def wait_recv(self, timeout: float) -> int:
        ch = self.dma.recvchannel
        self._wait(ch, timeout, "DMA S2MM transfer")
        return int(ch.transferred) // 4

    def reset_dma(self) -> None:
        dma = self.dma
        dma.write(0x00, _DMA_RESET)         # resets both channels (PG021)
        deadline = time.monotonic() + 0.1
        while dma.read(0x00) & _DMA_RESET or dma.read(_S2MM_DMACR) & _DMA_RESET:
            if time.monotonic() > deadline:
                raise RuntimeError("AXI DMA soft reset did not complete within 0.1 s")
        dma.sendchannel.start()
        dma.recvchannel.start()

    def close(self) -> None:
        for buf in list(self._live.values()):
            try:
                buf.freebuffer()
            except Exception:
                pass
        self._live.clear()
