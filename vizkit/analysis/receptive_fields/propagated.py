"""Propagated receptive fields of an MLP: "propagate the weights" (seed 004).

The field of unit ``j`` of (affine) layer ``i`` is column ``j`` of ``W1 W2 ... Wi`` (weights in
the lab's ``[in, out]`` convention), reshaped to the image; optionally gated by which ReLUs are
active over a data set (:mod:`.gating`). The model's input ``Normalize(mean, std)`` is folded in
(weights divided by ``std``), so the fields are on the raw [0, 1] inputs.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..._torch import input_normalization, spec_input_shape
from .._arrays import finite_abs_max
from .._layers import NotMLP, mlp_stack
from .gating import _activation_gates
from .result import ReceptiveFields

__all__ = ["propagated_receptive_fields"]


def _mlp_stack(model: nn.Module) -> tuple[str, list[tuple[str, nn.Module]]]:
    """:func:`~._layers.mlp_stack` without its ``Identity`` layers, with this family's error."""
    try:
        prefix, items = mlp_stack(model)
    except NotMLP as e:
        raise ValueError(f"propagated receptive fields need an MLP: {e}. Use "
                         "gradient_receptive_fields for any model.") from None
    return prefix, [(n, m) for n, m in items if not isinstance(m, nn.Identity)]


def _resolve_linear_index(items, layer_index) -> int:
    lin_pos = [k for k, (_, m) in enumerate(items) if isinstance(m, nn.Linear)]
    L = len(lin_pos)
    if isinstance(layer_index, str):
        names = [items[k][0] for k in lin_pos]
        if layer_index not in names:
            raise ValueError(f"`layer_index` {layer_index!r} is not a Linear layer; the Linear "
                             f"layers are {names}.")
        return names.index(layer_index) + 1
    if isinstance(layer_index, bool) or not isinstance(layer_index, (int, np.integer)):
        raise TypeError(f"`layer_index` must be an int or a Linear layer name. Got "
                        f"{layer_index!r} instead.")
    i = int(layer_index)
    if i < 0:
        i = L + 1 + i
    if not 1 <= i <= L:
        raise ValueError(f"`layer_index` must be in 1..{L} (1 = first Linear layer) or -1..-{L}. "
                         f"Got {layer_index!r} instead.")
    return i


def _affine_matrix(m: nn.Module, n: int) -> torch.Tensor | None:
    """``[in, out]`` matrix of a Linear, or the diagonal of an eval-mode BatchNorm1d."""
    if isinstance(m, nn.Linear):
        return m.weight.detach().float().t()
    if isinstance(m, nn.BatchNorm1d):
        var = m.running_var if m.running_var is not None else torch.ones(n)
        scale = 1.0 / torch.sqrt(var.detach().float() + m.eps)
        if m.weight is not None:
            scale = scale * m.weight.detach().float()
        return scale  # diagonal
    return None


def _propagate(chain, units, gates) -> torch.Tensor:
    """Right-to-left product of everything after the first Linear, restricted to ``units``:
    ``[n1, U]``, or ``[B, n1, U]`` when some gates are per example (``[B, n]``)."""
    G = None
    for k in range(len(chain) - 1, 0, -1):
        _, m = chain[k]
        if isinstance(m, nn.Linear):
            Wk = m.weight.detach().float().t()  # [in, out]
            if G is None:
                G = Wk[:, units]
            else:
                G = Wk @ G if G.dim() == 2 else torch.einsum("io,nou->niu", Wk, G)
            continue
        if isinstance(m, nn.BatchNorm1d):
            g = _affine_matrix(m, m.num_features)
        else:
            g = gates.get(k)
            if g is None:  # ungated activation or dropout (off in eval)
                continue
        if g.dim() == 1:
            G = g[:, None] * G if G.dim() == 2 else g[None, :, None] * G
        else:
            G = g[:, :, None] * (G if G.dim() == 3 else G[None])
    return G


def _image_shape(model: nn.Module, n_inputs: int, image_shape) -> tuple[int, ...]:
    """The input shape to reshape fields to: given, the model's spec, or a square image."""
    if image_shape is None:
        image_shape = spec_input_shape(model)
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
    else:
        side = math.isqrt(n_inputs)
        shape = (side, side) if side * side == n_inputs else (n_inputs,)
    if math.prod(shape) != n_inputs:
        raise ValueError(f"`image_shape` {shape} has {math.prod(shape)} values; the first layer "
                         f"takes {n_inputs}.")
    return shape


def _chain_product(chain, units: list[int], gates: dict, n_examples: int,
                   batch_size: int) -> torch.Tensor:
    """``[D, U]``: W1 times the (gated) product of everything after it, for ``units``; with
    per-example gates, the mean over examples of the per-example products (in chunks)."""
    W1 = chain[0][1].weight.detach().float().t()  # [D, n1]
    if len(chain) == 1:
        return W1[:, units]
    if not any(g.dim() == 2 for g in gates.values()):
        return W1 @ _propagate(chain, units, gates)
    acc = None
    for s in range(0, n_examples, batch_size):
        part = _propagate(chain, units, {k: (g[s: s + batch_size] if g.dim() == 2 else g)
                                         for k, g in gates.items()}).sum(0)
        acc = part if acc is None else acc + part
    return W1 @ (acc / n_examples)  # the mean of the products is linear in W1


def _to_raw_pixels(M: torch.Tensor, model: nn.Module, shape: tuple) -> torch.Tensor:
    """Fold the model's input ``Normalize`` into ``M`` ([D, U]): divide by the pixel's std."""
    norm = input_normalization(model)
    if norm is None:
        return M
    std = norm[1]
    if std.numel() == 1:
        return M / std.reshape(())
    c = shape[0] if len(shape) == 3 else 1
    return M / std.reshape(c, 1, 1).expand(c, *shape[-2:]).reshape(-1)[:, None]


def _check_units(units, n_out: int, layer: str) -> list[int]:
    units = list(range(min(n_out, 64))) if units is None else [int(u) for u in units]
    bad = [u for u in units if not 0 <= u < n_out]
    if bad:
        raise ValueError(f"`units` must be in 0..{n_out - 1} for layer {layer}. Got {bad}.")
    return units


def propagated_receptive_fields(model: nn.Module, layer_index: int | str, *,
                                units: Sequence[int] | None = None,
                                gate_data: torch.Tensor | None = None, gating: str = "mask",
                                image_shape: Sequence[int] | None = None,
                                batch_size: int = 256) -> ReceptiveFields:
    """Receptive fields of units of an MLP layer by multiplying the weight matrices.

    Unit ``j`` of layer ``i`` is output ``j`` of the ``i``-th ``nn.Linear`` (its pre-activation).
    Its field is column ``j`` of ``W1 B1 G1 W2 B2 G2 ... Wi``: ``Wk`` the weights in ``[in, out]``
    form, ``Bk`` the diagonal scales ``gamma / sqrt(running_var + eps)`` of eval-mode batch norms
    (their shift ``beta`` moves no field, only which ReLUs are on), ``Gk`` the activation gates:

    * ``gate_data=None``: no gates (the seed's plain weight propagation; activations ignored);
    * ``gating='mask'`` (default when ``gate_data`` is given): the average over examples of the
      per-example products with ``Dk(n)``, the diagonal of which ReLUs are active for example
      ``n`` (other activations: their local slope) -- exactly the average input gradient, what
      :func:`gradient_receptive_fields` gives for a piecewise-linear network;
    * ``gating='mean'``: ``W1 P1 W2 P2 ... Wi`` with ``Pk`` the fraction of examples on which each
      unit is active (the product of the averages; not the average of the products beyond the
      second layer).

    The model's input normalization is folded in, so fields are on raw [0, 1] pixels.

    Parameters
    ----------
    model : PTDeep or nn.Sequential
        An MLP that starts with a Linear layer (an input ``Normalize`` and ``Flatten`` before it
        are fine).
    layer_index : int or str
        ``1`` for the first Linear layer, ..., ``-1`` for the last (logits), or its name.
    units : list of int, optional
        Default: all units of the layer (at most the first 64).
    gate_data : Tensor, optional
        Raw inputs ``[N, ...]`` over which the gates are measured.
    gating : {'mask', 'mean'}, default='mask'
        How the gates measured on ``gate_data`` enter (see above); unused without it.
    image_shape : tuple of int, optional
        Default: ``model.vizkit_spec['input_shape']`` else a square image (else flat fields).
    batch_size : int, default=256
        Examples per pass when measuring the gates and averaging per-example products.

    Returns
    -------
    ReceptiveFields
        ``fields`` of shape ``(U, H, W)`` on raw pixels (``(U, C, H, W)`` for several
        channels, ``(U, D)`` for inputs that are not an image), ``method`` ``'propagated'``
        or ``'propagated, <gating>-gated'``, and ``info['layer_index']``.

    Raises
    ------
    ValueError
        ``gating`` is not ``'mask'`` or ``'mean'``, the model is not an MLP starting with a
        Linear layer, ``layer_index`` is out of range or names no Linear layer, a unit is out
        of range, or ``image_shape`` does not hold the first layer's inputs.
    TypeError
        ``layer_index`` is neither an int nor a str.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from vizkit.models import PTDeep
    >>> propagated_receptive_fields(PTDeep([784, 20, 10]), 2).fields.shape
    (10, 28, 28)

    Gated by which ReLUs each example turns on, the product of the weights is the average input
    gradient of the unit (a second route, by autograd):

    >>> from vizkit.analysis import gradient_receptive_fields
    >>> net = PTDeep([16, 8, 6, 3])
    >>> x = torch.rand(10, 16, generator=torch.Generator().manual_seed(0))
    >>> prop = propagated_receptive_fields(net, -1, gate_data=x)
    >>> grad = gradient_receptive_fields(net, prop.layer, prop.units, x)
    >>> prop.method, prop.layer, bool(np.allclose(prop.fields.reshape(3, 16), grad.fields, atol=1e-6))
    ('propagated, mask-gated', 'layers.4', True)
    """
    if gating not in ("mask", "mean"):
        raise ValueError(f"`gating` must be one of 'mask', 'mean'. Got {gating!r} instead.")
    _, items = _mlp_stack(model)
    i = _resolve_linear_index(items, layer_index)
    stop = [k for k, (_, m) in enumerate(items) if isinstance(m, nn.Linear)][i - 1]
    chain = items[: stop + 1]
    if not isinstance(chain[0][1], nn.Linear):
        raise ValueError(f"the MLP must start with a Linear layer; {chain[0][0]} is a "
                         f"{type(chain[0][1]).__name__}.")
    target_name, target = chain[-1]
    units = _check_units(units, target.out_features, target_name)
    shape = _image_shape(model, chain[0][1].in_features, image_shape)
    gates, n_examples = {}, 0
    if gate_data is not None:
        gates = _activation_gates(model, chain, gate_data, batch_size)
        n_examples = len(gate_data)
        if gating == "mean":
            gates = {k: g.mean(0) for k, g in gates.items()}
    M = _to_raw_pixels(_chain_product(chain, units, gates, n_examples, batch_size), model, shape)
    out_shape = shape[1:] if len(shape) == 3 and shape[0] == 1 else shape
    fields = M.t().reshape(len(units), *out_shape).numpy().astype(np.float64)
    method = "propagated" if gate_data is None else f"propagated, {gating}-gated"
    return ReceptiveFields(fields=fields, units=units, layer=target_name, method=method,
                           vmax=finite_abs_max(fields), n_examples=n_examples,
                           info={"layer_index": i})
