"""Plot receptive fields (seed 004): a grid of fields on one symmetric diverging scale, and the
theoretical region of a conv unit drawn as a box on an input image."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._style import diverging_cmap
from .weights import _axes_for

__all__ = ["plot_receptive_fields", "plot_receptive_field_box"]


def plot_receptive_fields(result, *, axes=None, fig=None, cmap=None, vmax: float | None = None,
                          ncols: int | None = None, colorbar: bool = True,
                          titles: Sequence[str] | None = None, box=None, zoom: int | None = 3,
                          imshow_kw: dict | None = None) -> dict:
    """Draw each unit's field with limits ``(-vmax, vmax)`` (zero is white) and one colour bar.

    Parameters
    ----------
    result : vizkit.analysis.receptive.ReceptiveFields
    axes : sequence of Axes, optional
        One per field; default a new grid in ``fig`` (or a new figure).
    fig : Figure, optional
    cmap : str or Colormap, optional
        Default: the diverging map (``'RdBu_r'``).
    vmax : float, optional
        Default ``result.vmax`` (one scale for all fields).
    ncols : int, optional
        Default: up to 8 per row.
    colorbar : bool, default=True
    titles : list of str, optional
        Default ``'unit j'`` / ``'ch c'``.
    box : TheoreticalRF, optional
        Draw its region for the centre unit on every field (for conv units).
    zoom : int or None, default=3
        With ``box``: show only the box plus that many pixels around it (small fields stay
        readable); ``None`` shows the whole input.

    Returns
    -------
    dict
        ``{'fig', 'axes', 'images', 'colorbar', 'boxes'}``.
    """
    from matplotlib.patches import Rectangle

    fields = np.asarray(result.fields)
    if fields.ndim != 3:
        raise ValueError(f"plot_receptive_fields draws single-channel image fields [U, H, W]. Got "
                         f"shape {fields.shape} instead.")
    n = fields.shape[0]
    vmax = float(result.vmax if vmax is None else vmax) or 1.0
    fig, axes = _axes_for(n, axes, fig, ncols or min(n, 8))
    cmap = diverging_cmap() if cmap is None else cmap
    if titles is None:
        prefix = "ch " if result.info.get("conv") else "unit "
        titles = [f"{prefix}{u}" for u in result.units]
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    images, boxes = [], []
    for k, ax in enumerate(axes):
        images.append(ax.imshow(fields[k], cmap=cmap, vmin=-vmax, vmax=vmax, **kw))
        if k < len(titles) and not ax.get_title():
            ax.set_title(str(titles[k]), fontsize=8)
        if box is not None:
            r0, c0, r1, c1 = box.box()
            boxes.append(ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0,
                                                fill=False, edgecolor="k", lw=1.0, ls="--")))
            if zoom is not None:
                H, W = fields.shape[1:]
                ax.set_xlim(max(c0 - zoom, 0) - 0.5, min(c1 + zoom, W) - 0.5)
                ax.set_ylim(min(r1 + zoom, H) - 0.5, max(r0 - zoom, 0) - 0.5)
    cbar = None
    if colorbar:
        cbar = fig.colorbar(images[0], ax=axes, shrink=0.8, fraction=0.04)
        cbar.set_label("d unit / d pixel" if "gradient" in result.method else
                       "propagated weight", fontsize=8)
    return {"fig": fig, "axes": axes, "images": images, "colorbar": cbar, "boxes": boxes}


def plot_receptive_field_box(rf, image, *, unit: tuple[int, int] | None = None, ax=None,
                             cmap: str = "gray_r", edgecolor: str = "tab:red",
                             show_grid: bool = True) -> dict:
    """An input image with the region that one conv unit sees drawn as a box.

    Parameters
    ----------
    rf : vizkit.analysis.receptive.TheoreticalRF
    image : array-like of shape (H, W) or (1, H, W)
    unit : (row, col), optional
        Position in the layer's output; default its centre.
    ax : Axes, optional
    cmap : str, default='gray_r'
    edgecolor : str, default='tab:red'
    show_grid : bool, default=True
        Also mark the field centres of all units of the layer (dots), which shows the jump
        (skipped when the jump is 1: a dot on every pixel hides the image).

    Returns
    -------
    dict
        ``{'ax', 'image', 'box' (Rectangle), 'centers' (PathCollection or None)}``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    img = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=float)
    if img.ndim == 3 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 2:
        raise ValueError(f"`image` must be (H, W) or (1, H, W). Got shape {img.shape} instead.")
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    im = ax.imshow(img, cmap=cmap, interpolation="nearest")
    row, col = (None, None) if unit is None else unit
    r0, c0, r1, c1 = rf.box(row, col)
    rect = ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False,
                                  edgecolor=edgecolor, lw=2))
    centers = None
    if show_grid and max(rf.jump) > 1:
        rows = [rf.center(i, 0)[0] for i in range(rf.output_shape[0])]
        cols = [rf.center(0, j)[1] for j in range(rf.output_shape[1])]
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        centers = ax.scatter(cc.ravel(), rr.ravel(), s=4, c=edgecolor, alpha=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if not ax.get_title():
        ax.set_title(f"{rf.layer}: field {rf.size[0]}x{rf.size[1]}, jump {rf.jump[0]}",
                     fontsize=8)
    return {"ax": ax, "image": im, "box": rect, "centers": centers}
