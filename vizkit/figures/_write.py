"""The one write path of a :class:`~vizkit.plot.figure.Figure` (private): ``vizkit analyze`` and
the gallery both write figures through :func:`write_figure`.

A figure ``f`` becomes ``<out>/<stem>.png`` (deterministic bytes, :func:`vizkit._io.png_bytes`)
and, when it has arrays, ``<out>/<stem>.npz`` of ``f.data``; ``stem`` is ``f.id`` made a safe
file name (:func:`vizkit._io.safe_name`) and unique among the stems already ``taken``
(``-2``, ``-3``, ... appended). Every write is atomic and skips unchanged bytes
(:func:`vizkit._io.write_if_changed`); the figure is closed once drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .._io import npz_bytes, png_bytes, safe_name, write_if_changed

__all__ = ["WrittenFigure", "unique_stem", "write_figure", "write_figures", "close_figure"]


@dataclass(frozen=True)
class WrittenFigure:
    """What :func:`write_figure` wrote.

    Attributes
    ----------
    stem : str
        The file name stem used (safe and unique among the stems taken).
    png : pathlib.Path
        The PNG file.
    npz : pathlib.Path or None
        The arrays drawn (``None`` when the figure has none).
    png_bytes : bytes
        The PNG's bytes (for hashes and sizes).
    """

    stem: str
    png: Path
    npz: Path | None
    png_bytes: bytes


def unique_stem(id: str, taken: set[str]) -> str:
    """``id`` as a safe file name stem, not in ``taken`` (``-2``, ``-3``, ... appended); the stem
    returned is added to ``taken``.

    Parameters
    ----------
    id : str
        The figure's id (made safe with :func:`vizkit._io.safe_name`; ``'figure'`` when nothing
        of it is left).
    taken : set of str
        The stems already used; changed in place.

    Returns
    -------
    str
        A stem from ``[a-z0-9_-]`` not in ``taken`` before the call.

    Examples
    --------
    >>> taken = set()
    >>> [unique_stem(i, taken) for i in ("Weights", "weights", "../x", "")]
    ['weights', 'weights-2', 'x', 'figure']
    """
    stem = safe_name(id, default="figure")
    base, n = stem, 2
    while stem in taken:
        stem = f"{base}-{n}"
        n += 1
    taken.add(stem)
    return stem


def write_figure(figure, out: str | Path, *, taken: set[str] | None = None,
                 dpi: int = 220) -> WrittenFigure:
    """Write one figure as ``<out>/<stem>.png`` (and ``<stem>.npz`` of its arrays, if any) and
    close it.

    Parameters
    ----------
    figure : Figure
        Anything with ``id``, ``fig`` and ``data`` (a dict of arrays, may be empty or missing).
    out : str or Path
        The folder (made when missing); nothing is written outside it.
    taken : set of str, optional
        Stems already used in ``out`` by this run; the stem used is added to it.
    dpi : int, default=220
        PNG resolution.

    Returns
    -------
    WrittenFigure
        The stem, the paths written and the PNG's bytes.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from vizkit.figures import Figure
    >>> fig, ax = plt.subplots(figsize=(2, 2))
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> written = write_figure(Figure("Line 1", fig, "A line.", data={"y": np.arange(2)}), "out",
    ...                        dpi=20)
    >>> written.stem, written.png.name, written.npz.name, plt.fignum_exists(fig.number)
    ('line-1', 'line-1.png', 'line-1.npz', False)
    >>> dict(np.load(written.npz))
    {'y': array([0, 1])}
    """
    out = Path(out)
    stem = unique_stem(figure.id, set() if taken is None else taken)
    try:
        png = png_bytes(figure.fig, dpi=dpi)
    finally:
        close_figure(figure.fig)
    write_if_changed(out / f"{stem}.png", png)
    data = getattr(figure, "data", None)
    npz = None
    if data:
        npz = out / f"{stem}.npz"
        write_if_changed(npz, npz_bytes(data))
    return WrittenFigure(stem=stem, png=out / f"{stem}.png", npz=npz, png_bytes=png)


def write_figures(figures: Iterable, out: str | Path, *, taken: set[str] | None = None,
                  dpi: int = 220) -> list[Path]:
    """Write figures with :func:`write_figure` under one set of stems; returns the PNG paths.

    Parameters
    ----------
    figures : iterable of Figure
    out : str or Path
    taken : set of str, optional
        Stems already used in ``out`` (shared across calls to keep every name unique).
    dpi : int, default=220

    Returns
    -------
    list of pathlib.Path
        The PNG files, in the order of ``figures``.

    Examples
    --------
    >>> import matplotlib, tempfile, numpy as np
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from vizkit.figures import Figure
    >>> out = tempfile.mkdtemp()
    >>> figs = [Figure("a b", plt.figure(), "x", data={"v": np.arange(2)}),
    ...         Figure("a-b", plt.figure(), "y")]
    >>> [p.name for p in write_figures(figs, out, dpi=20)]
    ['a-b.png', 'a-b-2.png']
    """
    taken = set() if taken is None else taken
    return [write_figure(f, out, taken=taken, dpi=dpi).png for f in figures]


def close_figure(fig) -> None:
    """Close ``fig`` in pyplot (a figure pyplot does not manage needs no closing).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; any error closing it is ignored, so a caller's ``finally`` never fails.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure()
    >>> close_figure(fig)
    >>> plt.fignum_exists(fig.number)
    False
    >>> from matplotlib.figure import Figure
    >>> close_figure(Figure())  # not pyplot's: nothing to do
    """
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # noqa: BLE001 - a figure not managed by pyplot needs no closing
        pass
