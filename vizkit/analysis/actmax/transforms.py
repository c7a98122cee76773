"""Random input transforms for activation maximization (Lucent's ``transform``).

Each factory returns a callable ``t(x, generator) -> x`` applied to the rendered images before
the model sees them, so the optimized images must work under small shifts, scalings and
rotations (transformation robustness) instead of relying on exact pixel positions. Every random
draw comes from the run's seeded generator, and each image gets its own draw.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch.nn import functional as F

__all__ = ["Transform", "random_affine", "blur", "compose", "standard_transforms",
           "gaussian_blur"]

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def random_affine(shift: float = 2.0, scale: float = 0.1, degrees: float = 10.0,
                  fill: float = 0.0) -> Transform:
    """Shift each image by up to ``shift`` pixels, scale it by ``1 +- scale`` and rotate it by
    up to ``degrees`` (uniform draws, bilinear sampling, ``fill`` outside the image)."""
    for name, v in (("shift", shift), ("scale", scale), ("degrees", degrees)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise ValueError(f"`{name}` must be a number >= 0. Got {v!r} instead.")

    def t(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        N, _, H, W = x.shape
        u = (torch.rand(4, N, generator=gen) * 2 - 1).to(x.device, x.dtype)
        a, s = u[0] * degrees * math.pi / 180, 1 + u[1] * scale
        cos, sin = s * torch.cos(a), s * torch.sin(a)
        theta = torch.stack([torch.stack([cos, -sin, u[2] * shift * 2 / W], 1),
                             torch.stack([sin, cos, u[3] * shift * 2 / H], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x - fill, grid, align_corners=False) + fill

    return t


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur each channel of ``x`` ``[N, C, H, W]`` with a Gaussian of std ``sigma`` pixels."""
    if sigma <= 0:
        return x
    r = min(max(1, int(math.ceil(2 * sigma))), x.shape[2] - 1, x.shape[3] - 1)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    C = x.shape[1]
    y = F.pad(x, (r, r, r, r), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def blur(sigma: float) -> Transform:
    """A Gaussian blur of std ``sigma`` pixels (deterministic)."""
    return lambda x, gen: gaussian_blur(x, sigma)


def compose(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order."""
    def t(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for f in transforms:
            x = f(x, gen)
        return x

    return t


def standard_transforms(fill: float = 0.0) -> Transform:
    """The default for image classifiers: shifts up to 2 px, scale +-10 %, rotation +-10 deg."""
    return random_affine(2.0, 0.1, 10.0, fill=fill)
