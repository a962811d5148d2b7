"""Transfer learning: images -> 2048-d InceptionV3 features -> libsvm, and mixing such files.

The 2017 flow (galaxy mergers): run every image of a folder through an ImageNet-trained
InceptionV3, keep the 2048 values of the global average pool in front of the classifier as
the features of the image, write them as one libsvm line with a given label; then mix two or
more such files, shuffled, into training and test files, and train a linear SVM on them.

Needs PyTorch and torchvision (``pip install 'zipml[features]'``), imported only when features
are computed; :func:`mix_libsvm` needs neither.

ImageNet weights are never downloaded here. They are used when the user has them: a file given
by ``weights=PATH`` (a state dict of ``torchvision.models.inception_v3``, e.g. torchvision's
``inception_v3_google-0cc3c7bd.pth``), or that file in the torch hub cache
(``$TORCH_HOME/hub/checkpoints/``). Without them, :func:`build_model` refuses unless
``random_weights=True`` (a randomly initialised network: for tests and demonstrations only;
its features are random projections, not ImageNet features).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["FEATURES", "IMAGE_EXTENSIONS", "list_images", "build_model", "load_image",
           "extract_features", "images_to_libsvm", "mix_libsvm", "imagenet_weights_path",
           "WeightsMissing"]

#: Feature dimension of InceptionV3's pooled output.
FEATURES = 2048
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm",
                    ".webp")
#: File name of torchvision's ImageNet InceptionV3 weights (Inception_V3_Weights.IMAGENET1K_V1).
TORCHVISION_WEIGHTS_FILE = "inception_v3_google-0cc3c7bd.pth"
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class WeightsMissing(OSError):
    """No ImageNet weights available and random weights were not asked for."""


def _need_torch():
    try:
        import torch
        import torchvision
    except ImportError as exc:
        raise ImportError(
            f"zipml features needs PyTorch and torchvision ({exc}); install them with "
            f"pip install 'zipml[features]' (or pip install torch torchvision pillow)") from None
    return torch, torchvision


def list_images(folder) -> list[str]:
    """Image files (by extension, case-insensitive) directly in ``folder``, sorted by name."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"image folder not found: {folder}")
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_EXTENSIONS)
                   and os.path.isfile(os.path.join(folder, n)))
    if not names:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return [os.path.join(folder, n) for n in names]


def imagenet_weights_path() -> str | None:
    """torchvision's ImageNet InceptionV3 weights in the torch hub cache, if present."""
    try:
        import torch
        hub = torch.hub.get_dir()
    except ImportError:
        hub = os.path.join(os.environ.get("TORCH_HOME", os.path.expanduser("~/.cache/torch")),
                           "hub")
    path = os.path.join(hub, "checkpoints", TORCHVISION_WEIGHTS_FILE)
    return path if os.path.isfile(path) else None


def build_model(weights=None, random_weights: bool = False, seed: int = 0):
    """InceptionV3 without its classifier (``fc`` = identity): image -> 2048 features.

    Parameters
    ----------
    weights : path, optional
        State dict of ``torchvision.models.inception_v3`` (ImageNet). Default: torchvision's
        file in the torch hub cache when it is there.
    random_weights : bool
        Without ImageNet weights, use a randomly initialised network (seeded by ``seed``)
        instead of refusing. Ignored when weights are found.

    Returns
    -------
    model : torch.nn.Module in eval mode
    source : str
        Where the weights came from (a path, or ``"random (seed S)"``).

    Raises
    ------
    WeightsMissing
        No weights and ``random_weights`` is false (nothing is downloaded).
    """
    torch, torchvision = _need_torch()
    from torchvision.models import inception_v3
    if weights is None:
        weights = imagenet_weights_path()
    if weights is not None:
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"weights file not found: {weights}")
        # torchvision's ImageNet weights expect transform_input=True (it does the same)
        model = inception_v3(weights=None, aux_logits=True, init_weights=False,
                             transform_input=True)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"{weights}: cannot be read as a PyTorch state dict: {exc}") from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError) as exc:
            first = str(exc).splitlines()[0]
            raise ValueError(f"{weights}: not InceptionV3 weights: {first}") from None
        source = weights
    elif random_weights:
        torch.manual_seed(int(seed))
        model = inception_v3(weights=None, aux_logits=False, init_weights=True,
                             transform_input=False)
        source = f"random (seed {int(seed)})"
    else:
        raise WeightsMissing(
            f"no ImageNet InceptionV3 weights: give --weights PATH (a state dict of "
            f"torchvision.models.inception_v3) or put torchvision's {TORCHVISION_WEIGHTS_FILE} "
            f"into {os.path.join(_hub_dir(), 'checkpoints')}; nothing is downloaded. "
            f"--random-weights uses a randomly initialised network (tests only)")
    model.fc = torch.nn.Identity()
    model.AuxLogits = None
    model.aux_logits = False
    model.eval()
    return model, source


def _hub_dir():
    try:
        import torch
        return torch.hub.get_dir()
    except ImportError:  # pragma: no cover
        return "~/.cache/torch/hub"


def load_image(path, size: int = 299) -> np.ndarray:
    """Read an image as float32 (3, size, size): RGB, shorter side resized to
    ``round(size * 342 / 299)`` (bilinear), centre crop ``size``, ImageNet mean/std
    normalisation (the preprocessing of torchvision's InceptionV3 weights)."""
    from PIL import Image, UnidentifiedImageError
    path = os.fspath(path)
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            short = max(size, int(round(size * 342 / 299)))
            if w <= h:
                nw, nh = short, max(short, int(round(h * short / w)))
            else:
                nw, nh = max(short, int(round(w * short / h))), short
            im = im.resize((nw, nh), Image.BILINEAR)
            left, top = (nw - size) // 2, (nh - size) // 2
            im = im.crop((left, top, left + size, top + size))
            a = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the image: {exc}") from None
    a = (a - _MEAN) / _STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def extract_features(model, paths, size: int = 299, batch_size: int = 8, progress=True):
    """Yield ``(paths_of_batch, features (k, 2048) float32)`` batch by batch, with a tqdm
    progress bar over the images."""
    torch, _ = _need_torch()
    from tqdm import tqdm
    if size < 75:
        raise ValueError(f"InceptionV3 needs images of at least 75x75 pixels, got size={size}")
    paths = list(paths)
    with tqdm(total=len(paths), unit="img", disable=not progress, desc="InceptionV3",
              leave=True) as bar, torch.no_grad():
        for i in range(0, len(paths), batch_size):
            batch = paths[i:i + batch_size]
            x = torch.from_numpy(np.stack([load_image(p, size) for p in batch]))
            f = model(x)
            if isinstance(f, tuple):      # InceptionOutputs in training mode
                f = f[0]
            f = f.detach().cpu().numpy().astype(np.float32).reshape(len(batch), -1)
            if f.shape[1] != FEATURES:
                raise RuntimeError(f"the network returned {f.shape[1]} features, expected "
                                   f"{FEATURES}")
            bar.update(len(batch))
            yield batch, f


def images_to_libsvm(folder, label, out, *, weights=None, random_weights=False, seed=0,
                     size: int = 299, batch_size: int = 8, progress=True,
                     model=None) -> tuple[int, str]:
    """Features of every image in ``folder`` as libsvm lines with ``label``, written to
    ``out`` (via ``out.part``: nothing is left half-written). Returns ``(images, weights
    source)``. ``model``: a ``(model, source)`` pair from :func:`build_model` to reuse
    (then ``weights``, ``random_weights`` and ``seed`` are ignored)."""
    from .convert import write_libsvm_chunk
    label = float(label)
    if not np.isfinite(label):
        raise ValueError(f"label must be finite, got {label!r}")
    paths = list_images(folder)
    model, source = model if model is not None else build_model(weights, random_weights, seed)
    n = 0
    tmp = os.fspath(out) + ".part"
    try:
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            for batch, feats in extract_features(model, paths, size, batch_size, progress):
                write_libsvm_chunk(f, feats, np.full(len(batch), label))
                n += len(batch)
        os.replace(tmp, os.fspath(out))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return n, source


# --------------------------------------------------------------------------- mixing
def _line_index(path):
    """Byte offset and length of every sample line (blank and comment-only lines skipped);
    the file is checked with the libsvm tokenizer first (errors name file and line)."""
    from .convert import iter_libsvm
    for _ in iter_libsvm(path):
        pass
    offs, lens = [], []
    pos = 0
    with open(os.fspath(path), "rb") as f:
        for raw in f:
            body = raw.split(b"#", 1)[0].strip()
            if body:
                offs.append(pos)
                lens.append(len(raw.rstrip(b"\r\n")))
            pos += len(raw)
    return np.asarray(offs, dtype=np.int64), np.asarray(lens, dtype=np.int64)


def mix_libsvm(inputs, train_out, test_out, n_train: int, n_test: int, seed=0) -> dict:
    """Shuffle the sample lines of two or more libsvm files into a training file of
    ``n_train`` lines and a test file of ``n_test`` lines (no line in both).

    Lines are copied verbatim; memory holds one offset per line. The shuffle is
    ``numpy.random.default_rng(seed).permutation`` over all lines of all inputs, in input order.

    Raises
    ------
    ValueError
        Fewer than two inputs, a malformed input (file and line), or fewer lines than
        ``n_train + n_test`` (the message gives every file's count).
    """
    inputs = [os.fspath(p) for p in inputs]
    if len(inputs) < 2:
        raise ValueError(f"--mix needs two or more libsvm files, got {len(inputs)}")
    for name, v in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
    if n_train + n_test == 0:
        raise ValueError("n_train + n_test must be > 0")
    for o in (train_out, test_out):
        if os.path.abspath(os.fspath(o)) in map(os.path.abspath, inputs):
            raise ValueError(f"output {os.fspath(o)} would overwrite an input")
    index = [_line_index(p) for p in inputs]
    counts = [len(o) for o, _ in index]
    total = sum(counts)
    if n_train + n_test > total:
        have = ", ".join(f"{p}: {c}" for p, c in zip(inputs, counts))
        raise ValueError(f"not enough samples: --train {n_train} + --test {n_test} = "
                         f"{n_train + n_test} lines needed, the inputs have {total} ({have})")
    file_of = np.repeat(np.arange(len(inputs)), counts)
    line_of = np.concatenate([np.arange(c) for c in counts])
    order = np.random.default_rng(seed).permutation(total)
    picks = {"train": order[:n_train], "test": order[n_train:n_train + n_test]}
    from .convert import _atomic
    handles = [open(p, "rb") for p in inputs]
    per_file = {}
    try:
        with _atomic(train_out, test_out) as tmps:
            _write_mix(handles, index, file_of, line_of, picks, tmps, per_file, len(inputs))
    finally:
        for h in handles:
            h.close()
    return {"inputs": dict(zip(inputs, counts)), "train": per_file["train"],
            "test": per_file["test"]}


def _write_mix(handles, index, file_of, line_of, picks, outs, per_file, n_inputs):
    for key, out in zip(("train", "test"), outs):
        sel = picks[key]
        with open(out, "wb") as fo:
            for k in sel:
                fi, li = int(file_of[k]), int(line_of[k])
                offs, lens = index[fi]
                fh = handles[fi]
                fh.seek(int(offs[li]))
                fo.write(fh.read(int(lens[li])) + b"\n")
        per_file[key] = np.bincount(file_of[sel], minlength=n_inputs).tolist()
