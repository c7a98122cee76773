"""Read and write IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <number of dims>``, one
big-endian 32-bit size per dimension, then the values in row-major order, big-endian.
Files may be gzip-compressed; the reader looks at the first bytes, not at the name.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx", "IDX_DTYPES"]

#: IDX dtype code -> big-endian numpy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _describe_codes() -> str:
    return ", ".join(f"0x{c:02X} ({IDX_DTYPES[c].name})" for c in IDX_DTYPES)


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(
            f"IDX file '{path}' is a gzip file that cannot be decompressed "
            f"(truncated or damaged download?): {e}. Delete it and download it again."
        ) from e


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into a native-endian array.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray
        Shape and dtype as the header says (MNIST images: uint8 of shape (60000, 28, 28)).

    Raises
    ------
    ValueError
        Wrong magic number, unsupported dtype code, or a file shorter (or longer) than its
        header promises; the message names the file and both byte counts.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte.gz")
    >>> write_idx(p, np.arange(3, dtype=np.uint8))
    >>> read_idx(p)
    array([0, 1, 2], dtype=uint8)
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"IDX file '{path}' is truncated: expected at least a 4-byte header, found "
            f"{len(data)} bytes."
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"'{path}' is not an IDX file: the magic number must start with two zero bytes, "
            f"got 0x{data[:4].hex().upper()} instead."
        )
    if code not in IDX_DTYPES:
        raise ValueError(
            f"IDX file '{path}' has unsupported dtype code 0x{code:02X}; supported codes are "
            f"{_describe_codes()}."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"IDX file '{path}' is truncated: its header needs {header} bytes for {ndim} "
            f"dimension sizes, found {len(data)} bytes."
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "longer than its header says"
        dims = " x ".join(str(s) for s in shape) or "scalar"
        raise ValueError(
            f"IDX file '{path}' is {what}: the header says {dims} {dtype.name} values = "
            f"{expected} data bytes after the {header}-byte header, found {actual} bytes."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None) -> None:
    """Write an array as an IDX file.

    Parameters
    ----------
    path : str or path-like
        Where to write.
    array : array-like
        1 to 255 dimensions; dtype uint8, int8, int16, int32, float32 or float64.
    compress : bool, default=None
        gzip the file; ``None`` means "when ``path`` ends in ``.gz``".

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t10k-labels-idx1-ubyte")
    >>> write_idx(p, np.array([7, 2, 1], dtype=np.uint8))
    >>> read_idx(p).tolist()
    [7, 2, 1]
    """
    arr = np.asarray(array)
    key = (arr.dtype.kind, arr.dtype.itemsize)
    if key not in _CODE_OF_KIND:
        raise TypeError(
            f"`array` dtype must be one of uint8, int8, int16, int32, float32, float64 for IDX. "
            f"Got {arr.dtype} instead (convert it with .astype(...))."
        )
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"`array` must have 1 to 255 dimensions for IDX. Got {arr.ndim} instead.")
    if any(s >= 2**32 for s in arr.shape):
        raise ValueError(f"IDX sizes must be below 2**32. Got shape {arr.shape} instead.")
    code = _CODE_OF_KIND[key]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
