"""Draw attribution maps beside the images they explain.

Signed maps (integrated gradients, occlusion) use the diverging colour map on a symmetric scale
(zero is white); the absolute gradient (saliency) a sequential one from zero; Grad-CAM a
semi-transparent heat map over the grey image.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from vizkit.analysis.attributions import attributions
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> res = attributions(model, torch.rand(1, 1, 2, 2), target=0, method="integrated_gradients")
>>> ax = plot_attribution(res, 0)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ._style import diverging_cmap, symmetric_limits
from .figure import Figure, NotApplicable

__all__ = ["plot_attribution", "plot_attributions", "METHOD_TITLES", "figures", "example_indices"]

#: Column titles of the methods.
METHOD_TITLES = {"saliency": "saliency", "integrated_gradients": "integrated gradients",
                 "occlusion": "occlusion", "grad_cam": "Grad-CAM"}


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


def plot_attribution(result, index: int = 0, *, ax=None, cmap=None, alpha: float = 0.5,
                     colorbar: bool = False, imshow_kw: dict | None = None):
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
        saliency, ``'jet'`` for the Grad-CAM overlay.
    alpha : float, default=0.5
        Largest opacity of the Grad-CAM heat map over the image (reached at the map's maximum;
        the opacity is proportional to the map, so zero leaves the image bare).
    colorbar : bool, default=False
    imshow_kw : dict, default=None
        Passed to the map's ``imshow``.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Multi-channel maps are summed over channels. Each map has its own colour scale (the largest
    absolute value of that map), so the pattern of a weak example stays visible.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    n = len(result.maps)
    if not -n <= index < n:
        raise ValueError(f"`index` must be in [0, {n - 1}]. Got {index!r} instead.")
    m = _map2d(result.maps[index])
    kw = dict(imshow_kw or {})
    if result.method == "grad_cam":
        img, icmap = _image(result.inputs[index])
        ax.imshow(img, cmap=icmap, vmin=0, vmax=1 if img.max() <= 1 else None, interpolation="nearest")
        hi = float(m.max()) if m.size and m.max() > 0 else 1.0
        kw.setdefault("interpolation", "nearest")
        # opacity grows with the map, so where Grad-CAM is zero the bare image shows
        im = ax.imshow(m, cmap=cmap or "jet", vmin=0.0, vmax=hi,
                       alpha=alpha * np.clip(m / hi, 0.0, 1.0), **kw)
    elif result.signed:
        lo, hi = symmetric_limits(m)
        kw.setdefault("interpolation", "nearest")
        im = ax.imshow(m, cmap=cmap or diverging_cmap(), vmin=lo, vmax=hi, **kw)
    else:
        hi = float(m.max()) if m.size and m.max() > 0 else 1.0
        kw.setdefault("interpolation", "nearest")
        im = ax.imshow(m, cmap=cmap or "magma", vmin=0.0, vmax=hi, **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def plot_attributions(results: Sequence | Mapping, *, indices: Sequence[int] | None = None,
                      axes=None, class_names: Sequence[str] | None = None,
                      predictions: Sequence[int] | None = None, alpha: float = 0.5):
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
        fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows + 0.3), squeeze=False)
    axes = np.asarray(axes, dtype=object).reshape(rows, cols)
    for r, i in enumerate(idx):
        img, icmap = _image(first.inputs[i])
        ax = axes[r, 0]
        ax.imshow(img, cmap=icmap, vmin=0, vmax=1 if img.max() <= 1 else None, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        t = int(first.targets[i])
        label = f"target: {class_names[t] if class_names is not None else t}"
        if predictions is not None:
            p = int(predictions[i])
            label += f"\npred: {class_names[p] if class_names is not None else p}"
        ax.set_ylabel(label, fontsize=9)
        for c, result in enumerate(res, start=1):
            plot_attribution(result, i, ax=axes[r, c], alpha=alpha)
    axes[0, 0].set_title("input", fontsize=10)
    for c, result in enumerate(res, start=1):
        axes[0, c].set_title(METHOD_TITLES.get(result.method, result.method), fontsize=10)
    return axes


_N_EXAMPLES = 5


def example_indices(y, n: int = _N_EXAMPLES) -> list[int]:
    """The index of the first test example of each of the first ``n`` classes present (fixed, so
    the same images appear in every run and for every model)."""
    seen: dict[int, int] = {}
    for i, c in enumerate(y.tolist()):
        if c not in seen:
            seen[c] = i
    return [seen[c] for c in sorted(seen)[:n]]


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``attributions``: saliency, integrated gradients, occlusion (and Grad-CAM for
    CNNs) for the first test example of each of 5 classes, each map beside its image.

    ``data``: ``inputs``, ``targets``, ``predictions``, ``class_names`` and one ``maps_<method>``
    array per method.

    Raises
    ------
    NotApplicable
        Not a torch model, or inputs that are not [C, H, W] images.
    """
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    from ..analysis.attributions import attributions, last_conv_layer

    if not isinstance(model, nn.Module):
        raise NotApplicable(f"attributions need a differentiable torch model; "
                            f"{type(model).__name__} is not an nn.Module.")
    if len(split.input_shape) != 3:
        raise NotApplicable(f"attributions are drawn as images and need [C, H, W] inputs; "
                            f"{split.name!r} has input shape {tuple(split.input_shape)}.")
    idx = example_indices(split.y_test)
    x, y = split.x_test[idx], split.y_test[idx]
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    methods = ["saliency", "integrated_gradients", "occlusion"] + (["grad_cam"] if has_conv else [])
    cam_layer = last_conv_layer(model, rectified=True) if has_conv else None
    results = [attributions(model, x, target=y, method=m, n_steps=64, layer=cam_layer)
               for m in methods]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            dev = next((p.device for p in model.parameters()), torch.device("cpu"))
            pred = model(x.to(dev)).argmax(1).cpu().tolist()
    finally:
        model.train(was_training)

    classes = list(split.classes)
    rows, cols = len(idx), 1 + len(methods)
    fig, axes = plt.subplots(rows, cols, figsize=(1.75 * cols + 0.3, 1.75 * rows + 0.6),
                             squeeze=False, layout="constrained")
    plot_attributions(results, axes=axes, class_names=classes, predictions=pred)
    ig = results[1]
    rel = (ig.delta.abs() / ig.maps.flatten(1).sum(1).abs().clamp_min(1e-8)).max().item()
    fig.suptitle("what each method says the model looks at (explaining the true class)", fontsize=10)
    extra = (f" Grad-CAM on {results[-1].layer!r} (the rectified output of the last conv block), "
             "upsampled, as a heat map over the image (transparent where zero)." if has_conv
             else " (No Grad-CAM: the model has no conv layer.)")
    caption = (
        "The first test image of each of five classes, then the attribution of the true class's "
        "logit to every pixel. Saliency: |d logit / d pixel| (bright = sensitive). Integrated "
        "gradients (64 steps from a black image; completeness error at most "
        f"{rel:.1%}) and occlusion (4x4 black patches, stride 2): red pixels raise the "
        "logit, blue ones lower it, each map on its own symmetric scale." + extra +
        " On MNIST look for strokes (and gaps that would make another digit) rather than "
        "background noise.")
    data = {"inputs": x.detach().cpu().numpy(), "targets": y.detach().cpu().numpy(),
            "predictions": np.asarray(pred), "class_names": np.asarray([str(c) for c in classes])}
    for m, r in zip(methods, results):
        data[f"maps_{m}"] = r.maps.detach().cpu().numpy()
    return [Figure(id="attributions", fig=fig, caption=caption, data=data)]
