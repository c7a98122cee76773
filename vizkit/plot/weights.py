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

    A linear classifier scores class ``k`` as ``w_k . x + b_k``; drawn as an image, ``w_k``
    shows which pixels vote for the class (red: ink there raises the score) and which vote
    against it (blue). One symmetric scale for all classes, zero white, keeps the images
    comparable: a paler image has smaller weights, not a different colour scale.

    Parameters
    ----------
    result : vizkit.analysis.weights.WeightImages
        The images ``[C, H, W]``, their common ``vmax``, the class ``labels`` and the ``space``
        the weights act on (named on the colour bar).
    axes : sequence of matplotlib.axes.Axes, optional
        One per class; by default a new grid in ``fig`` (or in a new figure).
    fig : matplotlib.figure.Figure, optional
        The figure of the new grid when ``axes`` is not given; by default a new one.
    cmap : str or matplotlib.colors.Colormap, optional
        By default the diverging map (``'RdBu_r'``: positive red, negative blue, zero white).
    vmax : float, optional
        Half-width of the colour scale; by default ``result.vmax`` (1.0 when that is 0).
    ncols : int, optional
        Columns of a new grid; by default ``min(C, 5)`` (ten classes as two rows of five).
    colorbar : bool, default=True
        Add one colour bar for all images, labelled with ``result.space``.
    titles : sequence of str, optional
        One title per image; by default the class labels. An axes that already has a title
        keeps it.
    imshow_kw : dict, optional
        Passed on to every ``ax.imshow`` (default ``interpolation='nearest'``: one square per
        pixel).

    Returns
    -------
    dict
        ``'fig'`` (the figure), ``'axes'`` (list of the ``C`` axes), ``'images'`` (their
        ``AxesImage``, in class order) and ``'colorbar'`` (``Colorbar`` or None).

    Raises
    ------
    ValueError
        ``result.images`` is not ``[C, H, W]`` (multi-channel weight images are not drawn), or
        ``axes`` holds fewer axes than there are classes.

    See Also
    --------
    vizkit.analysis.weights.weight_images : Computes ``result`` from a model.
    plot_weight_images_grid : Several models' weight images on one scale.

    Examples
    --------
    Two classes of 2x2 weights, hand-made: class ``'b'`` has the largest weight, 0.5, so the
    common scale runs from -0.5 (blue) to 0.5 (red).

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.weights import WeightImages
    >>> w = WeightImages(images=np.array([[[0.1, -0.2], [0.0, 0.3]],
    ...                                   [[-0.5, 0.0], [0.2, 0.4]]]),
    ...                  vmax=0.5, labels=["a", "b"])
    >>> out = plot_weight_images(w)
    >>> len(out["images"]), [ax.get_title() for ax in out["axes"]]
    (2, ['a', 'b'])
    >>> out["images"][1].get_clim(), out["colorbar"].ax.get_ylabel()
    ((-0.5, 0.5), 'weight (raw input)')

    A logistic regression on MNIST-sized inputs draws ten 28x28 images:

    >>> import torch
    >>> from vizkit.analysis.weights import weight_images
    >>> from vizkit.models import PTLogreg
    >>> _ = torch.manual_seed(0)
    >>> out = plot_weight_images(weight_images(PTLogreg(784, 10)))
    >>> len(out["images"]), out["images"][0].get_array().shape
    (10, (28, 28))
    >>> plt.close("all")
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

    The scale's half-width is the largest ``vmax`` of all results, so a model whose weights
    were shrunk (by a larger L2 penalty, say) is drawn paler, not rescaled to look alike.

    Parameters
    ----------
    results : sequence of vizkit.analysis.weights.WeightImages
        All with the same number of classes and the same single-channel image shape.
    labels : sequence of str
        One row label per result (e.g. ``'λ = 0.01'``), written left of its first image.
    fig : matplotlib.figure.Figure, optional
        Draw on this figure; by default a new ``constrained`` figure sized to the grid.
    cmap : str or matplotlib.colors.Colormap, optional
        By default the diverging map (``'RdBu_r'``: positive red, negative blue, zero white).
    colorbar : bool, default=True
        Add one colour bar for all images (``'weight (one scale for all)'``).
    classes : sequence of str, optional
        Image titles, one per class; by default the first result's labels. Written over the
        first model's row only (over every row when a model's classes wrap).
    ncols : int, optional
        Images per row; a model's classes wrap onto as many rows as needed. Default: all classes
        in one row when there are several models (a column per class), else 5 (a single model's
        ten classes as 2 x 5, not a 1 x 10 strip).
    imshow_kw : dict, optional
        Passed on to every ``ax.imshow`` (default ``interpolation='nearest'``).

    Returns
    -------
    dict
        ``'fig'``; ``'axes'`` (one list of class axes per model); ``'images'`` (the
        ``AxesImage`` objects, same nesting); ``'colorbar'`` (``Colorbar`` or None); ``'vmax'``
        (the common half-width of the scale).

    Raises
    ------
    ValueError
        ``results`` is empty, ``labels`` has not one entry per result, or the results' images
        differ in shape or are not ``[C, H, W]``.

    See Also
    --------
    plot_weight_images : One model's weight images.

    Examples
    --------
    Two models of two classes, the second with weights a tenth the size: both rows share the
    first model's scale, so the second is drawn ten times paler.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.weights import WeightImages
    >>> w = np.array([[[1.0, -2.0], [0.5, 0.0]], [[-1.0, 0.0], [2.0, 1.5]]])
    >>> results = [WeightImages(images=w, vmax=2.0, labels=["a", "b"]),
    ...            WeightImages(images=w / 10, vmax=0.2, labels=["a", "b"])]
    >>> out = plot_weight_images_grid(results, ["λ = 0", "λ = 1"])
    >>> out["vmax"], len(out["axes"]), len(out["axes"][0])
    (2.0, 2, 2)
    >>> out["images"][1][0].get_clim(), out["axes"][1][0].get_ylabel()
    ((-2.0, 2.0), 'λ = 1')
    >>> plot_weight_images_grid(results, ["only one label"])
    Traceback (most recent call last):
    ...
    ValueError: `labels` has 1 entries for 2 results.
    >>> plt.close("all")
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
