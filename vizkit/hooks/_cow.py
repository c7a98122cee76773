"""The copy-on-write mode: captures kept by reference, copied just before an in-place write."""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from ._storage import fresh_copy, storage_key, use_count
from ._tree import _map

__all__ = ["CopyOnWrite", "torch_function_off", "unref"]

# Names ending in "_" write their first argument, except these (they touch no data).
_NOT_WRITES = frozenset({"requires_grad_", "share_memory_", "detach_", "retain_grad_"})
_INPLACE_DUNDERS = frozenset(
    {
        "__setitem__", "__iadd__", "__isub__", "__imul__", "__imatmul__", "__itruediv__",
        "__ifloordiv__", "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__",
        "__ilshift__", "__irshift__",
    }
)


_WRITES: dict = {}  # func -> whether it writes its first argument (a memo)


def _writes_first_arg(func: Any) -> bool:
    name = getattr(func, "__name__", "") or ""
    writes = (name.endswith("_") and not name.endswith("__") and name not in _NOT_WRITES) or (
        name in _INPLACE_DUNDERS
    )
    try:
        _WRITES[func] = writes
    except TypeError:  # an unhashable callable: asked again next time
        pass
    return writes


class _Ref:
    """A captured tensor that is still shared with the model (copied on write)."""

    __slots__ = ("t",)

    def __init__(self, t: torch.Tensor):
        self.t = t


def unref(obj: Any) -> Any:
    if isinstance(obj, _Ref):
        return obj.t
    if obj is None or isinstance(obj, torch.Tensor):
        return obj
    return _tree_map_refs(obj)


def _tree_map_refs(obj: Any) -> Any:
    return _map(lambda r: r.t, obj, lambda x: isinstance(x, _Ref))


class CopyOnWrite(TorchFunctionMode):
    """Active only inside a ``record`` block: copies a captured tensor just before an
    in-place operation (``relu_``, ``+=``, ``x[i] = ...``, ``inplace=True``, ``out=``)
    writes the memory it shares; on exit, copies whatever is still shared with live
    tensors, since later writes can no longer be seen."""

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[int, list[_Ref]] = {}

    def protect(self, t: torch.Tensor) -> Any:
        key = storage_key(t)
        if key is None:
            return fresh_copy(t, None, None)
        ref = _Ref(t)
        self.shared.setdefault(key, []).append(ref)
        return ref

    def _copy_out(self, target: Any) -> None:
        if isinstance(target, torch.Tensor):
            refs = self.shared.pop(storage_key(target), None)  # type: ignore[arg-type]
            if refs:
                for ref in refs:
                    ref.t = fresh_copy(ref.t, None, None)
        elif isinstance(target, (list, tuple)):
            for item in target:
                self._copy_out(item)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        # runs for every torch call inside the block: kept to a few dict lookups
        if self.shared:
            try:
                writes = _WRITES[func]
            except (KeyError, TypeError):  # not seen yet, or unhashable (never memoized)
                writes = _writes_first_arg(func)
            if kwargs:
                if kwargs.get("out") is not None:
                    self._copy_out(kwargs["out"])
                writes = writes or kwargs.get("inplace") is True
            if writes and args:
                self._copy_out(args[0])
        return func(*args, **kwargs) if kwargs else func(*args)

    def finish(self) -> None:
        """Copy every capture whose memory something outside the recording still holds."""
        for refs in self.shared.values():
            count = use_count(refs[0].t)
            # each ref is its own alias; +1 for the temporary storage object of the count
            if count is None or count > len(refs) + 1:
                for ref in refs:
                    ref.t = fresh_copy(ref.t, None, None)
        self.shared.clear()


# The hooks' own tensor calls (detach, storage lookups, copies into buffers) need no torch
# function handling: skipping it keeps the copy-on-write mode from intercepting them, which
# halves what a hook costs on small models.
torch_function_off = torch._C.DisableTorchFunction
