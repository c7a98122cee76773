"""Figure family ``attributions``: attribution maps of test images, with the randomization sanity check.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.attributions` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "attributions"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    from torch import nn

    if not isinstance(model, nn.Module):
        return (f"attributions need a differentiable torch model; {type(model).__name__} is not "
                "an nn.Module.")
    if len(split.input_shape) != 3:
        return (f"attributions are drawn as images and need [C, H, W] inputs; {split.name!r} has "
                f"input shape {tuple(split.input_shape)}.")
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.attributions`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.attributions import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
