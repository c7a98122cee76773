"""Plot receptive fields (seed 004): a grid of fields on one symmetric diverging scale, several
views of the same units in rows (:func:`plot_field_views`), the theoretical region of a conv unit
drawn as a box on an input image, and the family's captioned :func:`figures`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from torch import nn

from ._axes import image_axes
from .figure import Figure, NotApplicable
from .style import diverging_cmap

__all__ = ["plot_receptive_fields", "plot_field_views", "plot_receptive_field_box", "figures"]


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
                     fontsize=9)
    return {"ax": ax, "image": im, "box": rect, "centers": centers}


#: What each view of :func:`vizkit.analysis.receptive_fields.field_views` means, for row titles.
VIEW_TITLES = {
    "propagated": "propagated: W1 ... Wi, ReLUs ignored (seed 004)",
    "propagated, mean-gated": "ReLU-gated: hidden units weighted by how often they are on",
    "gradient": "gradient: mean d unit / d pixel over test images",
}
_CBAR_LABELS = {"propagated": "weight product", "propagated, mean-gated": "gated product",
                "gradient": "d unit / d pixel"}


def plot_field_views(views, *, fig=None, titles: Sequence[str] | None = None,
                     ncols: int | None = None, cmap=None, contour: bool = True,
                     panel: float = 1.0) -> dict:
    """Draw every view of the same units, one block of rows per view, each view on its own
    symmetric scale with its own colour bar; a grey line where the ink frequency is
    ``NEVER_INKED`` (outside it the training images almost never carry ink).

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
    contour : bool, default=True
    panel : float, default=1.0
        Inches per panel.

    Returns
    -------
    dict
        ``{'fig', 'subfigs', 'axes' (one list per view), 'images' (idem), 'colorbars',
        'contours'}``.
    """
    import matplotlib.pyplot as plt

    from ..analysis.receptive_fields import NEVER_INKED

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
            if contour:
                out["contours"].append(ax.contour(views.ink, levels=[NEVER_INKED],
                                                  colors="0.45", linewidths=0.8))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(titles[k], fontsize=9)
        sub.suptitle(VIEW_TITLES.get(views.views[v], views.views[v]), fontsize=10)
        cbar = sub.colorbar(images[0], ax=list(axes[:n]), shrink=0.9, fraction=0.04)
        cbar.set_label(_CBAR_LABELS.get(views.views[v], "field"), fontsize=9)
        cbar.ax.tick_params(labelsize=9)
        out["axes"].append(list(axes[:n]))
        out["images"].append(images)
        out["colorbars"].append(cbar)
    return out


_N_EXAMPLES = 500


def _training_note(meta: dict | None) -> str:
    """What the checkpoint's config says about weight decay (it decides the never-inked part)."""
    cfg = (meta or {}).get("config") or {}
    wd, lam = cfg.get("weight_decay") or 0, cfg.get("param_lambda") or 0
    if wd or lam:
        term = f"weight decay {wd:g}" if wd else f"an L2 term (param_lambda {lam:g})"
        return (f" The net was trained with {term}: weights that no image's gradient holds up "
                "decay toward 0, so what is left is what the data taught.")
    if cfg:
        return (" The net was trained without weight decay: weights on pixels the data never "
                "inks keep much of their random initial values.")
    return ""


def _views_caption(views, n_train: int, meta: dict | None) -> str:
    """The caption of one layer's figure, every number taken from ``views``."""
    from ..analysis.receptive_fields import INKED, NEVER_INKED

    never = int((views.ink < NEVER_INKED).sum())
    inked = int((views.ink > INKED).sum())
    U, N = len(views.units), views.n_layer_units
    which = (f"all {N} units" if U == N else
             f"the {U} of {N} units whose fields put the largest share of their |weight| on "
             f"inked pixels ({views.share.min():.0%} to {views.share.max():.0%})")
    cap = f"Receptive fields of {views.layer} (Linear layer {views.layer_index}): {which}, on raw pixels."
    if len(views.views) == 1:
        cap += (" Each field is a column of W1 (input normalization folded in); at layer 1 the "
                "ReLU-gated and gradient views are the same numbers.")
    else:
        cap += (" Rows: 'propagated', the seed's product of the weight matrices (with batch "
                "norm's scale) ignoring the ReLUs; 'ReLU-gated', each hidden unit weighted by "
                f"the fraction of {views.n_examples} test images on which it is active; "
                "'gradient', the mean over those images of d unit / d pixel (= the mean of "
                "each image's ReLU-masked product). Each row on its own symmetric scale.")
    ratios = " / ".join(f"{r:.2f}" for r in views.ratios)
    cap += (" Red: ink there raises the unit; blue: lowers it. Grey line: outside it lie the "
            f"{never} pixels inked in fewer than {NEVER_INKED:.0%} of the {n_train} training "
            f"images; mean |field| there is {ratios} of that on the {inked} pixels inked in "
            f"more than {INKED:.0%}.")
    return cap + _training_note(meta)


def _views_data(views) -> dict[str, np.ndarray]:
    return {"fields": views.fields, "layer": np.array(views.layer), "units": np.array(views.units),
            "views": np.array(views.views), "ink": views.ink, "ratios": views.ratios,
            "share": views.share}


def _mlp_figures(model, split, xs, ink, meta) -> list[Figure]:
    """One figure per Linear layer of an MLP: the hidden layers and the output."""
    from ..analysis.receptive_fields import field_views, mlp_field_layers

    layers = mlp_field_layers(model)
    classes = [str(c) for c in split.classes]
    figs = []
    for i, name, n_shown in layers:
        is_out = i == len(layers)
        views = field_views(model, i, xs, ink, n_units=n_shown, image_shape=split.input_shape)
        titles = classes if is_out and len(classes) == len(views.units) else None
        out = plot_field_views(views, titles=titles)
        fid = "receptive-fields-output" if is_out else f"receptive-fields-layer{i}"
        figs.append(Figure(fid, out["fig"], _views_caption(views, len(split.y_train), meta),
                           data=_views_data(views)))
    return figs


def _conv_figures(model, xs, shape) -> list[Figure]:
    """The last conv layer's gradient fields with their theoretical box, and the box of every
    conv/pool stage on one test image."""
    import matplotlib.pyplot as plt

    from ..analysis.receptive_fields import (conv_field_units, conv_stages,
                                             gradient_receptive_fields, last_conv_layer,
                                             theoretical_receptive_field)

    conv = last_conv_layer(model)
    if conv is None:
        return []
    try:
        theo = theoretical_receptive_field(model, conv, input_shape=shape)
    except ValueError:
        theo = None
    rg = gradient_receptive_fields(model, conv, conv_field_units(model, conv), xs[:200])
    out = plot_receptive_fields(rg, ncols=8, box=theo)
    out["fig"].suptitle(f"{conv}: input gradient of each channel's centre unit", fontsize=10)
    cap = (f"Gradient receptive fields of the centre unit of {len(rg.units)} channels of {conv}, "
           f"averaged over {rg.n_examples} test images, on one symmetric scale.")
    if theo is not None:
        cap += (f" Dashed box: the theoretical field ({theo.size[0]}x{theo.size[1]} pixels, "
                f"jump {theo.jump[0]}); the gradient is zero outside it.")
    figs = [Figure("receptive-fields-conv", out["fig"], cap,
                   data={"fields": np.asarray(rg.fields), "layer": np.array(rg.layer),
                         "units": np.asarray([str(u) for u in rg.units])})]
    theos = []
    for name in conv_stages(model):
        try:
            theos.append(theoretical_receptive_field(model, name, input_shape=shape))
        except ValueError:
            break
    if theos:
        fig, axes = plt.subplots(1, len(theos), figsize=(2.4 * len(theos), 2.8),
                                 layout="constrained", squeeze=False)
        for ax, t in zip(axes[0], theos):
            plot_receptive_field_box(t, xs[0], ax=ax, cmap="gray")
        figs.append(Figure("receptive-fields-theory", fig,
                           "The input region seen by the centre unit of each conv/pool stage "
                           "(red box, from kernel sizes, strides and padding); dots: field "
                           "centres of all units of the stage (their spacing is the jump).",
                           data={"size": np.array([t.size for t in theos]),
                                 "jump": np.array([t.jump for t in theos]),
                                 "start": np.array([t.start for t in theos]),
                                 "layer": np.array([t.layer for t in theos]),
                                 "image": np.asarray(xs[0])}))
    return figs


def _class_figure(model, split, xs, ink) -> list[Figure]:
    """The mean input gradient of each class score, for models that are not MLPs (for an MLP it
    is the 'gradient' row of the output figure)."""
    from ..analysis.receptive_fields import (INKED, NEVER_INKED, gradient_receptive_fields,
                                             ink_ratio)

    rc = gradient_receptive_fields(model, None, None, xs[:200])
    if rc.fields.ndim != 3:
        return []
    n = rc.fields.shape[0]
    classes = [str(c) for c in split.classes]
    out = plot_receptive_fields(rc, ncols=min(n, 10), titles=classes if len(classes) == n else None)
    for ax in out["axes"]:
        ax.contour(ink, levels=[NEVER_INKED], colors="0.45", linewidths=0.8)
    out["fig"].suptitle("Input gradient of each class score, averaged over test images",
                        fontsize=10)
    ratio = ink_ratio(rc.fields, ink)
    cap = (f"Average input gradient of each class logit over {rc.n_examples} test images (one "
           "symmetric scale): the pixels whose ink raises (red) or lowers (blue) the class score "
           f"around typical test images. Grey line: outside it, pixels inked in fewer than "
           f"{NEVER_INKED:.0%} of the training images; mean |field| there is {ratio:.2f} of that "
           f"on pixels inked in more than {INKED:.0%}.")
    return [Figure("receptive-fields-classes", out["fig"], cap,
                   data={"fields": np.asarray(rc.fields), "layer": np.array(rc.layer),
                         "units": np.asarray([str(u) for u in rc.units]), "ink": ink,
                         "ratios": np.array([ratio])})]


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``receptive-fields`` (seed 004): which pixels drive the units of a network.

    * MLPs (``PTDeep``): one figure per Linear layer (every hidden layer and the output), each
      showing the units whose fields lie most on inked pixels (all units of the output), as the
      seed's propagated product, ReLU-gated, and as the mean input gradient.
    * CNNs (``ConvNet``, ``RBFNet``'s conv stack): input-gradient fields of the last conv layer's
      channels with the theoretical field drawn as a box, and the field of each conv/pool stage.
    * Other image models (logistic regression, CNNs): the input-gradient field of each class.

    Every field figure outlines the pixels the training images (almost) never ink; ``data``
    holds the drawn ``fields``, their ``layer``, ``units``, the ``ink`` frequency map and the
    never-inked / inked ``ratios`` the caption quotes.

    Raises
    ------
    NotApplicable
        Non-image inputs (a field of two numbers is not a picture), more than one channel, or
        not a torch model.
    """
    import torch

    from ..analysis.receptive_fields import ink_frequency, mlp_layers

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        raise NotApplicable(f"receptive fields are drawn as images; this data has input shape "
                            f"{shape}, not (C, H, W).")
    if shape[0] != 1:
        raise NotApplicable("receptive-field figures are drawn for single-channel images only.")
    if not isinstance(model, nn.Module):
        raise NotApplicable(f"receptive fields need a torch model; got {type(model).__name__}.")
    g = torch.Generator().manual_seed(int(seed))
    xs = split.x_test[torch.randperm(len(split.x_test), generator=g)[:_N_EXAMPLES]]
    ink = ink_frequency(split.x_train)
    if mlp_layers(model):
        return _mlp_figures(model, split, xs, ink, meta)
    figs = _conv_figures(model, xs, shape)
    try:
        figs += _class_figure(model, split, xs, ink)
    except (ValueError, RuntimeError) as e:  # a model whose output is not [N, classes]
        if not figs:
            raise NotApplicable(f"no receptive field applies to this model: {e}") from None
    return figs
