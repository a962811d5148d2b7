"""``zipml features``: transfer learning. Images -> InceptionV3 features -> libsvm; --mix.

Examples::

    zipml features galaxies/mergers --label 1 -o mergers.libsvm
    zipml features galaxies/others --label -1 -o others.libsvm
    zipml features --mix mergers.libsvm others.libsvm --train 2000 --test 1000 --seed 0 \\
        -o galaxy.train galaxy.test
"""
from __future__ import annotations

import os
import sys

HELP = ("transfer learning: 2048 InceptionV3 features per image of a folder as libsvm lines "
        "(torchvision), or --mix such files into shuffled train/test files")


def add_arguments(p):
    from .train import finite_float, positive_int
    p.add_argument("folder", nargs="?", metavar="FOLDER",
                   help="folder of images (png, jpg, ...; not recursive)")
    p.add_argument("--label", type=finite_float, help="label of every image of FOLDER")
    p.add_argument("-o", "--output", nargs="+", required=True, metavar="OUT",
                   help="libsvm output; with --mix: TRAIN TEST")
    p.add_argument("--weights", metavar="PATH",
                   help="ImageNet InceptionV3 state dict (default: torchvision's file in the "
                        "torch hub cache; nothing is downloaded)")
    p.add_argument("--random-weights", action="store_true",
                   help="without ImageNet weights, use a randomly initialised network (tests "
                        "and demonstrations only: the features are not ImageNet features)")
    p.add_argument("--size", type=positive_int, default=299,
                   help="input size in pixels (default 299, InceptionV3's; at least 75)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="images per batch")
    p.add_argument("--mix", nargs="+", metavar="LIBSVM",
                   help="shuffle two or more libsvm files into TRAIN and TEST (-o TRAIN TEST)")
    p.add_argument("--train", type=int, metavar="N", help="--mix: lines of the training file")
    p.add_argument("--test", type=int, metavar="M", help="--mix: lines of the test file")
    p.add_argument("--seed", type=int, default=0,
                   help="shuffle seed (--mix) / seed of --random-weights (default 0)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar (there is none when stderr is not a terminal)")


def run(args) -> int:
    from ..cli import UsageError
    from .. import transfer

    for out in args.output:
        d = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(d):
            raise UsageError(f"output directory does not exist: {d}")
    if args.mix is not None:
        if args.folder is not None:
            raise UsageError(f"--mix takes libsvm files, not a folder ({args.folder})")
        if len(args.mix) < 2:
            raise UsageError(f"--mix needs two or more libsvm files, got {len(args.mix)}")
        if args.train is None or args.test is None:
            raise UsageError("--mix needs --train N and --test M")
        if args.train < 0 or args.test < 0 or args.train + args.test == 0:
            raise UsageError(f"--train and --test must be >= 0 and not both 0, got "
                             f"{args.train} and {args.test}")
        if len(args.output) != 2:
            raise UsageError(f"--mix writes two files: -o TRAIN TEST, got {len(args.output)}")
        for p in args.mix:
            if not os.path.isfile(p):
                raise UsageError(f"libsvm file not found: {p}")
        info = transfer.mix_libsvm(args.mix, args.output[0], args.output[1], args.train,
                                   args.test, seed=args.seed)
        for key, out in (("train", args.output[0]), ("test", args.output[1])):
            parts = ", ".join(f"{c} from {os.path.basename(p)}"
                              for p, c in zip(args.mix, info[key]))
            print(f"{out}: {sum(info[key])} lines ({parts})")
        return 0

    if args.folder is None:
        raise UsageError("give an image FOLDER (with --label) or --mix FILES")
    if args.label is None:
        raise UsageError("--label is required: the label written for every image of "
                         f"{args.folder}")
    if len(args.output) != 1:
        raise UsageError(f"one output file expected, got {len(args.output)}")
    if args.train is not None or args.test is not None:
        raise UsageError("--train/--test only apply to --mix")
    if not os.path.isdir(args.folder):
        raise UsageError(f"image folder not found: {args.folder}")
    if args.size < 75:
        raise UsageError(f"--size must be at least 75 (InceptionV3), got {args.size}")
    if args.weights and not os.path.isfile(args.weights):
        raise UsageError(f"weights file not found: {args.weights}")
    try:
        n, source = transfer.images_to_libsvm(
            args.folder, args.label, args.output[0], weights=args.weights,
            random_weights=args.random_weights, seed=args.seed, size=args.size,
            batch_size=args.batch_size, progress=not args.quiet and sys.stderr.isatty())
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    print(f"{args.output[0]}: {n} images x {transfer.FEATURES} features, label "
          f"{args.label:g}, weights: {source}")
    return 0
