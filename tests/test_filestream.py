"""The streamed libsvm path (zipml.filestream, zipml train): bit-identical to packing the
dense matrix, bounded while parsing (dimension limit, line length), errors naming the file and
the line, and `zipml train` never building the dense matrix."""
import itertools
import json

import numpy as np
import pytest

from zipml import data, filestream, prep


@pytest.fixture(scope="module")
def sparse_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    n, m = 400, 37
    X = rng.normal(size=(n, m)).astype(np.float32)
    X[rng.random((n, m)) < 0.6] = 0
    X[:, 5] = 0                           # a column never present
    X[:, 7] = np.abs(X[:, 7])             # a column whose minimum is an implicit zero
    y = rng.integers(0, 3, n).astype(float)
    p = tmp_path_factory.mktemp("fs") / "train.svm"
    data.save_libsvm(p, X, y)
    with open(p, "a") as f:               # blank and comment lines are skipped
        f.write("\n# a comment\n")
    return p


@pytest.mark.parametrize("bits,mode,rounding,shuffle,keep", [
    c for c in itertools.product([0, 8, 4, 1], ["c", "r", "none"], ["nearest", "stochastic"],
                                 [False, True], [0, 1 << 30])
    if not (c[1] == "none" and c[0]) and not (c[0] == 0 and c[2] == "stochastic")])
def test_stream_equals_dense_path(sparse_file, monkeypatch, bits, mode, rounding, shuffle, keep):
    monkeypatch.setattr(filestream, "BLOCK_BYTES", 2048)     # many blocks and chunks
    monkeypatch.setattr(filestream, "CHUNK_ELEMS", 700)
    monkeypatch.setattr(filestream, "KEEP_BYTES", keep)      # second parse, or kept rows
    Xd, yd = data.load_libsvm(sparse_file)
    sc = filestream.scan_libsvm(sparse_file, max_cols=100)
    assert (sc.parts is None) == (keep == 0)
    n, d = Xd.shape
    assert sc.n == n and np.array_equal(sc.labels, yd) and sc.n_cols == d
    lo, hi = prep.minmax(Xd, "c")
    lo2, hi2 = sc.column_stats(d + 3)                        # padded: all-zero columns
    assert np.array_equal(lo2[:d], lo) and np.array_equal(hi2[:d], hi)
    assert not lo2[d:].any() and not hi2[d:].any()
    norm = prep.Norm(mode, lo, hi, True) if mode == "c" else prep.Norm(mode, None, None, True)
    order = np.random.default_rng(1).permutation(n) if shuffle else None
    ref, ss = prep.pack_samples(Xd, yd, bits, norm=norm, order=order, signed=mode != "none",
                                rounding=rounding, seed=9)
    dest = None
    if order is not None:
        dest = np.empty(n, np.int64)
        dest[order] = np.arange(n)
    got, ss2 = filestream.pack_libsvm(sparse_file, sc, d, bits, norm=norm, dest=dest,
                                      signed=mode != "none", rounding=rounding, seed=9)
    assert np.array_equal(ref, got)
    assert ss2 == pytest.approx(ss, rel=1e-12)


def test_errors_while_parsing(tmp_path):
    big = tmp_path / "big.svm"
    big.write_bytes(b"1 2000000000:1.5\n")                   # 19 bytes, an enormous index
    with pytest.raises(ValueError, match=r"big.svm, line 1: beyond the engine: "
                                         r"'2000000000:1.5'"):
        filestream.scan_libsvm(big, max_cols=8191, limit_text="beyond the engine")
    binary = tmp_path / "blob.bin"
    with open(binary, "wb") as f:                            # no newline at all
        f.write(b"1 1:1\n")
        f.write(b"\x00" * (70 << 20))
    with pytest.raises(ValueError, match=r"blob.bin: no line end within 64 MiB from byte "
                                         r"offset 6"):
        filestream.scan_libsvm(binary)
    with pytest.raises(ValueError, match="is a directory"):
        filestream.scan_libsvm(tmp_path)
    empty = tmp_path / "empty.svm"
    empty.write_text("# nothing\n\n")
    assert filestream.scan_libsvm(empty).n == 0


def test_zipml_train_never_builds_the_dense_matrix(sparse_file, tmp_path, monkeypatch):
    from zipml import cli
    def no_dense(*a, **k):
        raise AssertionError("zipml train loaded the dense matrix")
    monkeypatch.setattr(data, "load_libsvm", no_dense)
    out = tmp_path / "r.json"
    rc = cli.main(["train", "--train", str(sparse_file), "--test", str(sparse_file),
                   "--bits", "4", "--epochs", "3", "--quiet", "--json", str(out),
                   "--train-metrics", "every", "--backend", "cpu"])
    assert rc in (0, None)
    res = json.loads(out.read_text())
    assert res["loss_kind"] == "progressive" and len(res["loss"]) == 3
    assert len(res["train_accuracy_per_epoch"]) == 3 and len(res["test_accuracy_per_epoch"]) == 3
    assert set(res["seconds"]) == {"prepare", "engine", "evaluate", "total"}
    assert res["seconds"]["total"] >= res["seconds"]["engine"] > 0


@pytest.mark.parametrize("content,needle", [
    (b"", "training file has no samples"),
    (b"# only a comment\n\n", "training file has no samples"),
    (b"1 2000000000:1\n", "line 1: feature index beyond 8191: the cpu engine takes at most 8192"),
])
def test_zipml_train_bad_files_one_line(tmp_path, capsys, content, needle):
    from zipml import cli
    p = tmp_path / "t.svm"
    p.write_bytes(content)
    assert cli.main(["train", "--train", str(p), "--backend", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
