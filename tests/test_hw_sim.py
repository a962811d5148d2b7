"""backend="sim": the project's RTL (ghdl synth -> Verilator) driven by zipml.hw.EngineDriver.

- sim vs cpu bit-equality after every epoch, every precision and loss, on scikit-learn's digits
  (binary through ZipML_SGD, one-vs-rest through ZipMLClassifier);
- the driver's own logic against the simulated engine through the interface the board uses:
  chunking at and around the DMA's maximum length, time-out, identity/version mismatch, STATUS
  errors surfacing as exceptions, cleanup after exceptions (allocation count), bad input
  (dimension above register MAX_DIM, data larger than the contiguous memory), a fixed number of
  device calls per epoch.

The simulation libraries are built once per precision at G_MAX_DIM = 8192 (the board builds'
size) and cached under build/verilator/ (the first run pays the Verilator builds, 20-60 s each).
A Q1 engine of G_MAX_DIM = 1024 checks S_d and the models of a small engine.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from sklearn.datasets import load_digits

from zipml import pack, spec
from zipml.backends import CpuBackend
from zipml.config import EngineConfig, EngineError
from zipml.hw import (DeviceMemoryError, DeviceTimeout, EngineDevice, EngineDriver,
                      EngineIdentityError, EngineTimeout, HwBackend)
from zipml.hw import sim

pytestmark = pytest.mark.skipif(not (shutil.which("verilator") and shutil.which("ghdl")),
                                reason="needs ghdl and verilator")

MAX_DIM = spec.DEFAULT_MAX_DIM
LOSSES = ("svm", "linreg", "logreg")


@pytest.fixture(scope="session")
def libs():
    """Build (or find) the simulation library of each precision once per session."""
    built = {}

    def get(bits):
        if bits not in built:
            built[bits] = sim.build_sim_library(bits, MAX_DIM)
        return built[bits]
    return get


@pytest.fixture
def small_sim(monkeypatch, libs):
    """backend="sim" at G_MAX_DIM = MAX_DIM for code that does not pass max_dim (estimators)."""
    monkeypatch.setattr(sim, "SIM_MAX_DIM", MAX_DIM)
    return libs


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float64), y


def _device(libs, bits, **kw):
    libs(bits)
    return sim.SimDevice(MAX_DIM, **kw)


def _trainer(backend, bits, X, y, **kw):
    from zipml.sgd import ZipML_SGD
    Z = ZipML_SGD(bits=bits, backend=backend, max_dim=MAX_DIM, seed=3, **kw)
    Z.set_data(X, y)
    Z.a_normalize(to_min1_1=0, row_or_column="c")
    if bits:
        Z.a_quantize(bits)
    return Z


def _train(Z, loss, epochs, step, **kw):
    if loss == "svm":
        return Z.L2SVM_SGD(epochs, step, 1.0, 1.0, kw.get("regularize", 0), 0, **_cb(kw))
    if loss == "linreg":
        return Z.LINREG_SGD(epochs, step, kw.get("regularize", 0), **_cb(kw))
    return Z.LOGREG_SGD(epochs, step, kw.get("regularize", 0), 0, **_cb(kw))


def _cb(kw):
    return {"callback": kw["callback"]} if "callback" in kw else {}


# --------------------------------------------------------------------------- bit-equality
@pytest.mark.parametrize("bits", spec.PRECISIONS)
@pytest.mark.parametrize("loss", LOSSES)
def test_sim_equals_cpu_binary(libs, digits, bits, loss):
    libs(bits)
    X, y = digits
    X, y = X[:90], y[:90]
    labels = np.where(y == 3, 1.0, -1.0) if loss != "linreg" else y / 9.0
    out = {}
    for backend in ("cpu", "sim"):
        Z = _trainer(backend, bits, X, labels)
        step = 2.0 ** -8 if loss == "linreg" else 2.0 ** -6     # no saturation
        out[backend] = (_train(Z, loss, 3, step), Z.last_result)
    (m_cpu, r_cpu), (m_sim, r_sim) = out["cpu"], out["sim"]
    assert m_sim.shape == (65, 3)
    for e in range(3):   # after every epoch
        np.testing.assert_array_equal(m_sim[:, e], m_cpu[:, e], err_msg=f"epoch {e}")
    assert (r_sim.samples, r_sim.staleness, r_sim.sat) == (r_cpu.samples, r_cpu.staleness,
                                                           r_cpu.sat)
    assert r_sim.words == 3 * 90 * spec.words_per_sample(bits, 65)
    assert r_sim.cycles >= r_sim.words


def test_small_max_dim_staleness_q1():
    """A Q1 engine of G_MAX_DIM = 1024: S_d from the latency budget, models equal the C engine.

    ghdl synth 2.0 used to truncate C_LATENCY_BUDGET (128) to the width of ``ww1`` in
    zipml_cfg_check.vhd at this size, so the netlist computed S_d = 2.
    """
    bits, n, d, max_dim = 1, 60, 100, 1024
    want = spec.staleness(bits, d)
    assert want > 2                            # the truncated comparison gave 2
    dev = sim.SimDevice(max_dim)
    drv = EngineDriver(dev, bits)
    assert dev.read_reg("MAX_DIM") == max_dim
    cfg = _cfg(bits, n, d)
    stream = _codes_stream(bits, n, d, seed=5)[0]
    r = drv.run(cfg, stream)
    assert r.error == 0
    assert dev.read_reg("STALENESS") == r.staleness == want
    ref = CpuBackend(bits, max_dim=max_dim, fifo_words=dev.read_reg("FIFO_WORDS")).run(cfg, stream)
    assert ref.staleness == want
    np.testing.assert_array_equal(r.models, ref.models)


@pytest.mark.parametrize("bits", [1, 8])
def test_sim_equals_cpu_options(libs, digits, bits):
    """Double sampling, regularisation, step decay, delay, epochwise (KEEP_MODEL) runs."""
    libs(bits)
    X, y = digits
    X, y = X[100:180], np.where(y[100:180] == 7, 1.0, -1.0)
    got = {}
    for backend in ("cpu", "sim"):
        Z = _trainer(backend, bits, X, y, delay=5, step_decay=0.5)
        Z.a_quantize(bits, rounding="stochastic", seed=1, double_sampling=True)
        a = _train(Z, "linreg", 2, 2.0 ** -5, regularize=2.0 ** -11)
        seen = []
        b = _train(Z, "svm", 3, 2.0 ** -6, callback=lambda e, m: seen.append(m.copy()))
        got[backend] = (a, b, np.array(seen))
    for x, w in zip(got["sim"], got["cpu"]):
        np.testing.assert_array_equal(x, w)


@pytest.mark.parametrize("bits", spec.PRECISIONS)
def test_sim_equals_cpu_one_vs_rest(small_sim, digits, bits):
    from zipml.estimators import ZipMLClassifier
    small_sim(bits)
    X, y = digits
    X, y = X[:120], y[:120]
    fits = {b: ZipMLClassifier(bits=bits, backend=b, epochs=2, random_state=0).fit(X, y)
            for b in ("cpu", "sim")}
    assert fits["sim"].coef_.shape == (10, 64)
    np.testing.assert_array_equal(fits["sim"].coef_, fits["cpu"].coef_)
    np.testing.assert_array_equal(fits["sim"].intercept_, fits["cpu"].intercept_)
    np.testing.assert_array_equal(fits["sim"].predict(X), fits["cpu"].predict(X))


# --------------------------------------------------------------------------- driver helpers
class Probe(EngineDevice):
    """Delegates to a SimDevice; counts calls; optional faults (the board's interface)."""

    name = "sim"

    def __init__(self, inner, *, reg_override=None, write_override=None, fail_on=None):
        self.inner = inner
        self.calls: list[tuple] = []
        self.reg_override = reg_override or {}
        self.write_override = write_override or {}
        self.fail_on = fail_on           # (method name, n-th call, exception)

    def _log(self, *what):
        self.calls.append(what)
        if self.fail_on and what[0] == self.fail_on[0]:
            n = sum(1 for c in self.calls if c[0] == what[0])
            if n == self.fail_on[1]:
                raise self.fail_on[2]

    def load(self, bits):
        self.inner.load(bits)

    def read(self, offset):
        self._log("read", offset)
        if offset in self.reg_override:
            return self.reg_override[offset]
        return self.inner.read(offset)

    def write(self, offset, value):
        self._log("write", offset, value)
        self.inner.write(offset, self.write_override.get(offset, value))

    @property
    def memory_capacity(self):
        return self.inner.memory_capacity

    def allocate(self, shape, dtype):
        return self.inner.allocate(shape, dtype)

    def free(self, buf):
        self.inner.free(buf)

    @property
    def max_transfer_bytes(self):
        return self.inner.max_transfer_bytes

    def send(self, buf, offset, count):
        self._log("send", offset, count)
        self.inner.send(buf, offset, count)

    def recv(self, buf, offset, count):
        self._log("recv", offset, count)
        self.inner.recv(buf, offset, count)

    def wait_send(self, timeout):
        self._log("wait_send")
        self.inner.wait_send(timeout)

    def wait_recv(self, timeout):
        self._log("wait_recv")
        return self.inner.wait_recv(timeout)

    def reset_dma(self):
        self._log("reset_dma")
        self.inner.reset_dma()


def _codes_stream(bits, n, d, seed=0, y=None):
    rng = np.random.default_rng(seed)
    if bits == 0:
        a = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
        a[:, 0] = 1.0
    else:
        L = 2 ** (bits - 1)
        a = rng.integers(0, L + 1, size=(n, d)).astype(np.uint8)
        a[:, 0] = L
    y = rng.choice([-1.0, 1.0], size=n) if y is None else y
    return pack.pack(a, y, bits), a, y


def _cfg(bits, n, d, **kw):
    return EngineConfig(bits=bits, num_samples=n, num_features=d, **{
        "num_epochs": 2, "loss": "svm", "step_size": 2.0 ** -5, "signed": True, **kw})


# --------------------------------------------------------------------------- chunking
@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_chunking_around_dma_max_length(libs, delta):
    bits, n, d = 2, 53, 40
    cfg = _cfg(bits, n, d)
    W = cfg.words_per_sample
    C = 7
    max_bytes = C * W * 8 + delta * 8          # one word below, at, one word above C samples
    probe = Probe(_device(libs, bits, max_transfer_bytes=max_bytes))
    drv = EngineDriver(probe, bits)
    stream, _, _ = _codes_stream(bits, n, d)
    r = drv.run(cfg, stream)
    want_c = C - 1 if delta < 0 else C
    assert r.extra["chunk_samples"] == want_c
    sends = [c for c in probe.calls if c[0] == "send"]
    lens = [c[2] for c in sends]
    per_epoch = -(-n // want_c)
    assert len(sends) == 2 * per_epoch
    assert max(lens) * 8 <= max_bytes and all(x % W == 0 for x in lens)
    assert lens[:per_epoch] == [want_c * W] * (n // want_c) + ([n % want_c * W] if n % want_c
                                                              else [])
    assert probe.calls.count(("write", spec.REG["CHUNK_SAMPLES"], want_c)) == 1
    ref = CpuBackend(bits, max_dim=MAX_DIM).run(cfg, stream)
    np.testing.assert_array_equal(r.models, ref.models)


def test_stream_gaps_do_not_change_models(libs):
    """The MM2S model idles 3 cycles after every word: same models, more cycles."""
    bits, n, d = 8, 40, 50
    cfg = _cfg(bits, n, d, num_epochs=2)
    stream = _codes_stream(bits, n, d, seed=4)[0]
    full = EngineDriver(_device(libs, bits), bits).run(cfg, stream)
    gappy = EngineDriver(_device(libs, bits, mm2s_gap=3), bits).run(cfg, stream)
    np.testing.assert_array_equal(gappy.models, full.models)
    np.testing.assert_array_equal(full.models, CpuBackend(bits).run(cfg, stream).models)
    assert gappy.words == full.words == 2 * n * cfg.words_per_sample
    assert gappy.cycles > 3 * full.words


def test_single_transfer_when_epoch_fits(libs):
    bits, n, d = 4, 30, 20
    cfg = _cfg(bits, n, d, chunk_samples=0)
    probe = Probe(_device(libs, bits, max_transfer_bytes=n * cfg.words_per_sample * 8))
    r = EngineDriver(probe, bits).run(cfg, _codes_stream(bits, n, d)[0])
    assert r.extra["chunk_samples"] == 0 and r.extra["transfers_per_epoch"] == 1


def test_sample_longer_than_dma_max(libs):
    bits, n, d = 4, 5, 200
    cfg = _cfg(bits, n, d)
    dev = _device(libs, bits, max_transfer_bytes=8 * (cfg.words_per_sample - 1))
    with pytest.raises(ValueError, match="one sample is .* maximum transfer length"):
        EngineDriver(dev, bits).run(cfg, _codes_stream(bits, n, d)[0])
    assert dev.allocations == 0


def test_calls_per_epoch_independent_of_n_and_d(libs):
    bits = 1
    counts = {}
    for n, d in ((20, 10), (200, 300)):
        for E in (2, 7):
            probe = Probe(_device(libs, bits))
            r = EngineDriver(probe, bits).run(_cfg(bits, n, d, num_epochs=E),
                                              _codes_stream(bits, n, d)[0])
            assert r.epochs_done == E
            counts[(n, d, E)] = len(probe.calls)
    per_epoch = {(n, d): (counts[(n, d, 7)] - counts[(n, d, 2)]) / 5 for n, d in
                 ((20, 10), (200, 300))}
    assert per_epoch[(20, 10)] == per_epoch[(200, 300)] <= 6, per_epoch


# --------------------------------------------------------------------------- errors
def test_timeout_resets_and_names_registers(libs):
    bits, n, d = 4, 40, 30
    dev = _device(libs, bits, s2mm_block=True)
    drv = EngineDriver(dev, bits, timeout=2e-5)
    with pytest.raises(EngineTimeout, match=r"S2MM.*STATUS=0x[0-9A-F]{8} \(BUSY.*EPOCH_COUNT=0, "
                                            r"SAMPLE_COUNT=\d+, WORDS=\d+") as ei:
        drv.run(_cfg(bits, n, d), _codes_stream(bits, n, d)[0])
    assert ei.value.registers["STATUS"] & 1          # was busy
    assert dev.live_buffers == 0
    assert dev.read_reg("STATUS") == 0               # soft reset: idle, no DONE
    # the same engine works again once the DMA is unstuck
    dev.set_faults(s2mm_block=False)
    cfg = _cfg(bits, n, d)
    stream = _codes_stream(bits, n, d)[0]
    np.testing.assert_array_equal(drv.run(cfg, stream).models,
                                  CpuBackend(bits, max_dim=MAX_DIM).run(cfg, stream).models)


def test_stuck_dma_times_out_in_bounded_wall_time(libs):
    """With the default 1 s time-out (100 M simulated cycles, minutes of wall time at the
    Verilated engine's speed) a stuck S2MM ends when the streams have stalled for
    stall_cycles; with the stall detector off, wall_timeout bounds the wait."""
    import time
    bits, n, d = 8, 40, 30
    for kw, pattern in (({}, r"no word moved on either stream for \d+ simulated cycles"),
                        ({"stall_cycles": 0, "wall_timeout": 0.5},
                         r"within 0\.5 s of wall time")):
        dev = _device(libs, bits, s2mm_block=True, **kw)
        drv = EngineDriver(dev, bits)                  # timeout=1.0 s simulated
        t0 = time.monotonic()
        with pytest.raises(EngineTimeout, match=r"S2MM transfer did not complete.*" + pattern):
            drv.run(_cfg(bits, n, d), _codes_stream(bits, n, d)[0])
        assert time.monotonic() - t0 < 15, kw
        assert dev.live_buffers == 0 and dev.read_reg("STATUS") == 0
        assert dev.cycles < 100_000_000 // 4             # far from the simulated budget


def test_ctrl_c_acts_within_a_slice(libs):
    """Ctrl-C during a long simulated wait: Python delivers it between two slices."""
    import signal
    import time
    bits, n, d = 8, 40, 30
    dev = _device(libs, bits, s2mm_block=True, stall_cycles=0)
    drv = EngineDriver(dev, bits, timeout=1.0)
    old = signal.signal(signal.SIGALRM, signal.default_int_handler)
    t0 = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            drv.run(_cfg(bits, n, d), _codes_stream(bits, n, d)[0])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - t0 < 3.0
    assert dev.live_buffers == 0 and dev.read_reg("STATUS") == 0


def test_engine_that_does_not_start(libs):
    bits = 4
    probe = Probe(_device(libs, bits), write_override={spec.REG["CTRL"]: 0})
    drv = EngineDriver(probe, bits)
    with pytest.raises(RuntimeError, match="did not start: STATUS after START reads"):
        drv.run(_cfg(bits, 10, 10), _codes_stream(bits, 10, 10)[0])
    assert probe.inner.live_buffers == 0
    assert not [c for c in probe.calls if c[0] == "send"]


@pytest.mark.parametrize("reg,value,match", [
    ("ID", 0xDEADBEEF, r"register ID \(offset 0x00\) reads 0xDEADBEEF"),
    ("VERSION", 0x00020000, r"register VERSION \(offset 0x04\) reads 0x00020000 \(spec 2\.0\.0\)"),
    ("VERSION", 0x00010100, r"spec 1\.1\.0"),
    ("CONFIG", 0x00000008, r"CONFIG .* a Q8 engine, but Q4"),
])
def test_identity_mismatch(libs, reg, value, match):
    probe = Probe(_device(libs, 4), reg_override={spec.REG[reg]: value})
    with pytest.raises(EngineIdentityError, match=match):
        EngineDriver(probe, 4)


def test_patch_version_accepted(libs):
    probe = Probe(_device(libs, 4), reg_override={spec.REG["VERSION"]: spec.VERSION_VALUE + 3})
    assert EngineDriver(probe, 4).version == (spec.VERSION_MAJOR, spec.VERSION_MINOR, 3)


@pytest.mark.parametrize("bits,bad", [(4, "label"), (0, "label"), (4, "code"), (0, "nan")])
def test_data_errors_surface(libs, bits, bad):
    n, d = 60, 25
    stream, a, y = _codes_stream(bits, n, d, seed=5)
    if bad == "label":
        y = y.copy()
        y[37] = 0.5
    elif bad == "code":
        a = a.copy()
        a[41, 3] = 15                          # > L = 8
    else:
        a = a.copy()
        a[41, 3] = np.nan
    stream = pack.pack(a, y, bits, validate=False)
    cfg = _cfg(bits, n, d, num_epochs=3, chunk_samples=16)
    dev = _device(libs, bits)
    backend = HwBackend("sim", EngineDriver(dev, bits))
    r = backend.run(cfg, stream)
    ref = CpuBackend(bits, max_dim=MAX_DIM).run(cfg, stream)
    code = spec.ERR["ERR_BAD_LABEL" if bad == "label" else "ERR_BAD_SAMPLE"]
    assert (r.error, r.error_info, r.samples) == (code, ref.error_info, ref.samples)
    assert ref.error == code and r.epochs_done == ref.epochs_done == 0
    with pytest.raises(EngineError, match=spec.ERROR_NAMES[code]):
        r.raise_for_error()
    assert dev.live_buffers == 0
    good = _codes_stream(bits, n, d, seed=6)[0]      # the engine runs again after the error
    np.testing.assert_array_equal(backend.run(cfg, good).models,
                                  CpuBackend(bits, max_dim=MAX_DIM).run(cfg, good).models)


def test_data_error_in_second_epoch_keeps_first_model(libs):
    bits, n, d = 2, 30, 12
    good, a, y = _codes_stream(bits, n, d, seed=2)
    y2 = y.copy()
    y2[4] = 3.0
    bad = pack.pack(a, y2, bits, validate=False)
    stream = np.stack([good, bad])
    cfg = _cfg(bits, n, d, num_epochs=2)
    r = EngineDriver(_device(libs, bits), bits).run(cfg, stream)
    ref = CpuBackend(bits, max_dim=MAX_DIM).run(cfg, stream)
    assert (r.error, r.error_info, r.epochs_done) == (spec.ERR["ERR_BAD_LABEL"], 4, 1)
    np.testing.assert_array_equal(r.models, ref.models)


def test_data_error_seen_late(libs):
    """The STATUS check after a transfer misses the error (the engine found it after the last
    word): the driver sends the next transfer, and still ends with the engine's error."""
    bits, n, d = 4, 48, 20
    stream, a, y = _codes_stream(bits, n, d, seed=5)
    y = y.copy()
    y[15] = 0.5                                       # last sample of the first transfer
    stream = pack.pack(a, y, bits, validate=False)
    cfg = _cfg(bits, n, d, num_epochs=2, chunk_samples=16)

    class Stale(Probe):
        def send(self, buf, offset, count):
            if offset:          # the DMA delivers one word of the next transfer, then stalls
                self.inner.set_faults(mm2s_gap=2 ** 31)
            super().send(buf, offset, count)

        def read(self, offset):
            v = super().read(offset)
            reads = sum(1 for c in self.calls if c == ("read", spec.REG["STATUS"]))
            if offset == spec.REG["STATUS"] and reads == 2:     # 1st read after a transfer
                return spec.field("STATUS", "BUSY", 1)
            return v
    probe = Stale(_device(libs, bits))
    r = EngineDriver(probe, bits, timeout=0.01).run(cfg, stream)
    ref = CpuBackend(bits).run(cfg, stream)
    assert (r.error, r.error_info, r.samples) == (ref.error, ref.error_info, ref.samples) == (
        spec.ERR["ERR_BAD_LABEL"], 15, 15)
    assert [c[1] for c in probe.calls if c[0] == "send"] == [0, 16 * cfg.words_per_sample]
    # the first wait on the second transfer timed out, STATUS showed the error: no time-out
    assert probe.calls.count(("wait_send",)) == 2
    assert probe.inner.live_buffers == 0


@pytest.mark.parametrize("engine_chunk,code", [(10, "ERR_TLAST_EARLY"), (3, "ERR_TLAST_MISSING")])
def test_tlast_errors(libs, engine_chunk, code):
    """The engine is told another CHUNK_SAMPLES than the driver sends with."""
    bits, n, d = 4, 24, 20
    probe = Probe(_device(libs, bits), write_override={spec.REG["CHUNK_SAMPLES"]: engine_chunk})
    r = EngineDriver(probe, bits).run(_cfg(bits, n, d, chunk_samples=5),
                                      _codes_stream(bits, n, d)[0])
    assert r.error == spec.ERR[code], spec.ERROR_NAMES.get(r.error)
    assert probe.inner.live_buffers == 0


def test_config_errors_before_any_dma(libs):
    bits = 4
    for kw, code in (({"reg_shift": 32}, "ERR_BAD_REG_SHIFT"), ({"num_epochs": 0},
                     "ERR_ZERO_EPOCHS"), ({"step_size": float("inf")}, "ERR_BAD_FLOAT_PARAM"),
                     ({"delay": 0}, "ERR_BAD_DELAY"), ({"loss": "svm", "num_samples": 0},
                                                       "ERR_ZERO_SAMPLES")):
        cfg = _cfg(bits, 10, 10).with_(**kw)
        probe = Probe(_device(libs, bits))
        r = EngineDriver(probe, bits).run(cfg, np.zeros(cfg.epoch_words, np.uint64))
        assert r.error == spec.ERR[code]
        assert r.error == CpuBackend(bits, max_dim=MAX_DIM).run(
            cfg, np.zeros(cfg.epoch_words, np.uint64)).error
        assert not [c for c in probe.calls if c[0] in ("send", "recv")]
        assert probe.inner.allocations == 0


# --------------------------------------------------------------------------- cleanup
@pytest.mark.parametrize("where,n_th", [("wait_send", 2), ("wait_recv", 1), ("send", 3)])
def test_cleanup_after_interrupt(libs, where, n_th):
    bits, n, d = 8, 40, 30
    probe = Probe(_device(libs, bits), fail_on=(where, n_th, KeyboardInterrupt()))
    drv = EngineDriver(probe, bits)
    cfg = _cfg(bits, n, d, num_epochs=3, chunk_samples=15)
    stream = _codes_stream(bits, n, d)[0]
    with pytest.raises(KeyboardInterrupt):
        drv.run(cfg, stream)
    assert probe.inner.allocations == 2 and probe.inner.live_buffers == 0
    assert ("write", spec.REG["CTRL"], spec.field("CTRL", "SOFT_RESET", 1)) in probe.calls
    assert probe.calls[-1] == ("reset_dma",)
    probe.fail_on = None
    np.testing.assert_array_equal(drv.run(cfg, stream).models,
                                  CpuBackend(bits, max_dim=MAX_DIM).run(cfg, stream).models)
    assert probe.inner.live_buffers == 0


# --------------------------------------------------------------------------- bad input
def test_dimension_above_register_max_dim(libs):
    dev = _device(libs, 1)
    drv = EngineDriver(dev, 1)
    assert drv.max_dim == MAX_DIM == dev.read_reg("MAX_DIM")
    cfg = _cfg(1, 4, MAX_DIM + 1)
    with pytest.raises(ValueError, match=rf"num_features={MAX_DIM + 1} .* register MAX_DIM "
                                         rf"\(offset 0x0C\) of the Q1 sim engine reads {MAX_DIM}"):
        drv.run(cfg, np.zeros(cfg.epoch_words, np.uint64))
    assert dev.allocations == 0


def test_data_larger_than_contiguous_memory(libs):
    bits, n, d = 4, 500, 60
    cfg = _cfg(bits, n, d, num_epochs=4)
    stream = _codes_stream(bits, n, d)[0]
    dev = _device(libs, bits, memory_bytes=stream.nbytes + 4 * 4 * d - 1)
    drv = EngineDriver(dev, bits)
    with pytest.raises(DeviceMemoryError, match=rf"needs {stream.nbytes + 4 * 4 * d} bytes .* "
                                                rf"has {stream.nbytes + 4 * 4 * d - 1} bytes"):
        drv.run(cfg, stream)
    assert dev.allocations == 0
    with pytest.raises(DeviceMemoryError):      # one buffer per epoch is 4x larger
        drv.run(cfg, np.stack([stream] * 4))
    assert dev.allocations == 0


def test_wrong_precision_and_stream_shape(libs):
    drv = EngineDriver(_device(libs, 2), 2)
    with pytest.raises(ValueError, match=r"Q2 \(CONFIG.BITS\), the configuration is for bits=4"):
        drv.run(_cfg(4, 3, 3), np.zeros(_cfg(4, 3, 3).epoch_words, np.uint64))
    with pytest.raises(ValueError, match="stream: expected shape"):
        drv.run(_cfg(2, 3, 3), np.zeros(5, np.uint64))
    with pytest.raises(ValueError, match="uint64"):
        drv.run(_cfg(2, 3, 3), np.zeros(_cfg(2, 3, 3).epoch_words, np.int64))
    with pytest.raises(ValueError, match="model_init: the engine can only keep the model it "
                                         "holds"):
        drv.run(_cfg(2, 3, 3, keep_model=True), np.zeros(6, np.uint64),
                model_init=np.ones(3, np.int32))


def test_idle_engine_takes_no_input(libs):
    """ENGINE.md 7.4: outside a run s_axis_tready is low - before the first START and after
    DONE the engine takes no word, so a stray transfer stays pending (and is counted nowhere)."""
    bits, n, d = 4, 12, 20
    dev = _device(libs, bits)
    drv = EngineDriver(dev, bits)           # loads the engine
    stream = _codes_stream(bits, n, d)[0]
    cfg = _cfg(bits, n, d, num_epochs=2)
    buf = dev.allocate(stream.shape, np.uint64)
    buf[:] = stream
    for when in ("before START", "after DONE"):
        dev.send(buf, 0, 4)
        with pytest.raises(DeviceTimeout):
            dev.wait_send(2e-5)
        words = 0 if when == "before START" else 2 * n * spec.words_per_sample(bits, d)
        assert dev.read_reg("WORDS_LO") == words, when
        dev.reset_dma()
        if when == "before START":      # one clean run, then try again after its DONE
            np.testing.assert_array_equal(
                drv.run(cfg, stream).models,
                CpuBackend(bits, max_dim=MAX_DIM).run(cfg, stream).models)
    dev.free(buf)
