"""Figure family ``decision-surface``: the classifier's decision regions over the input plane or a 2D bottleneck plane.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.decision_surface` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "decision-surface"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    from torch import nn

    from ..analysis.bottleneck import find_bottleneck

    shape = tuple(split.input_shape)
    if shape == (2,) or (isinstance(model, nn.Module) and find_bottleneck(model) is not None):
        return None
    return (f"decision-surface needs 2D inputs (e.g. --data gmm-2d) or a model with a 2D "
            f"bottleneck (e.g. --model rbf); this data has input shape {shape} and "
            f"{type(model).__name__} has no 2D layer.")


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.decision_surface`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.decision_surface import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
