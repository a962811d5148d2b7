"""Build script: the C extensions are built by cffi from ``cmodel/``.

Metadata lives in ``pyproject.toml``; this file only declares the cffi modules:
``zipml._zipml_c`` (the bit-exact engine, ``zipml/_cffi_build.py``) and ``zipml._libsvm`` (the
libsvm tokenizer, ``zipml/_libsvm_build.py``). Further cffi build scripts
go into ``CFFI_MODULES``; setuptools requires their ``sources`` to be paths relative to this
directory.
"""
from setuptools import setup

CFFI_MODULES = ["zipml/_cffi_build.py:ffibuilder", "zipml/_libsvm_build.py:ffibuilder"]

setup(cffi_modules=CFFI_MODULES)
