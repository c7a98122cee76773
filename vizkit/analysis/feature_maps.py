"""CNN views: first-layer filters as images and per-input feature maps of conv layers.

:func:`conv_layers` lists a model's 2D conv layers (the default layers of the views);
:func:`conv_filters` returns a conv layer's weights as one small image per output channel;
:func:`feature_maps` runs inputs through the model with :func:`vizkit.hooks.record` and returns
what a layer computed for each of them, one ``H x W`` map per channel. Both return small
dataclasses of NumPy arrays; nothing here draws (see :mod:`vizkit.plot.feature_maps`).

Examples
--------
>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
>>> conv_layers(net)
['0']
>>> conv_filters(net).filters.shape
(4, 1, 3, 3)
>>> feature_maps(net, torch.rand(2, 1, 8, 8)).maps.shape
(2, 4, 6, 6)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._torch import check_model, frozen_eval, model_device, resolve_layer
from ._arrays import finite_abs_max

__all__ = ["NoConvLayers", "ConvFilters", "FeatureMaps", "conv_layers", "conv_filters",
           "feature_maps", "conv_label"]


class NoConvLayers(ValueError):
    """The model has no 2D conv layer (the message names the layers it has)."""


@dataclass
class ConvFilters:
    """The weights of one conv layer, one small image per output channel.

    Attributes
    ----------
    filters : ndarray of shape (C_out, C_in, kH, kW)
        The layer's weight, as it is (no scaling).
    layer : str
        The layer's dotted name.
    vmax : float
        The largest absolute weight (half-width of a symmetric colour scale; 1 when all are 0).
    """

    filters: np.ndarray
    layer: str
    vmax: float

    def __len__(self) -> int:
        return int(self.filters.shape[0])


@dataclass
class FeatureMaps:
    """What one layer computed for each input: one map per channel.

    Attributes
    ----------
    maps : ndarray of shape (N, C, H', W')
        The layer's output for each input.
    inputs : ndarray of shape (N, C_in, H, W)
        The inputs, as given (before any normalization inside the model).
    layer : str
        The layer's dotted name.
    labels : ndarray of int of shape (N,) or None
        The inputs' classes, when given.
    """

    maps: np.ndarray
    inputs: np.ndarray
    layer: str
    labels: np.ndarray | None = None

    @property
    def n_channels(self) -> int:
        """Channels of the layer: ``maps.shape[1]``."""
        return int(self.maps.shape[1])


def conv_layers(model: nn.Module) -> list[str]:
    """The dotted names of the model's ``nn.Conv2d`` layers, in forward-definition order.

    The layers whose filters and feature maps the CNN views can show; the first one looks
    straight at the input pixels.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model.

    Returns
    -------
    list of str
        One name per ``nn.Conv2d``, in the order the model registers them (for ``nn.Sequential``
        and vizkit's ``ConvNet``, the order of the forward pass).

    Raises
    ------
    NoConvLayers
        The model has none; the message lists the layers it has. A subclass of ``ValueError``.
    TypeError
        ``model`` is not an ``nn.Module``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential()
    >>> net.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3))
    >>> net.head = nn.Linear(8, 2)
    >>> conv_layers(net)
    ['features.0', 'features.2']
    >>> conv_layers(nn.Linear(4, 2))
    Traceback (most recent call last):
    ...
    vizkit.analysis.feature_maps.NoConvLayers: Linear has no Conv2d layer, ...
    """
    check_model(model)
    names = [n for n, m in model.named_modules() if n and isinstance(m, nn.Conv2d)]
    if not names:
        have = [n for n, _ in model.named_modules() if n]
        shown = ", ".join(repr(n) for n in have[:20]) + (", ..." if len(have) > 20 else "")
        raise NoConvLayers(f"{type(model).__name__} has no Conv2d layer, so it has no filters or "
                           f"feature maps to show; its layers are: {shown or 'none'} "
                           "(vizkit.hooks.layer_names(model)). Use a CNN (e.g. --model cnn).")
    return names


def conv_label(model: nn.Module, layer: str) -> str:
    """A conv layer's name a student can read: its place among the model's conv layers and its
    dotted name, e.g. ``'conv2 (features.4)'``.

    Parameters
    ----------
    model : nn.Module
        The model the layer belongs to.
    layer : str
        Dotted name of one of its ``nn.Conv2d`` layers (:func:`conv_layers`).

    Returns
    -------
    str
        ``'conv<k> (<name>)'``, ``k`` counting the model's conv layers from 1.

    Raises
    ------
    ValueError
        ``layer`` is not one of the model's conv layers (they are listed).

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 4, 3))
    >>> conv_label(net, "2")
    'conv2 (2)'

    A model that names its own conv layers keeps its names (a count beside them could
    contradict them, e.g. a first layer called ``conv2``):

    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv2 = nn.Conv2d(1, 2, 3)
    ...         self.block = nn.Sequential(nn.Conv2d(2, 2, 3))
    >>> conv_label(Net(), "conv2"), conv_label(Net(), "block.0")
    ('conv2', 'conv2 (block.0)')
    """
    convs = conv_layers(model)
    if layer not in convs:
        raise ValueError(f"`layer` must be one of the conv layers of {type(model).__name__}: "
                         f"{', '.join(map(repr, convs))}. Got {layer!r} instead.")
    if re.fullmatch(r"conv\d*", layer.rsplit(".", 1)[-1], flags=re.IGNORECASE):
        return layer  # the model's own conv name: already what a student reads
    return f"conv{convs.index(layer) + 1} ({layer})"


def _conv_layer(model: nn.Module, layer: str | None, what: str) -> str:
    """``layer`` checked to be a Conv2d of ``model`` (default: the first one)."""
    convs = conv_layers(model)
    if layer is None:
        return convs[0]
    module = resolve_layer(model, layer)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"{what} needs a Conv2d layer; {layer!r} is a {type(module).__name__}. "
                         f"The conv layers of {type(model).__name__} are: "
                         f"{', '.join(map(repr, convs))}. Got {layer!r} instead.")
    return layer


def conv_filters(model: nn.Module, layer: str | None = None) -> ConvFilters:
    """The weights of a conv layer (default: the first), one image per output channel.

    Parameters
    ----------
    model : nn.Module
        Any model with a 2D conv layer.
    layer : str, optional
        Dotted name of an ``nn.Conv2d`` (see :func:`conv_layers`); default: the first one,
        whose filters look straight at the input pixels.

    Returns
    -------
    ConvFilters
        ``filters`` of shape ``(C_out, C_in, kH, kW)`` (a copy of the weight, unscaled) and
        ``vmax``, the largest absolute weight, for one symmetric colour scale.

    Raises
    ------
    NoConvLayers
        The model has no conv layer (its layers are listed).
    ValueError
        Unknown layer (closest names listed) or a layer that is not a Conv2d (the conv layers are
        listed).

    Examples
    --------
    Two hand-set 2 x 2 filters: a vertical edge (left minus right) and its negative at half
    strength. Both are drawn on one scale, ``-vmax`` to ``vmax``:

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 2, bias=False), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[[[1., -1.], [1., -1.]]],
    ...                                           [[[-.5, .5], [-.5, .5]]]]))
    >>> f = conv_filters(net)
    >>> f.layer, f.filters.shape, f.vmax
    ('0', (2, 1, 2, 2), 1.0)
    >>> f.filters[1, 0].tolist()
    [[-0.5, 0.5], [-0.5, 0.5]]
    """
    name = _conv_layer(model, layer, "conv_filters")
    w = resolve_layer(model, name).weight.detach().cpu().float().numpy().copy()
    return ConvFilters(filters=w, layer=name, vmax=finite_abs_max(w) or 1.0)


def feature_maps(model: nn.Module, x: torch.Tensor, layer: str | None = None, *,
                 labels=None) -> FeatureMaps:
    """The output of ``layer`` for each input of ``x``: one 2D map per channel.

    Parameters
    ----------
    model : nn.Module
        Run in eval mode, parameters frozen, under ``no_grad``; every flag is put back after.
    x : Tensor of shape (N, C, H, W)
        The inputs (as the model takes them; normalization inside the model applies).
    layer : str, optional
        Dotted name of a layer whose output is ``(N, C, H', W')``: a conv layer (see
        :func:`conv_layers`), or what follows one (its ReLU, its pooling). Default: the first
        conv layer.
    labels : array-like of shape (N,), optional
        Kept in the result.

    Returns
    -------
    FeatureMaps
        ``maps`` of shape ``(N, C, H', W')`` (one map per channel of the layer, per input),
        the ``inputs`` as given and the ``labels``.

    Raises
    ------
    NoConvLayers
        The model has no conv layer (its layers are listed).
    ValueError
        Unknown layer, a layer whose output is not 4D (the conv layers are listed), inputs that
        are not a 4D batch, or labels of another length.
    TypeError
        ``x`` is not a tensor.

    Examples
    --------
    A left-minus-right filter answers +2 where a bright column meets a dark one and -2 where
    the image goes from dark to bright; the ReLU after it keeps only the first:

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 1, 2, bias=False), nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[[[1., -1.], [1., -1.]]]]))
    >>> bar = torch.tensor([[1., 0., 0.], [1., 0., 0.], [1., 0., 0.]])  # bright left column
    >>> x = torch.stack([bar, bar.flip(-1)])[:, None]  # (2, 1, 3, 3)
    >>> fm = feature_maps(net, x, labels=[0, 1])
    >>> fm.maps.shape, fm.labels.tolist()
    ((2, 1, 2, 2), [0, 1])
    >>> fm.maps[:, 0].tolist()
    [[[2.0, 0.0], [2.0, 0.0]], [[0.0, -2.0], [0.0, -2.0]]]
    >>> feature_maps(net, x, "1").maps[:, 0].tolist()  # after the ReLU
    [[[2.0, 0.0], [2.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]
    """
    from ..hooks import record

    convs = conv_layers(model)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch.Tensor. Got {type(x).__name__} instead.")
    if x.dim() != 4 or len(x) == 0:
        raise ValueError(f"`x` must be a non-empty batch of images (N, C, H, W). Got shape "
                         f"{tuple(x.shape)} instead.")
    name = convs[0] if layer is None else layer
    resolve_layer(model, name)
    dev = model_device(model)
    with frozen_eval(model), torch.no_grad(), record(model, [name]) as rec:
        model(x.to(dev))
    out = rec[name]
    if not isinstance(out, torch.Tensor) or out.dim() != 4:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"feature maps need a layer with (N, C, H, W) output; {name!r} gives "
                         f"{shape}. The conv layers of {type(model).__name__} are: "
                         f"{', '.join(map(repr, convs))}. Got {name!r} instead.")
    lab = None
    if labels is not None:
        lab = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
        lab = lab.astype(np.int64).reshape(-1)
        if len(lab) != len(x):
            raise ValueError(f"`labels` must have one entry per input: {len(x)} inputs, "
                             f"{len(lab)} labels.")
    return FeatureMaps(maps=out.float().cpu().numpy().copy(),
                       inputs=x.detach().float().cpu().numpy().copy(), layer=name, labels=lab)
