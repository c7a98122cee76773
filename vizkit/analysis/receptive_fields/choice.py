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
    hidden layer to the output; empty for a model that is not an MLP (a CNN, a ScriptModule)."""
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

    Examples
    --------
    >>> from torch import nn
    >>> conv_field_units(nn.Sequential(nn.Conv2d(1, 4, 3)), "0", n=16)
    [0, 1, 2, 3]
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
    layer : str
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
    layer_index : int
        1 for the first Linear layer, -1 for the output.
    x : Tensor of shape (N, ...)
        Raw inputs for the gates and the gradients (e.g. test images).
    ink : ndarray of shape (H, W)
        :func:`ink_frequency` of the training images.
    n_units : int, default=16
    image_shape : tuple of int, optional
    units : sequence of int, optional
        The units to show, in this order (e.g. picked by a measure against a control);
        default the choice above.

    Returns
    -------
    FieldViews

    Raises
    ------
    ValueError
        ``units`` is empty or names a unit outside the layer.
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
        results.append(gradient_receptive_fields(model, every.layer, units, x))
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
