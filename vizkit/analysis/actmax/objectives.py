"""Objectives and penalties for activation maximization (Lucent's ``objectives``).

An :class:`Objective` maps the *context* of one forward pass -- a dict holding ``'input'`` (the
rendered images ``[N, C, H, W]``), ``'output'`` (the model's logits) and the outputs of the layers
it named -- to one value per image, shape ``[N]``. Objectives combine like numbers (Lucent's
idea): ``class_logit(3) - 0.5 * class_logit(5)``, ``channel('features.0', 2) + unit(...)``.
Penalties are objectives too (:func:`l2`, :func:`total_variation`, :func:`ink`,
:func:`data_prior`); :func:`penalty` sums the weighted ones in one place.
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterable, Sequence

import torch

__all__ = ["Objective", "class_logit", "unit", "channel", "neuron", "layer", "diversity", "l2",
           "total_variation", "ink", "data_prior", "penalty", "as_objective"]


class Objective:
    """A differentiable per-image score to maximize.

    Parameters
    ----------
    fn : callable
        ``fn(ctx) -> Tensor [N]``; ``ctx`` maps ``'input'``, ``'output'`` and layer names to
        tensors of the current forward pass.
    name : str
        Shown in titles and reports.
    layers : iterable of str
        The layers whose outputs ``fn`` reads (hooks are set on exactly these).

    Examples
    --------
    >>> obj = class_logit(1) - 0.5 * class_logit(0)
    >>> obj({"output": torch.tensor([[2.0, 4.0]])})
    tensor([3.])
    """

    def __init__(self, fn: Callable[[dict], torch.Tensor], name: str = "objective",
                 layers: Iterable[str] = ()) -> None:
        if not callable(fn):
            raise TypeError(f"`fn` must be callable. Got {type(fn).__name__} instead.")
        self.fn = fn
        self.name = str(name)
        self.layers = tuple(dict.fromkeys(layers))

    def __call__(self, ctx: dict) -> torch.Tensor:
        return self.fn(ctx)

    def __repr__(self) -> str:
        return f"Objective({self.name!r})"

    def __add__(self, other):
        if isinstance(other, numbers.Number):
            return Objective(lambda c: self(c) + other, f"{self.name} + {other}", self.layers)
        other = as_objective(other)
        return Objective(lambda c: self(c) + other(c), f"{self.name} + {other.name}",
                         self.layers + other.layers)

    def __radd__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # sum([...])
            return self
        return self.__add__(other)

    def __neg__(self):
        return Objective(lambda c: -self(c), f"-{self.name}", self.layers)

    def __sub__(self, other):
        return self + (-as_objective(other) if not isinstance(other, numbers.Number) else -other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, k):
        if not isinstance(k, numbers.Number):
            raise TypeError(f"an Objective can only be scaled by a number. Got "
                            f"{type(k).__name__} instead.")
        return Objective(lambda c: k * self(c), f"{k:g} * {self.name}", self.layers)

    __rmul__ = __mul__

    def __truediv__(self, k):
        return self * (1.0 / k)


def as_objective(target, *, class_names=None) -> Objective:
    """Turn a target into an :class:`Objective`.

    ``int`` -> :func:`class_logit`; ``'layer:k'`` -> unit ``k`` of a flat layer or channel ``k``
    (mean over positions) of a conv layer; ``'layer'`` -> :func:`layer`, the whole layer's mean; an :class:`Objective` as is; any other callable
    ``f(ctx) -> [N]`` is wrapped (it may only read ``'input'`` and ``'output'``).
    """
    if isinstance(target, Objective):
        return target
    if isinstance(target, bool):
        raise TypeError("a target cannot be a bool; give an int (class), a layer name, "
                        "'layer:unit' or an Objective.")
    if isinstance(target, numbers.Integral):
        name = None
        if class_names is not None and 0 <= int(target) < len(class_names):
            name = f"class {class_names[int(target)]}"
        return class_logit(int(target), name=name)
    if isinstance(target, str):
        name, sep, idx = target.rpartition(":")
        if not sep:
            return layer(target)
        if not name or not idx.strip().lstrip("-").isdigit():
            raise ValueError(f"a string target must be a layer name ('features.3', its mean "
                             f"activation) or 'layer:unit' (e.g. 'features.0:3'). Got "
                             f"{target!r} instead.")
        return unit(name, int(idx))
    if callable(target):
        return Objective(target, getattr(target, "__name__", "objective"))
    raise TypeError(f"a target must be an int (class), a layer name, a 'layer:unit' string, an Objective or a "
                    f"callable. Got {type(target).__name__} instead.")


def class_logit(c: int, *, name: str | None = None) -> Objective:
    """The logit (raw score) of class ``c``."""
    c = int(c)

    def fn(ctx):
        out = ctx["output"]
        if not 0 <= c < out.shape[1]:
            raise ValueError(f"class target {c} is out of range for {out.shape[1]} outputs.")
        return out[:, c]

    obj = Objective(fn, name or f"class {c}")
    obj.target_class = c  # read by the probabilities of the result
    return obj


def unit(layer: str, k: int) -> Objective:
    """Unit ``k`` of a flat layer; for a conv layer, the mean of channel ``k`` (as
    :func:`channel`)."""

    def fn(ctx):
        a = ctx[layer]
        _check_index(a, k, layer)
        return a[:, k] if a.dim() == 2 else a[:, k].flatten(1).mean(1)

    return Objective(fn, f"{layer}:{k}", [layer])


def channel(layer: str, k: int) -> Objective:
    """Mean activation of channel ``k`` of a conv layer over all positions."""

    def fn(ctx):
        a = ctx[layer]
        _check_index(a, k, layer)
        if a.dim() < 3:
            raise ValueError(f"channel() needs a conv layer output [N, C, H, W]; {layer!r} gives "
                             f"{tuple(a.shape)}. Use unit() for flat layers.")
        return a[:, k].flatten(1).mean(1)

    return Objective(fn, f"{layer}:ch{k}", [layer])


def neuron(layer: str, k: int, row: int | None = None, col: int | None = None) -> Objective:
    """Channel ``k`` of a conv layer at one position (default: the spatial centre)."""

    def fn(ctx):
        a = ctx[layer]
        _check_index(a, k, layer)
        if a.dim() != 4:
            raise ValueError(f"neuron() needs a conv layer output [N, C, H, W]; {layer!r} gives "
                             f"{tuple(a.shape)}.")
        r = a.shape[2] // 2 if row is None else row
        q = a.shape[3] // 2 if col is None else col
        return a[:, k, r, q]

    return Objective(fn, f"{layer}:ch{k}@({row if row is not None else 'c'},"
                         f"{col if col is not None else 'c'})", [layer])


def layer(name: str) -> Objective:
    """The mean activation of a whole layer (all units, channels and positions) -- what seed
    004's author wanted: "the average of the activations of the layer"."""

    def fn(ctx):
        return ctx[name].flatten(1).mean(1)

    return Objective(fn, name, [name])


def diversity(layer: str = "input", groups: Sequence[int] | None = None) -> Objective:
    """Lucent's diversity term: minus the mean cosine similarity of each image's activations at
    ``layer`` with those of the other images in its group (``groups[k]``: image k's group; None:
    one group). Add it with a positive weight to get several *different* images per target."""

    def fn(ctx):
        a = torch.nn.functional.normalize(ctx[layer].flatten(1), dim=1)
        g = torch.zeros(len(a)) if groups is None else torch.as_tensor(list(groups))
        if len(g) != len(a):
            raise ValueError(f"`groups` has {len(g)} entries for {len(a)} images.")
        same = (g[:, None] == g[None, :]).to(a.device) & ~torch.eye(len(a), dtype=torch.bool,
                                                                      device=a.device)
        sim = (a @ a.T) * same
        return -sim.sum(1) / same.sum(1).clamp_min(1)

    return Objective(fn, f"diversity({layer})", [] if layer == "input" else [layer])


def l2(center: float = 0.0) -> Objective:
    """``||x - center||^2`` of each image (subtract it: ``obj - 1e-2 * l2()``)."""
    return Objective(lambda ctx: (ctx["input"] - center).pow(2).flatten(1).sum(1), "l2")


def total_variation() -> Objective:
    """Anisotropic total variation (sum of absolute neighbour differences) of each image."""

    def fn(ctx):
        x = ctx["input"]
        dh = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().flatten(1).sum(1)
        dw = (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().flatten(1).sum(1)
        return dh + dw

    return Objective(fn, "tv")


def ink(background: float = 0.0) -> Objective:
    """The ink budget: ``sum |x - background|`` of each image (an L1 penalty; MNIST's background
    is 0, so this is the total ink)."""
    return Objective(lambda ctx: (ctx["input"] - background).abs().flatten(1).sum(1), "ink")


def data_prior(images: torch.Tensor, n_components: int = 100) -> Objective:
    """A data prior: the squared distance of each image from the span of the principal
    components of ``images`` (an affine subspace through their mean; PCA by an exact SVD of at
    most 10,000 evenly spaced images, computed once per set of images and number of components).
    Subtract it to keep images near what the data can look like."""
    x = torch.as_tensor(images).detach().float().flatten(1)
    if x.dim() != 2 or len(x) < 2:
        raise ValueError(f"`prior` must hold at least 2 images. Got shape {tuple(images.shape)}.")
    if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
        raise ValueError(f"`n_components` must be a positive int. Got {n_components!r} instead.")
    mean, basis = _principal_span(x[:: max(1, len(x) // 10000)], n_components)

    def fn(ctx):
        d = ctx["input"].flatten(1) - mean.to(ctx["input"].device, ctx["input"].dtype)
        # |d - B B^T d|^2 = |d|^2 - |B^T d|^2 for orthonormal columns B: one product, not two
        return (d.pow(2).sum(1) - (d @ basis.to(d.device, d.dtype)).pow(2).sum(1)).clamp_min(0)

    fn.mean = mean  # the start image of a prior run: the data's mean image
    return Objective(fn, f"prior({min(n_components, basis.shape[1])} PCs)")


_SPANS: dict = {}  # (fingerprint of the images, n_components) -> (mean, basis); a few entries


def _principal_span(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean [D], basis [D, k])`` of the rows of ``x``, memoized on their content (the gallery
    asks for the same training images' span six times per recipe)."""
    w = torch.arange(1, x.numel() + 1, dtype=torch.float64).remainder_(9973).view_as(x)
    key = (tuple(x.shape), k, float(x.double().sum()), float((x.double() * w).sum()))
    if key not in _SPANS:
        mean = x.mean(0)
        basis = torch.linalg.svd(x - mean, full_matrices=False).Vh[:k].T.contiguous()
        if len(_SPANS) >= 4:
            _SPANS.pop(next(iter(_SPANS)))
        _SPANS[key] = (mean, basis)
    return _SPANS[key]


def penalty(*, l2: float = 0.0, tv: float = 0.0, ink: float = 0.0, prior: Objective | None = None,
            prior_weight: float = 0.0, background: float = 0.0) -> Objective | None:
    """The weighted sum of the penalties whose weight is not zero (``None`` when all are): the
    one place where activation maximization's ``l2``, ``tv``, ``ink`` and ``prior`` meet."""
    terms = [(l2, _l2), (tv, total_variation), (ink, lambda: _ink(background)),
             (prior_weight, (lambda: prior) if prior is not None else None)]
    used = [w * make() for w, make in terms if w and make is not None]
    return sum(used) if used else None


_l2, _ink = l2, ink


def _check_index(a: torch.Tensor, k: int, layer: str) -> None:
    if a.dim() < 2 or not 0 <= k < a.shape[1]:
        raise ValueError(f"index {k} is out of range for layer {layer!r} with output shape "
                         f"{tuple(a.shape)}.")
