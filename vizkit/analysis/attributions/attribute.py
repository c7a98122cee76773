"""The one verb :func:`attributions`: input (or layer) attributions with Captum.

One verb, one signature (Captum's ``attribute(inputs, target=...)`` idea): :func:`attributions`
runs one method or several (:mod:`.methods`, one small unit each) on the same inputs, for any
differentiable classifier taking raw inputs and returning logits. The model is used in eval mode
with frozen parameters; its training flags and ``requires_grad`` flags are put back and no hook
is left on it. :func:`attribution_layer` is the layer the layer methods use by default for a
model.

Examples
--------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> res = attributions(model, torch.rand(3, 1, 2, 2), target=1, methods="integrated_gradients")
>>> res.maps.shape, res.delta.shape
(torch.Size([3, 1, 2, 2]), torch.Size([3]))
>>> sorted(attributions(model, torch.rand(3, 1, 2, 2), target=1,
...                     methods=["saliency", "deeplift"]))
['deeplift', 'saliency']
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..._torch import frozen_eval, layer_name, model_device, resolve_layer
from .._layers import last_conv_layer
from .methods import METHODS, get_method

__all__ = ["Attribution", "attributions", "attribution_layer", "last_conv_layer"]


@dataclass
class Attribution:
    """What :func:`attributions` returns for one method.

    Attributes
    ----------
    maps : Tensor of shape (N, *input_shape) or (N, *layer_output_shape)
        One attribution per input element (CPU, detached). Grad-CAM maps are upsampled to the
        input's height and width and repeated over its channels; layer integrated gradients and
        layer conductance keep the shape of the layer's output (one value per unit).
    targets : Tensor of shape (N,)
        The class explained for each input (int64).
    method : str
        One of :data:`METHODS`.
    inputs : Tensor of shape (N, *input_shape)
        The explained inputs (CPU, detached), so a plot can show the image beside its map.
    delta : Tensor of shape (N,) or None
        Convergence delta ``sum(maps) - (f(x) - f(baseline))`` per input (integrated gradients,
        DeepLift, layer integrated gradients, layer conductance).
    layer : str or None
        The layer a layer method used.
    signed : bool
        False for the absolute gradients (saliency, SmoothGrad) and Grad-CAM (ReLU applied).
    settings : dict
        The settings used (``n_steps``, ``baseline``, ``noise``, ``n_samples``, ``window``, ...),
        so a caption can say them.
    """

    maps: torch.Tensor
    targets: torch.Tensor
    method: str
    inputs: torch.Tensor
    delta: torch.Tensor | None = None
    layer: str | None = None
    signed: bool = True
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.maps.shape[0])


def attributions(model: nn.Module, inputs: torch.Tensor, *, target=None,
                 methods: str | Sequence[str] = "saliency", baseline=None,
                 n_steps: int | None = None, layer: str | nn.Module | None = None,
                 window: int | Sequence[int] | None = None,
                 stride: int | Sequence[int] | None = None, noise: float | None = None,
                 n_samples: int | None = None, seed: int = 0, batch_size: int | None = None):
    """Attribute the ``target`` logit of ``model`` to each element of ``inputs`` (or of a layer).

    Parameters
    ----------
    model : nn.Module
        Takes raw inputs (a batch) and returns logits ``[N, n_classes]``.
    inputs : Tensor of shape (N, ...)
        The inputs to explain, e.g. images ``[N, C, H, W]`` in [0, 1].
    target : int, sequence of int, Tensor of shape (N,), or None, default=None
        The class to explain per input; ``None`` explains the model's predicted class.
    methods : str or sequence of str, default='saliency'
        One name of :data:`METHODS` (returns one :class:`Attribution`) or several (returns a dict
        name -> Attribution, in the order given).
        ``'saliency'``: absolute input gradient (Simonyan et al., 2014).
        ``'smoothgrad'``: saliency averaged over ``n_samples`` copies of the input with Gaussian
        noise of standard deviation ``noise`` (Smilkov et al., 2017; Captum's NoiseTunnel).
        ``'input_x_gradient'``: input times gradient (Shrikumar et al., 2016).
        ``'guided_backprop'``: the gradient with negative signals stopped at every ReLU on the
        way back (Springenberg et al., 2015).
        ``'integrated_gradients'``: path integral of the gradient from ``baseline`` to the input
        (Sundararajan et al., 2017). ``'deeplift'``: DeepLIFT's rescale rule against ``baseline``
        (Shrikumar et al., 2017). Both with their convergence delta.
        ``'occlusion'``: drop in the target logit when a sliding window is replaced by
        ``baseline`` (Zeiler & Fergus, 2014), averaged over the windows covering each element.
        ``'grad_cam'``: Grad-CAM on ``layer`` (Selvaraju et al., 2017), ReLU applied, upsampled
        (bilinear) to the input size. ``'layer_integrated_gradients'`` and
        ``'layer_conductance'`` (Dhamdhere et al., 2018): integrated gradients from ``baseline``
        credited to each unit of ``layer``'s output.
    baseline : float or Tensor, default=None
        Reference input of the methods that need one; ``None`` means zeros (a black image).
    n_steps : int, default=None
        Integration steps (Gauss-Legendre) of the path methods; ``None`` means 50.
    layer : str or nn.Module, default=None
        The layer of the layer methods (a dotted name of ``model.named_modules()`` or the
        module); ``None`` means the last ``nn.Conv2d`` (see :func:`last_conv_layer`).
    window, stride : int or sequence of int, default=None
        Occlusion window and stride. ``None``: for ``[C, H, W]`` inputs a window of
        ``(C, ceil(H/7), ceil(W/7))`` (4x4 on 28x28) and half of it as stride; else 1 and 1.
    noise : float, default=None
        SmoothGrad's noise standard deviation; ``None`` means 0.15 times the inputs' range.
    n_samples : int, default=None
        SmoothGrad's noisy copies per input; ``None`` means 25.
    seed : int, default=0
        Seeds SmoothGrad's noise (the global random state is put back afterwards).
    batch_size : int, default=None
        Inputs explained per pass; ``None`` means 32.

    Returns
    -------
    Attribution, or dict of str to Attribution when ``methods`` is a sequence

    Raises
    ------
    ValueError
        Unknown method (the valid ones are listed), a ``target`` out of range or of the wrong
        length, a layer method on a model without ``nn.Conv2d`` and no ``layer``, an unknown layer.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lin = nn.Linear(3, 2)
    >>> res = attributions(lin, torch.ones(1, 3), target=0, methods="integrated_gradients")
    >>> torch.allclose(res.maps[0], lin.weight[0].detach(), atol=1e-5)
    True
    """
    names = _method_names(methods)
    x = _check_inputs(inputs)
    opts = _options(names, x, baseline=baseline, n_steps=n_steps, window=window, stride=stride,
                    noise=noise, n_samples=n_samples, seed=seed)
    batch_size = 32 if batch_size is None else _pos_int("batch_size", batch_size)
    units = [get_method(n) for n in names]
    layer_name, layer_module = (_resolve_layer(model, layer)
                                if any(m.layer for m in units) else (None, None))
    x = x.to(device=model_device(model), dtype=torch.float32)
    base = _baseline(baseline, x) if any(m.baseline for m in units) else None
    out = {}
    with frozen_eval(model), torch.enable_grad(), warnings.catch_warnings():
        # Captum says it sets (and removes) hooks on activations: expected, not the user's doing
        warnings.filterwarnings("ignore", message=r"(?s).*(hooks|attributes) on (non-linear|ReLU)")
        targets = _targets(model, x, target, batch_size)
        for m in units:
            maps, deltas = _batches(m, model, x, targets, base, layer_module, opts, batch_size)
            out[m.name] = Attribution(
                maps=maps, targets=targets.cpu(), method=m.name, inputs=x.cpu(), delta=deltas,
                layer=layer_name if m.layer else None, signed=m.signed,
                settings=_settings(m, opts, baseline))
    return out[names[0]] if isinstance(methods, str) else out


def _batches(method, model, x, targets, base, layer, opts, batch_size):
    maps, deltas = [], []
    for s in range(0, x.shape[0], batch_size):
        bb = None if base is None else base[s:s + batch_size]
        a, d = method.run(model, x[s:s + batch_size], targets[s:s + batch_size], bb, layer, opts)
        maps.append(a.detach().float().cpu())
        if d is not None:
            deltas.append(d.detach().reshape(-1).float().cpu())
    return torch.cat(maps), (torch.cat(deltas) if deltas else None)


def attribution_layer(model: nn.Module) -> str | None:
    """The layer whose units the layer methods (Grad-CAM, layer integrated gradients, layer
    conductance) explain for ``model``, or ``None`` when it has no ``nn.Conv2d``.

    The rectified output of the last conv layer (:func:`last_conv_layer` with
    ``rectified=True``): Selvaraju et al.'s (2017) choice for Grad-CAM.

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    str or None
        The layer's dotted name in ``model.named_modules()``.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten())
    >>> attribution_layer(net), attribution_layer(nn.Linear(2, 2))
    ('1', None)
    """
    return last_conv_layer(model, rectified=True)


def _method_names(methods) -> tuple:
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    if not names:
        raise ValueError(f"`methods` must name at least one of {', '.join(map(repr, METHODS))}.")
    for m in names:
        get_method(m)  # an unknown name is an error listing the valid ones
    if len(set(names)) != len(names):
        raise ValueError(f"`methods` names a method twice: {list(names)}.")
    return names


def _check_inputs(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`inputs` must be a torch.Tensor. Got {type(x).__name__} instead.")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"`inputs` must be a non-empty batch [N, ...]. Got shape {list(x.shape)} "
                         "instead.")
    return x.detach()


def _options(names, x, *, baseline, n_steps, window, stride, noise, n_samples, seed) -> dict:
    o = {"n_steps": 50 if n_steps is None else _pos_int("n_steps", n_steps),
         "n_samples": 25 if n_samples is None else _pos_int("n_samples", n_samples),
         "seed": int(seed)}
    if noise is None:
        noise = 0.15 * float(x.max() - x.min())
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"`noise` must be a number >= 0. Got {noise!r} instead.")
    o["noise"] = float(noise)
    if "occlusion" in names:
        o["window"], o["stride"] = _occlusion_window(tuple(x.shape[1:]), window, stride)
    return o


def _settings(method, o, baseline) -> dict:
    s = {}
    if method.baseline:
        s["baseline"] = (0.0 if baseline is None else float(baseline)
                         if isinstance(baseline, (int, float)) else "tensor")
    s.update((k, o[k]) for k in method.settings)
    return s


def _resolve_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    if layer is None:
        name = last_conv_layer(model)
        if name is None:
            raise ValueError(f"grad_cam and the layer methods need a layer: {type(model).__name__} "
                             "has no nn.Conv2d to default to; pass `layer`, or use 'saliency', "
                             "'integrated_gradients' or 'occlusion'.")
        return name, resolve_layer(model, name)
    module = resolve_layer(model, layer)
    return layer_name(model, module), module


def _targets(model: nn.Module, x: torch.Tensor, target, batch_size: int) -> torch.Tensor:
    n = x.shape[0]
    with torch.no_grad():
        out = model(x[:1])
    if out.dim() != 2:
        raise ValueError(f"`model` must return logits of shape [N, n_classes]. Got {list(out.shape)}.")
    n_out = out.shape[1]
    if target is None:
        with torch.no_grad():
            preds = [model(x[s:s + batch_size]).argmax(1) for s in range(0, n, batch_size)]
        return torch.cat(preds).long()
    if isinstance(target, (bool, float)) or (isinstance(target, torch.Tensor) and target.is_floating_point()):
        raise TypeError(f"`target` must be an int, a sequence of ints or None. Got {target!r} instead.")
    t = torch.as_tensor(target, dtype=torch.long, device=x.device).reshape(-1)
    if t.numel() == 1:
        t = t.expand(n).clone()
    if t.numel() != n:
        raise ValueError(f"`target` must be one class or one per input: x has {n} inputs, "
                         f"target has {t.numel()}.")
    if (t < 0).any() or (t >= n_out).any():
        raise ValueError(f"`target` must be in [0, {n_out - 1}] (the model has {n_out} outputs). "
                         f"Got {t.tolist()} instead.")
    return t


def _baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    if baseline is None:
        return torch.zeros_like(x)
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    b = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    try:
        return b.expand_as(x).clone()
    except RuntimeError:
        raise ValueError(f"`baseline` must broadcast to the inputs' shape {list(x.shape)}. "
                         f"Got shape {list(b.shape)} instead.") from None


def _occlusion_window(shape: tuple, window, stride) -> tuple[tuple, tuple]:
    def full(v, default):
        if v is None:
            return default
        if isinstance(v, int) and not isinstance(v, bool):
            v = (v,) * min(2, len(shape))
        v = tuple(int(i) for i in v)
        if len(v) == len(shape) - 1 and len(shape) == 3:
            v = (shape[0],) + v  # spatial only: occlude all channels together
        if len(v) != len(shape) or any(i < 1 for i in v):
            raise ValueError(f"occlusion `window`/`stride` must be positive ints over the input's "
                             f"dimensions {shape} (or its spatial ones). Got {v!r} instead.")
        return v

    if len(shape) == 3:
        c, h, w = shape
        dwin = (c, -(-h // 7), -(-w // 7))
        win = full(window, dwin)
        dstr = (c, max(1, win[1] // 2), max(1, win[2] // 2))
    else:
        win = full(window, (1,) * len(shape))
        dstr = (1,) * len(shape)
    strd = full(stride, dstr)
    if any(wi > si for wi, si in zip(win, shape)):
        raise ValueError(f"occlusion `window` {win} is larger than the input {shape}.")
    return win, strd


def _pos_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"`{name}` must be a positive integer. Got {v!r} instead.")
    return int(v)
