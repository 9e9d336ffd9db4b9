"""Sample data (``.npz`` / ``.npy``) read and checked before any work starts.

One place for every command that takes data (``check``, ``predict``, ``validate``, ``build --sample-data``,
``--calibration``):

* the file: a regular file (stat before open: a FIFO or device is never read), NumPy's format, no pickles
  (``allow_pickle=False``), and every array's declared shape matching the bytes stored, before anything
  is allocated (a header cannot make tinybnn reserve memory the file does not hold);
* the samples: a numeric dtype, at least one sample, every value finite as float32, and (given a model)
  the model's per-sample input shape;
* the labels: one integer class per sample, within the model's output classes.

Every failure raises :class:`tinybnn.errors.TinyBnnError` with one line naming the file and the array.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from .errors import TinyBnnError
from .plumbing import check_file

_NUMERIC_KINDS = "iuf"  # signed, unsigned, float (not bool, complex, strings, objects, dates)


def _memory_limit() -> int:
    """Half of this computer's physical memory: no single data file may need more."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30


def _check_header(f, stored: int, where: str, limit: int) -> int:
    """Read a .npy header from f; refuse objects and shapes the stored bytes do not hold. Returns nbytes."""
    from numpy.lib import format as npf

    try:
        version = npf.read_magic(f)
        shape, _, dtype = (npf.read_array_header_1_0(f) if version == (1, 0) else npf.read_array_header_2_0(f))
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, zipfile.BadZipFile) as e:
        raise TinyBnnError(f"{where}: not a NumPy array ({_first_line(e)})") from None
    if dtype.hasobject:
        raise TinyBnnError(f"{where}: holds Python objects ({dtype}), which would need unpickling; supported: "
                           "numeric arrays (tinybnn never loads pickles)")
    count = 1
    for d in shape:
        count *= int(d)
    need = count * dtype.itemsize
    have = stored - f.tell()
    if need != have:
        raise TinyBnnError(f"{where}: declares shape {list(shape)} {dtype} ({need:,} bytes) but holds "
                           f"{max(have, 0):,} bytes; the file is truncated or not what it says")
    if need > limit:
        raise TinyBnnError(f"{where}: {need:,} bytes, more than half of this computer's memory "
                           f"({2 * limit:,} bytes); supported: data that fits in memory (split it)")
    return need


def _first_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return (s[0] if s else type(e).__name__)[:200]


def load_arrays(path, key: str = "x", what: str = "data") -> dict:
    """Every array of an .npz file (or of one .npy file, as ``key``), checked before it is read.

    ``x`` (``key``) must be there; it is checked with :func:`check_samples`, ``labels`` (if present) with
    :func:`check_labels` against it.
    """
    p = check_file(path, expected=f"a .npz or .npy {what} file")
    limit = _memory_limit()
    try:
        with open(p, "rb") as fh:
            head = fh.read(6)
        if head == b"\x93NUMPY":
            with open(p, "rb") as fh:
                _check_header(fh, os.fstat(fh.fileno()).st_size, str(path), limit)
            arrays = {key: np.load(p, allow_pickle=False)}
        elif head[:2] == b"PK":
            total = 0
            with zipfile.ZipFile(p) as zf:
                for info in zf.infolist():
                    if not info.filename.endswith(".npy"):
                        continue
                    with zf.open(info) as fh:
                        total += _check_header(fh, info.file_size, f"{path}: array '{info.filename[:-4]}'", limit)
                if total > limit:
                    raise TinyBnnError(f"{path}: its arrays need {total:,} bytes, more than half of this "
                                       f"computer's memory ({2 * limit:,} bytes); supported: data that fits in memory")
            with np.load(p, allow_pickle=False) as f:
                if key not in f.files:
                    raise TinyBnnError(f"{path}: has no array '{key}' (arrays: {', '.join(f.files) or 'none'})")
                arrays = {k: f[k] for k in f.files}
        else:
            raise TinyBnnError(f"{path}: not a NumPy .npz or .npy file (it starts with {head!r})")
    except TinyBnnError:
        raise
    except MemoryError:
        raise TinyBnnError(f"{path}: does not fit in this computer's memory") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, TypeError) as e:
        raise TinyBnnError(f"{path}: not a readable NumPy file ({type(e).__name__}: {_first_line(e)})") from None
    arrays[key] = check_samples(arrays[key], f"{path}: array '{key}'")
    if "labels" in arrays:
        arrays["labels"] = check_labels(arrays["labels"], len(arrays[key]), None, f"{path}: array 'labels'")
    return arrays


def check_samples(x, where: str = "input", shape=None) -> np.ndarray:
    """x as float32 (N, ...): numeric, at least one sample, every value finite; ``shape`` per sample if given."""
    x = np.asarray(x)
    if x.dtype.kind not in _NUMERIC_KINDS:
        raise TinyBnnError(f"{where} has dtype {x.dtype}; supported: integer or floating-point numbers")
    if x.ndim == 0:
        raise TinyBnnError(f"{where} is a single number; expected N samples on the leading axis")
    if x.shape[0] == 0 or x.size == 0:
        raise TinyBnnError(f"{where} is empty (shape {list(x.shape)}); expected at least one sample")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise TinyBnnError(f"{where} has shape {list(x.shape)}; expected (N, {', '.join(map(str, shape))}) "
                           "with N samples on the leading axis")
    with np.errstate(over="ignore", invalid="ignore"):
        x32 = x.astype(np.float32)
    bad = ~np.isfinite(x32)
    if bad.any():
        first = int(np.argmax(bad.reshape(len(x32), -1).any(axis=1)))
        raise TinyBnnError(f"{where} holds {int(bad.sum()):,} value(s) that are NaN, infinite or beyond "
                           f"float32's range (first in sample {first}); supported: finite numbers")
    return x32


def check_labels(labels, n: int, classes: int | None, where: str = "labels") -> np.ndarray:
    """Labels as int64 (n,): integer class numbers, one per sample, in 0..classes-1 (if known)."""
    lab = np.asarray(labels)
    if lab.dtype.kind not in _NUMERIC_KINDS:
        raise TinyBnnError(f"{where} has dtype {lab.dtype}; supported: integer class numbers")
    if lab.ndim == 2 and lab.shape[1] == 1:
        lab = lab[:, 0]
    if lab.ndim != 1:
        raise TinyBnnError(f"{where} has shape {list(lab.shape)}; expected ({n},): one class number per sample")
    if len(lab) != n:
        raise TinyBnnError(f"{where} has {len(lab)} labels for {n} samples; expected one per sample")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise TinyBnnError(f"{where} holds values that are not whole numbers; supported: integer class numbers")
    if len(lab) and lab.min() < 0:
        bad = int(np.argmax(lab < 0))
        raise TinyBnnError(f"{where}: label {lab[bad]:g} (sample {bad}) is negative; supported: class numbers "
                           "0, 1, ... (the index of the model's output)")
    if len(lab) and classes is not None and lab.max() >= classes:
        bad = int(np.argmax(lab >= classes))
        raise TinyBnnError(f"{where}: label {lab[bad]:g} (sample {bad}) is outside the model's classes "
                           f"0..{classes - 1}")
    return lab.astype(np.int64)


def check_data(model, x, labels=None, where: str = "data") -> tuple[np.ndarray, np.ndarray | None]:
    """Samples and labels checked against the model: input shape, label count and range."""
    x = check_samples(x, f"{where}: array 'x'", model.input_shape)
    if labels is not None:
        classes = int(np.prod(model.device_output_shape))
        labels = check_labels(labels, len(x), classes, f"{where}: array 'labels'")
    return x, labels
