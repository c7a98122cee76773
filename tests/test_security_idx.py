"""An IDX file's header is not believed: whatever it claims and however far its gzip stream
expands, reading it allocates at most a fixed cap (``max_bytes``, lowered here to 1 MiB so that
the bombs stay small)."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from vizkit.data import DataFileError, read_idx, read_idx_header
from vizkit.data._idx import MAX_IDX_BYTES

CAP = 1 << 20  # 1 MiB


def _header(*dims: int, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _gz_bomb(path, header: bytes, n_bytes: int) -> None:
    """A gzip file of ``header`` then ``n_bytes`` zero bytes, written in small pieces (a few KB
    on disk)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip container
    with open(path, "wb") as f:
        f.write(comp.compress(header))
        block = bytes(1 << 16)
        for _ in range(n_bytes // len(block)):
            f.write(comp.compress(block))
        f.write(comp.compress(bytes(n_bytes % len(block))))
        f.write(comp.flush())


def _peak(fn) -> tuple[int, str]:
    """Peak bytes Python and numpy allocated while ``fn()`` ran (it must raise DataFileError),
    and the error message."""
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError) as info:
            fn()
        return tracemalloc.get_traced_memory()[1], str(info.value)
    finally:
        tracemalloc.stop()


# (header dims, data bytes that follow, what the error says, the most bytes reading may allocate)
BOMBS = [
    # header claims 4e9 images, stream expands to 8 MiB: refused before any data is read
    ((4_000_000_000, 28, 28), 8 << 20, "more than read_idx's limit of 1048576 bytes", CAP // 4),
    # header claims one byte more than the cap (an honest stream of that length): refused unread
    ((CAP + 1,), CAP + 1, "limit of 1048576 bytes", CAP // 4),
    # header claims half the cap, stream expands to 8 MiB: abandoned just past the header's count
    ((512, 1024), 8 << 20, "longer than its header says", 3 * CAP),
    # header claims the cap, stream a byte longer
    ((1024, 1024), CAP + 1, "longer than its header says", 3 * CAP),
    # header claims the cap, stream shorter
    ((1024, 1024), CAP - 5, "is truncated", 3 * CAP),
]


@pytest.mark.parametrize("dims, n_bytes, message, bound", BOMBS)
def test_a_lying_gzip_header_is_refused_in_bounded_memory(tmp_path, dims, n_bytes, message, bound):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    _gz_bomb(path, _header(*dims), n_bytes)
    assert path.stat().st_size < 64 << 10
    peak, text = _peak(lambda: read_idx(path, max_bytes=CAP))
    assert message in text and "bomb-idx3-ubyte.gz" in text
    assert peak < bound, f"reading allocated {peak} bytes (bound {bound})"


@pytest.mark.parametrize("dims, n_bytes", [((4_000_000_000, 28, 28), 1 << 16),
                                          ((CAP + 1,), CAP + 1)])
def test_a_plain_file_or_header_check_refuses_a_header_over_the_cap(tmp_path, dims, n_bytes):
    plain = tmp_path / "big-idx1-ubyte"
    plain.write_bytes(_header(*dims) + bytes(n_bytes))
    for fn in (read_idx, read_idx_header):
        peak, text = _peak(lambda: fn(plain, max_bytes=CAP))
        assert "limit of 1048576 bytes" in text and peak < CAP // 4


def test_a_file_at_the_cap_is_read_whole(tmp_path):
    values = (np.arange(CAP) % 251).astype(np.uint8).reshape(1024, 1024)
    path = tmp_path / "ok-idx2-ubyte.gz"
    path.write_bytes(gzip.compress(_header(1024, 1024) + values.tobytes(), mtime=0))
    out = read_idx(path, max_bytes=CAP)
    assert out.shape == (1024, 1024) and np.array_equal(out, values)
    out[0, 0] = 7  # the caller owns a writable array
    assert read_idx_header(path, max_bytes=CAP) == ((1024, 1024), np.dtype(np.uint8))
    with pytest.raises(DataFileError, match="limit of 1048575 bytes"):
        read_idx(path, max_bytes=CAP - 1)


def test_big_endian_values_come_back_native_and_writable(tmp_path):
    values = np.array([[1, -2], [300000, 4]], dtype=">i4")
    path = tmp_path / "v-idx2-int.gz"
    path.write_bytes(gzip.compress(_header(2, 2, code=0x0C) + values.tobytes(), mtime=0))
    out = read_idx(path)
    assert out.dtype == np.dtype("=i4") and out.tolist() == values.tolist()
    out[0, 0] = 5


def test_the_default_cap_holds_the_largest_mnist_file():
    assert 60000 * 28 * 28 < MAX_IDX_BYTES <= 1 << 30


@pytest.mark.parametrize("max_bytes, error, message", [
    (-1, ValueError, "`max_bytes` must be >= 0. Got -1 instead."),
    (1.5, TypeError, "`max_bytes` must be an int or None. Got float instead."),
    (True, TypeError, "`max_bytes` must be an int or None. Got bool instead."),
    ("1024", TypeError, "`max_bytes` must be an int or None. Got str instead."),
])
def test_bad_max_bytes_is_refused_by_name(tmp_path, max_bytes, error, message):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(_header(3) + bytes(3))
    with pytest.raises(error, match=message.replace(".", r"\.").replace("`", "`")):
        read_idx(path, max_bytes=max_bytes)
