"""Figure family ``attributions``: attribution maps beside the images they explain, and the
model-randomization sanity check drawn beside them.

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
from .figure import Figure, NotApplicable

__all__ = ["plot_attribution", "plot_attributions", "plot_randomization", "plot_rank_correlation",
           "figures", "example_indices", "METHOD_TITLES", "GROUPS"]

#: Column titles of the methods.
METHOD_TITLES = {"saliency": "saliency", "smoothgrad": "SmoothGrad",
                 "input_x_gradient": "input × gradient", "guided_backprop": "guided backprop",
                 "integrated_gradients": "integrated gradients", "deeplift": "DeepLIFT",
                 "occlusion": "occlusion", "grad_cam": "Grad-CAM",
                 "layer_integrated_gradients": "layer int. gradients",
                 "layer_conductance": "layer conductance"}
#: The figures of the family: name -> methods drawn together (the layer group needs a conv layer).
GROUPS = {"gradients": ("saliency", "smoothgrad", "guided_backprop", "input_x_gradient"),
          "references": ("integrated_gradients", "deeplift", "occlusion"),
          "layers": ("grad_cam", "layer_integrated_gradients", "layer_conductance")}
_FONT = 10  # points; figures stay under 11.4 in wide, so text shows at >= 9 pt on a 1140 px page
_N_EXAMPLES = 5


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
            axes[r, 0].set_ylabel(label, fontsize=_FONT)
        for c, result in enumerate(res, start=1):
            plot_attribution(result, i, ax=axes[r, c], alpha=alpha, normalize=colorbar)
    if not axes[0, 0].get_title():
        axes[0, 0].set_title("input", fontsize=_FONT)
    for c, result in enumerate(res, start=1):
        if not axes[0, c].get_title():
            axes[0, c].set_title(METHOD_TITLES.get(result.method, result.method), fontsize=_FONT)
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
    cb.ax.tick_params(labelsize=_FONT)
    cb.set_label("÷ max |map|", fontsize=_FONT)


def _row_colorbar(row, image) -> None:
    cb = row[0].figure.colorbar(image, ax=list(row), location="right", fraction=0.03, pad=0.02,
                                aspect=10)
    lo, hi = image.get_clim()
    cb.set_ticks([lo, 0.0, hi] if lo < 0 else [0.0, 0.5, 1.0])
    cb.ax.tick_params(labelsize=_FONT)


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
        axes[r, 0].set_ylabel(label, fontsize=_FONT, color="#b2182b" if m in unchanged else "k")
        for k in range(1 + len(check.layers)):
            res = replace(check.trained[m], maps=check.maps[m][k], delta=None)
            plot_attribution(res, index, ax=axes[r, k + 1], normalize=True)
            if k == len(check.layers):
                _row_colorbar(axes[r, 1:], axes[r, -1].images[-1])
            if k:
                axes[r, k + 1].set_xlabel(
                    f"ρ = {check.correlations[r, k - 1, index]:.2f}\n"
                    f"whole {check.whole_correlations[r, k - 1, index]:.2f}", fontsize=_FONT)
    axes[0, 0].set_title("input", fontsize=_FONT)
    axes[0, 1].set_title("trained", fontsize=_FONT)
    for k, name in enumerate(check.layers):
        axes[0, k + 2].set_title(f"+ {name}", fontsize=_FONT)
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
    ax.set_xticks(steps, ["trained"] + [f"+ {n}" for n in check.layers], fontsize=_FONT,
                  rotation=20, ha="right")
    ax.tick_params(axis="y", labelsize=_FONT)
    vals = np.concatenate([check.correlations.ravel(), check.whole_correlations.ravel()])
    low = float(np.nanmin(vals)) if np.isfinite(vals).any() else 0.0
    ax.set_ylim(min(-0.1, low - 0.05), 1.05)
    if not ax.get_ylabel():
        ax.set_ylabel("rank correlation of |map|\nwith trained, where\neither is non-zero",
                      fontsize=_FONT)
    if not ax.get_xlabel():
        ax.set_xlabel("layers re-initialized, from the top (cumulative)", fontsize=_FONT)
    ax.legend(fontsize=_FONT, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return ax


def example_indices(y, n: int = _N_EXAMPLES) -> list[int]:
    """The index of the first test example of each of the first ``n`` classes present (fixed, so
    the same images appear in every run and for every model)."""
    seen: dict[int, int] = {}
    for i, c in enumerate(y.tolist()):
        if c not in seen:
            seen[c] = i
    return [seen[c] for c in sorted(seen)[:n]]


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``attributions``: for the first test example of each of 5 classes, each group
    of methods (:data:`GROUPS`; the layer group for models with a conv layer) beside the images,
    then the same maps for the model re-initialized layer by layer from the top, with the rank
    correlations (the sanity check of Adebayo et al., 2018).

    Per group two figures: ``attributions-<group>`` (``data``: ``inputs``, ``targets``,
    ``predictions``, ``class_names``, ``maps_<method>``, ``delta_<method>``) and
    ``attributions-<group>-randomized`` (``data``: ``maps_<method>`` of shape
    ``(1 + n_layers, N, ...)``, ``correlations``, ``methods``, ``layers``, ``threshold``,
    ``unchanged``, ``inputs``, ``targets``).

    Raises
    ------
    NotApplicable
        Not a torch model, or inputs that are not [C, H, W] images.
    """
    import torch
    from torch import nn

    from .._torch import frozen_eval, model_device
    from ..analysis.attributions import attribution_layer, randomization_check

    if not isinstance(model, nn.Module):
        raise NotApplicable(f"attributions need a differentiable torch model; "
                            f"{type(model).__name__} is not an nn.Module.")
    if len(split.input_shape) != 3:
        raise NotApplicable(f"attributions are drawn as images and need [C, H, W] inputs; "
                            f"{split.name!r} has input shape {tuple(split.input_shape)}.")
    idx = example_indices(split.y_test)
    x, y = split.x_test[idx], split.y_test[idx]
    layer = attribution_layer(model)
    with frozen_eval(model), torch.no_grad():
        pred = model(x.to(model_device(model))).argmax(1).cpu().numpy()
    classes = [str(c) for c in split.classes]
    out = []
    for group, methods in GROUPS.items():
        if group == "layers" and layer is None:
            continue
        check = randomization_check(model, x, target=y, methods=methods, layer=layer, n_steps=64,
                                    seed=seed)
        out.append(_group_figure(group, check, classes, pred))
        out.append(_randomized_figure(group, check, classes))
    return out


def _group_figure(group, check, classes, pred) -> Figure:
    import matplotlib.pyplot as plt

    res = check.trained
    rows, cols = len(check.targets), 1 + len(res)
    fig, axes = plt.subplots(rows, cols, figsize=(1.75 * cols + 0.4, 1.75 * rows + 0.9),
                             squeeze=False, layout="constrained")
    plot_attributions(res, axes=axes, class_names=classes, predictions=pred)
    fig.suptitle(f"{', '.join(METHOD_TITLES[m] for m in res)}: which pixels each method credits "
                 "for the true class", fontsize=_FONT)
    data = {"inputs": check.inputs.numpy(), "targets": check.targets.numpy(),
            "predictions": np.asarray(pred), "class_names": np.asarray(classes)}
    for m, r in res.items():
        data[f"maps_{m}"] = r.maps.numpy()
        if r.delta is not None:
            data[f"delta_{m}"] = r.delta.numpy()
    return Figure(id=f"attributions-{group}", fig=fig, caption=_group_caption(check, classes),
                  data=data)


def _group_caption(check, classes) -> str:
    names = [classes[int(t)] for t in check.targets]
    parts = [f"Test images of classes {', '.join(names)} (white on black), then each method's "
             "attribution of the true class's logit, every map divided by its own largest "
             "absolute value (colourbars: red raises the logit, blue lowers it; unsigned maps "
             "dark to bright)."]
    for m, r in check.trained.items():
        s, title = r.settings, METHOD_TITLES[m]
        if m == "smoothgrad":
            parts.append(f"{title}: |gradient| averaged over {s['n_samples']} copies with "
                         f"Gaussian noise of s.d. {s['noise']:.2f} (seed {s['seed']}).")
        if m == "occlusion":
            parts.append(f"{title}: {'x'.join(map(str, s['window'][1:]))} patches set to "
                         f"{s['baseline']:g}, stride {s['stride'][1]}.")
        if m == "grad_cam" or (r.layer is not None and m != "grad_cam"):
            parts.append(f"{title} on layer {r.layer!r}, stretched over the image.")
        if r.delta is not None:
            total = r.maps.flatten(1).sum(1)
            rel = float((r.delta.abs() / (total - r.delta).abs().clamp_min(1e-8)).max())
            steps = f"{s['n_steps']} steps, " if "n_steps" in s else ""
            parts.append(f"{title} ({steps}baseline {s['baseline']:g}): the map sums to "
                         f"f(x) - f(baseline) within {rel:.1%}.")
    return " ".join(parts)


def _randomized_figure(group, check, classes) -> Figure:
    import matplotlib.pyplot as plt

    rows, cols = len(check.methods), 2 + len(check.layers)
    fig = plt.figure(figsize=(max(1.5 * cols, 6.5), 1.5 * rows + 3.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.5 * rows + 0.4, 3.2])
    plot_randomization(check, 0, axes=top.subplots(rows, cols, squeeze=False))
    plot_rank_correlation(check, ax=bottom.subplots())
    data = {"correlations": check.correlations,
            "whole_correlations": check.whole_correlations, "methods": np.asarray(check.methods),
            "layers": np.asarray(check.layers), "threshold": np.asarray(check.threshold),
            "unchanged": np.asarray(check.unchanged, dtype=str), "inputs": check.inputs.numpy(),
            "targets": check.targets.numpy(), "seed": np.asarray(check.seed)}
    for m in check.methods:
        data[f"maps_{m}"] = check.maps[m].numpy()
    return Figure(id=f"attributions-{group}-randomized", fig=fig,
                  caption=_randomized_caption(check, classes), data=data)


def _randomized_caption(check, classes) -> str:
    final = ", ".join(f"{METHOD_TITLES[m]} {c:.2f} (whole map {w:.2f})"
                      for m, c, w in zip(check.methods, check.final, check.final_whole))
    un = check.unchanged
    verdict = (f"Maps that barely change (mean ρ ≥ {check.threshold:g} with every layer "
               f"re-initialized): {', '.join(METHOD_TITLES[m] for m in un)}; such a map cannot be "
               "showing what the model learned." if un else
               f"Every method's maps change (mean ρ < {check.threshold:g} once every layer is "
               "re-initialized).")
    return (f"Sanity check (Adebayo et al., 2018): the maps of the first image (class "
            f"{classes[int(check.targets[0])]}) for the trained model, then with its layers "
            f"re-initialized one by one from the top ({', '.join(check.layers)}; seed "
            f"{check.seed}). ρ: Spearman rank correlation of the absolute map with the trained "
            "model's over the elements where either map is non-zero (elements zero in both, "
            "such as the black background under input x gradient or ReLU units that stay off, "
            "would tie and hold a whole-map ρ up); 'whole': the same over the whole map, "
            f"{_zero_share(check)}. Below: mean over the {len(check.targets)} images (band: their "
            f"range; dotted: whole map). Mean ρ with every layer re-initialized: {final}. "
            + verdict)


def _zero_share(check) -> str:
    shares = ", ".join(f"{METHOD_TITLES[m]} {z:.0%}" for m, z in zip(check.methods,
                                                                      check.shared_zeros))
    return f"with these shares of elements zero in both maps at the last step: {shares}"
