"""``zipml train``: train a model on a libsvm file, report loss and accuracy per epoch."""
from __future__ import annotations

import json
import math
import os
import time

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
    p.add_argument("--bits", type=bits_arg, default=0,
                   help="data precision: 0 (float32), 1, 2, 4 or 8 (default 0)")
    p.add_argument("--rounding", choices=("nearest", "stochastic"), default="nearest",
                   help="quantization rounding (default nearest)")
    p.add_argument("--epochs", type=positive_int, default=10, help="epochs (default 10)")
    p.add_argument("--step-size", type=step_arg, default="auto",
                   help="step size gamma, or 'auto' (default): 2^-k with k = ceil(log2(S_d * c * "
                        "mean ||a||^2)), S_d the engine's update delay, c = 1/4 for logreg, "
                        "else 1")
    p.add_argument("--step-decay", type=positive_float, default=1.0,
                   help="step size factor per epoch (default 1)")
    p.add_argument("--reg", type=nonneg_float, default=0.0,
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
    p.add_argument("--quiet", action="store_true", help="no progress bar, no table")


def _load(path, what):
    from .. import data
    from ..cli import UsageError
    if not os.path.isfile(path):
        raise UsageError(f"{what} file not found: {path}")
    return data.load_libsvm(path, zero_based="auto")   # 0-based files as in 2017


def _pad(X, d):
    if X.shape[1] == d:
        return X
    out = np.zeros((X.shape[0], d), dtype=X.dtype)
    out[:, :X.shape[1]] = X
    return out


def _normalize(args, Xtr, Xte):
    from .. import data
    if args.normalize == "none":
        return Xtr, Xte
    Xn, stats = data.normalize(Xtr, to_min1_1=args.to_min1_1, axis=args.normalize)
    if Xte is not None:
        if args.normalize == "c":
            Xte, _ = data.normalize(Xte, to_min1_1=args.to_min1_1, axis="c", stats=stats)
        else:
            Xte, _ = data.normalize(Xte, to_min1_1=args.to_min1_1, axis="r")
    return Xn, Xte


def run(args) -> int:
    from ..cli import UsageError
    from ..sgd import ZipML_SGD

    if args.plot and not args.plot.lower().endswith(".png"):
        raise UsageError(f"--plot needs a .png file name, got {args.plot}")
    for out in (args.json, args.plot):
        if out and os.path.dirname(os.path.abspath(out)) and not os.path.isdir(
                os.path.dirname(os.path.abspath(out))):
            raise UsageError(f"output directory does not exist: {os.path.dirname(out)}")

    Xtr, ytr = _load(args.train, "training")
    Xte = yte = None
    if args.test:
        Xte, yte = _load(args.test, "test")
        d = max(Xtr.shape[1], Xte.shape[1])
        Xtr, Xte = _pad(Xtr, d), _pad(Xte, d)
    Xtr, Xte = _normalize(args, Xtr, Xte)

    rng = np.random.RandomState(args.seed)
    if args.shuffle:
        order = rng.permutation(Xtr.shape[0])
        Xtr, ytr = Xtr[order], ytr[order]

    classify = args.model != "linreg"
    y_center, y_scale = 0.0, 1.0
    if classify:
        if args.binarize is not None:
            if not np.any(ytr == args.binarize):
                raise UsageError(f"--binarize {args.binarize:g}: no training label has this "
                                 f"value (labels: {_show(np.unique(ytr))})")
            targets, classes = [args.binarize], None
        else:
            classes = np.unique(ytr)
            if len(classes) < 2:
                raise UsageError(f"the training labels have one class only: {classes[0]:g}")
            targets = [classes[1]] if len(classes) == 2 else list(classes)
        labels = ytr
    else:
        labels = ytr.astype(np.float64)
        if not args.no_normalize_labels:
            lo, hi = float(labels.min()), float(labels.max())
            y_center, y_scale = 0.5 * (lo + hi), (0.5 * (hi - lo) if hi > lo else 1.0)
        labels = (labels - y_center) / y_scale

    if args.normalize == "none" and args.bits:
        lo = -1.0 if args.to_min1_1 else 0.0
        bad = (Xtr < lo) | (Xtr > 1.0)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise UsageError(f"--normalize none with --bits {args.bits}: features must lie in "
                             f"[{lo:g}, 1], found {float(Xtr[i, j]):g} (sample {i}, feature "
                             f"{j + 1}); use --normalize c or r")
    Z = ZipML_SGD(bits=0, backend=args.backend, rounding=args.rounding, seed=args.seed,
                  delay=args.delay, step_decay=args.step_decay)
    Z.set_data(Xtr, labels)
    if args.normalize != "none":
        Z.a_to_min1_1 = bool(args.to_min1_1)
    if args.bits:
        Z.a_quantize(args.bits, rounding=args.rounding, seed=args.seed)
    if args.step_size == "auto":
        from ..stepsize import auto_step_size
        args.step_size = auto_step_size(Z.a, args.bits, args.delay, loss=args.model)
    Z.backend()          # build (and on "auto" detect) the backend before any timing

    from tqdm import tqdm
    total = args.epochs * (len(targets) if classify else 1)
    bar = tqdm(total=total, unit="epoch", disable=args.quiet, desc=f"Q{args.bits} {args.model}",
               leave=False)
    histories, times = [], []
    t_epoch = [time.perf_counter()]

    def tick(e, model):
        now = time.perf_counter()
        times.append(now - t_epoch[0])
        t_epoch[0] = now
        bar.update(1)

    try:
        if classify:
            for t in targets:
                Z.b_binarize(t)
                t_epoch[0] = time.perf_counter()
                if args.model == "svm":
                    h = Z.L2SVM_SGD(args.epochs, args.step_size, args.cost_pos, args.cost_neg,
                                    args.reg, 1, callback=tick)
                else:
                    h = Z.LOGREG_SGD(args.epochs, args.step_size, args.reg, 1, callback=tick)
                histories.append(h)
        else:
            h = Z.LINREG_SGD(args.epochs, args.step_size, args.reg, callback=tick)
            histories.append(h)
    finally:
        bar.close()

    res = _metrics(args, Z, histories, targets if classify else None, classes if classify
                   else None, Xtr, ytr, Xte, yte, y_center, y_scale)
    res["epoch_seconds"] = [float(sum(times[e::args.epochs])) for e in range(args.epochs)]
    res["bytes_per_epoch"] = int(Z.bytes_per_epoch) * (len(histories))
    res.update(train=args.train, test=args.test, model=args.model, bits=args.bits,
               rounding=args.rounding if args.bits else None, epochs=args.epochs,
               step_size=args.step_size, reg=args.reg, reg_shift=_reg_shift(args),
               backend=Z.backend().name, normalize=args.normalize,
               num_samples=int(Xtr.shape[0]), num_features=int(Z.num_features),
               models=len(histories))
    if not args.quiet:
        _print_table(res, classify)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if args.plot:
        _plot(res, classify, args.plot)
    return 0


def _show(vals, k=6):
    s = ", ".join(f"{v:g}" for v in vals[:k])
    return s + (", ..." if len(vals) > k else "")


def _reg_shift(args):
    from ..sgd import regularize_to_shift
    return regularize_to_shift(args.step_size, args.reg)[0]


def _metrics(args, Z, histories, targets, classes, Xtr, ytr, Xte, yte, y_center, y_scale):
    """Loss per epoch (training objective, mean over samples, averaged over the binary
    problems) and accuracy / RMSE per epoch."""
    E = args.epochs
    A_tr = Z.a.astype(np.float64)
    A_te = None
    if Xte is not None:
        A_te = np.hstack([np.ones((Xte.shape[0], 1)), np.asarray(Xte, dtype=np.float64)])
    res = {"loss": []}
    n = Z.num_samples
    lam = args.reg
    for e in range(E):
        vals = []
        for k, h in enumerate(histories):
            x = h[:, e]
            if args.model == "svm":
                Z.b_binarize(targets[k])
                v = Z.calculate_L2SVM_loss(x, args.cost_pos, args.cost_neg, 0.0, 1) / n
            elif args.model == "logreg":
                Z.b_binarize(targets[k])
                v = Z.calculate_LOGREG_loss(x, 0.0, 1) / n
            else:
                v = Z.calculate_LINREG_loss(x, 0.0)
            vals.append(v + 0.5 * lam * float(x @ x))
        res["loss"].append(float(np.mean(vals)))

    def predict(A, e):
        W = np.stack([h[:, e] for h in histories], axis=1)
        s = A @ W
        if targets is None:
            return s[:, 0] * y_scale + y_center
        if len(targets) == 1:
            return s[:, 0] > 0
        return np.asarray(targets)[np.argmax(s, axis=1)]

    def score(A, y, e):
        p = predict(A, e)
        if targets is None:
            return float(np.sqrt(np.mean((p - y) ** 2)))
        if len(targets) == 1:
            return float(np.mean(p == (y == targets[0])))
        return float(np.mean(p == y))

    key = "accuracy" if targets is not None else "rmse"
    res[f"train_{key}_per_epoch"] = [score(A_tr, ytr, e) for e in range(E)]
    res[f"train_{key}"] = res[f"train_{key}_per_epoch"][-1]
    if A_te is not None:
        res[f"test_{key}_per_epoch"] = [score(A_te, yte, e) for e in range(E)]
        res[f"test_{key}"] = res[f"test_{key}_per_epoch"][-1]
    else:
        res[f"test_{key}"] = None
    if targets is not None:
        res["classes"] = [float(t) for t in targets]
    return res


def _print_table(res, classify):
    key = "accuracy" if classify else "rmse"
    head = f"{'epoch':>5} {'loss':>12} {'train ' + key:>15}"
    has_test = res.get(f"test_{key}_per_epoch") is not None
    if has_test:
        head += f" {'test ' + key:>15}"
    head += f" {'seconds':>9}"
    print(head)
    for e, loss in enumerate(res["loss"]):
        line = f"{e + 1:>5} {loss:>12.6g} {res[f'train_{key}_per_epoch'][e]:>15.4f}"
        if has_test:
            line += f" {res[f'test_{key}_per_epoch'][e]:>15.4f}"
        line += f" {res['epoch_seconds'][e]:>9.4f}"
        print(line)
    print(f"backend {res['backend']}, Q{res['bits']}, step {res['step_size']:.6g}, "
          f"{res['num_samples']} samples x "
          f"{res['num_features']} features (bias included), {res['bytes_per_epoch']} bytes "
          f"read per epoch ({res['models']} model(s))")


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
    a2.plot(ep, res[f"train_{key}_per_epoch"], marker="o", label="train")
    if res.get(f"test_{key}_per_epoch") is not None:
        a2.plot(ep, res[f"test_{key}_per_epoch"], marker="s", label="test")
    a2.set_xlabel("epoch")
    a2.set_ylabel(key)
    a2.legend()
    fig.suptitle(f"{res['model']} Q{res['bits']} on {os.path.basename(res['train'])}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
