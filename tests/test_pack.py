"""Stream layout of zipml.pack against docs/ENGINE.md section 3 (hand-computed words and an
independent element-by-element packer), round trips, and bad input."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from zipml import spec
from zipml.pack import pack, stream_words, unpack
from zipml.quantize import levels

BITS_Q = (1, 2, 4, 8)


def f32_word(v: float) -> int:
    return struct.unpack("<I", struct.pack("<f", v))[0]


def slow_pack(data, y, bits, data_b=None):
    """Word-by-word packer written straight from ENGINE.md 3.1 (Python ints, no numpy tricks):
    feature j of a copy at word j // V, bits b*(j mod V) .. (32*(j mod 2) for Q0)."""
    n, d = data.shape
    V = 2 if bits == 0 else 64 // bits
    D = -(-d // V)
    copies = [data] if data_b is None else [data, data_b]
    W = D * len(copies) + 1
    words = [0] * (n * W)
    for i in range(n):
        for c, arr in enumerate(copies):
            for j in range(d):
                if bits == 0:
                    field, width = f32_word(float(arr[i, j])), 32
                else:
                    field, width = int(arr[i, j]), bits
                assert 0 <= field < (1 << width)
                words[i * W + c * D + j // V] |= field << (width * (j % V))
        words[i * W + W - 1] = f32_word(float(np.float32(y[i])))
    return np.array(words, dtype=np.uint64)


def random_codes(rng, n, d, bits):
    return rng.integers(0, levels(bits) + 1, (n, d)).astype(np.uint8)


# ----------------------------------------------------------------------------- hand-computed
def test_hand_computed_words():
    one, m_two = 0x3F800000, 0xC0000000  # binary32 of 1.0 and -2.0
    # Q0: two floats per word, feature 0 in bits 31..0
    s = pack(np.array([[1.0, -2.0, 1.0]], dtype=np.float32), [-1.0], 0)
    assert s.tolist() == [(m_two << 32) | one, one, 0xBF800000]
    # Q8: byte j of the word
    s = pack(np.array([[128, 5, 0, 17]], dtype=np.uint8), [1.0], 8)
    assert s.tolist() == [0x11000580, one]
    # Q4: nibbles, lowest first
    s = pack(np.array([[1, 2, 3, 8]], dtype=np.uint8), [1.0], 4)
    assert s.tolist() == [0x8321, one]
    # Q2: codes 2, 1, 0, 2 -> 10 00 01 10 (MSB..LSB)
    s = pack(np.array([[2, 1, 0, 2]], dtype=np.uint8), [2.5], 2)
    assert s.tolist() == [0x86, f32_word(2.5)]
    # Q1: 1, 0, 1, 1 -> 0b1101; feature 64 goes to bit 0 of the second word
    c = np.zeros((1, 65), dtype=np.uint8)
    c[0, [0, 2, 3, 64]] = 1
    s = pack(c, [1.0], 1)
    assert s.tolist() == [0xD, 0x1, one]
    # double sampling: copy A words, copy B words, label
    a = np.array([[1, 2]], dtype=np.uint8)
    b = np.array([[2, 0]], dtype=np.uint8)
    s = pack(a, [-1.0], 2, data_b=b)
    assert s.tolist() == [0x9, 0x2, 0xBF800000]


@pytest.mark.parametrize("bits", (0,) + BITS_Q)
@pytest.mark.parametrize("d", (1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 130))
def test_layout_matches_slow_packer(bits, d):
    rng = np.random.default_rng(1000 * bits + d)
    n = 5
    if bits == 0:
        data = (rng.standard_normal((n, d)) * 50).astype(np.float32)
        data[0, 0] = -0.0
    else:
        data = random_codes(rng, n, d, bits)
    y = rng.standard_normal(n)
    got = pack(data, y, bits)
    assert got.dtype == np.uint64 and got.shape == (stream_words(bits, n, d),)
    np.testing.assert_array_equal(got, slow_pack(data, y, bits))


@pytest.mark.parametrize("bits", BITS_Q)
@pytest.mark.parametrize("d", (1, 9, 64, 100))
def test_double_sampling_layout(bits, d):
    rng = np.random.default_rng(7 + bits + d)
    a, b = random_codes(rng, 4, d, bits), random_codes(rng, 4, d, bits)
    y = rng.choice([-1.0, 1.0], 4)
    got = pack(a, y, bits, data_b=b)
    assert got.shape == (stream_words(bits, 4, d, True),)
    np.testing.assert_array_equal(got, slow_pack(a, y, bits, b))
    ra, rb, ry = unpack(got, bits, 4, d, double_sampling=True)
    np.testing.assert_array_equal(ra, a)
    np.testing.assert_array_equal(rb, b)
    np.testing.assert_array_equal(ry, y.astype(np.float32))


def test_stream_words_uses_spec():
    for bits in (0,) + BITS_Q:
        for d in (1, 5, 64, 785, 8192):
            assert stream_words(bits, 3, d) == 3 * spec.words_per_sample(bits, d)
            if bits:
                assert stream_words(bits, 3, d, True) == 3 * spec.words_per_sample(bits, d, True)
    assert stream_words(4, 60000, 785) == 60000 * (50 + 1)  # ceil(785 / 16) = 50 data words
    with pytest.raises(ValueError, match="double sampling"):
        stream_words(0, 1, 1, True)
    with pytest.raises(ValueError, match="bits"):
        stream_words(3, 1, 1)
    with pytest.raises(ValueError, match="d must be"):
        stream_words(1, 1, 0)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("bits", (0,) + BITS_Q)
def test_round_trip(bits):
    rng = np.random.default_rng(bits)
    n, d = 37, 785
    if bits == 0:
        data = rng.uniform(-255, 255, (n, d)).astype(np.float32)
    else:
        data = random_codes(rng, n, d, bits)
    y = rng.integers(0, 10, n).astype(np.float64)
    s = pack(data, y, bits)
    r, rb, ry = unpack(s, bits, n, d)
    assert rb is None
    np.testing.assert_array_equal(r, data)
    assert r.dtype == data.dtype
    np.testing.assert_array_equal(ry, y.astype(np.float32))


@pytest.mark.parametrize("bits", (0, 1, 4))
def test_padding_and_reserved_bits_zero_in_reused_buffer(bits):
    rng = np.random.default_rng(3)
    n, d = 6, 11
    data = (rng.random((n, d)).astype(np.float32) if bits == 0
            else random_codes(rng, n, d, bits))
    y = np.ones(n)
    ref = pack(data, y, bits)
    out = np.full(ref.shape, np.uint64(0xFFFFFFFFFFFFFFFF))  # dirty buffer
    res = pack(data, y, bits, out=out)
    assert res is out
    np.testing.assert_array_equal(out, ref)
    W = spec.words_per_sample(bits, d)
    assert (out[W - 1::W] >> np.uint64(32) == 0).all()  # reserved label bits
    V = spec.values_per_word(bits)
    last = out[spec.data_words(bits, d) - 1::W]
    used = (d - (spec.data_words(bits, d) - 1) * V) * (32 if bits == 0 else bits)
    if used < 64:
        assert (last >> np.uint64(used) == 0).all()  # padding lanes


def test_out_accepts_ndarray_subclass():
    class Buffer(np.ndarray):  # like pynq's PynqBuffer
        pass

    codes = np.array([[1, 2, 3]], dtype=np.uint8)
    out = np.zeros(2, dtype=np.uint64).view(Buffer)
    res = pack(codes, [1.0], 4, out=out)
    assert res is out and isinstance(res, Buffer)
    assert int(out[0]) == 0x321


def test_out_checked():
    codes = np.zeros((2, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="exactly 4"):
        pack(codes, [1, 1], 4, out=np.zeros(5, np.uint64))
    with pytest.raises(ValueError, match="uint64"):
        pack(codes, [1, 1], 4, out=np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="1-D"):
        pack(codes, [1, 1], 4, out=np.zeros((2, 2), np.uint64))
    with pytest.raises(ValueError, match="contiguous"):
        pack(codes, [1, 1], 4, out=np.zeros(8, np.uint64)[::2])
    ro = np.zeros(4, np.uint64)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        pack(codes, [1, 1], 4, out=ro)
    with pytest.raises(ValueError, match="numpy"):
        pack(codes, [1, 1], 4, out=[0, 0, 0, 0])


# ----------------------------------------------------------------------------- Q0 validity
def smp2fix_ok(v: np.ndarray) -> np.ndarray:
    """ENGINE.md 2.3 literally: finite and rint(v * 2^23) in [-2^31, 2^31 - 1]."""
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.rint(v.astype(np.float64) * 2.0**23)
        return np.isfinite(v) & (r >= -2.0**31) & (r <= 2.0**31 - 1)


def test_q0_range_matches_smp2fix_definition():
    below256 = np.nextafter(np.float32(256), np.float32(0))
    edge = np.array([256.0, below256, -256.0, np.nextafter(np.float32(-256), np.float32(-300)),
                     0.0, -0.0, 1e-45, -1e-45, 255.99, -255.99, 3e38, -3e38,
                     np.inf, -np.inf, np.nan], dtype=np.float32)
    rng = np.random.default_rng(0)
    rand = rng.integers(0, 2**32, 200000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    near = rng.uniform(-300, 300, 200000).astype(np.float32)
    # pack() itself, one value at a time, on the edge cases and a sample of random patterns
    for v in (edge, rand[:1000], near[:1000]):
        np.testing.assert_array_equal([_accepts(x) for x in v], smp2fix_ok(v))
    # the vectorised check pack() uses, on all of them
    from zipml.pack import _q0_valid
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(_q0_valid(rand), smp2fix_ok(rand))
        np.testing.assert_array_equal(_q0_valid(near), smp2fix_ok(near))


def _accepts(x) -> bool:
    try:
        pack(np.array([[x]], dtype=np.float32), [1.0], 0)
        return True
    except ValueError:
        return False


def test_q0_bad_sample_message():
    data = np.zeros((3, 4), dtype=np.float32)
    data[2, 1] = 256.0
    with pytest.raises(ValueError, match=r"data\[2, 1\] = 256\.0.*smp2fix"):
        pack(data, np.ones(3), 0)
    data[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"data\[2, 1\] = nan"):
        pack(data, np.ones(3), 0)
    with pytest.raises(ValueError, match="float32"):
        pack(data.astype(np.float64), np.ones(3), 0)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bits", BITS_Q)
def test_code_above_L_rejected(bits):
    L = levels(bits)
    codes = np.zeros((2, 5), dtype=np.uint8)
    if bits > 1:
        codes[1, 3] = L + 1
        with pytest.raises(ValueError, match=rf"data\[1, 3\] = {L + 1} is not a {bits}-bit code"):
            pack(codes, [1, 1], bits)
        # validate=False lets a test build a stream with an ERR_BAD_SAMPLE code
        s = pack(codes, [1, 1], bits, validate=False)
        assert unpack(s, bits, 2, 5)[0][1, 3] == L + 1
    wide = codes.astype(np.int32)
    wide[1, 3] = 1 << bits  # never fits in the lane, even unvalidated
    with pytest.raises(ValueError, match=r"data\[1, 3\]"):
        pack(wide, [1, 1], bits, validate=False)
    with pytest.raises(ValueError, match=r"data_b\[0, 0\]"):
        bad = np.zeros((2, 5), dtype=np.uint8)
        bad[0, 0] = 200
        pack(np.zeros((2, 5), np.uint8), [1, 1], bits, data_b=bad)


def test_other_bad_inputs():
    codes = np.zeros((2, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"y must be 1-D with 2 entries"):
        pack(codes, [1.0], 4)
    with pytest.raises(ValueError, match=r"y\[1\] = nan"):
        pack(codes, [1.0, np.nan], 4)
    with pytest.raises(ValueError, match=r"y\[0\] = 1e\+300"):
        pack(codes, [1e300, 1.0], 4)  # overflows float32
    s = pack(codes, [np.nan, 1.0], 4, validate=False)  # ERR_BAD_LABEL test streams
    assert np.isnan(unpack(s, 4, 2, 3)[2][0])
    with pytest.raises(ValueError, match="integer codes"):
        pack(codes.astype(np.float32), [1, 1], 4)
    with pytest.raises(ValueError, match="2-D"):
        pack(np.zeros(3, np.uint8), [1], 4)
    with pytest.raises(ValueError, match="at least one feature"):
        pack(np.zeros((2, 0), np.uint8), [1, 1], 4)
    with pytest.raises(ValueError, match="data_b has shape"):
        pack(codes, [1, 1], 4, data_b=np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match="needs quantized"):
        pack(np.zeros((2, 3), np.float32), [1, 1], 0, data_b=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="bits"):
        pack(codes, [1, 1], 3)
    with pytest.raises(ValueError, match="stream has 5 words, expected 4"):
        unpack(np.zeros(5, np.uint64), 4, 2, 3)
    # wider integer dtypes are accepted when the values are codes
    np.testing.assert_array_equal(pack(codes.astype(np.int64), [1, 1], 4), pack(codes, [1, 1], 4))
    with pytest.raises(ValueError, match=r"data\[0, 0\] = -1"):
        pack(np.array([[-1]]), [1], 4)


# ----------------------------------------------------------------------------- property test
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.sampled_from((0,) + BITS_Q), st.integers(0, 4), st.integers(1, 140), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_pack_matches_slow_packer_random_shapes(bits, n, d, ds, seed):
    rng = np.random.default_rng(seed)
    ds = ds and bits > 0
    if bits == 0:
        data = rng.uniform(-256, 256, (n, d)).astype(np.float32)
        b = None
    else:
        data = random_codes(rng, n, d, bits)
        b = random_codes(rng, n, d, bits) if ds else None
    y = rng.standard_normal(n)
    got = pack(data, y, bits, data_b=b)
    np.testing.assert_array_equal(got, slow_pack(data, y, bits, b))
    r, rb, ry = unpack(got, bits, n, d, double_sampling=ds)
    np.testing.assert_array_equal(r, data)
    if ds:
        np.testing.assert_array_equal(rb, b)
