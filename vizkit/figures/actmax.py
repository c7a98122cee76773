"""Figure family ``actmax``: each optimized image beside the test images that score highest on
the same objective, with a verdict per target (does the optimized image out-score every test
image?); several facets per class; a hidden layer's units and the whole layer.

Every run is :func:`vizkit.analysis.activation_maximization`, drawn by
:func:`vizkit.plot.actmax.plot_actmax`; captions are computed from the results.
"""

from __future__ import annotations

import numpy as np

from ..plot.actmax import plot_actmax
from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures", "verdict", "HIDDEN_SETTINGS", "FACETS", "SAME_FACETS",
           "N_REAL", "FONT"]

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
    """Whether the family fits: ``None`` for a torch model of image inputs (C, H, W).

    Parameters
    ----------
    model : object
        The trained model.
    split : vizkit.data.Split
        The data (its ``input_shape`` is read).

    Returns
    -------
    str or None
        None when activation maximization applies, else the reason it does not.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from vizkit.models import PTDeep
    >>> applies(PTDeep([16, 3]), SimpleNamespace(input_shape=(1, 4, 4))) is None
    True
    >>> applies(PTDeep([2, 3]), SimpleNamespace(input_shape=(2,)))
    'activation maximization makes images; this data has input shape (2,), not (C, H, W).'
    """
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
    bn = s.get("batchnorm_weight", 0.0)
    bn = (f", a batch-norm prior (weight {bn:g}; DeepInversion: each batch norm's input mean and "
          f"variance over the batch pulled to the running ones the network kept in training)"
          if bn else "")
    return (f"{s['n_steps']} Adam steps (lr {s['lr']:g}) on one batch of {len(r.names)} images, "
            f"pixels a sigmoid in [{lo:g}, {hi:g}], each step a random shift up to 2 px, scale "
            f"+-10 % and rotation +-10 deg, ink budget {s['ink']:g}{bn}, {prior}; seed "
            f"{s['seed']}")


def _flag_sentence(r) -> str:
    bad = [r.names[k] for k in np.flatnonzero(r.degenerate.numpy())]
    if not bad:
        return "No image is degenerate (constant or with zero activation)."
    return (f"{len(bad)} degenerate image(s), framed in red: {', '.join(bad)} (a constant image "
            "or a zero activation: the optimization found nothing to show there).")


def verdict(optimized, best_real, labels, n_real: int, what: str = "logit") -> tuple:
    """Does each optimized image out-score every real image on its own objective?

    Parameters
    ----------
    optimized : array-like of shape (N,)
        Each target's objective on its optimized image.
    best_real : array-like of shape (N,)
        The largest value of the same objective over the ``n_real`` real images.
    labels : list of str
        The targets' names (``'class 3'``, ``'unit 4'``...).
    n_real : int
        How many real images were searched.
    what : str, default='logit'
        The objective's name in the sentence.

    Returns
    -------
    beats : ndarray of shape (N,), bool
        ``optimized > best_real``: no real image scores higher.
    sentence : str
        The verdict in words, per target, with both numbers.

    Examples
    --------
    >>> beats, text = verdict([5.0, 2.0], [4.0, 3.0], ["class 0", "class 1"], 100)
    >>> beats.tolist()
    [True, False]
    >>> text.split(". ")[-1]
    'A real test image scores higher for class 1 (3 vs 2).'
    """
    a, b = np.asarray(optimized, dtype=float), np.asarray(best_real, dtype=float)
    beats = a > b
    won = [f"{labels[k]} ({what} {a[k]:.3g} vs the best test image's {b[k]:.3g})"
           if i == 0 else f"{labels[k]} ({a[k]:.3g} vs {b[k]:.3g})"
           for i, k in enumerate(np.flatnonzero(beats))]
    lost = [f"{labels[k]} ({b[k]:.3g} vs {a[k]:.3g})" for k in np.flatnonzero(~beats)]
    n = len(a)
    if won:
        text = (f"The optimized image out-scores all {n_real} test images for {len(won)} of {n} "
                f"targets: {', '.join(won)}.")
    else:
        text = f"The optimized image out-scores all {n_real} test images for none of the {n} targets."
    if lost:
        text += f" A real test image scores higher for {', '.join(lost)}."
    return beats, text


#: Real test images shown beside each optimized image (the highest on the same objective).
N_REAL = 3
#: Font sizes (pt): the smallest text must reach 20 px once the PNG is fitted to a 1080p slide.
FONT = 11


def _versus_figure(r, labels, top_vals, top_idx, x_real, suptitle: str):
    """Blocks of [optimized | the N_REAL highest real images] per target, 5 rows of 2 blocks
    (a landscape page a room can read), one grey scale for every image."""
    import matplotlib.pyplot as plt

    n, k = len(labels), top_vals.shape[1]
    cols = 2 if n > 5 else 1
    rows = int(np.ceil(n / cols))
    fig = plt.figure(figsize=(cols * (k + 1) * 1.0 + 0.3 * cols, rows * 1.42 + 0.5),
                     layout="constrained")
    subs = np.ravel(fig.subfigures(rows, cols))
    lo, hi = r.settings["value_range"]
    act = r.activations.numpy()
    opt_axes = []
    for j, sub in enumerate(subs):
        if j >= n:
            sub.set_visible(False)
            continue
        axes = sub.subplots(1, k + 1)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        opt_axes.append(axes[0])
        sign = ">" if act[j] > top_vals[j, 0] else "<"
        sub.suptitle(f"{labels[j]}: optimized {act[j]:.3g} {sign} best test {top_vals[j, 0]:.3g}",
                     fontsize=FONT, fontweight="bold" if sign == "<" else "normal")
        for i in range(k):
            img = x_real[int(top_idx[j, i])]
            axes[i + 1].imshow(img[0].numpy(), cmap="gray", vmin=lo, vmax=hi,
                               interpolation="nearest")
            axes[i + 1].set_title(f"test {top_vals[j, i]:.3g}", fontsize=FONT)
    plot_actmax(r, axes=opt_axes, fig=fig, colorbar=False, fontsize=FONT,
                titles=["optimized"] * n)
    fig.suptitle(suptitle, fontsize=FONT + 1)
    return fig


def _class_figure(model, split, common, seed):
    from ..analysis.actmax import activation_maximization, class_logit, dataset_examples

    classes = [str(c) for c in split.classes]
    n = len(classes)
    r = activation_maximization(model, list(range(n)), class_names=classes, **common)
    k = min(N_REAL, len(split.x_test))
    top, idx = dataset_examples(model, [class_logit(c) for c in range(n)], split.x_test, top=k)
    top, idx = top.numpy(), idx.numpy()
    act, p = r.activations.numpy(), r.probabilities.numpy()
    labels = [f"class {c}" for c in classes]
    beats, sentence = verdict(act, top[:, 0], labels, len(split.y_test))
    fig = _versus_figure(r, labels, top, idx, split.x_test,
                         f"Each class logit: optimized input (left) vs the {k} test images with "
                         f"the highest logit; optimized scores higher for {int(beats.sum())} of "
                         f"{n} classes")
    caption = (f"Compare the logit an optimized input reaches with the {k} real test images that "
               f"reach the highest logit of the same class (numbers above each image; bold: a "
               f"real image scores higher). {sentence} The network gives every optimized image a "
               f"probability of at least {p.min():.3f} for its class. All images share one grey "
               f"scale, black {r.settings['value_range'][0]:g} to white "
               f"{r.settings['value_range'][1]:g}. Method: {_how(r, len(split.y_train))}. "
               f"{_flag_sentence(r)}")
    data = {"images": r.images.numpy(), "targets": np.arange(n), "activations": act,
            "probabilities": p, "degenerate": r.degenerate.numpy(),
            "best_real_activations": top[:, 0], "best_real_images": split.x_test[idx[:, 0]].numpy(),
            "best_real_indices": idx[:, 0], "top_real_activations": top, "top_real_indices": idx,
            "beats_every_test_image": beats}
    return Figure("actmax-classes", fig, caption, data=data)


def _hidden_figure(model, split, common):
    from ..analysis.actmax import (activation_maximization, as_objective, dataset_examples,
                                   hidden_targets)

    name, targets, kind = hidden_targets(model)
    r = activation_maximization(model, targets, **dict(common, **HIDDEN_SETTINGS))
    k = min(N_REAL, len(split.x_test))
    top, idx = dataset_examples(model, [as_objective(t) for t in targets], split.x_test, top=k)
    top, idx = top.numpy(), idx.numpy()
    unit = "channel" if kind == "channel means" else "unit"
    labels = [f"{unit} {t.split(':')[1]}" for t in targets[:-1]] + ["whole layer"]
    act = r.activations.numpy()
    beats, sentence = verdict(act, top[:, 0], labels, len(split.y_test), what="activation")
    layer = _layer_words(model, name)
    fig = _versus_figure(r, labels, top, idx, split.x_test,
                         f"{layer}: optimized input (left) vs the {k} test images with the "
                         f"highest activation; optimized higher for {int(beats.sum())} of "
                         f"{len(targets)}")
    caption = (f"Compare what each of {len(targets) - 1} {kind} of {layer}, and the mean of the "
               f"whole layer (last), reaches on its optimized input with the {k} real test "
               f"images that excite it most (numbers above each image; bold: a real image scores "
               f"higher). {sentence} Method: {_how(r, len(split.y_train))}. {_flag_sentence(r)}")
    data = {"images": r.images.numpy(), "targets": np.asarray(targets), "activations": act,
            "degenerate": r.degenerate.numpy(), "best_real_activations": top[:, 0],
            "top_real_activations": top, "top_real_indices": idx,
            "beats_every_test_image": beats}
    return Figure("actmax-hidden", fig, caption, data=data)


def _layer_words(model, name: str) -> str:
    """A layer named for a student: ``'conv2 (features.4)'``, ``'conv2 + batch norm
    (features.5)'``, ``'hidden layer 1 (layers.1)'``."""
    from torch import nn

    mods = dict(model.named_modules())
    order = list(mods)
    m = mods[name]
    if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
        convs = [n for n in order if isinstance(mods[n], nn.Conv2d)]
        before = [n for n in convs if order.index(n) <= order.index(name)]
        if not before:
            return name
        norm = " + batch norm" if isinstance(m, nn.BatchNorm2d) else ""
        return f"conv{len(before)}{norm} ({name})"
    if isinstance(m, nn.Linear):
        lin = [n for n in order if isinstance(mods[n], nn.Linear)]
        return f"hidden layer {lin.index(name) + 1} ({name})"
    return name


def _facets_figure(model, split, common):
    import matplotlib.pyplot as plt

    from ..analysis.actmax import activation_maximization

    classes = [str(c) for c in split.classes]
    n, f = len(classes), FACETS["facets"]
    r = activation_maximization(model, list(range(n)), class_names=classes, **common, **FACETS)
    cols = 2 if n > 5 else 1
    rows = int(np.ceil(n / cols))
    fig = plt.figure(figsize=(cols * f * 1.1 + 0.5 * cols, rows * 1.42 + 0.5),
                     layout="constrained")
    subs = np.ravel(fig.subfigures(rows, cols))
    axes, p = [], r.probabilities.numpy()
    for j, sub in enumerate(subs):
        if j >= n:
            sub.set_visible(False)
            continue
        row = sub.subplots(1, f)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        axes.extend(row)
        sub.suptitle(f"class {classes[j]}: logit of each", fontsize=FONT)
    act = r.activations.numpy()
    plot_actmax(r, axes=axes, fig=fig, colorbar=False, fontsize=FONT,
                titles=[f"{a:.3g}" for a in act])
    flat = r.images.flatten(1).view(n, f, -1)
    flat = flat - flat.mean(-1, keepdim=True)
    flat = flat / flat.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    corr = float(((flat @ flat.transpose(1, 2)).sum((1, 2)) - f).mean() / (f * (f - 1)))
    fig.suptitle(f"{f} optimized inputs per class logit, pushed apart by a diversity term",
                 fontsize=FONT + 1)
    same = (": the facets barely differ, the diversity term did not move them apart at this "
            "weight" if corr >= SAME_FACETS else "")
    caption = (f"See how different {f} optimized inputs for the same class logit can look. "
               f"They are optimized together with Lucent's diversity term (weight "
               f"{FACETS['diversity']:g}: minus the cosine similarity of each image with the "
               f"other facets of its class). Mean pixel correlation between two facets of one "
               f"class: {corr:.2f} (1: identical){same}; network probability at least "
               f"{p.min():.3f}. Method: {_how(r, len(split.y_train))}. {_flag_sentence(r)}")
    data = {"images": r.images.numpy(), "targets": np.repeat(np.arange(n), f),
            "activations": act, "probabilities": p,
            "degenerate": r.degenerate.numpy(), "facet_correlation": np.array(corr)}
    return Figure("actmax-facets", fig, caption, data=data)


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Figure family ``actmax``: class images beside the best real test images, several facets
    per class, and the images of a hidden layer's units and of the whole layer.

    Every run is :func:`vizkit.analysis.activation_maximization` with its defaults plus the
    training images as the data prior; captions are computed from the results. The real images
    beside each optimized one are the highest-scoring of *all* test images (any label).

    Parameters
    ----------
    model : nn.Module
        A torch model of image inputs.
    split : vizkit.data.Split
        The data: the training images give the prior and the value range, the test images the
        real examples.
    meta : dict, optional
        The checkpoint's metadata (not used by this family).
    seed : int, default=0
        Seeds every optimization.

    Returns
    -------
    list of Figure
        ``actmax-classes``, ``actmax-facets`` and, for a model with a hidden layer,
        ``actmax-hidden``. ``data``: the ``images``, ``targets``, ``activations``,
        ``probabilities``, ``degenerate`` flags and the best real test images' activations.

    Raises
    ------
    NotApplicable
        Non-image inputs, or not a torch model.

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(12, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(12) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> figs = figures(PTDeep([16, 3]), split)
    >>> [f.id for f in figs], figs[0].data["images"].shape
    (['actmax-classes', 'actmax-facets'], (3, 1, 4, 4))
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
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
