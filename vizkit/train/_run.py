"""``train_model``: seed, build, fit, evaluate and checkpoint in one call (CLI, gallery, recipes)."""

from __future__ import annotations

import os
from typing import Any

from torch import nn

from ._config import TrainConfig
from ._fit import History, fit, seed_everything
from .metrics import evaluate

__all__ = ["train_model", "default_config", "model_spec"]

# Defaults that train each model well on MNIST-sized images on a laptop CPU in under 2 minutes.
_DEFAULTS: dict[str, dict] = {
    "logreg": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-4,
               "patience": 8, "augment": "shift", "shift_pixels": 1},
    "mlp": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "patience": 8,
            "augment": "shift", "shift_pixels": 1},
    "deep": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "patience": 8,
             "augment": "shift", "shift_pixels": 1},
    "cnn": {"epochs": 20, "batch_size": 64, "optimizer": "adam", "lr": 2e-3, "patience": 5,
            "scheduler": "exponential", "gamma": 0.9, "augment": "shift", "shift_pixels": 2},
    # the 2D bottleneck is slow to untangle: a high step with cosine decay, no early stop, and
    # 1-pixel shifts (without them it overfits at ~0.88)
    "rbf": {"epochs": 40, "batch_size": 64, "optimizer": "adam", "lr": 1e-2, "scheduler": "cosine",
            "augment": "shift", "shift_pixels": 1},
}


#: Training sets at least this large get no shift augmentation by default (it is what lets the
#: 3,000 images of mnist-5k generalize; on 55,000 Fashion-MNIST images it only costs accuracy).
LARGE_TRAIN_SET = 20_000


def default_config(model_name: str, *, n_train: int | None = None, **overrides: Any) -> TrainConfig:
    """The training defaults for a registered model name, with ``overrides`` applied.

    The best epoch is chosen by validation accuracy (seed 000 keeps "the best validation model").
    ``n_train``, the training-set size, switches the shift augmentation off for large sets.
    """
    base = {"monitor": "val_acc", **_DEFAULTS.get(model_name, {})}
    if n_train is not None and n_train >= LARGE_TRAIN_SET:
        base.pop("augment", None)
        base.pop("shift_pixels", None)
    base.update(overrides)
    return TrainConfig.from_dict(base)


def model_spec(name: str, split, **overrides: Any) -> dict:
    """The spec of registry model ``name`` for ``split``: input shape and classes from the data;
    image models standardize with the training part's own pixel statistics (recorded in the
    spec, so the checkpoint knows its input convention) unless ``normalize`` is given."""
    from ..models import default_spec

    if len(split.input_shape) == 3 and "normalize" not in overrides and len(split.y_train):
        x = split.x_train.double()
        overrides["normalize"] = (round(float(x.mean()), 4), round(float(x.std()), 4))
    return default_spec(name, split.input_shape, split.n_classes, **overrides)


def train_model(model: str | dict, split, config: TrainConfig | dict | None = None, *,
                checkpoint: str | os.PathLike | None = None, seed: int | None = None,
                tensorboard: str | os.PathLike | None = None,
                **model_overrides: Any) -> tuple[nn.Module, History, dict]:
    """Build a model (by registry name or spec), train it on ``split``, evaluate it on the test part.

    Parameters
    ----------
    model : str or dict
        A name from :func:`vizkit.models.list_models` or a spec from :func:`~vizkit.models.default_spec`.
    split : vizkit.data.Split
    config : TrainConfig or dict, optional
        Missing keys come from the model's defaults (:func:`default_config`).
    checkpoint : path, optional
        Where the best-validation model is written (atomically), with config, history, test
        metrics, the data name and fingerprint, and the seed.
    seed : int, optional
        Seeds the initial weights and the shuffling; default ``config.seed``.
    tensorboard : path, optional
        Folder for per-epoch TensorBoard logs (see :func:`vizkit.train.fit`).
    **model_overrides
        Constructor arguments for a model given by name. Image models get
        ``normalize=(mean, std)`` of the training images unless given here.

    Returns
    -------
    model, history, metrics
        ``metrics`` are test-split figures from :func:`vizkit.train.evaluate`.
    """
    from ..models import build

    if isinstance(model, str):
        name = model
        spec = model_spec(model, split, **model_overrides)
    else:
        spec, name = model, model.get("name", "")
    if isinstance(config, TrainConfig):
        cfg = config
    else:
        cfg = (default_config(name, n_train=len(split.y_train), **(config or {}))
               if name in _DEFAULTS else TrainConfig.from_dict(config or {}))
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    seed_everything(cfg.seed)
    net = build(spec)
    meta = {"data": {"name": split.name, "fingerprint": split.fingerprint,
                     "classes": list(split.classes), "input_shape": list(split.input_shape),
                     "sizes": [len(split.y_train), len(split.y_val), len(split.y_test)]},
            "seed": cfg.seed, "model_name": name}
    hist = fit(net, split, cfg, checkpoint=checkpoint, meta=meta, tensorboard=tensorboard)
    metrics = evaluate(net, split.x_test, split.y_test, classes=split.classes)
    metrics["best_epoch"] = hist.best_epoch
    metrics["val_acc"] = hist.best.get("val_acc")
    metrics["train_seconds"] = hist.seconds
    if checkpoint is not None:
        from ..checkpoint import save

        save(checkpoint, net, config=cfg.to_dict(), history=hist.to_dict(), metrics=metrics, **meta)
    return net, hist, metrics
