"""The engine driver, written once above :class:`zipml.hw.device.EngineDevice`.

:class:`EngineDriver` checks the engine's identity, validates a run against the engine's own
registers, programs the parameter registers, starts the run, streams every epoch in DMA
transfers of whole samples, reads the models back into one preallocated buffer and checks
STATUS. The same code drives the board (:mod:`zipml.hw.pynq_driver`) and the simulated RTL
(:mod:`zipml.hw.sim`).

Per epoch the driver makes a fixed number of device calls that depends on neither the number of
samples nor the number of features (as long as an epoch fits in one DMA transfer; otherwise one
more send, wait and STATUS read per extra transfer): one S2MM ``recv``/``wait_recv`` for the
model, one ``send``/``wait_send`` per transfer, one STATUS read per transfer. The next epoch's
first transfer is started before the model of the current one is waited for, so the stream does
not pause while the model comes back. Models land in an ``(epochs, d)`` int32 buffer by DMA;
nothing loops over samples or features in Python.
"""
from __future__ import annotations

import time

import numpy as np

from .. import spec
from ..config import EngineConfig, EngineResult
from .device import DeviceMemoryError, DeviceTimeout, EngineDevice

_ERROR_LSB, _ERROR_WIDTH = spec.FIELDS[("STATUS", "ERROR")]
_BUSY = 1 << spec.FIELDS[("STATUS", "BUSY")][0]
_DONE = 1 << spec.FIELDS[("STATUS", "DONE")][0]
_SAT = 1 << spec.FIELDS[("STATUS", "SAT")][0]
_ERR_MASK = ((1 << _ERROR_WIDTH) - 1) << _ERROR_LSB
_START = spec.field("CTRL", "START", 1)
_SOFT_RESET = spec.field("CTRL", "SOFT_RESET", 1)


class EngineIdentityError(RuntimeError):
    """The loaded design is not the engine this driver speaks to (ID, VERSION or CONFIG)."""


class EngineTimeout(TimeoutError):
    """A transfer did not complete in time; the engine was soft-reset.

    Attributes
    ----------
    registers : dict
        STATUS, EPOCH_COUNT, SAMPLE_COUNT and WORDS read before the reset.
    """

    def __init__(self, msg: str, registers: dict):
        super().__init__(msg)
        self.registers = registers


def _status_text(st: int) -> str:
    err = (st >> _ERROR_LSB) & ((1 << _ERROR_WIDTH) - 1)
    flags = [n for n, m in (("BUSY", _BUSY), ("DONE", _DONE), ("SAT", _SAT)) if st & m]
    return (f"0x{st:08X} ({'|'.join(flags) or 'idle'}, ERROR={err} "
            f"{spec.ERROR_NAMES.get(err, '?')})")


class EngineDriver:
    """Drive one engine through an :class:`~zipml.hw.device.EngineDevice`.

    Parameters
    ----------
    device : EngineDevice
        Where the engine is (board or simulation).
    bits : int
        Precision; the device loads that engine, and the driver checks ``CONFIG.BITS``.
    timeout : float
        Base time-out in seconds of every DMA wait; each wait adds 40 ns per word it waits for
        (four times the board's one word per 10 ns cycle).

    Raises
    ------
    EngineIdentityError
        ``ID``, ``VERSION`` (major.minor) or ``CONFIG.BITS`` do not match this package.
    """

    def __init__(self, device: EngineDevice, bits: int, *, timeout: float = 1.0):
        spec.check_bits(bits)
        if not timeout > 0:
            raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
        self.device = device
        self.bits = bits
        self.timeout = float(timeout)
        device.load(bits)
        self._identify()
        self._held_model: np.ndarray | None = None
        #: Timing of the last run (seconds): ``setup`` (checks, allocation, copy, registers,
        #: START), ``loop`` (the epochs), ``wait`` (in DMA waits, i.e. the engine working),
        #: ``bus_sim`` (simulating register accesses; sim device only) and
        #: ``overhead_per_epoch`` = (loop - wait - bus_sim) / epochs: the driver's own time.
        self.last_timing: dict = {}

    # ------------------------------------------------------------------ identity
    def _identify(self) -> None:
        dev, where = self.device, f"{self.device.name} engine"
        ident = dev.read_reg("ID")
        if ident != spec.ID_VALUE:
            raise EngineIdentityError(
                f"{where}: register ID (offset 0x{spec.REG['ID']:02X}) reads 0x{ident:08X}, "
                f"expected 0x{spec.ID_VALUE:08X} (\"ZMLE\"): the loaded design is not a ZipML "
                f"SGD engine")
        ver = dev.read_reg("VERSION")
        got = (ver >> 16, (ver >> 8) & 0xFF, ver & 0xFF)
        if got[:2] != (spec.VERSION_MAJOR, spec.VERSION_MINOR):
            raise EngineIdentityError(
                f"{where}: register VERSION (offset 0x{spec.REG['VERSION']:02X}) reads "
                f"0x{ver:08X} (spec {'.'.join(map(str, got))}); this driver implements spec "
                f"{spec.VERSION_MAJOR}.{spec.VERSION_MINOR}.x: rebuild the engine "
                f"(./make_hw {self.bits}) or install the matching zipml version")
        config = dev.read_reg("CONFIG")
        b = spec.get_field("CONFIG", "BITS", config)
        if b != self.bits:
            raise EngineIdentityError(
                f"{where}: register CONFIG (offset 0x{spec.REG['CONFIG']:02X}) reads "
                f"0x{config:08X}: a Q{b} engine, but Q{self.bits} was requested")
        self.fp_xilinx = bool(spec.get_field("CONFIG", "FP_XILINX", config))
        self.max_dim = dev.read_reg("MAX_DIM")
        self.fifo_words = dev.read_reg("FIFO_WORDS")
        if not 1 <= self.max_dim <= spec.MAX_DIM_LIMIT:
            raise EngineIdentityError(f"{where}: register MAX_DIM reads {self.max_dim}, outside "
                                      f"1..{spec.MAX_DIM_LIMIT}")
        self.version = got

    # ------------------------------------------------------------------ helpers
    def _check_call(self, cfg: EngineConfig, stream):
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg: expected an EngineConfig, got {type(cfg).__name__}")
        if cfg.bits != self.bits:
            raise ValueError(f"{self.device.name} engine is Q{self.bits} (CONFIG.BITS), the "
                             f"configuration is for bits={cfg.bits}")
        for name in ("num_samples", "num_features", "num_epochs", "reg_shift", "delay",
                     "chunk_samples"):
            v = getattr(cfg, name)
            if not isinstance(v, (int, np.integer)) or not 0 <= v <= 0xFFFFFFFF:
                raise ValueError(f"{name} must be an integer in [0, 2^32) (32-bit register "
                                 f"{name.upper()}), got {v!r}")
        if cfg.num_features > self.max_dim:
            raise ValueError(
                f"num_features={cfg.num_features} exceeds the engine's maximum dimension: "
                f"register MAX_DIM (offset 0x{spec.REG['MAX_DIM']:02X}) of the Q{self.bits} "
                f"{self.device.name} engine reads {self.max_dim}")
        if not isinstance(stream, np.ndarray) or stream.dtype != np.uint64:
            raise ValueError(f"stream: expected a numpy.ndarray of uint64, got "
                             f"{getattr(stream, 'dtype', type(stream).__name__)}")

    def _plan(self, cfg: EngineConfig, stream: np.ndarray):
        """Chunk size and buffer sizes; every check before any allocation."""
        n, d, E = cfg.num_samples, cfg.num_features, cfg.num_epochs
        W = cfg.words_per_sample
        ew = n * W
        if stream.shape not in ((ew,), (E, ew)):
            raise ValueError(f"stream: expected shape ({ew},) (num_samples {n} x "
                             f"words_per_sample {W}) or ({E}, {ew}), got {stream.shape}")
        max_bytes = self.device.max_transfer_bytes
        max_samples = max_bytes // (8 * W)
        if max_samples < 1:
            raise ValueError(f"one sample is {W} words = {8 * W} bytes, more than the DMA's "
                             f"maximum transfer length of {max_bytes} bytes")
        if 4 * d > max_bytes:
            raise ValueError(f"the model frame of {d} words = {4 * d} bytes exceeds the DMA's "
                             f"maximum transfer length of {max_bytes} bytes")
        C = int(cfg.chunk_samples)
        if C == 0 and n > max_samples or C > max_samples:
            C = max_samples
        per = C if 0 < C < n else n
        need = stream.nbytes + E * d * 4
        cap = self.device.memory_capacity
        if need > cap:
            raise DeviceMemoryError(
                f"{self.device.name}: the run needs {need} bytes of contiguous memory (stream "
                f"{stream.nbytes} bytes = {stream.size} words, models {E} x {d} x 4 bytes), "
                f"the device has {cap} bytes available; use fewer samples or epochs, or pass "
                f"one epoch buffer (1-D stream) instead of one per epoch")
        starts = np.arange(0, n, per, dtype=np.int64)
        offs = [int(s) * W for s in starts]
        lens = [int(min(per, n - s)) * W for s in starts]
        return cfg.with_(chunk_samples=C), offs, lens, ew

    def _state(self) -> dict:
        dev = self.device
        regs = {k: dev.read_reg(k) for k in ("STATUS", "EPOCH_COUNT", "SAMPLE_COUNT")}
        lo = dev.read_reg("WORDS_LO")
        regs["WORDS"] = (dev.read_reg("WORDS_HI") << 32) | lo
        return regs

    def _reset(self) -> None:
        """Soft-reset the engine and both DMA channels (abandons transfers in flight)."""
        self._held_model = None
        try:
            self.device.write_reg("CTRL", _SOFT_RESET)
        finally:
            self.device.reset_dma()

    def _config_error_result(self, code, cfg):
        dev = self.device
        return EngineResult(models=np.zeros((0, cfg.num_features), np.int32), error=code,
                            staleness=dev.read_reg("STALENESS"),
                            samples=dev.read_reg("SAMPLE_COUNT"),
                            extra={"epoch_count": dev.read_reg("EPOCH_COUNT")})

    def _start(self, cfg: EngineConfig) -> int:
        """Write the parameter registers and START; return STATUS.ERROR (config errors)."""
        dev = self.device
        for name, value in cfg.registers().items():
            dev.write_reg(name, value)
        dev.write_reg("CTRL", _START)
        st = dev.read_reg("STATUS")
        err = (st >> _ERROR_LSB) & ((1 << _ERROR_WIDTH) - 1)
        if err:
            if st & _BUSY or err >= spec.FIRST_DATA_ERROR:
                self._reset()
                raise RuntimeError(f"{dev.name} engine: STATUS after START reads "
                                   f"{_status_text(st)}; expected a configuration error "
                                   f"with DONE")
            return err
        if not st & _BUSY:
            raise RuntimeError(f"{dev.name} engine did not start: STATUS after START reads "
                               f"{_status_text(st)}")
        return 0

    # ------------------------------------------------------------------ run
    def run(self, cfg: EngineConfig, stream: np.ndarray, model_init=None) -> EngineResult:
        """One engine run of ``cfg.num_epochs`` epochs over ``stream``.

        Parameters
        ----------
        cfg : EngineConfig
            The run's parameters (``cfg.bits`` must be the engine's precision). If an epoch
            is longer than the DMA's maximum transfer, ``chunk_samples`` is lowered to the
            largest number of whole samples that fits.
        stream : ndarray of uint64
            One epoch buffer ``(epoch_words,)`` streamed every epoch, or ``(num_epochs,
            epoch_words)``.
        model_init : array_like of int32, optional
            With ``cfg.keep_model``: the model the run starts from. The engine can only keep
            the model it holds, so this must equal the last model this driver read back.

        Returns
        -------
        EngineResult
            Configuration and data errors are reported in it (``raise_for_error()``).

        Raises
        ------
        ValueError
            ``num_features`` above register MAX_DIM, a stream of the wrong shape, a sample
            longer than the DMA's maximum transfer, ``model_init`` the engine does not hold.
        DeviceMemoryError
            The stream and models do not fit in the device's contiguous memory (raised before
            any allocation).
        EngineTimeout
            A transfer did not complete in time (the engine and the DMA were reset).
        """
        t0 = time.perf_counter()
        self._check_call(cfg, stream)
        dev = self.device
        if cfg.keep_model and model_init is not None:
            held = self._held_model
            mi = np.asarray(model_init)
            if held is None or mi.shape != held.shape or not np.array_equal(mi, held):
                raise ValueError("model_init: the engine can only keep the model it holds (the "
                                 "last model this driver read back); "
                                 + ("it holds no known model" if held is None else
                                    "model_init differs from it"))
        if cfg.config_error(self.max_dim, self.fifo_words):
            # The engine must refuse this configuration at START: no buffers, no DMA.
            code = self._start(cfg)
            if not code:
                self._reset()
                raise RuntimeError(f"{dev.name} engine accepted a configuration the spec "
                                   f"refuses (expected error "
                                   f"{cfg.config_error(self.max_dim, self.fifo_words)})")
            return self._config_error_result(code, cfg)
        cfg, offs, lens, ew = self._plan(cfg, stream)
        d, E = cfg.num_features, cfg.num_epochs
        per_epoch_stream = stream.ndim == 2
        K = len(offs)
        bufs = []
        try:
            inbuf = dev.allocate(stream.shape, np.uint64)
            bufs.append(inbuf)
            outbuf = dev.allocate((E, d), np.int32)
            bufs.append(outbuf)
            np.copyto(inbuf, stream)
            code = self._start(cfg)
            if code:
                return self._config_error_result(code, cfg)
            bus0 = getattr(dev, "bus_seconds", 0.0)
            t1 = time.perf_counter()
            result = self._epochs(cfg, inbuf, outbuf, offs, lens, ew, per_epoch_stream, K)
            t2 = time.perf_counter()
            wait = result.extra["wait_seconds"]
            bus = getattr(dev, "bus_seconds", 0.0) - bus0     # simulated bus cycles (sim)
            done = max(result.epochs_done, 1)
            self.last_timing = {"setup": t1 - t0, "loop": t2 - t1, "wait": wait,
                                "bus_sim": bus,
                                "overhead_per_epoch": (t2 - t1 - wait - bus) / done}
            result.extra["overhead_per_epoch"] = self.last_timing["overhead_per_epoch"]
            return result
        except BaseException:
            # Ctrl-C or any failure with the engine possibly running: stop it and the DMA.
            try:
                self._reset()
            except Exception:
                pass
            raise
        finally:
            for b in bufs:
                dev.free(b)

    def _wait_send(self, words: int, timeout: float) -> int:
        """Wait for the MM2S transfer; 0 when it completed, STATUS when the engine stopped.

        The first wait lasts twice the transfer's time at one word per cycle; only if the
        transfer is still running then is STATUS polled between further waits, so that a data
        error found after the STATUS check of the previous transfer (the engine then takes no
        more words) ends the run instead of running into the time-out.
        """
        dev = self.device
        first = min(timeout, 2 * words / 100e6 + 1e-4)
        try:
            dev.wait_send(first)
            return 0
        except DeviceTimeout:
            spent = first
        step = max(timeout / 64, 1e-4)
        while True:
            st = dev.read_reg("STATUS")
            if st & _ERR_MASK and not st & _BUSY:
                return st
            if spent >= timeout:
                raise DeviceTimeout(f"MM2S transfer did not complete within {timeout:g} s")
            try:
                dev.wait_send(min(step, timeout - spent))
                return 0
            except DeviceTimeout:
                spent += step

    def _epochs(self, cfg, inbuf, outbuf, offs, lens, ew, per_epoch_stream, K):
        dev = self.device
        d, E = cfg.num_features, cfg.num_epochs
        base_timeout = self.timeout
        per_word = 40e-9
        perf = time.perf_counter
        wait = 0.0
        error = 0
        send_pending = recv_pending = False
        status = 0
        e = k = 0
        try:
            dev.recv(outbuf, 0, d)
            recv_pending = True
            dev.send(inbuf, offs[0], lens[0])
            send_pending = True
            while True:
                tw = perf()
                stopped = self._wait_send(lens[k], base_timeout + per_word * lens[k])
                wait += perf() - tw
                if stopped:               # the engine ended the run (data error) mid-transfer
                    status = stopped
                    break
                send_pending = False
                if k + 1 < K:
                    status = dev.read_reg("STATUS")
                    if status & _ERR_MASK:
                        break
                    k += 1
                    dev.send(inbuf, e * ew * per_epoch_stream + offs[k], lens[k])
                    send_pending = True
                    continue
                if e + 1 < E:       # next epoch streams while this model comes back
                    dev.send(inbuf, (e + 1) * ew * per_epoch_stream + offs[0], lens[0])
                    send_pending = True
                tw = perf()
                got = dev.wait_recv(base_timeout + per_word * (lens[k] + d))
                wait += perf() - tw
                recv_pending = False
                status = dev.read_reg("STATUS")
                if status & _ERR_MASK:
                    break
                if got != d:
                    self._reset()
                    raise RuntimeError(f"{dev.name} engine: model frame of epoch {e} had "
                                       f"{got} words, expected {d} (tlast position)")
                e += 1
                k = 0
                if e == E:
                    break
                dev.recv(outbuf, e * d, d)
                recv_pending = True
            error = (status >> _ERROR_LSB) & ((1 << _ERROR_WIDTH) - 1)
            if error and recv_pending:
                # A data error: the engine drains to tlast and emits one frame (7.4).
                tw = perf()
                dev.wait_recv(base_timeout + per_word * (lens[k] + d))
                wait += perf() - tw
                recv_pending = False
                status = dev.read_reg("STATUS")
        except DeviceTimeout as exc:
            regs = self._state()
            self._reset()
            raise EngineTimeout(
                f"{dev.name} engine: {exc} (epoch {e}, transfer {k} of {K}); registers before "
                f"the soft reset: STATUS={_status_text(regs['STATUS'])}, EPOCH_COUNT="
                f"{regs['EPOCH_COUNT']}, SAMPLE_COUNT={regs['SAMPLE_COUNT']}, WORDS="
                f"{regs['WORDS']}; the engine and the DMA were reset", regs) from exc
        regs = self._state()
        info = dev.read_reg("ERROR_INFO") if error else 0
        staleness = dev.read_reg("STALENESS")
        lo = dev.read_reg("CYCLES_LO")
        cycles = (dev.read_reg("CYCLES_HI") << 32) | lo
        done = regs["EPOCH_COUNT"]
        st = regs["STATUS"]
        if send_pending or recv_pending:
            self._reset()                # a transfer of the next epoch is left over
        if not error and (done != E or st & _BUSY or not st & _DONE):
            self._reset()
            raise RuntimeError(f"{dev.name} engine: after {E} epochs STATUS reads "
                               f"{_status_text(st)}, EPOCH_COUNT={done}")
        if done > E:
            raise RuntimeError(f"{dev.name} engine: EPOCH_COUNT={done} > NUM_EPOCHS={E}")
        models = np.array(outbuf[:done])
        self._held_model = None if error else models[-1].copy()
        return EngineResult(models=models, error=error, error_info=info, sat=bool(st & _SAT),
                            staleness=staleness, samples=regs["SAMPLE_COUNT"], cycles=cycles,
                            words=regs["WORDS"],
                            extra={"epoch_count": done, "chunk_samples": cfg.chunk_samples,
                                   "transfers_per_epoch": K, "wait_seconds": wait})
