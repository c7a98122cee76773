"""2D embeddings of a layer's activations: UMAP (umap-learn), PCA or t-SNE (scikit-learn).

:func:`embed_activations` streams the inputs through the model with :func:`vizkit.hooks.collect`,
flattens the chosen layer's activations and fits the reducer once; the returned
:class:`Embedding` keeps the fitted reducer, so new points land in the same plane
(``result.transform(activations)`` or ``result.transform(model, x_new)``; t-SNE places only the
points it was fitted on). ``layer=None`` embeds
the raw inputs, the reference against which learned layers are compared. :func:`embed` does the
same for any feature matrix.

Examples
--------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> x, y = torch.rand(50, 1, 2, 2), torch.arange(50) % 2
>>> res = embed_activations(model, x, "2", labels=y, method="pca")
>>> res.points.shape, res.transform(model, x[:3]).shape
((50, 2), (3, 2))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import check_model
from ._layers import ACTIVATIONS, NotMLP, is_rbf_layer, last_conv_layer, mlp_stack

__all__ = ["METHODS", "Embedding", "embed", "embed_activations", "embedding_layers",
           "layer_activations", "map_trustworthiness", "map_knn_accuracy"]

#: Valid values of ``method``.
METHODS = ("umap", "pca", "tsne")


@dataclass
class Embedding:
    """What :func:`embed_activations` and :func:`embed` return.

    Attributes
    ----------
    points : ndarray of shape (N, n_components)
        The embedded points, in the order of the inputs.
    labels : ndarray of shape (N,) or None
        The labels given, in the same order (int64).
    reducer : umap.UMAP, sklearn.decomposition.PCA or sklearn.manifold.TSNE
        The fitted reducer.
    method : {'umap', 'pca', 'tsne'}
        Which reducer made the map.
    layer : str or None
        The embedded layer (``None``: the raw inputs, or a feature matrix given to
        :func:`embed`).
    n_features : int
        Length of the flattened activation vector the reducer was fitted on.
    batch_size : int or None, default=None
        Inputs per forward pass when :meth:`transform` collects a model's activations (what
        :func:`embed_activations` was given; ``None``: :func:`vizkit.hooks.collect`'s default).
    """

    points: np.ndarray
    labels: np.ndarray | None
    reducer: Any
    method: str
    layer: str | None
    n_features: int
    batch_size: int | None = None

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def transform(self, activations_or_model, x: torch.Tensor | None = None) -> np.ndarray:
        """Place new points in the fitted plane.

        Parameters
        ----------
        activations_or_model : array-like of shape (M, ...) or nn.Module
            Activations of the same layer (flattened here), or the model, then ``x`` is required
            and the layer's activations are collected from it.
        x : Tensor of shape (M, ...), optional
            New inputs (with a model).

        Returns
        -------
        ndarray of float32 of shape (M, n_components)
            The new points on the fitted map.

        Raises
        ------
        ValueError
            For a t-SNE embedding: t-SNE has no map for new points (embed them together with
            the others, or use ``method='umap'`` or ``'pca'``). Also a model without ``x``,
            ``x`` without a model, or activations of another width than the fitted ones.
        """
        if self.method == "tsne":
            raise ValueError("a t-SNE embedding places only the points it was fitted on; embed the "
                             "new points together with them, or use method='umap' or 'pca', "
                             "which can transform new points.")
        if isinstance(activations_or_model, nn.Module):
            if x is None:
                raise ValueError("transform(model, x) needs the new inputs `x`.")
            feats = layer_activations(activations_or_model, x, self.layer,
                                      batch_size=self.batch_size)
        else:
            if x is not None:
                raise ValueError("`x` is only used with a model: transform(model, x).")
            feats = activations_or_model
        feats = _features(feats)
        if feats.shape[1] != self.n_features:
            raise ValueError(f"the reducer was fitted on {self.n_features} features per point; "
                             f"these activations have {feats.shape[1]}.")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            # a copy: UMAP hands back its own ``embedding_`` for the data it was fitted on
            return np.array(self.reducer.transform(feats), dtype=np.float32, copy=True)


def layer_activations(model: nn.Module, x: torch.Tensor, layer: str | None, *,
                      batch_size: int | None = None) -> torch.Tensor:
    """The activations of ``layer`` for inputs ``x``, flattened to ``[N, D]`` (CPU float32).

    What :func:`embed_activations` fits its map on: one row per input, the layer's whole output
    (all channels and positions of a conv layer) as one vector.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model (run in eval mode under ``no_grad`` by :func:`vizkit.hooks.collect`;
        left as it was). Not looked at when ``layer`` is ``None``.
    x : Tensor of shape (N, ...)
        The inputs, as the model takes them.
    layer : str or None
        Dotted layer name (see :func:`vizkit.hooks.layer_names`); ``None``: the inputs
        themselves, flattened.
    batch_size : int, optional
        Inputs per forward pass (default of :func:`vizkit.hooks.collect`).

    Returns
    -------
    Tensor of float32 of shape (N, D)
        ``D`` is the number of values the layer outputs per input.

    Raises
    ------
    TypeError
        ``x`` is not a tensor, or ``model`` is not an ``nn.Module``.
    ValueError
        ``layer`` is not a layer name of the model (the names are listed), or the layer returns
        a tuple or dict rather than one tensor.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU())
    >>> layer_activations(net, torch.rand(5, 1, 4, 4), "1").shape  # 3 channels x 2 x 2
    torch.Size([5, 12])
    >>> layer_activations(net, torch.rand(5, 1, 4, 4), None).shape  # the pixels
    torch.Size([5, 16])
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch.Tensor. Got {type(x).__name__} instead.")
    if layer is None:
        return x.detach().reshape(len(x), -1).float().cpu()
    check_model(model)
    names = [n for n, _ in model.named_modules() if n]
    if not isinstance(layer, str) or layer not in names:
        shown = ", ".join(map(repr, names[:40])) + (", ..." if len(names) > 40 else "")
        raise ValueError(f"`layer` must be None (the inputs) or one of the layer names of "
                         f"{type(model).__name__}: {shown} (vizkit.hooks.layer_names(model)). "
                         f"Got {layer!r} instead.")
    from ..hooks import collect

    acts = collect(model, x, [layer], batch_size=batch_size,
                   reduce=lambda t: t.reshape(t.shape[0], -1))[layer]
    if not isinstance(acts, torch.Tensor):
        raise ValueError(f"layer {layer!r} returns a {type(acts).__name__}, not one tensor; "
                         "embed one of its submodules instead.")
    return acts.float().cpu()


def embed(features, *, labels=None, method: str = "umap", n_neighbors: int = 15,
          min_dist: float = 0.1, n_components: int = 2, seed: int = 0) -> Embedding:
    """Fit a 2D (``n_components``) embedding of any feature matrix.

    Parameters
    ----------
    features : array-like or Tensor of shape (N, ...)
        Flattened to ``(N, D)``.
    labels : array-like of shape (N,), optional
    method, n_neighbors, min_dist, n_components, seed
        As in :func:`embed_activations`.

    Returns
    -------
    Embedding (with ``layer=None``)

    Examples
    --------
    >>> import numpy as np
    >>> embed(np.random.default_rng(0).normal(size=(20, 5)), method="pca").points.shape
    (20, 2)
    """
    return _fit(_features(features), labels, method=method, n_neighbors=n_neighbors,
                min_dist=min_dist, n_components=n_components, seed=seed, layer=None)


def embed_activations(model: nn.Module, x: torch.Tensor, layer: str | None, *, labels=None,
                      method: str = "umap", n_neighbors: int = 15, min_dist: float = 0.1,
                      n_components: int = 2, seed: int = 0,
                      batch_size: int | None = None) -> Embedding:
    """Embed the activations of ``layer`` over the inputs ``x`` in 2D.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model (run in eval mode under ``no_grad``; left as it was).
    x : Tensor of shape (N, ...)
        The inputs, e.g. the test images.
    layer : str or None
        Dotted layer name (see :func:`vizkit.hooks.layer_names`); its output is flattened per
        example. ``None`` embeds the raw inputs.
    labels : array-like of shape (N,), optional
        Kept, in order, in the result (for colouring).
    method : {'umap', 'pca', 'tsne'}, default='umap'
        ``'umap'``: umap-learn with ``random_state=seed`` (reproducible, hence single-threaded).
        ``'pca'``: scikit-learn's PCA, the fast, linear option.
        ``'tsne'``: scikit-learn's t-SNE (Barnes-Hut for up to 3 components, PCA
        initialization, ``random_state=seed``); it cannot place new points afterwards.
    n_neighbors : int, default=15
        UMAP's neighbourhood size (local vs global structure); for t-SNE, its perplexity (the
        effective number of neighbours each point keeps close). Must be below N.
    min_dist : float, default=0.1
        UMAP's minimum distance between embedded points (how tightly clusters pack).
    n_components : int, default=2
    seed : int, default=0
    batch_size : int, optional
        Inputs per forward pass when collecting (default of :func:`vizkit.hooks.collect`).

    Returns
    -------
    Embedding
        ``points`` of shape ``(N, n_components)`` in the order of ``x``, the labels, and the
        fitted reducer (its :meth:`Embedding.transform` places new inputs on the same map).

    Raises
    ------
    ValueError
        Unknown ``method`` or ``layer`` (the valid ones are listed), mismatched ``labels``,
        ``n_neighbors`` not below the number of points, ``n_components`` not below it either.
    TypeError
        ``x`` is not a tensor.

    See Also
    --------
    embed : the same for a feature matrix.
    map_trustworthiness : how well the map keeps the layer's neighbourhoods.

    Examples
    --------
    PCA of a 3-unit hidden layer keeps the two directions of largest variance; of the 2 logits,
    it keeps all of their variance (it only centres and rotates them):

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> x = torch.rand(60, 4, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0.5).long()
    >>> hidden = embed_activations(net, x, "1", labels=y, method="pca")
    >>> hidden.points.shape, hidden.n_features, hidden.labels[:5].tolist() == y[:5].tolist()
    ((60, 2), 3, True)
    >>> logits = embed_activations(net, x, "2", method="pca")
    >>> round(float(logits.reducer.explained_variance_ratio_.sum()), 6)
    1.0
    >>> logits.transform(net, x[:3]).shape  # new inputs land on the same map
    (3, 2)
    """
    _check_method(method)
    feats = layer_activations(model, x, layer, batch_size=batch_size)
    res = _fit(feats.numpy(), labels, method=method, n_neighbors=n_neighbors, min_dist=min_dist,
               n_components=n_components, seed=seed, layer=layer)
    res.batch_size = batch_size
    return res


# --------------------------------------------------------------------------------------------
def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(map(repr, METHODS))}. "
                         f"Got {method!r} instead.")


def _features(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float32)
    if a.ndim < 2:
        raise ValueError(f"activations must be a batch [N, ...]. Got shape {a.shape} instead.")
    return a.reshape(a.shape[0], -1)


def _fit(feats: np.ndarray, labels, *, method, n_neighbors, min_dist, n_components, seed,
         layer) -> Embedding:
    _check_method(method)
    n = feats.shape[0]
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or n_components < 1:
        raise ValueError(f"`n_components` must be a positive integer. Got {n_components!r} instead.")
    if n <= n_components:
        raise ValueError(f"need more points than `n_components` ({n_components}). Got {n}.")
    if labels is not None:
        labels = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"`labels` must have one entry per point: {n} points, "
                             f"{len(labels)} labels.")
    if method == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=int(n_components), random_state=seed)
        points = reducer.fit_transform(feats)
    elif method == "tsne":
        _check_neighbors(n_neighbors, n)
        reducer, points = _tsne(feats, n_neighbors=n_neighbors, n_components=n_components,
                                seed=seed)
    else:
        _check_neighbors(n_neighbors, n)
        if not (isinstance(min_dist, (int, float)) and min_dist >= 0):
            raise ValueError(f"`min_dist` must be a number >= 0. Got {min_dist!r} instead.")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            warnings.filterwarnings("ignore", category=FutureWarning)
            import umap

            reducer = umap.UMAP(n_neighbors=int(n_neighbors), min_dist=float(min_dist),
                                n_components=int(n_components), random_state=seed, n_jobs=1)
            points = reducer.fit_transform(feats)
    return Embedding(points=np.asarray(points, dtype=np.float32), labels=labels, reducer=reducer,
                     method=method, layer=layer, n_features=int(feats.shape[1]))


def _check_neighbors(n_neighbors, n: int) -> None:
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, (int, np.integer)) \
            or n_neighbors < 2:
        raise ValueError(f"`n_neighbors` must be an integer >= 2. Got {n_neighbors!r} instead.")
    if n_neighbors >= n:
        raise ValueError(f"`n_neighbors` ({n_neighbors}) must be smaller than the number of "
                         f"points ({n}).")


def _tsne(feats: np.ndarray, *, n_neighbors: int, n_components: int, seed: int):
    """scikit-learn's t-SNE with perplexity ``n_neighbors``, seeded, PCA-initialized; returns
    ``(reducer, points)``."""
    from sklearn.manifold import TSNE

    reducer = TSNE(n_components=int(n_components), perplexity=float(n_neighbors), init="pca",
                   method="barnes_hut" if n_components < 4 else "exact", random_state=seed)
    return reducer, reducer.fit_transform(feats)


def map_trustworthiness(features, points, *, n_neighbors: int = 10) -> float:
    """How faithful a 2D map is to the space it comes from: scikit-learn's trustworthiness.

    1 when every point's ``n_neighbors`` nearest neighbours on the map are also near it in
    ``features``; lower when the map brings together points that are far apart there (Venna and
    Kaski 2001). Unlike a distance on a t-SNE or UMAP map, it only asks about neighbourhoods,
    which those maps are made to keep.

    Parameters
    ----------
    features : array-like of shape (N, ...)
        The original points (flattened to ``(N, D)``), e.g. a layer's activations.
    points : array-like of shape (N, d)
        Their map.
    n_neighbors : int, default=10
        Must be below ``N / 2``.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        ``features`` and ``points`` have different numbers of rows, or ``n_neighbors`` is not
        below half of them.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(40, 2))
    >>> map_trustworthiness(x, x * 3.0)  # a scaled copy keeps every neighbourhood
    1.0
    """
    from sklearn.manifold import trustworthiness

    f = _features(features)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or len(pts) != len(f):
        raise ValueError(f"`points` must be (N, d) with one row per feature row ({len(f)}). Got "
                         f"shape {pts.shape} instead.")
    if isinstance(n_neighbors, bool) or int(n_neighbors) != n_neighbors or \
            not 1 <= n_neighbors < len(f) / 2:
        raise ValueError(f"`n_neighbors` must be an integer from 1 to below N / 2 "
                         f"({len(f) / 2:g}). Got {n_neighbors!r} instead.")
    return float(round(trustworthiness(f.astype(np.float64), pts, n_neighbors=int(n_neighbors)),
                       12))


def map_knn_accuracy(points, labels, *, n_neighbors: int = 10, folds: int = 5) -> float:
    """How well a 2D map itself shows the classes: the cross-validated accuracy of a k-nearest-
    neighbour vote on the map's own points.

    Class separation measured in a layer's space says what the layer holds; this says what the
    picture shows a viewer: 1 when every point's map neighbours share its class, about the
    largest class's share when the colours are mixed. Folds are stratified and not shuffled (no
    randomness); ``folds`` shrinks to the smallest class's size, and ``n_neighbors`` to the
    smallest class's share of a training fold (more would outvote a small class).

    Parameters
    ----------
    points : array-like of shape (N, d)
        The map.
    labels : array-like of shape (N,)
        The class of each point.
    n_neighbors : int, default=10
        Neighbours that vote (at most the training points of a fold).
    folds : int, default=5
        Cross-validation folds; at most the size of the smallest class.

    Returns
    -------
    float
        In [0, 1]; NaN when a class has a single point or there is one class only (nothing to
        cross-validate).

    Raises
    ------
    ValueError
        ``points`` is not ``(N, d)`` with one row per label, or ``n_neighbors`` or ``folds`` is
        not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> apart = rng.normal(size=(40, 2)) + 10 * y[:, None]   # two far clusters
    >>> mixed = rng.normal(size=(40, 2))                       # colours mixed
    >>> map_knn_accuracy(apart, y), map_knn_accuracy(mixed, y) < 0.7
    (1.0, True)
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    pts = np.asarray(points, dtype=np.float64)
    y = np.asarray(labels).ravel()
    if pts.ndim != 2 or len(pts) != len(y):
        raise ValueError(f"`points` must be (N, d) with one row per label ({len(y)}). Got shape "
                         f"{pts.shape} instead.")
    for name, v in (("n_neighbors", n_neighbors), ("folds", folds)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer. Got {v!r} instead.")
    _, counts = np.unique(y, return_counts=True)
    k_folds = int(min(folds, counts.min()))
    if len(counts) < 2 or k_folds < 2:
        return float("nan")
    # no more neighbours than the smallest class has in a training fold: more would outvote a
    # small class by the others
    k = max(1, min(int(n_neighbors), int(counts.min()) * (k_folds - 1) // k_folds))
    scores = cross_val_score(KNeighborsClassifier(k), pts, y, cv=StratifiedKFold(k_folds))
    return float(scores.mean())


def embedding_layers(model: nn.Module) -> list[tuple[str, str]]:
    """``(layer name, description)`` of the learned layers worth embedding for ``model``.

    Read from the model's structure (no forward pass), so a user's own model is read like a
    vizkit one:

    * an MLP (an ``nn.Sequential`` of Linear layers and activations, or a model whose ``layers``
      is one, as ``PTDeep``): its first and its last hidden activation;
    * a CNN (a ``Conv2d`` before the head): the conv features (the module holding the conv
      stack, ``features`` in ``ConvNet``; flattened), then the 2D bottleneck when a ``Linear``
      feeds an RBF layer (``RBFNet``), else the last hidden activation of the classifier;
    * any other model: the ``Linear`` feeding an RBF layer, if any, else its last ReLU-like
      activation, if any.

    A model without a hidden layer (logistic regression) has none: only the input is embedded.

    Parameters
    ----------
    model : nn.Module
        The model to read.

    Returns
    -------
    list of (str, str)
        Dotted layer names for :func:`embed_activations` with a short description of each, in
        forward order; empty when the model has no hidden layer.

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> embedding_layers(PTDeep([4, 6, 3]))
    [('layers.1', 'last hidden ReLU (6 units)')]
    >>> from torch import nn
    >>> embedding_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(),
    ...                                nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 2)))
    [('1', 'conv features (flattened)'), ('4', 'hidden Tanh of the classifier')]
    """
    mlp = _mlp_layers(model)
    if mlp is not None:
        return mlp
    named = list(model.named_modules())
    out = []
    conv = last_conv_layer(model)
    if conv is not None:
        out.append((_conv_features(model, named, conv), "conv features (flattened)"))
    bottleneck = _rbf_bottleneck(named)
    if bottleneck is not None:
        out.append(bottleneck)
    elif conv is not None:
        head = named[_head_start(named, conv):]
        last_linear = max((k for k, (_, m) in enumerate(head) if isinstance(m, nn.Linear)),
                          default=0)
        acts = [(n, m) for n, m in head[:last_linear] if isinstance(m, ACTIVATIONS)]
        if acts:
            out.append((acts[-1][0], f"hidden {type(acts[-1][1]).__name__} of the classifier"))
    if out:
        return out
    names = [n for n, m in named if n and isinstance(m, ACTIVATIONS)]
    return [(names[-1], f"last activation ({names[-1]})")] if names else []



def _mlp_layers(model: nn.Module) -> list[tuple[str, str]] | None:
    """The first and last hidden activation of an MLP; ``None`` for a model that is not one."""
    try:
        _, items = mlp_stack(model)
    except NotMLP:
        return None
    linears = [i for i, (_, m) in enumerate(items) if isinstance(m, nn.Linear)]
    if not linears:
        return None
    hidden = [i for i, (_, m) in enumerate(items[:linears[-1]])
              if not isinstance(m, (nn.Linear, nn.Dropout, nn.BatchNorm1d))]
    out = []
    for i in sorted({hidden[0], hidden[-1]}) if hidden else []:
        which = "last" if i == hidden[-1] else "first"
        width = [m for _, m in items[:i] if isinstance(m, nn.Linear)][-1].out_features
        out.append((items[i][0], f"{which} hidden {type(items[i][1]).__name__} ({width} units)"))
    return out


def _head_start(named: list, conv: str) -> int:
    """Index in ``named`` of the first Flatten/Linear after the conv layer ``conv``."""
    k = [n for n, _ in named].index(conv)
    return next((j for j in range(k + 1, len(named))
                 if isinstance(named[j][1], (nn.Flatten, nn.Linear))), len(named))


def _conv_features(model: nn.Module, named: list, conv: str) -> str:
    """The module whose output is the conv features: the top-level child holding the conv
    stack (when it holds no Linear), else the last leaf before the head."""
    top = conv.split(".")[0]
    if "." in conv and not any(isinstance(m, nn.Linear)
                               for m in model.get_submodule(top).modules()):
        return top
    before = [n for n, m in named[:_head_start(named, conv)]
              if n and not any(True for _ in m.children())]
    return before[-1]


def _rbf_bottleneck(named: list) -> tuple[str, str] | None:
    """``(name, description)`` of the last ``Linear`` before the first RBF layer, if any."""
    for k, (_, m) in enumerate(named):
        if is_rbf_layer(m):
            lin = [(n, mm) for n, mm in named[:k] if isinstance(mm, nn.Linear)]
            if lin:
                return lin[-1][0], (f"the {lin[-1][1].out_features}D bottleneck before the RBF "
                                    "layer")
            return None
    return None
