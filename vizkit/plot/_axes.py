"""Where a plotter draws: the one rule for ``ax=None`` and the image grids (private to plot/).

The rule, for every ``plot_*`` function of :mod:`vizkit.plot` and every ``*Display.plot`` of
:mod:`vizkit.figures`: ``ax=None`` draws on a NEW figure (one ``Axes``, or a new grid for the
image plotters); pass ``ax=`` (or ``axes=``/``fig=``) to draw somewhere else. The lab's drawing,
:func:`~vizkit.plot.graph.plot_field` (behind the lab's ``graph_surface``) and
:func:`~vizkit.plot.graph.graph_data`, keeps the lab's pyplot contract instead: it draws on the
current axes (``plt.gca()``), so ``graph_surface(...); graph_data(...)`` overlay as the lab's
code expects.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["new_ax", "current_ax", "image_grid_axes", "image_axes"]


def new_ax(ax=None):
    """``ax`` if given, else the single ``Axes`` of a new figure (the plotters' rule)."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def current_ax(ax=None):
    """``ax`` if given, else ``plt.gca()`` (only the lab's drawing, :mod:`vizkit.plot.graph`)."""
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def image_grid_axes(n: int, *, ncols: int | None = None, fig=None, panel: float = 1.3,
                    extra_width: float = 0.6):
    """A figure (new unless given) with ``n`` image axes in a grid, ticks off.

    The grid has ``ncols`` columns and as many rows as ``n`` needs; the grid cells past the
    ``n``-th are removed from the figure.

    Parameters
    ----------
    n : int
        Number of images (>= 1).
    ncols : int, optional
        Columns of the grid; by default ``min(n, 5)``.
    fig : matplotlib.figure.Figure, optional
        Draw the grid on this figure; by default a new ``constrained`` figure sized to the grid.
    panel : float, default 1.3
        Size (inches) of one square image cell of a new figure.
    extra_width : float, default 0.6
        Width (inches) added to a new figure, for a colour bar.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure drawn on.
    axes : list of matplotlib.axes.Axes
        The ``n`` used axes, row by row.

    Raises
    ------
    ValueError
        ``n`` or ``ncols`` is not an int >= 1 (an empty grid has nothing to show).

    Examples
    --------
    >>> fig, axes = image_grid_axes(7, ncols=4)
    >>> len(axes), len(fig.axes), axes[0].get_xticks().size
    (7, 7, 0)
    >>> [round(float(x), 2) for x in fig.get_size_inches()]  # 4 x 1.3 + 0.6 wide, 2 x 1.3 + 0.4 high
    [5.8, 3.0]
    """
    import matplotlib.pyplot as plt

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` (the number of images) must be an int >= 1. Got {n!r}: there is "
                         "nothing to lay out.")
    if ncols is not None and (isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer))
                              or ncols < 1):
        raise ValueError(f"`ncols` must be an int >= 1 or None (min(n, 5)). Got {ncols!r}.")
    ncols = int(ncols or min(n, 5))
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(panel * ncols + extra_width, panel * nrows + 0.4),
                         layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.remove()
    axes = axes[:n]
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def image_axes(n: int, axes, fig, ncols):
    """``(fig, axes)`` for ``n`` images: the first ``n`` of ``axes`` when given, else a new grid
    of ``ncols`` columns in ``fig`` (or in a new figure)."""
    if axes is not None:
        axes = list(np.ravel(axes))
        if len(axes) < n:
            raise ValueError(f"`axes` has {len(axes)} axes for {n} images.")
        return axes[0].figure, axes[:n]
    return image_grid_axes(n, ncols=ncols, fig=fig)
