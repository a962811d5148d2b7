"""cocotb bench of the AXI4-Lite register file ``RTL/zipml_axil_regs.vhd``.

Runs on its own (``pytest tests/rtl/test_axil_regs.py``) or inside the suite. The pytest
functions at the bottom build the entity with GHDL (through ``tests/rtl/ghdl.py``) and run the
cocotb coroutines of this module; the generics are passed to the simulation in ``ZIPML_G_*``
environment variables so the expected read-only values follow them.

Every expected value is derived from ``zipml.spec`` (offsets, fields, constants, reset values)
or from the values the bench itself drives; two AXI masters are used:

- ``cocotbext.axi.AxiLiteMaster`` (with random pauses on all five channels) for back-to-back and
  interleaved traffic, and
- :class:`HandMaster`, a hand-driven master for what the library cannot express: arbitrary
  byte strobes, AW-before-W / W-before-AW with chosen gaps, late BREADY/RREADY, new requests
  while a response is pending, reset in the middle of a transaction.

A :class:`Monitor` checks the AXI4-Lite rules on every clock edge (VALID held until READY,
payload stable, responses OKAY, no response without a request, VALIDs low after reset) and
counts the CTRL pulses and their widths.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from zipml import spec

# ------------------------------------------------------------------------------ bench setup
G_BITS = int(os.environ.get("ZIPML_G_BITS", "2"))
G_MAX_DIM = int(os.environ.get("ZIPML_G_MAX_DIM", str(spec.DEFAULT_MAX_DIM)))
G_FIFO_WORDS = int(os.environ.get("ZIPML_G_FIFO_WORDS", "4096"))
G_FP_XILINX = os.environ.get("ZIPML_G_FP_XILINX", "true") == "true"
SEED = int(os.environ.get("ZIPML_SEED", "12345"))

RW = [r.name for r in spec.REGISTERS if r.access == "RW"]
RO = [r.name for r in spec.REGISTERS if r.access == "RO"]
REG = spec.REG
MAPPED = set(REG.values())
UNMAPPED = [a for a in range(0, 1 << spec.AXIL_ADDR_WIDTH, 4) if a not in MAPPED]
CTRL_PORTS = {"START": "ctrl_start", "SOFT_RESET": "ctrl_soft_reset", "ABORT": "ctrl_abort"}
COUNTER_PORTS = {"STALENESS": "st_staleness", "EPOCH_COUNT": "st_epoch_count",
                 "SAMPLE_COUNT": "st_sample_count", "ERROR_INFO": "st_error_info"}
MASK32 = 0xFFFFFFFF
TEST_TIMEOUT_US = 500   # simulated time; a deadlock fails the test instead of hanging


def reset_value(name: str) -> int:
    return spec.RESET.get(name, 0)


def constant_ro() -> dict[str, int]:
    """Read-only registers that are constants of the generics."""
    return {
        "ID": spec.ID_VALUE,
        "VERSION": spec.VERSION_VALUE,
        "CONFIG": (spec.field("CONFIG", "BITS", G_BITS)
                   | spec.field("CONFIG", "FP_XILINX", int(G_FP_XILINX))),
        "MAX_DIM": G_MAX_DIM,
        "FIFO_WORDS": G_FIFO_WORDS,
    }


def merge(old: int, data: int, strb: int) -> int:
    """Value of a RW register after a write of ``data`` with byte strobes ``strb``."""
    mask = sum(0xFF << (8 * b) for b in range(4) if strb >> b & 1)
    return (old & ~mask & MASK32) | (data & mask)


class Status:
    """The st_* inputs the bench drives, and the read values they imply."""

    def __init__(self, dut):
        self.dut = dut
        self.v = {}
        self.set(busy=0, done=0, sat=0, error=0, staleness=0, epoch_count=0, sample_count=0,
                 error_info=0, cycles=0, words=0)

    def set(self, **kw):
        for k, val in kw.items():
            self.v[k] = val
            getattr(self.dut, "st_" + k).value = val

    def randomize(self, rng: random.Random):
        self.set(busy=rng.getrandbits(1), done=rng.getrandbits(1), sat=rng.getrandbits(1),
                 error=rng.getrandbits(8), staleness=rng.getrandbits(32),
                 epoch_count=rng.getrandbits(32), sample_count=rng.getrandbits(32),
                 error_info=rng.getrandbits(32), cycles=rng.getrandbits(64),
                 words=rng.getrandbits(64))

    def status_word(self) -> int:
        return (spec.field("STATUS", "BUSY", self.v["busy"])
                | spec.field("STATUS", "DONE", self.v["done"])
                | spec.field("STATUS", "SAT", self.v["sat"])
                | spec.field("STATUS", "ERROR", self.v["error"]))


class Model:
    """Reference model of what every offset reads (needs the driven status)."""

    def __init__(self, status: Status):
        self.st = status
        self.reset()

    def reset(self):
        self.rw = {n: reset_value(n) for n in RW}
        self.hi = {"CYCLES": 0, "WORDS": 0}

    def write(self, addr: int, data: int, strb: int = 0xF):
        off = addr & ~3
        for n in RW:
            if REG[n] == off:
                self.rw[n] = merge(self.rw[n], data, strb)

    def read(self, addr: int) -> int:
        """Expected read data; updates the HI latches like the DUT."""
        off = addr & ~3
        name = next((r.name for r in spec.REGISTERS if r.offset == off), None)
        if name is None or name == "CTRL":
            return 0
        if name in self.rw:
            return self.rw[name]
        if name in constant_ro():
            return constant_ro()[name]
        if name == "STATUS":
            return self.st.status_word()
        if name in COUNTER_PORTS:
            return self.st.v[name.lower()]
        base, half = name.rsplit("_", 1)
        if half == "LO":
            self.hi[base] = self.st.v[base.lower()] >> 32
            return self.st.v[base.lower()] & MASK32
        return self.hi[base]


# ------------------------------------------------------------------------------ monitor
class Monitor:
    """AXI4-Lite rule checker and CTRL pulse counter, sampled on every rising edge."""

    def __init__(self, dut):
        self.dut = dut
        self.errors: list[str] = []
        self.pulses = {k: 0 for k in CTRL_PORTS}
        self.hs = dict(aw=0, w=0, b=0, ar=0, r=0)
        self.cycle = 0
        self._task = cocotb.start_soon(self._run())

    def _sample(self):
        d = self.dut
        names = ["aresetn", "s_axi_awvalid", "s_axi_awready", "s_axi_wvalid", "s_axi_wready",
                 "s_axi_bvalid", "s_axi_bready", "s_axi_bresp", "s_axi_arvalid",
                 "s_axi_arready", "s_axi_rvalid", "s_axi_rready", "s_axi_rresp", "s_axi_rdata"]
        s = {n.replace("s_axi_", ""): int(getattr(d, n).value) for n in names}
        for k, port in CTRL_PORTS.items():
            s[k] = int(getattr(d, port).value)
        return s

    def _err(self, msg):
        self.errors.append(f"cycle {self.cycle}: {msg}")

    async def _run(self):
        prev = None
        while True:
            await RisingEdge(self.dut.aclk)
            self.cycle += 1
            s = self._sample()
            if prev is not None and prev["aresetn"] == 0:
                for ch in ("awready", "wready", "bvalid", "arready", "rvalid"):
                    if s[ch]:
                        self._err(f"{ch} high after a reset edge")
            if prev is not None and prev["aresetn"] == 1 and s["aresetn"] == 1:
                if prev["bvalid"] and not prev["bready"] and not s["bvalid"]:
                    self._err("BVALID dropped before BREADY")
                if prev["rvalid"] and not prev["rready"]:
                    if not s["rvalid"]:
                        self._err("RVALID dropped before RREADY")
                    elif s["rdata"] != prev["rdata"]:
                        self._err("RDATA changed while RVALID waited for RREADY")
            if s["bvalid"] and s["bresp"] != 0:
                self._err(f"BRESP = {s['bresp']}")
            if s["rvalid"] and s["rresp"] != 0:
                self._err(f"RRESP = {s['rresp']}")
            if s["aresetn"]:
                # responses only for requests already handshaken at earlier edges
                if s["bvalid"] and self.hs["b"] >= min(self.hs["aw"], self.hs["w"]):
                    self._err("BVALID without a pending write")
                if s["rvalid"] and self.hs["r"] >= self.hs["ar"]:
                    self._err("RVALID without a pending read")
                for ch, v, r in (("aw", "awvalid", "awready"), ("w", "wvalid", "wready"),
                                 ("b", "bvalid", "bready"), ("ar", "arvalid", "arready"),
                                 ("r", "rvalid", "rready")):
                    self.hs[ch] += s[v] & s[r]
                for k in CTRL_PORTS:
                    if s[k]:
                        self.pulses[k] += 1
                        if prev is not None and prev[k]:
                            self._err(f"ctrl pulse {k} longer than one cycle")
                        if not s["bvalid"] or (prev is not None and prev["bvalid"]):
                            self._err(f"ctrl pulse {k} not in the cycle BVALID rises")
            else:
                self.hs = dict(aw=0, w=0, b=0, ar=0, r=0)
            prev = s

    def check(self):
        assert not self.errors, "AXI monitor: " + "; ".join(self.errors[:10])


# ------------------------------------------------------------------------------ masters
async def wait_cycles(clk, n: int):
    for _ in range(n):
        await RisingEdge(clk)


class HandMaster:
    """A hand-driven AXI4-Lite master with full control over timing and strobes."""

    TIMEOUT = 64  # cycles a handshake may take before the bench calls it a deadlock

    def __init__(self, dut, rng: random.Random):
        self.dut, self.rng = dut, rng
        for n in ("awvalid", "wvalid", "bready", "arvalid", "rready"):
            getattr(dut, "s_axi_" + n).value = 0
        self._scramble_aw()
        self._scramble_w()
        self._scramble_ar()

    # payloads are random garbage whenever VALID is low
    def _scramble_aw(self):
        self.dut.s_axi_awaddr.value = self.rng.getrandbits(8)
        self.dut.s_axi_awprot.value = self.rng.getrandbits(3)

    def _scramble_w(self):
        self.dut.s_axi_wdata.value = self.rng.getrandbits(32)
        self.dut.s_axi_wstrb.value = self.rng.getrandbits(4)

    def _scramble_ar(self):
        self.dut.s_axi_araddr.value = self.rng.getrandbits(8)
        self.dut.s_axi_arprot.value = self.rng.getrandbits(3)

    async def _send(self, valid, ready, delay, what):
        await wait_cycles(self.dut.aclk, delay)
        valid.value = 1
        for _ in range(self.TIMEOUT):
            await RisingEdge(self.dut.aclk)
            if int(ready.value):
                valid.value = 0
                return
        raise AssertionError(f"deadlock: {what} not accepted in {self.TIMEOUT} cycles")

    async def _recv(self, valid, ready, delay, what):
        """Wait for VALID; with ``delay`` None READY is high from the start, else READY rises
        ``delay`` cycles after VALID was seen."""
        clk = self.dut.aclk
        if delay is None:
            ready.value = 1
        for _ in range(self.TIMEOUT):
            await RisingEdge(clk)
            if int(valid.value):
                break
        else:
            raise AssertionError(f"deadlock: no {what} in {self.TIMEOUT} cycles")
        if delay is not None:
            for _ in range(delay):
                await RisingEdge(clk)
                assert int(valid.value), f"{what} VALID dropped while READY was low"
            ready.value = 1
            await RisingEdge(clk)
        ready.value = 0

    async def write(self, addr, data, strb=0xF, aw_delay=0, w_delay=0, b_delay=None):
        """One write; AW is presented after ``aw_delay`` cycles, W after ``w_delay``."""
        d = self.dut

        async def aw():
            await wait_cycles(d.aclk, aw_delay)
            d.s_axi_awaddr.value = addr
            d.s_axi_awprot.value = self.rng.getrandbits(3)
            await self._send(d.s_axi_awvalid, d.s_axi_awready, 0, f"AW 0x{addr:02X}")
            self._scramble_aw()

        async def w():
            await wait_cycles(d.aclk, w_delay)
            d.s_axi_wdata.value = data
            d.s_axi_wstrb.value = strb
            await self._send(d.s_axi_wvalid, d.s_axi_wready, 0, f"W for 0x{addr:02X}")
            self._scramble_w()

        t_aw, t_w = cocotb.start_soon(aw()), cocotb.start_soon(w())
        await self._recv(d.s_axi_bvalid, d.s_axi_bready, b_delay, f"B for 0x{addr:02X}")
        await t_aw
        await t_w

    async def read(self, addr, ar_delay=0, r_delay=None) -> int:
        d = self.dut
        await wait_cycles(d.aclk, ar_delay)
        d.s_axi_araddr.value = addr
        d.s_axi_arprot.value = self.rng.getrandbits(3)
        t_ar = cocotb.start_soon(self._send(d.s_axi_arvalid, d.s_axi_arready, 0,
                                            f"AR 0x{addr:02X}"))
        clk = d.aclk
        if r_delay is None:
            d.s_axi_rready.value = 1
        for _ in range(self.TIMEOUT):
            await RisingEdge(clk)
            if int(d.s_axi_rvalid.value):
                break
        else:
            raise AssertionError(f"deadlock: no R for 0x{addr:02X}")
        for _ in range(r_delay or 0):
            await RisingEdge(clk)
        d.s_axi_rready.value = 1
        if r_delay is not None:
            await RisingEdge(clk)
        # RDATA is sampled at the handshake edge (value before the edge)
        value = int(d.s_axi_rdata.value)
        d.s_axi_rready.value = 0
        await t_ar
        self._scramble_ar()
        return value

    async def random_write(self, addr, data, strb=0xF):
        r = self.rng
        await self.write(addr, data, strb, aw_delay=r.choice([0, 0, 1, 2, 4]),
                         w_delay=r.choice([0, 0, 1, 2, 4]), b_delay=r.choice([None, 0, 1, 3]))

    async def random_read(self, addr) -> int:
        r = self.rng
        return await self.read(addr, ar_delay=r.choice([0, 0, 1, 3]),
                               r_delay=r.choice([None, 0, 1, 3]))


def lib_master(dut):
    from cocotbext.axi import AxiLiteBus, AxiLiteMaster
    return AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.aclk, dut.aresetn,
                         reset_active_level=False)


def random_pauses(master, rng: random.Random, p: float):
    """Random pause generators (probability ``p`` per cycle) on all five channels."""
    def gen(seed):
        g = random.Random(seed)
        while True:
            yield g.random() < p
    wr, rd = master.write_if, master.read_if
    for ch in (wr.aw_channel, wr.w_channel, wr.b_channel, rd.ar_channel, rd.r_channel):
        ch.set_pause_generator(gen(rng.getrandbits(32)))


async def lib_read(master, addr) -> int:
    resp = await master.read(addr, 4)
    assert resp.resp == 0, f"read 0x{addr:02X}: resp {resp.resp}"
    return int.from_bytes(resp.data, "little")


async def lib_write(master, addr, data: bytes):
    resp = await master.write(addr, data)
    assert resp.resp == 0, f"write 0x{addr:02X}: resp {resp.resp}"


# ------------------------------------------------------------------------------ helpers
async def setup(dut, name: str, reset_cycles: int = 4):
    """Clock, status inputs at 0, bus reset; returns (rng, status, model, monitor, hand)."""
    rng = random.Random(f"{SEED}-{name}")
    Clock(dut.aclk, 10, unit="ns").start()
    status = Status(dut)
    hand = HandMaster(dut, rng)
    dut.aresetn.value = 0
    mon = Monitor(dut)
    await ClockCycles(dut.aclk, reset_cycles)
    dut.aresetn.value = 1
    await RisingEdge(dut.aclk)
    return rng, status, Model(status), mon, hand


def check_ports(dut, model: Model):
    for n in RW:
        got = int(getattr(dut, "reg_" + n.lower()).value)
        assert got == model.rw[n], f"port reg_{n.lower()} = 0x{got:08X}, expected " \
                                   f"0x{model.rw[n]:08X}"


async def check_all(hand: HandMaster, model: Model, order=None):
    """Read every word offset (mapped and unmapped) and compare with the model."""
    for addr in order or range(0, 1 << spec.AXIL_ADDR_WIDTH, 4):
        exp = model.read(addr)
        got = await hand.random_read(addr)
        assert got == exp, f"read 0x{addr:02X}: got 0x{got:08X}, expected 0x{exp:08X}"


# ------------------------------------------------------------------------------ cocotb tests
@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def reset_values(dut):
    """Every register reads its reset/constant value; a bus reset restores them."""
    rng, status, model, mon, hand = await setup(dut, "reset_values")
    check_ports(dut, model)
    for k, port in CTRL_PORTS.items():
        assert int(getattr(dut, port).value) == 0, port
    # HI words read the latch (0 after reset) even if the live counter's HI is not 0
    status.set(cycles=0x1234_5678_9ABC_DEF0, words=0x0FED_CBA9_8765_4321)
    assert await hand.read(REG["CYCLES_HI"]) == 0
    assert await hand.read(REG["WORDS_HI"]) == 0
    status.set(cycles=0, words=0)
    await check_all(hand, model)
    # the named reset values (ENGINE.md 7.2) - spelled out once against the spec data
    assert model.rw["STEP_SIZE"] == 0x3C23D70A and model.rw["COST_NEG"] == 0x3F800000
    assert model.rw["NUM_EPOCHS"] == 1 and model.rw["DELAY"] == 1 and model.rw["MODE"] == 0

    # scribble, latch a HI word, then a bus reset brings everything back
    for n in RW:
        v = rng.getrandbits(32)
        await hand.random_write(REG[n], v)
        model.write(REG[n], v)
    status.set(cycles=0xAAAA_0001_0000_0002)
    model.read(REG["CYCLES_LO"])
    assert await hand.read(REG["CYCLES_LO"]) == 2
    assert await hand.read(REG["CYCLES_HI"]) == 0xAAAA0001
    check_ports(dut, model)
    dut.aresetn.value = 0
    await ClockCycles(dut.aclk, 2)
    dut.aresetn.value = 1
    await RisingEdge(dut.aclk)
    model.reset()
    check_ports(dut, model)
    assert await hand.read(REG["CYCLES_HI"]) == 0
    await check_all(hand, model)
    mon.check()
    assert sum(mon.pulses.values()) == 0


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def rw_round_trips(dut):
    """Random values with random byte strobes and random channel timing on every RW register."""
    rng, status, model, mon, hand = await setup(dut, "rw_round_trips")
    for i in range(240):
        name = rng.choice(RW)
        data = rng.getrandbits(32)
        strb = rng.getrandbits(4) if i % 3 else 0xF
        await hand.random_write(REG[name], data, strb)
        model.write(REG[name], data, strb)
        check_ports(dut, model)
        probe = rng.choice(RW + [name])
        got = await hand.random_read(REG[probe])
        assert got == model.rw[probe], \
            f"{probe}: 0x{got:08X} != 0x{model.rw[probe]:08X} (after {name} <- 0x{data:08X}/" \
            f"strb {strb:04b})"
    await check_all(hand, model)
    mon.check()
    assert sum(mon.pulses.values()) == 0


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def ro_and_unmapped(dut):
    """Writes to RO/unmapped offsets are ignored; unmapped reads give 0; low address bits
    are ignored."""
    rng, status, model, mon, hand = await setup(dut, "ro_and_unmapped")
    status.randomize(rng)
    for n in RW:   # non-reset contents so that a stray write would show
        v = rng.getrandbits(32)
        await hand.write(REG[n], v)
        model.write(REG[n], v)
    targets = [REG[n] for n in RO] + UNMAPPED
    for addr in targets:
        await hand.random_write(addr | rng.getrandbits(2), rng.getrandbits(32),
                                rng.getrandbits(4) | 1)
        check_ports(dut, model)
    await check_all(hand, model)
    for addr in UNMAPPED:
        assert await hand.random_read(addr) == 0, f"unmapped 0x{addr:02X}"
    # any address within a word reads that word
    for n in ["ID", "CONFIG", "MODE", "STEP_SIZE", "STATUS", "ERROR_INFO"]:
        for low in (1, 2, 3):
            exp = model.read(REG[n])
            assert await hand.random_read(REG[n] | low) == exp, f"{n} + {low}"
    mon.check()
    assert sum(mon.pulses.values()) == 0


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def ctrl_pulses(dut):
    """CTRL bits give exactly one one-cycle pulse per write, only if strobed; CTRL reads 0."""
    rng, status, model, mon, hand = await setup(dut, "ctrl_pulses")
    lsb = {k: spec.FIELDS[("CTRL", k)][0] for k in CTRL_PORTS}
    expected = {k: 0 for k in CTRL_PORTS}
    for i in range(40):
        bits = {k: rng.getrandbits(1) for k in CTRL_PORTS}
        data = sum(b << lsb[k] for k, b in bits.items())
        if i % 2:
            data |= rng.getrandbits(32) & ~sum(1 << v for v in lsb.values())
        strb = 0xF if i % 4 else rng.getrandbits(4)
        await hand.random_write(REG["CTRL"], data, strb)
        for k in CTRL_PORTS:
            expected[k] += bits[k] & (strb >> (lsb[k] // 8)) & 1
        await ClockCycles(dut.aclk, 2)
        assert mon.pulses == expected, f"write 0x{data:08X} strb {strb:04b}: {mon.pulses} " \
                                       f"!= {expected}"
        assert await hand.random_read(REG["CTRL"]) == 0
    check_ports(dut, model)   # CTRL writes touch no parameter
    # back-to-back START writes through the library master
    master = lib_master(dut)
    start = spec.field("CTRL", "START", 1)
    tasks = [cocotb.start_soon(lib_write(master, REG["CTRL"], start.to_bytes(4, "little")))
             for _ in range(12)]
    for task in tasks:
        await task
    await ClockCycles(dut.aclk, 2)
    assert mon.pulses["START"] == expected["START"] + 12
    assert mon.pulses["ABORT"] == expected["ABORT"]
    mon.check()


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def status_and_counters(dut):
    """STATUS and the counter registers show the st_* inputs."""
    rng, status, model, mon, hand = await setup(dut, "status_and_counters")
    names = ["STATUS", "STALENESS", "EPOCH_COUNT", "SAMPLE_COUNT", "ERROR_INFO", "CYCLES_LO",
             "CYCLES_HI", "WORDS_LO", "WORDS_HI"]
    for _ in range(25):
        status.randomize(rng)
        for n in names:
            exp = model.read(REG[n])
            got = await hand.random_read(REG[n])
            assert got == exp, f"{n}: 0x{got:08X} != 0x{exp:08X} ({status.v})"
    # each STATUS field on its own (a swapped bit would pass a random word only by luck)
    for fld, key, width in (("BUSY", "busy", 1), ("DONE", "done", 1), ("SAT", "sat", 1),
                            ("ERROR", "error", 8)):
        status.set(busy=0, done=0, sat=0, error=0)
        for v in ([1] if width == 1 else [1 << b for b in range(width)]):
            status.set(**{key: v})
            assert await hand.read(REG["STATUS"]) == spec.field("STATUS", fld, v), (fld, v)
    mon.check()


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def lo_hi_latching(dut):
    """A LO read latches the HI word; a LO-then-HI pair is consistent while counters run."""
    rng, status, model, mon, hand = await setup(dut, "lo_hi_latching")
    a, b = 0x0000_0007_FFFF_FFFE, 0x0000_0008_0000_0003
    status.set(cycles=a, words=0x1111_2222_3333_4444)
    assert await hand.read(REG["CYCLES_LO"]) == a & MASK32
    status.set(cycles=b)
    assert await hand.read(REG["CYCLES_HI"]) == a >> 32, "HI not latched by LO"
    # the two latches are independent
    assert await hand.read(REG["WORDS_LO"]) == 0x3333_4444
    status.set(words=0x5555_6666_7777_8888)
    assert await hand.read(REG["CYCLES_HI"]) == a >> 32
    assert await hand.read(REG["WORDS_HI"]) == 0x1111_2222
    assert await hand.read(REG["CYCLES_LO"]) == b & MASK32
    assert await hand.read(REG["CYCLES_HI"]) == b >> 32
    assert await hand.read(REG["WORDS_HI"]) == 0x1111_2222   # no new WORDS_LO read yet
    assert await hand.read(REG["WORDS_LO"]) == 0x7777_8888
    assert await hand.read(REG["WORDS_HI"]) == 0x5555_6666

    # free-running counters crossing a 2^32 boundary (like the core's CYCLES and WORDS)
    state = {"cycles": 0, "words": 0, "run": True}

    async def count():
        while state["run"]:
            status.set(cycles=state["cycles"] & (2**64 - 1), words=state["words"] & (2**64 - 1))
            await RisingEdge(dut.aclk)
            state["cycles"] += 1
            state["words"] += rng.getrandbits(1)

    counter = cocotb.start_soon(count())
    master = lib_master(dut)
    random_pauses(master, rng, 0.3)
    for k, base in enumerate(("CYCLES", "WORDS")):
        state[base.lower()] = ((k + 5) << 32) - 30   # start each run just below a boundary
        await RisingEdge(dut.aclk)
        last = -1
        crossed = False
        for _ in range(25):
            before = state[base.lower()]
            lo = await lib_read(master, REG[base + "_LO"])
            after = state[base.lower()]
            hi = await lib_read(master, REG[base + "_HI"])
            value = hi << 32 | lo
            assert before <= value <= after, \
                f"{base}: pair gives 0x{value:016X}, counter was 0x{before:016X}.." \
                f"0x{after:016X} during the LO read"
            assert value >= last
            crossed |= (last >> 32) != (value >> 32) and last >= 0
            last = value
        assert crossed, f"{base}: the test never crossed a 2^32 boundary (bench error)"
    state["run"] = False
    await counter
    mon.check()


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def orderings(dut):
    """AW before W, W before AW, together; late BREADY/RREADY; requests while a response is
    pending; reads during a pending write response."""
    rng, status, model, mon, hand = await setup(dut, "orderings")
    name_cycle = iter(RW * 100)
    for aw_delay in range(6):
        for w_delay in range(6):
            for b_delay in (None, 0, 2):
                n = next(name_cycle)
                v, strb = rng.getrandbits(32), rng.getrandbits(4)
                await hand.write(REG[n], v, strb, aw_delay=aw_delay, w_delay=w_delay,
                                 b_delay=b_delay)
                model.write(REG[n], v, strb)
                check_ports(dut, model)
    # late RREADY
    for r_delay in (None, 0, 1, 5):
        for ar_delay in (0, 3):
            n = rng.choice(RW)
            assert await hand.read(REG[n], ar_delay, r_delay) == model.rw[n]

    d = dut
    # second write presented while the first response waits: both must land, in order
    n = "STEP_DECAY"
    v1, v2 = rng.getrandbits(32), rng.getrandbits(32)
    first = cocotb.start_soon(hand.write(REG[n], v1, 0xF, b_delay=25))
    model.write(REG[n], v1)
    await ClockCycles(d.aclk, 5)
    assert int(d.s_axi_bvalid.value) == 1
    # AW and W of the second write are accepted into the holding registers ...
    d.s_axi_awaddr.value, d.s_axi_wdata.value, d.s_axi_wstrb.value = REG[n], v2, 0xF
    d.s_axi_awvalid.value, d.s_axi_wvalid.value = 1, 1
    await RisingEdge(d.aclk)
    assert int(d.s_axi_awready.value) == 1 and int(d.s_axi_wready.value) == 1
    d.s_axi_awvalid.value, d.s_axi_wvalid.value = 0, 0
    # ... but not performed before the first B is taken
    for _ in range(3):
        await RisingEdge(d.aclk)
        assert int(d.reg_step_decay.value) == v1
    # a read is served while the write response is pending
    assert await hand.read(REG["ID"]) == spec.ID_VALUE
    await first
    for _ in range(HandMaster.TIMEOUT):   # take the second response
        d.s_axi_bready.value = 1
        await RisingEdge(d.aclk)
        if int(d.s_axi_bvalid.value):
            break
    else:
        raise AssertionError("no B for the second write")
    d.s_axi_bready.value = 0
    model.write(REG[n], v2)
    check_ports(dut, model)
    await check_all(hand, model, [REG[x] for x in RW])
    mon.check()


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def interleaved_traffic(dut):
    """cocotbext-axi master: back-to-back and interleaved reads and writes, with and without
    random pauses on every channel."""
    rng, status, model, mon, hand = await setup(dut, "interleaved")
    status.randomize(rng)
    master = lib_master(dut)
    for pause in (0.0, 0.4):
        if pause:
            random_pauses(master, rng, pause)
        pending = []
        for _ in range(60):
            if rng.random() < 0.5:
                n = rng.choice(RW)
                off = rng.randrange(4)
                length = rng.randint(1, 4 - off)
                data = rng.getrandbits(8 * length)
                strb = ((1 << length) - 1) << off
                model.write(REG[n], data << 8 * off, strb)   # writes complete in issue order
                pending.append(("w", master.init_write(REG[n] + off,
                                                       data.to_bytes(length, "little")), None))
            else:   # reads of registers no write in flight can change
                n = rng.choice(["ID", "VERSION", "CONFIG", "MAX_DIM", "FIFO_WORDS", "STATUS",
                                "STALENESS", "SAMPLE_COUNT", "CTRL"])
                pending.append(("r", master.init_read(REG[n], 4), model.read(REG[n])))
        t0 = mon.cycle
        for kind, ev, exp in pending:
            await ev.wait()
            assert ev.data.resp == 0
            if kind == "r":
                got = int.from_bytes(ev.data.data, "little")
                assert got == exp, f"read: 0x{got:08X} != 0x{exp:08X}"
        dut._log.info("pause %.1f: 60 mixed transactions in %d cycles", pause, mon.cycle - t0)
        check_ports(dut, model)
        for n in RW:
            assert await lib_read(master, REG[n]) == model.rw[n], n
    # throughput without pauses (reported, and bounded by the documented 2 cycles each)
    for ch in (master.write_if.aw_channel, master.write_if.w_channel,
               master.write_if.b_channel, master.read_if.ar_channel, master.read_if.r_channel):
        ch.clear_pause_generator()
        ch.pause = False
    await ClockCycles(dut.aclk, 5)
    t0 = mon.cycle
    evs = [master.init_read(REG["ID"], 4) for _ in range(32)]
    for ev in evs:
        await ev.wait()
    reads = mon.cycle - t0
    t0 = mon.cycle
    evs = [master.init_write(REG["MODE"], bytes(4)) for _ in range(32)]
    for ev in evs:
        await ev.wait()
    writes = mon.cycle - t0
    dut._log.info("32 back-to-back reads: %d cycles, 32 writes: %d cycles", reads, writes)
    assert reads <= 2 * 32 + 8 and writes <= 2 * 32 + 8, (reads, writes)
    mon.check()


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def reset_mid_transaction(dut):
    """A bus reset while a write response and a read response are pending drops both VALIDs
    and restores the reset values; the bus works afterwards."""
    rng, status, model, mon, hand = await setup(dut, "reset_mid")
    d = dut
    d.s_axi_awaddr.value, d.s_axi_wdata.value, d.s_axi_wstrb.value = REG["DELAY"], 77, 0xF
    d.s_axi_araddr.value = REG["ID"]
    d.s_axi_awvalid.value = d.s_axi_wvalid.value = d.s_axi_arvalid.value = 1
    for _ in range(6):
        await RisingEdge(d.aclk)
        if int(d.s_axi_awready.value):
            d.s_axi_awvalid.value = 0
        if int(d.s_axi_wready.value):
            d.s_axi_wvalid.value = 0
        if int(d.s_axi_arready.value):
            d.s_axi_arvalid.value = 0
    assert int(d.s_axi_bvalid.value) == 1 and int(d.s_axi_rvalid.value) == 1
    assert int(d.reg_delay.value) == 77
    d.aresetn.value = 0
    await ClockCycles(d.aclk, 3)
    assert int(d.s_axi_bvalid.value) == 0 and int(d.s_axi_rvalid.value) == 0
    d.aresetn.value = 1
    await RisingEdge(d.aclk)
    check_ports(dut, model)   # model is still at reset values
    v = rng.getrandbits(32)
    await hand.random_write(REG["DELAY"], v)
    model.write(REG["DELAY"], v)
    await check_all(hand, model, [REG[x] for x in RW])
    mon.check()


# ------------------------------------------------------------------------------ pytest side
ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "RTL" / "zipml_spec_pkg.vhd", ROOT / "RTL" / "zipml_axil_regs.vhd"]

# (G_BITS, G_MAX_DIM, G_FP_XILINX, cocotb tests to run or None = all)
CONFIGS = [
    (2, spec.DEFAULT_MAX_DIM, True, None),
    (0, 1024, False, "reset_values"),
]


@pytest.mark.parametrize("bits,max_dim,fp_xilinx,testcase", CONFIGS,
                         ids=[f"Q{c[0]}_{c[1]}" for c in CONFIGS])
def test_axil_regs_sim(bits, max_dim, fp_xilinx, testcase):
    from ghdl import run
    fifo = spec.default_fifo_words(bits, max_dim)
    generics = dict(G_BITS=bits, G_MAX_DIM=max_dim, G_FIFO_WORDS=fifo, G_FP_XILINX=fp_xilinx)
    env = {"ZIPML_G_BITS": bits, "ZIPML_G_MAX_DIM": max_dim, "ZIPML_G_FIFO_WORDS": fifo,
           "ZIPML_G_FP_XILINX": "true" if fp_xilinx else "false",
           "ZIPML_SEED": os.environ.get("ZIPML_SEED", "12345")}
    run("zipml_axil_regs", SOURCES, "test_axil_regs", generics=generics, env=env,
        testcase=testcase)


def ghdl_synth(top: str, sources, generics: dict, workdir: Path) -> str:
    """``ghdl synth --std=08`` of ``top``; returns the netlist, raises with GHDL's messages."""
    if shutil.which("ghdl") is None:
        pytest.skip("ghdl not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    a = subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={workdir}", *map(str, sources)],
                       capture_output=True, text=True)
    assert a.returncode == 0, f"ghdl -a failed:\n{a.stderr}"
    g = [f"-g{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in generics.items()]
    s = subprocess.run(["ghdl", "synth", "--std=08", f"--workdir={workdir}", *g, top],
                       capture_output=True, text=True)
    assert s.returncode == 0, f"ghdl synth {top} failed:\n{s.stderr}"
    return s.stdout + s.stderr


@pytest.mark.parametrize("bits,fp_xilinx", [(0, False), (8, True)])
def test_axil_regs_synth(tmp_path, bits, fp_xilinx):
    """Synthesizable with the open tools: no latch (GHDL refuses latches by default), no
    warning, and every RW register is a real flip-flop bank (not optimised away)."""
    out = ghdl_synth("zipml_axil_regs", SOURCES,
                     dict(G_BITS=bits, G_MAX_DIM=spec.DEFAULT_MAX_DIM,
                          G_FIFO_WORDS=spec.default_fifo_words(bits, spec.DEFAULT_MAX_DIM),
                          G_FP_XILINX=fp_xilinx), tmp_path)
    assert "latch" not in out.lower()
    assert "warning" not in out.lower(), out[-2000:]


def test_manifest_lists_regs_after_pkg():
    from zipml import rtl
    files = [p.name for p in rtl.manifest(2, "synth")]
    assert "zipml_axil_regs.vhd" in files
    assert files.index("zipml_spec_pkg.vhd") < files.index("zipml_axil_regs.vhd")
