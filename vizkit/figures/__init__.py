"""Figure families: one module per family, and the registry that lists them.

A figure family is the unit of vizkit. Family ``decision-surface`` is the module
:mod:`vizkit.figures.decision_surface` (``-`` in a family name is ``_`` in module names), which
declares

* ``NAME``: the family's name (``vizkit analyze --what``, ``ctx.family`` in a recipe);
* ``applies(model, split)``: ``None`` when the family fits the model, else the reason in words a
  user can act on;
* ``figures(model, split, *, meta=None, seed=0)``: the composition, asking
  :mod:`vizkit.analysis` for numbers and :mod:`vizkit.plot` for drawings, into captioned
  :class:`Figure` objects with the arrays they draw (or :class:`NotApplicable`).

The Displays of the expensive views live in their family's module and are re-exported here
(:class:`DecisionSurfaceDisplay`, :class:`BottleneckDisplay`, :class:`EmbeddingDisplay`,
scikit-learn's idea): ``from_model(model, data, ...)`` computes once, ``plot(ax=None, ...)``
draws again.

:data:`FAMILIES` is the one list of these modules: the CLI's ``--what`` choices and help, the
gallery's ``ctx.family``, :func:`list_families` and the README's family table all read it. A new
family is one new module added to it. :func:`write_figures` is the one way figures become files
(``vizkit analyze`` and the gallery both use it).

Examples
--------
>>> list_families()[:3]
['weights', 'receptive-fields', 'actmax']
>>> get_family("decision-surface").__name__
'vizkit.figures.decision_surface'
"""

from __future__ import annotations

from types import ModuleType

from ..plot.figure import Figure, NotApplicable
from . import (actmax, attributions, bottleneck, decision_surface, embedding, errors, faithfulness,
               feature_maps, over_training, receptive_fields, weights)
from ._write import WrittenFigure, close_figure, unique_stem, write_figure, write_figures
from .bottleneck import BottleneckDisplay
from .decision_surface import DecisionSurfaceDisplay
from .embedding import EmbeddingDisplay

__all__ = ["Figure", "NotApplicable", "FAMILIES", "list_families", "get_family", "make_figures",
           "write_figures", "write_figure", "WrittenFigure", "unique_stem", "close_figure",
           "DecisionSurfaceDisplay", "BottleneckDisplay", "EmbeddingDisplay"]

#: Family name → family module, in the order ``vizkit analyze --what all`` runs them.
FAMILIES: dict[str, ModuleType] = {m.NAME: m for m in (
    weights, receptive_fields, actmax, bottleneck, decision_surface, errors, attributions,
    faithfulness, embedding, feature_maps, over_training)}


def list_families() -> list[str]:
    """The figure family names, in the order ``vizkit analyze --what all`` runs them.

    Returns
    -------
    list of str
        The keys of :data:`FAMILIES` (a new list each call).

    Examples
    --------
    >>> names = list_families()
    >>> names[0], "decision-surface" in names, len(names) == len(FAMILIES)
    ('weights', True, True)
    """
    return list(FAMILIES)


def get_family(name: str) -> ModuleType:
    """The module of family ``name`` (``NAME``, ``applies``, ``figures``).

    Parameters
    ----------
    name : str
        One of :func:`list_families` (with ``-``, as the CLI spells it).

    Returns
    -------
    types.ModuleType
        The family's module in :mod:`vizkit.figures`.

    Raises
    ------
    ValueError
        Unknown family (the valid names are listed).

    Examples
    --------
    >>> family = get_family("decision-surface")
    >>> family.NAME, family.__name__
    ('decision-surface', 'vizkit.figures.decision_surface')
    >>> get_family("decision_surface")
    Traceback (most recent call last):
    ...
    ValueError: figure family must be one of 'weights', 'receptive-fields', ... Got 'decision_surface' instead.
    """
    if name not in FAMILIES:
        raise ValueError(f"figure family must be one of {', '.join(map(repr, FAMILIES))} or 'all'. "
                         f"Got {name!r} instead.")
    return FAMILIES[name]


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

    Examples
    --------
    A linear model on tiny 4x4 images (three classes), untrained: the ``weights`` family draws
    each class score's weights as an image.

    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> from vizkit.models import PTDeep
    >>> x = torch.rand(12, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    >>> y = torch.arange(12) % 3
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b", "c"), (1, 4, 4), fingerprint(x, y))
    >>> _ = torch.manual_seed(0)
    >>> [figure] = make_figures("weights", PTDeep([16, 3]), split)
    >>> figure.id, figure.data["images"].shape, figure.data["class_names"].tolist()
    ('weights', (3, 4, 4), ['a', 'b', 'c'])
    >>> make_figures("weights", PTDeep([16, 8, 3]), split)  # a hidden layer: no weight images
    Traceback (most recent call last):
    ...
    vizkit.plot.figure.NotApplicable: PTDeep has no single linear input->class map ...
    """
    return get_family(name).figures(model, split, meta=meta, seed=seed)
