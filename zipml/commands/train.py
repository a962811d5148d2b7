"""``zipml train``: train a model on a libsvm file, report loss and accuracy per epoch."""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import warnings

import numpy as np

from .. import spec

HELP = "train an SVM, linear or logistic regression model on a libsvm file"


def positive_int(text):
    import argparse
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def positive_float(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def step_arg(text):
    """A positive step size or ``auto``."""
    if text == "auto":
        return "auto"
    return positive_float(text)


def nonneg_float(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not math.isfinite(v) or v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return v


def finite_float(text):
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def bits_arg(text):
    import argparse
    try:
        v = int(text)
    except ValueError:
        v = None
    if v not in spec.PRECISIONS:
        raise argparse.ArgumentTypeError(
            f"bits must be one of {', '.join(map(str, spec.PRECISIONS))}, got {text!r}")
    return v


def add_arguments(p):
    p.add_argument("--train", required=True, metavar="FILE", help="training data (libsvm)")
    p.add_argument("--test", metavar="FILE", help="test data (libsvm)")
    p.add_argument("--model", choices=("svm", "linreg", "logreg"), default="svm",
                   help="loss: squared-hinge L2-SVM, least squares, logistic (default svm)")
    p.add_argument("--bits", type=bits_arg, default=0, metavar="0|1|2|4|8",
                   help="data precision: 0 (float32), 1, 2, 4 or 8 (default 0)")
    p.add_argument("--rounding", choices=("nearest", "stochastic"), default="nearest",
                   help="quantization rounding (default nearest)")
    p.add_argument("--epochs", type=positive_int, default=10, metavar="N",
                   help="epochs (default 10)")
    p.add_argument("--step-size", type=step_arg, default="auto", metavar="S|auto",
                   help="step size gamma, or 'auto' (default): 2^-k with k = ceil(log2(S_d * c * "
                        "mean ||a||^2)), S_d the engine's update delay, c = 1/4 for logreg, "
                        "else 1")
    p.add_argument("--step-decay", type=positive_float, default=1.0,
                   help="step size factor per epoch (default 1)")
    p.add_argument("--reg", type=nonneg_float, default=0.0, metavar="R",
                   help="L2 regularisation lambda (engine: step*lambda = 2^-r; default 0)")
    p.add_argument("--cost-pos", type=positive_float, default=1.0, help="SVM positive cost")
    p.add_argument("--cost-neg", type=positive_float, default=1.0, help="SVM negative cost")
    p.add_argument("--backend", choices=("auto", "cpu", "sim", "pynq"), default="auto",
                   help="where the engine runs (default auto: the board if found, else cpu)")
    p.add_argument("--binarize", type=finite_float, metavar="VALUE",
                   help="one-vs-rest: label VALUE -> +1, others -> -1 (default: binary labels "
                        "as they are, or one model per class)")
    p.add_argument("--normalize", choices=("c", "r", "none"), default="c",
                   help="scale features per column or row to [0,1] (default c)")
    p.add_argument("--to-min1-1", action="store_true",
                   help="normalise features to [-1,1] (signed levels) instead of [0,1]")
    p.add_argument("--no-normalize-labels", action="store_true",
                   help="linreg: train on the raw labels (default: scaled to [-1,1])")
    p.add_argument("--delay", type=positive_int, default=1, help="minimum update delay")
    p.add_argument("--shuffle", action="store_true", help="shuffle the training samples once")
    p.add_argument("--seed", type=int, default=0, help="seed of shuffling and rounding")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--plot", metavar="PNG", help="plot loss and accuracy per epoch")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (there is none when stderr is not a terminal), no "
                        "table")
    p.add_argument("--verbose", action="store_true",
                   help="also say where the time went (prepare, engine, evaluate)")
    p.add_argument("--train-metrics", choices=("last", "every"), default="last",
                   help="training accuracy/RMSE (on the packed samples) after the last epoch "
                        "only (default) or after every epoch (one more pass over the stream "
                        "per model and epoch)")


def fmt_step(step) -> str:
    """A step size as ``2^-k`` when it is a power of two, else ``g (2^x.xx)``."""
    k = math.log2(step)
    if k == int(k):
        return f"2^{int(k)}"
    return f"{step:.4g} (2^{k:.2f})"


def check_output(path, option):
    """Before any work: ``path`` can be written (its folder exists and takes a new file)."""
    from ..cli import UsageError
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a directory")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UsageError(f"{option} {path}: output directory does not exist: {d}")
    try:
        fd, probe = tempfile.mkstemp(dir=d, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write in {d}: {exc.strerror}") from None


def write_atomic(writers):
    """``writers``: ``{path: write(tmp_path)}``. Every file is written to a temporary file in
    its folder first; the files are renamed into place only when all were written, so a
    failure (full disk, bad plot) leaves no file half-written or stale."""
    tmps = {}
    mask = os.umask(0)
    os.umask(mask)
    try:
        for path, write in writers.items():
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                       prefix=f".{os.path.basename(path)}.", suffix=".tmp")
            os.close(fd)
            tmps[path] = tmp
            write(tmp)
            os.chmod(tmp, 0o666 & ~mask)
        for path, tmp in tmps.items():
            os.replace(tmp, path)
    finally:
        for tmp in tmps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)


def _json_safe(v):
    """JSON has no NaN/inf: non-finite floats become null."""
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _check_input(path, what):
    from ..cli import UsageError
    if os.path.isdir(path):
        raise UsageError(f"{what} file is a directory: {path}")
    if not os.path.isfile(path):
        raise UsageError(f"{what} file not found: {path}")


def _scan(path, what, max_cols, stats, limit_text, num_samples=None, zero_based="auto"):
    from .. import filestream
    from ..cli import UsageError
    try:   # "auto": 0-based files (the 2017 transfer-learning tool's) are detected
        sc = filestream.scan_libsvm(path, max_cols=max_cols, column_stats=stats,
                                    limit_text=limit_text, num_samples=num_samples,
                                    zero_based=zero_based)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if sc.n == 0:
        raise UsageError(f"{what} file has no samples (empty, or only comments and blank "
                         f"lines): {path}")
    return sc


def run(args) -> int:
    from .. import filestream, prep
    from ..cli import UsageError
    from ..sgd import ZipML_SGD

    if args.plot and not args.plot.lower().endswith(".png"):
        raise UsageError(f"--plot needs a .png file name, got {args.plot}")
    if args.json and args.plot and os.path.abspath(args.json) == os.path.abspath(args.plot):
        raise UsageError(f"--json and --plot name the same file: {args.json}")
    for out, option in ((args.json, "--json"), (args.plot, "--plot")):
        if out:
            check_output(out, option)
    _check_input(args.train, "training")
    if args.test:
        _check_input(args.test, "test")
    times = {}
    t0 = time.perf_counter()

    # the engine first: its dimension limit is checked while the files are parsed
    Z = ZipML_SGD(bits=args.bits, backend=args.backend, rounding=args.rounding, seed=args.seed,
                  delay=args.delay, step_decay=args.step_decay)
    backend = Z.backend()
    max_cols = backend.max_dim - 1
    limit_text = (f"feature index beyond {max_cols}: the {backend.name} engine takes at most "
                  f"{backend.max_dim} values per sample, the bias included")

    # pass 1: samples, labels, columns and their statistics (the file is never held dense)
    sc = _scan(args.train, "training", max_cols, args.normalize in ("c", "none"), limit_text)
    d = sc.n_cols
    sct = None
    if args.test:
        # the test file is read as the training file was (a 0-based test file need not
        # contain index 0)
        sct = _scan(args.test, "test", max_cols, False, limit_text,
                    zero_based=sc.zero_based)
        d = max(d, sct.n_cols)
    d = max(d, 1)
    m11 = bool(args.to_min1_1)
    ytr = sc.labels
    if args.normalize == "c":
        lo, hi = sc.column_stats(d)
        # the statistics are of these data, and the tokenizer checked every value
        norm = prep.Norm("c", lo, hi, m11, in_range=True, checked=True)
        signed = m11
    elif args.normalize == "r":
        norm, signed = prep.Norm("r", None, None, m11, checked=True), m11
    else:
        lo, hi = sc.column_stats(d)
        norm, signed = prep.Norm("none", checked=True), bool(lo.min() < 0)
        if args.bits:
            low = -1.0 if m11 else 0.0
            if lo.min() < low or hi.max() > 1.0:
                i, j, v = _first_outside(args.train, d, low, sc.zero_based)
                raise UsageError(f"--normalize none with --bits {args.bits}: features must lie "
                                 f"in [{low:g}, 1], found {v:g} (sample {i}, feature {j + 1}); "
                                 f"use --normalize c or r")

    n = sc.n
    order = dest = None
    if args.shuffle:
        order = np.random.RandomState(args.seed).permutation(n)
        dest = np.empty(n, np.int64)
        dest[order] = np.arange(n)

    classify = args.model != "linreg"
    y_center, y_scale = 0.0, 1.0
    classes = None
    if classify:
        if args.binarize is not None:
            if not np.any(ytr == args.binarize):
                raise UsageError(f"--binarize {args.binarize:g}: no training label has this "
                                 f"value (labels: {_show(np.unique(ytr))})")
            targets = [args.binarize]
        else:
            classes = np.unique(ytr)
            if len(classes) < 2:
                raise UsageError(f"the training labels have one class only: {classes[0]:g}")
            targets = [classes[1]] if len(classes) == 2 else list(classes)
        labels = ytr
        if sct is not None:
            yte = sct.labels
            known = np.isin(yte, np.unique(ytr))
            if not known.any():
                raise UsageError(f"none of the test labels ({_show(np.unique(yte))}) is a "
                                 f"training label ({_show(np.unique(ytr))}): {args.test} does "
                                 f"not test this model")
            if not known.all():
                what = "count as the rest" if len(targets) == 1 else "count as errors"
                warnings.warn(f"{int(np.count_nonzero(~known))} of {len(yte)} test samples "
                              f"have labels no training sample has "
                              f"({_show(np.unique(yte[~known]))}): they {what}")
    else:
        labels = ytr.astype(np.float64)
        if not args.no_normalize_labels:
            lo_y, hi_y = float(labels.min()), float(labels.max())
            y_center, y_scale = 0.5 * (lo_y + hi_y), (0.5 * (hi_y - lo_y) if hi_y > lo_y
                                                      else 1.0)
        labels = (labels - y_center) / y_scale

    # pass 2: the packed stream, written chunk by chunk
    try:
        stream, sumsq = filestream.pack_libsvm(
            args.train, sc, d, args.bits, norm=norm, labels=labels, dest=dest, signed=signed,
            rounding=args.rounding, seed=args.seed, limit_text=limit_text)
    except prep.PrepError as e:
        raise UsageError(f"{args.train}: sample {e.row}, feature {e.col + 1}: {e}") from None
    except ValueError as e:
        raise UsageError(str(e)) from None
    Z.set_packed(stream, labels if order is None else labels[order], d + 1, bits=args.bits,
                 signed=signed)
    if args.step_size == "auto":
        from ..stepsize import step_from_norm
        args.step_size = step_from_norm(sumsq / n, args.bits, d + 1, args.delay,
                                        loss=args.model)
    else:
        g = {"svm": max(args.cost_pos, args.cost_neg), "logreg": 0.5}.get(
            args.model, float(np.max(np.abs(labels))))
        max_abs = 1.0                                   # the bias; normalised data: <= 1
        if args.normalize == "none":
            max_abs = max(1.0, float(np.max(np.abs(lo))), float(np.max(np.abs(hi))))
        reach = args.step_size * g * max_abs
        if 0 < reach < 2.0 ** -23:
            warnings.warn(f"--step-size {args.step_size:g} is too small for the engine's Q8.23 "
                          f"model: the largest update is {reach:.3g}, below its resolution "
                          f"2^-23 = 1.19e-07, so the model stays (nearly) zero; use a larger "
                          f"step or auto")
    times["prepare"] = time.perf_counter() - t0

    from tqdm import tqdm
    total = args.epochs * (len(targets) if classify else 1)
    # a terminal only: in a pipe or a file the bar's carriage returns would leave fragments
    bar = tqdm(total=total, unit="epoch", disable=args.quiet or not sys.stderr.isatty(),
               desc=f"Q{args.bits} {args.model}", leave=False)
    histories, loss_sums, epoch_times = [], [], []
    t_epoch = [time.perf_counter()]

    def tick(e, model):
        now = time.perf_counter()
        epoch_times.append(now - t_epoch[0])
        t_epoch[0] = now
        bar.update(1)

    t1 = time.perf_counter()
    try:
        if classify:
            for t in targets:
                Z.b_binarize(float(t))           # the engine binarises on chip
                t_epoch[0] = time.perf_counter()
                if args.model == "svm":
                    h = Z.L2SVM_SGD(args.epochs, args.step_size, args.cost_pos, args.cost_neg,
                                    args.reg, 1, callback=tick)
                else:
                    h = Z.LOGREG_SGD(args.epochs, args.step_size, args.reg, 1, callback=tick)
                histories.append(h)
                loss_sums.append(Z.last_result.loss_sum)
        else:
            h = Z.LINREG_SGD(args.epochs, args.step_size, args.reg, callback=tick)
            histories.append(h)
            loss_sums.append(Z.last_result.loss_sum)
    finally:
        bar.close()
    times["engine"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    res = _metrics(args, Z, histories, loss_sums, targets if classify else None, d, norm,
                   sct, y_center, y_scale)
    times["evaluate"] = time.perf_counter() - t2
    times["total"] = time.perf_counter() - t0
    res["epoch_seconds"] = [float(sum(epoch_times[e::args.epochs]))
                            for e in range(args.epochs)]
    res["seconds"] = {k: round(v, 6) for k, v in times.items()}
    res["bytes_per_epoch"] = int(Z.bytes_per_epoch) * (len(histories))
    res["bytes_per_epoch_per_model"] = int(Z.bytes_per_epoch)
    res.update(train=args.train, test=args.test, model=args.model, bits=args.bits,
               rounding=args.rounding if args.bits else None, epochs=args.epochs,
               step_size=args.step_size, reg=args.reg, reg_shift=_reg_shift(args),
               backend=Z.backend().name, normalize=args.normalize,
               num_samples=int(n), num_features=int(Z.num_features),
               models=len(histories))
    res["labels_scaled"] = (not classify) and not args.no_normalize_labels
    if not args.quiet:
        _print_table(res, classify)
        if args.verbose:
            _print_times(res)
    writers = {}
    if args.json:
        def write_json(tmp):
            with open(tmp, "w") as f:
                f.write(json.dumps(_json_safe(res), indent=1, allow_nan=False))
                f.flush()
                os.fsync(f.fileno())
        writers[args.json] = write_json
    if args.plot:
        writers[args.plot] = lambda tmp: _plot(res, classify, tmp)
    write_atomic(writers)
    return 0


def _first_outside(path, d, low, zero_based):
    """(sample, column, value) of the first feature value outside [low, 1] in a file."""
    from .. import filestream
    for chunk, _, r0 in filestream.iter_dense(path, d, zero_based=zero_based):
        bad = (chunk < low) | (chunk > 1.0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            return int(r0 + i), int(j), float(chunk[i, j])
    raise AssertionError("column statistics and data disagree")


def _show(vals, k=6):
    s = ", ".join(f"{v:g}" for v in vals[:k])
    return s + (", ..." if len(vals) > k else "")


def _reg_shift(args):
    from ..sgd import regularize_to_shift
    return regularize_to_shift(args.step_size, args.reg)[0]


def _losses(model, z, y, cost_pos, cost_neg):
    """Sum over the samples of the loss at margins z (n, E) for labels y (n, 1)."""
    if model == "svm":
        m = np.maximum(0.0, 1.0 - y * z)
        return np.sum(0.5 * np.where(y > 0, cost_pos, cost_neg) * m * m, axis=0)
    if model == "logreg":
        return np.sum(np.logaddexp(0.0, -y * z), axis=0)
    return np.sum(0.5 * (z - y) ** 2, axis=0)


def _metrics(args, Z, histories, loss_sums, targets, d, norm, sct, y_center, y_scale):
    """Loss per epoch (averaged over the binary problems) and accuracy / RMSE.

    The loss is the engine's progressive training loss (ENGINE.md section 11: each sample's
    loss at the margin the engine computed for it) where the backend reports it (the C
    engine), else the end-of-epoch objective over the packed samples; both plus
    ``reg / 2 * ||x||^2``. Training accuracy (RMSE) is measured on the packed samples the
    engine trained on (quantized for Qb), for the last epoch or, with ``--train-metrics
    every``, for every epoch; test metrics on the test file's float data for every epoch. The
    dot products run in C over the stream and over the test file in chunks: no float64 copy
    of either."""
    from .. import filestream, prep
    E, n, k = args.epochs, Z.num_samples, len(histories)
    lam = args.reg
    H = np.stack(histories)                                     # (k, d+1, E)
    reg = 0.5 * lam * np.einsum("kde,kde->ke", H, H)            # (k, E)
    y_stream = Z.b                                              # labels, stream order (raw /
    every = getattr(args, "train_metrics", "last") == "every"   # scaled for linreg)
    progressive = all(ls is not None for ls in loss_sums)
    epochs_train = list(range(E)) if (every or not progressive) else [E - 1]
    W = np.concatenate([H[c][:, epochs_train].T for c in range(k)])   # (k * len, d+1)
    z_all = []
    stream = Z._stream
    W_words = stream.shape[0] // n
    step = max(1, (1 << 20) // max(1, W.shape[0]))
    sums = np.zeros((k, len(epochs_train)))
    correct = np.zeros(len(epochs_train))
    sq = np.zeros(len(epochs_train))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        z, _ = prep.dot_stream(stream[r0 * W_words:r1 * W_words], r1 - r0, d + 1, Z.quantization_bits,
                               W, signed=Z._signed())
        z = z.reshape(r1 - r0, k, len(epochs_train))
        yb = y_stream[r0:r1]
        for c in range(k):
            yc = yb[:, None] if targets is None else np.where(yb == targets[c], 1.0, -1.0)[:, None]
            sums[c] += _losses(args.model, z[:, c, :], yc, args.cost_pos, args.cost_neg)
        correct += _score_counts(z, yb, targets, y_center, y_scale, sq_out=None)
        if targets is None:
            p = z[:, 0, :] * y_scale + y_center
            sq += np.sum((p - (yb[:, None] * y_scale + y_center)) ** 2, axis=0)
    res = {}
    if progressive:
        res["loss"] = [float(v) for v in np.mean(np.stack(loss_sums) / n + reg, axis=0)]
        res["loss_kind"] = "progressive"
    else:
        res["loss"] = [float(v) for v in np.mean(sums / n + reg[:, epochs_train], axis=0)]
        res["loss_kind"] = "objective"
    key = "accuracy" if targets is not None else "rmse"
    train = correct / n if targets is not None else np.sqrt(sq / n)
    res[f"train_{key}"] = float(train[-1])
    if len(epochs_train) == E:
        res[f"train_{key}_per_epoch"] = [float(v) for v in train]
    res["train_metrics_on"] = "packed samples" if Z.quantization_bits else "float32 samples"
    if sct is not None:
        Wt = np.concatenate([H[c].T for c in range(k)])              # (k * E, d+1)
        tnorm = prep.Norm(norm.mode, norm.lo, norm.hi, norm.to_min1_1, add_bias=True,
                          checked=True)               # clipped to the training range
        tcorrect, tsq = np.zeros(E), np.zeros(E)
        for chunk, yt, _ in filestream.iter_dense(args.test, d, zero_based=sct.zero_based,
                                                  parts=sct.parts):
            z = prep.dot_rows(chunk, Wt, tnorm).reshape(-1, k, E)
            if targets is not None:
                tcorrect += _score_counts(z, yt, targets, y_center, y_scale, sq_out=None)
            else:
                p = z[:, 0, :] * y_scale + y_center
                tsq += np.sum((p - yt[:, None]) ** 2, axis=0)
        nt = sct.n
        test = tcorrect / nt if targets is not None else np.sqrt(tsq / nt)
        res[f"test_{key}_per_epoch"] = [float(v) for v in test]
        res[f"test_{key}"] = float(test[-1])
    else:
        res[f"test_{key}"] = None
    if targets is not None:
        res["classes"] = [float(t) for t in targets]
    return res


def _score_counts(z, y, targets, y_center, y_scale, sq_out=None):
    """Correct predictions per epoch column of z (n, k, E) for labels y (n,)."""
    if targets is None:
        return np.zeros(z.shape[2])
    if len(targets) == 1:
        return np.sum((z[:, 0, :] > 0) == (y == targets[0])[:, None], axis=0)
    pred = np.asarray(targets)[np.argmax(z, axis=1)]           # (n, E)
    return np.sum(pred == y[:, None], axis=0)


def _print_times(res):
    s = res["seconds"]
    print(f"time: prepare {s['prepare']:.3f} s (parse, statistics, pack), engine "
          f"{s['engine']:.3f} s, evaluate {s['evaluate']:.3f} s, total {s['total']:.3f} s")


def _print_table(res, classify):
    key = "accuracy" if classify else "rmse"
    if classify:
        names = ("loss", "train accuracy", "test accuracy")
    else:
        names = ("loss (scaled y)" if res.get("labels_scaled") else "loss (y units^2)",
                 "train RMSE (y)", "test RMSE (y)")
    w = max(15, len(names[0]))
    head = f"{'epoch':>5} {names[0]:>{w}} {names[1]:>15}"
    has_test = res.get(f"test_{key}_per_epoch") is not None
    if has_test:
        head += f" {names[2]:>15}"
    head += f" {'seconds':>9}"
    print(head)
    per = res.get(f"train_{key}_per_epoch")
    last = len(res["loss"]) - 1
    for e, loss in enumerate(res["loss"]):
        tr = per[e] if per is not None else (res[f"train_{key}"] if e == last else None)
        tr_s = f"{tr:>15.4f}" if tr is not None else f"{'-':>15}"
        line = f"{e + 1:>5} {loss:>{w}.6g} {tr_s}"
        if has_test:
            line += f" {res[f'test_{key}_per_epoch'][e]:>15.4f}"
        line += f" {res['epoch_seconds'][e]:>9.4f}"
        print(line)
    print(f"loss: {'progressive (each sample at the model it met, ENGINE.md 11)' if res.get('loss_kind') == 'progressive' else 'end-of-epoch objective'}"
          + (f"; train {key}: on the packed Q{res['bits']} samples the engine trained on"
             if res.get("bits") else ""))
    print(f"backend {res['backend']}, Q{res['bits']}, step {fmt_step(res['step_size'])}, "
          f"{res['num_samples']:,} samples x {res['num_features']} features (bias included)")
    print(bytes_line(res["bytes_per_epoch_per_model"], res["models"]))
    if not classify:
        print("loss: mean squared error / 2 of the model on the labels it trained on"
              + (" (scaled to [-1, 1])" if res.get("labels_scaled") else "")
              + "; RMSE: in the units of the labels")


def bytes_line(per_model: int, models: int) -> str:
    """The data moved per epoch, worded the same in ``zipml train`` and ``zipml demo``."""
    s = f"bytes/epoch: {per_model:,} bytes of packed sample stream read per epoch per model"
    if models > 1:
        s += f" ({models} one-vs-rest models: {per_model * models:,} per epoch in all)"
    return s


def _plot(res, classify, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    key = "accuracy" if classify else "rmse"
    ep = np.arange(1, len(res["loss"]) + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, res["loss"], marker="o")
    a1.set_xlabel("epoch")
    a1.set_ylabel("training loss")
    a1.set_yscale("log" if min(res["loss"]) > 0 else "linear")
    if res.get(f"train_{key}_per_epoch") is not None:
        a2.plot(ep, res[f"train_{key}_per_epoch"], marker="o", label="train")
    else:
        a2.plot([ep[-1]], [res[f"train_{key}"]], marker="o", linestyle="", label="train")
    if res.get(f"test_{key}_per_epoch") is not None:
        a2.plot(ep, res[f"test_{key}_per_epoch"], marker="s", label="test")
    a2.set_xlabel("epoch")
    a2.set_ylabel(key if classify else "RMSE (label units)")
    a2.legend()
    fig.suptitle(f"{res['model']} Q{res['bits']} on {os.path.basename(res['train'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
