"""The figure registry: family name → the function that makes its captioned figures.

A figure family is the unit of vizkit: family ``decision-surface`` computes in
:mod:`vizkit.analysis.decision_surface`, draws in :mod:`vizkit.plot.decision_surface`, and its
``figures(model, split, *, meta=None, seed=0)`` there composes the two into the finished
:class:`~vizkit.plot.figure.Figure` objects that ``vizkit analyze`` writes and the gallery shows.
:data:`FAMILIES` is the explicit table of those functions, keyed by the names of
``vizkit analyze --what`` (``-`` in a family name is ``_`` in its module names).

Examples
--------
>>> list_families()[:3]
['weights', 'receptive-fields', 'actmax']
"""

from __future__ import annotations

from typing import Callable

from .plot.actmax import figures as _actmax
from .plot.attributions import figures as _attributions
from .plot.bottleneck import figures as _bottleneck
from .plot.decision_surface import figures as _decision_surface
from .plot.embedding import figures as _embedding
from .plot.errors import figures as _errors
from .plot.feature_maps import figures as _feature_maps
from .plot.figure import Figure, NotApplicable
from .plot.receptive_fields import figures as _receptive_fields
from .plot.weights import figures as _weights

__all__ = ["Figure", "NotApplicable", "FAMILIES", "list_families", "make_figures"]

#: ``vizkit analyze --what`` name → ``vizkit.plot.<family>.figures``.
FAMILIES: dict[str, Callable[..., list[Figure]]] = {
    "weights": _weights,
    "receptive-fields": _receptive_fields,
    "actmax": _actmax,
    "bottleneck": _bottleneck,
    "decision-surface": _decision_surface,
    "errors": _errors,
    "attributions": _attributions,
    "embedding": _embedding,
    "feature-maps": _feature_maps,
}


def list_families() -> list[str]:
    """The figure family names, in the order ``vizkit analyze --what all`` runs them."""
    return list(FAMILIES)


def make_figures(name: str, model, split, *, meta: dict | None = None,
                 seed: int = 0) -> list[Figure]:
    """Run family ``name`` on ``model`` and ``split``.

    Parameters
    ----------
    name : str
        One of :func:`list_families`.
    model : nn.Module or estimator
        The trained model.
    split : vizkit.data.Split
        The data it was trained on (its test part is drawn).
    meta : dict, optional
        The checkpoint's metadata (``meta['history']`` adds learning curves to ``errors``).
    seed : int, default=0
        Seed of every random choice the family makes.

    Returns
    -------
    list of Figure

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
    return FAMILIES[name](model, split, meta=meta, seed=seed)
