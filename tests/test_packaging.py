"""The package as ``pip install .`` installs it, used from outside the checkout.

A fresh venv gets ``pip install --no-deps <checkout>`` (a regular, non-editable wheel build with
build isolation) plus numpy and cffi, the run-time dependencies of what is checked here
(scikit-learn, matplotlib and tqdm serve the estimators, plots and progress bars). From a
temporary working directory, with the build cache redirected there:

- the RTL sources and their manifest are package data (``zipml/_rtl``), not read from a
  checkout: ``zipml.rtl.CHECKOUT`` is False;
- ``zipml --version`` prints the package version;
- ``zipml synth --verilog-only`` runs GHDL on the installed RTL;
- ``ZipML_SGD(backend="sim")`` builds the Verilated engine from the installed RTL and harness
  and trains bit-identically to ``backend="cpu"``.

Slow (a wheel build, a venv, a GHDL synthesis and a Verilator build: a few minutes).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zipml

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import sys
import numpy as np
import zipml, zipml.rtl
from zipml import ZipML_SGD
assert not zipml.rtl.CHECKOUT, zipml.rtl.RTL_DIR
assert zipml.rtl.RTL_DIR.is_relative_to(sys.prefix), zipml.rtl.RTL_DIR
assert (zipml.rtl.RTL_DIR / "manifest.txt").is_file()
assert len(zipml.rtl.manifest(8, "sim")) >= 10
rng = np.random.default_rng(0)
X, y = rng.uniform(0, 1, (30, 10)), rng.choice([1.0, -1.0], 30)
out = {}
for backend in ("sim", "cpu"):
    Z = ZipML_SGD(bits=8, backend=backend, max_dim=64)
    Z.set_data(X, y)
    Z.a_quantize(8)
    out[backend] = Z.L2SVM_SGD(2, 2.0 ** -5, 1, 1, 0, 0)
    assert Z.backend().name == backend
assert out["sim"].shape == (11, 2) and np.array_equal(out["sim"], out["cpu"])
print("OK", zipml.__file__)
"""


@pytest.mark.skipif(not (shutil.which("verilator") and shutil.which("ghdl")),
                    reason="needs ghdl and verilator")
def test_pip_install_dot_works_outside_the_checkout(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(ZIPML_BUILD_DIR=str(tmp_path / "cache"), PATH=f"{venv / 'bin'}:{env['PATH']}")

    def run(*cmd, timeout=900):
        proc = subprocess.run([str(c) for c in cmd], cwd=work, env=env, capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
        return proc.stdout

    run(py, "-m", "pip", "install", "-q", "--no-deps", ROOT)
    run(py, "-m", "pip", "install", "-q", "numpy", "cffi")
    site = Path(run(py, "-c", "import zipml, os; print(os.path.dirname(zipml.__file__))")
                .strip())
    assert site.is_relative_to(venv) and not site.is_symlink()
    assert (site / "_rtl" / "manifest.txt").is_file() and not (site / "_rtl").is_symlink()
    assert (site / "hw" / "sim_harness.cpp").is_file()
    assert run(venv / "bin" / "zipml", "--version").strip() == f"zipml {zipml.__version__}"
    vfile = Path(run(venv / "bin" / "zipml", "synth", "--bits", "4", "--max-dim", "64",
                     "--verilog-only").strip())
    assert vfile.is_relative_to(tmp_path / "cache") and "module zipml_sgd_engine" in \
        vfile.read_text()
    assert run(py, "-c", CHECK).startswith("OK")


def test_version_option(capsys):
    from zipml import cli
    with pytest.raises(SystemExit) as ei:
        cli.main(["--version"])
    assert ei.value.code == 0
    assert capsys.readouterr().out.strip() == f"zipml {zipml.__version__}"
