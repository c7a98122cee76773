"""The one data container every stage reads: :class:`Split`."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

__all__ = ["Split", "fingerprint"]


def fingerprint(*tensors: torch.Tensor) -> str:
    """A short, stable SHA-256 hex digest of the given tensors' bytes, shapes and dtypes.

    Parameters
    ----------
    *tensors : Tensor
        Any number of tensors, on any device.

    Returns
    -------
    str
        16 hex digits; equal tensors (values, shapes, dtypes, order) give equal digests.

    Examples
    --------
    >>> import torch
    >>> fingerprint(torch.zeros(3)) == fingerprint(torch.zeros(3))
    True
    >>> fingerprint(torch.zeros(3)) == fingerprint(torch.zeros(3, dtype=torch.float64))
    False
    """
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class Split:
    """Train / validation / test tensors of one data set.

    Images are float32 in [0, 1] of shape ``[N, C, H, W]``; tabular and 2D data are
    float32 ``[N, D]``. Labels are int64 ``[N]``. The validation part is held out of
    train; the test part is never used to choose a model.

    Attributes
    ----------
    name : str
        The source name given to :func:`vizkit.data.load`.
    x_train, y_train, x_val, y_val, x_test, y_test : torch.Tensor
        Inputs and labels of the three parts.
    classes : tuple of str
        Class names, index ``i`` names label ``i``.
    input_shape : tuple of int
        Shape of one example, e.g. ``(1, 28, 28)`` or ``(2,)``.
    fingerprint : str
        Hash of all six tensors: two splits with the same fingerprint hold the same numbers.
    info : dict
        Where the data came from (root folder, files, seed), for reports.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple
    input_shape: tuple
    fingerprint: str
    info: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_features(self) -> int:
        n = 1
        for s in self.input_shape:
            n *= int(s)
        return n

    def part(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, y)`` of ``'train'``, ``'val'`` or ``'test'``."""
        parts = {"train": (self.x_train, self.y_train), "val": (self.x_val, self.y_val),
                 "test": (self.x_test, self.y_test)}
        if which not in parts:
            raise ValueError(f"`which` must be one of 'train', 'val', 'test'. Got {which!r} instead.")
        return parts[which]

    def subset(self, *, train: Optional[int] = None, val: Optional[int] = None,
               test: Optional[int] = None, seed: int = 0) -> "Split":
        """This split with at most ``train`` / ``val`` / ``test`` examples in those parts.

        Each part that is larger than its cap is replaced by a seeded sample of that many
        examples drawn without replacement, kept in their original order (the parts are drawn
        in the order train, val, test from one ``numpy.random.default_rng(seed)``); a part
        without a cap, or within it, is kept whole. The fingerprint is recomputed. Recipes use
        it to keep full-size data within a time budget and say so.

        Returns
        -------
        Split
            ``self`` itself when no part is over its cap.

        Examples
        --------
        >>> from vizkit.data import load
        >>> load("mnist-5k").subset(train=500, seed=0).x_train.shape[0]
        500
        """
        caps = {"train": train, "val": val, "test": test}
        for name, cap in caps.items():
            if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, np.integer))
                                    or cap < 1):
                raise ValueError(f"`{name}` must be a positive integer or None. Got {cap!r} "
                                 "instead.")
        if all(cap is None or len(self.part(name)[1]) <= cap for name, cap in caps.items()):
            return self
        rng = np.random.default_rng(seed)
        parts = {}
        for name, cap in caps.items():
            x, y = self.part(name)
            if cap is not None and len(y) > cap:
                idx = torch.from_numpy(np.sort(rng.choice(len(y), int(cap), replace=False)))
                x, y = x[idx], y[idx]
            parts[f"x_{name}"], parts[f"y_{name}"] = x, y
        tensors = [parts[f"{v}_{n}"] for n in caps for v in ("x", "y")]
        return dataclasses.replace(self, **parts, fingerprint=fingerprint(*tensors),
                                   info={**self.info, "subset": {**caps, "seed": seed}})

    def record(self) -> dict:
        """The data record a checkpoint keeps: plain data naming these tensors.

        Returns
        -------
        dict
            ``name``, ``fingerprint``, ``classes`` (list of str), ``input_shape`` (list of int)
            and ``sizes`` ([train, val, test]): enough to reload the same data and to check it.
        """
        return {"name": self.name, "fingerprint": self.fingerprint,
                "classes": [str(c) for c in self.classes],
                "input_shape": [int(s) for s in self.input_shape],
                "sizes": [len(self.y_train), len(self.y_val), len(self.y_test)]}

    def __repr__(self) -> str:
        return (f"Split({self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
                f"test={len(self.y_test)}, input_shape={self.input_shape}, "
                f"classes={len(self.classes)}, fingerprint={self.fingerprint!r})")
