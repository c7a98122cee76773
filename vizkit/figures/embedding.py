"""Figure family ``embedding``: UMAP, t-SNE and PCA of up to 1000 test points, the raw input beside
the model's learned layers (:func:`vizkit.analysis.embedding.embedding_layers`), coloured by class;
and :class:`EmbeddingDisplay`, one embedding computed once and drawn as often as wanted.

The maps come from :mod:`vizkit.analysis.embedding`, drawn by :mod:`vizkit.plot.embedding`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..plot.embedding import plot_embedding
from ..plot.figure import Figure, NotApplicable
from ._display import DisplayMixin

__all__ = ["NAME", "applies", "figures", "EmbeddingDisplay"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "embedding"


def applies(model, split) -> str | None:
    """Whether the ``embedding`` family fits: ``None`` if so, else the reason in words.

    The family reads the activations of a torch model's layers, so it fits every
    ``nn.Module`` (a model without hidden layers gets the raw input's map only).

    Parameters
    ----------
    model : nn.Module or estimator
        The model (only its type is read here).
    split : vizkit.data.Split
        Its data (any input shape).

    Returns
    -------
    str or None
        ``None`` for a torch model, else why not.

    Examples
    --------
    >>> import torch
    >>> from sklearn.linear_model import LogisticRegression
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x, y = torch.rand(6, 2), torch.arange(6) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (2,), fingerprint(x, y))
    >>> applies(PTDeep([2, 5, 2]), split) is None
    True
    >>> applies(LogisticRegression(), split)
    "embeddings read a torch model's layers; LogisticRegression is not an nn.Module."
    """
    from torch import nn

    if not isinstance(model, nn.Module):
        return f"embeddings read a torch model's layers; {type(model).__name__} is not an nn.Module."
    return None


_MAX_POINTS = 1000
_TRUST_K = 10  # neighbours of the trustworthiness score
#: below this 10-NN accuracy on its own 2-D points, a map is said to show the classes only partly
_SHOWN_WELL = 0.9


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's figures: UMAP, t-SNE and PCA of up to 1000 test points, one panel per layer.

    Each panel maps one layer's activations of the same test points to the plane, coloured
    by true class: the raw input first, then the layers of
    :func:`vizkit.analysis.embedding.embedding_layers`. Where the colours separate from left
    to right, the layers have learned features that tell the classes apart. A map can mislead
    (UMAP and t-SNE keep neighbourhoods, not distances), so two measures are quoted per panel:
    the class separation in the layer's own space (share of the variance between the class
    means) and the map's trustworthiness (scikit-learn, 10 neighbours). The caption's opening
    "the classes come apart layer by layer" is used only when the separation never drops.

    Parameters
    ----------
    model : nn.Module
        The trained torch model.
    split : vizkit.data.Split
        Its data: the first 1000 test examples are embedded.
    meta : dict, optional
        The checkpoint's metadata (not used by this family).
    seed : int, default=0
        Seed of UMAP and t-SNE (the same seed gives the same maps).

    Returns
    -------
    list of Figure
        ``embedding_umap``, ``embedding_tsne`` and ``embedding_pca``. ``data``: ``coords`` [n, 2]
        (the last panel: the deepest layer shown), ``panel_coords`` [panels, n, 2],
        ``panel_separation`` [panels] (class separation in each layer's own space),
        ``panel_trustworthiness`` [panels] (of each map), ``panel_map_knn_accuracy`` [panels]
        (a 10-nearest-neighbour vote on each map's own points: what the picture shows),
        ``labels`` [n], ``predictions``
        [n], ``class_names``, and for image inputs ``images`` [n, H, W] (or [n, H, W, C]) uint8.

    Raises
    ------
    NotApplicable
        The model is not a torch ``nn.Module``.

    See Also
    --------
    EmbeddingDisplay : One layer's map, fitted once and drawn as often as wanted.

    Examples
    --------
    A full call fits UMAP and t-SNE on every layer (UMAP's numba code compiles on its first use,
    which takes a minute: too slow for an example; ``tests/test_figures_embedding.py`` checks
    the captions against the arrays). A model that is not a torch module is refused:

    >>> import torch
    >>> from sklearn.dummy import DummyClassifier
    >>> from vizkit.data import Split, fingerprint
    >>> x, y = torch.rand(6, 2), torch.arange(6) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (2,), fingerprint(x, y))
    >>> figures(DummyClassifier(), split)
    Traceback (most recent call last):
    ...
    vizkit.plot.figure.NotApplicable: embeddings read a torch model's layers; DummyClassifier is not an nn.Module.
    """
    import matplotlib.pyplot as plt

    from ..analysis.bottleneck import class_separation
    from ..analysis.embedding import (embed_activations, embedding_layers, layer_activations,
                                      map_knn_accuracy, map_trustworthiness)

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    n = min(_MAX_POINTS, len(split.y_test))
    x, y = split.x_test[:n], split.y_test[:n]
    layers = [(None, "input (raw pixels)" if len(split.input_shape) == 3 else "input")]
    layers += embedding_layers(model)
    classes = list(split.classes)
    labels = np.asarray(y)
    # measured where distances mean something: in each layer's own space (the same for all maps)
    feats = [layer_activations(model, x, layer).numpy() for layer, _ in layers]
    seps = [class_separation(f, labels) for f in feats]
    k_trust = min(_TRUST_K, max(1, (n - 1) // 2))
    names = ["the raw input"] + [repr(l) for l, _ in layers[1:]]
    widths = [int(f.shape[1]) for f in feats]
    out = []
    for method in ("umap", "tsne", "pca"):
        cols = len(layers)
        side = min(4.4, 13.0 / cols)
        fig, axes = plt.subplots(1, cols, figsize=(side * cols + 1.9, side + 1.0), squeeze=False,
                                 layout="constrained")
        coords, trust, shown = [], [], []
        for k, (layer, what) in enumerate(layers):
            res = embed_activations(model, x, layer, labels=y, method=method, seed=seed)
            coords.append(np.asarray(res.points[:, :2], dtype=np.float32))
            trust.append(map_trustworthiness(feats[k], coords[-1], n_neighbors=k_trust))
            shown.append(map_knn_accuracy(coords[-1], labels))
            ax = axes[0, k]
            ax.set_title(f"{what}\n{'' if layer is None else repr(layer) + ', '}"
                         f"{res.n_features} features\nseparation {seps[k]:.2f}, "
                         f"trustworthiness {trust[-1]:.2f}", fontsize=12)
            plot_embedding(res, ax=ax, class_names=classes, legend=k == cols - 1,
                           label_classes=len(classes) <= 20,
                           legend_kw={"loc": "center left", "bbox_to_anchor": (1.01, 0.5),
                                      "title": "class", "title_fontsize": 12, "fontsize": 12})
            ax.xaxis.label.set_size(12)
            ax.yaxis.label.set_size(12)
            ax.tick_params(labelsize=12)
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
        fig.suptitle(f"{head} of {n} test examples, coloured by true class", fontsize=13)
        caption = (f"The classes come apart layer by layer, left to right: {head} of the first "
                   f"{n} test examples ({len(np.unique(labels))} classes of {split.name}): "
                   + ", ".join(f"{nm} ({w} features)" for nm, w in zip(names, widths))
                   + ("" if len(layers) > 1 else " only (the model has no hidden layer)")
                   + f". {look} Class separation, measured in each layer's own space, not on "
                   "the map (the share of the activations' variance between the class means: "
                   "0 = mixed, 1 = one point per class): "
                   + ", ".join(f"{nm} {v:.2f}" for nm, v in zip(names, seps))
                   + f". Trustworthiness of each map (scikit-learn, {k_trust} neighbours: 1 = "
                   "every map neighbourhood is a neighbourhood in the layer too): "
                   + ", ".join(f"{nm} {v:.2f}" for nm, v in zip(names, trust))
                   + ". How well each map itself shows the classes (accuracy of a 10-nearest-"
                   "neighbour vote on its own 2-D points, 5-fold): "
                   + ", ".join(f"{nm} {v:.2f}" for nm, v in zip(names, shown)) + ".")
        opening = "The classes come apart layer by layer, left to right: "
        if not all(b >= a for a, b in zip(seps, seps[1:])):
            caption = caption.replace(opening, "Class colours across the layers, left to right: ")
        elif np.isfinite(shown[-1]) and shown[-1] < _SHOWN_WELL:
            # the layers separate the classes, but this picture does not show it: say so first
            caption = caption.replace(opening, (
                "The classes come apart layer by layer in the layers' own spaces, but this map "
                f"shows it only partly (a 10-nearest-neighbour vote on the last panel's 2-D "
                f"points gets {shown[-1]:.2f} right): "))
        out.append(Figure(id=f"embedding_{method}", fig=fig, caption=caption,
                          data={"coords": coords[-1], "panel_coords": np.stack(coords),
                                "panel_separation": np.asarray(seps),
                                "panel_trustworthiness": np.asarray(trust),
                                "panel_map_knn_accuracy": np.asarray(shown)}))
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
        """Draw with :func:`~vizkit.plot.embedding.plot_embedding` on ``ax`` (``None``: a new
        figure); ``kwargs``
        (``legend``, ``s``, ``alpha``, ``scatter_kw``, ...) go there.

        Returns
        -------
        EmbeddingDisplay
            ``self``, with ``ax_`` and ``figure_`` set.
        """
        ax = plot_embedding(self.embedding, ax=ax, class_names=self.class_names, **kwargs)
        return self._drawn(ax)
