"""The one data container every stage reads: :class:`Split`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import torch

__all__ = ["Split", "fingerprint"]


def fingerprint(*tensors: torch.Tensor) -> str:
    """Return a short, stable SHA-256 hex digest of the given tensors' bytes, shapes and dtypes."""
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
