"""The 2017 ZipML_SGD API end to end on small offline data (scikit-learn's digits, breast
cancer, diabetes), on the CPU engine; plus the backend selection."""
from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from zipml import backends, spec
from zipml.config import EngineConfig
from zipml.sgd import ZipML_SGD, regularize_to_shift


def write_libsvm(path, X, y):
    """Minimal libsvm writer (1-based indices, zeros omitted), independent of zipml.data."""
    with open(path, "w") as f:
        for row, label in zip(X, y):
            feats = " ".join(f"{j + 1}:{v:.9g}" for j, v in enumerate(row) if v != 0)
            f.write(f"{label:g} {feats}\n")


@pytest.fixture(scope="module")
def digits_files(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    d = tmp_path_factory.mktemp("digits")
    write_libsvm(d / "train", X[:1400], y[:1400])
    write_libsvm(d / "test", X[1400:], y[1400:])
    return d / "train", d / "test", 1400, len(y) - 1400


def cpu(bits=0, **kw):
    return ZipML_SGD(bits=bits, backend="cpu", **kw)


# --------------------------------------------------------------------------- 2017 flow
@pytest.mark.parametrize("bits", [0, 4, 1])
def test_digits_one_vs_rest_2017_flow(digits_files, bits):
    train, test, n_train, n_test = digits_files
    Z = cpu()
    Z.load_libsvm_data(str(train), n_train, 64)
    assert Z.a.shape == (n_train, 65) and Z.num_features == 65 and Z.num_samples == n_train
    assert np.all(Z.a[:, 0] == 1.0)                     # bias column
    Z.a_normalize(to_min1_1=0, row_or_column="r")
    if bits:
        Z.a_quantize(quantization_bits=bits, rounding="stochastic" if bits == 1 else "nearest",
                     seed=1)
    epochs = 5
    xs = np.zeros((Z.num_features, 10))
    for c in range(10):
        Z.b_binarize(c)
        hist = Z.L2SVM_SGD(epochs, 1.0 / 256, 1.0, 1.0, 0, 1)
        assert hist.shape == (65, epochs) and hist.dtype == np.float64
        l0 = Z.calculate_L2SVM_loss(np.zeros(Z.num_features), 1.0, 1.0, 0, 1)
        assert Z.calculate_L2SVM_loss(hist[:, -1], 1.0, 1.0, 0, 1) < 0.5 * l0
        xs[:, c] = hist[:, -1]
    train_matches = Z.multi_classification(xs, list(range(10)))
    Z.load_libsvm_data(str(test), n_test, 64)
    Z.a_normalize(to_min1_1=0, row_or_column="r")
    matches = Z.multi_classification(xs, list(range(10)))
    assert isinstance(matches, int)
    # measured (5 epochs, step 1/256, 397 test samples): Q0 0.947, Q4 0.942, Q1 (stochastic)
    # 0.932 test accuracy; training accuracy 0.93..0.96
    assert matches / n_test > 0.90, (bits, matches, n_test)
    assert train_matches / n_train > 0.90


def test_sgd_fpga_equals_l2svm_sgd_and_binary_classification(digits_files):
    train, _, n, _ = digits_files
    Z = cpu(bits=0)
    Z.load_libsvm_data(str(train), n, 64)
    Z.a_normalize(0, "c")
    Z.b_binarize(3)
    h1 = Z.L2SVM_SGD(3, 1.0 / 128, 1.0, 1.5, 0, 1)
    Z.configure_SGD_FPGA(3, 1.0 / 128, 1.0, 1.5, 1, 3)
    h2 = Z.SGD_FPGA(3)
    assert h2.shape == (65, 3)
    np.testing.assert_array_equal(h1, h2)
    m0 = Z.binary_classification(np.zeros(65))
    m = Z.binary_classification(h2[:, -1])
    assert m0 == 0        # every dot product is exactly 0: no match (as in 2017)
    assert m > m0 and m / n > 0.95


def test_linreg_diabetes_and_cost_minus_one_convention():
    X, y = load_diabetes(return_X_y=True)
    Z = cpu()
    Z.set_data(X, y)
    Z.a_normalize(1, "c")
    Z.b_normalize(1)
    assert -1 <= Z.b.min() and Z.b.max() <= 1
    hist = Z.LINREG_SGD(8, 1.0 / 32, 0)
    assert hist.shape == (11, 8)
    losses = [Z.calculate_LINREG_loss(hist[:, e], 0) for e in range(8)]
    l0 = Z.calculate_LINREG_loss(np.zeros(11), 0)
    assert losses[-1] < 0.6 * l0 and losses[-1] <= losses[0]
    # 2017: configure_SGD_FPGA with cost_pos = cost_neg = -1 selects linear regression
    Z.configure_SGD_FPGA(8, 1.0 / 32, -1, -1, 0, 0)
    np.testing.assert_array_equal(Z.SGD_FPGA(8), hist)


def test_logreg_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    Z = cpu(bits=8)
    Z.set_data(X, y)
    Z.a_normalize(0, "c")
    Z.a_quantize(8)
    Z.b_binarize(1)
    hist = Z.LOGREG_SGD(10, 1.0 / 16, 0, 1)
    assert hist.shape == (31, 10)
    l0 = Z.calculate_LOGREG_loss(np.zeros(31), 0, 1)
    assert np.isclose(l0, len(y) * np.log(2))
    assert Z.calculate_LOGREG_loss(hist[:, -1], 0, 1) < 0.4 * l0
    # measured ~0.96 training accuracy
    assert Z.binary_classification(hist[:, -1]) / len(y) > 0.92


def test_loss_values_by_hand():
    Z = cpu()
    Z.set_data(np.array([[0.5], [1.0]]), np.array([1.0, -1.0]))
    x = np.array([0.25, 1.0])              # dots: 0.75, 1.25
    # hinge margins 0.25 (pos, cost 2) and 2.25 (neg, cost 3); ||x||^2 = 1.0625
    want = 0.5 * 2 * 0.25 ** 2 + 0.5 * 3 * 2.25 ** 2 + 0.5 * 0.1 * 1.0625
    assert Z.calculate_L2SVM_loss(x, 2.0, 3.0, 0.1, 0) == pytest.approx(want, rel=1e-12)
    want = ((0.75 - 1) ** 2 + (1.25 + 1) ** 2) / 4
    assert Z.calculate_LINREG_loss(x, 0) == pytest.approx(want, rel=1e-12)
    want = np.log1p(np.exp(-0.75)) + np.log1p(np.exp(1.25))
    assert Z.calculate_LOGREG_loss(x, 0, 0) == pytest.approx(want, rel=1e-12)


# --------------------------------------------------------------------------- regularisation
def test_regularize_to_shift_mapping():
    assert regularize_to_shift(0.01, 0) == (0, 0.0, True)
    r, eff, exact = regularize_to_shift(2.0 ** -6, 2.0 ** -4)    # step*lambda = 2^-10
    assert (r, eff, exact) == (10, 2.0 ** -4, True)
    r, eff, exact = regularize_to_shift(0.01, 0.01)                # 1e-4: r = 13, 2^-13/0.01
    assert r == 13 and eff == pytest.approx(2 ** -13 / 0.01) and not exact
    assert regularize_to_shift(0.5, 100.0)[0:3:2] == (1, False)    # clamped at 1
    assert regularize_to_shift(2.0 ** -20, 2.0 ** -20)[0:3:2] == (31, False)  # clamped at 31
    r, eff, exact = regularize_to_shift(0.1, 0.1 * 1.005 * 2 ** -4 / 0.1 / 0.1)
    assert exact and r == 4                                        # within 1 %
    with pytest.raises(ValueError, match="regularize"):
        regularize_to_shift(0.1, -1.0)


class Capture:
    """A backend wrapper that records the configurations it runs."""

    def __init__(self, inner):
        self.inner, self.cfgs, self.streams = inner, [], []
        self.name, self.bits, self.max_dim = inner.name, inner.bits, inner.max_dim
        self.fifo_words = inner.fifo_words

    def run(self, cfg, stream, model_init=None):
        self.cfgs.append(cfg)
        self.streams.append(stream)
        return self.inner.run(cfg, stream, model_init=model_init)


def test_regularize_reaches_engine_and_warns():
    X, y = load_breast_cancer(return_X_y=True)
    Z = cpu()
    Z.set_data(X, y)
    Z.a_normalize(0, "c")
    Z.b_binarize(1)
    cap = Capture(Z.backend())
    Z._backends[0] = cap
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h_exact = Z.L2SVM_SGD(3, 2.0 ** -6, 1, 1, 2.0 ** 2, 1)     # 2^-6 * 2^2 = 2^-4
    assert cap.cfgs[-1].reg_shift == 4
    with pytest.warns(UserWarning, match="REG_SHIFT=13"):
        Z.L2SVM_SGD(3, 0.01, 1, 1, 0.01, 1)
    assert cap.cfgs[-1].reg_shift == 13
    h_free = Z.L2SVM_SGD(3, 2.0 ** -6, 1, 1, 0, 1)
    assert cap.cfgs[-1].reg_shift == 0
    assert np.linalg.norm(h_exact[:, -1]) < np.linalg.norm(h_free[:, -1])


# --------------------------------------------------------------------------- buffers
def test_one_pack_for_all_classes_and_epochs(monkeypatch):
    from zipml import prep
    calls = []
    real = prep.pack_samples
    monkeypatch.setattr(prep, "pack_samples", lambda *a, **k: calls.append(1) or real(*a, **k))
    X, y = load_digits(return_X_y=True)
    Z = cpu(bits=2)
    Z.set_data(X[:300], y[:300])
    Z.a_normalize(0, "c")
    Z.a_quantize(2, rounding="stochastic", seed=3)
    cap = Capture(Z.backend())
    Z._backends[2] = cap
    for c in range(10):
        Z.b_binarize(c)
        Z.L2SVM_SGD(2, 1.0 / 64, 1, 1, 0, 1)
    assert len(calls) == 1
    assert all(s is cap.streams[0] for s in cap.streams)
    assert [c.binarize_value for c in cap.cfgs] == list(range(10))
    assert all(c.binarize and c.bits == 2 and not c.signed for c in cap.cfgs)
    assert cap.streams[0].ndim == 1      # one epoch buffer, streamed every epoch


def test_redraw_gives_one_buffer_per_epoch_and_double_sampling():
    X, y = load_diabetes(return_X_y=True)
    Z = cpu()
    Z.set_data(X, y)
    Z.a_normalize(1, "c")
    Z.b_normalize(1)
    Z.a_quantize(4, rounding="stochastic", seed=5, redraw=True, double_sampling=True)
    cap = Capture(Z.backend())
    Z._backends[4] = cap
    h = Z.LINREG_SGD(4, 1.0 / 256, 0)
    s = cap.streams[-1]
    cfg = cap.cfgs[-1]
    assert cfg.double_sampling and cfg.signed
    assert s.shape == (4, cfg.epoch_words)
    assert not np.array_equal(s[0], s[1])           # a new draw every epoch
    assert Z.calculate_LINREG_loss(h[:, -1], 0) < Z.calculate_LINREG_loss(np.zeros(11), 0)


def test_epochwise_callback_is_bit_identical():
    X, y = load_breast_cancer(return_X_y=True)
    Z = cpu(bits=4, step_decay=0.75)
    Z.set_data(X, y)
    Z.a_normalize(0, "c")
    Z.b_binarize(0)
    seen = []
    h1 = Z.L2SVM_SGD(4, 1.0 / 64, 1, 2, 0, 1, callback=lambda e, m: seen.append((e, m)))
    h2 = Z.L2SVM_SGD(4, 1.0 / 64, 1, 2, 0, 1)
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_array_equal(np.stack([m for _, m in seen], axis=1), h2)


def test_matches_python_reference_of_the_spec():
    """The whole host path (normalise, quantize, pack, configure) feeds the C engine exactly
    what the slow reference engine gets, and both agree bit for bit."""
    from zipml.reference import run_reference
    X, y = load_breast_cancer(return_X_y=True)
    Z = cpu(bits=2)
    Z.set_data(X[:40, :6], y[:40])
    Z.a_normalize(1, "r")
    Z.a_quantize(2, rounding="stochastic", seed=9)
    Z.b_binarize(1)
    cap = Capture(Z.backend())
    Z._backends[2] = cap
    h = Z.L2SVM_SGD(2, 1.0 / 4, 1, 1, 2.0 ** -3 * 4, 1)
    ref = run_reference(cap.cfgs[-1], cap.streams[-1])
    np.testing.assert_array_equal(ref.models_float(), h)


# --------------------------------------------------------------------------- bad input
def test_bad_input_errors(tmp_path):
    X, y = load_digits(return_X_y=True)
    Z = cpu()
    with pytest.raises(RuntimeError, match="load_libsvm_data"):
        Z.L2SVM_SGD(1, 0.1, 1, 1, 0, 0)
    Z.set_data(X[:50], y[:50])
    with pytest.raises(ValueError, match=r"svm needs labels \+1/-1.*0\.0, 2\.0"):
        Z.L2SVM_SGD(1, 0.1, 1, 1, 0, 0)
    with pytest.raises(ValueError, match="logreg needs labels"):
        Z.LOGREG_SGD(1, 0.1, 0, 0)
    with pytest.raises(ValueError, match="b_binarize"):
        Z.L2SVM_SGD(1, 0.1, 1, 1, 0, 1)
    Z.b_binarize(1)
    for kw, msg in (((0, 0.1), "num_epochs"), ((2.5, 0.1), "num_epochs"),
                    ((1, 0.0), "step_size"), ((1, -1.0), "step_size"),
                    ((1, float("nan")), "step_size")):
        with pytest.raises(ValueError, match=msg):
            Z.L2SVM_SGD(*kw, 1, 1, 0, 1)
    with pytest.raises(ValueError, match="regularize"):
        Z.L2SVM_SGD(1, 0.1, 1, 1, -0.5, 1)
    with pytest.raises(ValueError, match="bits must be one of"):
        Z.a_quantize(3)
    with pytest.raises(ValueError, match="bits must be one of"):
        ZipML_SGD(bits=16, backend="cpu")
    with pytest.raises(ValueError, match=r"sample 0, feature column \d+ is outside \[0, 1\]"
                                         r".*a_normalize"):
        Z.a_quantize(4)                       # pixels 0..16 not normalised
    Xbig = X[:10].copy()
    Xbig[3, 5] = 300.0
    Z.set_data(Xbig, y[:10])
    Z.b_binarize(1)
    with pytest.raises(ValueError, match=r"300.0 at sample 3, feature column 6.*Q8\.23"):
        Z.L2SVM_SGD(1, 0.1, 1, 1, 0, 1)
    Xnan = X[:10].copy()
    Xnan[2, 1] = np.nan
    with pytest.raises(ValueError, match="nan at sample 2, feature 1"):
        Z.set_data(Xnan, y[:10])
    with pytest.raises(ValueError, match="shape"):
        Z.set_data(X[:10], y[:9])
    small = ZipML_SGD(backend="cpu", max_dim=32)
    small.set_data(X[:10] / 16, y[:10])
    small.b_binarize(1)
    with pytest.raises(ValueError, match="65 features .* maximum dimension 32"):
        small.L2SVM_SGD(1, 0.1, 1, 1, 0, 1)
    with pytest.raises(ValueError, match="xs must have shape"):
        small.multi_classification(np.zeros((64, 10)), list(range(10)))
    with pytest.raises(OSError):
        Z.load_libsvm_data(str(tmp_path / "missing.libsvm"), 10, 64)


# --------------------------------------------------------------------------- backends
def test_backend_selection_off_board(monkeypatch):
    b = backends.get_backend("cpu", bits=4)
    assert b.name == "cpu" and b.max_dim == spec.DEFAULT_MAX_DIM
    assert b.fifo_words == spec.default_fifo_words(4, spec.DEFAULT_MAX_DIM)
    # no bitstreams installed here: the pynq backend says how to build one (backend="sim" is
    # tested in tests/test_hw_sim.py)
    with pytest.raises(FileNotFoundError, match=r"\./make_hw 0"):
        backends.get_backend("pynq", bits=0)
    with pytest.raises(ValueError, match="backend must be one of"):
        backends.get_backend("gpu")
    with pytest.raises(ValueError, match="bits must be one of"):
        backends.get_backend("cpu", bits=5)
    # pynq 4.0 installed here, no device: auto -> cpu
    assert backends.board_available(refresh=True) is False
    assert backends.get_backend("auto", bits=0).name == "cpu"
    # pynq not installed at all
    monkeypatch.setitem(sys.modules, "pynq", None)
    assert backends.board_available(refresh=True) is False
    # pynq raising like 4.0 does when asked for a device off-board
    fake = types.ModuleType("pynq")
    fake.Device = type("D", (), {"devices": property(lambda s: (_ for _ in ()).throw(
        RuntimeError("No Devices Found")))})()
    monkeypatch.setitem(sys.modules, "pynq", fake)
    assert backends.board_available(refresh=True) is False
    # a board that is found, while the pynq driver is not there yet: warn, use cpu
    fake.Device = types.SimpleNamespace(devices=["xc7z020"])
    assert backends.board_available(refresh=True) is True
    with pytest.warns(RuntimeWarning, match="Falling back to the CPU engine"):
        assert backends.get_backend("auto", bits=0).name == "cpu"
    monkeypatch.undo()
    assert backends.board_available(refresh=True) is False


def test_cpu_backend_refuses_wrong_precision():
    b = backends.get_backend("cpu", bits=4)
    cfg = EngineConfig(bits=8, num_samples=1, num_features=2)
    with pytest.raises(ValueError, match="bits=4 cannot run a bits=8"):
        b.run(cfg, np.zeros(2, dtype=np.uint64))


def test_top_level_names():
    import zipml
    from zipml import ZipML_SGD as Z2, ZipMLClassifier, ZipMLRegressor  # noqa: F401
    assert Z2 is ZipML_SGD and zipml.get_backend is backends.get_backend
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        zipml.nope


def test_2017_constructor_arguments():
    with pytest.warns(DeprecationWarning, match="bitstreams_path, ctrl_base, dma_base"):
        Z = ZipML_SGD(on_pynq=0, bitstreams_path="/x", ctrl_base=0x41200000,
                      dma_base=0x40400000, dma_buffer_size=32 * 1024 * 1024)
    assert Z.backend_name == "cpu" and Z.backend().name == "cpu"
    # on_pynq=1 off the board: a clear error that says what to pass instead (on the simulated
    # board in tests/test_hw_pynq.py it trains there, bitstreams_path honoured)
    from zipml.hw.board import BoardNotFound
    with pytest.raises(BoardNotFound, match=r"ZipML_SGD\(on_pynq=1\): no PYNQ board.*Pass "
                                            r"on_pynq=0"):
        ZipML_SGD(on_pynq=1)
    import zipml
    from zipml.hw.board import BITSTREAM_DIR
    assert zipml.BITSTREAMS == str(BITSTREAM_DIR) + "/" and "BITSTREAMS" in dir(zipml)


def test_binary_classification_counts_a_zero_dot_product_as_a_miss():
    Z = cpu()
    Z.set_data(np.array([[1.0], [-1.0], [0.0], [0.0], [2.0]]), np.array([1, 1, 1, -1, -1.0]))
    x = np.array([0.0, 1.0])                       # dots: 1, -1, 0, 0, 2 (bias weight 0)
    assert Z.binary_classification(x) == 1        # only sample 0; 2 and 3 are dot 0
    assert Z.binary_classification(-x) == 2       # samples 1 (dot 1) and 4 (dot -2)
    Z.b_binarize(1)
    assert Z.binary_classification(x) == 1


def test_load_libsvm_data_more_lines_than_the_file(tmp_path):
    p = tmp_path / "three.libsvm"
    p.write_text("1 1:1\n-1 2:1\n# comment\n1 1:2\n")
    Z = cpu()
    assert Z.load_libsvm_data(str(p), 3, 2).num_samples == 3
    with pytest.raises(ValueError, match=r"three\.libsvm: 5 samples requested, the file has "
                                         r"only 3 \(pass num_samples=3 or None\)"):
        Z.load_libsvm_data(str(p), 5, 2)
    assert Z.num_samples == 3                     # nothing half-done
    assert Z.load_libsvm_data(str(p), None, 2).num_samples == 3


def test_load_libsvm_data_zero_based_files(tmp_path):
    """The 2017 transfer-learning tool wrote indices 0..2047: detected as scikit-learn's
    zero_based="auto" does (index 0 present)."""
    zero = tmp_path / "zero.libsvm"
    zero.write_text("1 0:0.5 3:1\n-1 2:0.25\n")
    one = tmp_path / "one.libsvm"
    one.write_text("1 1:0.5 4:1\n-1 3:0.25\n")
    Z0, Z1 = cpu().load_libsvm_data(str(zero), 2, 4), cpu().load_libsvm_data(str(one), 2, 4)
    np.testing.assert_array_equal(Z0.a, Z1.a)
    np.testing.assert_array_equal(Z0.a, [[1, 0.5, 0, 0, 1], [1, 0, 0, 0.25, 0]])
    bad = tmp_path / "bad.libsvm"
    bad.write_text("1 0:1\n-1 4:1\n")
    with pytest.raises(ValueError, match=r"bad\.libsvm, line 2: feature index larger than 3 "
                                         r".*'4:1'.*detected as 0-based \(index 0 appears"):
        cpu().load_libsvm_data(str(bad), 2, 4)


def test_a_normalize_constant_rows_and_columns_go_to_the_low_end():
    """Docstring and behaviour agree (deliberately not the 2017 "left unchanged": a constant
    of, say, 255 would lie outside the range the quantizer and the engine assume)."""
    assert "low end" in ZipML_SGD.a_normalize.__doc__
    X = np.array([[7.0, 1.0], [7.0, 3.0], [7.0, 2.0]])
    for to_min1_1, low in ((0, 0.0), (1, -1.0)):
        Z = cpu()
        Z.set_data(X, np.ones(3))
        Z.a_normalize(to_min1_1, "c")
        np.testing.assert_array_equal(Z.a[:, 1], [low] * 3)
        np.testing.assert_array_equal(Z.a[:, 0], [1, 1, 1])          # bias untouched
        Z.set_data(np.array([[4.0, 4.0], [0.0, 2.0]]), np.ones(2))
        Z.a_normalize(to_min1_1, "r")
        np.testing.assert_array_equal(Z.a[0, 1:], [low, low])
