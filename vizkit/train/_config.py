"""Training configuration: a typed dataclass whose keys are checked by name and type."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, fields
from typing import Any, Optional, Union, get_args, get_origin, get_type_hints

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULERS", "AUGMENTS", "AVERAGES", "check_device"]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = (None, "exponential", "step", "cosine", "plateau")
AUGMENTS = (None, "shift", "affine")
AVERAGES = (None, "ema")


@dataclass
class TrainConfig:
    """Everything :func:`vizkit.train.fit` needs to know, with the lab's names where it has them.

    Parameters
    ----------
    epochs : int, default=20
    batch_size : int, default=128
        0 means full batch (the lab's first MNIST experiment).
    optimizer : {'sgd', 'adam', 'adamw'}, default='adam'
    lr : float, default=1e-3
    momentum : float, default=0.0
        SGD momentum.
    weight_decay : float, default=0.0
        The optimizer's decoupled/coupled weight decay.
    param_lambda : float, default=0.0
        The lab's L2 term ``lambda * sum ||W||^2`` added to the loss (weights, not biases).
    scheduler : {None, 'exponential', 'step', 'cosine', 'plateau'}, default=None
    gamma : float, default=0.95
        Decay factor for 'exponential', 'step' and 'plateau'.
    step_size : int, default=10
        Epochs between decays for 'step'.
    patience : int or None, default=None
        Stop after that many epochs without a better validation loss (None: never stop early).
    min_delta : float, default=0.0
        How much better counts as better.
    monitor : {'val_loss', 'val_acc'}, default='val_loss'
        The validation figure that chooses the best epoch (its weights are kept).
    seed : int, default=0
        Seeds the shuffling (and, through :func:`vizkit.train.train_model`, the initial weights).
    log_every : int, default=0
        Print seed 001's ``train-loss / train-err`` line every that many batches (0: never).
    progress : bool or None, default=None
        tqdm bar over epochs; None shows it only on a terminal.
    device : str, default='cpu'
    eval_batch_size : int, default=2048
    augment : {None, 'shift', 'affine'}, default=None
        'shift': every training image is moved by a random whole number of pixels, at most
        ``shift_pixels`` in each direction (seeded), a cheap and effective regularizer for digits.
        'affine': every training image is rotated by up to ``affine_degrees``, scaled by a
        factor in ``[1 - affine_scale, 1 + affine_scale]`` and moved by up to ``shift_pixels``
        (not only whole pixels) in each direction, all drawn at random (seeded) and applied in
        one batched, bilinear ``torch.nn.functional.grid_sample``. Vectors (e.g. flattened
        images) are never augmented.
    shift_pixels : int, default=2
    affine_degrees : float, default=10.0
        Largest rotation of ``augment='affine'``, in degrees (0 to 180).
    affine_scale : float, default=0.1
        Largest relative change of size of ``augment='affine'`` (0 to < 1).
    average : {None, 'ema'}, default=None
        'ema': keep an exponential moving average of the weights and BatchNorm buffers, updated
        after every optimizer step (``torch.optim.swa_utils.AveragedModel``); the validation
        figures, the best-epoch choice, the checkpoint, ``on_epoch_end`` and the returned model
        all use the averaged weights (training goes on from the raw ones).
    ema_decay : float, default=0.99
        The weight of the old average at each step of ``average='ema'`` (0 to < 1; about
        ``1 / (1 - ema_decay)`` steps are averaged).
    refit : bool, default=False
        Used by :func:`vizkit.train.train_model` (scikit-learn's ``refit``): once the first run
        has chosen the best epoch on the validation part, train a fresh model (same seed) on
        train + validation for that many epochs and keep its last epoch. The history and
        ``val_acc`` stay those of the first run. No effect without validation data.
    """

    epochs: int = 20
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    param_lambda: float = 0.0
    scheduler: Optional[str] = None
    gamma: float = 0.95
    step_size: int = 10
    patience: Optional[int] = None
    min_delta: float = 0.0
    monitor: str = "val_loss"
    seed: int = 0
    log_every: int = 0
    progress: Optional[bool] = None
    device: str = "cpu"
    eval_batch_size: int = 2048
    augment: Optional[str] = None
    shift_pixels: int = 2
    affine_degrees: float = 10.0
    affine_scale: float = 0.1
    average: Optional[str] = None
    ema_decay: float = 0.99
    refit: bool = False

    def __post_init__(self) -> None:
        _coerce_types(self)
        for name, valid in (("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS),
                            ("augment", AUGMENTS), ("average", AVERAGES),
                            ("monitor", ("val_loss", "val_acc"))):
            if getattr(self, name) not in valid:
                raise ValueError(f"`{name}` must be one of {', '.join(map(repr, valid))}. "
                                 f"Got {getattr(self, name)!r} instead.")
        for name in ("epochs", "eval_batch_size", "step_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1. Got {getattr(self, name)!r} instead.")
        for name, low in (("batch_size", " (0: full batch)"), ("shift_pixels", ""),
                          ("log_every", " (0: never)")):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0{low}. Got {getattr(self, name)!r} instead.")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"`lr` must be > 0 and finite. Got {self.lr!r} instead.")
        if not (math.isfinite(self.gamma) and self.gamma > 0):
            raise ValueError(f"`gamma` must be > 0 and finite (the decay factor). Got "
                             f"{self.gamma!r} instead.")
        for name in ("momentum", "weight_decay", "param_lambda", "min_delta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"`{name}` must be >= 0 and finite. Got {value!r} instead.")
        for name, low, high, closed in (("affine_degrees", 0.0, 180.0, True),
                                        ("affine_scale", 0.0, 1.0, False),
                                        ("ema_decay", 0.0, 1.0, False)):
            value = getattr(self, name)
            if not (low <= value <= high and (closed or value < high)):
                raise ValueError(f"`{name}` must be in [{low:g}, {high:g}{']' if closed else ')'}. "
                                 f"Got {value!r} instead.")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"`patience` must be >= 1 or None. Got {self.patience!r} instead.")
        _check_device_name(self.device)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes``; unknown keys are rejected by name."""
        return dataclasses.replace(self, **_check_keys(changes))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return cls(**_check_keys(dict(d)))

    @classmethod
    def parse_overrides(cls, items: list[str]) -> dict:
        """Parse ``["lr=0.1", "epochs=5"]`` into typed values, checking names and types."""
        hints = get_type_hints(cls)
        out: dict = {}
        for item in items:
            if "=" not in item:
                raise ValueError(f"override {item!r} is not of the form key=value.")
            key, raw = item.split("=", 1)
            key = key.strip().lstrip("-").replace("-", "_")
            _check_keys({key: None})
            out[key] = _convert(key, raw.strip(), hints[key])
        return out


def _coerce_types(cfg: TrainConfig) -> None:
    """Numbers of any numeric type (NumPy's too) to the field's type; anything else by name."""
    for name, typ in get_type_hints(TrainConfig).items():
        value = getattr(cfg, name)
        optional = get_origin(typ) is Union and type(None) in get_args(typ)
        if optional:
            if value is None:
                continue
            typ = next(t for t in get_args(typ) if t is not type(None))
        if typ is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
            setattr(cfg, name, int(value))
        elif typ is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
            setattr(cfg, name, float(value))
        elif not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
            raise TypeError(f"`{name}` must be of type {typ.__name__}"
                            f"{' or None' if optional else ''}. Got {value!r} instead.")


def _check_device_name(device: str) -> None:
    import torch

    try:
        torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"`device` must name a torch device such as 'cpu', 'cuda', 'cuda:0' or "
                         f"'mps'. Got {device!r} instead.") from None


def check_device(device: str) -> None:
    """Refuse a ``device`` this machine does not have (by name, with the ones it has).

    Parameters
    ----------
    device : str
        A torch device name: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'mps'``.

    Raises
    ------
    ValueError
        The name is not a device, or this machine does not have it.

    Examples
    --------
    >>> check_device("cpu")
    >>> check_device("cuda:99")
    Traceback (most recent call last):
    ...
    ValueError: `device` 'cuda:99' is not on this machine (CUDA devices: ...); use device=cpu.
    """
    import torch

    _check_device_name(device)
    dev = torch.device(device)
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (dev.index or 0) >= n:
            have = ", ".join(f"'cuda:{i}'" for i in range(n)) or "none"
            raise ValueError(f"`device` {device!r} is not on this machine (CUDA devices: {have}); "
                             "use device=cpu.")
    elif dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"`device` {device!r} is not on this machine; use device=cpu.")


def _check_keys(d: dict) -> dict:
    valid = TrainConfig.keys()
    unknown = [k for k in d if k not in valid]
    if unknown:
        import difflib

        hints = [m for k in unknown for m in difflib.get_close_matches(k, valid, n=1)]
        hint = f" Did you mean {', '.join(map(repr, hints))}?" if hints else ""
        raise ValueError(f"unknown training option(s) {', '.join(map(repr, unknown))}.{hint} "
                         f"Valid options: {', '.join(valid)}.")
    return d


def _convert(key: str, raw: str, typ) -> Any:
    allow_none = get_origin(typ) is Union and type(None) in get_args(typ)
    if allow_none:
        typ = next(t for t in get_args(typ) if t is not type(None))
        if raw.lower() in ("none", "null", ""):
            return None
    try:
        if typ is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            f = float(raw)
            if f != int(f):
                raise ValueError
            return int(f)
        return typ(raw)
    except ValueError:
        raise ValueError(f"option {key!r} must be of type {getattr(typ, '__name__', typ)}"
                         f"{' or none' if allow_none else ''}. Got {raw!r} instead.") from None
