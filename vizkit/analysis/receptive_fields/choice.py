"""Which layers and units the receptive-field figures show, and the views of one MLP layer.

:func:`mlp_layers` and :func:`mlp_field_layers` (an MLP's Linear layers and how many units of
each), :func:`conv_field_units` (the channels of a conv layer), :func:`last_conv_layer` (the
deepest conv layer, from :mod:`vizkit.analysis._layers`) and :func:`field_views` (the
propagated, gated and gradient views of the most structured units of one layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from torch import nn

from ..._torch import resolve_named
from .._layers import last_conv_layer
from .gradient import gradient_receptive_fields
from .ink import ink_ratio, ink_share, structured_units
from .propagated import _mlp_stack, _resolve_linear_index, propagated_receptive_fields

__all__ = ["FieldViews", "field_views", "mlp_layers", "mlp_field_layers", "conv_field_units",
           "last_conv_layer"]


def mlp_layers(model: nn.Module) -> list[tuple[int, str, int]]:
    """The Linear layers of an MLP to show: ``(layer_index, name, n_units)`` from the first
    hidden layer to the output; empty for a model that is not an MLP (a CNN, a ScriptModule).

    Parameters
    ----------
    model : nn.Module
        A ``PTDeep``, an ``nn.Sequential`` of Linear layers and activations, or any other model.

    Returns
    -------
    list of (int, str, int)
        For each ``nn.Linear`` in forward order: its index for
        :func:`propagated_receptive_fields` (1 for the first), its dotted name and its number of
        output units. Empty when the model is not an MLP that starts with a Linear layer.

    Examples
    --------
    >>> from torch import nn
    >>> from vizkit.models import PTDeep
    >>> mlp_layers(PTDeep([4, 20, 12, 3]))
    [(1, 'layers.0', 20), (2, 'layers.2', 12), (3, 'layers.4', 3)]
    >>> mlp_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 2)))
    []
    """
    try:
        _, items = _mlp_stack(model)
    except ValueError:
        return []
    lin = [(n, m) for n, m in items if isinstance(m, nn.Linear)]
    if not items or not isinstance(items[0][1], nn.Linear):
        return []
    return [(k, n, m.out_features) for k, (n, m) in enumerate(lin, start=1)]


def mlp_field_layers(model: nn.Module) -> list[tuple[int, str, int]]:
    """The MLP layers the receptive-field figures show and how many units of each:
    ``(layer_index, name, n_shown)`` for every Linear layer of :func:`mlp_layers`, with at most
    16 units of the first hidden layer, 8 of a deeper hidden layer and 10 of the output (the
    units :func:`field_views` picks); empty for a model that is not an MLP.

    Parameters
    ----------
    model : nn.Module
        The model, read by :func:`mlp_layers`.

    Returns
    -------
    list of (int, str, int)
        ``(layer_index, name, n_shown)`` per Linear layer, first hidden layer to output;
        ``n_shown`` is the cap for the layer (16, 8 or 10), not reduced to the layer's width.

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> mlp_field_layers(PTDeep([4, 20, 12, 3]))
    [(1, 'layers.0', 16), (2, 'layers.2', 8), (3, 'layers.4', 10)]
    """
    layers = mlp_layers(model)
    return [(i, name, 10 if i == len(layers) else (16 if i == 1 else 8))
            for i, name, _ in layers]


def conv_field_units(model: nn.Module, layer: str | nn.Module, n: int = 16) -> list[int]:
    """The channels of conv ``layer`` whose centre units the figures show: the first ``n``.

    Parameters
    ----------
    model : nn.Module
        The model holding the layer.
    layer : str or nn.Module
        Dotted name (or the module itself) of an ``nn.Conv2d`` of ``model``.
    n : int, default=16
        At most this many channels.

    Returns
    -------
    list of int
        ``0 .. min(n, out_channels) - 1``.

    Raises
    ------
    ValueError
        ``layer`` is not a layer of ``model``, or not an ``nn.Conv2d``.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 32, 3))
    >>> conv_field_units(net, "0", n=16)  # a layer with fewer channels than n
    [0, 1, 2, 3]
    >>> len(conv_field_units(net, "2", n=16))
    16
    """
    _, module = resolve_named(model, layer)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"`layer` must name an nn.Conv2d. Got {type(module).__name__} instead.")
    return list(range(min(int(n), module.out_channels)))


@dataclass
class FieldViews:
    """Several views of the receptive fields of the same units of one MLP layer.

    Attributes
    ----------
    fields : ndarray of shape (V, U, H, W)
        ``fields[v, u]``: view ``v`` of unit ``units[u]``, on raw pixels.
    views : list of str
        The method of each view (``ReceptiveFields.method``).
    units : list of int
        The units shown, as indices into the layer.
    layer : str
        The Linear layer's dotted name.
    layer_index : int
        1 for the first Linear layer.
    n_layer_units : int
        Units in the layer (``units`` is a choice among them when fewer).
    ink : ndarray of shape (H, W)
        :func:`ink_frequency` of the training images.
    ratios : ndarray of shape (V,)
        :func:`ink_ratio` of each view over the shown units.
    share : ndarray of shape (U,)
        :func:`ink_share` of each shown unit's propagated field.
    n_examples : int
        Test images the gated and gradient views average over.
    """

    fields: np.ndarray
    views: list
    units: list
    layer: str
    layer_index: int
    n_layer_units: int
    ink: np.ndarray
    ratios: np.ndarray
    share: np.ndarray
    n_examples: int


def field_views(model: nn.Module, layer_index: int, x, ink, *, n_units: int = 16,
                image_shape: Sequence[int] | None = None,
                units: Sequence[int] | None = None) -> FieldViews:
    """The propagated, ReLU-gated and gradient fields of the most structured units of a layer.

    The units are all of the layer when it has at most ``n_units``, else the ``n_units`` of
    :func:`structured_units` on the propagated fields. Views: ``'propagated'`` (the seed's plain
    product of the weights, activations ignored), ``'propagated, mean-gated'`` (each hidden unit
    weighted by the fraction of ``x`` on which it is active) and ``'gradient'`` (the average over
    ``x`` of d unit / d pixel, which equals the average of each image's ReLU-masked product).
    For layer 1 the three are the same numbers (the columns of W1), so only ``'propagated'``.

    Parameters
    ----------
    model : PTDeep or nn.Sequential
        An MLP that starts with a Linear layer (see :func:`mlp_layers`).
    layer_index : int
        1 for the first Linear layer, -1 for the output.
    x : Tensor of shape (N, ...)
        Raw inputs for the gates and the gradients (e.g. test images), flat ``(N, D)`` or as
        images.
    ink : ndarray of shape (H, W)
        :func:`ink_frequency` of the training images.
    n_units : int, default=16
        At most this many units are shown.
    image_shape : tuple of int, optional
        The shape of one input, ``(H, W)`` or ``(C, H, W)``. Default:
        ``model.vizkit_spec['input_shape']``, else a square image.
    units : sequence of int, optional
        The units to show, in this order (e.g. picked by a measure against a control);
        default the choice above.

    Returns
    -------
    FieldViews
        ``fields`` of shape ``(V, U, H, W)`` (``V`` = 1 for layer 1, else 3 views), the units,
        and the :func:`ink_ratio` of each view and :func:`ink_share` of each unit.

    Raises
    ------
    ValueError
        ``model`` is not an MLP starting with a Linear layer, ``layer_index`` is out of range,
        or ``image_shape`` or ``ink`` do not fit the model's inputs; ``units`` is empty or names
        a unit outside the layer.

    Examples
    --------
    Digits ink the middle of the image and never its border. A one-hidden-layer ReLU net has a
    single gate between its two weight matrices, so its mean-gated output fields equal the
    gradient ones (the average of the products is the product of the averages):

    >>> import numpy as np, torch
    >>> from vizkit.models import PTDeep
    >>> from vizkit.analysis.receptive_fields import ink_frequency
    >>> x = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> x[..., [0, 3], :] = 0; x[..., :, [0, 3]] = 0  # ink only in the central 2 x 2
    >>> ink = ink_frequency(x)
    >>> v = field_views(PTDeep([16, 6, 3]), 2, x, ink)
    >>> v.views, v.fields.shape, v.units
    (['propagated', 'propagated, mean-gated', 'gradient'], (3, 3, 4, 4), [0, 1, 2])
    >>> bool(np.allclose(v.fields[1], v.fields[2], atol=1e-6))
    True

    For the first layer the three views are the same numbers (its weight columns), so one is
    kept; of its 6 units, the 4 with the largest :func:`ink_share` are shown:

    >>> v1 = field_views(PTDeep([16, 6, 3]), 1, x, ink, n_units=4)
    >>> v1.views, v1.fields.shape, v1.n_layer_units
    (['propagated'], (1, 4, 4, 4), 6)
    """
    every = propagated_receptive_fields(model, layer_index, image_shape=image_shape,
                                        units=range(_n_out(model, layer_index)))
    n_out, i = len(every.units), every.info["layer_index"]
    if units is not None:
        units = [int(u) for u in units]
        bad = [u for u in units if not 0 <= u < n_out]
        if bad or not units:
            raise ValueError(f"`units` must be a non-empty list of units in 0..{n_out - 1}. Got "
                             f"{units!r} instead.")
    elif n_out <= n_units:
        units = list(range(n_out))
    else:
        units = structured_units(every.fields, ink, n_units)
    results = [propagated_receptive_fields(model, i, units=units, image_shape=image_shape)]
    if i > 1:
        results.append(propagated_receptive_fields(model, i, units=units, gate_data=x,
                                                   gating="mean", image_shape=image_shape))
        grad = gradient_receptive_fields(model, every.layer, units, x)
        # the gradient has the shape of ``x``: flat inputs give flat fields, shaped here as the
        # propagated ones (``image_shape``) so the views stack
        grad.fields = grad.fields.reshape(results[0].fields.shape)
        results.append(grad)
    fields = np.stack([r.fields for r in results])
    return FieldViews(fields=fields, views=[r.method for r in results], units=units,
                      layer=every.layer, layer_index=i, n_layer_units=n_out,
                      ink=np.asarray(ink, dtype=np.float64),
                      ratios=np.array([ink_ratio(f, ink) for f in fields]),
                      share=ink_share(results[0].fields, ink),
                      n_examples=len(x) if i > 1 else 0)


def _n_out(model: nn.Module, layer_index: int) -> int:
    _, items = _mlp_stack(model)
    lin = [m for _, m in items if isinstance(m, nn.Linear)]
    return lin[_resolve_linear_index(items, layer_index) - 1].out_features
