"""Figure family ``weights``: per-class weight images of a linear classifier (seed 002).

Fits models whose logits are an affine function of the image pixels: logistic regression
(``PTLogreg``, registry name ``'logreg'``) and a ``PTDeep`` with config ``[D, C]`` (no hidden
layer). Models with hidden layers have no single weight image per class (see the
``receptive-fields`` family for them). :func:`make_lambda_sweep` trains logistic regression at
several regularization strengths and draws the images on one shared scale.
"""

from __future__ import annotations

import math
from typing import Sequence

from . import Figure, NotApplicable

__all__ = ["make", "make_lambda_sweep"]


def _class_names(split, n):
    classes = list(getattr(split, "classes", []) or [])
    return [str(c) for c in classes] if len(classes) == n else None


def make(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The model's weight images, one per class, on one symmetric scale.

    Raises
    ------
    NotApplicable
        Non-image inputs, or a model without a linear input->class map.
    """
    from ..analysis.weights import weight_images
    from ..plot.weights import plot_weight_images

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        raise NotApplicable(f"weight images need image inputs (C, H, W); this data has input "
                            f"shape {shape}.")
    try:
        r = weight_images(model, image_shape=shape)
    except ValueError as e:
        raise NotApplicable(str(e)) from None
    names = _class_names(split, r.n_classes)
    if names:
        r.labels = names
    if r.images.ndim != 3:
        raise NotApplicable("weight images are drawn for single-channel inputs only.")
    out = plot_weight_images(r, ncols=5 if r.n_classes == 10 else min(r.n_classes, 8))
    fig = out["fig"]
    fig.suptitle(f"{type(model).__name__}: weights per class on raw pixels", fontsize=10)
    caption = ("Weights of each class's score on the raw [0, 1] pixels (the model's input "
               "normalization folded in: W / std), all on one symmetric scale: red pixels with ink "
               "raise the class score, blue ones lower it; white is zero weight "
               f"(|w| <= {r.vmax:.3g}).")
    return [Figure(id="weights", fig=fig, caption=caption)]


def make_lambda_sweep(split, lambdas: Sequence[float] = (0.0, 1e-3, 1e-2, 1e-1), *,
                      epochs: int = 10, seed: int = 0, config: dict | None = None) -> Figure:
    """Train logistic regression at each L2 strength ``lambda`` (the lab's ``param_lambda``,
    ``loss + lambda * ||W||^2``) and show all weight images on ONE shared scale.

    Returns
    -------
    Figure
        Rows are lambdas, columns classes; ``fig`` titles carry each row's test accuracy.
    """
    from ..analysis.weights import weight_images
    from ..plot.weights import plot_weight_images_grid
    from ..train import train_model

    shape = tuple(split.input_shape)
    if len(shape) != 3:
        raise NotApplicable(f"weight images need image inputs; input shape is {shape}.")
    results, labels = [], []
    for lam in lambdas:
        cfg = {"epochs": epochs, "progress": False, "param_lambda": float(lam),
               "weight_decay": 0.0, "patience": None, **(config or {})}
        model, _, metrics = train_model("logreg", split, cfg, seed=seed)
        r = weight_images(model, image_shape=shape)
        names = _class_names(split, r.n_classes)
        if names:
            r.labels = names
        results.append(r)
        acc = metrics.get("accuracy", metrics.get("acc"))
        lab = f"λ = {lam:g}"
        if isinstance(acc, (int, float)) and not math.isnan(acc):
            lab += f"\nacc {acc:.3f}"
        labels.append(lab)
    out = plot_weight_images_grid(results, labels)
    out["fig"].suptitle("Logistic regression weights per class, one scale for every λ",
                        fontsize=10)
    caption = ("Weight images of logistic regression trained with L2 penalty λ||W||² at several "
               "λ, all on one symmetric colour scale: larger λ shrinks the weights (paler) and "
               "smooths away the speckle on pixels that rarely hold ink.")
    return Figure(id="weights-lambda-sweep", fig=out["fig"], caption=caption)
