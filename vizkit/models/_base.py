"""Pieces shared by the torch models: constructor-argument recording, input normalization."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

__all__ = ["SpecModule", "Normalize", "ACTIVATIONS", "make_activation"]


def _plain_arg(value: Any) -> Any:
    """Tuples as lists and NumPy/torch scalars as Python numbers, so specs are plain JSON data."""
    if isinstance(value, (list, tuple)):
        return [_plain_arg(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain_arg(v) for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


class SpecModule(nn.Module):
    """An ``nn.Module`` that remembers the arguments it was constructed with (nanoGPT's
    ``model_args``), so :func:`vizkit.checkpoint.save` can store what rebuilds it.

    After construction ``model.model_args`` holds every parameter of the class's ``__init__``
    (defaults included) as plain data; ``type(model)(**model.model_args)`` makes the same
    architecture. The outermost class's ``__init__`` is the one recorded.

    Parameters
    ----------
    *args
        Passed to :class:`torch.nn.Module` (a subclass defines its own).
    **kwargs
        Passed to :class:`torch.nn.Module`.

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> PTDeep([2, 10, 2]).model_args["config"]
    [2, 10, 2]
    """

    model_args: dict

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is recording_init:  # only the outermost __init__ records
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                named = dict(bound.arguments)
                named.pop(next(iter(signature.parameters)))  # self
                self.model_args = _plain_arg(named)

        cls.__init__ = recording_init


class Normalize(SpecModule):
    """Standardize raw inputs with fixed ``mean`` and ``std`` (buffers, saved with the model).

    Being part of the model means a checkpoint carries its own input convention: callers always
    feed raw data (images in [0, 1]).

    Parameters
    ----------
    mean : float, default=0.0
        Subtracted from the input.
    std : float, default=1.0
        The difference is divided by it.

    Raises
    ------
    ValueError
        ``std`` is not positive.

    Examples
    --------
    >>> Normalize(0.5, 0.25)(torch.tensor([0.0, 1.0]))
    tensor([-2.,  2.])
    """

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        if not std > 0:
            raise ValueError(f"`std` must be > 0. Got {std!r} instead.")
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # two vectorized passes, the second in place: about 2.5x faster on the CPU than the
        # "fused" addcmul with 0-dim operands, which takes a slow broadcasting path
        return x.sub(self.mean).div_(self.std)

    def extra_repr(self) -> str:
        return f"mean={self.mean.item():.4g}, std={self.std.item():.4g}"


ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module by name (see ``ACTIVATIONS``)."""
    if name not in ACTIVATIONS:
        valid = ", ".join(repr(k) for k in ACTIVATIONS)
        raise ValueError(f"`activation` must be one of {valid}. Got {name!r} instead.")
    return ACTIVATIONS[name]()
