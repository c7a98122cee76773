"""Plot receptive fields (seed 004): a grid of fields on one symmetric diverging scale, several
views of the same units in rows (:func:`plot_field_views`), and the theoretical region of a conv
unit drawn as a box on an input image."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._axes import image_axes
from .style import diverging_cmap

__all__ = ["plot_receptive_fields", "plot_field_views", "plot_receptive_field_box", "VIEW_TITLES",
           "plot_first_layer_units"]


def plot_receptive_fields(result, *, axes=None, fig=None, cmap=None, vmax: float | None = None,
                          ncols: int | None = None, colorbar: bool = True,
                          titles: Sequence[str] | None = None, box=None, zoom: int | None = 3,
                          imshow_kw: dict | None = None) -> dict:
    """Draw each unit's field with limits ``(-vmax, vmax)`` (zero is white) and one colour bar.

    A unit's receptive field, drawn as an image over the input, shows which pixels drive it:
    red where ink raises the unit, blue where ink lowers it, white where the pixel does not
    matter. One scale for all units keeps their strengths comparable.

    Parameters
    ----------
    result : vizkit.analysis.receptive_fields.ReceptiveFields
        Single-channel fields ``(U, H, W)``, their ``units``, ``method`` (names the colour bar:
        ``'d unit / d pixel'`` for gradient fields, else ``'propagated weight'``) and ``vmax``.
    axes : sequence of matplotlib.axes.Axes, optional
        One per field; default a new grid in ``fig`` (or a new figure).
    fig : matplotlib.figure.Figure, optional
        The figure of the new grid when ``axes`` is not given.
    cmap : str or matplotlib.colors.Colormap, optional
        Default: the diverging map (``'RdBu_r'``).
    vmax : float, optional
        Default ``result.vmax`` (one scale for all fields; 1.0 when that is 0).
    ncols : int, optional
        Default: up to 8 per row.
    colorbar : bool, default=True
        Add one colour bar for all fields.
    titles : list of str, optional
        Default ``'unit j'`` (``'ch c'`` for conv channels, ``result.info['conv']``).
    box : vizkit.analysis.receptive_fields.TheoreticalRF, optional
        Draw its region for the centre unit on every field as a dashed box (for conv units).
    zoom : int or None, default=3
        With ``box``: show only the box plus that many pixels around it (small fields stay
        readable); ``None`` shows the whole input.
    imshow_kw : dict, optional
        Passed on to every ``ax.imshow`` (default ``interpolation='nearest'``).

    Returns
    -------
    dict
        ``'fig'``, ``'axes'``, ``'images'`` (one ``AxesImage`` per field), ``'colorbar'``
        (Colorbar or None) and ``'boxes'`` (the ``Rectangle`` patches; empty without ``box``).

    Raises
    ------
    ValueError
        The fields are not single-channel images ``(U, H, W)``, or ``axes`` holds fewer axes
        than fields.

    See Also
    --------
    vizkit.analysis.gradient_receptive_fields : Gradient fields of any layer.
    plot_field_views : Several views of the same units, one row each.

    Examples
    --------
    Two hand-made gradient fields on a 5x5 input, and the theoretical field of a 3x3
    convolution: its centre unit sees rows and columns 1 to 3, so the box starts at pixel
    edge 0.5 and is 3 pixels wide.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from torch import nn
    >>> from vizkit.analysis.receptive_fields import (ReceptiveFields,
    ...                                               theoretical_receptive_field)
    >>> fields = np.zeros((2, 5, 5)); fields[0, 2, 2], fields[1, 1:4, 1:4] = 2.0, -0.5
    >>> rf = ReceptiveFields(fields=fields, units=[0, 3], layer="0", method="gradient",
    ...                      vmax=2.0)
    >>> theory = theoretical_receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3)), "0",
    ...                                      input_shape=(1, 5, 5))
    >>> out = plot_receptive_fields(rf, box=theory, zoom=None)
    >>> [ax.get_title() for ax in out["axes"]], out["colorbar"].ax.get_ylabel()
    (['unit 0', 'unit 3'], 'd unit / d pixel')
    >>> out["boxes"][0].get_xy(), out["boxes"][0].get_width()
    ((0.5, 0.5), 3)
    >>> plt.close("all")
    """
    from matplotlib.patches import Rectangle

    fields = np.asarray(result.fields)
    if fields.ndim != 3:
        raise ValueError(f"plot_receptive_fields draws single-channel image fields [U, H, W]. Got "
                         f"shape {fields.shape} instead.")
    n = fields.shape[0]
    vmax = float(result.vmax if vmax is None else vmax) or 1.0
    fig, axes = image_axes(n, axes, fig, ncols or min(n, 8))
    cmap = diverging_cmap() if cmap is None else cmap
    if titles is None:
        prefix = "ch " if result.info.get("conv") else "unit "
        titles = [f"{prefix}{u}" for u in result.units]
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    images, boxes = [], []
    for k, ax in enumerate(axes):
        images.append(ax.imshow(fields[k], cmap=cmap, vmin=-vmax, vmax=vmax, **kw))
        if k < len(titles) and not ax.get_title():
            ax.set_title(str(titles[k]), fontsize=9)
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
                       "propagated weight", fontsize=9)
        cbar.ax.tick_params(labelsize=9)
    return {"fig": fig, "axes": axes, "images": images, "colorbar": cbar, "boxes": boxes}


def plot_receptive_field_box(rf, image, *, unit: tuple[int, int] | None = None, ax=None,
                             cmap: str = "gray_r", edgecolor: str = "tab:red",
                             show_grid: bool = True) -> dict:
    """An input image with the region that one conv unit sees drawn as a box.

    The theoretical receptive field follows from the layer arithmetic alone (kernel sizes,
    strides, padding): it is the most a unit can see, whatever the weights. The dots mark the
    field centres of all units of the layer; their spacing, the jump, is how far the field moves
    from one unit to the next.

    Parameters
    ----------
    rf : vizkit.analysis.receptive_fields.TheoreticalRF
        The layer's field size, jump, start and output shape.
    image : array-like of shape (H, W) or (1, H, W)
        The input drawn under the box (numpy array or torch tensor).
    unit : (int, int), optional
        ``(row, col)`` position in the layer's output; default its centre.
    ax : matplotlib.axes.Axes, optional
        Default: a new 3 x 3 inch figure.
    cmap : str, default='gray_r'
        Colour map of the image (ink dark on white).
    edgecolor : str, default='tab:red'
        Colour of the box and of the centre dots.
    show_grid : bool, default=True
        Also mark the field centres of all units of the layer (dots), which shows the jump
        (skipped when the jump is 1: a dot on every pixel hides the image).

    Returns
    -------
    dict
        ``'ax'``, ``'image'`` (AxesImage), ``'box'`` (Rectangle) and ``'centers'``
        (PathCollection or None).

    Raises
    ------
    ValueError
        ``image`` is not ``(H, W)`` or ``(1, H, W)``.

    Examples
    --------
    A 3x3 convolution (padding 1) then a 2x2 max-pool on an 8x8 image: each pooled unit sees
    4x4 pixels and the fields move by 2 (the jump). The centre unit (2, 2) sees rows and
    columns 3 to 6.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from torch import nn
    >>> from vizkit.analysis.receptive_fields import theoretical_receptive_field
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))
    >>> rf = theoretical_receptive_field(net, "1", input_shape=(1, 8, 8))
    >>> out = plot_receptive_field_box(rf, np.eye(8))
    >>> out["box"].get_xy(), out["box"].get_width(), len(out["centers"].get_offsets())
    ((2.5, 2.5), 4, 16)
    >>> out["ax"].get_title()
    '1: field 4x4, jump 2'
    >>> plot_receptive_field_box(rf, np.zeros((3, 8, 8)))
    Traceback (most recent call last):
    ...
    ValueError: `image` must be (H, W) or (1, H, W). Got shape (3, 8, 8) instead.
    >>> plt.close("all")
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
                     fontsize=9)
    return {"ax": ax, "image": im, "box": rect, "centers": centers}


#: What each view of :func:`vizkit.analysis.receptive_fields.field_views` means, for row titles.
VIEW_TITLES = {
    "propagated": "propagated: W1 ... Wi, ReLUs ignored",
    "control": "control: the same product with this layer's weights shuffled in each unit",
    "propagated, mean-gated": "ReLU-gated: hidden units weighted by how often they are on",
    "gradient": "gradient: mean d unit / d pixel over test images",
}
_CBAR_LABELS = {"propagated": "weight product", "propagated, mean-gated": "gated product",
                "gradient": "d unit / d pixel", "control": "weight product"}


def plot_field_views(views, *, fig=None, titles: Sequence[str] | None = None,
                     ncols: int | None = None, cmap=None, contour: float | None = None,
                     panel: float = 1.0, row_titles: Sequence[Sequence[str]] | None = None,
                     fontsize: float = 9) -> dict:
    """Draw every view of the same units, one block of rows per view, each view on its own
    symmetric scale with its own colour bar; a grey line where the ink frequency is ``contour``
    (e.g. :data:`vizkit.analysis.receptive_fields.NEVER_INKED`: outside it the training images
    almost never carry ink).

    Parameters
    ----------
    views : vizkit.analysis.receptive_fields.FieldViews
    fig : Figure, optional
        Default: a new figure sized for the grid.
    titles : list of str, optional
        One per unit; default ``'unit j'``.
    ncols : int, optional
        Panels per row; default all units when at most 10, else 8.
    cmap : str or Colormap, optional
        Default: the diverging map (zero is white).
    contour : float, optional
        The level of ``views.ink`` drawn as a grey line in every panel (``None``: no line).
    panel : float, default=1.0
        Inches per panel.
    row_titles : sequence of sequence of str, optional
        One list of panel titles per view (views may show different units, e.g. a control's
        own pick); overrides ``titles``.
    fontsize : float, default=9
        Panel titles and colour bar labels (view titles one point larger).

    Returns
    -------
    dict
        ``'fig'``; ``'subfigs'`` (one ``SubFigure`` per view, titled from
        :data:`VIEW_TITLES`); ``'axes'`` and ``'images'`` (one list per view); ``'colorbars'``
        (one per view); ``'contours'`` (the grey lines, one per panel, or empty).

    Examples
    --------
    Two views of three units on a 4x4 input; the second view's values are ten times smaller,
    and its own scale (half-width 0.1) still shows them.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.receptive_fields import FieldViews
    >>> f = np.random.default_rng(0).uniform(-1, 1, size=(3, 4, 4)); f[0, 0, 0] = 1.0
    >>> ink = np.zeros((4, 4)); ink[1:3, 1:3] = 0.5
    >>> views = FieldViews(fields=np.stack([f, f / 10]), views=["propagated", "gradient"],
    ...                    units=[0, 1, 2], layer="layers.2", layer_index=2, n_layer_units=3,
    ...                    ink=ink, ratios=np.ones(2), share=np.ones(3), n_examples=10)
    >>> out = plot_field_views(views, contour=0.01)
    >>> [sub.get_suptitle() for sub in out["subfigs"]]
    ['propagated: W1 ... Wi, ReLUs ignored', 'gradient: mean d unit / d pixel over test images']
    >>> [im[0].get_clim() for im in out["images"]], len(out["contours"])
    ([(-1.0, 1.0), (-0.1, 0.1)], 6)
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    n_views, n = views.fields.shape[:2]
    ncols = int(ncols or (n if n <= 10 else 8))
    nrows = -(-n // ncols)
    if fig is None:
        fig = plt.figure(figsize=(panel * ncols + 1.2, n_views * (panel * nrows + 0.55)),
                         layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(n_views, 1))
    titles = [f"unit {u}" for u in views.units] if titles is None else list(titles)
    cmap = diverging_cmap() if cmap is None else cmap
    out = {"fig": fig, "subfigs": list(subfigs), "axes": [], "images": [], "colorbars": [],
           "contours": []}
    for v, sub in enumerate(subfigs):
        vmax = float(np.abs(views.fields[v]).max()) or 1.0
        axes = sub.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[n:]:
            ax.remove()
        images = []
        for k, ax in enumerate(axes[:n]):
            images.append(ax.imshow(views.fields[v, k], cmap=cmap, vmin=-vmax, vmax=vmax,
                                    interpolation="nearest"))
            if contour is not None:
                out["contours"].append(ax.contour(views.ink, levels=[contour],
                                                  colors="0.45", linewidths=0.8))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title((row_titles[v] if row_titles is not None else titles)[k],
                         fontsize=fontsize)
        sub.suptitle(VIEW_TITLES.get(views.views[v], views.views[v]), fontsize=fontsize + 1)
        cbar = sub.colorbar(images[0], ax=list(axes[:n]), shrink=0.9, fraction=0.04)
        cbar.set_label(_CBAR_LABELS.get(views.views[v], "field"), fontsize=fontsize)
        cbar.ax.tick_params(labelsize=fontsize)
        out["axes"].append(list(axes[:n]))
        out["images"].append(images)
        out["colorbars"].append(cbar)
    return out


def plot_first_layer_units(trained, change, exemplars, *, titles: Sequence[str],
                           exemplar_values, fig=None, fontsize: float = 12) -> dict:
    """What first-layer units respond to, one unit per column: the trained field, what training
    added to the initial weights, and the test images that excite the unit most.

    Parameters
    ----------
    trained, change : ndarray of shape (U, H, W)
        The drawn fields (each row on its own symmetric scale per unit); NaN pixels are drawn
        grey (e.g. a masked border).
    exemplars : ndarray of shape (U, K, H, W)
        The top-``K`` images of each unit, highest first.
    titles : sequence of str, length U
        Column titles.
    exemplar_values : ndarray of shape (U, K)
        The unit's pre-activation on each exemplar (written above it).
    fig : Figure, optional
    fontsize : float, default=12

    Returns
    -------
    dict
        ``{"fig": Figure, "axes": ndarray of Axes (2 + K, U)}``.

    Raises
    ------
    ValueError
        The arrays disagree in their number of units.

    Examples
    --------
    >>> import numpy as np
    >>> out = plot_first_layer_units(np.ones((2, 4, 4)), np.ones((2, 4, 4)),
    ...                              np.zeros((2, 1, 4, 4)), titles=["a", "b"],
    ...                              exemplar_values=np.zeros((2, 1)))
    >>> out["axes"].shape
    (3, 2)
    """
    import matplotlib.pyplot as plt

    trained, change = np.asarray(trained), np.asarray(change)
    exemplars, vals = np.asarray(exemplars), np.asarray(exemplar_values)
    U = len(trained)
    if not (len(change) == len(exemplars) == len(vals) == len(titles) == U):
        raise ValueError(f"`trained`, `change`, `exemplars`, `exemplar_values` and `titles` must "
                         f"all have {U} units; got {len(change)}, {len(exemplars)}, {len(vals)}, "
                         f"{len(titles)}.")
    K = exemplars.shape[1]
    if fig is None:
        fig = plt.figure(figsize=(12, 6.75), layout="constrained")
    axes = fig.subplots(2 + K, U, squeeze=False)
    cmap = diverging_cmap()
    cmap = (cmap if hasattr(cmap, "with_extremes") else plt.get_cmap(cmap)).with_extremes(
        bad="0.72")
    for u in range(U):
        for r, f in enumerate((trained[u], change[u])):
            m = (float(np.nanmax(np.abs(f))) if np.isfinite(f).any() else 0.0) or 1.0
            axes[r, u].imshow(f, cmap=cmap, vmin=-m, vmax=m)
        axes[0, u].set_title(titles[u], fontsize=fontsize)
        for k in range(K):
            axes[2 + k, u].imshow(exemplars[u, k], cmap="gray_r", vmin=0, vmax=1)
            axes[2 + k, u].set_title(f"pre-act. {vals[u, k]:.1f}", fontsize=fontsize - 1, pad=2)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    labels = ["trained\nweights", "change\nw_T - w_0"] + [f"test image\n#{k + 1}" for k in range(K)]
    for r, lab in enumerate(labels):
        axes[r, 0].set_ylabel(lab, fontsize=fontsize)
    return {"fig": fig, "axes": axes}
