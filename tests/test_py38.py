"""zipml/ stays valid Python 3.8, the Python of the PYNQ 2.7 board images (Ubuntu 20.04).

``pyproject.toml`` says ``requires-python = ">=3.8"``; the CI runs 3.11, so nothing else would
notice a 3.9+ construct. Three checks, each reporting ``file:line``:

* ``vermin -t=3.8-`` (the test extra installs it) over zipml/: library members and syntax newer
  than 3.8 (``str.removeprefix``, ``functools.cache``, ``math.lcm``, dict ``|``, ``match``, ...).
  Annotations are not evaluated (vermin's default, ``--no-eval-annotations``): every module
  has ``from __future__ import annotations``, so ``int | None`` or ``list[int]`` in an
  annotation is a string and fine on 3.8.
* an AST check for what that setting of vermin lets through: the same syntax *evaluated* at run
  time (``X = list[int]``, ``isinstance(v, int | float)``, a ``str | None`` default), and
  such annotations in a module without the ``__future__`` import.
* ``ast.parse(..., feature_version=(3, 8))`` (parenthesised context managers, ``match``).

Optionally (when a working ``python3.8`` is found: ``$ZIPML_PYTHON38``, ``python3.8`` on PATH or
a pyenv 3.8 install) every module is compiled by 3.8 and imported where its imports are
available there. The full suite under 3.8 is a manual run: see README.md "Requirements".
"""
from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "zipml"
SOURCES = sorted(p for p in PKG.rglob("*.py") if "notebooks" not in p.relative_to(PKG).parts)

# names whose subscription (``list[int]``) needs 3.9 when evaluated
_BUILTIN_GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}
# operands that make ``a | b`` a PEP 604 union (3.10) rather than an integer/array ``or``
_TYPE_NAMES = _BUILTIN_GENERICS | {"int", "float", "complex", "str", "bytes", "bool", "object",
                                   "bytearray"}


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------- AST check
def _is_typeish(node: ast.AST) -> bool:
    """True for an operand that makes ``|`` a type union: None, a builtin type, a subscripted
    builtin generic, or another such union."""
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    if isinstance(node, ast.Name) and node.id in _TYPE_NAMES:
        return True
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in _BUILTIN_GENERICS:
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _is_typeish(node.left) or _is_typeish(node.right)
    return False


def _new_typing_syntax(node: ast.AST):
    """(line, what) for every 3.9/3.10 typing construct inside ``node``."""
    for n in ast.walk(node):
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) \
                and n.value.id in _BUILTIN_GENERICS:
            yield n.lineno, f"builtin generic {n.value.id}[...] (Python 3.9)"
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) \
                and (_is_typeish(n.left) or _is_typeish(n.right)):
            yield n.lineno, "union type X | Y (Python 3.10)"


def _annotations(tree: ast.AST):
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = n.args
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None and a.annotation is not None:
                    yield a.annotation
            if n.returns is not None:
                yield n.returns
        elif isinstance(n, ast.AnnAssign):
            yield n.annotation


def runtime_typing_violations(source: str, filename: str) -> list[str]:
    """``file:line: what`` for typing syntax newer than 3.8 that 3.8 would evaluate.

    Annotations count only in a module without ``from __future__ import annotations``;
    everything else (assignments, defaults, ``isinstance`` arguments, ``cast``...) always.
    A call of ``typing.get_type_hints`` is reported too: it evaluates the annotations.
    """
    tree = ast.parse(source, filename)
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                 and any(a.name == "annotations" for a in n.names) for n in tree.body)
    ann_nodes = list(_annotations(tree))
    in_annotation = {id(m) for a in ann_nodes for m in ast.walk(a)}
    out = []
    if not future:
        for a in ann_nodes:
            out += [f"{filename}:{ln}: {what} in an annotation, without "
                    f"'from __future__ import annotations'" for ln, what in _new_typing_syntax(a)]
    for n in ast.walk(tree):
        if id(n) in in_annotation:
            continue
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) \
                and n.value.id in _BUILTIN_GENERICS:
            out.append(f"{filename}:{n.lineno}: builtin generic {n.value.id}[...] evaluated "
                       f"at run time (Python 3.9)")
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) \
                and (_is_typeish(n.left) or _is_typeish(n.right)):
            out.append(f"{filename}:{n.lineno}: union type X | Y evaluated at run time "
                       f"(Python 3.10)")
        elif isinstance(n, ast.Call) and (
                (isinstance(n.func, ast.Name) and n.func.id == "get_type_hints")
                or (isinstance(n.func, ast.Attribute) and n.func.attr == "get_type_hints")):
            out.append(f"{filename}:{n.lineno}: get_type_hints evaluates the annotations")
    return sorted(set(out), key=lambda s: (s.split(":")[0], int(s.split(":")[1]), s))


def test_ast_check_detects_runtime_typing_syntax():
    """The checker itself: each construct is reported with its line, the fine forms are not."""
    bad = textwrap.dedent("""\
        X = list[int]
        Y = int | None
        def f(v, t=str | None):
            return isinstance(v, int | float)
        Z = dict[str, tuple[int, ...]]
        from typing import get_type_hints
        get_type_hints(f)
        def g(a: list[int]) -> int | None:
            pass
        """)
    got = runtime_typing_violations(bad, "bad.py")
    lines = [int(v.split(":")[1]) for v in got]
    assert sorted(set(lines)) == [1, 2, 3, 4, 5, 7, 8], got
    assert any("without 'from __future__ import annotations'" in v for v in got), got
    fine = textwrap.dedent("""\
        from __future__ import annotations
        import numpy as np
        def g(a: list[int], b: dict[str, int] | None = None) -> tuple[int, ...] | None:
            x: set[int] | None = None
            flags = (a != b) | (a < 0)
            return flags | 3
        """)
    assert runtime_typing_violations(fine, "fine.py") == []


def test_no_runtime_typing_syntax_newer_than_38():
    bad = []
    for p in SOURCES:
        bad += runtime_typing_violations(p.read_text(), _rel(p))
    assert not bad, "not valid on Python 3.8 (PYNQ 2.7):\n" + "\n".join(bad)


def test_parses_with_38_grammar():
    bad = []
    for p in SOURCES:
        try:
            ast.parse(p.read_text(), _rel(p), feature_version=(3, 8))
        except SyntaxError as e:
            bad.append(f"{_rel(p)}:{e.lineno}: {e.msg}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------- vermin
def _vermin(*args: str) -> subprocess.CompletedProcess:
    pytest.importorskip("vermin", reason="vermin not installed (pip install -e '.[test]')")
    # --no-config-file: no setup.cfg/vermin.ini of some parent directory changes the rules
    cmd = [sys.executable, "-c", "import sys, vermin; sys.argv[0] = 'vermin'; "
           "sys.exit(vermin.main())", "--no-config-file", "-t=3.8-", "--violations",
           "--no-tips", "-q", "--format", "parsable", "--no-make-paths-absolute",
           "--no-eval-annotations", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _vermin_findings(r: subprocess.CompletedProcess) -> list[str]:
    # parsable: 'file:line:col:py2:py3:feature' per finding, a last line ':::py2:py3:'
    return [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(":")]


def test_vermin_detects_a_38_violation(tmp_path):
    """vermin, as called below, fails on a 3.9 member and names file and line."""
    f = tmp_path / "new.py"
    f.write_text("import math\n\nx = 'ab'.removeprefix('a')\ny = math.lcm(4, 6)\n")
    r = _vermin(str(f))
    found = _vermin_findings(r)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert any(":3:" in ln and "removeprefix" in ln for ln in found), r.stdout
    assert any(":4:" in ln and "lcm" in ln for ln in found), r.stdout


def test_vermin_zipml_targets_38():
    r = _vermin("zipml")
    found = _vermin_findings(r)
    assert r.returncode == 0 and not found, (
        "zipml/ uses Python > 3.8 (PYNQ 2.7 has 3.8); vermin file:line:col:py2:py3:feature:\n"
        + "\n".join(found) + "\n" + r.stderr)
    # it did look at the package: parsable output ends with the overall minimum versions
    assert r.stdout.strip().splitlines()[-1].startswith(":"), r.stdout


# ---------------------------------------------------------------------------- a real 3.8
_SMOKE = r"""
import importlib, json, sys
from pathlib import Path
root = Path(sys.argv[1])
out = {"version": list(sys.version_info[:3]), "compiled": 0, "imported": [], "missing": {},
       "errors": []}
for p in sorted((root / "zipml").rglob("*.py")):
    if "notebooks" in p.relative_to(root / "zipml").parts:
        continue
    try:
        compile(p.read_text(), str(p.relative_to(root)), "exec")
        out["compiled"] += 1
    except SyntaxError as e:
        out["errors"].append("%s:%s: %s" % (p.relative_to(root), e.lineno, e.msg))
sys.path.insert(0, str(root))
for p in sorted((root / "zipml").rglob("*.py")):
    rel = p.relative_to(root)
    if "notebooks" in rel.parts or p.name == "__main__.py":
        continue
    mod = ".".join(rel.with_suffix("").parts)
    if mod.endswith(".__init__"):
        mod = mod[: -len(".__init__")]
    try:
        importlib.import_module(mod)
        out["imported"].append(mod)
    except ImportError as e:
        # a third-party package, or a C extension not built for this interpreter
        name = getattr(e, "name", None) or ""
        if name.split(".")[0] != "zipml" or name in ("zipml._zipml_c", "zipml._libsvm"):
            out["missing"][mod] = "%s: %s" % (type(e).__name__, e)
        else:
            out["errors"].append("%s: %s: %s" % (mod, type(e).__name__, e))
    except Exception as e:
        import traceback
        tb = traceback.extract_tb(e.__traceback__)
        where = next((f for f in reversed(tb) if str(root) in f.filename), tb[-1])
        out["errors"].append("%s: %s:%s: %s: %s" % (mod, where.filename, where.lineno,
                                                     type(e).__name__, e))
print(json.dumps(out))
"""


def _python38():
    """A working Python 3.8 interpreter, or (None, why not)."""
    cands = [os.environ.get("ZIPML_PYTHON38"), shutil.which("python3.8")]
    cands += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    tried = []
    for c in cands:
        if not c:
            continue
        try:
            r = subprocess.run([c, "-c", "import sys; print(sys.version_info[:2] == (3, 8))"],
                               capture_output=True, text=True, timeout=30)
        except OSError as e:
            tried.append(f"{c}: {e}")
            continue
        if r.returncode == 0 and r.stdout.strip() == "True":
            return c, ""
        tried.append(f"{c}: {(r.stderr or r.stdout).strip().splitlines()[:1]}")
    return None, "; ".join(tried) or "no python3.8 on PATH, no $ZIPML_PYTHON38, no pyenv 3.8"


def test_smoke_under_python38():
    exe, why = _python38()
    if exe is None:
        pytest.skip(f"no working Python 3.8 interpreter ({why}); the static checks above "
                    "still run")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH="")
    r = subprocess.run([exe, "-c", _SMOKE, str(ROOT)], capture_output=True, text=True,
                       timeout=300, env=env, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["version"][:2] == [3, 8]
    assert not res["errors"], f"Python {res['version']} ({exe}):\n" + "\n".join(res["errors"])
    assert res["compiled"] == len(SOURCES)
    # the stdlib-only modules import even on a bare 3.8 (no numpy): spec is the root of all
    assert "zipml.spec" in res["imported"], res
