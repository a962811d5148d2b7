"""backend="pynq" through the real pynq library, on a simulated PYNQ-Z1/Z2.

:class:`zipml.hw.simboard.SimBoard` is made pynq's active device: ``ZipMLOverlay`` parses the
``.hwh`` generated from the block design (:mod:`zipml.hw.bd`), pynq binds ``EngineIP`` to the
engine by VLNV and ``pynq.lib.dma.DMA`` to the DMA, ``pynq.allocate`` hands out buffers of the
board's CMA pool, and pynq's DMA driver programs the DMA model's registers, behind which the
Verilated RTL runs. Training must be bit-identical to the C engine at every precision; DMA
errors, a stuck S2MM channel, a time-out and Ctrl-C must each end in a named exception with the
buffers freed and the engine and DMA reset.

This module runs with the pynq of the test environment (3.1.x, the current PYNQ image's line);
``test_other_pynq_versions`` runs it again under pynq 2.7.0 and 4.0.0 in venvs of their own
(``tests/pynq_venvs.py``, cached under ``build/pynq-venvs/``). Nothing here ran on a board.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from zipml import backends, pack, spec
from zipml.backends import CpuBackend
from zipml.config import EngineConfig
from zipml.hw import bd
from zipml.hw.board import BoardNotFound

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pynq = pytest.importorskip("pynq")

ROOT = Path(__file__).resolve().parents[1]
MAX_DIM = spec.DEFAULT_MAX_DIM
needs_sim = pytest.mark.skipif(not (shutil.which("verilator") and shutil.which("ghdl")),
                               reason="needs ghdl and verilator")


@pytest.fixture(scope="module")
def overlays(tmp_path_factory):
    """A folder with the .bit placeholder and generated .hwh of every precision."""
    from zipml.hw import simboard
    folder = tmp_path_factory.mktemp("bitstreams")
    for bits in spec.PRECISIONS:
        simboard.write_overlay(folder, bits)
    return folder


@pytest.fixture
def board():
    """A simulated board, pynq's active device for the test."""
    from zipml.hw import simboard
    b = simboard.SimBoard(MAX_DIM)
    with b:
        yield b
    from zipml.hw.board import board_available
    assert board_available(refresh=True) is False


def _case(bits, n, d, epochs, seed=0, loss="svm"):
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
                       loss=loss, step_size=2.0 ** -5, signed=True)
    return cfg, pack.pack(a, y, bits)


def _engine_idle(board):
    st = board._dev.read_reg("STATUS")
    return not st & (1 << spec.FIELDS[("STATUS", "BUSY")][0])


# --------------------------------------------------------------------------- overlay
@needs_sim
def test_overlay_binds_engine_by_vlnv_and_the_real_dma(board, overlays):
    from pynq.lib.dma import DMA

    from zipml.hw.pynq_driver import EngineIP, ZipMLOverlay
    ol = ZipMLOverlay(4, overlays)
    assert type(ol.engine) is EngineIP and EngineIP.bindto == [spec.VLNV]
    assert type(ol.axi_dma) is DMA
    assert ol.engine.identity == (spec.ID_VALUE, spec.VERSION_VALUE)
    assert board.downloads == [str(overlays / "zipml_q4.bit")] and board.loaded_bits == 4
    for cell, (_, _, base, size) in bd.ADDRESS_MAP.items():
        assert ol.ip_dict[cell]["phys_addr"] == base
        assert ol.ip_dict[cell]["addr_range"] == size
    assert ol.ip_dict["engine"]["type"] == spec.VLNV
    assert ol.ip_dict["axi_dma"]["type"] == bd.DMA_VLNV
    # pynq programmed FCLK0 from the .hwh into the simulated SLCR: 1000 MHz / (10 x 1)
    assert board.fclk_mhz(0) == bd.FCLK0_MHZ
    assert pynq.Clocks.fclk0_mhz == pytest.approx(bd.FCLK0_MHZ)
    # the DMA driver took its sizes from the .hwh's DMA parameters
    assert ol.axi_dma.buffer_max_size == (1 << spec.DMA_LENGTH_WIDTH) - 1
    assert ol.axi_dma.sendchannel._align == 8 and ol.axi_dma.recvchannel._align == 4


@needs_sim
def test_plain_overlay_and_the_clock_problem(board, overlays):
    """pynq 4.0.0: a plain pynq.Overlay of this design fails to set FCLK0 (frequency None);
    2.7 and 3.x program it from the divisors. ZipMLOverlay works on all (test above)."""
    if pynq.__version__.startswith("4.0"):
        with pytest.raises(TypeError, match="NoneType"):
            pynq.Overlay(str(overlays / "zipml_q1.bit"))
    else:
        ol = pynq.Overlay(str(overlays / "zipml_q1.bit"))
        assert type(ol.axi_dma).__name__ == "DMA" and board.fclk_mhz(0) == bd.FCLK0_MHZ


def test_pynq_4_clock_workaround(overlays, monkeypatch):
    """pynq 4.0.0 asks Clocks.set_pl_clk for clock_dict[i]["frequency"], which pynqmetadata
    0.2.0 leaves None on a Zynq-7000: ZipMLOverlay.download fills it from the .hwh."""
    from zipml.hw import pynq_driver
    assert pynq_driver._ps7_actual_mhz(overlays / "zipml_q2.hwh")[0] == bd.FCLK0_MHZ
    seen = {}

    class Base:
        def download(self, *a, **k):
            seen["clocks"] = self.clock_dict
    ol = object.__new__(type("T", (pynq_driver.ZipMLOverlay, Base), {}))
    monkeypatch.setattr(pynq.Overlay, "download", Base.download)
    ol.bitfile_name = str(overlays / "zipml_q2.bit")
    ol.clock_dict = {0: {"enable": 1, "frequency": None, "divisor0": 10, "divisor1": 1},
                     1: {"enable": 0, "frequency": None, "divisor0": 1, "divisor1": 1}}
    pynq_driver.ZipMLOverlay.download(ol)
    assert seen["clocks"][0]["frequency"] == bd.FCLK0_MHZ
    assert seen["clocks"][1]["frequency"] is None
    # no .hwh value: the divisors and the IO PLL
    ol.bitfile_name = str(overlays / "missing.bit")
    ol.clock_dict = {0: {"enable": 1, "frequency": None, "divisor0": 5, "divisor1": 2}}
    pynq_driver.ZipMLOverlay.download(ol)
    assert seen["clocks"][0]["frequency"] == 100.0


# --------------------------------------------------------------------------- training
@needs_sim
@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_zipml_sgd_on_the_board_is_bit_identical_to_the_c_engine(board, overlays, bits):
    from sklearn.datasets import load_digits

    from zipml import ZipML_SGD
    X, y = load_digits(return_X_y=True)
    X, y = X[:150], y[:150]
    runs = {}
    for backend, kw in (("pynq", {"bitstream_dir": overlays}), ("cpu", {})):
        Z = ZipML_SGD(bits=bits, backend=backend, seed=1, **kw)
        Z.set_data(X, y)
        Z.a_normalize(0, "c")
        if bits:
            Z.a_quantize(bits)
        Z.b_binarize(3)
        runs[backend] = (Z.L2SVM_SGD(4, 2.0 ** -6, 1.0, 1.5, 0, 1),
                         Z.LINREG_SGD(2, 2.0 ** -8, 0))
        if backend == "pynq":
            assert Z.backend().name == "pynq" and Z.last_result.epochs_done == 2
    for got, want in zip(runs["pynq"], runs["cpu"]):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert board.loaded_bits == bits
    assert board.memory.live == 0 and board.memory.allocations == 4    # 2 buffers per run
    assert board.dma.mm2s.transfers >= 6 and board.dma.s2mm.transfers == 6
    assert board.flushes >= 6 and board.invalidates == 6   # pynq's cache maintenance


@needs_sim
def test_chunked_transfers_and_registers(board, overlays):
    bits, n, d = 2, 45, 30
    cfg, stream = _case(bits, n, d, 3)
    W = cfg.words_per_sample
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays,
                             max_transfer_bytes=8 * W * 10)
    r = b.run(cfg, stream)
    np.testing.assert_array_equal(r.models, CpuBackend(bits, max_dim=MAX_DIM).run(cfg,
                                                                                 stream).models)
    lengths = [v for reg, v in board.dma.log if reg == "MM2S+0x28"]
    assert lengths == ([10 * W * 8] * 4 + [5 * W * 8]) * 3
    s2mm = [v for reg, v in board.dma.log if reg == "S2MM+0x28"]
    assert s2mm == [4 * d] * 3
    # after the last S2MM transfer LENGTH holds the bytes actually written
    assert board.dma.read(0x58) == 4 * d
    assert board.memory.live == 0


@needs_sim
def test_2017_constructor_on_and_off_the_board(overlays):
    from zipml import BITSTREAMS, ZipML_SGD
    from zipml.hw import simboard
    from zipml.hw.board import BITSTREAM_DIR
    assert Path(BITSTREAMS) == BITSTREAM_DIR and BITSTREAMS.endswith(os.sep)
    with pytest.raises(BoardNotFound, match=r"no PYNQ board.*Pass on_pynq=0"):
        ZipML_SGD(on_pynq=1, bitstreams_path=BITSTREAMS, ctrl_base=0x41200000,
                  dma_base=0x40400000, dma_buffer_size=32 * 1024 * 1024)
    rng = np.random.default_rng(5)
    X, y = rng.uniform(0, 1, (40, 12)), rng.choice([1.0, -1.0], 40)
    models = {}
    with simboard.SimBoard(MAX_DIM) as b, pytest.warns(DeprecationWarning, match="ctrl_base"):
        for on in (1, 0):
            Z = ZipML_SGD(on_pynq=on, bitstreams_path=str(overlays) + os.sep,
                          ctrl_base=0x41200000, dma_base=0x40400000,
                          dma_buffer_size=32 * 1024 * 1024)
            Z.set_data(X, y)
            Z.a_quantize(8)
            models[on] = Z.L2SVM_SGD(3, 2.0 ** -5, 1, 1, 0, 0)
            assert Z.backend().name == ("pynq" if on else "cpu")
        assert b.downloads == [str(overlays / "zipml_q8.bit")]
    np.testing.assert_array_equal(models[1], models[0])


# --------------------------------------------------------------------------- failures
@needs_sim
@pytest.mark.parametrize("channel,error,text", [
    ("MM2S", 1 << 5, "DMASlvErr"), ("MM2S", 1 << 6, "DMADecErr"),
    ("S2MM", 1 << 4, "DMAIntErr"), ("S2MM", 1 << 5, "DMASlvErr")])
def test_dma_error_halts_and_is_reported(board, overlays, channel, error, text):
    from zipml.hw import DmaError
    bits = 1
    cfg, stream = _case(bits, 30, 20, 3)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays, timeout=2.0)
    resets = board.dma.resets
    board.dma.inject_error(channel, error, transfer=2)
    with pytest.raises(DmaError, match=rf"DMA {channel} transfer: the AXI DMA channel "
                                       rf"halted, DMASR=0x[0-9A-F]{{8}}: {text}") as ei:
        b.run(cfg, stream)
    assert ei.value.status & error
    assert board.memory.live == 0 and b.device.live_buffers == 0
    assert board.dma.resets > resets and _engine_idle(board)
    # pynq's own wait() on a halted channel only says it is not started (PG021: RS cleared)
    board.dma.inject_error(channel, error, transfer=1)
    ch = b.device.dma.sendchannel if channel == "MM2S" else b.device.dma.recvchannel
    buf = pynq.allocate((8,), np.uint64) if channel == "MM2S" else pynq.allocate((8,),
                                                                                np.uint32)
    ch.transfer(buf)
    with pytest.raises(RuntimeError, match="DMA channel not started"):
        ch.wait()
    buf.freebuffer()
    # the next run resets the DMA and trains normally
    b.device.reset_dma()
    r = b.run(cfg, stream)
    np.testing.assert_array_equal(r.models, CpuBackend(bits, max_dim=MAX_DIM).run(cfg,
                                                                                 stream).models)


@needs_sim
def test_s2mm_packet_longer_than_the_buffer(board, overlays):
    """PG021: an S2MM packet that does not end (tlast) within LENGTH is DMAIntErr; the bytes
    written are in LENGTH."""
    from zipml.hw import DmaError
    from zipml.hw.pynq_driver import PynqDevice
    bits, d = 8, 20
    cfg, stream = _case(bits, 10, d, 1)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays)
    b.device.recv = lambda buf, off, cnt: PynqDevice.recv(b.device, buf, off, cnt - 1)
    with pytest.raises(DmaError, match=r"S2MM transfer: .*DMAIntErr") as ei:
        b.run(cfg, stream)
    assert ei.value.status & (1 << 4) and ei.value.status & 1          # error, halted
    assert board.memory.live == 0 and _engine_idle(board)


@needs_sim
def test_stuck_s2mm_times_out_in_wall_time(board, overlays):
    from zipml.hw import EngineTimeout
    bits = 8
    cfg, stream = _case(bits, 20, 10, 2)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays, timeout=0.3)
    board.set_faults(s2mm_block=True)
    t0 = time.monotonic()
    with pytest.raises(EngineTimeout, match=r"DMA S2MM transfer did not complete within "
                                            r"0\.3\d* s .*STATUS=0x[0-9A-F]{8} \(BUSY") as ei:
        b.run(cfg, stream)
    assert time.monotonic() - t0 < 3.0
    assert ei.value.registers["STATUS"] & 1
    assert board.memory.live == 0 and _engine_idle(board)
    assert ("MM2S+0x00", 4) in board.dma.log             # DMACR.Reset
    board.set_faults()
    b.device.reset_dma()
    assert b.run(cfg, stream).epochs_done == 2


@needs_sim
def test_slow_stream_times_out(board, overlays):
    from zipml.hw import EngineTimeout
    bits = 4
    cfg, stream = _case(bits, 200, 60, 1)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays, timeout=0.2)
    board.set_faults(mm2s_gap=200_000)                   # one word every 2 ms
    board.poll_cycles = 1000
    with pytest.raises(EngineTimeout, match="MM2S transfer did not complete"):
        b.run(cfg, stream)
    assert board.memory.live == 0 and _engine_idle(board)


@needs_sim
def test_ctrl_c_during_a_wait(board, overlays):
    bits = 0
    cfg, stream = _case(bits, 20, 10, 2)
    b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays, timeout=30.0)
    board.set_faults(s2mm_block=True)
    old = signal.signal(signal.SIGALRM, signal.default_int_handler)   # what Ctrl-C raises
    t0 = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            b.run(cfg, stream)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - t0 < 2.0
    assert board.memory.live == 0 and _engine_idle(board)
    assert ("MM2S+0x00", 4) in board.dma.log


@needs_sim
def test_cma_capacity(overlays):
    """The run's buffers must fit the CMA pool: checked before any allocation."""
    from zipml.hw import DeviceMemoryError, simboard
    bits = 0
    cfg, stream = _case(bits, 200, 40, 2)                 # 200 x 21 words = 33.6 KB
    with simboard.SimBoard(MAX_DIM, memory_bytes=32 << 10) as board:
        b = backends.get_backend("pynq", bits=bits, bitstream_dir=overlays)
        with pytest.raises(DeviceMemoryError, match=r"needs \d+ bytes of contiguous memory .* "
                                                    r"the device has 32768 bytes available"):
            b.run(cfg, stream)
        assert board.memory.allocations == 0
        bufs = [pynq.allocate((1000,), np.uint32) for _ in range(8)]   # 8 x 4 KiB pages
        assert [x.physical_address for x in bufs] == [board.memory.base + 4096 * i
                                                      for i in range(8)]
        with pytest.raises(RuntimeError, match="cannot allocate 4000 bytes: 0 of 32768"):
            pynq.allocate((1000,), np.uint32)
        bufs[3].freebuffer()
        again = pynq.allocate((10,), np.uint8)             # first fit: the freed page
        assert again.physical_address == board.memory.base + 4096 * 3
        for x in bufs + [again]:
            x.freebuffer()
        assert board.memory.live == 0 and board.memory.free_bytes == 32 << 10


# --------------------------------------------------------------------------- DMA model
@needs_sim
def test_dma_model_registers_per_pg021(board, overlays):
    from zipml.hw import simboard as sb
    from zipml.hw.pynq_driver import ZipMLOverlay
    ol = ZipMLOverlay(4, overlays)
    mm = pynq.MMIO(bd.ADDRESS_MAP["axi_dma"][2], 0x100)
    mm.write(0x00, sb.CR_RESET)
    assert mm.read(0x00) == sb.CR_RESET_VALUE and mm.read(0x04) == sb.SR_HALTED
    mm.write(0x00, sb.CR_RS | sb.CR_IOC_IRQEN)
    assert mm.read(0x04) == 0                             # running, not idle, no error
    mm.write(0x28, 0)                                     # LENGTH 0: DMAIntErr, halted
    sr = mm.read(0x04)
    assert sr & sb.SR_DMAINTERR and sr & sb.SR_HALTED and sr & sb.SR_ERR_IRQ
    assert not mm.read(0x00) & sb.CR_RS
    mm.write(0x04, sb.SR_ERR_IRQ)                         # W1C
    assert not mm.read(0x04) & sb.SR_ERR_IRQ and mm.read(0x04) & sb.SR_DMAINTERR
    mm.write(0x00, sb.CR_RESET)
    assert mm.read(0x04) == sb.SR_HALTED
    mm.write(0x30, sb.CR_RS)
    mm.write(0x48, 0x2000_0000)                          # beyond the 512 MiB DDR
    mm.write(0x58, 64)
    assert mm.read(0x34) & sb.SR_DMADECERR
    mm.write(0x00, sb.CR_RESET)
    mm.write(0x30, sb.CR_RS)
    mm.write(0x48, 0x0010_0000)                          # DDR, but no buffer of ours
    mm.write(0x58, 64)
    assert mm.read(0x34) & sb.SR_DMASLVERR
    mm.write(0x00, sb.CR_RESET)
    assert mm.read(0x34) == sb.SR_HALTED and ol.engine.read_reg("STATUS") == 0


# --------------------------------------------------------------------------- off the board
def test_off_board_errors(tmp_path, monkeypatch):
    from zipml.hw.board import board_available
    assert board_available(refresh=True) is False
    with pytest.raises(FileNotFoundError, match=r"zipml_q8\.bit, zipml_q8\.hwh missing .* "
                                                r"`\./make_hw 8`"):
        backends.get_backend("pynq", bits=8, bitstream_dir=tmp_path)
    for ext in ("bit", "hwh"):
        (tmp_path / f"zipml_q1.{ext}").write_text("x")
    with pytest.raises(BoardNotFound, match="needs a PYNQ board: pynq finds no FPGA device"):
        backends.get_backend("pynq", bits=1, bitstream_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backends.get_backend("auto", bits=1).name == "cpu"


@needs_sim
def test_auto_on_a_board_without_the_bitstream_falls_back(board, tmp_path):
    with pytest.warns(RuntimeWarning, match=r"make_hw 8.*Falling back to the CPU engine"):
        assert backends.get_backend("auto", bits=8, bitstream_dir=tmp_path).name == "cpu"


def test_import_graph_is_one_way():
    """zipml.hw never imports zipml.backends (the old circle through board_available)."""
    code = ("import sys, zipml.hw, zipml.hw.board, zipml.hw.driver, zipml.hw.device; "
            "assert 'zipml.backends' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    import ast
    for path in (ROOT / "zipml" / "hw").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "backends" not in (node.module or ""), (path, node.lineno)
            elif isinstance(node, ast.Import):
                assert not any("backends" in a.name for a in node.names), (path, node.lineno)


# --------------------------------------------------------------------------- pynq versions
@needs_sim
@pytest.mark.parametrize("version", ["2.7.0", "4.0.0"])
def test_other_pynq_versions(version):
    """This module under another pynq, in a venv of its own (created once, cached)."""
    if os.environ.get("ZIPML_PYNQ_VERSION_RUN"):
        pytest.skip("already inside a per-version run")
    if not list((ROOT / "zipml").glob("_zipml_c*.so")):
        pytest.skip("needs the in-tree C extensions of an editable install (pip install -e)")
    sys.path.insert(0, str(Path(__file__).parent))
    import pynq_venvs
    py = pynq_venvs.python_for(version)
    if py is None:
        pytest.skip(f"pynq {version} could not be installed here: {pynq_venvs.last_error}")
    env = dict(os.environ, PYTHONPATH=str(ROOT), ZIPML_PYNQ_VERSION_RUN=version)
    proc = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-x", str(Path(__file__)), "-k", "not other_pynq_versions"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and " failed" not in proc.stdout, tail


def test_running_pynq_version():
    want = os.environ.get("ZIPML_PYNQ_VERSION_RUN")
    if want:
        assert pynq.__version__ == want
