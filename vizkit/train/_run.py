"""``train_model``: seed, build, fit, evaluate and checkpoint in one call (CLI, gallery, recipes)."""

from __future__ import annotations

import os
import time
from typing import Any

from torch import nn

from .._torch import training_mode
from ._config import TrainConfig, check_device
from ._fit import History, fit, isolated_rng, seed_everything
from ._views import recorder_identity, save_views
from .metrics import evaluate

__all__ = ["train_model", "default_config", "model_spec", "save_trained", "load_trained",
           "check_config_for"]

# Defaults that train each model well on MNIST-sized images on a laptop CPU in under 2 minutes.
_DEFAULTS: dict[str, dict] = {
    "logreg": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-4,
               "patience": 8, "augment": "shift", "shift_pixels": 1, "refit": True},
    # weight averaging: full Fashion-MNIST 0.887 -> 0.895, mnist-5k 0.964 -> 0.973 (seed 0)
    "mlp": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "patience": 8,
            "augment": "shift", "shift_pixels": 1, "refit": True, "average": "ema"},
    "deep": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "patience": 8,
             "augment": "shift", "shift_pixels": 1},
    # no early stop: a refit for an early best epoch is fragile (stopped at 14, refit for 9: 0.977)
    # weight averaging and small rotations/scalings lift the default VGG-style cnn from 0.987 to
    # 0.989-0.990 on mnist-5k (issue 15; they did not help the old two-block layout)
    "cnn": {"epochs": 20, "batch_size": 64, "optimizer": "adam", "lr": 2e-3,
            "scheduler": "exponential", "gamma": 0.9, "augment": "affine", "shift_pixels": 2,
            "average": "ema", "refit": True},
    # the 2D bottleneck is slow to untangle: a high step with cosine decay, no early stop, and
    # 1-pixel shifts (without them it overfits at ~0.88)
    "rbf": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-2, "scheduler": "cosine",
            "augment": "shift", "shift_pixels": 1},
}


#: Training sets at least this large get no shift augmentation by default (it is what lets the
#: 3,000 images of mnist-5k generalize; on 55,000 Fashion-MNIST images it only costs accuracy)
#: and no refit (a 10% larger set is not worth training twice).
LARGE_TRAIN_SET = 20_000


def default_config(model_name: str, *, n_train: int | None = None, **overrides: Any) -> TrainConfig:
    """The training defaults for a registered model name, with ``overrides`` applied.

    The best epoch is chosen by validation accuracy (seed 000 keeps "the best validation model").
    ``n_train``, the training-set size, switches the shift augmentation and the refit on
    train + validation off for large sets.

    Parameters
    ----------
    model_name : str
        A registry model name (``logreg``, ``mlp``, ``deep``, ``cnn``, ``rbf``); another name gets
        :class:`TrainConfig`'s own defaults.
    n_train : int, optional
        The training-set size; at least :data:`LARGE_TRAIN_SET` drops the shift augmentation
        and the refit.
    **overrides
        :class:`TrainConfig` fields to set, applied last.

    Returns
    -------
    TrainConfig
        The checked configuration.

    Examples
    --------
    >>> cfg = default_config("mlp", epochs=3)
    >>> cfg.epochs, cfg.augment, cfg.refit, cfg.monitor
    (3, 'shift', True, 'val_acc')
    >>> large = default_config("mlp", n_train=55_000)
    >>> large.augment, large.refit
    (None, False)
    """
    base = {"monitor": "val_acc", **_DEFAULTS.get(model_name, {})}
    if n_train is not None and n_train >= LARGE_TRAIN_SET:
        base.pop("augment", None)
        base.pop("shift_pixels", None)
        base.pop("refit", None)
    base.update(overrides)
    return TrainConfig.from_dict(base)


def model_spec(name: str, split, **overrides: Any) -> dict:
    """The spec of registry model ``name`` for ``split``: input shape and classes from the data;
    image models standardize with the training part's own pixel statistics (recorded in the
    spec, so the checkpoint knows its input convention) unless ``normalize`` is given.

    Parameters
    ----------
    name : str
        A name from :func:`vizkit.models.list_models`.
    split : vizkit.data.Split
        The data: its ``input_shape``, its classes and (for images) its training pixels.
    **overrides
        Constructor arguments of the model (``hidden``, ``normalize``, ...).

    Returns
    -------
    dict
        A spec :func:`vizkit.models.build` builds (``name``, ``class``, ``args``,
        ``input_shape``, ``n_classes``).

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> x = torch.randn(60, 2, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0).long()  # class 1: the right half of the plane
    >>> split = Split("halves", x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:],
    ...               ("left", "right"), (2,), fingerprint(x, y))
    >>> spec = model_spec("mlp", split)
    >>> spec["class"], spec["args"]["config"], spec["n_classes"]
    ('PTDeep', [2, 300, 2], 2)
    """
    from ..models import default_spec

    if len(split.input_shape) == 3 and "normalize" not in overrides and len(split.y_train):
        x = split.x_train.double()
        overrides["normalize"] = (round(float(x.mean()), 4), round(float(x.std()), 4))
    return default_spec(name, split.input_shape, split.n_classes, **overrides)


def train_model(model: str | dict, split, config: TrainConfig | dict | None = None, *,
                checkpoint: str | os.PathLike | None = None, seed: int | None = None,
                meta: dict | None = None, tensorboard: str | os.PathLike | None = None,
                recorder: Any = None, **model_overrides: Any) -> tuple[nn.Module, History, dict]:
    """Build a model (by registry name or spec), train it on ``split``, evaluate it on the test part.

    This is the one way vizkit writes a trained model (the CLI, the gallery and recipes call it).

    Parameters
    ----------
    model : str or dict
        A name from :func:`vizkit.models.list_models` or a spec from :func:`~vizkit.models.default_spec`.
    split : vizkit.data.Split
    config : TrainConfig or dict, optional
        Missing keys come from the model's defaults (:func:`default_config`).
    checkpoint : path, optional
        Where the best-validation model is written (atomically, by :func:`save_trained`), with
        config, history, test metrics, the data record (:meth:`vizkit.data.Split.record`) and the
        seed. With ``config.refit`` the final file holds the refitted model.
    seed : int, optional
        Seeds the initial weights and the shuffling; default ``config.seed``.
    meta : dict, optional
        More plain data for the checkpoint (e.g. the gallery's cache key).
    tensorboard : path, optional
        A TensorBoard log folder for :func:`fit`'s per-epoch scalars and histograms.
    recorder : object, optional
        Views over training (see :mod:`vizkit.train._views`): its ``on_epoch_end(epoch, model)``
        is called with epoch 0 on the initial weights, then after every epoch of the first run
        (not of the refit), model in eval mode, its random draws kept apart from the training's
        (the model trains exactly as it would without it). With ``checkpoint``, its
        ``snapshots()`` are written beside it (:func:`vizkit.train.save_views`).
    **model_overrides
        Constructor arguments for a model given by name. Image models get
        ``normalize=(mean, std)`` of the training images unless given here.

    Returns
    -------
    model, history, metrics
        ``metrics`` are test-split figures from :func:`vizkit.train.evaluate`, plus
        ``best_epoch`` and ``val_acc`` (of the first run), ``refit_epochs`` (0 when there was no
        refit) and ``train_seconds`` (both runs).

    Raises
    ------
    ValueError
        No training examples, a shift larger than the images, or a device this machine lacks.

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> x = torch.randn(60, 2, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0).long()  # class 1: the right half of the plane
    >>> split = Split("halves", x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:],
    ...               ("left", "right"), (2,), fingerprint(x, y))
    >>> model, history, metrics = train_model("mlp", split, {"epochs": 3, "progress": False},
    ...                                       checkpoint="runs/halves.pt", seed=0)
    >>> len(history.epochs), metrics["n"], metrics["classes"], metrics["refit_epochs"] >= 1
    (3, 10, ['left', 'right'], True)
    >>> load_trained("runs/halves.pt")[2]["confusion"] == metrics["confusion"]
    True
    """
    from ..models import build

    name, spec = _resolve_model(model, split, model_overrides)
    cfg = _resolve_config(config, name, split, seed)
    if recorder is not None:
        recorder_identity(recorder)  # a recorder that cannot be stored fails before training
    seed_everything(cfg.seed)
    net = build(spec)
    if recorder is not None:
        with training_mode(net, False), isolated_rng(cfg.device):
            recorder.on_epoch_end(0, net)
    extra = {"data": split.record(), "seed": cfg.seed, "model_name": name, **(meta or {})}
    hist = fit(net, split, cfg, checkpoint=checkpoint, meta=extra, tensorboard=tensorboard,
               on_epoch_end=None if recorder is None else recorder.on_epoch_end)
    refit_epochs, refit_seconds = 0, 0.0
    if cfg.refit and len(split.y_val) and hist.best_epoch:
        t0 = time.perf_counter()
        net, refit_epochs = _refit(spec, split, cfg, hist.best_epoch), hist.best_epoch
        refit_seconds = time.perf_counter() - t0
    metrics = evaluate(net, split.x_test, split.y_test, classes=split.classes)
    metrics["best_epoch"] = hist.best_epoch
    metrics["refit_epochs"] = refit_epochs
    metrics["val_acc"] = hist.best.get("val_acc")
    metrics["train_seconds"] = hist.seconds + refit_seconds
    if checkpoint is not None:
        save_trained(checkpoint, net, split, cfg, hist, metrics, **{k: v for k, v in extra.items()
                                                                   if k != "data"})
        if recorder is not None:
            save_views(checkpoint, recorder)
    return net, hist, metrics


def _refit(spec: dict, split, cfg: TrainConfig, epochs: int) -> nn.Module:
    """A fresh model of ``spec`` trained (same seed) on train + validation for ``epochs`` epochs;
    its last epoch's weights are kept (there is no validation part left to choose by)."""
    import dataclasses

    import torch

    from ..models import build

    merged = dataclasses.replace(
        split, x_train=torch.cat([split.x_train, split.x_val]),
        y_train=torch.cat([split.y_train, split.y_val]), x_val=split.x_val[:0],
        y_val=split.y_val[:0])
    seed_everything(cfg.seed)
    net = build(spec)
    last: dict = {}

    def keep_last(epoch: int, model: nn.Module) -> None:
        if epoch == epochs:
            last.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    fit(net, merged, cfg.replace(epochs=epochs, patience=None), on_epoch_end=keep_last)
    if last:  # (under torchrun only rank 0 calls on_epoch_end; every rank ends equal anyway)
        net.load_state_dict(last)
    return net


def _resolve_model(model: str | dict, split, overrides: dict) -> tuple[str, dict]:
    if isinstance(model, str):
        return model, model_spec(model, split, **overrides)
    if not isinstance(model, dict):
        raise TypeError(f"`model` must be a registry name or a spec dict. Got "
                        f"{type(model).__name__} instead.")
    if overrides:
        raise ValueError("model overrides are only for a registry name; put them in the spec's "
                         "'args' instead.")
    return model.get("name", ""), model


def _resolve_config(config, name: str, split, seed: int | None) -> TrainConfig:
    """The config to train with, checked against the data and the machine before training."""
    if isinstance(config, TrainConfig):
        cfg = config
    else:
        cfg = (default_config(name, n_train=len(split.y_train), **(config or {}))
               if name in _DEFAULTS else TrainConfig.from_dict(config or {}))
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    check_config_for(cfg, split)
    return cfg


def check_config_for(cfg: TrainConfig, split) -> None:
    """Refuse, by name, what ``cfg`` cannot do with ``split`` on this machine.

    Parameters
    ----------
    cfg : TrainConfig
        The training configuration.
    split : vizkit.data.Split
        The data it would train on.

    Raises
    ------
    ValueError
        No training examples; ``shift_pixels`` not smaller than the images with
        ``augment='shift'`` or ``'affine'``; a ``device`` this machine does not have.

    Examples
    --------
    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> x, y = torch.rand(6, 1, 4, 4), torch.tensor([0, 1, 0, 1, 0, 1])
    >>> split = Split("tiny", x, y, x, y, x, y, ("a", "b"), (1, 4, 4), fingerprint(x, y))
    >>> check_config_for(default_config("mlp", shift_pixels=1), split)  # fine: nothing happens
    >>> check_config_for(default_config("mlp", shift_pixels=4), split)
    Traceback (most recent call last):
    ...
    ValueError: `shift_pixels` must be smaller than the images (4 pixels). Got 4 instead.
    """
    if len(split.y_train) == 0:
        raise ValueError(f"the training part of {split.name!r} has no examples; there is nothing "
                         "to train on (check the data source and its options).")
    if cfg.augment in ("shift", "affine") and len(split.input_shape) == 3:  # (vectors never are)
        side = min(int(s) for s in split.input_shape[1:])
        if cfg.shift_pixels >= side:
            raise ValueError(f"`shift_pixels` must be smaller than the images ({side} pixels). "
                             f"Got {cfg.shift_pixels} instead.")
    check_device(cfg.device)


def save_trained(path: str | os.PathLike, model: nn.Module, split, config: TrainConfig,
                 history: History, metrics: dict | None = None, **meta: Any):
    """Write a trained model's checkpoint: spec, weights, config, history, metrics, data record.

    ``split`` is a :class:`vizkit.data.Split` (its :meth:`~vizkit.data.Split.record` is stored)
    or a data record dict. Used by :func:`train_model` and :class:`vizkit.estimator.NetClassifier`.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file to write (atomically, with :func:`vizkit.checkpoint.save`).
    model : nn.Module
        The trained model (a vizkit model class, so that its spec can rebuild it).
    split : vizkit.data.Split or dict
        The data it was trained on, or its record.
    config : TrainConfig
        The configuration it was trained with; its ``seed`` is stored unless ``meta`` has one.
    history : History
        Its training history.
    metrics : dict, optional
        Its test metrics.
    **meta
        More plain data for the checkpoint.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import torch
    >>> from vizkit.models import PTDeep
    >>> from vizkit.train import History
    >>> record = {"name": "halves", "fingerprint": "0" * 16}
    >>> path = save_trained("runs/net.pt", PTDeep([2, 4, 2]), record, default_config("mlp"),
    ...                     History(best_epoch=2), {"accuracy": 0.9}, note="by hand")
    >>> model, history, metrics, meta = load_trained(path)
    >>> history.best_epoch, metrics, meta["note"], meta["seed"], meta["data"]["name"]
    (2, {'accuracy': 0.9}, 'by hand', 0, 'halves')
    """
    from ..checkpoint import save

    record = split.record() if hasattr(split, "record") else dict(split)
    meta.setdefault("seed", config.seed)
    if metrics is not None:
        meta["metrics"] = metrics
    return save(path, model, config=config.to_dict(), history=history.to_dict(), data=record,
                **meta)


def load_trained(path: str | os.PathLike) -> tuple[nn.Module, History, dict, dict]:
    """Read a checkpoint written by :func:`train_model`: ``(model, history, metrics, meta)``.

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint written by :func:`train_model` or :func:`save_trained`.

    Returns
    -------
    model : nn.Module
        The trained model, in eval mode.
    history : History
        Its training history (empty when the checkpoint has none).
    metrics : dict
        Its test metrics (empty when it has none).
    meta : dict
        Everything stored with it (see :func:`vizkit.checkpoint.load`).

    Raises
    ------
    FileNotFoundError
        There is no file at ``path``.
    vizkit.checkpoint.CheckpointError
        The file is not a readable checkpoint.

    Examples
    --------
    >>> from vizkit import checkpoint
    >>> from vizkit.models import PTDeep
    >>> path = checkpoint.save("plain.pt", PTDeep([2, 2]))  # no history, no metrics
    >>> model, history, metrics, meta = load_trained(path)
    >>> type(model).__name__, history.epochs, metrics
    ('PTDeep', [], {})
    """
    from ..checkpoint import load

    model, meta = load(path)
    return model, History.from_dict(meta.get("history", {})), dict(meta.get("metrics", {})), meta
