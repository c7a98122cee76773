"""One training loop for every torch model: in-memory index slices, or a DataLoader."""

from __future__ import annotations

import copy
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._config import TrainConfig

__all__ = ["History", "TrainingDiverged", "fit", "seed_everything", "predict_logits", "loss_fn",
           "random_shift"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model holds the last good (best-validation) weights."""


@dataclass
class History:
    """Per-epoch figures of one :func:`fit` run.

    Attributes
    ----------
    epochs : list of dict
        One dict per epoch: ``epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds``.
    best_epoch : int
        The epoch whose weights were kept (1-based; 0 before any epoch finished).
    stopped_early : bool
    seconds : float
        Wall time of the whole run.
    """

    epochs: list = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: float = 0.0

    def series(self, key: str) -> list:
        """The values of ``key`` over epochs, e.g. ``history.series('val_acc')``."""
        return [e.get(key) for e in self.epochs]

    @property
    def best(self) -> dict:
        return self.epochs[self.best_epoch - 1] if self.best_epoch else {}

    def to_dict(self) -> dict:
        return {"epochs": copy.deepcopy(self.epochs), "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(epochs=list(d.get("epochs", [])), best_epoch=int(d.get("best_epoch", 0)),
                   stopped_early=bool(d.get("stopped_early", False)),
                   seconds=float(d.get("seconds", 0.0)))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (the initial weights and dropout depend on it)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def loss_fn(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy on raw logits; BCE-with-logits when the model has a single output."""
    if logits.dim() == 2 and logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], y.to(logits.dtype), reduction=reduction)
    return F.cross_entropy(logits, y, reduction=reduction)


def _correct_tensor(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if logits.dim() == 2 and logits.shape[1] == 1:
        return ((logits[:, 0] > 0).long() == y).sum()
    return (logits.argmax(1) == y).sum()


def _n_correct(logits: torch.Tensor, y: torch.Tensor) -> int:
    return int(_correct_tensor(logits, y))


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, *, batch_size: int = 2048,
                   device: str | torch.device = "cpu") -> torch.Tensor:
    """Logits of ``model`` on ``x`` in eval mode, batched, without changing ``model.training``."""
    was_training = model.training
    model.eval()
    try:
        outs = [model(x[i:i + batch_size].to(device)).float().cpu()
                for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not outs:
        return torch.empty(0)
    return torch.cat(outs)


def _evaluate(model, batches: Iterable, device) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    try:
        with torch.no_grad():
            for xb, yb in batches:
                xb, yb = xb.to(device), yb.to(device)
                logits = model(xb)
                loss_sum += float(loss_fn(logits, yb, reduction="sum"))
                correct += _n_correct(logits, yb)
                total += len(yb)
    finally:
        model.train(was_training)
    if total == 0:
        return float("nan"), float("nan")
    return loss_sum / total, correct / total


def _l2_term(model: nn.Module) -> torch.Tensor:
    return sum((p * p).sum() for n, p in model.named_parameters() if p.dim() > 1)


def _make_optimizer(params, cfg: TrainConfig):
    params = list(params)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[cfg.optimizer]
    kw = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer == "sgd":
        kw["momentum"] = cfg.momentum
    # the fused kernels update every parameter in one call: much less per-step overhead for
    # small models; they need float parameters on a device that has them (CPU and CUDA do)
    if all(p.dtype in (torch.float32, torch.float64) and p.device.type in ("cpu", "cuda")
           for p in params):
        try:
            return cls(params, fused=True, **kw)
        except (RuntimeError, TypeError):  # an older torch without fused CPU kernels
            pass
    return cls(params, **kw)


def _make_scheduler(opt, cfg: TrainConfig):
    s = cfg.scheduler
    if s is None:
        return None
    if s == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.gamma)
    if s == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if s == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.gamma, patience=2)


def _dist_info() -> tuple[int, int]:
    """(rank, world size) when launched by torchrun, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not torch.distributed.is_available():
        return 0, 1
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="gloo")
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


class _TensorBatches:
    """Shuffled mini-batches of in-memory tensors, gathered without per-sample collation.

    One process: each batch is gathered by ``index_select`` into one reused buffer, which stays
    in the CPU cache, so a batch costs one copy of its own rows and no fresh memory. A batch is
    valid until the next one is drawn (``fit`` finishes each step first). Under torchrun every
    rank takes its strided share of each global batch.
    """

    def __init__(self, x, y, batch_size, seed, rank=0, world=1, device="cpu"):
        self.x, self.y = x, y
        self.n = len(y)
        self.bs = batch_size if batch_size > 0 else self.n
        self.seed, self.rank, self.world, self.device = seed, rank, world, device
        self.epoch = 0
        self._buf = None

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g).to(self.x.device)
        y = torch.index_select(self.y, 0, perm)
        if self.world > 1:  # every rank sees its share of each global batch
            for i in range(0, self.n, self.bs):
                share = slice(i + self.rank, min(i + self.bs, self.n), self.world)
                if len(perm[share]):
                    yield self.x[perm[share]].to(self.device), y[share].to(self.device)
            return
        if self._buf is None:
            self._buf = self.x.new_empty((min(self.bs, self.n),) + tuple(self.x.shape[1:]))
        for i in range(0, self.n, self.bs):
            idx = perm[i:i + self.bs]
            xb = torch.index_select(self.x, 0, idx, out=self._buf[:len(idx)])
            yield xb.to(self.device), y[i:i + self.bs].to(self.device)

    def __len__(self):
        return math.ceil(self.n / self.bs)


def _fits_on(device: torch.device, *tensors: torch.Tensor) -> bool:
    """Whether ``tensors`` take at most a quarter of the free memory of a CUDA ``device``."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return sum(t.numel() * t.element_size() for t in tensors) <= free // 4


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image of ``x`` [B, C, H, W] by a random (dy, dx) in [-max_shift, max_shift],
    filling with zeros. One padded copy, then one slice per distinct shift (no per-sample loop)."""
    if max_shift <= 0 or x.dim() != 4:
        return x
    B, _, H, W = x.shape
    m = max_shift
    padded = F.pad(x, (m, m, m, m))
    shifts = torch.randint(0, 2 * m + 1, (B, 2), generator=generator)
    code = shifts[:, 0] * (2 * m + 1) + shifts[:, 1]
    out = torch.empty_like(x)
    for c in torch.unique(code).tolist():
        idx = (code == c).nonzero().squeeze(1)
        dy, dx = divmod(c, 2 * m + 1)
        out[idx] = padded[idx, :, dy:dy + H, dx:dx + W]
    return out


def _eval_batches(x, y, bs):
    return ((x[i:i + bs], y[i:i + bs]) for i in range(0, len(y), bs))


def fit(model: nn.Module, data: Any, config: TrainConfig | dict | None = None, *,
        checkpoint: str | os.PathLike | None = None, meta: dict | None = None) -> History:
    """Train ``model`` in place and keep its best-validation weights.

    Parameters
    ----------
    model : nn.Module
        Returns raw logits.
    data : vizkit.data.Split or (DataLoader, DataLoader or None)
        A split is batched by index slices of its in-memory tensors (fast); a pair of loaders is
        for data that does not fit in memory (train loader, validation loader).
    config : TrainConfig or dict, optional
    checkpoint : path, optional
        Every new best epoch is written there atomically (with ``meta``), so a run that diverges
        or is interrupted keeps its last good checkpoint.
    meta : dict, optional
        Extra metadata for the checkpoint (data fingerprint, seed...).

    Returns
    -------
    History

    Raises
    ------
    TrainingDiverged
        The loss became NaN or infinite. The model is put back to its best weights first.

    Notes
    -----
    Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel with
    the gloo backend; every rank takes its share of each batch and all ranks end equal.
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config or {})
    device = torch.device(cfg.device)
    model.to(device)
    rank, world = _dist_info()

    if hasattr(data, "x_train"):
        x_tr, y_tr = data.x_train, data.y_train
        if x_tr.device != device and _fits_on(device, x_tr, y_tr):
            # one copy to the GPU, then every batch is gathered there: no per-step transfer
            x_tr, y_tr = x_tr.to(device), y_tr.to(device)
        train_iter = _TensorBatches(x_tr, y_tr, cfg.batch_size, cfg.seed, rank, world, device)
        x_val, y_val = data.x_val, data.y_val
        val_batches = lambda: _eval_batches(x_val, y_val, cfg.eval_batch_size)  # noqa: E731
        has_val = len(y_val) > 0
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        train_loader, val_loader = data
        train_iter = train_loader
        val_batches = (lambda: iter(val_loader)) if val_loader is not None else (lambda: iter(()))
        has_val = val_loader is not None
    else:
        raise TypeError("`data` must be a vizkit.data.Split or a (train_loader, val_loader) pair. "
                        f"Got {type(data).__name__} instead.")

    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)
    opt = _make_optimizer(net.parameters(), cfg)
    sched = _make_scheduler(opt, cfg)
    hist = History()
    best_score, best_state, bad_epochs = None, None, 0
    # the live tensors of the state (parameters and buffers are updated in place), taken once:
    # a snapshot is then one clone per tensor, with no module traversal
    live_state = model.state_dict()
    t_start = time.perf_counter()
    from tqdm.auto import tqdm

    if rank != 0:
        disable = True
    else:  # None: tqdm shows the bar only on a terminal
        disable = None if cfg.progress is None else not cfg.progress
    bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {type(model).__name__}", unit="epoch",
               disable=disable, leave=False)
    step = 0
    aug_gen = torch.Generator().manual_seed(cfg.seed * 7919 + rank)
    for epoch in bar:
        t0 = time.perf_counter()
        net.train()
        if hasattr(train_iter, "epoch"):
            train_iter.epoch = epoch
        n_seen, loss_sum = 0, 0.0
        correct_t = torch.zeros((), dtype=torch.long, device=device)
        win_loss, win_err, win_n = 0.0, 0, 0
        for xb, yb in train_iter:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            if cfg.augment == "shift":
                xb = random_shift(xb, cfg.shift_pixels, aug_gen)
            logits = net(xb)
            loss = loss_fn(logits, yb)
            if cfg.param_lambda:
                loss = loss + cfg.param_lambda * _l2_term(model)
            lv = loss.item()
            if not math.isfinite(lv):
                _restore(model, best_state)
                raise TrainingDiverged(
                    f"the training loss became {lv} at epoch {epoch}, batch {step + 1} "
                    f"(optimizer {cfg.optimizer!r}, lr {cfg.lr}); the model holds the weights of "
                    f"epoch {hist.best_epoch}" + (f", saved in {checkpoint}" if checkpoint and
                                                  best_state is not None else "")
                    + ". Lower `lr` or add `param_lambda`/`weight_decay`.")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            b = len(yb)
            n_seen += b
            loss_sum += lv * b
            c = _correct_tensor(logits.detach(), yb)
            correct_t += c
            if cfg.log_every and rank == 0:
                win_loss += lv * b
                win_err += b - int(c)
                win_n += b
                if step % cfg.log_every == 0:
                    bar.write(f"epoch {epoch} step {step}: train-loss {win_loss / win_n:.4f}  "
                              f"train-err {win_err / win_n:.4f}")
                    win_loss, win_err, win_n = 0.0, 0, 0
        correct = int(correct_t)
        val_loss, val_acc = _evaluate(model, val_batches(), device) if has_val else (float("nan"),) * 2
        row = {"epoch": epoch, "train_loss": loss_sum / max(n_seen, 1),
               "train_acc": correct / max(n_seen, 1), "val_loss": val_loss, "val_acc": val_acc,
               "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        hist.epochs.append(row)
        if sched is not None:
            if cfg.scheduler == "plateau":
                sched.step(val_loss if has_val else row["train_loss"])
            else:
                sched.step()
        score = (-val_loss if cfg.monitor == "val_loss" else val_acc) if has_val else -row["train_loss"]
        if best_score is None or score > best_score + cfg.min_delta:
            best_score, bad_epochs = score, 0
            best_state = {k: v.detach().clone() for k, v in live_state.items()}
            hist.best_epoch = epoch
            if checkpoint is not None and rank == 0:
                from ..checkpoint import save

                save(checkpoint, model, config=cfg.to_dict(), history=hist.to_dict(),
                     **(meta or {}))
        else:
            bad_epochs += 1
        bar.set_postfix(loss=f"{row['train_loss']:.4f}", val_acc=f"{val_acc:.4f}")
        if cfg.patience is not None and has_val and bad_epochs >= cfg.patience:
            hist.stopped_early = True
            break
    bar.close()
    _restore(model, best_state)
    model.eval()
    hist.seconds = time.perf_counter() - t_start
    return hist


def _restore(model: nn.Module, state: dict | None) -> None:
    if state is not None:
        model.load_state_dict(state)
