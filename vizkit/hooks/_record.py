"""``record``: capture what layers compute, safely, and leave the model as it was."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterable, Iterator, Optional, Union

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ._resolve import LayerSpec, resolve_layers
from ._tree import LEAF, _map, tree_fill, tree_leaves, tree_map

__all__ = [
    "CaptureBuffers",
    "Calls",
    "LayersNotRunError",
    "MultipleCallsError",
    "Recording",
    "record",
]

ToSpec = Union[None, str, torch.device, torch.dtype, tuple]
Reduce = Optional[Callable[[torch.Tensor], torch.Tensor]]


class LayersNotRunError(RuntimeError):
    """Some requested layers never ran inside a ``record``/``patch`` block."""


class MultipleCallsError(AttributeError, ValueError):
    """Asked for "the" value of a layer that ran several times."""


# --------------------------------------------------------------------------- helpers


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


def _use_count(t: torch.Tensor) -> Optional[int]:
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
            count = _use_count(cand)
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
            baseline = _use_count(buf)
            if baseline is not None:  # without use counts a buffer is never known to be free
                slots.append((buf, baseline))
                self._cursor[key] = 0
        buf.copy_(t)
        return buf.detach()  # an alias: while it lives, the buffer counts as in use


def _storage_key(t: torch.Tensor) -> Optional[int]:
    """Identity of the storage behind ``t`` (None for tensors without one)."""
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, TypeError, AttributeError):
        return None


# Names ending in "_" write their first argument, except these (they touch no data).
_NOT_WRITES = frozenset({"requires_grad_", "share_memory_", "detach_", "retain_grad_"})
_INPLACE_DUNDERS = frozenset(
    {
        "__setitem__", "__iadd__", "__isub__", "__imul__", "__imatmul__", "__itruediv__",
        "__ifloordiv__", "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__",
        "__ilshift__", "__irshift__",
    }
)


def _writes_first_arg(func: Any, cache: dict = {}) -> bool:  # noqa: B006 - a deliberate memo
    try:
        return cache[func]
    except (KeyError, TypeError):
        pass
    name = getattr(func, "__name__", "") or ""
    writes = (name.endswith("_") and not name.endswith("__") and name not in _NOT_WRITES) or (
        name in _INPLACE_DUNDERS
    )
    try:
        cache[func] = writes
    except TypeError:
        pass
    return writes


class _Ref:
    """A captured tensor that is still shared with the model (copied on write)."""

    __slots__ = ("t",)

    def __init__(self, t: torch.Tensor):
        self.t = t


def _unref(obj: Any) -> Any:
    if isinstance(obj, _Ref):
        return obj.t
    if obj is None or isinstance(obj, torch.Tensor):
        return obj
    return _tree_map_refs(obj)


def _tree_map_refs(obj: Any) -> Any:
    return _map(lambda r: r.t, obj, lambda x: isinstance(x, _Ref))


class _CopyOnWrite(TorchFunctionMode):
    """Active only inside a ``record`` block: copies a captured tensor just before an
    in-place operation (``relu_``, ``+=``, ``x[i] = ...``, ``inplace=True``, ``out=``)
    writes the memory it shares; on exit, copies whatever is still shared with live
    tensors, since later writes can no longer be seen."""

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[int, list[_Ref]] = {}

    def protect(self, t: torch.Tensor) -> Any:
        key = _storage_key(t)
        if key is None:
            return fresh_copy(t, None, None)
        ref = _Ref(t)
        self.shared.setdefault(key, []).append(ref)
        return ref

    def _copy_out(self, target: Any) -> None:
        if isinstance(target, torch.Tensor):
            refs = self.shared.pop(_storage_key(target), None)  # type: ignore[arg-type]
            if refs:
                for ref in refs:
                    ref.t = fresh_copy(ref.t, None, None)
        elif isinstance(target, (list, tuple)):
            for item in target:
                self._copy_out(item)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        if self.shared:
            if kwargs.get("out") is not None:
                self._copy_out(kwargs["out"])
            if args and (kwargs.get("inplace") is True or _writes_first_arg(func)):
                self._copy_out(args[0])
        return func(*args, **kwargs)

    def finish(self) -> None:
        """Copy every capture whose memory something outside the recording still holds."""
        for refs in self.shared.values():
            count = _use_count(refs[0].t)
            # each ref is its own alias; +1 for the temporary storage object of the count
            if count is None or count > len(refs) + 1:
                for ref in refs:
                    ref.t = fresh_copy(ref.t, None, None)
        self.shared.clear()


# The hooks' own tensor calls (detach, storage lookups, copies into buffers) need no torch
# function handling: skipping it keeps the copy-on-write mode from intercepting them, which
# halves what a hook costs on small models.
_torch_function_off = torch._C.DisableTorchFunction


def _contains_script_module(model: nn.Module) -> bool:
    script = torch.jit.ScriptModule
    stack = [model]
    while stack:
        module = stack.pop()
        if isinstance(module, script):
            return True
        stack.extend(m for m in module._modules.values() if m is not None)
    return False


class _Capture:
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
        guard: Optional[_CopyOnWrite] = None,
    ):
        self.reduce = reduce
        self.device, self.dtype = resolve_to(to)
        self.buffers = buffers
        self.guard = guard
        self._by_reference = (guard is not None and reduce is None and buffers is None
                              and self.device is None and self.dtype is None)
        # storage -> (version, source, copy) of captures copied in this block, so that a later
        # capture that views the same memory, unchanged since, becomes a view of that copy
        self._copied: dict[int, tuple[int, torch.Tensor, torch.Tensor]] = {}

    def _copy_or_alias(self, d: torch.Tensor, dtype: Optional[torch.dtype]) -> torch.Tensor:
        """Copy ``d`` into the buffers, unless it views the memory of an earlier capture of
        this block that no in-place operation has touched since (same version counter): then
        the same view of that copy (Flatten, Dropout in eval, reshapes cost no second copy)."""
        version = _version(d) if _is_plain(d) else None
        key = _storage_key(d) if version is not None else None
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
        if self._by_reference:  # the default: keep a detached alias, copied only on a write
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


# --------------------------------------------------------------------------- results


class _Call:
    __slots__ = ("input", "output", "skeleton", "grad_leaves")

    def __init__(self) -> None:
        self.input: Any = None
        self.output: Any = None
        self.skeleton: Any = None
        self.grad_leaves: Optional[list] = None

    def grad(self) -> Any:
        if self.grad_leaves is None:
            return None
        return tree_fill(self.skeleton, iter(self.grad_leaves))


class Calls(Sequence):
    """Every value a layer produced in a ``record`` block, in call order.

    Returned by ``rec[name]`` when the layer ran more than once: index it
    (``rec["act"][1]``) or iterate. Using it as if it were one tensor raises
    :class:`MultipleCallsError` instead of silently picking a call.
    """

    def __init__(self, name: str, kind: str, values: list):
        self._name, self._kind, self._values = name, kind, list(values)

    def __getitem__(self, i):  # type: ignore[override]
        return self._values[i]

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, attr: str):
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise MultipleCallsError(
            f"Layer {self._name!r} ran {len(self._values)} times, so its {self._kind} have no single "
            f"value (asked for .{attr}). Pick a call with rec[{self._name!r}][i] or "
            f"rec[{self._name!r}, i], or iterate over rec.calls({self._name!r})."
        )

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__getattr__("numpy")

    def __repr__(self) -> str:
        return f"Calls({self._name!r}, {self._kind}, {len(self._values)} calls)"


class _KindView(Mapping):
    """Layer name → value for one kind (outputs, inputs or grads)."""

    def __init__(self, rec: "Recording", kind: str):
        self._rec, self._kind = rec, kind

    def _values(self, name: str) -> list:
        if not self._rec._kinds[self._kind]:
            raise ValueError(
                f"{self._kind} were not recorded: pass {self._kind}=True to vizkit.hooks.record."
            )
        calls = self._rec._lookup(name)
        if self._kind == "outputs":
            return [_unref(c.output) for c in calls]
        if self._kind == "inputs":
            return [_unref(c.input) for c in calls]
        return [c.grad() for c in calls]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], int):
            name, i = key
            values = self._values(name)
            try:
                return values[i]
            except IndexError:
                raise IndexError(
                    f"Layer {name!r} ran {len(values)} time(s); call index {i} is out of range."
                ) from None
        values = self._values(key)
        if not values:
            raise KeyError(
                f"Layer {key!r} has not run inside this record block (yet): call the model first."
            )
        if len(values) == 1:
            return values[0]
        return Calls(key, self._kind, values)

    # Keys are the requested layers that ran (at least once); see Recording.counts for all.
    def __iter__(self) -> Iterator[str]:
        return (name for name, calls in self._rec._calls.items() if calls)

    def __len__(self) -> int:
        return sum(1 for calls in self._rec._calls.values() if calls)

    def __contains__(self, key: object) -> bool:
        return bool(self._rec._calls.get(key))  # type: ignore[call-overload]

    def __repr__(self) -> str:
        return f"<{self._kind} of {self._rec!r}>"


class Recording(_KindView):
    """What a :func:`record` block captured: layer name → output.

    ``rec[name]`` is the output of a layer that ran once (a tensor, or the tuple, dict
    or namedtuple the layer returned, with tensors detached and safe from in-place
    writes). For a layer that ran several times it is a :class:`Calls` sequence
    (``rec[name][i]``), and ``rec[name, i]`` always picks call ``i``. ``rec.inputs``
    and ``rec.grads`` are the same kind of mapping for inputs and gradients (when
    recorded). Iterating gives the layers that ran; ``rec.counts`` has every
    requested layer with its number of calls.
    """

    def __init__(self, names: Iterable[str], *, inputs: bool, outputs: bool, grads: bool):
        self._calls: dict[str, list[_Call]] = {n: [] for n in names}
        self._kinds = {"inputs": inputs, "outputs": outputs, "grads": grads}
        self._kind = "outputs"

    @property
    def _rec(self) -> "Recording":  # a property, not an attribute: no reference cycle
        return self

    def _lookup(self, name: Any) -> list[_Call]:
        try:
            return self._calls[name]
        except (KeyError, TypeError):
            close = difflib.get_close_matches(str(name), list(self._calls), n=3, cutoff=0.5)
            hint = f" Closest: {', '.join(map(repr, close))}." if close else ""
            raise KeyError(
                f"{name!r} is not one of the recorded layers.{hint} Recorded: "
                f"{', '.join(map(repr, self._calls))}."
            ) from None

    def _view(self, kind: str) -> _KindView:
        return _KindView(self, kind)

    @property
    def outputs(self) -> _KindView:
        """Layer name → output (the same as the recording itself)."""
        return self._view("outputs")

    @property
    def inputs(self) -> _KindView:
        """Layer name → input: the tensor for one positional argument, else the ``args``
        tuple, or ``(args, kwargs)`` when keyword arguments were passed."""
        return self._view("inputs")

    @property
    def grads(self) -> _KindView:
        """Layer name → gradient of the loss w.r.t. the layer's output (same structure as
        the output; ``None`` where no gradient arrived)."""
        return self._view("grads")

    def calls(self, name: str, kind: str = "outputs") -> list:
        """Every value ``name`` produced, in call order (``kind``: 'outputs', 'inputs', 'grads')."""
        if kind not in self._kinds:
            raise ValueError(f"`kind` must be one of 'outputs', 'inputs', 'grads'. Got {kind!r} instead.")
        return self._view(kind)._values(name)

    def n_calls(self, name: str) -> int:
        """How many times ``name`` ran inside the block."""
        return len(self._lookup(name))

    @property
    def counts(self) -> dict[str, int]:
        """Layer name → number of calls."""
        return {n: len(c) for n, c in self._calls.items()}

    def __repr__(self) -> str:
        kinds = "+".join(k for k, v in self._kinds.items() if v)
        calls = ", ".join(f"{n!r}: {len(c)}" for n, c in self._calls.items())
        return f"Recording({kinds}; calls {{{calls}}})"


# --------------------------------------------------------------------------- record


def remove_handles(handles: list) -> None:
    """Remove every handle, even if one removal fails; re-raise the first failure."""
    first: Optional[BaseException] = None
    while handles:
        handle = handles.pop()
        try:
            handle.remove()
        except BaseException as exc:  # noqa: BLE001 - keep removing the others
            first = first or exc
    if first is not None:
        raise first


def release(handles: list, flags: list) -> None:
    """Remove ``handles``, then put back every ``(module, was_training)`` flag, whatever fails."""
    try:
        remove_handles(handles)
    finally:
        for m, was_training in flags:
            m.training = was_training


def not_run_message(names: list[str], where: str) -> str:
    shown = ", ".join(repr(n) for n in names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"{len(names)} requested layer(s) never ran inside the {where} block: {shown}. Their hooks "
        "did not fire: the model may not have been called inside the block, the layer may sit on a "
        "branch this input did not take or be used only through its parameters (like "
        "MultiheadAttention.out_proj), or the model is compiled (torch.compile'd models skip module "
        "hooks; record the original module). Pass strict=False to allow this."
    )


class record:
    """Record the outputs (and optionally inputs and gradients) of layers.

    A context manager: forward passes inside the ``with`` block fill the
    :class:`Recording` it returns. Captured tensors are detached and safe from later
    in-place operations (``ReLU(inplace=True)``, ``x += y``, ``x[i] = v``, ``out=``):

    - by default (copy-on-write) a capture is kept by reference, and a
      ``TorchFunctionMode`` active only inside the block copies it just before an
      in-place operation writes its memory; on exit, captures whose memory something
      else still holds (the model's output, its input, tensors saved for backward) are
      copied too. Models containing TorchScript modules, whose writes cannot be seen,
      are copied at once instead;
    - with ``buffers``, every capture is copied at once into memory reused from one
      block to the next, the fastest choice for repeated forward passes of large
      activations (see :class:`CaptureBuffers`).

    Hooks (and the mode) are removed on exit, also after an exception or
    KeyboardInterrupt; hooks that were there before stay untouched; no ``forward`` or
    torch function is patched; train/eval flags and buffers are not touched.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model.
    layers : str, type, nn.Module or list of those
        Dotted names (``"layer1.0.conv2"``), globs (``"layer?.*.conv2"``; ``*`` also
        crosses dots), module types (``nn.Conv2d``) or submodules. Resolved once against
        ``model.named_modules()``; see :func:`layer_names`.
    inputs : bool, default=False
        Also record each layer's input (copied before the layer runs, so a layer that
        writes its input in place still gives the input it saw).
    outputs : bool, default=True
        Record each layer's output.
    grads : bool, default=False
        Record the gradient of whatever you call ``backward`` on (inside the block) with
        respect to each layer's output, through a hook on the output tensor. Needs
        gradients enabled: an error under ``torch.no_grad()``.
    to : device, dtype or (device, dtype), optional
        Where captures go, e.g. ``"cpu"`` or ``torch.float16`` (a dtype only applies to
        floating-point tensors). Default: where they were computed, same dtype.
    reduce : callable, optional
        Applied inside the hook to every captured tensor, e.g.
        ``lambda t: t.mean((2, 3))`` keeps per-channel means only.
    buffers : CaptureBuffers, optional
        Copy every capture at once into memory reused across blocks (steady-state
        speed). Default: copy-on-write, in new memory.
    strict : bool, default=True
        On a normal exit, raise :class:`LayersNotRunError` if a requested layer never
        ran (and, with ``grads=True``, if no gradient reached any recorded layer).

    Returns
    -------
    Recording
        Mapping layer name → output; ``rec[name, i]`` or ``rec[name][i]`` for call
        ``i`` of a layer that ran several times; ``rec.inputs``, ``rec.grads``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(inplace=True))
    >>> with torch.no_grad(), record(model.eval(), ["1"]) as rec:
    ...     _ = model(torch.randn(4, 2))
    >>> rec["1"].shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        model: nn.Module,
        layers: LayerSpec | Iterable[LayerSpec],
        *,
        inputs: bool = False,
        outputs: bool = True,
        grads: bool = False,
        to: ToSpec = None,
        reduce: Reduce = None,
        buffers: Optional[CaptureBuffers] = None,
        strict: bool = True,
    ) -> None:
        if not (inputs or outputs or grads):
            raise ValueError("Nothing to record: inputs, outputs and grads are all False.")
        if reduce is not None and not callable(reduce):
            raise TypeError(f"`reduce` must be a callable or None. Got {type(reduce).__name__} instead.")
        if buffers is not None and not isinstance(buffers, CaptureBuffers):
            raise TypeError(f"`buffers` must be a CaptureBuffers or None. Got {type(buffers).__name__} instead.")
        self.model = model
        self.modules = resolve_layers(model, layers)
        # TorchScript runs in C++, where in-place writes cannot be seen: copy at once there.
        scripted = _contains_script_module(model)
        self._guard = _CopyOnWrite() if buffers is None and not scripted else None
        self._capture = _Capture(reduce, to, buffers, self._guard)
        self._grad_capture = _Capture(reduce, to, buffers)  # gradients: always copied
        self._flags = (inputs, outputs, grads)
        self.strict = strict
        self._handles: list = []
        self._tensor_handles: list = []
        self._rec: Optional[Recording] = None
        self._n_grad_hooks = 0
        self._n_grads = 0

    # hooks ------------------------------------------------------------------

    def _install(self, name: str, module: nn.Module) -> None:
        inputs, outputs, grads = self._flags
        calls = self._rec._calls[name]  # type: ignore[union-attr]
        capture = self._capture
        grad_capture = self._grad_capture
        pending: list[_Call] = []
        tensor_handles = self._tensor_handles

        def pre_hook(mod: nn.Module, args: tuple, kwargs: dict) -> None:
            call = _Call()
            with _torch_function_off():
                captured = tree_map(capture, args)
                if kwargs:
                    call.input = (captured, tree_map(capture, kwargs))
                else:
                    call.input = captured[0] if len(captured) == 1 else captured
            pending.append(call)
            calls.append(call)

        def grad_hook(call: _Call, i: int, grad: torch.Tensor) -> None:
            with _torch_function_off():
                call.grad_leaves[i] = grad_capture(grad)  # type: ignore[index]
            self._n_grads += 1

        def fwd_hook(mod: nn.Module, args: tuple, output: Any) -> None:
            with _torch_function_off():
                if pending:
                    call = pending.pop()
                else:
                    call = _Call()
                    calls.append(call)
                if outputs:
                    call.output = capture(output) if type(output) is torch.Tensor else tree_map(capture, output)
                if grads:
                    if not torch.is_grad_enabled():
                        raise ValueError(
                            f"record(..., grads=True): layer {name!r} ran with gradients disabled "
                            "(torch.no_grad() or torch.inference_mode()). Run the forward pass with "
                            "gradients enabled."
                        )
                    leaves = tree_leaves(output)
                    call.skeleton = tree_map(lambda _: LEAF, output)
                    call.grad_leaves = [None] * len(leaves)
                    for i, t in enumerate(leaves):
                        if t.requires_grad:
                            self._n_grad_hooks += 1
                            tensor_handles.append(t.register_hook(lambda g, c=call, j=i: grad_hook(c, j, g)))

        def output_hook(mod: nn.Module, args: tuple, output: Any) -> None:
            # the common case (outputs only), kept lean: it runs for every recorded call
            call = _Call()
            with _torch_function_off():
                call.output = capture(output) if type(output) is torch.Tensor else tree_map(capture, output)
            calls.append(call)

        if inputs:
            self._handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
        if outputs and not (inputs or grads):
            self._handles.append(module.register_forward_hook(output_hook))
        elif outputs or grads or not inputs:
            self._handles.append(module.register_forward_hook(fwd_hook))

    # context ----------------------------------------------------------------

    def __enter__(self) -> Recording:
        if self._rec is not None:
            raise RuntimeError("A record(...) object can be entered only once; call record(...) again.")
        if self._flags[2] and not torch.is_grad_enabled():
            raise ValueError(
                "record(..., grads=True) inside torch.no_grad() or torch.inference_mode(): "
                "gradients cannot reach the layers. Enable gradients for the block."
            )
        inputs, outputs, grads = self._flags
        self._rec = Recording(self.modules, inputs=inputs, outputs=outputs, grads=grads)
        try:
            for name, module in self.modules.items():
                self._install(name, module)
            if self._guard is not None:
                self._guard.__enter__()
        except BaseException:
            remove_handles(self._handles)
            raise
        return self._rec

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if self._guard is not None:
                try:
                    self._guard.__exit__(None, None, None)
                finally:
                    self._guard.finish()
        finally:
            try:
                remove_handles(self._handles)
            finally:
                remove_handles(self._tensor_handles)
                self._capture.end_block()
                self._grad_capture.end_block()
        if exc_type is None and self.strict and self._rec is not None:
            missing = [n for n, c in self._rec._calls.items() if not c]
            if missing:
                raise LayersNotRunError(not_run_message(missing, "record"))
            if self._n_grad_hooks and not self._n_grads:
                raise LayersNotRunError(
                    "record(..., grads=True): no gradient reached any recorded layer. Call "
                    ".backward() (or torch.autograd.grad) inside the `with` block, on something "
                    "that depends on the recorded layers. Pass strict=False to allow this."
                )
        return False
