"""Files of the gallery: safe names, atomic writes that skip unchanged bytes, deterministic PNGs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

from ..checkpoint import atomic_write_bytes


__all__ = ["safe_name", "write_if_changed", "atomic_write", "png_bytes", "png_size", "sha256", "stable_hash",
           "SAFE_NAME"]

#: What every file name written by the gallery is made of (plus the ``.png``/``.html`` suffix).
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def safe_name(text: str, *, default: str = "item") -> str:
    """Turn ``text`` into a file-name stem from ``[a-z0-9_-]`` (at most 80 characters).

    Examples
    --------
    >>> safe_name("Weights λ=0.1 <b>")
    'weights-0-1-b'
    >>> safe_name("../../etc/passwd")
    'etc-passwd'
    """
    s = re.sub(r"[^a-z0-9_-]+", "-", str(text).lower())
    s = re.sub(r"-{2,}", "-", s).strip("-_")[:80].strip("-_")
    return s if s else default


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stable_hash(obj: Any, n: int = 16) -> str:
    """Short SHA-256 of a JSON-able object (keys sorted), the same in every process."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def write_if_changed(path: str | os.PathLike, data: bytes) -> bool:
    """Write ``data`` atomically unless ``path`` already holds exactly these bytes.

    Returns True when the file was (re)written; an unchanged file keeps its mtime.
    """
    path = Path(path)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write(path, data)
    return True


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """:func:`vizkit.checkpoint.atomic_write_bytes` (readable by all, as a published gallery is)."""
    return atomic_write_bytes(path, data)


def png_bytes(fig, *, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes with no date or software metadata.

    The same figure drawn from the same seed gives the same bytes (Agg rendering is
    deterministic; matplotlib puts no time stamp in a PNG unless asked to).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):  # a figure made outside pyplot has a base canvas
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white",
                bbox_inches="tight", pad_inches=0.1)
    return buf.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", data[16:24])
