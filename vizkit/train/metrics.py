"""Performance measures of seed 002 (``eval_perf_binary``, ``eval_perf_multi``, ``eval_AP``) and a
one-call evaluation of a model on a split."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["accuracy", "confusion_matrix", "eval_perf_binary", "eval_perf_multi", "eval_AP",
           "average_precision", "evaluate"]


def accuracy(y_pred, y_true) -> float:
    """The fraction of predictions equal to the truth.

    Parameters
    ----------
    y_pred, y_true : array-like of the same shape
        Predicted and true labels.

    Returns
    -------
    float
        Mean of ``y_pred == y_true``; NaN when there is no example.

    Raises
    ------
    ValueError
        The two arrays differ in shape.

    Examples
    --------
    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred and y_true differ in shape: {y_pred.shape} vs {y_true.shape}.")
    return float((y_pred == y_true).mean()) if y_true.size else float("nan")


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """The confusion matrix: ``M[i, j]`` counts examples of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    y_true, y_pred : array-like of int of shape (N,)
        True and predicted class indices.
    n_classes : int, optional
        Number of classes C; default: the largest index seen plus one.

    Returns
    -------
    ndarray of shape (C, C)
        Counts, rows true, columns predicted.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1], [0, 1, 0])
    array([[1, 0],
           [1, 1]])
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    C = int(n_classes if n_classes is not None else max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    return np.bincount(y_true * C + y_pred, minlength=C * C).reshape(C, C)


def eval_perf_binary(Y, Y_) -> tuple[float, float, float]:
    """Accuracy, recall and precision of binary predictions (seed 002's ``eval_perf_binary``).

    Parameters
    ----------
    Y : array-like of bool or {0, 1} of shape (N,)
        Predictions.
    Y_ : array-like of bool or {0, 1} of shape (N,)
        Truth.

    Returns
    -------
    tuple of (float, float, float)
        ``(accuracy, recall, precision)``; recall or precision is 0 when undefined.

    Examples
    --------
    >>> eval_perf_binary([1, 1, 0, 0], [1, 0, 1, 0])
    (0.5, 0.5, 0.5)
    """
    Y, Y_ = np.asarray(Y).astype(bool), np.asarray(Y_).astype(bool)
    tp = int((Y & Y_).sum())
    fp = int((Y & ~Y_).sum())
    fn = int((~Y & Y_).sum())
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    return accuracy(Y, Y_), recall, precision


def eval_perf_multi(Y, Y_, n_classes: int | None = None):
    """Seed 002's multi-class measures.

    Parameters
    ----------
    Y : array-like of int of shape (N,)
        Predicted classes.
    Y_ : array-like of int of shape (N,)
        True classes.
    n_classes : int, optional
        Number of classes C; default: the largest index seen plus one.

    Returns
    -------
    accuracy : float
        Fraction correct (NaN without examples).
    pr : list of (float, float)
        ``(recall, precision)`` per class.
    M : ndarray of shape (C, C)
        The confusion matrix (rows true, columns predicted).

    Examples
    --------
    >>> acc, pr, M = eval_perf_multi([0, 1, 1], [0, 1, 0])
    >>> round(acc, 3), pr[0]
    (0.667, (0.5, 1.0))
    """
    M = confusion_matrix(Y_, Y, n_classes)
    pr = []
    for c in range(M.shape[0]):
        tp = M[c, c]
        recall = tp / M[c].sum() if M[c].sum() else 0.0
        precision = tp / M[:, c].sum() if M[:, c].sum() else 0.0
        pr.append((float(recall), float(precision)))
    acc = float(np.trace(M) / M.sum()) if M.sum() else float("nan")
    return acc, pr, M


def eval_AP(ranked_labels) -> float:
    """Average precision of binary labels sorted by increasing score (seed 002's ``eval_AP``).

    Parameters
    ----------
    ranked_labels : array-like of bool or {0, 1}
        True labels, ordered by the model's score from lowest to highest.

    Returns
    -------
    float
        Mean, over the positives, of the precision of everything ranked at or above each; 0
        without positives.

    Examples
    --------
    >>> eval_AP([0, 0, 1, 1])
    1.0
    """
    y = np.asarray(ranked_labels).astype(bool)
    n_pos = int(y.sum())
    if n_pos == 0:
        return 0.0
    # for each positive at rank i (ascending), precision of everything ranked at or above it
    n = len(y)
    ap = 0.0
    for i in np.flatnonzero(y):
        ap += y[i:].sum() / (n - i)
    return float(ap / n_pos)


def average_precision(scores, Y_, n_classes: int | None = None) -> np.ndarray:
    """Per-class average precision (one-vs-rest) from scores.

    Parameters
    ----------
    scores : array-like of shape (N, C) or (N,)
        Class scores, or one score of class 1 for a binary problem.
    Y_ : array-like of int of shape (N,)
        True classes.
    n_classes : int, optional
        Number of classes; default: ``scores.shape[1]``.

    Returns
    -------
    ndarray of shape (C,)
        AP of each class (one value for a binary problem).

    Examples
    --------
    >>> average_precision([[0.9, 0.1], [0.2, 0.8]], [0, 1])
    array([1., 1.])
    """
    scores = np.asarray(scores, dtype=np.float64)
    Y_ = np.asarray(Y_, dtype=np.int64)
    if scores.ndim == 1:
        return np.array([eval_AP(Y_[np.argsort(scores, kind="stable")] == 1)])
    C = scores.shape[1] if n_classes is None else n_classes
    return np.array([eval_AP(Y_[np.argsort(scores[:, c], kind="stable")] == c) for c in range(C)])


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 2048,
             classes=None) -> dict:
    """Accuracy, loss, per-class precision / recall / AP and confusion of ``model`` on ``(x, y)``.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier returning logits ``[N, C]`` (or ``[N, 1]`` for a binary one).
    x : Tensor
        Inputs.
    y : Tensor of shape (N,)
        True classes.
    batch_size : int, default=2048
        Inputs per forward pass.
    classes : sequence of str, optional
        Class names for the report; default ``'0'``, ``'1'``, ...

    Returns
    -------
    dict
        Plain Python values (JSON-able): ``accuracy``, ``loss``, ``n``, ``recall``,
        ``precision``, ``average_precision``, ``mean_ap``, ``confusion``, ``classes``.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(2, 3)
    >>> report = evaluate(model, torch.zeros(4, 2), torch.tensor([0, 1, 2, 0]))
    >>> report["n"], len(report["confusion"])
    (4, 3)
    """
    from ._fit import loss_fn, predict_logits

    logits = predict_logits(model, x, batch_size=batch_size)
    y = torch.as_tensor(y)
    loss = float(loss_fn(logits, y))
    if logits.shape[1] == 1:
        probs = torch.sigmoid(logits[:, 0])
        pred = (probs > 0.5).long().numpy()
        scores = probs.numpy()
        C = 2
    else:
        probs = torch.softmax(logits, 1)
        pred = probs.argmax(1).numpy()
        scores = probs.numpy()
        C = logits.shape[1]
    acc, pr, M = eval_perf_multi(pred, y.numpy(), C)
    ap = average_precision(scores, y.numpy(), None if scores.ndim == 1 else C)
    names = list(classes) if classes is not None else [str(c) for c in range(C)]
    return {"accuracy": acc, "loss": loss, "n": int(len(y)),
            "recall": [r for r, _ in pr], "precision": [p for _, p in pr],
            "average_precision": [float(a) for a in ap], "mean_ap": float(np.mean(ap)),
            "confusion": M.tolist(), "classes": names}
