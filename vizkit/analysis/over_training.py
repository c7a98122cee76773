"""What a network looks at, over its training: snapshots taken while it trains, and their measures.

:class:`OverTrainingRecorder` is a recorder for :func:`vizkit.train.train_model` (``recorder=``)
or ``ctx.train``: at chosen epochs (log-spaced, epoch 0 included) it takes, for a fixed set of test
images, the attribution maps of their true class (:func:`vizkit.analysis.attributions`), the
class activation-maximization images (:func:`vizkit.analysis.activation_maximization`, a small
budget) and the penultimate-layer features of a fixed sample of test points. It never trains.

:func:`over_training` turns those snapshots into an :class:`OverTraining` result: the Spearman
rank correlation of each map (and image) with the same one at the previous snapshot, the epoch
after which they stop changing, and the penultimate embedding (PCA 2D) aligned between
consecutive snapshots by Procrustes (``scipy.spatial.procrustes``) with its disparity.

Examples
--------
>>> log_epochs(20)
[0, 1, 2, 4, 8, 16, 20]
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .._torch import model_device, training_mode

__all__ = ["log_epochs", "probe_indices", "penultimate_features", "OverTrainingRecorder",
           "OverTraining", "over_training", "stable_after", "aligned_pca", "class_separation",
           "is_flat", "contrast", "too_faint", "SNAPSHOT_KEYS", "FLAT_RANGE", "CONTRAST_PERCENTILE", "FAINT_REL",
           "FAINT_ABS"]

#: An attribution map whose range (max - min) is at most this fraction of its largest absolute
#: value is flat (:func:`is_flat`): it shows no pattern, and a rank correlation with it would rank
#: noise.
FLAT_RANGE = 0.05

#: The percentile of :func:`contrast`: how far the brightest 2 % of an image's pixels (16 of 784)
#: stand above its median (the background). A speckle of fewer pixels does not move it.
CONTRAST_PERCENTILE = 98.0
#: An activation-maximization image is too faint to compare (:func:`too_faint`) when its contrast
#: is at most this fraction of the contrast of the clearest snapshot of the same class...
FAINT_REL = 0.10
#: ... or at most this much in absolute terms (pixels in [0, 1]).
FAINT_ABS = 0.05

#: The arrays an :class:`OverTrainingRecorder` records (its ``snapshots()`` keys).
SNAPSHOT_KEYS = ("epochs", "images", "labels", "maps", "predictions", "actmax", "actmax_classes",
                 "features", "feature_labels", "method")


def log_epochs(last: int) -> list[int]:
    """Epoch 0, the powers of two up to ``last``, and ``last``: log-spaced snapshot epochs.

    Parameters
    ----------
    last : int
        The training's last epoch (at least 1).

    Returns
    -------
    list of int
        The snapshot epochs, ascending, without repeats.

    Raises
    ------
    ValueError
        ``last`` is not a positive integer.

    Examples
    --------
    >>> log_epochs(8)
    [0, 1, 2, 4, 8]
    >>> log_epochs(5)
    [0, 1, 2, 4, 5]
    """
    if isinstance(last, bool) or int(last) != last or int(last) < 1:
        raise ValueError(f"`last` must be a positive integer. Got {last!r} instead.")
    last = int(last)
    return sorted({0, last, *(2 ** k for k in range(int(np.log2(last)) + 1))})


def probe_indices(labels, n: int = 6, *, seed: int = 0) -> np.ndarray:
    """``n`` indices of ``labels``, stratified: as many classes as possible, drawn in a seeded
    order, taking one random example of each in turn until there are ``n``; in class order.

    Parameters
    ----------
    labels : array_like or Tensor of int of shape (N,)
        The class of each candidate (e.g. the test labels).
    n : int, default=6
        How many indices to pick.
    seed : int, default=0
        Seeds the class order and the example drawn from each class.

    Returns
    -------
    ndarray of int64 of shape (n,)
        Indices into ``labels``, sorted by class, then by index.

    Raises
    ------
    ValueError
        ``n`` is not a positive integer, or ``labels`` has fewer than ``n`` entries.

    Examples
    --------
    >>> labels = [0, 0, 1, 1, 2, 2]
    >>> sorted(labels[i] for i in probe_indices(labels, 3))
    [0, 1, 2]
    >>> uneven = [0] * 9 + [1]  # one class has a single example: it is taken once
    >>> [uneven[i] for i in probe_indices(uneven, 4)]
    [0, 0, 0, 1]
    """
    labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels).reshape(-1)
    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise ValueError(f"`n` must be a positive integer. Got {n!r} instead.")
    if len(labels) < n:
        raise ValueError(f"asked for {n} probe images of {len(labels)}.")
    rng = np.random.default_rng(seed)
    classes = rng.permutation(np.unique(labels))
    pools = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    picks: list[int] = []
    while len(picks) < n:
        for c in classes:
            if pools[c] and len(picks) < n:
                picks.append(int(pools[c].pop()))
    return np.asarray(sorted(picks, key=lambda i: (labels[i], i)), dtype=np.int64)


def _last_linear(model: nn.Module) -> nn.Linear:
    last = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last = m
    if last is None:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer: the penultimate "
                         "features are the input of the last linear layer.")
    return last


@torch.no_grad()
def penultimate_features(model: nn.Module, x: torch.Tensor, *, batch_size: int = 512) -> np.ndarray:
    """What the last ``nn.Linear`` of ``model`` receives for inputs ``x``: ``(N, D)`` float32.

    Parameters
    ----------
    model : nn.Module
        A network with at least one ``nn.Linear`` layer; run in eval mode, its mode restored.
    x : Tensor of shape (N, ...)
        The inputs.
    batch_size : int, default=512
        Inputs per forward pass.

    Returns
    -------
    ndarray of float32 of shape (N, D)
        The last linear layer's input, flattened per example.

    Raises
    ------
    ValueError
        ``model`` has no ``nn.Linear`` layer.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> penultimate_features(net, torch.ones(5, 3)).shape
    (5, 4)
    """
    store: list = []
    handle = _last_linear(model).register_forward_pre_hook(
        lambda _m, inputs: store.append(inputs[0].detach().reshape(len(inputs[0]), -1).float().cpu()))
    dev = model_device(model)
    try:
        with training_mode(model, False):
            for i in range(0, len(x), batch_size):
                model(x[i:i + batch_size].to(dev))
    finally:
        handle.remove()
    return torch.cat(store).numpy()


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a)).tobytes())
    return h.hexdigest()[:16]


class OverTrainingRecorder:
    """Views over training of an image classifier: attribution maps, class activation-maximization
    images and penultimate features, snapshotted at chosen epochs (a recorder: it never trains).

    Parameters
    ----------
    images : Tensor of shape (n, C, H, W)
        The fixed probe images (e.g. :func:`probe_indices` of the test part).
    labels : Tensor of int of shape (n,)
        Their classes: the attribution target and the activation-maximization classes.
    points : Tensor of shape (m, ...)
        The inputs whose penultimate features are recorded (the embedding's points).
    point_labels : Tensor of int of shape (m,)
    at : sequence of int, optional
        The epochs to snapshot; default epoch 0 and the powers of two.
    method : str, default='integrated_gradients'
        The attribution method (:data:`vizkit.analysis.attributions.METHODS`).
    n_steps : int, default=16
        Integration steps of a path method.
    actmax_steps : int, default=48
        Optimization steps of each activation-maximization image (a small budget).
    actmax_lr : float, default=0.05
        Adam's learning rate for those images (fixed here, not the function's default, so that a
        change of that default cannot leave cached snapshots made with another one).
    seed : int, default=0
        Seeds activation maximization (and any noisy attribution method).

    Raises
    ------
    ValueError
        ``images`` is not a 4-D tensor, or there is not one label per image and per point.

    Notes
    -----
    Activation maximization runs with :func:`vizkit.analysis.activation_maximization`'s defaults
    except ``n_steps`` (``actmax_steps``), ``lr`` (``actmax_lr``), ``seed`` and ``input_shape``
    (the probe images').

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> rec = OverTrainingRecorder(torch.rand(2, 1, 4, 4), [0, 1], torch.rand(5, 1, 4, 4),
    ...                            [0, 1, 0, 1, 0], at=[0, 1], n_steps=4, actmax_steps=3)
    >>> rec.on_epoch_end(0, net)  # what train_model calls before training and after each epoch
    >>> rec.on_epoch_end(1, net)
    >>> snaps = rec.snapshots()
    >>> snaps["epochs"].tolist(), snaps["maps"].shape, snaps["actmax"].shape
    ([0, 1], (2, 2, 4, 4), (2, 2, 4, 4))
    >>> snaps["features"].shape  # the 8 inputs of the last linear layer, for 5 points
    (2, 5, 8)
    """

    def __init__(self, images: torch.Tensor, labels, points: torch.Tensor, point_labels, *,
                 at: Sequence[int] | None = None, method: str = "integrated_gradients",
                 n_steps: int = 16, actmax_steps: int = 48, actmax_lr: float = 0.05,
                 seed: int = 0) -> None:
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise ValueError("`images` must be a tensor of shape (n, C, H, W). Got "
                             f"{getattr(images, 'shape', type(images).__name__)} instead.")
        self.images = images.detach().float().cpu()
        self.labels = torch.as_tensor(labels).long().reshape(-1).cpu()
        self.points = points.detach().float().cpu()
        self.point_labels = torch.as_tensor(point_labels).long().reshape(-1).cpu()
        if len(self.labels) != len(self.images) or len(self.point_labels) != len(self.points):
            raise ValueError(f"one label per image and per point: got {len(self.images)} images, "
                             f"{len(self.labels)} labels, {len(self.points)} points, "
                             f"{len(self.point_labels)} point labels.")
        self.at = None if at is None else sorted({int(e) for e in at})
        self.method, self.n_steps, self.actmax_steps = str(method), int(n_steps), int(actmax_steps)
        self.actmax_lr = float(actmax_lr)
        self.seed = int(seed)
        self.classes = sorted(set(self.labels.tolist()))
        self._rows: list[dict] = []

    def wants(self, epoch: int) -> bool:
        """Whether ``epoch`` is one of the recorder's epochs."""
        if self.at is not None:
            return int(epoch) in self.at
        return epoch == 0 or (epoch > 0 and epoch & (epoch - 1) == 0)

    def on_epoch_end(self, epoch: int, model: nn.Module) -> None:
        """Snapshot ``model`` at ``epoch`` when it is one of the recorder's epochs."""
        if self.wants(epoch) and not (self._rows and self._rows[-1]["epoch"] == int(epoch)):
            self._rows.append(self.snapshot(model, int(epoch)))

    def snapshot(self, model: nn.Module, epoch: int) -> dict:
        """The arrays of one snapshot of ``model`` (not kept; :meth:`on_epoch_end` keeps it)."""
        from .actmax import activation_maximization
        from .attributions import attributions

        att = attributions(model, self.images, target=self.labels, methods=self.method,
                           n_steps=self.n_steps if self.method in _PATH_METHODS else None,
                           seed=self.seed)
        maps = att.maps.detach().float().cpu().numpy()
        maps = maps.sum(axis=1) if maps.ndim == 4 else maps  # channels summed: one map per image
        dev = model_device(model)
        with torch.no_grad(), training_mode(model, False):
            preds = model(self.images.to(dev)).argmax(1).cpu().numpy()
        am = activation_maximization(model, self.classes, n_steps=self.actmax_steps,
                                     lr=self.actmax_lr,
                                     input_shape=tuple(self.images.shape[1:]),  # the probes'
                                     seed=self.seed).images.detach().float().cpu().numpy()
        return {"epoch": int(epoch), "maps": maps.astype(np.float32), "predictions": preds,
                "actmax": am.mean(axis=1).astype(np.float32),
                "features": penultimate_features(model, self.points).astype(np.float32)}

    def identity(self) -> dict:
        """What decides the snapshots: epochs, method, budgets, seed and hashes of the inputs."""
        return {"at": self.at, "method": self.method, "n_steps": self.n_steps,
                "actmax_steps": self.actmax_steps, "actmax_lr": self.actmax_lr,
                "seed": self.seed,
                "images": _digest(self.images.numpy(), self.labels.numpy()),
                "points": _digest(self.points.numpy(), self.point_labels.numpy())}

    def snapshots(self) -> dict:
        """The snapshots as plain arrays (``SNAPSHOT_KEYS``), stacked over epochs."""
        if not self._rows:
            raise ValueError("no snapshot yet: pass the recorder to train_model(..., recorder=...) "
                             "or call on_epoch_end(0, model).")
        stack = lambda key: np.stack([r[key] for r in self._rows])  # noqa: E731
        return {"epochs": np.asarray([r["epoch"] for r in self._rows], dtype=np.int64),
                "images": self.images.numpy().mean(axis=1), "labels": self.labels.numpy(),
                "maps": stack("maps"), "predictions": stack("predictions").astype(np.int64),
                "actmax": stack("actmax"), "actmax_classes": np.asarray(self.classes, dtype=np.int64),
                "features": stack("features"), "feature_labels": self.point_labels.numpy(),
                "method": np.asarray(self.method)}


_PATH_METHODS = ("integrated_gradients", "layer_integrated_gradients", "layer_conductance")


@dataclass
class OverTraining:
    """What a network looked at, snapshot by snapshot (see :func:`over_training`).

    Attributes
    ----------
    epochs : ndarray of int of shape (E,)
        The snapshot epochs (0: the untrained network).
    images : ndarray of shape (n, H, W)
        The probe images (channels averaged).
    labels : ndarray of int of shape (n,)
        Their classes.
    predictions : ndarray of int of shape (E, n)
        The model's class for each probe at each snapshot.
    maps : ndarray of shape (E, n, H, W)
        Attribution maps of each probe's true class.
    method : str
        The attribution method.
    map_rho : ndarray of shape (E - 1, n)
        Spearman rank correlation of each map with the same image's at the previous snapshot.
    maps_stable_after : int or None
        The epoch from which the mean ``map_rho`` stays >= ``threshold`` (None: never).
    actmax : ndarray of shape (E, k, H, W)
        Activation-maximization images of the classes ``actmax_classes``.
    actmax_classes : ndarray of int of shape (k,)
        The classes of the activation-maximization images.
    actmax_rho : ndarray of shape (E - 1, k)
        Spearman rank correlation of each class's image with its image at the previous snapshot.
    actmax_stable_after : int or None
        As ``maps_stable_after``, for ``actmax_rho``.
    embedding : ndarray of shape (E, m, 2)
        PCA 2D of the penultimate features, each snapshot Procrustes-aligned to the previous one
        (standardized: centred, unit Frobenius norm).
    feature_labels : ndarray of int of shape (m,)
        The classes of the embedding's points.
    disparity : ndarray of shape (E - 1,)
        Procrustes disparity (sum of squared differences after alignment, 0 to 1) of each
        snapshot's embedding with the previous one.
    threshold : float
        The mean correlation from which maps and images count as no longer changing.
    maps_flat : ndarray of bool of shape (E, n), optional
        Which maps are flat (:func:`is_flat`): no pattern, their correlations NaN.
    actmax_flat : ndarray of bool of shape (E, k), optional
        Which activation-maximization images are too faint to compare (:func:`too_faint`):
        their correlations NaN.
    actmax_contrast : ndarray of shape (E, k), optional
        The :func:`contrast` of each activation-maximization image.
    silhouette : ndarray of shape (E,), optional
        How well the penultimate features (all their dimensions) sort the points by class at
        each snapshot: the silhouette score (:func:`class_separation`).
    knn_accuracy : ndarray of shape (E,), optional
        The same, by a second route: cross-validated k-nearest-neighbour accuracy.
    """

    epochs: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    maps: np.ndarray
    method: str
    map_rho: np.ndarray
    maps_stable_after: int | None
    actmax: np.ndarray
    actmax_classes: np.ndarray
    actmax_rho: np.ndarray
    actmax_stable_after: int | None
    embedding: np.ndarray
    feature_labels: np.ndarray
    disparity: np.ndarray
    threshold: float
    maps_flat: np.ndarray | None = None
    actmax_flat: np.ndarray | None = None
    actmax_contrast: np.ndarray | None = None
    silhouette: np.ndarray | None = None
    knn_accuracy: np.ndarray | None = None


def is_flat(images, *, rel: float = FLAT_RANGE, scale: float | None = None) -> np.ndarray:
    """Which images are (near-)constant: their range ``max - min`` is at most ``rel`` times
    ``scale`` (default: each image's largest absolute value, so an all-zero image is flat).

    Parameters
    ----------
    images : array_like of shape (..., H, W)
    rel : float, default=FLAT_RANGE
        The largest range, as a fraction of ``scale``, that still counts as flat.
    scale : float, optional
        The value range the images live in (e.g. 1 for pixels in [0, 1]).

    Returns
    -------
    ndarray of bool of shape (...)

    Raises
    ------
    ValueError
        ``images`` has fewer than 2 dimensions, or ``rel`` is negative.

    Examples
    --------
    >>> flat = np.full((4, 4), 0.5)
    >>> pattern = np.eye(4)
    >>> is_flat(np.stack([flat, pattern]), scale=1.0).tolist()
    [True, False]
    """
    a = np.asarray(images, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(f"`images` must have shape (..., H, W). Got shape {a.shape} instead.")
    if not rel >= 0:
        raise ValueError(f"`rel` must be >= 0. Got {rel!r} instead.")
    flat = a.reshape(*a.shape[:-2], -1)
    spread = np.ptp(flat, axis=-1)
    ref = np.abs(flat).max(axis=-1) if scale is None else np.full(spread.shape, float(scale))
    return spread <= rel * ref


def contrast(images, *, percentile: float = CONTRAST_PERCENTILE) -> np.ndarray:
    """How far an image's brightest pixels stand above its background: the ``percentile``-th
    percentile of its pixels minus their median.

    A robust range: a speckle smaller than ``100 - percentile`` % of the pixels does not raise it
    (the plain range ``max - min`` does), a stroke covering more does.

    Parameters
    ----------
    images : array_like of shape (..., H, W)
        Images (e.g. activation-maximization images, pixels in [0, 1]).
    percentile : float, default=CONTRAST_PERCENTILE
        The percentile (0 to 100) compared with the median.

    Returns
    -------
    ndarray of shape (...)
        One contrast per image, in the images' units (0 for a constant image).

    Raises
    ------
    ValueError
        ``images`` has fewer than 2 dimensions, or ``percentile`` is not within [50, 100].

    Examples
    --------
    >>> blank = np.full((28, 28), 0.1)
    >>> speckle = blank.copy(); speckle[5, 5] = 0.9  # one bright pixel: no pattern
    >>> stroke = blank.copy(); stroke[4:24, 13:15] = 0.2  # a faint stroke of 40 pixels
    >>> contrast(np.stack([blank, speckle, stroke])).round(3).tolist()
    [0.0, 0.0, 0.1]
    """
    a = np.asarray(images, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(f"`images` must have shape (..., H, W). Got shape {a.shape} instead.")
    if not 50 <= percentile <= 100:
        raise ValueError(f"`percentile` must be within [50, 100]. Got {percentile!r} instead.")
    flat = a.reshape(*a.shape[:-2], -1)
    return np.percentile(flat, percentile, axis=-1) - np.median(flat, axis=-1)


def too_faint(series, *, rel: float = FAINT_REL, floor: float = FAINT_ABS,
              percentile: float = CONTRAST_PERCENTILE) -> np.ndarray:
    """Which images of a series (the same targets at several snapshots) are too faint to compare:
    their :func:`contrast` is at most ``rel`` times that of the clearest image of the same target
    in the series, or at most ``floor``.

    A rank correlation with such an image ranks background noise, so it says nothing about how
    the image changed.

    Parameters
    ----------
    series : array_like of shape (E, k, H, W)
        ``k`` targets' images at ``E`` snapshots (pixels in [0, 1] for ``floor`` to apply as is).
    rel : float, default=FAINT_REL
        The largest fraction of the clearest snapshot's contrast that is still too faint.
    floor : float, default=FAINT_ABS
        The largest contrast that is too faint whatever the other snapshots show.
    percentile : float, default=CONTRAST_PERCENTILE
        See :func:`contrast`.

    Returns
    -------
    ndarray of bool of shape (E, k)

    Raises
    ------
    ValueError
        ``series`` is not 4-D, or ``rel`` or ``floor`` is negative.

    Examples
    --------
    >>> blank = np.full((28, 28), 0.1)
    >>> speckle = blank.copy(); speckle[5, 5] = 0.3  # blank plus one faint speckle
    >>> faint = blank.copy(); faint[4:24, 13:15] = 0.2  # a faint but structured stroke
    >>> clear = blank.copy(); clear[4:24, 13:15] = 0.9  # what the class's image becomes
    >>> too_faint(np.stack([[speckle], [faint], [clear]])).ravel().tolist()
    [True, False, False]
    """
    a = np.asarray(series, dtype=np.float64)
    if a.ndim != 4:
        raise ValueError(f"`series` must have shape (E, k, H, W). Got shape {a.shape} instead.")
    if not (rel >= 0 and floor >= 0):
        raise ValueError(f"`rel` and `floor` must be >= 0. Got rel={rel!r}, floor={floor!r}.")
    c = contrast(a, percentile=percentile)
    return (c <= floor) | (c <= rel * c.max(axis=0, keepdims=True))


def _rho(a: np.ndarray, b: np.ndarray, flat_a: np.ndarray, flat_b: np.ndarray) -> np.ndarray:
    """Spearman of each pair of images, NaN where either image is flat."""
    from .attributions import rank_correlation

    rho = np.asarray(rank_correlation(a, b), dtype=np.float64)
    return np.where(flat_a | flat_b, np.nan, rho)


def stable_after(epochs, rho, threshold: float = 0.9) -> int | None:
    """The first snapshot epoch from which every later transition's mean correlation is at least
    ``threshold``: ``rho[i]`` (one value per item) compares snapshot ``i`` with ``i + 1``.

    Returns None when the last transition is still below ``threshold`` (or there is none). A
    transition whose values are all NaN (flat images: nothing to compare) is not stable. The
    first transition that counts is drawn, at its later epoch, by
    :func:`vizkit.plot.over_training.plot_change`.

    Parameters
    ----------
    epochs : sequence of int of length E
    rho : array_like of shape (E - 1,) or (E - 1, n)
        The correlation of each item between consecutive snapshots (NaN: not measured).
    threshold : float, default=0.9

    Returns
    -------
    int or None

    Examples
    --------
    >>> stable_after([0, 1, 2, 4], [[0.2], [0.95], [0.92]])
    1
    >>> stable_after([0, 1, 2], [[0.95], [0.5]]) is None
    True
    """
    rho = np.asarray(rho, dtype=np.float64)
    if rho.ndim == 1:
        rho = rho[:, None]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN transition: mean NaN
        mean = np.nanmean(rho, axis=1) if rho.size else np.zeros(0)
    start = None
    for i in range(len(mean) - 1, -1, -1):
        if not mean[i] >= threshold:
            break
        start = i
    return None if start is None else int(np.asarray(epochs)[start])


def aligned_pca(features: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """PCA 2D of each snapshot's features, each aligned to the previous by Procrustes.

    Parameters
    ----------
    features : sequence of array_like of shape (m, D)
        One feature matrix per snapshot, the same ``m`` points in the same order (``D`` may
        differ between snapshots).

    Returns
    -------
    embedding : ndarray of shape (E, m, 2)
        Standardized coordinates (centred, unit Frobenius norm), rotated/reflected onto the
        previous snapshot's.
    disparity : ndarray of shape (E - 1,)
        ``scipy.spatial.procrustes`` disparity with the previous snapshot (NaN where a snapshot
        has a single distinct point).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(30, 5)) * [4.0, 2.0, 0.1, 0.1, 0.1]
    >>> turned = f @ np.linalg.qr(rng.normal(size=(5, 5)))[0]  # the same points, rotated
    >>> emb, disparity = aligned_pca([f, turned, rng.normal(size=(30, 5))])
    >>> emb.shape, bool(np.allclose(emb[0], emb[1])), bool(disparity[0] < 1e-9)
    ((3, 30, 2), True, True)
    >>> bool(disparity[1] > 0.3)  # unrelated points: a large disparity
    True
    """
    from scipy.spatial import procrustes
    from sklearn.decomposition import PCA

    out, disp = [], []
    for f in features:
        f = np.asarray(f, dtype=np.float64)
        if np.ptp(f, axis=0).max(initial=0.0) == 0:  # all points equal: nothing to project
            p = np.zeros((len(f), 2))
        else:
            p = PCA(n_components=min(2, f.shape[1]), svd_solver="full").fit_transform(f)
            p = np.pad(p, ((0, 0), (0, 2 - p.shape[1])))
        norm = np.linalg.norm(p - p.mean(0))
        p = (p - p.mean(0)) / norm if norm > 0 else p - p.mean(0)
        if out:
            try:
                _, p, d = procrustes(out[-1], p)
            except ValueError:  # a snapshot with a single distinct point
                d = np.nan
            disp.append(d)
        out.append(p)
    return np.stack(out), np.asarray(disp, dtype=np.float64)


def class_separation(features, labels, *, n_neighbors: int = 5,
                     n_splits: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """How well each snapshot's features sort the points by class, measured twice.

    The silhouette score (``sklearn.metrics.silhouette_score``, Euclidean, by true class: 1 for
    tight, far-apart class clusters, 0 for overlapping ones, negative when points sit closer to
    another class) and, as a second route, the accuracy of a k-nearest-neighbour classifier on the
    same features (:func:`vizkit.analysis.embedding.map_knn_accuracy`: stratified folds in
    order, no random step).

    Parameters
    ----------
    features : array_like of shape (E, m, D)
        ``E`` snapshots of the same ``m`` points' features.
    labels : array_like of int of shape (m,)
        The points' classes.
    n_neighbors : int, default=5
        The classifier's neighbours (fewer when the smallest class has fewer points in a training
        fold).
    n_splits : int, default=5
        Cross-validation folds (fewer when a class has fewer points).

    Returns
    -------
    silhouette, knn_accuracy : ndarray of shape (E,)
        NaN where the measure is undefined (a single class; a class with one point for the
        classifier).

    Raises
    ------
    ValueError
        ``features`` is not 3-D, or ``labels`` does not have one class per point.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 20)
    >>> mixed = rng.normal(size=(60, 4))  # before training: the classes overlap
    >>> apart = mixed + 6 * np.eye(4)[labels]  # after: each class moved its own way
    >>> sil, knn = class_separation(np.stack([mixed, apart]), labels)
    >>> bool(sil[0] < 0.1 < 0.5 < sil[1]), knn.round(2).tolist()[1]
    (True, 1.0)
    """
    from sklearn.metrics import silhouette_score

    from .embedding import map_knn_accuracy

    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).reshape(-1)
    if f.ndim != 3:
        raise ValueError(f"`features` must have shape (E, m, D). Got shape {f.shape} instead.")
    if len(y) != f.shape[1]:
        raise ValueError(f"one label per point: {f.shape[1]} points, {len(y)} labels.")
    n_classes = len(np.unique(y))
    sil, knn = np.full(len(f), np.nan), np.full(len(f), np.nan)
    for e, x in enumerate(f):
        if 2 <= n_classes < len(y):
            sil[e] = silhouette_score(x, y, metric="euclidean")
        if len(y):
            knn[e] = map_knn_accuracy(x, y, n_neighbors=n_neighbors, folds=n_splits)
    return sil, knn


def over_training(snapshots: dict, *, threshold: float = 0.9) -> OverTraining:
    """Measure an :class:`OverTrainingRecorder`'s snapshots (e.g. replayed from a views file).

    Parameters
    ----------
    snapshots : dict of str to ndarray
        ``recorder.snapshots()`` (or :func:`vizkit.train.load_views`).
    threshold : float, default=0.9
        The mean Spearman rank correlation between consecutive snapshots above which maps (and
        images) count as no longer changing.

    Returns
    -------
    OverTraining
        ``map_rho`` / ``actmax_rho`` are NaN where either image of a pair is flat: a map by
        :func:`is_flat`, an activation-maximization image by :func:`too_faint` over its class's
        snapshots (``maps_flat`` / ``actmax_flat`` say which).

    Raises
    ------
    ValueError
        A snapshot key is missing, or there are fewer than 2 snapshots.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> blank = np.full((8, 8), 0.1)
    >>> digit = blank.copy(); digit[1:7, 3:5] = 0.9
    >>> later = digit.copy(); later[1, 5] = 0.8
    >>> snaps = {"epochs": np.array([0, 1, 2]), "images": rng.random((1, 8, 8)),
    ...          "labels": np.array([0]), "predictions": np.zeros((3, 1), dtype=int),
    ...          "maps": rng.normal(size=(3, 1, 8, 8)), "method": np.asarray("saliency"),
    ...          "actmax": np.stack([[blank + 0.001 * rng.random((8, 8))], [digit], [later]]),
    ...          "actmax_classes": np.array([0]), "features": rng.normal(size=(3, 20, 4)),
    ...          "feature_labels": np.arange(20) % 2}
    >>> res = over_training(snaps)
    >>> res.actmax_flat.ravel().tolist()  # epoch 0's image is blank: nothing to compare
    [True, False, False]
    >>> bool(np.isnan(res.actmax_rho[0, 0])), round(float(res.actmax_rho[1, 0]), 2)
    (True, 0.97)
    """
    missing = [k for k in SNAPSHOT_KEYS if k not in snapshots]
    if missing:
        raise ValueError("these snapshots are not an OverTrainingRecorder's: no "
                         f"{', '.join(missing)}.")
    epochs = np.asarray(snapshots["epochs"], dtype=np.int64)
    if len(epochs) < 2:
        raise ValueError(f"over-training views need at least 2 snapshots. Got {len(epochs)}.")
    maps, am = np.asarray(snapshots["maps"]), np.asarray(snapshots["actmax"])
    maps_flat, am_flat = is_flat(maps), too_faint(am)  # actmax pixels live in [0, 1]
    map_rho = np.stack([_rho(maps[i], maps[i + 1], maps_flat[i], maps_flat[i + 1])
                        for i in range(len(epochs) - 1)])
    am_rho = np.stack([_rho(am[i], am[i + 1], am_flat[i], am_flat[i + 1])
                       for i in range(len(epochs) - 1)])
    emb, disp = aligned_pca(np.asarray(snapshots["features"]))
    sil, knn = class_separation(snapshots["features"], snapshots["feature_labels"])
    return OverTraining(
        epochs=epochs, images=np.asarray(snapshots["images"]), labels=np.asarray(snapshots["labels"]),
        predictions=np.asarray(snapshots["predictions"]), maps=maps,
        method=str(snapshots["method"]), map_rho=map_rho,
        maps_stable_after=stable_after(epochs, map_rho, threshold), actmax=am,
        actmax_classes=np.asarray(snapshots["actmax_classes"]), actmax_rho=am_rho,
        actmax_stable_after=stable_after(epochs, am_rho, threshold), embedding=emb,
        feature_labels=np.asarray(snapshots["feature_labels"]), disparity=disp,
        threshold=float(threshold), maps_flat=maps_flat, actmax_flat=am_flat,
        actmax_contrast=contrast(am), silhouette=sil, knn_accuracy=knn)
