"""What a first-layer unit of an MLP responds to, measured: how smooth its field is, how much of
it is still its initial weights, and which test images excite it most.

* :func:`lag1_autocorrelation` -- the lag-1 spatial autocorrelation of a field (the Pearson
  correlation of every pixel with its right and lower neighbours, over a mask): about 0 for white
  noise, near 1 for a smooth field.
* :func:`initial_model` -- the untrained model rebuilt from a checkpoint's recorded ``seed`` and
  ``spec``, the way :func:`vizkit.train.train_model` seeds and builds it before training.
* :func:`first_layer_change` -- per unit, the trained field ``w_T``, the initial one ``w_0`` and
  the share of ``w_T``'s energy along ``w_0``.
* :func:`top_exemplars` -- the ``k`` images that give each unit its largest pre-activation.
* :func:`view_coincidence` -- how closely two views of the same fields agree (Pearson r).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .propagated import _mlp_stack, propagated_receptive_fields

__all__ = ["lag1_autocorrelation", "initial_model", "FirstLayerChange", "first_layer_change",
           "top_exemplars", "view_coincidence", "COINCIDE"]

#: Pearson r at or above which two views of the same fields are called the same picture.
COINCIDE = 0.99


def lag1_autocorrelation(field, mask=None) -> float:
    """The lag-1 spatial autocorrelation of a 2-D field over the pixels of ``mask``.

    The Pearson correlation between each pixel and its right neighbour and its lower neighbour
    (both pairs pooled), using only pairs whose two pixels lie in ``mask``.

    Parameters
    ----------
    field : array-like of shape (H, W)
    mask : array-like of bool, shape (H, W), optional
        Pixels to use (e.g. the often-inked ones); default all.

    Returns
    -------
    float
        In [-1, 1]; about 0 for white noise, near 1 for a smooth field; ``nan`` when the pairs
        have no spread (a constant field).

    Raises
    ------
    ValueError
        ``field`` is not 2-D, ``mask`` has another shape, or fewer than 3 pairs lie in the mask.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:28, 0:28]
    >>> round(lag1_autocorrelation(np.sin(xx / 5.0) + np.cos(yy / 6.0)), 2)
    0.99
    >>> noise = np.random.default_rng(0).normal(size=(28, 28))
    >>> abs(lag1_autocorrelation(noise)) < 0.1
    True
    """
    f = np.asarray(field, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"`field` must be 2-D (H, W). Got shape {f.shape} instead.")
    m = np.ones(f.shape, bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != f.shape:
        raise ValueError(f"`mask` must have the field's shape {f.shape}. Got {m.shape} instead.")
    h = m[:, :-1] & m[:, 1:]
    v = m[:-1, :] & m[1:, :]
    a = np.concatenate([f[:, :-1][h], f[:-1, :][v]])
    b = np.concatenate([f[:, 1:][h], f[1:, :][v]])
    if len(a) < 3:
        raise ValueError(f"`mask` leaves {len(a)} neighbouring pairs; at least 3 are needed.")
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def initial_model(meta: dict) -> nn.Module:
    """The untrained model of a checkpoint, rebuilt from its recorded ``seed`` and ``spec``.

    :func:`vizkit.train.train_model` seeds Python, NumPy and torch with the config's seed and
    then builds the model from its spec; this does the same inside a block that leaves the
    global random generators as they were.

    Parameters
    ----------
    meta : dict
        A checkpoint's meta (:func:`vizkit.train.load_trained`, ``ctx.meta(model)``) with
        ``"seed"`` and ``"spec"``.

    Returns
    -------
    torch.nn.Module
        The model with its initial weights, in eval mode.

    Raises
    ------
    ValueError
        ``meta`` lacks the seed or the spec.

    Examples
    --------
    >>> spec = {"class": "PTDeep", "args": {"config": [4, 3, 2]}}
    >>> a = initial_model({"seed": 5, "spec": spec})
    >>> b = initial_model({"seed": 5, "spec": spec})
    >>> bool((a.layers[0].weight == b.layers[0].weight).all())
    True
    """
    from ...models import build
    from ...train._fit import isolated_rng, seed_everything

    meta = meta or {}
    missing = [k for k in ("seed", "spec") if meta.get(k) is None]
    if missing:
        raise ValueError(f"`meta` must record the training 'seed' and the model 'spec' to rebuild "
                         f"the initial weights; missing {missing}.")
    with isolated_rng():
        seed_everything(int(meta["seed"]))
        net = build(meta["spec"])
    return net.eval()


@dataclass
class FirstLayerChange:
    """The trained and initial first-layer fields of an MLP and how much of each is initial.

    Attributes
    ----------
    trained, initial : ndarray of shape (U, H, W)
        ``w_T`` and ``w_0`` of every unit on raw pixels (input normalization folded in).
    init_share : ndarray of shape (U,)
        ``(w_T . w_0)^2 / (||w_T||^2 ||w_0||^2)``: the share of the trained field's energy
        that lies along its initial weights (0 = none, 1 = all).
    change_share : ndarray of shape (U,)
        ``||w_T - w_0||^2 / ||w_T||^2``.
    layer : str
    """

    trained: np.ndarray
    initial: np.ndarray
    init_share: np.ndarray
    change_share: np.ndarray
    layer: str


def first_layer_change(model: nn.Module, init: nn.Module, *, image_shape=None) -> FirstLayerChange:
    """Per unit of an MLP's first Linear layer: the trained field, the initial one and the share
    of the trained field's energy along the initial one.

    Parameters
    ----------
    model : PTDeep or nn.Sequential
        The trained MLP.
    init : same architecture
        The same MLP before training (:func:`initial_model`).
    image_shape : tuple of int, optional

    Returns
    -------
    FirstLayerChange

    Raises
    ------
    ValueError
        Either model is not an MLP, or their first layers differ in shape.

    Examples
    --------
    >>> from vizkit.models import PTDeep
    >>> net = PTDeep([4, 3, 2])
    >>> r = first_layer_change(net, net, image_shape=(2, 2))
    >>> [round(float(s), 6) for s in r.init_share]
    [1.0, 1.0, 1.0]
    """
    kw = {"image_shape": image_shape}
    n = _first_linear(model).out_features
    if _first_linear(init).weight.shape != _first_linear(model).weight.shape:
        raise ValueError("`init` must have the trained model's first-layer shape; got "
                         f"{tuple(_first_linear(init).weight.shape)} and "
                         f"{tuple(_first_linear(model).weight.shape)}.")
    rt = propagated_receptive_fields(model, 1, units=range(n), **kw)
    r0 = propagated_receptive_fields(init, 1, units=range(n), **kw)
    wt = rt.fields.reshape(n, -1).astype(np.float64)
    w0 = r0.fields.reshape(n, -1).astype(np.float64)
    nt, n0 = (wt ** 2).sum(1), (w0 ** 2).sum(1)
    dot = (wt * w0).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(nt * n0 > 0, dot ** 2 / (nt * n0), np.nan)
        change = np.where(nt > 0, ((wt - w0) ** 2).sum(1) / nt, np.nan)
    return FirstLayerChange(trained=np.asarray(rt.fields), initial=np.asarray(r0.fields),
                            init_share=share, change_share=change, layer=rt.layer)


def _first_linear(model: nn.Module) -> nn.Linear:
    _, items = _mlp_stack(model)
    for _, m in items:
        if isinstance(m, nn.Linear):
            return m
    raise ValueError("the model has no Linear layer.")


def top_exemplars(model: nn.Module, x, units: Sequence[int], k: int = 3, *,
                  batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` images of ``x`` that give each first-layer unit its largest pre-activation.

    The pre-activation (the output of the first ``nn.Linear``, read with a forward hook while
    the model runs in eval mode, without gradients).

    Parameters
    ----------
    model : PTDeep or nn.Sequential
    x : Tensor of shape (N, ...)
        Raw inputs as the model takes them (e.g. the test images).
    units : sequence of int
    k : int, default=3
    batch_size : int, default=1024
        Images per forward pass.

    Returns
    -------
    index : ndarray of int, shape (U, k)
        Rows of ``x``, highest first.
    value : ndarray of shape (U, k)
        Their pre-activations.

    Raises
    ------
    ValueError
        ``k`` is not in 1..N or a unit is out of range.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(2, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0]])); _ = net[0].bias.zero_()
    >>> idx, val = top_exemplars(net, torch.tensor([[0.0, 9], [3.0, 0], [1.0, 1]]), [0], k=2)
    >>> idx.tolist(), val.tolist()
    ([[1, 2]], [[3.0, 1.0]])
    """
    lin = _first_linear(model)
    x = torch.as_tensor(x)
    n = len(x)
    if not 1 <= int(k) <= n:
        raise ValueError(f"`k` must be in 1..{n} (the number of images). Got {k!r} instead.")
    units = [int(u) for u in units]
    bad = [u for u in units if not 0 <= u < lin.out_features]
    if bad:
        raise ValueError(f"`units` must be in 0..{lin.out_features - 1}. Got {bad} instead.")
    outs = []
    hook = lin.register_forward_hook(lambda m, i, o: outs.append(o.detach()[:, units].cpu()))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for s in range(0, n, int(batch_size)):
                model(x[s:s + int(batch_size)])
    finally:
        hook.remove()
        model.train(was)
    act = torch.cat(outs).double().T  # (U, N)
    val, idx = torch.topk(act, int(k), dim=1)
    return idx.numpy(), val.numpy()


def view_coincidence(a, b) -> float:
    """Pearson r between two views of the same fields (all units' pixels pooled).

    Parameters
    ----------
    a, b : array-like of the same shape

    Returns
    -------
    float

    Raises
    ------
    ValueError
        The shapes differ.

    Examples
    --------
    >>> view_coincidence([1.0, 2, 3], [2.0, 4, 6.5]) > 0.99
    True
    """
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"the views must have one shape; got {a.shape} and {b.shape}.")
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
