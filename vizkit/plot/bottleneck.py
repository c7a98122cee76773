"""The bottleneck view of seed 000: 2D features coloured by class, RBF centres as ``+`` sized by
sigma, optional circles of radius sigma, the head's decision regions behind.

Marker size of the centres
--------------------------
A centre's ``+`` is ``min_size + (max_size - min_size) * |sigma_k| / max_j |sigma_j|`` points wide
(``min_size=4``, ``max_size=22`` by default), so the widest RBF has the largest cross and the
width is proportional to ``|sigma|`` above the floor. Matplotlib's scatter sizes are areas, so the
``PathCollection`` holds the squares of these widths (:func:`center_marker_sizes`).

Examples
--------
>>> import torch, matplotlib
>>> matplotlib.use("Agg")
>>> from vizkit.models import RBFNet
>>> from vizkit.analysis.bottleneck import bottleneck_features
>>> net = RBFNet(image_size=8, channels=(4,), n_centers=5)
>>> res = bottleneck_features(net, torch.rand(20, 1, 8, 8), y=torch.arange(20) % 3,
...                           grid_resolution=30)
>>> art = plot_bottleneck(res, circles=True)
>>> sorted(art)
['centers', 'circles', 'features', 'regions']
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._axes import new_ax
from .decision_surface import plot_decision_regions
from .style import class_colors

__all__ = ["plot_bottleneck", "center_marker_sizes", "center_size_handles", "plot_region_key"]


def center_marker_sizes(sigma: Any, *, min_size: float = 4.0, max_size: float = 22.0) -> np.ndarray:
    """Scatter sizes (points squared) of the RBF centres: width grows linearly with ``|sigma|``.

    Parameters
    ----------
    sigma : array-like of shape (K,)
        The RBF widths (signs ignored).
    min_size, max_size : float, default=4.0, 22.0
        Marker width in points at ``sigma = 0`` and at the largest ``|sigma|``.

    Returns
    -------
    ndarray of shape (K,)
        Squared widths, as ``scatter(s=...)`` takes them.

    Raises
    ------
    ValueError
        Unless ``0 <= min_size <= max_size``.

    Examples
    --------
    >>> center_marker_sizes([0.0, 1.0, -2.0], min_size=2, max_size=10).tolist()
    [4.0, 36.0, 100.0]
    """
    s = np.abs(np.asarray(sigma, dtype=np.float64)).reshape(-1)
    if not 0 <= min_size <= max_size:
        raise ValueError(f"need 0 <= min_size <= max_size. Got min_size={min_size!r}, "
                         f"max_size={max_size!r} instead.")
    top = s.max(initial=0.0)
    frac = s / top if top > 0 else np.zeros_like(s)
    width = min_size + (max_size - min_size) * frac
    return width ** 2


def center_size_handles(sigma: Any, *, min_size: float = 4.0, max_size: float = 22.0,
                        n: int = 3, color: str = "black") -> list:
    """Legend entries for the scale of the centre markers: ``+`` markers of the widths that
    :func:`center_marker_sizes` gives to ``n`` values of ``|sigma|`` spread from the smallest to
    the largest (its quantiles 0, ..., 1), labelled with those values.

    Parameters
    ----------
    sigma : array-like of shape (K,)
        The RBF widths (signs ignored).
    min_size, max_size : float
        The same widths (points) as the markers were drawn with.
    n : int, default=3
        Number of entries (at most the number of distinct ``|sigma|`` as printed to 3
        significant digits).
    color : str, default='black'

    Returns
    -------
    list of matplotlib.lines.Line2D
        Handles for ``ax.legend(handles=...)``; their ``markersize`` is the marker width.

    Raises
    ------
    ValueError
        ``sigma`` is empty or ``n`` < 1.

    Examples
    --------
    >>> [h.get_label() for h in center_size_handles([0.5, 1.0, 2.0])]
    ['|sigma| 0.5', '|sigma| 1', '|sigma| 2']
    >>> [round(h.get_markersize(), 1) for h in center_size_handles([0.5, 1.0, 2.0])]
    [8.5, 13.0, 22.0]
    >>> [h.get_label() for h in center_size_handles([0.9996, 0.9998, 1.0])]  # printed once
    ['|sigma| 1']
    """
    from matplotlib.lines import Line2D

    s = np.abs(np.asarray(sigma, dtype=np.float64)).reshape(-1)
    if s.size == 0 or n < 1:
        raise ValueError(f"need a non-empty `sigma` and n >= 1. Got {s.size} values and n={n!r}.")
    top = s.max()
    values = np.unique(np.quantile(s, np.linspace(0.0, 1.0, n)) if n > 1 else [top])
    widths = np.sqrt(center_marker_sizes(np.append(values, top), min_size=min_size,
                                         max_size=max_size))[:-1]
    handles, seen = [], set()
    for v, w in zip(values, widths):
        label = f"|sigma| {v:.3g}"
        if label in seen:  # values that print alike (0.9996 and 1) would read as a repeat
            continue
        seen.add(label)
        handles.append(Line2D([], [], linestyle="none", marker="+", markersize=float(w),
                              color=color, markeredgewidth=1.5, label=label))
    return handles


def plot_bottleneck(result, *, ax=None, class_names: Sequence[str] | None = None,
                    color_by: str = "labels", regions: bool = True, centers: bool = True,
                    circles: bool = False, legend: bool = True, min_size: float = 4.0,
                    max_size: float = 22.0, scatter_kw: dict | None = None,
                    center_kw: dict | None = None, circle_kw: dict | None = None,
                    regions_kw: dict | None = None) -> dict:
    """Draw a :class:`~vizkit.analysis.bottleneck.Bottleneck` result.

    Parameters
    ----------
    result : Bottleneck
    ax : matplotlib Axes, optional
        Default: a new figure (the rule of every vizkit plotter).
    class_names : sequence of str, optional
        Class names for the legend (default ``'0', '1', ...``).
    color_by : {'labels', 'predictions'}, default='labels'
        Colour the features by their true class (falls back to predictions without labels).
    regions : bool, default=True
        Shade the head's decision regions behind (when the result has them).
    centers : bool, default=True
        Draw the RBF centres as ``+`` markers sized by sigma (see the module notes).
    circles : bool, default=False
        Draw a circle of radius ``|sigma|`` around each centre (in data units).
    legend : bool, default=True
    min_size, max_size : float
        Width in points of the smallest and largest centre markers.
    scatter_kw, center_kw, circle_kw, regions_kw : dict, optional
        Passed on to the features' ``scatter``, the centres' ``scatter``, the circles'
        ``PatchCollection`` and :func:`~vizkit.plot.decision_surface.plot_decision_regions`.

    Returns
    -------
    dict
        ``'features'`` (PathCollection), ``'centers'`` (PathCollection or None), ``'circles'``
        (PatchCollection or None), ``'regions'`` (dict from ``plot_decision_regions`` or None).

    Raises
    ------
    TypeError
        ``result`` is not a Bottleneck.
    ValueError
        ``color_by`` is not one of the two.

    Examples
    --------
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from vizkit.models import RBFNet
    >>> from vizkit.analysis.bottleneck import bottleneck_features
    >>> net = RBFNet(image_size=8, channels=(4,), n_centers=5).eval()
    >>> res = bottleneck_features(net, torch.rand(12, 1, 8, 8), y=torch.arange(12) % 3,
    ...                           grid_resolution=20)
    >>> art = plot_bottleneck(res, regions=False, circles=True)
    >>> art["features"].get_offsets().shape, len(art["circles"].get_paths())
    ((12, 2), 5)
    """
    if not all(hasattr(result, k) for k in ("features", "labels", "predictions", "centers",
                                            "sigma", "surface")):
        raise TypeError("`result` must be a Bottleneck (see vizkit.analysis.bottleneck."
                        f"bottleneck_features). Got {type(result).__name__} instead.")
    if color_by not in ("labels", "predictions"):
        raise ValueError(f"`color_by` must be one of 'labels', 'predictions'. Got {color_by!r} instead.")
    ax = new_ax(ax)
    feats = result.features
    colour_ids = result.labels if (color_by == "labels" and result.labels is not None) else result.predictions
    n_classes = int(colour_ids.max(initial=0)) + 1
    if result.surface is not None:
        n_classes = max(n_classes, result.surface.n_classes)
    if class_names is not None:
        n_classes = max(n_classes, len(class_names))
    palette = class_colors(max(n_classes, 1))
    out: dict = {"features": None, "centers": None, "circles": None, "regions": None}
    if regions and result.surface is not None:
        rkw = {"min_alpha": 0.1, "max_alpha": 0.45}
        rkw.update(regions_kw or {})
        out["regions"] = plot_decision_regions(result.surface, ax=ax, **rkw)
    kw = {"s": 10, "edgecolors": "0.15", "linewidths": 0.25, "zorder": 2}
    kw.update(scatter_kw or {})
    face = np.array([palette[c] for c in colour_ids]) if len(colour_ids) else np.zeros((0, 3))
    out["features"] = ax.scatter(feats[:, 0], feats[:, 1], c=face, **kw)
    if circles and result.centers is not None:
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Circle

        patches = [Circle((float(cx), float(cy)), float(abs(s)))
                   for (cx, cy), s in zip(result.centers, result.sigma)]
        ckw = {"facecolor": "none", "edgecolor": "0.25", "linewidth": 0.5, "alpha": 0.45, "zorder": 3}
        ckw.update(circle_kw or {})
        out["circles"] = ax.add_collection(PatchCollection(patches, **ckw), autolim=False)
    if centers and result.centers is not None:
        ckw = {"marker": "+", "c": "black", "linewidths": 1.5, "zorder": 4}
        ckw.update(center_kw or {})
        sizes = center_marker_sizes(result.sigma, min_size=min_size, max_size=max_size)
        out["centers"] = ax.scatter(result.centers[:, 0], result.centers[:, 1], s=sizes, **ckw)
    if not ax.get_xlabel():
        ax.set_xlabel("bottleneck feature 1")
    if not ax.get_ylabel():
        ax.set_ylabel("bottleneck feature 2")
    if legend:
        from matplotlib.lines import Line2D

        present = np.unique(colour_ids)
        names = ([str(i) for i in range(n_classes)] if class_names is None
                 else [str(c) for c in class_names])
        handles = [Line2D([], [], linestyle="none", marker="o", markersize=5, color=palette[c],
                          label=names[c]) for c in present]
        if out["centers"] is not None:
            handles.append(Line2D([], [], linestyle="none", marker="+", markersize=8, color="black",
                                  label="RBF centre\n(width ~ |sigma|)"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=12,
                  frameon=False, borderaxespad=0.0, title="true class", title_fontsize=12)
    return out


def plot_region_key(n_classes: int, *, ax=None, class_names: Sequence[str] | None = None,
                    colors: Sequence | None = None, min_alpha: float = 0.15,
                    max_alpha: float = 0.6, n_steps: int = 64, fontsize: float = 12):
    """The key of shaded decision regions: one row per class, its colour from palest (confidence
    ``1/C``) to strongest (confidence 1), labelled with the class names; big enough to read on
    a projector, where a colour bar's ten thin strips are not.

    The colours are made by :func:`~vizkit.plot.decision_surface.region_image` itself (the
    function that shades the regions), so the key and the regions cannot disagree.

    Parameters
    ----------
    n_classes : int
        Number of classes ``C`` (>= 1); one row each, class 0 at the top.
    ax : matplotlib Axes, optional
        Default: a new figure.
    class_names : sequence of str, optional
        Row labels (default ``'0', '1', ...``).
    colors : sequence of colours, optional
        One per class, as given to the regions (default :func:`vizkit.plot.style.class_colors`).
    min_alpha, max_alpha : float, default=0.15, 0.6
        The regions' weights of the class colour at the lowest and at full confidence.
    n_steps : int, default=64
        Confidence steps across a row.
    fontsize : float, default=12
        Size of the labels and ticks.

    Returns
    -------
    matplotlib.image.AxesImage
        Its array is ``(C, n_steps, 3)``: row ``c``, column ``j`` is class ``c`` at confidence
        ``1/C + j (1 - 1/C) / (n_steps - 1)``.

    Raises
    ------
    ValueError
        ``n_classes`` < 1, ``n_steps`` < 2, or fewer ``class_names`` than classes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> im = plot_region_key(3, class_names=["cat", "dog", "fox"])
    >>> im.get_array().shape, [t.get_text() for t in im.axes.get_yticklabels()]
    ((3, 64, 3), ['cat', 'dog', 'fox'])
    """
    from types import SimpleNamespace

    from .decision_surface import region_image

    C, n_steps = int(n_classes), int(n_steps)
    if C < 1 or n_steps < 2:
        raise ValueError(f"need n_classes >= 1 and n_steps >= 2. Got n_classes={n_classes!r}, "
                         f"n_steps={n_steps!r} instead.")
    names = [str(i) for i in range(C)] if class_names is None else [str(c) for c in class_names]
    if len(names) < C:
        raise ValueError(f"`class_names` has {len(names)} names for {C} classes.")
    lo = 1.0 / max(C, 2)
    conf = np.linspace(lo, 1.0, n_steps)
    grid = SimpleNamespace(n_classes=max(C, 2), labels=np.repeat(np.arange(C)[:, None], n_steps, 1),
                           confidence=np.repeat(conf[None, :], C, 0))
    if colors is not None:  # any matplotlib colour ('#ff0000', 'C1', (r, g, b)) as RGB
        from matplotlib.colors import to_rgb

        colors = [to_rgb(c) for c in colors]
    img = region_image(grid, colors=colors, min_alpha=min_alpha, max_alpha=max_alpha)
    ax = new_ax(ax)
    im = ax.imshow(img, extent=(lo, 1.0, C - 0.5, -0.5), aspect="auto", interpolation="nearest")
    ax.set_yticks(np.arange(C), names[:C])
    ax.set_xticks([lo, 1.0], [f"{lo:.2g}", "1"])
    ax.tick_params(labelsize=fontsize, length=0)
    if not ax.get_xlabel():
        ax.set_xlabel("confidence\n(paler = less sure)", fontsize=fontsize)
    return im
