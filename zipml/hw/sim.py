"""The engine's RTL at full speed: ``ghdl synth`` Verilog compiled with Verilator.

:func:`build_sim_library` turns the Verilog of :func:`zipml.synth.ghdl_verilog` (the same
synthesis step ``zipml synth`` uses, so what is simulated is what was synthesised) and the C++
harness ``sim_harness.cpp`` (AXI4-Lite master, AXI DMA MM2S/S2MM models) into a shared library,
cached under ``build/verilator/<digest>/`` by Verilog content, harness source and Verilator
version. :class:`SimDevice` loads it through cffi (ABI mode) and implements
:class:`zipml.hw.device.EngineDevice`, so :class:`zipml.hw.driver.EngineDriver` drives the
simulated RTL exactly as it drives the board.

Time in the simulation is simulated time: one clock cycle is ``1 / clock_hz`` seconds (100 MHz,
the board's clock), and DMA time-outs are budgets of cycles.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from .. import rtl, spec
from .device import DeviceMemoryError, DeviceTimeout, EngineDevice

HARNESS = Path(__file__).with_name("sim_harness.cpp")
BUILD = rtl.build_root() / "verilator"
#: Default G_MAX_DIM of simulated engines: the board builds' size, or ``$ZIPML_SIM_MAX_DIM``.
def _env_max_dim() -> int:
    raw = os.environ.get("ZIPML_SIM_MAX_DIM")
    if raw is None:
        return spec.DEFAULT_MAX_DIM
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value % 64 or not 64 <= value <= spec.MAX_DIM_LIMIT:
        raise ValueError(f"environment variable ZIPML_SIM_MAX_DIM={raw!r}: the G_MAX_DIM of "
                         f"simulated engines must be a multiple of 64 in [64, "
                         f"{spec.MAX_DIM_LIMIT}]")
    return value


SIM_MAX_DIM = _env_max_dim()

_CDEF = """
void* zs_new(void);
void zs_free(void*);
void zs_reset(void*, uint32_t);
int zs_write(void*, uint32_t, uint32_t, uint32_t, uint32_t);
int zs_read(void*, uint32_t, uint32_t*, uint32_t);
void zs_mm2s_start(void*, const uint64_t*, uint64_t);
void zs_s2mm_start(void*, uint32_t*, uint64_t);
void zs_dma_reset(void*);
int zs_run(void*, uint64_t, uint32_t);
void zs_set_faults(void*, int, uint32_t);
uint64_t zs_cycles(void*);
int zs_mm2s_busy(void*);
int zs_s2mm_busy(void*);
uint64_t zs_mm2s_done(void*);
uint64_t zs_s2mm_done(void*);
int zs_s2mm_tlast(void*);
"""

_LOCK = threading.RLock()
_LIBS: dict[Path, object] = {}
#: Build times in seconds of the libraries built by this process, by library path.
BUILD_TIMES: dict[str, float] = {}


class SimBuildError(RuntimeError):
    """Verilator could not build the simulation library."""


def verilator_version() -> str:
    exe = shutil.which("verilator")
    if not exe:
        raise SimBuildError("verilator not found on PATH (apt-get install verilator; "
                            "Verilator 5 is needed for backend='sim')")
    return subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()


def build_sim_library(bits: int, max_dim: int = SIM_MAX_DIM, *, fifo_words: int | None = None,
                      jobs: int = 2) -> Path:
    """Build (or find in the cache) the simulation library of precision ``bits``.

    Parameters
    ----------
    bits : int
        Precision (``G_BITS``).
    max_dim : int
        ``G_MAX_DIM`` (a multiple of 64, at most 8192).
    fifo_words : int, optional
        ``G_FIFO_WORDS`` (default: the engine's own default size).
    jobs : int
        Parallel compile jobs.

    Returns
    -------
    Path
        The shared library (``build/verilator/<digest>/libzipml_sim.so``).
    """
    import fcntl

    from ..synth import ghdl_verilog

    BUILD.mkdir(parents=True, exist_ok=True)
    # one build per configuration even with several processes (pytest -n): a file lock
    with open(BUILD / f".lock_q{bits}_d{max_dim}", "w") as lockf, _LOCK:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        try:
            return _build_locked(bits, max_dim, fifo_words, jobs, ghdl_verilog)
        finally:
            fcntl.flock(lockf, fcntl.LOCK_UN)


def _build_locked(bits, max_dim, fifo_words, jobs, ghdl_verilog) -> Path:
    vsrc = ghdl_verilog(bits, max_dim, fifo_words=fifo_words)
    verilog = vsrc.read_text()     # already repaired by zipml.synth.fix_ghdl_verilog
    version = verilator_version()
    h = hashlib.sha256()
    for part in (verilog.encode(), HARNESS.read_bytes(), version.encode()):
        h.update(hashlib.sha256(part).digest())
    digest = h.hexdigest()[:16]
    out = BUILD / f"q{bits}_d{max_dim}" / digest if fifo_words is None else \
        BUILD / f"q{bits}_d{max_dim}_f{fifo_words}" / digest
    lib = out / "libzipml_sim.so"
    if lib.exists():
        return lib
    t0 = time.perf_counter()
    tmp = out.with_name(f"{digest}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    vfile = tmp / f"{spec.TOP_ENTITY}.v"
    vfile.write_text(verilog)
    cmd = [shutil.which("verilator"), "--cc", "--exe", "--build", "-O3", "-j", str(jobs),
           "--top-module", spec.TOP_ENTITY, "--Mdir", str(tmp / "obj"),
           "-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-MULTIDRIVEN", "-Wno-UNOPTFLAT",
           "--x-assign", "fast", "--x-initial", "fast",
           "-CFLAGS", "-fPIC", "-LDFLAGS", "-shared", "-o", "libzipml_sim.so",
           "-MAKEFLAGS", "OPT_FAST=-O2 OPT_SLOW=-O1 OPT_GLOBAL=-O2",
           str(vfile), str(HARNESS)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    (tmp / "build.log").write_text(" ".join(cmd) + "\n" + res.stdout + res.stderr)
    if res.returncode:
        raise SimBuildError(f"verilator failed (exit {res.returncode}) for Q{bits} "
                            f"G_MAX_DIM={max_dim}; log {tmp / 'build.log'}:\n"
                            f"{res.stderr[-3000:]}")
    shutil.copy2(tmp / "obj" / "libzipml_sim.so", tmp / "libzipml_sim.so")
    shutil.copy2(tmp / "build.log", tmp / "obj.log")
    shutil.rmtree(tmp / "obj", ignore_errors=True)
    seconds = time.perf_counter() - t0
    (tmp / "build_seconds.txt").write_text(f"{seconds:.1f}\n")
    (tmp / "source.txt").write_text(f"{vsrc}\n{HARNESS}\n{version}\n")
    if out.exists():          # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(out)
    BUILD_TIMES[str(lib)] = seconds
    return lib


def _load(lib: Path):
    import cffi

    with _LOCK:
        if lib not in _LIBS:
            ffi = cffi.FFI()
            ffi.cdef(_CDEF)
            handle = ffi.dlopen(str(lib))
            for name in re.findall(r"(zs_\w+)\(", _CDEF):
                getattr(handle, name)        # resolve every symbol now, not in a timed loop
            _LIBS[lib] = (ffi, handle)
        return _LIBS[lib]


class SimDevice(EngineDevice):
    """The simulated engine behind the hardware-access interface.

    Parameters
    ----------
    max_dim : int
        ``G_MAX_DIM`` of the simulated engine.
    fifo_words : int, optional
        ``G_FIFO_WORDS`` (default: the engine's default size).
    max_transfer_bytes : int
        Largest DMA transfer (default: that of the board builds, 2^DMA_LENGTH_WIDTH - 1 bytes).
    memory_bytes : int
        Contiguous memory the device offers (default 256 MiB, like a PYNQ image's CMA pool).
    clock_hz : float
        Clock frequency that maps time-outs (seconds) to cycles.
    s2mm_block : bool
        Fault injection: the S2MM channel never accepts a word (a stuck DMA).
    mm2s_gap : int
        The MM2S channel idles this many cycles after every word (0 = full rate).
    stall_cycles : int
        A wait ends early in :class:`~zipml.hw.device.DeviceTimeout` when no word has moved on
        either stream for this many simulated cycles (a stuck DMA: the simulation is
        deterministic and nothing outside it will unstick the streams). 0 = wait for the
        whole simulated time-out. Default 2^20 cycles (10.5 ms at 100 MHz; a few seconds of
        wall time at the Verilated engine's ~0.4 M cycles/s).
    slice_cycles : int
        Waits clock the design in slices of this many cycles, so that Ctrl-C (which Python
        delivers between two calls into the simulation) acts within one slice (2^16 cycles:
        about 0.2 s of wall time).
    wall_timeout : float, optional
        Also end every wait after this many seconds of wall time (default: no limit besides
        the simulated time-out and ``stall_cycles``).
    """

    name = "sim"

    def __init__(self, max_dim: int = SIM_MAX_DIM, *, fifo_words: int | None = None,
                 max_transfer_bytes: int = (1 << spec.DMA_LENGTH_WIDTH) - 1,
                 memory_bytes: int = 256 << 20, clock_hz: float = 100e6,
                 s2mm_block: bool = False, mm2s_gap: int = 0, jobs: int = 2,
                 stall_cycles: int = 1 << 20, slice_cycles: int = 1 << 16,
                 wall_timeout: float | None = None):
        if not isinstance(max_transfer_bytes, int) or max_transfer_bytes < 8:
            raise ValueError(f"max_transfer_bytes must be an integer >= 8, got "
                             f"{max_transfer_bytes!r}")
        self.max_dim_generic = max_dim
        self.fifo_words_generic = fifo_words
        self._max_transfer = max_transfer_bytes
        self._memory = int(memory_bytes)
        self.clock_hz = float(clock_hz)
        self._faults = (int(bool(s2mm_block)), int(mm2s_gap))
        if int(slice_cycles) < 1 or int(stall_cycles) < 0:
            raise ValueError(f"slice_cycles must be >= 1 and stall_cycles >= 0, got "
                             f"{slice_cycles!r}, {stall_cycles!r}")
        self.stall_cycles = int(stall_cycles)
        self.slice_cycles = int(slice_cycles)
        self.wall_timeout = wall_timeout
        self._jobs = jobs
        self._sim = None
        self._ffi = self._lib = None
        self._live: dict[int, np.ndarray] = {}
        self._ptrs: dict[int, int] = {}
        self.allocations = 0          #: buffers allocated so far
        #: Wall time spent simulating AXI4-Lite transactions (the driver's overhead figure
        #: excludes it: on the board an MMIO access takes about a microsecond).
        self.bus_seconds = 0.0
        self.bits = None
        self.library: Path | None = None

    # ------------------------------------------------------------------ engine
    def load(self, bits: int) -> None:
        spec.check_bits(bits)
        lib = build_sim_library(bits, self.max_dim_generic, fifo_words=self.fifo_words_generic,
                                jobs=self._jobs)
        self.close()
        self._ffi, self._lib = _load(lib)
        self._sim = self._lib.zs_new()
        self._lib.zs_set_faults(self._sim, *self._faults)
        self._u32 = self._ffi.new("uint32_t *")
        self.bits, self.library = bits, lib

    def _need(self):
        if self._sim is None:
            raise RuntimeError("SimDevice: no engine loaded (call load(bits) first)")
        return self._lib, self._sim

    def read(self, offset: int) -> int:
        lib, sim = self._need()
        t0 = time.perf_counter()
        rc = lib.zs_read(sim, offset, self._u32, 1000)
        self.bus_seconds += time.perf_counter() - t0
        if rc:
            raise RuntimeError(f"AXI4-Lite read of offset 0x{offset:02X}: "
                               + ("no response in 1000 cycles" if rc < 0 else f"RRESP={rc}"))
        return int(self._u32[0])

    def write(self, offset: int, value: int) -> None:
        lib, sim = self._need()
        t0 = time.perf_counter()
        rc = lib.zs_write(sim, offset, value & 0xFFFFFFFF, 0xF, 1000)
        self.bus_seconds += time.perf_counter() - t0
        if rc:
            raise RuntimeError(f"AXI4-Lite write of offset 0x{offset:02X}: "
                               + ("no response in 1000 cycles" if rc < 0 else f"BRESP={rc}"))

    def bus_reset(self, cycles: int = 16) -> None:
        """Pulse ``aresetn`` (power-on state, registers at their reset values)."""
        lib, sim = self._need()
        lib.zs_reset(sim, cycles)

    def set_faults(self, s2mm_block: bool = False, mm2s_gap: int = 0) -> None:
        """Fault injection: a stuck S2MM channel; MM2S gaps of ``mm2s_gap`` cycles per word."""
        self._faults = (int(bool(s2mm_block)), int(mm2s_gap))
        if self._sim is not None:
            self._lib.zs_set_faults(self._sim, *self._faults)

    @property
    def cycles(self) -> int:
        """Clock cycles simulated since the engine was loaded."""
        lib, sim = self._need()
        return int(lib.zs_cycles(sim))

    # ------------------------------------------------------------------ memory
    @property
    def memory_capacity(self) -> int:
        return self._memory - sum(b.nbytes for b in self._live.values())

    @property
    def live_buffers(self) -> int:
        """Buffers allocated and not yet freed."""
        return len(self._live)

    def allocate(self, shape, dtype) -> np.ndarray:
        buf = np.empty(shape, dtype=dtype)
        if buf.nbytes > self.memory_capacity:
            raise DeviceMemoryError(f"SimDevice: {buf.nbytes} bytes requested, "
                                    f"{self.memory_capacity} bytes of contiguous memory left")
        self._live[id(buf)] = buf
        self._ptrs[id(buf)] = buf.ctypes.data
        self.allocations += 1
        return buf

    def free(self, buf: np.ndarray) -> None:
        self._ptrs.pop(id(buf), None)
        if self._live.pop(id(buf), None) is None:
            raise ValueError("SimDevice.free: buffer was not allocated here or is already "
                             "freed")

    # ------------------------------------------------------------------ DMA
    @property
    def max_transfer_bytes(self) -> int:
        return self._max_transfer

    def _slice(self, buf, offset, count, itemsize, what):
        base = self._ptrs.get(id(buf))
        if base is None:
            raise ValueError(f"{what}: buffer not allocated by this device")
        if buf.itemsize != itemsize:
            raise ValueError(f"{what}: expected a buffer of {itemsize}-byte words, got "
                             f"{buf.dtype}")
        if offset < 0 or count < 1 or offset + count > buf.size:
            raise ValueError(f"{what}: elements [{offset}, {offset + count}) outside the "
                             f"buffer of {buf.size}")
        if count * itemsize > self._max_transfer:
            raise ValueError(f"{what}: transfer of {count * itemsize} bytes exceeds the DMA "
                             f"maximum length {self._max_transfer}")
        return base + offset * itemsize

    def send(self, buf, offset, count):
        lib, sim = self._need()
        if lib.zs_mm2s_busy(sim):
            raise RuntimeError("send: the MM2S channel is busy")
        addr = self._slice(buf, offset, count, 8, "send")
        lib.zs_mm2s_start(sim, self._ffi.cast("uint64_t *", addr), count)

    def recv(self, buf, offset, count):
        lib, sim = self._need()
        if lib.zs_s2mm_busy(sim):
            raise RuntimeError("recv: the S2MM channel is busy")
        addr = self._slice(buf, offset, count, 4, "recv")
        lib.zs_s2mm_start(sim, self._ffi.cast("uint32_t *", addr), count)

    def _wait(self, cond: int, timeout: float, what: str):
        """Clock until ``cond`` holds: in slices (Ctrl-C acts between two), ending early when
        the streams stall (``stall_cycles``) or ``wall_timeout`` passes."""
        lib, sim = self._need()
        budget = max(1, int(timeout * self.clock_hz))
        t0 = time.monotonic()
        ran = stalled = 0
        pos = (lib.zs_mm2s_done(sim), lib.zs_s2mm_done(sim))
        while ran < budget:
            step = min(self.slice_cycles, budget - ran)
            if not lib.zs_run(sim, step, cond):
                return
            ran += step
            now = (lib.zs_mm2s_done(sim), lib.zs_s2mm_done(sim))
            stalled = stalled + step if now == pos else 0
            pos = now
            if self.stall_cycles and stalled >= self.stall_cycles:
                raise DeviceTimeout(
                    f"{what} did not complete: no word moved on either stream for {stalled} "
                    f"simulated cycles (a stuck DMA channel); the simulation stopped waiting "
                    f"after {ran} of the {budget} cycles of its {timeout:g} s time-out")
            if self.wall_timeout is not None and time.monotonic() - t0 > self.wall_timeout:
                raise DeviceTimeout(
                    f"{what} did not complete within {self.wall_timeout:g} s of wall time "
                    f"({ran} of {budget} simulated cycles)")
        raise DeviceTimeout(f"{what} did not complete within {timeout:g} s "
                            f"({budget} simulated cycles at {self.clock_hz / 1e6:g} MHz)")

    def wait_send(self, timeout: float) -> None:
        self._wait(1, timeout, "MM2S transfer")

    def wait_recv(self, timeout: float) -> int:
        self._wait(2, timeout, "S2MM transfer")
        lib, sim = self._need()
        return int(lib.zs_s2mm_done(sim))

    def run_cycles(self, n: int) -> None:
        """Clock ``n`` cycles (no condition)."""
        lib, sim = self._need()
        lib.zs_run(sim, n, 0x4)

    def reset_dma(self) -> None:
        lib, sim = self._need()
        lib.zs_dma_reset(sim)

    def close(self) -> None:
        if self._sim is not None:
            self._lib.zs_free(self._sim)
            self._sim = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return (f"SimDevice(bits={self.bits}, max_dim={self.max_dim_generic}, "
                f"library={self.library})")
