"""Figure family ``feature-maps``: a CNN's first-layer filters as images, and for each conv layer
(up to four) its feature maps for two test images of different classes.

The filters and maps come from :mod:`vizkit.analysis.feature_maps`, drawn by
:mod:`vizkit.plot.feature_maps`.
"""

from __future__ import annotations

import math

import numpy as np

from ..plot.feature_maps import FONT, MAX_CHANNELS, PANEL, plot_feature_maps, plot_filters
from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "feature-maps"


def applies(model, split) -> str | None:
    """Whether the ``feature-maps`` family fits: ``None`` if so, else the reason in words.

    It fits a torch model with at least one ``nn.Conv2d`` layer, on image data: only a
    convolution has small filters to draw and a map per channel over the image.

    Parameters
    ----------
    model : nn.Module or estimator
        The model (only its layers are read here).
    split : vizkit.data.Split
        Its data; ``split.input_shape`` must be ``(C, H, W)``.

    Returns
    -------
    str or None
        ``None`` when the family fits, else why not (a model without conv layers gets its
        layer names listed).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.data import Split, fingerprint
    >>> x, y = torch.rand(4, 1, 8, 8), torch.arange(4) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 8, 8), fingerprint(x, y))
    >>> applies(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), split) is None
    True
    >>> applies(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), split)
    "Sequential has no Conv2d layer, so it has no filters or feature maps to show; its layers are: '0', '1' ..."
    """
    from torch import nn

    from ..analysis.feature_maps import NoConvLayers, conv_layers

    if not isinstance(model, nn.Module):
        return f"feature-maps needs a torch model with conv layers. Got {type(model).__name__} instead."
    try:
        conv_layers(model)
    except NoConvLayers as e:
        return str(e)
    if len(tuple(split.input_shape)) != 3:
        return (f"feature-maps needs image data (C, H, W); this data has input shape "
                f"{tuple(split.input_shape)}.")
    return None


_N_INPUTS = 2  # test images shown
_MAX_LAYERS = 4  # conv layers shown


def _pick_inputs(split, n: int, seed: int) -> np.ndarray:
    """``n`` test indices of different classes where possible, chosen by ``seed``."""
    y = np.asarray(split.y_test)
    order = np.random.default_rng(seed).permutation(len(y))
    picked, seen = [], set()
    for i in order:
        if int(y[i]) not in seen:
            picked.append(int(i))
            seen.add(int(y[i]))
        if len(picked) == n:
            break
    return np.asarray(picked or order[:n].tolist(), dtype=np.int64)


def _next_module(model, layer: str) -> str:
    """The type of the module run after ``layer`` in its parent Sequential ('' if unknown)."""
    from torch import nn

    parent, _, last = layer.rpartition(".")
    mod = dict(model.named_modules()).get(parent) if parent else model
    if isinstance(mod, nn.Sequential) and last.isdigit() and int(last) + 1 < len(mod):
        return type(mod[int(last) + 1]).__name__
    return ""


def _filters_figure(model, filt) -> Figure:
    from ..analysis.feature_maps import conv_label

    out = plot_filters(filt)
    c_out, c_in, kh, kw = filt.filters.shape
    pos = float((filt.filters > 0).mean())
    label = conv_label(model, filt.layer)
    out["fig"].suptitle(f"{label}: its {c_out} filters of {kh}x{kw} weights", fontsize=FONT + 1)
    looks = ("each looks straight at the input pixels" if c_in in (1, 3)
             else f"each drawn as its mean over {c_in} input channels")
    caption = (f"What the first conv layer multiplies each {kh}x{kw} patch by: the {c_out} filters "
               f"({c_in} input channel{'s' * (c_in > 1)}) of {type(model).__name__}'s {label}; "
               f"{looks}. One symmetric "
               f"scale for all (|w| up to {filt.vmax:.3g}): red weights add the pixel, blue ones "
               f"subtract it, white is zero; {pos:.0%} of the weights are positive.")
    return Figure("feature-maps-filters", out["fig"], caption,
                  data={"filters": filt.filters, "layer": np.array(filt.layer),
                        "layer_label": np.array(label)})


def _input_standardization(model, layer: str):
    """``(mean, std, conv)`` when the model standardizes its raw input (a vizkit ``Normalize``)
    before ``layer`` and ``layer`` is the first conv it meets, else None: then a blank (0) pixel
    reaches the conv as ``-mean / std``, not 0."""
    from torch import nn

    from ..models._base import Normalize

    norm = None
    for name, mod in model.named_modules():
        if isinstance(mod, Normalize):
            norm = mod
        elif isinstance(mod, nn.Conv2d):
            if name == layer and norm is not None:
                return float(norm.mean), float(norm.std), mod
            return None
    return None


def _blank_response(conv, value: float) -> np.ndarray:
    """Each channel's output on a constant input ``value`` away from the border: ``value`` times
    the sum of its weights plus its bias (the tint of a blank background)."""
    import torch

    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0])
    return (value * w.sum(dim=(1, 2, 3)) + b).numpy()


def _maps_figure(model, res, class_names: list[str]) -> Figure:
    import matplotlib.pyplot as plt

    from ..analysis.feature_maps import conv_label

    n, c, h, w = res.maps.shape
    shown = min(c, MAX_CHANNELS)
    label = conv_label(model, res.layer)
    # two rows of maps per input at most: a landscape figure whose text stays >= 20 px on a slide
    ncols = min(shown, max(8, math.ceil(shown / 2)))
    nrows = math.ceil(shown / ncols)
    fig = plt.figure(figsize=(PANEL * (ncols + 1.6) + 1.4, n * (PANEL * nrows + 0.9)),
                     layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(n, 1))
    for i, sub in enumerate(subfigs):
        out = plot_feature_maps(res, i, fig=sub, ncols=ncols, layer_label=label)
        out["colorbar"].set_label("output value", fontsize=FONT)  # the layer is in the title
        cls = int(res.labels[i])
        out["input_ax"].set_title(f"input: {class_names[cls] if cls < len(class_names) else cls}",
                                  fontsize=FONT)
    nxt = _next_module(model, res.layer)
    which = f"all {c} channels" if shown == c else f"the first {shown} of its {c} channels"
    fig.suptitle(f"{label}: {which} ({h}x{w}) per input", fontsize=FONT + 1)
    after = f" (what the next layer, {nxt}, receives)" if nxt else ""
    pos = float((res.maps[:, :shown] > 0).mean())
    dead = int(((res.maps[:, :shown] <= 0).reshape(n, shown, -1).all(-1)).sum())
    relu = (f"; {dead} of the {n * shown} maps have no positive value, so the ReLU after "
            "them passes nothing" if nxt == "ReLU" else "")
    names = ", ".join(class_names[int(k)] if int(k) < len(class_names) else str(int(k))
                      for k in res.labels)
    caption = (f"What {label} computes for each input: one map per channel. The output of "
               f"{type(model).__name__}'s conv layer {label}{after} for {n} test "
               f"images (classes {names}, white on black): {which}, {h}x{w} each, numbered; each "
               f"input's maps share one symmetric scale (its colourbar: red positive, blue "
               f"negative, white zero). {pos:.0%} of the values are positive{relu}.")
    extra = {}
    std = _input_standardization(model, res.layer)
    if std is not None:
        mean, sd, conv = std
        blank = -mean / sd
        extra["blank_response"] = _blank_response(conv, blank)[:shown]
        caption += (f" The background is tinted, not white, because the model standardizes its "
                    f"input first ((x - {mean:.4g}) / {sd:.4g}): a black pixel enters {label} as "
                    f"{blank:.2f}, and each channel's tint is its response to that constant "
                    "(the sum of its weights times it, plus its bias).")
    return Figure(f"feature-maps-{res.layer.replace('.', '-')}", fig, caption,
                  data={**extra, "maps": res.maps[:, :shown], "inputs": res.inputs,
                        "layer": np.array(res.layer), "layer_label": np.array(label),
                        "labels": res.labels,
                        "channels": np.arange(shown)})


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The first conv layer's filters, and the feature maps of up to four conv layers.

    The filters show what patterns the first layer looks for; the feature maps show where in
    two test images (of different classes where possible) each channel found its pattern, layer
    by layer. The captions' shares (positive weights, positive values, maps a following ReLU
    zeroes entirely) are counted from the arrays stored with the figure.

    Parameters
    ----------
    model : nn.Module
        A trained torch model with ``nn.Conv2d`` layers (see :func:`applies`).
    split : vizkit.data.Split
        Its data: two test images are drawn, and the class names label them.
    meta : dict, optional
        The checkpoint's metadata (not used by this family).
    seed : int, default=0
        Seed of the choice of the two test images.

    Returns
    -------
    list of Figure
        ``feature-maps-filters`` (``data``: ``filters`` [C_out, C_in, kH, kW], ``layer``,
        ``layer_label``) and one ``feature-maps-<layer>`` per conv layer, the first four
        (``data``: ``maps`` [2, C, H', W'] of at most 32 channels, ``inputs`` [2, C_in, H, W],
        ``layer``, ``layer_label``, ``labels``, ``channels``).

    Raises
    ------
    NotApplicable
        The model has no Conv2d layer (its layers are named), or the data are not images.

    Examples
    --------
    An untrained two-layer CNN on 8x8 images: three figures, and the caption's share of
    positive values is the stored maps' share.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.data import Split, fingerprint
    >>> x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(8) % 2
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 8, 8), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 3, 3), nn.Flatten(),
    ...                     nn.Linear(48, 2))
    >>> figs = figures(net, split)
    >>> [f.id for f in figs], figs[1].data["maps"].shape
    (['feature-maps-filters', 'feature-maps-0', 'feature-maps-2'], (2, 2, 6, 6))
    >>> share = (figs[1].data["maps"] > 0).mean()
    >>> f"{share:.0%} of the values are positive" in figs[1].caption
    True
    >>> plt.close("all")
    """
    import torch

    from ..analysis.feature_maps import conv_filters, conv_layers, feature_maps

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    layers = conv_layers(model)
    idx = _pick_inputs(split, _N_INPUTS, seed)
    x, y = split.x_test[torch.as_tensor(idx)], split.y_test[torch.as_tensor(idx)]
    names = [str(c) for c in getattr(split, "classes", []) or []]
    figs = [_filters_figure(model, conv_filters(model))]
    for layer in layers[:_MAX_LAYERS]:
        figs.append(_maps_figure(model, feature_maps(model, x, layer, labels=y), names))
    return figs
