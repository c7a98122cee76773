"""Receptive fields (seed 004): which input pixels drive a unit, three ways.

* :func:`propagated_receptive_fields` -- for an MLP, "propagate the weights": the field of unit
  ``j`` of (affine) layer ``i`` is column ``j`` of ``W1 W2 ... Wi`` (weights in the lab's
  ``[in, out]`` convention), reshaped to the image. Optionally gated by which ReLUs are active
  over a data set.
* :func:`gradient_receptive_fields` -- for any unit of any model (MLP units, CNN channels): the
  gradient of the unit with respect to the input, averaged over examples.
* :func:`theoretical_receptive_field` -- for conv units: the input region a unit can see (size,
  jump, start) from the layer arithmetic of ``Conv2d`` / ``MaxPool2d`` / ``AvgPool2d``.

All fields are in the space of the **raw [0, 1] inputs** that vizkit models are fed: the model's
input ``Normalize(mean, std)`` is folded in (weights divided by ``std``), so for a network without
non-linearities the propagated and the gradient fields are the same numbers.

Which layers and units to show is decided here too: :func:`mlp_layers`, :func:`last_conv_layer`,
:func:`conv_stages`, :func:`structured_units` (the units whose fields lie where the data has ink,
by :func:`ink_share`) and :func:`field_views` (three views of the chosen units of one layer).
:func:`ink_ratio` measures how much of a field sits on pixels the training data never inks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .._torch import frozen_eval, training_mode
from .._torch import capture, input_normalization, model_input_shape, resolve_named, spec_input_shape
from ._layers import ELEMENTWISE, NotMLP, is_input_norm, last_conv_layer, mlp_stack

__all__ = ["ReceptiveFields", "TheoreticalRF", "FieldViews", "propagated_receptive_fields",
           "gradient_receptive_fields", "theoretical_receptive_field", "field_views",
           "ink_frequency", "ink_ratio", "ink_share", "structured_units", "mlp_layers",
           "mlp_field_layers", "conv_field_units", "last_conv_layer", "conv_stages", "NEVER_INKED",
           "INKED"]



@dataclass
class ReceptiveFields:
    """Receptive fields of some units of one layer.

    Attributes
    ----------
    fields : ndarray of shape (U, H, W)
        One field per unit in raw-input space (``(U, C, H, W)`` for multi-channel inputs,
        ``(U, D)`` for vector inputs).
    units : list
        The unit of each field (an int, or ``(channel, row, col)`` for a conv position).
    layer : str
        The layer the units belong to.
    method : str
        ``'propagated'``, ``'propagated, mask-gated'``, ``'propagated, mean-gated'`` or
        ``'gradient'``.
    vmax : float
        ``max |fields|``, for one symmetric colour scale.
    n_examples : int
        Examples averaged over (0 for the ungated propagated fields).
    """

    fields: np.ndarray
    units: list
    layer: str
    method: str
    vmax: float
    n_examples: int = 0
    info: dict = field(default_factory=dict)


def _vmax(a: np.ndarray) -> float:
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


# ----------------------------------------------------------------------------- MLP propagation

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


def _slope(act: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of an activation at pre-activations ``z`` (0/1 mask for ReLU)."""
    if isinstance(act, nn.ReLU):
        return (z > 0).to(z.dtype)
    with torch.enable_grad():
        zz = z.detach().clone().requires_grad_()
        (g,) = torch.autograd.grad(act(zz).sum(), zz)
    return g


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


def _activation_gates(model: nn.Module, chain, gate_data, batch_size: int) -> dict:
    """Per-example slopes ``[N, n_k]`` of every activation in ``chain`` (keyed by position),
    measured in eval mode on the raw inputs ``gate_data``."""
    x = torch.as_tensor(gate_data).float()
    if x.dim() < 2 or len(x) == 0:
        raise ValueError(f"`gate_data` must be a non-empty batch [N, ...]. Got shape "
                         f"{tuple(x.shape)} instead.")
    parts: list[dict] = []
    with training_mode(model, False), torch.no_grad():
        norm = getattr(model, "norm", None)
        for s in range(0, len(x), batch_size):
            xb = x[s: s + batch_size]
            h = (norm(xb) if norm is not None else xb).flatten(1)
            slopes = {}
            for k, (_, m) in enumerate(chain):
                if isinstance(m, ELEMENTWISE):
                    slopes[k] = _slope(m, h)
                h = m(h)
            parts.append(slopes)
    return {k: torch.cat([d[k] for d in parts]) for k in parts[0]}


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
    layer_index : int or str
        ``1`` for the first Linear layer, ..., ``-1`` for the last (logits), or its name.
    units : list of int, optional
        Default: all units of the layer (at most the first 64).
    gate_data : Tensor, optional
        Raw inputs ``[N, ...]`` over which the gates are measured.
    gating : {'mask', 'mean'}, default='mask'
    image_shape : tuple of int, optional
        Default: ``model.vizkit_spec['input_shape']`` else a square image.
    batch_size : int, default=256

    Returns
    -------
    ReceptiveFields

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> propagated_receptive_fields(PTDeep([784, 20, 10]), 2).fields.shape
    (10, 28, 28)
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
                           vmax=_vmax(fields), n_examples=n_examples, info={"layer_index": i})


# ----------------------------------------------------------------------------- gradients

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
    absolute : bool, default=False
        Average ``|gradient|`` instead of the signed gradient.

    Returns
    -------
    ReceptiveFields
        ``fields[u] = mean_n d unit_u(x_n) / d x_n``. The model is used in eval mode; its
        parameters' ``.grad`` are untouched and no hook is left behind.

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> m = PTDeep([4, 3, 2])
    >>> gradient_receptive_fields(m, "layers.2", [0, 1], torch.rand(5, 4)).fields.shape
    (2, 4)
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
                           vmax=_vmax(fields), n_examples=len(x),
                           info={"reduce": reduce, "conv": conv})


# ----------------------------------------------------------------------------- theory

@dataclass
class TheoreticalRF:
    """The input region seen by a unit of a conv layer (per spatial dimension: rows, cols).

    Attributes
    ----------
    size : (int, int)
        Receptive-field size in input pixels.
    jump : (int, int)
        Distance in input pixels between neighbouring units of the layer (cumulative stride).
    start : (float, float)
        Centre, in input pixel coordinates, of the field of unit ``(0, 0)``.
    layer : str
    input_shape : tuple of int
    output_shape : (int, int)
        Height and width of the layer's output.
    """

    size: tuple
    jump: tuple
    start: tuple
    layer: str
    input_shape: tuple
    output_shape: tuple

    def center(self, row: int, col: int) -> tuple[float, float]:
        """Centre of unit ``(row, col)``'s field in input pixel coordinates."""
        return (self.start[0] + row * self.jump[0], self.start[1] + col * self.jump[1])

    def box(self, row: int | None = None, col: int | None = None, *,
            clip: bool = True) -> tuple[int, int, int, int]:
        """``(row0, col0, row1, col1)`` (end exclusive) of the pixels unit ``(row, col)`` sees;
        default: the unit at the centre of the layer's output. Clipped to the image unless
        ``clip=False`` (padding makes fields reach past the border)."""
        row = self.output_shape[0] // 2 if row is None else int(row)
        col = self.output_shape[1] // 2 if col is None else int(col)
        (cr, cc) = self.center(row, col)
        r0 = int(math.floor(cr - (self.size[0] - 1) / 2 + 1e-9))
        c0 = int(math.floor(cc - (self.size[1] - 1) / 2 + 1e-9))
        r1, c1 = r0 + self.size[0], c0 + self.size[1]
        if clip:
            H, W = self.input_shape[-2], self.input_shape[-1]
            r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, H), min(c1, W)
        return (r0, c0, r1, c1)


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def theoretical_receptive_field(model: nn.Module, layer: str | nn.Module, *,
                                input_shape: Sequence[int] | None = None) -> TheoreticalRF:
    """Receptive-field size, jump and start of the units of a conv layer, by layer arithmetic.

    The leaf modules are taken in registration order (true for vizkit's ConvNet and RBFNet and
    for ``nn.Sequential`` models) up to and including ``layer``. ``Conv2d``, ``MaxPool2d`` and
    ``AvgPool2d`` change the field (``size += (k_eff - 1) * jump``, ``start += ((k_eff - 1) / 2
    - padding) * jump``, ``jump *= stride``, with ``k_eff = dilation * (k - 1) + 1``);
    element-wise layers (batch norm, activations, dropout, input normalization) pass it
    through. A ``Flatten`` or ``Linear`` before ``layer`` means its units see the whole input.

    Parameters
    ----------
    model : nn.Module
    layer : str or nn.Module
    input_shape : (C, H, W), optional
        Default: ``model.vizkit_spec['input_shape']``.

    Returns
    -------
    TheoreticalRF

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))
    >>> rf = theoretical_receptive_field(net, "1", input_shape=(1, 8, 8))
    >>> rf.size, rf.jump, rf.start
    ((4, 4), (2, 2), (0.5, 0.5))
    """
    name, target = resolve_named(model, layer)
    shape = model_input_shape(model, input_shape)
    if len(shape) != 3:
        raise ValueError(f"theoretical receptive fields need image inputs (C, H, W). Got "
                         f"{shape} instead.")
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    hw = [shape[1], shape[2]]
    leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    target_ids = {id(m) for m in target.modules()}
    hits = [k for k, (_, m) in enumerate(leaves) if id(m) in target_ids]
    found = bool(hits)
    for mname, m in leaves[: (hits[-1] + 1) if hits else 0]:
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            p = _pair(m.padding)
            d = _pair(getattr(m, "dilation", 1)) if not isinstance(m, nn.AvgPool2d) else (1, 1)
            if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) and getattr(m, "ceil_mode", False):
                raise ValueError(f"{mname}: ceil_mode pooling is not supported.")
            for a in range(2):
                ke = d[a] * (k[a] - 1) + 1
                size[a] += (ke - 1) * jump[a]
                start[a] += ((ke - 1) / 2 - p[a]) * jump[a]
                jump[a] *= s[a]
                hw[a] = (hw[a] + 2 * p[a] - ke) // s[a] + 1
        elif isinstance(m, (nn.Flatten, nn.Linear, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            raise ValueError(f"layer {name!r} comes after {mname!r} ({type(m).__name__}): its "
                             "units see the whole input, so there is no conv receptive field; "
                             "pick a conv layer (e.g. 'features.0').")
        elif not isinstance(m, (nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity)
                            + ELEMENTWISE) and not is_input_norm(m):
            raise ValueError(f"cannot pass {mname!r} ({type(m).__name__}) in receptive-field "
                             "arithmetic.")
    if not found:
        raise ValueError(f"layer {name!r} has no leaf module to measure.")
    return TheoreticalRF(size=tuple(size), jump=tuple(jump), start=tuple(start), layer=name,
                         input_shape=shape, output_shape=tuple(hw))


# ----------------------------------------------------------------------------- what to show

#: A pixel inked in fewer than this fraction of the training images is "never inked".
NEVER_INKED = 0.01
#: A pixel inked in more than this fraction of the training images is "inked".
INKED = 0.05


def ink_frequency(images, *, threshold: float = 0.0) -> np.ndarray:
    """Fraction of ``images`` whose value at each pixel is above ``threshold`` (carries ink).

    Parameters
    ----------
    images : array-like of shape (N, H, W) or (N, 1, H, W)
        Raw images, e.g. ``split.x_train``.
    threshold : float, default=0.0

    Returns
    -------
    ndarray of shape (H, W)

    Examples
    --------
    >>> ink_frequency(torch.tensor([[[0.0, 1.0]], [[0.0, 0.5]]])).tolist()
    [[0.0, 1.0]]
    """
    x = torch.as_tensor(images)
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 3 or len(x) == 0:
        raise ValueError(f"`images` must be a non-empty batch (N, H, W) or (N, 1, H, W). Got "
                         f"shape {tuple(x.shape)} instead.")
    return (x > threshold).double().mean(0).numpy()


def ink_ratio(fields, ink, *, never: float = NEVER_INKED, inked: float = INKED) -> float:
    """Mean ``|field|`` on never-inked pixels over the mean on inked pixels.

    Never inked: ``ink < never``; inked: ``ink > inked``. A field that learned from the data is
    small where the data never puts ink (its weights there get no gradient); the ratio of a
    randomly initialized layer is about 1.

    Parameters
    ----------
    fields : array-like of shape (..., H, W)
    ink : array-like of shape (H, W)
        From :func:`ink_frequency` of the training images.
    never, inked : float

    Returns
    -------
    float
        NaN when either set of pixels is empty.
    """
    f = np.abs(np.asarray(fields, dtype=np.float64))
    ink = np.asarray(ink, dtype=np.float64)
    if f.ndim < 2 or f.shape[-2:] != ink.shape:
        raise ValueError(f"`fields` must end in the ink map's shape {ink.shape}. Got shape "
                         f"{f.shape} instead.")
    low, high = ink < never, ink > inked
    if not low.any() or not high.any():
        return float("nan")
    return float(f[..., low].mean() / f[..., high].mean())


def ink_share(fields, ink, *, inked: float = INKED) -> np.ndarray:
    """Per field, the share of its ``|field|`` that lies on inked pixels (``ink > inked``).

    Returns
    -------
    ndarray of shape (U,)
        For ``fields`` of shape ``(U, H, W)``; 0 for an all-zero field.
    """
    f = np.abs(np.asarray(fields, dtype=np.float64))
    ink = np.asarray(ink)
    if f.ndim != 3 or f.shape[1:] != ink.shape:
        raise ValueError(f"`fields` must be (U, H, W) with (H, W) = {ink.shape}. Got shape "
                         f"{f.shape} instead.")
    total = f.reshape(len(f), -1).sum(1)
    return np.divide(f[:, ink > inked].sum(1), total, out=np.zeros(len(f)), where=total > 0)


def structured_units(fields, ink, n: int, *, inked: float = INKED) -> list[int]:
    """The ``n`` fields (indices) with the largest :func:`ink_share`, largest first: the units
    whose field lies where digits are, rather than on pixels the data never inks."""
    share = ink_share(fields, ink, inked=inked)
    return [int(u) for u in np.argsort(-share, kind="stable")[: int(n)]]


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


def conv_stages(model: nn.Module) -> list[str]:
    """Names of the conv and pooling layers, in order (each changes the receptive field)."""
    return [n for n, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]


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
                image_shape: Sequence[int] | None = None) -> FieldViews:
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

    Returns
    -------
    FieldViews
    """
    every = propagated_receptive_fields(model, layer_index, image_shape=image_shape,
                                        units=range(_n_out(model, layer_index)))
    n_out, i = len(every.units), every.info["layer_index"]
    units = list(range(n_out)) if n_out <= n_units else structured_units(every.fields, ink,
                                                                          n_units)
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
