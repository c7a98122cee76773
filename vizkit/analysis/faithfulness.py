"""Faithfulness of attribution maps: deletion and insertion curves (pixel flipping).

A map is faithful when the pixels it ranks highest are the ones the model needs. Deletion
(Bach et al., 2015, "pixel flipping"; Samek et al., 2017) replaces the most-attributed pixels by a
baseline first, in steps, and follows the probability of the explained class: it falls fast for a
faithful map (a low area under the curve). Insertion (Petsiuk et al., 2018, RISE) starts from the
baseline and reveals the most-attributed pixels first: the probability rises fast (a high area).
Both curves are drawn against a random order of the same pixels (seeded): a map is only
informative where it beats chance. On images with a black background that is not enough: deleting
the ink destroys a digit in whatever order it goes, so any map that is zero off the ink
(input x gradient, integrated gradients, DeepLIFT against black) beats chance for free. The ink
control (:func:`ink_order`, :func:`ink_curves`) ranks the pixels by their brightness ``|x|``
alone; a map tells something about the *model* only where it beats that control on the same
images (:func:`paired_advantage`).

One forward pass covers a batch of perturbed images (all the steps of several inputs at once),
never one pass per step. Every channel of a pixel moves together; a map's score for a pixel is
its sum over channels.

Examples
--------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> x = torch.rand(3, 1, 2, 2)
>>> res = faithfulness_curves(model, x, torch.rand(3, 1, 2, 2), n_steps=4)
>>> res.deletion.shape, res.deletion_auc.shape
((3, 5), (3,))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .._torch import frozen_eval, model_device

__all__ = ["MODES", "FaithfulnessCurves", "faithfulness_curves", "perturbation_curves",
           "attribution_order", "random_order", "ink_order", "ink_curves", "curve_auc",
           "AUCRanking", "auc_interval", "paired_advantage", "rank_aucs"]

#: Valid values of ``mode``: remove the ranked pixels first, or reveal them first.
MODES = ("deletion", "insertion")


@dataclass
class FaithfulnessCurves:
    """What :func:`faithfulness_curves` returns.

    Attributes
    ----------
    fractions : ndarray of shape (n_steps + 1,)
        Share of the pixels removed (deletion) or revealed (insertion) at each step, 0 to 1.
    deletion, insertion : ndarray of shape (N, n_steps + 1)
        Probability of the target class along the map's order. ``deletion[:, 0]`` is ``p(x)``
        and ``deletion[:, -1]`` is ``p(baseline)``; insertion runs the other way.
    deletion_auc, insertion_auc : ndarray of shape (N,)
        Trapezoid areas under the curves over ``fractions`` (in [0, 1]); low deletion and high
        insertion areas mean a faithful map.
    random_deletion, random_insertion : ndarray of shape (N, n_steps + 1)
        The same curves for random orders of the pixels, averaged over ``n_random`` orders (NaN
        when ``n_random=0``).
    random_deletion_auc, random_insertion_auc : ndarray of shape (N,)
    targets : ndarray of shape (N,)
        The class followed for each input (int64).
    settings : dict
        ``n_steps``, ``baseline``, ``n_random``, ``seed``.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: np.ndarray
    insertion_auc: np.ndarray
    random_deletion: np.ndarray
    random_insertion: np.ndarray
    random_deletion_auc: np.ndarray
    random_insertion_auc: np.ndarray
    targets: np.ndarray
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.deletion.shape[0])


def attribution_order(maps) -> np.ndarray:
    """Pixels of each map from the highest score to the lowest.

    A pixel's score is the map's sum over channels (maps of shape ``(N, C, H, W)``; any other
    shape ``(N, ...)`` is ranked element by element). Ties keep the pixels' order (stable sort).

    Parameters
    ----------
    maps : Tensor or array-like of shape (N, C, H, W) or (N, ...)
        One attribution map per input.

    Returns
    -------
    ndarray of shape (N, n_pixels)
        int64 pixel indices (``n_pixels`` is ``H*W`` for images), the highest score first.

    Raises
    ------
    ValueError
        ``maps`` not a batch, or holding NaN or infinite values.

    Examples
    --------
    >>> attribution_order(np.array([[[[0.1, 0.9], [0.5, -1.0]]]])).tolist()
    [[1, 2, 0, 3]]
    """
    a = _as_numpy(maps, "maps")
    scores = _pixel_scores(a)
    return np.argsort(-scores, axis=1, kind="stable")


def random_order(n: int, n_features: int, *, seed: int = 0) -> np.ndarray:
    """Random orders of the pixels, seeded: the chance baseline of the curves.

    Parameters
    ----------
    n : int
        How many orders.
    n_features : int
        Pixels per order.
    seed : int, default=0
        Seeds the permutations (same seed, same orders).

    Returns
    -------
    ndarray of shape (n, n_features)
        Each row a permutation of ``0..n_features - 1``.

    Examples
    --------
    >>> random_order(2, 4, seed=0).shape
    (2, 4)
    >>> bool((random_order(3, 5, seed=1) == random_order(3, 5, seed=1)).all())
    True
    """
    rng = np.random.default_rng(int(seed))
    return np.stack([rng.permutation(int(n_features)) for _ in range(int(n))]) if n else \
        np.zeros((0, int(n_features)), dtype=np.int64)


def ink_order(inputs, *, seed: int = 0) -> np.ndarray:
    """The ink control's order: brightest pixels first, ties in a seeded random order.

    A pixel's brightness is ``|x|`` summed over its channels. The order knows nothing of the
    model, so a map that does no better than it says no more than "the ink matters".

    Parameters
    ----------
    inputs : Tensor or array-like of shape (N, C, H, W) or (N, ...)
        The images (any other shape is ranked element by element).
    seed : int, default=0
        Seeds the order among pixels of equal brightness (the black background, saturated
        strokes).

    Returns
    -------
    ndarray of shape (N, n_pixels)
        int64 pixel indices, the brightest first.

    Raises
    ------
    ValueError
        ``inputs`` not a batch, or holding NaN or infinite values.

    Examples
    --------
    >>> x = np.array([[[[0.0, 1.0], [0.5, 1.0]]]])
    >>> o = ink_order(x, seed=0)
    >>> sorted(o[0, :2].tolist()), o[0, 2:].tolist()
    ([1, 3], [2, 0])
    """
    a = np.abs(_as_numpy(inputs, "inputs"))
    scores = _pixel_scores(a)
    rng = np.random.default_rng(int(seed))
    tiebreak = np.stack([rng.permutation(scores.shape[1]) for _ in range(len(scores))])
    return np.lexsort((tiebreak, -scores), axis=-1).astype(np.int64)


def curve_auc(curves, fractions) -> np.ndarray:
    """Trapezoid area under each curve ``(N, S)`` over ``fractions`` ``(S,)``.

    Parameters
    ----------
    curves : array-like of shape (N, S) or (S,)
    fractions : array-like of shape (S,)
        The x values (the share of pixels perturbed), increasing.

    Returns
    -------
    ndarray of shape (N,) (a scalar array for one curve)

    Examples
    --------
    >>> curve_auc([[1.0, 1.0, 0.0]], [0.0, 0.5, 1.0]).tolist()
    [0.75]
    """
    y = np.asarray(curves, dtype=np.float64)
    xs = np.asarray(fractions, dtype=np.float64)
    return ((y[..., 1:] + y[..., :-1]) * np.diff(xs) / 2).sum(-1)


@torch.no_grad()
def perturbation_curves(model: nn.Module, inputs: torch.Tensor, order, *, target=None,
                        mode: str = "deletion", n_steps: int = 20, baseline=0.0,
                        batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Probability of the target class as pixels are removed (or revealed) in ``order``.

    Parameters
    ----------
    model : nn.Module
        Takes raw inputs and returns logits ``[N, n_classes]``.
    inputs : Tensor of shape (N, C, H, W) or (N, D)
    order : array-like of shape (N, n_pixels)
        Each input's pixels, first perturbed first (:func:`attribution_order`,
        :func:`random_order`); ``n_pixels`` is ``H*W`` for images, ``D`` for vectors.
    target : int, sequence of int or None, default=None
        The class followed; ``None``: the predicted class of each (unperturbed) input.
    mode : {'deletion', 'insertion'}, default='deletion'
        ``'deletion'``: the first ``k`` pixels of the order take the baseline's values;
        ``'insertion'``: the baseline with the first ``k`` pixels of the input.
    n_steps : int, default=20
        Steps from none to all pixels; step ``s`` perturbs ``round(s * n_pixels / n_steps)``.
    baseline : float or Tensor broadcastable to one input, default=0.0
        What a removed pixel becomes (0: black).
    batch_size : int, default=512
        Perturbed images per forward pass.

    Returns
    -------
    curves : ndarray of shape (N, n_steps + 1)
        p(target) at each step; column 0 is the unperturbed input (deletion) or the baseline
        image (insertion).
    targets : ndarray of shape (N,)
        The class followed for each input.

    Raises
    ------
    ValueError
        An unknown ``mode``, an ``order`` whose rows are not permutations of the pixels, an
        unknown ``target``, or counts below 1.
    TypeError
        ``inputs`` not a tensor.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> x = torch.rand(2, 1, 2, 2)
    >>> curves, targets = perturbation_curves(model, x, random_order(2, 4), n_steps=2)
    >>> curves.shape, targets.shape
    ((2, 3), (2,))
    """
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {', '.join(map(repr, MODES))}. "
                         f"Got {mode!r} instead.")
    x = _check_inputs(inputs)
    n_steps, batch_size = _pos_int("n_steps", n_steps), _pos_int("batch_size", batch_size)
    n_pix = _n_pixels(x)
    order = np.asarray(order)
    if order.shape != (len(x), n_pix):
        raise ValueError(f"`order` must have shape (N, n_pixels) = ({len(x)}, {n_pix}). Got "
                         f"{order.shape} instead.")
    if not all(np.array_equal(np.sort(o), np.arange(n_pix)) for o in order):
        raise ValueError(f"each row of `order` must be a permutation of 0..{n_pix - 1}.")
    dev = model_device(model)
    x = x.to(dev, torch.float32)
    base = _baseline(baseline, x)
    counts = torch.from_numpy(np.rint(np.arange(n_steps + 1) * n_pix / n_steps).astype(np.int64))
    ranks = torch.empty(order.shape, dtype=torch.int64)
    ranks.scatter_(1, torch.from_numpy(order.astype(np.int64)),
                   torch.arange(n_pix).expand(len(x), n_pix).contiguous())
    S = n_steps + 1
    with frozen_eval(model):
        targets = _targets(model, x, target, batch_size)
        probs = torch.empty(len(x) * S)
        per = max(1, batch_size // S)  # inputs per forward: all their steps at once
        for i in range(0, len(x), per):
            xb, bb = x[i:i + per], base.expand_as(x)[i:i + per]
            # [n, S, pixels]: True where the pixel is perturbed at that step
            hit = (ranks[i:i + per, None, :] < counts[None, :, None]).to(dev)
            hit = hit.view(*hit.shape[:2], *_pixel_shape(x))
            a, b = (bb, xb) if mode == "deletion" else (xb, bb)
            imgs = torch.where(hit, a[:, None], b[:, None]).reshape(-1, *x.shape[1:])
            p = torch.softmax(model(imgs).float(), 1)
            t = targets[i:i + per].to(dev).repeat_interleave(S)
            probs[i * S:i * S + len(imgs)] = p.gather(1, t[:, None])[:, 0].cpu()
    return probs.view(len(x), S).double().numpy(), targets.cpu().numpy()


def faithfulness_curves(model: nn.Module, inputs: torch.Tensor, maps, *, target=None,
                        n_steps: int = 20, baseline=0.0, n_random: int = 1, seed: int = 0,
                        batch_size: int = 512) -> FaithfulnessCurves:
    """Deletion and insertion curves of attribution ``maps``, with a random-order baseline.

    Parameters
    ----------
    model : nn.Module
        Takes raw inputs and returns logits.
    inputs : Tensor of shape (N, C, H, W) or (N, D)
    maps : Tensor or ndarray of the inputs' shape
        Attributions (e.g. :func:`vizkit.analysis.attributions`' ``maps``); pixels are ranked by
        value, highest first (pass absolute maps to rank by magnitude).
    target : int, sequence of int or None, default=None
        The class explained; ``None``: the predicted class.
    n_steps : int, default=20
    baseline : float or Tensor, default=0.0
        What a removed pixel becomes.
    n_random : int, default=1
        Random orders averaged for the baseline curves (0: none, NaN curves).
    seed : int, default=0
        Seeds the random orders.
    batch_size : int, default=512
        Perturbed images per forward pass.

    Returns
    -------
    FaithfulnessCurves

    Raises
    ------
    ValueError
        ``maps`` not of the inputs' shape, an unknown ``target`` or bad counts.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> x = torch.rand(3, 1, 2, 2)
    >>> res = faithfulness_curves(model, x, x, n_steps=4, n_random=2, seed=0)
    >>> res.deletion.shape, bool(np.isfinite(res.random_deletion_auc).all())
    ((3, 5), True)
    >>> bool(np.allclose(res.deletion[:, -1], res.insertion[:, 0]))   # both: the black image
    True
    """
    x = _check_inputs(inputs)
    a = _as_numpy(maps, "maps")
    if a.shape != tuple(x.shape):
        raise ValueError(f"`maps` must have the inputs' shape {tuple(x.shape)}. Got {a.shape} "
                         "instead.")
    return _curves(model, x, attribution_order(a), target=target, n_steps=n_steps,
                   baseline=baseline, n_random=n_random, seed=seed, batch_size=batch_size)


def ink_curves(model: nn.Module, inputs: torch.Tensor, *, target=None, n_steps: int = 20,
               baseline=0.0, seed: int = 0, batch_size: int = 512) -> FaithfulnessCurves:
    """Deletion and insertion curves of the ink control: brightest pixels first.

    The pixels go in :func:`ink_order` (``|x|`` summed over channels, ties in a seeded random
    order), scored exactly as a map's order in :func:`faithfulness_curves`. On a black
    background the control deletes the ink first, which alone destroys the image; a map is
    faithful to the model only where it beats this control (:func:`paired_advantage`).

    Parameters
    ----------
    model : nn.Module
        Takes raw inputs and returns logits.
    inputs : Tensor of shape (N, C, H, W) or (N, D)
    target : int, sequence of int or None, default=None
        The class followed; ``None``: the predicted class.
    n_steps : int, default=20
    baseline : float or Tensor, default=0.0
        What a removed pixel becomes; insertion starts from an image of it.
    seed : int, default=0
        Seeds the order among equally bright pixels.
    batch_size : int, default=512
        Perturbed images per forward pass.

    Returns
    -------
    FaithfulnessCurves
        Without random-order curves (NaN); ``settings['order']`` is ``'ink'``.

    Raises
    ------
    ValueError
        An unknown ``target`` or bad counts.
    TypeError
        ``inputs`` not a tensor.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> x = torch.tensor([[[[0.0, 0.9], [0.2, 0.0]]]])
    >>> ink = ink_curves(model, x, n_steps=4)
    >>> ink.deletion.shape, bool(np.isnan(ink.random_deletion_auc).all())
    ((1, 5), True)
    """
    x = _check_inputs(inputs)
    res = _curves(model, x, ink_order(x, seed=seed), target=target, n_steps=n_steps,
                  baseline=baseline, n_random=0, seed=seed, batch_size=batch_size)
    res.settings["order"] = "ink"
    return res


def _curves(model, x, order, *, target, n_steps, baseline, n_random, seed,
            batch_size) -> FaithfulnessCurves:
    """Deletion and insertion along ``order``, plus ``n_random`` random orders."""
    if isinstance(n_random, bool) or not isinstance(n_random, (int, np.integer)) or n_random < 0:
        raise ValueError(f"`n_random` must be an int >= 0. Got {n_random!r} instead.")
    kw = dict(n_steps=n_steps, baseline=baseline, batch_size=batch_size)
    dele, targets = perturbation_curves(model, x, order, target=target, mode="deletion", **kw)
    ins, _ = perturbation_curves(model, x, order, target=targets, mode="insertion", **kw)
    fractions = np.linspace(0.0, 1.0, n_steps + 1)
    rd = np.full_like(dele, np.nan)
    ri = np.full_like(dele, np.nan)
    if n_random:
        orders = random_order(len(x) * n_random, order.shape[1], seed=seed)
        xr = x.repeat_interleave(n_random, 0)
        tr = np.repeat(targets, n_random)
        rd = perturbation_curves(model, xr, orders, target=tr, mode="deletion", **kw)[0]
        ri = perturbation_curves(model, xr, orders, target=tr, mode="insertion", **kw)[0]
        rd = rd.reshape(len(x), n_random, -1).mean(1)
        ri = ri.reshape(len(x), n_random, -1).mean(1)
    return FaithfulnessCurves(
        fractions=fractions, deletion=dele, insertion=ins,
        deletion_auc=curve_auc(dele, fractions), insertion_auc=curve_auc(ins, fractions),
        random_deletion=rd, random_insertion=ri, random_deletion_auc=curve_auc(rd, fractions),
        random_insertion_auc=curve_auc(ri, fractions), targets=targets,
        settings=dict(n_steps=int(n_steps), baseline=baseline if isinstance(baseline, (int, float))
                      else "tensor", n_random=int(n_random), seed=int(seed)))


@dataclass
class AUCRanking:
    """What :func:`rank_aucs` returns: the methods' mean AUC over the images, each with a
    bootstrap interval, best first, and which methods the best one beats on the same images.

    Attributes
    ----------
    measure : {'deletion', 'insertion'}
        Deletion AUC: lower is better; insertion AUC: higher is better.
    methods : tuple of str
        The methods, best mean first.
    means, low, high : ndarray of shape (n_methods,)
        Mean AUC over the images and the ends of its percentile bootstrap interval (NaN for a
        single image: one image gives no interval).
    best : str or None
        The best method when it beats the runner-up on the same images (the interval of the
        mean per-image difference excludes 0); ``None`` when
        they tie (or with one image).
    tied : tuple of str
        The top of the ranking that the best one does not beat on the same images: the best
        and the methods after it, by mean, up to the first one it beats (just the best when
        ``best`` is set).
    behind : tuple of str
        The methods the best one beats on the same images (paired interval of the difference
        excludes 0: clearly less faithful than it).
    unsettled : tuple of str
        Methods ranked below a beaten one whose own difference from the best is not settled by
        these images (a wide interval): lower by mean, but not clearly behind.
    n_images : int
    confidence : float
    n_resamples : int
    seed : int
    """

    measure: str
    methods: tuple
    means: np.ndarray
    low: np.ndarray
    high: np.ndarray
    best: str | None
    tied: tuple
    behind: tuple
    n_images: int
    confidence: float
    n_resamples: int
    seed: int
    unsettled: tuple = ()

    def verdict(self, names=None) -> str:
        """The ranking in words, e.g. ``'most faithful: occlusion'`` or ``'tie: A, B'``.

        Parameters
        ----------
        names : mapping of str to str, optional
            A display name per method.
        """
        name = (lambda m: m) if names is None else (lambda m: names.get(m, m))
        if self.best is not None:
            return f"most faithful by {self.measure} AUC: {name(self.best)}"
        return f"no clear winner by {self.measure} AUC: {', '.join(map(name, self.tied))} tie"


def auc_interval(values, *, confidence: float = 0.95, n_resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval (``scipy.stats.bootstrap``).

    Parameters
    ----------
    values : array-like of shape (N,)
        One AUC per image.
    confidence : float, default=0.95
        Confidence level of the interval, in (0, 1).
    n_resamples : int, default=2000
        Bootstrap resamples of the images.
    seed : int, default=0
        Seeds the resampling.

    Returns
    -------
    mean, low, high : float
        ``low`` and ``high`` are NaN for a single value (one image gives no interval).

    Raises
    ------
    ValueError
        Empty or non-finite ``values``, a ``confidence`` outside (0, 1).

    Examples
    --------
    >>> mean, low, high = auc_interval([0.2, 0.4, 0.3, 0.5], seed=0)
    >>> round(mean, 2), bool(low <= mean <= high)
    (0.35, True)
    """
    from scipy.stats import bootstrap

    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError(f"`values` must be a non-empty set of finite AUCs. Got {v.size} values"
                         f"{'' if v.size == 0 else ' with NaN or inf'} instead.")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) \
            or not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be a number in (0, 1). Got {confidence!r} instead.")
    n_resamples = _pos_int("n_resamples", n_resamples)
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    if np.ptp(v) == 0:          # every image the same: the interval is that value
        return mean, mean, mean
    ci = bootstrap((v,), np.mean, confidence_level=float(confidence), n_resamples=n_resamples,
                   method="percentile", vectorized=True,
                   rng=np.random.default_rng(int(seed))).confidence_interval
    return mean, float(ci.low), float(ci.high)


def paired_advantage(aucs, control, *, measure: str = "deletion", confidence: float = 0.95,
                     n_resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """How much better a method is than a control on the same images, with its interval.

    The per-image difference ``control - aucs`` (deletion: lower is better) or
    ``aucs - control`` (insertion: higher is better) is averaged and bootstrapped over the
    images (:func:`auc_interval`): a positive interval means the method beats the control, a
    negative one that it loses, one holding 0 that they tie. The images are shared, so how
    hard an image is cancels out.

    Parameters
    ----------
    aucs, control : array-like of shape (N,)
        One AUC per image, the same images in the same order (e.g. a map's and the ink
        control's, :func:`ink_curves`).
    measure : {'deletion', 'insertion'}, default='deletion'
    confidence : float, default=0.95
    n_resamples : int, default=2000
    seed : int, default=0
        Seeds the resampling.

    Returns
    -------
    mean, low, high : float
        The mean advantage and its percentile bootstrap interval (NaN ends for one image).

    Raises
    ------
    ValueError
        An unknown ``measure``, different numbers of images, or bad values (see
        :func:`auc_interval`).

    Examples
    --------
    >>> mean, low, high = paired_advantage([0.1, 0.3, 0.2], [0.2, 0.4, 0.25])
    >>> round(mean, 3), bool(low > 0)
    (0.083, True)
    >>> paired_advantage([0.9, 0.8], [0.9, 0.8], measure="insertion")
    (0.0, 0.0, 0.0)
    """
    if measure not in MODES:
        raise ValueError(f"`measure` must be one of {', '.join(map(repr, MODES))}. "
                         f"Got {measure!r} instead.")
    a = np.asarray(aucs, dtype=np.float64).reshape(-1)
    c = np.asarray(control, dtype=np.float64).reshape(-1)
    if a.shape != c.shape:
        raise ValueError(f"`aucs` and `control` need one AUC per image, the same images. Got "
                         f"{a.size} and {c.size} values.")
    sign = 1.0 if measure == "deletion" else -1.0
    return auc_interval(sign * (c - a), confidence=confidence, n_resamples=n_resamples,
                        seed=seed)


def rank_aucs(aucs, *, measure: str = "deletion", confidence: float = 0.95,
              n_resamples: int = 2000, seed: int = 0) -> AUCRanking:
    """Rank methods by their mean AUC over the same images, with bootstrap intervals; name a
    winner only when it beats every other method on the same images.

    Each method's own interval is drawn; the comparison is paired: method ``b`` is clearly
    behind the best ``a`` when the bootstrap interval of the mean per-image difference excludes
    0 (the images are shared, so how hard an image is cancels out).

    Parameters
    ----------
    aucs : mapping of str to array-like of shape (N,)
        Per method, one AUC per image (the same images, in the same order, for every method).
    measure : {'deletion', 'insertion'}, default='deletion'
        ``'deletion'``: lower is better; ``'insertion'``: higher is better.
    confidence : float, default=0.95
    n_resamples : int, default=2000
    seed : int, default=0
        Seeds the resampling (the same for every method).

    Returns
    -------
    AUCRanking

    Raises
    ------
    ValueError
        No methods, an unknown ``measure``, methods with different numbers of images, or bad
        values (see :func:`auc_interval`).

    Examples
    --------
    >>> r = rank_aucs({"a": [0.1, 0.12, 0.11], "b": [0.5, 0.52, 0.49]}, measure="deletion")
    >>> r.methods, r.best
    (('a', 'b'), 'a')
    >>> rank_aucs({"a": [0.1, 0.5], "b": [0.5, 0.1]}).best is None
    True
    >>> # overlapping intervals, yet a is lower than b on every image: a paired win
    >>> rank_aucs({"a": [0.1, 0.5, 0.3, 0.7], "b": [0.12, 0.52, 0.33, 0.71]}).best
    'a'

    """
    if measure not in MODES:
        raise ValueError(f"`measure` must be one of {', '.join(map(repr, MODES))}. "
                         f"Got {measure!r} instead.")
    if not aucs:
        raise ValueError("`aucs` must hold at least one method.")
    sizes = {m: np.asarray(v).size for m, v in aucs.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"every method needs one AUC per image, the same images. Got {sizes}.")
    stats = {m: auc_interval(v, confidence=confidence, n_resamples=n_resamples, seed=seed)
             for m, v in aucs.items()}
    sign = 1.0 if measure == "deletion" else -1.0
    order = sorted(stats, key=lambda m: sign * stats[m][0])   # stable: ties keep given order
    means, low, high = (np.array([stats[m][k] for m in order]) for k in range(3))
    n = next(iter(sizes.values()))

    def clears(a: int, b: int) -> bool:
        """Paired: the interval of a's per-image advantage over b excludes 0. The images are
        shared, so their difficulty cancels in the difference."""
        _, lo, _ = paired_advantage(aucs[order[a]], aucs[order[b]], measure=measure,
                                    confidence=confidence, n_resamples=n_resamples, seed=seed)
        return bool(lo > 0)

    if n < 2:
        best, tied, behind, unsettled = None, tuple(order), (), ()
    else:
        cleared = [k == 0 or clears(0, k) for k in range(len(order))]
        # the tie is the top of the ranking by mean: it stops at the first method the best one
        # beats, so a lower-ranked method with a wide interval cannot tie "for first" past it
        k_stop = next((k for k in range(1, len(order)) if cleared[k]), len(order))
        tied = tuple(order[:k_stop])
        behind = tuple(order[k] for k in range(1, len(order)) if cleared[k])
        unsettled = tuple(m for m in order[k_stop:] if m not in behind)
        best = order[0] if len(tied) == 1 else None
    return AUCRanking(measure=measure, methods=tuple(order), means=means, low=low, high=high,
                      best=best, tied=tied, behind=behind, n_images=int(n),
                      confidence=float(confidence), n_resamples=int(n_resamples), seed=int(seed),
                      unsettled=unsettled)


# ------------------------------------------------------------------------------------ helpers
def _as_numpy(v, name: str) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    a = np.asarray(v, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(f"`{name}` must be a batch (N, ...). Got shape {a.shape} instead.")
    if not np.isfinite(a).all():
        raise ValueError(f"`{name}` holds NaN or infinite values.")
    return a


def _pixel_scores(a: np.ndarray) -> np.ndarray:
    """(N, n_pixels): channels summed for (N, C, H, W); else every element a pixel."""
    return a.sum(1).reshape(len(a), -1) if a.ndim == 4 else a.reshape(len(a), -1)


def _pixel_shape(x: torch.Tensor) -> tuple:
    """Shape of one input's pixel mask, broadcastable over the input (channels share a pixel)."""
    return (1, *x.shape[2:]) if x.dim() == 4 else tuple(x.shape[1:])


def _n_pixels(x: torch.Tensor) -> int:
    return int(np.prod(_pixel_shape(x)))


def _check_inputs(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`inputs` must be a torch.Tensor. Got {type(x).__name__} instead.")
    if x.dim() < 2 or len(x) == 0:
        raise ValueError(f"`inputs` must be a non-empty batch (N, ...). Got shape "
                         f"{tuple(x.shape)} instead.")
    return x.detach()


def _pos_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"`{name}` must be an int >= 1. Got {v!r} instead.")
    return int(v)


def _baseline(baseline, x: torch.Tensor) -> torch.Tensor:
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full((1, *x.shape[1:]), float(baseline), device=x.device)
    if isinstance(baseline, torch.Tensor):
        b = baseline.detach().to(x.device, torch.float32)
        try:
            return torch.broadcast_to(b, x.shape[1:]).unsqueeze(0)
        except RuntimeError:
            pass
    raise ValueError(f"`baseline` must be a number or a tensor broadcastable to one input "
                     f"{tuple(x.shape[1:])}. Got {baseline!r} instead.")


def _targets(model: nn.Module, x: torch.Tensor, target, batch_size: int) -> torch.Tensor:
    if target is None:
        return torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
    t = torch.as_tensor(np.asarray(target), dtype=torch.int64).reshape(-1)
    t = t.expand(len(x)) if t.numel() == 1 else t
    n_classes = model(x[:1]).shape[1]
    if t.numel() != len(x) or (t < 0).any() or (t >= n_classes).any():
        raise ValueError(f"`target` must be one class or one per input, each in 0..{n_classes - 1}. "
                         f"Got {np.asarray(target).tolist()!r} instead.")
    return t.to(x.device)
