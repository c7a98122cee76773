"""Pieces shared by the torch models: input normalization and flattening."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Normalize", "ACTIVATIONS", "make_activation"]


class Normalize(nn.Module):
    """Standardize raw inputs with fixed ``mean`` and ``std`` (buffers, saved with the model).

    Being part of the model means a checkpoint carries its own input convention: callers always
    feed raw data (images in [0, 1]).
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
