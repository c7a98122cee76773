"""What a ``record`` block captured, as mappings: ``Recording``, its views and ``Calls``."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Iterable, Iterator, Optional

from ._cow import unref
from ._errors import MultipleCallsError
from ._tree import tree_fill

__all__ = ["Call", "Calls", "Recording"]



class Call:
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

    Parameters
    ----------
    name : str
        The layer's name.
    kind : str
        What was captured: ``'output'``, ``'input'`` or ``'grad'``.
    values : list
        One captured value per call.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.hooks import record
    >>> act = nn.ReLU()
    >>> model = nn.Sequential(nn.Linear(2, 2), act, nn.Linear(2, 2), act)
    >>> with record(model, ["1"]) as rec:
    ...     _ = model(torch.ones(1, 2))
    >>> calls = rec["1"]
    >>> type(calls).__name__, len(calls)
    ('Calls', 2)
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
            return [unref(c.output) for c in calls]
        if self._kind == "inputs":
            return [unref(c.input) for c in calls]
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

    Parameters
    ----------
    names : iterable of str
        The requested layers.
    inputs, outputs, grads : bool
        What the block records.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from vizkit.hooks import record
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> with record(model, ["0"]) as rec:
    ...     _ = model(torch.ones(4, 2))
    >>> rec["0"].shape, rec.counts["0"]
    (torch.Size([4, 3]), 1)
    """

    def __init__(self, names: Iterable[str], *, inputs: bool, outputs: bool, grads: bool):
        self._calls: dict[str, list[Call]] = {n: [] for n in names}
        self._kinds = {"inputs": inputs, "outputs": outputs, "grads": grads}
        self._kind = "outputs"

    @property
    def _rec(self) -> "Recording":  # a property, not an attribute: no reference cycle
        return self

    def _lookup(self, name: Any) -> list[Call]:
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
