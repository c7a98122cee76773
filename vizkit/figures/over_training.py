"""Figure family ``over-training``: what the network looks at over its training.

Views over training: the family's :func:`recorder` goes to the training (``ctx.train(...,
recorder=...)`` in a recipe, ``vizkit train --record-views`` on the command line), which calls
it at epoch 0 and after each epoch and stores its snapshots beside the checkpoint; :func:`figures`
draws those snapshots (``meta['views']``, replayed from the views file, nothing trained): for a
fixed set of test images, their attribution maps and the class activation-maximization images at
log-spaced epochs, and the penultimate-layer embedding (PCA 2D, Procrustes-aligned between
snapshots), each beside the learning curve, with captions computed from the snapshots.
"""

from __future__ import annotations

import numpy as np

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures", "recorder"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "over-training"

_HOW = ("record them by training with `vizkit train ... --record-views` (in a recipe: "
        "ctx.train(..., recorder=get_family('over-training').recorder(split)))")


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on.

    Parameters
    ----------
    model : object
        The model (the family needs a torch ``nn.Module`` with an ``nn.Linear`` layer).
    split : vizkit.data.Split
        The data (the family needs images: ``input_shape`` ``[C, H, W]``).

    Returns
    -------
    str or None
        Why the family does not apply, or None when it does.

    Examples
    --------
    >>> from torch import nn
    >>> from types import SimpleNamespace
    >>> images = SimpleNamespace(name="tiny", input_shape=(1, 4, 4))
    >>> applies(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), images) is None
    True
    >>> applies(nn.Sequential(nn.Linear(2, 3)), SimpleNamespace(name="xor", input_shape=(2,)))
    "views over training are drawn as images and need [C, H, W] inputs; 'xor' has input shape (2,)."
    """
    from torch import nn

    if not isinstance(model, nn.Module):
        return (f"views over training need a differentiable torch model; {type(model).__name__} "
                "is not an nn.Module.")
    if len(split.input_shape) != 3:
        return (f"views over training are drawn as images and need [C, H, W] inputs; "
                f"{split.name!r} has input shape {tuple(split.input_shape)}.")
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        return "the embedding is the input of the model's last nn.Linear layer; it has none."
    return None


def recorder(split, *, seed: int = 0, epochs: int | None = None, n_images: int = 6,
             n_points: int = 300):
    """The family's recorder for training on ``split``.

    Parameters
    ----------
    split : vizkit.data.Split
    seed : int, default=0
        Picks the probe images and points and seeds activation maximization.
    epochs : int, optional
        The training's last epoch: snapshots at 0, the powers of two and ``epochs``; default 0
        and the powers of two.
    n_images : int, default=6
        Test images followed (different classes, stratified).
    n_points : int, default=300
        Test points of the embedding (seeded sample).

    Returns
    -------
    vizkit.analysis.over_training.OverTrainingRecorder

    Raises
    ------
    ValueError
        ``split`` does not hold images ``[C, H, W]``.

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> x = torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(30) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> rec = recorder(split, epochs=5, n_images=3, n_points=10)
    >>> rec.at, rec.labels.tolist(), len(rec.points)
    ([0, 1, 2, 4, 5], [0, 1, 2], 10)
    """
    from ..analysis.over_training import OverTrainingRecorder, log_epochs, probe_indices

    if len(split.input_shape) != 3:
        raise ValueError(f"the over-training recorder needs image data [C, H, W]; {split.name!r} "
                         f"has input shape {tuple(split.input_shape)}.")
    probes = probe_indices(split.y_test, n_images, seed=seed)
    rng = np.random.default_rng(seed)
    points = np.sort(rng.choice(len(split.y_test), size=min(n_points, len(split.y_test)),
                                replace=False))
    return OverTrainingRecorder(split.x_test[probes], split.y_test[probes], split.x_test[points],
                                split.y_test[points],
                                at=None if epochs is None else log_epochs(epochs), seed=seed)


def _changes(epochs, rho, word: str = "flat") -> str:
    rho = np.asarray(rho, dtype=np.float64).reshape(len(epochs) - 1, -1)
    words = []
    for a, b, r in zip(epochs[:-1], epochs[1:], rho):
        measured = r[np.isfinite(r)]
        if not measured.size:
            words.append(f"{a}->{b} not measured ({word})")
        else:
            skip = (f" ({len(r) - measured.size} {word} left out)" if measured.size < len(r)
                    else "")
            words.append(f"{a}->{b} {measured.mean():.2f}{skip}")
    return ", ".join(words)


def _stable_words(what: str, stable, result) -> str:
    e = [int(v) for v in result.epochs]
    t = f"{result.threshold:g}"
    if stable is None:
        return (f"the {what} still change at the last snapshot (mean Spearman rank correlation "
                f"between epochs {e[-2]} and {e[-1]} below {t}, or not measured)")
    nxt = e[e.index(int(stable)) + 1]
    if stable == e[0]:
        return (f"the {what} barely change from epoch {stable} on (mean Spearman rank correlation "
                f"between consecutive snapshots >= {t} for every pair)")
    return (f"the {what} change little from epoch {stable} on (mean Spearman rank correlation "
            f">= {t} for every pair of consecutive snapshots from {stable}->{nxt} on)")


def _strength_words(contrast, epochs, stable) -> str:
    """A rank correlation ignores brightness: when the images' layout is stable from
    ``stable`` on but their mean contrast still grows or fades by half or more, say so."""
    if stable is None or contrast is None:
        return ""
    mean = np.nanmean(np.asarray(contrast, dtype=float), axis=1)
    k = [int(e) for e in epochs].index(int(stable))
    if not (np.isfinite(mean[k]) and np.isfinite(mean[-1]) and mean[k] > 0):
        return ""
    ratio = mean[-1] / mean[k]
    if 1 / 1.5 < ratio < 1.5:
        return ""
    how = f"grows {ratio:.1f}x" if ratio > 1 else f"falls to {ratio:.2f}x"
    return (f", but not their strength (a rank correlation ignores brightness): their contrast "
            f"{how} from epoch {int(stable)} to epoch {int(epochs[-1])}")


def _flat_words(flat, epochs, what: str, how: str, word: str = "flat") -> str:
    """Where the snapshots are flat (no pattern), in words; '' when none is."""
    flat = np.asarray(flat, dtype=bool)
    if not flat.any():
        return ""
    per = [f"{int(n)} of {flat.shape[1]} at epoch {int(e)}" for e, n in zip(epochs, flat.sum(1)) if n]
    return (f" {word[:1].upper() + word[1:]} {what} (no pattern yet: {how}), marked '{word}' and "
            f"left out of the correlations: {', '.join(per)}.")


def _separation_words(res, epochs) -> str:
    """Whether the classes pull apart from the first snapshot to the last, by the silhouette score
    and by k-NN accuracy (both must agree for a verdict), with the numbers."""
    sil, knn = np.asarray(res.silhouette, float), np.asarray(res.knn_accuracy, float)
    a, b = epochs[0], epochs[-1]
    if not (np.isfinite(sil[[0, -1]]).all() and np.isfinite(knn[[0, -1]]).all()):
        return ("How well the classes separate was not measured (a single class, or a class with "
                "one point).")
    d_sil, d_knn = sil[-1] - sil[0], knn[-1] - knn[0]
    if d_sil > 0 and d_knn > 0:
        verdict = f"The classes pull apart from epoch {a} to {b}"
    elif d_sil < 0 and d_knn < 0:
        verdict = f"The classes draw together from epoch {a} to {b}"
    else:
        verdict = f"The two measures disagree on whether the classes separate from epoch {a} to {b}"
    return (f"{verdict}, measured on all the features (not the 2D picture): silhouette score by "
            f"true class (sklearn; 1: tight, far-apart clusters, 0: overlapping) {sil[0]:.2f} -> "
            f"{sil[-1]:.2f}, checked by 5-nearest-neighbour accuracy (cross-validated) {knn[0]:.0%} -> "
            f"{knn[-1]:.0%}.")


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Three captioned figures from the snapshots in ``meta['views']`` (see the module docstring).

    Parameters
    ----------
    model : nn.Module
        The trained model (nothing is run on it: the snapshots were taken while it trained).
    split : vizkit.data.Split
        Its data (the class names).
    meta : dict, optional
        The checkpoint's meta: ``views`` (the recorder's snapshots) and ``history`` (the
        learning curve, :meth:`vizkit.train.History.to_dict`).
    seed : int, default=0
        Unused: the snapshots are replayed as they were recorded (a family's common signature).

    Returns
    -------
    list of Figure
        ``over-training-attributions``, ``over-training-actmax`` and
        ``over-training-embedding``, each with its caption and arrays.

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason, or the model has no recorded views (the reason says how
        to record them).

    Examples
    --------
    A small MLP trained for 2 epochs on tiny 4x4 images, its views recorded at epochs 0, 1, 2:

    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.train import train_model
    >>> x = torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(30) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> rec = recorder(split, epochs=2, n_images=3, n_points=12)
    >>> net, hist, _ = train_model("mlp", split, {"epochs": 2, "patience": None, "seed": 0,
    ...                            "progress": False}, recorder=rec, hidden=(8,))
    >>> figs = figures(net, split, meta={"views": rec.snapshots(), "history": hist.to_dict()})
    >>> [f.id for f in figs]
    ['over-training-attributions', 'over-training-actmax', 'over-training-embedding']
    >>> figs[2].data["embedding"].shape  # 3 snapshots of 12 points in 2D
    (3, 12, 2)
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    meta = meta or {}
    views = meta.get("views")
    if views is None:
        raise NotApplicable(meta.get("views_missing") or f"this model has no recorded views; {_HOW}.")
    from ..analysis.over_training import (CONTRAST_PERCENTILE, FAINT_ABS, FAINT_REL, FLAT_RANGE,
                                          over_training)
    from ..plot.curves import history_arrays
    from ..plot.over_training import OUTLIER_PERC, over_training_figure

    try:
        res = over_training(views)
    except ValueError as e:
        raise NotApplicable(f"its recorded views are not over-training snapshots ({e}); {_HOW}.") from None
    hist = history_arrays(meta["history"]) if meta.get("history") else {"epoch": np.zeros(0)}
    names = list(split.classes)
    ep = res.epochs.tolist()
    shown = ", ".join(map(str, ep))
    right = (res.predictions == res.labels[None, :]).sum(axis=1)
    acc = ""
    if "val_acc" in hist and len(hist["val_acc"]):
        acc = f" Validation accuracy goes from {hist['val_acc'][0]:.1%} after epoch 1 to " \
              f"{hist['val_acc'][-1]:.1%} after epoch {int(hist['epoch'][-1])}."
    common = {"epochs": res.epochs, **{f"history_{k}": v for k, v in hist.items()}}
    out = []

    fig = over_training_figure(res, hist, view="attributions", class_names=names)["fig"]
    out.append(Figure("over-training-attributions", fig, (
        f"Where the network looks, epoch by epoch: {res.method.replace('_', ' ')} maps of "
        f"{len(res.labels)} fixed test images for their true class, at epochs {shown} (red "
        f"raises the class's logit, blue lowers it; each map scaled on its own, its "
        f"{OUTLIER_PERC:g}% largest |attributions| drawn saturated so that one hot pixel does not "
        f"wash out the rest); "
        f"{_stable_words('attribution maps', res.maps_stable_after, res)}. Mean "
        f"Spearman per pair of snapshots: {_changes(ep, res.map_rho)}."
        f"{_flat_words(res.maps_flat, ep, 'maps', f'range <= {FLAT_RANGE:.0%} of the largest |attribution|')}"
        f" Images classified right: "
        f"{right[0]} of {len(res.labels)} at epoch {ep[0]}, {right[-1]} at epoch {ep[-1]}.{acc}"),
        data={**common, "images": res.images, "labels": res.labels, "maps": res.maps,
              "spearman": res.map_rho, "flat": res.maps_flat,
              "predictions": res.predictions}))

    top = 100 - CONTRAST_PERCENTILE
    contrast = res.actmax_contrast
    faint_how = (f"an image's brightest {top:g}% of pixels stand at most {FAINT_ABS:g} above its "
                 f"median pixel, or at most {FAINT_REL:.0%} as far as in its class's clearest "
                 f"snapshot")
    fig = over_training_figure(res, hist, view="actmax", class_names=names)["fig"]
    # a rank correlation sees the layout only: when the contrast still changes, say which
    strength = _strength_words(contrast, ep, res.actmax_stable_after)
    what_stable = "images' layouts" if strength else "images"
    out.append(Figure("over-training-actmax", fig, (
        f"What each class's logit wants to see, epoch by epoch: activation-maximization images "
        f"of classes {', '.join(names[int(c)] for c in res.actmax_classes)} at epochs {shown} "
        f"(the same seed and budget at every epoch); "
        f"{_stable_words(what_stable, res.actmax_stable_after, res)}"
        f"{strength}. Mean Spearman "
        f"per pair of snapshots: {_changes(ep, res.actmax_rho, 'too faint')}."
        f"{_flat_words(res.actmax_flat, ep, 'images', faint_how, 'too faint')}"
        f" Contrast (the brightest {top:g}% of pixels above the median), mean over the classes: "
        f"{', '.join(f'epoch {e} {c:.2f}' for e, c in zip(ep, contrast.mean(axis=1)))}."),
        data={**common, "actmax": res.actmax, "classes": res.actmax_classes,
              "spearman": res.actmax_rho, "flat": res.actmax_flat, "contrast": contrast}))

    fig = over_training_figure(res, hist, view="embedding", class_names=names)["fig"]
    d = res.disparity
    out.append(Figure("over-training-embedding", fig, (
        f"How the penultimate layer sorts the classes, epoch by epoch: {len(res.feature_labels)} "
        f"test points, PCA 2D of what the last linear layer receives, each snapshot rotated onto "
        f"the previous one (scipy.spatial.procrustes). {_separation_words(res, ep)} Procrustes "
        f"disparity of each 2D picture with the previous one (0: the same shape, 1: unrelated): "
        + ", ".join(f"{a}->{b} {v:.3f}" for a, b, v in zip(ep[:-1], ep[1:], d))
        + (f"; largest between epochs {ep[int(np.nanargmax(d))]} and {ep[int(np.nanargmax(d)) + 1]}."
           if np.isfinite(d).any() else ".")),
        data={**common, "embedding": res.embedding, "labels": res.feature_labels,
              "disparity": res.disparity, "silhouette": res.silhouette,
              "knn_accuracy": res.knn_accuracy}))
    return out
