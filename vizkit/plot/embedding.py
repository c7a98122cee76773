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

from .style import class_colors

__all__ = ["plot_embedding"]

_AXIS = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PC"}
_NAME = {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}


def plot_embedding(result, *, ax=None, class_names: Sequence[str] | None = None,
                   n_classes: int | None = None, s: float | None = None, alpha: float = 0.8,
                   legend: bool = True, shuffle: bool = True, scatter_kw: dict | None = None,
                   legend_kw: dict | None = None, label_classes: bool = False):
    """Scatter ``result.points`` (first two components) coloured by ``result.labels``.

    Each point is one input; near points had near activations (UMAP, t-SNE: near neighbours;
    PCA: the two directions of largest variance). The colours are the classes, the same as in
    every vizkit figure, so a map where the colours form islands shows a layer that separates
    the classes. UMAP and t-SNE axes carry no units, so their ticks are removed.

    Parameters
    ----------
    result : vizkit.analysis.embedding.Embedding
        The points ``(N, >= 2)``, their ``labels`` (or None: one colour), the ``method`` (names
        the axes) and the ``layer`` (names the title).
    ax : matplotlib.axes.Axes, default=None
        A new 5 x 5 inch figure when None.
    class_names : sequence of str, default=None
        Legend labels indexed by class id; their number fixes the number of classes (and so the
        colours).
    n_classes : int, default=None
        Number of classes when ``class_names`` is not given; ``max(labels) + 1`` when None.
    s : float, default=None
        Marker area (points squared); ``None`` picks ``5000 / N`` clipped to [2, 30].
    alpha : float, default=0.8
        Opacity of the markers.
    legend : bool, default=True
        A legend with one entry per class present.
    shuffle : bool, default=True
        Draw the points in a fixed pseudo-random order (seed 0), so that no class is always on
        top.
    scatter_kw : dict, default=None
        Passed to ``ax.scatter``.
    legend_kw : dict, default=None
        Passed to ``ax.legend`` (e.g. ``{"loc": "center left", "bbox_to_anchor": (1, 0.5)}`` to
        put it outside the axes).
    label_classes : bool, default=False
        Write each class's name at the median of its points (dark text, white outline), so a
        class can be found without matching similar colours against the legend; the texts are
        ``ax.vizkit_class_labels``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on. The scatter is ``ax.collections[-1]``; its point ``k`` is
        ``result.points[order[k]]`` with ``order`` stored in
        ``ax.collections[-1].vizkit_order``. An empty label or title is filled in
        (``'PC 1'``, ``'PCA of the input'``); one already set is kept.

    Raises
    ------
    ValueError
        ``result.points`` has fewer than two components, or a label is outside
        ``[0, n_classes)``.

    See Also
    --------
    vizkit.analysis.embedding.embed_activations : Computes ``result`` from a model's layer.
    vizkit.figures.EmbeddingDisplay : Fits once, draws as often as wanted.

    Examples
    --------
    Three hand-placed points of two classes (no fitting needed):

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.embedding import Embedding
    >>> res = Embedding(points=np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
    ...                 labels=np.array([0, 1, 1]), reducer=None, method="pca", layer=None,
    ...                 n_features=4)
    >>> fig, ax = plt.subplots()
    >>> ax = plot_embedding(res, ax=ax, class_names=["odd", "even"], shuffle=False)
    >>> ax.collections[-1].get_offsets().tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    >>> ax.get_xlabel(), ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('PC 1', 'PCA of the input', ['odd', 'even'])
    >>> plot_embedding(res, class_names=["odd"])  # label 1 needs a second class
    Traceback (most recent call last):
    ...
    ValueError: labels must be in [0, 0] for 1 classes. Got labels from 0 to 1.
    >>> plt.close("all")
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
    ax.vizkit_class_labels = []
    if label_classes and labels is not None:
        import matplotlib.patheffects as pe

        for c in np.unique(labels):
            mid = np.median(pts[labels == c, :2], axis=0)
            name = class_names[c] if class_names is not None else str(c)
            ax.vizkit_class_labels.append(ax.text(
                mid[0], mid[1], name, fontsize=14, fontweight="bold", ha="center", va="center",
                color="black", zorder=5,
                path_effects=[pe.withStroke(linewidth=3, foreground="white")]))
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
