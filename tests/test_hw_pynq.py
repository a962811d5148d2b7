"""backend="pynq" off the board: a fake ``pynq`` module injected into ``sys.modules``.

The fake records what the driver does with pynq (driver binding by VLNV, register offsets,
``allocate``/``freebuffer`` pairs, DMA transfer sizes) and, behind its MMIO and DMA channels,
runs the project's RTL in the Verilator simulation, so the pynq code path trains real models.
Nothing here ran on a PYNQ board.
"""
from __future__ import annotations

import shutil
import sys
import types
import warnings

import numpy as np
import pytest

from zipml import backends, pack, spec
from zipml.backends import CpuBackend
from zipml.config import EngineConfig

MAX_DIM = spec.DEFAULT_MAX_DIM
needs_sim = pytest.mark.skipif(not (shutil.which("verilator") and shutil.which("ghdl")),
                               reason="needs ghdl and verilator")


class FakeBuffer(np.ndarray):
    """What pynq.allocate returns: an ndarray with a physical address and freebuffer()."""

    def freebuffer(self):
        self.fake.freed.append(self.physical_address)

    def flush(self):
        pass

    def invalidate(self):
        pass


class Channel:
    """An AXI DMA channel (pynq.lib.dma._SDMAChannel API) backed by the simulation."""

    def __init__(self, fake, tx: bool):
        self.fake, self.tx = fake, tx
        self._max_size = fake.max_size
        self.transferred = 0
        self._keep = None

    @property
    def running(self):
        return True

    @property
    def error(self):
        return False

    @property
    def idle(self):
        s = self.fake.sim
        busy = s._lib.zs_mm2s_busy if self.tx else s._lib.zs_s2mm_busy
        if busy(s._sim) and not (not self.tx and self.fake.stuck_s2mm):
            s._lib.zs_run(s._sim, 5000, 1 if self.tx else 2)
        return not busy(s._sim)

    def start(self):
        self.fake.log.append(("dma_start", self.tx))

    def transfer(self, array, start=0, nbytes=0):
        if not isinstance(array, FakeBuffer):
            raise TypeError("DMA transfers need a buffer from pynq.allocate")
        nbytes = nbytes or array.nbytes - start
        if nbytes > self._max_size:
            raise ValueError(f"transfer of {nbytes} bytes > {self._max_size}")
        self.fake.transfers.append(("send" if self.tx else "recv", start, nbytes))
        s = self.fake.sim
        addr = array.ctypes.data + start
        self._keep = array
        if self.tx:
            s._lib.zs_mm2s_start(s._sim, s._ffi.cast("uint64_t *", addr), nbytes // 8)
        else:
            s._lib.zs_s2mm_start(s._sim, s._ffi.cast("uint32_t *", addr), nbytes // 4)
            if self.fake.stuck_s2mm:
                s._lib.zs_set_faults(s._sim, 1, 0)

    def wait(self):
        s = self.fake.sim
        if not self.tx:
            self.transferred = int(s._lib.zs_s2mm_done(s._sim)) * 4


def make_fake_pynq(sim_device, *, board=True, max_size=(1 << 26) - 1, stuck_s2mm=False):
    fake = types.ModuleType("pynq")
    fake.sim = sim_device
    fake.max_size = max_size
    fake.stuck_s2mm = stuck_s2mm
    fake.log, fake.transfers, fake.allocated, fake.freed, fake.registry = [], [], [], [], {}
    fake.next_address = 0x1000_0000

    class RegisterIP(type):
        def __init__(cls, name, bases, attrs):
            for vlnv in attrs.get("bindto", ()):
                fake.registry[vlnv] = cls
            super().__init__(name, bases, attrs)

    class DefaultIP(metaclass=RegisterIP):
        def __init__(self, description):
            self.description = description

        def read(self, offset=0):
            fake.log.append(("read", offset))
            return sim_device.read(offset)

        def write(self, offset, value):
            fake.log.append(("write", offset, value))
            sim_device.write(offset, value)

    class DMA:
        def __init__(self):
            self.sendchannel, self.recvchannel = Channel(fake, True), Channel(fake, False)
            self.buffer_max_size = max_size

        def write(self, offset, value):
            fake.log.append(("dma_write", offset, value))
            if offset == 0 and value & 4:
                sim_device.reset_dma()

        def read(self, offset):
            return 0

    class Overlay:
        def __init__(self, bitfile, download=True, **kw):
            fake.log.append(("overlay", bitfile, download))
            vlnv_driver = fake.registry[spec.VLNV]
            self.engine = vlnv_driver({"vlnv": spec.VLNV, "phys_addr": 0x43C0_0000})
            self.dma = DMA()

    def allocate(shape, dtype):
        arr = np.zeros(shape, dtype).view(FakeBuffer)
        arr.fake = fake
        arr.physical_address = fake.next_address
        fake.next_address += (arr.nbytes + 4095) // 4096 * 4096
        fake.allocated.append(arr.physical_address)
        return arr

    class Device:
        devices = [object()] if board else []

    fake.DefaultIP, fake.Overlay, fake.allocate, fake.Device = DefaultIP, Overlay, allocate, Device
    return fake


@pytest.fixture
def with_fake(monkeypatch, tmp_path):
    """Install a fake pynq; yields a factory(bits, **fake_kw) -> (fake, bitstream_dir)."""
    monkeypatch.setattr(backends, "_BOARD", None)

    def install(bits, *, bitstreams=True, **kw):
        from zipml.hw import sim
        sim.build_sim_library(bits, MAX_DIM)
        dev = sim.SimDevice(MAX_DIM)
        dev.load(bits)
        fake = make_fake_pynq(dev, **kw)
        monkeypatch.setitem(sys.modules, "pynq", fake)
        monkeypatch.delitem(sys.modules, "zipml.hw.pynq_driver", raising=False)
        monkeypatch.setattr(backends, "_BOARD", None)
        if bitstreams:
            for ext in ("bit", "hwh"):
                (tmp_path / f"{spec.bitstream_name(bits)}.{ext}").write_text("fake")
        return fake, tmp_path
    yield install
    sys.modules.pop("zipml.hw.pynq_driver", None)


def _run_case(bits, n, d, epochs, seed=0):
    rng = np.random.default_rng(seed)
    L = 2 ** (bits - 1) if bits else 0
    if bits:
        a = rng.integers(0, L + 1, size=(n, d)).astype(np.uint8)
        a[:, 0] = L
    else:
        a = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
        a[:, 0] = 1
    y = rng.choice([-1.0, 1.0], size=n)
    cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=epochs,
                       loss="svm", step_size=2.0 ** -5, signed=True)
    return cfg, pack.pack(a, y, bits)


@needs_sim
@pytest.mark.parametrize("bits", [0, 4])
def test_pynq_path_trains_like_cpu(with_fake, bits):
    n, d = 45, 30
    cfg, stream = _run_case(bits, n, d, 3)
    W = cfg.words_per_sample
    max_size = 8 * W * 10 + 8                         # 10 samples per transfer
    fake, folder = with_fake(bits, max_size=max_size)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=folder)
    from zipml.hw import pynq_driver
    # the driver is bound by VLNV; ol.engine is an EngineIP
    assert pynq_driver.EngineIP.bindto == [spec.VLNV]
    assert fake.registry[spec.VLNV] is pynq_driver.EngineIP
    assert isinstance(b.device.overlay.engine, pynq_driver.EngineIP)
    assert fake.log[0] == ("overlay", str(folder / f"{spec.bitstream_name(bits)}.bit"), True)
    assert b.max_dim == MAX_DIM
    r = b.run(cfg, stream)
    np.testing.assert_array_equal(r.models, CpuBackend(bits, max_dim=MAX_DIM).run(cfg,
                                                                                 stream).models)
    # register offsets: only those of zipml.spec.REG
    offsets = {e[1] for e in fake.log if e[0] in ("read", "write")}
    assert offsets <= set(spec.REG.values())
    written = {e[1]: e[2] for e in fake.log if e[0] == "write"}
    for name, value in cfg.with_(chunk_samples=10).registers().items():
        assert written[spec.REG[name]] == value, name
    # allocate/free pairs; chunks of whole samples within the DMA's maximum length
    assert len(fake.allocated) == 2 and sorted(fake.freed) == sorted(fake.allocated)
    sends = [t for t in fake.transfers if t[0] == "send"]
    assert [t[2] for t in sends[:5]] == [10 * W * 8] * 4 + [5 * W * 8]
    assert [t[1] for t in sends[:5]] == [k * 10 * W * 8 for k in range(5)]
    recvs = [t for t in fake.transfers if t[0] == "recv"]
    assert recvs == [("recv", e * d * 4, d * 4) for e in range(3)]


@needs_sim
def test_pynq_timeout_resets_engine_and_dma(with_fake):
    from zipml.hw import EngineTimeout
    bits, n, d = 2, 20, 10
    cfg, stream = _run_case(bits, n, d, 2)
    fake, folder = with_fake(bits, stuck_s2mm=True)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=folder, timeout=0.05)
    with pytest.raises(EngineTimeout, match=r"DMA S2MM transfer did not complete within "
                                            r"0\.05\d* s .*STATUS=0x[0-9A-F]{8} \(BUSY"):
        b.run(cfg, stream)
    assert ("write", spec.REG["CTRL"], spec.field("CTRL", "SOFT_RESET", 1)) in fake.log
    assert ("dma_write", 0x00, 4) in fake.log
    assert ("dma_start", True) in fake.log and ("dma_start", False) in fake.log
    assert sorted(fake.freed) == sorted(fake.allocated) and len(fake.allocated) == 2


def test_missing_bitstream_says_how_to_build(with_fake, monkeypatch, tmp_path):
    fake = make_fake_pynq(None)
    monkeypatch.setitem(sys.modules, "pynq", fake)
    with pytest.raises(FileNotFoundError, match=r"zipml_q8\.bit, zipml_q8\.hwh missing .* "
                                                r"`\./make_hw 8`"):
        backends.get_backend("pynq", bits=8, bitstream_dir=tmp_path)
    # auto on a board without the bitstream: a warning, then the CPU engine
    with pytest.warns(RuntimeWarning, match=r"make_hw 8.*Falling back to the CPU engine"):
        assert backends.get_backend("auto", bits=8, bitstream_dir=tmp_path).name == "cpu"


def test_off_board_error(monkeypatch, tmp_path):
    monkeypatch.setattr(backends, "_BOARD", None)
    monkeypatch.setitem(sys.modules, "pynq", make_fake_pynq(None, board=False))
    for ext in ("bit", "hwh"):
        (tmp_path / f"zipml_q1.{ext}").write_text("fake")
    from zipml.hw.board import BoardNotFound
    with pytest.raises(BoardNotFound, match="needs a PYNQ board: pynq finds no FPGA device"):
        backends.get_backend("pynq", bits=1, bitstream_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backends.get_backend("auto", bits=1).name == "cpu"
