"""Turn layer specs (dotted names, globs, module types, modules) into named submodules."""

from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Union

from torch import nn

from .._torch import resolve_layer

__all__ = ["LayerSpec", "layer_names", "resolve_layers", "check_model"]

LayerSpec = Union[str, type, nn.Module]

_GLOB_CHARS = set("*?[")


def check_model(model: Any) -> None:
    """Raise ``TypeError`` unless ``model`` is an ``nn.Module``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module. Got {type(model).__name__} instead.")


def layer_names(model: nn.Module, *, leaves: bool = False) -> list[str]:
    """Dotted names of the submodules of ``model``, in definition order.

    Parameters
    ----------
    model : nn.Module
        The model to list.
    leaves : bool, default=False
        Only list modules without children (``Conv2d``, ``ReLU``, ...).

    Returns
    -------
    list of str
        Names accepted by :func:`record`, :func:`collect` and :func:`patch`. The model
        itself (name ``""``) is not listed.

    Examples
    --------
    >>> from torch import nn
    >>> layer_names(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    ['0', '1']
    """
    check_model(model)
    return [
        name
        for name, module in model.named_modules()
        if name and (not leaves or next(iter(module.children()), None) is None)
    ]


def _describe(spec: Any) -> str:
    return spec.__name__ if isinstance(spec, type) else repr(spec)


def _exact_names(model: nn.Module, specs: list) -> dict[str, nn.Module] | None:
    """Quick path for plain dotted names (no scan of every module); None if it does not apply."""
    out: dict[str, nn.Module] = {}
    for spec in specs:
        if not isinstance(spec, str) or _GLOB_CHARS & set(spec):
            return None
        module = model
        for part in spec.split("."):
            module = module._modules.get(part)  # type: ignore[assignment]
            if module is None:
                return None
        out.setdefault(spec, module)
    return out


def resolve_layers(
    model: nn.Module, layers: LayerSpec | Iterable[LayerSpec], *, argname: str = "layers"
) -> dict[str, nn.Module]:
    """Resolve ``layers`` once against ``model.named_modules()``.

    Exact dotted names (including aliases of shared modules), globs such as
    ``"layer?.*.conv2"`` (``*`` also crosses dots), ``nn.Module`` subclasses and module
    objects are accepted. The result keeps request order; a glob or type expands in
    model order. Raises ``ValueError`` naming the closest names for an unknown name.
    """
    check_model(model)
    if isinstance(layers, (str, type, nn.Module)):
        specs: list[Any] = [layers]
    else:
        try:
            specs = list(layers)
        except TypeError:
            raise TypeError(
                f"`{argname}` must be a layer name, a glob, a module type, a module, or a "
                f"list of those. Got {type(layers).__name__} instead."
            ) from None
    if not specs:
        raise ValueError(f"`{argname}` is empty: name at least one layer (see vizkit.hooks.layer_names(model)).")
    fast = _exact_names(model, specs)
    if fast is not None:
        return fast

    all_named = dict(model.named_modules(remove_duplicate=False))
    named = [(n, m) for n, m in model.named_modules() if n]
    by_id = {id(m): n for n, m in reversed(named)}
    out: dict[str, nn.Module] = {}

    for spec in specs:
        if isinstance(spec, str):
            if spec in all_named:
                out.setdefault(spec, all_named[spec])
            elif _GLOB_CHARS & set(spec):
                hits = [(n, m) for n, m in named if fnmatch.fnmatchcase(n, spec)]
                if not hits:
                    raise ValueError(
                        f"The glob {spec!r} matches no layer of {type(model).__name__}. "
                        "Call vizkit.hooks.layer_names(model) to list the layer names."
                    )
                for n, m in hits:
                    out.setdefault(n, m)
            else:  # unknown: the shared resolver raises its "closest names" error
                out.setdefault(spec, resolve_layer(model, spec, argname=argname))
        elif isinstance(spec, type) and issubclass(spec, nn.Module):
            hits = [(n, m) for n, m in named if isinstance(m, spec)]
            if not hits:
                present = sorted({type(m).__name__ for _, m in named})
                raise ValueError(
                    f"{type(model).__name__} has no layer of type {spec.__name__}. Types present: "
                    f"{', '.join(present)}."
                )
            for n, m in hits:
                out.setdefault(n, m)
        elif isinstance(spec, nn.Module):
            if id(spec) not in by_id:
                raise ValueError(
                    f"The module {type(spec).__name__} passed in `{argname}` is not a submodule of "
                    f"{type(model).__name__}."
                )
            out.setdefault(by_id[id(spec)], spec)
        else:
            raise TypeError(
                f"Each entry of `{argname}` must be a layer name, a glob, an nn.Module subclass "
                f"or a module. Got {_describe(spec)} instead."
            )
    return out
