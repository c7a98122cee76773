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
    up to ``degrees`` (uniform draws, bilinear sampling, ``fill`` outside the image).

    Parameters
    ----------
    shift : float, default=2
        Largest shift in pixels, along each axis.
    scale : float, default=0.1
        Largest relative change of size.
    degrees : float, default=10
        Largest rotation.
    fill : float, default=0
        The value brought in from outside the image.

    Returns
    -------
    callable
        ``t(x, generator) -> x``: one draw per image from ``generator``.

    Raises
    ------
    ValueError
        A negative or non-numeric ``shift``, ``scale`` or ``degrees``.

    Examples
    --------
    >>> x = torch.rand(2, 1, 8, 8)
    >>> t = random_affine(0, 0, 0)                     # no movement: the identity
    >>> torch.allclose(t(x, torch.Generator().manual_seed(0)), x, atol=1e-6)
    True
    >>> moved = random_affine(3)(x, torch.Generator().manual_seed(0))
    >>> torch.equal(moved, random_affine(3)(x, torch.Generator().manual_seed(0)))   # seeded
    True
    """
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
    """Blur each channel of ``x`` with a Gaussian of std ``sigma`` pixels.

    Parameters
    ----------
    x : Tensor of shape (N, C, H, W)
        The images.
    sigma : float
        The Gaussian's standard deviation in pixels (``<= 0``: no blur). The kernel reaches
        ``2 sigma`` pixels (at most the image's size minus one); borders are reflected.

    Returns
    -------
    Tensor of shape (N, C, H, W)
        The blurred images (a constant image stays as it is).

    Examples
    --------
    >>> x = torch.zeros(1, 1, 9, 9)
    >>> x[0, 0, 4, 4] = 1.0
    >>> y = gaussian_blur(x, 1.0)          # reaches 2 px: the border is not touched here
    >>> round(float(y.sum()), 4), bool(y[0, 0, 4, 4] < 1)   # ink kept, spread out
    (1.0, True)
    """
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
    """A Gaussian blur of std ``sigma`` pixels (deterministic), as a transform.

    Parameters
    ----------
    sigma : float
        The Gaussian's standard deviation in pixels (see :func:`gaussian_blur`).

    Returns
    -------
    callable
        ``t(x, generator) -> x`` (the generator is not used).

    Examples
    --------
    >>> x = torch.rand(1, 1, 6, 6)
    >>> torch.equal(blur(1.0)(x, None), gaussian_blur(x, 1.0))
    True
    """
    return lambda x, gen: gaussian_blur(x, sigma)


def compose(*transforms: Transform) -> Transform:
    """Apply ``transforms`` in order.

    Parameters
    ----------
    *transforms : callable
        Each ``t(x, generator) -> x``.

    Returns
    -------
    callable
        ``t(x, generator) -> x``, every transform drawing from the same generator.

    Examples
    --------
    >>> double = lambda x, gen: 2 * x
    >>> compose(double, blur(0), double)(torch.ones(1, 1, 2, 2), None).flatten()
    tensor([4., 4., 4., 4.])
    """
    def t(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for f in transforms:
            x = f(x, gen)
        return x

    return t


def standard_transforms(fill: float = 0.0) -> Transform:
    """The default for image classifiers: shifts up to 2 px, scale +-10 %, rotation +-10 deg.

    Parameters
    ----------
    fill : float, default=0
        The value brought in from outside the image (the background).

    Returns
    -------
    callable
        :func:`random_affine` ``(2, 0.1, 10, fill)``.

    Examples
    --------
    >>> t = standard_transforms()
    >>> t(torch.zeros(3, 1, 8, 8), torch.Generator().manual_seed(0)).abs().max().item()
    0.0
    """
    return random_affine(2.0, 0.1, 10.0, fill=fill)
