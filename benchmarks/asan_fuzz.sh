#!/bin/sh
# Run the libsvm reader tests (incl. the hypothesis fuzzers, scaled up) against an
# AddressSanitizer + UBSan build of the C tokenizer, in a scratch copy of the tree.
#   sh benchmarks/asan_fuzz.sh [examples]      (default 20000 fuzz examples)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/zipml_asan.XXXXXX)
mkdir -p "$WORK/zipml" "$WORK/cmodel" "$WORK/tests"
cp "$ROOT"/zipml/*.py "$WORK/zipml/"
cp "$ROOT"/cmodel/zipml_libsvm.c "$ROOT"/cmodel/zipml_libsvm.h "$WORK/cmodel/"
cp "$ROOT"/tests/test_data.py "$WORK/tests/"
cd "$WORK"
ZIPML_LIBSVM_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1" \
    python zipml/_libsvm_build.py
nm -D zipml/_libsvm*.so | grep -q __asan_report || { echo "not an ASan build"; exit 1; }
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
ZIPML_FUZZ_EXAMPLES="${1:-20000}" \
    python -m pytest -q -p no:cacheprovider tests/test_data.py -p no:warnings
echo "ASan/UBSan run OK in $WORK"
