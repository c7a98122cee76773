"""Lock and temporary files are never opened through a symbolic link: a link planted at a lock's
or a temporary file's name creates or changes nothing at its target."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from vizkit._io import (UnsafePathError, atomic_write_bytes, file_lock, open_no_follow,
                        read_no_follow, try_file_lock)


def _enter_lock(path):
    with file_lock(path):
        pass


def _enter_try_lock(path):
    with try_file_lock(path):
        pass


def _open_create(path):
    os.close(open_no_follow(path, create=True))


LOCKERS = [_enter_lock, _enter_try_lock, _open_create, read_no_follow]


@pytest.fixture
def outside(tmp_path):
    """A folder outside the cache, with one file in it."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "precious.txt").write_text("do not touch")
    return d


# (what the planted name is, how to plant it)
def _link_to_missing(at: Path, outside: Path) -> None:
    at.symlink_to(outside / "created-by-vizkit")


def _link_to_file(at: Path, outside: Path) -> None:
    at.symlink_to(outside / "precious.txt")


def _link_to_folder(at: Path, outside: Path) -> None:
    at.symlink_to(outside)


def _fifo(at: Path, outside: Path) -> None:
    os.mkfifo(at)


def _folder(at: Path, outside: Path) -> None:
    at.mkdir()


PLANTS = [(_link_to_missing, UnsafePathError, "symbolic link"),
          (_link_to_file, UnsafePathError, "symbolic link"),
          (_link_to_folder, UnsafePathError, "symbolic link"),
          (_fifo, UnsafePathError, "not a regular file"),
          (_folder, OSError, None)]


@pytest.mark.parametrize("locker", LOCKERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("plant, error, message", PLANTS, ids=lambda p: getattr(p, "__name__", ""))
def test_a_planted_lock_is_refused_and_nothing_is_made_at_its_target(tmp_path, outside, locker,
                                                                    plant, error, message):
    cache = tmp_path / "cache"
    cache.mkdir()
    lock = cache / "m-0123456789abcdef.pt.lock"
    plant(lock, outside)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in outside.iterdir()}
    with pytest.raises(error, match=message):
        locker(lock)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in outside.iterdir()}
    assert after == before


@pytest.mark.parametrize("locker", [_enter_lock, _enter_try_lock, _open_create])
def test_a_plain_lock_file_is_created_and_kept(tmp_path, locker):
    lock = tmp_path / "sub" / "x.lock" if locker is _enter_lock else tmp_path / "x.lock"
    locker(lock)
    assert lock.is_file() and not lock.is_symlink() and lock.read_bytes() == b""


def test_try_file_lock_says_whether_the_lock_was_free(tmp_path):
    lock = tmp_path / "x.lock"
    with try_file_lock(lock) as held:
        assert held is True
    with file_lock(lock):  # another open file of the same lock: flock makes them take turns
        with try_file_lock(lock) as held:
            assert held is False
    with try_file_lock(lock) as held:
        assert held is True


def test_atomic_write_replaces_a_link_at_the_name_not_its_target(tmp_path, outside):
    path = tmp_path / "index.html"
    path.symlink_to(outside / "precious.txt")
    atomic_write_bytes(path, b"new")
    assert not path.is_symlink() and path.read_bytes() == b"new"
    assert (outside / "precious.txt").read_text() == "do not touch"


def test_atomic_write_never_writes_through_a_link_planted_at_a_temporary_name(tmp_path, outside,
                                                                           monkeypatch):
    """The temporary name is guessed and planted first: it is skipped (O_EXCL | O_NOFOLLOW)."""
    names = iter(["aaaaaaaa", "bbbbbbbb", "cccccccc"])
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: names)
    planted = tmp_path / ".model.pt.aaaaaaaa.tmp"
    planted.symlink_to(outside / "created-by-vizkit")
    atomic_write_bytes(tmp_path / "model.pt", b"weights")
    assert (tmp_path / "model.pt").read_bytes() == b"weights"
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert planted.is_symlink()  # left as it was (it is not vizkit's file)
    assert not (tmp_path / ".model.pt.bbbbbbbb.tmp").exists()


def test_atomic_write_gives_plain_file_permissions(tmp_path):
    mask = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "f.bin", b"x")
    finally:
        os.umask(mask)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o640


def test_a_cache_lock_that_is_a_link_stops_the_training_and_creates_nothing_outside(tmp_path,
                                                                                  outside):
    from vizkit.gallery._context import DataChoice, RecipeContext

    def ctx():
        return RecipeContext("r", source="", out=tmp_path / "out", cache_dir=tmp_path / "cache",
                             data=DataChoice("gmm-2d"), seed=0, lib_version="test")

    c = ctx()
    split = c.data("gmm-2d", K=2, C=2, N=10)
    c.train("m", "logreg", split, {"epochs": 2})
    (lock,) = (tmp_path / "cache" / "r").glob("*.lock")
    lock.unlink()
    lock.symlink_to(outside / "created-by-vizkit")
    c = ctx()
    with pytest.raises(UnsafePathError, match="symbolic link"):
        c.train("m", "logreg", split, {"epochs": 2})
    assert c.n_trained == 0 and c.n_cached == 0
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]

