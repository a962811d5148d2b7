"""Streaming conversions between data set formats: idx (MNIST), CSV and libsvm.

Every converter reads and writes in chunks of at most ``chunk_rows`` samples, so memory stays
bounded by one chunk whatever the file size. Compressed input (gzip) is recognised by its magic
bytes; an output name ending in ``.gz`` is written gzip-compressed.

Formats
-------
idx
    The format of MNIST and Fashion-MNIST (LeCun et al.): two zero bytes, a type byte
    (``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32,
    ``0x0E`` float64), the number of dimensions, one big-endian uint32 per dimension, then the
    values, big-endian, in C order. Images are ``(n, rows, cols)``; labels ``(n,)``.
libsvm
    ``label index:value ...`` with 1-based indices; zero features are left out. Read with the
    same strict tokenizer as :func:`zipml.data.load_libsvm` (same error messages).
CSV
    One sample per line, comma-separated numbers; one column is the label (the first by
    default, as in YearPredictionMSD's ``YearPredictionMSD.txt``); an optional header line.

Errors name the file and the position (line and column, sample and byte offset).
"""
from __future__ import annotations

import contextlib
import csv
import gzip
import io
import math
import os
import shutil

import numpy as np

from . import data as _data

__all__ = ["IdxHeader", "read_idx_header", "iter_idx", "iter_libsvm", "iter_csv",
           "idx_to_libsvm", "csv_to_libsvm", "libsvm_to_idx", "libsvm_to_csv",
           "write_libsvm_chunk", "detect_format"]

#: Samples per chunk (memory bound of every converter).
CHUNK_ROWS = 4096
_BLOCK_BYTES = 1 << 22

_IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_IDX_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
              "float64": 0x0E}


# --------------------------------------------------------------------------- files
def _open_read(path):
    """Open ``path`` for binary reading, gunzipping when it starts with the gzip magic."""
    name = os.fspath(path)
    f = open(name, "rb")
    head = f.read(2)
    f.seek(0)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")
    return f


def _open_write(path, text=False, gz=None):
    name = os.fspath(path)
    if name.endswith(".gz") if gz is None else gz:
        g = gzip.open(name, "wb")
        return io.TextIOWrapper(g, encoding="ascii", newline="\n") if text else g
    if text:
        return open(name, "w", encoding="ascii", newline="\n")
    return open(name, "wb")


@contextlib.contextmanager
def _atomic(*paths):
    """Yield temporary names (``<path>.part``) for ``paths``; on success they are renamed to
    ``paths``, on an exception removed: a failed conversion leaves no half-written output."""
    finals = [os.fspath(p) for p in paths]
    tmps = [f + ".part" for f in finals]
    try:
        yield tmps
        for t, f in zip(tmps, finals):
            os.replace(t, f)
    finally:
        for t in tmps:
            if os.path.exists(t):
                os.unlink(t)


def detect_format(path) -> str:
    """``"idx"`` when the (possibly gzipped) file starts with an idx magic number, ``"csv"``
    for a ``.csv``/``.csv.gz``/``.txt`` name whose first line holds commas, else ``"libsvm"``."""
    name = os.fspath(path)
    with _open_read(name) as f:
        head = f.read(4096)
    if len(head) >= 4 and head[0] == 0 and head[1] == 0 and head[2] in _IDX_TYPES \
            and 1 <= head[3] <= 8:
        return "idx"
    first = head.split(b"\n", 1)[0]
    if b"," in first and b":" not in first:
        return "csv"
    return "libsvm"


# --------------------------------------------------------------------------- idx
class IdxHeader:
    """Header of an idx file: ``dtype`` (big-endian numpy dtype), ``shape``, data offset."""

    def __init__(self, dtype, shape, offset):
        self.dtype = dtype
        self.shape = tuple(shape)
        self.offset = offset

    @property
    def count(self) -> int:
        return self.shape[0]

    @property
    def item_shape(self) -> tuple:
        return self.shape[1:]

    def __repr__(self):
        return f"IdxHeader(dtype={self.dtype.str}, shape={self.shape})"


def read_idx_header(f, name: str) -> IdxHeader:
    """Parse the header at the current position of the binary file ``f``."""
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(f"{name}: not an idx file: {len(magic)} bytes, the header needs 4")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(f"{name}: not an idx file: magic number {magic.hex()} at byte 0 "
                         f"(expected 0000 <type> <ndim>)")
    if magic[2] not in _IDX_TYPES:
        raise ValueError(f"{name}: unknown idx type byte 0x{magic[2]:02x} at byte 2 (expected "
                         f"one of {', '.join(f'0x{t:02x}' for t in _IDX_TYPES)})")
    ndim = magic[3]
    if not 1 <= ndim <= 8:
        raise ValueError(f"{name}: idx number of dimensions {ndim} at byte 3 (expected 1..8)")
    raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise ValueError(f"{name}: idx header truncated: {ndim} dimensions need "
                         f"{4 + 4 * ndim} bytes, file has {4 + len(raw)}")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4"))
    return IdxHeader(_IDX_TYPES[magic[2]], shape, 4 + 4 * ndim)


def iter_idx(path, chunk_rows: int = CHUNK_ROWS):
    """Yield ``(header, start, block)``: ``block`` holds items ``start..start+k-1``, shape
    ``(k, *item_shape)``, native byte order. Raises ``ValueError`` on a truncated file."""
    name = os.fspath(path)
    with _open_read(name) as f:
        hdr = read_idx_header(f, name)
        item = int(np.prod(hdr.item_shape, dtype=np.int64))
        item_bytes = item * hdr.dtype.itemsize
        per = max(1, min(chunk_rows, (64 << 20) // max(item_bytes, 1)))
        start = 0
        while start < hdr.count:
            k = min(per, hdr.count - start)
            want = k * item_bytes
            raw = f.read(want)
            if len(raw) < want:
                got = start + len(raw) // max(item_bytes, 1)
                raise ValueError(
                    f"{name}: truncated idx data: the header announces {hdr.count} items of "
                    f"{item_bytes} bytes, the file ends in item {got} (byte "
                    f"{hdr.offset + start * item_bytes + len(raw)})")
            block = np.frombuffer(raw, dtype=hdr.dtype).reshape((k,) + hdr.item_shape)
            yield hdr, start, block.astype(hdr.dtype.newbyteorder("="), copy=False)
            start += k
        if f.read(1):
            raise ValueError(f"{name}: trailing bytes after the {hdr.count} items the idx header "
                             f"announces (byte {hdr.offset + hdr.count * item_bytes})")


def _peek_idx(path) -> IdxHeader:
    name = os.fspath(path)
    with _open_read(name) as f:
        return read_idx_header(f, name)


# --------------------------------------------------------------------------- libsvm
def iter_libsvm(path, n_features=None, zero_based: bool = False):
    """Yield sparse blocks ``(first_line, labels, rowptr, cols, vals)`` of a libsvm file (CSR,
    0-based columns; ``first_line`` 0-based), one block per ~4 MiB of text. Same grammar and
    error messages as :func:`zipml.data.load_libsvm` (file, line, token)."""
    name = os.fspath(path)
    line0 = 0
    with _open_read(name) as f:
        for view in _data._blocks(f, _BLOCK_BYTES):
            try:
                if _data._clibsvm is not None:
                    part = _data._parse_c(view, zero_based, n_features, None)
                else:
                    part = _data._parse_py(view[0][:view[1]], zero_based, n_features, None)
            except _data._ParseError as e:
                tok = e.token.decode("utf-8", "backslashreplace")
                if len(tok) > 60:
                    tok = tok[:57] + "..."
                raise ValueError(f"{name}, line {line0 + e.line + 1}: "
                                 f"{_data._error_text(e.code, e.token, zero_based, n_features)}"
                                 f": {tok!r}") from None
            labels, rowptr, cols, vals, _mc, nlines = part
            # the C parser does not return line numbers per row: keep the block's first line
            yield line0, labels, rowptr, cols, vals
            line0 += nlines


def _libsvm_dims(path) -> tuple[int, int]:
    """(samples, largest 1-based feature index) of a libsvm file, streaming."""
    n = 0
    top = 0
    for _l0, labels, _rp, cols, _v in iter_libsvm(path):
        n += labels.shape[0]
        if cols.size:
            top = max(top, int(cols.max()) + 1)
    return n, top


def _fmt_values(v: np.ndarray) -> list[str]:
    """Shortest decimals that read back to the same float32 (integers without a point)."""
    v = np.asarray(v, dtype=np.float32)
    integral = (v == np.trunc(v)) & (np.abs(v) < 2.0 ** 24)
    if integral.all():
        return list(map(str, v.astype(np.int64).tolist()))
    text = v.astype(str).astype(object)
    if integral.any():
        text[integral] = list(map(str, v[integral].astype(np.int64).tolist()))
    return text.tolist()


def write_libsvm_chunk(out, X, y) -> None:
    """Append dense rows ``X`` (k, d) with labels ``y`` to the text stream ``out``."""
    X = np.asarray(X, dtype=np.float32)
    rows, cols = np.nonzero(X)
    toks = [f"{c + 1}:{t}" for c, t in zip(cols.tolist(), _fmt_values(X[rows, cols]))]
    ends = np.searchsorted(rows, np.arange(1, X.shape[0] + 1)).tolist()
    lines, start = [], 0
    for label, end in zip(map(_data._fmt_label, np.asarray(y, dtype=np.float64).tolist()), ends):
        lines.append(" ".join([label] + toks[start:end]) if end > start else label)
        start = end
    if lines:
        out.write("\n".join(lines) + "\n")


def _check_limit(limit):
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")


# --------------------------------------------------------------------------- idx -> libsvm
def idx_to_libsvm(images, labels, out, *, scale: float = 1.0, limit=None,
                  chunk_rows: int = CHUNK_ROWS) -> int:
    """Write the idx ``images`` (n, ...) with the idx ``labels`` (n,) as libsvm to ``out``.

    Parameters
    ----------
    images, labels : path
        idx files, gzipped or plain (e.g. ``train-images-idx3-ubyte.gz``).
    out : path
        libsvm output (``.gz``: compressed).
    scale : float
        Every value is divided by ``scale`` (e.g. 255 for [0, 1] pixels; default 1: raw).
    limit : int, optional
        Convert only the first ``limit`` samples.

    Returns
    -------
    int
        Samples written.
    """
    _check_limit(limit)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    hi, hl = _peek_idx(images), _peek_idx(labels)
    if len(hl.shape) != 1:
        raise ValueError(f"{os.fspath(labels)}: a label file must be 1-D, its idx header "
                         f"says shape {hl.shape}")
    if hi.count != hl.count:
        raise ValueError(f"{os.fspath(images)} has {hi.count} items but {os.fspath(labels)} "
                         f"has {hl.count} labels")
    n = hi.count if limit is None else min(limit, hi.count)
    written = 0
    lab_iter = iter_idx(labels, chunk_rows)
    lab_buf = np.empty(0)
    with _atomic(out) as (tmp,), _open_write(tmp, True, _gz(out)) as fo:
        for _h, start, block in iter_idx(images, chunk_rows):
            if written >= n:
                break
            block = block[:n - written]
            while lab_buf.shape[0] < block.shape[0]:
                _h2, _s2, lb = next(lab_iter)
                lab_buf = np.concatenate([lab_buf, lb.astype(np.float64)])
            y, lab_buf = lab_buf[:block.shape[0]], lab_buf[block.shape[0]:]
            X = block.reshape(block.shape[0], -1).astype(np.float64)
            if scale != 1.0:
                X = X / scale
            write_libsvm_chunk(fo, X, y)
            written += block.shape[0]
    if limit is None:
        for _ in lab_iter:      # reach the end of the label file: its trailing-bytes check
            pass
    lab_iter.close()
    return written


# --------------------------------------------------------------------------- CSV
#: Longest CSV line read (bytes): a binary file without newlines fails here, not in memory.
MAX_CSV_LINE = 1 << 24


def _csv_text_lines(fb, name):
    """The lines of a CSV file as text; a line that is not UTF-8 or is longer than
    :data:`MAX_CSV_LINE` raises ``ValueError`` naming the file, line and byte offset."""
    where = " of the decompressed data" if _gz(name) else ""
    off = n = 0
    while True:
        raw = fb.readline(MAX_CSV_LINE + 1)
        if not raw:
            return
        n += 1
        if len(raw) > MAX_CSV_LINE:
            raise ValueError(f"{name}, line {n} (byte offset {off}{where}): longer than "
                             f"{MAX_CSV_LINE:,} bytes: not a CSV file?")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}, line {n}, byte offset {off + exc.start}{where}: byte "
                             f"0x{raw[exc.start]:02x} is not UTF-8 text (a binary file?)") \
                from None
        if n == 1 and text.startswith("\ufeff"):
            text = text[1:]
        off += len(raw)
        yield text


def iter_csv(path, label_column: int = 0, header: bool = False, delimiter: str = ",",
             chunk_rows: int = CHUNK_ROWS):
    """Yield ``(X, y)`` chunks of a numeric CSV file; ``label_column`` may be negative
    (``-1``: the last column). Every line must have the first line's number of columns."""
    name = os.fspath(path)
    with _open_read(name) as fb:
        reader = csv.reader(_csv_text_lines(fb, name), delimiter=delimiter)
        ncol = None
        rows, labels = [], []
        for row in reader:
            line = reader.line_num
            if header and line == 1:
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if ncol is None:
                ncol = len(row)
                if ncol < 2:
                    raise ValueError(f"{name}, line {line}: one column only; a CSV sample "
                                     f"needs a label and at least one feature (delimiter "
                                     f"{delimiter!r})")
                lc = label_column if label_column >= 0 else ncol + label_column
                if not 0 <= lc < ncol:
                    raise ValueError(f"{name}, line {line}: label column {label_column} does "
                                     f"not exist ({ncol} columns)")
            elif len(row) != ncol:
                raise ValueError(f"{name}, line {line}: {len(row)} columns, the first line "
                                 f"has {ncol}")
            try:
                vals = [float(v) for v in row]
            except ValueError:
                for j, v in enumerate(row):
                    try:
                        float(v)
                    except ValueError:
                        raise ValueError(f"{name}, line {line}, column {j + 1}: not a number: "
                                         f"{v[:40]!r}") from None
                raise
            for j, v in enumerate(vals):
                if not math.isfinite(v):
                    raise ValueError(f"{name}, line {line}, column {j + 1}: non-finite value "
                                     f"{row[j]!r}")
            labels.append(vals.pop(lc))
            rows.append(vals)
            if len(rows) >= chunk_rows:
                yield np.asarray(rows, dtype=np.float64), np.asarray(labels)
                rows, labels = [], []
        if rows:
            yield np.asarray(rows, dtype=np.float64), np.asarray(labels)


def csv_to_libsvm(src, out, *, label_column: int = 0, header: bool = False,
                  delimiter: str = ",", limit=None, chunk_rows: int = CHUNK_ROWS) -> int:
    """Convert a numeric CSV file to libsvm; returns the samples written."""
    _check_limit(limit)
    written = 0
    with _atomic(out) as (tmp,), _open_write(tmp, True, _gz(out)) as fo:
        for X, y in iter_csv(src, label_column, header, delimiter, chunk_rows):
            if limit is not None:
                X, y = X[:limit - written], y[:limit - written]
            with np.errstate(over="ignore"):
                bad = ~np.isfinite(X.astype(np.float32))
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise ValueError(f"{os.fspath(src)}: sample {written + i + 1}: value {X[i, j]} "
                                 f"is outside the float32 range")
            write_libsvm_chunk(fo, X, y)
            written += X.shape[0]
            if limit is not None and written >= limit:
                break
    return written


def libsvm_to_csv(src, out, *, n_features=None, label_column: int = 0, header: bool = False,
                  limit=None) -> int:
    """Convert libsvm to CSV (label in ``label_column``: 0 first, -1 last); returns samples.

    ``n_features`` fixes the number of feature columns; default: the largest index in the file
    (found by a first streaming pass)."""
    _check_limit(limit)
    if n_features is None:
        _n, n_features = _libsvm_dims(src)
    written = 0
    with _atomic(out) as (tmp,), _open_write(tmp, True, _gz(out)) as fo:
        if header:
            names = [f"f{j + 1}" for j in range(n_features)]
            names.insert(label_column if label_column >= 0 else len(names) + 1 + label_column,
                         "label")
            fo.write(",".join(names) + "\n")
        for _l0, labels, rowptr, cols, vals in iter_libsvm(src, n_features):
            k = labels.shape[0]
            if limit is not None:
                k = min(k, limit - written)
            X = _dense(rowptr, cols, vals, k, n_features)
            lab = [_data._fmt_label(v) for v in labels[:k].tolist()]
            cells = [_fmt_values(r) for r in X]
            lines = []
            for lb, c in zip(lab, cells):
                c.insert(label_column if label_column >= 0 else len(c) + 1 + label_column, lb)
                lines.append(",".join(c))
            if lines:
                fo.write("\n".join(lines) + "\n")
            written += k
            if limit is not None and written >= limit:
                break
    return written


def _dense(rowptr, cols, vals, k, d):
    X = np.zeros((k, d), dtype=np.float32)
    nnz = int(rowptr[k])
    rows = np.repeat(np.arange(k), np.diff(rowptr[:k + 1]))
    X[rows, cols[:nnz]] = vals[:nnz]
    return X


# --------------------------------------------------------------------------- libsvm -> idx
def libsvm_to_idx(src, images_out, labels_out, *, shape=(28, 28), dtype: str = "uint8",
                  scale: float = 1.0, limit=None) -> int:
    """Convert libsvm to an idx image file and an idx label file (uint8 labels).

    Parameters
    ----------
    shape : tuple of int
        Item shape; ``prod(shape)`` is the number of features (an index beyond it is an
        error naming the file and line).
    dtype : {"uint8", "int8", "int16", "int32", "float32", "float64"}
        Type of the image values; values must be representable exactly (integers in range for
        the integer types), else ``ValueError`` with file, line and value.
    scale : float
        Values are multiplied by ``scale`` before the check (255 turns [0, 1] back to pixels).

    The sample count is written into the header after streaming (a ``.gz`` output is written
    uncompressed to a temporary file first, then compressed).
    """
    _check_limit(limit)
    if dtype not in _IDX_CODES:
        raise ValueError(f"dtype must be one of {', '.join(_IDX_CODES)}, got {dtype!r}")
    shape = tuple(int(s) for s in shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"shape must be positive integers, got {shape!r}")
    d = int(np.prod(shape))
    dt = np.dtype(dtype)
    name = os.fspath(src)
    with _atomic(images_out, labels_out) as (img_tmp, lab_tmp):
        raw = [t + ".raw" if _gz(o) else t for t, o in ((img_tmp, images_out),
                                                        (lab_tmp, labels_out))]
        try:
            n = _write_idx_pair(name, raw[0], raw[1], shape, d, dt, dtype, scale, limit)
            for plain, tmp, final in zip(raw, (img_tmp, lab_tmp), (images_out, labels_out)):
                if _gz(final):
                    with open(plain, "rb") as fsrc, gzip.open(tmp, "wb") as fdst:
                        shutil.copyfileobj(fsrc, fdst)
        finally:
            for plain, tmp in zip(raw, (img_tmp, lab_tmp)):
                if plain != tmp and os.path.exists(plain):
                    os.unlink(plain)
    return n


def _write_idx_pair(name, img_path, lab_path, shape, d, dt, dtype, scale, limit):
    n = 0
    with open(img_path, "wb") as fi, open(lab_path, "wb") as fl:
        fi.write(_idx_header(_IDX_CODES[dtype], (0,) + shape))
        fl.write(_idx_header(0x08, (0,)))
        for line0, labels, rowptr, cols, vals in iter_libsvm(name, d):
            k = labels.shape[0]
            if limit is not None:
                k = min(k, limit - n)
            X = _dense(rowptr, cols, vals, k, d).astype(np.float64) * scale
            y = labels[:k]
            badl = (y != np.round(y)) | (y < 0) | (y > 255)
            if badl.any():
                i = int(np.flatnonzero(badl)[0])
                raise ValueError(f"{name}: sample {n + i + 1} (block from line {line0 + 1}): "
                                 f"label {y[i]:g} does not fit an idx uint8 label (integer "
                                 f"0..255)")
            if dt.kind in "iu":
                info = np.iinfo(dt)
                bad = (X != np.round(X)) | (X < info.min) | (X > info.max)
                if bad.any():
                    i, j = np.argwhere(bad)[0]
                    raise ValueError(
                        f"{name}: sample {n + i + 1} (block from line {line0 + 1}), feature "
                        f"{j + 1}: value {X[i, j]:g} is not an integer in {info.min}.."
                        f"{info.max} ({dtype}); use --dtype float32 or --scale")
            fi.write(X.astype(dt.newbyteorder(">")).tobytes())
            fl.write(y.astype(np.uint8).tobytes())
            n += k
            if limit is not None and n >= limit:
                break
        for f in (fi, fl):
            f.seek(4)
            f.write(np.array([n], dtype=">u4").tobytes())
    return n


def _gz(path) -> bool:
    return os.fspath(path).endswith(".gz")


def _idx_header(code: int, shape) -> bytes:
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()
