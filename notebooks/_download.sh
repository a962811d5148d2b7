# Shared by get_mnist.sh, get_yearpredictionMSD.sh and get_galaxymerger.sh (sourced, not run).
#
# Environment:
#   ZIPML_DATA_URL          base URL of the LIBSVM data sets (default: the NTU site below)
#   ZIPML_GALAXY_URL        URL of Galaxy10_DECals.h5
#   ZIPML_CONNECT_TIMEOUT   seconds to wait for a connection (default 10): off-line, the
#                           scripts fail after at most this long, with a message.
LIBSVM_URL="${ZIPML_DATA_URL:-https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets}"
CONNECT_TIMEOUT="${ZIPML_CONNECT_TIMEOUT:-10}"

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is not installed (needed to $2)"
}

# fetch URL FILE: download to FILE (via FILE.part, so an interrupted download leaves nothing
# that looks complete); an existing FILE is kept.
fetch() {
    local url="$1" out="$2"
    if [ -s "$out" ]; then
        echo "$PROG: $out exists, not downloaded again"
        return 0
    fi
    echo "$PROG: downloading $url"
    local rc=0
    if command -v curl >/dev/null 2>&1; then
        curl -fL --connect-timeout "$CONNECT_TIMEOUT" --retry 0 -o "$out.part" "$url" || rc=$?
    elif command -v wget >/dev/null 2>&1; then
        wget --connect-timeout="$CONNECT_TIMEOUT" --dns-timeout="$CONNECT_TIMEOUT" --tries=1 \
            -O "$out.part" "$url" || rc=$?
    else
        die "neither curl nor wget is installed"
    fi
    if [ "$rc" != 0 ]; then
        rm -f "$out.part"
        die "could not download $url (exit code $rc of the download tool). No network? \
Off-line, the notebooks use data that ship with this machine instead (Fashion-MNIST from \
Debian's dataset-fashion-mnist, scikit-learn's diabetes, generated images); on a machine \
with internet access, run this script again, or copy the file here as $out."
    fi
    mv "$out.part" "$out"
}

# unbz2 FILE.bz2 FILE: decompress (keeps nothing half-written)
unbz2() {
    local src="$1" out="$2"
    if [ -s "$out" ]; then
        return 0
    fi
    need bunzip2 "decompress $src"
    bunzip2 -c "$src" > "$out.part" || { rm -f "$out.part"; die "could not decompress $src"; }
    mv "$out.part" "$out"
    rm -f "$src"
}
