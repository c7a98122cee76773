"""``patch``: replace layer outputs for the duration of a block."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from torch import nn

from ._errors import LayersNotRunError, not_run_message
from ._handles import hookable_layers, remove_handles
from ._resolve import LayerSpec, check_model
from ._tree import tree_leaves

__all__ = ["patch"]


def _signature(obj: Any) -> list[tuple]:
    return [(tuple(t.shape), t.dtype, t.device) for t in tree_leaves(obj)]


def _fmt(sig: list[tuple]) -> str:
    if len(sig) == 1:
        shape, dtype, device = sig[0]
        return f"shape {shape}, dtype {dtype}, device {device}"
    return "; ".join(f"shape {s}, dtype {d}, device {v}" for s, d, v in sig) or "no tensors"


class patch:
    """Replace the outputs of layers inside a ``with`` block.

    ``fn(output)`` returns the new output (or ``None`` after changing ``output`` in
    place); it must keep the shape, dtype and device of every tensor, else a
    ``ValueError`` is raised during the forward pass. Patches run before any other
    forward hook, so :func:`record` sees the patched value. Hooks are removed on exit,
    also after an exception.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model.
    replacements : mapping of layer spec to callable
        Layer name, glob, module type or module → ``fn(output) -> new output``.
    strict : bool, default=True
        On a normal exit, raise :class:`LayersNotRunError` if a patched layer never ran.

    Raises
    ------
    TypeError
        ``replacements`` is not a mapping, or a replacement is not callable.
    ValueError
        An unknown layer (with the closest names), a layer patched twice, or a replacement that
        changes the output's shape, dtype or device.
    RuntimeError
        The same ``patch(...)`` object is entered a second time.
    LayersNotRunError
        With ``strict``, a patched layer never ran.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> def ablate_unit_0(t):
    ...     t = t.clone()
    ...     t[:, 0] = 0
    ...     return t
    >>> with patch(model, {"0": ablate_unit_0}):
    ...     out = model(torch.randn(4, 2))
    >>> bool((out[:, 0] == 0).all())
    True
    """

    def __init__(
        self,
        model: nn.Module,
        replacements: Mapping[LayerSpec, Callable[[Any], Any]],
        *,
        strict: bool = True,
    ) -> None:
        check_model(model)
        if not isinstance(replacements, Mapping) or not replacements:
            raise TypeError(
                "`replacements` must be a non-empty dict {layer: fn}. Got "
                f"{type(replacements).__name__} instead."
            )
        self.model = model
        self.targets: dict[str, tuple[nn.Module, Callable]] = {}
        for spec, fn in replacements.items():
            if not callable(fn):
                raise TypeError(f"The replacement for {spec!r} must be callable. Got {type(fn).__name__} instead.")
            for name, module in hookable_layers(model, spec, where="patch", argname="replacements")[0].items():
                if name in self.targets:
                    raise ValueError(f"Layer {name!r} is patched twice in `replacements`.")
                self.targets[name] = (module, fn)
        self.strict = strict
        self._handles: list = []
        self.counts: dict[str, int] = {}

    def _hook(self, name: str, fn: Callable):
        def hook(mod: nn.Module, args: tuple, output: Any) -> Any:
            self.counts[name] += 1
            before = _signature(output)
            new = fn(output)
            if new is None:
                new = output
            after = _signature(new)
            if after != before:
                raise ValueError(
                    f"The patch of layer {name!r} must keep the output's shape, dtype and device: "
                    f"expected {_fmt(before)}. Got {_fmt(after)} instead."
                )
            return new

        return hook

    def __enter__(self) -> nn.Module:
        if self._handles or self.counts:
            raise RuntimeError("A patch(...) object can be entered only once; call patch(...) again.")
        try:
            for name, (module, fn) in self.targets.items():
                self.counts[name] = 0
                self._handles.append(module.register_forward_hook(self._hook(name, fn), prepend=True))
        except BaseException:
            remove_handles(self._handles)
            raise
        return self.model

    def __exit__(self, exc_type, exc, tb) -> bool:
        remove_handles(self._handles)
        if exc_type is None and self.strict:
            missing = [n for n, c in self.counts.items() if c == 0]
            if missing:
                raise LayersNotRunError(not_run_message(missing, "patch"))
        return False

