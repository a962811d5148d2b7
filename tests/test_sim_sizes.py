"""Small G_MAX_DIM engines through ghdl synth -> Verilator, bit-exact against the C engine.

ghdl synth 2.0 mistranslated two constructs at small sizes (issue 11): a comparison of the
narrow flush counter with a wider constant (Q1, G_MAX_DIM = 128: every model one epoch late)
and a RAM of depth 1 ("GHDL Bug occurred", Q1, G_MAX_DIM = 64). The sizes below cover one model
word per bank (Q1 at 64), two (Q1 at 128, Q2 at 64), a depth that is not a power of two (Q1 at
192: three words) and the smallest engines of every precision; d = G_MAX_DIM fills the model.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from zipml import pack, spec
from zipml.backends import CpuBackend
from zipml.config import EngineConfig
from zipml.hw import EngineDriver
from zipml.hw import sim

needs_tools = pytest.mark.skipif(not (shutil.which("verilator") and shutil.which("ghdl")),
                                 reason="needs ghdl and verilator")


def _stream(bits, n, d, seed):
    rng = np.random.default_rng(seed)
    if bits == 0:
        a = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
        a[:, 0] = 1.0
    else:
        L = 2 ** (bits - 1)
        a = rng.integers(0, L + 1, size=(n, d)).astype(np.uint8)
        a[:, 0] = L
    y = rng.choice([-1.0, 1.0], size=n)
    return pack.pack(a, y, bits)


# Every engine is a ghdl synth + Verilator build of its own (a minute or more each): the suite
# runs the sizes of the two bugs and the smallest engine of every other precision; all 15
# (each precision at 64, 128 and 192) with ZIPML_TEST_ALL_SIZES=1.
_ALL = [(b, m) for b in spec.PRECISIONS for m in (64, 128, 192)]
_DEFAULT = [(1, 64), (1, 128), (1, 192), (2, 64), (0, 64), (4, 64), (8, 64)]
SIZES = _ALL if os.environ.get("ZIPML_TEST_ALL_SIZES") == "1" else _DEFAULT


@needs_tools
@pytest.mark.parametrize("bits,max_dim", SIZES)
def test_small_engine_equals_c_engine(bits, max_dim):
    d, n = max_dim, 24
    dev = sim.SimDevice(max_dim)
    drv = EngineDriver(dev, bits)
    assert dev.read_reg("MAX_DIM") == max_dim
    cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=3, loss="svm",
                       step_size=2.0 ** -6, signed=True, reg_shift=6)
    stream = _stream(bits, n, d, seed=bits * 1000 + max_dim)
    r = drv.run(cfg, stream)
    ref = CpuBackend(bits, max_dim=max_dim, fifo_words=dev.read_reg("FIFO_WORDS")).run(cfg, stream)
    assert r.error == 0 and r.staleness == ref.staleness
    assert np.any(ref.models[0] != 0)
    for e in range(3):
        np.testing.assert_array_equal(r.models[e], ref.models[e], err_msg=f"epoch {e}")


@pytest.mark.parametrize("raw", ["abc", "100", "0", "16384", ""])
def test_bad_sim_max_dim_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("ZIPML_SIM_MAX_DIM", raw)
    with pytest.raises(ValueError, match=f"ZIPML_SIM_MAX_DIM={raw!r}"):
        sim._env_max_dim()
    monkeypatch.setenv("ZIPML_SIM_MAX_DIM", "128")
    assert sim._env_max_dim() == 128
