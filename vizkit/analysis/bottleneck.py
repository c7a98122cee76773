"""The 2D bottleneck view of seed 000: features before the RBF layer, centres, sigmas, regions.

For a network with a 2-wide layer (``RBFNet``'s ``bottleneck`` feeding its ``RBFLayer``, or any
model with a ``Linear(_, 2)`` inside), :func:`bottleneck_features` returns the 2D features of the
given inputs, the RBF centres and widths when there is an :class:`~vizkit.models.RBFLayer`, and the
decision regions of the rest of the network (the "head") over the plane, as a
:class:`~vizkit.analysis.decision_surface.DecisionSurface`.

:func:`find_bottleneck` says which layer that is (or ``None``); :func:`bottleneck_head` returns the
head as a module mapping plane points ``(n, 2)`` to logits, usable with
:func:`~vizkit.analysis.decision_surface.decision_surface` directly.

Examples
--------
>>> import torch
>>> from vizkit.models import RBFNet
>>> net = RBFNet(image_size=8, channels=(4,), n_centers=5).eval()
>>> res = bottleneck_features(net, torch.rand(6, 1, 8, 8), grid_resolution=20)
>>> res.features.shape, res.centers.shape, res.sigma.shape, res.surface.labels.shape
((6, 2), (5, 2), (5,), (20, 20))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .._torch import check_model, resolve_layer, training_mode
from ._layers import is_rbf_layer
from .decision_surface import DecisionSurface, decision_surface

__all__ = ["Bottleneck", "BottleneckLayer", "bottleneck_features", "bottleneck_head",
           "class_separation", "find_bottleneck"]

_DEFAULT_BATCH = 1024


@dataclass(frozen=True)
class BottleneckLayer:
    """Where the 2D features are read.

    Attributes
    ----------
    name : str
        Dotted name of the module (``'rbf'`` for an RBFNet, ``'layers.2'``...).
    use_input : bool
        True: the features are that module's input (an RBF layer); False: its output.
    rbf : str or None
        Dotted name of the RBF layer the features feed, if any.
    """

    name: str
    use_input: bool
    rbf: str | None = None


@dataclass
class Bottleneck:
    """Result of :func:`bottleneck_features`.

    Attributes
    ----------
    features : ndarray of shape (N, 2)
        The 2D features of the inputs.
    labels : ndarray of int of shape (N,) or None
        The labels passed in as ``y`` (for colouring).
    predictions : ndarray of int of shape (N,)
        The model's predicted class for each input.
    centers : ndarray of shape (K, 2) or None
        RBF centres (``None`` without an RBF layer).
    sigma : ndarray of shape (K,) or None
        RBF widths, as stored (the layer uses ``sigma**2``, so its sign does not matter).
    surface : DecisionSurface or None
        The head's decision regions over the plane (``None`` with ``regions=False``).
    layer : BottleneckLayer
    """

    features: np.ndarray
    labels: np.ndarray | None
    predictions: np.ndarray
    centers: np.ndarray | None
    sigma: np.ndarray | None
    surface: DecisionSurface | None
    layer: BottleneckLayer


def find_bottleneck(model: nn.Module, *, layer: str | None = None) -> BottleneckLayer | None:
    """Find the 2D layer of ``model`` (``None`` when there is none).

    Rules, in order: ``layer`` when given (an RBF layer's input, any other module's output);
    the first RBF layer with 2 inputs (its input; an RBF layer is recognized by its parameters,
    ``centers`` of shape ``(K, 2)`` and ``sigma`` of shape ``(K,)``: vizkit's
    :class:`~vizkit.models.RBFLayer` or a user's own); the first
    ``nn.Linear`` with ``out_features == 2`` that is not the last ``nn.Linear`` of the model (its
    output: a hidden 2-wide layer, not a 2-class output).

    Parameters
    ----------
    model : nn.Module
        The model to search.
    layer : str, optional
        Dotted name of the layer to use instead of searching.

    Returns
    -------
    BottleneckLayer or None
        The layer's name, whether the features are its input (an RBF layer) or its output, and
        the RBF layer that follows (if any); ``None`` when the model has no 2D layer.

    Raises
    ------
    ValueError
        ``layer`` is not a submodule name (see :func:`vizkit.hooks.layer_names`).

    Examples
    --------
    >>> from torch import nn
    >>> from vizkit.models import RBFNet
    >>> find_bottleneck(RBFNet(image_size=8, channels=(4,), n_centers=5)).name
    'rbf'
    >>> mlp = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 3))
    >>> find_bottleneck(mlp).name, find_bottleneck(nn.Linear(4, 2)) is None
    ('0', True)
    """
    check_model(model)
    modules = dict(model.named_modules())
    if layer is not None:
        if is_rbf_layer(resolve_layer(model, layer)):
            return BottleneckLayer(layer, True, layer)
        return BottleneckLayer(layer, False, _rbf_after(modules, layer))
    for name, m in modules.items():
        if is_rbf_layer(m) and m.centers.shape[1] == 2:
            return BottleneckLayer(name, True, name)
    linears = [(n, m) for n, m in modules.items() if isinstance(m, nn.Linear)]
    for name, m in linears[:-1]:
        if m.out_features == 2:
            return BottleneckLayer(name, False, _rbf_after(modules, name))
    return None


def _rbf_after(modules: dict, name: str) -> str | None:
    """The first RBF layer defined after ``name`` (in ``named_modules`` order)."""
    seen = False
    for n, m in modules.items():
        if n == name:
            seen = True
        elif seen and is_rbf_layer(m):
            return n
    return None


def _resolve(model: nn.Module, layer: str | None) -> BottleneckLayer:
    found = find_bottleneck(model, layer=layer)
    if found is None:
        raise ValueError(f"{type(model).__name__} has no 2D layer: the bottleneck view needs a layer "
                         "with 2 outputs before the classifier head (an RBFLayer(2, K) or a hidden "
                         "Linear(_, 2)), such as `--model rbf`.")
    return found


class _PlaneHead(nn.Module):
    """Maps 2D bottleneck points to logits by running the model on a fixed example input and
    replacing the bottleneck's value by the points with :func:`vizkit.hooks.patch` (works for
    any model whose output depends on the input only through the bottleneck)."""

    def __init__(self, model: nn.Module, where: BottleneckLayer, example: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.where = where
        self.register_buffer("example", example[:1].detach().clone(), persistent=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        from ..hooks import patch

        module = resolve_layer(self.model, self.where.name)
        if self.where.use_input:  # the layer reads the plane: its output is the layer of z
            def replace(out):
                return module.forward(z.to(out.dtype))
        else:  # the layer makes the plane: its output is z
            def replace(out):
                return z.to(out.dtype)
        x = self.example.expand(len(z), *self.example.shape[1:])
        with patch(self.model, {self.where.name: replace}):
            return self.model(x)


def bottleneck_head(model: nn.Module, *, layer: str | None = None,
                    example: torch.Tensor | None = None) -> nn.Module:
    """The part of ``model`` after its 2D layer, as a module from points ``(n, 2)`` to logits.

    For an ``RBFNet`` (attributes ``rbf`` and ``head``, RBF at the bottleneck) this is
    ``head(rbf(z))``; for other models the model is run on ``example`` (one input, required)
    with the bottleneck's value replaced by ``z``.

    Parameters
    ----------
    model : nn.Module
        A model with a 2D layer (:func:`find_bottleneck`).
    layer : str, optional
        Dotted name of the 2D layer; default found by :func:`find_bottleneck`.
    example : torch.Tensor, optional
        One input of the model (a batch of one); needed unless the model is an ``RBFNet``.

    Returns
    -------
    nn.Module
        Points ``(n, 2)`` to logits ``(n, C)``, in the model's training mode.

    Raises
    ------
    ValueError
        ``example`` is missing where it is needed, or the model has no 2D layer.

    Examples
    --------
    >>> import torch
    >>> from vizkit.models import RBFNet
    >>> net = RBFNet(image_size=8, channels=(4,), n_centers=5)
    >>> z = torch.randn(3, 2)
    >>> torch.allclose(bottleneck_head(net)(z), net.head(net.rbf(z)))
    True
    """
    where = _resolve(model, layer)
    if (where.use_input and where.name == "rbf" and isinstance(getattr(model, "head", None), nn.Module)
            and is_rbf_layer(getattr(model, "rbf", None)) and hasattr(model, "embed")):
        return nn.Sequential(model.rbf, model.head).train(model.training)
    if example is None:
        raise ValueError(f"`example` (one input of the model) is needed to evaluate the head of "
                         f"{type(model).__name__} after layer {where.name!r}.")
    return _PlaneHead(model, where, torch.as_tensor(example)).train(model.training)


@torch.no_grad()
def _features(model: nn.Module, x: torch.Tensor, where: BottleneckLayer, batch_size: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, 2), predictions (N,))`` in eval mode, batched, via :func:`vizkit.hooks.record`."""
    from ..hooks import record

    feats, preds = [], []
    for i in range(0, len(x), batch_size):
        with record(model, [where.name], inputs=where.use_input, outputs=not where.use_input,
                    to="cpu") as rec:
            out = model(x[i:i + batch_size])
        n_calls = rec.n_calls(where.name)
        if n_calls != 1:
            raise ValueError(f"layer {where.name!r} ran {n_calls} times in one forward pass; the "
                             "bottleneck view needs it to run exactly once.")
        f = (rec.inputs if where.use_input else rec)[where.name]
        if isinstance(f, tuple):  # several positional inputs: the first one
            f = f[0]
        f = f.reshape(len(out), -1)
        if f.shape[1] != 2:
            raise ValueError(f"layer {where.name!r} gives {f.shape[1]}-dimensional features; "
                             "the bottleneck view needs 2.")
        feats.append(f.float())
        preds.append(out.argmax(1).cpu() if out.dim() == 2 and out.shape[1] > 1
                     else (out.reshape(-1) > 0).long().cpu())
    return torch.cat(feats).numpy(), torch.cat(preds).numpy()


def bottleneck_features(model: nn.Module, x: torch.Tensor, *, y: Any = None, layer: str | None = None,
                        batch_size: int | None = None, regions: bool = True,
                        grid_resolution: int | Sequence[int] | None = None,
                        margin: float | None = None, include_centers: bool = True) -> Bottleneck:
    """2D features, RBF centres and sigmas, and the head's decision regions of ``model``.

    Parameters
    ----------
    model : nn.Module
        A model with a 2D layer (see :func:`find_bottleneck`), e.g. ``vizkit.models.RBFNet``.
    x : torch.Tensor
        Inputs as the model takes them (raw images in [0, 1] for vizkit models).
    y : array-like of int, optional
        Labels, kept in the result for colouring.
    layer : str, optional
        Dotted name of the 2D layer; default found by :func:`find_bottleneck`.
    batch_size : int, default=1024
        Inputs per forward pass.
    regions : bool, default=True
        Evaluate the head over the plane (``result.surface``).
    grid_resolution : int or (int, int), default=200
        Grid of the regions (see :func:`~vizkit.analysis.decision_surface.decision_surface`).
    margin : float, optional
        Fraction of the plot rectangle added on each side (default 0.05).
    include_centers : bool, default=True
        Make the regions' rectangle cover the RBF centres too, not only the features.

    Returns
    -------
    Bottleneck

    Raises
    ------
    ValueError
        ``x`` is empty, ``batch_size`` is not positive, ``y`` has not one label per input, or
        the model has no usable 2D layer.

    Notes
    -----
    The model runs in eval mode under ``no_grad``; its ``training`` flag is put back. For an
    ``RBFNet`` the features equal ``model.embed(x)``.

    Examples
    --------
    >>> import torch
    >>> from vizkit.models import RBFNet
    >>> net = RBFNet(image_size=8, channels=(4,), n_centers=5).eval()
    >>> x = torch.rand(6, 1, 8, 8)
    >>> res = bottleneck_features(net, x, y=[0, 1, 2, 0, 1, 2], grid_resolution=10)
    >>> res.features.shape, res.centers.shape, res.surface.labels.shape
    ((6, 2), (5, 2), (10, 10))
    >>> bool(torch.allclose(torch.from_numpy(res.features), net.embed(x), atol=1e-6))
    True
    """
    check_model(model)
    x = torch.as_tensor(x)
    if len(x) == 0:
        raise ValueError("`x` is empty; the bottleneck view needs at least one input.")
    batch_size = _DEFAULT_BATCH if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Got {batch_size!r} instead.")
    where = _resolve(model, layer)
    with training_mode(model, False):
        feats, preds = _features(model, x, where, batch_size)
        centers = sigma = None
        if where.rbf is not None:
            rbf = resolve_layer(model, where.rbf)
            if rbf.centers.shape[1] == 2:
                centers = rbf.centers.detach().float().cpu().numpy().copy()
                sigma = rbf.sigma.detach().float().cpu().numpy().copy()
        surface = None
        if regions:
            pts = feats if centers is None or not include_centers else np.vstack([feats, centers])
            head = bottleneck_head(model, layer=where.name, example=x[:1])
            # the generic head runs the whole model per grid point: keep its batches small
            grid_batch = batch_size if isinstance(head, _PlaneHead) else None
            surface = decision_surface(head, pts, grid_resolution=grid_resolution, margin=margin,
                                       batch_size=grid_batch)
    labels = None if y is None else np.asarray(torch.as_tensor(y).cpu().numpy(), dtype=np.int64)
    if labels is not None and labels.shape != (len(feats),):
        raise ValueError(f"`y` must have one label per input: {len(feats)} inputs, "
                         f"{labels.shape} labels.")
    return Bottleneck(features=feats, labels=labels, predictions=preds, centers=centers, sigma=sigma,
                      surface=surface, layer=where)


def class_separation(features: Any, labels: Any) -> float:
    """Share of the features' variance that lies between the class means.

    ``1 - sum_c sum_{i in c} |f_i - mean_c|^2 / sum_i |f_i - mean|^2``: 0 when every class has
    the same mean (one mixed clump), 1 when each class sits on a single point.

    Parameters
    ----------
    features : array-like of shape (N, D)
    labels : array-like of int of shape (N,)

    Returns
    -------
    float
        In [0, 1] (0 for constant features).

    Raises
    ------
    ValueError
        ``features`` is not 2-D or has not one label per row.

    Examples
    --------
    >>> class_separation([[0, 0], [0, 0], [2, 0], [2, 0]], [0, 0, 1, 1])
    1.0
    >>> class_separation([[0, 0], [2, 0], [0, 0], [2, 0]], [0, 0, 1, 1])
    0.0
    """
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).reshape(-1)
    if f.ndim != 2 or len(f) != len(y):
        raise ValueError(f"`features` must be (N, D) with one label each. Got shape {f.shape} and "
                         f"{len(y)} labels instead.")
    total = float(((f - f.mean(0)) ** 2).sum()) if len(f) else 0.0
    if total <= 0:
        return 0.0
    within = sum(float(((f[y == c] - f[y == c].mean(0)) ** 2).sum()) for c in np.unique(y))
    return float(min(max(1.0 - within / total, 0.0), 1.0))
