"""A simulated PYNQ-Z1/Z2 for the real pynq library: the board path tested off the board.

:class:`SimBoard` is a ``pynq.Device`` (pynq 2.7, 3.x and 4.0) whose register space holds

- the ZipML engine at ``0x43C0_0000``: the Verilator build of the RTL that ``backend="sim"``
  runs (:mod:`zipml.hw.sim`), reached through its AXI4-Lite port;
- an AXI DMA in direct register mode at ``0x4040_0000`` (:class:`AxiDmaModel`, PG021);
- the Zynq-7000 SLCR clock registers at ``0xF800_0000`` that ``pynq.Clocks`` programs;

and whose memory is a CMA-like pool of physically contiguous buffers (:class:`CmaPool`) with
physical addresses and a capacity. Made pynq's active device (:meth:`SimBoard.activate`),
the code users run on a board runs unchanged: ``Overlay`` parses the ``.hwh`` (generated from
the block design by :func:`zipml.hw.bd.hwh`), binds :class:`~zipml.hw.pynq_driver.EngineIP` to
the engine by its VLNV and ``pynq.lib.dma.DMA`` to the DMA, ``pynq.allocate`` returns
``PynqBuffer`` objects from the pool, and the DMA driver programs the DMA's registers.

Time: the RTL is clocked only while the host waits for it: every AXI4-Lite access to the
engine takes its bus cycles, and every read of a DMA channel's status register (what a host
polls) clocks the design for up to ``poll_cycles`` cycles, or until a programmed transfer
completes. A host that polls a stuck channel is bounded by its own wall-clock time-out.

Not modelled: scatter-gather mode, partial last beats (a LENGTH that is not a whole number
of stream words sets DMAIntErr here), interrupts (pynq's DMA driver polls DMASR).
"""
from __future__ import annotations

import datetime
import warnings
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")        # pynq warns about the CPU architecture on x86
    import pynq
    from pynq.buffer import PynqBuffer

from .. import spec
from . import bd
from .sim import SIM_MAX_DIM, SimDevice

PYNQ_VERSION = tuple(int(x) for x in pynq.__version__.split(".")[:3] if x.isdigit())

SLCR_BASE = 0xF800_0000
SLCR_SIZE = 0x200
#: Reset values of the SLCR clock registers of a PYNQ-Z1 image (50 MHz PS_CLK): ARM PLL x26,
#: DDR PLL x21, IO PLL x20 (1000 MHz), CPU = ARM PLL / 2, FCLK0..3 from the IO PLL.
SLCR_RESET = {0x100: 26 << 12, 0x104: 21 << 12, 0x108: 20 << 12, 0x120: 2 << 8,
              0x170: (1 << 20) | (10 << 8), 0x180: (1 << 20) | (20 << 8),
              0x190: (1 << 20) | (5 << 8), 0x1A0: (1 << 20) | (5 << 8)}

# AXI DMA register offsets (PG021, direct register mode)
MM2S_DMACR, MM2S_DMASR, MM2S_SA, MM2S_SA_MSB, MM2S_LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
S2MM_DMACR, S2MM_DMASR, S2MM_DA, S2MM_DA_MSB, S2MM_LENGTH = 0x30, 0x34, 0x48, 0x4C, 0x58
CR_RS, CR_RESET, CR_IOC_IRQEN, CR_ERR_IRQEN = 1 << 0, 1 << 2, 1 << 12, 1 << 14
CR_RESET_VALUE = 0x0001_0000          # IRQThreshold = 1
SR_HALTED, SR_IDLE, SR_SGINCLD = 1 << 0, 1 << 1, 1 << 3
SR_DMAINTERR, SR_DMASLVERR, SR_DMADECERR = 1 << 4, 1 << 5, 1 << 6
SR_IOC_IRQ, SR_DLY_IRQ, SR_ERR_IRQ = 1 << 12, 1 << 13, 1 << 14
SR_ERRORS = SR_DMAINTERR | SR_DMASLVERR | SR_DMADECERR
SR_W1C = SR_IOC_IRQ | SR_DLY_IRQ | SR_ERR_IRQ


class SimBuffer(PynqBuffer):
    """A ``PynqBuffer`` of the simulated CMA pool: ``freebuffer()`` (explicit, or when the
    buffer is garbage-collected) returns its pages once; views of it free nothing."""

    def freebuffer(self):
        pool = self.__dict__.get("_pool")
        if pool is not None and not self.__dict__.get("_sim_freed"):
            self._sim_freed = True
            pool.return_pointer(self._phys)


class CmaPool:
    """Physically contiguous memory: one numpy block at a physical base address.

    First-fit allocation in 4 KiB pages, like the CMA pool of a PYNQ image (``CmaFree`` in
    ``/proc/meminfo`` is its free size). Buffers are ``pynq.buffer.PynqBuffer`` views of the
    block with ``physical_address`` set; ``freebuffer()`` returns them here.
    """

    PAGE = 4096

    def __init__(self, device, capacity: int = 128 << 20, base: int = 0x1600_0000):
        self.device = device
        self.base = int(base)
        self.capacity = int(capacity)
        self.block = np.zeros(self.capacity, dtype=np.uint8)
        self.block_addr = self.block.ctypes.data
        self._used: dict[int, int] = {}          # physical address -> bytes (page-rounded)
        self.allocations = 0
        self.frees = 0

    @property
    def free_bytes(self) -> int:
        return self.capacity - sum(self._used.values())

    @property
    def live(self) -> int:
        """Buffers allocated and not yet freed."""
        return len(self._used)

    def allocate(self, shape, dtype="u4", **kwargs):
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        size = max(self.PAGE, -(-nbytes // self.PAGE) * self.PAGE)
        offset = 0
        for addr in sorted(self._used):
            start = addr - self.base
            if start - offset >= size:
                break
            offset = start + self._used[addr]
        if offset + size > self.capacity:
            raise RuntimeError(f"SimBoard CMA: cannot allocate {nbytes} bytes: "
                               f"{self.free_bytes} of {self.capacity} bytes free "
                               f"(largest hole too small)")
        phys = self.base + offset
        self._used[phys] = size
        self.allocations += 1
        buf = SimBuffer(shape, dtype, buffer=self.block, offset=offset,
                        device_address=phys, device=self.device, bo=phys, coherent=False)
        buf._pool, buf._phys = self, phys
        return buf

    def return_pointer(self, pointer):
        if self._used.pop(int(pointer), None) is None:
            raise RuntimeError(f"SimBoard CMA: 0x{pointer:08X} freed twice or never "
                               f"allocated")
        self.frees += 1

    def host_pointer(self, phys: int, nbytes: int):
        """Host address of ``[phys, phys + nbytes)`` if it lies in one live buffer, else
        None (what a DMA to that address would hit: not memory we hold)."""
        for addr, size in self._used.items():
            if addr <= phys and phys + nbytes <= addr + size:
                return self.block_addr + (phys - self.base)
        return None


class _Channel:
    """One channel of the DMA model (register state of PG021 direct register mode)."""

    def __init__(self, name: str, tx: bool):
        self.name, self.tx = name, tx
        self.reset()

    def reset(self):
        self.cr = CR_RESET_VALUE
        self.sr = SR_HALTED
        self.addr = 0
        self.length = 0
        self.busy = False
        self.transfers = 0


class AxiDmaModel:
    """AXI DMA (PG021) in direct register mode in front of the simulated engine.

    - DMACR: RS (bit 0) starts/stops the channel (DMASR.Halted follows), Reset (bit 2) resets
      both channels (self-clearing), IOC_IrqEn/Err_IrqEn are stored;
    - DMASR: Halted, Idle (set when a transfer completes, cleared by writing LENGTH), the error
      bits DMAIntErr (LENGTH 0, not whole stream words, or an S2MM packet longer than the
      buffer), DMASlvErr (address in DDR outside every live buffer), DMADecErr (address
      outside DDR); IOC_Irq/Err_Irq write-one-to-clear. An error halts the channel (RS
      cleared, Halted set) until the DMA is reset;
    - SA/SA_MSB/LENGTH (MM2S), DA/DA_MSB/LENGTH (S2MM); writing LENGTH of a running channel
      starts a transfer; after an S2MM transfer LENGTH holds the bytes actually written.
    """

    #: DDR of the PYNQ-Z1/Z2 (512 MiB at 0).
    DDR = (0, 512 << 20)

    def __init__(self, board: "SimBoard"):
        self.board = board
        self.mm2s = _Channel("MM2S", True)
        self.s2mm = _Channel("S2MM", False)
        self.max_length = (1 << bd.DMA_CONFIG["c_sg_length_width"]) - 1
        self.log: list = []          # (register name, value) of every write, for tests
        self.resets = 0
        #: fault injection: channel name ("MM2S"/"S2MM") -> (DMASR error bit, transfer number)
        self.faults: dict = {}

    def inject_error(self, channel: str, error: int = SR_DMASLVERR, transfer: int = 1):
        """Make the ``transfer``-th transfer (counted from now, 1 = the next) of ``channel``
        fail with ``error`` (``SR_DMAINTERR``, ``SR_DMASLVERR`` or ``SR_DMADECERR``), as a
        memory that answers SLVERR or an address that decodes nowhere would."""
        ch = self.mm2s if channel.upper() == "MM2S" else self.s2mm
        if error not in (SR_DMAINTERR, SR_DMASLVERR, SR_DMADECERR):
            raise ValueError(f"error must be one of the DMASR error bits, got {error:#x}")
        self.faults[ch.name] = (error, ch.transfers + int(transfer))

    def _ch(self, offset):
        return (self.mm2s, offset) if offset < 0x30 else (self.s2mm, offset - 0x30)

    # ------------------------------------------------------------------ registers
    def read(self, offset: int) -> int:
        ch, reg = self._ch(offset)
        if reg == 0x00:
            return ch.cr
        if reg == 0x04:
            self.board._poll(ch)
            return ch.sr
        if reg == 0x18:
            return ch.addr & 0xFFFFFFFF
        if reg == 0x1C:
            return ch.addr >> 32
        if reg == 0x28:
            return ch.length
        return 0

    def write(self, offset: int, value: int) -> None:
        ch, reg = self._ch(offset)
        value &= 0xFFFFFFFF
        self.log.append((f"{ch.name}+0x{reg:02X}", value))
        if reg == 0x00:
            if value & CR_RESET:
                self.soft_reset()
                return
            ch.cr = value & ~CR_RESET
            if value & CR_RS:
                ch.sr &= ~SR_HALTED
            else:
                self._halt(ch)
        elif reg == 0x04:
            ch.sr &= ~(value & SR_W1C)
        elif reg == 0x18:
            ch.addr = (ch.addr & ~0xFFFFFFFF) | value
        elif reg == 0x1C:
            ch.addr = (ch.addr & 0xFFFFFFFF) | (value << 32)
        elif reg == 0x28:
            self._start(ch, value & self.max_length)

    def soft_reset(self) -> None:
        """DMACR.Reset: both channels to their reset state, transfers abandoned."""
        self.board._dev.reset_dma()
        self.mm2s.reset()
        self.s2mm.reset()
        self.resets += 1

    def _halt(self, ch, error: int = 0):
        if ch.busy:
            self.board._dev.reset_dma_channel(ch.tx)
            ch.busy = False
        ch.cr &= ~CR_RS
        ch.sr = (ch.sr | SR_HALTED | error | (SR_ERR_IRQ if error else 0)) & ~SR_IDLE

    def _start(self, ch, length: int) -> None:
        ch.length = length
        if not ch.cr & CR_RS or ch.sr & SR_HALTED:
            return                                   # ignored while halted (PG021)
        if ch.busy:
            self._halt(ch, SR_DMAINTERR)             # programmed while a transfer runs
            return
        word = 8 if ch.tx else 4
        if length == 0 or length % word:
            self._halt(ch, SR_DMAINTERR)
            return
        lo, hi = self.DDR
        if not (lo <= ch.addr and ch.addr + length <= hi):
            self._halt(ch, SR_DMADECERR)
            return
        ptr = self.board.memory.host_pointer(ch.addr, length)
        if ptr is None:
            self._halt(ch, SR_DMASLVERR)
            return
        fault = self.faults.get(ch.name)
        if fault and ch.transfers + 1 == fault[1]:
            del self.faults[ch.name]
            ch.transfers += 1
            self._halt(ch, fault[0])
            return
        ch.sr &= ~SR_IDLE
        ch.busy = True
        ch.transfers += 1
        self.board._dev.start_raw(ch.tx, ptr, length // word)

    def complete(self, ch, words: int, tlast: bool) -> None:
        """Called by the board when the simulated channel finished its transfer."""
        ch.busy = False
        if ch.tx:
            ch.sr |= SR_IDLE | SR_IOC_IRQ
            return
        ch.length = 4 * words                        # bytes actually written
        if not tlast:                                # packet longer than the buffer
            self._halt(ch, SR_DMAINTERR)
        else:
            ch.sr |= SR_IDLE | SR_IOC_IRQ


class _SimEngine(SimDevice):
    """:class:`SimDevice` with raw DMA starts by host address (for the DMA model)."""

    def start_raw(self, tx: bool, ptr: int, words: int) -> None:
        lib, sim = self._need()
        if tx:
            lib.zs_mm2s_start(sim, self._ffi.cast("uint64_t *", ptr), words)
        else:
            lib.zs_s2mm_start(sim, self._ffi.cast("uint32_t *", ptr), words)

    def reset_dma_channel(self, tx: bool) -> None:
        """Abandon one channel's transfer (the other keeps running)."""
        lib, sim = self._need()
        if tx:
            lib.zs_mm2s_start(sim, self._ffi.NULL, 0)
        else:
            lib.zs_s2mm_start(sim, self._ffi.NULL, 0)


def _hwh_parser(hwh: Path):
    """pynq's parser of a ``.hwh`` (2.7: ``HWH``; 3.x/4.0: pynqmetadata)."""
    if PYNQ_VERSION < (3,):
        # 2.7 picks the parser class by os.uname().machine: a Zynq-7000's, whatever runs here
        from pynq.pl_server.hwh_parser import _HWHZynq
        return _HWHZynq(str(hwh))
    from pynq.metadata.runtime_metadata_parser import RuntimeMetadataParser
    from pynqmetadata.frontends import Metadata
    parser = RuntimeMetadataParser(Metadata(input=Path(hwh)))
    return parser


class SimBoard(pynq.Device):
    """A simulated PYNQ-Z1/Z2: the Verilated engine, an AXI DMA and CMA behind pynq.

    Parameters
    ----------
    max_dim : int
        ``G_MAX_DIM`` of the simulated engine (default: that of ``backend="sim"``).
    memory_bytes : int
        Capacity of the CMA pool.
    poll_cycles : int
        Clock cycles one read of a DMA status register advances the design by at most.
    s2mm_block : bool
        Fault injection: the S2MM stream is never ready (a stuck DMA).
    """

    arch = "armv7l"
    # plain attributes (pynq 2.7's Device has read-only properties backed by a PL server
    # process for these; this board keeps its state itself)
    ip_dict = gpio_dict = interrupt_pins = interrupt_controllers = hierarchy_dict = None
    mem_dict = devicetree_dict = bitfile_name = timestamp = parser = None

    def __init__(self, max_dim: int = SIM_MAX_DIM, *, memory_bytes: int = 128 << 20,
                 poll_cycles: int = 1 << 15, s2mm_block: bool = False, jobs: int = 2):
        # pynq.Device.__init__ is not called: in 2.7 it starts a PL server; it only sets
        # `tag` (and `parser`) in 3.x/4.0
        self.tag = self.name = "zipml_simboard"
        self.devicetree_dict = {}
        self.capabilities = {"REGISTER_RW": True}
        self.max_dim = max_dim
        self.poll_cycles = int(poll_cycles)
        self.memory = CmaPool(self, memory_bytes)
        self.dma = AxiDmaModel(self)
        self.slcr = dict(SLCR_RESET)
        self._dev = _SimEngine(max_dim, jobs=jobs, s2mm_block=s2mm_block,
                               memory_bytes=memory_bytes)
        self.loaded_bits = None
        self.downloads: list[str] = []
        self.engine_accesses = 0
        self.flushes = self.invalidates = 0
        self.bitfile_name = None
        self.timestamp = ""
        self._prev_active = None
        self._clear_dicts()

    def _clear_dicts(self):
        self.ip_dict, self.gpio_dict, self.interrupt_controllers = {}, {}, {}
        self.interrupt_pins, self.hierarchy_dict, self.mem_dict = {}, {}, {}

    # ------------------------------------------------------------------ pynq device API
    @property
    def default_memory(self):
        return self.memory

    def allocate(self, shape, dtype, **kwargs):
        return self.memory.allocate(shape, dtype, **kwargs)

    def flush(self, bo, offset, ptr, size):
        self.flushes += 1

    def invalidate(self, bo, offset, ptr, size):
        self.invalidates += 1

    def get_bitfile_metadata(self, bitfile_name, partial: bool = False):
        hwh = Path(bitfile_name).with_suffix(".hwh")
        if not hwh.is_file():
            raise RuntimeError(f"Unable to find metadata for bitstream {bitfile_name}: "
                               f"{hwh.name} missing")
        return _hwh_parser(hwh)

    def set_bitfile_name(self, bitfile_name: str) -> None:
        self.bitfile_name = bitfile_name
        self.parser = self.get_bitfile_metadata(bitfile_name)
        for name in ("mem_dict", "ip_dict", "gpio_dict", "interrupt_pins",
                     "interrupt_controllers", "hierarchy_dict"):
            setattr(self, name, getattr(self.parser, name, {}))
        if hasattr(self.parser, "systemgraph"):
            self.systemgraph = self.parser.systemgraph

    def download(self, bitstream, parser=None):
        """'Program the PL': load the engine the ``.hwh`` describes (G_BITS), power-on
        state of engine and DMA. The ``.bit`` itself is not read."""
        if parser is None:
            parser = self.get_bitfile_metadata(bitstream.bitfile_name)
        params = parser.ip_dict[bd.ENGINE_CELL]["parameters"]
        bits = int(params["G_BITS"])
        if int(params.get("G_MAX_DIM", self.max_dim)) != self.max_dim:
            warnings.warn(f"SimBoard: the .hwh says G_MAX_DIM={params['G_MAX_DIM']}, the "
                          f"simulated engine has {self.max_dim}", RuntimeWarning)
        self._dev.load(bits)
        self.dma.soft_reset()
        self.loaded_bits = bits
        self.downloads.append(str(bitstream.bitfile_name))
        t = datetime.datetime.now()
        bitstream.timestamp = (f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute}:{t.second} "
                               f"+{t.microsecond}")
        self.reset(parser, bitstream.timestamp, bitstream.bitfile_name)

    def post_download(self, bitstream, parser, name="SimBoard"):
        pass

    def reset(self, parser=None, timestamp=None, bitfile_name=None):
        if parser is not None:
            for name in ("ip_dict", "gpio_dict", "interrupt_controllers", "interrupt_pins",
                         "hierarchy_dict", "mem_dict"):
                setattr(self, name, getattr(parser, name, {}))
        if timestamp is not None:
            self.timestamp = timestamp
        if bitfile_name is not None:
            self.bitfile_name = bitfile_name

    def gen_cache(self, bitstream, parser=None):
        pass

    def shutdown(self):
        pass

    def close(self):
        pass

    def get_memory_by_name(self, name):
        return self.memory

    # ------------------------------------------------------------------ register space
    def _region(self, address: int):
        for cell, (_, _, base, size) in bd.ADDRESS_MAP.items():
            if base <= address < base + size:
                return cell, address - base
        if SLCR_BASE <= address < SLCR_BASE + SLCR_SIZE:
            return "slcr", address - SLCR_BASE
        raise RuntimeError(f"SimBoard: no slave at address 0x{address:08X} (AXI decode "
                           f"error)")

    def read_registers(self, address: int, length: int) -> bytes:
        if length % 4 or address % 4:
            raise RuntimeError(f"SimBoard: unaligned register read of {length} bytes at "
                               f"0x{address:08X}")
        return b"".join(self._read32(address + i).to_bytes(4, "little")
                        for i in range(0, length, 4))

    def write_registers(self, address: int, data: bytes) -> None:
        if len(data) % 4 or address % 4:
            raise RuntimeError(f"SimBoard: unaligned register write of {len(data)} bytes at "
                               f"0x{address:08X}")
        for i in range(0, len(data), 4):
            self._write32(address + i, int.from_bytes(data[i:i + 4], "little"))

    def _read32(self, address: int) -> int:
        cell, off = self._region(address)
        if cell == bd.ENGINE_CELL:
            self._need_engine()
            self.engine_accesses += 1
            value = self._dev.read(off)
            self._sync()
            return value
        if cell == bd.DMA_CELL:
            return self.dma.read(off)
        return self.slcr.get(off, 0)

    def _write32(self, address: int, value: int) -> None:
        cell, off = self._region(address)
        if cell == bd.ENGINE_CELL:
            self._need_engine()
            self.engine_accesses += 1
            self._dev.write(off, value)
            self._sync()
        elif cell == bd.DMA_CELL:
            self.dma.write(off, value)
        else:
            self.slcr[off] = value & 0xFFFFFFFF

    def _need_engine(self):
        if self.loaded_bits is None:
            raise RuntimeError("SimBoard: the PL is not programmed (download an overlay "
                               "first); an access would hang the bus on a board")

    # ------------------------------------------------------------------ time
    def _sync(self):
        """Report transfers the simulation finished to the DMA model."""
        lib, sim = self._dev._need()
        for ch, busy, done in ((self.dma.mm2s, lib.zs_mm2s_busy, lib.zs_mm2s_done),
                               (self.dma.s2mm, lib.zs_s2mm_busy, lib.zs_s2mm_done)):
            if ch.busy and not busy(sim):
                tlast = bool(lib.zs_s2mm_tlast(sim)) if not ch.tx else True
                self.dma.complete(ch, int(done(sim)), tlast)

    def _poll(self, ch):
        """A read of ``ch``'s DMASR: clock the design until its transfer completes or for
        ``poll_cycles`` cycles."""
        if self.loaded_bits is not None:
            lib, sim = self._dev._need()
            if ch.busy:
                lib.zs_run(sim, self.poll_cycles, 1 if ch.tx else 2)
            self._sync()

    @property
    def cycles(self) -> int:
        """Clock cycles the design has run since the last download."""
        return self._dev.cycles if self.loaded_bits is not None else 0

    def set_faults(self, s2mm_block: bool = False, mm2s_gap: int = 0) -> None:
        """Fault injection on the streams (see :meth:`zipml.hw.sim.SimDevice.set_faults`)."""
        self._dev.set_faults(s2mm_block=s2mm_block, mm2s_gap=mm2s_gap)

    # ------------------------------------------------------------------ activation
    def activate(self):
        """Make this board pynq's active (and only) device; returns self.

        Clears pynq's cached clock driver so ``pynq.Clocks`` talks to this board's SLCR.
        Undo with :meth:`deactivate` (or use the board as a context manager).
        """
        Dev = pynq.Device
        self._prev_active = (Dev.__dict__.get("_active_device"), Dev.__dict__.get("_devices"))
        Dev.active_device = self
        Dev._devices = [self]
        self._forget_clocks()
        if PYNQ_VERSION < (3, 1):
            # 2.7 and 3.0 choose the clock driver by the machine (x86 here), not the device
            from pynq.ps import Clocks, _ClocksZynq
            Clocks._real_instance = _ClocksZynq()
        from .board import board_available
        board_available(refresh=True)
        return self

    def deactivate(self):
        Dev = pynq.Device
        active, devices = self._prev_active or (None, None)
        for name, value in (("_active_device", active), ("_devices", devices)):
            if value is None:
                if name in Dev.__dict__:
                    delattr(Dev, name)
            else:
                setattr(Dev, name, value)
        self._forget_clocks()
        from .board import board_available
        board_available(refresh=True)

    @staticmethod
    def _forget_clocks():
        from pynq.ps import Clocks
        for attr in ("_real_instance", "_instance_cache"):
            if attr in type(Clocks).__dict__ or attr in Clocks.__dict__:
                try:
                    delattr(Clocks, attr)
                except AttributeError:
                    pass
        Clocks.device = None

    def __enter__(self):
        return self.activate()

    def __exit__(self, *exc):
        self.deactivate()
        return False

    def fclk_mhz(self, i: int = 0) -> float:
        """FCLK``i`` as programmed in the simulated SLCR (IO PLL source)."""
        ctrl = self.slcr[0x170 + 0x10 * i]
        fdiv = (self.slcr[0x108] >> 12) & 0x7F
        d0, d1 = (ctrl >> 8) & 0x3F, (ctrl >> 20) & 0x3F
        return bd.PS_CLK_MHZ * fdiv / (d0 * d1)


def write_overlay(folder, bits: int, **hwh_kw) -> Path:
    """Write ``<folder>/<bitstream_name(bits)>.bit`` (a placeholder: the simulated board does
    not read it) and the ``.hwh`` of :func:`zipml.hw.bd.hwh`; returns the ``.bit`` path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = spec.bitstream_name(bits)
    (folder / f"{name}.hwh").write_text(bd.hwh(bits, **hwh_kw))
    bit = folder / f"{name}.bit"
    bit.write_bytes(b"zipml simulated board: no bitstream\n")
    return bit
