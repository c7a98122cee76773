"""vizkit's one write path (private): atomic writes that skip unchanged bytes, deterministic PNG
bytes, content hashes, safe file names and the model cache folder.

Every file vizkit writes (checkpoints, metrics, figures, gallery pages) goes through
:func:`atomic_write_bytes`: readers see the old file or the new one, never half of it.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import struct
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

__all__ = ["atomic_write_bytes", "file_lock", "try_file_lock", "open_no_follow", "read_no_follow",
           "UnsafePathError", "write_if_changed", "file_hash", "png_bytes", "png_size", "safe_name",
           "sha256", "stable_hash", "default_cache_dir", "npz_bytes", "SAFE_NAME"]

#: What every file name written by the gallery is made of (plus the ``.png``/``.html`` suffix).
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def safe_name(text: str, *, default: str = "item") -> str:
    """Turn ``text`` into a file-name stem from ``[a-z0-9_-]`` (at most 80 characters).

    Letters are lower-cased, every run of other characters becomes one ``-``, and leading or
    trailing ``-``/``_`` are dropped, so no stem can climb out of its folder or hide a file.

    Parameters
    ----------
    text : str
        Any text (a title, a recipe name); anything else is turned into text with ``str``.
    default : str, default "item"
        The stem returned when nothing of ``text`` is left.

    Returns
    -------
    str
        A stem that matches :data:`SAFE_NAME`, or ``default``.

    Examples
    --------
    >>> safe_name("Weights λ=0.1 <b>")
    'weights-0-1-b'
    >>> safe_name("../../etc/passwd")
    'etc-passwd'
    >>> safe_name("???", default="figure")
    'figure'
    """
    s = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower())
    s = re.sub(r"-{2,}", "-", s).strip("-_")[:80].strip("-_")
    return s if s else default


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The file gets the permissions a plainly created one would (``0o666`` less the umask), not
    the ``0o600`` of a temporary file. The temporary file ``.<name>.<8 random characters>.tmp``
    is created new (``O_EXCL``, ``O_NOFOLLOW``: never through a link planted at its name) and its
    permissions set through its descriptor; ``os.replace`` then replaces a link at ``path``
    itself, never the file it points to.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder is created when missing.
    data : bytes
        The file's whole new content.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> out = atomic_write_bytes("out/note.txt", b"hello")
    >>> out.read_bytes(), sorted(p.name for p in out.parent.iterdir())  # no temporary file left
    (b'hello', ['note.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_hash(path: str | os.PathLike) -> str:
    """Short SHA-256 of a file's bytes: its first 16 hexadecimal digits.

    Parameters
    ----------
    path : str or os.PathLike
        The file to hash (read whole).

    Returns
    -------
    str
        16 lower-case hexadecimal digits.

    Examples
    --------
    >>> import hashlib
    >>> path = atomic_write_bytes("data.bin", b"abc")
    >>> file_hash(path) == hashlib.sha256(b"abc").hexdigest()[:16]
    True
    >>> file_hash(path)
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stable_hash(obj: Any, n: int = 16) -> str:
    """Short SHA-256 of a JSON-able object (keys sorted), the same in every process."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def write_if_changed(path: str | os.PathLike, data: bytes) -> bool:
    """Write ``data`` atomically unless ``path`` already holds exactly these bytes.

    An unchanged file is left alone and keeps its mtime, so a rebuild that produces the same
    bytes changes nothing on disk.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (with :func:`atomic_write_bytes`).
    data : bytes
        The file's whole new content.

    Returns
    -------
    bool
        True when the file was written (it was missing or held other bytes), False when it
        already held ``data``.

    Examples
    --------
    >>> write_if_changed("page.html", b"<p>1</p>"), write_if_changed("page.html", b"<p>1</p>")
    (True, False)
    >>> write_if_changed("page.html", b"<p>2</p>")
    True
    """
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write_bytes(path, data)
    return True


def png_bytes(fig, *, dpi: int = 220) -> bytes:
    """Render a matplotlib figure to PNG bytes with no date or software metadata.

    The default ``dpi`` is twice the 110 CSS px per figure inch at which the gallery shows it
    (sharp on high-density screens; an 8 pt font is 12 CSS px there, 9 pt).

    The same figure drawn from the same seed gives the same bytes (Agg rendering is
    deterministic; matplotlib puts no time stamp in a PNG unless asked to). The PNG is then
    stored losslessly smaller: RGB where every pixel is opaque (the white face makes them so),
    with Pillow's ``optimize`` (about 12 % off the gallery's PNGs, the same pixels).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render (one made outside pyplot gets an Agg canvas first).
    dpi : int, default 220
        Pixels per figure inch.

    Returns
    -------
    bytes
        A PNG image, cropped to the drawn content (``bbox_inches="tight"``) on a white face.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 1))
    >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> data = png_bytes(fig, dpi=50)
    >>> data[1:4], data == png_bytes(fig, dpi=50)  # a PNG, the same bytes every time
    (b'PNG', True)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):  # a figure made outside pyplot has a base canvas
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white",
                bbox_inches="tight", pad_inches=0.1)
    return _compact_png(buf.getvalue())


def _compact_png(data: bytes) -> bytes:
    """The same pixels in fewer bytes: the alpha channel dropped when it is opaque everywhere,
    then Pillow's ``optimize`` (best zlib level and filter); no metadata is written."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
            im = im.convert("RGB")
        out = io.BytesIO()
        dpi = im.info.get("dpi")  # kept (pHYs), so an image editor prints it at its size
        im.save(out, format="PNG", optimize=True, **({"dpi": dpi} if dpi else {}))
    return out.getvalue() if out.tell() < len(data) else data


def npz_bytes(arrays: dict[str, Any]) -> bytes:
    """The bytes of an ``.npz`` archive of ``arrays`` that ``numpy.load`` reads, deterministic.

    ``numpy.savez`` stamps each member with the current time; here every member gets a fixed
    date, so the same arrays always give the same bytes (a gallery rebuild changes no file).
    Keys must be valid names (letters, digits, ``_``); values anything ``numpy.asarray`` takes,
    except object arrays (``numpy.load`` refuses those without ``allow_pickle``). ``float64``
    arrays are stored as ``float32``: that is all a figure draws, at half the size.
    """
    import numpy as np

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)):
                raise ValueError(f"array names must be identifiers (letters, digits, _). Got {key!r}.")
            arr = np.asarray(arrays[key])
            if arr.dtype == np.float64:  # what a figure draws never needs more than float32
                arr = arr.astype(np.float32)
            if arr.dtype == object:
                raise ValueError(f"array {key!r} has dtype object, which numpy.load cannot read "
                                 "safely; convert it to numbers or strings first.")
            member = io.BytesIO()
            np.lib.format.write_array(member, arr if arr.flags.c_contiguous else arr.copy(order="C"),
                                    allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", data[16:24])


def default_cache_dir() -> Path:
    """Where trained gallery models are kept: ``$VIZKIT_CACHE``, else ``$XDG_CACHE_HOME/vizkit/
    gallery``, else ``~/.cache/vizkit/gallery``.

    The folder is only named here, not created.

    Returns
    -------
    pathlib.Path
        The cache folder (``~`` expanded).

    Examples
    --------
    >>> import os
    >>> os.environ["VIZKIT_CACHE"] = "~/models"
    >>> default_cache_dir() == Path.home() / "models"
    True
    >>> del os.environ["VIZKIT_CACHE"]
    """
    env = os.environ.get("VIZKIT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "vizkit" / "gallery"


class UnsafePathError(OSError):
    """A file vizkit keeps for itself (a lock, a cache record) is a symbolic link or not a regular
    file: vizkit refuses to follow it (the message names the path and what to do)."""


def open_no_follow(path: str | os.PathLike, *, create: bool = False) -> int:
    """A read-write (``create``: created when absent) or read-only descriptor of the regular file
    ``path``, opened without following a symbolic link at its name (``O_NOFOLLOW``) and without
    blocking on a FIFO.

    Raises
    ------
    UnsafePathError
        ``path`` is a symbolic link, or not a regular file.
    FileNotFoundError
        ``path`` does not exist (and ``create`` is False).
    """
    flags = (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UnsafePathError(f"{path} is a symbolic link; vizkit does not follow links to its "
                                  "own files. Remove the link and run again.") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePathError(f"{path} is not a regular file; vizkit keeps its own file there. "
                              "Remove it and run again.")
    return fd


def read_no_follow(path: str | os.PathLike) -> bytes:
    """The bytes of the regular file ``path``, never read through a symbolic link
    (:func:`open_no_follow`)."""
    with os.fdopen(open_no_follow(path), "rb") as f:
        return f.read()


@contextmanager
def try_file_lock(path: str | os.PathLike) -> Iterator[bool]:
    """Take the lock of :func:`file_lock` on ``path`` if it is free: yields True when held for
    the ``with`` block, False (at once) when another process holds it. Where ``fcntl`` does not
    exist (Windows), yields True unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield True
        return
    fd = open_no_follow(path, create=True)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held
    finally:
        os.close(fd)  # (closing the last descriptor releases the lock)


@contextmanager
def file_lock(path: str | os.PathLike, *,
              on_wait: Optional[Callable[[], None]] = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the ``with`` block.

    Processes (and threads, each with its own open file) that lock the same path take turns:
    the gallery's recipes, run side by side with ``--jobs``, use it so that a model two recipes
    need is trained once and loaded by the other. ``on_wait`` is called once when the lock is
    held by someone else, before waiting for it. The lock goes with the process (a crash never
    leaves it held); the empty lock file stays. The lock file is opened without following a link
    at its name (:func:`open_no_follow`: a planted link raises :class:`UnsafePathError`, and no
    file is created at its target). Where ``fcntl`` does not exist (Windows), the block runs
    unlocked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(open_no_follow(path, create=True), "r+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
