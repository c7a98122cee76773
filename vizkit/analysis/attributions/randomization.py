"""The model-randomization sanity check of Adebayo et al. (2018, "Sanity Checks for Saliency
Maps").

:func:`randomization_check` computes the same maps for copies of the model whose layers are
re-initialized one by one from the top (:func:`cascade_layers`, :func:`randomized_copy`) and
compares them with the trained model's maps by Spearman rank correlation of the absolute maps
(:func:`rank_correlation`) over the elements where either map is non-zero: elements that are zero
in both (the black background of a digit under input x gradient, ReLU units that are off in a
layer below the re-initialized ones) would otherwise tie and keep the whole-map correlation near 1
whatever the rest does. A method whose maps barely change when the weights do cannot be
explaining what the model learned.
"""

from __future__ import annotations

import copy
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .attribute import Attribution, _method_names, attributions

__all__ = ["RandomizationCheck", "cascade_layers", "randomization_check", "randomized_copy",
           "rank_correlation"]

_RTOL = 1e-6  # below this share of a map's largest magnitude an element counts as zero
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


@dataclass
class RandomizationCheck:
    """What :func:`randomization_check` returns.

    Attributes
    ----------
    methods : tuple of str
    layers : tuple of str
        The cascade's steps, top first: after step ``k`` the layers ``layers[:k + 1]`` are
        re-initialized (a step also re-initializes the normalization layer right after it).
    maps : dict of str to Tensor of shape (1 + len(layers), N, ...)
        Per method, the trained model's maps (index 0), then the maps after each step.
    correlations : ndarray of shape (len(methods), len(layers), N)
        Spearman rank correlation of the absolute maps after each step with the trained model's,
        over the elements where either map is non-zero (``rank_correlation(..., over='nonzero')``;
        NaN where both maps are zero nearly everywhere). The measure :attr:`unchanged` uses.
    whole_correlations : ndarray of shape (len(methods), len(layers), N)
        The same over the whole map (Adebayo et al.'s measure), which elements that are zero in
        both maps (black background, ReLU units that are off) hold up.
    threshold : float
    inputs : Tensor of shape (N, ...)
    targets : Tensor of shape (N,)
    seed : int
    trained : dict of str to Attribution
        The trained model's attributions (with their deltas and settings).
    """

    methods: tuple
    layers: tuple
    maps: dict
    correlations: np.ndarray
    whole_correlations: np.ndarray
    threshold: float
    inputs: torch.Tensor
    targets: torch.Tensor
    seed: int
    trained: dict = field(default_factory=dict)

    @property
    def final(self) -> np.ndarray:
        """Mean (over the inputs, NaN ignored) of :attr:`correlations` after every layer is
        re-initialized, per method."""
        return _nanmean(self.correlations[:, -1])

    @property
    def final_whole(self) -> np.ndarray:
        """The same mean for :attr:`whole_correlations`."""
        return _nanmean(self.whole_correlations[:, -1])

    @property
    def shared_zeros(self) -> np.ndarray:
        """Per method, the share of elements (over all inputs) that are zero in both the trained
        and the fully re-initialized absolute maps: what holds :attr:`whole_correlations` up."""
        out = []
        for m in self.methods:
            a, b = (_as_numpy(self.maps[m][k]).reshape(len(self.inputs), -1) for k in (0, -1))
            za = np.stack([~_nonzero(r, _RTOL) for r in a])
            zb = np.stack([~_nonzero(r, _RTOL) for r in b])
            out.append(float((za & zb).mean()))
        return np.asarray(out)

    @property
    def unchanged(self) -> tuple:
        """The methods whose maps barely change: :attr:`final` >= ``threshold``."""
        return tuple(m for m, c in zip(self.methods, self.final) if c >= self.threshold)


def _nanmean(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return np.nanmean(a, axis=-1)


def randomization_check(model: nn.Module, inputs: torch.Tensor, *, target=None,
                        methods: str | Sequence[str] = ("saliency",), threshold: float = 0.5,
                        layers: Sequence[str] | None = None, seed: int = 0,
                        **kwargs) -> RandomizationCheck:
    """The cascading model-randomization test of Adebayo et al. (2018) for ``methods``.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor of shape (N, ...)
    target : int, sequence of int, Tensor or None, default=None
        As in :func:`attributions`; ``None`` fixes the trained model's predictions, so every
        copy explains the same classes.
    methods : str or sequence of str, default=('saliency',)
    threshold : float, default=0.5
        A method whose mean rank correlation over the non-zero elements
        (:attr:`RandomizationCheck.correlations`) after every layer is re-initialized is still
        at least this is listed in :attr:`RandomizationCheck.unchanged`.
    layers : sequence of str, default=None
        The cascade, top first; ``None`` means :func:`cascade_layers` of the model.
    seed : int, default=0
        Seeds the new weights (layer by layer, so a layer gets the same new weights at every
        step) and the methods' own randomness.
    **kwargs
        Passed to :func:`attributions` (``n_steps``, ``layer``, ``baseline``, ...).

    Returns
    -------
    RandomizationCheck

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> chk = randomization_check(net, torch.rand(3, 4), target=0, methods="saliency")
    >>> chk.layers, chk.correlations.shape
    (('2', '0'), (1, 2, 3))
    """
    names = _method_names(methods)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) \
            or not -1.0 <= threshold <= 1.0:
        raise ValueError(f"`threshold` must be a number in [-1, 1]. Got {threshold!r} instead.")
    steps = tuple(cascade_layers(model) if layers is None else layers)
    if not steps:
        raise ValueError(f"{type(model).__name__} has no layer with parameters to re-initialize.")
    trained = attributions(model, inputs, target=target, methods=list(names), seed=seed, **kwargs)
    targets = trained[names[0]].targets
    per_step = [trained]
    for k in range(len(steps)):
        rand = randomized_copy(model, layers=steps[:k + 1], seed=seed)
        per_step.append(attributions(rand, inputs, target=targets, methods=list(names),
                                     seed=seed, **kwargs))
    maps = {m: torch.stack([r[m].maps for r in per_step]) for m in names}
    corr = {over: np.array([[rank_correlation(maps[m][0].abs(), maps[m][k].abs(), over=over)
                             for k in range(1, len(per_step))] for m in names]).reshape(
                                 len(names), len(steps), -1)
            for over in ("nonzero", "all")}
    return RandomizationCheck(methods=names, layers=steps, maps=maps, correlations=corr["nonzero"],
                              whole_correlations=corr["all"],
                              threshold=float(threshold), inputs=trained[names[0]].inputs,
                              targets=targets, seed=seed, trained=trained)


def cascade_layers(model: nn.Module) -> list[str]:
    """The layers re-initialized one by one in the randomization check, top (output) first.

    Every module with parameters of its own, in reverse ``named_modules()`` order, except that a
    normalization layer (BatchNorm, LayerNorm, GroupNorm) goes with the layer before it.

    Examples
    --------
    >>> from torch import nn
    >>> cascade_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(),
    ...                              nn.Flatten(), nn.Linear(2, 3)))
    ['4', '0']
    """
    names = []
    for name, m in model.named_modules():
        if not any(True for _ in m.parameters(recurse=False)):
            continue
        if isinstance(m, _NORMS) and names:
            continue
        names.append(name)
    return names[::-1]


def randomized_copy(model: nn.Module, *, layers: Sequence[str] | None = None,
                    seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` with parameters re-initialized (the caller's model is untouched).

    Modules with ``reset_parameters`` (Linear, Conv, BatchNorm, ...) are reset; any other parameter
    is redrawn from a normal distribution with its current standard deviation. Used for the model
    randomization test of Adebayo et al. (2018): a faithful attribution changes with the weights.

    Parameters
    ----------
    model : nn.Module
    layers : sequence of str, default=None
        Re-initialize only these modules (dotted names, with their submodules and, for a name of
        :func:`cascade_layers`, the normalization layer that goes with it); ``None`` means all.
    seed : int, default=0
        Seeds the new weights, per module (a module gets the same new weights whichever other
        modules are re-initialized with it); the global random state is put back afterwards.

    Examples
    --------
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    >>> r = randomized_copy(m, layers=["1"], seed=1)
    >>> bool((r[1].weight != m[1].weight).any()), bool((r[0].weight == m[0].weight).all())
    (True, True)
    """
    new = copy.deepcopy(model)
    named = dict(new.named_modules())
    chosen = _with_norms(new, layers, named)
    covered = set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        for name, m in named.items():
            if not any(name == c or name.startswith(c + ".") or c == "" for c in chosen):
                continue
            torch.manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
            if hasattr(m, "reset_parameters") and callable(m.reset_parameters):
                m.reset_parameters()
            for p in m.parameters(recurse=False):
                if id(p) not in covered and not hasattr(m, "reset_parameters"):
                    std = float(p.std()) if p.numel() > 1 else 1.0
                    p.normal_(0.0, std if std > 0 else 0.01)
                covered.add(id(p))
    return new


def rank_correlation(a, b, *, over: str = "all", rtol: float = _RTOL) -> np.ndarray:
    """Spearman rank correlation between two sets of maps, one value per example.

    Parameters
    ----------
    a, b : Tensor, ndarray or Attribution, of shape (N, ...)
    over : {'all', 'nonzero'}, default='all'
        ``'all'``: every element of the map. ``'nonzero'``: only the elements where *either* map
        is non-zero (``|value| > rtol * max |map|``, per map): elements that are zero in both
        (a black background under input x gradient, ReLU units that are off) are tied in both
        rankings and hold a whole-map correlation up whatever the rest of the maps do. Two maps
        whose non-zero elements lie in different places come out negative.
    rtol : float, default=1e-6
        What counts as zero with ``over='nonzero'``, relative to each map's largest magnitude.

    Returns
    -------
    ndarray of shape (N,)
        0 where one ranking is constant; with ``over='nonzero'``, NaN where fewer than two
        elements are non-zero in either map.

    Examples
    --------
    >>> import torch
    >>> rank_correlation(torch.tensor([[1., 2., 3.]]), torch.tensor([[10., 20., 30.]]))
    array([1.])
    >>> a = torch.tensor([[0., 0., 0., 0., 0., 0., 1., 2., 3.]])
    >>> b = torch.tensor([[0., 0., 0., 0., 0., 0., 3., 2., 1.]])
    >>> rank_correlation(a, b).round(2), rank_correlation(a, b, over="nonzero")
    (array([0.91]), array([-1.]))
    """
    if over not in ("all", "nonzero"):
        raise ValueError(f"`over` must be one of 'all', 'nonzero'. Got {over!r} instead.")
    a, b = (_as_numpy(v) for v in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must have the same shape. Got {a.shape} and {b.shape}.")
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    if over == "all":
        return _spearman_rows(a, b)
    out = np.full(a.shape[0], np.nan)
    for i, (ai, bi) in enumerate(zip(a, b)):
        keep = _nonzero(ai, rtol) | _nonzero(bi, rtol)
        if keep.sum() >= 2:
            out[i] = _spearman_rows(ai[None, keep], bi[None, keep])[0]
    return out


def _nonzero(v: np.ndarray, rtol: float) -> np.ndarray:
    return np.abs(v) > rtol * float(np.abs(v).max(initial=0.0))


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of ``a`` with the same row of ``b`` (average ranks for ties)."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    den = np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    return np.where(den > 0, (ra * rb).sum(1) / np.where(den > 0, den, 1.0), 0.0)


def _with_norms(model, layers, named) -> list[str]:
    """``layers`` plus, for each, the normalization layer that follows it (as in the cascade)."""
    if layers is None:
        return [""]
    order = [n for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
    out = []
    for name in layers:
        if not isinstance(name, str) or name not in named:
            raise ValueError(f"`layers` must name submodules of the model (cascade_layers(model) "
                             f"lists {cascade_layers(model)}). Got {name!r} instead.")
        out.append(name)
        i = order.index(name) if name in order else -1
        if 0 <= i < len(order) - 1 and isinstance(named[order[i + 1]], _NORMS):
            out.append(order[i + 1])
    return out


def _as_numpy(v) -> np.ndarray:
    if isinstance(v, Attribution):
        v = v.maps
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)
