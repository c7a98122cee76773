"""What pt_logreg and pt_deep share: one-hot labels in, vizkit's fit underneath, probabilities out."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import numpy as np
import torch

from ..data import Split, fingerprint
from ..train import History, fit, predict_logits

__all__ = ["LabLoss", "seeded", "base_spec", "labels_of", "lab_train", "lab_eval"]


@contextlib.contextmanager
def seeded(seed: int | None):
    """Run the block with torch's generator seeded by ``seed`` (None: as it is), then restore it."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def base_spec(base: type, *args: Any, **kwargs: Any) -> dict:
    """The spec ``{"class": ..., "args": ...}`` of the vizkit class ``base`` built with ``args``:
    set as ``vizkit_spec`` on a lab model, it tells a checkpoint to rebuild the vizkit model."""
    bound = inspect.signature(base.__init__).bind(None, *args, **kwargs)
    bound.apply_defaults()
    named = dict(bound.arguments)
    named.pop(next(iter(named)))  # self
    return {"class": base.__name__, "args": {k: _plain(v) for k, v in named.items()}}


def _tensor(a: Any, dtype) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().to(dtype)
    return torch.as_tensor(np.asarray(a), dtype=dtype)


def labels_of(Yoh_: Any) -> torch.Tensor:
    """Class indices ``[N]`` of the lab's one-hot matrix ``Yoh_`` ``[N, C]``."""
    Yoh = _tensor(Yoh_, torch.float32)
    if Yoh.dim() != 2 or Yoh.shape[1] < 2:
        raise ValueError("`Yoh_` must be one-hot class labels of shape [N, C] with C >= 2 (make "
                         f"them with vizkit.lab.data.class_to_onehot). Got shape "
                         f"{tuple(Yoh.shape)} instead.")
    return Yoh.argmax(1)


class LabLoss:
    """The lab's ``get_loss(X, Yoh_)`` for a vizkit model returning logits."""

    def get_loss(self, X, Yoh_, param_lambda: float = 0.0) -> torch.Tensor:
        """Mean cross-entropy of one-hot ``Yoh_`` (``-mean_i sum_j Yoh_ij log P_ij``), computed
        from log-softmax (no overflow, no log of 0), plus ``param_lambda`` times the sum of
        squared weight matrices: the loss :func:`vizkit.train.fit` minimizes. It does not grow
        with the number of data points."""
        x = _tensor(X, torch.float32)
        Yoh = _tensor(Yoh_, torch.float32)
        labels_of(Yoh)  # validates the shape
        logp = torch.log_softmax(self(x), dim=1)
        loss = -(Yoh * logp).sum(1).mean()
        if param_lambda:
            loss = loss + param_lambda * sum((p * p).sum() for p in self.parameters() if p.dim() > 1)
        return loss


def lab_train(model, X, Yoh_, param_niter: int, param_delta: float, param_lambda: float, *,
              batch_size: int = 0, seed: int = 0, log_every: int = 0, **options: Any) -> History:
    """Gradient descent on ``model`` through :func:`vizkit.train.fit`, with no validation part."""
    x = _tensor(X, torch.float32)
    y = labels_of(Yoh_)
    if len(x) != len(y):
        raise ValueError(f"`X` and `Yoh_` differ in length: {len(x)} vs {len(y)}.")
    empty_x, empty_y = x[:0], y[:0]
    C = int(_tensor(Yoh_, torch.float32).shape[1])
    split = Split("lab", x, y, empty_x, empty_y, empty_x, empty_y,
                  tuple(str(c) for c in range(C)), tuple(x.shape[1:]), fingerprint(x, y))
    cfg = {"epochs": int(param_niter), "batch_size": int(batch_size), "optimizer": "sgd",
           "lr": float(param_delta), "momentum": 0.0, "param_lambda": float(param_lambda),
           "seed": int(seed), "log_every": int(log_every), "progress": False, "patience": None}
    cfg.update(options)
    return fit(model, split, cfg)


def lab_eval(model, X) -> np.ndarray:
    """Class probabilities ``[N, C]`` as a NumPy array (model in eval mode, no gradients)."""
    logits = predict_logits(model, _tensor(X, torch.float32))
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits[:, 0])
        return torch.stack([1 - p, p], 1).numpy()
    return torch.softmax(logits, 1).numpy()
