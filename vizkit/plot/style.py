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
        ``n`` colours; colour ``i`` is class ``i``'s.

    Raises
    ------
    ValueError
        ``n`` is not a positive integer.

    Examples
    --------
    >>> class_colors(2)[1] == class_colors(10)[1]
    True
    >>> class_colors(1)[0]  # tab10's blue
    (0.12156862745098039, 0.4666666666666667, 0.7058823529411765)
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

    Parameters
    ----------
    n : int
        Number of classes (>= 1).

    Returns
    -------
    matplotlib.colors.ListedColormap
        ``n`` colours, those of :func:`class_colors`, named ``vizkit_classes_<n>``.

    Raises
    ------
    ValueError
        ``n`` is not a positive integer (from :func:`class_colors`).

    Examples
    --------
    >>> cmap = class_cmap(3)
    >>> cmap.N, cmap.name
    (3, 'vizkit_classes_3')
    >>> tuple(cmap(2)[:3]) == class_colors(3)[2]  # label 2 gets class 2's colour
    True
    """
    from matplotlib.colors import ListedColormap

    return ListedColormap(class_colors(n), name=f"vizkit_classes_{int(n)}")


def diverging_cmap():
    """The colour map for signed values (``'RdBu_r'``: negative blue, zero white, positive red).

    Draw with limits from :func:`symmetric_limits` so that zero falls on the white middle.

    Returns
    -------
    matplotlib.colors.Colormap
        matplotlib's :data:`DIVERGING` map.

    Examples
    --------
    >>> cmap = diverging_cmap()
    >>> cmap.name
    'RdBu_r'
    >>> for value in (0.0, 0.5, 1.0):  # dark blue, near-white, dark red (RGB)
    ...     print([round(float(c), 2) for c in cmap(value)[:3]])
    [0.02, 0.19, 0.38]
    [0.97, 0.97, 0.96]
    [0.4, 0.0, 0.12]
    """
    from matplotlib import colormaps

    return colormaps[DIVERGING]


def symmetric_limits(a) -> tuple[float, float]:
    """``(-m, m)`` with ``m`` the largest finite absolute value of ``a``, so zero sits mid-scale.

    An empty, all-zero or all-NaN input gives ``(-1.0, 1.0)`` (a valid, non-degenerate scale).

    Parameters
    ----------
    a : array_like or torch.Tensor
        Numbers of any shape (a tensor is detached and moved to the CPU); NaN and infinite
        values are ignored.

    Returns
    -------
    tuple of (float, float)
        ``(-m, m)``, for ``vmin`` and ``vmax``.

    Raises
    ------
    TypeError
        ``a`` is not array-like of numbers.

    Examples
    --------
    >>> symmetric_limits([[0.5, -2.0], [1.0, float("nan")]])
    (-2.0, 2.0)
    >>> symmetric_limits([0.0, float("inf")])  # nothing finite but zero: a unit scale
    (-1.0, 1.0)
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
