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

import textwrap
import warnings
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from .style import diverging_cmap

__all__ = ["plot_attribution", "plot_attributions", "plot_randomization", "plot_rank_correlation",
           "METHOD_TITLES", "COLUMN_TITLES", "FONT", "persist_words"]

#: Column titles of the methods.
METHOD_TITLES = {"saliency": "saliency", "smoothgrad": "SmoothGrad",
                 "input_x_gradient": "input × gradient", "guided_backprop": "guided backprop",
                 "integrated_gradients": "integrated gradients", "deeplift": "DeepLIFT",
                 "occlusion": "occlusion", "grad_cam": "Grad-CAM",
                 "layer_integrated_gradients": "layer int. gradients",
                 "layer_conductance": "layer conductance"}
#: The same titles broken over two lines, for narrow columns.
COLUMN_TITLES = {"saliency": "saliency", "smoothgrad": "SmoothGrad",
                 "input_x_gradient": "input ×\ngradient", "guided_backprop": "guided\nbackprop",
                 "integrated_gradients": "integrated\ngradients", "deeplift": "DeepLIFT",
                 "occlusion": "occlusion", "grad_cam": "Grad-CAM",
                 "layer_integrated_gradients": "layer int.\ngradients",
                 "layer_conductance": "layer\nconductance"}
#: Font size (points): with figures at most 9 in tall, the smallest text is >= 20 px once the
#: figure is fitted to a 1920x1080 slide (12 / 72 * 1080 / 9).
FONT = 12
#: What each name of ``vizkit.analysis.attributions.PERSISTS`` is called on a figure.
_PERSIST_WORDS = {"sign": "sign", "reversed sign": "reversed sign", "magnitude": "magnitude",
                  "input ink": "input's ink", "input edges": "input's edges"}


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

    Raises
    ------
    ValueError
        An ``index`` outside the batch.

    Notes
    -----
    Multi-channel maps are summed over channels. A layer map ``[C, h, w]`` of another size than
    the input is stretched over the input image (each unit covers its share of the image). Each
    map has its own colour scale (its largest absolute value), so a weak example stays visible.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.analysis.attributions import attributions
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    >>> res = attributions(net, torch.rand(2, 1, 4, 4), target=0, methods="saliency")
    >>> ax = plot_attribution(res, 1, normalize=True)
    >>> ax.images[-1].get_clim()
    (0.0, 1.0)
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

    Raises
    ------
    ValueError
        No results, or results that explain different inputs.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.analysis.attributions import attributions
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    >>> res = attributions(net, torch.rand(3, 1, 4, 4), target=1,
    ...                    methods=["saliency", "input_x_gradient"])
    >>> plot_attributions(res, indices=[0, 2], class_names=["a", "b"]).shape
    (2, 3)
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
    _colorbar(column, image, "bottom")


def _colorbar(axes, image, location: str) -> None:
    """One colourbar for ``axes`` (all on ``image``'s scale), the same in every figure: a fading
    overlay (Grad-CAM) shown over black, the inputs' background, ticks at the ends and middle."""
    fig = axes[0].figure
    side = location in ("left", "right")
    cb = fig.colorbar(image, ax=list(axes), location=location, fraction=0.04 if side else 0.05,
                      pad=0.02, aspect=10 if side else 8)
    if image.cmap(1.0)[3] < 1.0:
        cb.ax.set_facecolor("black")
    lo, hi = image.get_clim()
    cb.set_ticks([lo, 0.0, hi] if lo < 0 else [0.0, 0.5, 1.0])
    cb.ax.tick_params(labelsize=FONT)
    if not side:
        cb.set_label("÷ max |map|", fontsize=FONT)


def persist_words(tags, *, short: bool = False) -> str:
    """Short words for what survives randomization (names of
    ``vizkit.analysis.attributions.PERSISTS``), as the figures print them.

    Parameters
    ----------
    tags : sequence of str
    short : bool, default=False
        ``'ink'``, ``'edges'`` for the input's ink and edges (narrow row labels).

    Returns
    -------
    str

    Examples
    --------
    >>> persist_words(()), persist_words(("magnitude", "input ink"))
    ('passes: nothing persists', "fails: keeps magnitude; follows input's ink")
    >>> persist_words(("input ink", "input edges"), short=True)
    'fails: follows ink, edges'
    """
    if not tags:
        return "passes: nothing persists"
    keeps = [_PERSIST_WORDS.get(t, t) for t in tags if not t.startswith("input")]
    follows = [_PERSIST_WORDS.get(t, t) for t in tags if t.startswith("input")]
    follows = [w.replace("input's ", "") for w in follows]
    if follows and not short:
        follows[0] = "input's " + follows[0]
    parts = ([f"keeps {', '.join(keeps)}"] if keeps else []) + (
        [f"follows {', '.join(follows)}"] if follows else [])
    return "fails: " + "; ".join(parts)


def plot_randomization(check, index: int = 0, *, axes=None, methods: Sequence[str] | None = None):
    """The sanity check's maps for example ``index``: one row per method, the trained model's map
    first, then the map after each step of the cascade (layers re-initialized from the top).

    The row label says what survives full randomization (:func:`persist_words`); under each
    re-initialized map, its Spearman correlations with the trained map: signed (for signed
    methods), of the absolute maps, and of the absolute maps on the input's ink only.

    Parameters
    ----------
    check : vizkit.analysis.attributions.RandomizationCheck
    index : int, default=0
    axes : ndarray of Axes of shape (len(methods), 2 + len(layers)), default=None
        The first column shows the input image.
    methods : sequence of str, default=None
        The rows (methods of ``check``); all when None.

    Returns
    -------
    ndarray of Axes

    Raises
    ------
    ValueError
        A method that ``check`` does not hold.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.analysis.attributions import randomization_check
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> chk = randomization_check(net, torch.rand(2, 1, 4, 4), target=0, methods="saliency")
    >>> plot_randomization(chk).shape
    (1, 4)
    """
    import matplotlib.pyplot as plt

    names = list(check.methods if methods is None else methods)
    unknown = [m for m in names if m not in check.methods]
    if unknown:
        raise ValueError(f"`methods` must be among the check's {list(check.methods)}. Got "
                         f"{unknown} instead.")
    rows, cols = len(names), 2 + len(check.layers)
    if axes is None:
        _, axes = plt.subplots(rows, cols, figsize=(1.5 * cols + 1.5, 1.9 * rows + 0.5),
                               squeeze=False, layout="constrained")
    axes = np.asarray(axes, dtype=object).reshape(rows, cols)
    persists = check.persists()
    for r, m in enumerate(names):
        i = check.methods.index(m)
        _draw_input(axes[r, 0], check.inputs[index])
        words = textwrap.fill(persist_words(persists[m], short=True), 17)
        axes[r, 0].set_ylabel(f"{METHOD_TITLES.get(m, m)}\n{words}", fontsize=FONT,
                              color="#b2182b" if persists[m] else "k")
        for k in range(1 + len(check.layers)):
            res = replace(check.trained[m], maps=check.maps[m][k], delta=None)
            plot_attribution(res, index, ax=axes[r, k + 1], normalize=True)
            if k:
                lab = (f"ρ |map| {check.spearman_abs[i, k - 1, index]:.2f}\n"
                       f"on ink {check.spearman_abs_ink[i, k - 1, index]:.2f}")
                if check.signed[i]:
                    lab = f"ρ signed {check.spearman_signed[i, k - 1, index]:.2f}\n" + lab
                axes[r, k + 1].set_xlabel(lab, fontsize=FONT)
        _colorbar(axes[r, 1:], axes[r, -1].images[-1], "right")
    axes[0, 0].set_title("input", fontsize=FONT)
    axes[0, 1].set_title("trained", fontsize=FONT)
    for k, name in enumerate(getattr(check, "labels", check.layers)):
        axes[0, k + 2].set_title(f"+ {name}", fontsize=FONT)
    return axes


#: The measures :func:`plot_rank_correlation` draws: attribute of the check, legend, style.
_CURVES = (("spearman_signed", "ρ signed maps", dict(color="#1b7837", marker="o")),
           ("spearman_abs", "ρ |maps|, whole image", dict(color="#762a83", marker="s")),
           ("spearman_abs_ink", "ρ |maps|, ink pixels", dict(color="#e08214", marker="D")),
           ("null_abs_ink", "null |ink × noise|, ink pixels",
            dict(color="#e08214", ls=(0, (4, 2)), lw=1.5)),
           ("input_ink", "ρ |map| with input's ink", dict(color="0.35", ls=":", marker="^")),
           ("input_edges", "ρ |map| with input's edges", dict(color="0.35", ls="--", marker="v")))


def plot_rank_correlation(check, *, axes=None):
    """The sanity check's measures across the cascade: one panel per method (small multiples).

    In each panel, against the steps of the cascade (trained first): the mean over the examples
    of the Spearman correlation of the signed maps (signed methods only) and of the absolute maps
    with the trained model's, over the whole image and on the input's ink pixels only, the null
    for the latter (the trained map against ``|ink * noise|``, dashed, level), and the control,
    the absolute maps' Spearman correlation with the input's ink and edges (for the trained model
    too). Thin grey lines, not in the legend: the check's ``threshold`` (solid) and
    ``input_threshold`` (dotted). The panel's title says what persists (:func:`persist_words`).

    Parameters
    ----------
    check : vizkit.analysis.attributions.RandomizationCheck
    axes : sequence of Axes of length len(methods), default=None
        A new figure (one row of panels) when None.

    Returns
    -------
    ndarray of Axes

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.analysis.attributions import randomization_check
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> chk = randomization_check(net, torch.rand(2, 1, 4, 4), target=0,
    ...                           methods=["saliency", "input_x_gradient"])
    >>> [len(ax.get_lines()) for ax in plot_rank_correlation(chk)]
    [7, 8]
    """
    import matplotlib.pyplot as plt

    n = len(check.methods)
    if axes is None:
        _, axes = plt.subplots(1, n, figsize=(3.4 * n, 4), squeeze=False, sharey=True,
                               layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    steps = np.arange(len(check.layers) + 1)
    labels = ["trained"] + [f"+{n}" for n in getattr(check, "labels", check.layers)]
    persists = check.persists()
    for r, (m, ax) in enumerate(zip(check.methods, axes)):
        for attr, label, style in _CURVES:
            if attr == "spearman_signed" and not check.signed[r]:
                continue  # an unsigned map: the same as the absolute one
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                v = np.nanmean(getattr(check, attr)[r], -1)
            if attr.startswith("null"):  # one number: the trained map against the noise
                ax.plot(steps, np.full(len(steps), float(v)), label=label, **style)
                continue
            x = steps if len(v) == len(steps) else steps[1:]
            if len(v) < len(steps):  # a map compared with itself: 1 for the trained model
                v, x = np.concatenate([[1.0], v]), steps
            ax.plot(x, v, label=label, lw=2, ms=6, **style)
        ax.axhline(check.threshold, color="0.6", lw=1.0, zorder=0)
        ax.axhline(check.input_threshold, color="0.6", lw=1.0, ls=(0, (1, 2)), zorder=0)
        ax.set_title(f"{METHOD_TITLES.get(m, m)}\n" + textwrap.fill(persist_words(persists[m]),
                                                                    30),
                     fontsize=FONT, color="#b2182b" if persists[m] else "k")
        ax.set_xticks(steps, labels, fontsize=FONT, rotation=40, ha="right",
                      rotation_mode="anchor")
        ax.tick_params(axis="y", labelsize=FONT)
        low = min([float(np.nanmin(line.get_ydata())) for line in ax.get_lines()
                   if np.isfinite(line.get_ydata()).any()] + [-0.25])
        ax.set_ylim(low - 0.1, 1.05)
        ax.grid(alpha=0.3)
    if not axes[0].get_ylabel():
        axes[0].set_ylabel("mean over the images", fontsize=FONT)
    return axes
