"""Read and write IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <number of dims>``, one
big-endian 32-bit size per dimension, then the values in row-major order, big-endian.
Files may be gzip-compressed; the reader looks at the first bytes, not at the name.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import sys
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

import numpy as np

from .._io import atomic_write_bytes
from ._errors import DataFileError

__all__ = ["IDX_DTYPES", "MAX_IDX_BYTES", "read_idx", "read_idx_header", "write_idx"]

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
_CHUNK_MIN, _CHUNK_MAX = 1 << 16, 1 << 24  # bytes per read of a gzip stream
#: The most data bytes :func:`read_idx` reads from one file by default (256 MiB; the largest file
#: of MNIST and Fashion-MNIST holds 47 MB): a header that promises more is refused before anything
#: is read, so memory stays bounded whatever a (gzip) file claims or expands to.
MAX_IDX_BYTES = 1 << 28


def _describe_codes() -> str:
    return ", ".join(f"0x{c:02X} ({IDX_DTYPES[c].name})" for c in IDX_DTYPES)


@contextlib.contextmanager
def _open_idx(path: Path) -> Iterator[tuple[BinaryIO, Optional[int]]]:
    """``(stream, size)``: the file's bytes, gunzipped on the fly when it starts with the gzip
    magic; ``size`` is the file's byte count for a plain file (None for gzip). Errors of
    the gzip stream become :class:`DataFileError` naming the file."""
    with open(path, "rb") as raw:
        gz = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gz:
            yield raw, os.fstat(raw.fileno()).st_size
            return
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream, None
        except (EOFError, OSError, zlib.error) as e:
            raise DataFileError(
                f"IDX file '{path}' is a gzip file that cannot be decompressed "
                f"(truncated or damaged download?): {e}. Delete it and download it again."
            ) from e


def _check_cap(max_bytes) -> int:
    if max_bytes is None:
        return MAX_IDX_BYTES
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f"`max_bytes` must be an int or None. Got {type(max_bytes).__name__} instead.")
    if max_bytes < 0:
        raise ValueError(f"`max_bytes` must be >= 0. Got {max_bytes} instead.")
    return max_bytes


def _read_header(f: BinaryIO, path: Path, cap: int) -> tuple[tuple[int, ...], np.dtype, int]:
    """Read and check the magic number and the dimension sizes: ``(shape, dtype, header bytes)``;
    a header promising more than ``cap`` data bytes is refused before any data is read."""
    head = f.read(4)
    if len(head) < 4:
        raise DataFileError(
            f"IDX file '{path}' is truncated: expected at least a 4-byte header, found "
            f"{len(head)} bytes."
        )
    if head[0] != 0 or head[1] != 0:
        raise DataFileError(
            f"'{path}' is not an IDX file: the magic number must start with two zero bytes, "
            f"got 0x{head.hex().upper()} instead."
        )
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        raise DataFileError(
            f"IDX file '{path}' has unsupported dtype code 0x{code:02X}; supported codes are "
            f"{_describe_codes()}."
        )
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)  # at most 1020 bytes
    if len(dims) < 4 * ndim:
        raise DataFileError(
            f"IDX file '{path}' is truncated: its header needs {header} bytes for {ndim} "
            f"dimension sizes, found {4 + len(dims)} bytes."
        )
    shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    if math.prod(s for s in shape if s) * IDX_DTYPES[code].itemsize > sys.maxsize:
        raise DataFileError(  # numpy refuses such a shape even when a size of 0 makes it empty
            f"IDX file '{path}' is damaged: its header's dimension sizes "
            f"{' x '.join(map(str, shape))} are too large for any array."
        )
    expected = math.prod(shape) * IDX_DTYPES[code].itemsize
    if expected > cap:
        raise DataFileError(
            f"IDX file '{path}' is refused: its header says {' x '.join(map(str, shape))} "
            f"{IDX_DTYPES[code].name} values = {expected} data bytes, more than read_idx's "
            f"limit of {cap} bytes (max_bytes); the file is damaged or not an IDX data set."
        )
    return shape, IDX_DTYPES[code], header


def _size_error(path: Path, shape: tuple, dtype: np.dtype, header: int, found: Optional[int]) -> DataFileError:
    """The header promises ``prod(shape)`` values; ``found`` data bytes (None: more than that)."""
    expected = math.prod(shape) * dtype.itemsize
    what = "truncated" if found is not None and found < expected else "longer than its header says"
    dims = " x ".join(str(s) for s in shape) or "scalar"
    count = f"{found} bytes" if found is not None else f"more than {expected} bytes"
    return DataFileError(
        f"IDX file '{path}' is {what}: the header says {dims} {dtype.name} values = "
        f"{expected} data bytes after the {header}-byte header, found {count}."
    )


def _read_data(f: BinaryIO, size: Optional[int], path: Path, shape: tuple, dtype: np.dtype,
               header: int) -> bytes | bytearray:
    """The data bytes, never more than the file holds: a plain file's size is checked before
    reading; a gzip stream is read in chunks and abandoned once it exceeds the header's count
    (which :func:`_read_header` bounded), so nothing is allocated from the header's word alone."""
    expected = math.prod(shape) * dtype.itemsize  # exact: Python ints do not overflow
    if size is not None:
        if size - header != expected:
            raise _size_error(path, shape, dtype, header, size - header)
        data = f.read(expected)
        if len(data) != expected:  # the file shrank while being read
            raise _size_error(path, shape, dtype, header, len(data))
        return data
    buf = bytearray()
    while len(buf) <= expected:
        # a read allocates what it asks for: ask for no more than has arrived so far
        chunk = f.read(min(max(_CHUNK_MIN, len(buf)), _CHUNK_MAX, expected + 1 - len(buf)))
        if not chunk:
            break
        buf += chunk
    if len(buf) != expected:
        raise _size_error(path, shape, dtype, header, len(buf) if len(buf) < expected else None)
    return buf


def read_idx_header(path: str | os.PathLike, *, max_bytes: int | None = None
                    ) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of an IDX file, checked without reading its values.

    For a plain file the size is checked against the header too, so that a damaged file
    is reported (naming it) before any reader allocates memory for it; a gzipped file
    is only checked when it is read (:func:`read_idx`). A header promising more than
    ``max_bytes`` (default :data:`MAX_IDX_BYTES`) data bytes is refused.

    Parameters
    ----------
    path : str or path-like
        The file, plain or gzip-compressed.
    max_bytes : int, optional
        The most data bytes its header may promise; default :data:`MAX_IDX_BYTES` (256 MiB).

    Returns
    -------
    shape : tuple of int
        The size of each dimension, as the header says.
    dtype : numpy.dtype
        The values' type, native-endian (what :func:`read_idx` returns).

    Raises
    ------
    DataFileError
        As :func:`read_idx`: wrong magic number, unsupported dtype code, a header promising
        more than ``max_bytes``, or a plain file whose size is not what its header promises.
    TypeError
        ``max_bytes`` is not an int or None.
    ValueError
        ``max_bytes`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> write_idx("images-idx3-ubyte", np.zeros((5, 28, 28), dtype=np.uint8))
    >>> read_idx_header("images-idx3-ubyte")
    ((5, 28, 28), dtype('uint8'))
    >>> read_idx_header("images-idx3-ubyte", max_bytes=1000)  # 3920 data bytes: refused
    Traceback (most recent call last):
    ...
    vizkit.data._errors.DataFileError: IDX file 'images-idx3-ubyte' is refused: ...
    """
    path, cap = Path(path), _check_cap(max_bytes)
    with _open_idx(path) as (f, size):
        shape, dtype, header = _read_header(f, path, cap)
        if size is not None and size - header != math.prod(shape) * dtype.itemsize:
            raise _size_error(path, shape, dtype, header, size - header)
    return shape, dtype.newbyteorder("=")


def read_idx(path: str | os.PathLike, *, max_bytes: int | None = None) -> np.ndarray:
    """Read one IDX file (plain or gzip-compressed) into a native-endian array.

    Memory is only ever allocated for bytes the file really holds, and never for more than
    ``max_bytes``: a header that promises more values than follow is reported, not believed,
    and one that promises more than ``max_bytes`` is refused before any value is read (a gzip
    stream is read in bounded chunks and abandoned as soon as it runs past the header's count).

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.
    max_bytes : int, optional
        The most data bytes to accept; default :data:`MAX_IDX_BYTES` (256 MiB).

    Returns
    -------
    ndarray
        Shape and dtype as the header says (MNIST images: uint8 of shape (60000, 28, 28)).

    Raises
    ------
    DataFileError
        (a ``ValueError``) Wrong magic number, unsupported dtype code, a gzip stream that
        cannot be decompressed, a header promising more than ``max_bytes``, or a file shorter
        (or longer) than its header promises; the message names the file and both byte counts.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x-idx1-ubyte.gz")
    >>> write_idx(p, np.arange(3, dtype=np.uint8))
    >>> read_idx(p)
    array([0, 1, 2], dtype=uint8)
    """
    path, cap = Path(path), _check_cap(max_bytes)
    with _open_idx(path) as (f, size):
        shape, dtype, header = _read_header(f, path, cap)
        data = _read_data(f, size, path, shape, dtype, header)
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    # a gzip stream's bytearray is ours: one-byte values need no second copy of it
    return arr.astype(dtype.newbyteorder("="), copy=not arr.flags.writeable)


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

    Raises
    ------
    TypeError
        ``array``'s dtype is none of those IDX stores.
    ValueError
        ``array`` has 0 or more than 255 dimensions, or a size of 2**32 or more.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t10k-labels-idx1-ubyte")
    >>> write_idx(p, np.array([7, 2, 1], dtype=np.uint8))
    >>> read_idx(p).tolist()
    [7, 2, 1]
    >>> write_idx(p, np.array([7, 2, 1]))  # int64: no IDX type
    Traceback (most recent call last):
    ...
    TypeError: `array` dtype must be one of uint8, int8, int16, int32, float32, float64 for IDX. ...
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
    atomic_write_bytes(path, payload)
