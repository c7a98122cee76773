"""Figure family ``weights`` (seed 002): the model's weight images, one per class, on one
symmetric scale.

Fits models whose logits are an affine function of the image pixels: logistic regression
(``PTLogreg``, registry name ``'logreg'``) and a ``PTDeep`` with config ``[D, C]`` (no hidden
layer). The images come from :func:`vizkit.analysis.weights.weight_images`, drawn by
:func:`vizkit.plot.weights.plot_weight_images`.
"""

from __future__ import annotations

import numpy as np

from ..plot.figure import Figure, NotApplicable
from ..plot.weights import plot_weight_images

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "weights"


def _weight_images(model, split):
    """The model's :class:`~vizkit.analysis.weights.WeightImages`, or the reason (a str) the
    family does not fit."""
    from ..analysis.weights import weight_images

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        return f"weight images need image inputs (C, H, W); this data has input shape {shape}."
    try:
        r = weight_images(model, image_shape=shape)
    except ValueError as e:
        return str(e)
    if r.images.ndim != 3:
        return "weight images are drawn for single-channel inputs only."
    return r


def applies(model, split) -> str | None:
    """Whether the ``weights`` family fits: ``None`` if so, else the reason in words.

    It fits when the model's logits are an affine map of single-channel image pixels
    (logistic regression, ``PTDeep([D, C])``): only then is each class score one weight per
    pixel, drawable as an image. Models with hidden layers: see the ``receptive-fields``
    family.

    Parameters
    ----------
    model : nn.Module or estimator
        The model (trained or not: only its structure is read here).
    split : vizkit.data.Split
        Its data; ``split.input_shape`` must be ``(1, H, W)``.

    Returns
    -------
    str or None
        ``None`` when the family fits, else why not (the input shape, or the layer that is
        not a single linear map).

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(6) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> applies(PTDeep([16, 3]), split) is None
    True
    >>> applies(PTDeep([16, 8, 3]), split)
    'PTDeep has no single linear input->class map ...'
    """
    r = _weight_images(model, split)
    return r if isinstance(r, str) else None


def _class_names(split, n):
    classes = list(getattr(split, "classes", []) or [])
    return [str(c) for c in classes] if len(classes) == n else None


def _ink_note(split, pixel: tuple) -> str:
    """', at row r, column c: a pixel above 0.5 in p % of the n training images' (empty
    without training images), so a large weight on a pixel the data hardly inks shows as such."""
    x = getattr(split, "x_train", None)
    if x is None or len(x) == 0:
        return ""
    img = np.asarray(x, dtype=np.float32).reshape(len(x), -1, *np.shape(x)[-2:])
    share = float((img[:, :, pixel[0], pixel[1]] > 0.5).any(axis=1).mean())
    return (f", at row {pixel[0]}, column {pixel[1]}: a pixel above 0.5 in {share:.1%} of the "
            f"{len(img):,} training images")


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The model's weight images, one per class, on one symmetric scale.

    Class ``k``'s score is ``w_k . x + b_k``; its weights ``w_k``, reshaped to the image, show
    the pixels that vote for the class (red) and against it (blue). The caption names the
    largest weight and how often the training images ink its pixel, so a large weight on a
    pixel the data hardly ever inks shows as such.

    Parameters
    ----------
    model : nn.Module
        A model whose logits are an affine map of the pixels (see :func:`applies`).
    split : vizkit.data.Split
        Its data: the class names, the image shape, and the training images (for the caption's
        ink share).
    meta : dict, optional
        The checkpoint's metadata (not used by this family).
    seed : int, default=0
        Seed of random choices (this family makes none).

    Returns
    -------
    list of Figure
        One figure, ``id`` ``'weights'``; ``data``: ``images`` [C, H, W] (on raw [0, 1]
        pixels, the model's input normalization folded in), ``class_names`` and ``bias`` [C].

    Raises
    ------
    NotApplicable
        Non-image inputs, or a model without a linear input->class map.

    Examples
    --------
    An untrained ``PTDeep([16, 3])`` on 4x4 images of three classes; the caption's words are
    checked against the arrays: the class it names holds the largest ``|weight|``.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(6) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> [fig] = figures(PTDeep([16, 3]), split)
    >>> fig.id, fig.data["images"].shape, fig.data["class_names"].tolist()
    ('weights', (3, 4, 4), ['a', 'b', 'c'])
    >>> top = int(np.abs(fig.data["images"]).reshape(3, -1).max(1).argmax())
    >>> f"largest |weight| is in the image of class '{'abc'[top]}'" in fig.caption
    True
    >>> plt.close("all")
    """
    r = _weight_images(model, split)
    if isinstance(r, str):
        raise NotApplicable(r)
    names = _class_names(split, r.n_classes)
    if names:
        r.labels = names
    out = plot_weight_images(r, ncols=5 if r.n_classes == 10 else min(r.n_classes, 8))
    fig = out["fig"]
    fig.suptitle(f"{type(model).__name__}: weights per class on raw pixels", fontsize=12)
    imgs = np.asarray(r.images)
    top = np.unravel_index(np.abs(imgs).argmax(), imgs.shape)
    caption = (f"Weights of each of the {r.n_classes} class scores ({', '.join(map(str, r.labels))}) "
               f"on the {imgs.shape[1]}x{imgs.shape[2]} raw [0, 1] pixels (the model's input "
               "normalization folded in: W / std), all on one symmetric scale, |w| <= "
               f"{r.vmax:.3g}: a bright pixel where the weight is red raises the class score, blue "
               "lowers it; white is zero weight. The largest |weight| is in the image of class "
               f"'{r.labels[top[0]]}'" + _ink_note(split, top[1:]) + ".")
    data = {"images": np.asarray(r.images), "class_names": np.asarray([str(c) for c in r.labels])}
    if r.bias is not None:
        data["bias"] = np.asarray(r.bias)
    return [Figure(id="weights", fig=fig, caption=caption, data=data)]
