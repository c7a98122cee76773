"""Attribution maps drawn beside the images they explain, and the model-randomization sanity
check drawn beside them (figure family ``attributions``).

Every map is drawn on its own scale, divided by its largest absolute value, so one colourbar per
method says what the colours mean: signed maps on the diverging map from -1 to 1 (zero is white),
unsigned ones (saliency, SmoothGrad) on a sequential map from 0 to 1, Grad-CAM as a heat map over
the grey image. Layer maps (one value per unit of a conv layer, summed over channels) are
stretched over the input image. Digits are drawn white on black.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from vizkit.analysis.attributions import attributions
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> res = attributions(model, torch.rand(1, 1, 2, 2), target=0, methods="integrated_gradients")
>>> ax = plot_attribution(res, 0)
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from .style import diverging_cmap

__all__ = ["plot_attribution", "plot_attributions", "plot_randomization", "plot_rank_correlation",
           "METHOD_TITLES", "FONT"]

#: Column titles of the methods.
METHOD_TITLES = {"saliency": "saliency", "smoothgrad": "SmoothGrad",
                 "input_x_gradient": "input × gradient", "guided_backprop": "guided backprop",
                 "integrated_gradients": "integrated gradients", "deeplift": "DeepLIFT",
                 "occlusion": "occlusion", "grad_cam": "Grad-CAM",
                 "layer_integrated_gradients": "layer int. gradients",
                 "layer_conductance": "layer conductance"}
#: Font size (points): figures stay under 11.4 in wide, so text shows at >= 9 pt on a 1140 px page.
FONT = 10


def _image(t) -> tuple[np.ndarray, str | None]:
    """An [C, H, W] tensor as something ``imshow`` draws: (H, W) grey or (H, W, 3) colour."""
    a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
    if a.ndim == 3 and a.shape[0] == 1:
        return a[0], "gray"
    if a.ndim == 3 and a.shape[0] in (3, 4):
        return np.clip(np.moveaxis(a, 0, -1), 0, 1), None
    if a.ndim == 3:
        return a.mean(0), "gray"
    if a.ndim == 2:
        return a, "gray"
    return a.reshape(1, -1), "gray"


def _map2d(m) -> np.ndarray:
    a = m.detach().cpu().numpy() if hasattr(m, "detach") else np.asarray(m)
    if a.ndim == 3:
        return a[0] if a.shape[0] == 1 else a.sum(0)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a


def _draw_input(ax, t) -> None:
    img, icmap = _image(t)
    ax.imshow(img, cmap=icmap, vmin=0, vmax=1 if img.max() <= 1 else None, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_attribution(result, index: int = 0, *, ax=None, cmap=None, alpha: float = 0.5,
                     colorbar: bool = False, normalize: bool = False,
                     imshow_kw: dict | None = None):
    """Draw the attribution map of example ``index`` of ``result`` on ``ax``.

    Parameters
    ----------
    result : vizkit.analysis.attributions.Attribution
    index : int, default=0
        Which example of the batch.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    cmap : str or Colormap, default=None
        ``None``: diverging (``'RdBu_r'``) on a symmetric scale for signed maps, ``'magma'`` for
        saliency and SmoothGrad, ``'jet'`` for the Grad-CAM overlay.
    alpha : float, default=0.5
        Largest opacity of the Grad-CAM heat map over the image (reached at the map's maximum;
        the opacity is proportional to the map, so zero leaves the image bare).
    colorbar : bool, default=False
    normalize : bool, default=False
        Divide the map by its largest absolute value (the scale becomes [-1, 1] or [0, 1]).
    imshow_kw : dict, default=None
        Passed to the map's ``imshow``.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Multi-channel maps are summed over channels. A layer map ``[C, h, w]`` of another size than
    the input is stretched over the input image (each unit covers its share of the image). Each
    map has its own colour scale (its largest absolute value), so a weak example stays visible.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    n = len(result.maps)
    if not -n <= index < n:
        raise ValueError(f"`index` must be in [0, {n - 1}]. Got {index!r} instead.")
    m = _map2d(result.maps[index]).astype(np.float64)
    peak = float(np.abs(m).max()) if m.size else 0.0
    if normalize and peak > 0:
        m, peak = m / peak, 1.0
    hi = peak if peak > 0 else 1.0
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    img = _image(result.inputs[index])[0]
    if m.shape != img.shape[:2] and m.shape[0] > 1 and img.ndim >= 2:
        kw.setdefault("extent", (-0.5, img.shape[1] - 0.5, img.shape[0] - 0.5, -0.5))
    if result.method == "grad_cam":
        _draw_input(ax, result.inputs[index])
        # opacity grows with the map, so where Grad-CAM is zero the bare image shows; the
        # opacity lives in the colour map, so the colourbar shows the colours as drawn
        im = ax.imshow(m, cmap=_fading(cmap or "jet", alpha), vmin=0.0, vmax=hi, **kw)
    elif result.signed:
        im = ax.imshow(m, cmap=cmap or diverging_cmap(), vmin=-hi, vmax=hi, **kw)
    else:
        im = ax.imshow(m, cmap=cmap or "magma", vmin=0.0, vmax=hi, **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_attributions(results: Sequence | Mapping, *, indices: Sequence[int] | None = None,
                      axes=None, class_names: Sequence[str] | None = None,
                      predictions: Sequence[int] | None = None, alpha: float = 0.5,
                      colorbar: bool = True):
    """A grid: one row per example, the input image first, then one column per method.

    Parameters
    ----------
    results : sequence of Attribution, or mapping name -> Attribution
        Attributions of the same inputs by several methods (checked).
    indices : sequence of int, default=None
        Which examples (rows); all when None.
    axes : ndarray of Axes of shape (len(indices), 1 + len(results)), default=None
        A new figure when None.
    class_names : sequence of str, default=None
        Names for the row labels (``target: name``); numbers when None.
    predictions : sequence of int, default=None
        The model's predicted class per example, added to the row label.
    alpha : float, default=0.5
        Grad-CAM overlay opacity.
    colorbar : bool, default=True
        Each map divided by its largest absolute value, and one colourbar under each method's
        column for that shared [-1, 1] (or [0, 1]) scale.

    Returns
    -------
    ndarray of Axes of shape (rows, 1 + len(results))
    """
    import matplotlib.pyplot as plt

    res = list(results.values()) if isinstance(results, Mapping) else list(results)
    if not res:
        raise ValueError("`results` is empty: pass at least one Attribution.")
    first = res[0]
    for r in res[1:]:
        if r.inputs.shape != first.inputs.shape or not bool((r.inputs == first.inputs).all()):
            raise ValueError("every result in `results` must explain the same inputs "
                             f"({first.method!r} and {r.method!r} differ).")
    idx = list(range(len(first))) if indices is None else [int(i) for i in indices]
    rows, cols = len(idx), 1 + len(res)
    if axes is None:
        _, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows + 0.6), squeeze=False,
                               layout="constrained")
    axes = np.asarray(axes, dtype=object).reshape(rows, cols)
    for r, i in enumerate(idx):
        _draw_input(axes[r, 0], first.inputs[i])
        t = int(first.targets[i])
        label = f"target: {class_names[t] if class_names is not None else t}"
        if predictions is not None:
            p = int(predictions[i])
            label += f"\npred: {class_names[p] if class_names is not None else p}"
        if not axes[r, 0].get_ylabel():
            axes[r, 0].set_ylabel(label, fontsize=FONT)
        for c, result in enumerate(res, start=1):
            plot_attribution(result, i, ax=axes[r, c], alpha=alpha, normalize=colorbar)
    if not axes[0, 0].get_title():
        axes[0, 0].set_title("input", fontsize=FONT)
    for c, result in enumerate(res, start=1):
        if not axes[0, c].get_title():
            axes[0, c].set_title(METHOD_TITLES.get(result.method, result.method), fontsize=FONT)
        if colorbar:
            _column_colorbar(axes[:, c], axes[-1, c].images[-1])
    return axes


def _fading(cmap, alpha: float):
    """``cmap`` with opacity rising from 0 to ``alpha`` along the scale (the Grad-CAM overlay)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    rgba = plt.get_cmap(cmap)(np.linspace(0.0, 1.0, 256))
    rgba[:, 3] = alpha * np.linspace(0.0, 1.0, 256)
    return ListedColormap(rgba, name=f"{getattr(cmap, 'name', cmap)}_fading")


def _column_colorbar(column, image) -> None:
    fig = column[0].figure
    cb = fig.colorbar(image, ax=list(column), location="bottom", fraction=0.04, pad=0.02,
                      aspect=12)
    if image.cmap(1.0)[3] < 1.0:  # a fading overlay: shown over black, the inputs' background
        cb.ax.set_facecolor("black")
    lo, hi = image.get_clim()
    cb.set_ticks([lo, 0.0, hi] if lo < 0 else [0.0, 0.5, 1.0])
    cb.ax.tick_params(labelsize=FONT)
    cb.set_label("÷ max |map|", fontsize=FONT)


def _row_colorbar(row, image) -> None:
    cb = row[0].figure.colorbar(image, ax=list(row), location="right", fraction=0.03, pad=0.02,
                                aspect=10)
    lo, hi = image.get_clim()
    cb.set_ticks([lo, 0.0, hi] if lo < 0 else [0.0, 0.5, 1.0])
    cb.ax.tick_params(labelsize=FONT)


def plot_randomization(check, index: int = 0, *, axes=None):
    """The sanity check's maps for example ``index``: one row per method, the trained model's map
    first, then the map after each step of the cascade (layers re-initialized from the top).

    Under each re-initialized map: ``ρ``, the rank correlation of the absolute maps with the
    trained one over the elements where either is non-zero (the measure behind the "barely
    changes" label), and ``whole``, the same over the whole map.

    Parameters
    ----------
    check : vizkit.analysis.attributions.RandomizationCheck
    index : int, default=0
    axes : ndarray of Axes of shape (len(methods), 2 + len(layers)), default=None
        The first column shows the input image.

    Returns
    -------
    ndarray of Axes
    """
    import matplotlib.pyplot as plt

    rows, cols = len(check.methods), 2 + len(check.layers)
    if axes is None:
        _, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.5 * rows + 0.5),
                               squeeze=False, layout="constrained")
    axes = np.asarray(axes, dtype=object).reshape(rows, cols)
    unchanged = set(check.unchanged)
    for r, m in enumerate(check.methods):
        _draw_input(axes[r, 0], check.inputs[index])
        label = METHOD_TITLES.get(m, m) + ("\n(barely changes)" if m in unchanged else "")
        axes[r, 0].set_ylabel(label, fontsize=FONT, color="#b2182b" if m in unchanged else "k")
        for k in range(1 + len(check.layers)):
            res = replace(check.trained[m], maps=check.maps[m][k], delta=None)
            plot_attribution(res, index, ax=axes[r, k + 1], normalize=True)
            if k == len(check.layers):
                _row_colorbar(axes[r, 1:], axes[r, -1].images[-1])
            if k:
                axes[r, k + 1].set_xlabel(
                    f"ρ = {check.correlations[r, k - 1, index]:.2f}\n"
                    f"whole {check.whole_correlations[r, k - 1, index]:.2f}", fontsize=FONT)
    axes[0, 0].set_title("input", fontsize=FONT)
    axes[0, 1].set_title("trained", fontsize=FONT)
    for k, name in enumerate(check.layers):
        axes[0, k + 2].set_title(f"+ {name}", fontsize=FONT)
    return axes


def plot_rank_correlation(check, *, ax=None):
    """Mean rank correlation with the trained model's maps after each cascade step, per method.

    Solid lines (with a band spanning the examples): over the elements where either map is
    non-zero, the measure of :attr:`RandomizationCheck.unchanged`, whose ``threshold`` is drawn
    dashed. Thin dotted lines of the same colour: over the whole map.

    Parameters
    ----------
    check : vizkit.analysis.attributions.RandomizationCheck
    ax : matplotlib Axes, default=None
        A new figure when None.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    steps = np.arange(len(check.layers) + 1)
    unchanged = set(check.unchanged)
    n = check.correlations.shape[2]
    for r, m in enumerate(check.methods):
        c = np.concatenate([np.ones((1, n)), check.correlations[r]])
        w = np.concatenate([np.ones((1, n)), check.whole_correlations[r]])
        label = METHOD_TITLES.get(m, m) + (" (barely changes)" if m in unchanged else "")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, lo, hi = np.nanmean(c, 1), np.nanmin(c, 1), np.nanmax(c, 1)
        (line,) = ax.plot(steps, mean, marker="osD^v"[r % 5], label=label,
                          lw=2.5 if m in unchanged else 1.5)
        ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.12)
        ax.plot(steps, w.mean(1), color=line.get_color(), ls=":", lw=1.2)
    ax.plot([], [], color="0.3", ls=":", lw=1.2, label="same, over the whole map")
    # the threshold is named in the legend: a label on the line itself sat on the curves
    ax.axhline(check.threshold, color="0.3", ls="--", lw=1,
               label=f"'barely changes' at ρ ≥ {check.threshold:g}")
    ax.set_xticks(steps, ["trained"] + [f"+ {n}" for n in check.layers], fontsize=FONT,
                  rotation=20, ha="right")
    ax.tick_params(axis="y", labelsize=FONT)
    vals = np.concatenate([check.correlations.ravel(), check.whole_correlations.ravel()])
    low = float(np.nanmin(vals)) if np.isfinite(vals).any() else 0.0
    ax.set_ylim(min(-0.1, low - 0.05), 1.05)
    if not ax.get_ylabel():
        ax.set_ylabel("rank correlation of |map|\nwith trained, where\neither is non-zero",
                      fontsize=FONT)
    if not ax.get_xlabel():
        ax.set_xlabel("layers re-initialized, from the top (cumulative)", fontsize=FONT)
    ax.legend(fontsize=FONT, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return ax
