"""Scatter a 2D embedding coloured by class, with the class colours of every vizkit figure.

Examples
--------
>>> import numpy as np
>>> from vizkit.analysis.embedding import embed
>>> res = embed(np.random.default_rng(0).normal(size=(30, 4)), labels=np.arange(30) % 3,
...             method="pca")
>>> ax = plot_embedding(res, class_names=["a", "b", "c"])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._display import DisplayMixin
from .figure import Figure, NotApplicable
from .style import class_colors

__all__ = ["plot_embedding", "EmbeddingDisplay", "figures"]

_AXIS = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PC"}
_NAME = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}


def plot_embedding(result, *, ax=None, class_names: Sequence[str] | None = None,
                   n_classes: int | None = None, s: float | None = None, alpha: float = 0.8,
                   legend: bool = True, shuffle: bool = True, scatter_kw: dict | None = None,
                   legend_kw: dict | None = None):
    """Scatter ``result.points`` (first two components) coloured by ``result.labels``.

    Parameters
    ----------
    result : vizkit.analysis.embedding.Embedding
    ax : matplotlib Axes, default=None
        A new figure when None.
    class_names : sequence of str, default=None
        Legend labels; their number fixes the number of classes (and so the colours).
    n_classes : int, default=None
        Number of classes when ``class_names`` is not given; ``max(labels) + 1`` when None.
    s : float, default=None
        Marker size; ``None`` picks one from the number of points.
    alpha : float, default=0.8
    legend : bool, default=True
        A legend with one entry per class present.
    shuffle : bool, default=True
        Draw the points in a fixed pseudo-random order, so that no class is always on top.
    scatter_kw : dict, default=None
        Passed to ``ax.scatter``.
    legend_kw : dict, default=None
        Passed to ``ax.legend`` (e.g. ``{"loc": "center left", "bbox_to_anchor": (1, 0.5)}`` to
        put it outside the axes).

    Returns
    -------
    matplotlib Axes
        The scatter is ``ax.collections[-1]``; its point ``k`` is ``result.points[order[k]]`` with
        ``order`` stored in ``ax.collections[-1].vizkit_order``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    pts = np.asarray(result.points)
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise ValueError(f"plot_embedding needs at least 2 components. Got points of shape {pts.shape}.")
    n = len(pts)
    order = np.random.default_rng(0).permutation(n) if shuffle else np.arange(n)
    labels = None if result.labels is None else np.asarray(result.labels)
    kw = {"s": s if s is not None else float(np.clip(5000.0 / max(n, 1), 2, 30)),
          "alpha": alpha, "linewidths": 0}
    kw.update(scatter_kw or {})
    handles = []
    if labels is None:
        sc = ax.scatter(pts[order, 0], pts[order, 1], color=class_colors(1)[0], **kw)
    else:
        k = len(class_names) if class_names is not None else (
            int(n_classes) if n_classes is not None else int(labels.max()) + 1 if n else 1)
        if n and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"labels must be in [0, {k - 1}] for {k} classes. "
                             f"Got labels from {labels.min()} to {labels.max()}.")
        colors = np.asarray(class_colors(k))
        sc = ax.scatter(pts[order, 0], pts[order, 1], c=colors[labels[order]], **kw)
        for c in np.unique(labels):
            name = class_names[c] if class_names is not None else str(c)
            handles.append(Line2D([], [], ls="", marker="o", markersize=6, color=colors[c],
                                  label=name))
    sc.vizkit_order = order
    if legend and handles:
        lkw = dict(fontsize=8, loc="best", frameon=True, framealpha=0.8, handletextpad=0.2,
                   borderpad=0.3, labelspacing=0.25)
        lkw.update(legend_kw or {})
        ax.legend(handles=handles, **lkw)
    axis = _AXIS.get(result.method, result.method)
    if not ax.get_xlabel():
        ax.set_xlabel(f"{axis} 1")
    if not ax.get_ylabel():
        ax.set_ylabel(f"{axis} 2")
    if not ax.get_title():
        ax.set_title(f"{_NAME.get(result.method, result.method)} of "
                     f"{'the input' if result.layer is None else repr(result.layer)}", fontsize=10)
    if result.method in ("umap", "tsne"):  # their axes carry no units
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")
    return ax


_MAX_POINTS = 1000


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``embedding``: UMAP, t-SNE and PCA of up to 1000 test points, the raw input beside
    the model's learned layers (:func:`vizkit.analysis.embedding.embedding_layers`), coloured by
    class.

    Returns
    -------
    list of Figure
        ``embedding_umap``, ``embedding_tsne`` and ``embedding_pca``. ``data``: ``coords`` [n, 2]
        (the last panel: the
        deepest layer shown), ``panel_coords`` [panels, n, 2], ``labels`` [n], ``predictions``
        [n], ``class_names``, and for image inputs ``images`` [n, H, W] (or [n, H, W, C]) uint8.
    """
    import matplotlib.pyplot as plt
    from torch import nn

    from ..analysis.bottleneck import class_separation
    from ..analysis.embedding import embed_activations, embedding_layers

    if not isinstance(model, nn.Module):
        raise NotApplicable(f"embeddings read a torch model's layers; {type(model).__name__} is "
                            "not an nn.Module.")
    n = min(_MAX_POINTS, len(split.y_test))
    x, y = split.x_test[:n], split.y_test[:n]
    layers = [(None, "input (raw pixels)" if len(split.input_shape) == 3 else "input")]
    layers += embedding_layers(model)
    classes = list(split.classes)
    out = []
    for method in ("umap", "tsne", "pca"):
        cols = len(layers)
        side = min(4.2, 11.6 / cols)
        fig, axes = plt.subplots(1, cols, figsize=(side * cols + 1.1, side + 0.6), squeeze=False,
                                 layout="constrained")
        coords, seps, widths = [], [], []
        for k, (layer, what) in enumerate(layers):
            res = embed_activations(model, x, layer, labels=y, method=method, seed=seed)
            coords.append(np.asarray(res.points[:, :2], dtype=np.float32))
            seps.append(class_separation(coords[-1], np.asarray(y)))
            widths.append(res.n_features)
            ax = axes[0, k]
            ax.set_title(f"{what}\n{'' if layer is None else repr(layer) + ', '}"
                         f"{res.n_features} features; separation {seps[-1]:.2f}", fontsize=9)
            plot_embedding(res, ax=ax, class_names=classes, legend=k == cols - 1,
                           legend_kw={"loc": "center left", "bbox_to_anchor": (1.01, 0.5),
                                      "title": "class", "title_fontsize": 8})
        if method == "umap":
            head = f"UMAP (n_neighbors=15, min_dist=0.1, seed={seed})"
            look = "UMAP keeps neighbourhoods, not distances."
        elif method == "tsne":
            head = f"t-SNE (perplexity 15, seed={seed})"
            look = ("t-SNE keeps neighbourhoods too; neither the sizes of its clusters nor the "
                    "distances between them mean anything.")
        else:
            head = "PCA (first two principal components)"
            look = "PCA is linear and keeps large-scale distances."
        fig.suptitle(f"{head} of {n} test examples, coloured by true class", fontsize=10)
        names = ["the raw input"] + [repr(l) for l, _ in layers[1:]]
        caption = (f"{head} of the first {n} test examples ({len(np.unique(y))} classes of "
                   f"{split.name}): " + ", ".join(f"{nm} ({w} features)" for nm, w in
                                                  zip(names, widths))
                   + ("" if len(layers) > 1 else " only (the model has no hidden layer)")
                   + f". {look} Class separation of the drawn 2D points (the share of their "
                   "variance between the class means: 0 = mixed, 1 = one point per class): "
                   + ", ".join(f"{nm} {v:.2f}" for nm, v in zip(names, seps)) + ".")
        out.append(Figure(id=f"embedding_{method}", fig=fig, caption=caption,
                          data={"coords": coords[-1], "panel_coords": np.stack(coords),
                                "panel_separation": np.asarray(seps)}))
    common = _embedding_data(model, x, y, classes, image=len(split.input_shape) == 3)
    for f in out:
        f.data.update(common)
    return out


def _embedding_data(model, x, y, classes, *, image: bool) -> dict[str, np.ndarray]:
    """Labels, the model's predictions, class names and (image inputs) uint8 images of ``x``."""
    from ..analysis.errors import predictions

    data = {"labels": np.asarray(y).astype(np.int64),
            "predictions": np.asarray(predictions(model, x, y).pred).astype(np.int64),
            "class_names": np.asarray([str(c) for c in classes])}
    if image:
        a = np.asarray(x, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
        a = np.round(a * 255).astype(np.uint8)
        data["images"] = a[:, 0] if a.shape[1] == 1 else np.moveaxis(a, 1, -1)
    return data


class EmbeddingDisplay(DisplayMixin):
    """A 2D embedding (UMAP or PCA) of a layer's activations, fitted once, drawn as often as
    wanted.

    Parameters
    ----------
    embedding : vizkit.analysis.embedding.Embedding
        The embedded points, their labels and the fitted reducer.
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
    >>> import torch, matplotlib
    >>> matplotlib.use("Agg")
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> x, y = torch.rand(50, 1, 2, 2), torch.arange(50) % 2
    >>> disp = EmbeddingDisplay.from_model(model, x, layer="2", y=y, method="pca")
    >>> disp.plot(legend=False).embedding.points.shape
    (50, 2)
    """

    def __init__(self, embedding, *, class_names: Sequence[str] | None = None) -> None:
        self.embedding = embedding
        self.class_names = None if class_names is None else [str(c) for c in class_names]

    @classmethod
    def from_model(cls, model, data, *, layer: str | None = None, y=None, method: str = "umap",
                   n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0,
                   batch_size: int | None = None, class_names: Sequence[str] | None = None,
                   ax=None, **plot_kw) -> "EmbeddingDisplay":
        """Fit :func:`~vizkit.analysis.embedding.embed_activations` once on the inputs ``data``
        (``layer=None``: the raw inputs; labels ``y``), then :meth:`plot` (``plot_kw`` go
        there)."""
        from ..analysis.embedding import embed_activations

        res = embed_activations(model, data, layer, labels=y, method=method,
                                n_neighbors=n_neighbors, min_dist=min_dist, seed=seed,
                                batch_size=batch_size)
        return cls(res, class_names=class_names).plot(ax=ax, **plot_kw)

    def plot(self, ax=None, **kwargs) -> "EmbeddingDisplay":
        """Draw with :func:`plot_embedding` on ``ax`` (``None``: a new figure); ``kwargs``
        (``legend``, ``s``, ``alpha``, ``scatter_kw``, ...) go there.

        Returns
        -------
        EmbeddingDisplay
            ``self``, with ``ax_`` and ``figure_`` set.
        """
        ax = plot_embedding(self.embedding, ax=ax, class_names=self.class_names, **kwargs)
        return self._drawn(ax)
