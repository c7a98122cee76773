"""The lab's ``fcann2``: a two-layer fully connected net in NumPy with hand-written backprop.

In the lab's order: ``fcann2_train`` (full-batch gradient descent on the mean negative
log-likelihood plus ``param_lambda`` L2), ``fcann2_classify`` (class probabilities), and
``fcann2_decfun`` (a function of ``X`` for ``data.graph_surface``), organized as the lab's
``logreg`` of lab 0: the parameters travel as ``W1, b1, W2, b2``. The computation is
:func:`vizkit.models.fcann2_train`.

Examples
--------
>>> from vizkit.lab import data
>>> X, Y_ = data.sample_gmm_2d(6, 2, 10, seed=100)
>>> W1, b1, W2, b2 = fcann2_train(X, Y_, param_niter=2000, seed=0)
>>> W1.shape, W2.shape, fcann2_classify(X, W1, b1, W2, b2).shape
((2, 5), (5, 2), (60, 2))
"""

from __future__ import annotations

import numpy as np

from .. import models as _models

__all__ = ["fcann2_train", "fcann2_classify", "fcann2_decfun"]


def fcann2_train(X, Y_, param_niter: int = 100_000, param_delta: float = 0.05,
                 param_lambda: float = 1e-3, hidden: int = 5, *, seed: int | None = 0,
                 log_every: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train the lab's two-layer net; defaults are the lab's hyper-parameters.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Data points.
    Y_ : ndarray of int of shape (N,)
        Their classes.
    param_niter : int, default=100000
        Iterations of full-batch gradient descent.
    param_delta : float, default=0.05
        Step of gradient descent.
    param_lambda : float, default=1e-3
        L2 coefficient on ``W1`` and ``W2``.
    hidden : int, default=5
        Size of the hidden layer.
    seed : int, optional
        Seeds the initial weights.
    log_every : int, default=0
        Print the loss every that many iterations (0: quiet).

    Returns
    -------
    W1 : ndarray of shape (D, hidden)
        Input to hidden weights.
    b1 : ndarray of shape (hidden,)
        Hidden biases.
    W2 : ndarray of shape (hidden, C)
        Hidden to output weights.
    b2 : ndarray of shape (C,)
        Output biases.

    Examples
    --------
    >>> from vizkit.lab import data
    >>> X, Y_ = data.sample_gmm_2d(4, 2, 20, seed=1)
    >>> W1, b1, W2, b2 = fcann2_train(X, Y_, param_niter=200, hidden=4)
    >>> W1.shape, W2.shape
    ((2, 4), (4, 2))
    """
    m = _models.fcann2_train(X, Y_, hidden=hidden, param_niter=param_niter,
                             param_delta=param_delta, param_lambda=param_lambda, seed=seed,
                             log_every=log_every)
    return m.W1, m.b1, m.W2, m.b2


def fcann2_classify(X, W1, b1, W2, b2) -> np.ndarray:
    """Class probabilities of the net with parameters ``W1, b1, W2, b2``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Data points.
    W1, b1, W2, b2 : ndarray
        What :func:`fcann2_train` returned.

    Returns
    -------
    ndarray of shape (N, C)
        Softmax probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> fcann2_classify(np.ones((1, 2)), np.zeros((2, 3)), np.zeros(3), np.zeros((3, 2)),
    ...                 np.zeros(2))
    array([[0.5, 0.5]])
    """
    return _models.fcann2_classify(_models.FCANN2(W1, b1, W2, b2), X)


def fcann2_decfun(W1, b1, W2, b2):
    """``lambda X: P(class 1 | X)``, the function ``data.graph_surface`` shades (two classes).

    Parameters
    ----------
    W1, b1, W2, b2 : ndarray
        What :func:`fcann2_train` returned.

    Returns
    -------
    callable
        ``X [N, 2] -> ndarray [N]`` of probabilities of class 1.

    Examples
    --------
    >>> import numpy as np
    >>> f = fcann2_decfun(np.zeros((2, 3)), np.zeros(3), np.zeros((3, 2)), np.zeros(2))
    >>> f(np.zeros((3, 2)))
    array([0.5, 0.5, 0.5])
    """
    return lambda X: fcann2_classify(X, W1, b1, W2, b2)[:, 1]
