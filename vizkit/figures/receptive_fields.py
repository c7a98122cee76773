"""Figure family ``receptive-fields``: what each hidden unit of an MLP or a CNN responds to in the input image.

:func:`applies` says whether the family fits a model (and why not); :func:`figures` composes
:mod:`vizkit.analysis` results and :mod:`vizkit.plot.receptive_fields` drawings into captioned figures.
"""

from __future__ import annotations

from ..plot.figure import Figure, NotApplicable

__all__ = ["NAME", "applies", "figures"]

#: The family's name (``vizkit analyze --what``, ``ctx.family``).
NAME = "receptive-fields"


def applies(model, split) -> str | None:
    """``None`` when the family fits ``model`` and ``split``, else the reason, in words a user
    can act on."""
    from torch import nn

    shape = tuple(getattr(split, "input_shape", ()) or ())
    if len(shape) != 3:
        return (f"receptive fields are drawn as images; this data has input shape {shape}, "
                "not (C, H, W).")
    if shape[0] != 1:
        return "receptive-field figures are drawn for single-channel images only."
    if not isinstance(model, nn.Module):
        return f"receptive fields need a torch model; got {type(model).__name__}."
    return None


def figures(model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """The family's captioned figures (see :mod:`vizkit.plot.receptive_fields`).

    Raises
    ------
    NotApplicable
        :func:`applies` gives a reason.
    """
    reason = applies(model, split)
    if reason is not None:
        raise NotApplicable(reason)
    from ..plot.receptive_fields import figures as _figures

    return _figures(model, split, meta=meta, seed=seed)
