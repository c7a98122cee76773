"""Figure family ``actmax``: class images beside the best real test images, several facets per
class, and the images of a hidden layer's units and of the whole layer.

Every run is :func:`vizkit.analysis.activation_maximization`, drawn by
:func:`vizkit.plot.actmax.plot_actmax`; captions are computed from the results.
"""

from __future__ import annotations

import numpy as np

from ..plot._axes import image_axes
from ..plot.actmax import plot_actmax
from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures", "HIDDEN_SETTINGS", "FACETS", "SAME_FACETS"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "actmax"

#: Hidden units and channels: their activations are small numbers, so no ink budget.
HIDDEN_SETTINGS = dict(ink=0.0)
#: The facets figure: images per class and the weight of Lucent's diversity term.
#: Weight 5 (measured on mnist-5k, bench/actmax_judge.py's judge): at 2 the MLP's three facets
#: were the same image (pixel correlation 0.96); at 5 they differ (0.68) and the judge still reads
#: 30/30 of them as their class with the MLP's probability >= 0.96.
FACETS = dict(facets=3, diversity=5.0)
#: Facets whose mean pixel correlation reaches this are said, in the caption, to barely differ.
SAME_FACETS = 0.9


def applies(model, split) -> str | None:
    """``None`` for a torch model of image inputs (C, H, W), else the reason."""
    from torch import nn

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        return (f"activation maximization makes images; this data has input shape {shape}, "
                "not (C, H, W).")
    if not isinstance(model, nn.Module):
        return f"activation maximization needs a torch model; got {type(model).__name__}."
    return None


def _how(r, n_train: int) -> str:
    """The settings sentence of a caption, from the result's own settings."""
    s = r.settings
    prior = (f"start at the training images' mean and a penalty (weight {s['prior_weight']:g}) "
             f"outside the span of the {s['n_components']} leading principal components of the "
             f"{n_train} training images" if s["prior"] else "no data prior")
    lo, hi = s["value_range"]
    return (f"{s['n_steps']} Adam steps (lr {s['lr']:g}) on one batch of {len(r.names)} images, "
            f"pixels a sigmoid in [{lo:g}, {hi:g}], each step a random shift up to 2 px, scale "
            f"+-10 % and rotation +-10 deg, ink budget {s['ink']:g}, {prior}; seed {s['seed']}")


def _flag_sentence(r) -> str:
    bad = [r.names[k] for k in np.flatnonzero(r.degenerate.numpy())]
    if not bad:
        return "No image is degenerate (constant or with zero activation)."
    return (f"{len(bad)} degenerate image(s), framed in red: {', '.join(bad)} (a constant image "
            "or a zero activation: the optimization found nothing to show there).")


def _class_figure(model, split, common, seed):
    from ..analysis.actmax import activation_maximization, class_logit, dataset_examples

    classes = [str(c) for c in split.classes]
    n = len(classes)
    r = activation_maximization(model, list(range(n)), class_names=classes, **common)
    best, idx = dataset_examples(model, [class_logit(c) for c in range(n)], split.x_test)
    fig, axes = image_axes(2 * n, None, None, n)
    plot_actmax(r, axes=axes[:n], fig=fig, colorbar=False)
    lo, hi = r.settings["value_range"]
    real = split.x_test[idx]
    for k, ax in enumerate(axes[n:]):
        im = ax.imshow(real[k, 0].numpy(), cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"best real {classes[k]}\nlogit {float(best[k]):.3g}", fontsize=9)
    # one bar for both rows (same grey scale): a bar beside the top row alone came out squashed
    fig.colorbar(im, ax=list(axes), shrink=0.9, label="pixel value")
    fig.suptitle("Activation maximization: the input each class logit likes most (top) and the "
                 "real test image with the largest logit (bottom)", fontsize=10)
    act, p = r.activations.numpy(), r.probabilities.numpy()
    caption = (f"Top: optimized inputs for each class logit (titles: logit reached and the "
               f"network's probability). {_how(r, len(split.y_train))}. The logits reached are "
               f"{act.min():.3g} to {act.max():.3g}; the best of the {len(split.y_test)} real "
               f"test images reaches {float(best.min()):.3g} to {float(best.max()):.3g} (bottom "
               f"row); the network gives every optimized image a probability of at least "
               f"{p.min():.3f} for its class. {_flag_sentence(r)}")
    data = {"images": r.images.numpy(), "targets": np.arange(n), "activations": act,
            "probabilities": p, "degenerate": r.degenerate.numpy(),
            "best_real_activations": best.numpy(), "best_real_images": real.numpy(),
            "best_real_indices": idx.numpy()}
    return Figure("actmax-classes", fig, caption, data=data)


def _hidden_figure(model, split, common):
    from ..analysis.actmax import (activation_maximization, as_objective, dataset_examples,
                                   hidden_targets)

    name, targets, kind = hidden_targets(model)
    r = activation_maximization(model, targets, **dict(common, **HIDDEN_SETTINGS))
    best, _ = dataset_examples(model, [as_objective(t) for t in targets], split.x_test)
    out = plot_actmax(r, ncols=5)
    out["fig"].suptitle(f"Activation maximization of {name}: {len(targets) - 1} {kind} and the "
                        f"whole layer's mean", fontsize=10)
    act = r.activations.numpy()
    caption = (f"Optimized inputs for {len(targets) - 1} {kind} of {name} and, last, for the mean "
               f"of the whole layer ({name!r} as the target). {_how(r, len(split.y_train))}. The "
               f"activations reached are {act.min():.3g} to {act.max():.3g}; the best real test "
               f"image reaches {float(best.min()):.3g} to {float(best.max()):.3g} for the same "
               f"targets. {_flag_sentence(r)}")
    data = {"images": r.images.numpy(), "targets": np.asarray(targets), "activations": act,
            "degenerate": r.degenerate.numpy(), "best_real_activations": best.numpy()}
    return Figure("actmax-hidden", out["fig"], caption, data=data)


def _facets_figure(model, split, common):
    from ..analysis.actmax import activation_maximization

    classes = [str(c) for c in split.classes]
    n, f = len(classes), FACETS["facets"]
    r = activation_maximization(model, list(range(n)), class_names=classes, **common, **FACETS)
    fig, grid = image_axes(n * f, None, None, n)
    axes = [grid[(k % f) * n + k // f] for k in range(n * f)]  # one column per class
    plot_actmax(r, axes=axes, fig=fig)
    flat = r.images.flatten(1).view(n, f, -1)
    flat = flat - flat.mean(-1, keepdim=True)
    flat = flat / flat.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    corr = float(((flat @ flat.transpose(1, 2)).sum((1, 2)) - f).mean() / (f * (f - 1)))
    fig.suptitle(f"{f} facets per class, optimized together with Lucent's diversity term",
                 fontsize=10)
    p = r.probabilities.numpy()
    same = (": the facets barely differ, the diversity term did not move them apart at this "
            "weight" if corr >= SAME_FACETS else "")
    caption = (f"{f} optimized inputs per class logit (one column per class), optimized together "
               f"with Lucent's diversity term (weight {FACETS['diversity']:g}: minus the cosine "
               f"similarity of each image with the other facets of its class). "
               f"{_how(r, len(split.y_train))}. Mean pixel correlation between two facets of one "
               f"class: {corr:.2f} (1: identical){same}; network probability at least "
               f"{p.min():.3f}. {_flag_sentence(r)}")
    data = {"images": r.images.numpy(), "targets": np.repeat(np.arange(n), f),
            "activations": r.activations.numpy(), "probabilities": p,
            "degenerate": r.degenerate.numpy(), "facet_correlation": np.array(corr)}
    return Figure("actmax-facets", fig, caption, data=data)


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``actmax``: class images beside the best real test images, several facets
    per class, and the images of a hidden layer's units and of the whole layer.

    Every run is :func:`vizkit.analysis.activation_maximization` with its defaults plus the
    training images as the data prior; captions are computed from the results. ``data``: the
    ``images``, ``targets``, ``activations``, ``probabilities``, ``degenerate`` flags and the best
    real test images' activations.

    Raises
    ------
    NotApplicable
        Non-image inputs, or not a torch model.
    """
    from ..analysis.actmax import hidden_layer

    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    shape = tuple(split.input_shape)
    x = split.x_train
    common = dict(input_shape=shape, value_range=(float(x.min()), float(x.max())), seed=seed,
                  prior=x)
    figs = [_class_figure(model, split, common, seed), _facets_figure(model, split, common)]
    if hidden_layer(model) is not None:
        figs.append(_hidden_figure(model, split, common))
    return figs
