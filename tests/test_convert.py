"""``zipml convert`` and :mod:`zipml.convert`: idx / CSV <-> libsvm, streaming, errors."""
from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from zipml import convert as cv
from zipml.data import load_libsvm

FASHION = Path("/usr/share/datasets/fashion-mnist")


def zipml(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "zipml", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def write_idx(path, arr, type_byte=0x08, be="u1", compress=False):
    """Independent idx encoder (struct), for the tests."""
    arr = np.asarray(arr)
    head = struct.pack(">BBBB", 0, 0, type_byte, arr.ndim)
    head += b"".join(struct.pack(">I", s) for s in arr.shape)
    body = head + arr.astype(np.dtype(be).newbyteorder(">")).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(body)
    return path


@pytest.fixture
def images():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, size=(37, 5, 4)).astype(np.uint8)
    X[X < 120] = 0                       # sparse, like MNIST
    y = rng.integers(0, 10, size=37).astype(np.uint8)
    return X, y


@pytest.mark.parametrize("compress", [False, True])
def test_idx_to_libsvm_values(tmp_path, images, compress):
    X, y = images
    ext = ".gz" if compress else ""
    fi = write_idx(tmp_path / f"img-idx3-ubyte{ext}", X, compress=compress)
    fl = write_idx(tmp_path / f"lab-idx1-ubyte{ext}", y, compress=compress)
    n = cv.idx_to_libsvm(fi, fl, tmp_path / "out.libsvm", chunk_rows=5)
    assert n == 37
    Xr, yr = load_libsvm(tmp_path / "out.libsvm", 20)
    assert np.array_equal(Xr, X.reshape(37, -1).astype(np.float32))
    assert np.array_equal(yr, y.astype(np.float64))
    # scale and limit
    cv.idx_to_libsvm(fi, fl, tmp_path / "s.libsvm", scale=255.0, limit=10)
    Xs, ys = load_libsvm(tmp_path / "s.libsvm", 20)
    assert Xs.shape == (10, 20)
    assert np.allclose(Xs, X[:10].reshape(10, -1) / 255.0, atol=1e-7)


def test_chunk_size_does_not_change_output(tmp_path, images):
    X, y = images
    fi = write_idx(tmp_path / "i", X)
    fl = write_idx(tmp_path / "l", y)
    cv.idx_to_libsvm(fi, fl, tmp_path / "a", chunk_rows=1)
    cv.idx_to_libsvm(fi, fl, tmp_path / "b", chunk_rows=1000)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_libsvm_idx_roundtrip_bytes(tmp_path, images):
    X, y = images
    fi = write_idx(tmp_path / "i", X)
    fl = write_idx(tmp_path / "l", y)
    cv.idx_to_libsvm(fi, fl, tmp_path / "x.libsvm")
    n = cv.libsvm_to_idx(tmp_path / "x.libsvm", tmp_path / "i2", tmp_path / "l2.gz",
                         shape=(5, 4))
    assert n == 37
    assert (tmp_path / "i2").read_bytes() == fi.read_bytes()
    assert gzip.decompress((tmp_path / "l2.gz").read_bytes()) == fl.read_bytes()


def test_other_idx_types(tmp_path):
    rng = np.random.default_rng(0)
    F = rng.normal(size=(6, 3)).astype(np.float32)
    fi = write_idx(tmp_path / "f", F, 0x0D, "f4")
    fl = write_idx(tmp_path / "l", np.arange(6), 0x08)
    cv.idx_to_libsvm(fi, fl, tmp_path / "o")
    Xr, yr = load_libsvm(tmp_path / "o", 3)
    assert np.array_equal(Xr, F) and np.array_equal(yr, np.arange(6))
    cv.libsvm_to_idx(tmp_path / "o", tmp_path / "f2", tmp_path / "l2", shape=(3,),
                     dtype="float32")
    assert (tmp_path / "f2").read_bytes() == fi.read_bytes()
    I16 = rng.integers(-30000, 30000, size=(4, 2))
    fi = write_idx(tmp_path / "s", I16, 0x0B, "i2")
    cv.idx_to_libsvm(fi, write_idx(tmp_path / "l4", np.arange(4)), tmp_path / "o16")
    assert np.array_equal(load_libsvm(tmp_path / "o16", 2)[0], I16.astype(np.float32))


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_fashion_mnist_file(tmp_path):
    r = zipml("convert", FASHION / "t10k-images-idx3-ubyte.gz",
              FASHION / "t10k-labels-idx1-ubyte.gz", "-o", tmp_path / "fm.t", "--limit", 300)
    assert r.returncode == 0, r.stderr
    assert "300 samples" in r.stdout
    raw = gzip.decompress((FASHION / "t10k-images-idx3-ubyte.gz").read_bytes())
    lab = gzip.decompress((FASHION / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert struct.unpack(">IIII", raw[:16]) == (0x803, 10000, 28, 28)
    ref = np.frombuffer(raw, dtype=np.uint8, offset=16)[:300 * 784].reshape(300, 784)
    X, y = load_libsvm(tmp_path / "fm.t", 784)
    assert np.array_equal(X, ref.astype(np.float32))
    assert np.array_equal(y, np.frombuffer(lab, dtype=np.uint8, offset=8)[:300])


def _peak_convert(tmp_path, n, chunk_rows):
    X = (np.arange(n * 784, dtype=np.int64) % 251).astype(np.uint8).reshape(n, 784)
    fi = write_idx(tmp_path / f"big{n}-idx3", X)
    fl = write_idx(tmp_path / f"big{n}-idx1", np.arange(n) % 10)
    tracemalloc.start()
    try:
        cv.idx_to_libsvm(fi, fl, tmp_path / f"big{n}.libsvm", chunk_rows=chunk_rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(1 for _ in open(tmp_path / f"big{n}.libsvm")) == n
    return peak


def test_idx_to_libsvm_memory_is_bounded(tmp_path):
    small = _peak_convert(tmp_path, 400, chunk_rows=20)
    big = _peak_convert(tmp_path, 1600, chunk_rows=20)
    # streaming: the peak does not grow with the file (4x the samples), and stays far below
    # the dense float64 matrix a non-streaming conversion would hold
    assert big < 1.5 * small, (small, big)
    assert big < 1600 * 784 * 8 / 2, big


def test_csv_roundtrip(tmp_path):
    rng = np.random.default_rng(1)
    X = np.round(rng.normal(size=(50, 6)), 4)
    X[X < -0.5] = 0
    y = rng.integers(1922, 2011, size=50).astype(float)
    with open(tmp_path / "d.csv", "w") as f:
        f.write("year," + ",".join(f"t{j}" for j in range(6)) + "\n")
        for lab, row in zip(y, X):
            f.write(f"{lab:g}," + ",".join(repr(float(v)) for v in row) + "\n")
    r = zipml("convert", tmp_path / "d.csv", "-o", tmp_path / "d.libsvm", "--header")
    assert r.returncode == 0, r.stderr
    Xr, yr = load_libsvm(tmp_path / "d.libsvm", 6)
    assert np.array_equal(Xr, X.astype(np.float32)) and np.array_equal(yr, y)
    # back to CSV, label last, with a header; read with numpy
    r = zipml("convert", tmp_path / "d.libsvm", "-o", tmp_path / "e.csv", "--label-column",
              "-1", "--header")
    assert r.returncode == 0, r.stderr
    M = np.loadtxt(tmp_path / "e.csv", delimiter=",", skiprows=1)
    assert np.array_equal(M[:, -1], y)
    assert np.array_equal(M[:, :-1].astype(np.float32), X.astype(np.float32))
    assert (tmp_path / "e.csv").read_text().splitlines()[0].endswith("f6,label")
    # label last on input
    n = cv.csv_to_libsvm(tmp_path / "e.csv", tmp_path / "f.libsvm", label_column=-1,
                         header=True, chunk_rows=7)
    assert n == 50
    assert (tmp_path / "f.libsvm").read_bytes() == (tmp_path / "d.libsvm").read_bytes()


# ----------------------------------------------------------------------------------- errors
def test_truncated_idx(tmp_path, images):
    X, y = images
    fi = write_idx(tmp_path / "img", X)
    data = fi.read_bytes()
    fi.write_bytes(data[:-7])
    fl = write_idx(tmp_path / "lab", y)
    r = zipml("convert", fi, fl, "-o", tmp_path / "o")
    assert r.returncode == 2
    msg = r.stderr.strip()
    assert msg.count("\n") == 0 and "img" in msg and "truncated" in msg
    assert f"byte {len(data) - 7}" in msg and "item 36" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img", "lab"]   # no output left


def test_idx_errors(tmp_path, images):
    X, y = images
    fi = write_idx(tmp_path / "img", X)
    with pytest.raises(ValueError, match=r"img.*37 items but .*lab.* has 36 labels"):
        cv.idx_to_libsvm(fi, write_idx(tmp_path / "lab", y[:36]), tmp_path / "o")
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match=r"bad: unknown idx type byte 0x07 at byte 2"):
        cv.idx_to_libsvm(bad, bad, tmp_path / "o")
    with pytest.raises(ValueError, match="a label file must be 1-D"):
        cv.idx_to_libsvm(fi, fi, tmp_path / "o")
    extra = tmp_path / "extra"
    extra.write_bytes(write_idx(tmp_path / "l2", y).read_bytes() + b"\x01")
    with pytest.raises(ValueError, match="trailing bytes"):
        cv.idx_to_libsvm(fi, extra, tmp_path / "o")


def test_csv_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("1,2,3\n4,5,6\n7,x8,9\n")
    r = zipml("convert", p, "-o", tmp_path / "o.libsvm")
    assert r.returncode == 2
    assert "bad.csv, line 3, column 2: not a number: 'x8'" in r.stderr
    p.write_text("1,2,3\n4,5\n")
    with pytest.raises(ValueError, match=r"bad.csv, line 2: 2 columns, the first line has 3"):
        cv.csv_to_libsvm(p, tmp_path / "o")
    p.write_text("1,2,3\n4,5,nan\n")
    with pytest.raises(ValueError, match=r"line 2, column 3: non-finite value 'nan'"):
        cv.csv_to_libsvm(p, tmp_path / "o")
    p.write_text("1,2\n")
    with pytest.raises(ValueError, match="label column 5 does not exist"):
        cv.csv_to_libsvm(p, tmp_path / "o", label_column=5)


def test_libsvm_to_idx_errors(tmp_path):
    p = tmp_path / "x.libsvm"
    p.write_text("1 1:3 2:255\n2 1:1.5\n")
    r = zipml("convert", p, "-o", tmp_path / "i", tmp_path / "l", "--shape", "2")
    assert r.returncode == 2
    assert "sample 2" in r.stderr and "feature 1: value 1.5 is not an integer" in r.stderr
    p.write_text("300 1:3\n")
    with pytest.raises(ValueError, match="label 300 does not fit an idx uint8 label"):
        cv.libsvm_to_idx(p, tmp_path / "i", tmp_path / "l.gz", shape=(2,))
    assert sorted(q.name for q in tmp_path.iterdir()) == ["x.libsvm"]   # nothing half-written
    p.write_text("1 1:3\n1 5:1\n")
    with pytest.raises(ValueError, match=r"x.libsvm, line 2: feature index larger than 4"):
        cv.libsvm_to_idx(p, tmp_path / "i", tmp_path / "l", shape=(2, 2))
    p.write_text("1 1:3\n1 2:oops\n")
    r = zipml("convert", p, "-o", tmp_path / "o.csv")
    assert r.returncode == 2 and "x.libsvm, line 2" in r.stderr and "2:oops" in r.stderr


def test_cli_usage_errors(tmp_path, images):
    X, y = images
    fi = write_idx(tmp_path / "i", X)
    r = zipml("convert", fi, "-o", tmp_path / "o")
    assert r.returncode == 2 and "idx input needs 2 file(s)" in r.stderr
    r = zipml("convert", tmp_path / "missing", "-o", tmp_path / "o")
    assert r.returncode == 2 and "input file not found" in r.stderr
    r = zipml("convert", fi, write_idx(tmp_path / "l", y), "-o", tmp_path / "nodir" / "o")
    assert r.returncode == 2 and "output directory does not exist" in r.stderr
    p = tmp_path / "a.libsvm"
    p.write_text("1 1:2\n")
    r = zipml("convert", p, "-o", tmp_path / "b.libsvm")
    assert r.returncode == 2 and "nothing to convert" in r.stderr
    r = zipml("convert", p, "-o", tmp_path / "i2", tmp_path / "l2", "--shape", "2x0")
    assert r.returncode == 2 and "expected a shape like 28x28" in r.stderr
