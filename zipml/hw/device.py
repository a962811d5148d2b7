"""The narrow hardware-access interface between the engine driver and an engine.

:class:`EngineDevice` is everything :class:`zipml.hw.driver.EngineDriver` needs from a place
where the engine runs: load the engine of a precision, read and write its 32-bit registers,
allocate physically contiguous buffers, start DMA transfers (MM2S from a buffer slice, S2MM into
a buffer slice) and wait for them with a time-out, reset the DMA, free. Two implementations:
:class:`zipml.hw.sim.SimDevice` (the RTL compiled with Verilator) and
:class:`zipml.hw.pynq_driver.PynqDevice` (the board through pynq).
"""
from __future__ import annotations

import abc

import numpy as np

from .. import spec


class DeviceTimeout(TimeoutError):
    """A DMA transfer did not complete within its time-out."""


class DmaError(RuntimeError):
    """The DMA reported an error and halted (PG021: DMASR error bits; the channel stays halted
    until the DMA is reset).

    Attributes
    ----------
    status : int
        The channel's DMASR.
    """

    def __init__(self, msg: str, status: int = 0):
        super().__init__(msg)
        self.status = status


class DeviceMemoryError(MemoryError):
    """The device cannot provide the contiguous memory a run needs."""


class EngineDevice(abc.ABC):
    """Hardware access for one engine.

    Buffers are numpy arrays (``pynq.allocate`` buffers on the board). Offsets and counts of
    DMA transfers are in elements of the buffer's dtype. At most one transfer per channel is in
    flight: ``send``/``recv`` start one, ``wait_send``/``wait_recv`` wait for it.
    """

    #: ``"sim"`` or ``"pynq"``.
    name: str = "device"

    # ------------------------------------------------------------------ engine
    @abc.abstractmethod
    def load(self, bits: int) -> None:
        """Load the engine (bitstream or compiled RTL) of precision ``bits``."""

    @abc.abstractmethod
    def read(self, offset: int) -> int:
        """Read the 32-bit engine register at byte ``offset``."""

    @abc.abstractmethod
    def write(self, offset: int, value: int) -> None:
        """Write the 32-bit engine register at byte ``offset``."""

    def read_reg(self, name: str) -> int:
        """Read a register by its name in ``zipml.spec.REG``."""
        return self.read(spec.REG[name])

    def write_reg(self, name: str, value: int) -> None:
        """Write a register by its name in ``zipml.spec.REG``."""
        self.write(spec.REG[name], value)

    # ------------------------------------------------------------------ memory
    @property
    @abc.abstractmethod
    def memory_capacity(self) -> int:
        """Bytes of physically contiguous memory that can still be allocated."""

    @abc.abstractmethod
    def allocate(self, shape, dtype) -> np.ndarray:
        """A physically contiguous, C-ordered buffer (contents undefined)."""

    @abc.abstractmethod
    def free(self, buf: np.ndarray) -> None:
        """Release a buffer from :meth:`allocate`."""

    # ------------------------------------------------------------------ DMA
    @property
    @abc.abstractmethod
    def max_transfer_bytes(self) -> int:
        """Largest length in bytes of one DMA transfer (either channel)."""

    @abc.abstractmethod
    def send(self, buf: np.ndarray, offset: int, count: int) -> None:
        """Start an MM2S transfer of ``buf.flat[offset:offset + count]`` (tlast on the last
        word)."""

    @abc.abstractmethod
    def recv(self, buf: np.ndarray, offset: int, count: int) -> None:
        """Start an S2MM transfer into ``buf.flat[offset:offset + count]`` (ends on tlast)."""

    @abc.abstractmethod
    def wait_send(self, timeout: float) -> None:
        """Wait until the MM2S transfer has completed; :class:`DeviceTimeout` after
        ``timeout`` seconds."""

    @abc.abstractmethod
    def wait_recv(self, timeout: float) -> int:
        """Wait until the S2MM transfer has completed; returns the elements received;
        :class:`DeviceTimeout` after ``timeout`` seconds."""

    @abc.abstractmethod
    def reset_dma(self) -> None:
        """Abandon the transfers in flight and make both channels ready for new ones."""

    def close(self) -> None:
        """Release the device (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
