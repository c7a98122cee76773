"""Plot activation-maximization images in a grid, titled with the target and the activation."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from torch import nn

from .figure import Figure, NotApplicable
from .weights import _axes_for

__all__ = ["plot_actmax", "figures", "SETTINGS", "CONV_SETTINGS"]

#: The optimization settings of the gallery figures (class logits).
SETTINGS = dict(n_steps=256, lr=0.05, tv=0.02, l2=0.005, jitter=1, blur_every=8, blur_sigma=0.5)
#: Hidden conv channels: their means are small numbers, so the penalties are lighter.
CONV_SETTINGS = dict(SETTINGS, tv=0.002, l2=0.0)


def plot_actmax(result, *, axes=None, fig=None, cmap: str = "gray", ncols: int | None = None,
                titles: Sequence[str] | None = None, value_range: tuple | None = None,
                imshow_kw: dict | None = None) -> dict:
    """Show each optimized image with ``'<target>\\nact <value>'`` as its title.

    Parameters
    ----------
    result : vizkit.analysis.actmax.ActMaxResult
    axes : sequence of Axes, optional
    fig : Figure, optional
    cmap : str, default='gray'
        For single-channel images (white = 1 = ink for MNIST's raw [0, 1] pixels).
    ncols : int, optional
        Default: up to 5 per row.
    titles : list of str, optional
    value_range : (float, float), optional
        Colour limits; default the range the optimization kept the pixels in, so images are
        compared on one scale (not each stretched).

    Returns
    -------
    dict
        ``{'fig', 'axes', 'images'}``.
    """
    imgs = result.images.detach().cpu().numpy() if hasattr(result.images, "detach") else \
        np.asarray(result.images)
    if imgs.ndim != 4:
        raise ValueError(f"`result.images` must be [N, C, H, W]. Got shape {imgs.shape} instead.")
    n = imgs.shape[0]
    lo, hi = value_range or result.settings.get("value_range") or (float(imgs.min()),
                                                                   float(imgs.max()))
    fig, axes = _axes_for(n, axes, fig, ncols or min(n, 5))
    acts = np.asarray(result.activations, dtype=float)
    if titles is None:
        titles = [f"{name}\nact {a:.3g}" for name, a in zip(result.names, acts)]
    kw = {"interpolation": "nearest", **(imshow_kw or {})}
    artists = []
    for k, ax in enumerate(axes):
        img = imgs[k]
        if img.shape[0] == 1:
            artists.append(ax.imshow(img[0], cmap=cmap, vmin=lo, vmax=hi, **kw))
        else:  # [C, H, W] -> [H, W, C], scaled to [0, 1] for RGB display
            rgb = np.clip((np.moveaxis(img, 0, -1) - lo) / (hi - lo), 0, 1)
            artists.append(ax.imshow(rgb[..., :3] if rgb.shape[-1] >= 3 else rgb.mean(-1),
                                     cmap=None if rgb.shape[-1] >= 3 else cmap, **kw))
        if k < len(titles) and not ax.get_title():
            ax.set_title(str(titles[k]), fontsize=8)
    return {"fig": fig, "axes": axes, "images": artists}


def _hidden_layer(model: nn.Module) -> tuple[str, int] | None:
    """``(name, n_units)`` of the last Conv2d before the head (or of the batch norm right after
    it: a conv without bias feeding a batch norm is better read after the norm), else the first
    hidden Linear."""
    last_conv, prev = None, None
    for name, m in model.named_modules():
        if isinstance(m, nn.BatchNorm2d) and prev is not None and isinstance(prev[1], nn.Conv2d):
            last_conv = (name, m.num_features)
        elif isinstance(m, nn.Conv2d):
            last_conv = (name, m.out_channels)
        if isinstance(m, (nn.Flatten, nn.Linear)) and last_conv is not None:
            break
        if not any(True for _ in m.children()):
            prev = (name, m)
    if last_conv is not None:
        return last_conv
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if len(linears) >= 2:
        return linears[0][0], linears[0][1].out_features
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``actmax``: the inputs that most excite each class (and some hidden units).

    One batched run of :func:`vizkit.analysis.actmax.activation_maximization` per figure: every
    class logit at once, then up to 10 units/channels of a hidden layer (the last conv layer of a
    CNN, the first hidden layer of an MLP). Pixels stay in the raw [0, 1] range the models are
    fed; mild total variation, jitter and blur keep the images from turning into high-frequency
    noise. ``data``: ``images``, ``activations`` and ``names`` of the optimized targets.

    Raises
    ------
    NotApplicable
        Non-image inputs, or not a torch model.
    """
    from ..analysis.actmax import activation_maximization

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        raise NotApplicable(f"activation maximization makes images; this data has input shape "
                            f"{shape}, not (C, H, W).")
    if not isinstance(model, nn.Module):
        raise NotApplicable(f"activation maximization needs a torch model; got "
                            f"{type(model).__name__}.")
    x = split.x_train
    lo, hi = float(x.min()), float(x.max())
    # black start images (the MNIST background) when the model normalizes its input inside, so a
    # zero pixel is not a dead point; else a seeded noisy grey start (zero would give a zero
    # gradient through a bias-free conv + ReLU)
    init = "zeros" if type(getattr(model, "norm", None)).__name__ == "Normalize" else "noise"
    common = dict(SETTINGS, input_shape=shape, value_range=(lo, hi), seed=seed, init=init)
    classes = [str(c) for c in split.classes]
    r = activation_maximization(model, list(range(len(classes))), class_names=classes, **common)
    out = plot_actmax(r, ncols=min(len(classes), 5))
    out["fig"].suptitle("Activation maximization: the input each class logit likes most",
                        fontsize=10)
    s = SETTINGS
    how = (f"{s['n_steps']} Adam steps (lr {s['lr']}) on one batch of {len(classes)} images, "
           f"pixels clamped to [{lo:g}, {hi:g}], TV {s['tv']}, L2 {s['l2']}, jitter "
           f"{s['jitter']} px, blur every {s['blur_every']} steps; seed {seed}")
    figs = [Figure("actmax-classes", out["fig"],
                   f"Optimized inputs for each class logit (titles: target and the logit "
                   f"reached). {how}.", data=_actmax_data(r))]
    hidden = _hidden_layer(model)
    if hidden is not None:
        name, n = hidden
        targets = [f"{name}:{k}" for k in range(min(n, 10))]
        conv = isinstance(dict(model.named_modules())[name], (nn.Conv2d, nn.BatchNorm2d))
        hidden_kw = dict(common, **{k: CONV_SETTINGS[k] for k in ("tv", "l2")}) if conv else common
        rh = activation_maximization(model, targets, **hidden_kw)
        out = plot_actmax(rh, ncols=5)
        kind = "channel means" if conv else "units"
        if conv:
            how = how.replace(f"TV {s['tv']}, L2 {s['l2']}",
                              f"TV {CONV_SETTINGS['tv']}, L2 {CONV_SETTINGS['l2']}")
        out["fig"].suptitle(f"Activation maximization of {name} {kind}", fontsize=10)
        figs.append(Figure("actmax-hidden", out["fig"],
                           f"Optimized inputs for {len(targets)} {kind} of {name}. {how}.",
                           data=_actmax_data(rh)))
    return figs


def _actmax_data(r) -> dict[str, np.ndarray]:
    """The optimized ``images``, their final ``activations`` and the target ``names``."""
    return {"images": r.images.detach().cpu().numpy(),
            "activations": r.activations.detach().cpu().numpy(),
            "names": np.asarray([str(n) for n in r.names])}
