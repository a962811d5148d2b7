"""The engine on a PYNQ board (PYNQ 2.7, 3.x and 4.0; PYNQ-Z1/Z2).

- :class:`ZipMLOverlay`: a ``pynq.Overlay`` for the package's bitstreams
  (``zipml/bitstreams/<zipml.spec.bitstream_name(bits)>.bit`` and ``.hwh``), with the pynq
  4.0.0 fabric-clock work-around;
- :class:`EngineIP`: a ``pynq.DefaultIP`` driver bound to the engine's VLNV
  (``zipml.spec.VLNV``), so ``ol.engine`` is an :class:`EngineIP`;
- :class:`PynqDevice`: :class:`zipml.hw.device.EngineDevice` on the board (``pynq.allocate``
  buffers, the AXI DMA's ``sendchannel``/``recvchannel``), driven by
  :class:`zipml.hw.driver.EngineDriver`.

Off the board the same code runs against :class:`zipml.hw.simboard.SimBoard` (the simulated
RTL behind the real pynq library). Importing this module imports pynq.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pynq

from .. import spec
from . import bd
from .board import BoardNotFound, bitstream_path, board_available
from .device import DeviceTimeout, DmaError, EngineDevice

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
    """The overlay of the Q``bits`` engine: ``engine`` (:class:`EngineIP`) and ``axi_dma``
    (``pynq.lib.dma.DMA``), the cell names of :mod:`zipml.hw.bd`.

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

    Notes
    -----
    pynq 4.0.0 on a Zynq-7000 cannot program the fabric clock from a .hwh: its
    ``Overlay.download`` calls ``Clocks.set_pl_clk(i, clk_mhz=clock_dict[i]["frequency"])``
    and pynqmetadata 0.2.0 looks that frequency up under the UltraScale+ parameter name, so it
    is ``None`` and ``set_pl_clk`` fails. :meth:`download` fills the missing frequency from the
    .hwh's ``PCW_ACT_FPGA<i>_PERIPHERAL_FREQMHZ`` (the frequency Vivado achieved), or from
    the divisors and the IO PLL when that is absent, before pynq programs the clocks. pynq 2.7
    and 3.x program the divisors and are not affected.
    """

    def __init__(self, bits: int, bitstream_dir=None, download: bool = True, **kwargs):
        path = bitstream_path(bits, bitstream_dir)
        self.bits = bits
        super().__init__(str(path), download=download, **kwargs)

    def download(self, *args, **kwargs):
        clocks = getattr(self, "clock_dict", None)
        if clocks is not None:
            missing = [i for i in clocks if clocks[i].get("enable")
                       and "frequency" in clocks[i] and clocks[i]["frequency"] is None]
            if missing:
                fixed = {i: dict(clocks[i]) for i in clocks}
                act = _ps7_actual_mhz(Path(self.bitfile_name).with_suffix(".hwh"))
                for i in missing:
                    mhz = act.get(i)
                    if mhz is None:
                        c = fixed[i]
                        mhz = _IO_PLL_MHZ / (int(c["divisor0"]) * int(c["divisor1"]))
                    fixed[i]["frequency"] = mhz
                self.clock_dict = fixed
        return super().download(*args, **kwargs)


_IO_PLL_MHZ = 1000.0


def _ps7_actual_mhz(hwh: Path) -> dict:
    """``{i: MHz}`` of ``PCW_ACT_FPGA<i>_PERIPHERAL_FREQMHZ`` in a .hwh (empty if unreadable)."""
    import xml.etree.ElementTree as ET
    out = {}
    try:
        root = ET.parse(str(hwh)).getroot()
    except (OSError, ET.ParseError):
        return out
    for p in root.iter("PARAMETER"):
        name = p.get("NAME", "")
        if name.startswith("PCW_ACT_FPGA") and name.endswith("_PERIPHERAL_FREQMHZ"):
            try:
                out[int(name[len("PCW_ACT_FPGA")])] = float(p.get("VALUE"))
            except (TypeError, ValueError):
                pass
    return out


def _cma_free_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("CmaFree:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


_SR_HALTED, _SR_IDLE = 1 << 0, 1 << 1
_SR_ERRORS = {4: "DMAIntErr (internal error: a length of 0, or a stream packet longer than "
                 "the buffer)",
              5: "DMASlvErr (slave error: the memory refused the access)",
              6: "DMADecErr (decode error: the address maps to no memory)"}


def _dmasr_text(sr: int) -> str:
    errs = [txt for bit, txt in _SR_ERRORS.items() if sr >> bit & 1]
    return f"DMASR=0x{sr:08X}" + (f": {'; '.join(errs)}" if errs else "")


class PynqDevice(EngineDevice):
    """The board behind the hardware-access interface.

    Parameters
    ----------
    bitstream_dir : path, optional
        Folder with the bitstreams (default: the package's).
    poll_interval : float
        Seconds between two polls of a DMA channel's status while waiting (0 = busy-poll).
    max_transfer_bytes : int, optional
        Cap on the length of one DMA transfer (default: the DMA's buffer length register).
    """

    name = "pynq"

    def __init__(self, bitstream_dir=None, poll_interval: float = 0.0,
                 max_transfer_bytes: int | None = None):
        self.bitstream_dir = bitstream_dir
        self.poll_interval = poll_interval
        self._cap = max_transfer_bytes
        self.overlay = self.engine = self.dma = None
        self._live: dict[int, object] = {}
        self.bits = None

    def load(self, bits: int) -> None:
        path = bitstream_path(bits, self.bitstream_dir)
        if not board_available(refresh=True):
            raise BoardNotFound(
                f"backend 'pynq' needs a PYNQ board: pynq finds no FPGA device here (bitstream "
                f"{path.name} is installed). Use backend='sim' (the RTL in simulation) or "
                f"backend='cpu' (the bit-exact C engine)")
        ol = ZipMLOverlay(bits, self.bitstream_dir)
        engine = getattr(ol, bd.ENGINE_CELL, None)
        dma = getattr(ol, bd.DMA_CELL, None)
        if not isinstance(engine, EngineIP):
            raise RuntimeError(f"{path.name}: the overlay has no IP '{bd.ENGINE_CELL}' bound to "
                               f"{spec.VLNV} (ol.{bd.ENGINE_CELL} is {type(engine).__name__})")
        if dma is None or getattr(dma, "sendchannel", None) is None or \
                getattr(dma, "recvchannel", None) is None:
            raise RuntimeError(f"{path.name}: the overlay has no AXI DMA '{bd.DMA_CELL}' with "
                               f"both channels")
        self.overlay, self.engine, self.dma, self.bits = ol, engine, dma, bits

    def read(self, offset: int) -> int:
        return int(self.engine.read(offset))

    def write(self, offset: int, value: int) -> None:
        self.engine.write(offset, int(value) & 0xFFFFFFFF)

    @property
    def memory_capacity(self) -> int:
        mem = getattr(getattr(self.overlay, "device", None), "default_memory", None)
        free = getattr(mem, "free_bytes", None)       # a simulated board's CMA pool
        if free is None:
            free = _cma_free_bytes()
        return int(free) if free is not None else (1 << 62)

    @property
    def live_buffers(self) -> int:
        """Buffers allocated through this device and not yet freed."""
        return len(self._live)

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
        if self._cap:
            sizes.append(int(self._cap))
        return int(min(sizes))

    @staticmethod
    def _transfer(channel, buf, offset, count):
        flat = buf.reshape(-1)
        try:
            channel.transfer(flat, start=offset * buf.itemsize, nbytes=count * buf.itemsize)
        except TypeError:      # pynq 2.x: transfer(array) of a slice (keeps its address)
            channel.transfer(flat[offset:offset + count])

    def send(self, buf, offset, count):
        self._transfer(self.dma.sendchannel, buf, offset, count)

    def recv(self, buf, offset, count):
        self._transfer(self.dma.recvchannel, buf, offset, count)

    def _wait(self, channel, timeout, what):
        """Poll DMASR until the channel is idle; :class:`DmaError` when it halted with an
        error (PG021: the channel stops; pynq's ``wait()`` would only say "DMA channel not
        started"), :class:`DeviceTimeout` after ``timeout`` seconds of wall time."""
        mmio, off = channel._mmio, channel._offset
        deadline = time.monotonic() + timeout
        while True:
            sr = mmio.read(off + 4)
            if sr & 0x70 or sr & _SR_HALTED:
                raise DmaError(f"{what}: the AXI DMA channel halted, {_dmasr_text(sr)}", sr)
            if sr & _SR_IDLE:
                break
            if time.monotonic() > deadline:
                raise DeviceTimeout(f"{what} did not complete within {timeout:g} s "
                                    f"({_dmasr_text(sr)})")
            if self.poll_interval:
                time.sleep(self.poll_interval)
        channel.wait()                       # idle: pynq's bookkeeping (invalidate, length)

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
