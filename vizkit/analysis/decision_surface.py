"""Decision surfaces of 2D classifiers (seed 002's ``graph_surface``), for any predictor.

:func:`decision_surface` evaluates a classifier on a regular grid over a rectangle of the plane,
in chunks and under ``torch.no_grad()``, and returns a :class:`DecisionSurface` of arrays: the
grid, what the predictor returned, class probabilities where they exist, the argmax labels and the
confidence. The predictor can be a torch ``nn.Module`` (raw logits out), a scikit-learn estimator
(``predict_proba``, ``decision_function`` or ``predict``, in that order), an object of the lab's
``KSVMWrap`` kind (``get_scores``) or any callable taking an ``(N, 2)`` array.

Examples
--------
>>> import numpy as np
>>> surf = decision_surface(lambda X: (X[:, 0] > X[:, 1]).astype(int),
...                         ((0, 0), (1, 1)), grid_resolution=5)
>>> surf.labels.shape, surf.response_method
((5, 5), 'labels')
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .._torch import training_mode

__all__ = ["DecisionSurface", "decision_surface", "resolve_rect", "RESPONSE_METHODS",
           "SurfaceFrames", "SurfaceRecorder", "snapshot_epochs", "Collapse", "collapse_check"]

#: Accepted values of ``response_method``.
RESPONSE_METHODS = ("auto", "proba", "logits", "scores", "labels")

_DEFAULT_RESOLUTION = 200
_DEFAULT_MARGIN = 0.05
_DEFAULT_BATCH = 4096  # small chunks keep hidden activations in cache: faster than one shot


@dataclass
class DecisionSurface:
    """A classifier evaluated on a grid over a rectangle of the plane.

    Attributes
    ----------
    xx, yy : ndarray of shape (H, W)
        Grid coordinates (``np.meshgrid`` of the two axes; row ``i`` has ``yy = y_i``).
    response : ndarray of shape (H, W) or (H, W, C)
        What the predictor returned on the grid (logits, probabilities, scores or labels).
    response_method : {'proba', 'logits', 'scores', 'labels'}
        How ``response`` was read.
    probs : ndarray of shape (H, W, C) or None
        Class probabilities (softmax of logits, sigmoid of a single logit, ``predict_proba``);
        ``None`` when the predictor gives only scores or labels.
    labels : ndarray of int of shape (H, W)
        The predicted class at each grid point.
    confidence : ndarray of shape (H, W) or None
        The largest class probability at each grid point (``None`` without probabilities).
    rect : ((float, float), (float, float))
        ``((x_min, y_min), (x_max, y_max))``, the rectangle covered.
    n_classes : int
        Number of classes (2 for a binary score or a single logit).
    """

    xx: np.ndarray
    yy: np.ndarray
    response: np.ndarray
    response_method: str
    probs: np.ndarray | None
    labels: np.ndarray
    confidence: np.ndarray | None
    rect: tuple
    n_classes: int

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)``, as ``imshow(extent=...)`` wants it."""
        (x0, y0), (x1, y1) = self.rect
        return (x0, x1, y0, y1)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``: grid rows (along y) and columns (along x)."""
        return self.xx.shape

    def field(self, offset: float | None = None) -> np.ndarray:
        """One scalar value per grid point, for ``graph_surface``-style shading.

        With probabilities: P(class 1) for two classes, else the confidence. Without: a binary
        score (or the labels) as it is, else the largest of the class scores.

        Parameters
        ----------
        offset : float, optional
            Not used: the value does not depend on it (the lab's ``graph_surface`` takes it to
            draw the level line, which :func:`vizkit.plot.graph.plot_field` does).

        Returns
        -------
        ndarray of shape (H, W)
        """
        if self.probs is not None:
            return self.probs[..., 1] if self.n_classes == 2 else self.confidence
        if self.response.ndim == 2:
            return self.response.astype(np.float64)
        return self.response.max(axis=-1)


def resolve_rect(X_or_rect: Any, *, margin: float | None = None) -> tuple:
    """The rectangle ``((x_min, y_min), (x_max, y_max))`` from data or from a rectangle.

    Parameters
    ----------
    X_or_rect : array-like of shape (N, 2), or a pair of corners
        Data points (their bounding box, widened by ``margin``), or the lab's
        ``(np.min(X, 0), np.max(X, 0))`` pair of corners given as a tuple or list.
    margin : float, optional
        Fraction of each side's length added on both ends. Default: 0.05 for data, 0 for a
        rectangle given as a tuple or list of two corners.

    Returns
    -------
    ((float, float), (float, float))
        ``((x_min, y_min), (x_max, y_max))``. A side of length 0 (one point, or points on a
        line) is widened to ``max(|x|, 1)`` on each side of it, so the rectangle never has zero
        area.

    Raises
    ------
    ValueError
        Data not of shape ``(N, 2)`` with ``N >= 1``, corners not finite or not ordered
        ``(min, max)``, or ``margin < 0``.

    Notes
    -----
    A tuple or list of two pairs is read as corners, not as two data points: pass two points as
    an ndarray to get their bounding box.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_rect(((0, 0), (2, 1)))
    ((0.0, 0.0), (2.0, 1.0))
    >>> resolve_rect(np.array([[0.0, 0.0], [2.0, 1.0]]), margin=0.5)
    ((-1.0, -0.5), (3.0, 1.5))
    >>> resolve_rect(np.array([[1.0, 2.0]]))  # one point: a box of 1 or |x| each way
    ((0.5, 1.0), (1.5, 3.0))
    """
    is_rect = isinstance(X_or_rect, (tuple, list)) and len(X_or_rect) == 2 and all(
        np.ndim(c) == 1 and np.size(c) == 2 for c in X_or_rect)
    if is_rect:
        lo = np.asarray(X_or_rect[0], dtype=np.float64)
        hi = np.asarray(X_or_rect[1], dtype=np.float64)
        margin = 0.0 if margin is None else float(margin)
    else:
        X = X_or_rect.detach().cpu().numpy() if isinstance(X_or_rect, torch.Tensor) else X_or_rect
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
            raise ValueError("`X_or_rect` must be data of shape (N, 2) or a pair of corners "
                             f"((x_min, y_min), (x_max, y_max)). Got shape {X.shape} instead.")
        lo, hi = X.min(axis=0), X.max(axis=0)
        margin = _DEFAULT_MARGIN if margin is None else float(margin)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"the rectangle must be finite. Got {tuple(lo.tolist())} to "
                         f"{tuple(hi.tolist())} instead.")
    if margin < 0:
        raise ValueError(f"`margin` must be >= 0. Got {margin!r} instead.")
    if np.any(hi < lo):
        raise ValueError(f"rectangle corners must be (min, max). Got {tuple(lo.tolist())} and "
                         f"{tuple(hi.tolist())} instead.")
    span = hi - lo
    lo, hi = lo - margin * span, hi + margin * span
    flat = span == 0  # a single point or a flat side: give it some width
    pad = 0.5 * np.maximum(np.abs(lo), 1.0)
    lo, hi = np.where(flat, lo - pad, lo), np.where(flat, hi + pad, hi)
    return ((float(lo[0]), float(lo[1])), (float(hi[0]), float(hi[1])))


def _resolution(grid_resolution) -> tuple[int, int]:
    """``(W, H)``: points along x and along y."""
    if grid_resolution is None:
        return _DEFAULT_RESOLUTION, _DEFAULT_RESOLUTION
    res = (grid_resolution, grid_resolution) if np.ndim(grid_resolution) == 0 else tuple(grid_resolution)
    if len(res) != 2 or any(isinstance(r, bool) or int(r) != r or int(r) < 2 for r in res):
        raise ValueError("`grid_resolution` must be an integer >= 2 or a (width, height) pair of "
                         f"them. Got {grid_resolution!r} instead.")
    return int(res[0]), int(res[1])


def _module_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    for b in model.buffers():
        if b.is_floating_point():
            return b.device, b.dtype
    return torch.device("cpu"), torch.float32


def _to_numpy(out: Any) -> np.ndarray:
    if isinstance(out, torch.Tensor):
        return out.detach().cpu().numpy()
    return np.asarray(out)


def _make_evaluator(predict: Any, response_method: str, device) -> tuple[Callable, str]:
    """Return ``(f, kind)``: ``f`` maps a float64 ``(n, 2)`` array to a numpy response."""
    if isinstance(predict, nn.Module):
        dev, dtype = _module_device_dtype(predict)
        if device is not None:
            dev = torch.device(device)

        def f(P: np.ndarray) -> np.ndarray:
            return _to_numpy(predict(torch.from_numpy(P).to(device=dev, dtype=dtype)))

        return f, "logits" if response_method == "auto" else response_method
    if response_method in ("auto", "proba") and _has(predict, "predict_proba"):
        return predict.predict_proba, "proba"
    if response_method in ("auto", "scores") and _has(predict, "decision_function"):
        return predict.decision_function, "scores"
    if response_method in ("auto", "scores") and _has(predict, "get_scores"):
        return predict.get_scores, "scores"
    if response_method in ("auto", "labels") and _has(predict, "predict"):
        return predict.predict, "labels"
    if callable(predict) and not _has(predict, "predict"):
        return predict, response_method
    raise TypeError("`predict` must be a torch nn.Module, a callable, or an estimator with "
                    f"predict_proba, decision_function or predict (for response_method="
                    f"{response_method!r}). Got {type(predict).__name__} instead.")


def _has(obj: Any, name: str) -> bool:
    try:  # sklearn's available_if raises AttributeError (e.g. SVC without probability=True)
        return callable(getattr(obj, name))
    except AttributeError:
        return False


def _interpret(R: np.ndarray, kind: str) -> tuple[str, np.ndarray | None, np.ndarray, int]:
    """``(kind, probs, labels, n_classes)`` from a flat response ``R`` of shape (n,) or (n, C)."""
    if R.ndim == 2 and R.shape[1] == 1:
        R = R[:, 0]
    if R.ndim not in (1, 2):
        raise ValueError(f"the predictor must return shape (n,) or (n, C). Got {R.shape} instead.")
    if kind == "auto":
        if np.issubdtype(R.dtype, np.integer) or R.dtype == bool:
            kind = "labels"
        elif R.ndim == 2:
            rows_ok = np.all(R >= 0) and np.allclose(R.sum(1), 1.0, atol=1e-4)
            kind = "proba" if rows_ok else "logits"
        else:
            kind = "proba" if R.size and R.min() >= 0 and R.max() <= 1 else "scores"
    Rf = R.astype(np.float64, copy=False)
    if kind == "labels":
        labels = R.astype(np.int64)
        return kind, None, labels, int(max(labels.max(initial=0) + 1, 2))
    if kind == "proba":
        probs = np.stack([1 - Rf, Rf], axis=1) if R.ndim == 1 else Rf
    elif kind == "logits":
        if R.ndim == 1:
            p1 = 1.0 / (1.0 + np.exp(-Rf))
            probs = np.stack([1 - p1, p1], axis=1)
        else:
            e = np.exp(Rf - Rf.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
    elif kind == "scores":
        if R.ndim == 1:
            labels = (Rf > 0).astype(np.int64)
            return kind, None, labels, 2
        return kind, None, Rf.argmax(axis=1), R.shape[1]
    else:
        raise ValueError(f"`response_method` must be one of {', '.join(map(repr, RESPONSE_METHODS))}."
                         f" Got {kind!r} instead.")
    return kind, probs, probs.argmax(axis=1), probs.shape[1]


def decision_surface(predict: Any, X_or_rect: Any, *, grid_resolution: int | Sequence[int] | None = None,
                     margin: float | None = None, batch_size: int | None = None,
                     response_method: str = "auto", device: str | torch.device | None = None
                     ) -> DecisionSurface:
    """Evaluate a classifier on a grid over the plane.

    Parameters
    ----------
    predict : nn.Module, estimator or callable
        * ``nn.Module``: called on float tensors ``(n, 2)`` (the model's dtype and device), returns
          raw logits ``(n, C)`` (softmax) or ``(n, 1)``/``(n,)`` (sigmoid). Run in eval mode under
          ``no_grad``; ``model.training`` is put back afterwards.
        * an estimator: ``predict_proba``, else ``decision_function`` (or the lab's
          ``get_scores``), else ``predict``, called on float64 arrays ``(n, 2)``.
        * any other callable taking a float64 array ``(n, 2)`` and returning an array or tensor of
          shape ``(n,)`` or ``(n, C)``: see ``response_method``.
    X_or_rect : array-like of shape (N, 2), or ((x_min, y_min), (x_max, y_max))
        Data whose bounding box (plus ``margin``) is covered, or the rectangle itself.
    grid_resolution : int or (int, int), default=200
        Grid points along each axis, or ``(width, height)``.
    margin : float, optional
        Fraction of each side added on both ends; default 0.05 for data, 0 for a rectangle.
    batch_size : int, default=4096
        Grid points per call of the predictor: bounds the memory of big grids and keeps a
        hidden layer's activations in the CPU cache (4096 x 300 floats), faster than one shot.
    response_method : {'auto', 'proba', 'logits', 'scores', 'labels'}, default='auto'
        How to read what the predictor returns. ``'auto'``: logits for a module; the method found
        for an estimator; for a callable, integers are labels, rows of ``(n, C)`` summing to one
        are probabilities (otherwise logits), and ``(n,)`` floats in [0, 1] are P(class 1)
        (otherwise binary scores, class 1 where > 0).
    device : str or torch.device, optional
        Where a module is evaluated (default: where its parameters are).

    Returns
    -------
    DecisionSurface
        The grid ``xx, yy`` of shape ``(H, W)`` (``H`` points along y, ``W`` along x), the
        response there, the probabilities and confidence when the predictor gives them, and the
        predicted ``labels``.

    Raises
    ------
    ValueError
        ``response_method`` is not one of :data:`RESPONSE_METHODS`, ``batch_size`` or
        ``grid_resolution`` is not a positive integer (at least 2 for the grid), the rectangle
        is bad (see :func:`resolve_rect`), or the predictor returns the wrong number of rows or
        an array that is not ``(n,)`` or ``(n, C)``.
    TypeError
        ``predict`` is neither a module, a callable nor an estimator with a method that
        ``response_method`` allows (e.g. an estimator without ``predict_proba`` for
        ``response_method='proba'``).

    See Also
    --------
    vizkit.plot.plot_decision_regions : draws the surface.

    Examples
    --------
    The argmax of two logits ``(x0, x1)`` is class 1 above the diagonal:

    >>> import torch
    >>> lin = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]])); _ = lin.bias.zero_()
    >>> s = decision_surface(lin, ((-1, -1), (1, 1)), grid_resolution=3)
    >>> s.labels.tolist()  # rows go up in y: class 1 where x1 > x0
    [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    >>> s.response_method, s.probs.shape, float(s.confidence[0, 0])  # softmax of (-1, -1)
    ('logits', (3, 3, 2), 0.5)

    A scikit-learn estimator is read through ``predict_proba``:

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([0, 1, 0, 1])
    >>> s = decision_surface(LogisticRegression().fit(X, y), X, grid_resolution=(4, 2))
    >>> s.response_method, s.shape, s.labels[0].tolist()
    ('proba', (2, 4), [0, 0, 1, 1])
    """
    if response_method not in RESPONSE_METHODS:
        raise ValueError(f"`response_method` must be one of {', '.join(map(repr, RESPONSE_METHODS))}."
                         f" Got {response_method!r} instead.")
    batch_size = _DEFAULT_BATCH if batch_size is None else batch_size
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Got {batch_size!r} instead.")
    batch_size = int(batch_size)
    W, H = _resolution(grid_resolution)
    rect = resolve_rect(X_or_rect, margin=margin)
    (x0, y0), (x1, y1) = rect
    xs, ys = np.linspace(x0, x1, W), np.linspace(y0, y1, H)
    xx, yy = np.meshgrid(xs, ys)
    points = np.column_stack([xx.ravel(), yy.ravel()])

    f, kind = _make_evaluator(predict, response_method, device)
    mode = training_mode(predict, False) if isinstance(predict, nn.Module) else nullcontext()
    with mode, torch.no_grad():
        chunks = [_to_numpy(f(points[i:i + batch_size])) for i in range(0, len(points), batch_size)]
    R = np.concatenate(chunks, axis=0)
    if R.shape[0] != len(points):
        raise ValueError(f"the predictor returned {R.shape[0]} rows for {len(points)} points.")
    return _surface(xx, yy, R, kind, rect)


def _surface(xx: np.ndarray, yy: np.ndarray, R: np.ndarray, kind: str, rect: tuple) -> DecisionSurface:
    """The :class:`DecisionSurface` of a flat response ``R`` (one row per grid point, row-major)."""
    H, W = xx.shape
    kind, probs, labels, C = _interpret(R, kind)
    response = R[:, 0] if R.ndim == 2 and R.shape[1] == 1 else R
    response = response.reshape(H, W, *response.shape[1:])
    probs = None if probs is None else probs.reshape(H, W, -1)
    confidence = None if probs is None else probs.max(axis=-1)
    return DecisionSurface(xx=xx, yy=yy, response=response, response_method=kind, probs=probs,
                           labels=labels.reshape(H, W), confidence=confidence, rect=rect, n_classes=C)


# -------------------------------------------------------------------------- over training
def snapshot_epochs(last: int, n: int, *, spacing: str = "log") -> list[int]:
    """Epoch 0 (the initial weights) and up to ``n`` epochs from 1 to ``last``, ``last`` included.

    Parameters
    ----------
    last : int
        The last epoch of the training (``config.epochs``).
    n : int
        Snapshots after epoch 0 (fewer when rounding makes epochs coincide).
    spacing : {'log', 'linear'}, default='log'
        ``'log'``: geometrically from 1 to ``last`` (dense early, where a model moves most);
        ``'linear'``: evenly.

    Returns
    -------
    list of int
        Sorted and distinct, starting with 0 and ending with ``last``.

    Raises
    ------
    ValueError
        ``spacing`` is not ``'log'`` or ``'linear'``, or ``last`` or ``n`` is not a positive
        integer.

    Examples
    --------
    >>> snapshot_epochs(12, 4)
    [0, 1, 2, 5, 12]
    >>> snapshot_epochs(12, 4, spacing="linear")
    [0, 1, 5, 8, 12]
    >>> snapshot_epochs(2, 5)  # only two epochs to choose from
    [0, 1, 2]
    """
    if spacing not in ("log", "linear"):
        raise ValueError(f"`spacing` must be one of 'log', 'linear'. Got {spacing!r} instead.")
    for name, v in (("last", last), ("n", n)):
        if isinstance(v, bool) or int(v) != v or int(v) < 1:
            raise ValueError(f"`{name}` must be a positive integer. Got {v!r} instead.")
    space = np.geomspace if spacing == "log" else np.linspace
    return [0] + np.unique(np.round(space(1, int(last), int(n))).astype(int)).tolist()


@dataclass
class SurfaceFrames:
    """A model's decision surface over its training: one snapshot every few epochs.

    Attributes
    ----------
    epochs : ndarray of int of shape (F,)
        The epoch of each snapshot (0: the initial weights, before any step).
    surfaces : list of DecisionSurface
        One per snapshot, all over the same rectangle and grid.
    points : ndarray of shape (n, 2)
        The points whose predictions are followed (the training data, say).
    labels : ndarray of int of shape (n,)
        Their true classes.
    predictions : ndarray of int of shape (F, n)
        The model's class for each point at each snapshot.
    loss : ndarray of shape (F,)
        Mean cross-entropy on the points at each snapshot.
    """

    epochs: np.ndarray
    surfaces: list
    points: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    loss: np.ndarray

    def __len__(self) -> int:
        return len(self.surfaces)

    @property
    def accuracy(self) -> np.ndarray:
        """Share of the points classified right at each snapshot, shape (F,)."""
        return (self.predictions == self.labels[None, :]).mean(axis=1)

    @classmethod
    def from_snapshots(cls, snapshots: dict) -> "SurfaceFrames":
        """The frames of :meth:`SurfaceRecorder.snapshots` (e.g. replayed from a cached model's
        views): the very surfaces the recorder computed.

        Parameters
        ----------
        snapshots : dict
            What :meth:`SurfaceRecorder.snapshots` returned (or a views file's copy of it).

        Returns
        -------
        SurfaceFrames

        Raises
        ------
        ValueError
            A key of :meth:`SurfaceRecorder.snapshots` is missing.
        """
        missing = [k for k in _SNAPSHOT_KEYS if k not in snapshots]
        if missing:
            raise ValueError(f"these snapshots are not a SurfaceRecorder's: no {', '.join(missing)}.")
        xx, yy = np.meshgrid(snapshots["x"], snapshots["y"])
        rect = tuple(tuple(float(v) for v in corner) for corner in np.asarray(snapshots["rect"]))
        kind = str(snapshots["response_method"])
        surfaces = []
        for R in snapshots["response"]:
            flat = R.reshape(xx.size, *R.shape[2:])
            surfaces.append(_surface(xx, yy, flat, kind, rect))
        return cls(epochs=np.asarray(snapshots["epochs"]), surfaces=surfaces,
                   points=np.asarray(snapshots["points"]), labels=np.asarray(snapshots["labels"]),
                   predictions=np.asarray(snapshots["predictions"]),
                   loss=np.asarray(snapshots["loss"]))


_SNAPSHOT_KEYS = ("epochs", "x", "y", "rect", "response", "response_method", "points", "labels",
                  "predictions", "loss")


class SurfaceRecorder:
    """Views over training: snapshots of the decision surface, taken by a training's epoch callback.

    Pass it as ``recorder=`` to :func:`vizkit.train.train_model` or ``ctx.train`` (which call
    :meth:`on_epoch_end` at epoch 0 and after every epoch, and store :meth:`snapshots` beside the
    checkpoint), or call it yourself from ``fit(..., on_epoch_end=recorder)``; it never trains.

    Parameters
    ----------
    points : array-like of shape (n, 2)
        Points whose predictions and loss are followed (the training data, say).
    labels : array-like of int of shape (n,)
        Their true classes (for the loss and the accuracy of each frame).
    every : int, default=1
        Snapshot every ``every`` epochs (and whenever :meth:`snapshot` is called).
    at : sequence of int, optional
        Snapshot exactly at these epochs instead (e.g. :func:`snapshot_epochs`, denser early);
        ``every`` is then ignored.
    rect : ((x_min, y_min), (x_max, y_max)) or array-like of shape (N, 2), optional
        The rectangle of every frame (default: the points' box with a 5 % margin), read by
        :func:`resolve_rect`.
    grid_resolution : int or (int, int), default=100
        Grid points along each axis of every frame, or ``(width, height)``.

    Raises
    ------
    ValueError
        ``every`` is not a positive integer, or ``points`` is not ``(n, 2)`` with one label per
        point.

    Examples
    --------
    >>> import torch
    >>> X = torch.randn(40, 2, generator=torch.Generator().manual_seed(0)); y = (X[:, 0] > 0).long()
    >>> rec = SurfaceRecorder(X, y, every=5, grid_resolution=8)
    >>> model = torch.nn.Linear(2, 2)
    >>> for epoch in range(0, 11):  # what train_model(..., recorder=rec) does
    ...     rec.on_epoch_end(epoch, model)
    >>> rec.result().epochs.tolist(), rec.result().predictions.shape
    ([0, 5, 10], (3, 40))
    """

    def __init__(self, points, labels, *, every: int = 1, at: Sequence[int] | None = None,
                 rect=None, grid_resolution: int | Sequence[int] | None = 100) -> None:
        if isinstance(every, bool) or int(every) != every or int(every) < 1:
            raise ValueError(f"`every` must be a positive integer. Got {every!r} instead.")
        self.points = np.asarray(_to_numpy(points), dtype=np.float64)
        self.labels = np.asarray(_to_numpy(labels)).astype(np.int64).reshape(-1)
        if self.points.ndim != 2 or self.points.shape[1] != 2 or len(self.points) != len(self.labels):
            raise ValueError(f"`points` must have shape (n, 2) and `labels` shape (n,). Got "
                             f"{self.points.shape} and {self.labels.shape} instead.")
        self.every = int(every)
        self.at = None if at is None else sorted({int(e) for e in at})
        self.rect = resolve_rect(self.points if rect is None else rect)
        self.grid_resolution = grid_resolution
        self._frames: list[tuple] = []

    def on_epoch_end(self, epoch: int, model: nn.Module) -> None:
        """Snapshot ``model`` when ``epoch`` is one of the recorder's epochs."""
        if (epoch in self.at) if self.at is not None else (epoch % self.every == 0):
            self.snapshot(model, epoch)

    __call__ = on_epoch_end

    def identity(self) -> dict:
        """What decides the snapshots (epochs, rectangle, grid, a hash of the points followed)."""
        h = hashlib.sha256(self.points.tobytes() + self.labels.tobytes()).hexdigest()[:16]
        res = self.grid_resolution
        return {"every": self.every, "at": self.at, "rect": self.rect, "points": h,
                "grid_resolution": res if res is None or np.ndim(res) == 0 else list(res)}

    def snapshot(self, model: nn.Module, epoch: int) -> None:
        """Evaluate ``model`` now and keep it as the frame of ``epoch`` (once per epoch)."""
        if self._frames and self._frames[-1][0] == int(epoch):
            return
        surf = decision_surface(model, self.rect, grid_resolution=self.grid_resolution)
        dev, dtype = _module_device_dtype(model)
        with training_mode(model, False), torch.no_grad():
            logits = model(torch.as_tensor(self.points, device=dev, dtype=dtype)).float().cpu()
        y = torch.as_tensor(self.labels)
        if logits.dim() == 2 and logits.shape[1] == 1:
            pred = (logits[:, 0] > 0).long()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.float())
        else:
            pred = logits.argmax(1)
            loss = torch.nn.functional.cross_entropy(logits, y)
        self._frames.append((int(epoch), surf, pred.numpy(), float(loss)))

    def snapshots(self) -> dict:
        """The snapshots as plain arrays (what a views file stores); :meth:`SurfaceFrames.
        from_snapshots` turns them back into the frames."""
        frames = self.result()
        first = frames.surfaces[0]
        return {"epochs": frames.epochs, "x": first.xx[0], "y": first.yy[:, 0],
                "rect": np.asarray(first.rect, dtype=np.float64),
                "response": np.stack([s.response for s in frames.surfaces]),
                "response_method": np.asarray(first.response_method), "points": frames.points,
                "labels": frames.labels, "predictions": frames.predictions, "loss": frames.loss}

    def result(self) -> SurfaceFrames:
        """The snapshots taken so far, in order.

        Returns
        -------
        SurfaceFrames

        Raises
        ------
        ValueError
            No snapshot was taken yet.
        """
        if not self._frames:
            raise ValueError("no snapshot yet: pass the recorder to train_model(..., recorder=...) "
                             "or call on_epoch_end(0, model).")
        return SurfaceFrames(epochs=np.array([f[0] for f in self._frames], dtype=np.int64),
                             surfaces=[f[1] for f in self._frames], points=self.points,
                             labels=self.labels,
                             predictions=np.stack([f[2] for f in self._frames]).astype(np.int64),
                             loss=np.array([f[3] for f in self._frames], dtype=np.float64))


@dataclass
class Collapse:
    """Whether a classifier has collapsed: see :func:`collapse_check`.

    Attributes
    ----------
    collapsed : bool
        ``constant`` or ``at_chance``.
    constant : bool
        Every prediction is one class (``top_share == 1``).
    at_chance : bool
        Accuracy no higher than always answering the most common true class.
    accuracy : float
        Share of predictions equal to the labels.
    chance : float
        Share of the most common true class (the accuracy of a constant guess of it).
    top_class : int
        The most often predicted class.
    top_share : float
        Share of the predictions that are ``top_class``.
    """

    collapsed: bool
    constant: bool
    at_chance: bool
    accuracy: float
    chance: float
    top_class: int
    top_share: float

    def describe(self) -> str:
        """One phrase for a title or caption, e.g. ``'collapsed: predicts class 1 for all
        points, accuracy 0.50 = chance 0.50'`` (``'not collapsed'`` otherwise)."""
        if not self.collapsed:
            return "not collapsed"
        what = (f"predicts class {self.top_class} for all points" if self.constant else
                f"predicts class {self.top_class} for {self.top_share:.0%} of the points")
        return (f"collapsed: {what}, accuracy {self.accuracy:.2f} "
                f"{'=' if self.accuracy == self.chance else '<='} chance {self.chance:.2f}")


def collapse_check(predictions: Any, labels: Any) -> Collapse:
    """Has a classifier collapsed, i.e. does it predict one class everywhere or do no better
    than always guessing the most common class?

    A collapsed model (for instance a net whose L2 penalty has pushed every weight to zero) is a
    failure of training, not a property of its hyper-parameter: name it as such.

    Parameters
    ----------
    predictions : array-like of int, shape (n,)
        The predicted classes.
    labels : array-like of int, shape (n,)
        The true classes.

    Returns
    -------
    Collapse
        ``collapsed`` is ``constant or at_chance``, with the numbers behind it.

    Raises
    ------
    ValueError
        The two arrays are empty, not one-dimensional or of different lengths.

    Examples
    --------
    >>> collapse_check([1, 1, 1, 1], [0, 1, 0, 1]).describe()
    'collapsed: predicts class 1 for all points, accuracy 0.50 = chance 0.50'
    >>> collapse_check([0, 1, 0, 1], [0, 1, 0, 1]).collapsed
    False
    """
    p = np.asarray(predictions).reshape(-1) if np.ndim(predictions) <= 1 else None
    y = np.asarray(labels).reshape(-1) if np.ndim(labels) <= 1 else None
    if p is None or y is None or len(p) != len(y) or len(p) == 0:
        raise ValueError("`predictions` and `labels` must be non-empty 1-D arrays of the same "
                         f"length. Got shapes {np.shape(predictions)} and {np.shape(labels)} "
                         "instead.")
    p, y = p.astype(np.int64), y.astype(np.int64)
    classes, counts = np.unique(p, return_counts=True)
    top = int(np.argmax(counts))
    top_share = float(counts[top] / len(p))
    accuracy = float((p == y).mean())
    chance = float(np.unique(y, return_counts=True)[1].max() / len(y))
    constant = len(classes) == 1
    at_chance = accuracy <= chance
    return Collapse(collapsed=bool(constant or at_chance), constant=bool(constant),
                    at_chance=bool(at_chance), accuracy=accuracy, chance=chance,
                    top_class=int(classes[top]), top_share=top_share)
