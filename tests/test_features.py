"""``zipml features``: InceptionV3 features of images -> libsvm (random weights, generated
images, no downloads) and ``--mix`` (shuffled train/test files)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from zipml import transfer
from zipml.data import load_libsvm

HAVE_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "torchvision", "PIL"))
NO_TORCH = ("PyTorch/torchvision/pillow not installed: `make test` links Debian's "
            "python3-torch/python3-torchvision into .venv when .venv is made by Debian's "
            "python3 (or pip install 'zipml[features]': PyPI's CUDA wheels, about 5 GB)")


def zipml(*args, timeout=300, env=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "zipml", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=e)


def zipml_tty(*args, timeout=300, env=None):
    """``zipml`` with stderr on a pseudo-terminal (where progress bars are shown); returns
    (exit code, stdout, stderr)."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # 100 columns
    p = subprocess.Popen([sys.executable, "-m", "zipml", *map(str, args)],
                         stdout=subprocess.PIPE, stderr=slave,
                         env=dict(os.environ, **(env or {})))
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:            # EIO: the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    return p.wait(timeout), out.decode(), err.decode(errors="replace")


def libsvm_file(path, label, rows):
    with open(path, "w") as f:
        for i in range(rows):
            f.write(f"{label} 1:{i + 1} 7:{label}.5\n")
    return path


# ----------------------------------------------------------------------------------- --mix
def test_mix_lengths_disjoint_and_seeded(tmp_path):
    files = [libsvm_file(tmp_path / f"c{k}.libsvm", k, n) for k, n in ((1, 30), (2, 20), (3, 5))]
    # a comment line and a blank line are not samples
    with open(files[2], "a") as f:
        f.write("# comment\n\n")
    r = zipml("features", "--mix", *files, "--train", 40, "--test", 12, "--seed", 7,
              "-o", tmp_path / "tr", tmp_path / "te")
    assert r.returncode == 0, r.stderr
    tr = (tmp_path / "tr").read_text().splitlines()
    te = (tmp_path / "te").read_text().splitlines()
    assert len(tr) == 40 and len(te) == 12
    every = set()
    for f in files:
        every |= {ln for ln in f.read_text().splitlines() if ln and not ln.startswith("#")}
    assert len(every) == 55
    assert set(tr) <= every and set(te) <= every
    assert len(set(tr) | set(te)) == 52           # no line twice, none in both
    assert f"{tmp_path / 'tr'}: 40 lines" in r.stdout
    # the counts per input in the report match the files
    by_label = [sum(ln.startswith(f"{k} ") for ln in tr) for k in (1, 2, 3)]
    assert f"({by_label[0]} from c1.libsvm, {by_label[1]} from c2.libsvm, {by_label[2]} from " \
           f"c3.libsvm)" in r.stdout
    # deterministic for a seed, shuffled (not in input order), another seed differs
    info = transfer.mix_libsvm(files, tmp_path / "tr2", tmp_path / "te2", 40, 12, seed=7)
    assert (tmp_path / "tr2").read_text() == (tmp_path / "tr").read_text()
    assert info["train"] == by_label
    transfer.mix_libsvm(files, tmp_path / "tr3", tmp_path / "te3", 40, 12, seed=8)
    assert (tmp_path / "tr3").read_text() != (tmp_path / "tr").read_text()
    labels = [int(ln.split()[0]) for ln in tr]
    assert labels != sorted(labels)
    X, y = load_libsvm(tmp_path / "tr")
    assert X.shape == (40, 7)


def test_mix_errors(tmp_path):
    a = libsvm_file(tmp_path / "a.libsvm", 1, 4)
    b = libsvm_file(tmp_path / "b.libsvm", -1, 3)
    r = zipml("features", "--mix", a, b, "--train", 5, "--test", 3, "-o", tmp_path / "tr",
              tmp_path / "te")
    assert r.returncode == 2
    assert ("not enough samples: --train 5 + --test 3 = 8 lines needed, the inputs have 7 "
            f"({a}: 4, {b}: 3)") in r.stderr
    assert not (tmp_path / "tr").exists()
    r = zipml("features", "--mix", a, "--train", 1, "--test", 1, "-o", tmp_path / "tr",
              tmp_path / "te")
    assert r.returncode == 2 and "two or more libsvm files" in r.stderr
    r = zipml("features", "--mix", a, b, "--train", 1, "-o", tmp_path / "tr", tmp_path / "te")
    assert r.returncode == 2 and "--mix needs --train N and --test M" in r.stderr
    r = zipml("features", "--mix", a, b, "--train", 1, "--test", 1, "-o", tmp_path / "tr")
    assert r.returncode == 2 and "-o TRAIN TEST" in r.stderr
    bad = tmp_path / "bad.libsvm"
    bad.write_text("1 1:2\n1 1:2 1:3\n")
    r = zipml("features", "--mix", a, bad, "--train", 1, "--test", 1, "-o", tmp_path / "tr",
              tmp_path / "te")
    assert r.returncode == 2
    assert f"{bad}, line 2: duplicate feature index" in r.stderr
    with pytest.raises(ValueError, match="would overwrite an input"):
        transfer.mix_libsvm([a, b], a, tmp_path / "te", 1, 1)


# ----------------------------------------------------------------------------------- images
def test_features_need_weights_or_random(tmp_path):
    (tmp_path / "imgs").mkdir()
    r = zipml("features", tmp_path / "imgs", "--label", 1, "-o", tmp_path / "o")
    assert r.returncode == 2
    assert "no images" in r.stderr
    r = zipml("features", tmp_path / "nope", "--label", 1, "-o", tmp_path / "o")
    assert r.returncode == 2 and "image folder not found" in r.stderr
    r = zipml("features", tmp_path / "imgs", "-o", tmp_path / "o")
    assert r.returncode == 2 and "--label is required" in r.stderr


@pytest.mark.skipif(not HAVE_TORCH, reason=NO_TORCH)
def test_weights_file_and_hub_cache_are_used(tmp_path, monkeypatch):
    """A state dict in torchvision's InceptionV3 layout (random values: no ImageNet weights
    here) is loaded from --weights or found in the torch hub cache."""
    import torch
    from torchvision.models import inception_v3
    torch.manual_seed(1)
    ref = inception_v3(weights=None, aux_logits=True, init_weights=False)
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    path = hub / transfer.TORCHVISION_WEIGHTS_FILE
    torch.save(ref.state_dict(), path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    assert transfer.imagenet_weights_path() == str(path)
    model, source = transfer.build_model()               # found in the cache
    assert source == str(path)
    got = model.state_dict()
    for k, v in ref.state_dict().items():
        if not k.startswith(("fc.", "AuxLogits.")):
            assert torch.equal(got[k], v), k
    assert model.transform_input                          # as torchvision's ImageNet weights
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    assert transfer.imagenet_weights_path() is None
    with pytest.raises(transfer.WeightsMissing, match="nothing is downloaded"):
        transfer.build_model()
    assert transfer.build_model(path)[1] == str(path)    # given by path


@pytest.mark.skipif(not HAVE_TORCH, reason=NO_TORCH)
def test_features_random_weights_on_generated_images(tmp_path):
    from PIL import Image
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (80, 80), dtype=np.uint8)).save(folder / "b.jpg")
    Image.fromarray(np.zeros((100, 76, 3), dtype=np.uint8)).save(folder / "c.bmp")
    (folder / "notes.txt").write_text("not an image")
    # no ImageNet weights here (empty TORCH_HOME): refused without --random-weights
    env = {"TORCH_HOME": str(tmp_path / "torch_home")}
    r = zipml("features", folder, "--label", 3, "-o", tmp_path / "o", env=env)
    assert r.returncode == 2
    assert "no ImageNet InceptionV3 weights" in r.stderr and "--random-weights" in r.stderr
    r = zipml("features", folder, "--label", 3, "-o", tmp_path / "o", "--random-weights",
              "--size", 75, "--batch-size", 2, env=env)
    assert r.returncode == 0, r.stderr
    assert "3 images x 2048 features, label 3, weights: random (seed 0)" in r.stdout
    assert r.stderr == ""                  # no progress bar when stderr is not a terminal
    rc, out, err = zipml_tty("features", folder, "--label", 3, "-o", tmp_path / "o2",
                             "--random-weights", "--size", 75, "--batch-size", 2, env=env)
    assert rc == 0, err
    assert "InceptionV3" in err and "3/3" in err       # the bar's final state (leave=True)
    assert (tmp_path / "o2").read_text() == (tmp_path / "o").read_text()
    X, y = load_libsvm(tmp_path / "o", 2048)
    assert X.shape == (3, 2048) and np.array_equal(y, [3, 3, 3])
    assert np.all(np.isfinite(X)) and np.all(X >= 0)                   # pooled ReLU outputs
    assert np.count_nonzero(X[0]) > 100 and not np.array_equal(X[0], X[1])
    # the same weights (seed), image and size give the same features in this process
    model = transfer.build_model(random_weights=True, seed=0)
    (_, f), = list(transfer.extract_features(model[0], [folder / "b.jpg"], size=75,
                                             progress=False))
    # (batch of 1 here, of 2 in the CLI: float32 sums in another order)
    assert np.linalg.norm(f[0] - X[1]) < 1e-4 * np.linalg.norm(X[1])
    # a file that is not InceptionV3 weights is refused with its name
    import torch
    torch.save({"w": torch.zeros(2)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="bad.pth: not InceptionV3 weights"):
        transfer.build_model(tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="at least 75x75"):
        list(transfer.extract_features(model[0], [folder / "a.png"], size=40))
