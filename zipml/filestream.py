"""A libsvm file to the engine's packed stream without the dense matrix.

``zipml train`` and :func:`pack_libsvm` read a libsvm file in blocks of whole lines and never
hold more of it than one block (its sparse rows) and one dense chunk of rows:

1. **scan**: parse every line once for the number of samples, the labels, the largest feature
   index (checked against the engine's dimension limit *while parsing*) and, for column
   normalisation, each column's minimum and maximum (implicit zeros included);
2. **pack**: parse again and write each chunk of rows, normalised, quantized and packed
   (:func:`zipml.prep.pack_samples`' C code), straight to its place in the stream (a shuffle is
   a scatter: file row ``r`` goes to sample ``dest[r]``).

The stream is bit-identical to packing the dense matrix that :func:`zipml.data.load_libsvm`
returns (the tests hold them side by side). Memory: the stream, the labels (8 bytes per
sample) and one block (``BLOCK_BYTES`` of text, its sparse rows and a dense chunk of at most
``CHUNK_ELEMS`` values), whatever the size of the file. The price is a second parse, for files
whose sparse rows take more than ``KEEP_BYTES`` (smaller ones are kept from the first pass).

:func:`iter_dense` gives the same chunks for evaluation (dot products with models over a test
file, :func:`zipml.prep.dot_rows`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import data, prep, spec

__all__ = ["Scan", "scan_libsvm", "iter_dense", "pack_libsvm"]

BLOCK_BYTES = 8 << 20    #: text read per block (whole lines)
CHUNK_ELEMS = 1 << 21    #: values per dense chunk (8 MiB of float32)
KEEP_BYTES = 32 << 20    #: the first pass keeps the parsed rows up to this size (no 2nd parse)


@dataclass
class Scan:
    """What the first pass over a libsvm file found.

    Attributes
    ----------
    path : str
    n : int
        Samples (data lines).
    labels : ndarray of float64 (n,)
    n_cols : int
        Columns seen: the largest feature index (``+ 1`` when 0-based).
    lo, hi : ndarray of float64 (n_cols,) or None
        Per-column minimum and maximum of the float32 values, implicit zeros included.
    zero_based : bool
        As read (``"auto"`` decided).
    min_col : int or None
        The smallest column index seen (as parsed).
    parts : list or None
        The parsed blocks (sparse rows), kept when they take at most :data:`KEEP_BYTES`:
        the second pass then reads them instead of parsing the file again.
    """

    path: str
    n: int
    labels: np.ndarray
    n_cols: int
    lo: np.ndarray | None
    hi: np.ndarray | None
    zero_based: bool
    min_col: int | None = None
    parts: list | None = None   # the parsed blocks, when they fit in KEEP_BYTES

    def column_stats(self, d: int):
        """lo, hi over ``d >= n_cols`` columns (columns never seen are all zero)."""
        lo = np.zeros(d)
        hi = np.zeros(d)
        lo[:self.n_cols] = self.lo
        hi[:self.n_cols] = self.hi
        return lo, hi


def _parts(path: str, *, limit: int | None, zero_based: bool, num_samples=None,
           limit_text: str | None = None):
    """Yield the parsed blocks ``(labels, rowptr, cols, vals, max_col)`` of a libsvm file;
    errors name the file, the line and the token (as :func:`zipml.data.load_libsvm`)."""
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, not a libsvm file")
    line0 = 0
    rows = 0
    with open(path, "rb") as f:
        for view in data._checked_blocks(f, path, BLOCK_BYTES):
            remaining = None if num_samples is None else num_samples - rows
            if remaining is not None and remaining <= 0:
                return
            try:
                if data._clibsvm is not None:
                    part = data._parse_c(view, zero_based, limit, remaining)
                else:  # pragma: no cover - only without a compiler
                    part = data._parse_py(view[0][:view[1]], zero_based, limit, remaining)
            except data._ParseError as e:
                tok = e.token.decode("utf-8", "backslashreplace")
                if len(tok) > 60:
                    tok = tok[:57] + "..."
                if e.code == data._E_INDEX_RANGE and limit_text:
                    what = limit_text
                else:
                    what = data._error_text(e.code, e.token, zero_based, limit)
                raise ValueError(f"{path}, line {line0 + e.line + 1}: {what}: {tok!r}") from None
            labels, rowptr, cols, vals, mc, nlines = part
            line0 += nlines
            rows += labels.shape[0]
            yield labels, rowptr, cols, vals, mc


def scan_libsvm(path, *, max_cols: int | None = None, zero_based=False,
                column_stats: bool = True, num_samples=None,
                limit_text: str | None = None) -> Scan:
    """First pass: samples, labels, columns and (``column_stats``) per-column min/max.

    ``max_cols``: an index beyond it is an error at the line where it occurs (the engine's
    dimension limit), with ``limit_text`` as the message when given. ``zero_based``: True,
    False or ``"auto"`` (0-based when index 0 occurs, as :func:`zipml.data.load_libsvm`)."""
    path = os.fspath(path)
    if zero_based == "auto":
        # parse as 0-based with room for a 1-based file's largest index, decide at the end
        sc = scan_libsvm(path, max_cols=None if max_cols is None else max_cols + 1,
                         zero_based=True, column_stats=column_stats, num_samples=num_samples,
                         limit_text=limit_text)
        if sc.n_cols and sc.min_col == 0:                       # a 0-based file
            if max_cols is not None and sc.n_cols > max_cols:    # the line of the index
                return scan_libsvm(path, max_cols=max_cols, zero_based=True,
                                   column_stats=column_stats, num_samples=num_samples,
                                   limit_text=limit_text)
            return sc
        sc.zero_based = False                                   # 1-based: shift by one
        sc.n_cols = max(sc.n_cols - 1, 0)
        if sc.parts is not None:
            for part in sc.parts:
                part[2] -= 1
        if column_stats:
            sc.lo, sc.hi = sc.lo[1:], sc.hi[1:]
        return sc
    zero_based = bool(zero_based)
    cap = max_cols if max_cols is not None else None
    labels, n_cols, min_col = [], 0, None
    kept, kept_bytes = [], 0
    lo = hi = count = None
    if column_stats:
        size = cap if cap is not None else 1024
        lo, hi = np.zeros(size), np.zeros(size)
        count = np.zeros(size, np.uint64)
    err = prep.ffi.new("zml_prep_error *")
    n = 0
    for lab, rowptr, cols, vals, mc in _parts(path, limit=cap, zero_based=zero_based,
                                              num_samples=num_samples, limit_text=limit_text):
        labels.append(lab)
        n += lab.shape[0]
        if kept is not None:
            kept_bytes += rowptr.nbytes + cols.nbytes + vals.nbytes + lab.nbytes
            if kept_bytes <= KEEP_BYTES:
                kept.append([lab, rowptr.copy(), cols.copy(), vals.copy()])
            else:
                kept = None                     # too large: the second pass parses again
        n_cols = max(n_cols, mc + 1)
        if cols.size:
            m0 = int(cols.min())
            min_col = m0 if min_col is None else min(min_col, m0)
        if column_stats and lab.shape[0]:
            if n_cols > lo.shape[0]:                      # no limit given: grow
                grow = max(n_cols, 2 * lo.shape[0])
                lo, hi, count = (np.concatenate([a, np.zeros(grow - a.shape[0], a.dtype)])
                                 for a in (lo, hi, count))
            rc = prep.lib.zml_csr_colstats(
                prep.ffi.cast("int64_t *", prep.ffi.from_buffer(rowptr)),
                prep.ffi.cast("int32_t *", prep.ffi.from_buffer(cols)) if cols.size else
                prep.ffi.NULL,
                prep.ffi.cast("float *", prep.ffi.from_buffer(vals)) if vals.size else
                prep.ffi.NULL,
                lab.shape[0], lo.shape[0], prep.ffi.cast("double *", prep.ffi.from_buffer(lo)),
                prep.ffi.cast("double *", prep.ffi.from_buffer(hi)),
                prep.ffi.cast("uint64_t *", prep.ffi.from_buffer(count)), err)
            assert rc == 0, "column index beyond the statistics arrays"
    y = np.concatenate(labels) if labels else np.zeros(0)
    if column_stats:
        lo, hi, count = lo[:n_cols], hi[:n_cols], count[:n_cols]
        sparse = count < n                                # columns with implicit zeros
        lo[sparse] = np.minimum(lo[sparse], 0.0)
        hi[sparse] = np.maximum(hi[sparse], 0.0)
    sc = Scan(path, n, y, n_cols, lo, hi, zero_based)
    sc.min_col = min_col
    sc.parts = kept
    return sc


def iter_dense(path, d: int, *, zero_based: bool = False, num_samples=None,
               limit_text: str | None = None, parts=None):
    """Yield ``(X_chunk, labels, first_row)``: the file's rows as dense float32 chunks of
    ``d`` columns (at most :data:`CHUNK_ELEMS` values; the buffer is reused, copy what you
    keep). ``parts``: the blocks a :class:`Scan` kept (then the file is not read)."""
    rows_per = max(1, CHUNK_ELEMS // max(1, d))
    buf = np.empty((rows_per, d), np.float32)
    ffi, lib = data._clibsvm.ffi, data._clibsvm.lib
    first = 0
    if parts is not None:
        blocks = ((lab, rowptr, cols, vals, None) for lab, rowptr, cols, vals in parts)
    else:
        blocks = _parts(os.fspath(path), limit=d, zero_based=zero_based,
                        num_samples=num_samples, limit_text=limit_text)
    for lab, rowptr, cols, vals, _ in blocks:
        k = lab.shape[0]
        for r0 in range(0, k, rows_per):
            r1 = min(k, r0 + rows_per)
            chunk = buf[:r1 - r0]
            chunk.fill(0.0)
            if vals.size:
                lib.zml_libsvm_fill(ffi.cast("int64_t *", ffi.from_buffer(rowptr)) + r0,
                                    ffi.from_buffer("int32_t[]", cols),
                                    ffi.from_buffer("float[]", vals), r1 - r0, d,
                                    ffi.from_buffer("float[]", chunk))
            yield chunk, lab[r0:r1], first + r0
        first += k


def pack_libsvm(path, scan: Scan, d: int, bits: int, *, norm: prep.Norm, labels=None,
                dest=None, signed: bool = False, rounding: str = "nearest", seed=None,
                double_sampling: bool = False, out=None, limit_text: str | None = None):
    """Second pass: the file's ``scan.n`` samples (``d`` columns, bias per ``norm``) packed
    into the stream, file row ``r`` to sample ``dest[r]`` (default ``r``), with ``labels``
    (float64, file order; default the file's). Returns ``(stream, sumsq)`` as
    :func:`zipml.prep.pack_samples`."""
    n = scan.n
    dd = d + (1 if norm.add_bias else 0)
    W = spec.words_per_sample(bits, dd, bool(double_sampling))
    if out is None:
        out = np.empty(n * W, dtype=np.uint64)
    if out.dtype != np.uint64 or out.shape != (n * W,) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous uint64 array of {n * W} words")
    y = scan.labels if labels is None else np.ascontiguousarray(labels, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    if dest is not None:
        dest = np.ascontiguousarray(dest, dtype=np.int64)
        if dest.shape != (n,):
            raise ValueError(f"dest must have shape ({n},), got {dest.shape}")
    stochastic = bits > 0 and rounding == "stochastic"
    c_rng = prep._pcg64(seed)[0] if stochastic else prep.ffi.NULL
    cn, keep = prep._c_norm(norm, d)
    err = prep.ffi.new("zml_prep_error *")
    ss = prep.ffi.new("double *")
    total, seen = 0.0, 0
    ffi, lib = prep.ffi, prep.lib
    p_out = ffi.cast("uint64_t *", ffi.from_buffer(out)) if out.size else ffi.NULL
    for chunk, _, r0 in iter_dense(path, d, zero_based=scan.zero_based, num_samples=n,
                                   limit_text=limit_text, parts=scan.parts):
        k = chunk.shape[0]
        if r0 + k > n:
            raise ValueError(f"{path}: changed while it was read ({n} samples in the first "
                             f"pass, more in the second)")
        m, keepX = prep._as_matrix(chunk)
        yk = y[r0:r0 + k]
        p_dest = ffi.cast("int64_t *", ffi.from_buffer(dest[r0:r0 + k])) if dest is not None \
            else ffi.NULL
        rc = lib.zml_pack_scatter(m, p_dest, r0, n, cn, bits, bool(signed),
                                  1 if stochastic else 0, 0.0, c_rng, bool(double_sampling),
                                  ffi.cast("double *", ffi.from_buffer(yk)), 1, p_out,
                                  out.size, ss, err)
        if rc:
            err.row += r0                    # the sample (data line) in file order
            prep._raise(err, "X", bits, signed)
        total += ss[0]
        seen += k
    if seen != n:
        raise ValueError(f"{path}: changed while it was read ({n} samples in the first pass, "
                         f"{seen} in the second)")
    del keep
    return out, total
