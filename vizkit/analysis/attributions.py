"""Input attributions with Captum: saliency, integrated gradients, occlusion and layer Grad-CAM.

One verb, one signature (Captum's ``attribute(inputs, target=...)`` idea):
:func:`attributions` returns an :class:`Attribution` whose ``maps`` have the shape of the inputs,
for any differentiable classifier taking raw inputs and returning logits. The model is used in
eval mode with frozen parameters; its training flag and ``requires_grad`` flags are put back and no
hook is left on it. :func:`randomized_copy` and :func:`rank_correlation` are the pieces of the
model-randomization sanity check (Adebayo et al., 2018, "Sanity Checks for Saliency Maps").

Examples
--------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> res = attributions(model, torch.rand(3, 1, 2, 2), target=1, method="integrated_gradients")
>>> res.maps.shape, res.delta.shape
(torch.Size([3, 1, 2, 2]), torch.Size([3]))
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["METHODS", "Attribution", "attributions", "last_conv_layer", "randomized_copy",
           "rank_correlation"]

#: Valid values of ``method``.
METHODS = ("saliency", "integrated_gradients", "occlusion", "grad_cam")

# Methods whose maps carry a sign (drawn with a diverging, symmetric colour scale).
_SIGNED = {"saliency": False, "integrated_gradients": True, "occlusion": True, "grad_cam": False}


@dataclass
class Attribution:
    """What :func:`attributions` returns.

    Attributes
    ----------
    maps : Tensor of shape (N, *input_shape)
        One attribution per input element (CPU, detached). Grad-CAM maps are upsampled to the
        input's height and width and repeated over its channels.
    targets : Tensor of shape (N,)
        The class explained for each input (int64).
    method : str
        One of :data:`METHODS`.
    inputs : Tensor of shape (N, *input_shape)
        The explained inputs (CPU, detached), so a plot can show the image beside its map.
    delta : Tensor of shape (N,) or None
        Integrated gradients' convergence delta: ``sum(maps) - (f(x) - f(baseline))`` per input.
    layer : str or None
        The layer Grad-CAM used.
    signed : bool
        True when the map's sign means something (integrated gradients, occlusion); False for the
        absolute gradient (saliency) and for Grad-CAM (ReLU applied).
    """

    maps: torch.Tensor
    targets: torch.Tensor
    method: str
    inputs: torch.Tensor
    delta: torch.Tensor | None = None
    layer: str | None = None
    signed: bool = True

    def __len__(self) -> int:
        return int(self.maps.shape[0])


def attributions(model: nn.Module, x: torch.Tensor, *, target=None, method: str = "saliency",
                 baseline=None, n_steps: int | None = None, layer: str | nn.Module | None = None,
                 window: int | Sequence[int] | None = None, stride: int | Sequence[int] | None = None,
                 batch_size: int | None = None) -> Attribution:
    """Attribute the ``target`` logit of ``model`` to each element of the inputs ``x``.

    Parameters
    ----------
    model : nn.Module
        Takes raw inputs ``x`` (a batch) and returns logits ``[N, n_classes]``.
    x : Tensor of shape (N, ...)
        The inputs to explain, e.g. images ``[N, C, H, W]`` in [0, 1].
    target : int, sequence of int, Tensor of shape (N,), or None, default=None
        The class to explain per input; ``None`` explains the model's predicted class.
    method : {'saliency', 'integrated_gradients', 'occlusion', 'grad_cam'}, default='saliency'
        ``'saliency'``: absolute input gradient (Simonyan et al., 2014).
        ``'integrated_gradients'``: path integral of the gradient from ``baseline`` to ``x``
        (Sundararajan et al., 2017), with its convergence delta.
        ``'occlusion'``: drop in the target logit when a sliding window is replaced by
        ``baseline`` (Zeiler & Fergus, 2014), averaged over the windows covering each element.
        ``'grad_cam'``: layer Grad-CAM (Selvaraju et al., 2017) on ``layer``, ReLU applied,
        upsampled (bilinear) to the input size.
    baseline : float or Tensor, default=None
        Reference input for integrated gradients and occlusion; ``None`` means zeros (a black
        image for [0, 1] images). Ignored by saliency and Grad-CAM.
    n_steps : int, default=None
        Integration steps of integrated gradients (Gauss-Legendre); ``None`` means 50.
    layer : str or nn.Module, default=None
        Grad-CAM's layer (dotted name from ``model.named_modules()`` or the module);
        ``None`` means the last ``nn.Conv2d`` (see :func:`last_conv_layer`).
    window, stride : int or sequence of int, default=None
        Occlusion window and stride over the non-batch dimensions (an int applies to the spatial
        dimensions, all channels occluded together). ``None``: for ``[C, H, W]`` inputs a window of
        ``(C, ceil(H/7), ceil(W/7))`` (4x4 on 28x28) and half of it as stride; for vectors 1 and 1.
    batch_size : int, default=None
        Inputs explained per pass (bounds memory: integrated gradients runs ``n_steps`` copies of
        each); ``None`` means 32.

    Returns
    -------
    Attribution

    Raises
    ------
    ValueError
        Unknown ``method`` (the valid ones are listed), a ``target`` out of range or of the wrong
        length, Grad-CAM on a model without ``nn.Conv2d``, an unknown ``layer``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lin = nn.Linear(3, 2)
    >>> res = attributions(lin, torch.ones(1, 3), target=0, method="integrated_gradients")
    >>> torch.allclose(res.maps[0], lin.weight[0].detach(), atol=1e-5)
    True
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {', '.join(map(repr, METHODS))}. "
                         f"Got {method!r} instead.")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch.Tensor. Got {type(x).__name__} instead.")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"`x` must be a non-empty batch [N, ...]. Got shape {list(x.shape)} instead.")
    n_steps = 50 if n_steps is None else _pos_int("n_steps", n_steps)
    batch_size = 32 if batch_size is None else _pos_int("batch_size", batch_size)

    layer_name, layer_module = None, None
    if method == "grad_cam":
        layer_name, layer_module = _resolve_layer(model, layer)

    device = _model_device(model)
    x = x.detach().to(device=device, dtype=torch.float32)
    n = x.shape[0]
    base = _baseline(baseline, x) if method in ("integrated_gradients", "occlusion") else None
    if method == "occlusion":
        win, strd = _occlusion_window(tuple(x.shape[1:]), window, stride)

    params = list(model.parameters())
    was_training = model.training
    requires = [p.requires_grad for p in params]
    maps, deltas = [], []
    try:
        model.eval()
        for p in params:
            p.requires_grad_(False)
        with torch.enable_grad():
            targets = _targets(model, x, target, batch_size)
            for s in range(0, n, batch_size):
                xb, tb = x[s:s + batch_size], targets[s:s + batch_size].to(device)
                bb = None if base is None else base[s:s + batch_size]
                if method == "saliency":
                    from captum.attr import Saliency

                    # a fresh leaf that requires grad (Captum would otherwise warn and set it)
                    a = Saliency(model).attribute(xb.clone().requires_grad_(True), target=tb,
                                                  abs=True)
                elif method == "integrated_gradients":
                    from captum.attr import IntegratedGradients

                    a, d = IntegratedGradients(model).attribute(
                        xb, baselines=bb, target=tb, n_steps=n_steps, method="gausslegendre",
                        return_convergence_delta=True)
                    deltas.append(d.detach().reshape(-1).cpu())
                elif method == "occlusion":
                    from captum.attr import Occlusion

                    a = Occlusion(model).attribute(
                        xb, sliding_window_shapes=win, strides=strd, baselines=bb, target=tb,
                        perturbations_per_eval=max(1, 256 // xb.shape[0]))
                else:
                    a = _grad_cam(model, layer_module, xb, tb)
                maps.append(a.detach().cpu())
    finally:
        for p, r in zip(params, requires):
            p.requires_grad_(r)
        model.train(was_training)

    return Attribution(maps=torch.cat(maps).float(), targets=targets.cpu(), method=method,
                       inputs=x.cpu(), delta=torch.cat(deltas) if deltas else None,
                       layer=layer_name, signed=_SIGNED[method])


def last_conv_layer(model: nn.Module, *, rectified: bool = False) -> str:
    """The dotted name of the last ``nn.Conv2d`` in ``model.named_modules()`` order.

    Parameters
    ----------
    model : nn.Module
    rectified : bool, default=False
        Return instead the first activation (ReLU, LeakyReLU, ELU, GELU) that follows the last
        conv (after its BatchNorm, say) when there is one before any other conv or linear layer:
        the rectified feature maps Selvaraju et al. (2017) use for Grad-CAM. Through a BatchNorm
        the conv's own output carries a per-channel offset that shows up as background.

    Raises
    ------
    ValueError
        The model has no ``nn.Conv2d`` (Grad-CAM needs a convolutional layer).

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.BatchNorm2d(2),
    ...                     nn.ReLU(), nn.Flatten())
    >>> last_conv_layer(net), last_conv_layer(net, rectified=True)
    ('2', '4')
    """
    named = list(model.named_modules())
    convs = [i for i, (_, m) in enumerate(named) if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"grad_cam needs a convolutional layer, and {type(model).__name__} has no "
                         "nn.Conv2d; use 'saliency', 'integrated_gradients' or 'occlusion'.")
    last = convs[-1]
    if rectified:
        for name, m in named[last + 1:]:
            if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU)):
                return name
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.Flatten)):
                break
    return named[last][0]


def randomized_copy(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` with every parameter re-initialized (the caller's model is untouched).

    Modules with ``reset_parameters`` (Linear, Conv, BatchNorm, ...) are reset; any other parameter
    is redrawn from a normal distribution with its current standard deviation. Used for the model
    randomization test of Adebayo et al. (2018): a faithful attribution changes with the weights.

    Parameters
    ----------
    model : nn.Module
    seed : int, default=0
        Seeds the new weights (the global RNG state is restored afterwards).

    Examples
    --------
    >>> from torch import nn
    >>> m = nn.Linear(2, 2)
    >>> bool((randomized_copy(m, seed=1).weight != m.weight).any())
    True
    """
    new = copy.deepcopy(model)
    covered = set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for m in new.modules():
            if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
                m.reset_parameters()
                covered.update(id(p) for p in m.parameters(recurse=False))
        for p in new.parameters():
            if id(p) not in covered:
                std = float(p.std()) if p.numel() > 1 else 1.0
                p.normal_(0.0, std if std > 0 else 0.01)
    return new


def rank_correlation(a, b) -> np.ndarray:
    """Spearman rank correlation between two sets of maps, one value per example.

    Parameters
    ----------
    a, b : Tensor, ndarray or Attribution, of shape (N, ...)

    Returns
    -------
    ndarray of shape (N,)

    Examples
    --------
    >>> import torch
    >>> rank_correlation(torch.tensor([[1., 2., 3.]]), torch.tensor([[10., 20., 30.]]))
    array([1.])
    """
    a, b = (_as_numpy(v) for v in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must have the same shape. Got {a.shape} and {b.shape}.")
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    den = np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), 0.0)


# --------------------------------------------------------------------------------------------
def _grad_cam(model: nn.Module, layer: nn.Module, xb: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
    from captum.attr import LayerAttribution, LayerGradCam

    # Captum needs the layer output in the graph: with frozen parameters that requires an input
    # that requires grad (a fresh leaf, the caller's tensor is not touched).
    xin = xb.clone().requires_grad_(True)
    cam = LayerGradCam(model, layer).attribute(xin, target=tb, relu_attributions=True)
    if cam.dim() != 4:
        raise ValueError(f"grad_cam needs a layer with [N, C, H, W] output. Got {list(cam.shape)}.")
    cam = LayerAttribution.interpolate(cam, tuple(xb.shape[-2:]), interpolate_mode="bilinear")
    return cam.expand(-1, xb.shape[1], -1, -1) if xb.dim() == 4 else cam


def _resolve_layer(model: nn.Module, layer) -> tuple[str, nn.Module]:
    modules = dict(model.named_modules())
    if layer is None:
        name = last_conv_layer(model)
        return name, modules[name]
    if isinstance(layer, nn.Module):
        for name, m in modules.items():
            if m is layer:
                return name, m
        raise ValueError("`layer` is not a submodule of `model`.")
    if not isinstance(layer, str) or layer not in modules or layer == "":
        convs = [n for n, m in modules.items() if isinstance(m, nn.Conv2d)]
        raise ValueError(f"`layer` must name a submodule of the model (conv layers: "
                         f"{', '.join(map(repr, convs)) or 'none'}; vizkit.hooks.layer_names(model) "
                         f"lists all). Got {layer!r} instead.")
    return layer, modules[layer]


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


def _model_device(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _pos_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"`{name}` must be a positive integer. Got {v!r} instead.")
    return int(v)


def _as_numpy(v) -> np.ndarray:
    if isinstance(v, Attribution):
        v = v.maps
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks along axis 1 (ties share their mean rank, as in Spearman's definition)."""
    out = np.empty_like(a)
    for i, row in enumerate(a):
        order = np.argsort(row, kind="mergesort")
        srt = row[order]
        ranks = np.empty(len(row))
        ranks[order] = np.arange(len(row), dtype=np.float64)
        # ties: replace by the mean rank of their group
        _, start, counts = np.unique(srt, return_index=True, return_counts=True)
        tied = counts > 1
        for s0, c in zip(start[tied], counts[tied]):
            ranks[order[s0:s0 + c]] = s0 + (c - 1) / 2.0
        out[i] = ranks
    return out
