"""Testbench helpers for the engine top level ``zipml_sgd_engine`` (cocotb + cocotbext-axi).

Used by ``tests/rtl/test_engine.py`` and ``benchmarks/bench_rtl_efficiency.py``. Holds an
independent stream packer (ENGINE.md section 3), random problem generators and a driver that
runs one engine configuration through the AXI4-Lite registers and the two AXI4-Streams.
"""
from __future__ import annotations

import logging
import random

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import (AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamFrame,
                           AxiStreamSink, AxiStreamSource)

from zipml import spec
from zipml.config import EngineConfig, f32_bits

REG = spec.REG


# --------------------------------------------------------------------------- stream packing
def pack_stream(bits: int, d: int, vals, labels, vals_b=None) -> np.ndarray:
    """One epoch of the sample stream (uint64 words).

    ``vals`` (n, d): Qb codes or Q0 binary32 bit patterns; ``labels`` (n,) binary32 bit
    patterns; ``vals_b``: copy B (double sampling).
    """
    lane = 32 if bits == 0 else bits
    V = 64 // lane
    D = -(-d // V)
    vals = np.asarray(vals, dtype=np.uint64).reshape(-1, d)
    n = vals.shape[0]
    copies = [vals] if vals_b is None else [vals, np.asarray(vals_b, np.uint64).reshape(n, d)]
    out = np.zeros((n, D * len(copies) + 1), dtype=np.uint64)
    shifts = (np.arange(V, dtype=np.uint64) * np.uint64(lane))
    for ci, arr in enumerate(copies):
        full = np.zeros((n, D * V), dtype=np.uint64)
        full[:, :d] = arr
        full = full.reshape(n, D, V) << shifts
        out[:, ci * D:(ci + 1) * D] = np.bitwise_or.reduce(full, axis=2)
    out[:, -1] = np.asarray(labels, dtype=np.uint64) & np.uint64(0xFFFFFFFF)
    return out.reshape(-1)


def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)


def random_problem(rng: np.random.Generator, cfg: EngineConfig):
    """Random valid data for ``cfg``: returns the stream, 1-D (one epoch) or 2-D (per epoch)."""
    b, n, d = cfg.bits, cfg.num_samples, cfg.num_features

    def one_copy():
        if b == 0:
            v = rng.uniform(-1.0, 1.0, size=(n, d)).astype(np.float32)
            v[:, 0] = 1.0
            return f32(v)
        L = 1 << (b - 1)
        c = rng.integers(0, L + 1, size=(n, d), dtype=np.uint64)
        c[:, 0] = L
        return c

    if cfg.loss == "linreg" and not cfg.binarize:
        labels = f32(rng.uniform(-2.0, 2.0, size=n))
    elif cfg.binarize:
        labels = f32(rng.integers(0, 4, size=n).astype(np.float32))
    else:
        labels = f32(rng.choice([-1.0, 1.0], size=n))
    a = one_copy()
    bb = one_copy() if cfg.double_sampling else None
    return pack_stream(b, d, a, labels, bb)


def chunks(cfg: EngineConfig):
    """(first, last) sample index pairs of the DMA transfers of one epoch (section 7.5)."""
    n, C = cfg.num_samples, cfg.chunk_samples
    if C == 0:
        return [(0, n)]
    return [(i, min(i + C, n)) for i in range(0, n, C)]


def frames_of_epoch(cfg: EngineConfig, words: np.ndarray):
    W = cfg.words_per_sample
    return [words[i * W:j * W] for i, j in chunks(cfg)]


# --------------------------------------------------------------------------- driver
class EngineTB:
    """Clock, reset, AXI-Lite master, stream source/sink around a ``zipml_sgd_engine``."""

    def __init__(self, dut):
        self.dut = dut
        cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
        dut.aresetn.value = 0
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        self.axil = self.src = self.sink = None

    def _make_buses(self):
        dut = self.dut
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.aclk, dut.aresetn,
                                  reset_active_level=False)
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk,
                                   dut.aresetn, reset_active_level=False)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk,
                                  dut.aresetn, reset_active_level=False)
        for obj in (self.axil.write_if, self.axil.read_if, self.src, self.sink):
            obj.log.setLevel(logging.WARNING)

    async def reset(self):
        self.dut.aresetn.value = 0
        await ClockCycles(self.dut.aclk, 2)
        if self.axil is None:
            self._make_buses()
        await ClockCycles(self.dut.aclk, 3)
        self.dut.aresetn.value = 1
        await ClockCycles(self.dut.aclk, 2)

    def gaps(self, seed: int, p_in: float, p_out: float):
        """Random valid gaps on the input (probability p_in per cycle) and back-pressure on
        the output (p_out); 0 disables."""
        r = random.Random(seed)
        if p_in > 0:
            self.src.set_pause_generator(iter(lambda: r.random() < p_in, None))
        else:
            self.src.clear_pause_generator()
            self.src.pause = False          # a cleared generator may leave the pause on
        r2 = random.Random(seed + 1)
        if p_out > 0:
            self.sink.set_pause_generator(iter(lambda: r2.random() < p_out, None))
        else:
            self.sink.clear_pause_generator()
            self.sink.pause = False

    async def wr(self, name: str, value: int):
        await self.axil.write_dword(REG[name], value & 0xFFFFFFFF)

    async def rd(self, name: str) -> int:
        return await self.axil.read_dword(REG[name])

    async def rd64(self, name: str) -> int:
        lo = await self.rd(name + "_LO")
        hi = await self.rd(name + "_HI")
        return lo | (hi << 32)

    async def status(self) -> dict:
        s = await self.rd("STATUS")
        return {"busy": spec.get_field("STATUS", "BUSY", s), "done": spec.get_field("STATUS", "DONE", s),
                "sat": spec.get_field("STATUS", "SAT", s), "error": spec.get_field("STATUS", "ERROR", s)}

    async def configure(self, cfg: EngineConfig, raw: dict | None = None):
        regs = cfg.registers()
        if raw:
            regs.update(raw)
        for name, value in regs.items():
            await self.wr(name, value)

    async def start(self):
        await self.wr("CTRL", spec.field("CTRL", "START", 1))

    async def ctrl(self, name: str):
        await self.wr("CTRL", spec.field("CTRL", name, 1))

    async def wait_done(self, max_cycles: int) -> dict:
        for _ in range(max_cycles // 64 + 1):
            st = await self.status()
            if st["done"] and not st["busy"]:
                return st
            await ClockCycles(self.dut.aclk, 64)
        raise AssertionError(f"engine not DONE after {max_cycles} cycles: {st}")

    async def recv_model(self, d: int, max_cycles: int) -> np.ndarray:
        for _ in range(max_cycles // 16 + 1):
            if not self.sink.empty():
                fr = self.sink.recv_nowait()
                data = np.frombuffer(bytes(fr.tdata), dtype="<i4")
                assert data.size == d, f"model frame of {data.size} words, expected d = {d}"
                return data.astype(np.int32)
            await ClockCycles(self.dut.aclk, 16)
        core = self.dut.u_core
        raise AssertionError(f"no model frame within {max_cycles} cycles (core state "
                             f"{int(core.state.value)}, out_busy {int(core.out_busy.value)}, "
                             f"sq_count {int(core.sq_count.value)}, m_idx {int(core.m_idx.value)}, "
                             f"dr_left {int(core.dr_left.value)}, epoch {int(core.epoch.value)})")

    async def counters(self) -> dict:
        return {"epoch_count": await self.rd("EPOCH_COUNT"),
                "sample_count": await self.rd("SAMPLE_COUNT"),
                "staleness": await self.rd("STALENESS"),
                "error_info": await self.rd("ERROR_INFO"),
                "cycles": await self.rd64("CYCLES"), "words": await self.rd64("WORDS")}

    async def run(self, cfg: EngineConfig, stream: np.ndarray, timeout: int | None = None):
        """Configure, START, stream every epoch, collect the models; returns (models, status,
        counters). ``stream`` is one epoch (1-D) or one row per epoch."""
        E, d = cfg.num_epochs, cfg.num_features
        await self.configure(cfg)
        await self.start()
        st = await self.status()
        assert st["busy"] == 1 and st["error"] == 0, f"START refused: {st}"
        for e in range(E):
            row = stream if stream.ndim == 1 else stream[e]
            for fr in frames_of_epoch(cfg, row):
                await self.src.send(AxiStreamFrame(fr.astype("<u8").tobytes()))
        if timeout is None:
            timeout = 20 * (cfg.epoch_words + 4 * d + 400) * E + 2000
        models = []
        for e in range(E):
            models.append(await self.recv_model(d, timeout))
        st = await self.wait_done(2000)
        cnt = await self.counters()
        return np.array(models, dtype=np.int32).reshape(E, d), st, cnt
