#!/usr/bin/env bash
# Galaxy merger images for the transfer-learning notebook (TF_GALAXY.ipynb), into DIR
# (default: this script's folder):
#     galaxies/merger/*.png   Galaxy10 DECaLS class 1 ("merging"), 256x256 RGB
#     galaxies/other/*.png    as many images drawn at random from the other nine classes
#
# Source: Galaxy10 DECaLS (Leung & Bovy; images: DESI Legacy Imaging Surveys, labels: Galaxy
# Zoo), one HDF5 file of 2.54 GB: https://github.com/henrysky/Galaxy10. The galaxy images of
# the 2017 notebook are not published on the LIBSVM site; Galaxy10's merger class is the
# closest public equivalent. Needs Python with numpy, h5py and pillow.
# Then: zipml features galaxies/merger --label 1 -o mergers.libsvm   (and --label -1 for other)
# Usage: ./get_galaxymerger.sh [DIR]
set -euo pipefail
PROG="$(basename "$0")"
. "$(dirname "$0")/_download.sh"
URL="${ZIPML_GALAXY_URL:-https://astro.utoronto.ca/~hleung/shared/Galaxy10/Galaxy10_DECals.h5}"
SHA256=19aefc477c41bb7f77ff07599a6b82a038dc042f889a111b0d4d98bb755c1571
DIR="${1:-$(dirname "$0")}"
PY="${PYTHON:-python3}"
mkdir -p "$DIR" && cd "$DIR"
fetch "$URL" Galaxy10_DECals.h5
if [ ! -e Galaxy10_DECals.h5.verified ]; then
    need sha256sum "check the download"
    got="$(sha256sum Galaxy10_DECals.h5 | cut -d' ' -f1)"
    [ "$got" = "$SHA256" ] || die "Galaxy10_DECals.h5: SHA-256 $got, expected $SHA256 \
(incomplete download? delete the file and run again)"
    touch Galaxy10_DECals.h5.verified
fi
"$PY" - <<'PYEOF' || die "extracting the images failed (needs numpy, h5py and pillow)"
import os
import h5py
import numpy as np
from PIL import Image

with h5py.File("Galaxy10_DECals.h5", "r") as f:
    labels = np.asarray(f["ans"])
    merger = np.flatnonzero(labels == 1)
    rest = np.flatnonzero(labels != 1)
    rest = np.sort(np.random.default_rng(0).choice(rest, size=len(merger), replace=False))
    for name, idx in (("merger", merger), ("other", rest)):
        os.makedirs(os.path.join("galaxies", name), exist_ok=True)
        for i in idx:
            Image.fromarray(np.asarray(f["images"][i], dtype=np.uint8)).save(
                os.path.join("galaxies", name, f"g{i:05d}.png"))
        print(f"galaxies/{name}: {len(idx)} images")
PYEOF
