"""Figure families: each turns ``(model, split)`` into finished matplotlib figures with captions.

The analyses (``vizkit.analysis``) compute, the plotters (``vizkit.plot``) draw on an ``Axes``;
a family module here composes the two into the figures that ``vizkit analyze`` writes and the
gallery shows. Families are looked up by the names of ``vizkit analyze --what``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Figure", "NotApplicable", "FAMILIES", "list_families", "make_figures"]


class NotApplicable(ValueError):
    """This figure family does not fit this model or data (the message says why)."""


@dataclass
class Figure:
    """A finished figure: a stable ``id`` (safe file name stem), the matplotlib figure, a caption
    that says what to look at."""

    id: str
    fig: Any
    caption: str


# --what name -> module in this package (each exposes ``make(model, split, *, meta=None, seed=0)``)
FAMILIES: dict[str, str] = {
    "weights": "weights",
    "receptive-fields": "receptive_fields",
    "actmax": "actmax",
    "bottleneck": "bottleneck",
    "decision-surface": "decision_surface",
    "errors": "errors",
    "attributions": "attributions",
    "embedding": "embedding",
}


def list_families() -> list[str]:
    return list(FAMILIES)


def make_figures(name: str, model, split, *, meta: dict | None = None, seed: int = 0) -> list[Figure]:
    """Run family ``name`` on ``model`` and ``split``.

    Raises
    ------
    ValueError
        Unknown family (the valid names are listed).
    NotApplicable
        The family does not fit this model.
    """
    if name not in FAMILIES:
        raise ValueError(f"figure family must be one of {', '.join(map(repr, FAMILIES))} or 'all'. "
                         f"Got {name!r} instead.")
    module = importlib.import_module(f"{__name__}.{FAMILIES[name]}")
    return module.make(model, split, meta=meta, seed=seed)
