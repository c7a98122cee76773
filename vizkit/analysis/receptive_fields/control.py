"""Controls for receptive fields: what a field would look like had a layer learned nothing.

A propagated field of a deep unit is ``W1 ... Wi``; much of its look (where it lies, how smooth it
is) is inherited from layer 1 and weight decay, whatever layer ``i`` learned. The control here
keeps every weight but shuffles, for each unit of layer ``i``, which inputs its weights come
from (each row of ``Wi`` permuted on its own, seeded): the weight distribution stays, what the
layer learned is gone. A measure the control reproduces says nothing about layer ``i``.

* :func:`shuffled_layer_model` -- a copy of an MLP with the rows of one Linear layer shuffled.
* :func:`class_templates` -- each class's mean image minus the mean of all images.
* :func:`class_selectivity` -- the Pearson r of each field with each class template.
* :func:`compare_to_control` -- real versus control values of a measure: the Vargha-Delaney
  A (the probability that a real unit beats a control unit, from the Mann-Whitney U), its
  one-sided p-value, the share of real units above the control's 95th percentile, and a verdict.
* :func:`init_share_on` and :func:`decay_erasure` -- for the first layer: how much of a trained
  field is still its random start on the pixels that matter, and whether the change on the
  never-inked pixels is just weight decay erasing the start.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .propagated import _mlp_stack, _resolve_linear_index

__all__ = ["shuffled_layer_model", "class_templates", "class_selectivity", "ControlComparison",
           "compare_to_control", "init_share_on", "decay_erasure", "A_SMALL", "A_MEDIUM"]

#: Vargha and Delaney's (2000) thresholds of the A measure: at or above ``A_SMALL`` a small,
#: at or above ``A_MEDIUM`` a medium effect (below ``A_SMALL``: negligible).
A_SMALL, A_MEDIUM = 0.56, 0.64


def shuffled_layer_model(model: nn.Module, layer_index: int | str, seed: int) -> nn.Module:
    """A copy of an MLP whose Linear layer ``layer_index`` has each unit's weights shuffled.

    Row ``j`` of the layer's weight (``[out, in]``, the incoming weights of unit ``j``) is
    permuted on its own, so every unit keeps its weight values and its bias but loses which
    inputs they came from: what the layer learned is destroyed, everything else is kept.

    Parameters
    ----------
    model : PTDeep or nn.Sequential
        The MLP (left unchanged).
    layer_index : int or str
        ``1`` for the first Linear layer, ``-1`` for the last, or its name.
    seed : int
        Seeds the permutations.

    Returns
    -------
    torch.nn.Module
        The copy, in the mode ``model`` was in.

    Raises
    ------
    ValueError
        ``model`` is not an MLP or ``layer_index`` names no Linear layer.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 2, 3], [4, 5, 6]]))
    >>> w = shuffled_layer_model(net, 1, seed=0)[0].weight
    >>> [sorted(r) for r in w.tolist()]
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    """
    _, items = _mlp_stack(model)
    i = _resolve_linear_index(items, layer_index)
    name = [n for n, m in items if isinstance(m, nn.Linear)][i - 1]
    out = copy.deepcopy(model)
    lin = dict(out.named_modules())[name]
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        w = lin.weight
        idx = torch.stack([torch.randperm(w.shape[1], generator=g) for _ in range(w.shape[0])])
        w.copy_(torch.gather(w, 1, idx.to(w.device)))
    return out


def class_templates(images, labels, n_classes: int | None = None) -> np.ndarray:
    """Each class's mean image minus the mean image of all classes (the mean of the class means).

    Parameters
    ----------
    images : array-like of shape (N, H, W) or (N, 1, H, W)
        Raw images, e.g. ``split.x_train``.
    labels : array-like of int, shape (N,)
    n_classes : int, optional
        Default ``max(labels) + 1``.

    Returns
    -------
    ndarray of shape (C, H, W)
        ``mean(images of class c) - mean over c of the class means``: what sets class ``c``
        apart, unaffected by how many images each class has.

    Raises
    ------
    ValueError
        The shapes disagree, or a class has no image.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[1.0, 0]], [[1.0, 0]], [[0.0, 1]]])
    >>> class_templates(x, [0, 0, 1]).tolist()
    [[[0.5, -0.5]], [[-0.5, 0.5]]]
    """
    x = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, np.float64)
    y = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels).astype(int)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or y.shape != (len(x),):
        raise ValueError(f"`images` must be (N, H, W) or (N, 1, H, W) and `labels` (N,). Got "
                         f"shapes {x.shape} and {y.shape} instead.")
    C = int(y.max()) + 1 if n_classes is None else int(n_classes)
    empty = [c for c in range(C) if not (y == c).any()]
    if empty:
        raise ValueError(f"every class needs an image; classes {empty} of 0..{C - 1} have none.")
    means = np.stack([x[y == c].mean(0) for c in range(C)])
    return means - means.mean(0)


def class_selectivity(fields, templates, mask=None) -> np.ndarray:
    """The Pearson r of every field with every class template, over the pixels of ``mask``.

    Parameters
    ----------
    fields : array-like of shape (U, H, W)
    templates : array-like of shape (C, H, W)
        E.g. :func:`class_templates`.
    mask : array-like of bool, shape (H, W), optional
        The pixels to correlate over (e.g. the often-inked ones); default all.

    Returns
    -------
    ndarray of shape (U, C)
        ``r[u, c]``; 0 for a constant field.

    Raises
    ------
    ValueError
        The image shapes disagree, or the mask keeps fewer than 3 pixels.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[[1.0, 0, -1]], [[0.0, 1, 0]]])
    >>> class_selectivity(2 * t[:1] + 1, t).round(2).tolist()
    [[1.0, 0.0]]
    """
    f = np.asarray(fields, np.float64)
    t = np.asarray(templates, np.float64)
    if f.ndim != 3 or t.ndim != 3 or f.shape[1:] != t.shape[1:]:
        raise ValueError(f"`fields` (U, H, W) and `templates` (C, H, W) must share (H, W). Got "
                         f"shapes {f.shape} and {t.shape} instead.")
    m = np.ones(f.shape[1:], bool) if mask is None else np.asarray(mask, bool)
    if m.shape != f.shape[1:] or m.sum() < 3:
        raise ValueError(f"`mask` must have shape {f.shape[1:]} and keep at least 3 pixels. Got "
                         f"shape {m.shape} with {int(m.sum())} pixels instead.")
    a, b = f[:, m], t[:, m]
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a @ b.T) / np.outer(na, nb)
    return np.nan_to_num(r, nan=0.0)


@dataclass
class ControlComparison:
    """A measure of real units against the same measure of control units.

    Attributes
    ----------
    real, control : ndarray
        The measure of every real unit and of every control unit.
    a : float
        Vargha-Delaney A: the probability that a random real unit scores above a random control
        unit (ties count half); 0.5 when the two do not differ.
    p_value : float
        One-sided Mann-Whitney U test of "real scores higher".
    threshold : float
        The control's 95th percentile.
    above : float
        The share of real units above ``threshold`` (0.05 expected when they do not differ).
    verdict : str
        ``'no different from the control'`` (A below :data:`A_SMALL` or p >= ``alpha``),
        ``'slightly above the control'`` (A below :data:`A_MEDIUM`) or
        ``'clearly above the control'``.
    """

    real: np.ndarray
    control: np.ndarray
    a: float
    p_value: float
    threshold: float
    above: float
    verdict: str


def compare_to_control(real, control, *, alpha: float = 0.01) -> ControlComparison:
    """How far a measure of real units stands above the same measure of control units.

    Parameters
    ----------
    real, control : array-like of shape (n,) and (m,)
        The measure (e.g. the best :func:`class_selectivity` of each unit) of the real units and
        of the control's units; at least 2 finite values each.
    alpha : float, default=0.01
        The p-value below which a difference can be called one.

    Returns
    -------
    ControlComparison

    Raises
    ------
    ValueError
        Fewer than 2 finite values in either, or ``alpha`` not in (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> compare_to_control(rng.normal(size=200), rng.normal(size=200)).verdict
    'no different from the control'
    >>> compare_to_control(rng.normal(2, 1, size=50), rng.normal(size=200)).verdict
    'clearly above the control'
    """
    from scipy.stats import mannwhitneyu

    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1). Got {alpha!r} instead.")
    r = np.asarray(real, np.float64).ravel()
    c = np.asarray(control, np.float64).ravel()
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    if len(r) < 2 or len(c) < 2:
        raise ValueError(f"`real` and `control` need at least 2 finite values each; got "
                         f"{len(r)} and {len(c)}.")
    test = mannwhitneyu(r, c, alternative="greater")
    a = float(test.statistic) / (len(r) * len(c))
    p = float(test.pvalue)
    thr = float(np.percentile(c, 95))
    if a < A_SMALL or p >= alpha:
        verdict = "no different from the control"
    elif a < A_MEDIUM:
        verdict = "slightly above the control"
    else:
        verdict = "clearly above the control"
    return ControlComparison(real=r, control=c, a=a, p_value=p, threshold=thr,
                             above=float((r > thr).mean()), verdict=verdict)


def init_share_on(trained, initial, mask) -> np.ndarray:
    """Per unit, the share of a trained field's energy along its initial field, on ``mask``.

    ``(w_T . w_0)^2 / (|w_T|^2 |w_0|^2)`` over the pixels of ``mask`` only: on the pixels the
    data inks, how much of each trained field is still its random start (over all pixels the
    border, where weight decay zeroes the trained weights, dilutes it).

    Parameters
    ----------
    trained, initial : array-like of shape (U, H, W)
        ``w_T`` and ``w_0`` of each unit.
    mask : array-like of bool, shape (H, W)
        E.g. the pixels inked in more than 5 % of the training images.

    Returns
    -------
    ndarray of shape (U,)
        In [0, 1]; ``nan`` for a unit that is all zero on ``mask``.

    Raises
    ------
    ValueError
        The shapes disagree or ``mask`` keeps no pixel.

    Examples
    --------
    >>> import numpy as np
    >>> w0 = np.array([[[1.0, 0.0, 5.0]]])
    >>> wt = np.array([[[1.0, 1.0, 0.0]]])
    >>> init_share_on(wt, w0, np.array([[True, True, False]])).round(2).tolist()
    [0.5]
    """
    wt, w0 = np.asarray(trained, np.float64), np.asarray(initial, np.float64)
    m = np.asarray(mask, bool)
    if wt.shape != w0.shape or wt.ndim != 3 or m.shape != wt.shape[1:] or not m.any():
        raise ValueError(f"`trained` and `initial` must be (U, H, W) of one shape and `mask` "
                         f"(H, W) with a pixel in it. Got {wt.shape}, {w0.shape} and {m.shape} "
                         f"({int(m.sum())} pixels) instead.")
    a, b = wt[:, m], w0[:, m]
    den = (a ** 2).sum(1) * (b ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(1) ** 2 / den, np.nan)


def decay_erasure(change, initial, mask) -> tuple[float, float]:
    """Whether the change ``w_T - w_0`` on ``mask`` is just the initial weights being erased.

    Weight decay with no gradient to hold a weight up shrinks it toward 0, so there the change
    is ``-w_0`` times a factor: its correlation with ``-w_0`` is near 1.

    Parameters
    ----------
    change, initial : array-like of shape (U, H, W)
        ``w_T - w_0`` and ``w_0`` of each unit.
    mask : array-like of bool, shape (H, W)
        E.g. the pixels inked in fewer than 1 % of the training images.

    Returns
    -------
    r : float
        The Pearson r of the change with ``-w_0`` over every unit's pixels in ``mask``.
    energy : float
        The share of the change's energy (sum of squares over all pixels) that lies in ``mask``.

    Raises
    ------
    ValueError
        The shapes disagree or ``mask`` keeps fewer than 2 pixels.

    Examples
    --------
    >>> import numpy as np
    >>> w0 = np.random.default_rng(0).normal(size=(2, 3, 3))
    >>> edge = np.ones((3, 3), bool); edge[1, 1] = False
    >>> r, e = decay_erasure(np.where(edge, -0.9 * w0, 0.0), w0, edge)
    >>> round(r, 3), round(e, 3)
    (1.0, 1.0)
    """
    d, w0 = np.asarray(change, np.float64), np.asarray(initial, np.float64)
    m = np.asarray(mask, bool)
    if d.shape != w0.shape or d.ndim != 3 or m.shape != d.shape[1:] or m.sum() < 2:
        raise ValueError(f"`change` and `initial` must be (U, H, W) of one shape and `mask` "
                         f"(H, W) with at least 2 pixels. Got {d.shape}, {w0.shape} and "
                         f"{m.shape} ({int(m.sum())} pixels) instead.")
    a, b = d[:, m].ravel(), -w0[:, m].ravel()
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    total = float((d ** 2).sum())
    return r, (float((a ** 2).sum()) / total if total > 0 else float("nan"))
