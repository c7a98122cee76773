"""A CNN's filters and its feature maps per input, drawn (figure family ``feature-maps``).

Filters are drawn on one symmetric diverging scale (zero is white, red positive, blue negative);
each input's feature maps share one symmetric scale of their own, so the channels of one input
compare directly; digits are drawn white on black beside their maps. Every colour scale has a
colourbar, wide strips of channels wrap into grids, and no text is under 12 pt.

Examples
--------
>>> import torch, matplotlib
>>> matplotlib.use("Agg")
>>> from torch import nn
>>> from vizkit.analysis.feature_maps import conv_filters, feature_maps
>>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
>>> out = plot_filters(conv_filters(net))
>>> len(out["images"])
4
>>> out = plot_feature_maps(feature_maps(net, torch.rand(2, 1, 8, 8)), index=1)
>>> len(out["images"]), out["colorbar"] is not None
(4, True)
"""

from __future__ import annotations

import math

import numpy as np

from ._axes import image_axes, image_grid_axes
from .style import diverging_cmap

__all__ = ["plot_filters", "plot_feature_maps", "FONT", "MAX_CHANNELS", "PANEL"]

#: Font size of every text (points): >= 20 px once a figure is scaled to a 1920x1080 slide.
FONT = 12
#: Channels drawn per input in the family's figures (the first ones).
MAX_CHANNELS = 32
#: Inches per map.
PANEL = 0.78


def _colorbar(fig, mappable, ax, label: str, **kw):
    cbar = fig.colorbar(mappable, ax=ax, **{"shrink": 0.85, "fraction": 0.05, **kw})
    cbar.set_label(label, fontsize=FONT)
    cbar.ax.tick_params(labelsize=FONT)
    return cbar


def _filter_images(filters: np.ndarray, vmax: float) -> tuple[np.ndarray, str]:
    """``(images, how)``: one (kH, kW) or (kH, kW, 3) image per filter."""
    c_in = filters.shape[1]
    if c_in == 1:
        return filters[:, 0], "weight"
    if c_in == 3:  # RGB, mid-grey is zero, one scale for all
        return np.clip(np.moveaxis(filters, 1, -1) / (2 * vmax) + 0.5, 0, 1), "rgb"
    return filters.mean(axis=1), f"mean weight over {c_in} input channels"


def plot_filters(result, *, axes=None, fig=None, cmap=None, ncols: int | None = None,
                 colorbar: bool = True, imshow_kw: dict | None = None) -> dict:
    """Draw each output channel's filter as a small image, all on one symmetric scale.

    A conv filter is the pattern its channel looks for: the channel's output is large where a
    ``kH x kW`` patch of the input matches the red weights and avoids the blue ones. One
    symmetric scale for all filters (zero white) keeps them comparable. One-channel filters are
    drawn as they are, three-channel (RGB) filters as colour images, others as their mean over
    the input channels.

    Parameters
    ----------
    result : vizkit.analysis.feature_maps.ConvFilters
        The layer's weight ``(C_out, C_in, kH, kW)`` and its largest ``|w|``, ``vmax``.
    axes : sequence of matplotlib.axes.Axes, optional
        One per filter; default: a new grid in ``fig`` (or a new figure).
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure, optional
        The figure of the new grid when ``axes`` is not given.
    cmap : str or matplotlib.colors.Colormap, optional
        Default: the diverging map (zero white). Three-channel filters are drawn as RGB instead
        (mid-grey is zero), without a colourbar.
    ncols : int, optional
        Default: ``min(C_out, 8)`` (a wide strip wraps into rows of 8).
    colorbar : bool, default=True
        Add one colour bar for all filters (labelled ``'weight'``, or the mean it draws).
    imshow_kw : dict, optional
        Passed on to every ``ax.imshow`` (default ``interpolation='nearest'``).

    Returns
    -------
    dict
        ``'fig'``, ``'axes'`` (one per filter, titled with its channel number), ``'images'``
        (their ``AxesImage``), ``'colorbar'`` (Colorbar or None) and ``'vmax'`` (the scale's
        half-width).

    Raises
    ------
    ValueError
        ``result.filters`` is not ``(C_out, C_in, kH, kW)``, or ``axes`` holds fewer axes than
        filters.

    See Also
    --------
    vizkit.analysis.feature_maps.conv_filters : Reads ``result`` from a model.
    plot_feature_maps : What the filters compute on an input.

    Examples
    --------
    Three hand-made 3x3 filters: a vertical edge, a horizontal edge and an all-zero one.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.feature_maps import ConvFilters
    >>> edge = np.array([[-1.0, 0.0, 1.0]] * 3)
    >>> filt = ConvFilters(filters=np.stack([edge, edge.T, 0 * edge])[:, None], layer="0",
    ...                    vmax=1.0)
    >>> out = plot_filters(filt)
    >>> len(out["images"]), [ax.get_title() for ax in out["axes"]]
    (3, ['0', '1', '2'])
    >>> out["images"][2].get_clim(), out["colorbar"].ax.get_ylabel()  # zero is mid-scale
    ((-1.0, 1.0), 'weight')
    >>> plt.close("all")
    """
    w = np.asarray(result.filters)
    if w.ndim != 4:
        raise ValueError(f"`result.filters` must have shape (C_out, C_in, kH, kW). Got {w.shape} "
                         "instead.")
    n = w.shape[0]
    vmax = float(result.vmax) or 1.0
    imgs, how = _filter_images(w, vmax)
    ncols = ncols or min(n, 8)
    if axes is None:
        fig, axes = image_grid_axes(n, ncols=ncols, fig=fig, panel=0.95, extra_width=1.2)
    else:
        fig, axes = image_axes(n, axes, fig, ncols)
    cmap = diverging_cmap() if cmap is None else cmap
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    images = []
    for k, ax in enumerate(axes):
        if how == "rgb":
            images.append(ax.imshow(imgs[k], **kw))
        else:
            images.append(ax.imshow(imgs[k], cmap=cmap, vmin=-vmax, vmax=vmax, **kw))
        if not ax.get_title():
            ax.set_title(f"{k}", fontsize=FONT, pad=2)
        ax.set_xticks([])
        ax.set_yticks([])
    cbar = None
    if colorbar and how != "rgb":
        cbar = _colorbar(fig, images[0], axes, how)
    return {"fig": fig, "axes": axes, "images": images, "colorbar": cbar, "vmax": vmax}


def _input_image(x: np.ndarray) -> tuple[np.ndarray, str | None]:
    if x.shape[0] == 1:
        return x[0], "gray"
    if x.shape[0] == 3:
        return np.clip(np.moveaxis(x, 0, -1), 0, 1), None
    return x.mean(0), "gray"


def _maps_grid(fig, n: int, ncols: int):
    """An input axes (left column, spanning the rows) and ``n`` map axes in ``ncols`` columns."""
    import matplotlib.pyplot as plt

    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(PANEL * (ncols + 1.6) + 1.4, PANEL * nrows + 0.9),
                         layout="constrained")
    gs = fig.add_gridspec(nrows, ncols + 1, width_ratios=[1.6] + [1.0] * ncols)
    input_ax = fig.add_subplot(gs[:, 0])
    axes = [fig.add_subplot(gs[k // ncols, 1 + k % ncols]) for k in range(n)]
    for ax in [input_ax, *axes]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, input_ax, axes


def plot_feature_maps(result, index: int = 0, *, axes=None, input_ax=None, fig=None, cmap=None,
                      channels=None, ncols: int | None = None, colorbar: bool = True,
                      imshow_kw: dict | None = None, layer_label: str | None = None) -> dict:
    """Draw one input (white on black) and its feature maps on one symmetric scale.

    A feature map is one channel's output over the image: where it is red the channel's
    pattern is present, where blue its opposite. The maps of one input share one symmetric
    scale (half-width: their largest ``|value|``, zero white), so the channels compare
    directly; the input is drawn beside them on its own grey scale.

    Parameters
    ----------
    result : vizkit.analysis.feature_maps.FeatureMaps
        The layer's outputs ``(N, C, H', W')``, the ``inputs`` and their ``labels``.
    index : int, default=0
        Which input of the result (negative counts from the end).
    axes : sequence of matplotlib.axes.Axes, optional
        One per drawn channel; default: a new grid in ``fig`` (or a new figure), with the input
        in a column on the left.
    input_ax : matplotlib.axes.Axes, optional
        Where the input goes when ``axes`` are given (``None``: not drawn).
    fig : matplotlib.figure.Figure or matplotlib.figure.SubFigure, optional
        The figure of the new grid when ``axes`` is not given.
    cmap : str or matplotlib.colors.Colormap, optional
        Default: the diverging map (zero white).
    channels : sequence of int, optional
        Channels to draw; default: the first :data:`MAX_CHANNELS`.
    ncols : int, optional
        Map columns; default ``min(len(channels), 8)`` (more channels wrap into rows).
    colorbar : bool, default=True
        A colourbar for the maps' scale and one for the input's pixel values.
    imshow_kw : dict, optional
        Passed on to every map's ``ax.imshow`` (default ``interpolation='nearest'``).
    layer_label : str, optional
        The layer as the colourbar names it (default ``result.layer``), e.g. ``'conv2 (features.4)'``.

    Returns
    -------
    dict
        ``'fig'``; ``'axes'`` (one per channel, titled with its number); ``'input_ax'``;
        ``'images'`` (the maps' ``AxesImage``); ``'input_image'`` (or None); ``'colorbar'``
        and ``'input_colorbar'`` (Colorbar or None); ``'vmax'`` (the maps' half-width);
        ``'channels'`` (the channels drawn).

    Raises
    ------
    ValueError
        ``index`` is not an input of the result; ``channels`` is empty or names a channel the
        layer does not have; ``axes`` holds fewer axes than channels.

    See Also
    --------
    vizkit.analysis.feature_maps.feature_maps : Computes ``result`` from a model.

    Examples
    --------
    Two inputs and three hand-made 2x2 maps each; the second input's largest ``|value|`` is 4,
    so its maps are drawn from -4 to 4.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.feature_maps import FeatureMaps
    >>> maps = np.stack([np.ones((3, 2, 2)), np.array([[[1.0, -4.0], [0.0, 2.0]]] * 3)])
    >>> res = FeatureMaps(maps=maps, inputs=np.zeros((2, 1, 5, 5)), layer="features.0",
    ...                   labels=np.array([7, 1]))
    >>> out = plot_feature_maps(res, index=1, layer_label="conv1 (features.0)")
    >>> out["vmax"], out["channels"], out["input_ax"].get_title()
    (4.0, [0, 1, 2], 'input (class 1)')
    >>> out["colorbar"].ax.get_ylabel()
    'output of conv1 (features.0)'
    >>> plot_feature_maps(res, channels=[3])
    Traceback (most recent call last):
    ...
    ValueError: `channels` must be a non-empty list of channels in [0, 3). Got [3] instead.
    >>> plt.close("all")
    """
    maps = np.asarray(result.maps)
    if not -len(maps) <= index < len(maps):
        raise ValueError(f"`index` must be in [0, {len(maps)}). Got {index!r} instead.")
    n_ch = maps.shape[1]
    channels = list(range(min(n_ch, MAX_CHANNELS))) if channels is None else [int(c) for c in channels]
    bad = [c for c in channels if not 0 <= c < n_ch]
    if bad or not channels:
        raise ValueError(f"`channels` must be a non-empty list of channels in [0, {n_ch}). Got "
                         f"{channels!r} instead.")
    m = maps[index, channels]
    finite = np.abs(m[np.isfinite(m)])
    vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    if axes is None:
        fig, input_ax, axes = _maps_grid(fig, len(channels), ncols or min(len(channels), 8))
    else:
        fig, axes = image_axes(len(channels), axes, None, None)
    cmap = diverging_cmap() if cmap is None else cmap
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    images = []
    for ax, c, img in zip(axes, channels, m):
        images.append(ax.imshow(img, cmap=cmap, vmin=-vmax, vmax=vmax, **kw))
        if not ax.get_title():
            ax.set_title(f"{c}", fontsize=FONT, pad=2)
    input_image = cbar = in_cbar = None
    if input_ax is not None:
        x, icmap = _input_image(np.asarray(result.inputs)[index])
        lo, hi = (0.0, 1.0) if x.min() >= 0 and x.max() <= 1 else (float(x.min()), float(x.max()))
        input_image = input_ax.imshow(x, cmap=icmap, vmin=lo, vmax=hi, interpolation="nearest")
        if not input_ax.get_title():
            lab = "" if result.labels is None else f" (class {int(result.labels[index])})"
            input_ax.set_title(f"input{lab}", fontsize=FONT)
        if colorbar and icmap is not None:
            in_cbar = _colorbar(fig, input_image, input_ax, "pixel", location="bottom",
                                fraction=0.08, shrink=0.9)
    if colorbar:
        cbar = _colorbar(fig, images[0], axes, f"output of {layer_label or result.layer}")
    return {"fig": fig, "axes": list(axes), "input_ax": input_ax, "images": images,
            "input_image": input_image, "colorbar": cbar, "input_colorbar": in_cbar,
            "vmax": vmax, "channels": channels}
