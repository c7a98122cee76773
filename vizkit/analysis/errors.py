"""Where a classifier goes wrong: confusion matrix, worst examples, right and wrong predictions.

All functions run the model in eval mode under ``no_grad`` (its ``training`` flag is put back) and
return arrays: :func:`predictions` gives per-example probabilities, predicted class and loss;
:func:`confusion` the confusion matrix; :func:`worst_examples` the ``k`` highest-loss examples with
their probabilities (seed 004's probability bars); :func:`prediction_examples` a seeded sample of
right and of wrong predictions; :func:`confidence_examples` the extremes that exist: the wrong
predictions the model was most sure of and the right ones it was least sure of.

Examples
--------
>>> import torch
>>> model = torch.nn.Linear(2, 2)
>>> x, y = torch.randn(20, 2), torch.randint(0, 2, (20,))
>>> worst = worst_examples(model, x, y, k=3)
>>> bool((worst.loss[:-1] >= worst.loss[1:]).all()), worst.probs.shape
(True, (3, 2))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import check_model, model_device, training_mode

__all__ = ["Predictions", "Examples", "PredictionExamples", "predictions", "confusion",
           "worst_examples", "prediction_examples", "confidence_examples", "TrainingEnd",
           "training_end"]

_DEFAULT_BATCH = 2048


@dataclass
class Predictions:
    """Per-example outputs of a classifier on ``(x, y)``.

    Attributes
    ----------
    probs : ndarray of shape (N, C)
        Class probabilities (softmax of the logits; ``[1 - p, p]`` for a single logit).
    pred : ndarray of int of shape (N,)
        Predicted class.
    y : ndarray of int of shape (N,)
        True class.
    loss : ndarray of shape (N,)
        Cross-entropy of each example, ``-log probs[i, y[i]]`` (computed from the logits).
    """

    probs: np.ndarray
    pred: np.ndarray
    y: np.ndarray
    loss: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        return self.pred == self.y

    @property
    def n_classes(self) -> int:
        return self.probs.shape[1]


@dataclass
class Examples:
    """A selection of examples with what the model said about them.

    Attributes
    ----------
    indices : ndarray of int of shape (k,)
        Positions in the ``x`` given.
    inputs : torch.Tensor of shape (k, ...)
        The inputs themselves (e.g. ``[k, 1, 28, 28]`` images).
    y, pred : ndarray of int of shape (k,)
        True and predicted class.
    probs : ndarray of shape (k, C)
    loss : ndarray of shape (k,)
    """

    indices: np.ndarray
    inputs: torch.Tensor
    y: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    loss: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class PredictionExamples:
    """Right and wrong predictions (seed 004's probability bar charts).

    Attributes
    ----------
    right : Examples
        Examples the model classified right.
    wrong : Examples
        Examples it classified wrong.
    """

    right: Examples
    wrong: Examples


def _check_xy(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(x)
    y = torch.as_tensor(y).long().reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"`x` and `y` must have the same length. Got {len(x)} inputs and "
                         f"{len(y)} labels instead.")
    return x, y


@torch.no_grad()
def predictions(model: nn.Module, x: Any, y: Any, *, batch_size: int | None = None) -> Predictions:
    """Probabilities, predicted class and per-example loss of ``model`` on ``(x, y)``.

    Parameters
    ----------
    model : nn.Module
        Returns raw logits ``(n, C)`` (or ``(n, 1)`` for a binary model).
    x : torch.Tensor
    y : array-like of int of shape (N,)
    batch_size : int, default=2048

    Returns
    -------
    Predictions

    Raises
    ------
    ValueError
        ``x`` and ``y`` differ in length, ``x`` is empty, ``batch_size`` is not positive, or a
        label is outside the model's classes.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(1, 2, bias=False)
    >>> _ = torch.nn.init.constant_(m.weight, 0).data[1].fill_(1)  # logits (0, x)
    >>> p = predictions(m, torch.tensor([[0.0], [2.0]]), torch.tensor([0, 0]))
    >>> p.probs.round(3).tolist(), p.pred.tolist(), p.loss.round(3).tolist()
    ([[0.5, 0.5], [0.119, 0.881]], [0, 1], [0.693, 2.127])
    """
    check_model(model)
    x, y = _check_xy(x, y)
    batch_size = _DEFAULT_BATCH if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Got {batch_size!r} instead.")
    dev = model_device(model)
    with training_mode(model, False):
        logits = [model(x[i:i + batch_size].to(dev)).float().cpu() for i in range(0, len(x), batch_size)]
    if not logits:
        raise ValueError("`x` is empty.")
    z = torch.cat(logits)
    if z.dim() == 1:
        z = z[:, None]
    if z.shape[1] == 1:  # one logit: binary, class 1 has probability sigmoid(z)
        z = torch.cat([torch.zeros_like(z), z], 1)
    if int(y.max()) >= z.shape[1] or int(y.min()) < 0:
        raise ValueError(f"labels must be in [0, {z.shape[1] - 1}] for a model with {z.shape[1]} "
                         f"classes. Got labels from {int(y.min())} to {int(y.max())} instead.")
    logp = torch.log_softmax(z.double(), 1)
    loss = -logp.gather(1, y[:, None]).squeeze(1)
    probs = logp.exp()
    return Predictions(probs=probs.numpy(), pred=z.argmax(1).numpy(), y=y.numpy(), loss=loss.numpy())


def confusion(model: nn.Module, x: Any, y: Any, *, n_classes: int | None = None,
              batch_size: int | None = None) -> np.ndarray:
    """Confusion matrix ``M[i, j]``: examples of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    model : nn.Module
    x, y : inputs and integer labels
    n_classes : int, optional
        Default: the model's number of outputs.
    batch_size : int, default=2048

    Returns
    -------
    ndarray of int of shape (C, C)

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(1, 2, bias=False)
    >>> _ = torch.nn.init.constant_(m.weight, 0).data[1].fill_(1)  # class 1 iff x > 0
    >>> confusion(m, torch.tensor([[1.0], [-1.0], [2.0]]), torch.tensor([1, 1, 0])).tolist()
    [[0, 1], [1, 1]]
    """
    from ..train.metrics import confusion_matrix

    p = predictions(model, x, y, batch_size=batch_size)
    C = p.n_classes if n_classes is None else int(n_classes)
    return confusion_matrix(p.y, p.pred, C)


def _select(p: Predictions, x: torch.Tensor, idx: np.ndarray) -> Examples:
    idx = np.asarray(idx, dtype=np.int64)
    return Examples(indices=idx, inputs=x[torch.from_numpy(idx)].detach().clone(), y=p.y[idx],
                    pred=p.pred[idx], probs=p.probs[idx], loss=p.loss[idx])


def _check_k(k: Any, name: str) -> int:
    if isinstance(k, bool) or int(k) != k or int(k) < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Got {k!r} instead.")
    return int(k)


def worst_examples(model: nn.Module, x: Any, y: Any, k: int = 8, *, batch_size: int | None = None,
                   preds: Predictions | None = None) -> Examples:
    """The ``k`` examples with the highest loss, highest first.

    Parameters
    ----------
    model : nn.Module
    x, y : inputs and integer labels
    k : int, default=8
        How many (fewer when ``x`` is smaller).
    batch_size : int, default=2048
    preds : Predictions, optional
        Already computed :func:`predictions` of ``model`` on ``(x, y)`` (saves a pass).

    Returns
    -------
    Examples
        Sorted by decreasing loss; ties keep the order of ``x``.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(1, 2, bias=False)
    >>> _ = torch.nn.init.constant_(m.weight, 0).data[1].fill_(1)  # P(1) = sigmoid(x)
    >>> x, y = torch.tensor([[3.0], [-1.0], [1.0]]), torch.tensor([0, 0, 0])
    >>> worst_examples(m, x, y, k=2).indices.tolist()  # the surest class-1 answers lose most
    [0, 2]
    """
    k = _check_k(k, "k")
    x, y = _check_xy(x, y)
    p = predictions(model, x, y, batch_size=batch_size) if preds is None else preds
    order = np.argsort(-p.loss, kind="stable")[:k]
    return _select(p, x, order)


def prediction_examples(model: nn.Module, x: Any, y: Any, *, n_right: int = 4, n_wrong: int = 4,
                        seed: int = 0, batch_size: int | None = None,
                        preds: Predictions | None = None) -> PredictionExamples:
    """A seeded random sample of right and of wrong predictions (seed 004's bar charts).

    Parameters
    ----------
    model : nn.Module
    x, y : inputs and integer labels
    n_right, n_wrong : int, default=4
        How many of each (fewer when there are not that many).
    seed : int, default=0
        Seeds the sampling.
    batch_size : int, default=2048
    preds : Predictions, optional
        Already computed :func:`predictions` (saves a pass).

    Returns
    -------
    PredictionExamples
        ``right`` and ``wrong``, each in the order of ``x``.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(1, 2, bias=False)
    >>> _ = torch.nn.init.constant_(m.weight, 0).data[1].fill_(1)  # class 1 iff x > 0
    >>> x, y = torch.tensor([[1.0], [-1.0], [2.0], [-2.0]]), torch.tensor([1, 1, 0, 0])
    >>> ex = prediction_examples(m, x, y, n_right=5, n_wrong=1, seed=0)
    >>> ex.right.indices.tolist(), len(ex.wrong), set(ex.wrong.indices.tolist()) <= {1, 2}
    ([0, 3], 1, True)
    """
    n_right, n_wrong = _check_k(n_right, "n_right"), _check_k(n_wrong, "n_wrong")
    x, y = _check_xy(x, y)
    p = predictions(model, x, y, batch_size=batch_size) if preds is None else preds
    rng = np.random.default_rng(seed)
    right_all = np.flatnonzero(p.correct)
    wrong_all = np.flatnonzero(~p.correct)
    right = np.sort(rng.choice(right_all, size=min(n_right, len(right_all)), replace=False))
    wrong = np.sort(rng.choice(wrong_all, size=min(n_wrong, len(wrong_all)), replace=False))
    return PredictionExamples(right=_select(p, x, right), wrong=_select(p, x, wrong))


def confidence_examples(model: nn.Module, x: Any, y: Any, *, n_right: int = 4, n_wrong: int = 4,
                        batch_size: int | None = None, preds: Predictions | None = None,
                        exclude: Any = None) -> PredictionExamples:
    """The wrong predictions made with the highest confidence and the right predictions made with
    the lowest (the cases worth showing, chosen from those that exist).

    Confidence is the probability of the predicted class, ``probs[i, pred[i]]``.

    Parameters
    ----------
    model : nn.Module
    x, y : inputs and integer labels
    n_right, n_wrong : int, default=4
        How many of each (fewer when there are not that many).
    batch_size : int, default=2048
    preds : Predictions, optional
        Already computed :func:`predictions` (saves a pass).
    exclude : array-like of int, optional
        Positions in ``x`` not to choose as wrong predictions (e.g. the :func:`worst_examples`
        already shown), so the surest mistakes shown are not the worst ones again; every right
        prediction stays a candidate.

    Returns
    -------
    PredictionExamples
        ``wrong`` by decreasing confidence (most sure first), ``right`` by increasing confidence
        (least sure first); ties keep the order of ``x``.

    Raises
    ------
    ValueError
        A count is negative or not whole, ``x`` and ``y`` differ in length, or ``exclude`` holds
        a position outside ``x``.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Linear(1, 2, bias=False)
    >>> _ = torch.nn.init.constant_(m.weight, 0).data[1].fill_(1)  # P(1) = sigmoid(x)
    >>> ex = confidence_examples(m, torch.tensor([[3.0], [0.5], [-2.0], [1.0]]),
    ...                          torch.tensor([0, 1, 0, 0]), n_right=1, n_wrong=2)
    >>> ex.wrong.indices.tolist(), ex.right.indices.tolist()
    ([0, 3], [1])
    """
    n_right, n_wrong = _check_k(n_right, "n_right"), _check_k(n_wrong, "n_wrong")
    x, y = _check_xy(x, y)
    p = predictions(model, x, y, batch_size=batch_size) if preds is None else preds
    conf = p.probs[np.arange(len(p.pred)), p.pred]
    keep = np.ones(len(p.pred), dtype=bool)
    if exclude is not None:
        ex = np.asarray(exclude, dtype=np.int64).reshape(-1)
        if ex.size and (ex.min() < 0 or ex.max() >= len(keep)):
            raise ValueError(f"`exclude` must hold positions in [0, {len(keep) - 1}]. Got "
                             f"{int(ex.min())} to {int(ex.max())} instead.")
        keep[ex] = False
    wrong_all = np.flatnonzero(~p.correct & keep)
    right_all = np.flatnonzero(p.correct)  # `exclude` applies to the mistakes only
    wrong = wrong_all[np.argsort(-conf[wrong_all], kind="stable")[:n_wrong]]
    right = right_all[np.argsort(conf[right_all], kind="stable")[:n_right]]
    return PredictionExamples(right=_select(p, x, right), wrong=_select(p, x, wrong))


@dataclass
class TrainingEnd:
    """How a training run ended, read from its per-epoch validation record
    (:func:`training_end`).

    Attributes
    ----------
    n_epochs : int
        Epochs run.
    last_epoch, best_epoch : int
        The last epoch and the best-validation one (1-based, as the history numbers them).
    monitor : {'val_acc', 'val_loss'}
        What chose the best epoch.
    best_is_last : bool
        The best-validation epoch is the last one run.
    window : ndarray of int
        The last epochs the slopes are fitted over.
    val_acc_slope, val_loss_slope : float
        Least-squares slope per epoch of validation accuracy and loss over ``window`` (NaN
        without the values, or with fewer than two epochs).
    generalization_loss : float
        Prechelt's generalization loss at the last epoch, ``100 * (val_loss[last] /
        min(val_loss) - 1)`` in percent: 0 when the validation loss is lowest at the last
        epoch (NaN without validation losses).
    still_improving : bool
        The best epoch is the last and the monitored figure's slope points the improving way
        (accuracy rising, loss falling): training stopped before the validation figure stopped
        improving.
    """

    n_epochs: int
    last_epoch: int
    best_epoch: int
    monitor: str
    best_is_last: bool
    window: np.ndarray
    val_acc_slope: float
    val_loss_slope: float
    generalization_loss: float
    still_improving: bool


def _slope(x: np.ndarray, v: np.ndarray) -> float:
    ok = np.isfinite(v)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(x[ok], v[ok], 1)[0])


def training_end(history: Any, *, monitor: str = "val_acc", last: int = 3) -> TrainingEnd:
    """Whether a run stopped while its validation figure was still improving: its best epoch
    against its last, the slope of its last epochs, and Prechelt's generalization loss.

    A best-validation epoch that is the last one run is not an optimum the training found: the
    validation figure may still be improving. This reads it from the history: the best epoch
    (the one the history records, else the best value of ``monitor``, the earliest on ties), the
    least-squares slope of validation
    accuracy and loss over the last ``last`` epochs, and the generalization loss ``GL`` of
    Prechelt ("Early stopping -- but when?", 1998) at the last epoch.

    Parameters
    ----------
    history : History, dict or list of dict
        A :class:`vizkit.train.History`, its ``to_dict()`` form, or the per-epoch records, each
        with ``val_acc`` and/or ``val_loss`` (and ``epoch``, default 1, 2, ...).
    monitor : {'val_acc', 'val_loss'}, default='val_acc'
        What chooses the best epoch (the training config's ``monitor``).
    last : int, default=3
        How many of the last epochs the slopes are fitted over (at least 2).

    Returns
    -------
    TrainingEnd

    Raises
    ------
    ValueError
        ``monitor`` is not one of the two, ``last`` < 2, or no epoch has a value of
        ``monitor``.
    TypeError
        ``history`` is none of the forms above.

    Examples
    --------
    >>> rising = [{"epoch": e, "val_acc": a} for e, a in enumerate([0.6, 0.8, 0.9, 0.95], 1)]
    >>> end = training_end(rising)
    >>> end.best_epoch, end.best_is_last, round(end.val_acc_slope, 3), end.still_improving
    (4, True, 0.075, True)
    >>> peaked = [{"epoch": e, "val_acc": a} for e, a in enumerate([0.6, 0.9, 0.85, 0.8], 1)]
    >>> training_end(peaked).still_improving, training_end(peaked).best_epoch
    (False, 2)
    """
    if monitor not in ("val_acc", "val_loss"):
        raise ValueError(f"`monitor` must be one of 'val_acc', 'val_loss'. Got {monitor!r} "
                         "instead.")
    if isinstance(last, bool) or int(last) != last or int(last) < 2:
        raise ValueError(f"`last` must be an integer >= 2 (a slope needs two epochs). Got "
                         f"{last!r} instead.")
    recorded = 0  # the best epoch the training itself recorded, when the history says
    if hasattr(history, "epochs") and not isinstance(history, dict):
        epochs, recorded = list(history.epochs), int(getattr(history, "best_epoch", 0) or 0)
    elif isinstance(history, dict) and isinstance(history.get("epochs"), list):
        epochs, recorded = list(history["epochs"]), int(history.get("best_epoch", 0) or 0)
    elif isinstance(history, (list, tuple)) and all(isinstance(e, dict) for e in history):
        epochs = list(history)
    else:
        raise TypeError("`history` must be a vizkit.train.History, its to_dict() or a list of "
                        f"per-epoch dicts. Got {type(history).__name__} instead.")

    def values(key: str) -> np.ndarray:
        return np.array([np.nan if e.get(key) is None else float(e[key]) for e in epochs])

    x = np.array([e.get("epoch", i + 1) for i, e in enumerate(epochs)], dtype=float)
    acc, loss = values("val_acc"), values("val_loss")
    watched = acc if monitor == "val_acc" else -loss
    if not np.isfinite(watched).any():
        raise ValueError(f"no epoch of `history` has a value of {monitor!r}; the epochs have "
                         f"{sorted({k for e in epochs for k in e})}.")
    best_i = int(np.nanargmax(watched))
    if recorded and recorded in x:  # the training's own choice (its tie rule) wins
        best_i = int(np.flatnonzero(x == recorded)[0])
    window = slice(max(0, len(x) - int(last)), len(x))
    acc_slope, loss_slope = _slope(x[window], acc[window]), _slope(x[window], loss[window])
    finite_loss = loss[np.isfinite(loss)]
    gl = (100.0 * (loss[-1] / finite_loss.min() - 1.0)
          if np.isfinite(loss[-1]) and finite_loss.min() > 0 else float("nan"))
    best_is_last = best_i == len(x) - 1
    slope = acc_slope if monitor == "val_acc" else -loss_slope
    return TrainingEnd(n_epochs=len(x), last_epoch=int(x[-1]), best_epoch=int(x[best_i]),
                       monitor=monitor, best_is_last=best_is_last,
                       window=x[window].astype(int), val_acc_slope=acc_slope,
                       val_loss_slope=loss_slope, generalization_loss=float(gl),
                       still_improving=bool(best_is_last and np.isfinite(slope) and slope > 0))
