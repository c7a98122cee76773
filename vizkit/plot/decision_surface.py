"""Decision regions drawn: multi-class argmax regions shaded by confidence, their colour bar,
and the points and legends drawn over them.

The surface is a computed :class:`vizkit.analysis.decision_surface.DecisionSurface` (grid,
argmax labels, confidence); nothing here runs a model. The lab's ``graph_surface`` and
``graph_data`` views are in :mod:`vizkit.plot.graph`, training animations in
:mod:`vizkit.plot.animation`.

Examples
--------
>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> from vizkit.analysis.decision_surface import decision_surface
>>> X = np.random.default_rng(0).normal(size=(50, 2))
>>> img = plot_decision_regions(decision_surface(lambda P: P @ np.eye(2), X, grid_resolution=32))
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from ._axes import new_ax
from .style import class_colors

__all__ = ["plot_decision_regions", "region_image", "confidence_colorbar", "scatter_classes",
           "class_legend", "points_legend"]


def region_image(surf, *, colors: Sequence | None = None, min_alpha: float = 0.15,
                 max_alpha: float = 0.6) -> np.ndarray:
    """The RGB image of argmax regions: class colour blended with white by confidence.

    Each grid point gets the colour of its predicted class, mixed with white: the blend weight
    is ``min_alpha + (max_alpha - min_alpha) * c``, with ``c`` the confidence (largest class
    probability) rescaled from ``[1/C, 1]`` (a tie, the palest) to ``[0, 1]`` (certain, the
    strongest). A surface without probabilities (scores or labels) is shaded uniformly at
    ``max_alpha``. The result is ``1 - weight * (1 - colour)`` per channel.

    Parameters
    ----------
    surf : vizkit.analysis.decision_surface.DecisionSurface
        The evaluated grid: ``labels`` [H, W], ``confidence`` [H, W] (or None) and
        ``n_classes``.
    colors : sequence of colours, optional
        One per class, anything :func:`matplotlib.colors.to_rgb` reads (names, hex strings,
        RGB tuples); by default :func:`vizkit.plot.style.class_colors`.
    min_alpha : float, default=0.15
        Weight of the class colour where the confidence is ``1/C``.
    max_alpha : float, default=0.6
        Weight of the class colour at confidence 1.

    Returns
    -------
    ndarray of shape (H, W, 3)
        Values in [0, 1]; row 0 is the grid's lowest ``y`` (draw with ``origin='lower'``).

    Raises
    ------
    ValueError
        ``colors`` has fewer entries than the surface has classes.

    Examples
    --------
    Three grid points along x in [-1, 1] with P(class 1) = 0, 0.5 and 1: class 0 (red) sure,
    a tie (argmax: class 0, palest), class 1 (blue) sure.

    >>> import numpy as np
    >>> from vizkit.analysis.decision_surface import decision_surface
    >>> surf = decision_surface(lambda P: np.column_stack([(1 - P[:, 0]) / 2, (1 + P[:, 0]) / 2]),
    ...                         ((-1, 0), (1, 1)), grid_resolution=(3, 2))
    >>> surf.labels[0].tolist(), surf.confidence[0].tolist()
    ([0, 0, 1], [1.0, 0.5, 1.0])
    >>> region_image(surf, colors=["red", "blue"])[0].round(2).tolist()
    [[1.0, 0.4, 0.4], [1.0, 0.85, 0.85], [0.4, 0.4, 1.0]]
    """
    from matplotlib.colors import to_rgb

    C = surf.n_classes
    palette = np.asarray(class_colors(max(C, 2)) if colors is None else
                         [to_rgb(c) for c in colors], dtype=float)
    if len(palette) < C:
        raise ValueError(f"`colors` has {len(palette)} entries for {C} classes.")
    rgb = palette[surf.labels][..., :3]
    if surf.confidence is None:
        weight = np.full(surf.labels.shape, float(max_alpha))
    else:
        c = np.clip((surf.confidence - 1.0 / C) / (1.0 - 1.0 / C), 0.0, 1.0)
        weight = min_alpha + (max_alpha - min_alpha) * c
    return 1.0 - weight[..., None] * (1.0 - rgb)


def plot_decision_regions(surf, *, ax=None, colors: Sequence | None = None,
                          shade_by_confidence: bool = True, boundaries: bool = True,
                          min_alpha: float = 0.15, max_alpha: float = 0.6,
                          imshow_kw: dict | None = None, contour_kw: dict | None = None) -> dict:
    """Shade each grid point with its argmax class colour, paler where the model is less sure.

    The regions show WHERE the classifier puts each class; the paleness shows HOW SURE it is
    (a pale band along a boundary is a wide margin of doubt, a sharp edge a confident model).
    The image is :func:`region_image`, drawn under the data (``zorder=0``), with thin grey lines
    where the predicted class changes.

    Parameters
    ----------
    surf : vizkit.analysis.decision_surface.DecisionSurface
        The evaluated grid (:func:`vizkit.analysis.decision_surface.decision_surface`).
    ax : matplotlib.axes.Axes, optional
        By default a new figure (the rule of every vizkit plotter).
    colors : sequence of colours, optional
        One per class; by default :func:`vizkit.plot.style.class_colors`.
    shade_by_confidence : bool, default=True
        Blend with white by confidence (see :func:`region_image`); False: every region at the
        mean of ``min_alpha`` and ``max_alpha``.
    boundaries : bool, default=True
        Draw thin lines where the argmax class changes (none when one class fills the grid).
    min_alpha : float, default=0.15
        Weight of the class colour (against white) where the confidence is lowest (``1/C``).
    max_alpha : float, default=0.6
        Weight of the class colour at full confidence.
    imshow_kw : dict, optional
        Passed on to ``ax.imshow`` (over the defaults ``origin='lower'``, the surface's
        ``extent``, ``interpolation='nearest'``, ``aspect='auto'``, ``zorder=0``).
    contour_kw : dict, optional
        Passed on to ``ax.contour`` of the boundaries.

    Returns
    -------
    dict
        ``'image'`` (the ``AxesImage``; its array is the RGB region image) and
        ``'boundaries'`` (``ContourSet``, one level between each pair of neighbouring class
        ids present, or None).

    Raises
    ------
    TypeError
        ``surf`` is not a ``DecisionSurface``.
    ValueError
        Not ``0 <= min_alpha <= max_alpha <= 1``, or ``colors`` has fewer entries than classes.

    See Also
    --------
    confidence_colorbar : The colour bar of the paleness.
    vizkit.plot.graph.plot_field : The lab's view, one scalar field and its level line.

    Examples
    --------
    A linear model on the plane, class 1 where ``x1 > x0``: two regions and one boundary.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.decision_surface import decision_surface
    >>> surf = decision_surface(lambda P: np.column_stack([P[:, 0], P[:, 1]]),
    ...                         ((-1, -1), (1, 1)), grid_resolution=40)
    >>> fig, ax = plt.subplots()
    >>> out = plot_decision_regions(surf, ax=ax)
    >>> out["image"].get_array().shape, out["image"].get_extent()
    ((40, 40, 3), [-1.0, 1.0, -1.0, 1.0])
    >>> out["boundaries"].levels.tolist()  # between class 0 and class 1
    [0.5]
    >>> plot_decision_regions(surf, ax=ax, min_alpha=0.8, max_alpha=0.2)
    Traceback (most recent call last):
    ...
    ValueError: need 0 <= min_alpha <= max_alpha <= 1. Got min_alpha=0.8, max_alpha=0.2 instead.
    >>> plt.close("all")
    """
    if not all(hasattr(surf, k) for k in ("xx", "yy", "labels", "confidence", "n_classes")):
        raise TypeError("`surf` must be a DecisionSurface (see vizkit.analysis.decision_surface."
                        f"decision_surface). Got {type(surf).__name__} instead.")
    ax = new_ax(ax)
    if not 0 <= min_alpha <= max_alpha <= 1:
        raise ValueError(f"need 0 <= min_alpha <= max_alpha <= 1. Got min_alpha={min_alpha!r}, "
                         f"max_alpha={max_alpha!r} instead.")
    if shade_by_confidence:
        rgb = region_image(surf, colors=colors, min_alpha=min_alpha, max_alpha=max_alpha)
    else:
        rgb = region_image(replace(surf, probs=None, confidence=None), colors=colors,
                           max_alpha=(min_alpha + max_alpha) / 2)
    kw = {"origin": "lower", "extent": surf.extent, "interpolation": "nearest", "aspect": "auto",
          "zorder": 0}
    kw.update(imshow_kw or {})
    image = ax.imshow(rgb, **kw)
    lines = None
    present = np.unique(surf.labels)
    if boundaries and len(present) > 1:
        ckw = {"colors": "0.35", "linewidths": 0.6, "zorder": 1}
        ckw.update(contour_kw or {})
        levels = (present[:-1] + present[1:]) / 2.0
        lines = ax.contour(surf.xx, surf.yy, surf.labels.astype(float), levels=levels, **ckw)
    return {"image": image, "boundaries": lines}


def confidence_colorbar(ax, surf, *, min_alpha: float = 0.15,
                        max_alpha: float = 0.6, label: str | None = None, palette=None,
                        **colorbar_kw):
    """The colour bar of :func:`plot_decision_regions`' paleness.

    The bar runs over the confidence (the largest class probability) from ``1/C`` (palest) to
    1 (strongest), drawn on a neutral grey, or, with ``palette`` (one colour per class), as one
    strip per class in that class's own colour, so the bar shows the colours the regions are
    shaded with. Use the same ``min_alpha``/``max_alpha`` as the regions.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes of the regions; the bar is added beside it (its figure makes room).
    surf : vizkit.analysis.decision_surface.DecisionSurface
        The surface drawn; its ``n_classes`` sets the bar's lower end ``1/C``.
    min_alpha : float, default=0.15
        The regions' colour weight at confidence ``1/C``.
    max_alpha : float, default=0.6
        The regions' colour weight at confidence 1.
    label : str, optional
        The bar's label; by default ``'confidence of the shaded class (paler = less sure)'``.
    palette : sequence of colours, optional
        One colour per class: draw the bar as one strip per class in these colours (pass the
        regions' colours); by default a grey ramp.
    **colorbar_kw
        Passed on to ``Figure.colorbar`` (default ``shrink=0.8``; e.g. ``location='bottom'``).

    Returns
    -------
    matplotlib.colorbar.Colorbar or None
        The bar; None when the surface has no probabilities (scores or labels: no paleness).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.decision_surface import decision_surface
    >>> logits = lambda P: np.column_stack([P[:, 0], P[:, 1], -P[:, 0]])  # three classes
    >>> surf = decision_surface(logits, ((-1, -1), (1, 1)), grid_resolution=20)
    >>> fig, ax = plt.subplots()
    >>> _ = plot_decision_regions(surf, ax=ax)
    >>> cbar = confidence_colorbar(ax, surf, location="bottom")
    >>> round(cbar.norm.vmin, 3), cbar.norm.vmax, cbar.orientation  # from 1/3 to 1
    (0.333, 1.0, 'horizontal')
    >>> labels_only = decision_surface(lambda P: (P[:, 0] > 0).astype(int), ((-1, -1), (1, 1)),
    ...                                grid_resolution=20)
    >>> confidence_colorbar(ax, labels_only) is None
    True
    >>> plt.close("all")
    """
    if surf.confidence is None:
        return None
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    grey = 0.3
    lo, hi = (1.0 - a * (1.0 - grey) for a in (min_alpha, max_alpha))
    cmap = LinearSegmentedColormap.from_list("vizkit_confidence", [(lo,) * 3, (hi,) * 3])
    mappable = ScalarMappable(norm=Normalize(1.0 / max(surf.n_classes, 2), 1.0), cmap=cmap)
    kw = {"shrink": 0.8}
    kw.update(colorbar_kw)
    cbar = ax.get_figure().colorbar(mappable, ax=ax, **kw)
    cbar.set_label(label or "confidence of the shaded class (paler = less sure)", fontsize=12)
    cbar.ax.tick_params(labelsize=12)
    if palette is not None:
        _class_strips(cbar, palette, surf.n_classes, min_alpha, max_alpha, mappable.norm)
    return cbar


def _class_strips(cbar, palette, n_classes: int, min_alpha: float, max_alpha: float, norm
                  ) -> None:
    """Paint the colour bar as one strip per class: white blended with the class colour at the
    regions' opacity, from ``min_alpha`` (confidence ``1/C``) to ``max_alpha`` (confidence 1)."""
    from matplotlib.colors import to_rgb

    ramp = np.linspace(min_alpha, max_alpha, 64)
    rows = [1.0 - ramp[:, None] * (1.0 - np.asarray(to_rgb(palette[c]))[None, :])
            for c in range(n_classes)]
    img = np.stack(rows)  # [C, 64, 3]: classes across, confidence along the bar
    horizontal = cbar.orientation == "horizontal"
    if not horizontal:
        img = img.transpose(1, 0, 2)
    lo, hi = norm.vmin, norm.vmax
    extent = (lo, hi, 0.0, 1.0) if horizontal else (0.0, 1.0, lo, hi)
    cbar.ax.imshow(img, extent=extent, aspect="auto", origin="lower", interpolation="nearest",
                   zorder=2)


def points_legend(ax, classes, palette, class_names: Sequence[str] | None = None,
                  **legend_kw):
    """One legend for :func:`~vizkit.plot.graph.graph_data`'s points: classes and correctness.

    A colour swatch per class present (the points' fill colour, drawn as a thick bar so it is not
    read as a marker shape), then the two marker shapes
    (circle: classified right, square: classified wrong), outside the axes on the right.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or matplotlib.figure.Figure
        Where the legend goes (a figure legend for a figure, e.g. with
        ``loc='outside lower center'`` under all its panels).
    classes : sequence of int
        The class ids to list, in order (e.g. ``numpy.unique(labels)``).
    palette : sequence of colours
        Indexed by class id (e.g. :func:`vizkit.plot.style.class_colors`).
    class_names : sequence of str, optional
        Indexed by class id; an id without a name is written as the number.
    **legend_kw
        Passed on to ``ax.legend`` (over the defaults ``loc='upper left'``,
        ``bbox_to_anchor=(1.01, 1.0)``, ``fontsize=9``, ``frameon=False``).

    Returns
    -------
    matplotlib.legend.Legend
        Its entries: the classes, then ``'classified right'`` and ``'classified wrong'``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from vizkit.plot.style import class_colors
    >>> fig, ax = plt.subplots()
    >>> leg = points_legend(ax, [0, 2], class_colors(3), ["cat", "dog"], fontsize=12)
    >>> [t.get_text() for t in leg.get_texts()]  # class 2 has no name: its id
    ['cat', '2', 'classified right', 'classified wrong']
    >>> plt.close("all")
    """
    from matplotlib.lines import Line2D

    names = list(class_names or [])
    # a class is a colour swatch (a thick bar), never a marker shape: the shapes mean right/wrong
    handles = [Line2D([], [], linestyle="-", linewidth=7, color=palette[c],
                      label=names[c] if c < len(names) else str(c)) for c in classes]
    handles += [Line2D([], [], linestyle="none", marker=m, markersize=6, markerfacecolor="white",
                       markeredgecolor="black", label=label)
                for m, label in (("o", "classified right"), ("s", "classified wrong"))]
    kw = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 9, "frameon": False}
    kw.update(legend_kw)
    return ax.legend(handles=handles, **kw)


def scatter_classes(ax, points, labels=None, *, n_classes: int = 0,
                    class_names: Sequence[str] | None = None, legend: bool = True,
                    scatter_kw: dict | None = None):
    """Scatter 2D points in the colours of their classes, with a legend of the classes present.

    The colours are :func:`vizkit.plot.style.class_colors`, the same as the regions of
    :func:`plot_decision_regions`, so a point of class ``k`` on region ``k`` shows as the same
    hue, darker.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    points : array-like of shape (n, 2)
        The points' coordinates.
    labels : array-like of int of shape (n,), optional
        Their classes (ids from 0); without them every point is grey and no legend is drawn.
    n_classes : int, default=0
        Number of classes of the palette; the palette has ``max(n_classes, max(labels) + 1,
        2)`` colours (``class_colors`` changes beyond ten classes, so pass the model's count).
    class_names : sequence of str, optional
        Legend names, indexed by class id (missing ones: the id).
    legend : bool, default=True
        Add :func:`class_legend` of the classes in ``labels``.
    scatter_kw : dict, optional
        Passed on to ``ax.scatter`` (over the defaults ``s=14``, dark edges, ``zorder=2``).

    Returns
    -------
    matplotlib.collections.PathCollection
        The scattered points.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.plot.style import class_colors
    >>> fig, ax = plt.subplots()
    >>> pts = scatter_classes(ax, [[0, 0], [1, 1], [2, 0]], [0, 1, 1], class_names=["a", "b"])
    >>> np.allclose(pts.get_facecolors()[1, :3], class_colors(2)[1])
    True
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a', 'b']
    >>> plt.close("all")
    """
    pts = np.asarray(points, dtype=float)
    kw = {"s": 14, "edgecolors": "0.15", "linewidths": 0.3, "zorder": 2}
    kw.update(scatter_kw or {})
    if labels is None:
        return ax.scatter(pts[:, 0], pts[:, 1], c="0.5", **kw)
    lab = np.asarray(labels).astype(int).reshape(-1)
    palette = class_colors(max(n_classes, int(lab.max(initial=0)) + 1, 2))
    art = ax.scatter(pts[:, 0], pts[:, 1], c=[palette[c] for c in lab], **kw)
    if legend:
        class_legend(ax, np.unique(lab), palette, class_names)
    return art


def class_legend(ax, classes, palette, class_names: Sequence[str] | None = None, **legend_kw):
    """A legend with one coloured square per class id in ``classes``, outside on the right.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or matplotlib.figure.Figure
        Where the legend goes.
    classes : sequence of int
        The class ids to list, in order.
    palette : sequence of colours
        Indexed by class id.
    class_names : sequence of str, optional
        Indexed by class id; an id without a name is written as the number.
    **legend_kw
        Passed on to ``ax.legend`` (over the defaults ``loc='upper left'``,
        ``bbox_to_anchor=(1.01, 1.0)``, ``fontsize=9``, ``frameon=False``).

    Returns
    -------
    matplotlib.legend.Legend
        One entry per id of ``classes``.

    See Also
    --------
    points_legend : The same squares followed by the right/wrong marker shapes.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from vizkit.plot.style import class_colors
    >>> fig, ax = plt.subplots()
    >>> leg = class_legend(ax, [1, 0], class_colors(2), ["no", "yes"], fontsize=12)
    >>> [t.get_text() for t in leg.get_texts()], leg.get_texts()[0].get_fontsize()
    (['yes', 'no'], 12.0)
    >>> plt.close("all")
    """
    from matplotlib.lines import Line2D

    names = list(class_names or [])
    # a class is a colour swatch (a thick bar), never a marker shape: the shapes mean right/wrong
    handles = [Line2D([], [], linestyle="-", linewidth=7, color=palette[c],
                      label=names[c] if c < len(names) else str(c)) for c in classes]
    kw = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 9,
          "frameon": False}
    kw.update(legend_kw)
    return ax.legend(handles=handles, **kw)
