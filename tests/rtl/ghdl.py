"""Build and run one cocotb testbench with GHDL (VHDL-2008).

Every ``tests/rtl/test_*.py`` module holds both the cocotb coroutines and a pytest function that
calls :func:`run` on itself, so each bench runs on its own (``pytest tests/rtl/test_x.py``) or
inside the suite. Build directories live under ``build/sim/<name>``.
"""
from __future__ import annotations

import os
from pathlib import Path

from cocotb_tools.runner import get_runner

ROOT = Path(__file__).resolve().parents[2]
TESTS = Path(__file__).resolve().parent


def run(toplevel: str, sources, test_module: str, *, generics: dict | None = None,
        name: str | None = None, env: dict | None = None, testcase=None, waves: bool = False):
    """Analyse ``sources`` (paths, in order), elaborate ``toplevel`` and run ``test_module``.

    ``env`` is passed to the simulation (read it in the bench with ``os.environ``); use it for
    test sizes and seeds. Raises if any cocotb test fails.
    """
    generics = {k: _generic(v) for k, v in (generics or {}).items()}
    name = name or toplevel + "".join(f"_{k}{v}" for k, v in sorted(generics.items()))
    build_dir = ROOT / "build" / "sim" / name
    runner = get_runner("ghdl")
    runner.build(sources=[Path(s) for s in sources], hdl_toplevel=toplevel,
                 build_args=["--std=08", "-frelaxed"], parameters=generics,
                 build_dir=build_dir, always=True)
    extra_env = {"PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT),
                                               os.environ.get("PYTHONPATH", "")])}
    extra_env.update({k: str(v) for k, v in (env or {}).items()})
    results = runner.test(hdl_toplevel=toplevel, test_module=test_module,
                          test_args=["--std=08", "-frelaxed"], parameters=generics,
                          build_dir=build_dir, test_dir=build_dir, extra_env=extra_env,
                          testcase=testcase, waves=waves)
    _assert_passed(results)
    return results


def _generic(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def _assert_passed(results_xml):
    import xml.etree.ElementTree as ET
    tree = ET.parse(results_xml)
    cases = list(tree.iter("testcase"))
    failed = [c.get("name") for c in cases
              if c.find("failure") is not None or c.find("error") is not None]
    if not cases:
        raise AssertionError(f"no cocotb test ran ({results_xml})")
    if failed:
        raise AssertionError(f"cocotb tests failed: {failed} (see {results_xml})")
