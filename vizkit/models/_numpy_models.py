"""The models of seed 002 that are not torch modules: fcann2 (NumPy), KSVMWrap (sklearn), linreg."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FCANN2", "fcann2_train", "fcann2_classify", "KSVMWrap", "linreg_gradients"]


@dataclass
class FCANN2:
    """Parameters of the two-layer NumPy network: ``s1 = X W1 + b1, h1 = relu(s1), s2 = h1 W2 + b2``.

    Attributes
    ----------
    W1 : ndarray of shape (D, H)
        Input to hidden weights.
    b1 : ndarray of shape (H,)
        Hidden biases.
    W2 : ndarray of shape (H, C)
        Hidden to output weights.
    b2 : ndarray of shape (C,)
        Output biases.
    """

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fcann2_forward(model: FCANN2, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(s1, h1, probs)``."""
    s1 = X @ model.W1 + model.b1
    h1 = np.maximum(s1, 0.0)
    return s1, h1, _softmax(h1 @ model.W2 + model.b2)


def fcann2_loss_and_grads(model: FCANN2, X: np.ndarray, Y_: np.ndarray, param_lambda: float):
    """Mean negative log-likelihood + L2 and its hand-derived gradients (seed 002's backprop)."""
    N = X.shape[0]
    s1, h1, P = fcann2_forward(model, X)
    Yoh = np.zeros_like(P)
    Yoh[np.arange(N), Y_] = 1.0
    loss = -np.log(P[np.arange(N), Y_] + 1e-300).mean()
    loss += param_lambda * 0.5 * ((model.W1 ** 2).sum() + (model.W2 ** 2).sum())
    Gs2 = (P - Yoh) / N                      # dL/ds2, [N, C]
    grad_W2 = h1.T @ Gs2 + param_lambda * model.W2
    grad_b2 = Gs2.sum(0)
    Gs1 = (Gs2 @ model.W2.T) * (s1 > 0)      # dL/ds1 through ReLU, [N, H]
    grad_W1 = X.T @ Gs1 + param_lambda * model.W1
    grad_b1 = Gs1.sum(0)
    return loss, FCANN2(grad_W1, grad_b1, grad_W2, grad_b2)


def fcann2_train(X: np.ndarray, Y_: np.ndarray, *, hidden: int = 5, param_niter: int = 100_000,
                 param_delta: float = 0.05, param_lambda: float = 1e-3, seed: int | None = 0,
                 log_every: int = 0) -> FCANN2:
    """Train seed 002's ``fcann2`` (one hidden ReLU layer) by full-batch gradient descent.

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Inputs.
    Y_ : ndarray of int of shape (N,)
        Classes.
    hidden : int, default=5
        Hidden units.
    param_niter, param_delta, param_lambda : int, float, float
        As in the lab: iterations, step size, L2 coefficient.
    seed : int, optional
        Seeds the initial weights.
    log_every : int, default=0
        Print the loss every that many iterations (0: quiet).

    Returns
    -------
    FCANN2
        The trained parameters.

    Raises
    ------
    ValueError
        ``X`` is not ``[N, D]`` or ``Y_`` not ``[N]``.
    FloatingPointError
        The loss stopped being finite (lower ``param_delta``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    >>> model = fcann2_train(X, np.array([0, 0, 1, 1]), hidden=8, param_niter=2000, param_delta=0.2)
    >>> fcann2_classify(model, X).argmax(1)
    array([0, 0, 1, 1])
    """
    X = np.asarray(X, dtype=np.float64)
    Y_ = np.asarray(Y_, dtype=np.int64)
    if X.ndim != 2 or Y_.shape != (X.shape[0],):
        raise ValueError(f"X must be [N, D] and Y_ [N]. Got {X.shape} and {Y_.shape} instead.")
    rng = np.random.default_rng(seed)
    D, C = X.shape[1], int(Y_.max()) + 1
    model = FCANN2(rng.normal(0, np.sqrt(2.0 / D), (D, hidden)), np.zeros(hidden),
                   rng.normal(0, np.sqrt(2.0 / hidden), (hidden, C)), np.zeros(C))
    for i in range(int(param_niter)):
        loss, g = fcann2_loss_and_grads(model, X, Y_, param_lambda)
        if not np.isfinite(loss):
            raise FloatingPointError(f"fcann2 loss became {loss} at iteration {i}; lower param_delta.")
        model.W1 -= param_delta * g.W1
        model.b1 -= param_delta * g.b1
        model.W2 -= param_delta * g.W2
        model.b2 -= param_delta * g.b2
        if log_every and i % log_every == 0:
            print(f"iteration {i}: loss {loss:.6f}")
    return model


def fcann2_classify(model: FCANN2, X: np.ndarray) -> np.ndarray:
    """Class probabilities of a trained :class:`FCANN2`.

    Parameters
    ----------
    model : FCANN2
        What :func:`fcann2_train` returned.
    X : ndarray of shape (N, D)
        Inputs.

    Returns
    -------
    ndarray of shape (N, C)
        Softmax probabilities; rows sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> model = FCANN2(np.zeros((2, 3)), np.zeros(3), np.zeros((3, 4)), np.zeros(4))
    >>> fcann2_classify(model, np.ones((1, 2)))
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    return fcann2_forward(model, np.asarray(X, dtype=np.float64))[2]


class KSVMWrap:
    """Seed 002's thin wrapper over scikit-learn's RBF-kernel SVC; trains in the constructor.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    Y_ : ndarray of int of shape (N,)
    param_svm_c : float, default=1
    param_svm_gamma : float or {'auto', 'scale'}, default='auto'
    seed : int, default=0

    Attributes
    ----------
    clf : sklearn.svm.SVC
        The trained classifier: one-vs-one inside (the lab's variant for more than two
        classes), scores given one-vs-rest (``decision_function_shape='ovr'``).
    support : ndarray of int
        Indices of the training points chosen as support vectors.

    Examples
    --------
    >>> from vizkit.data import sample_gmm_2d
    >>> X, Y_ = sample_gmm_2d(6, 3, 10, seed=0)
    >>> KSVMWrap(X, Y_).get_scores(X).shape
    (60, 3)
    """

    def __init__(self, X, Y_, param_svm_c: float = 1, param_svm_gamma="auto", *, seed: int = 0):
        from sklearn.svm import SVC

        self.clf = SVC(C=param_svm_c, gamma=param_svm_gamma, kernel="rbf",
                       decision_function_shape="ovr", random_state=seed)
        self.clf.fit(np.asarray(X), np.asarray(Y_))

    def predict(self, X) -> np.ndarray:
        """Class indices of ``X`` (the one-vs-one vote of the SVC)."""
        return self.clf.predict(np.asarray(X))

    def get_scores(self, X) -> np.ndarray:
        """Classification scores of ``X``, for average precision.

        Returns
        -------
        ndarray of shape (N,) for two classes, (N, C) for C > 2 classes
            Two classes: the signed distance to the boundary, positive for class 1 (as
            scikit-learn gives it). More classes: one column per class, scikit-learn's
            one-vs-rest decision values (the one-vs-one votes for the class plus a bounded
            confidence term), so column ``c`` ranks the points by how strongly they are of class
            ``c`` and ``scores.argmax(1)`` equals :meth:`predict`.
        """
        return self.clf.decision_function(np.asarray(X))

    @property
    def support(self) -> np.ndarray:
        return self.clf.support_


def linreg_gradients(X, Y, a: float, b: float) -> dict:
    """Seed 002's ``pt_linreg``: loss ``sum((Y - (a X + b))^2)`` and its gradients, by hand and by
    autograd, for the same point ``(a, b)``.

    Parameters
    ----------
    X, Y : array-like of shape (N,)
        Inputs and targets.
    a, b : float
        The line's slope and intercept.

    Returns
    -------
    dict
        ``loss``, ``grad_a``, ``grad_b`` (hand-derived), ``autograd_a``, ``autograd_b``.

    Examples
    --------
    >>> g = linreg_gradients([1, 2], [3, 5], a=1.0, b=0.0)
    >>> g["loss"], g["grad_a"], g["autograd_a"]
    (13.0, -16.0, -16.0)
    """
    import torch

    X = torch.as_tensor(X, dtype=torch.float64)
    Y = torch.as_tensor(Y, dtype=torch.float64)
    at = torch.tensor(float(a), dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    diff = Y - (at * X + bt)
    loss = (diff ** 2).sum()
    ga, gb = torch.autograd.grad(loss, (at, bt))
    d = diff.detach()
    # dL/da = sum(-2 (Y - aX - b) X), dL/db = sum(-2 (Y - aX - b))
    return {"loss": float(loss.detach()), "grad_a": float((-2 * d * X).sum()), "grad_b": float((-2 * d).sum()),
            "autograd_a": float(ga), "autograd_b": float(gb)}
