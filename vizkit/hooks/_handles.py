"""Installing and removing hooks: what can be hooked, and removal that never stops half-way."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from ._resolve import check_model, resolve_layers

__all__ = ["contains_script_module", "hookable_layers", "release", "remove_handles", "script_modules",
           "scripted_error", "under"]


def script_modules(model: nn.Module) -> list[str]:
    """Dotted names of the outermost TorchScript modules in ``model`` (``""``: the model itself)."""
    script = torch.jit.ScriptModule
    if isinstance(model, script):
        return [""]
    stack, found = [model], False
    while stack and not found:  # quick, without names: most models hold no TorchScript at all
        for m in stack.pop()._modules.values():
            if isinstance(m, script):
                found = True
            elif m is not None:
                stack.append(m)
    if not found:
        return []
    names: list[str] = []
    for name, m in model.named_modules():  # a scripted module's children are TorchScript too
        if isinstance(m, script) and not any(under(name, n) for n in names):
            names.append(name)
    return names


def contains_script_module(model: nn.Module) -> bool:
    """Whether any part of ``model`` (or the model itself) is a TorchScript module."""
    return bool(script_modules(model))


def under(name: str, prefix: str) -> bool:
    """Whether layer ``name`` is the module ``prefix`` or lies inside it."""
    return prefix == "" or name == prefix or name.startswith(prefix + ".")


def scripted_error(model: nn.Module, layer: Optional[str], script: str, where: str) -> TypeError:
    """Scripted modules run without calling Python hooks: say so, and what to do instead."""
    module = model if script == "" else model.get_submodule(script)
    what = (f"TorchScript module ({type(module).__name__}, from torch.jit.script, torch.jit.trace or "
            f"torch.jit.load): TorchScript never calls Python hooks, so vizkit.hooks.{where}")
    if script == "":
        return TypeError(
            f"`model` is a {what} cannot see its layers. Pass the original nn.Module (the one given "
            "to torch.jit.script or torch.jit.trace: same layer names and weights); for a model from "
            "torch.jit.load, build it in Python and load_state_dict(scripted.state_dict())."
        )
    where_ = "is a" if layer == script else f"lies inside {script!r}, a"
    return TypeError(
        f"Layer {layer!r} {where_} {what} cannot hook it. Put the original nn.Module in place of "
        f"{script!r} while recording (script it afterwards), or record a layer outside it (such as "
        "the input of the layer that follows it, with inputs=True)."
    )


def hookable_layers(model: nn.Module, layers: Any, *, where: str,
                    argname: str = "layers") -> tuple[dict[str, nn.Module], bool]:
    """``resolve_layers``, after checking that every layer can carry Python hooks.

    Returns the layers and whether ``model`` holds TorchScript modules anywhere. Raises
    ``TypeError`` for a scripted model, or a layer that is or lies inside a scripted module.
    """
    check_model(model)
    scripted = script_modules(model)
    if "" in scripted:
        raise scripted_error(model, None, "", where)
    if not scripted:
        return resolve_layers(model, layers, argname=argname), False
    if not isinstance(layers, (str, type, nn.Module)):
        try:
            layers = list(layers)
        except TypeError:
            pass  # resolve_layers says what is wrong
    for spec in [layers] if isinstance(layers, str) else layers if isinstance(layers, list) else []:
        hit = next((s for s in scripted if isinstance(spec, str) and under(spec, s)), None)
        if hit is not None:  # resolving a name inside TorchScript fails: say why first
            raise scripted_error(model, spec, hit, where)
    modules = resolve_layers(model, layers, argname=argname)
    for name in modules:
        hit = next((s for s in scripted if under(name, s)), None)
        if hit is not None:
            raise scripted_error(model, name, hit, where)
    return modules, True


def remove_handles(handles: list) -> None:
    """Remove every handle, even if one removal fails; re-raise the first failure."""
    first: Optional[BaseException] = None
    while handles:
        handle = handles.pop()
        try:
            handle.remove()
        except BaseException as exc:  # noqa: BLE001 - keep removing the others
            first = first or exc
    if first is not None:
        raise first


def release(handles: list, flags: list) -> None:
    """Remove ``handles``, then put back every ``(module, was_training)`` flag, whatever fails."""
    try:
        remove_handles(handles)
    finally:
        for m, was_training in flags:
            m.training = was_training
