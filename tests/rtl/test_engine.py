"""End-to-end cocotb benches of the engine top level ``zipml_sgd_engine`` against the C engine.

For every precision (pytest parametrisation: one GHDL build per precision, ``G_MAX_DIM`` =
``MAX_DIM`` below) the benches drive the AXI4-Lite registers and both AXI4-Streams with
cocotbext-axi and check:

- ``test_training``: random data sets (d from 1 to > 1000, non-multiples of the values per
  word), every loss, signed/unsigned data, binarize, double sampling (Qb), delays, step decay,
  reg_shift, chunked transfers, KEEP_MODEL, several epochs; random valid gaps on the input and
  back-pressure on the output. The model after EVERY epoch must be bit-identical to
  ``zipml.cengine.run_engine``; SAT, STALENESS, EPOCH_COUNT, SAMPLE_COUNT and WORDS too.
- ``test_faults``: SOFT_RESET and ABORT in the middle of an epoch followed by a clean correct
  run; every configuration error code (nothing consumed, nothing emitted, the bus answers);
  tlast early / missing, bad label, bad sample (code and ERROR_INFO from ``zipml.reference``,
  which models tlast; the C engine has no framing), each followed by a clean run.
- ``test_registers``: FIFO_WORDS / MAX_DIM / CONFIG as built (FIFO_WORDS must equal
  ``zipml.spec.default_fifo_words``, computed independently in VHDL).

Sizes are small to keep the suite fast; ``ZIPML_ENGINE_LONG=1`` adds larger runs.
"""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

import cocotb
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame

from zipml import spec
from zipml.config import EngineConfig, f32_bits

try:  # only needed inside the simulation
    from engine_tb import EngineTB, frames_of_epoch, pack_stream, random_problem, f32
except ImportError:  # pragma: no cover - pytest collection from another directory
    from tests.rtl.engine_tb import EngineTB, frames_of_epoch, pack_stream, random_problem, f32

MAX_DIM = 1024
BITS = int(os.environ.get("ZIPML_BITS", "4"))
SEED = int(os.environ.get("ZIPML_SEED", "2026"))
LONG = os.environ.get("ZIPML_ENGINE_LONG", "0") == "1"
#: > 0 in the stall build (G_TEST_SCALAR_DELAY): only test_stall runs there
STALL_DELAY = int(os.environ.get("ZIPML_STALL_DELAY", "0"))
STALL = STALL_DELAY > 0
E = spec.ERR


def fifo_words() -> int:
    return spec.default_fifo_words(BITS, MAX_DIM)


def c_engine(cfg: EngineConfig, stream, model_init=None):
    from zipml import cengine
    return cengine.run_engine(cfg, stream, model_init=model_init, max_dim=MAX_DIM,
                              fifo_words=fifo_words())


# --------------------------------------------------------------------------- training cases
def training_cases(bits: int, rng: random.Random):
    """(name, cfg, gap_in, gap_out) tuples; each cfg run on random data."""
    V = 2 if bits == 0 else 64 // bits
    qb = bits != 0
    big_d = rng.randint(1001, MAX_DIM)
    # n > S_d in most cases, so that updates are applied while later samples stream in; the
    # first case has W = 2 (d <= V): an update's write-back and the next read of the same word
    # are two cycles apart (forwarding).
    cases = [
        ("linreg W=2", EngineConfig(bits, num_samples=80, num_features=rng.randint(1, V),
                                    num_epochs=3, loss="linreg", step_size=0.05,
                                    step_decay=0.75, signed=True), 0.3, 0.3),
        ("svm binarize ds rs", EngineConfig(bits, num_samples=40, num_features=V + 3,
                                            num_epochs=2, loss="svm", step_size=0.125,
                                            cost_pos=1.5, cost_neg=0.75, reg_shift=6,
                                            binarize=True, binarize_value=2.0,
                                            double_sampling=qb, delay=3), 0.2, 0.5),
        ("logreg large d", EngineConfig(bits, num_samples=5 if bits == 0 else 8,
                                        num_features=big_d, num_epochs=2, loss="logreg",
                                        step_size=0.5, step_decay=0.5, signed=bool(bits % 2)),
         0.1, 0.2),
        ("linreg delay chunks", EngineConfig(bits, num_samples=50, num_features=2 * V + 1,
                                             num_epochs=2, loss="linreg", step_size=0.01,
                                             delay=40, chunk_samples=7, reg_shift=2), 0.0, 0.0),
        ("svm unsigned", EngineConfig(bits, num_samples=40, num_features=rng.randint(V + 1, 200),
                                      num_epochs=2, loss="svm", step_size=2.0,
                                      cost_pos=1.0, cost_neg=2.0), 0.5, 0.1),
        ("logreg binarize keep", EngineConfig(bits, num_samples=36, num_features=33,
                                              num_epochs=2, loss="logreg", step_size=4.0,
                                              binarize=True, binarize_value=1.0, signed=True,
                                              double_sampling=qb, reg_shift=31), 0.2, 0.2),
    ]
    if LONG:
        cases.append(("long linreg", EngineConfig(bits, num_samples=200,
                                                  num_features=rng.randint(100, MAX_DIM),
                                                  num_epochs=3, loss="linreg", step_size=0.01,
                                                  step_decay=0.9, signed=True), 0.1, 0.1))
    return cases


def py_reference(cfg: EngineConfig, stream, model_init=None, tlast=None):
    from zipml import reference
    return reference.run_reference(cfg, stream, model_init=model_init, max_dim=MAX_DIM,
                                   fifo_words=fifo_words(), tlast=tlast)


C_MISMATCH: list[str] = []


def compare_models(name, cfg, models, ref, who):
    for e in range(ref.models.shape[0]):
        bad = np.nonzero(models[e] != ref.models[e])[0]
        assert bad.size == 0, (
            f"{name}: epoch {e}: {bad.size} of {cfg.num_features} model words differ, first at "
            f"j={bad[0]}: rtl {models[e][bad[0]]} vs {who} {ref.models[e][bad[0]]} ({cfg})")


async def check_run(tb: EngineTB, name: str, cfg: EngineConfig, stream, model_init=None):
    """Run ``cfg`` on the RTL; the models after every epoch must equal the C engine's (and the
    exact Python reference's, which also pins the C engine)."""
    ref = c_engine(cfg, stream, model_init)
    pref = py_reference(cfg, stream, model_init)
    assert pref.error == 0, f"{name}: reference run failed with {pref.error}"
    models, st, cnt = await tb.run(cfg, stream)
    compare_models(name, cfg, models, pref, "reference")
    try:
        compare_models(name, cfg, models, ref, "C engine")
    except AssertionError as exc:      # RTL == reference here: the C engine is wrong
        C_MISMATCH.append(str(exc))
    assert st["error"] == 0 and st["sat"] == int(ref.sat), f"{name}: status {st}, C sat {ref.sat}"
    assert cnt["epoch_count"] == cfg.num_epochs, cnt
    assert cnt["sample_count"] == cfg.num_samples * cfg.num_epochs, cnt
    assert cnt["staleness"] == cfg.staleness == ref.staleness, cnt
    assert cnt["words"] == cfg.epoch_words * cfg.num_epochs, cnt
    tb.dut._log.info(f"{name}: OK ({cfg.num_epochs} epochs, n={cfg.num_samples}, "
                     f"d={cfg.num_features}, S_d={cfg.staleness}, cycles={cnt['cycles']}, "
                     f"words={cnt['words']}, sat={st['sat']})")
    return models


@cocotb.test(skip=STALL)
async def test_training(dut):
    tb = EngineTB(dut)
    await tb.reset()
    rng = random.Random(SEED * 10 + BITS)
    nrng = np.random.default_rng(SEED * 10 + BITS)
    last = None
    only = os.environ.get("ZIPML_CASES")            # debugging: comma-separated case names
    for i, (name, cfg, gin, gout) in enumerate(training_cases(BITS, rng)):
        if only and name not in only.split(","):
            continue
        tb.gaps(SEED + i, gin, gout)
        stream = random_problem(nrng, cfg)
        if cfg.num_epochs > 1 and i % 2 == 1:       # a different buffer per epoch
            stream = np.stack([stream] + [random_problem(nrng, cfg)
                                          for _ in range(cfg.num_epochs - 1)])
        init = None
        if "keep" in name:
            # KEEP_MODEL: start from the model the previous run left (same d needed)
            prev = EngineConfig(BITS, num_samples=6, num_features=cfg.num_features,
                                num_epochs=1, loss="linreg", step_size=0.25, signed=True)
            init = (await check_run(tb, name + " (first)", prev,
                                    random_problem(nrng, prev)))[-1]
            cfg = cfg.with_(keep_model=True)
        await check_run(tb, name, cfg, stream, init)
    tb.gaps(0, 0, 0)
    assert not C_MISMATCH, ("RTL equals zipml.reference but the C engine differs: "
                            + "; ".join(C_MISMATCH))


# --------------------------------------------------------------------------- faults
async def expect_config_error(tb: EngineTB, what: str, cfg: EngineConfig, raw: dict, code: int):
    """START with a bad configuration: DONE + ERROR at once, no word taken, nothing emitted."""
    await tb.configure(cfg, raw)
    await tb.start()
    st = await tb.status()
    assert st == {"busy": 0, "done": 1, "sat": 0, "error": code}, (
        f"{what}: STATUS {st}, expected error {spec.ERROR_NAMES[code]}")
    # no word can be taken (tready low), nothing comes out
    for _ in range(40):
        await ClockCycles(tb.dut.aclk, 1)
        assert int(tb.dut.s_axis_tready.value) == 0, f"{what}: s_axis_tready high"
        assert int(tb.dut.m_axis_tvalid.value) == 0, f"{what}: m_axis_tvalid high"
    assert await tb.rd("WORDS_LO") == 0 and await tb.rd("EPOCH_COUNT") == 0


async def expect_data_error(tb: EngineTB, what: str, cfg: EngineConfig, stream, tlast=None,
                            frames=None):
    """Run until a data error; code, ERROR_INFO, EPOCH_COUNT, SAMPLE_COUNT and the models of the
    completed epochs must equal the reference's; exactly one extra (undefined) model frame."""
    ref = py_reference(cfg, stream, tlast=tlast)
    assert ref.error >= spec.FIRST_DATA_ERROR, f"{what}: reference found no data error"
    await tb.configure(cfg)
    await tb.start()
    W = cfg.words_per_sample
    if frames is None:
        frames = []
        for e in range(cfg.num_epochs):
            row = stream if stream.ndim == 1 else stream[e]
            frames += frames_of_epoch(cfg, row)
    # send frames up to the one that holds the bad word (the engine takes nothing after it)
    bad_word = ((ref.epochs_done * cfg.num_samples + ref.error_info) * W)
    sent = 0
    for fr in frames:
        await tb.src.send(AxiStreamFrame(np.asarray(fr).astype("<u8").tobytes()))
        sent += len(fr)
        if sent > bad_word:
            break
    models = [await tb.recv_model(cfg.num_features, 40 * sent + 4000)
              for _ in range(ref.epochs_done + 1)]
    st = await tb.wait_done(4000)
    cnt = await tb.counters()
    assert st["error"] == ref.error and cnt["error_info"] == ref.error_info, (
        f"{what}: rtl error {st['error']} info {cnt['error_info']}, reference {ref.error} info "
        f"{ref.error_info}")
    assert cnt["epoch_count"] == ref.epochs_done and cnt["sample_count"] == ref.samples, cnt
    compare_models(what, cfg, np.array(models[:-1]).reshape(-1, cfg.num_features), ref,
                   "reference")
    assert cnt["words"] == sent, f"{what}: {cnt['words']} words taken, {sent} sent up to tlast"
    await ClockCycles(tb.dut.aclk, 20)
    assert tb.src.idle() and tb.sink.empty(), f"{what}: stream not drained / extra frame"
    tb.dut._log.info(f"{what}: {spec.ERROR_NAMES[ref.error]} at sample {ref.error_info} "
                     f"of epoch {ref.epochs_done}: OK")


async def partial_then(tb: EngineTB, cfg: EngineConfig, stream, ctrl: str):
    """Send the first transfer of epoch 0 (chunked), wait until it is taken, then write
    ``ctrl`` (SOFT_RESET or ABORT) in the middle of the epoch."""
    await tb.configure(cfg)
    await tb.start()
    first = frames_of_epoch(cfg, stream)[0]
    await tb.src.send(AxiStreamFrame(first.astype("<u8").tobytes()))
    for _ in range(2000):
        await ClockCycles(tb.dut.aclk, 4)
        if tb.src.idle():
            break
    assert tb.src.idle()
    await ClockCycles(tb.dut.aclk, 30)
    st = await tb.status()
    assert st["busy"] == 1, st
    await tb.ctrl(ctrl)
    await ClockCycles(tb.dut.aclk, 2)
    assert int(tb.dut.s_axis_tready.value) == 0 and int(tb.dut.m_axis_tvalid.value) == 0
    st = await tb.status()
    cnt = await tb.counters()
    if ctrl == "SOFT_RESET":
        assert st == {"busy": 0, "done": 0, "sat": 0, "error": 0}, st
        assert cnt["sample_count"] == 0 and cnt["words"] == 0 and cnt["cycles"] == 0, cnt
    else:
        assert st["busy"] == 0 and st["done"] == 1 and st["error"] == E["ERR_ABORTED"], st
        assert cnt["sample_count"] == cfg.chunk_samples, cnt
        assert cnt["words"] == len(first), cnt
    for _ in range(20):
        await ClockCycles(tb.dut.aclk, 1)
        assert int(tb.dut.s_axis_tready.value) == 0 and int(tb.dut.m_axis_tvalid.value) == 0
    assert tb.sink.empty()


@cocotb.test(skip=STALL)
async def test_faults(dut):
    tb = EngineTB(dut)
    await tb.reset()
    b = BITS
    V = 2 if b == 0 else 64 // b
    nrng = np.random.default_rng(SEED + 7 * b)
    good = EngineConfig(b, num_samples=70, num_features=V + 1, num_epochs=2, loss="svm",
                        step_size=0.5, chunk_samples=20, signed=True)
    stream = random_problem(nrng, good)

    # SOFT_RESET and ABORT in the middle of an epoch, each followed by a clean correct run
    for ctrl in ("SOFT_RESET", "ABORT"):
        await partial_then(tb, good, stream, ctrl)
        await check_run(tb, f"clean run after {ctrl}", good, stream)
        tb.dut._log.info(f"{ctrl} mid-epoch: OK")

    # configuration errors (7.4), in precedence order, nothing consumed
    mode = good.registers()["MODE"]
    bad_loss = (mode & ~(3 << spec.FIELDS[("MODE", "LOSS")][0])) | spec.field("MODE", "LOSS", 3)
    inf, nan = 0x7F800000, 0x7FC00001
    fw = fifo_words()
    cases = [
        ("reserved loss", {"MODE": bad_loss}, "ERR_BAD_MODE"),
        ("zero samples", {"NUM_SAMPLES": 0}, "ERR_ZERO_SAMPLES"),
        ("zero samples beats reg shift", {"NUM_SAMPLES": 0, "REG_SHIFT": 32}, "ERR_ZERO_SAMPLES"),
        ("d = 0", {"NUM_FEATURES": 0}, "ERR_BAD_DIM"),
        ("d > MAX_DIM", {"NUM_FEATURES": MAX_DIM + 1}, "ERR_BAD_DIM"),
        ("zero epochs", {"NUM_EPOCHS": 0}, "ERR_ZERO_EPOCHS"),
        ("inf step", {"STEP_SIZE": inf}, "ERR_BAD_FLOAT_PARAM"),
        ("nan decay", {"STEP_DECAY": nan}, "ERR_BAD_FLOAT_PARAM"),
        ("-inf cost_neg", {"COST_NEG": inf | 0x80000000}, "ERR_BAD_FLOAT_PARAM"),
        ("nan binarize value", {"BINARIZE_VALUE": nan}, "ERR_BAD_FLOAT_PARAM"),
        ("delay 0", {"DELAY": 0}, "ERR_BAD_DELAY"),
        ("delay too large", {"DELAY": fw}, "ERR_BAD_DELAY"),
        ("delay 2^32-1", {"DELAY": 0xFFFFFFFF}, "ERR_BAD_DELAY"),
        ("reg shift 32", {"REG_SHIFT": 32}, "ERR_BAD_REG_SHIFT"),
    ]
    if b == 0:
        cases.append(("double sampling on Q0",
                      {"MODE": mode | spec.field("MODE", "DOUBLE_SAMPLING", 1)}, "ERR_BAD_MODE"))
    else:
        # the largest valid delay for this d passes, one more fails (same rule as the C engine)
        D = -(-good.num_features // V)
        dmax = (fw - spec.FIFO_SLACK) // D - 1
        assert good.with_(delay=dmax).config_error(MAX_DIM, fw) == 0
        cases.append(("delay one too large", {"DELAY": dmax + 1}, "ERR_BAD_DELAY"))
    for what, raw, name in cases:
        await expect_config_error(tb, what, good, raw, E[name])
    tb.dut._log.info("configuration errors: OK")
    await check_run(tb, "clean run after configuration errors", good, stream)

    # data errors (7.4, 7.5), each followed by a clean run
    n, W, C = good.num_samples, good.words_per_sample, good.chunk_samples
    last = np.zeros(n * W, dtype=bool)
    for i in range(n):
        if (i + 1) % C == 0 or i == n - 1:
            last[(i + 1) * W - 1] = True
    fr = frames_of_epoch(good, stream)
    # tlast early: the first transfer ends one word early (epoch 1)
    t2 = np.stack([last, last.copy()])
    cut = C * W - 1
    t2[1, cut - 1] = True
    frames = fr + [fr[0][:cut], fr[0][cut:]] + fr[1:]
    await expect_data_error(tb, "tlast early", good, np.stack([stream, stream]), tlast=t2,
                            frames=frames)
    await check_run(tb, "clean run", good, stream)
    # tlast missing: transfers 1 and 2 of epoch 0 merged into one
    t1 = last.copy()
    t1[2 * C * W - 1] = False
    frames = [fr[0], np.concatenate([fr[1], fr[2]])] + fr[3:]
    await expect_data_error(tb, "tlast missing", good.with_(num_epochs=1), stream, tlast=t1,
                            frames=frames)
    # bad label (svm: not +-1) in epoch 1, sample 33
    s2 = np.stack([stream, stream.copy()])
    s2[1, 34 * W - 1] = f32(0.5)
    await expect_data_error(tb, "bad label", good, s2)
    # bad sample: Qb code L+1 / Q0 NaN in lane d-1 of sample 5
    if b != 1:
        s1 = stream.copy()
        lane = 32 if b == 0 else b
        j = good.num_features - 1
        word = 5 * W + j // V
        bad = 0x7FC00000 if b == 0 else (1 << (b - 1)) + 1
        s1[word] = (int(s1[word]) & ~(((1 << lane) - 1) << (lane * (j % V)))) | (bad << (lane * (j % V)))
        await expect_data_error(tb, "bad sample", good.with_(num_epochs=1), s1)
    await check_run(tb, "clean run after data errors", good, stream)
    # don't-care lanes j >= d may hold anything (codes > L, NaN): no error, same result
    if V > 1 and good.num_features % V:
        s3 = stream.copy()
        lane = 32 if b == 0 else b
        junk = 0x7FC00000 if b == 0 else (1 << lane) - 1
        for i in range(n):
            for j in range(good.num_features, -(-good.num_features // V) * V):
                s3[i * W + j // V] |= np.uint64(junk << (lane * (j % V)))
        await check_run(tb, "junk in padding lanes", good, s3)
    assert not C_MISMATCH, ("RTL equals zipml.reference but the C engine differs: "
                            + "; ".join(C_MISMATCH))


@cocotb.test(skip=STALL)
async def test_registers(dut):
    tb = EngineTB(dut)
    await tb.reset()
    assert await tb.rd("ID") == spec.ID_VALUE
    assert await tb.rd("MAX_DIM") == MAX_DIM
    assert await tb.rd("FIFO_WORDS") == spec.default_fifo_words(BITS, MAX_DIM)
    assert spec.get_field("CONFIG", "BITS", await tb.rd("CONFIG")) == BITS
    st = await tb.status()
    assert st == {"busy": 0, "done": 0, "sat": 0, "error": 0}, st


@cocotb.test(skip=not STALL)
async def test_stall(dut):
    """With the scalar stage slowed down by G_TEST_SCALAR_DELAY cycles, S of sample k is not
    ready when sample k + S_d starts: the engine must hold s_axis_tready low (section 6) and
    the models must still equal the reference's."""
    from cocotb.triggers import RisingEdge
    tb = EngineTB(dut)
    await tb.reset()
    stalls = [0]

    async def mon():
        while True:
            await RisingEdge(dut.aclk)
            if int(dut.u_core.state.value) == 3 and int(dut.s_axis_tvalid.value) \
                    and not int(dut.s_axis_tready.value):
                stalls[0] += 1
    cocotb.start_soon(mon())
    rng = random.Random(SEED + 99)
    nrng = np.random.default_rng(SEED + 99)
    for i, (name, cfg, gin, gout) in enumerate(training_cases(BITS, rng)[:3]):
        tb.gaps(SEED + i, gin, gout)
        before = stalls[0]
        await check_run(tb, name + " (stalling)", cfg, random_problem(nrng, cfg))
        assert stalls[0] > before, f"{name}: the input never stalled"
        tb.dut._log.info(f"{name}: {stalls[0] - before} stall cycles")
    tb.gaps(0, 0, 0)


# --------------------------------------------------------------------------- pytest entry
@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_engine_rtl(bits):
    from zipml import rtl
    import ghdl
    ghdl.run("zipml_sgd_engine", rtl.manifest(bits), "test_engine",
             generics={"G_BITS": bits, "G_MAX_DIM": MAX_DIM},
             env={"ZIPML_BITS": bits, "ZIPML_SEED": SEED,
                  "ZIPML_ENGINE_LONG": int(LONG)})


def test_engine_stall_rtl():
    """One precision, scalar stage delayed by 300 cycles: the input stall of section 6."""
    from zipml import rtl
    import ghdl
    bits, delay = 2, 300
    ghdl.run("zipml_sgd_engine", rtl.manifest(bits), "test_engine",
             generics={"G_BITS": bits, "G_MAX_DIM": MAX_DIM, "G_TEST_SCALAR_DELAY": delay},
             env={"ZIPML_BITS": bits, "ZIPML_SEED": SEED, "ZIPML_STALL_DELAY": delay})
