"""Objectives for activation maximization: small factories returning combinable callables.

An :class:`Objective` maps the *context* of one forward pass -- a dict holding ``'input'`` (the
rendered images ``[N, C, H, W]``), ``'output'`` (the model's logits) and the outputs of the layers
it named -- to one value per image, shape ``[N]``. Objectives combine like numbers (Lucent's
idea): ``class_logit(3) - 0.5 * class_logit(5)``, ``channel('features.0', 2) + unit(...)``.
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterable

import torch

__all__ = ["Objective", "class_logit", "unit", "channel", "neuron", "l2", "total_variation",
           "as_objective"]


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
    (mean over positions) of a conv layer; an :class:`Objective` as is; any other callable
    ``f(ctx) -> [N]`` is wrapped (it may only read ``'input'`` and ``'output'``).
    """
    if isinstance(target, Objective):
        return target
    if isinstance(target, bool):
        raise TypeError("a target cannot be a bool.")
    if isinstance(target, numbers.Integral):
        name = None
        if class_names is not None and 0 <= int(target) < len(class_names):
            name = f"class {class_names[int(target)]}"
        return class_logit(int(target), name=name)
    if isinstance(target, str):
        layer, sep, idx = target.rpartition(":")
        if not sep or not layer or not idx.strip().lstrip("-").isdigit():
            raise ValueError(f"a string target must be 'layer:unit' or 'layer:channel' (e.g. "
                             f"'features.0:3'). Got {target!r} instead.")
        return unit(layer, int(idx))
    if callable(target):
        return Objective(target, getattr(target, "__name__", "objective"))
    raise TypeError(f"a target must be an int (class), a 'layer:unit' string, an Objective or a "
                    f"callable. Got {type(target).__name__} instead.")


def class_logit(c: int, *, name: str | None = None) -> Objective:
    """The logit (raw score) of class ``c``."""
    c = int(c)

    def fn(ctx):
        out = ctx["output"]
        if not 0 <= c < out.shape[1]:
            raise ValueError(f"class target {c} is out of range for {out.shape[1]} outputs.")
        return out[:, c]

    return Objective(fn, name or f"class {c}")


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


def _check_index(a: torch.Tensor, k: int, layer: str) -> None:
    if a.dim() < 2 or not 0 <= k < a.shape[1]:
        raise ValueError(f"index {k} is out of range for layer {layer!r} with output shape "
                         f"{tuple(a.shape)}.")
