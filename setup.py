"""Build script: the C extensions are built by cffi from ``cmodel/``.

Metadata lives in ``pyproject.toml``; this file only declares the cffi modules:
``zipml._zipml_c`` (the bit-exact engine, ``zipml/_cffi_build.py``) and, when present,
``zipml._libsvm`` (the libsvm tokenizer, ``zipml/_libsvm_build.py``).
"""
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
CFFI_MODULES = ["zipml/_cffi_build.py:ffibuilder"]
if (HERE / "zipml" / "_libsvm_build.py").exists():
    CFFI_MODULES.append("zipml/_libsvm_build.py:ffibuilder")

setup(cffi_modules=CFFI_MODULES)
