"""Which activations are on: the per-example slopes that gate the propagated fields.

For a ReLU the slope is the 0/1 mask of which units are active; for any other element-wise
activation its local derivative. Measured in eval mode on the raw inputs, through the model's
input normalization.
"""

from __future__ import annotations

import torch
from torch import nn

from ..._torch import training_mode
from .._layers import ELEMENTWISE

__all__: list[str] = []


def _slope(act: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of an activation at pre-activations ``z`` (0/1 mask for ReLU)."""
    if isinstance(act, nn.ReLU):
        return (z > 0).to(z.dtype)
    with torch.enable_grad():
        zz = z.detach().clone().requires_grad_()
        (g,) = torch.autograd.grad(act(zz).sum(), zz)
    return g


def _activation_gates(model: nn.Module, chain, gate_data, batch_size: int) -> dict:
    """Per-example slopes ``[N, n_k]`` of every activation in ``chain`` (keyed by position),
    measured in eval mode on the raw inputs ``gate_data``."""
    x = torch.as_tensor(gate_data).float()
    if x.dim() < 2 or len(x) == 0:
        raise ValueError(f"`gate_data` must be a non-empty batch [N, ...]. Got shape "
                         f"{tuple(x.shape)} instead.")
    parts: list[dict] = []
    with training_mode(model, False), torch.no_grad():
        norm = getattr(model, "norm", None)
        for s in range(0, len(x), batch_size):
            xb = x[s: s + batch_size]
            h = (norm(xb) if norm is not None else xb).flatten(1)
            slopes = {}
            for k, (_, m) in enumerate(chain):
                if isinstance(m, ELEMENTWISE):
                    slopes[k] = _slope(m, h)
                h = m(h)
            parts.append(slopes)
    return {k: torch.cat([d[k] for d in parts]) for k in parts[0]}
