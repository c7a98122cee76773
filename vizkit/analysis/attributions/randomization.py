"""The model-randomization sanity check of Adebayo et al. (2018, "Sanity Checks for Saliency
Maps"), measured as the paper measures it.

:func:`randomization_check` computes the same maps for copies of the model whose layers are
re-initialized one by one from the top (:func:`cascade_layers`, :func:`randomized_copy`) and
compares every map with the trained model's (:func:`map_similarity`): Spearman rank correlation of
the signed maps, of the absolute maps, and SSIM of the absolute maps (scikit-image), each over the
whole map as drawn (a layer map summed over its channels). A control says how much a map follows
the input itself rather than the model (:func:`input_structure`): the Spearman correlation of the
absolute map with the input's ink and with its edge magnitude (Sobel), for the trained and for
every randomized model: Adebayo et al.'s edge-detector finding, that some methods draw the input's
outline whatever the weights. On a black background a map that is zero off the ink (input x
gradient, integrated gradients, DeepLIFT) agrees over the whole image with any map of that
footprint, so the absolute maps are compared on the ink pixels too (:func:`ink_pixels`), and
every number beside a null that shares the input's structure, ``|ink * noise|``
(:func:`noise_null`). :meth:`RandomizationCheck.persists` turns the numbers into what
survives full randomization: the sign, the magnitude (on the ink, beyond the null), or the
input's own structure; a method passes when nothing does. :func:`grad_cam_stages` says where
Grad-CAM's map comes to follow the ink. :func:`method_agreement` says when two methods draw the
same map.
"""

from __future__ import annotations

import copy
import re
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .attribute import Attribution, _method_names, attributions

__all__ = ["RandomizationCheck", "cascade_labels", "cascade_layers", "grad_cam_stages",
           "ink_pixels", "input_structure", "map_similarity", "method_agreement", "noise_null",
           "randomization_check", "randomized_copy", "rank_correlation", "PERSISTS"]

_RTOL = 1e-6  # below this share of a map's largest magnitude an element counts as zero
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)
#: What can survive full randomization, in the order :meth:`RandomizationCheck.persists` lists it:
#: the sign pattern (Spearman of signed maps >= threshold), the sign pattern reversed (<=
#: -threshold), the magnitude pattern (Spearman of absolute maps on the ink pixels >= threshold
#: and above the ``|ink * noise|`` null), the input's ink (the randomized map's control >=
#: input_threshold, or a whole-map agreement that the null reaches too) or its edges.
PERSISTS = ("sign", "reversed sign", "magnitude", "input ink", "input edges")
_MEASURES = ("spearman_signed", "spearman_abs", "ssim")
_NULLS = ("null_abs", "null_abs_ink", "null_ssim")
#: Noise draws per input of the null :func:`noise_null` (its numbers are their means).
N_NULL_DRAWS = 8


@dataclass
class RandomizationCheck:
    """What :func:`randomization_check` returns.

    Attributes
    ----------
    methods : tuple of str
    layers : tuple of str
        The cascade's steps, top first: after step ``k`` the layers ``layers[:k + 1]`` are
        re-initialized (a step also re-initializes the normalization layer right after it).
    labels : tuple of str
        A short name a student reads for each step's layer (``'conv2'``, ``'fc1'``;
        :func:`cascade_labels`).
    maps : dict of str to Tensor of shape (1 + len(layers), N, ...)
        Per method, the trained model's maps (index 0), then the maps after each step.
    spearman_signed, spearman_abs, ssim : ndarray of shape (len(methods), len(layers), N)
        Each step's maps against the trained model's (:func:`map_similarity`): Spearman rank
        correlation of the signed maps, of the absolute maps, SSIM of the absolute maps.
    input_ink, input_edges : ndarray of shape (len(methods), 1 + len(layers), N)
        The control (:func:`input_structure`): Spearman correlation of each absolute map with the
        input's ink and with its edge magnitude, for the trained model (index 0) and each step.
    signed : tuple of bool
        Per method, whether its maps carry a sign (the ``'sign'`` verdicts need one).
    threshold : float
        At or above it a Spearman correlation or SSIM with the trained maps says the sign or the
        magnitude persists.
    input_threshold : float
        At or above it the control says a randomized map follows the input's ink or edges.
    inputs : Tensor of shape (N, ...)
    targets : Tensor of shape (N,)
    seed : int
    trained : dict of str to Attribution
        The trained model's attributions (with their deltas and settings).
    spearman_abs_ink : ndarray of shape (len(methods), len(layers), N)
        Spearman correlation of the absolute maps with the trained model's on the input's ink
        only (:func:`ink_pixels`): the whole-map number of a map that is zero wherever the
        input is (input x gradient, integrated gradients on a black background) is held up
        by the shared zeros, whatever the map does on the ink. Computed from ``maps`` when
        not given.
    null_abs, null_abs_ink, null_ssim : ndarray of shape (len(methods), N)
        The null that shares the input's structure (:func:`noise_null`): the trained absolute
        map against ``|ink * noise|``, a map that knows nothing of any model; Spearman over the
        whole map, over the ink pixels, and SSIM. Computed from ``maps`` when not given.
    ink_share : ndarray of shape (len(methods), N)
        The share of each map's elements that lie on the input's ink.
    """

    methods: tuple
    layers: tuple
    labels: tuple
    maps: dict
    spearman_signed: np.ndarray
    spearman_abs: np.ndarray
    ssim: np.ndarray
    input_ink: np.ndarray
    input_edges: np.ndarray
    signed: tuple
    threshold: float
    input_threshold: float
    inputs: torch.Tensor
    targets: torch.Tensor
    seed: int
    trained: dict = field(default_factory=dict)
    spearman_abs_ink: np.ndarray | None = None
    null_abs: np.ndarray | None = None
    null_abs_ink: np.ndarray | None = None
    null_ssim: np.ndarray | None = None
    ink_share: np.ndarray | None = None

    def __post_init__(self):
        # the ink-pixel measure and the null, from the maps, where the caller did not give them
        if self.spearman_abs_ink is None:
            self.spearman_abs_ink = np.stack([np.stack(
                [map_similarity(self.maps[m][0], self.maps[m][k], inputs=self.inputs)
                 ["spearman_abs_ink"] for k in range(1, 1 + len(self.layers))])
                for m in self.methods])
        if self.null_abs is None or self.null_abs_ink is None or self.null_ssim is None:
            nulls = [noise_null(self.maps[m][0], self.inputs, seed=self.seed)
                     for m in self.methods]
            self.null_abs = np.stack([n["spearman_abs"] for n in nulls])
            self.null_abs_ink = np.stack([n["spearman_abs_ink"] for n in nulls])
            self.null_ssim = np.stack([n["ssim"] for n in nulls])
        if self.ink_share is None:
            self.ink_share = np.stack([ink_pixels(self.maps[m][0], self.inputs)
                                       .reshape(len(self.inputs), -1).mean(1)
                                       for m in self.methods])

    def mean(self, measure: str) -> np.ndarray:
        """The mean over the inputs (NaN ignored) of ``measure`` per method and step.

        Parameters
        ----------
        measure : {'spearman_signed', 'spearman_abs', 'ssim', 'spearman_abs_ink', \
'input_ink', 'input_edges', 'null_abs', 'null_abs_ink', 'null_ssim'}

        Returns
        -------
        ndarray of shape (len(methods), len(layers))
            For the control measures, of shape (len(methods), 1 + len(layers)): the trained
            model first; for the nulls, of shape (len(methods),).

        Raises
        ------
        ValueError
            An unknown measure (the valid ones are listed).
        """
        valid = _MEASURES + ("spearman_abs_ink", "input_ink", "input_edges") + _NULLS
        if measure not in valid:
            raise ValueError(f"`measure` must be one of {', '.join(map(repr, valid))}. "
                             f"Got {measure!r} instead.")
        return _nanmean(getattr(self, measure))

    def persists(self) -> dict:
        """Per method, what survives the full randomization (every layer re-initialized), as
        names of :data:`PERSISTS`, from the means over the inputs at the last step.

        ``'magnitude'`` needs the absolute maps to agree with the trained ones beyond what the
        input's structure alone gives: the Spearman correlation on the ink pixels at least
        ``threshold`` and above the null ``|ink * noise|`` (:func:`noise_null`) on
        every input; or the whole-map correlation or SSIM at least ``threshold`` where the
        null's stays below it. A whole-map number at least ``threshold`` that the null reaches
        too is the shared zero background of the input's ink: ``'input ink'``, as is a control
        (Spearman of the randomized absolute map with the ink) at least ``input_threshold``.

        Returns
        -------
        dict of str to tuple of str
            An empty tuple: the method passes (sign, magnitude and the input's structure are all
            lost).
        """
        out = {}
        for r, m in enumerate(self.methods):
            s, a, q, a_ink = (self.mean(k)[r, -1] for k in _MEASURES + ("spearman_abs_ink",))
            ink, edges = (self.mean(k)[r, -1] for k in ("input_ink", "input_edges"))
            n_abs, n_ssim = self.mean("null_abs")[r], self.mean("null_ssim")[r]
            tags = []
            if self.signed[r] and s >= self.threshold:
                tags.append("sign")
            if self.signed[r] and s <= -self.threshold:
                tags.append("reversed sign")
            whole = a >= self.threshold or q >= self.threshold
            beyond_null = ((a >= self.threshold and not n_abs >= self.threshold)
                           or (q >= self.threshold and not n_ssim >= self.threshold))
            if (a_ink >= self.threshold and self.beats_null(m)) or beyond_null:
                tags.append("magnitude")
            if ink >= self.input_threshold or (whole and "magnitude" not in tags):
                tags.append("input ink")
            if edges >= self.input_threshold:
                tags.append("input edges")
            out[m] = tuple(tags)
        return out

    def beats_null(self, method: str) -> bool:
        """Whether, with every layer re-initialized, the ink-pixel Spearman correlation of the
        absolute maps with the trained ones is above the null's (:func:`noise_null`) on every
        input where both are defined.

        Parameters
        ----------
        method : str
            One of ``methods``.

        Returns
        -------
        bool
            False where no input has both numbers.

        Raises
        ------
        ValueError
            A method the check does not hold.

        Examples
        --------
        >>> import torch
        >>> from torch import nn
        >>> lin = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
        >>> x = torch.zeros(2, 1, 4, 4)
        >>> x[:, 0, 1:3, 1:3] = torch.rand(2, 2, 2) + 0.5
        >>> chk = randomization_check(lin, x, target=0, methods="input_x_gradient", seed=1)
        >>> chk.beats_null("input_x_gradient") in (True, False)
        True
        """
        if method not in self.methods:
            raise ValueError(f"`method` must be one of {list(self.methods)}. Got {method!r} "
                             "instead.")
        r = self.methods.index(method)
        got, null = self.spearman_abs_ink[r, -1], self.null_abs_ink[r]
        ok = np.isfinite(got) & np.isfinite(null)
        return bool(ok.any() and (got[ok] > null[ok]).all())

    @property
    def passes(self) -> tuple:
        """The methods for which nothing persists (:meth:`persists` is empty)."""
        return tuple(m for m, p in self.persists().items() if not p)


def _nanmean(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return np.nanmean(a, axis=-1)


def randomization_check(model: nn.Module, inputs: torch.Tensor, *, target=None,
                        methods: str | Sequence[str] = ("saliency",), threshold: float = 0.5,
                        input_threshold: float = 0.5, layers: Sequence[str] | None = None,
                        seed: int = 0, **kwargs) -> RandomizationCheck:
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
        A mean (over the inputs) Spearman correlation of the signed or absolute maps, or SSIM,
        with the trained maps at least this once every layer is re-initialized says the sign
        or the magnitude persists (:meth:`RandomizationCheck.persists`).
    input_threshold : float, default=0.5
        A mean Spearman correlation of the fully randomized absolute maps with the input's ink
        or edges at least this says the maps follow the input itself.
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

    Raises
    ------
    ValueError
        A threshold outside [-1, 1], a model without layers to re-initialize, or (from
        :func:`attributions`) an unknown method, layer or target.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> chk = randomization_check(net, torch.rand(3, 4), target=0, methods="saliency")
    >>> chk.layers, chk.labels, chk.spearman_abs.shape, chk.input_ink.shape
    (('2', '0'), ('fc2', 'fc1'), (1, 2, 3), (1, 3, 3))
    """
    names = _method_names(methods)
    for label, t in (("threshold", threshold), ("input_threshold", input_threshold)):
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not -1.0 <= t <= 1.0:
            raise ValueError(f"`{label}` must be a number in [-1, 1]. Got {t!r} instead.")
    steps = tuple(cascade_layers(model) if layers is None else layers)
    if not steps:
        raise ValueError(f"{type(model).__name__} has no layer with parameters to re-initialize.")
    trained = attributions(model, inputs, target=target, methods=list(names), seed=seed, **kwargs)
    targets = trained[names[0]].targets
    x = trained[names[0]].inputs
    per_step = [trained]
    for k in range(len(steps)):
        rand = randomized_copy(model, layers=steps[:k + 1], seed=seed)
        per_step.append(attributions(rand, inputs, target=targets, methods=list(names),
                                     seed=seed, **kwargs))
    maps = {m: torch.stack([r[m].maps for r in per_step]) for m in names}
    sims = {k: np.zeros((len(names), len(steps), len(x))) for k in _MEASURES}
    ctrl = {k: np.zeros((len(names), 1 + len(steps), len(x))) for k in ("ink", "edges")}
    for r, m in enumerate(names):
        for k in range(len(per_step)):
            for c, v in input_structure(maps[m][k], x).items():
                ctrl[c][r, k] = v
            if k:
                for name, v in map_similarity(maps[m][0], maps[m][k]).items():
                    sims[name][r, k - 1] = v
    return RandomizationCheck(
        methods=names, layers=steps, labels=tuple(cascade_labels(model, steps)), maps=maps,
        **sims, input_ink=ctrl["ink"], input_edges=ctrl["edges"],
        signed=tuple(bool(trained[m].signed) for m in names), threshold=float(threshold),
        input_threshold=float(input_threshold), inputs=x, targets=targets, seed=seed,
        trained=trained)


def map_similarity(reference, maps, *, inputs=None) -> dict:
    """How alike two sets of maps are, as Adebayo et al. (2018) measure it, one value per example.

    Each map is taken as drawn: a ``[C, H, W]`` map summed over its channels.

    Parameters
    ----------
    reference, maps : Tensor, ndarray or Attribution, of shape (N, ...)
        The trained model's maps and the maps to compare with them.
    inputs : Tensor or ndarray of shape (N, C, H, W), default=None
        The inputs the maps explain: adds ``'spearman_abs_ink'``.

    Returns
    -------
    dict of str to ndarray of shape (N,)
        ``'spearman_abs_ink'`` (with ``inputs``): Spearman rank correlation of the absolute maps
        on the elements over the input's ink only (:func:`ink_pixels`; NaN where fewer than two);
        ``'spearman_signed'``: Spearman rank correlation of the signed maps (whole map);
        ``'spearman_abs'``: the same for the absolute maps; ``'ssim'``: the structural similarity
        (:func:`skimage.metrics.structural_similarity`, 7x7 windows or the largest odd size that
        fits, NaN below 3) of the absolute maps each divided by its largest value, over the range
        of the two together (Quantus's convention).

    Raises
    ------
    ValueError
        Maps of different shapes.

    Examples
    --------
    >>> import torch
    >>> a = torch.arange(64.0).reshape(1, 8, 8) - 20
    >>> {k: v.round(2).tolist() for k, v in map_similarity(a, -a).items()}
    {'spearman_signed': [-1.0], 'spearman_abs': [1.0], 'ssim': [1.0]}

    Two maps zero off the ink that rank the ink pixels in opposite orders agree over the whole
    map (the shared zeros) and disagree on the ink:

    >>> x = torch.zeros(1, 1, 8, 8)
    >>> x[0, 0, 2:6, 3:5] = 1.0
    >>> up = x[:, 0] * torch.arange(1.0, 65.0).reshape(1, 8, 8)
    >>> sims = map_similarity(up, x[:, 0] * 65 - up, inputs=x)
    >>> round(float(sims["spearman_abs"][0]), 2), round(float(sims["spearman_abs_ink"][0]), 2)
    (0.99, -1.0)
    """
    a, b = _planes(reference), _planes(maps)
    if a.shape != b.shape:
        raise ValueError(f"`reference` and `maps` must have the same shape. Got {a.shape} and "
                         f"{b.shape} (summed over channels).")
    fa, fb = a.reshape(len(a), -1), b.reshape(len(b), -1)
    out = {"spearman_signed": _spearman_rows(fa, fb),
           "spearman_abs": _spearman_rows(np.abs(fa), np.abs(fb)),
           "ssim": np.array([_ssim(np.abs(p), np.abs(q)) for p, q in zip(a, b)])}
    if inputs is not None:
        keep = ink_pixels(a, inputs).reshape(len(a), -1)
        out["spearman_abs_ink"] = _masked_spearman(np.abs(fa), np.abs(fb), keep)
    return out


def ink_pixels(maps, inputs, *, rtol: float = _RTOL) -> np.ndarray:
    """Which elements of each map lie over the input's ink (``|x|`` summed over channels, taken
    to the map's resolution as in :func:`input_structure`, above ``rtol`` times its largest).

    Parameters
    ----------
    maps : Tensor, ndarray or Attribution, of shape (N, ...)
    inputs : Tensor or ndarray of shape (N, C, H, W)
    rtol : float, default=1e-6

    Returns
    -------
    ndarray of bool, of the shape of the maps summed over channels (N, h, w)

    Raises
    ------
    ValueError
        Maps and inputs of different lengths.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(1, 1, 4, 4)
    >>> x[0, 0, 1, 1:3] = 1.0
    >>> ink_pixels(x, x).sum(), ink_pixels(torch.zeros(1, 3, 2, 2), x).astype(int).tolist()
    (np.int64(2), [[[1, 1], [0, 0]]])
    """
    m = _planes(maps)
    ink = _ink_planes(m.shape, inputs)
    top = ink.reshape(len(ink), -1).max(1).reshape(-1, 1, 1)
    return ink > rtol * top


def noise_null(reference, inputs, *, seed: int = 0, n_draws: int = N_NULL_DRAWS) -> dict:
    """A null for the randomization check that shares the input's structure: the trained
    absolute maps against ``|ink * noise|`` (the input's ink, at the map's resolution, times
    seeded Gaussian noise), a map that knows nothing of any model.

    On a black background a map that is zero off the ink (input x gradient, integrated
    gradients, DeepLIFT) agrees with *any* such map over the whole image; a number that this
    null reaches says nothing about the model.

    Parameters
    ----------
    reference : Tensor, ndarray or Attribution, of shape (N, ...)
        The trained model's maps.
    inputs : Tensor or ndarray of shape (N, C, H, W)
    seed : int, default=0
    n_draws : int, default=8
        Noise draws per input; the numbers are their means.

    Returns
    -------
    dict of str to ndarray of shape (N,)
        ``'spearman_abs'``: Spearman correlation over the whole map; ``'spearman_abs_ink'``: on
        the ink pixels (:func:`ink_pixels`); ``'ssim'``: SSIM as in :func:`map_similarity`.

    Raises
    ------
    ValueError
        Maps and inputs of different lengths, or ``n_draws`` below 1.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(2, 1, 8, 8)
    >>> x[:, 0, 2:6, 3:5] = 1.0
    >>> null = noise_null(x * torch.rand(2, 1, 8, 8), x, seed=0)
    >>> bool(null["spearman_abs"].min() > 0.5), bool(abs(null["spearman_abs_ink"]).max() < 0.6)
    (True, True)
    """
    if not isinstance(n_draws, int) or isinstance(n_draws, bool) or n_draws < 1:
        raise ValueError(f"`n_draws` must be an int >= 1. Got {n_draws!r} instead.")
    a = np.abs(_planes(reference))
    ink = _ink_planes(a.shape, inputs)
    keep = ink_pixels(a, inputs).reshape(len(a), -1)
    rng = np.random.default_rng(seed)
    fa = a.reshape(len(a), -1)
    out = {"spearman_abs": [], "spearman_abs_ink": [], "ssim": []}
    for _ in range(n_draws):
        noise = np.abs(ink * rng.standard_normal(ink.shape))
        fn = noise.reshape(len(a), -1)
        out["spearman_abs"].append(_spearman_rows(fa, fn))
        out["spearman_abs_ink"].append(_masked_spearman(fa, fn, keep))
        out["ssim"].append([_ssim(p, q) for p, q in zip(a, noise)])
    return {k: _nanmean(np.asarray(v, dtype=float).T) for k, v in out.items()}


def grad_cam_stages(model: nn.Module, inputs: torch.Tensor, *, target, layer: str,
                    seed: int = 0) -> dict:
    """Where Grad-CAM's map comes to follow the input's ink: the control of
    :func:`input_structure` (Spearman of the absolute map with the ink) at each stage of
    Grad-CAM, for the trained model and for a copy with every layer re-initialized.

    Parameters
    ----------
    model : nn.Module
    inputs : Tensor of shape (N, C, H, W)
    target : int, sequence of int or Tensor
        The class explained per input.
    layer : str
        The dotted name of the layer Grad-CAM reads.
    seed : int, default=0
        Seeds the new weights (:func:`randomized_copy`).

    Returns
    -------
    dict of str to ndarray
        Of shape (2, N): row 0 the trained model, row 1 the re-initialized one. ``'raw'``: the
        weighted sum of the layer's channels at the layer's resolution, before Grad-CAM's ReLU;
        ``'relu'``: after it; ``'stretched'``: after the bilinear stretch to the input's size (the map as drawn);
        and ``'shape'``, the layer's (h, w).

    Raises
    ------
    ValueError
        A layer the model does not have, or one whose output is not [N, C, h, w].

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(),
    ...                     nn.Linear(32, 2))
    >>> stages = grad_cam_stages(net, torch.rand(3, 1, 4, 4), target=0, layer="1")
    >>> sorted(stages), stages["raw"].shape, stages["shape"].tolist()
    (['raw', 'relu', 'shape', 'stretched'], (2, 3), [4, 4])
    """
    from captum.attr import LayerAttribution, LayerGradCam

    named = dict(model.named_modules())
    if layer not in named:
        raise ValueError(f"`layer` must name a submodule of the model (one of "
                         f"{[n for n in named if n]}). Got {layer!r} instead.")
    x = _as_numpy(inputs)
    x = torch.as_tensor(x, dtype=torch.float32)
    target = torch.as_tensor(target).expand(len(x)) if torch.as_tensor(target).ndim == 0 \
        else torch.as_tensor(target)
    out = {k: np.zeros((2, len(x))) for k in ("raw", "relu", "stretched")}
    for row, net in enumerate((model, randomized_copy(model, seed=seed))):
        was = net.training
        net.eval()
        try:
            cam = LayerGradCam(net, dict(net.named_modules())[layer]).attribute(
                x.clone().requires_grad_(True), target=target, relu_attributions=False).detach()
        finally:
            net.train(was)
        if cam.ndim != 4:
            raise ValueError(f"`layer` must give [N, C, h, w] outputs. Got {list(cam.shape)}.")
        shape = tuple(cam.shape[-2:])
        relu = cam.clamp_min(0)
        stretched = LayerAttribution.interpolate(relu, tuple(x.shape[-2:]),
                                                 interpolate_mode="bilinear")
        for k, m in (("raw", cam), ("relu", relu), ("stretched", stretched)):
            out[k][row] = input_structure(m, x)["ink"]
    out["shape"] = np.asarray(shape)
    return out


def _ink_planes(shape, inputs) -> np.ndarray:
    """The input's ink (|x| summed over channels) at the resolution of maps of ``shape``."""
    x = _as_numpy(inputs)
    if len(x) != shape[0]:
        raise ValueError(f"`maps` and `inputs` must have the same length. Got {shape[0]} and "
                         f"{len(x)}.")
    ink = _planes(np.abs(x))
    if ink.shape[1:] != tuple(shape[1:]):
        t = torch.as_tensor(ink)[:, None]
        size = tuple(shape[1:])
        t = (torch.nn.functional.adaptive_avg_pool2d(t, size)
             if all(s <= i for s, i in zip(size, ink.shape[1:]))
             else torch.nn.functional.interpolate(t, size=size, mode="bilinear"))
        ink = t[:, 0].numpy()
    return ink


def _masked_spearman(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Spearman of each row of ``a`` with ``b`` over the elements ``keep`` (NaN below two)."""
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        if keep[i].sum() >= 2:
            out[i] = _spearman_rows(a[i][None, keep[i]], b[i][None, keep[i]])[0]
    return out


def input_structure(maps, inputs) -> dict:
    """The control of Adebayo et al. (2018): how much each map follows the input itself.

    Parameters
    ----------
    maps : Tensor, ndarray or Attribution, of shape (N, ...)
        Input maps ``[N, C, H, W]`` or layer maps ``[N, C', h, w]`` (summed over channels; the
        input's ink is averaged down, or stretched up, to ``h x w``).
    inputs : Tensor or ndarray of shape (N, C, H, W)

    Returns
    -------
    dict of str to ndarray of shape (N,)
        ``'ink'``: Spearman correlation of the absolute map with the input's ink (``|x|`` summed
        over channels); ``'edges'``: with the ink's edge magnitude
        (:func:`skimage.filters.sobel`).

    Raises
    ------
    ValueError
        Maps and inputs of different lengths.

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(1, 1, 8, 8)
    >>> x[0, 0, 2:6, 3:5] = 1.0
    >>> {k: v.round(2).tolist() for k, v in input_structure(3 * x, x).items()}
    {'ink': [1.0], 'edges': [0.64]}
    """
    from skimage.filters import sobel

    m = np.abs(_planes(maps))
    ink = _ink_planes(m.shape, inputs)
    edges = np.stack([sobel(i) for i in ink])
    flat = m.reshape(len(m), -1)
    return {"ink": _spearman_rows(flat, ink.reshape(len(m), -1)),
            "edges": _spearman_rows(flat, edges.reshape(len(m), -1))}


def method_agreement(results: Mapping) -> dict:
    """Spearman rank correlation between the signed maps of every two methods, per example.

    Two views that coincide (near 1) show one thing twice: draw it once and say so.

    Parameters
    ----------
    results : mapping of str to Attribution
        Attributions of the same inputs (as :func:`attributions` returns for several methods).

    Returns
    -------
    dict of (str, str) to ndarray of shape (N,)
        For each pair in the mapping's order whose maps (summed over channels) have the same
        shape.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lin = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> res = attributions(lin, torch.rand(2, 1, 2, 2), target=0,
    ...                    methods=["integrated_gradients", "input_x_gradient", "saliency"])
    >>> {k: v.round(3).tolist() for k, v in method_agreement(res).items()}[
    ...     ("integrated_gradients", "input_x_gradient")]
    [1.0, 1.0]
    """
    names = list(results)
    planes = {m: _planes(results[m]) for m in names}
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pa, pb = planes[a], planes[b]
            if pa.shape == pb.shape:
                out[(a, b)] = _spearman_rows(pa.reshape(len(pa), -1), pb.reshape(len(pb), -1))
    return out


def cascade_labels(model: nn.Module, layers: Sequence[str]) -> list[str]:
    """Names a student reads for the cascade's layers: ``'conv2'`` for the second ``nn.Conv2d``
    from the input, ``'fc1'`` for the first ``nn.Linear``; else the layer's type.

    Parameters
    ----------
    model : nn.Module
    layers : sequence of str
        Dotted names of ``model.named_modules()``.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2, 3))
    >>> cascade_labels(net, ["3", "0"])
    ['fc1', 'conv1']
    """
    kinds = {nn.Conv1d: "conv", nn.Conv2d: "conv", nn.Conv3d: "conv", nn.Linear: "fc"}
    count: dict[str, int] = {}
    names = {}
    for name, m in model.named_modules():
        kind = kinds.get(type(m))
        if kind is None:
            names[name] = re.sub(r"(?<!^)(?=[A-Z])", " ", type(m).__name__).lower()
            continue
        count[kind] = count.get(kind, 0) + 1
        names[name] = f"{kind}{count[kind]}"
    return [names.get(n, n) for n in layers]


def cascade_layers(model: nn.Module) -> list[str]:
    """The layers re-initialized one by one in the randomization check, top (output) first.

    Every module with parameters of its own, in reverse ``named_modules()`` order, except that a
    normalization layer (BatchNorm, LayerNorm, GroupNorm) goes with the layer before it.

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    list of str
        Dotted names of ``model.named_modules()``, top first.

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

    Returns
    -------
    nn.Module
        The copy.

    Raises
    ------
    ValueError
        A name in ``layers`` that is not a submodule of the model.

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

    Raises
    ------
    ValueError
        An unknown ``over``, or maps of different shapes.

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


def _planes(maps) -> np.ndarray:
    """Maps as drawn: (N, H, W), a [C, H, W] map summed over its channels, a flat map one row."""
    a = _as_numpy(maps)
    if a.ndim == 4:
        return a.sum(1)
    if a.ndim == 3:
        return a
    return a.reshape(a.shape[0], 1, -1)


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    a = a / a.max() if a.max() > 0 else a
    b = b / b.max() if b.max() > 0 else b
    side = min(a.shape)
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return float("nan")
    both = np.concatenate([a.ravel(), b.ravel()])
    rng = float(both.max() - both.min())
    return float(structural_similarity(a, b, win_size=win, data_range=rng if rng > 0 else 1.0))


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
