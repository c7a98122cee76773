"""Property-based tests of the IDX reader: random and mutated bytes, plain and gzipped.

Whatever the bytes, ``read_idx`` returns the array its header describes or raises
``DataFileError`` naming the file; it never raises anything else, and never allocates more
memory than the file's own bytes justify (a header promising terabytes is not believed).
Examples per test come from the profile in ``tests/conftest.py`` ("ci": a few seconds;
``HYPOTHESIS_PROFILE=thorough`` for many more).
"""

from __future__ import annotations

import gzip
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from vizkit import data as D
from vizkit.data._idx import IDX_DTYPES

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SLACK = 256 * 1024  # bytes of bookkeeping any read may use, whatever the file
GZIP_RATIO = 1032  # the most that deflate can expand its input


def header(code: int, shape) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape)


@st.composite
def idx_bytes(draw) -> bytes:
    """A valid IDX file of a small random array."""
    code = draw(st.sampled_from(sorted(IDX_DTYPES)))
    shape = draw(st.lists(st.integers(0, 6), max_size=4))
    n = math.prod(shape) * IDX_DTYPES[code].itemsize
    return header(code, shape) + draw(st.binary(min_size=n, max_size=n))


EDITS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(0, 1 << 16), st.integers(0, 255)),  # overwrite a byte
    st.tuples(st.just("cut"), st.integers(0, 1 << 16)),  # truncate
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("dim"), st.integers(0, 4), st.integers(0, 2**32 - 1)),  # a dimension's size
), min_size=1, max_size=4)


def mutate(raw: bytes, edits) -> bytes:
    b = bytearray(raw)
    for edit in edits:
        if edit[0] == "set" and b:
            b[edit[1] % len(b)] = edit[2]
        elif edit[0] == "cut":
            del b[edit[1] % (len(b) + 1):]
        elif edit[0] == "append":
            b += edit[1]
        elif edit[0] == "dim" and len(b) >= 8 + 4 * edit[1]:
            b[4 + 4 * edit[1]: 8 + 4 * edit[1]] = edit[2].to_bytes(4, "big")
    return bytes(b)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "file-idx"


def read_checked(path: Path, content: bytes):
    """``read_idx`` of ``content``: the array or None; only DataFileError, within memory bounds."""
    path.write_bytes(content)
    justified = len(content) * (GZIP_RATIO if content[:2] == b"\x1f\x8b" else 1)
    tracemalloc.start()
    try:
        arr = D.read_idx(path)
    except D.DataFileError as e:
        msg = str(e)
        assert f"'{path}'" in msg and "\n" not in msg, msg
        arr = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak <= 3 * justified + SLACK, (peak, len(content))
    return arr


def check_array(arr, raw: bytes) -> None:
    """A successful read is exactly what the (uncompressed) bytes say."""
    code, ndim = raw[2], raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    assert arr.shape == shape and arr.dtype == IDX_DTYPES[code].newbyteorder("=")
    assert arr.astype(IDX_DTYPES[code]).tobytes() == raw[4 + 4 * ndim:]


@given(content=st.binary(max_size=300), gz=st.booleans())
@example(content=header(0x08, [65536] * 4), gz=False)  # 2**64 values: wraps to 0 in int64
@example(content=header(0x0E, [2**32 - 1] * 3), gz=True)  # promises ~10**30 bytes
@example(content=b"\x1f\x8b", gz=False)  # a gzip magic and nothing else
@example(content=header(0x08, [0] + [2**32 - 1] * 3), gz=False)  # empty, yet too big for numpy
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes_only_raise_data_file_error(scratch, content, gz):
    raw = content
    if gz:
        content = gzip.compress(content, mtime=0)
    arr = read_checked(scratch, content)
    if arr is not None:
        check_array(arr, raw)


@given(raw=idx_bytes(), edits=EDITS, gz=st.booleans(), gz_edits=st.one_of(st.none(), EDITS))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_mutated_idx_files_only_raise_data_file_error(scratch, raw, edits, gz, gz_edits):
    raw = mutate(raw, edits)
    content = gzip.compress(raw, mtime=0) if gz else raw
    if gz and gz_edits is not None:
        content = mutate(content, gz_edits)  # damage the compressed stream itself
    arr = read_checked(scratch, content)
    if arr is not None and not (gz and gz_edits is not None):
        check_array(arr, raw)  # (a damaged gzip header field can leave the data intact)


@given(raw=idx_bytes())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_valid_idx_files_read_back(scratch, raw):
    check_array(read_checked(scratch, raw), raw)
    check_array(read_checked(scratch, gzip.compress(raw, mtime=0)), raw)


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    """A small MNIST, intact, in torchvision's folder and in the plain one."""
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), (np.arange(20) % 10).astype(np.uint8),
              rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), (np.arange(10) % 10).astype(np.uint8))
    root = tmp_path_factory.mktemp("mnist")
    for layout in ("tv/MNIST/raw", "plain/mnist"):
        (root / layout).mkdir(parents=True)
        for stem, a in zip(FILES, arrays):
            D.write_idx(root / layout / stem, a)
    return root


@given(which=st.sampled_from(FILES), layout=st.sampled_from(["tv/MNIST/raw", "plain/mnist"]),
       edits=EDITS)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
          max_examples=max(1, settings.default.max_examples // 4))  # each loads MNIST
def test_mutated_mnist_file_in_either_layout_is_named(mnist_root, which, layout, edits):
    path = mnist_root / layout / which
    intact = path.read_bytes()
    path.write_bytes(mutate(intact, edits))
    try:
        D.load("mnist", root=mnist_root / layout.split("/")[0], download=False)
    except D.DataFileError as e:
        assert str(path) in str(e) or "torchvision could not read" in str(e), str(e)
    finally:
        path.write_bytes(intact)
