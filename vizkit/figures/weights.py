"""Figure family ``weights``: the model's weight images, one per class, on one symmetric scale.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.weights` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "weights"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
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
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.weights`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.weights import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
