"""Figure family ``actmax``: activation maximization: the inputs each class logit and hidden unit likes most.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.actmax` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "actmax"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    from torch import nn

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        return (f"activation maximization makes images; this data has input shape {shape}, "
                "not (C, H, W).")
    if not isinstance(model, nn.Module):
        return f"activation maximization needs a torch model; got {type(model).__name__}."
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.actmax`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.actmax import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
