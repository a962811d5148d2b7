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
    cases = [
        ("linreg small d", EngineConfig(bits, num_samples=30, num_features=rng.randint(1, 3),
                                        num_epochs=3, loss="linreg", step_size=0.05,
                                        step_decay=0.75, signed=True), 0.3, 0.3),
        ("svm binarize ds rs", EngineConfig(bits, num_samples=24, num_features=V + 3,
                                            num_epochs=2, loss="svm", step_size=0.125,
                                            cost_pos=1.5, cost_neg=0.75, reg_shift=6,
                                            binarize=True, binarize_value=2.0,
                                            double_sampling=qb, delay=3), 0.2, 0.5),
        ("logreg large d", EngineConfig(bits, num_samples=5 if bits == 0 else 8,
                                        num_features=big_d, num_epochs=2, loss="logreg",
                                        step_size=0.5, step_decay=0.5, signed=bool(bits % 2)),
         0.1, 0.2),
        ("linreg delay chunks", EngineConfig(bits, num_samples=21, num_features=2 * V + 1,
                                             num_epochs=2, loss="linreg", step_size=0.01,
                                             delay=40, chunk_samples=4, reg_shift=2), 0.0, 0.0),
        ("svm unsigned", EngineConfig(bits, num_samples=16, num_features=rng.randint(5, 200),
                                      num_epochs=2, loss="svm", step_size=2.0,
                                      cost_pos=1.0, cost_neg=2.0), 0.5, 0.1),
        ("logreg binarize keep", EngineConfig(bits, num_samples=12, num_features=33,
                                              num_epochs=2, loss="logreg", step_size=4.0,
                                              binarize=True, binarize_value=1.0, signed=True,
                                              double_sampling=qb, reg_shift=31), 0.2, 0.2),
    ]
    cases += [
        ("linreg stream", EngineConfig(bits, num_samples=8, num_features=big_d, num_epochs=1,
                                       loss="linreg", step_size=0.01), 0.0, 0.0),
        ("logreg small", EngineConfig(bits, num_samples=8, num_features=5, num_epochs=1,
                                      loss="logreg", step_size=0.5), 0.0, 0.0),
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


@cocotb.test()
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


@cocotb.test()
async def test_registers(dut):
    tb = EngineTB(dut)
    await tb.reset()
    assert await tb.rd("ID") == spec.ID_VALUE
    assert await tb.rd("MAX_DIM") == MAX_DIM
    assert await tb.rd("FIFO_WORDS") == spec.default_fifo_words(BITS, MAX_DIM)
    assert spec.get_field("CONFIG", "BITS", await tb.rd("CONFIG")) == BITS
    st = await tb.status()
    assert st == {"busy": 0, "done": 0, "sat": 0, "error": 0}, st


# --------------------------------------------------------------------------- pytest entry
@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_engine_rtl(bits):
    from zipml import rtl
    import ghdl
    ghdl.run("zipml_sgd_engine", rtl.manifest(bits), "test_engine",
             generics={"G_BITS": bits, "G_MAX_DIM": MAX_DIM},
             env={"ZIPML_BITS": bits, "ZIPML_SEED": SEED,
                  "ZIPML_ENGINE_LONG": int(LONG)})


@cocotb.test(skip=os.environ.get("ZIPML_DEBUG") != "1")
async def test_debug(dut):
    from cocotb.triggers import RisingEdge
    tb = EngineTB(dut)
    await tb.reset()
    nrng = np.random.default_rng(1)
    cfg = EngineConfig(BITS, num_samples=4, num_features=1008, num_epochs=1, loss="linreg",
                       step_size=0.01)
    stream = random_problem(nrng, cfg)
    core = dut.u_core
    log = []

    async def mon():
        while True:
            await RisingEdge(dut.aclk)
            if int(core.sc_v.value):
                log.append(("S", int(core.sc_s.value)))
            if int(core.acc_v.value):
                log.append(("acc", core.acc.value.to_signed()))
            if int(core.sq_pop.value):
                log.append(("pop", int(core.sq_count.value)))
    cocotb.start_soon(mon())
    ref = c_engine(cfg, stream)
    models, st, cnt = await tb.run(cfg, stream)
    from zipml import reference as R
    p = R._Params(cfg, MAX_DIM, None)
    X = [0] * cfg.num_features
    W = cfg.words_per_sample
    for m in range(cfg.num_samples):
        words = [int(w) for w in stream[m * W:(m + 1) * W]]
        smp = R._parse_sample(p, words, [False] * W, False)
        acc = sum(R._product(p, X[j], smp.qa[j]) for j in range(p.d))
        S, _ = R._scalar(p, acc, smp.y, p.step_size, 0, 0)
        dut._log.info(f"ref sample {m}: acc {acc} S {S}")
    dut._log.info(f"log {log}")
    dut._log.info(f"rtl {models[0][:8]} ref {ref.models[0][:8]}")
