"""Plot receptive fields (seed 004): a grid of fields on one symmetric diverging scale, and the
theoretical region of a conv unit drawn as a box on an input image."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from torch import nn

from ._style import diverging_cmap
from .figure import Figure, NotApplicable
from .weights import _axes_for

__all__ = ["plot_receptive_fields", "plot_receptive_field_box", "figures"]


def plot_receptive_fields(result, *, axes=None, fig=None, cmap=None, vmax: float | None = None,
                          ncols: int | None = None, colorbar: bool = True,
                          titles: Sequence[str] | None = None, box=None, zoom: int | None = 3,
                          imshow_kw: dict | None = None) -> dict:
    """Draw each unit's field with limits ``(-vmax, vmax)`` (zero is white) and one colour bar.

    Parameters
    ----------
    result : vizkit.analysis.receptive_fields.ReceptiveFields
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
    rf : vizkit.analysis.receptive_fields.TheoreticalRF
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


_N_EXAMPLES = 500


def _last_conv(model: nn.Module) -> str | None:
    last = None
    for name, m in model.named_modules():
        if isinstance(m, (nn.Flatten, nn.Linear)) and last is not None:
            break
        if isinstance(m, nn.Conv2d):
            last = name
    return last


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``receptive-fields`` (seed 004): which pixels drive the units of a network.

    * MLPs (``PTDeep``): the seed's "propagated" fields (products of the weight matrices) for the
      first hidden layer and for the output layer, plain and gated by the ReLUs active on test
      images (the average over examples of the masked products).
    * CNNs (``ConvNet``, ``RBFNet``'s conv stack): input-gradient fields of the last conv layer's
      channels (centre unit, averaged over test images) with the theoretical field drawn as a
      box, and one test image with the field of each conv/pool stage.
    * Any image model (logistic regression too): the input-gradient field of each class score.

    ``data`` holds the drawn ``fields`` (and ``units``; the stage boxes for the theory figure).

    Raises
    ------
    NotApplicable
        Non-image inputs (a field of two numbers is not a picture), more than one channel, or
        not a torch model.
    """
    import matplotlib.pyplot as plt
    import torch

    from ..analysis.receptive_fields import (gradient_receptive_fields, propagated_receptive_fields,
                                      theoretical_receptive_field)

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        raise NotApplicable(f"receptive fields are drawn as images; this data has input shape "
                            f"{shape}, not (C, H, W).")
    if shape[0] != 1:
        raise NotApplicable("receptive-field figures are drawn for single-channel images only.")
    if not isinstance(model, nn.Module):
        raise NotApplicable(f"receptive fields need a torch model; got {type(model).__name__}.")
    g = torch.Generator().manual_seed(int(seed))
    x = split.x_test
    idx = torch.randperm(len(x), generator=g)[:_N_EXAMPLES]
    xs = x[idx]
    classes = [str(c) for c in split.classes]
    figs: list[Figure] = []

    is_mlp = isinstance(getattr(model, "layers", None), nn.Sequential) and sum(
        isinstance(m, nn.Linear) for m in model.layers) >= 2
    if is_mlp:
        r1 = propagated_receptive_fields(model, 1, units=range(16), image_shape=shape)
        out = plot_receptive_fields(r1, ncols=8)
        out["fig"].suptitle(f"{r1.layer} (first hidden layer): fields of units 0-15", fontsize=10)
        figs.append(Figure("receptive-fields-layer1", out["fig"],
                           "Receptive fields of the first 16 units of the first hidden layer: the "
                           "columns of W1 on raw pixels (input normalization folded in), one "
                           "symmetric scale (red: ink there excites the unit, blue: inhibits).",
                           data=_fields_data(r1)))
        plain = propagated_receptive_fields(model, -1, image_shape=shape)
        gated = propagated_receptive_fields(model, -1, image_shape=shape, gate_data=xs)
        fig = plt.figure(figsize=(12, 3.3), layout="constrained")
        top, bottom = fig.subfigures(2, 1)
        n = plain.fields.shape[0]
        names = classes if len(classes) == n else None
        a = plot_receptive_fields(plain, fig=top, ncols=n, titles=names)
        b = plot_receptive_fields(gated, fig=bottom, ncols=n, titles=names)
        a["axes"][0].set_ylabel("W1…WL", fontsize=8)
        b["axes"][0].set_ylabel("ReLU-gated", fontsize=8)
        figs.append(Figure("receptive-fields-output", fig,
                           "Fields of the output units (seed 004's 'propagating the weights'). "
                           "Top: the plain product W1 W2 … WL, ignoring the ReLUs. Bottom: the "
                           f"average over {len(xs)} test images of the product with each "
                           "image's active-ReLU mask (= the average input gradient); each row "
                           "on its own symmetric scale.",
                           data={"plain_fields": np.asarray(plain.fields),
                                 "gated_fields": np.asarray(gated.fields)}))

    conv = _last_conv(model)
    if conv is not None:
        try:
            theo = theoretical_receptive_field(model, conv, input_shape=shape)
        except ValueError:
            theo = None
        n_ch = dict(model.named_modules())[conv].out_channels
        rg = gradient_receptive_fields(model, conv, list(range(min(16, n_ch))), xs[:200])
        out = plot_receptive_fields(rg, ncols=8, box=theo)
        out["fig"].suptitle(f"{conv}: input gradient of each channel's centre unit", fontsize=10)
        cap = (f"Gradient receptive fields of the centre unit of 16 channels of {conv}, averaged "
               "over 200 test images, on one symmetric scale.")
        if theo is not None:
            cap += (f" Dashed box: the theoretical field ({theo.size[0]}x{theo.size[1]} pixels, "
                    f"jump {theo.jump[0]}); the gradient is zero outside it.")
        figs.append(Figure("receptive-fields-conv", out["fig"], cap, data=_fields_data(rg)))
        stages = [n for n, m in model.named_modules()
                  if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]
        theos = []
        for name in stages:
            try:
                theos.append(theoretical_receptive_field(model, name, input_shape=shape))
            except ValueError:
                break
        if theos:
            fig, axes = plt.subplots(1, len(theos), figsize=(2.2 * len(theos), 2.6),
                                     layout="constrained", squeeze=False)
            for ax, t in zip(axes[0], theos):
                plot_receptive_field_box(t, xs[0], ax=ax)
            figs.append(Figure("receptive-fields-theory", fig,
                               "The input region seen by the centre unit of each conv/pool stage "
                               "(red box, from kernel sizes, strides and padding); dots: field "
                               "centres of all units of the stage (their spacing is the jump).",
                               data={"size": np.array([t.size for t in theos]),
                                     "jump": np.array([t.jump for t in theos]),
                                     "start": np.array([t.start for t in theos]),
                                     "image": np.asarray(xs[0])}))

    try:
        rc = gradient_receptive_fields(model, None, None, xs[:200])
    except Exception as e:  # a model whose output is not [N, classes]
        if not figs:
            raise NotApplicable(f"no receptive field applies to this model: {e}") from None
        return figs
    if rc.fields.ndim == 3:
        n = rc.fields.shape[0]
        out = plot_receptive_fields(rc, ncols=min(n, 10),
                                    titles=classes if len(classes) == n else None)
        out["fig"].suptitle("Input gradient of each class score, averaged over test images",
                            fontsize=10)
        figs.append(Figure("receptive-fields-classes", out["fig"],
                           "Average input gradient of each class logit over 200 test images (one "
                           "symmetric scale): the pixels whose ink raises (red) or lowers (blue) "
                           "the class score around typical digits.", data=_fields_data(rc)))
    return figs


def _fields_data(r) -> dict[str, np.ndarray]:
    """The drawn ``fields`` and their ``units``."""
    return {"fields": np.asarray(r.fields), "units": np.asarray([str(u) for u in r.units])}
