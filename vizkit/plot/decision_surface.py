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

    The blend weight is ``min_alpha + (max_alpha - min_alpha) * c`` with ``c`` the confidence
    rescaled from ``[1/C, 1]`` to ``[0, 1]`` (uniform ``max_alpha`` without probabilities).

    Returns
    -------
    ndarray of shape (H, W, 3), values in [0, 1], row 0 at ``y_min``.
    """
    C = surf.n_classes
    palette = np.asarray(class_colors(max(C, 2)) if colors is None else list(colors), dtype=float)
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

    Parameters
    ----------
    surf : DecisionSurface
    ax : matplotlib Axes, optional
        Default: a new figure (the rule of every vizkit plotter).
    colors : sequence of colours, optional
        One per class; default :func:`vizkit.plot.style.class_colors`.
    shade_by_confidence : bool, default=True
        Blend with white by confidence (see :func:`region_image`); False: uniform shading.
    boundaries : bool, default=True
        Draw thin lines where the argmax class changes.
    min_alpha, max_alpha : float, default=0.15, 0.6
        Weight of the class colour (against white) at the lowest and at full confidence.
    imshow_kw, contour_kw : dict, optional
        Passed on to ``ax.imshow`` and ``ax.contour``.

    Returns
    -------
    dict
        ``'image'`` (AxesImage whose array is the RGB region image) and ``'boundaries'``
        (ContourSet or None).
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
    """The colour bar of :func:`plot_decision_regions`' paleness: the confidence (largest class
    probability) from ``1/C`` (palest) to 1 (strongest), drawn on a neutral grey, or, with
    ``palette`` (one colour per class), as one strip per class in that class's own colour, so
    the bar shows the colours the regions are shaded with.

    Use the same ``min_alpha``/``max_alpha`` as the regions. Returns the ``Colorbar`` (``None``
    when the surface has no probabilities).
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
    """One legend for :func:`graph_data`'s points: a square per class present (its colour), then
    the marker shapes (circle right, square wrong), outside on the right."""
    from matplotlib.lines import Line2D

    names = list(class_names or [])
    handles = [Line2D([], [], linestyle="none", marker="s", markersize=7, color=palette[c],
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
    """Scatter ``points`` ``(n, 2)`` in the class colours of ``labels`` (grey without), with a
    legend of the classes present; returns the ``PathCollection``."""
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
    """A legend with one coloured square per class id in ``classes`` (outside, right)."""
    from matplotlib.lines import Line2D

    names = list(class_names or [])
    handles = [Line2D([], [], linestyle="none", marker="s", markersize=7, color=palette[c],
                      label=names[c] if c < len(names) else str(c)) for c in classes]
    kw = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 9,
          "frameon": False}
    kw.update(legend_kw)
    return ax.legend(handles=handles, **kw)
