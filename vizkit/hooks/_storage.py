"""Storage of captured tensors: where they go, copies, reusable buffers, and ``Capture``,
which turns what a hook sees into what a recording keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import torch

if TYPE_CHECKING:  # the mode imports this module
    from ._cow import CopyOnWrite

__all__ = ["CaptureBuffers", "Capture", "Reduce", "ToSpec", "fresh_copy", "resolve_to", "shares_memory",
           "storage_key", "use_count"]

ToSpec = Union[None, str, torch.device, torch.dtype, tuple]
Reduce = Optional[Callable[[torch.Tensor], torch.Tensor]]


def resolve_to(to: ToSpec) -> tuple[Optional[torch.device], Optional[torch.dtype]]:
    """``to`` → ``(device or None, dtype or None)``."""
    if to is None:
        return None, None
    if isinstance(to, torch.dtype):
        return None, to
    if isinstance(to, (str, torch.device)):
        try:
            return torch.device(to), None
        except RuntimeError:
            raise ValueError(f"`to` must name a device such as 'cpu' or 'cuda:0'. Got {to!r} instead.") from None
    if isinstance(to, tuple) and len(to) == 2:
        device, dtype = to
        dev = resolve_to(device)[0] if device is not None else None
        if dtype is not None and not isinstance(dtype, torch.dtype):
            raise TypeError(f"The dtype in `to` must be a torch.dtype. Got {dtype!r} instead.")
        return dev, dtype
    raise TypeError(
        "`to` must be None, a device ('cpu', torch.device), a torch.dtype, or a (device, dtype) "
        f"pair. Got {to!r} instead."
    )


def _storage_ptr(t: torch.Tensor) -> Optional[int]:
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    pa = _storage_ptr(a)
    return pa is None or pa == _storage_ptr(b)


_use_count_fn = getattr(torch._C, "_storage_Use_Count", None)


def use_count(t: torch.Tensor) -> Optional[int]:
    """How many tensors hold ``t``'s storage (None when torch cannot tell)."""
    if _use_count_fn is None:
        return None
    try:
        return int(_use_count_fn(t.untyped_storage()._cdata))
    except (RuntimeError, AttributeError, TypeError):
        return None


def _is_plain(t: torch.Tensor) -> bool:
    return t.layout == torch.strided and not t.is_nested and not t.is_quantized


def _version(t: torch.Tensor) -> Optional[int]:
    """``t``'s in-place version counter (None for inference tensors, which have none)."""
    try:
        return t._version
    except RuntimeError:
        return None


def _span(t: torch.Tensor) -> int:
    """Number of storage elements from ``t``'s first element to its last (inclusive)."""
    if t.numel() == 0:
        return 0
    return 1 + sum((n - 1) * st for n, st in zip(t.shape, t.stride()) if n > 1)


def _channels_last(t: torch.Tensor) -> bool:
    return t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)


def fresh_copy(t: torch.Tensor, device: Optional[torch.device], dtype: Optional[torch.dtype]) -> torch.Tensor:
    """A copy of ``t`` in new memory, on ``device`` with ``dtype`` (None = keep)."""
    device = t.device if device is None else device
    dtype = t.dtype if dtype is None else dtype
    if not _is_plain(t):
        return t.clone().to(device=device, dtype=dtype)
    if torch.is_inference_mode_enabled():
        with torch.inference_mode(False):
            out = torch.empty_like(t, device=device, dtype=dtype)
    else:
        out = torch.empty_like(t, device=device, dtype=dtype)
    out.copy_(t)
    return out


class CaptureBuffers:
    """Memory that :func:`record` reuses from one forward pass to the next.

    Copying captures into fresh memory makes the operating system hand out and zero
    new pages on every forward pass, which costs more than the copy itself. Passing the
    same ``CaptureBuffers`` to successive ``record`` blocks lets them copy into memory
    that is already mapped. A buffer is only reused once nothing refers to the tensors
    of the earlier recording any more (the ``Recording``, the tensors taken from it,
    their views and NumPy arrays), so results that are kept are never overwritten.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.hooks import record
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True)).eval()
    >>> buffers = CaptureBuffers()
    >>> for _ in range(3):
    ...     with torch.no_grad(), record(model, ["0"], buffers=buffers) as rec:
    ...         _ = model(torch.randn(2, 4))
    ...     del rec
    >>> buffers.nbytes  # one buffer of 2 x 8 floats, reused
    64
    """

    def __init__(self) -> None:
        self._slots: dict[tuple, list[tuple[torch.Tensor, int]]] = {}
        self._cursor: dict[tuple, int] = {}  # where the next search starts, per key

    @property
    def nbytes(self) -> int:
        """Bytes held, whether in use or free."""
        return sum(b.numel() * b.element_size() for slots in self._slots.values() for b, _ in slots)

    def clear(self) -> None:
        """Drop every buffer (tensors already handed out stay valid)."""
        self._slots.clear()
        self._cursor.clear()

    def __repr__(self) -> str:
        n = sum(len(s) for s in self._slots.values())
        return f"CaptureBuffers({n} buffers, {self.nbytes / 2**20:.1f} MiB)"

    def copy(
        self, t: torch.Tensor, device: Optional[torch.device] = None, dtype: Optional[torch.dtype] = None
    ) -> torch.Tensor:
        """Copy ``t`` into a free buffer of its shape (a new one if none is free)."""
        if not _is_plain(t):
            return fresh_copy(t, device, dtype)
        device = t.device if device is None else device
        dtype = t.dtype if dtype is None else dtype
        cl = _channels_last(t)
        key = (t.shape, dtype, device, cl)
        slots = self._slots.setdefault(key, [])
        buf = None
        # Forward passes repeat the same order, so start where the last search ended.
        n = len(slots)
        start = self._cursor.get(key, 0)
        for k in range(n):
            i = (start + k) % n
            cand, baseline = slots[i]
            count = use_count(cand)
            if count is not None and count <= baseline:
                buf = cand
                self._cursor[key] = (i + 1) % n
                break
        if buf is None:
            fmt = torch.channels_last if cl else torch.contiguous_format
            if torch.is_inference_mode_enabled():
                with torch.inference_mode(False):
                    buf = torch.empty(t.shape, dtype=dtype, device=device, memory_format=fmt)
            else:
                buf = torch.empty(t.shape, dtype=dtype, device=device, memory_format=fmt)
            baseline = use_count(buf)
            if baseline is not None:  # without use counts a buffer is never known to be free
                slots.append((buf, baseline))
                self._cursor[key] = 0
        buf.copy_(t)
        return buf.detach()  # an alias: while it lives, the buffer counts as in use


def storage_key(t: torch.Tensor) -> Optional[int]:
    """Identity of the storage behind ``t`` (None for tensors without one)."""
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):
        return None


class Capture:
    """Detach → reduce → device/dtype → keep safe from in-place writes.

    With ``buffers``: copied at once into reusable memory. Without: kept by reference
    and copied only if an in-place write reaches it (``guard``), or at exit if
    something else still holds it.
    """

    def __init__(
        self,
        reduce: Reduce,
        to: ToSpec,
        buffers: Optional[CaptureBuffers],
        guard: Optional[CopyOnWrite] = None,
    ):
        self.reduce = reduce
        self.device, self.dtype = resolve_to(to)
        self.buffers = buffers
        self.guard = guard
        # kept as a detached alias, copied only on a write (the default)
        self.by_reference = (guard is not None and reduce is None and buffers is None
                             and self.device is None and self.dtype is None)
        # storage -> (version, source, copy) of captures copied in this block, so that a later
        # capture that views the same memory, unchanged since, becomes a view of that copy
        self._copied: dict[int, tuple[int, torch.Tensor, torch.Tensor]] = {}

    def _copy_or_alias(self, d: torch.Tensor, dtype: Optional[torch.dtype]) -> torch.Tensor:
        """Copy ``d`` into the buffers, unless it views the memory of an earlier capture of
        this block that no in-place operation has touched since (same version counter): then
        the same view of that copy (Flatten, Dropout in eval, reshapes cost no second copy)."""
        version = _version(d) if _is_plain(d) else None
        key = storage_key(d) if version is not None else None
        hit = self._copied.get(key) if key is not None else None
        if hit is not None:
            old_version, src, buf = hit
            offset = d.storage_offset() - src.storage_offset()
            if (version == old_version and buf.dtype == (dtype or d.dtype) and 0 <= offset
                    and offset + _span(d) <= src.numel()):
                return buf.as_strided(d.shape, d.stride(), buf.storage_offset() + offset)
        out = self.buffers.copy(d, self.device, dtype)  # type: ignore[union-attr]
        # only dense sources map element for element onto their copy (same strides)
        if key is not None and out.stride() == d.stride() and (d.is_contiguous() or _channels_last(d)):
            self._copied[key] = (version, d, out)
        return out

    def end_block(self) -> None:
        """Forget this block's copies (they pin the model's memory and keep buffers in use)."""
        self._copied.clear()

    def __call__(self, t: torch.Tensor) -> Any:
        if self.by_reference:  # the default: keep a detached alias, copied only on a write
            return self.guard.protect(t.detach())  # type: ignore[union-attr]
        d = t.detach()  # copies of a detached tensor record no graph: no need for no_grad()
        owned = False
        if self.reduce is not None:
            with torch.no_grad():
                r = self.reduce(d)
            if not isinstance(r, torch.Tensor):
                raise TypeError(f"`reduce` must return a tensor. Got {type(r).__name__} instead.")
            r = r.detach()
            owned = not shares_memory(r, d)
            d = r
        dtype = self.dtype if (self.dtype is not None and d.is_floating_point()) else None
        if self.buffers is not None:
            if owned:
                return self.buffers.copy(d, self.device, dtype)
            return self._copy_or_alias(d, dtype)
        if (self.device is not None and self.device != d.device) or (dtype is not None and dtype != d.dtype):
            return d.to(device=self.device or d.device, dtype=dtype or d.dtype)  # new memory
        if owned:
            return d
        if self.guard is not None:
            return self.guard.protect(d)
        return fresh_copy(d, None, None)
