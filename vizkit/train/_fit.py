"""One training loop for every torch model: in-memory index slices, or a DataLoader."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._torch import training_mode
from ._augment import random_affine
from ._config import TrainConfig

__all__ = ["History", "TrainingDiverged", "TensorBoardUnavailable", "fit", "seed_everything", "predict_logits", "loss_fn",
           "random_shift", "isolated_rng"]


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
    """Seed Python, NumPy and torch (the initial weights and dropout depend on it).

    Parameters
    ----------
    seed : int
        The seed of all three generators (NumPy's takes it modulo 2**32).

    Examples
    --------
    >>> import torch
    >>> seed_everything(0)
    >>> a = torch.rand(2)
    >>> seed_everything(0)
    >>> torch.equal(a, torch.rand(2))
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def isolated_rng(device: str | torch.device = "cpu"):
    """A block whose random draws leave the global generators (Python, NumPy, torch) as they were.

    An epoch callback runs inside one, so that recording views during training (an
    activation-maximization image started from noise, say) never changes the training itself:
    the next epoch's dropout masks are the ones it would have had without the callback.

    Parameters
    ----------
    device : str or torch.device, default "cpu"
        The device whose torch generator is also restored (a CUDA device's own generator; the
        CPU generator always is).

    Examples
    --------
    >>> import random, torch
    >>> _ = torch.manual_seed(0)
    >>> with isolated_rng():
    ...     noise = torch.rand(3), random.random()  # draws that the block keeps to itself
    >>> after = torch.rand(2)
    >>> _ = torch.manual_seed(0)
    >>> torch.equal(after, torch.rand(2))
    True
    """
    device = torch.device(device)
    py, np_state = random.getstate(), np.random.get_state()
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)


def loss_fn(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy on raw logits; BCE-with-logits when the model has a single output.

    Parameters
    ----------
    logits : torch.Tensor
        ``[N, C]`` raw class scores, or ``[N, 1]`` the logit of class 1 of a binary model.
    y : torch.Tensor
        ``[N]`` integer labels.
    reduction : {"mean", "sum", "none"}, default "mean"
        As in ``torch.nn.functional.cross_entropy``.

    Returns
    -------
    torch.Tensor
        The loss: a scalar, or ``[N]`` with ``reduction="none"``.

    Examples
    --------
    >>> import math, torch
    >>> logits, y = torch.tensor([[0.0, 0.0], [2.0, 0.0]]), torch.tensor([1, 0])
    >>> round(float(loss_fn(logits, y)), 4)  # the mean of ln 2 and ln(1 + e**-2)
    0.41
    >>> round((math.log(2) + math.log(1 + math.exp(-2))) / 2, 4)
    0.41
    >>> loss_fn(torch.tensor([[0.0]]), torch.tensor([1]), reduction="none")  # one output: BCE
    tensor([0.6931])
    """
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
    """Logits of ``model`` on ``x`` in eval mode, batched, without changing ``model.training``.

    Parameters
    ----------
    model : nn.Module
        Returns raw logits.
    x : torch.Tensor
        The inputs, ``[N, ...]``.
    batch_size : int, default 2048
        Examples per forward pass.
    device : str or torch.device, default "cpu"
        Where each batch is sent (the model must be there already).

    Returns
    -------
    torch.Tensor
        ``[N, C]`` float32 logits on the CPU (an empty tensor for no inputs), without gradients.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5)).train()
    >>> x = torch.randn(5, 2)
    >>> logits = predict_logits(model, x, batch_size=2)  # dropout off, 3 batches
    >>> logits.shape, model.training, torch.allclose(logits, model[0](x))
    (torch.Size([5, 3]), True, True)
    """
    with training_mode(model, False):
        outs = [model(x[i:i + batch_size].to(device)).float().cpu()
                for i in range(0, len(x), batch_size)]
    if not outs:
        return torch.empty(0)
    return torch.cat(outs)


def _evaluate(model, batches: Iterable, device) -> tuple[float, float]:
    total, loss_sum, correct = 0, 0.0, 0
    with training_mode(model, False), torch.no_grad():
        for xb, yb in batches:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            loss_sum += float(loss_fn(logits, yb, reduction="sum"))
            correct += _n_correct(logits, yb)
            total += len(yb)
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


class TensorBoardUnavailable(ImportError, ValueError):
    """``fit(..., tensorboard=DIR)`` was asked for but the ``tensorboard`` package is missing.

    Also a ``ValueError``, so the command line reports it in one line, without a traceback.
    """


class _TensorBoardLog:
    """Per-epoch TensorBoard scalars and histograms through ``torch.utils.tensorboard``.

    Scalars: ``loss/train``, ``accuracy/train``, ``loss/val``, ``accuracy/val`` (when there is
    validation data) and ``lr``; histograms: ``weights/<parameter name>`` and
    ``gradients/<parameter name>`` (the gradient of the epoch's last batch), all at step = epoch.
    """

    def __init__(self, logdir: str | os.PathLike):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # torch raises ImportError when tensorboard is not installed
            raise TensorBoardUnavailable(
                "`tensorboard=` needs the tensorboard package: pip install 'vizkit[tensorboard]' "
                f"(or pip install tensorboard). Import failed with: {e}") from None
        self.writer = SummaryWriter(log_dir=os.fspath(logdir))

    def log_epoch(self, row: dict, model: nn.Module, has_val: bool) -> None:
        w, epoch = self.writer, row["epoch"]
        w.add_scalar("loss/train", row["train_loss"], epoch)
        w.add_scalar("accuracy/train", row["train_acc"], epoch)
        if has_val:
            w.add_scalar("loss/val", row["val_loss"], epoch)
            w.add_scalar("accuracy/val", row["val_acc"], epoch)
        w.add_scalar("lr", row["lr"], epoch)
        for name, p in model.named_parameters():
            w.add_histogram(f"weights/{name}", p.detach().float().cpu(), epoch)
            if p.grad is not None:
                w.add_histogram(f"gradients/{name}", p.grad.detach().float().cpu(), epoch)
        w.flush()

    def close(self) -> None:
        self.writer.close()


def _data_batches(data: Any, cfg: TrainConfig, rank: int, world: int, device: torch.device):
    """``(train batches, a function giving fresh validation batches, whether validation exists)``."""
    if hasattr(data, "x_train"):
        x_tr, y_tr = data.x_train, data.y_train
        if x_tr.device != device and _fits_on(device, x_tr, y_tr):
            # one copy to the GPU, then every batch is gathered there: no per-step transfer
            x_tr, y_tr = x_tr.to(device), y_tr.to(device)
        train_iter = _TensorBatches(x_tr, y_tr, cfg.batch_size, cfg.seed, rank, world, device)
        x_val, y_val = data.x_val, data.y_val
        return (train_iter, lambda: _eval_batches(x_val, y_val, cfg.eval_batch_size),
                len(y_val) > 0)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        train_loader, val_loader = data
        if val_loader is None:
            return train_loader, lambda: iter(()), False
        return train_loader, lambda: iter(val_loader), True
    raise TypeError("`data` must be a vizkit.data.Split or a (train_loader, val_loader) pair. "
                    f"Got {type(data).__name__} instead.")


@dataclass
class _Run:
    """What one :func:`fit` call carries from epoch to epoch."""

    model: nn.Module
    net: nn.Module  # the model, or its DistributedDataParallel wrapper
    opt: torch.optim.Optimizer
    cfg: TrainConfig
    device: torch.device
    rank: int
    checkpoint: Any
    meta: dict | None
    hist: History = field(default_factory=History)
    best_score: float | None = None
    best_state: dict | None = None
    bad_epochs: int = 0
    step: int = 0
    live_state: dict = field(default_factory=dict)
    ema: Any = None  # torch.optim.swa_utils.AveragedModel with average='ema'

    def diverged(self, lv: float, epoch: int) -> TrainingDiverged:
        """Put the best weights back and return the error to raise."""
        _restore(self.model, self.best_state)
        saved = self.checkpoint and self.best_state is not None
        return TrainingDiverged(
            f"the training loss became {lv} at epoch {epoch}, batch {self.step + 1} "
            f"(optimizer {self.cfg.optimizer!r}, lr {self.cfg.lr}); the model holds the weights of "
            f"epoch {self.hist.best_epoch}" + (f", saved in {self.checkpoint}" if saved else "")
            + ". Lower `lr` or add `param_lambda`/`weight_decay`.")

    def keep_if_best(self, row: dict, has_val: bool) -> None:
        """Snapshot the weights (and write the checkpoint) when this epoch is the best so far."""
        cfg = self.cfg
        if has_val:
            score = -row["val_loss"] if cfg.monitor == "val_loss" else row["val_acc"]
        else:
            score = -row["train_loss"]
        if self.best_score is not None and not score > self.best_score + cfg.min_delta:
            self.bad_epochs += 1
            return
        self.best_score, self.bad_epochs = score, 0
        self.best_state = {k: v.detach().clone() for k, v in self.live_state.items()}
        self.hist.best_epoch = row["epoch"]
        if self.checkpoint is not None and self.rank == 0:
            from ..checkpoint import save

            save(self.checkpoint, self.model, config=cfg.to_dict(), history=self.hist.to_dict(),
                 **(self.meta or {}))


def _train_epoch(run: _Run, epoch: int, batches: Iterable, aug_gen: torch.Generator,
                 write) -> tuple[float, float]:
    """One pass over the training batches; returns the epoch's (mean loss, accuracy)."""
    cfg, device, model, net, opt = run.cfg, run.device, run.model, run.net, run.opt
    net.train()
    n_seen, loss_sum = 0, 0.0
    correct_t = torch.zeros((), dtype=torch.long, device=device)
    win_loss, win_err, win_n = 0.0, 0, 0
    for xb, yb in batches:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        if cfg.augment == "shift":
            xb = random_shift(xb, cfg.shift_pixels, aug_gen)
        elif cfg.augment == "affine":
            xb = random_affine(xb, cfg.affine_degrees, cfg.affine_scale, cfg.shift_pixels, aug_gen)
        logits = net(xb)
        loss = loss_fn(logits, yb)
        if cfg.param_lambda:
            loss = loss + cfg.param_lambda * _l2_term(model)
        lv = loss.item()
        if not math.isfinite(lv):
            raise run.diverged(lv, epoch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if run.ema is not None:
            run.ema.update_parameters(model)
        run.step += 1
        b = len(yb)
        n_seen += b
        loss_sum += lv * b
        c = _correct_tensor(logits.detach(), yb)
        correct_t += c
        if cfg.log_every and run.rank == 0:
            win_loss, win_err, win_n = win_loss + lv * b, win_err + b - int(c), win_n + b
            if run.step % cfg.log_every == 0:
                write(f"epoch {epoch} step {run.step}: train-loss {win_loss / win_n:.4f}  "
                      f"train-err {win_err / win_n:.4f}")
                win_loss, win_err, win_n = 0.0, 0, 0
    return loss_sum / max(n_seen, 1), int(correct_t) / max(n_seen, 1)


def _progress_bar(model: nn.Module, cfg: TrainConfig, rank: int):
    from tqdm.auto import tqdm

    if rank != 0:
        disable = True
    else:  # None: tqdm shows the bar only on a terminal
        disable = None if cfg.progress is None else not cfg.progress
    return tqdm(range(1, cfg.epochs + 1), desc=f"train {type(model).__name__}", unit="epoch",
                disable=disable, leave=False)


def _step_scheduler(sched, cfg: TrainConfig, row: dict, has_val: bool) -> None:
    if sched is None:
        return
    if cfg.scheduler == "plateau":
        sched.step(row["val_loss"] if has_val else row["train_loss"])
    else:
        sched.step()


def fit(model: nn.Module, data: Any, config: TrainConfig | dict | None = None, *,
        checkpoint: str | os.PathLike | None = None, meta: dict | None = None,
        tensorboard: str | os.PathLike | None = None,
        on_epoch_end: Callable[[int, nn.Module], Any] | None = None) -> History:
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
    tensorboard : path, optional
        Folder for TensorBoard event files: per epoch the train (and validation) loss and
        accuracy, the learning rate, and histograms of every parameter and of its last gradient
        (needs ``pip install 'vizkit[tensorboard]'``; view with ``tensorboard --logdir DIR``).
    on_epoch_end : callable, optional
        Called as ``on_epoch_end(epoch, model)`` after each epoch (1-based) with that epoch's
        weights and the model in eval mode, before early stopping is decided, e.g. to draw a
        frame of a training animation. Its return value is ignored; under torchrun only rank 0
        calls it. Its random draws do not reach the training (:func:`isolated_rng`). The
        initial weights (epoch 0) are not passed here: call it once before ``fit`` for them, as
        :func:`vizkit.train.train_model` does for a ``recorder``.

    Returns
    -------
    History
        One row per epoch, the best epoch and whether it stopped early.

    Raises
    ------
    TrainingDiverged
        The loss became NaN or infinite. The model is put back to its best weights first.
    TensorBoardUnavailable
        ``tensorboard`` was given and the tensorboard package is not installed.

    Notes
    -----
    Under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel with
    the gloo backend; every rank takes its share of each batch and all ranks end equal.

    Examples
    --------
    A small MLP on points labelled by the half-plane they lie in:

    >>> import torch
    >>> from vizkit.data import Split, fingerprint
    >>> x = torch.randn(60, 2, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0).long()  # class 1: the right half of the plane
    >>> split = Split("halves", x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:],
    ...               ("left", "right"), (2,), fingerprint(x, y))
    >>> from vizkit.models import PTDeep
    >>> _ = torch.manual_seed(0)
    >>> net = PTDeep([2, 8, 2])
    >>> history = fit(net, split, {"epochs": 5, "lr": 0.05, "progress": False})
    >>> len(history.epochs), sorted(history.epochs[0])[:4], 1 <= history.best_epoch <= 5
    (5, ['epoch', 'lr', 'seconds', 'train_acc'], True)
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config or {})
    device = torch.device(cfg.device)
    model.to(device, memory_format=_train_format(model, device))
    rank, world = _dist_info()
    train_iter, val_batches, has_val = _data_batches(data, cfg, rank, world, device)
    tb = _TensorBoardLog(tensorboard) if tensorboard is not None and rank == 0 else None
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)
    opt = _make_optimizer(net.parameters(), cfg)
    sched = _make_scheduler(opt, cfg)
    # the live tensors of the state (parameters and buffers are updated in place), taken once:
    # a snapshot is then one clone per tensor, with no module traversal
    run = _Run(model, net, opt, cfg, device, rank, checkpoint, meta, live_state=model.state_dict(),
               ema=_make_average(model, cfg))
    t_start = time.perf_counter()
    bar = _progress_bar(model, cfg, rank)
    aug_gen = torch.Generator().manual_seed(cfg.seed * 7919 + rank)
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            if hasattr(train_iter, "epoch"):
                train_iter.epoch = epoch
            train_loss, train_acc = _train_epoch(run, epoch, train_iter, aug_gen, bar.write)
            raw = _swap_in_average(run)  # the epoch's figures are of the averaged weights
            val_loss, val_acc = (_evaluate(model, val_batches(), device) if has_val
                                 else (float("nan"),) * 2)
            row = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                   "val_loss": val_loss, "val_acc": val_acc, "lr": opt.param_groups[0]["lr"],
                   "seconds": time.perf_counter() - t0}
            run.hist.epochs.append(row)
            if tb is not None:
                tb.log_epoch(row, model, has_val)
            _step_scheduler(sched, cfg, row, has_val)
            run.keep_if_best(row, has_val)
            if on_epoch_end is not None and rank == 0:
                with training_mode(model, False), isolated_rng(device):
                    on_epoch_end(epoch, model)
            _restore(model, raw)  # the raw training weights back (None: nothing swapped)
            bar.set_postfix(loss=f"{train_loss:.4f}", val_acc=f"{val_acc:.4f}")
            if cfg.patience is not None and has_val and run.bad_epochs >= cfg.patience:
                run.hist.stopped_early = True
                break
    finally:
        bar.close()
        if tb is not None:
            tb.close()
    _restore(model, run.best_state)
    model.to(memory_format=torch.contiguous_format).eval()
    run.hist.seconds = time.perf_counter() - t_start
    return run.hist


def _train_format(model: nn.Module, device: torch.device) -> torch.memory_format:
    """Channels-last for a CPU model with 2-D convolutions (oneDNN's convolutions take it
    directly: the vizkit ConvNet trains ~1.6x faster on one thread), else the default.
    :func:`fit` gives the model back in the default (contiguous) format either way."""
    if device.type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return torch.channels_last
    return torch.preserve_format


def _make_average(model: nn.Module, cfg: TrainConfig):
    """The weight average of ``cfg.average`` (None without one). BatchNorm's running statistics
    are averaged with the weights (``use_buffers=True``), so the average needs no extra pass
    over the data to recompute them."""
    if cfg.average is None:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay),
                         use_buffers=True)


def _swap_in_average(run: _Run) -> dict | None:
    """Load the averaged weights into the model; return the raw ones (None without averaging)."""
    if run.ema is None or int(run.ema.n_averaged) == 0:
        return None
    raw = {k: v.detach().clone() for k, v in run.live_state.items()}
    run.model.load_state_dict(run.ema.module.state_dict())
    return raw


def _restore(model: nn.Module, state: dict | None) -> None:
    if state is not None:
        model.load_state_dict(state)
