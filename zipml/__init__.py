"""ZipML-PYNQ: SGD training of linear models on float32 or 8/4/2/1-bit data.

The engine of ``docs/ENGINE.md`` runs on a PYNQ board's FPGA, on the RTL in simulation, or as a
bit-exact C engine on any CPU. User-facing names (imported lazily, so ``import zipml`` stays
light)::

    from zipml import ZipML_SGD                          # the 2017 API
    from zipml import ZipMLClassifier, ZipMLRegressor    # scikit-learn estimators
    from zipml import load_libsvm, get_backend
"""
from __future__ import annotations

import importlib
import os

__version__ = "1.0.0"

#: Folder of the package's bitstreams, as in 2017 (a string ending in a path separator, so
#: ``ZipML_SGD(on_pynq=1, bitstreams_path=BITSTREAMS)`` and ``BITSTREAMS + "zipml_q4.bit"``
#: both work); the same folder as ``zipml.hw.board.BITSTREAM_DIR``.
BITSTREAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bitstreams", "")

_LAZY = {
    "ZipML_SGD": "zipml.sgd",
    "regularize_to_shift": "zipml.sgd",
    "ZipMLClassifier": "zipml.estimators",
    "ZipMLRegressor": "zipml.estimators",
    "load_libsvm": "zipml.data",
    "save_libsvm": "zipml.data",
    "get_backend": "zipml.backends",
    "EngineConfig": "zipml.config",
    "EngineResult": "zipml.config",
    "EngineError": "zipml.config",
}

__all__ = sorted(_LAZY) + ["__version__", "BITSTREAMS"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zipml' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
