"""Folders of PNG images, one sub-folder per class (seed 001's ``MNIST-png/training/<digit>/``)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ._errors import DataFileError

__all__ = ["image_folder", "write_image_folder"]


def _shape(sample: Any) -> Optional[tuple]:
    """What must agree between samples for them to be batched (None: not checked)."""
    if isinstance(sample, (torch.Tensor, np.ndarray)):
        return tuple(sample.shape)
    size = getattr(sample, "size", None)  # a PIL image
    return ("image", getattr(sample, "mode", None), tuple(size)) if isinstance(size, tuple) else None


def _pixels(image: Any) -> str:
    size = getattr(image, "size", None)
    return f"{size[0]}x{size[1]} pixels" if isinstance(size, tuple) and len(size) == 2 else "an image"


class _Checks:
    """What :func:`image_folder` adds to ``ImageFolder``: a file that cannot be read, or
    whose sample has another shape than the first one's, is named in the error."""

    def _load(self, index: int) -> tuple[Any, Any, int, str]:
        path, target = self.samples[index]
        try:
            image = self.loader(path)
        except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, zlib.error, ...
            raise DataFileError(
                f"Image '{path}' cannot be read ({type(e).__name__}: {e}): the file is damaged, "
                "truncated or not an image. Replace or delete it."
            ) from e
        sample = self.transform(image) if self.transform is not None else image
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, image, target, path

    def _remember_first(self) -> None:
        self._first = None
        if self.samples:
            sample, image, _, path = self._load(0)
            self._first = (_shape(sample), path, _pixels(image))

    def __getitem__(self, index: int):
        sample, image, target, path = self._load(index)
        shape = _shape(sample)
        if self._first is not None and shape is not None and shape != self._first[0]:
            expected, first, first_px = self._first
            raise DataFileError(
                f"Image '{path}' ({_pixels(image)}) gives a sample of shape {shape}, but the "
                f"images of this folder must all give one shape: expected {expected}, the "
                f"shape of '{first}' ({first_px}). Resize the image, or pass a `transform` that "
                "resizes (torchvision.transforms.Resize)."
            )
        return sample, target


@functools.lru_cache(maxsize=None)
def _checked_class() -> type:
    from torchvision import datasets

    cls = type("CheckedImageFolder", (_Checks, datasets.ImageFolder), {"__module__": __name__})
    cls.__doc__ = "A torchvision ImageFolder whose errors name the image file (see image_folder)."
    return cls


def __getattr__(name: str) -> Any:
    # The class derives from torchvision's ImageFolder, whose import is slow: it is made on
    # first use, and found here by name, so that DataLoader workers can unpickle datasets.
    if name == "CheckedImageFolder":
        return _checked_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def image_folder(root: str | os.PathLike, *, transform=None):
    """A :class:`torchvision.datasets.ImageFolder` over ``root/<class>/<image>.png``.

    For data that does not fit in memory: images are read lazily, one per item, and batched
    by a :class:`torch.utils.data.DataLoader`. Labels follow the sorted class folder names.
    The first image is read at once: its sample shape is the one every other image must
    give, so that batching never fails on mixed sizes without naming the file.

    Parameters
    ----------
    root : str or path-like
        Folder holding one sub-folder of images per class.
    transform : callable, default=None
        Applied to each PIL image; ``None`` converts to a single-channel float tensor in
        [0, 1] of shape ``[1, H, W]``.

    Returns
    -------
    torchvision.datasets.ImageFolder
        ``dataset[i]`` is ``(image, label)``; ``dataset.classes`` names the labels.

    Raises
    ------
    DataFileError
        When an image is read (``dataset[i]``) that is damaged or truncated, or whose sample
        shape differs from the first image's; the message names the file and both shapes.

    Examples
    --------
    >>> import tempfile, torch
    >>> d = tempfile.mkdtemp()
    >>> write_image_folder(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]), d)
    ['0', '1']
    >>> ds = image_folder(d)
    >>> len(ds), ds.classes, ds[0][0].shape
    (4, ['0', '1'], torch.Size([1, 8, 8]))
    """
    from torchvision import transforms

    root = Path(root)
    if not root.is_dir():
        raise ValueError(
            f"`root` must be a folder with one sub-folder of images per class. Got '{root}', "
            f"which is not a folder."
        )
    if transform is None:
        transform = transforms.Compose([transforms.Grayscale(num_output_channels=1),
                                        transforms.ToTensor()])
    dataset = _checked_class()(str(root), transform=transform)
    dataset._remember_first()
    return dataset


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)


def write_image_folder(x, y, root: str | os.PathLike, *, classes=None) -> list[str]:
    """Write images as 8-bit grayscale PNGs in ``root/<class>/<index>.png``.

    The layout :func:`image_folder` reads back (and seed 001's ``MNIST-png`` folders use).
    Class folders are the zero-padded label (``0`` ... ``9``), followed by ``-<name>`` when
    ``classes`` is given, so that their sorted order is the label order.

    Parameters
    ----------
    x : tensor or ndarray of shape (N, 1, H, W) or (N, H, W)
        Values in [0, 1].
    y : tensor or ndarray of shape (N,)
        Integer labels.
    root : str or path-like
        Created if missing.
    classes : sequence of str, default=None
        Names of the labels.

    Returns
    -------
    list of str
        The class folder names, index ``i`` for label ``i``.

    Raises
    ------
    ValueError
        ``x`` is not a stack of single-channel images, ``y`` does not match it, or ``classes``
        names fewer labels than ``y`` has.

    Examples
    --------
    >>> import tempfile, torch
    >>> with tempfile.TemporaryDirectory() as root:
    ...     names = write_image_folder(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]), root,
    ...                                classes=["even", "odd"])
    ...     n_images = len(image_folder(root))
    >>> names, n_images
    (['0-even', '1-odd'], 4)
    """
    from PIL import Image

    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"`x` must have shape (N, 1, H, W) or (N, H, W). Got {x.shape} instead.")
    if y.shape != (len(x),):
        raise ValueError(f"`y` must have shape ({len(x)},) to match `x`. Got {y.shape} instead.")
    n_classes = int(y.max()) + 1 if len(y) else 0
    if classes is not None:
        if len(classes) < n_classes:
            raise ValueError(f"`classes` names {len(classes)} labels, `y` has labels up to {n_classes - 1}.")
        n_classes = len(classes)
    width = len(str(max(n_classes - 1, 0)))
    folders = [f"{i:0{width}d}" + ("" if classes is None else f"-{_safe(str(classes[i]))}")
               for i in range(n_classes)]
    root = Path(root)
    pixels = np.clip(np.rint(np.asarray(x, dtype=np.float64) * 255), 0, 255).astype(np.uint8)
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    digits = len(str(max(len(x) - 1, 0)))
    for i, (img, label) in enumerate(zip(pixels, y)):
        Image.fromarray(img).save(root / folders[int(label)] / f"{i:0{digits}d}.png")
    return folders
