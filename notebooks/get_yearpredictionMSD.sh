#!/usr/bin/env bash
# YearPredictionMSD in libsvm format (463,715 training and 51,630 test songs, 90 audio
# features, label = year) from the LIBSVM data sets site, into DIR (default: this script's
# folder):  YearPredictionMSD, YearPredictionMSD.t
# Usage: ./get_yearpredictionMSD.sh [DIR]
set -euo pipefail
PROG="$(basename "$0")"
. "$(dirname "$0")/_download.sh"
DIR="${1:-$(dirname "$0")}"
mkdir -p "$DIR" && cd "$DIR"
for f in YearPredictionMSD YearPredictionMSD.t; do
    fetch "$LIBSVM_URL/regression/$f.bz2" "$f.bz2"
    unbz2 "$f.bz2" "$f"
done
echo "$PROG: $(wc -l < YearPredictionMSD) training and $(wc -l < YearPredictionMSD.t) test \
samples in $(pwd)"
