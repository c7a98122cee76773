"""Figure family ``errors``: confusion matrix, worst and surest-wrong test examples, learning curves.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.errors` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "errors"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.errors`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.errors import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
