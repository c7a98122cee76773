"""Decision-surface plots: the lab's ``graph_surface`` and ``graph_data`` (seed 002), and
multi-class argmax regions shaded by confidence.

Each function draws on ``ax`` (default: the current axes), returns what it drew, and leaves the
caller's labels and title alone.

Examples
--------
>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> from vizkit.analysis.decision_surface import decision_surface
>>> X = np.random.default_rng(0).normal(size=(50, 2)); Y_ = (X[:, 0] > X[:, 1]).astype(int)
>>> fun = lambda P: (P[:, 0] > P[:, 1]).astype(float)
>>> art = graph_surface(fun, (X.min(0), X.max(0)), offset=0.5, width=64, height=64)
>>> art = graph_data(X, Y_, Y_, special=[0, 1])
>>> img = plot_decision_regions(decision_surface(lambda P: P @ np.eye(2), X, grid_resolution=32))
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..analysis.decision_surface import DecisionSurface, decision_surface
from ._axes import current_ax, new_ax
from ._display import DisplayMixin, as_numpy
from .figure import Figure, NotApplicable
from .style import class_colors

__all__ = ["graph_surface", "graph_data", "plot_decision_regions", "region_image",
           "confidence_colorbar", "surface_data", "scatter_classes", "class_legend",
           "points_legend", "surface_caption", "DecisionSurfaceDisplay", "SURFACE_CMAP", "figures",
           "plot_surface_frame", "surface_animation"]

#: Colour map of ``graph_surface``'s shading (the lab's default look: dark to light).
SURFACE_CMAP = "gray"


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def graph_surface(fun: Any, rect: Any = None, offset: float | None = 0.5, width: int = 256,
                  height: int = 256, *, ax=None, cmap: Any = None, colorbar: bool | str = False,
                  colorbar_kw: dict | None = None, pcolormesh_kw: dict | None = None,
                  contour_kw: dict | None = None) -> dict:
    """Shade a scalar function of the plane and draw its ``offset`` level line (lab 0's helper).

    Parameters
    ----------
    fun : callable, nn.Module, estimator or DecisionSurface
        Evaluated by :func:`~vizkit.analysis.decision_surface.decision_surface`; the shaded value is
        ``DecisionSurface.field()``: P(class 1) for two classes, a binary score as is, the
        confidence for more classes. A ``DecisionSurface`` is drawn as it is.
    rect : ((x_min, y_min), (x_max, y_max)) or array-like of shape (N, 2)
        The rectangle, e.g. ``(np.min(X, 0), np.max(X, 0))``, or data to cover. Not needed with a
        ``DecisionSurface``.
    offset : float or None, default=0.5
        The level drawn as a contour and put in the middle of the colour scale (``None``: no
        contour, scale from the values). Use 0 for scores.
    width, height : int, default=256
        Grid points along x and y.
    ax : matplotlib Axes, optional
        Default: the current axes (``plt.gca()``), the lab's pyplot contract.
    cmap : colormap or str, default='gray'
    colorbar : bool or str, default=False
        Add a colour bar of the shading beside ``ax``; a string is its label (``True``:
        ``'P(class 1)'`` for a two-class model's probabilities, ``'confidence'`` for more
        classes, else ``'score'``, with the contour level).
    colorbar_kw : dict, optional
        Passed on to ``Figure.colorbar`` (e.g. ``{'location': 'bottom'}``).
    pcolormesh_kw, contour_kw : dict, optional
        Passed on to ``ax.pcolormesh`` and ``ax.contour``.

    Returns
    -------
    dict
        ``'mesh'`` (QuadMesh), ``'contour'`` (ContourSet or None), ``'surface'`` (the
        DecisionSurface drawn), ``'colorbar'`` (Colorbar or None).
    """
    ax = current_ax(ax)
    if isinstance(fun, DecisionSurface):
        surf = fun
    else:
        if rect is None:
            raise ValueError("`rect` is needed unless `fun` is a DecisionSurface.")
        surf = decision_surface(fun, rect, grid_resolution=(width, height))
    values = surf.field()
    delta = 0.0 if offset is None else float(offset)
    finite = values[np.isfinite(values)]
    if offset is None:
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    else:
        maxval = float(np.abs(finite - delta).max()) if finite.size else 1.0
        maxval = maxval if maxval > 0 else 1.0
        vmin, vmax = delta - maxval, delta + maxval
    kw = {"cmap": SURFACE_CMAP if cmap is None else cmap, "vmin": vmin, "vmax": vmax,
          "shading": "auto", "rasterized": True, "zorder": 0}
    kw.update(pcolormesh_kw or {})
    mesh = ax.pcolormesh(surf.xx, surf.yy, values, **kw)
    contour = None
    if offset is not None and finite.size and finite.min() < delta < finite.max():
        ckw = {"colors": "black", "linewidths": 1.0, "zorder": 1}
        ckw.update(contour_kw or {})
        contour = ax.contour(surf.xx, surf.yy, values, levels=[delta], **ckw)
    cbar = None
    if colorbar is not False and colorbar is not None:
        cbar = ax.get_figure().colorbar(mesh, ax=ax, **{"shrink": 0.85, **(colorbar_kw or {})})
        cbar.set_label(colorbar if isinstance(colorbar, str) else _field_label(surf, offset),
                       fontsize=9)
        cbar.ax.tick_params(labelsize=9)
        if contour is not None:  # the contour's level marked on the bar
            cbar.add_lines([delta], ["black"], [1.0])
    return {"mesh": mesh, "contour": contour, "surface": surf, "colorbar": cbar}


def _field_label(surf: DecisionSurface, offset: float | None) -> str:
    """What :meth:`DecisionSurface.field` holds, for a colour bar label."""
    if surf.probs is not None:
        text = "P(class 1)" if surf.n_classes == 2 else "confidence"
    else:
        text = "score"
    return text + ("" if offset is None else f" (line at {offset:g})")


def graph_data(X: Any, Y_: Any, Y: Any, special: Sequence[int] | None = None, *, ax=None,
               colors: Sequence | None = None, size: float = 20.0, scatter_kw: dict | None = None
               ) -> dict:
    """Scatter labelled 2D data: colour = true class, ``o`` = correct, ``s`` = wrong (lab 0).

    Parameters
    ----------
    X : array-like of shape (N, 2)
    Y_ : array-like of int of shape (N,)
        True classes (the colour).
    Y : array-like of int of shape (N,)
        Predicted classes (the marker: circle where ``Y == Y_``, square where not).
    special : sequence of int, optional
        Indices of points drawn with double size (e.g. ``KSVMWrap.support``) and ringed by an
        unfilled black circle larger than the point, visible even when most points are special.
    ax : matplotlib Axes, optional
        Default: the current axes (``plt.gca()``), the lab's pyplot contract.
    colors : sequence of colours, optional
        One per class; default :func:`vizkit.plot.style.class_colors`.
    size : float, default=20
        Marker area (points squared) of ordinary points; special points get ``2 * size``.
    scatter_kw : dict, optional
        Passed on to both ``ax.scatter`` calls.

    Returns
    -------
    dict
        ``'correct'`` and ``'wrong'`` PathCollections (``get_sizes()`` shows the special points),
        ``'special'`` (the rings' PathCollection, or None).
    """
    ax = current_ax(ax)
    X = _numpy(X).astype(np.float64)
    Y_ = _numpy(Y_).astype(np.int64).reshape(-1)
    Y = _numpy(Y).astype(np.int64).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2 or not (len(X) == len(Y_) == len(Y)):
        raise ValueError(f"graph_data needs X of shape (N, 2) and Y_, Y of shape (N,). Got "
                         f"{X.shape}, {Y_.shape} and {Y.shape} instead.")
    n_classes = int(max(Y_.max(initial=0), Y.max(initial=0)) + 1)
    palette = class_colors(max(n_classes, 2)) if colors is None else list(colors)
    if len(palette) < n_classes:
        raise ValueError(f"`colors` has {len(palette)} entries for {n_classes} classes.")
    sizes = np.full(len(X), float(size))
    if special is not None and len(special):
        special = np.asarray(special, dtype=np.int64)
        if special.min() < -len(X) or special.max() >= len(X):
            raise ValueError(f"`special` indices must be in [0, {len(X) - 1}].")
        sizes[special] = 2.0 * float(size)
    face = np.array([palette[c] for c in Y_]) if len(X) else np.zeros((0, 3))
    out = {}
    for key, mask, marker in (("correct", Y == Y_, "o"), ("wrong", Y != Y_, "s")):
        kw = {"edgecolors": "black", "linewidths": 0.5, "marker": marker, "zorder": 3}
        kw.update(scatter_kw or {})
        out[key] = ax.scatter(X[mask, 0], X[mask, 1], s=sizes[mask], c=face[mask], **kw)
    out["special"] = None
    if special is not None and len(special):
        # a ring about twice the special marker's diameter, so it shows around any marker
        out["special"] = ax.scatter(X[special, 0], X[special, 1], s=4.5 * sizes[special],
                                    facecolors="none", edgecolors="black", linewidths=1.1,
                                    marker="o", zorder=4)
    return out


def region_image(surf: DecisionSurface, *, colors: Sequence | None = None, min_alpha: float = 0.15,
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


def plot_decision_regions(surf: DecisionSurface, *, ax=None, colors: Sequence | None = None,
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
    if not isinstance(surf, DecisionSurface):
        raise TypeError("`surf` must be a DecisionSurface (see vizkit.analysis.decision_surface."
                        f"decision_surface). Got {type(surf).__name__} instead.")
    ax = new_ax(ax)
    if not 0 <= min_alpha <= max_alpha <= 1:
        raise ValueError(f"need 0 <= min_alpha <= max_alpha <= 1. Got min_alpha={min_alpha!r}, "
                         f"max_alpha={max_alpha!r} instead.")
    if shade_by_confidence:
        rgb = region_image(surf, colors=colors, min_alpha=min_alpha, max_alpha=max_alpha)
    else:
        rgb = region_image(DecisionSurface(surf.xx, surf.yy, surf.response, surf.response_method,
                                           None, surf.labels, None, surf.rect, surf.n_classes),
                           colors=colors, max_alpha=(min_alpha + max_alpha) / 2)
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


def confidence_colorbar(ax, surf: DecisionSurface, *, min_alpha: float = 0.15,
                        max_alpha: float = 0.6, label: str | None = None, **colorbar_kw):
    """The colour bar of :func:`plot_decision_regions`' paleness: the confidence (largest class
    probability) from ``1/C`` (palest) to 1 (strongest), drawn on a neutral grey.

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
    cbar.set_label(label or "confidence of the shaded class (paler = less sure)", fontsize=9)
    cbar.ax.tick_params(labelsize=9)
    return cbar


def surface_data(surf: DecisionSurface) -> dict[str, np.ndarray]:
    """The arrays a decision-surface view draws, compactly.

    Returns
    -------
    dict
        ``grid_x`` [W] and ``grid_y`` [H]: the grid's 1-D axes (the drawn grid is
        ``numpy.meshgrid(grid_x, grid_y)``); ``region_labels`` [H, W] (uint8, or int32 above 255
        classes): the predicted class at each grid point; and, where the model gives
        probabilities, ``confidence`` [H, W] (float16): the largest class probability. The full
        probabilities are not stored: for two classes ``P(class 1)`` is ``confidence`` where
        ``region_labels`` is 1 and ``1 - confidence`` elsewhere.
    """
    labels = np.asarray(surf.labels)
    data = {"grid_x": np.asarray(surf.xx)[0].astype(np.float32),
            "grid_y": np.asarray(surf.yy)[:, 0].astype(np.float32),
            "region_labels": labels.astype(np.uint8 if labels.max(initial=0) < 256 else np.int32)}
    if surf.confidence is not None:
        data["confidence"] = np.asarray(surf.confidence).astype(np.float16)
    return data


_RESOLUTION = 400


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``decision-surface`` (seed 002).

    For models of 2D inputs, the argmax regions shaded by confidence with the test points
    (``graph_data``: circles right, squares wrong), and the lab's ``graph_surface`` view
    (P(class 1) shading and its 0.5 contour) for two classes; for models with a 2D bottleneck,
    the head's regions in the bottleneck plane.

    Returns
    -------
    list of Figure
        One figure; ``data``: the grid (:func:`surface_data`), the test ``points`` [n, 2],
        ``labels``, ``predictions`` and ``class_names``.

    Raises
    ------
    NotApplicable
        The inputs are not 2D and the model has no 2D layer.
    """
    shape = tuple(split.input_shape)
    if len(shape) == 1 and shape[0] == 2:
        return _input_plane(model, split)
    from ..analysis.bottleneck import find_bottleneck

    if find_bottleneck(model) is not None:
        return _bottleneck_plane(model, split)
    raise NotApplicable(f"decision-surface needs 2D inputs (e.g. --data gmm-2d) or a model with a "
                        f"2D bottleneck (e.g. --model rbf); this data has input shape "
                        f"{tuple(split.input_shape)} and {type(model).__name__} has no 2D layer.")


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


def surface_caption(what: str, *, labels, predictions, grid: int, part: str = "test") -> str:
    """A decision-surface caption with the points' count, accuracy and mistakes computed."""
    y, p = np.asarray(labels), np.asarray(predictions)
    n_wrong = int((y != p).sum())
    return (f"{what} ({grid}x{grid} grid), shaded by the predicted class, paler where the model is "
            f"less sure (colour bar). Points: the {len(y)} {part} examples the accuracy is about, "
            f"coloured by true class; circles are classified right, squares wrong: {part} "
            f"accuracy {float((y == p).mean()) if len(y) else 0.0:.1%}, {n_wrong} wrong.")


def _input_plane(model, split) -> list[Figure]:
    import matplotlib.pyplot as plt

    from ..analysis.errors import predictions

    x, y = split.x_test, split.y_test
    pred = predictions(model, x, y)
    X = x.numpy()
    surf = decision_surface(model, np.vstack([X, split.x_train.numpy()]), grid_resolution=_RESOLUTION)
    binary = surf.n_classes == 2
    panels = 2 if binary else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.0 * panels + 1.8, 5.4), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    acc = float(pred.correct.mean())
    plot_decision_regions(surf, ax=axes[0])
    confidence_colorbar(axes[0], surf, location="bottom", shrink=0.7)
    graph_data(X, pred.y, pred.pred, ax=axes[0])
    axes[0].set_title(f"argmax regions, paler = less sure\n{len(X)} test points, accuracy "
                      f"{acc:.1%}", fontsize=10)
    if binary:
        graph_surface(surf, offset=0.5, ax=axes[1], colorbar=True,
                      colorbar_kw={"location": "bottom", "shrink": 0.7})
        graph_data(X, pred.y, pred.pred, ax=axes[1])
        axes[1].set_title("the lab's view: P(class 1), black line at 0.5", fontsize=10)
    for ax in axes:
        ax.set_xlabel("$x_0$")
        ax.set_ylabel("$x_1$")
    C = max(surf.n_classes, 2)
    points_legend(axes[-1], np.unique(pred.y), class_colors(C), [str(c) for c in split.classes])
    caption = surface_caption(f"Decision surface of {type(model).__name__} over the plane",
                              labels=pred.y, predictions=pred.pred, grid=_RESOLUTION)
    if binary:
        caption += " Right: the lab's graph_surface view of the same model, P(class 1) in grey."
    data = dict(surface_data(surf), points=X, labels=np.asarray(pred.y),
                predictions=np.asarray(pred.pred),
                class_names=np.asarray([str(c) for c in split.classes]))
    return [Figure(id="decision_surface", fig=fig, caption=caption, data=data)]


def _bottleneck_plane(model, split) -> list[Figure]:
    import matplotlib.pyplot as plt

    from ..analysis.bottleneck import bottleneck_features

    res = bottleneck_features(model, split.x_test, y=split.y_test, grid_resolution=_RESOLUTION,
                              include_centers=False)
    fig, ax = plt.subplots(figsize=(7.6, 6.2), layout="constrained")
    plot_decision_regions(res.surface, ax=ax)
    confidence_colorbar(ax, res.surface, location="bottom", shrink=0.7)
    graph_data(res.features, res.labels, res.predictions, ax=ax, size=12,
               scatter_kw={"linewidths": 0.3})
    acc = float((res.predictions == res.labels).mean())
    ax.set_title(f"head's decision regions in the 2D bottleneck plane ('{res.layer.name}')\n"
                 f"{len(res.labels)} test points, accuracy {acc:.1%}", fontsize=10)
    ax.set_xlabel("bottleneck feature 1")
    ax.set_ylabel("bottleneck feature 2")
    C = max(res.surface.n_classes, 2)
    points_legend(ax, np.unique(res.labels), class_colors(C), [str(c) for c in split.classes])
    caption = surface_caption(
        f"The classifier head of {type(model).__name__} (the layers after the 2D bottleneck "
        f"'{res.layer.name}') over the bottleneck plane", labels=res.labels,
        predictions=res.predictions, grid=_RESOLUTION)
    data = dict(surface_data(res.surface), points=np.asarray(res.features),
                labels=np.asarray(res.labels), predictions=np.asarray(res.predictions),
                class_names=np.asarray([str(c) for c in split.classes]))
    return [Figure(id="decision_surface_bottleneck", fig=fig, caption=caption, data=data)]


class DecisionSurfaceDisplay(DisplayMixin):
    """A classifier's decision surface over the plane, computed once, drawn as often as wanted.

    Parameters
    ----------
    surface : vizkit.analysis.decision_surface.DecisionSurface
        The evaluated grid.
    points : ndarray of shape (n, 2), optional
        Points drawn over the surface.
    labels : ndarray of shape (n,), optional
        Their classes (the points' colours; grey without).
    class_names : sequence of str, optional
        Legend names of the classes.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the last :meth:`plot`.
    figure_ : matplotlib Figure
        Its figure.

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> X = np.random.default_rng(0).normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> disp = DecisionSurfaceDisplay.from_model(lambda P: (P[:, 0] > 0).astype(float), X, y=y,
    ...                                          grid_resolution=32)
    >>> disp2 = disp.plot(kind="field")  # a second figure, no re-evaluation
    >>> disp2 is disp, disp.surface.shape
    (True, (32, 32))
    """

    def __init__(self, surface: DecisionSurface, *, points=None, labels=None,
                 class_names: Sequence[str] | None = None) -> None:
        self.surface = surface
        self.points = as_numpy(points)
        self.labels = as_numpy(labels)
        self.class_names = None if class_names is None else [str(c) for c in class_names]

    @classmethod
    def from_model(cls, model: Any, data: Any, *, y: Any = None,
                   grid_resolution: int | Sequence[int] | None = None,
                   margin: float | None = None, response_method: str = "auto",
                   class_names: Sequence[str] | None = None, ax=None,
                   **plot_kw) -> "DecisionSurfaceDisplay":
        """Evaluate ``model`` over the plane around ``data`` once, then :meth:`plot`.

        ``model`` is anything :func:`~vizkit.analysis.decision_surface.decision_surface` takes
        (``nn.Module``, estimator, callable); ``data`` the ``(n, 2)`` points that set the
        rectangle and are drawn, ``y`` their classes; ``plot_kw`` go to :meth:`plot`.
        """
        X = as_numpy(data)
        surf = decision_surface(model, X, grid_resolution=grid_resolution, margin=margin,
                                response_method=response_method)
        return cls(surf, points=X, labels=y, class_names=class_names).plot(ax=ax, **plot_kw)

    def plot(self, ax=None, *, kind: str = "regions", offset: float | None = 0.5,
             legend: bool = True, scatter_kw: dict | None = None,
             surface_kw: dict | None = None) -> "DecisionSurfaceDisplay":
        """Draw the surface and the points on ``ax`` (``None``: a new figure).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        kind : {'regions', 'field'}, default='regions'
            ``'regions'``: argmax regions shaded by confidence
            (:func:`plot_decision_regions`); ``'field'``: the lab's ``graph_surface`` view
            (P(class 1) or the confidence, with the ``offset`` contour).
        offset : float or None, default=0.5
            Level line of ``kind='field'``.
        legend : bool, default=True
            A legend of the classes of the points.
        scatter_kw, surface_kw : dict, optional
            Passed on to ``ax.scatter`` and to the surface plotter.

        Returns
        -------
        DecisionSurfaceDisplay
            ``self``, with ``ax_`` and ``figure_`` set.
        """
        if kind not in ("regions", "field"):
            raise ValueError(f"`kind` must be one of 'regions', 'field'. Got {kind!r} instead.")
        ax = new_ax(ax)
        if kind == "regions":
            plot_decision_regions(self.surface, ax=ax, **(surface_kw or {}))
        else:
            graph_surface(self.surface, offset=offset, ax=ax, **(surface_kw or {}))
        if self.points is not None:
            scatter_classes(ax, self.points, self.labels, n_classes=self.surface.n_classes,
                            class_names=self.class_names, legend=legend, scatter_kw=scatter_kw)
        return self._drawn(ax)


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


# -------------------------------------------------------------------------- over training
def plot_surface_frame(frames, index: int, *, axes=None, colorbar: bool = True,
                       font: float = 9.0) -> dict:
    """One frame of a training animation: the surface at a snapshot, and the curves so far.

    Parameters
    ----------
    frames : vizkit.analysis.decision_surface.SurfaceFrames
    index : int
        Which snapshot.
    axes : (Axes, Axes), optional
        Left: the lab's ``graph_surface`` view (P(class 1) on a fixed 0-1 grey scale, its 0.5
        contour) with the points (colour = true class, circle right, square wrong); right: loss
        and accuracy over the snapshots, the current one marked. Default: a new figure.
    colorbar : bool, default=True
        The grey scale's colourbar.
    font : float, default=9
        Size (pt) of every text.

    Returns
    -------
    dict
        ``{'fig', 'axes', 'surface' (graph_surface's dict), 'points', 'colorbar', 'marker',
        'legend'}`` (the legend under both panels: class colours, circle right, square wrong).
    """
    import matplotlib.pyplot as plt

    if not -len(frames) <= index < len(frames):
        raise ValueError(f"`index` must be in [0, {len(frames)}). Got {index!r} instead.")
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8.6, 4.1), width_ratios=[1.25, 1],
                                 layout="constrained")
    ax, cax = axes
    fig = ax.figure
    surf = frames.surfaces[index]
    art = graph_surface(surf, offset=0.5, ax=ax, pcolormesh_kw={"vmin": 0.0, "vmax": 1.0})
    pts = graph_data(frames.points, frames.labels, frames.predictions[index], ax=ax, size=24)
    epoch, acc = int(frames.epochs[index]), frames.accuracy
    ax.set_title(f"epoch {epoch}: training accuracy {acc[index]:.0%}", fontsize=font)
    ax.set_xlabel("$x_0$", fontsize=font)
    ax.set_ylabel("$x_1$", fontsize=font)
    ax.tick_params(labelsize=font)
    cbar = None
    if colorbar:
        cbar = fig.colorbar(art["mesh"], ax=ax, fraction=0.05, pad=0.02)
        cbar.set_label("P(class 1)", fontsize=font)
        cbar.ax.tick_params(labelsize=font)
    ep = np.maximum(frames.epochs, 1)
    cax.plot(ep, frames.loss, color="tab:red", lw=1.2, label="loss")
    cax.plot(ep, acc, color="tab:blue", lw=1.2, label="accuracy")
    marker = cax.axvline(ep[index], color="0.3", lw=1.0, ls="--")
    cax.plot([ep[index]] * 2, [frames.loss[index], acc[index]], "o", color="0.2", ms=4)
    cax.set_xscale("log")
    cax.set_xlabel("epoch (log scale; 0 drawn at 1)", fontsize=font)
    cax.set_ylim(0, max(1.05, float(np.nanmax(frames.loss)) * 1.05))
    cax.tick_params(labelsize=font)
    cax.legend(fontsize=font, loc="center right", frameon=False)
    cax.set_title("on the training points", fontsize=font)
    classes = np.unique(np.concatenate([np.asarray(frames.labels).ravel(),
                                        np.asarray(frames.predictions[index]).ravel()]))
    legend = points_legend(fig, [int(c) for c in classes], class_colors(max(len(classes), 2)),
                           [f"class {c}" for c in range(int(classes.max()) + 1)],
                           loc="outside lower center", bbox_to_anchor=None,
                           ncols=len(classes) + 2, fontsize=font)
    return {"fig": fig, "axes": [ax, cax], "surface": art, "points": pts, "colorbar": cbar,
            "marker": marker, "legend": legend}


def surface_animation(frames, *, fps: float = 6.0, dpi: float = 110, hold_last: int = 6,
                      figsize: tuple[float, float] = (8.6, 4.1), font: float = 9.0) -> bytes:
    """The frames of :func:`plot_surface_frame` as an animated GIF (deterministic bytes).

    Each frame is drawn with Agg at ``dpi`` (110: shown at 1:1 in the gallery, so text stays
    >= 9 pt), then all are quantized to ONE palette taken from the first, middle and last frames
    (no dithering) and written by Pillow, looping forever.

    Parameters
    ----------
    frames : SurfaceFrames
    fps : float, default=6
    dpi : float, default=110
    hold_last : int, default=6
        The last frame is shown this many frame times (the end result stays on screen).
    figsize : (float, float), default=(8.6, 4.1)
    font : float, default=9

    Returns
    -------
    bytes
        A GIF89a file with ``len(frames)`` frames.
    """
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    if len(frames) < 1:
        raise ValueError("`frames` holds no snapshot.")
    if not fps > 0:
        raise ValueError(f"`fps` must be > 0. Got {fps!r} instead.")
    images = []
    for i in range(len(frames)):
        fig, axes = plt.subplots(1, 2, figsize=figsize, width_ratios=[1.25, 1], dpi=dpi,
                                 layout="constrained")
        try:
            plot_surface_frame(frames, i, axes=axes, font=font)
            fig.canvas.draw()
            images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()))
        finally:
            plt.close(fig)
    keys = sorted({0, len(images) // 2, len(images) - 1})
    sample = Image.new("RGB", (images[0].width, images[0].height * len(keys)))
    for k, i in enumerate(keys):
        sample.paste(images[i], (0, images[0].height * k))
    palette = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    step = int(round(1000 / fps))
    durations = [step] * (len(pal) - 1) + [step * max(1, int(hold_last))]
    buf = io.BytesIO()
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:], duration=durations,
                loop=0, optimize=False, disposal=1)
    return buf.getvalue()
