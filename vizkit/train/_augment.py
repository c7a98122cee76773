"""Batched, seeded image augmentation for :func:`vizkit.train.fit` (no per-sample Python loop)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["random_affine", "affine_matrices"]


def affine_matrices(angles: torch.Tensor, scales: torch.Tensor, shifts: torch.Tensor,
                    size: tuple[int, int]) -> torch.Tensor:
    """The ``[B, 2, 3]`` matrices for :func:`torch.nn.functional.affine_grid` that rotate each
    image by ``angles`` (radians, clockwise as displayed, with rows going down), scale it by
    ``scales`` about its centre and move it by ``shifts`` ``[B, 2]`` (dy, dx) pixels (down,
    right). Angles are taken in normalized coordinates, so on non-square images a rotation is
    slightly sheared (digits are square).

    ``affine_grid`` maps each output pixel to the input point it samples (normalized
    coordinates, ``align_corners=False``), so the matrix is the inverse of the wanted motion:
    ``A^-1 (p - t)`` with ``A = scale * rotation``.
    """
    H, W = size
    cos, sin = torch.cos(angles) / scales, torch.sin(angles) / scales
    # a shift of d pixels is 2 d / side in normalized coordinates
    tx, ty = 2 * shifts[:, 1] / W, 2 * shifts[:, 0] / H
    theta = torch.stack([torch.stack([cos, sin, -(cos * tx + sin * ty)], 1),
                         torch.stack([-sin, cos, sin * tx - cos * ty], 1)], 1)
    return theta


def random_affine(x: torch.Tensor, degrees: float, scale: float, max_shift: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Rotate, scale and move each image of ``x`` [B, C, H, W] at random, in one batched call.

    Per image: an angle uniform in ``[-degrees, degrees]``, a scale uniform in
    ``[1 - scale, 1 + scale]`` and a shift uniform in ``[-max_shift, max_shift]`` pixels in each
    direction, all drawn from ``generator`` (same seed, same images). Bilinear sampling
    (:func:`torch.nn.functional.grid_sample`); pixels from outside the image are zeros. With
    ``degrees = scale = max_shift = 0`` the images come back unchanged; other inputs (not 4-D)
    are returned as they are.
    """
    if x.dim() != 4:
        return x
    B, _, H, W = x.shape
    u = torch.rand(B, 4, generator=generator, dtype=torch.float64) * 2 - 1  # uniform in [-1, 1)
    angles = u[:, 0] * math.radians(degrees)
    scales = 1 + u[:, 1] * scale
    shifts = u[:, 2:] * max_shift
    theta = affine_matrices(angles, scales, shifts, (H, W)).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
