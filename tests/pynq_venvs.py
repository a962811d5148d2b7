"""Venvs with another pynq release for tests/test_hw_pynq.py (created once, cached).

``python_for("2.7.0")`` returns the interpreter of ``build/pynq-venvs/pynq-2.7.0/``, creating
the venv on first use with ``pip install pynq==<version>`` (plus ``pycparser<3``, which 2.7.0 and
3.0/3.1 need to install, numpy, cffi and pytest). The package under test is not installed
there: the tests run with ``PYTHONPATH`` at the checkout, whose C extensions (abi3) ``make
test`` has built. A file lock serialises creation between pytest workers; a failed install is
remembered in ``<venv>.failed`` (delete it to retry) so that it costs its time once.

Run as a script to create them ahead of the tests: ``python tests/pynq_venvs.py 2.7.0 4.0.0``.
"""
from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / "build" / "pynq-venvs"
#: what each venv gets besides pynq
EXTRA = ["pycparser<3", "cffi", "pytest", "setuptools>=61,<=80", "scikit-learn"]
#: numpy per pynq release: 2.7's PynqBuffer sets `.device`, which numpy 2 made read-only (the
#: PYNQ 2.7 image has numpy 1.20)
NUMPY = {"2.7.0": "numpy<2"}
last_error = ""


def _check(py: Path, version: str) -> bool:
    code = ("import warnings; warnings.simplefilter('ignore'); import pynq, sys; "
            f"sys.exit(pynq.__version__ != {version!r})")
    return subprocess.run([str(py), "-c", code], capture_output=True).returncode == 0


def python_for(version: str, timeout: float = 1800) -> Path | None:
    """The python of a venv with pynq ``version``; None (and :data:`last_error`) if it cannot
    be installed here."""
    global last_error
    VENVS.mkdir(parents=True, exist_ok=True)
    venv = VENVS / f"pynq-{version}"
    py = venv / "bin" / "python"
    failed = VENVS / f"pynq-{version}.failed"
    with open(VENVS / f".lock-{version}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if py.exists() and _check(py, version):
            return py
        if failed.exists():
            last_error = failed.read_text()[-2000:]
            return None
        shutil.rmtree(venv, ignore_errors=True)
        log = VENVS / f"pynq-{version}.log"
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                           capture_output=True, timeout=300)
            res = subprocess.run([str(py), "-m", "pip", "install", "-q", f"pynq=={version}",
                                  NUMPY.get(version, "numpy"), *EXTRA],
                                 capture_output=True, text=True, timeout=timeout)
            log.write_text(res.stdout + res.stderr)
            if res.returncode or not _check(py, version):
                raise RuntimeError(f"pip install pynq=={version} failed (exit "
                                   f"{res.returncode}): {res.stderr[-1500:]}")
        except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
            last_error = str(exc)
            failed.write_text(last_error)
            shutil.rmtree(venv, ignore_errors=True)
            return None
        return py


if __name__ == "__main__":
    ok = True
    for v in sys.argv[1:] or ["2.7.0", "4.0.0"]:
        p = python_for(v)
        print(f"pynq {v}: {p or 'FAILED: ' + last_error}")
        ok &= p is not None
    sys.exit(0 if ok else 1)
