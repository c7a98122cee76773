"""Figure family ``decision-surface`` (seed 002): for models of 2D inputs, the argmax regions
shaded by confidence with the test points (``graph_data``: circles right, squares wrong), and the
lab's ``graph_surface`` view (P(class 1) shading and its 0.5 contour) for two classes; for models
with a 2D bottleneck, the head's regions in the bottleneck plane."""

from __future__ import annotations

from . import Figure, NotApplicable

__all__ = ["make"]

_RESOLUTION = 400


def _input_dim(split) -> int | None:
    shape = tuple(split.input_shape)
    return shape[0] if len(shape) == 1 else None


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Decision-surface figures of ``model`` on ``split``'s test part.

    Raises
    ------
    NotApplicable
        The inputs are not 2D and the model has no 2D layer.
    """
    if _input_dim(split) == 2:
        return _input_plane(model, split)
    from ..analysis.bottleneck import find_bottleneck

    if find_bottleneck(model) is not None:
        return _bottleneck_plane(model, split)
    raise NotApplicable(f"decision-surface needs 2D inputs (e.g. --data gmm-2d) or a model with a "
                        f"2D bottleneck (e.g. --model rbf); this data has input shape "
                        f"{tuple(split.input_shape)} and {type(model).__name__} has no 2D layer.")


def _input_plane(model, split) -> list[Figure]:
    import matplotlib.pyplot as plt
    import numpy as np

    from ..analysis.errors import predictions
    from ..analysis.surface import decision_surface
    from ..plot.surface import graph_data, graph_surface, plot_decision_regions

    x, y = split.x_test, split.y_test
    pred = predictions(model, x, y)
    X = x.numpy()
    surf = decision_surface(model, np.vstack([X, split.x_train.numpy()]), grid_resolution=_RESOLUTION)
    binary = surf.n_classes == 2
    panels = 2 if binary else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 5.0), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    acc = float(pred.correct.mean())
    plot_decision_regions(surf, ax=axes[0])
    graph_data(X, pred.y, pred.pred, ax=axes[0])
    axes[0].set_title(f"argmax regions, paler = less sure\ntest accuracy {acc:.1%} "
                      f"(o right, \u25a1 wrong)", fontsize=10)
    if binary:
        graph_surface(surf, offset=0.5, ax=axes[1])
        graph_data(X, pred.y, pred.pred, ax=axes[1])
        axes[1].set_title("P(class 1) (dark 0, light 1) and its 0.5 contour", fontsize=10)
    for ax in axes:
        ax.set_xlabel("$x_0$")
        ax.set_ylabel("$x_1$")
    caption = (f"Decision surface of {type(model).__name__} over the plane ({_RESOLUTION}x"
               f"{_RESOLUTION} grid); points are the test set coloured by true class, circles "
               "classified right, squares wrong.")
    return [Figure(id="decision_surface", fig=fig, caption=caption)]


def _bottleneck_plane(model, split) -> list[Figure]:
    import matplotlib.pyplot as plt

    from ..analysis.bottleneck import bottleneck_features
    from ..plot.surface import graph_data, plot_decision_regions

    res = bottleneck_features(model, split.x_test, y=split.y_test, grid_resolution=_RESOLUTION,
                              include_centers=False)
    fig, ax = plt.subplots(figsize=(7.2, 5.6), layout="constrained")
    plot_decision_regions(res.surface, ax=ax)
    graph_data(res.features, res.labels, res.predictions, ax=ax, size=12,
               scatter_kw={"linewidths": 0.3})
    acc = float((res.predictions == res.labels).mean())
    ax.set_title(f"head's decision regions in the 2D bottleneck plane ('{res.layer.name}')\n"
                 f"test accuracy {acc:.1%} (o right, \u25a1 wrong)", fontsize=10)
    ax.set_xlabel("bottleneck feature 1")
    ax.set_ylabel("bottleneck feature 2")
    from matplotlib.lines import Line2D

    from ..plot._style import class_colors

    colors = class_colors(max(res.surface.n_classes, 2))
    ax.legend(handles=[Line2D([], [], linestyle="none", marker="s", markersize=7, color=colors[c],
                              label=str(split.classes[c]) if c < len(split.classes) else str(c))
                       for c in range(res.surface.n_classes)],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    caption = ("The classifier head (the layers after the 2D bottleneck) evaluated over the "
               "bottleneck plane, shaded by confidence; the test points at their bottleneck "
               "features, coloured by true class.")
    return [Figure(id="decision_surface_bottleneck", fig=fig, caption=caption)]
