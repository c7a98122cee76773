"""The lab's ``pt_deep``: configurable fully connected classifiers in PyTorch.

In the lab's order: ``PTDeep(config, activation)`` (``activation`` a function such as
``torch.relu`` or its name), ``count_params`` (prints every parameter tensor, returns the total:
9 for ``[2, 3]``), ``train`` and ``eval`` (as in :mod:`~vizkit.lab.pt_logreg`), then
``train_mb`` (the MNIST part: shuffled mini-batches, no DataLoader). The model is
:class:`vizkit.models.PTDeep` and training is :func:`vizkit.train.fit`.

Examples
--------
>>> import torch
>>> from vizkit.lab import data
>>> X, Y_ = data.sample_gmm_2d(6, 2, 10, seed=100)
>>> model = PTDeep([2, 10, 10, 2], torch.relu, seed=0)
>>> hist = train(model, X, data.class_to_onehot(Y_), 1000, 0.1, 1e-4)
>>> eval(model, X).shape
(60, 2)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import models as _models
from ..train import History
from ._train import LabLoss, base_spec, lab_eval, lab_train, seeded

__all__ = ["PTDeep", "count_params", "train", "eval", "train_mb"]

#: Activation functions (and module classes) the lab may pass, by vizkit's activation name.
FUNCTIONS = {
    torch.relu: "relu", F.relu: "relu", nn.ReLU: "relu",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", nn.Sigmoid: "sigmoid",
    torch.tanh: "tanh", F.tanh: "tanh", nn.Tanh: "tanh",
    F.gelu: "gelu", nn.GELU: "gelu", F.elu: "elu", nn.ELU: "elu",
    F.leaky_relu: "leaky_relu", nn.LeakyReLU: "leaky_relu", nn.Identity: "identity",
}
_NAMES = ("relu", "sigmoid", "tanh", "gelu", "elu", "leaky_relu", "identity")


def activation_name(activation: Any) -> str:
    """vizkit's name for ``activation``: a name, a torch function or an ``nn`` activation class."""
    if isinstance(activation, str):
        return activation  # vizkit.models.PTDeep checks the name
    try:
        return FUNCTIONS[activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"`activation` must be one of {', '.join(map(repr, _NAMES))} or one of torch.relu, "
            "torch.sigmoid, torch.tanh, torch.nn.functional.gelu / elu / leaky_relu (or the "
            f"matching nn module class). Got {activation!r} instead.") from None


class PTDeep(LabLoss, _models.PTDeep):
    """:class:`vizkit.models.PTDeep` taking the activation function itself, with ``get_loss``.

    Parameters
    ----------
    config : list of int
        ``[D, h1, ..., C]``; ``[2, 3]`` is logistic regression, ``[2, 5, 3]`` has one hidden
        layer of 5.
    activation : callable or str, default=torch.relu
        ``torch.relu``, ``torch.sigmoid``, ``torch.tanh`` (and the functions and classes in
        :data:`FUNCTIONS`), or vizkit's name for one (``'relu'``...).
    batchnorm : bool, default=False
        ``BatchNorm1d`` after every hidden affine layer.
    dropout : float, default=0.0
        Dropout probability after every hidden activation.
    seed : int, optional
        Seeds the initial weights (default: torch's generator as it is).
    **kwargs
        Further :class:`vizkit.models.PTDeep` arguments (``normalize``).

    Examples
    --------
    >>> import torch
    >>> model = PTDeep([2, 5, 3], torch.tanh, seed=0)
    >>> model(torch.zeros(4, 2)).shape
    torch.Size([4, 3])
    """

    def __init__(self, config: Sequence[int], activation: Any = torch.relu,
                 batchnorm: bool = False, dropout: float = 0.0, *, seed: int | None = None,
                 **kwargs) -> None:
        args = ([int(c) for c in config], activation_name(activation), batchnorm, dropout)
        with seeded(seed):
            super().__init__(*args, **kwargs)
        self.vizkit_spec = base_spec(_models.PTDeep, *args, **kwargs)


def count_params(model: nn.Module, *, verbose: bool = True, file=None) -> int:
    """Print the name and shape of every parameter tensor and return the total count.

    :func:`vizkit.models.count_params` with the table printed, as the lab asks.

    Parameters
    ----------
    model : torch.nn.Module
        Any module.
    verbose : bool, default=True
        Print the table.
    file : file-like, optional
        Where to print; default ``sys.stdout``.

    Returns
    -------
    int
        The number of parameters.

    Examples
    --------
    >>> count_params(PTDeep([2, 3]), verbose=False)
    9
    """
    return _models.count_params(model, verbose=verbose, file=file)


def train(model, X, Yoh_, param_niter: int, param_delta: float, param_lambda: float = 0.0, *,
          log_every: int = 0, **options: Any) -> History:
    """The lab's ``train``: ``param_niter`` steps of full-batch gradient descent.

    As :func:`vizkit.lab.pt_logreg.train`; ``options`` are further
    :class:`vizkit.train.TrainConfig` keys (``optimizer='adam'``, ``scheduler``...).

    Parameters
    ----------
    model : PTDeep
        The model, trained in place.
    X : torch.Tensor or ndarray of shape (N, D)
        Data points.
    Yoh_ : torch.Tensor or ndarray of shape (N, C)
        One-hot labels.
    param_niter : int
        Iterations.
    param_delta : float
        Learning rate.
    param_lambda : float, default=0
        L2 coefficient on the weights.
    log_every : int, default=0
        Print the loss every that many iterations.
    **options
        Further :class:`vizkit.train.TrainConfig` keys.

    Returns
    -------
    History
        The loss per iteration.

    Examples
    --------
    >>> from vizkit.lab import data
    >>> X, Y_ = data.sample_gmm_2d(4, 2, 20, seed=1)
    >>> model = PTDeep([2, 5, 2], seed=0)
    >>> hist = train(model, X, data.class_to_onehot(Y_), 50, 0.1)
    >>> len(hist.series("train_loss"))
    50
    """
    return lab_train(model, X, Yoh_, param_niter, param_delta, param_lambda,
                     log_every=log_every, **options)


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
    >>> eval(PTDeep([2, 4, 3], seed=0), np.zeros((5, 2))).sum(axis=1).round(6).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    return lab_eval(model, X)


def train_mb(model, X, Yoh_, param_niter: int, param_delta: float, param_lambda: float = 0.0,
             n_batches: int = 10, *, seed: int = 0, log_every: int = 0,
             **options: Any) -> History:
    """The lab's ``train_mb``: each epoch, shuffle the data, cut it into ``n_batches``
    mini-batches and take one step on each.

    The shuffling is a seeded permutation per epoch and the batches are index slices of the
    in-memory tensors (no DataLoader), as :func:`vizkit.train.fit` batches a split.

    Parameters
    ----------
    model : PTDeep
        The model, trained in place.
    X : torch.Tensor or ndarray of shape (N, D)
        Data points.
    Yoh_ : torch.Tensor or ndarray of shape (N, C)
        One-hot labels.
    param_delta : float
        Learning rate.
    param_lambda : float, default=0
        L2 coefficient on the weights.
    param_niter : int
        Epochs (passes over the data).
    n_batches : int, default=10
        Mini-batches per epoch: each holds ``ceil(N / n_batches)`` points (the last may hold
        fewer, and when that size divides ``N`` unevenly there can be one batch less).
    seed : int, default=0
        Seeds the shuffling: same seed, same batches, same weights.
    **options
        Further :class:`vizkit.train.TrainConfig` keys, e.g. ``optimizer='adam'``,
        ``scheduler='exponential', gamma=1 - 1e-4`` (the lab's last MNIST experiments).
    log_every : int, default=0
        Print the loss every that many epochs.

    Returns
    -------
    History
        The loss per epoch.

    Raises
    ------
    ValueError
        ``n_batches`` is not an integer in ``[1, N]``.

    Examples
    --------
    >>> from vizkit.lab import data
    >>> X, Y_ = data.sample_gmm_2d(4, 2, 20, seed=1)
    >>> hist = train_mb(PTDeep([2, 5, 2], seed=0), X, data.class_to_onehot(Y_), 5, 0.1,
    ...                 n_batches=4)
    >>> len(hist.series("train_loss"))
    5
    """
    n = len(X)
    if isinstance(n_batches, bool) or int(n_batches) != n_batches or not 1 <= n_batches <= n:
        raise ValueError(f"`n_batches` must be an integer in [1, {n}] (the number of points). "
                         f"Got {n_batches!r} instead.")
    return lab_train(model, X, Yoh_, param_niter, param_delta, param_lambda,
                     batch_size=math.ceil(n / int(n_batches)), seed=seed, log_every=log_every,
                     **options)
