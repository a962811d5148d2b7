"""``zipml convert``: idx (MNIST/Fashion-MNIST) and CSV to libsvm, and back, streaming.

Examples::

    zipml convert train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz -o mnist
    zipml convert YearPredictionMSD.txt -o msd.libsvm            # CSV, label first
    zipml convert mnist -o images-idx3-ubyte labels-idx1-ubyte --shape 28x28
    zipml convert msd.libsvm -o msd.csv
"""
from __future__ import annotations

import os

HELP = "convert idx (MNIST) or CSV files to libsvm and back (streaming, bounded memory)"


def _shape(text):
    import argparse
    try:
        dims = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        dims = ()
    if not dims or any(v < 1 for v in dims):
        raise argparse.ArgumentTypeError(f"expected a shape like 28x28, got {text!r}")
    return dims


def add_arguments(p):
    from .train import positive_float, positive_int
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="idx: IMAGES LABELS; CSV or libsvm: one file (gzipped input is "
                        "recognised)")
    p.add_argument("-o", "--output", nargs="+", required=True, metavar="OUT",
                   help="libsvm or CSV: one file; idx: IMAGES LABELS (a .gz name is "
                        "compressed)")
    p.add_argument("--from", dest="src", choices=("auto", "idx", "csv", "libsvm"),
                   default="auto", help="input format (default: from the file's content)")
    p.add_argument("--to", dest="dst", choices=("auto", "libsvm", "csv", "idx"),
                   default="auto", help="output format (default: idx for two outputs, csv for "
                                        "a .csv name, else libsvm)")
    p.add_argument("--label-column", type=int, default=0,
                   help="CSV: column of the label, 0-based; -1 = last (default 0)")
    p.add_argument("--header", action="store_true",
                   help="CSV input: skip the first line; CSV output: write a header line")
    p.add_argument("--delimiter", default=",", help="CSV delimiter (default ',')")
    p.add_argument("--scale", type=positive_float, default=1.0,
                   help="idx -> libsvm: divide values by SCALE (255: pixels to [0,1]); "
                        "libsvm -> idx: multiply by SCALE (default 1)")
    p.add_argument("--shape", type=_shape, default=(28, 28),
                   help="libsvm -> idx: item shape (default 28x28)")
    p.add_argument("--dtype", choices=("uint8", "int8", "int16", "int32", "float32", "float64"),
                   default="uint8", help="libsvm -> idx: value type (default uint8)")
    p.add_argument("--features", type=positive_int, metavar="N",
                   help="libsvm -> CSV: number of feature columns (default: largest index)")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="convert only the first N samples")


def run(args) -> int:
    from .. import convert as cv
    from ..cli import UsageError

    for path in args.inputs:
        if not os.path.isfile(path):
            raise UsageError(f"input file not found: {path}")
    for path in args.output:
        d = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(d):
            raise UsageError(f"output directory does not exist: {d}")
        if any(os.path.abspath(path) == os.path.abspath(i) for i in args.inputs):
            raise UsageError(f"output {path} would overwrite an input")
    src = args.src
    if src == "auto":
        src = cv.detect_format(args.inputs[0])
    dst = args.dst
    if dst == "auto":
        if len(args.output) == 2:
            dst = "idx"
        elif args.output[0].lower().endswith((".csv", ".csv.gz")):
            dst = "csv"
        else:
            dst = "libsvm"
    if src == dst:
        raise UsageError(f"input and output are both {src}: nothing to convert "
                         f"(use --from/--to)")
    need_in = 2 if src == "idx" else 1
    if len(args.inputs) != need_in:
        raise UsageError(f"{src} input needs {need_in} file(s) "
                         f"({'IMAGES LABELS' if src == 'idx' else 'one file'}), got "
                         f"{len(args.inputs)}: {' '.join(args.inputs)}")
    need_out = 2 if dst == "idx" else 1
    if len(args.output) != need_out:
        raise UsageError(f"{dst} output needs {need_out} file(s) "
                         f"({'IMAGES LABELS' if dst == 'idx' else 'one file'}), got "
                         f"{len(args.output)}")
    if src == "idx" and cv.detect_format(args.inputs[1]) != "idx":
        raise UsageError(f"{args.inputs[1]} is not an idx file (the labels of {args.inputs[0]})")

    if src == "idx" and dst == "libsvm":
        n = cv.idx_to_libsvm(args.inputs[0], args.inputs[1], args.output[0], scale=args.scale,
                             limit=args.limit)
    elif src == "csv" and dst == "libsvm":
        n = cv.csv_to_libsvm(args.inputs[0], args.output[0], label_column=args.label_column,
                             header=args.header, delimiter=args.delimiter, limit=args.limit)
    elif src == "libsvm" and dst == "idx":
        n = cv.libsvm_to_idx(args.inputs[0], args.output[0], args.output[1], shape=args.shape,
                             dtype=args.dtype, scale=args.scale, limit=args.limit)
    elif src == "libsvm" and dst == "csv":
        n = cv.libsvm_to_csv(args.inputs[0], args.output[0], n_features=args.features,
                             label_column=args.label_column, header=args.header,
                             limit=args.limit)
    else:
        raise UsageError(f"no conversion from {src} to {dst}: supported are idx <-> libsvm "
                         f"and csv <-> libsvm")
    print(f"{n} samples: {' '.join(args.inputs)} ({src}) -> {' '.join(args.output)} ({dst})")
    return 0
