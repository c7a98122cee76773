"""Private helpers shared by the gradient analyses (activation maximization, receptive fields).

* :func:`resolve_module` turns a dotted layer name into the submodule, with a helpful error;
* :func:`capture` records the outputs of some submodules *with their autograd graph* (not
  detached), and always removes its hooks;
* :func:`frozen_eval` puts a model in eval mode with frozen parameters and restores both;
* :func:`model_input_shape` finds the ``(C, H, W)`` a model takes, never guessing ImageNet's.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
from torch import nn

__all__ = ["resolve_module", "capture", "frozen_eval", "model_input_shape", "input_normalization"]


def resolve_module(model: nn.Module, layer: str | nn.Module) -> tuple[str, nn.Module]:
    """Return ``(name, module)`` for a dotted layer name (or a submodule of ``model``)."""
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for name, m in modules.items():
            if m is layer:
                return name, m
        raise ValueError("`layer` is a module that is not a submodule of `model`.")
    if not isinstance(layer, str):
        raise TypeError(f"`layer` must be a dotted module name or an nn.Module. Got "
                        f"{type(layer).__name__} instead.")
    if layer not in modules or layer == "":
        names = [n for n in modules if n]
        shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
        raise ValueError(f"unknown layer {layer!r}; the model's layers are {shown} "
                         "(vizkit.hooks.layer_names(model) lists them with shapes).")
    return layer, modules[layer]


@contextlib.contextmanager
def capture(model: nn.Module, names: Sequence[str]) -> Iterator[dict]:
    """Context manager: a dict ``name -> output`` filled at each forward pass, graph attached.

    Unlike a recorder for inspection, the tensors are *not* detached, so objectives built on them
    can be differentiated. The hooks are removed on exit, also after an exception.
    """
    store: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name in dict.fromkeys(names):
            _, module = resolve_module(model, name)

            def hook(_m, _inp, out, _name=name):
                store[_name] = out[0] if isinstance(out, (tuple, list)) else out

            handles.append(module.register_forward_hook(hook))
        yield store
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def frozen_eval(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and ``requires_grad=False`` on every parameter inside; both put back on exit."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in flags:
            p.requires_grad_(False)
        yield model
    finally:
        for p, f in flags:
            p.requires_grad_(f)
        for m, t in modes:
            m.training = t


def model_input_shape(model: nn.Module,
                      input_shape: Sequence[int] | None = None) -> tuple[int, ...]:
    """``input_shape`` if given, else ``model.vizkit_spec['input_shape']``; error if neither."""
    if input_shape is None:
        spec = getattr(model, "vizkit_spec", None)
        if isinstance(spec, dict) and spec.get("input_shape"):
            input_shape = spec["input_shape"]
    if input_shape is None:
        raise ValueError("the model's input shape is unknown: pass `input_shape=(C, H, W)` "
                         "(for example split.input_shape); vizkit never guesses it.")
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"`input_shape` must be a sequence of ints. Got {input_shape!r} "
                        "instead.") from None
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"`input_shape` must hold positive sizes. Got {shape!r} instead.")
    return shape


def input_normalization(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(mean, std)`` buffers of the model's input ``norm`` module (a vizkit ``Normalize``),
    or ``None`` when the model takes its inputs as they are."""
    norm = getattr(model, "norm", None)
    if norm is None or isinstance(norm, nn.Identity):
        return None
    mean, std = getattr(norm, "mean", None), getattr(norm, "std", None)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
        return mean.detach().float(), std.detach().float()
    raise ValueError(f"the model's `norm` module ({type(norm).__name__}) is not a vizkit "
                     "Normalize with `mean`/`std` buffers; cannot map weights to raw inputs.")
