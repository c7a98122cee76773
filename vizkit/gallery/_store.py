"""The gallery folder's own rules: which files it writes, where, and how a recipe's files change.

Every path the gallery writes or deletes is derived here from a recipe name (checked against
:data:`RECIPE_NAME`) and a figure id (checked against :data:`vizkit._io.SAFE_NAME`); nothing is
ever taken from a path or URL stored in ``manifest.json``. A recipe's files live in one folder,
``OUT/<recipe>/`` (page ``index.html``, figures, data, downloads, thumbnail), so a recipe named
``index`` cannot collide with ``OUT/index.html``. The folder is built aside, then its files are
moved in one by one (each replace atomic, the page last), and the files that the new record no
longer names are deleted only after the new manifest is written: at every instant, every file
that the manifest and the pages on disk name exists. A build killed half way leaves figures whose
bytes differ from the manifest's hashes; the next build sees that and runs the recipe again.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from .._io import SAFE_NAME

__all__ = ["GalleryError", "RECIPE_NAME", "TOP_FILES", "STALE_TMP", "Store"]

#: A recipe's name: its file's stem, and the name of its folder in the gallery.
RECIPE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
#: The files the gallery writes at the top of ``--out``.
TOP_FILES = ("index.html", "manifest.json", "recipes.zip")
_TMP = ".vizkit-tmp"
#: The temporary file of an interrupted atomic write (:func:`vizkit._io.atomic_write_bytes`
#: names it ``.<name>.<8 random characters>.tmp``) of a file the gallery writes in place.
STALE_TMP = re.compile(r"^\.(index\.html|manifest\.json|recipes\.zip|\.vizkit\.run)"
                       r"\.[a-z0-9_]{8}\.tmp$")
_SUFFIXES = (".png", ".gif", ".npz")
_FIXED = ("index.html", "thumbnail.jpg")


class GalleryError(ValueError):
    """The gallery's output folder cannot be used as it is (the message says what to do)."""


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def recipe_files(name: str, folder: Path) -> list[Path]:
    """The files in ``folder`` that the gallery's rules would have written for recipe ``name``."""
    own = set(_FIXED) | {f"{name}.py", f"{name}.ipynb"}
    found = []
    for p in sorted(folder.iterdir()):
        stem, suffix = p.name[:-4], p.name[-4:]
        page = p.name.endswith(".html") and SAFE_NAME.match(p.name[:-5])  # a recipe's own page
        if p.name in own or page or (suffix in _SUFFIXES and SAFE_NAME.match(stem)):
            if not _is_link(p) and p.is_file():
                found.append(p)
    return found


class Store:
    """The output folder ``out``: checked once, then every write and delete goes through here.

    Parameters
    ----------
    out : path
        Created when missing; must be a folder (a file there is an error, raised before any
        recipe runs). Call :meth:`recover` (under the run's lock) before building.
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise GalleryError(f"`out` must be a folder; {self.out} is a file. Choose another "
                               "--out or move the file away.")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GalleryError(f"cannot create the gallery folder {self.out}: {e.strerror}.") from e
        if not os.access(self.out, os.W_OK | os.X_OK):
            raise GalleryError(f"the gallery folder {self.out} is not writable.")

    # ------------------------------------------------------------------ paths
    def recipe_dir(self, name: str) -> Path:
        """``OUT/<name>``, refusing a name outside the rules or a folder that is a link."""
        if not isinstance(name, str) or not RECIPE_NAME.match(name):
            raise GalleryError(f"{name!r} is not a recipe name (lower-case letters, digits, '_').")
        path = self.out / name
        if _is_link(path) or (path.exists() and not path.is_dir()):
            raise GalleryError(f"{path} is not a folder the gallery wrote (a link or a file); "
                               "move it away and build again.")
        return path

    def top(self, filename: str) -> Path:
        """One of :data:`TOP_FILES` in ``OUT``."""
        if filename not in TOP_FILES:
            raise GalleryError(f"{filename!r} is not a gallery file; the gallery writes "
                               f"{', '.join(TOP_FILES)} at its top.")
        return self.out / filename

    def _tmp_root(self) -> Path:
        tmp = self.out / _TMP
        if _is_link(tmp) or (tmp.exists() and not tmp.is_dir()):
            raise GalleryError(f"{tmp} is not the gallery's scratch folder; move it away.")
        return tmp

    # ------------------------------------------------------------------ transactions
    def stage(self, name: str) -> Path:
        """A fresh, empty folder to build recipe ``name``'s files in (inside ``OUT``)."""
        self.recipe_dir(name)
        stage = self._tmp_root() / f"{name}.new"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        return stage

    def commit(self, name: str, stage: Path) -> bool:
        """Move the files of ``stage`` into recipe ``name``'s folder, its page last.

        Each file is replaced atomically and none is deleted here: the manifest and every page
        on disk name only files that exist at every instant (the page names the new files once
        they are in place; the old manifest's files are still there). Files that the new
        record no longer names go in :meth:`prune`, after the new manifest is written. Files
        whose bytes did not change are not touched (they keep their modification time).
        Returns True when a file changed.
        """
        final = self.recipe_dir(name)
        if not final.is_dir():
            os.replace(stage, final)
            return True
        old_files = {p.name: p for p in recipe_files(name, final)}
        foreign = sorted(set(p.name for p in final.iterdir()) - set(old_files))
        if foreign:
            raise GalleryError(f"{final} holds files the gallery did not write "
                               f"({', '.join(foreign[:5])}); move them away and build again.")
        changed = []
        for new in sorted(stage.iterdir(), key=lambda p: p.name == "index.html"):
            old = old_files.get(new.name)
            if old is None or old.stat().st_size != new.stat().st_size \
                    or old.read_bytes() != new.read_bytes():
                os.replace(new, final / new.name)
                changed.append(new.name)
        shutil.rmtree(stage)
        return bool(changed)

    def prune(self, name: str, keep: set[str]) -> list[str]:
        """Delete the gallery's files of recipe ``name`` that are not in ``keep`` (call it once
        the manifest and pages that named them are replaced). Returns the deleted names."""
        folder = self.recipe_dir(name)
        if not folder.is_dir():
            return []
        gone = [p for p in recipe_files(name, folder) if p.name not in keep]
        for p in gone:
            p.unlink()
        return [p.name for p in gone]

    def recover(self) -> list[str]:
        """Undo what an interrupted build left (call it holding the run's lock): an old folder
        moved aside by an earlier vizkit is put back, the scratch folder goes, and so do the
        temporary files of an interrupted atomic write (only vizkit's own names:
        :data:`STALE_TMP`). Returns the stale files removed, relative to ``OUT``."""
        tmp = self._tmp_root()
        if tmp.is_dir():
            for p in sorted(tmp.iterdir()):
                name = p.name.rsplit(".", 1)[0]
                if p.name.endswith(".old") and RECIPE_NAME.match(name) and p.is_dir() \
                        and not _is_link(p) and not os.path.lexists(self.out / name):
                    os.replace(p, self.out / name)
            shutil.rmtree(tmp)
        gone = []
        for folder in [self.out] + [p for p in sorted(self.out.iterdir()) if RECIPE_NAME.match(p.name)
                                    and p.is_dir() and not _is_link(p)]:
            for p in sorted(folder.iterdir()):
                if STALE_TMP.match(p.name) and (_is_link(p) or p.is_file()):
                    p.unlink()
                    gone.append(p.relative_to(self.out).as_posix())
        return gone

    def cleanup(self) -> None:
        """Remove the scratch folder."""
        tmp = self._tmp_root()
        if tmp.is_dir():
            shutil.rmtree(tmp)

    def remove_legacy_page(self, name: str) -> list[str]:
        """Delete ``OUT/<name>.html``, where galleries before pages moved into folders kept it."""
        legacy = self.out / f"{name}.html"
        if RECIPE_NAME.match(name) and legacy.name not in TOP_FILES and legacy.is_file() \
                and not _is_link(legacy):
            legacy.unlink()
            return [legacy.name]
        return []

    def remove_recipe(self, name: str) -> list[str]:
        """Delete the gallery's files of a recipe that no longer exists (nothing else: a file the
        gallery's rules would not have written stays, and so does its folder).

        Returns the deleted paths, relative to ``OUT``.
        """
        gone = self.remove_legacy_page(name)
        folder = self.recipe_dir(name)
        if not folder.is_dir():
            return gone
        for p in sorted(recipe_files(name, folder), key=lambda p: p.name != "index.html"):
            p.unlink()  # the page first: no page names a deleted file
            gone.append(f"{name}/{p.name}")
        try:
            folder.rmdir()
        except OSError:
            pass  # something that is not the gallery's stays
        return gone


def _keep_old(old: Path, new: Path) -> None:
    """Replace ``new`` by a hard link to ``old`` (same bytes): the file keeps its mtime."""
    tmp = new.with_name(f".{new.name}.link")
    try:
        os.link(old, tmp)
    except OSError:  # a file system without hard links: a copy with the old times
        shutil.copy2(old, tmp)
    os.replace(tmp, new)
