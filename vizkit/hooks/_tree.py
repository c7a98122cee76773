"""Walk nested module outputs (tensors inside tuples, lists, dicts, namedtuples)."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterator

import torch

__all__ = ["tree_map", "tree_leaves", "tree_fill", "LEAF"]


class _Leaf:
    """Placeholder for a tensor in a structure skeleton."""

    def __repr__(self) -> str:
        return "<leaf>"


LEAF = _Leaf()


def _is_namedtuple(obj: Any) -> bool:
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


def _map(fn: Callable[[Any], Any], obj: Any, is_leaf: Callable[[Any], bool]) -> Any:
    if is_leaf(obj):
        return fn(obj)
    if _is_namedtuple(obj):
        return type(obj)(*(_map(fn, v, is_leaf) for v in obj))
    if isinstance(obj, (list, tuple)):
        values = [_map(fn, v, is_leaf) for v in obj]
        if type(obj) in (list, tuple):
            return type(obj)(values)
        try:
            return type(obj)(values)
        except TypeError:
            return tuple(values) if isinstance(obj, tuple) else values
    if isinstance(obj, dict):
        new = copy.copy(obj)
        for key, value in obj.items():
            new[key] = _map(fn, value, is_leaf)
        return new
    return obj


def _is_tensor(obj: Any) -> bool:
    return isinstance(obj, torch.Tensor)


def tree_map(fn: Callable[[torch.Tensor], Any], obj: Any) -> Any:
    """Apply ``fn`` to every tensor in ``obj``, keeping the container structure."""
    return _map(fn, obj, _is_tensor)


def tree_leaves(obj: Any) -> list[torch.Tensor]:
    """Every tensor in ``obj``, in the order :func:`tree_map` visits them."""
    out: list[torch.Tensor] = []

    def visit(t: torch.Tensor) -> torch.Tensor:
        out.append(t)
        return t

    _map(visit, obj, _is_tensor)
    return out


def tree_fill(skeleton: Any, values: Iterator[Any]) -> Any:
    """Replace each :data:`LEAF` in ``skeleton`` by the next item of ``values``."""
    return _map(lambda _: next(values), skeleton, lambda x: x is LEAF)
