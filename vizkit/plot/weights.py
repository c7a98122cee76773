"""Plot per-class weight images (seed 002) on one symmetric diverging colour scale."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ._axes import image_axes, image_grid_axes
from .style import diverging_cmap

__all__ = ["plot_weight_images", "plot_weight_images_grid", "image_grid_axes"]


def plot_weight_images(result, *, axes=None, fig=None, cmap=None, vmax: float | None = None,
                       ncols: int | None = None, colorbar: bool = True,
                       titles: Sequence[str] | None = None, imshow_kw: dict | None = None) -> dict:
    """Draw each class's weight image, all with limits ``(-vmax, vmax)`` and one colour bar.

    Parameters
    ----------
    result : vizkit.analysis.weights.WeightImages
    axes : sequence of Axes, optional
        One per class; default: a new grid in ``fig`` (or a new figure).
    fig : matplotlib Figure, optional
    cmap : str or Colormap, optional
        Default: the diverging map (``'RdBu_r'``: positive red, negative blue, zero white).
    vmax : float, optional
        Half-width of the colour scale; default ``result.vmax``.
    ncols : int, optional
        Default 5 (two rows of five for ten classes).
    colorbar : bool, default=True
    titles : list of str, optional
        Default: the class labels.

    Returns
    -------
    dict
        ``{'fig', 'axes', 'images' (AxesImage list), 'colorbar'}``.

    Examples
    --------
    >>> from vizkit.models import PTLogreg
    >>> from vizkit.analysis.weights import weight_images
    >>> out = plot_weight_images(weight_images(PTLogreg(784, 10)))
    >>> len(out["images"])
    10
    """
    imgs = np.asarray(result.images)
    if imgs.ndim != 3:
        raise ValueError(f"plot_weight_images draws single-channel images [C, H, W]. Got shape "
                         f"{imgs.shape} instead.")
    n = imgs.shape[0]
    vmax = float(result.vmax if vmax is None else vmax) or 1.0
    fig, axes = image_axes(n, axes, fig, ncols)
    cmap = diverging_cmap() if cmap is None else cmap
    titles = list(result.labels) if titles is None else list(titles)
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    artists = []
    for k, ax in enumerate(axes):
        artists.append(ax.imshow(imgs[k], cmap=cmap, vmin=-vmax, vmax=vmax, **kw))
        if k < len(titles) and not ax.get_title():
            ax.set_title(titles[k], fontsize=12)
    cbar = None
    if colorbar:
        cbar = fig.colorbar(artists[0], ax=axes, shrink=0.8, fraction=0.05)
        cbar.set_label(f"weight ({getattr(result, 'space', 'as given')})", fontsize=12)
        cbar.ax.tick_params(labelsize=12)
    return {"fig": fig, "axes": axes, "images": artists, "colorbar": cbar}


def plot_weight_images_grid(results: Sequence, labels: Sequence[str], *, fig=None, cmap=None,
                            colorbar: bool = True, classes: Sequence[str] | None = None,
                            ncols: int | None = None, imshow_kw: dict | None = None) -> dict:
    """Weight images of several models side by side, one row per model (e.g. per lambda), all on
    ONE symmetric scale so that the shrinking effect of regularization is visible.

    Parameters
    ----------
    results : list of WeightImages
        All with the same number of classes and image shape.
    labels : list of str
        One row label per result (e.g. ``'λ = 0.01'``).
    fig : Figure, optional
    cmap : str or Colormap, optional
    colorbar : bool, default=True
    classes : list of str, optional
        Image titles (default: the first result's labels).
    ncols : int, optional
        Images per row; a model's classes wrap onto as many rows as needed. Default: all classes
        in one row when there are several models (a column per class), else 5 (a single model's
        ten classes as 2 x 5, not a 1 x 10 strip).

    Returns
    -------
    dict
        ``{'fig', 'axes' (one flat list of class axes per model), 'images' (same nesting),
        'colorbar', 'vmax'}``.
    """
    import matplotlib.pyplot as plt

    results = list(results)
    labels = [str(s) for s in labels]
    if not results:
        raise ValueError("`results` is empty.")
    if len(labels) != len(results):
        raise ValueError(f"`labels` has {len(labels)} entries for {len(results)} results.")
    shapes = {np.asarray(r.images).shape for r in results}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise ValueError(f"all results need the same single-channel image shape. Got {shapes}.")
    n_models, n_classes = len(results), next(iter(shapes))[0]
    n_cols = int(ncols or (n_classes if n_models > 1 else min(n_classes, 5)))
    per_model = math.ceil(n_classes / n_cols)
    vmax = max(float(r.vmax) for r in results) or 1.0
    if fig is None:
        fig = plt.figure(figsize=(1.05 * n_cols + 1.6, 1.2 * n_models * per_model + 0.6),
                         layout="constrained")
    full = fig.subplots(n_models * per_model, n_cols, squeeze=False)
    grid = [[full[i * per_model + k // n_cols, k % n_cols] for k in range(n_classes)]
            for i in range(n_models)]
    for ax in full.ravel():
        if not any(ax is a for row in grid for a in row):
            ax.remove()
    cmap = diverging_cmap() if cmap is None else cmap
    classes = list(results[0].labels) if classes is None else list(classes)
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    images = []
    for i, r in enumerate(results):
        row = []
        for k in range(n_classes):
            ax = grid[i][k]
            row.append(ax.imshow(np.asarray(r.images)[k], cmap=cmap, vmin=-vmax, vmax=vmax, **kw))
            ax.set_xticks([])
            ax.set_yticks([])
            if (i == 0 or per_model > 1) and k < len(classes):
                ax.set_title(classes[k], fontsize=12)
        grid[i][0].set_ylabel(labels[i], fontsize=12)
        images.append(row)
    cbar = None
    if colorbar:
        cbar = fig.colorbar(images[0][0], ax=[a for row in grid for a in row], shrink=0.8,
                            fraction=0.03)
        cbar.set_label("weight (one scale for all)", fontsize=12)
        cbar.ax.tick_params(labelsize=12)
    return {"fig": fig, "axes": grid, "images": images, "colorbar": cbar, "vmax": vmax}
