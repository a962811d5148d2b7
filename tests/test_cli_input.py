"""Careless input and what a person reads: every bad input one clear line (exit 2 from the
CLI, an exception naming what and where from the API), no silent wrong model, outputs
checked before training and written atomically, the command line's text (warnings, units,
steps, bytes, defaults) and the README's synopsis and sample output against the real CLI."""
from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

from zipml import ZipML_SGD, ZipMLClassifier, ZipMLRegressor

ROOT = Path(__file__).resolve().parents[1]


def zipml(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "zipml", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def write_libsvm(path, X, y):
    with open(path, "w") as f:
        for row, label in zip(X, y):
            f.write(f"{label:g} " + " ".join(f"{j + 1}:{v:g}" for j, v in enumerate(row)
                                            if v != 0) + "\n")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("input")
    X, y = load_digits(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    (d / "empty").write_text("")
    (d / "comments").write_text("# nothing but a comment\n\n   \n# and another\n")
    return dict(
        tr=write_libsvm(d / "digits.train", X[:600], y[:600]),
        te=write_libsvm(d / "digits.test", X[600:800], y[600:800]),
        # labels 20..29: none is a training label
        te_other=write_libsvm(d / "other.test", X[600:700], y[600:700] + 20),
        # every third label 42, unknown to the training set
        te_some=write_libsvm(d / "some.test", X[600:700],
                             [v if i % 3 else 42 for i, v in enumerate(y[600:700])]),
        rtr=write_libsvm(d / "diab.train", Xr[:330], yr[:330]),
        rte=write_libsvm(d / "diab.test", Xr[330:], yr[330:]),
        dir=d)


def one_error_line(r):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zipml "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


# ------------------------------------------------------------------------ training input
@pytest.mark.parametrize("args,needle", [
    (["--train", "{dir}/empty"], "training file has no samples (empty, or "),
    (["--train", "{dir}/comments"], "training file has no samples"),
    (["--train", "{tr}", "--test", "{dir}/empty"], "test file has no samples"),
    (["--train", "{tr}", "--test", "{dir}/comments"], "test file has no samples"),
    (["--train", "{dir}"], "training file is a directory"),
    (["--train", "{tr}", "--test", "{dir}"], "test file is a directory"),
    (["--train", "{tr}", "--test", "{te_other}"],
     "none of the test labels (20, 21, 22, 23, 24, 25, ...) is a training label (0, 1, 2, 3, "
     "4, 5, ...): {te_other} does not test this model"),
    (["--train", "{tr}", "--json", "{dir}"], "--json {dir}: is a directory"),
    (["--train", "{tr}", "--plot", "{tr}/x.png"], "output directory does not exist"),
    (["--train", "{tr}", "--json", "{dir}/a.png", "--plot", "{dir}/a.png"],
     "--json and --plot name the same file"),
])
def test_bad_training_input_one_line(files, args, needle):
    f = {k: str(v) for k, v in files.items()}
    line = one_error_line(zipml("train", *[a.format(**f) for a in args], "--epochs", 1))
    assert line.startswith("zipml train: error: ")
    assert needle.format(**f) in line


def test_unknown_test_labels_warn_in_one_line(files):
    r = zipml("train", "--train", files["tr"], "--test", files["te_some"], "--epochs", 2,
              "--backend", "cpu")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        "zipml train: warning: 34 of 100 test samples have labels no training sample has "
        "(42): they count as errors"]


def test_tiny_step_warns(files):
    r = zipml("train", "--train", files["tr"], "--binarize", 3, "--step-size", "1e-30",
              "--epochs", 1, "--quiet")
    assert r.returncode == 0
    assert r.stderr.startswith("zipml train: warning: --step-size 1e-30 is too small for the "
                               "engine's Q8.23 model")
    assert len(r.stderr.splitlines()) == 1
    r = zipml("train", "--train", files["tr"], "--binarize", 3, "--epochs", 1, "--quiet")
    assert r.returncode == 0 and r.stderr == ""


def test_outputs_checked_before_training(files, tmp_path):
    """An output that cannot be written fails at once: nothing trained, no other output
    written."""
    out = tmp_path / "r.json"
    r = zipml("train", "--train", files["tr"], "--json", out, "--plot", "/proc/zipml.png")
    line = one_error_line(r)
    assert "--plot /proc/zipml.png: cannot write in /proc" in line
    assert not out.exists() and r.stdout == ""


def _run_main(argv):
    from zipml.cli import main
    return main([str(a) for a in argv])


def test_outputs_written_atomically(files, tmp_path, monkeypatch, capsys):
    """A failure while writing (a full disk, a failing plot) leaves neither a truncated file
    nor a temporary one, and an older result in place."""
    from zipml.commands import train
    js, png = tmp_path / "r.json", tmp_path / "r.png"
    js.write_text('{"old": 1}')
    argv = ["train", "--train", files["tr"], "--binarize", 1, "--epochs", 1, "--quiet",
            "--json", js, "--plot", png]

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(train.os, "fsync", full_disk)
    assert _run_main(argv) == 2
    assert "No space left on device" in capsys.readouterr().err
    monkeypatch.undo()
    assert js.read_text() == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]

    def bad_plot(*a):
        raise OSError(errno.EIO, "plot failed")
    monkeypatch.setattr(train, "_plot", bad_plot)
    assert _run_main(argv) == 2
    monkeypatch.undo()
    assert js.read_text() == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]

    assert _run_main(argv) == 0
    assert json.loads(js.read_text())["models"] == 1
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.png"]
    mask = os.umask(0)
    os.umask(mask)
    assert js.stat().st_mode & 0o777 == 0o666 & ~mask


def test_json_has_no_nan():
    from zipml.commands.train import _json_safe
    res = _json_safe({"loss": [1.0, float("nan"), float("inf")], "a": {"b": float("-inf")},
                      "n": 3, "s": "x"})
    assert res == {"loss": [1.0, None, None], "a": {"b": None}, "n": 3, "s": "x"}
    json.dumps(res, allow_nan=False)


def test_convert_binary_file_names_file_and_offset(tmp_path):
    f = tmp_path / "blob.csv"
    f.write_bytes(b"1,2\n3,4\n5,\xd0\x016\n")
    line = one_error_line(zipml("convert", f, "-o", tmp_path / "o.libsvm"))
    assert line == (f"zipml convert: error: {f}, line 3, byte offset 10: byte 0xd0 is not "
                    f"UTF-8 text (a binary file?)")
    assert not (tmp_path / "o.libsvm").exists()
    f.write_bytes(b"\xef\xbb\xbf1,2\n3,4\n")            # a UTF-8 byte-order mark is fine
    r = zipml("convert", f, "-o", tmp_path / "o.libsvm")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.libsvm").read_text() == "1 1:2\n3 1:4\n"


# ------------------------------------------------------------------------ the API
def test_estimator_costs_checked():
    X = np.random.RandomState(0).rand(20, 3)
    y = np.arange(20) % 2
    for kw in ({"cost_pos": -1}, {"cost_neg": 0}, {"cost_pos": float("nan")},
               {"cost_neg": True}):
        name = next(iter(kw))
        with pytest.raises(ValueError, match=f"ZipMLClassifier: {name} must be a finite "
                                             f"number > 0"):
            ZipMLClassifier(**kw).fit(X, y)


def test_estimator_tiny_step_warns():
    X = np.random.RandomState(0).rand(40, 3)
    y = (X[:, 0] > 0.5).astype(int)
    with pytest.warns(RuntimeWarning, match=r"step_size=1e-30 is too small .* 2\^-23"):
        clf = ZipMLClassifier(step_size=1e-30).fit(X, y)
    assert not np.any(clf.coef_) and not np.any(clf.intercept_)      # what it warns about
    with pytest.warns(RuntimeWarning, match="too small"):
        ZipMLRegressor(step_size=1e-30).fit(X, X[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ZipMLClassifier(step_size=2.0 ** -10).fit(X, y)
        ZipMLClassifier().fit(X, y)
        ZipMLRegressor(step_size=1e-30).fit(X, np.zeros(40))    # the zero model is right


def test_estimator_float64_beyond_float32_named():
    X = np.random.RandomState(0).rand(30, 3)
    y = np.arange(30) % 2
    X[7, 2] = -1e300
    for kw in ({}, {"normalize": "none"}, {"shuffle": True, "random_state": 3}):
        with pytest.raises(ValueError, match=r"(?=.*row 7, column 2)(?=.*-1e\+300)(?=.*outside "
                                             r"the float32 range)"):
            ZipMLClassifier(**kw).fit(X, y)
    clf = ZipMLClassifier().fit(X[:7], y[:7])
    with pytest.raises(ValueError, match=r"(?=.*row 0, column 2)(?=.*outside the float32 range)"):
        clf.predict(X[7:8])


def test_binarize_then_normalize_needs_binarize_again():
    X = np.random.RandomState(0).rand(30, 3)
    Z = ZipML_SGD(backend="cpu")
    Z.set_data(X, np.arange(30) % 3)
    Z.b_binarize(2)
    Z.b_normalize(0)                       # labels now 0, 0.5, 1: the old binarisation is gone
    with pytest.raises(ValueError, match=r"b_binarize\(value\) was not called since the labels "
                                         r"were last set or changed"):
        Z.L2SVM_SGD(2, 2.0 ** -6, 1.0, 1.0, 0, 1)
    with pytest.raises(ValueError, match="b_binarize"):
        Z.calculate_L2SVM_loss(np.zeros(4), 1.0, 1.0, 0, 1)
    Z.b_binarize(1)
    assert Z.L2SVM_SGD(2, 2.0 ** -6, 1.0, 1.0, 0, 1).shape == (4, 2)


def test_binarize_to_one_class_warns():
    Z = ZipML_SGD(backend="cpu")
    Z.set_data(np.random.RandomState(0).rand(10, 2), np.arange(10) % 3)
    with pytest.warns(UserWarning, match=r"b_binarize\(7\): no label equals 7, so every "
                                         r"binarised label is -1 \(labels: 0, 1, 2\)"):
        Z.b_binarize(7)
    Z.set_data(np.random.RandomState(0).rand(10, 2), np.full(10, 4.0))
    with pytest.warns(UserWarning, match="every label equals 4"):
        Z.b_binarize(4)
    Z.set_data(np.random.RandomState(0).rand(10, 2), np.arange(10) % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z.b_binarize(1)


# ------------------------------------------------------------------------ what a person reads
def test_no_progress_fragments_off_a_terminal(files):
    r = zipml("train", "--train", files["tr"], "--test", files["te"], "--epochs", 3,
              "--backend", "cpu")
    assert r.returncode == 0
    assert r.stderr == ""                                  # no bar, no carriage returns
    assert r.stdout.startswith("epoch ") and "\r" not in r.stdout


def test_progress_bar_on_a_terminal_is_cleared(files):
    """On a terminal the bar is drawn and erased (leave=False) before the table."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # 100 columns
    p = subprocess.Popen([sys.executable, "-m", "zipml", "train", "--train", str(files["tr"]),
                          "--epochs", "3", "--backend", "cpu"],
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read().decode()
    p.stdout.close()
    assert p.wait(120) == 0
    text = err.decode()
    assert "Q0 svm:" in text and "/30 [" in text           # 10 one-vs-rest models x 3 epochs
    assert text.rstrip(" ").endswith("\r")                  # erased: the cursor back at column 0
    assert out.startswith("epoch ")


def test_train_footer_step_bytes(files, tmp_path):
    out = tmp_path / "r.json"
    r = zipml("train", "--train", files["tr"], "--epochs", 2, "--json", out, "--backend", "cpu")
    res = json.loads(out.read_text())
    assert res["step_size"] == 2.0 ** -7
    assert "backend cpu, Q0, step 2^-7, 600 samples x 65 features (bias included)" in r.stdout
    per = res["bytes_per_epoch_per_model"]
    assert per > 1000 and res["bytes_per_epoch"] == 10 * per
    assert (f"bytes/epoch: {per:,} bytes of packed sample stream read per epoch per model "
            f"(10 one-vs-rest models: {10 * per:,} per epoch in all)") in r.stdout
    r = zipml("train", "--train", files["tr"], "--epochs", 1, "--step-size", "0.01")
    assert "step 0.01 (2^-6.64)," in r.stdout


def test_regression_columns_say_units(files):
    r = zipml("train", "--train", files["rtr"], "--test", files["rte"], "--model", "linreg",
              "--epochs", 2)
    head = r.stdout.splitlines()[0].split("  ")
    assert [h.strip() for h in head if h.strip()] == [
        "epoch loss (scaled y)", "train RMSE (y)", "test RMSE (y)", "seconds"]
    assert "(scaled to [-1, 1]); RMSE: in the units of the labels" in r.stdout
    r = zipml("train", "--train", files["rtr"], "--model", "linreg", "--epochs", 1,
              "--no-normalize-labels", "--step-size", 2.0 ** -20)
    assert "loss (y units^2)" in r.stdout.splitlines()[0]


def test_help_names_every_default():
    from zipml.cli import build_parser
    ap = build_parser()
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        text = p.format_help()
        for a in p._actions:
            if a.option_strings and a.default not in (None, False) and a.help != "==SUPPRESS==" \
                    and a.dest != "help":
                shown = p._get_formatter()._get_help_string(a)
                assert "default" in shown.lower(), (name, a.dest, shown)
        assert "(default: 0)" in sub.choices["train"].format_help()         # --seed
        assert text


def test_readme_synopsis_matches_the_cli():
    from zipml.cli import build_parser
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(zipml demo .*?)```", text, re.S).group(1)
    train = re.search(r"zipml train (.*?)\npython -m zipml", block, re.S).group(1)
    ap = build_parser()
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    p = sub.choices["train"]
    opts = {o: a for a in p._actions for o in a.option_strings}
    used = re.findall(r"(--[a-z0-9-]+)(?: ([^\s\]]+))?", train.replace("\\\n", " "))
    assert len(used) >= 10
    for opt, arg in used:
        assert opt in opts, f"README synopsis: {opt} is not an option of zipml train"
        a = opts[opt]
        if a.choices:
            assert arg.split("|") == [str(c) for c in a.choices], (opt, arg, a.choices)
    assert "--backend auto|cpu|sim|pynq" in train


def test_readme_demo_output_is_the_real_one():
    """The README's `zipml demo` sample is the command's output (timings aside)."""
    text = (ROOT / "README.md").read_text()
    sample = re.search(r"```\n\$ zipml demo\n(.*?)```", text, re.S).group(1)
    r = zipml("demo", "--backend", "cpu")
    assert r.returncode == 0, r.stderr

    def mask(s):          # the last column of the precision table is a wall time
        return [re.sub(r"\s+\d+\.\d{3}$", " T", ln) if re.match(r"Q\d +2\^", ln) else ln
                for ln in s.strip().splitlines()]
    assert mask(sample) == mask(r.stdout)


def test_demo_says_what_it_shows():
    r = zipml("demo", "--epochs", 2, "--backend", "cpu")
    out = " ".join(r.stdout.split())
    for needle in ("Q0 = the data as float32; Q8, Q4, Q2, Q1 = the data quantized to 8, 4, 2 "
                   "or 1 bit(s) per value",
                   "Q2 and Q1 have only 3 and 2 levels and round stochastically",
                   "vs Q0: Q0's bytes/epoch divided by the row's",
                   "bytes/epoch: bytes of packed sample stream read per epoch per model (10 "
                   "one-vs-rest models per row)"):
        assert needle in out, needle
