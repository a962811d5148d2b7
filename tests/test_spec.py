"""Consistency of ``zipml/spec.py`` (the single source of every shared constant), of the files
generated from it, and of ``zipml.config.EngineConfig`` against it.

The expected sizes below are derived by hand in the comments from the formulas of
``docs/ENGINE.md`` sections 3.1 and 6, not copied from the code under test.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

from zipml import spec
from zipml.config import EngineConfig, bits_f32, f32_bits

ROOT = spec.ROOT


# ------------------------------------------------------------------------------ generated files
def test_generated_files_up_to_date():
    r = subprocess.run([sys.executable, "-m", "zipml.spec", "--check"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_check_detects_a_stale_file(monkeypatch, capsys):
    """--check must fail (and name the file) when a generated file differs from the spec."""
    real = spec.gen_c
    monkeypatch.setattr(spec, "gen_c", lambda: real() + "/* one more line */\n")
    assert spec.main(["--check"]) == 1
    assert "cmodel/zipml_spec.h" in capsys.readouterr().err


def test_vhdl_package_analyses(tmp_path):
    if shutil.which("ghdl") is None:
        pytest.skip("ghdl not installed")
    r = subprocess.run(["ghdl", "-a", "--std=08", f"--workdir={tmp_path}",
                        str(ROOT / "RTL" / "zipml_spec_pkg.vhd")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_vhdl_constants_match_spec():
    """Every scalar constant appears in the VHDL package with its value (also the ones above
    2^31-1, which are emitted as std_logic_vector)."""
    text = (ROOT / "RTL" / "zipml_spec_pkg.vhd").read_text()
    for name, value in spec._scalar_constants():
        if value > 0x7FFFFFFF:
            line = f'constant C_{name} : std_logic_vector(31 downto 0) := x"{value:08X}";'
        else:
            line = f"constant C_{name} : natural := {value};"
        assert line in text, line


# ------------------------------------------------------------------------------ register map
def test_register_offsets():
    offsets = [r.offset for r in spec.REGISTERS]
    names = [r.name for r in spec.REGISTERS]
    step = spec.AXIL_DATA_WIDTH // 8
    assert len(set(offsets)) == len(offsets), "duplicate register offset"
    assert len(set(names)) == len(names), "duplicate register name"
    for r in spec.REGISTERS:
        assert r.offset % step == 0, f"{r.name} at 0x{r.offset:X} is not word aligned"
        assert 0 <= r.offset and r.offset + step <= 1 << spec.AXIL_ADDR_WIDTH, r.name
        assert r.access in ("RO", "RW", "WO"), r.name
        assert r.doc, r.name
    assert spec.REG == {r.name: r.offset for r in spec.REGISTERS}


def test_lo_hi_pairs_adjacent():
    """64-bit counters: HI directly follows LO (the driver reads LO then HI)."""
    for base in ("CYCLES", "WORDS"):
        assert spec.REG[base + "_HI"] == spec.REG[base + "_LO"] + 4


def test_fields():
    regs = {r.name: r for r in spec.REGISTERS}
    used: dict[str, int] = {}
    for (reg, name), (lsb, width) in spec.FIELDS.items():
        assert reg in regs, f"field {reg}.{name} of an unknown register"
        assert width >= 1 and lsb >= 0 and lsb + width <= spec.AXIL_DATA_WIDTH, (reg, name)
        mask = ((1 << width) - 1) << lsb
        assert used.get(reg, 0) & mask == 0, f"field {reg}.{name} overlaps another field"
        used[reg] = used.get(reg, 0) | mask


def test_field_helpers():
    for (reg, name), (lsb, width) in spec.FIELDS.items():
        top = (1 << width) - 1
        for v in {0, 1, top, top >> 1}:
            word = spec.field(reg, name, v)
            assert word >> lsb == v
            assert spec.get_field(reg, name, word) == v
            # other bits of the word do not leak into the field
            assert spec.get_field(reg, name, word | ~(top << lsb) & 0xFFFFFFFF) == v
        with pytest.raises(ValueError, match=f"{reg}.{name}"):
            spec.field(reg, name, top + 1)
        with pytest.raises(ValueError):
            spec.field(reg, name, -1)


def test_reset_values():
    rw = {r.name for r in spec.REGISTERS if r.access == "RW"}
    assert set(spec.RESET) <= rw, "RESET names a register that is not RW"
    for name, value in spec.RESET.items():
        assert 0 <= value <= 0xFFFFFFFF, name
    # the binary32 reset values are the numbers ENGINE.md names
    assert bits_f32(spec.RESET["STEP_SIZE"]) == np.float32(0.01)
    for name in ("STEP_DECAY", "COST_POS", "COST_NEG"):
        assert bits_f32(spec.RESET[name]) == 1.0


def test_reset_values_are_engine_config_defaults():
    """A default EngineConfig (n and d set to their reset value 0) writes the reset values."""
    cfg = EngineConfig(bits=8, num_samples=0, num_features=0)
    assert cfg.registers() == {name: spec.RESET.get(name, 0) for name in cfg.registers()}


# ------------------------------------------------------------------------------ error codes
def test_error_codes():
    codes = [e.code for e in spec.ERRORS]
    names = [e.name for e in spec.ERRORS]
    assert codes == list(range(len(codes))), "error codes must be 0, 1, 2, ... in order"
    assert len(set(names)) == len(names)
    assert all(n.startswith("ERR_") for n in names)
    assert spec.ERR["ERR_NONE"] == 0
    assert spec.ERROR_NAMES == {e.code: e.name for e in spec.ERRORS}
    # STATUS.ERROR can hold every code
    assert max(codes) < 1 << spec.FIELDS[("STATUS", "ERROR")][1]
    # configuration errors (1..7) come before the data errors (ENGINE.md 7.4)
    assert spec.FIRST_DATA_ERROR == spec.ERR["ERR_BAD_LABEL"] == 8
    assert spec.ERR["ERR_BAD_REG_SHIFT"] == spec.FIRST_DATA_ERROR - 1


# ------------------------------------------------------------------------------ derived sizes
@pytest.mark.parametrize("bits,d,ds,D,W", [
    # Q0: V = 2 floats per 64-bit word. d = 784: D = 392, W = 393.
    (0, 784, False, 392, 393),
    # Q0, d = 785: D = ceil(785/2) = 393, W = 394.
    (0, 785, False, 393, 394),
    # Q8: V = 8. d = 785 (784 pixels + bias): D = ceil(785/8) = 99, W = 100; with double
    # sampling W = 2*99 + 1 = 199.
    (8, 785, False, 99, 100),
    (8, 785, True, 99, 199),
    # Q4: V = 16. d = 16: D = 1, W = 2; d = 17: D = 2, W = 3.
    (4, 16, False, 1, 2),
    (4, 17, False, 2, 3),
    # Q2: V = 32. d = 33: D = 2, W = 3; double sampling W = 5.
    (2, 33, True, 2, 5),
    # Q1: V = 64. d = 1: D = 1, W = 2; d = 8192: D = 128, W = 129.
    (1, 1, False, 1, 2),
    (1, 8192, False, 128, 129),
])
def test_words_per_sample(bits, d, ds, D, W):
    assert spec.data_words(bits, d) == D
    assert spec.words_per_sample(bits, d, ds) == W
    assert EngineConfig(bits=bits, num_samples=10, num_features=d,
                        double_sampling=ds).words_per_sample == W


def test_values_per_word_and_frac_bits():
    # Q0 packs two binary32 per word; Qb packs 64/b codes; QF = 23 for Q0, b - 1 for Qb.
    assert [spec.values_per_word(b) for b in (0, 1, 2, 4, 8)] == [2, 64, 32, 16, 8]
    assert [spec.quant_frac_bits(b) for b in (0, 1, 2, 4, 8)] == [23, 0, 1, 3, 7]
    for bad in (3, 16, -1):
        with pytest.raises(ValueError, match="bits"):
            spec.values_per_word(bad)


@pytest.mark.parametrize("bits,d,delay,ds,S", [
    # S_d = max(DELAY, 1 + ceil(128 / W))
    # Q0, d = 784: W = 393 > 128 -> 1 + 1 = 2
    (0, 784, 1, False, 2),
    # Q8, d = 785: W = 100 -> 1 + ceil(1.28) = 3; double sampling W = 199 -> 2
    (8, 785, 1, False, 3),
    (8, 785, 1, True, 2),
    # Q1, d = 64: W = 2 -> 1 + 64 = 65; double sampling W = 3 -> 1 + ceil(42.67) = 44
    (1, 64, 1, False, 65),
    (1, 64, 1, True, 44),
    # Q4, d = 1: W = 2 -> 65, a DELAY of 100 dominates, a DELAY of 65 ties
    (4, 1, 100, False, 100),
    (4, 1, 65, False, 65),
    # Q8, d = 1016: D = 127, W = 128 -> 1 + 1 = 2; d = 1008: W = 127 -> 1 + 2 = 3
    (8, 1016, 1, False, 2),
    (8, 1008, 1, False, 3),
])
def test_staleness(bits, d, delay, ds, S):
    assert spec.staleness(bits, d, delay, ds) == S
    assert EngineConfig(bits=bits, num_samples=1, num_features=d, delay=delay,
                        double_sampling=ds).staleness == S


def test_fifo_words_needed():
    # (S_d + 1) * D + FIFO_SLACK: Q1, d = 64: S = 65, D = 1 -> 66 + 16 = 82
    assert spec.fifo_words_needed(1, 64) == 82
    # Q0, d = 784: S = 2, D = 392 -> 3 * 392 + 16 = 1192
    assert spec.fifo_words_needed(0, 784) == 1192
    # Q8, d = 785, DELAY = 10: S = 10, D = 99 -> 11 * 99 + 16 = 1105
    assert spec.fifo_words_needed(8, 785, 10) == 1105


@pytest.mark.parametrize("bits,max_dim,expected", [
    # Q8, max_dim = 64, need = (S + 1) * D + 16 over d = 1..64 (V = 8), DS included:
    #   D=1 (W=2): S=65 -> 82; D=2 (W=3): S=44 -> 106; D=3 (W=4): S=33 -> 118;
    #   D=4 (W=5): S=27 -> 128; D=5 (W=6): S=23 -> 136; D=6 (W=7): S=20 -> 142;
    #   D=7 (W=8): S=17 -> 142; D=8 (W=9): S=16 -> 152; double sampling is smaller for every D
    #   (W = 2D + 1 is larger). Max 152 -> next power of two 256.
    (8, 64, 256),
    # Q0, max_dim = 8192: for W >= 128, S = 2 and need = 3D + 16, largest at d = 8192
    #   (D = 4096): 12304; for W < 128 need < (2 + 128/W) * D + 16 < 2D + 144, smaller.
    #   -> 16384.
    (0, 8192, 16384),
    # Q1, max_dim = 8192: D = k (d = 64k), W = k + 1. W in 64..127 (k = 63..126): S = 3,
    #   need = 4k + 16, max 520 at k = 126; W >= 128: S = 2, need = 3k + 16 <= 400;
    #   W in 43..63: S = 4, need = 5k + 16 <= 326; smaller W smaller still; double sampling
    #   (W = 2k + 1) gives at most 4 * 63 + 16 = 268 for W < 128 and 400 above. -> 1024.
    (1, 8192, 1024),
])
def test_default_fifo_words(bits, max_dim, expected):
    assert spec.default_fifo_words(bits, max_dim) == expected


@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_default_fifo_makes_delay_1_valid(bits):
    """ENGINE.md 6: the FIFO is sized so that DELAY = 1 is valid for every d <= MAX_DIM, and it
    is the smallest power of two that does so."""
    max_dim = 1024
    fifo = spec.default_fifo_words(bits, max_dim)
    assert fifo & (fifo - 1) == 0
    need = [spec.fifo_words_needed(bits, d, 1, ds) for d in range(1, max_dim + 1)
            for ds in ((False, True) if bits else (False,))]
    assert max(need) <= fifo < 2 * max(need)
    for d in (1, max_dim // 2, max_dim):
        assert EngineConfig(bits=bits, num_samples=1, num_features=d).config_error(
            max_dim, fifo) == 0


# ------------------------------------------------------------------------------ EngineConfig
def _decode_mode(word: int) -> dict:
    return {name: spec.get_field("MODE", name, word)
            for (reg, name) in spec.FIELDS if reg == "MODE"}


def test_registers_cover_the_rw_registers_in_map_order():
    cfg = EngineConfig(bits=2, num_samples=5, num_features=7)
    rw = [r.name for r in spec.REGISTERS if r.access == "RW"]
    assert list(cfg.registers()) == rw


@pytest.mark.parametrize("loss", sorted(spec.LOSSES))
def test_mode_word_round_trip(loss):
    for flags in range(16):
        signed, binarize, keep, ds = (bool(flags >> i & 1) for i in range(4))
        cfg = EngineConfig(bits=4, num_samples=3, num_features=9, loss=loss, signed=signed,
                           binarize=binarize, keep_model=keep, double_sampling=ds)
        word = cfg.registers()["MODE"]
        assert _decode_mode(word) == {"LOSS": spec.LOSSES[loss], "SIGNED": signed,
                                      "BINARIZE": binarize, "KEEP_MODEL": keep,
                                      "DOUBLE_SAMPLING": ds}
        # nothing outside the MODE fields is set
        fields = sum(spec.field("MODE", n, (1 << w) - 1)
                     for (r, n), (_, w) in spec.FIELDS.items() if r == "MODE")
        assert word & ~fields == 0


def test_registers_round_trip_values():
    rng = np.random.default_rng(7)
    for _ in range(50):
        kw = dict(num_samples=int(rng.integers(1, 2**32)),
                  num_features=int(rng.integers(1, 8193)),
                  num_epochs=int(rng.integers(1, 2**32)),
                  reg_shift=int(rng.integers(0, 32)), delay=int(rng.integers(1, 2**32)),
                  chunk_samples=int(rng.integers(0, 2**32)))
        floats = dict(step_size=float(rng.normal()), step_decay=float(rng.normal()),
                      cost_pos=float(rng.exponential()), cost_neg=float(rng.exponential()),
                      binarize_value=float(rng.integers(-5, 5)))
        cfg = EngineConfig(bits=8, **kw, **floats)
        regs = cfg.registers()
        for name, v in kw.items():
            assert regs[name.upper()] == v, name
        for name, v in floats.items():
            assert bits_f32(regs[name.upper()]) == np.float32(v), name
        assert all(0 <= w <= 0xFFFFFFFF for w in regs.values())


def test_f32_bits_special_values():
    assert f32_bits(1.0) == 0x3F800000
    assert f32_bits(-2.0) == 0xC0000000
    assert f32_bits(-0.0) == 0x80000000
    assert f32_bits(math.inf) == 0x7F800000
    assert f32_bits(1e39) == 0x7F800000      # overflows binary32
    assert math.isnan(bits_f32(f32_bits(math.nan)))


def test_unknown_loss_rejected():
    with pytest.raises(ValueError, match="loss"):
        EngineConfig(bits=0, num_samples=1, num_features=1, loss="hinge").registers()


# The violations in the order of ENGINE.md 7.4 (lowest code first); each entry breaks exactly
# the check of its code.
VIOLATIONS = [
    ("ERR_BAD_MODE", dict(loss="hinge")),
    ("ERR_ZERO_SAMPLES", dict(num_samples=0)),
    ("ERR_BAD_DIM", dict(num_features=0)),
    ("ERR_ZERO_EPOCHS", dict(num_epochs=0)),
    ("ERR_BAD_FLOAT_PARAM", dict(step_size=math.nan)),
    ("ERR_BAD_DELAY", dict(delay=0)),
    ("ERR_BAD_REG_SHIFT", dict(reg_shift=32)),
]
MAX_DIM, FIFO = 1024, spec.default_fifo_words(2, 1024)
GOOD = EngineConfig(bits=2, num_samples=100, num_features=100)


def test_config_error_valid():
    assert GOOD.config_error(MAX_DIM, FIFO) == 0
    assert GOOD.validate(MAX_DIM, FIFO) is GOOD


@pytest.mark.parametrize("name,kw", VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_config_error_single(name, kw):
    cfg = GOOD.with_(**kw)
    assert cfg.config_error(MAX_DIM, FIFO) == spec.ERR[name]
    with pytest.raises(ValueError, match=name):
        cfg.validate(MAX_DIM, FIFO)


def test_config_error_precedence():
    """With every check broken the lowest code wins; repairing them one by one (in code order)
    reveals the next code each time."""
    assert [spec.ERR[n] for n, _ in VIOLATIONS] == list(range(1, len(VIOLATIONS) + 1))
    for start in range(len(VIOLATIONS)):
        kw = {}
        for _, k in VIOLATIONS[start:]:
            kw.update(k)
        assert GOOD.with_(**kw).config_error(MAX_DIM, FIFO) == spec.ERR[VIOLATIONS[start][0]]
    # and pairwise: the lower code of any two wins
    for i, (ni, ki) in enumerate(VIOLATIONS):
        for nj, kj in VIOLATIONS[i + 1:]:
            assert GOOD.with_(**ki, **kj).config_error(MAX_DIM, FIFO) == spec.ERR[ni], (ni, nj)


def test_config_error_cases():
    E = spec.ERR
    # DOUBLE_SAMPLING is a mode error only for Q0
    assert GOOD.with_(bits=0, double_sampling=True).config_error(MAX_DIM, 1 << 20) \
        == E["ERR_BAD_MODE"]
    assert GOOD.with_(double_sampling=True).config_error(MAX_DIM, FIFO) == 0
    # d above MAX_DIM; d == MAX_DIM is fine
    assert GOOD.with_(num_features=MAX_DIM + 1).config_error(MAX_DIM, FIFO) == E["ERR_BAD_DIM"]
    assert GOOD.with_(num_features=MAX_DIM).config_error(MAX_DIM, FIFO) == 0
    # every float parameter, NaN, infinities and a value that overflows binary32
    for p in ("step_size", "step_decay", "cost_pos", "cost_neg", "binarize_value"):
        for bad in (math.nan, math.inf, -math.inf, 1e39):
            assert GOOD.with_(**{p: bad}).config_error(MAX_DIM, FIFO) \
                == E["ERR_BAD_FLOAT_PARAM"], (p, bad)
    # a DELAY the FIFO cannot hold: Q2, d = 100 -> V = 32, D = 4, W = 5, 1 + ceil(128/5) = 27;
    # with DELAY = x >= 27, S = x and the need is (x + 1) * 4 + 16 words. A FIFO of 256 words
    # holds x = 59 (exactly 256) but not x = 60 (260).
    assert GOOD.with_(delay=59).config_error(MAX_DIM, 256) == 0
    assert GOOD.with_(delay=60).config_error(MAX_DIM, 256) == E["ERR_BAD_DELAY"]
    # below 27 the latency budget sets S = 27: need 28 * 4 + 16 = 128 words for any DELAY 1..27
    assert GOOD.with_(delay=27).config_error(MAX_DIM, 128) == 0
    assert GOOD.with_(delay=1).config_error(MAX_DIM, 127) == E["ERR_BAD_DELAY"]
    # REG_SHIFT 31 is the largest valid shift
    assert GOOD.with_(reg_shift=31).config_error(MAX_DIM, FIFO) == 0
