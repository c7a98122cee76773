"""Figure family ``actmax``: the inputs that most excite each class (and some hidden units).

One batched run of :func:`vizkit.analysis.actmax.activation_maximization` per figure: every
class logit at once, then up to 10 units/channels of a hidden layer (the last conv layer of a CNN,
the first hidden layer of an MLP). Pixels stay in the raw [0, 1] range the models are fed; mild
total variation, jitter and blur keep the images from turning into high-frequency noise.
Not applicable to non-image inputs.
"""

from __future__ import annotations

from torch import nn

from . import Figure, NotApplicable

__all__ = ["make", "SETTINGS", "CONV_SETTINGS"]

#: The optimization settings of the gallery figures (class logits).
SETTINGS = dict(n_steps=256, lr=0.05, tv=0.02, l2=0.005, jitter=1, blur_every=8, blur_sigma=0.5)
#: Hidden conv channels: their means are small numbers, so the penalties are lighter.
CONV_SETTINGS = dict(SETTINGS, tv=0.002, l2=0.0)


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


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Class images (all classes in one batched run) and hidden-unit images."""
    from ..analysis.actmax import activation_maximization
    from ..plot.actmax import plot_actmax

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
                   f"reached). {how}.")]
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
                           f"Optimized inputs for {len(targets)} {kind} of {name}. {how}."))
    return figs
