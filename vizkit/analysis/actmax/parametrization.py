"""How the optimized leaf tensor becomes images (Lucent's ``param``).

The optimizer moves ONE fresh leaf tensor ``[N, C, H, W]``; :class:`ImageParam` renders it into
images inside ``value_range``:

* ``'sigmoid'``: pixels are ``lo + (hi - lo) * sigmoid(leaf)`` (always in range, smooth);
* ``'clamp'``: the leaf is the image, put back into range after every step;
* ``'none'``: the leaf is the image, unbounded (pair it with an ``l2`` penalty);
* ``'fourier'``: the leaf holds 2-D Hartley (real Fourier) coefficients scaled by ``1/f``, so
  low frequencies move first (a decorrelated parametrization), then a sigmoid.
"""

from __future__ import annotations

import torch

__all__ = ["PARAMETRIZATIONS", "ImageParam", "hartley", "freq_scale"]

#: The names :class:`ImageParam` accepts.
PARAMETRIZATIONS = ("sigmoid", "clamp", "none", "fourier")


def hartley(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2-D discrete Hartley transform over the last two dims (real -> real, its own
    inverse): ``Re(F) - Im(F)`` of the orthonormal FFT.

    Parameters
    ----------
    x : Tensor of shape (..., H, W)
        Real values.

    Returns
    -------
    Tensor of shape (..., H, W)
        The transform; applying it twice gives ``x`` back.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> hartley(x)
    tensor([[ 5., -1.],
            [-2.,  0.]])
    >>> torch.allclose(hartley(hartley(x)), x)
    True
    """
    f = torch.fft.fft2(x, norm="ortho")
    return f.real - f.imag


def freq_scale(H: int, W: int, decay: float = 1.0) -> torch.Tensor:
    """``[H, W]`` weights: 1 at the lowest frequencies, about ``1 / f ** decay`` above.

    Parameters
    ----------
    H, W : int
        The image's height and width.
    decay : float, default=1
        The power of the frequency in the fall-off.

    Returns
    -------
    Tensor of shape (H, W)
        ``(f0 / max(f, f0)) ** decay`` with ``f0 = 1 / max(H, W)`` and ``f`` the frequency
        (cycles per pixel) of each coefficient of :func:`torch.fft.fftfreq`'s layout.

    Examples
    --------
    >>> freq_scale(1, 4)
    tensor([[1.0000, 1.0000, 0.5000, 1.0000]])
    """
    fy = torch.fft.fftfreq(H)[:, None]
    fx = torch.fft.fftfreq(W)[None, :]
    f = torch.sqrt(fy * fy + fx * fx)
    floor = 1.0 / max(H, W)
    return (floor / torch.clamp(f, min=floor)) ** decay


class ImageParam:
    """Render a leaf tensor into images and back.

    Parameters
    ----------
    kind : {'sigmoid', 'clamp', 'none', 'fourier'}
        How the leaf becomes pixels (see the module's notes).
    shape : (C, H, W)
        One image's shape.
    value_range : (float, float)
        The pixels' range ``(lo, hi)``.
    device : torch.device, optional
        Where the ``'fourier'`` scale lives; default the CPU.

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`PARAMETRIZATIONS`.

    Examples
    --------
    >>> p = ImageParam("sigmoid", (1, 2, 2), (0.0, 1.0))
    >>> x = torch.full((1, 1, 2, 2), 0.25)
    >>> torch.allclose(p.render(p.leaf(x)), x)
    True
    """

    def __init__(self, kind: str, shape, value_range, device=None) -> None:
        if kind not in PARAMETRIZATIONS:
            raise ValueError(f"`parametrization` must be one of "
                             f"{', '.join(repr(k) for k in PARAMETRIZATIONS)}. Got {kind!r} "
                             "instead.")
        self.kind = kind
        self.lo, self.hi = float(value_range[0]), float(value_range[1])
        self.scale = freq_scale(*shape[1:]).to(device) if kind == "fourier" else None

    def leaf(self, images: torch.Tensor) -> torch.Tensor:
        """A fresh leaf tensor (``requires_grad``) that renders to ``images``."""
        z = images
        if self.kind in ("sigmoid", "fourier"):
            u = ((images - self.lo) / (self.hi - self.lo)).clamp(1e-3, 1 - 1e-3)
            z = torch.log(u) - torch.log1p(-u)
        if self.kind == "fourier":
            z = hartley(z) / self.scale
        return z.detach().clone().requires_grad_()

    def render(self, leaf: torch.Tensor) -> torch.Tensor:
        """The images ``[N, C, H, W]`` the leaf stands for (differentiable)."""
        z = hartley(leaf * self.scale) if self.kind == "fourier" else leaf
        if self.kind in ("sigmoid", "fourier"):
            return self.lo + (self.hi - self.lo) * torch.sigmoid(z)
        return z

    @torch.no_grad()
    def project_(self, leaf: torch.Tensor) -> None:
        """After an optimizer step: put a ``'clamp'`` leaf back into the value range."""
        if self.kind == "clamp":
            leaf.clamp_(self.lo, self.hi)
