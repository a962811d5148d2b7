#!/usr/bin/env bash
# MNIST in libsvm format (60,000 training and 10,000 test samples, 784 features, labels 0-9)
# from the LIBSVM data sets site, into DIR (default: this script's folder):
#     mnist, mnist.t
# Usage: ./get_mnist.sh [DIR]
set -euo pipefail
PROG="$(basename "$0")"
. "$(dirname "$0")/_download.sh"
DIR="${1:-$(dirname "$0")}"
mkdir -p "$DIR" && cd "$DIR"
for f in mnist mnist.t; do
    fetch "$LIBSVM_URL/multiclass/$f.bz2" "$f.bz2"
    unbz2 "$f.bz2" "$f"
done
echo "$PROG: $(wc -l < mnist) training and $(wc -l < mnist.t) test samples in $(pwd)"
