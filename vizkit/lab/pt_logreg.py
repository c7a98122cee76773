"""The lab's ``pt_logreg``: multinomial logistic regression in PyTorch, trained on one-hot labels.

In the lab's order: ``PTLogreg(D, C)`` with ``get_loss(X, Yoh_)``, then
``train(model, X, Yoh_, param_niter, param_delta, param_lambda)`` and ``eval(model, X)``.
The model is :class:`vizkit.models.PTLogreg` and ``train`` is :func:`vizkit.train.fit` (full-batch
SGD). As everywhere in vizkit, ``model(X)`` returns logits; ``eval`` returns the probabilities the
lab's ``forward`` does.

Examples
--------
>>> from vizkit.lab import data
>>> X, Y_ = data.sample_gauss_2d(3, 100, seed=100)
>>> ptlr = PTLogreg(X.shape[1], 3, seed=0)
>>> hist = train(ptlr, X, data.class_to_onehot(Y_), 1000, 0.5)
>>> probs = eval(ptlr, X)
>>> probs.shape
(300, 3)
"""

from __future__ import annotations

import numpy as np

from .. import models as _models
from ..train import History
from ._train import LabLoss, base_spec, lab_eval, lab_train, seeded

__all__ = ["PTLogreg", "train", "eval"]


class PTLogreg(LabLoss, _models.PTLogreg):
    """:class:`vizkit.models.PTLogreg` (``logits = X W + b``, ``W`` [D, C]) with the lab's
    ``get_loss(X, Yoh_)``.

    Parameters
    ----------
    D : int
        Dimension of each data point.
    C : int
        Number of classes.
    seed : int, optional
        Seeds the initial weights (default: torch's generator as it is).
    **kwargs
        Further :class:`vizkit.models.PTLogreg` arguments (``normalize``).

    Examples
    --------
    >>> import torch
    >>> model = PTLogreg(2, 3, seed=0)
    >>> tuple(model.W.shape)
    (2, 3)
    >>> model.get_loss(torch.zeros(4, 2), torch.eye(3)[[0, 1, 2, 0]]).item() > 0
    True
    """

    def __init__(self, D: int, C: int, *, seed: int | None = None, **kwargs) -> None:
        with seeded(seed):
            super().__init__(D, C, **kwargs)
        self.vizkit_spec = base_spec(_models.PTLogreg, D, C, **kwargs)


def train(model, X, Yoh_, param_niter: int, param_delta: float, param_lambda: float = 0.0, *,
          log_every: int = 0) -> History:
    """The lab's ``train``: ``param_niter`` steps of full-batch gradient descent.

    Parameters
    ----------
    model : PTLogreg
        The model, trained in place.
    X : torch.Tensor or ndarray of shape (N, D)
        Data points.
    Yoh_ : torch.Tensor or ndarray of shape (N, C)
        One-hot labels (:func:`vizkit.lab.data.class_to_onehot`).
    param_niter : int
        Iterations (each one step over all the data).
    param_delta : float
        Learning rate.
    param_lambda : float, default=0
        L2 coefficient on ``W`` (the lab's regularization assignment).
    log_every : int, default=0
        Print the loss every that many iterations.

    Returns
    -------
    History
        The loss per iteration (``history.series('train_loss')``). The weights kept are those
        of the lowest loss, for gradient descent nearly always the last.

    Examples
    --------
    >>> from vizkit.lab import data
    >>> X, Y_ = data.sample_gmm_2d(4, 2, 20, seed=1)
    >>> model = PTLogreg(2, 2, seed=0)
    >>> hist = train(model, X, data.class_to_onehot(Y_), 50, 0.1)
    >>> len(hist.series("train_loss"))
    50
    """
    return lab_train(model, X, Yoh_, param_niter, param_delta, param_lambda, log_every=log_every)


def eval(model, X) -> np.ndarray:  # noqa: A001 (the lab's name)
    """The lab's ``eval``: class probabilities of ``X`` as a NumPy array.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier returning logits.
    X : torch.Tensor or ndarray of shape (N, D)
        Data points.

    Returns
    -------
    ndarray of shape (N, C)
        Softmax probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> eval(PTLogreg(2, 3, seed=0), np.zeros((4, 2))).shape
    (4, 3)
    """
    return lab_eval(model, X)
