"""Figure family ``bottleneck`` (seed 000): the test set in the 2D feature plane before the RBF
layer, coloured by class, with the RBF centres (``+`` sized by sigma) and the head's decision
regions behind; a second panel adds circles of radius sigma."""

from __future__ import annotations

from . import Figure, NotApplicable

__all__ = ["make"]

_MAX_POINTS = 5000


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Bottleneck figures of ``model`` on ``split``'s test part.

    Raises
    ------
    NotApplicable
        The model has no 2D layer (e.g. an MLP).
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from ..analysis.bottleneck import bottleneck_features, find_bottleneck
    from ..plot.bottleneck import plot_bottleneck

    where = find_bottleneck(model)
    if where is None:
        raise NotApplicable(f"bottleneck needs a 2D layer before the classifier head (an "
                            f"RBFLayer(2, K) or a hidden Linear(_, 2)), such as --model rbf; "
                            f"{type(model).__name__} has none.")
    x, y = split.x_test, split.y_test
    if len(x) > _MAX_POINTS:  # a seeded subset keeps the scatter readable and the figure fast
        idx = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(x), _MAX_POINTS,
                                                                           replace=False)))
        x, y = x[idx], y[idx]
    res = bottleneck_features(model, x, y=y, grid_resolution=300)
    acc = float((res.predictions == res.labels).mean())
    has_rbf = res.centers is not None
    panels = 2 if has_rbf else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels + 1.2, 5.6), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    plot_bottleneck(res, ax=axes[0], classes=split.classes, legend=not has_rbf)
    axes[0].set_title(f"test features at '{where.name}'"
                      + (" (input of the RBF layer)" if where.use_input else "")
                      + f"\nregions: the head's argmax, paler = less sure; accuracy {acc:.1%}",
                      fontsize=10)
    if has_rbf:
        plot_bottleneck(res, ax=axes[1], classes=split.classes, regions=False, circles=True)
        s = np.abs(res.sigma)
        axes[1].set_title(f"{len(s)} RBF centres, circles of radius |sigma| "
                          f"(sigma {s.min():.2g} to {s.max():.2g})", fontsize=10)
        # keep the view on the data: circles of huge sigma would otherwise zoom out
        axes[1].set_xlim(axes[0].get_xlim())
        axes[1].set_ylim(axes[0].get_ylim())
    caption = ("2D bottleneck features of the test set coloured by true class; '+' marks RBF "
               "centres, marker width grows linearly with |sigma|; the shading shows which class "
               "the rest of the network predicts at each point of the plane.")
    if not has_rbf:
        caption = ("2D hidden-layer features of the test set coloured by true class, over the "
                   "decision regions of the layers after it.")
    return [Figure(id="bottleneck", fig=fig, caption=caption)]
