"""Figure family ``decision-surface`` (seed 002): a classifier's decision regions over its 2D
input plane or over the 2D bottleneck plane of its head; and :class:`DecisionSurfaceDisplay`,
one surface evaluated once and drawn as often as wanted.

The surface comes from :mod:`vizkit.analysis.decision_surface` (the bottleneck plane from
:mod:`vizkit.analysis.bottleneck`), drawn by :mod:`vizkit.plot.decision_surface` (regions) and
:mod:`vizkit.plot.graph` (the lab's views).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..plot._axes import new_ax
from ..plot.decision_surface import (confidence_colorbar, plot_decision_regions, points_legend,
                                     scatter_classes)
from ..plot.figure import Figure, NotApplicable
from ..plot.graph import graph_data, plot_field
from ..plot.style import class_colors
from ._display import DisplayMixin, as_numpy

__all__ = ["NAME", "applies", "figures", "DecisionSurfaceDisplay", "surface_data",
           "surface_caption"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "decision-surface"


def applies(model, split) -> str | None:
    """Whether the ``decision-surface`` family fits: ``None`` if so, else the reason in words.

    A decision surface is drawn over a plane: it fits models of 2D inputs (any model vizkit
    can evaluate), and torch models with a 2D bottleneck layer (an RBF layer of 2 inputs, or a
    hidden ``nn.Linear`` with 2 outputs), whose head is drawn over the bottleneck plane.

    Parameters
    ----------
    model : nn.Module or estimator
        The model (only its structure is read here).
    split : vizkit.data.Split
        Its data; ``split.input_shape`` ``(2,)`` is the input plane.

    Returns
    -------
    str or None
        ``None`` when the family fits, else why not, with the data and models that fit.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.data import Split, fingerprint
    >>> x, y = torch.rand(6, 1, 4, 4), torch.arange(6) % 2
    >>> images = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> two_wide = nn.Sequential(nn.Flatten(), nn.Linear(16, 2), nn.ReLU(), nn.Linear(2, 2))
    >>> applies(two_wide, images) is None  # the hidden Linear(16, 2) is a 2D bottleneck
    True
    >>> applies(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), images)
    'decision-surface needs 2D inputs (e.g. --data gmm-2d) or a model with a 2D bottleneck ...'
    """
    from torch import nn

    from ..analysis.bottleneck import find_bottleneck

    shape = tuple(split.input_shape)
    if shape == (2,) or (isinstance(model, nn.Module) and find_bottleneck(model) is not None):
        return None
    return (f"decision-surface needs 2D inputs (e.g. --data gmm-2d) or a model with a 2D "
            f"bottleneck (e.g. --model rbf); this data has input shape {shape} and "
            f"{type(model).__name__} has no 2D layer.")


def surface_data(surf) -> dict[str, np.ndarray]:
    """The arrays a decision-surface view draws, compactly (for a figure's ``.npz``).

    Parameters
    ----------
    surf : vizkit.analysis.decision_surface.DecisionSurface
        The evaluated grid.

    Returns
    -------
    dict
        ``grid_x`` [W] and ``grid_y`` [H]: the grid's 1-D axes (the drawn grid is
        ``numpy.meshgrid(grid_x, grid_y)``); ``region_labels`` [H, W] (uint8, or int32 above 255
        classes): the predicted class at each grid point; and, where the model gives
        probabilities, ``confidence`` [H, W] (float16): the largest class probability. The full
        probabilities are not stored: for two classes ``P(class 1)`` is ``confidence`` where
        ``region_labels`` is 1 and ``1 - confidence`` elsewhere.

    Examples
    --------
    P(class 1) = sigmoid(2 x0) on a 5 x 3 grid; the stored arrays give P(class 1) back (to
    float16 precision), as the Returns section says:

    >>> import numpy as np
    >>> from vizkit.analysis.decision_surface import decision_surface
    >>> surf = decision_surface(lambda P: 1 / (1 + np.exp(-2 * P[:, 0])), ((-1, 0), (1, 1)),
    ...                         grid_resolution=(5, 3))
    >>> data = surface_data(surf)
    >>> sorted(data), data["grid_x"].tolist(), data["region_labels"].dtype
    (['confidence', 'grid_x', 'grid_y', 'region_labels'], [-1.0, -0.5, 0.0, 0.5, 1.0], dtype('uint8'))
    >>> c = data["confidence"].astype(float)
    >>> p1 = np.where(data["region_labels"] == 1, c, 1 - c)
    >>> bool(np.allclose(p1, surf.probs[..., 1], atol=1e-3))
    True
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
    """The family's figures: where the model puts each class, and how sure it is.

    For models of 2D inputs, the argmax regions shaded by confidence with the test points
    (``graph_data``: circles right, squares wrong), and the lab's ``graph_surface`` view
    (P(class 1) shading and its 0.5 contour) for two classes; for models with a 2D bottleneck,
    the head's regions in the bottleneck plane. The surface is evaluated on a 400 x 400 grid,
    over the training and test points (input plane) or over the test points' bottleneck
    features.

    Parameters
    ----------
    model : nn.Module or estimator
        The trained model (see :func:`applies`).
    split : vizkit.data.Split
        Its data: the test points are drawn and scored; in the input plane the training
        points widen the grid too.
    meta : dict, optional
        The checkpoint's metadata (not used by this family).
    seed : int, default=0
        Seed of random choices (this family makes none).

    Returns
    -------
    list of Figure
        One figure, ``decision_surface`` (input plane) or ``decision_surface_bottleneck``;
        ``data``: the grid (:func:`surface_data`), the test ``points`` [n, 2], ``labels``,
        ``predictions`` and ``class_names``.

    Raises
    ------
    NotApplicable
        The inputs are not 2D and the model has no 2D layer.

    Examples
    --------
    A hand-set linear model, class 1 where ``x1 > x0``, on 40 points labelled by that rule but
    one: the caption's accuracy and mistakes are counted from the arrays it stores.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.data import Split, fingerprint
    >>> x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 1] > x[:, 0]).long(); y[0] = 1 - y[0]  # one label flipped
    >>> split = Split("plane", x, y, x, y, x, y, ("below", "above"), (2,), fingerprint(x, y))
    >>> model = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(3 * torch.eye(2)); _ = model.bias.zero_()
    >>> [fig] = figures(model, split)
    >>> wrong = int((fig.data["labels"] != fig.data["predictions"]).sum())
    >>> fig.id, fig.data["region_labels"].shape, wrong
    ('decision_surface', (400, 400), 1)
    >>> "test accuracy 97.5%, 1 wrong" in fig.caption
    True
    >>> plt.close("all")
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    shape = tuple(split.input_shape)
    if len(shape) == 1 and shape[0] == 2:
        return _input_plane(model, split)
    return _bottleneck_plane(model, split)


def surface_caption(what: str, *, labels, predictions, grid: int, part: str = "test") -> str:
    """A decision-surface caption with the points' count, accuracy and mistakes computed.

    Parameters
    ----------
    what : str
        What is drawn, the caption's opening (e.g. ``'Decision surface of PTDeep over the
        plane'``).
    labels : array-like of int of shape (n,)
        The points' true classes.
    predictions : array-like of int of shape (n,)
        The model's classes for them.
    grid : int
        Grid points along each side of the evaluated surface.
    part : str, default='test'
        Which part of the data the points are (``'test'``, ``'training'``).

    Returns
    -------
    str
        The caption: the surface, how it is shaded, and the points' accuracy and number of
        mistakes (0% for no points).

    Examples
    --------
    >>> surface_caption("Decision surface of a toy model", labels=[0, 1, 1, 0],
    ...                 predictions=[0, 1, 0, 0], grid=50)  # doctest: +ELLIPSIS
    'Decision surface of a toy model (50x50 grid), ... test accuracy 75.0%, 1 wrong.'
    """
    y, p = np.asarray(labels), np.asarray(predictions)
    n_wrong = int((y != p).sum())
    return (f"{what} ({grid}x{grid} grid), shaded by the predicted class, paler where the model is "
            f"less sure (colour bar). Points: the {len(y)} {part} examples the accuracy is about, "
            f"coloured by true class; circles are classified right, squares wrong: {part} "
            f"accuracy {float((y == p).mean()) if len(y) else 0.0:.1%}, {n_wrong} wrong.")


def _input_plane(model, split) -> list[Figure]:
    import matplotlib.pyplot as plt

    from ..analysis.decision_surface import decision_surface
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
                      f"{acc:.1%}", fontsize=12)
    if binary:
        plot_field(surf, offset=0.5, ax=axes[1], colorbar=True,
                   colorbar_kw={"location": "bottom", "shrink": 0.7})
        graph_data(X, pred.y, pred.pred, ax=axes[1])
        axes[1].set_title("the lab's view: P(class 1), black line at 0.5", fontsize=12)
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
                 f"{len(res.labels)} test points, accuracy {acc:.1%}", fontsize=12)
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

    def __init__(self, surface, *, points=None, labels=None,
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
        from ..analysis.decision_surface import decision_surface

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
            (:func:`~vizkit.plot.decision_surface.plot_decision_regions`); ``'field'``: the lab's
            ``graph_surface`` view (:func:`~vizkit.plot.graph.plot_field`)
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
            plot_field(self.surface, offset=offset, ax=ax, **(surface_kw or {}))
        if self.points is not None:
            scatter_classes(ax, self.points, self.labels, n_classes=self.surface.n_classes,
                            class_names=self.class_names, legend=legend, scatter_kw=scatter_kw)
        return self._drawn(ax)
