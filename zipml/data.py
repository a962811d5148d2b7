"""Host-side data preparation: libsvm files, normalisation, labels.

The pipeline from a libsvm file to the engine's DMA stream is::

    X, y = load_libsvm("train.txt")                 # dense float32, float64 labels
    Xn, st = normalize(X, to_min1_1=False)          # [0, 1] per column
    Xt, _ = normalize(load_libsvm("test.txt", X.shape[1])[0], stats=st)   # same scaling
    A = add_bias(Xn)                                # column 0 = 1 (the model's bias)
    yb = binarize_labels(y, 3)                      # one-vs-rest: class 3 -> +1, others -1
    codes = zipml.quantize.quantize(A, 4)           # Q4 codes
    stream = zipml.pack.pack(codes, yb, 4)          # uint64 words, docs/ENGINE.md section 3

Every function checks its input and raises ``ValueError`` naming the argument (and the row and
column, or the file, line and token) that is wrong.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

_LIBSVM_ABI = 2  # ZML_LS_ABI of cmodel/zipml_libsvm.h

try:  # the C tokenizer (cmodel/zipml_libsvm.c), built by zipml/_libsvm_build.py
    from . import _libsvm as _clibsvm
    if _clibsvm.lib.zml_libsvm_abi() != _LIBSVM_ABI:
        raise AttributeError
    _clibsvm.lib.zml_libsvm_init()
except ImportError:  # pragma: no cover - only without a compiler
    _clibsvm = None
except AttributeError:  # pragma: no cover - a build of an older cmodel/zipml_libsvm.c
    warnings.warn("zipml._libsvm is out of date (rebuild: python zipml/_libsvm_build.py); "
                  "using the pure-Python libsvm reader", RuntimeWarning)
    _clibsvm = None

__all__ = [
    "load_libsvm", "save_libsvm", "add_bias", "normalize", "NormStats", "normalize_labels",
    "denormalize_labels", "LabelStats", "binarize_labels",
]

# --------------------------------------------------------------------------- input checks
_CHUNK_ELEMS = 1 << 20  # elements per chunk for float64 temporaries (bounded memory)


def _row_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHUNK_ELEMS // max(1, n_cols))
    for i in range(0, n_rows, step):
        yield slice(i, min(n_rows, i + step))


def _first_bad(mask: np.ndarray):
    idx = np.argwhere(mask)[0]
    return tuple(int(i) for i in idx)


def _as_real_array(a, name: str, ndim: int | None) -> np.ndarray:
    """``np.asarray(a)``, checked: real numeric dtype, ``ndim`` dimensions, all finite."""
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        fin = np.isfinite(arr)
        if not fin.all():
            pos = _first_bad(~fin)
            where = {1: lambda p: f"index {p[0]}",
                     2: lambda p: f"row {p[0]}, column {p[1]}"}.get(
                arr.ndim, lambda p: f"index {p}")(pos)
            raise ValueError(f"{name} contains a non-finite value at {where}: {arr[pos]}")
    return arr


def _check_matrix(X, name: str = "X") -> np.ndarray:
    return _as_real_array(X, name, 2)


def _check_vector(y, name: str = "y", length: int | None = None) -> np.ndarray:
    arr = _as_real_array(y, name, 1)
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has {arr.shape[0]} entries, expected {length}")
    return arr


def _check_finite_scalar(v, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return f


# --------------------------------------------------------------------------- libsvm reader
# error codes shared with cmodel/zipml_libsvm.h
_E_BAD_LABEL, _E_BAD_TOKEN, _E_BAD_INDEX, _E_INDEX_RANGE, _E_DUPLICATE = 1, 2, 3, 4, 5
_E_NONFINITE_VALUE, _E_NONFINITE_LABEL, _E_MISSING_LABEL, _E_FLOAT32_RANGE = 6, 7, 8, 9
_E_BAD_QID, _E_CAPACITY, _E_NOMEM = 10, 11, 12

_INT32_MAX = 2**31 - 1
_BLOCK_BYTES = 32 << 20  # file read in blocks of whole lines of about this size

_NUM_RE = re.compile(rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INT_RE = re.compile(rb"[+-]?[0-9]+")
_NONFINITE_RE = re.compile(rb"[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


class _ParseError(Exception):
    def __init__(self, code: int, line: int, token: bytes):
        super().__init__(code, line, token)
        self.code, self.line, self.token = code, line, token


def _error_text(code: int, token: bytes, zero_based: bool, n_features) -> str:
    value_part = token.split(b":", 1)[-1]
    if code == _E_BAD_LABEL:
        if _NONFINITE_RE.fullmatch(token):
            return "non-finite label"
        return "bad label (expected a number)"
    if code == _E_BAD_TOKEN:
        if b":" in token and _NONFINITE_RE.fullmatch(value_part):
            return "non-finite feature value"
        return "bad feature token (expected index:value)"
    if code == _E_BAD_INDEX:
        return f"feature index must be >= {0 if zero_based else 1}"
    if code == _E_INDEX_RANGE:
        if n_features is not None:
            top = n_features - 1 if zero_based else n_features
            return f"feature index larger than {top} (n_features={n_features})"
        return f"feature index larger than {_INT32_MAX}"
    return {
        _E_DUPLICATE: "duplicate feature index in one line",
        _E_NONFINITE_VALUE: "non-finite feature value",
        _E_NONFINITE_LABEL: "non-finite label",
        _E_MISSING_LABEL: "missing label (the line starts with a feature)",
        _E_FLOAT32_RANGE: "feature value outside the float32 range",
        _E_BAD_QID: "bad qid field (expected qid:<integer>)",
        _E_CAPACITY: "internal error: parser capacity exceeded",
        _E_NOMEM: "out of memory",
    }.get(code, f"error {code}")


def _parse_py(buf: bytes, zero_based: bool, n_features, max_rows):
    """Pure-Python parser with exactly the C tokenizer's behaviour (fallback and test oracle).

    Returns ``(labels, rowptr, cols, vals, max_col, lines)`` or raises :class:`_ParseError`
    with a 0-based line number relative to ``buf``.
    """
    base = 0 if zero_based else 1
    labels, rowptr, cols, vals = [], [0], [], []
    max_col = -1
    lines = buf.split(b"\n") if buf else []
    if len(lines) > 1 and lines[-1] == b"":
        lines.pop()  # the buffer ends with a newline: no further line
    nline = 0
    for nline, raw in enumerate(lines):
        if max_rows is not None and len(labels) >= max_rows:
            break
        toks = raw.split(b"#", 1)[0].split()
        if not toks:
            continue
        lab = toks[0]
        if b":" in lab:
            raise _ParseError(_E_MISSING_LABEL, nline, lab)
        if not _NUM_RE.fullmatch(lab):
            raise _ParseError(_E_BAD_LABEL, nline, lab)
        label = float(lab)
        if not math.isfinite(label):
            raise _ParseError(_E_NONFINITE_LABEL, nline, lab)
        rest = toks[1:]
        if rest and rest[0].startswith(b"qid:"):
            if not _INT_RE.fullmatch(rest[0][4:]):
                raise _ParseError(_E_BAD_QID, nline, rest[0])
            rest = rest[1:]
        row_cols, row_toks = [], []
        for tok in rest:
            if b":" not in tok:
                raise _ParseError(_E_BAD_TOKEN, nline, tok)
            si, sv = tok.split(b":", 1)
            if not _INT_RE.fullmatch(si) or not _NUM_RE.fullmatch(sv):
                raise _ParseError(_E_BAD_TOKEN, nline, tok)
            if len(si.lstrip(b"+-").lstrip(b"0")) > 12:  # avoid int() of huge digit strings
                idx = -1 if si.startswith(b"-") else _INT32_MAX + 1
            else:
                idx = int(si)
            if idx < base:
                raise _ParseError(_E_BAD_INDEX, nline, tok)
            if idx > _INT32_MAX:
                raise _ParseError(_E_INDEX_RANGE, nline, tok)
            idx -= base
            if n_features is not None and idx >= n_features:
                raise _ParseError(_E_INDEX_RANGE, nline, tok)
            v = float(sv)
            if not math.isfinite(v):
                raise _ParseError(_E_NONFINITE_VALUE, nline, tok)
            with np.errstate(over="ignore"):
                f = np.float32(v)
            if not np.isfinite(f):
                raise _ParseError(_E_FLOAT32_RANGE, nline, tok)
            row_cols.append(idx)
            row_toks.append(tok)
            vals.append(f)
        if len(set(row_cols)) != len(row_cols):
            seen, dups = set(), set()
            for c in row_cols:
                (dups if c in seen else seen).add(c)
            dup = min(dups)
            second = [k for k, c in enumerate(row_cols) if c == dup][1]
            raise _ParseError(_E_DUPLICATE, nline, row_toks[second])
        cols.extend(row_cols)
        if row_cols:
            max_col = max(max_col, max(row_cols))
        labels.append(label)
        rowptr.append(len(cols))
    else:
        nline = len(lines)
    return (np.array(labels, dtype=np.float64), np.array(rowptr, dtype=np.int64),
            np.array(cols, dtype=np.int32), np.array(vals, dtype=np.float32), max_col, nline)


def _parse_c(view, zero_based: bool, n_features, max_rows):
    """Run the C tokenizer over one buffer (bytes or memoryview of whole lines)."""
    ffi, lib = _clibsvm.ffi, _clibsvm.lib
    buf, nbytes = view
    mv = memoryview(buf)[:nbytes]
    cbuf = ffi.from_buffer("char[]", mv)
    counts = ffi.new("int64_t[2]")
    lib.zml_libsvm_count(cbuf, nbytes, counts, counts + 1)
    rows_cap, nnz_cap = counts[0] + 1, counts[1]
    if max_rows is not None:
        rows_cap = min(rows_cap, max_rows)
    labels = np.empty(rows_cap, dtype=np.float64)
    rowptr = np.empty(rows_cap + 1, dtype=np.int64)
    cols = np.empty(max(nnz_cap, 1), dtype=np.int32)
    vals = np.empty(max(nnz_cap, 1), dtype=np.float32)
    scratch = np.empty(max(nnz_cap, 1), dtype=np.int32)
    res = ffi.new("zml_parse_result *")
    lib.zml_libsvm_parse(
        cbuf, nbytes, 1 if zero_based else 0, -1 if n_features is None else n_features,
        -1 if max_rows is None else max_rows,
        ffi.from_buffer("double[]", labels), ffi.from_buffer("int64_t[]", rowptr),
        ffi.from_buffer("int32_t[]", cols), ffi.from_buffer("float[]", vals),
        ffi.from_buffer("int32_t[]", scratch), rows_cap, nnz_cap, res)
    if res.err_code:
        tok = bytes(mv[res.err_pos:res.err_pos + res.err_len])
        raise _ParseError(res.err_code, res.err_line, tok)
    n, nnz = res.n_rows, res.nnz
    return labels[:n], rowptr[:n + 1], cols[:nnz], vals[:nnz], res.max_col, res.lines


#: Longest line accepted: a libsvm line of 8192 features takes about 200 KB; a longer run of
#: bytes without a newline is not a libsvm text file (and would otherwise be read whole).
MAX_LINE_BYTES = 64 << 20


class _LineTooLong(Exception):
    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


def _blocks(f, block_bytes: int, max_line: int = MAX_LINE_BYTES):
    """Yield ``(buffer, length)``: the first ``length`` bytes of ``buffer`` are whole lines
    (the very last block may lack its final newline). A line longer than ``max_line`` bytes
    raises ``_LineTooLong`` with the byte offset where it starts (memory stays bounded)."""
    parts = []  # pieces of the current incomplete line (joined once: linear in its length)
    pending = 0  # bytes in parts
    offset = 0   # file offset of the start of parts
    while True:
        chunk = f.read(block_bytes)
        if not chunk:
            if parts:
                buf = b"".join(parts)
                yield buf, len(buf)
            return
        cut = chunk.rfind(b"\n")
        parts.append(chunk)
        pending += len(chunk)
        if cut < 0:
            if pending > max_line:
                raise _LineTooLong(offset)
            continue
        carried = pending - len(chunk)          # bytes of a line begun in earlier chunks
        if carried and carried + chunk.find(b"\n") > max_line:
            raise _LineTooLong(offset)
        tail = len(chunk) - cut - 1             # an incomplete line carried to the next read
        offset += pending - tail
        pending = tail
        buf = b"".join(parts) if len(parts) > 1 else chunk
        yield buf, len(buf) - (len(chunk) - cut - 1)
        parts = [chunk[cut + 1:]] if cut + 1 < len(chunk) else []


def _checked_blocks(f, name: str, block_bytes: int):
    """:func:`_blocks` with the over-long line reported as a ValueError naming the file."""
    try:
        yield from _blocks(f, block_bytes)
    except _LineTooLong as e:
        raise ValueError(f"{name}: no line end within {MAX_LINE_BYTES >> 20} MiB from byte "
                         f"offset {e.offset}: not a libsvm text file (a libsvm line is a label "
                         f"and index:value pairs)") from None


_warned_python = False


def _opt_count(v, name: str):
    if v is None:
        return None
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
        raise ValueError(f"{name} must be a non-negative integer or None, got {v!r}")
    return int(v)


def _zero_based_arg(zero_based):
    if isinstance(zero_based, str):
        if zero_based != "auto":
            raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
        return "auto"
    return bool(zero_based)


def _load_stream(f, name: str, n_features, num_samples, zero_based, backend: str | None,
                 bias: bool = False):
    global _warned_python
    n_features = _opt_count(n_features, "n_features")
    num_samples = _opt_count(num_samples, "num_samples")
    zero_based = _zero_based_arg(zero_based)
    auto = zero_based == "auto"
    if auto:
        # Parse as 0-based with room for a 1-based file's largest index; decide afterwards
        # from the smallest index read (as scikit-learn's zero_based="auto").
        parse_zb, parse_nf = True, None if n_features is None else n_features + 1
    else:
        parse_zb, parse_nf = zero_based, n_features
    if backend is None:
        backend = "c" if _clibsvm is not None else "python"
        if backend == "python" and not _warned_python:
            _warned_python = True
            warnings.warn("zipml._libsvm (C tokenizer) is not built; using the slow pure-Python "
                          "libsvm reader (build it with: python zipml/_libsvm_build.py)",
                          RuntimeWarning, stacklevel=3)
    if backend == "c" and _clibsvm is None:
        raise RuntimeError("zipml._libsvm is not built (python zipml/_libsvm_build.py)")
    if backend not in ("c", "python"):
        raise ValueError(f"backend must be 'c' or 'python', got {backend!r}")
    parts = []
    line0 = 0
    n_rows = 0
    max_col = -1
    min_col = None
    for view in _checked_blocks(f, name, _BLOCK_BYTES):
        remaining = None if num_samples is None else num_samples - n_rows
        if remaining is not None and remaining <= 0:
            break
        try:
            if backend == "c":
                part = _parse_c(view, parse_zb, parse_nf, remaining)
            else:
                part = _parse_py(view[0][:view[1]], parse_zb, parse_nf, remaining)
        except _ParseError as e:
            tok = e.token.decode("utf-8", "backslashreplace")
            if len(tok) > 60:
                tok = tok[:57] + "..."
            # auto: an index beyond n_features of a 1-based file is reported 1-based
            zb = (e.code != _E_INDEX_RANGE) if auto else zero_based
            hint = ""
            if zero_based is False and e.code == _E_BAD_INDEX and \
                    e.token.split(b":", 1)[0].lstrip(b"+0") == b"":
                hint = (" (index 0: the file has 0-based indices; pass zero_based=True, or "
                        "'auto' to detect them)")
            raise ValueError(f"{name}, line {line0 + e.line + 1}: "
                             f"{_error_text(e.code, e.token, zb, n_features)}: "
                             f"{tok!r}{hint}") from None
        labels, rowptr, cols, vals, mc, nlines = part
        parts.append((labels, rowptr, cols, vals))
        n_rows += labels.shape[0]
        max_col = max(max_col, mc)
        if auto and cols.shape[0]:
            m = int(cols.min())
            min_col = m if min_col is None else min(min_col, m)
        line0 += nlines
    if auto:
        if min_col is not None and min_col == 0:       # index 0 present: a 0-based file
            if n_features is not None and max_col >= n_features:
                # find the line of the first index beyond n_features - 1 (parsed again)
                msg = f"feature index larger than {n_features - 1} (n_features={n_features})"
                try:
                    f.seek(0)
                    _load_stream(f, name, n_features, num_samples, True, backend)
                except ValueError as exc:
                    msg = str(exc)
                except OSError:
                    msg = f"{name}: {msg}"
                raise ValueError(f"{msg}; the indices were detected as 0-based (index 0 "
                                 f"appears in the file, zero_based='auto')") from None
        else:                                          # 1-based: shift to columns 0..
            for _, _, cols, _ in parts:
                cols -= 1
            max_col = max(max_col - 1, -1)
        zero_based = bool(min_col == 0)
    d = n_features if n_features is not None else max_col + 1
    b = 1 if bias else 0
    try:
        X = np.zeros((n_rows, d + b), dtype=np.float32)
        if bias:
            X[:, 0] = 1.0
    except MemoryError:
        raise ValueError(f"{name}: a dense {n_rows} x {d} float32 matrix does not fit in memory "
                         f"(largest feature index {max_col + (0 if zero_based else 1)})") from None
    y = np.empty(n_rows, dtype=np.float64)
    r = 0
    for labels, rowptr, cols, vals in parts:
        k = labels.shape[0]
        y[r:r + k] = labels
        if vals.shape[0]:
            if backend == "c":
                ffi, lib = _clibsvm.ffi, _clibsvm.lib
                # rows of d + b floats; the features start after the bias column
                lib.zml_libsvm_fill(ffi.from_buffer("int64_t[]", rowptr),
                                    ffi.from_buffer("int32_t[]", cols),
                                    ffi.from_buffer("float[]", vals), k, d + b,
                                    ffi.from_buffer("float[]", X[r:r + k]) + b)
            else:
                rows = np.repeat(np.arange(r, r + k), np.diff(rowptr))
                X[rows, cols + b] = vals
        r += k
    return X, y


def load_libsvm(path, n_features=None, *, num_samples=None, zero_based=False, backend=None,
                bias=False):
    """Read a libsvm / svmlight text file into a dense matrix.

    Parameters
    ----------
    path : str or os.PathLike
        The file (plain text; ``\\n`` or ``\\r\\n`` line ends).
    n_features : int, optional
        Number of columns of ``X``. Default: the largest feature index in the file (the
        largest index + 1 when ``zero_based``). An index beyond ``n_features`` is an error.
    num_samples : int, optional
        Read at most this many samples (lines after it are not parsed at all).
    zero_based : bool or "auto"
        Feature indices start at 0 instead of 1 (libsvm's default is 1-based). ``"auto"``
        (as scikit-learn's ``load_svmlight_file``): 0-based if index 0 appears in the lines
        read, else 1-based (with ``n_features``, a 1-based file may then use indices up to
        ``n_features``, a 0-based one up to ``n_features - 1``). A 0-based file in which
        index 0 never occurs is read as 1-based: pass ``zero_based=True`` for it.
    backend : {None, "c", "python"}
        Tokenizer: the C one (``zipml._libsvm``, default when built) or the slow pure-Python
        one with identical behaviour (fallback, and the oracle of the tests).
    bias : bool
        Return ``X`` with the engine's bias column (1.0) in front, filled in place (no second
        copy of the matrix to add it; :meth:`zipml.sgd.ZipML_SGD.load_libsvm_data` uses this).

    Returns
    -------
    X : ndarray of float32, shape (n, n_features)
        Feature index ``i`` goes to column ``i - 1`` (``i`` when ``zero_based``); absent
        features are 0. No bias column (see :func:`add_bias`).
    y : ndarray of float64, shape (n,)

    Notes
    -----
    Accepted grammar (what libsvm's and svmlight's tools accept, read strictly)::

        line    := [label [qid] {feature}] [comment]
        label   := number
        qid     := "qid:" integer           (only right after the label; ignored)
        feature := index ":" number         (no blanks around ":")
        comment := "#" anything up to the end of the line

    Tokens are separated by blanks (space, tab, CR, VT, FF); blank and comment-only lines are
    skipped; feature indices may come in any order. ``number`` is a decimal with optional sign,
    fraction and exponent (``+1``, ``-.5``, ``3.``, ``1e-3``). Values are converted to the
    nearest binary64 and then rounded to binary32 (like ``numpy.float32(float(token))``).

    Raises
    ------
    ValueError
        naming the file, the 1-based line number and the offending token, for: a token that
        is not a number or ``index:value``; an index < 1 (< 0 with ``zero_based``) or beyond
        ``n_features`` (or 2^31 - 1); the same index twice in one line; a label or value that
        is NaN, infinite or (values) outside the float32 range; a line that starts with a
        feature (missing label); a malformed ``qid``.
    """
    name = os.fspath(path)
    with open(name, "rb") as f:
        return _load_stream(f, str(name), n_features, num_samples, zero_based, backend,
                            bool(bias))


def _load_bytes(data: bytes, n_features=None, *, num_samples=None, zero_based=False,
                backend=None, name="<bytes>"):
    """:func:`load_libsvm` on an in-memory buffer (tests and fuzzing)."""
    import io
    return _load_stream(io.BytesIO(bytes(data)), name, n_features, num_samples, zero_based,
                        backend)


# --------------------------------------------------------------------------- libsvm writer
def save_libsvm(path, X, y, *, zero_based=False, rows_per_chunk=4096):
    """Write ``X`` (dense) and labels ``y`` as a libsvm text file, streaming.

    Only nonzero features are written, in increasing index order, 1-based unless
    ``zero_based``. Feature values are written as the shortest decimal that reads back to
    the same float32 (``X`` is converted to float32 first); labels as the shortest decimal
    of their float64 value (integers without a fraction). ``load_libsvm`` therefore returns
    exactly ``X.astype(float32)`` and ``y.astype(float64)``.

    Parameters
    ----------
    path : str or os.PathLike
    X : array_like, shape (n, d), finite
    y : array_like, shape (n,), finite
    zero_based : bool
    rows_per_chunk : int
        Rows formatted per step (memory bound).
    """
    X = _check_matrix(X, "X")
    y = _check_vector(y, "y", X.shape[0])
    with np.errstate(over="ignore"):
        X32 = X.astype(np.float32, copy=False)
    if not np.isfinite(X32).all():
        pos = _first_bad(~np.isfinite(X32))
        raise ValueError(f"X has a value outside the float32 range at row {pos[0]}, "
                         f"column {pos[1]}: {X[pos]}")
    base = 0 if zero_based else 1
    names = np.array([str(j + base) for j in range(X32.shape[1])] or ["0"])
    with open(os.fspath(path), "w", encoding="ascii", newline="\n") as f:
        for sl in _row_chunks(X32.shape[0], max(X32.shape[1], 1)):
            block = X32[sl]
            rows, cols = np.nonzero(block)
            v = block[rows, cols]
            integral = (v == np.trunc(v)) & (np.abs(v) < 2.0**24)
            if integral.all():
                text = list(map(str, v.astype(np.int64).tolist()))
            else:
                # shortest decimal that reads back to the same float32
                text = v.astype(str).astype(object)
                text[integral] = list(map(str, v[integral].astype(np.int64).tolist()))
                text = text.tolist()
            toks = list(map(":".join, zip(names[cols].tolist(), text)))
            ends = np.searchsorted(rows, np.arange(1, block.shape[0] + 1)).tolist()
            out = []
            start = 0
            for label, end in zip(map(_fmt_label, y[sl].tolist()), ends):
                out.append(" ".join([label] + toks[start:end]) if end > start else label)
                start = end
            if out:
                f.write("\n".join(out))
                f.write("\n")


def _fmt_label(v: float) -> str:
    v = float(v)
    if v == int(v) and abs(v) < 2.0**53:
        return str(int(v))
    return repr(v)


# --------------------------------------------------------------------------- features
def add_bias(X) -> np.ndarray:
    """Return ``X`` (float32) with a column of ones in front: the engine's bias, column 0."""
    X = _check_matrix(X, "X")
    out = np.empty((X.shape[0], X.shape[1] + 1), dtype=np.float32)
    out[:, 0] = 1.0
    with np.errstate(over="ignore"):
        out[:, 1:] = X
    if not np.isfinite(out).all():
        pos = _first_bad(~np.isfinite(out))
        raise ValueError(f"X has a value outside the float32 range at row {pos[0]}, "
                         f"column {pos[1] - 1}")
    return out


@dataclass(frozen=True)
class NormStats:
    """Scaling statistics returned by :func:`normalize`.

    Attributes
    ----------
    axis : {"c", "r"}
    lo, hi : ndarray of float64
        Minimum and maximum per column (``"c"``, shape (d,)) or per row (``"r"``, shape (n,)).
    to_min1_1 : bool
        Target range [-1, 1] (else [0, 1]).
    """

    axis: str
    lo: np.ndarray
    hi: np.ndarray
    to_min1_1: bool


def normalize(X, to_min1_1=False, axis="c", *, stats=None):
    """Min-max scale ``X`` per column (``axis="c"``) or per row (``axis="r"``).

    ``x' = (x - lo) / (hi - lo)`` in [0, 1], or ``2 x' - 1`` in [-1, 1] with ``to_min1_1``,
    computed in float64 and rounded to float32 (the result is never outside the range).
    A constant column (row) has ``hi == lo`` and maps entirely to the **low end** of the range
    (0, or -1 with ``to_min1_1``). Normalise before :func:`add_bias`: the bias column is
    constant and would become 0 (or -1).

    Parameters
    ----------
    X : array_like, shape (n, d), finite
    to_min1_1 : bool
        Scale to [-1, 1] instead of [0, 1].
    axis : {"c", "r"}
    stats : NormStats, optional
        Column statistics of an earlier call (e.g. on the training set) to apply to this
        ``X`` (e.g. the test set): ``X`` is first **clipped** to the training range
        ``[lo, hi]`` of each column, so the result stays in the target range. Only for
        ``axis="c"`` (row scaling has nothing to carry over); ``stats.to_min1_1`` must equal
        ``to_min1_1`` and ``stats.lo`` must have ``d`` entries.

    Returns
    -------
    Xn : ndarray of float32, shape (n, d)
    stats : NormStats
        The statistics used (the given ``stats`` when one was passed).
    """
    X = _check_matrix(X, "X")
    if axis not in ("c", "r"):
        raise ValueError(f"axis must be 'c' (columns) or 'r' (rows), got {axis!r}")
    to_min1_1 = bool(to_min1_1)
    n, d = X.shape
    if stats is not None:
        if not isinstance(stats, NormStats):
            raise ValueError(f"stats must be a NormStats from normalize(), got {type(stats)}")
        if axis != "c" or stats.axis != "c":
            raise ValueError("stats can only be reused for column normalisation (axis='c'), "
                             f"got axis={axis!r}, stats.axis={stats.axis!r}")
        if stats.to_min1_1 != to_min1_1:
            raise ValueError(f"stats were computed with to_min1_1={stats.to_min1_1}, "
                             f"called with to_min1_1={to_min1_1}")
        if stats.lo.shape != (d,):
            raise ValueError(f"stats has {stats.lo.shape[0]} columns, X has {d}")
        lo, hi = stats.lo, stats.hi
    elif n == 0 or (axis == "c" and d == 0):
        lo = np.zeros(d if axis == "c" else n)
        hi = lo.copy()
        stats = NormStats(axis, lo, hi, to_min1_1)
    else:
        red = 0 if axis == "c" else 1
        lo = X.min(axis=red).astype(np.float64) if X.shape[red] else np.zeros(X.shape[1 - red])
        hi = X.max(axis=red).astype(np.float64) if X.shape[red] else np.zeros(X.shape[1 - red])
        stats = NormStats(axis, lo, hi, to_min1_1)
    span = hi - lo
    inv = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
    out = np.empty((n, d), dtype=np.float32)
    for sl in _row_chunks(n, d):
        x = X[sl].astype(np.float64)
        if axis == "c":
            r = (np.clip(x, lo, hi) - lo) * inv
        else:
            r = (x - lo[sl, None]) * inv[sl, None]
        np.clip(r, 0.0, 1.0, out=r)  # (x - lo) * (1/span) can exceed 1 by an ulp
        if to_min1_1:
            r = 2.0 * r - 1.0
        out[sl] = r
    return out, stats


# --------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class LabelStats:
    """Label scaling returned by :func:`normalize_labels`: ``y`` in [lo, hi] -> [0, 1]
    or [-1, 1]."""

    lo: float
    hi: float
    to_min1_1: bool


def normalize_labels(y, to_min1_1=False, *, stats=None):
    """Min-max scale labels (for regression) to [0, 1] or [-1, 1].

    ``y' = (y - lo) / (hi - lo)`` (then ``2 y' - 1`` with ``to_min1_1``), computed in float64,
    returned as float32 (the engine's label word is binary32). If all labels are equal they map
    to the low end (0 or -1). With ``stats`` (e.g. of the training set) the same affine map is
    applied **without clipping**: regression targets outside the training range stay outside,
    so the loss on a test set is not distorted (the engine accepts any finite label for
    linear regression).

    Returns
    -------
    yn : ndarray of float32, shape (n,)
    stats : LabelStats
    """
    y = _check_vector(y, "y")
    to_min1_1 = bool(to_min1_1)
    if stats is not None:
        if not isinstance(stats, LabelStats):
            raise ValueError(f"stats must be a LabelStats from normalize_labels(), "
                             f"got {type(stats)}")
        if stats.to_min1_1 != to_min1_1:
            raise ValueError(f"stats were computed with to_min1_1={stats.to_min1_1}, "
                             f"called with to_min1_1={to_min1_1}")
    elif y.shape[0] == 0:
        stats = LabelStats(0.0, 0.0, to_min1_1)
    else:
        stats = LabelStats(float(y.min()), float(y.max()), to_min1_1)
    span = stats.hi - stats.lo
    r = (y.astype(np.float64) - stats.lo) * (1.0 / span if span > 0 else 0.0)
    if to_min1_1:
        r = 2.0 * r - 1.0
    with np.errstate(over="ignore"):
        out = r.astype(np.float32)
    if not np.isfinite(out).all():
        i = _first_bad(~np.isfinite(out))[0]
        raise ValueError(f"y[{i}] = {y[i]} is outside the float32 range after scaling")
    return out, stats


def denormalize_labels(yn, stats):
    """Inverse of :func:`normalize_labels`: map values (e.g. predictions) back to label units.

    ``yn`` may have any shape; returns float64. For constant training labels every value maps
    back to that constant.
    """
    if not isinstance(stats, LabelStats):
        raise ValueError(f"stats must be a LabelStats from normalize_labels(), got {type(stats)}")
    yn = _as_real_array(yn, "yn", None).astype(np.float64)
    r = (yn + 1.0) * 0.5 if stats.to_min1_1 else yn
    return stats.lo + r * (stats.hi - stats.lo)


def binarize_labels(y, value) -> np.ndarray:
    """One-vs-rest labels: ``+1.0`` where ``y == value``, ``-1.0`` elsewhere (float32).

    The comparison is exact (float64).
    """
    y = _check_vector(y, "y")
    v = _check_finite_scalar(value, "value")
    return np.where(y == v, np.float32(1.0), np.float32(-1.0)).astype(np.float32)
