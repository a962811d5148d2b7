"""The zipml command line, run as a user would (subprocess)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits


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
    d = tmp_path_factory.mktemp("cli")
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(1)
    o = rng.permutation(len(y))
    X, y = X[o], y[o]
    Xr, yr = load_diabetes(return_X_y=True)
    return dict(
        tr=write_libsvm(d / "digits.train", X[:1000], y[:1000]),
        te=write_libsvm(d / "digits.test", X[1000:1400], y[1000:1400]),
        rtr=write_libsvm(d / "diab.train", Xr[:330], yr[:330]),
        rte=write_libsvm(d / "diab.test", Xr[330:], yr[330:]),
        dir=d)


def test_demo_prints_precision_table():
    r = zipml("demo")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for q in ("Q0", "Q8", "Q4", "Q2", "Q1"):
        assert sum(line.startswith(q + " ") for line in out.splitlines()) == 2, out
    rows = [line.split() for line in out.splitlines() if line.startswith(("Q0 ", "Q1 "))]
    loss_q0 = [float(v) for v in rows[0][2:]]
    assert len(loss_q0) == 10 and loss_q0[-1] < loss_q0[0]
    acc = {line.split()[0]: float(line.split()[2].rstrip("%"))
           for line in out.splitlines() if line[:2] in ("Q0", "Q8", "Q4", "Q2", "Q1")
           and "%" in line}
    # measured: 95.78 / 94.89 / 94.44 / 94.00 / 93.56 %
    assert acc["Q0"] > 93 and acc["Q1"] > 90
    nbytes = {line.split()[0]: int(line.split()[3].replace(",", ""))
              for line in out.splitlines() if "%" in line and line[:1] == "Q"}
    assert nbytes["Q0"] == 1347 * (33 + 1) * 8 and nbytes["Q1"] == 1347 * 3 * 8


def test_train_classification_json_and_plot(files):
    out, png = files["dir"] / "r.json", files["dir"] / "r.png"
    r = zipml("train", "--train", files["tr"], "--test", files["te"], "--model", "svm",
              "--bits", 4, "--epochs", 4, "--json", out, "--plot", png, "--backend", "cpu")
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert len(res["loss"]) == 4 and res["loss"][-1] < res["loss"][0]
    assert len(res["test_accuracy_per_epoch"]) == 4
    assert res["test_accuracy"] == res["test_accuracy_per_epoch"][-1] > 0.85
    assert res["bits"] == 4 and res["models"] == 10 and res["backend"] == "cpu"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "test accuracy" in r.stdout


def test_train_binarize_logreg_stochastic(files):
    out = files["dir"] / "b.json"
    r = zipml("train", "--train", files["tr"], "--test", files["te"], "--model", "logreg",
              "--bits", 1, "--rounding", "stochastic", "--binarize", 0, "--epochs", 10,
              "--json", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    res = json.loads(out.read_text())
    assert res["models"] == 1 and res["classes"] == [0.0]
    # digit 0 vs rest (91.5 % of the test set is "rest"): measured 0.985
    assert res["test_accuracy"] > 0.96


def test_train_regression_rmse(files):
    out, png = files["dir"] / "lr.json", files["dir"] / "lr.png"
    r = zipml("train", "--train", files["rtr"], "--test", files["rte"], "--model", "linreg",
              "--bits", 8, "--to-min1-1", "--epochs", 20, "--json", out, "--plot", png)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert len(res["loss"]) == 20 and res["loss"][-1] < res["loss"][0]
    y_test = np.array([float(line.split()[0]) for line in open(files["rte"])])
    baseline = float(np.sqrt(np.mean((y_test - y_test.mean()) ** 2)))   # predict the mean
    assert res["test_rmse"] < 0.9 * baseline
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("args,needle", [
    (["--train", "{dir}/missing.libsvm"], "training file not found"),
    (["--train", "{tr}", "--test", "{dir}/missing"], "test file not found"),
    (["--train", "{tr}", "--bits", "3"], "bits must be one of 0, 1, 2, 4, 8"),
    (["--train", "{tr}", "--epochs", "0"], "--epochs: expected a positive integer"),
    (["--train", "{tr}", "--epochs", "-3"], "--epochs: expected a positive integer"),
    (["--train", "{tr}", "--step-size", "0"], "--step-size: expected a positive number"),
    (["--train", "{tr}", "--step-size", "nan"], "--step-size: expected a positive number"),
    (["--train", "{tr}", "--model", "tree"], "invalid choice: 'tree'"),
    (["--train", "{tr}", "--binarize", "42"], "no training label has this value"),
    (["--train", "{tr}", "--json", "{dir}/no/such/dir/x.json"], "output directory"),
    (["--train", "{tr}", "--normalize", "none", "--bits", "2"], "features must lie in [0, 1]"),
    (["--train", "{te}.broken"], "line 2"),
    (["--train", "{tr}", "--backend", "pynq"], "bitstream is not installed"),
])
def test_train_bad_input_one_line_exit_2(files, args, needle):
    broken = files["dir"] / "digits.test.broken"
    if not broken.exists():
        broken.write_text("1 1:0.5\n2 3:x\n")
    args = [a.format(dir=files["dir"], tr=files["tr"], te=files["te"]) for a in args]
    r = zipml("train", *args, "--quiet")
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zipml train: error: "), r.stderr
    assert needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_no_command_and_unknown_command():
    r = zipml()
    assert r.returncode == 2 and "COMMAND" in r.stderr
    r = zipml("frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr


def test_console_script_entry_point():
    from importlib.metadata import entry_points
    eps = [e for e in entry_points(group="console_scripts") if e.name == "zipml"]
    assert eps and eps[0].value == "zipml.cli:main"


def test_train_without_scikit_learn(files):
    """A PYNQ 2.7 board installs the package with --no-deps and has no scikit-learn:
    `zipml train` (default --step-size auto) must not need it."""
    out = files["dir"] / "nosk.json"
    code = ("import sys; sys.modules['sklearn'] = None; from zipml.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "train", "--train", str(files["tr"]),
                        "--test", str(files["te"]), "--bits", "2", "--epochs", "2",
                        "--json", str(out), "--backend", "cpu"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "sklearn" not in r.stderr
    assert json.loads(out.read_text())["test_accuracy"] > 0.5
