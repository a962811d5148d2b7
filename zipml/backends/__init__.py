"""Where the engine runs: the narrow interface between the host code and an engine.

Every backend is an object with

``name`` : str
    ``"cpu"``, ``"sim"`` or ``"pynq"``.
``bits`` : int or None
    Precision the engine was built for (0 = float32, 1, 2, 4, 8); ``None`` for the CPU engine
    when it was created without one (it runs every precision).
``max_dim`` : int
    Largest ``num_features`` (bias included) the engine accepts (register ``MAX_DIM``).
``fifo_words`` : int or None
    Capacity of the sample FIFO in 64-bit words (register ``FIFO_WORDS``; ``None`` = the
    default size of ``zipml.spec.default_fifo_words`` for the run's precision).
``run(cfg, stream, model_init=None)`` -> :class:`zipml.config.EngineResult`
    One engine run of ``cfg.num_epochs`` epochs over ``stream`` (a ``uint64`` array: one epoch
    buffer, 1-D, streamed every epoch, or a 2-D ``(epochs, words)`` array, one buffer per
    epoch). Errors come back in the result (``result.raise_for_error()``).

:func:`get_backend` builds one by name: ``"cpu"`` is :class:`CpuBackend`; ``"sim"`` and
``"pynq"`` are :class:`zipml.hw.HwBackend` objects (the same driver, :class:`zipml.hw.EngineDriver`,
over the Verilated RTL or the board). :func:`register_backend` replaces a factory.
"""
from __future__ import annotations

import warnings
from typing import Callable, Protocol, runtime_checkable

from .. import spec
from .cpu import CpuBackend

__all__ = ["Backend", "CpuBackend", "get_backend", "register_backend", "board_available",
           "BACKEND_NAMES"]


@runtime_checkable
class Backend(Protocol):
    name: str
    bits: int | None
    max_dim: int
    fifo_words: int | None

    def run(self, cfg, stream, model_init=None):  # pragma: no cover - protocol
        ...


def _sim_factory(bits=None, **kw) -> Backend:
    from ..hw import sim_backend
    return sim_backend(bits, **kw)


def _pynq_factory(bits=None, **kw) -> Backend:
    from ..hw import pynq_backend
    return pynq_backend(bits, **kw)


_FACTORIES: dict[str, Callable[..., Backend]] = {
    "cpu": CpuBackend,
    "sim": _sim_factory,
    "pynq": _pynq_factory,
}

#: Names accepted by :func:`get_backend`.
BACKEND_NAMES = ("auto", "cpu", "sim", "pynq")


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    """Install (or replace) the factory of backend ``name``.

    ``factory(bits=..., **kw)`` must return an object with the interface described in this
    module's docstring. Used by the board driver and the simulation backend.
    """
    if name not in ("cpu", "sim", "pynq"):
        raise ValueError(f"backend name must be one of 'cpu', 'sim', 'pynq', got {name!r}")
    _FACTORIES[name] = factory


def board_available(refresh: bool = False) -> bool:
    """True when pynq is installed and finds an FPGA device (see
    :func:`zipml.hw.board.board_available`; the answer is cached)."""
    from ..hw.board import board_available as _available
    return _available(refresh)


def get_backend(name: str = "auto", bits: int | None = 0, **kw) -> Backend:
    """Build the backend ``name`` for precision ``bits``.

    Parameters
    ----------
    name : {"auto", "cpu", "sim", "pynq"}
        ``"cpu"``: the C engine (every precision, any machine). ``"sim"``: the RTL in
        simulation. ``"pynq"``: the FPGA through pynq (one bitstream per precision).
        ``"auto"``: the board when pynq finds one and its driver is available, else ``"cpu"``.
    bits : int or None
        Precision: 0 (float32), 1, 2, 4 or 8. ``None`` is accepted by ``"cpu"`` only (one
        object for every precision).
    **kw
        Passed to the backend factory (for ``"cpu"``: ``max_dim``, ``fifo_words``).

    Raises
    ------
    ValueError
        Unknown name or bad ``bits``.
    FileNotFoundError
        ``"pynq"``: the bitstream of ``bits`` is not installed (the message says how to build
        it with ``make_hw``).
    RuntimeError
        ``"pynq"`` off the board; ``"sim"`` when Verilator cannot build the RTL.
    """
    if not isinstance(name, str) or name not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {BACKEND_NAMES}, got {name!r}")
    if bits is not None:
        spec.check_bits(bits)
    if name == "auto":
        if board_available():
            try:
                return _FACTORIES["pynq"](bits=bits, **kw)
            except (NotImplementedError, FileNotFoundError) as exc:
                # e.g. the bitstream of this precision is not installed (the message says
                # how to build it)
                warnings.warn(f"a PYNQ board was found but {exc}. Falling back to the CPU "
                              f"engine.", RuntimeWarning, stacklevel=2)
        # the CPU engine takes only its own options (a pynq-only bitstream_dir/timeout
        # must not break the fallback)
        return _FACTORIES["cpu"](bits=bits, **{k: v for k, v in kw.items()
                                              if k in ("max_dim", "fifo_words")})
    if bits is None and name != "cpu":
        raise ValueError(f"backend {name!r} needs the precision: bits in {spec.PRECISIONS}")
    return _FACTORIES[name](bits=bits, **kw)
