"""Plot activation-maximization images in a grid, titled with the target and the activation."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .weights import _axes_for

__all__ = ["plot_actmax"]


def plot_actmax(result, *, axes=None, fig=None, cmap: str = "gray", ncols: int | None = None,
                titles: Sequence[str] | None = None, value_range: tuple | None = None,
                imshow_kw: dict | None = None) -> dict:
    """Show each optimized image with ``'<target>\\nact <value>'`` as its title.

    Parameters
    ----------
    result : vizkit.analysis.actmax.ActMaxResult
    axes : sequence of Axes, optional
    fig : Figure, optional
    cmap : str, default='gray'
        For single-channel images (white = 1 = ink for MNIST's raw [0, 1] pixels).
    ncols : int, optional
        Default: up to 5 per row.
    titles : list of str, optional
    value_range : (float, float), optional
        Colour limits; default the range the optimization kept the pixels in, so images are
        compared on one scale (not each stretched).

    Returns
    -------
    dict
        ``{'fig', 'axes', 'images'}``.
    """
    imgs = result.images.detach().cpu().numpy() if hasattr(result.images, "detach") else \
        np.asarray(result.images)
    if imgs.ndim != 4:
        raise ValueError(f"`result.images` must be [N, C, H, W]. Got shape {imgs.shape} instead.")
    n = imgs.shape[0]
    lo, hi = value_range or result.settings.get("value_range") or (float(imgs.min()),
                                                                   float(imgs.max()))
    fig, axes = _axes_for(n, axes, fig, ncols or min(n, 5))
    acts = np.asarray(result.activations, dtype=float)
    if titles is None:
        titles = [f"{name}\nact {a:.3g}" for name, a in zip(result.names, acts)]
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    artists = []
    for k, ax in enumerate(axes):
        img = imgs[k]
        if img.shape[0] == 1:
            artists.append(ax.imshow(img[0], cmap=cmap, vmin=lo, vmax=hi, **kw))
        else:  # [C, H, W] -> [H, W, C], scaled to [0, 1] for RGB display
            rgb = np.clip((np.moveaxis(img, 0, -1) - lo) / (hi - lo), 0, 1)
            artists.append(ax.imshow(rgb[..., :3] if rgb.shape[-1] >= 3 else rgb.mean(-1),
                                     cmap=None if rgb.shape[-1] >= 3 else cmap, **kw))
        if k < len(titles) and not ax.get_title():
            ax.set_title(str(titles[k]), fontsize=8)
    return {"fig": fig, "axes": axes, "images": artists}
