"""``collect``: stream data through a model and gather layer activations."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

import torch
from torch import nn

from .._torch import model_device
from ._errors import LayersNotRunError, not_run_message
from ._handles import hookable_layers, release
from ._storage import Reduce, ToSpec, fresh_copy, resolve_to
from ._resolve import LayerSpec
from ._tree import LEAF, tree_fill, tree_leaves, tree_map

__all__ = ["collect"]

_DEFAULT_BATCH = 256


def _first_input(batch: Any) -> torch.Tensor:
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]  # (x, y) pairs from a Dataset / DataLoader
    raise TypeError(
        "collect() expects batches that are tensors or (input, target, ...) tuples. Got "
        f"{type(batch).__name__} instead."
    )


def _batches(data: Any, batch_size: Optional[int]) -> tuple[Iterator[torch.Tensor], Optional[int]]:
    """Yield input batches and the total number of samples when known."""
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"`batch_size` must be a positive integer. Got {batch_size!r} instead.")
    from torch.utils.data import DataLoader, Dataset, IterableDataset

    if isinstance(data, torch.Tensor):
        bs = batch_size or _DEFAULT_BATCH
        return (data[i : i + bs] for i in range(0, len(data), bs)), len(data)
    if isinstance(data, DataLoader):
        n = None
        if not isinstance(data.dataset, IterableDataset) and not data.drop_last:
            try:
                n = len(data.dataset)  # type: ignore[arg-type]
            except TypeError:
                n = None
        return (_first_input(b) for b in data), n
    if isinstance(data, Dataset):
        bs = batch_size or _DEFAULT_BATCH
        loader = DataLoader(data, batch_size=bs, shuffle=False)  # type: ignore[arg-type]
        n = None if isinstance(data, IterableDataset) else len(data)  # type: ignore[arg-type]
        return (_first_input(b) for b in loader), n
    if isinstance(data, Iterable):
        return (_first_input(b) for b in data), None
    raise TypeError(
        "`data` must be a tensor, a Dataset, a DataLoader or an iterable of batches. "
        f"Got {type(data).__name__} instead."
    )


def _reduced(reduce: Callable, t: torch.Tensor) -> torch.Tensor:
    r = reduce(t.detach())
    if not isinstance(r, torch.Tensor):
        raise TypeError(f"`reduce` must return a tensor. Got {type(r).__name__} instead.")
    return r


class _Sink:
    """Concatenated outputs of one layer, written batch by batch into preallocated memory."""

    def __init__(self, name: str, n_total: Optional[int], device, dtype):
        self.name, self.n_total = name, n_total
        self.device, self.dtype = device, dtype
        self.skeleton: Any = None
        self.dest: Optional[list[torch.Tensor]] = None  # one [N, ...] tensor per leaf
        self.chunks: list[list[torch.Tensor]] = []  # when N is unknown
        self.offset = 0
        self.calls = 0
        self.batch = 0  # samples in the batch now running

    def write(self, leaves: list[torch.Tensor], batch: int) -> None:
        for t in leaves:
            if t.dim() == 0 or t.shape[0] != batch:
                raise ValueError(
                    f"collect() concatenates along dimension 0, but layer {self.name!r} gave a tensor of "
                    f"shape {tuple(t.shape)} for a batch of {batch}. Record it with vizkit.hooks.record, "
                    "or pass a `reduce` that keeps the batch first."
                )
        if self.n_total is None:
            self.chunks.append([fresh_copy(t, self.device, self._dtype(t)) for t in leaves])
            return
        if self.dest is None:
            self.dest = []
            for t in leaves:
                with torch.inference_mode(False):
                    self.dest.append(
                        torch.empty(
                            (self.n_total, *t.shape[1:]),
                            dtype=self._dtype(t),
                            device=self.device or t.device,
                        )
                    )
        end = self.offset + batch
        if end > self.n_total:
            raise ValueError(f"collect() got more samples than the {self.n_total} announced by `data`.")
        for dst, t in zip(self.dest, leaves):
            if dst.shape[1:] != t.shape[1:]:
                raise ValueError(
                    f"Layer {self.name!r} changed shape between batches: {tuple(dst.shape[1:])} "
                    f"then {tuple(t.shape[1:])} per sample."
                )
            dst[self.offset : end].copy_(t)

    def hook(self, reduce: Reduce) -> Callable[[nn.Module, tuple, Any], None]:
        """The forward hook that writes this layer's (reduced) output for the current batch."""

        def hook(mod: nn.Module, args: tuple, output: Any) -> None:
            self.calls += 1
            if self.calls > 1:
                raise ValueError(
                    f"Layer {self.name!r} ran more than once in one forward pass; collect() keeps one "
                    "tensor per layer. Use vizkit.hooks.record to get every call."
                )
            leaves = tree_leaves(output)
            if self.skeleton is None:
                self.skeleton = tree_map(lambda _: LEAF, output)
            if reduce is not None:
                leaves = [_reduced(reduce, t) for t in leaves]
            self.write([t.detach() for t in leaves], self.batch)

        return hook

    def _dtype(self, t: torch.Tensor) -> torch.dtype:
        return self.dtype if (self.dtype is not None and t.is_floating_point()) else t.dtype

    def result(self, n_seen: int) -> Any:
        if self.n_total is None:
            if not self.chunks:
                return None
            leaves = [torch.cat([c[i] for c in self.chunks]) for i in range(len(self.chunks[0]))]
        else:
            if self.dest is None:
                return None
            leaves = [d if n_seen == self.n_total else d[:n_seen].clone() for d in self.dest]
        return tree_fill(self.skeleton, iter(leaves))


def collect(
    model: nn.Module,
    data: Any,
    layers: LayerSpec | Iterable[LayerSpec],
    *,
    batch_size: Optional[int] = None,
    reduce: Reduce = None,
    to: ToSpec = None,
) -> dict[str, Any]:
    """Run ``data`` through ``model`` and return every requested layer's outputs, concatenated.

    Runs under ``torch.no_grad()`` with every module in eval mode (each module's own
    train/eval flag is put back afterwards). Each batch's activation is copied, inside
    the hook, straight into one preallocated ``[N, ...]`` result, so no graph and no
    per-batch copy is kept and in-place layers cannot corrupt it.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model; inputs are moved to the device of its first parameter.
    data : Tensor, Dataset, DataLoader or iterable of batches
        Samples along dimension 0. For a Dataset/DataLoader yielding ``(x, y)``, ``x``
        is used.
    layers : str, type, nn.Module or list of those
        As in :func:`record`; each layer must run exactly once per forward pass.
    batch_size : int, optional
        Samples per forward pass for a tensor or Dataset (default 256); a DataLoader
        keeps its own.
    reduce : callable, optional
        Applied to each batch's activation inside the hook (``lambda t: t.mean((2, 3))``).
    to : device, dtype or (device, dtype), optional
        Where the result lives (for example ``"cpu"`` for a model on a GPU).

    Returns
    -------
    dict of str to Tensor
        Layer name → tensor of shape ``[N, ...]`` (or the layer's tuple/dict structure
        with each tensor concatenated).

    Raises
    ------
    ValueError
        An unknown layer (with the closest names), a bad ``batch_size``, data that yields no
        samples or more than it announced, a layer that runs twice in one pass, or outputs that
        do not stack along the batch.
    TypeError
        ``data`` is not tensors, a dataset or batches of them, or ``reduce`` is not callable or
        does not return a tensor.
    LayersNotRunError
        A requested layer never ran.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> acts = collect(model, torch.randn(10, 2), ["0"], batch_size=4)
    >>> acts["0"].shape
    torch.Size([10, 3])
    """
    if reduce is not None and not callable(reduce):
        raise TypeError(f"`reduce` must be a callable or None. Got {type(reduce).__name__} instead.")
    modules = hookable_layers(model, layers, where="collect")[0]
    device, dtype = resolve_to(to)
    batches, n_total = _batches(data, batch_size)
    sinks = {name: _Sink(name, n_total, device, dtype) for name in modules}
    flags = [(m, m.training) for m in model.modules()]
    handles: list = []
    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(sinks[name].hook(reduce)))
        for m, _ in flags:
            m.training = False
        n_seen = _run(model, batches, sinks)
    finally:
        release(handles, flags)
    if n_seen == 0:
        raise ValueError("collect(): `data` yielded no samples.")
    return {name: sink.result(n_seen) for name, sink in sinks.items()}


def _run(model: nn.Module, batches: Iterator[torch.Tensor], sinks: dict[str, _Sink]) -> int:
    """Every batch through ``model`` without gradients, each on the model's device; samples seen."""
    device = model_device(model, default=None)
    n_seen = 0
    with torch.no_grad():
        for x in batches:
            if device is not None and x.device != device:
                x = x.to(device)
            for sink in sinks.values():
                sink.calls, sink.batch = 0, len(x)
            model(x)
            missing = [s.name for s in sinks.values() if s.calls == 0]
            if missing:
                raise LayersNotRunError(not_run_message(missing, "collect"))
            for sink in sinks.values():
                sink.offset += len(x)
            n_seen += len(x)
    return n_seen
