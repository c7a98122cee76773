"""Gradient receptive fields: the average input gradient of units of any layer of any model."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..._torch import capture, frozen_eval, resolve_named
from .._arrays import finite_abs_max
from .result import ReceptiveFields

__all__ = ["gradient_receptive_fields"]


def _unit_values(act: torch.Tensor, units: list, reduce: str) -> torch.Tensor:
    """``[B, U]`` values of the chosen units in a layer output ``act``."""
    cols = []
    for u in units:
        if act.dim() == 2:
            if not isinstance(u, (int, np.integer)):
                raise ValueError(f"units of a flat layer are ints. Got {u!r} instead.")
            cols.append(act[:, int(u)])
        elif act.dim() >= 3:
            if isinstance(u, tuple):
                cols.append(act[(slice(None), *map(int, u))])
            elif reduce == "center":
                idx = tuple(s // 2 for s in act.shape[2:])
                cols.append(act[(slice(None), int(u), *idx)])
            else:
                cols.append(act[:, int(u)].flatten(1).mean(1))
        else:
            raise ValueError(f"cannot pick units of a layer output of shape {tuple(act.shape)}.")
    return torch.stack(cols, 1)


def gradient_receptive_fields(model: nn.Module, layer: str | nn.Module | None,
                              units: Sequence[int | tuple] | None, x: torch.Tensor, *,
                              reduce: str = "center", batch_size: int = 128,
                              absolute: bool = False) -> ReceptiveFields:
    """Average input gradient of some units of any layer of any model.

    Parameters
    ----------
    model : nn.Module
        Fed raw inputs (vizkit models normalize inside), so the gradients are with respect to
        raw pixels.
    layer : str, nn.Module or None
        Dotted layer name (``'layers.2'``, ``'features.0'``); ``None`` means the model's output.
    units : list of int or (channel, row, col), optional
        For a flat layer, unit indices; for a conv layer, channels (see ``reduce``) or exact
        positions. Default: all units/channels (at most 64).
    x : Tensor of shape (N, ...)
        Raw inputs to average over.
    reduce : {'center', 'mean'}, default='center'
        For a conv channel: the unit at the spatial centre, or the mean over the channel.
    batch_size : int, default=128
        Inputs per forward and backward pass.
    absolute : bool, default=False
        Average ``|gradient|`` instead of the signed gradient.

    Returns
    -------
    ReceptiveFields
        ``fields[u] = mean_n d unit_u(x_n) / d x_n``. The model is used in eval mode; its
        parameters' ``.grad`` are untouched and no hook is left behind.

    Raises
    ------
    ValueError
        ``reduce`` is not ``'center'`` or ``'mean'``, ``x`` is not a non-empty batch, the
        layer is unknown or produced no output, or a unit does not fit the layer (a tuple for a
        flat layer).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from torch import nn
    >>> from vizkit.models import PTDeep
    >>> m = PTDeep([4, 3, 2])
    >>> gradient_receptive_fields(m, "layers.2", [0, 1], torch.rand(5, 4)).fields.shape
    (2, 4)

    For a linear unit the field is its weight vector, whatever the inputs:

    >>> lin = nn.Linear(3, 2)
    >>> rf = gradient_receptive_fields(lin, None, [1], torch.rand(4, 3))
    >>> bool(np.allclose(rf.fields[0], lin.weight[1].detach().numpy())), rf.layer, rf.n_examples
    (True, 'output', 4)
    """
    if reduce not in ("center", "mean"):
        raise ValueError(f"`reduce` must be one of 'center', 'mean'. Got {reduce!r} instead.")
    x = torch.as_tensor(x).float()
    if x.dim() < 2 or len(x) == 0:
        raise ValueError(f"`x` must be a non-empty batch [N, ...]. Got shape {tuple(x.shape)}.")
    name = ""
    if layer is not None:
        name, _ = resolve_named(model, layer)
    total = None
    with frozen_eval(model):  # eval mode; flags and requires_grad put back
        for s in range(0, len(x), batch_size):
            xb = x[s: s + batch_size].clone().requires_grad_()
            with torch.enable_grad():
                if name:
                    with capture(model, [name]) as store:
                        model(xb)
                    if name not in store:
                        raise ValueError(f"layer {name!r} produced no output in the forward pass.")
                    act = store[name]
                else:
                    act = model(xb)
                if units is None:
                    units = list(range(min(act.shape[1], 64)))
                units = [tuple(u) if isinstance(u, (tuple, list)) else int(u) for u in units]
                conv = act.dim() >= 3
                vals = _unit_values(act, units, reduce)  # [B, U]
                grads = []
                for k in range(vals.shape[1]):
                    (g,) = torch.autograd.grad(vals[:, k].sum(), xb,
                                               retain_graph=k < vals.shape[1] - 1)
                    grads.append((g.abs() if absolute else g).sum(0))
            gsum = torch.stack(grads).detach()
            total = gsum if total is None else total + gsum
    fields = (total / len(x)).numpy().astype(np.float64)
    if fields.ndim == 4 and fields.shape[1] == 1:
        fields = fields[:, 0]
    return ReceptiveFields(fields=fields, units=list(units), layer=name or "output",
                           method="gradient" + (" (absolute)" if absolute else ""),
                           vmax=finite_abs_max(fields), n_examples=len(x),
                           info={"reduce": reduce, "conv": conv})
