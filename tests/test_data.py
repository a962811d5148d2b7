"""zipml.data: libsvm reader (C tokenizer and Python oracle), writer, normalisation, labels.

The C tokenizer is compared with the pure-Python parser (same arrays or the same error
message), with scikit-learn's load_svmlight_file and with libsvm's svm-checkdata, and fuzzed
with hypothesis (random bytes and near-valid lines).
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zipml.data as zd
from zipml.data import (LabelStats, NormStats, add_bias, binarize_labels, denormalize_labels,
                        load_libsvm, normalize, normalize_labels, save_libsvm)

if zd._clibsvm is None:  # build the C tokenizer once for the tests (setup.py does it on install)
    import importlib.util

    from zipml._libsvm_build import build

    # a stale build may already be imported under the name zipml._libsvm (an extension module
    # cannot be reloaded), so load the fresh library from its file under its base name
    _so = build(tempfile.mkdtemp(prefix="zipml_libsvm_build_"))
    _spec = importlib.util.spec_from_file_location("_libsvm", _so)
    zd._clibsvm = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(zd._clibsvm)
assert zd._clibsvm.lib.zml_libsvm_abi() == zd._LIBSVM_ABI

BACKENDS = ("c", "python")


def load_text(text, backend, **kw):
    data = text.encode() if isinstance(text, str) else text
    return zd._load_bytes(data, backend=backend, **kw)


# ----------------------------------------------------------------------------- the format
@pytest.mark.parametrize("backend", BACKENDS)
def test_accepted_format_variants(backend):
    text = (
        "# a comment line\n"
        "+1 qid:3 3:0.5 1:1e-3   # unsorted indices, qid, exponent, trailing comment\n"
        "-1\t2:-.25 5:3.\t\n"          # tabs, leading-dot and trailing-dot numbers
        "\n"
        "   \n"                          # blank lines
        "2.5E0 1:7 \r\n"                 # CRLF, upper-case exponent, trailing space
        "-3 4:+2.5e+1#comment right after a token\n"
        "0\n"                            # a sample with no features
        "7 2:1E-2"                       # no final newline
    )
    X, y = load_text(text, backend)
    expect = np.zeros((6, 5), dtype=np.float32)
    expect[0, [2, 0]] = [0.5, 1e-3]
    expect[1, [1, 4]] = [-0.25, 3.0]
    expect[2, 0] = 7
    expect[3, 3] = 25
    expect[5, 1] = 0.01
    assert X.dtype == np.float32 and y.dtype == np.float64
    np.testing.assert_array_equal(X, expect)
    np.testing.assert_array_equal(y, [1, -1, 2.5, -3, 0, 7])


@pytest.mark.parametrize("backend", BACKENDS)
def test_n_features_num_samples_zero_based(backend):
    text = "1 1:1 3:3\n-1 2:2\n1 3:9\n"
    X, y = load_text(text, backend, n_features=5)
    assert X.shape == (3, 5) and X[0, 2] == 3
    X, y = load_text(text, backend, num_samples=2)
    assert X.shape == (2, 3) and y.tolist() == [1, -1]  # n_features from the rows read
    X, y = load_text(text + "this line is never parsed\n", backend, num_samples=3)
    assert X.shape == (3, 3)
    X, y = load_text("1 0:5 2:7\n", backend, zero_based=True)
    assert X.tolist() == [[5, 0, 7]]
    X, y = load_text("", backend)
    assert X.shape == (0, 0) and y.shape == (0,)
    X, y = load_text("# nothing\n\n", backend, n_features=4)
    assert X.shape == (0, 4)
    with pytest.raises(ValueError, match="n_features"):
        load_text(text, backend, n_features=-1)
    with pytest.raises(ValueError, match="num_samples"):
        load_text(text, backend, num_samples=1.5)


BAD_CASES = [
    # (text, line, token, message fragment)
    ("1 1:2\n1 1:2 1:3\n", 2, "1:3", "duplicate"),
    ("1 3:1 2:1 3:2 2:5\n", 1, "2:5", "duplicate"),   # unsorted: second occurrence of index 2
    ("1 0:1\n", 1, "0:1", "must be >= 1"),
    ("1 -2:1\n", 1, "-2:1", "must be >= 1"),
    ("1 9999999999:1\n", 1, "9999999999:1", "larger than 2147483647"),
    ("1 0000000000000000000002:1 " + "9" * 5000 + ":1\n", 1, "9" * 57 + "...", "larger than"),
    ("1 -" + "9" * 5000 + ":1\n", 1, "-" + "9" * 56 + "...", "must be >= 1"),
    ("1 3:nan\n", 1, "3:nan", "non-finite feature value"),
    ("1 3:-Infinity\n", 1, "3:-Infinity", "non-finite feature value"),
    ("1 3:1e400\n", 1, "3:1e400", "non-finite feature value"),
    ("1 3:1e39\n", 1, "3:1e39", "outside the float32 range"),
    ("inf 1:1\n", 1, "inf", "non-finite label"),
    ("1e999 1:1\n", 1, "1e999", "non-finite label"),
    ("\n# c\n1:1 2:2\n", 3, "1:1", "missing label"),
    ("abc 1:1\n", 1, "abc", "bad label"),
    ("1,2 1:1\n", 1, "1,2", "bad label"),
    ("1 1:1 2\n", 1, "2", "bad feature token"),
    ("1 1:1 2:\n", 1, "2:", "bad feature token"),
    ("1 1:1 :2\n", 1, ":2", "bad feature token"),
    ("1 1:1 x:2\n", 1, "x:2", "bad feature token"),
    ("1 1:1 2:3:4\n", 1, "2:3:4", "bad feature token"),
    ("1 1:0x10\n", 1, "1:0x10", "bad feature token"),
    ("1 1:1_0\n", 1, "1:1_0", "bad feature token"),
    ("1 1 : 2\n", 1, "1", "bad feature token"),
    ("1 qid:x 1:1\n", 1, "qid:x", "bad qid"),
    ("1 1:1 qid:2\n", 1, "qid:2", "bad feature token"),  # qid only right after the label
    ("1 1:1\xe9\n", 1, "1:1\xe9", "bad feature token"),
    ("1 1:1\x00\n", 1, "1:1\x00", "bad feature token"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text,line,token,what", BAD_CASES)
def test_malformed_input_names_file_line_token(backend, text, line, token, what, tmp_path):
    p = tmp_path / "bad.svm"
    p.write_bytes(text.encode("utf-8"))
    with pytest.raises(ValueError) as ei:
        load_libsvm(p, backend=backend)
    msg = str(ei.value)
    assert str(p) in msg and f"line {line}:" in msg and what in msg, msg
    shown = token.encode("utf-8").decode("utf-8", "backslashreplace")
    assert repr(shown) in msg, msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_beyond_n_features(backend):
    with pytest.raises(ValueError, match=r"line 2: feature index larger than 3 .*'4:1'"):
        load_text("1 3:1\n1 4:1\n", backend, n_features=3)
    with pytest.raises(ValueError, match=r"larger than 2 .*'3:1'"):
        load_text("1 3:1\n", backend, n_features=3, zero_based=True)
    with pytest.raises(ValueError, match=r"must be >= 0.*'-1:1'"):
        load_text("1 -1:1\n", backend, zero_based=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_based_auto(backend):
    """zero_based="auto" as scikit-learn's: 0-based when index 0 occurs, else 1-based."""
    X0, y0 = load_text("1 0:5 2:7\n-1 1:2\n", backend, zero_based="auto")
    assert X0.tolist() == [[5, 0, 7], [0, 2, 0]] and y0.tolist() == [1, -1]
    X1, _ = load_text("1 1:5 3:7\n-1 2:2\n", backend, zero_based="auto")
    assert X1.tolist() == X0.tolist()
    # with n_features: a 1-based file may use index n_features, a 0-based one n_features - 1
    assert load_text("1 3:1\n", backend, n_features=3, zero_based="auto")[0].tolist() == \
        [[0, 0, 1]]
    assert load_text("1 0:1 2:1\n", backend, n_features=3,
                     zero_based="auto")[0].tolist() == [[1, 0, 1]]
    with pytest.raises(ValueError, match=r"line 2: feature index larger than 2 "
                                         r"\(n_features=3\): '3:1'; the indices were detected "
                                         r"as 0-based"):
        load_text("1 0:1\n1 3:1\n", backend, n_features=3, zero_based="auto")
    with pytest.raises(ValueError, match=r"line 1: feature index larger than 3 .*'4:1'"):
        load_text("1 4:1\n", backend, n_features=3, zero_based="auto")
    with pytest.raises(ValueError, match=r"must be >= 0.*'-1:1'"):
        load_text("1 -1:1\n", backend, zero_based="auto")
    assert load_text("", backend, zero_based="auto")[0].shape == (0, 0)
    assert load_text("1\n", backend, n_features=2, zero_based="auto")[0].tolist() == [[0, 0]]
    # only the lines read decide
    X, _ = load_text("1 1:1\n1 0:1\n", backend, num_samples=1, zero_based="auto")
    assert X.tolist() == [[1]]
    with pytest.raises(ValueError, match="zero_based must be True, False or 'auto'"):
        load_text("1 1:1\n", backend, zero_based="yes")
    # zero_based=False: the error says the file looks 0-based
    with pytest.raises(ValueError, match=r"must be >= 1: '0:5' \(index 0: the file has 0-based "
                                         r"indices; pass zero_based=True, or 'auto'"):
        load_text("1 0:5\n", backend)


def test_train_command_reads_zero_based_files(tmp_path):
    # zipml train streams the file (zipml.filestream): the same auto-detection
    from zipml import filestream
    p = tmp_path / "z.libsvm"
    p.write_text("1 0:1 1:2\n-1 1:3\n")
    sc = filestream.scan_libsvm(p, max_cols=10, zero_based="auto")
    assert sc.zero_based and sc.n_cols == 2
    X = np.concatenate([c.copy() for c, _, _ in filestream.iter_dense(p, 2, zero_based=True)])
    assert X.tolist() == [[1, 2], [0, 3]]
    q = tmp_path / "o.libsvm"
    q.write_text("1 1:1 2:2\n-1 2:3 10:1\n")
    sc = filestream.scan_libsvm(q, max_cols=10, zero_based="auto")   # 1-based, index 10 ok
    assert not sc.zero_based and sc.n_cols == 10
    assert sc.lo.tolist()[:2] == [0.0, 2.0] and sc.hi.tolist()[:2] == [1.0, 3.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_block_boundaries(backend, monkeypatch):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(200):
        k = rng.integers(0, 6)
        idx = np.sort(rng.choice(40, k, replace=False)) + 1
        lines.append(" ".join([str(i % 3 - 1)] + [f"{j}:{rng.standard_normal():.5g}"
                                                  for j in idx]))
        if i % 17 == 0:
            lines.append("# comment")
    text = "\n".join(lines) + "\n"
    X0, y0 = load_text(text, backend)
    for block in (1, 7, 64, 1000):
        monkeypatch.setattr(zd, "_BLOCK_BYTES", block)
        X, y = load_text(text, backend)
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)
        X, y = load_text(text, backend, num_samples=57)
        np.testing.assert_array_equal(X, X0[:57, :X.shape[1]])
        bad = text + "1 2:2\n" * 5 + "1 2:x\n"
        with pytest.raises(ValueError, match=f"line {len(lines) + 6}: .*'2:x'"):
            load_text(bad, backend)


# ----------------------------------------------------------------------------- references
def test_matches_scikit_learn(tmp_path):
    from sklearn.datasets import load_svmlight_file
    rng = np.random.default_rng(1)
    n, d = 300, 60
    X = np.where(rng.random((n, d)) < 0.3,
                 rng.standard_normal((n, d)) * 10.0 ** rng.integers(-6, 6, (n, d)), 0)
    y = rng.integers(-1, 5, n).astype(np.float64) + 0.25 * rng.integers(0, 2, n)
    p = tmp_path / "a.svm"
    # write with %.17g (more digits than float32 needs: exercises correct rounding) + qid
    with open(p, "w") as f:
        f.write("# header comment\n")
        for i in range(n):
            nz = np.nonzero(X[i])[0]
            feats = " ".join(f"{j + 1}:{X[i, j]:.17g}" for j in nz)
            f.write(f"{y[i]:.17g} qid:{i % 4} {feats}\n" if i % 5 else f"{y[i]:.17g} {feats}\n")
    Xs, ys = load_svmlight_file(str(p), n_features=d, dtype=np.float32)
    for backend in BACKENDS:
        Xz, yz = load_libsvm(p, d, backend=backend)
        np.testing.assert_array_equal(Xz, Xs.toarray())
        np.testing.assert_array_equal(yz, ys)
        # and both equal numpy's float32(float64(token)) conversion
        np.testing.assert_array_equal(Xz, X.astype(np.float32))


def test_writer_round_trip_and_svm_checkdata(tmp_path):
    rng = np.random.default_rng(2)
    n, d = 500, 33
    X = np.where(rng.random((n, d)) < 0.4,
                 rng.standard_normal((n, d)) * 10.0 ** rng.integers(-30, 30, (n, d)), 0)
    X[:, 5] = rng.integers(-300, 300, n)  # integral values
    X[0, :] = 0  # a row without features
    X[1, 0] = np.float32(2.0**-149)  # subnormal float32
    X[2, 1] = np.finfo(np.float32).max
    X = X.astype(np.float32)
    y = rng.standard_normal(n) * 1e3
    y[:100] = rng.integers(-5, 5, 100)
    for zero_based in (False, True):
        p = tmp_path / f"w{zero_based}.svm"
        save_libsvm(p, X, y, zero_based=zero_based)
        for backend in BACKENDS:
            Xr, yr = load_libsvm(p, d, zero_based=zero_based, backend=backend)
            np.testing.assert_array_equal(Xr, X)
            np.testing.assert_array_equal(yr, y)
        assert p.read_text().splitlines()[0] == str(int(y[0]))  # integral label, no features
    if shutil.which("svm-checkdata"):
        res = subprocess.run(["svm-checkdata", str(tmp_path / "wFalse.svm")],
                             capture_output=True, text=True)
        assert res.returncode == 0 and "No error" in res.stdout, res.stdout[-2000:]
    with pytest.raises(ValueError, match=r"y has 2 entries, expected 3"):
        save_libsvm(tmp_path / "x", np.zeros((3, 2)), [1, 2])
    with pytest.raises(ValueError, match=r"X contains a non-finite value at row 1, column 0"):
        save_libsvm(tmp_path / "x", [[0, 0], [np.nan, 0]], [1, 2])
    with pytest.raises(ValueError, match=r"float32 range at row 0, column 1"):
        save_libsvm(tmp_path / "x", [[0, 1e300]], [1])


# strict libsvm lines (what svm-checkdata judges): label then index:value pairs
_NUMS = ["1e-3", "-.5", "3.", "+2", "1e5", "nan", "inf", "-INF", "1.2.3", "abc", "", "-", "1e",
         "e5", "0x1", "1e39", "1e400", "0", "-0", "2.5E-3", "7", "-12", "0.1234567890123"]
_INDICES = ["0", "-1", "a", "", "1.5", "+3", "007", "00", "1", "2", "3", "10", "31"]


def _strict_lines(rng, count):
    lines = []
    for _ in range(count):
        label = rng.choice(_NUMS + [repr(float(rng.standard_normal()))])
        feats = []
        for _ in range(rng.integers(0, 6)):
            idx = rng.choice(_INDICES) if rng.random() < 0.3 else str(rng.integers(1, 40))
            val = rng.choice(_NUMS) if rng.random() < 0.3 else repr(float(rng.standard_normal()))
            feats.append(f"{idx}:{val}" if rng.random() < 0.95 else idx + val)
        if rng.random() < 0.8:
            feats.sort(key=lambda t: int(t.split(":")[0]) if t.split(":")[0].isdigit() else 0)
        lines.append(" ".join([label] + feats))
    return lines


@pytest.mark.skipif(shutil.which("svm-checkdata") is None, reason="libsvm-tools not installed")
def test_validity_agrees_with_svm_checkdata(tmp_path):
    """On strict libsvm lines (no comments, qid or blank lines), a line is valid for us iff
    libsvm's svm-checkdata accepts it, except that svm-checkdata allows index 0 (precomputed
    kernels), which 1-based indexing forbids, and values that overflow (1e400, or 1e39 for
    float32), which we reject, and it rejects blank lines and indices that are not ascending,
    which svmlight (and we) allow."""
    rng = np.random.default_rng(11)
    lines = _strict_lines(rng, 3000)
    p = tmp_path / "lines.svm"
    p.write_text("\n".join(lines) + "\n")
    res = subprocess.run(["svm-checkdata", str(p)], capture_output=True, text=True)
    theirs_bad = {int(s.split(":")[0].split()[1]) for s in res.stdout.splitlines()
                  if s.startswith("line ")}
    compared = 0
    for i, line in enumerate(lines, start=1):
        try:
            load_text(line + "\n", "c")
            ours_ok = True
        except ValueError:
            ours_ok = False
        if not line.split():
            continue  # blank line: skipped by us, "missing label" for svm-checkdata
        if "1e400" in line or "1e39" in line:
            continue  # overflows binary64 / binary32: we reject, svm-checkdata does not look
        idx = [t.split(":")[0] for t in line.split()[1:]]
        if any(re.fullmatch(r"[+-]?[0-9]+", t) and int(t) == 0 for t in idx):
            assert not ours_ok, line
            continue
        if all(re.fullmatch(r"[+-]?[0-9]+", t) for t in idx) and any(
                int(a) >= int(b) for a, b in zip(idx, idx[1:])):
            continue
        compared += 1
        assert ours_ok == (i not in theirs_bad), (line, ours_ok)
    assert compared > 1000 and 200 < len(theirs_bad) < 2800  # both kinds well represented


# ----------------------------------------------------------------------------- fuzzing
def outcome(data: bytes, backend: str, **kw):
    try:
        X, y = zd._load_bytes(data, backend=backend, **kw)
    except ValueError as e:
        return ("error", str(e))
    assert X.dtype == np.float32 and y.dtype == np.float64
    assert X.ndim == 2 and y.shape == (X.shape[0],)
    assert np.isfinite(X).all() and np.isfinite(y).all()
    return ("ok", X.tobytes(), X.shape, y.tobytes())


_tokens = st.sampled_from([
    b"1", b"-1", b"+1", b"0", b"2.5", b"1e3", b"-.5", b"3.", b"1E-2", b"nan", b"inf", b"1e39",
    b"1e400", b"qid:1", b"qid:", b"qid:x", b"1:1", b"2:0.5", b"3:-2", b"2:1e-3", b"0:1", b"-1:2",
    b"1:", b":1", b"1:2:3", b"4:x", b"99999999999:1", b"7:1e39", b"5:+.5e+2", b"#", b"# c",
    b" ", b"\t", b"\r", b"\n", b"\r\n", b"\x00", b"\xff", b"2:0", b"10:1", b"1:1.0000000596",
])


@st.composite
def _near_valid(draw):
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        toks = draw(st.lists(_tokens, max_size=8))
        sep = draw(st.sampled_from([b" ", b"\t", b"  "]))
        lines.append(sep.join(toks))
    return b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))


# ZIPML_FUZZ_EXAMPLES scales the fuzz runs (e.g. 20000 for the sanitizer run, see
# benchmarks/asan_fuzz.sh)
_FUZZ = int(os.environ.get("ZIPML_FUZZ_EXAMPLES", "400"))


@settings(max_examples=_FUZZ, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    assert outcome(data, "c") == outcome(data, "python")


@settings(max_examples=_FUZZ * 3 // 2, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(_near_valid(), st.sampled_from([None, 3, 12]), st.booleans(),
       st.sampled_from([None, 0, 2]))
def test_fuzz_near_valid_lines(data, n_features, zero_based, num_samples):
    kw = dict(n_features=n_features, zero_based=zero_based, num_samples=num_samples)
    assert outcome(data, "c", **kw) == outcome(data, "python", **kw)


# ----------------------------------------------------------------------------- features
def test_add_bias():
    X = np.arange(6, dtype=np.float64).reshape(2, 3)
    A = add_bias(X)
    assert A.dtype == np.float32 and A.shape == (2, 4)
    np.testing.assert_array_equal(A, [[1, 0, 1, 2], [1, 3, 4, 5]])
    assert add_bias(np.zeros((0, 2))).shape == (0, 3)
    with pytest.raises(ValueError, match=r"X contains a non-finite value at row 1, column 2"):
        add_bias([[0, 0, 0], [0, 0, np.inf]])
    with pytest.raises(ValueError, match="X must be 2-D"):
        add_bias(np.zeros(3))


def test_normalize_columns():
    X = np.array([[1, 5, 3], [3, 5, -1], [2, 5, 1]], dtype=np.float32)
    Xn, stt = normalize(X)
    assert isinstance(stt, NormStats) and stt.axis == "c"
    np.testing.assert_array_equal(stt.lo, [1, 5, -1])
    np.testing.assert_array_equal(stt.hi, [3, 5, 3])
    # constant column 1 -> low end
    np.testing.assert_allclose(Xn, [[0, 0, 1], [1, 0, 0], [0.5, 0, 0.5]])
    Xm, _ = normalize(X, to_min1_1=True)
    np.testing.assert_allclose(Xm, [[-1, -1, 1], [1, -1, -1], [0, -1, 0]])
    assert Xn.dtype == np.float32
    # stats reuse on a test set: same scaling, values clipped to the training range
    T = np.array([[2, 7, 5], [0, 4, 1]], dtype=np.float32)
    Tn, st2 = normalize(T, stats=stt)
    assert st2 is stt
    np.testing.assert_allclose(Tn, [[0.5, 0, 1], [0, 0, 0.5]])
    Tm, _ = normalize(T, True, stats=normalize(X, True)[1])
    np.testing.assert_allclose(Tm, [[0, -1, 1], [-1, -1, 0]])


def test_normalize_rows_and_range():
    rng = np.random.default_rng(4)
    X = (rng.standard_normal((300, 17)) * 1e3).astype(np.float32)
    X[7] = 3.0  # constant row
    Xn, stt = normalize(X, axis="r")
    assert stt.axis == "r" and stt.lo.shape == (300,)
    np.testing.assert_allclose(Xn.min(axis=1)[:7], 0)
    np.testing.assert_allclose(Xn.max(axis=1)[:7], 1)
    assert (Xn[7] == 0).all()
    expect = (X - X.min(1, keepdims=True)) / (X.max(1, keepdims=True) - X.min(1, keepdims=True))
    np.testing.assert_allclose(Xn[:7], expect[:7], rtol=1e-6, atol=1e-7)
    for to in (False, True):
        for axis in ("c", "r"):
            Z, _ = normalize(X, to, axis)
            assert Z.min() >= (-1 if to else 0) and Z.max() <= 1


def test_normalize_errors():
    X = np.ones((2, 3))
    _, stc = normalize(X)
    with pytest.raises(ValueError, match="axis"):
        normalize(X, axis="x")
    with pytest.raises(ValueError, match="axis='c'"):
        normalize(X, axis="r", stats=stc)
    with pytest.raises(ValueError, match="to_min1_1=False"):
        normalize(X, True, stats=stc)
    with pytest.raises(ValueError, match="stats has 3 columns, X has 2"):
        normalize(np.ones((2, 2)), stats=stc)
    with pytest.raises(ValueError, match=r"X contains a non-finite value at row 0, column 1"):
        normalize([[0, np.nan], [0, 0]])
    with pytest.raises(ValueError, match="X must be 2-D"):
        normalize(np.ones(3))
    with pytest.raises(ValueError, match="numeric"):
        normalize(np.array([["a"]]))


def test_labels():
    y = np.array([1990, 2000, 2010, 1995], dtype=np.float64)
    yn, stt = normalize_labels(y)
    assert isinstance(stt, LabelStats) and yn.dtype == np.float32
    np.testing.assert_allclose(yn, [0, 0.5, 1, 0.25])
    ym, stm = normalize_labels(y, to_min1_1=True)
    np.testing.assert_allclose(ym, [-1, 0, 1, -0.5])
    np.testing.assert_allclose(denormalize_labels(ym, stm), y)
    np.testing.assert_allclose(denormalize_labels(yn, stt), y)
    # reuse without clipping
    t, _ = normalize_labels([1980.0, 2020.0], stats=stt)
    np.testing.assert_allclose(t, [-0.5, 1.5])
    # constant labels -> low end; denormalize gives the constant back
    c, stc = normalize_labels([4.0, 4.0], to_min1_1=True)
    assert c.tolist() == [-1, -1] and denormalize_labels([0.3], stc).tolist() == [4.0]
    with pytest.raises(ValueError, match=r"y contains a non-finite value at index 1"):
        normalize_labels([1, np.nan])
    with pytest.raises(ValueError, match="y must be 1-D"):
        normalize_labels(np.ones((2, 2)))
    with pytest.raises(ValueError, match="to_min1_1=False"):
        normalize_labels(y, True, stats=stt)
    with pytest.raises(ValueError, match="LabelStats"):
        denormalize_labels(yn, None)
    with pytest.raises(ValueError, match="yn contains a non-finite"):
        denormalize_labels([np.inf], stt)


def test_binarize_labels():
    y = np.array([3, 1, 3, 0, 3.5])
    b = binarize_labels(y, 3)
    assert b.dtype == np.float32 and b.tolist() == [1, -1, 1, -1, -1]
    assert binarize_labels(y, 3.5).tolist() == [-1, -1, -1, -1, 1]
    with pytest.raises(ValueError, match="value must be finite"):
        binarize_labels(y, math.nan)
    with pytest.raises(ValueError, match="value must be a real number"):
        binarize_labels(y, "three")
    with pytest.raises(ValueError, match=r"y contains a non-finite value at index 0"):
        binarize_labels([np.inf], 1)
