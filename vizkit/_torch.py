"""Model plumbing shared by every vizkit package (private: import it, do not document it).

* :func:`resolve_layer` turns a dotted layer name into the submodule, with a "closest names"
  error that points to :func:`vizkit.hooks.layer_names`; :func:`layer_name` is its inverse;
* :func:`capture` records submodule outputs *with* their autograd graph (for objectives that are
  differentiated), always removing its hooks;
* :func:`model_input_shape` (:func:`spec_input_shape`) and :func:`input_normalization` read a
  model's input convention from its spec and its ``norm`` module (never guessing ImageNet's);
* :func:`check_model` is the one wording of "``model`` must be an ``nn.Module``";
* :func:`model_device` is where a model's parameters (or buffers) live;
* :func:`frozen_eval` puts a model in eval mode with frozen parameters, :func:`training_mode` in
  train or eval mode; both put every module's ``training`` flag (and every parameter's
  ``requires_grad``) back on exit, also after an exception.

Examples
--------
>>> from torch import nn
>>> net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
>>> resolve_layer(net, "1")
Dropout(p=0.5, inplace=False)
>>> with frozen_eval(net):
...     net.training, net[0].weight.requires_grad
(False, False)
>>> net.training, net[0].weight.requires_grad
(True, True)
"""

from __future__ import annotations

import contextlib
import difflib
from typing import Iterator, Sequence

import torch
from torch import nn

__all__ = ["check_model", "resolve_layer", "resolve_named", "layer_name", "model_device",
           "frozen_eval", "training_mode", "capture", "model_input_shape", "spec_input_shape",
           "input_normalization"]


def check_model(model) -> None:
    """``TypeError`` unless ``model`` is a ``torch.nn.Module`` (the one wording of that check)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module. Got {type(model).__name__} instead.")


def resolve_layer(model: nn.Module, name: str | nn.Module, *, argname: str = "layer") -> nn.Module:
    """The submodule of ``model`` called ``name`` (a dotted name such as ``"features.3"``).

    Parameters
    ----------
    model : nn.Module
        The model to look in.
    name : str or nn.Module
        A dotted name from ``model.named_modules()`` (aliases of shared modules included), or a
        submodule of ``model`` (returned as it is once checked).
    argname : str, default='layer'
        The parameter name used in error messages.

    Returns
    -------
    nn.Module

    Raises
    ------
    ValueError
        Unknown name (the message lists the closest names and points to
        :func:`vizkit.hooks.layer_names`), or a module that is not a submodule of ``model``.
    TypeError
        ``name`` is neither a string nor a module.
    """
    check_model(model)
    if isinstance(name, nn.Module):
        if any(m is name for m in model.modules()):
            return name
        raise ValueError(f"the module {type(name).__name__} passed as `{argname}` is not a "
                         f"submodule of {type(model).__name__}.")
    if not isinstance(name, str):
        raise TypeError(f"`{argname}` must be a dotted layer name or an nn.Module. Got "
                        f"{type(name).__name__} instead.")
    if name:
        module = model
        for part in name.split("."):
            module = module._modules.get(part)  # type: ignore[assignment]
            if module is None:
                break
        else:
            return module
        modules = dict(model.named_modules(remove_duplicate=False))
        if name in modules:
            return modules[name]
    names = [n for n, _ in model.named_modules() if n]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    if "_orig_mod." + name in names:  # a torch.compile'd model wraps the original
        close = ["_orig_mod." + name]
    hint = f" Closest names: {', '.join(repr(c) for c in close)}." if close else ""
    raise ValueError(f"Unknown layer {name!r} in {type(model).__name__}.{hint} Call "
                     "vizkit.hooks.layer_names(model) to list the layer names.")


def resolve_named(model: nn.Module, layer: str | nn.Module) -> tuple[str, nn.Module]:
    """``(dotted name, submodule)`` for a layer given by name or as a submodule of ``model``."""
    module = resolve_layer(model, layer)
    return (layer if isinstance(layer, str) else layer_name(model, module)), module


def layer_name(model: nn.Module, module: nn.Module) -> str:
    """The dotted name of ``module`` in ``model`` (its first name, for a shared module).

    Raises
    ------
    ValueError
        ``module`` is not a submodule of ``model``.
    """
    check_model(model)
    for n, m in model.named_modules():
        if m is module:
            return n
    raise ValueError(f"the module {type(module).__name__} is not a submodule of "
                     f"{type(model).__name__}.")


def model_device(model: nn.Module, default: torch.device | None = torch.device("cpu")
                 ) -> torch.device | None:
    """The device of the model's first parameter (else first buffer, else ``default``)."""
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return default


@contextlib.contextmanager
def _restoring(model: nn.Module, *, grads: bool) -> Iterator[None]:
    """Put back every module's ``training`` flag (and, if ``grads``, every parameter's
    ``requires_grad``) as they were on entry, whatever happens inside."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()] if grads else []
    try:
        yield
    finally:
        for p, f in flags:
            p.requires_grad_(f)
        for m, t in modes:
            m.training = t


@contextlib.contextmanager
def frozen_eval(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and ``requires_grad=False`` on every parameter inside the block.

    On exit (also after an exception) every module's ``training`` flag and every parameter's
    ``requires_grad`` are what they were on entry, mixed flags included.
    """
    check_model(model)
    with _restoring(model, grads=True):
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        yield model


@contextlib.contextmanager
def training_mode(model: nn.Module, mode: bool) -> Iterator[nn.Module]:
    """``model.train(mode)`` inside the block; every module's ``training`` flag put back on exit
    (also after an exception)."""
    check_model(model)
    if not isinstance(mode, bool):
        raise TypeError(f"`mode` must be True (train) or False (eval). Got {mode!r} instead.")
    with _restoring(model, grads=False):
        model.train(mode)
        yield model


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
            module = resolve_layer(model, name)

            def hook(_m, _inp, out, _name=name):
                store[_name] = out[0] if isinstance(out, (tuple, list)) else out

            handles.append(module.register_forward_hook(hook))
        yield store
    finally:
        for h in handles:
            h.remove()


def spec_input_shape(model: nn.Module):
    """The input shape recorded in ``model.vizkit_spec['input_shape']``, or ``None`` (the one
    place that reads it; a user's model without a spec gives ``None``)."""
    spec = getattr(model, "vizkit_spec", None)
    if isinstance(spec, dict) and spec.get("input_shape"):
        return spec["input_shape"]
    return None


def model_input_shape(model: nn.Module,
                      input_shape: Sequence[int] | None = None) -> tuple[int, ...]:
    """``input_shape`` if given, else ``model.vizkit_spec['input_shape']``; error if neither."""
    if input_shape is None:
        input_shape = spec_input_shape(model)
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
