"""Figure family ``bottleneck``: the test points in a model's 2D bottleneck layer, with RBF centres and the head's regions.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.bottleneck` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "bottleneck"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    from torch import nn

    from ..analysis.bottleneck import find_bottleneck

    if not isinstance(model, nn.Module) or find_bottleneck(model) is None:
        return (f"bottleneck needs a 2D layer before the classifier head (an RBFLayer(2, K) or a "
                f"hidden Linear(_, 2)), such as --model rbf; {type(model).__name__} has none.")
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.bottleneck`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.bottleneck import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
