"""The gallery's model cache: a checkpoint is used only when it is exactly what vizkit wrote for
this request.

An entry is ``CACHE/<recipe or _shared>/<key>-<digest>.pt`` plus its record
``<key>-<digest>.pt.sha256`` (JSON: the digest it was written for, the file's size and SHA-256),
written atomically after the checkpoint, and a lock file ``<key>-<digest>.pt.lock``. The digest
(:func:`cache_key`) covers everything that decides the weights: the recipe's source, the spec, the
training config and seed, the data set's name and fingerprint, vizkit's version and the source of
the code that trains (:func:`training_code_version`). :func:`load_entry` refuses (with the reason)
a checkpoint with no record, a record for another digest, bytes that are not the recorded ones, a
stored ``gallery_key`` or data fingerprint that is not the request's, or a training that never
finished; the caller trains again. Files here are never opened through a symbolic link.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._io import (UnsafePathError, atomic_write_bytes, read_no_follow, sha256, stable_hash,
                   try_file_lock)

__all__ = ["CacheMiss", "RECORD_SUFFIX", "cache_key", "training_code_version", "check_folder",
           "load_entry", "record_entry", "forget_entry", "sweep_stale_temporaries"]

#: The record of a checkpoint vizkit wrote: ``<checkpoint name>`` + this suffix.
RECORD_SUFFIX = ".sha256"
_RECORD_FORMAT = "vizkit-cache-entry"
#: The code whose change changes the weights a training run produces.
_TRAINING_CODE = ("train", "models", "data/_split.py", "data/_holdout.py")
#: A temporary file of :func:`vizkit._io.atomic_write_bytes` for a checkpoint or its record.
_TEMPORARY = re.compile(r"^\.(?P<entry>[a-z0-9][a-z0-9_-]{0,79}-[0-9a-f]{16}\.pt)"
                        r"(?:\.sha256)?\.[a-z0-9_]{8}\.tmp$")
_FOLDER = re.compile(r"^(?:_shared|[a-z0-9][a-z0-9_]{0,63})$")


class CacheMiss(Exception):
    """No usable checkpoint for a request; ``str()`` is the reason, in words (``missing``: there
    was no file at all)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


@lru_cache(maxsize=1)
def training_code_version() -> str:
    """Short SHA-256 of the source of the code that decides a model's weights (``vizkit/train``,
    ``vizkit/models`` and the data's split code), computed once per process."""
    return _code_hash(Path(__file__).resolve().parents[1], _TRAINING_CODE)


def _code_hash(root: Path, parts) -> str:
    """Short SHA-256 of the names and bytes of the ``.py`` files of ``parts`` (folders or files,
    relative to ``root``)."""
    h = hashlib.sha256()
    for part in parts:
        base = root / part
        for p in sorted(base.rglob("*.py")) if base.is_dir() else [base]:
            h.update(p.relative_to(root).as_posix().encode() + b"\0")
            h.update(sha256(p.read_bytes()).encode())
    return h.hexdigest()[:16]


def cache_key(*, recipe: str, version: str, key: str, spec: dict, config: dict, seed: int,
              data: tuple[str, str]) -> str:
    """The digest of one training request.

    Parameters
    ----------
    recipe : str
        SHA-256 of the recipe's source, or ``'shared'``.
    version : str
        vizkit's version.
    key : str
        The model's name within the recipe.
    spec, config : dict
        The model spec and the training config (without the keys that do not change weights).
    seed : int
    data : (str, str)
        The data set's name and fingerprint (:attr:`vizkit.data.Split.fingerprint`).
    """
    return stable_hash({"recipe": recipe, "vizkit": version, "code": training_code_version(),
                        "key": key, "spec": spec, "config": config, "seed": seed,
                        "data": list(data)})


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def check_folder(path: Path) -> None:
    """Refuse an entry whose folder inside the cache is a symbolic link (files would be written
    at its target)."""
    folder = Path(path).parent
    if folder.is_symlink():
        raise UnsafePathError(f"{folder} is a symbolic link; vizkit keeps its own models there and "
                              "does not follow links. Remove it and run again.")


def load_entry(path: Path, digest: str, *, fingerprint: str):
    """The model cached at ``path`` for request ``digest`` on data ``fingerprint``.

    Returns
    -------
    model, meta
        As :func:`vizkit.checkpoint.load`; ``meta['metrics']`` holds the test metrics.

    Raises
    ------
    CacheMiss
        Nothing there, or something vizkit did not write for this very request (the reason says
        what): the caller trains again.
    """
    from .. import checkpoint as ckpt

    path = Path(path)
    if not os.path.lexists(path):
        raise CacheMiss("no checkpoint", missing=True)
    try:
        record = json.loads(read_no_follow(_record_path(path)))
    except FileNotFoundError:
        raise CacheMiss(f"no record of vizkit writing it ({_record_path(path).name} is "
                        "missing)") from None
    except (UnsafePathError, OSError, ValueError) as e:
        raise CacheMiss(f"its record is unreadable ({e})") from None
    if not isinstance(record, dict) or record.get("format") != _RECORD_FORMAT:
        raise CacheMiss("its record is not a vizkit cache record")
    if record.get("key") != digest:
        raise CacheMiss(f"its record is for another request ({str(record.get('key'))[:20]!r}, "
                        f"not {digest!r})")
    try:
        data = read_no_follow(path)
    except (UnsafePathError, OSError) as e:
        raise CacheMiss(f"unreadable ({e})") from None
    if len(data) != record.get("size") or sha256(data) != record.get("sha256"):
        raise CacheMiss(f"its bytes are not the ones vizkit wrote ({len(data)} bytes, "
                        f"recorded {record.get('size')}; truncated or replaced)")
    try:
        net, meta = ckpt.load(path, data=data)  # the very bytes just checked: read once
    except (ckpt.CheckpointError, OSError) as e:
        raise CacheMiss(f"unreadable ({e})") from None
    return net, _checked_meta(meta, digest, fingerprint)


def _checked_meta(meta: dict, digest: str, fingerprint: str) -> dict:
    if meta.get("gallery_key") != digest:
        raise CacheMiss(f"its stored key {str(meta.get('gallery_key'))[:20]!r} is not the "
                        f"request's {digest!r}")
    data = meta.get("data")
    stored = data.get("fingerprint") if isinstance(data, dict) else None
    if stored != fingerprint:
        raise CacheMiss(f"it was trained on other data (fingerprint {str(stored)[:20]!r}, the "
                        f"request's is {fingerprint!r})")
    if not isinstance(meta.get("metrics"), dict) or "accuracy" not in meta["metrics"]:
        # training writes its best epoch so far as it goes: a build killed then leaves a
        # checkpoint with no test metrics, which is no finished model
        raise CacheMiss("no test metrics: its training was interrupted")
    return meta


def record_entry(path: Path, digest: str) -> None:
    """Record the checkpoint vizkit just wrote at ``path`` for request ``digest`` (its size and
    SHA-256), atomically, beside it."""
    data = read_no_follow(path)
    record: dict[str, Any] = {"format": _RECORD_FORMAT, "key": digest, "size": len(data),
                              "sha256": sha256(data)}
    atomic_write_bytes(_record_path(path), (json.dumps(record, sort_keys=True) + "\n").encode())


def forget_entry(path: Path) -> None:
    """Remove ``path``'s record (before it is trained again: a run killed then leaves a
    checkpoint that nothing vouches for)."""
    try:
        os.unlink(_record_path(path))
    except FileNotFoundError:
        pass


def sweep_stale_temporaries(cache_dir: str | os.PathLike) -> list[str]:
    """Delete the temporary files that a run killed while writing a checkpoint (or its record)
    left in the cache: only names of :func:`vizkit._io.atomic_write_bytes`'s pattern for a cache
    entry (``.<key>-<digest>.pt.<random>.tmp``), only regular files in the cache's own folders
    (no link is followed, a folder that is a link is skipped), and only while no other process
    holds that entry's lock (it may be writing the file right now).

    Returns
    -------
    list of str
        The deleted files, relative to ``cache_dir``.
    """
    root, gone = Path(cache_dir), []
    try:
        folders = [e for e in os.scandir(root) if _FOLDER.match(e.name)
                   and e.is_dir(follow_symlinks=False)]
    except (FileNotFoundError, NotADirectoryError):
        return gone
    for folder in sorted(folders, key=lambda e: e.name):
        for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
            m = _TEMPORARY.match(entry.name)
            if not m or not entry.is_file(follow_symlinks=False):
                continue
            try:
                with try_file_lock(Path(folder.path) / f"{m.group('entry')}.lock") as held:
                    if held and stat.S_ISREG(os.lstat(entry.path).st_mode):
                        os.unlink(entry.path)
                        gone.append(f"{folder.name}/{entry.name}")
            except (UnsafePathError, FileNotFoundError):
                continue  # a planted lock link, or another sweep was quicker
    return gone
