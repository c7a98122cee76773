"""What every vizkit run shares (private): one run at a time per output folder, the
``$VIZKIT_THREADS`` setting, and telling the machine's failures from a program's.

A run (``vizkit gallery``, ``vizkit train``) owns its output folder while it works: it holds the
lock ``FOLDER/.vizkit.lock`` (:func:`vizkit._io.file_lock`, released by the kernel when the
process dies, so a killed run never leaves it held) and says who it is in
``FOLDER/.vizkit.run`` (removed when it ends), which a second run reads to name the first in
its message. Only the empty lock file stays.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from ._io import atomic_write_bytes, file_lock

__all__ = ["RunInUse", "run_lock", "env_threads", "max_threads", "environment_error",
           "ENVIRONMENT_ERRNOS", "LOCK_NAME", "OWNER_NAME"]

#: The lock file of a folder a run owns, and the file that names the run holding it.
LOCK_NAME = ".vizkit.lock"
OWNER_NAME = ".vizkit.run"

#: OS errors that come from the machine (a full, read-only or forbidden disk, no file handles),
#: not from the program that met them.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                                errno.EMFILE, errno.ENFILE, getattr(errno, "EDQUOT", errno.ENOSPC)})


class RunInUse(ValueError):
    """The output folder is in use by another run (the message names it)."""


def _owner(folder: Path) -> str:
    """The other run, in words, from ``FOLDER/.vizkit.run`` (never follows a link there)."""
    try:
        fd = os.open(folder / OWNER_NAME, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return "another vizkit run"
    with os.fdopen(fd, "rb") as f:
        text = f.read(300).decode("utf-8", "replace")
    return " ".join(text.split()) or "another vizkit run"


@contextmanager
def run_lock(folder: str | os.PathLike, command: str, *, wait: bool) -> Iterator[None]:
    """Own ``folder`` for the ``with`` block: one run at a time.

    Parameters
    ----------
    folder : path
        An existing folder (the run's output).
    command : str
        What this run is (``'vizkit gallery'``), for the message another run prints.
    wait : bool
        When another run holds the folder: True waits for it (saying so once on stderr),
        False raises :class:`RunInUse` at once.

    Raises
    ------
    RunInUse
        ``wait=False`` and the folder is in use; the one-line message names the other run
        (command, pid, start time).
    """
    folder = Path(folder)

    def busy() -> None:
        who = _owner(folder)
        if not wait:
            raise RunInUse(f"{folder} is in use by {who}; wait for it to finish or choose "
                           "another --out.")
        print(f"{command}: {folder} is in use by {who}; waiting for it to finish", file=sys.stderr,
              flush=True)

    with file_lock(folder / LOCK_NAME, on_wait=busy):
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        owner = atomic_write_bytes(folder / OWNER_NAME,
                                   f"{command} (pid {os.getpid()}, started {started})\n".encode())
        try:
            yield
        finally:  # still locked: the next run writes its own
            with suppress(OSError):
                owner.unlink()


def max_threads() -> int:
    """The most torch threads ``$VIZKIT_THREADS`` may ask for: 4 per CPU."""
    return 4 * (os.cpu_count() or 1)


def env_threads(default: int) -> int:
    """Torch threads from ``$VIZKIT_THREADS``: ``default`` when unset or empty.

    Raises
    ------
    ValueError
        When it is not an integer from 1 to :func:`max_threads` (one line, naming the value).
    """
    text = os.environ.get("VIZKIT_THREADS", "").strip()
    if not text:
        return default
    try:
        n = int(text)
    except ValueError:
        n = 0
    high = max_threads()
    if not 1 <= n <= high:
        raise ValueError(f"VIZKIT_THREADS must be an integer from 1 to {high} (4 per CPU, "
                         f"{os.cpu_count() or 1} CPUs here). Got {text[:40]!r} instead.")
    return n


def environment_error(exc: BaseException | None) -> OSError | None:
    """The machine's OS error (:data:`ENVIRONMENT_ERRNOS`) behind ``exc`` (itself, or what it was
    raised from or while handling), else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
