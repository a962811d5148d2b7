"""The CPU backend: the bit-exact C engine (``zipml.cengine``) behind the backend interface."""
from __future__ import annotations

from .. import spec


class CpuBackend:
    """Run the engine specification in C on this machine.

    Parameters
    ----------
    bits : int or None
        Precision this backend stands for (like one bitstream), or ``None`` for all precisions.
        A run whose ``cfg.bits`` differs from ``bits`` is refused (``ValueError``), as the
        board would be running the wrong bitstream.
    max_dim : int
        ``MAX_DIM`` of the emulated engine (default: the board builds' size).
    fifo_words : int or None
        ``FIFO_WORDS``; ``None``: ``zipml.spec.default_fifo_words(bits, max_dim)``, the size
        every engine build uses.
    """

    name = "cpu"

    def __init__(self, bits: int | None = None, max_dim: int = spec.DEFAULT_MAX_DIM,
                 fifo_words: int | None = None):
        if bits is not None:
            spec.check_bits(bits)
        if not isinstance(max_dim, int) or not 1 <= max_dim <= spec.MAX_DIM_LIMIT:
            raise ValueError(f"max_dim must be an integer in 1..{spec.MAX_DIM_LIMIT}, "
                             f"got {max_dim!r}")
        if fifo_words is not None and (not isinstance(fifo_words, int) or fifo_words < 1):
            raise ValueError(f"fifo_words must be a positive integer or None, got {fifo_words!r}")
        self.bits = bits
        self.max_dim = max_dim
        self._fifo_words = fifo_words

    @property
    def fifo_words(self) -> int | None:
        if self._fifo_words is None and self.bits is not None:
            self._fifo_words = _default_fifo(self.bits, self.max_dim)
        return self._fifo_words

    def run(self, cfg, stream, model_init=None):
        """Run ``cfg`` over ``stream``; see :mod:`zipml.backends`."""
        from .. import cengine

        if self.bits is not None and cfg.bits != self.bits:
            raise ValueError(f"cpu backend built for bits={self.bits} cannot run a bits="
                             f"{cfg.bits} configuration")
        fifo = self.fifo_words if self.bits is not None else _default_fifo(cfg.bits,
                                                                           self.max_dim)
        return cengine.run_engine(cfg, stream, model_init=model_init, max_dim=self.max_dim,
                                  fifo_words=fifo)

    def __repr__(self):
        return f"CpuBackend(bits={self.bits}, max_dim={self.max_dim})"


_FIFO_CACHE: dict[tuple[int, int], int] = {}


def _default_fifo(bits: int, max_dim: int) -> int:
    key = (bits, max_dim)
    if key not in _FIFO_CACHE:
        _FIFO_CACHE[key] = spec.default_fifo_words(bits, max_dim)
    return _FIFO_CACHE[key]
