#!/usr/bin/env python3
"""End-to-end training benchmark (issue 9): what a user runs, side by side in one run.

Fashion-MNIST (Debian package ``dataset-fashion-mnist``), 60,000 x 784 training images,
10,000 test images, pixels as float32 ``/ 255``; binary task class 0 ("T-shirt/top") vs rest,
multi-class task 10 classes one-vs-rest; 10 epochs (passes); one thread. Rows:

* ``sk-*``: scikit-learn ``SGDClassifier(loss="squared_hinge", max_iter=E, tol=None,
  random_state=0, n_jobs=1).fit(X, y)``;
* ``zipml-q<b>-*``: ``zipml.ZipMLClassifier(bits=b, epochs=E, random_state=0).fit(X, y)``,
  every other parameter at its default (``n_jobs=1`` when the estimator has that parameter);
  beside it the engine alone on the same data: the stream packed with the package's public
  functions (``data.normalize``, ``data.add_bias``, ``quantize.quantize``, ``pack.pack``,
  the estimator's shuffle and ``step_size_``), run by ``zipml.cengine.run_engine`` once per
  binary problem, and whether its final model equals the estimator's (bit for bit);
* ``vw-*``: Vowpal Wabbit (``vowpalwabbit`` from PyPI), hinge loss, E passes from its cache
  file, ``--holdout_off``; the cache is built once, outside the timed part (so the VW time has
  no text parsing); ``--oaa 10`` for the 10 classes. VW reads the cache in a parser thread;
* ``liblinear-*``: LIBLINEAR (``liblinear-official``) ``train(y, X, "-s 1 -B 1 -q")`` (L2-loss
  SVM, dual) and ``-s 2`` (primal) from the in-memory float32 array (its conversion to
  LIBLINEAR's sparse rows is part of the time); LIBLINEAR iterates to its own tolerance, not
  for E epochs;
* ``file-*``: from a libsvm text file written once with ``zipml.data.save_libsvm`` (cached in
  ``build/bench/``): the ``zipml train`` CLI as a subprocess (``--bits b``, ``--binarize 0``
  for the binary task, none for one-vs-rest over all labels; ``--test`` on the test file),
  its wall time including interpreter start, and LIBLINEAR's own reader
  ``svm_read_problem`` + ``train`` (read time included).

Every row runs in its own child process. Peak memory is the child's high-water mark
(``VmHWM``, equal to its ``ru_maxrss``: the parent imports no numpy so that the ``ru_maxrss``
Linux carries over ``exec`` stays below it; both are in the JSON); for the CLI rows it is
``ru_maxrss`` of the CLI process, from ``os.wait4``. "base" is the child's peak just before the
timed part: after the imports, for the in-memory rows after loading the data (read in chunks,
so loading leaves no high-water mark above the loaded data) and, for scikit-learn and ZipML,
after one warm-up fit on 256 samples (lazy imports and library loading are not timed, as no
import is). "over base" = peak - base: the memory the timed work added. For the CLI rows
"base" is a Python process that imported the CLI's modules and loaded no data. Times are the
best (and median) of ``--repeats`` runs in the same child (``--slow-repeats`` for LIBLINEAR);
"cpu" is the CPU time (user + system) of the best run. The machine may be shared: the load
average is printed per row, at start and at the end.

    python benchmarks/bench_fit.py [--quick] [--only PATTERNS] [--repeats 3] [--threads 1]
                                   [--json out.json] [--list]

``--quick``: 5,000 training and 1,000 test images, 2 epochs, 1 repeat (seconds; what
``tests/test_bench_fit.py`` runs). The script exits with code 2 and the install command when
the data set is missing.
"""
from __future__ import annotations

import argparse
import fnmatch
import gzip
import json
import os
import platform
import shlex
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DATA_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
POSITIVE_CLASS = 0  # binary task: class 0 (T-shirt/top) vs rest


def _rows():
    rows = [dict(id="sk-bin", kind="sklearn", task="bin", what="scikit-learn SGDClassifier"),
            dict(id="sk-10", kind="sklearn", task="10", what="scikit-learn SGDClassifier")]
    for b in (0, 8, 4, 2, 1):
        rows.append(dict(id=f"zipml-q{b}-bin", kind="zipml", task="bin", bits=b,
                         what=f"ZipMLClassifier(bits={b}).fit"))
    for b in (0, 4):
        rows.append(dict(id=f"zipml-q{b}-10", kind="zipml", task="10", bits=b,
                         what=f"ZipMLClassifier(bits={b}).fit"))
    rows += [dict(id="vw-bin", kind="vw", task="bin", what="Vowpal Wabbit, hinge, from cache"),
             dict(id="vw-10", kind="vw", task="10", what="Vowpal Wabbit --oaa 10, from cache"),
             dict(id="liblinear-s1-bin", kind="liblinear", task="bin", slow=True, solver=1,
                  what="LIBLINEAR -s 1 (dual)"),
             dict(id="liblinear-s2-bin", kind="liblinear", task="bin", slow=True, solver=2,
                  what="LIBLINEAR -s 2 (primal)"),
             dict(id="liblinear-s1-10", kind="liblinear", task="10", slow=True, solver=1,
                  what="LIBLINEAR -s 1 (dual)")]
    for b, task in ((0, "bin"), (4, "bin"), (4, "10")):
        rows.append(dict(id=f"file-cli-q{b}-{task}", kind="cli", task=task, bits=b,
                         what=f"file: zipml train --bits {b}"))
    rows.append(dict(id="file-liblinear-s1-bin", kind="liblinear_file", task="bin", solver=1,
                     slow=True,
                     what="file: LIBLINEAR read + -s 1"))
    return rows


ROWS = _rows()


# --------------------------------------------------------------------------- data
def _read_idx_header(f, path, want_ndim):
    head = f.read(4)
    if len(head) != 4:
        raise ValueError(f"{path}: truncated idx header")
    magic = int.from_bytes(head, "big")
    if magic >> 8 != 0x08 or (magic & 0xFF) != want_ndim:
        raise ValueError(f"{path}: expected an unsigned-byte idx file with {want_ndim} "
                         f"dimension(s), magic is 0x{magic:08x}")
    dims = struct.unpack(f">{want_ndim}I", f.read(4 * want_ndim))
    return dims


def load_split(split, n=None, data_dir=DATA_DIR):
    """Images of ``split`` ("train"/"test") as float32 ``/ 255`` (n, 784), labels int64 (n,).

    Decompressed in chunks straight into the float32 array: the only large allocation is the
    result, so ``ru_maxrss`` after loading is the loaded data plus the interpreter."""
    import numpy as np
    img, lab = (os.path.join(data_dir, f) for f in FILES[split])
    with gzip.open(img, "rb") as f:
        count, rows, cols = _read_idx_header(f, img, 3)
        n = count if n is None else min(int(n), count)
        d = rows * cols
        X = np.empty((n, d), dtype=np.float32)
        step = 4096
        for s in range(0, n, step):
            e = min(n, s + step)
            buf = f.read((e - s) * d)
            if len(buf) != (e - s) * d:
                raise ValueError(f"{img}: file ends inside image {s + len(buf) // d}")
            u = np.frombuffer(buf, dtype=np.uint8).reshape(e - s, d)
            np.divide(u, np.float32(255.0), out=X[s:e], dtype=np.float32)
    with gzip.open(lab, "rb") as f:
        (count_l,) = _read_idx_header(f, lab, 1)
        if count_l != count:
            raise ValueError(f"{lab}: {count_l} labels for {count} images in {img}")
        y = np.frombuffer(f.read(n), dtype=np.uint8)
        if y.size != n:
            raise ValueError(f"{lab}: file ends at label {y.size}")
    return X, y.astype(np.int64)


def task_labels(y, task):
    """Binary: +1 for class 0, -1 otherwise; 10 classes: the labels 0..9."""
    import numpy as np
    return np.where(y == POSITIVE_CLASS, 1, -1) if task == "bin" else y


def data_missing(data_dir):
    return [f for fs in FILES.values() for f in fs
            if not os.path.isfile(os.path.join(data_dir, f))]


# --------------------------------------------------------------------------- measuring
def ru_maxrss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def maxrss_mb():
    """Peak RSS of this process in MB: ``VmHWM`` (the high-water mark of this process's own
    memory), else ``ru_maxrss``. Linux carries ``ru_maxrss`` over ``exec`` from the parent,
    so a child's ``ru_maxrss`` is never below its parent's RSS at the fork; the parent of the
    rows stays small (no numpy) so that both agree, and both are recorded."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return ru_maxrss_mb()


def current_rss_mb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _cpu():
    t = os.times()
    return t.user + t.system


def timed(fn, repeats):
    """Run ``fn()`` ``repeats`` times; returns (wall times, cpu times, last return value)."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        out = None                      # drop the previous model before the next run
        c, t = _cpu(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - c)
    return walls, cpus, out


def _timing_attrs(obj):
    """A timing breakdown an object exposes (``fit_times_`` or any ``*time*_`` attribute)."""
    found = {}
    for name, v in vars(obj).items():
        if name.endswith("_") and not name.startswith("_") and "time" in name.lower():
            try:   # numpy scalars and arrays as numbers, anything else as its repr
                found[name] = json.loads(json.dumps(
                    v, default=lambda x: x.tolist() if hasattr(x, "tolist") else repr(x)))
            except (TypeError, ValueError):
                found[name] = repr(v)
    return found


# --------------------------------------------------------------------------- children
WARMUP_SAMPLES = 256


def _warmup(fit, X, y):
    """One fit on the first samples before the baseline: the lazy imports and library loading
    of the first call are not timed (module imports are not timed for any row)."""
    m = min(WARMUP_SAMPLES, len(y))
    fit(X[:m], y[:m])


def _child_sklearn(row, o, Xtr, ytr, Xte, yte):
    import warnings

    from sklearn.linear_model import SGDClassifier

    def fit(X, y):
        clf = SGDClassifier(loss="squared_hinge", max_iter=o["epochs"], tol=None,
                            random_state=0, n_jobs=o["threads"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
            return clf.fit(X, y)
    _warmup(fit, Xtr, ytr)
    o["base"] = o["base_fn"]()
    walls, cpus, clf = timed(lambda: fit(Xtr, ytr), o["repeats"])
    peak = maxrss_mb()
    return dict(walls=walls, cpus=cpus, peak_mb=peak, acc=float(clf.score(Xte, yte)))


def _engine_alone(bits, X, labels, targets, step, order, epochs, repeats):
    """The C engine on the stream that the estimator trains on, built with the package's
    public functions; returns (best wall s, best thread cpu s, final models (k, d) float64)."""
    import numpy as np

    from zipml import cengine, data, pack, quantize
    from zipml.config import EngineConfig
    Xn, _ = data.normalize(X, to_min1_1=False, axis="c")
    if order is not None:
        Xn = Xn[order]
        labels = labels[order]
    a = data.add_bias(Xn)
    del Xn
    y32 = np.asarray(labels, dtype=np.float32)
    if bits == 0:
        stream = pack.pack(a, y32, 0)
    else:
        stream = pack.pack(quantize.quantize(a, bits, signed=False, rounding="nearest"),
                           y32, bits)
    n, d = a.shape
    del a
    best = cpu = float("inf")
    finals = None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        out = []
        for v in targets:
            cfg = EngineConfig(bits=bits, num_samples=n, num_features=d, num_epochs=epochs,
                               loss="svm", step_size=float(step), binarize=True,
                               binarize_value=float(v))
            res = cengine.run_engine(cfg, stream).raise_for_error()
            out.append(res.models[-1])
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.thread_time() - c)
        finals = np.asarray(out, dtype=np.float64) * 2.0 ** -23
    return best, cpu, finals, int(stream.nbytes)


def _child_zipml(row, o, Xtr, ytr, Xte, yte):
    import numpy as np

    import zipml
    params = dict(bits=row["bits"], epochs=o["epochs"], random_state=0)
    if "n_jobs" in zipml.ZipMLClassifier().get_params():
        params["n_jobs"] = o["threads"]

    def fit(X, y):
        return zipml.ZipMLClassifier(**params).fit(X, y)
    _warmup(fit, Xtr, ytr)
    o["base"] = o["base_fn"]()
    walls, cpus, est = timed(lambda: fit(Xtr, ytr), o["repeats"])
    peak = maxrss_mb()
    out = dict(walls=walls, cpus=cpus, peak_mb=peak, acc=float(est.score(Xte, yte)),
               params=params, step_size=float(getattr(est, "step_size_", float("nan"))),
               fit_times=_timing_attrs(est))
    # the engine alone, on the same data (same shuffle as fit with random_state=0)
    classes, y_idx = np.unique(ytr, return_inverse=True)
    targets = [1] if len(classes) == 2 else list(range(len(classes)))
    order = np.random.RandomState(0).permutation(len(ytr))
    eng, eng_cpu, finals, nbytes = _engine_alone(row["bits"], Xtr, y_idx.astype(np.float64),
                                                 targets, est.step_size_, order,
                                                 o["epochs"], o["repeats"])
    same = None
    models = getattr(est, "models_", None)
    if models is not None and models.shape[0] == finals.shape[0]:
        same = bool(np.array_equal(models[:, :, -1], finals))
    out.update(engine_s=eng, engine_cpu_s=eng_cpu, engine_same_model=same,
               stream_bytes=nbytes)
    return out


def _vw_args(task, epochs):
    a = ["--loss_function", "hinge", "--passes", str(epochs), "--holdout_off", "--quiet"]
    return a + (["--oaa", "10"] if task == "10" else [])


def _child_vw(row, o, Xte_unused, ytr_unused, Xte, yte):
    import numpy as np
    from vowpalwabbit import Workspace
    model = os.path.join(o["tmp"], f"{row['id']}.model")
    preds = os.path.join(o["tmp"], f"{row['id']}.pred")

    def fit():
        vw = Workspace(arg_list=["--cache_file", o["vw_cache"], "-f", model]
                       + _vw_args(row["task"], o["epochs"]))
        vw.run_parser()
        vw.finish()
    walls, cpus, _ = timed(fit, o["repeats"])
    peak = maxrss_mb()
    vw = Workspace(arg_list=["-t", "-i", model, "-d", o["vw_test"], "-p", preds, "--quiet"])
    vw.run_parser()
    vw.finish()
    p = np.loadtxt(preds, ndmin=1)
    yt = yte + 1 if row["task"] == "10" else yte   # VW's multi-class labels are 1..k
    pred = np.where(p > 0, 1, -1) if row["task"] == "bin" else p.astype(np.int64)
    if pred.shape != yt.shape:
        raise RuntimeError(f"{preds}: {pred.size} predictions for {yt.size} test samples")
    return dict(walls=walls, cpus=cpus, peak_mb=peak, acc=float(np.mean(pred == yt)))


def _liblinear_acc(model, y, X):
    import numpy as np
    from liblinear.liblinearutil import predict
    labels, _, _ = predict(np.asarray(y, dtype=np.float64), X, model, "-q")
    return float(np.mean(np.asarray(labels) == np.asarray(y, dtype=np.float64)))


def _child_liblinear(row, o, Xtr, ytr, Xte, yte):
    import numpy as np
    from liblinear.liblinearutil import train
    opts = f"-s {row['solver']} -B 1 -q"
    yf = np.asarray(ytr, dtype=np.float64)
    walls, cpus, model = timed(lambda: train(yf, Xtr, opts), o["repeats"])
    peak = maxrss_mb()
    return dict(walls=walls, cpus=cpus, peak_mb=peak, acc=_liblinear_acc(model, yte, Xte),
                options=opts)


def _child_liblinear_file(row, o, *_):
    import numpy as np
    from liblinear.liblinearutil import svm_read_problem, train
    opts = f"-s {row['solver']} -B 1 -q"

    def fit():
        y, X = svm_read_problem(o["libsvm_train"], return_scipy=True)
        return train(task_labels(y, row["task"]).astype(np.float64), X, opts)
    walls, cpus, model = timed(fit, o["repeats"])
    peak = maxrss_mb()
    yt, Xt = svm_read_problem(o["libsvm_test"], return_scipy=True)
    nf = model.get_nr_feature()
    Xt = Xt[:, :nf] if Xt.shape[1] > nf else Xt
    return dict(walls=walls, cpus=cpus, peak_mb=peak, options=opts,
                acc=_liblinear_acc(model, task_labels(yt, row["task"]), Xt))


def _child_cli(row, o, *_):
    """``zipml train`` as a subprocess; its peak RSS from ``os.wait4``."""
    walls, cpus, peaks, res = [], [], [], None
    out_json = os.path.join(o["tmp"], f"{row['id']}.json")
    cmd = [sys.executable, "-m", "zipml", "train", "--train", o["libsvm_train"], "--test",
           o["libsvm_test"], "--bits", str(row["bits"]), "--epochs", str(o["epochs"]),
           "--quiet", "--json", out_json]
    if row["task"] == "bin":
        cmd += ["--binarize", str(POSITIVE_CLASS)]
    for _ in range(o["repeats"]):
        with tempfile.TemporaryFile() as errf:   # a file, not a pipe: wait4 cannot block
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
            _, status, ru = os.wait4(p.pid, 0)
            walls.append(time.perf_counter() - t)
            p.returncode = os.waitstatus_to_exitcode(status)
            errf.seek(0)
            err = errf.read().decode(errors="replace")
        if p.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} exited with {p.returncode}: {err[-2000:]}")
        cpus.append(ru.ru_utime + ru.ru_stime)
        peaks.append(ru.ru_maxrss / 1024.0)
        with open(out_json) as f:
            res = json.load(f)
    times = {k: v for k, v in res.items() if "time" in k.lower() or
             ("second" in k.lower() and k != "epoch_seconds")}
    out = dict(walls=walls, cpus=cpus, peak_mb=max(peaks), acc=float(res["test_accuracy"]),
               command=shlex.join(cmd), fit_times=times,
               cli_epoch_seconds=float(sum(res.get("epoch_seconds", []))),
               step_size=float(res["step_size"]))
    # the engine alone on the data the CLI trains on (no shuffle: the CLI's default)
    import numpy as np

    from zipml import data
    X, y = data.load_libsvm(o["libsvm_train"])
    targets = [float(POSITIVE_CLASS)] if row["task"] == "bin" else \
        [float(v) for v in np.unique(y)]
    eng, eng_cpu, _, nbytes = _engine_alone(row["bits"], X, y.astype(np.float64), targets,
                                            res["step_size"], None, o["epochs"], o["repeats"])
    out.update(engine_s=eng, engine_cpu_s=eng_cpu, stream_bytes=nbytes,
               input_bytes=os.path.getsize(o["libsvm_train"]))
    return out


CHILDREN = dict(sklearn=_child_sklearn, zipml=_child_zipml, vw=_child_vw,
                liblinear=_child_liblinear, liblinear_file=_child_liblinear_file,
                cli=_child_cli)


def child_main(spec_json):
    o = json.loads(spec_json)
    row = o["row"]
    # the imports of the row's library count in the baseline, not in the timed part; the CLI
    # rows' child stays small (no numpy) until the CLI has run, see maxrss_mb
    if row["kind"] != "cli":
        import numpy as np  # noqa: F401
    if row["kind"] in ("sklearn", "zipml"):
        import sklearn.linear_model  # noqa: F401
    if row["kind"] == "zipml":
        import zipml  # noqa: F401
        from zipml import cengine, data, pack, quantize  # noqa: F401
    if row["kind"] == "vw":
        import vowpalwabbit  # noqa: F401
    if row["kind"].startswith("liblinear"):
        import liblinear.liblinearutil  # noqa: F401
        import scipy.sparse  # noqa: F401
    Xtr = ytr = Xte = yte = None
    in_memory = row["kind"] in ("sklearn", "zipml", "liblinear")
    if in_memory:
        Xtr, ytr = load_split("train", o["n_train"], o["data_dir"])
        Xte, yte = load_split("test", o["n_test"], o["data_dir"])
        ytr, yte = task_labels(ytr, row["task"]), task_labels(yte, row["task"])
    elif row["kind"] == "vw":
        yte = task_labels(load_split("test", o["n_test"], o["data_dir"])[1], row["task"])
    o["base_fn"] = lambda: (maxrss_mb(), current_rss_mb())
    o["base"] = o["base_fn"]()   # the sklearn and zipml rows take it again after a warm-up
    out = CHILDREN[row["kind"]](row, o, Xtr, ytr, Xte, yte)
    out.update(base_mb=o["base"][0], base_current_mb=o["base"][1],
               ru_maxrss_mb=ru_maxrss_mb())
    if in_memory:
        out["input_bytes"] = int(Xtr.nbytes)
    if row["kind"] == "vw":
        out["input_bytes"] = os.path.getsize(o["vw_cache"])
    if row["kind"] == "liblinear_file":
        out["input_bytes"] = os.path.getsize(o["libsvm_train"])
    with open(o["out"], "w") as f:
        json.dump(out, f)
    return 0


# --------------------------------------------------------------------------- preparation
def _atomic_write(path, write):
    tmp = path + ".part"
    write(tmp)
    os.replace(tmp, path)


def prepare_files(args, rows, log):
    """libsvm and VW files (and VW caches) under the cache directory, made once."""
    need_file = any(r["kind"] in ("cli", "liblinear_file") for r in rows)
    vw_tasks = sorted({r["task"] for r in rows if r["kind"] == "vw"})
    if not need_file and not vw_tasks:
        return {}
    os.makedirs(args.cache_dir, exist_ok=True)
    files = {}
    split_n = {"train": args.n_train, "test": args.n_test}
    for split, n in split_n.items():
        path = os.path.join(args.cache_dir, f"fashion-mnist-{split}-{n}.libsvm")
        files[f"libsvm_{split}"] = path
        if not os.path.isfile(path):
            from zipml.data import save_libsvm
            X, y = load_split(split, n, args.data)
            t = time.perf_counter()
            _atomic_write(path, lambda p: save_libsvm(p, X, y))
            log(f"wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, "
                f"{time.perf_counter() - t:.1f} s, zipml.data.save_libsvm)")
            del X, y
    if vw_tasks:
        from importlib.metadata import version
        vwv = version("vowpalwabbit")
        for task in vw_tasks:
            cache = os.path.join(args.cache_dir, f"fashion-mnist-train-{args.n_train}-{task}-"
                                                 f"vw{vwv}.cache")
            files[f"vw_cache_{task}"] = cache
            for split in ("train", "test"):
                path = os.path.join(args.cache_dir,
                                    f"fashion-mnist-{split}-{split_n[split]}-{task}.vw")
                files[f"vw_{split}_{task}"] = path
                if not os.path.isfile(path) and not (split == "train" and
                                                     os.path.isfile(cache)):
                    _atomic_write(path, lambda p: _libsvm_to_vw(files[f"libsvm_{split}"], p,
                                                                task))
            if not os.path.isfile(cache):
                from vowpalwabbit import Workspace
                t = time.perf_counter()
                tmp = cache + ".part"
                if os.path.exists(tmp):
                    os.remove(tmp)
                vw = Workspace(arg_list=["-d", files[f"vw_train_{task}"], "--cache_file", tmp]
                               + _vw_args(task, 1))
                vw.run_parser()
                vw.finish()
                os.replace(tmp, cache)
                os.remove(files[f"vw_train_{task}"])   # the cache replaces it
                log(f"built the VW cache {cache} ({os.path.getsize(cache) / 1e6:.1f} MB, "
                    f"{time.perf_counter() - t:.1f} s; not timed)")
    return files


def _libsvm_to_vw(src, dst, task):
    """Rewrite a libsvm file as VW text: ``label | idx:value ...`` (labels +-1 or 1..10)."""
    with open(src) as fi, open(dst, "w") as fo:
        for line in fi:
            lab, _, feats = line.rstrip("\n").partition(" ")
            c = int(float(lab))
            v = (1 if c == POSITIVE_CLASS else -1) if task == "bin" else c + 1
            fo.write(f"{v} | {feats}\n")


def cli_baseline_mb(env):
    """Peak RSS of a Python process that imports what ``zipml train`` imports, no data."""
    code = ("import numpy, tqdm, zipml.cli, zipml.sgd, zipml.data, zipml.commands.train, "
            "zipml.backends.cpu, zipml.cengine, resource; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"CLI baseline process failed: {r.stderr[-2000:]}")
    return int(r.stdout.split()[-1]) / 1024.0  # ru_maxrss, as for the CLI runs


# --------------------------------------------------------------------------- report
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions():
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scikit-learn", "vowpalwabbit", "liblinear-official", "zipml"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _git_head():
    try:
        r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "zipml",
                                "cmodel"], capture_output=True, text=True, timeout=10)
        return r.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _median(v):
    s = sorted(v)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def summarize(results):
    """Derived columns: best/median time, speed-up vs scikit-learn, outside-engine share."""
    for r in results:
        if "walls" not in r:
            continue
        r["best_s"] = min(r["walls"])
        r["median_s"] = _median(r["walls"])
        r["cpu_s"] = r["cpus"][r["walls"].index(r["best_s"])]
        r["over_base_mb"] = r["peak_mb"] - r["base_mb"]
    sk = {r["task"]: r["best_s"] for r in results
          if r["kind"] == "sklearn" and r.get("best_s")}
    sk_cpu = {r["task"]: r["cpu_s"] for r in results
              if r["kind"] == "sklearn" and r.get("cpu_s")}
    for r in results:
        if "walls" not in r:
            continue
        base = sk.get(r["task"])
        r["vs_sklearn"] = base / r["best_s"] if base else None
        base_cpu = sk_cpu.get(r["task"])
        r["vs_sklearn_cpu"] = base_cpu / r["cpu_s"] if base_cpu and r["cpu_s"] > 0 else None
        if r.get("engine_s") is not None:
            r["outside_engine_pct"] = 100.0 * (1.0 - r["engine_s"] / r["best_s"])
            if r.get("engine_cpu_s") is not None and r["cpu_s"] > 0:
                r["outside_engine_cpu_pct"] = 100.0 * (1.0 - r["engine_cpu_s"] / r["cpu_s"])


def _f(v, fmt, empty="-"):
    return empty if v is None else format(v, fmt)


def _speedup(wall, cpu):
    if wall is None:
        return "-"
    return f"{wall:.2f}x" + (f" ({cpu:.2f}x)" if cpu is not None else "")


def _pct(wall, cpu):
    if wall is None:
        return "-"
    return f"{wall:.0f} %" + (f" ({cpu:.0f} %)" if cpu is not None else "")


def table(results):
    head = ["row", "what", "task", "runs", "time s (best)", "median s", "cpu s",
            "vs sklearn (cpu)", "engine s (cpu s)", "outside engine (cpu)", "test acc",
            "peak RSS MB", "base MB", "over base MB", "input MB", "stream MB", "load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        task = "binary" if r["task"] == "bin" else "10 classes"
        if "error" in r:
            lines.append(f"| {r['id']} | {r['what']} | {task} | FAILED: "
                         f"{r['error'].splitlines()[-1][:120]} |" + " |" * (len(head) - 4))
            continue
        same = r.get("engine_same_model")
        eng = _f(r.get("engine_s"), ".3f")
        if r.get("engine_cpu_s") is not None:
            eng += f" ({r['engine_cpu_s']:.3f})"
        if same is False:
            eng += " (model differs)"
        cells = [r["id"], r["what"], task, str(len(r["walls"])), _f(r["best_s"], ".3f"),
                 _f(r["median_s"], ".3f"), _f(r["cpu_s"], ".3f"),
                 _speedup(r.get("vs_sklearn"), r.get("vs_sklearn_cpu")),
                 eng, _pct(r.get("outside_engine_pct"), r.get("outside_engine_cpu_pct")),
                 _f(r["acc"], ".4f"), _f(r["peak_mb"], ".0f"), _f(r["base_mb"], ".0f"),
                 _f(r["over_base_mb"], ".0f"), _f(r.get("input_bytes", 0) / 1e6, ".1f"),
                 _f(r["stream_bytes"] / 1e6 if r.get("stream_bytes") else None, ".1f"),
                 _f(r.get("load_start"), ".2f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
NOTES = [
    "time: wall seconds of the user's call in a child process (best and median of the "
    "repeats); for file-cli rows the whole `zipml train` process including interpreter "
    "start and the imports; cpu: user+system CPU seconds of the best run.",
    "vs sklearn: scikit-learn's best time of the same task / this row's best time, in "
    "brackets the same with CPU seconds (file rows: against scikit-learn from memory).",
    "engine s: the C engine alone (zipml.cengine.run_engine) on the packed stream of the "
    "same data, all binary problems, best of the repeats (in brackets: CPU seconds of the "
    "calling thread); outside engine = 1 - engine / time (in brackets: 1 - engine cpu / "
    "cpu, the better measure on a loaded machine). '(model differs)': the engine's final "
    "model is not bit-identical to the fit's (shuffle or data path changed).",
    "peak RSS: the child's high-water mark (VmHWM = its ru_maxrss; for file-cli rows "
    "ru_maxrss of the CLI process); base: the same just before the timed part (imports; "
    "the in-memory data for sklearn/zipml/liblinear rows; one warm-up fit on 256 samples "
    "for sklearn/zipml; for file-cli rows a process that imported the CLI's modules); "
    "over base = peak - base.",
    "input MB: float32 X (in-memory rows), the VW cache (vw rows), the libsvm file (file "
    "rows); stream MB: the engine's packed stream, one epoch.",
    "VW: the cache was built once, outside the timed part; VW parses the cache in a "
    "second thread. LIBLINEAR runs to its own stopping tolerance (not a fixed number of "
    "epochs), -B 1 adds the bias.",
]


def report(meta):
    """Print the markdown report of a run (``meta`` as written by ``--json``)."""
    m = meta["machine"]
    l0, l1 = m["load_start"], m["load_end"]
    print(f"# bench_fit: Fashion-MNIST {meta['n_train']} x 784 train / {meta['n_test']} "
          f"test, float32 pixels / 255, {meta['epochs']} epochs, {meta['threads']} "
          f"thread(s), best of {meta['repeats']} (LIBLINEAR rows: "
          f"{min(meta['repeats'], meta['slow_repeats'])})\n")
    print(f"- command: `{meta['command']}`")
    print(f"- date: {meta['date']}; git {meta['git']}")
    mem = f", {m['mem_gib']:.0f} GiB" if m.get("mem_gib") else ""
    print(f"- machine: {m['cpu']}, {m['cores']} cores{mem}; "
          f"load average {l0[0]:.2f} {l0[1]:.2f} {l0[2]:.2f} at start, "
          f"{l1[0]:.2f} {l1[1]:.2f} {l1[2]:.2f} at the end")
    print("- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    print()
    print(table(meta["rows"]))
    print()
    for n in NOTES:
        print(f"- {n}")
    extra = [(r["id"], r["fit_times"]) for r in meta["rows"] if r.get("fit_times")]
    if extra:
        print("\ntiming breakdowns reported by zipml:")
        for rid, ft in extra:
            print(f"- {rid}: {json.dumps(ft)}")


def select_rows(only):
    if not only:
        return list(ROWS)
    pats = [p.strip() for p in only.split(",") if p.strip()]
    bad = [p for p in pats if not any(fnmatch.fnmatchcase(r["id"], p) for r in ROWS)]
    if bad:
        raise SystemExit(f"bench_fit.py: --only: no row matches {', '.join(bad)} "
                         f"(rows: {', '.join(r['id'] for r in ROWS)})")
    return [r for r in ROWS if any(fnmatch.fnmatchcase(r["id"], p) for p in pats)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="5,000 x 784 training / 1,000 test images, 2 epochs, 1 repeat")
    ap.add_argument("--only", metavar="PATTERNS",
                    help="comma-separated row ids or shell patterns (e.g. 'sk-*,zipml-q4-*'); "
                         "see --list")
    ap.add_argument("--list", action="store_true", help="list the row ids and exit")
    ap.add_argument("--repeats", type=int, help="timed runs per row (default 3, quick 1)")
    ap.add_argument("--slow-repeats", type=int, default=1,
                    help="timed runs of the LIBLINEAR rows (tens of seconds each; default 1)")
    ap.add_argument("--epochs", type=int, help="epochs / passes (default 10, quick 2)")
    ap.add_argument("--n-train", type=int, help="training images (default 60000, quick 5000)")
    ap.add_argument("--n-test", type=int, help="test images (default 10000, quick 2000)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads of the children (OMP/OPENBLAS/MKL_NUM_THREADS, n_jobs); "
                         "default 1")
    ap.add_argument("--data", default=DATA_DIR, help=f"Fashion-MNIST directory ({DATA_DIR})")
    ap.add_argument("--cache-dir", default=os.path.join(REPO, "build", "bench"),
                    help="where the libsvm / VW files are kept (default build/bench)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per row")
    ap.add_argument("--json", metavar="OUT", help="also write all results as JSON")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the report of an earlier run's --json file and exit")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.prepare:
        prep = argparse.Namespace(**json.loads(args.prepare))
        files = prepare_files(prep, prep.rows,
                              lambda m: print(f"# {m}", file=sys.stderr, flush=True))
        print(json.dumps(files))
        return 0
    if args.from_json:
        with open(args.from_json) as f:
            meta = json.load(f)
        summarize(meta["rows"])
        report(meta)
        return 0
    if args.list:
        for r in ROWS:
            print(f"{r['id']:<24} {r['what']} ({'binary' if r['task'] == 'bin' else '10 classes'})")
        return 0
    q = args.quick
    args.repeats = args.repeats or (1 if q else 3)
    args.epochs = args.epochs or (2 if q else 10)
    args.n_train = args.n_train or (5000 if q else 60000)
    args.n_test = args.n_test or (1000 if q else 10000)
    for name in ("repeats", "slow_repeats", "epochs", "n_train", "n_test", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    missing = data_missing(args.data)
    if missing:
        print(f"bench_fit.py: Fashion-MNIST not found in {args.data} (missing "
              f"{', '.join(missing)}). Install it with:\n"
              f"    apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 2
    rows = select_rows(args.only)

    def log(msg):
        print(f"# {msg}", file=sys.stderr, flush=True)

    command = shlex.join([sys.executable, os.path.relpath(os.path.abspath(__file__))]
                         + list(argv if argv is not None else sys.argv[1:]))
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    # the files are made in a child: this process stays small (no numpy), see maxrss_mb
    prep = dict(rows=rows, cache_dir=args.cache_dir, n_train=args.n_train,
                n_test=args.n_test, data=args.data)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--prepare",
                        json.dumps(prep)], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print("bench_fit.py: preparing the data files failed (see above)", file=sys.stderr)
        return 1
    files = json.loads(p.stdout.strip().splitlines()[-1])
    env = dict(os.environ)
    for v in THREAD_VARS:
        env[v] = str(args.threads)
    env["PYTHONHASHSEED"] = "0"
    cli_base = cli_baseline_mb(env) if any(r["kind"] == "cli" for r in rows) else None
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_fit_") as tmp:
        for row in rows:
            o = dict(row=row, n_train=args.n_train, n_test=args.n_test, epochs=args.epochs,
                     repeats=min(args.repeats, args.slow_repeats) if row.get("slow")
                     else args.repeats, threads=args.threads, data_dir=args.data, tmp=tmp,
                     out=os.path.join(tmp, f"{row['id']}.result.json"), **files)
            if row["kind"] == "vw":
                o.update(vw_cache=files[f"vw_cache_{row['task']}"],
                         vw_test=files[f"vw_test_{row['task']}"])
            r = dict(row)
            r["load_start"] = os.getloadavg()[0]
            log(f"{row['id']} ...")
            t = time.perf_counter()
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                                json.dumps(o)], env=env, capture_output=True, text=True,
                               timeout=args.timeout)
            if p.returncode != 0 or not os.path.isfile(o["out"]):
                r["error"] = (p.stderr.strip() or f"exit code {p.returncode}")
                log(f"{row['id']} FAILED:\n{p.stderr[-3000:]}")
            else:
                with open(o["out"]) as f:
                    r.update(json.load(f))
                if row["kind"] == "cli":
                    r["base_mb"] = cli_base
                log(f"{row['id']} done in {time.perf_counter() - t:.1f} s")
            results.append(r)
    load1 = os.getloadavg()
    summarize(results)
    meta = dict(command=command, date=started, git=_git_head(),
                machine=dict(cpu=cpu_model(), cores=os.cpu_count(),
                             mem_gib=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                             / 2**30, load_start=load0, load_end=load1),
                versions=_versions(), n_train=args.n_train, n_test=args.n_test,
                epochs=args.epochs, repeats=args.repeats, slow_repeats=args.slow_repeats,
                threads=args.threads, cli_base_mb=cli_base, rows=results)
    report(meta)
    failed = [r["id"] for r in results if "error" in r]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(meta, f, indent=1)
    if failed:
        print(f"\nFAILED rows: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
