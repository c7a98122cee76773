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
        What to draw (its ``images``, ``activations``, ``probabilities``, ``degenerate``,
        ``names`` and ``settings['value_range']`` are read).
    axes : sequence of Axes, optional
        One per image; default a new grid.
    fig : Figure, optional
        Where a new grid goes; default a new figure.
    cmap : str, default='gray'
        For single-channel images (white = 1 = ink for MNIST's raw [0, 1] pixels).
    ncols : int, optional
        Default: up to 5 per row.
    titles : list of str, optional
        One per image; default the target, activation and probability.
    value_range : (float, float), optional
        Colour limits; default the range the optimization kept the pixels in, so images are
        compared on one scale (not each stretched).
    imshow_kw : dict, optional
        Passed to :meth:`~matplotlib.axes.Axes.imshow` (default ``interpolation='nearest'``).
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

    Raises
    ------
    ValueError
        ``result.images`` is not ``[N, C, H, W]``, or ``axes`` holds fewer axes than images.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from types import SimpleNamespace
    >>> images = torch.stack([torch.eye(4).view(1, 4, 4), torch.full((1, 4, 4), 0.5)])
    >>> result = SimpleNamespace(images=images, activations=torch.tensor([2.0, 0.0]),
    ...                          probabilities=torch.tensor([0.9, 0.1]),
    ...                          degenerate=torch.tensor([False, True]),
    ...                          names=["class 0", "class 1"], settings={"value_range": (0, 1)})
    >>> out = plot_actmax(result)
    >>> out["flagged"], out["axes"][0].get_title().splitlines()
    ([1], ['class 0', 'act 2, p 0.90'])
    >>> import matplotlib.pyplot as plt
    >>> plt.close(out["fig"])
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
