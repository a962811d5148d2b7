"""C unit tests of the engine (cmodel/tests/test_cmodel.c) through cmodel/Makefile.

* ``make -C cmodel asan``: the C tests under AddressSanitizer + UndefinedBehaviorSanitizer
  (any out-of-bounds access, leak or UB aborts the program);
* ``make -C cmodel test``: the plain -O2 build (on x86-64 this runs the AVX2 clones);
* ``make -C cmodel arm``: the engine compiles for the board's 32-bit ARM
  (Debian ``gcc-arm-linux-gnueabihf``);
* ``make -C cmodel arm-test``: the C tests run under ``qemu-arm`` (Debian ``qemu-user``) and
  produce the same model fingerprint as the native build (bit-identical engine).
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CMODEL = Path(__file__).resolve().parent.parent / "cmodel"


def make(target: str, out: str, timeout: int = 300) -> str:
    """Run one make target; ``out`` is the build directory (one per test: no races under
    pytest-xdist)."""
    p = subprocess.run(["make", "-C", str(CMODEL), f"OUT=build/{out}", target],
                       capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"make {target} failed (exit {p.returncode}):\n{out[-4000:]}"
    return out


def result_line(out: str) -> tuple[str, int]:
    m = re.search(r"fingerprint ([0-9a-f]{16})", out)
    r = re.search(r"test_cmodel: (\d+) checks, (\d+) failures", out)
    assert m and r, f"no test summary in the output:\n{out[-2000:]}"
    assert int(r.group(2)) == 0 and int(r.group(1)) > 1000
    p = re.findall(r"test_prep: (\d+) checks, (\d+) failures", out)   # the data path
    assert p and all(int(f) == 0 and int(c) > 1000 for c, f in p), out[-2000:]
    return m.group(1), int(r.group(1))


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None,
                               reason="gcc or make not installed (Debian packages gcc, make)")


@needs_gcc
def test_c_unit_tests_under_asan_ubsan():
    result_line(make("asan", "asan"))


@needs_gcc
def test_c_unit_tests_plain():
    result_line(make("test", "plain"))


@pytest.mark.skipif(shutil.which("arm-linux-gnueabihf-gcc") is None,
                    reason="ARM cross compiler not installed (Debian gcc-arm-linux-gnueabihf)")
def test_arm_build():
    assert "ARM build of the engine sources: OK" in make("arm", "arm")


@needs_gcc
@pytest.mark.skipif(shutil.which("arm-linux-gnueabihf-gcc") is None
                    or shutil.which("qemu-arm") is None,
                    reason="needs gcc-arm-linux-gnueabihf and qemu-user (qemu-arm)")
def test_arm_under_qemu_is_bit_identical():
    native_out = make("test", "qemu")
    native_fp, native_n = result_line(native_out)
    out = make("arm-test", "qemu")
    assert "(arm)" in out
    arm_fp, arm_n = result_line(out)
    # same models on both platforms (the check counts may differ: on AVX-512 hosts the native
    # run also checks the 16-lane unpack variants)
    assert arm_fp == native_fp
    assert arm_n <= native_n
    # the data path (zipml_prep.c: 128-bit PCG64 on two 64-bit halves on ARM) packs the same
    # streams on both
    native_prep = re.findall(r"prep fingerprint ([0-9a-f]{16})", native_out)
    arm_prep = re.findall(r"prep fingerprint ([0-9a-f]{16})", out)
    assert native_prep and native_prep == arm_prep
