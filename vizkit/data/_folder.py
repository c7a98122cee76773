"""Folders of PNG images, one sub-folder per class (seed 001's ``MNIST-png/training/<digit>/``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["image_folder", "write_image_folder"]


def image_folder(root: str | os.PathLike, *, transform=None):
    """A :class:`torchvision.datasets.ImageFolder` over ``root/<class>/<image>.png``.

    For data that does not fit in memory: images are read lazily, one per item, and batched
    by a :class:`torch.utils.data.DataLoader`. Labels follow the sorted class folder names.

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
    from torchvision import datasets, transforms

    root = Path(root)
    if not root.is_dir():
        raise ValueError(
            f"`root` must be a folder with one sub-folder of images per class. Got '{root}', "
            f"which is not a folder."
        )
    if transform is None:
        transform = transforms.Compose([transforms.Grayscale(num_output_channels=1),
                                        transforms.ToTensor()])
    return datasets.ImageFolder(str(root), transform=transform)


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
