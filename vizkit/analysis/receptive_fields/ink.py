"""Where the data has ink: how much of a field lies on pixels the training images ink.

:func:`ink_frequency` is the share of images inking each pixel; :func:`ink_ratio` measures how
much of a field sits on pixels the data never inks; :func:`ink_share` and
:func:`structured_units` pick the units whose fields lie where digits are.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["NEVER_INKED", "INKED", "ink_frequency", "ink_ratio", "ink_share", "structured_units"]


#: A pixel inked in fewer than this fraction of the training images is "never inked".
NEVER_INKED = 0.01
#: A pixel inked in more than this fraction of the training images is "inked".
INKED = 0.05


def ink_frequency(images, *, threshold: float = 0.0) -> np.ndarray:
    """Fraction of ``images`` whose value at each pixel is above ``threshold`` (carries ink).

    Parameters
    ----------
    images : array-like of shape (N, H, W) or (N, 1, H, W)
        Raw images, e.g. ``split.x_train``.
    threshold : float, default=0.0
        A pixel carries ink when its value is above this.

    Returns
    -------
    ndarray of shape (H, W)
        In [0, 1]: 0 for a pixel no image inks, 1 for one every image inks.

    Raises
    ------
    ValueError
        ``images`` is empty or not ``(N, H, W)`` / ``(N, 1, H, W)``.

    Examples
    --------
    >>> import torch
    >>> ink_frequency(torch.tensor([[[0.0, 1.0]], [[0.0, 0.5]]])).tolist()
    [[0.0, 1.0]]
    """
    x = torch.as_tensor(images)
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 3 or len(x) == 0:
        raise ValueError(f"`images` must be a non-empty batch (N, H, W) or (N, 1, H, W). Got "
                         f"shape {tuple(x.shape)} instead.")
    return (x > threshold).double().mean(0).numpy()


def ink_ratio(fields, ink, *, never: float = NEVER_INKED, inked: float = INKED) -> float:
    """Mean ``|field|`` on never-inked pixels over the mean on inked pixels.

    Never inked: ``ink < never``; inked: ``ink > inked``. A field that learned from the data is
    small where the data never puts ink (its weights there get no gradient); the ratio of a
    randomly initialized layer is about 1.

    Parameters
    ----------
    fields : array-like of shape (..., H, W)
        Receptive fields (any leading shape: one field, or units, or views by units).
    ink : array-like of shape (H, W)
        From :func:`ink_frequency` of the training images.
    never, inked : float, default=NEVER_INKED, INKED
        The ink frequencies below which a pixel counts as never inked (0.01), and above which
        it counts as inked (0.05).

    Returns
    -------
    float
        NaN when either set of pixels is empty.

    Raises
    ------
    ValueError
        ``fields`` does not end in the shape of ``ink``.

    Examples
    --------
    The left pixel is never inked, the right one always:

    >>> import numpy as np
    >>> ink = np.array([[0.0, 1.0]])
    >>> ink_ratio([[0.5, 2.0]], ink)  # 0.5 / 2
    0.25
    >>> ink_ratio([[[1.0, -2.0]], [[0.0, 2.0]]], ink)  # means over both fields: 0.5 / 2
    0.25
    >>> ink_ratio([[0.5, 2.0]], np.array([[1.0, 1.0]]))  # no pixel is never inked
    nan
    """
    f = np.abs(np.asarray(fields, dtype=np.float64))
    ink = np.asarray(ink, dtype=np.float64)
    if f.ndim < 2 or f.shape[-2:] != ink.shape:
        raise ValueError(f"`fields` must end in the ink map's shape {ink.shape}. Got shape "
                         f"{f.shape} instead.")
    low, high = ink < never, ink > inked
    if not low.any() or not high.any():
        return float("nan")
    return float(f[..., low].mean() / f[..., high].mean())


def ink_share(fields, ink, *, inked: float = INKED) -> np.ndarray:
    """Per field, the share of its ``|field|`` that lies on inked pixels (``ink > inked``).

    Parameters
    ----------
    fields : array-like of shape (U, H, W)
        One field per unit.
    ink : array-like of shape (H, W)
        From :func:`ink_frequency` of the training images.
    inked : float, default=INKED
        The ink frequency above which a pixel counts as inked (0.05).

    Returns
    -------
    ndarray of shape (U,)
        In [0, 1]; 0 for an all-zero field.

    Raises
    ------
    ValueError
        ``fields`` is not ``(U, H, W)`` with ``(H, W)`` the shape of ``ink``.

    Examples
    --------
    >>> import numpy as np
    >>> ink = np.array([[0.0, 1.0]])  # the right pixel is inked
    >>> ink_share([[[1.0, -3.0]], [[0.0, 0.0]]], ink).tolist()  # 3 / (1 + 3); an empty field
    [0.75, 0.0]
    """
    f = np.abs(np.asarray(fields, dtype=np.float64))
    ink = np.asarray(ink)
    if f.ndim != 3 or f.shape[1:] != ink.shape:
        raise ValueError(f"`fields` must be (U, H, W) with (H, W) = {ink.shape}. Got shape "
                         f"{f.shape} instead.")
    total = f.reshape(len(f), -1).sum(1)
    return np.divide(f[:, ink > inked].sum(1), total, out=np.zeros(len(f)), where=total > 0)


def structured_units(fields, ink, n: int, *, inked: float = INKED) -> list[int]:
    """The ``n`` fields (indices) with the largest :func:`ink_share`, largest first: the units
    whose field lies where digits are, rather than on pixels the data never inks.

    Parameters
    ----------
    fields : array-like of shape (U, H, W)
        One field per unit.
    ink : array-like of shape (H, W)
        From :func:`ink_frequency` of the training images.
    n : int
        How many units to pick (all ``U`` when ``n >= U``).
    inked : float, default=INKED
        As in :func:`ink_share`.

    Returns
    -------
    list of int
        Indices into ``fields``, largest share first; ties keep the order of ``fields``.

    Raises
    ------
    ValueError
        ``n`` is not an integer >= 0, or ``fields`` does not fit ``ink`` (see
        :func:`ink_share`).

    Examples
    --------
    >>> import numpy as np
    >>> ink = np.array([[0.0, 1.0]])
    >>> fields = [[[1.0, 3.0]], [[3.0, 1.0]], [[0.0, 2.0]]]  # shares 0.75, 0.25, 1
    >>> structured_units(fields, ink, 2)
    [2, 0]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"`n` must be an integer >= 0. Got {n!r} instead.")
    share = ink_share(fields, ink, inked=inked)
    return [int(u) for u in np.argsort(-share, kind="stable")[: int(n)]]
