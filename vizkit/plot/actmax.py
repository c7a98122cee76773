"""Activation maximization drawn: optimized images in a grid, titled with the target, the
activation reached and (for classes) the network's probability; degenerate images flagged."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._axes import image_axes

__all__ = ["plot_actmax"]


def plot_actmax(result, *, axes=None, fig=None, cmap: str = "gray", ncols: int | None = None,
                titles: Sequence[str] | None = None, value_range: tuple | None = None,
                imshow_kw: dict | None = None, colorbar: bool = True,
                fontsize: float = 11) -> dict:
    """Show each optimized image titled ``'<target>\\nact <value>'`` (plus ``p`` for classes).

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
    colorbar : bool, default=True
        One colour bar (pixel value) for the grid.
    fontsize : float, default=11
        The titles' size (pt); 11 pt reads from the back of a room on a slide-sized figure.

    Returns
    -------
    dict
        ``{'fig', 'axes', 'images', 'flagged'}``: ``flagged`` lists the indices of the
        degenerate images (constant image or zero activation), drawn with a red frame and a
        "degenerate" title.
    """
    imgs = result.images.detach().cpu().numpy() if hasattr(result.images, "detach") else \
        np.asarray(result.images)
    if imgs.ndim != 4:
        raise ValueError(f"`result.images` must be [N, C, H, W]. Got shape {imgs.shape} instead.")
    n = imgs.shape[0]
    lo, hi = value_range or result.settings.get("value_range") or (float(imgs.min()),
                                                                   float(imgs.max()))
    fig, axes = image_axes(n, axes, fig, ncols or min(n, 5))
    acts = np.asarray(result.activations, dtype=float)
    probs = np.asarray(getattr(result, "probabilities", np.full(n, np.nan)), dtype=float)
    bad = np.asarray(getattr(result, "degenerate", np.zeros(n, bool)), dtype=bool)
    if titles is None:
        titles = [f"{name}\nact {a:.3g}" + ("" if np.isnan(p) else f", p {p:.2f}")
                  + ("\nDEGENERATE" if b else "")
                  for name, a, p, b in zip(result.names, acts, probs, bad)]
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
            ax.set_title(str(titles[k]), fontsize=fontsize, color="red" if bad[k] else "black")
        if bad[k]:
            for side in ax.spines.values():
                side.set(color="red", linewidth=3)
    if colorbar and artists and imgs.shape[1] == 1:
        fig.colorbar(artists[0], ax=list(axes), shrink=0.8, label="pixel value")
    return {"fig": fig, "axes": axes, "images": artists, "flagged": [int(k) for k in
                                                                     np.flatnonzero(bad)]}
