"""Shared style: class colours, colour maps and colour limits, the same in every vizkit figure.

Every plotter that colours by class calls :func:`class_colors` (or :func:`class_cmap`), so class
``3`` has the same colour in the bottleneck view, the decision surfaces, the embeddings and the
probability bars. Signed maps (weights, attributions) use :func:`diverging_cmap` with limits from
:func:`symmetric_limits`, so zero is always the neutral middle colour.

Examples
--------
>>> from vizkit.plot.style import class_colors, symmetric_limits
>>> len(class_colors(3)), class_colors(3)[0] == class_colors(10)[0]
(3, True)
>>> symmetric_limits([-1.0, 3.0])
(-3.0, 3.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_colors", "class_cmap", "diverging_cmap", "symmetric_limits", "DIVERGING",
           "SEQUENTIAL"]

#: Name of the diverging colour map for signed values (red positive, blue negative).
DIVERGING = "RdBu_r"
#: Name of the sequential colour map for non-negative values (counts, confidences).
SEQUENTIAL = "Blues"


def class_colors(n: int) -> list[tuple[float, float, float]]:
    """The colour of each of ``n`` classes, as RGB tuples in [0, 1].

    Up to 10 classes use matplotlib's ``tab10`` (so class ``i`` keeps its colour whatever ``n``
    is); more classes use seaborn's evenly spaced ``husl`` palette.

    Parameters
    ----------
    n : int
        Number of classes (>= 1).

    Returns
    -------
    list of (float, float, float)

    Examples
    --------
    >>> class_colors(2)[1] == class_colors(10)[1]
    True
    """
    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise ValueError(f"`n` must be a positive integer. Got {n!r} instead.")
    n = int(n)
    if n <= 10:
        from matplotlib import colormaps

        tab10 = colormaps["tab10"]
        return [tuple(float(c) for c in tab10(i)[:3]) for i in range(n)]
    import seaborn as sns

    return [tuple(float(c) for c in rgb) for rgb in sns.color_palette("husl", n)]


def class_cmap(n: int):
    """A ``ListedColormap`` of the ``n`` class colours (for ``imshow``/``contourf`` of labels).

    Use it with ``vmin=-0.5, vmax=n - 0.5`` (or a ``BoundaryNorm``) so integer label ``i`` maps to
    class colour ``i``.
    """
    from matplotlib.colors import ListedColormap

    return ListedColormap(class_colors(n), name=f"vizkit_classes_{int(n)}")


def diverging_cmap():
    """The colour map for signed values (``'RdBu_r'``: negative blue, zero white, positive red)."""
    from matplotlib import colormaps

    return colormaps[DIVERGING]


def symmetric_limits(a) -> tuple[float, float]:
    """``(-m, m)`` with ``m`` the largest finite absolute value of ``a``, so zero sits mid-scale.

    An empty, all-zero or all-NaN input gives ``(-1.0, 1.0)`` (a valid, non-degenerate scale).

    Examples
    --------
    >>> symmetric_limits([[0.5, -2.0], [1.0, float("nan")]])
    (-2.0, 2.0)
    """
    try:
        arr = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`a` must be array-like of numbers. Got {type(a).__name__} instead.") from None
    finite = np.abs(arr[np.isfinite(arr)])
    m = float(finite.max()) if finite.size else 0.0
    if m == 0.0:
        m = 1.0
    return (-m, m)
