"""Weight images per class (seed 002, ``mnist_shootout``): a linear input->class map as images.

For a model whose logits are an affine function of the pixels (``PTLogreg``, a ``PTDeep`` with
config ``[D, C]``, any ``nn.Linear``), column ``k`` of the ``[D, C]`` weight matrix is an image:
pixels where ink raises class ``k``'s score are positive, those where ink lowers it negative.

What is shown: the weights **on the raw [0, 1] pixels the model is fed**. vizkit models carry
their input normalization inside (``norm = Normalize(mean, std)``), so
``logits = ((x - mean) / std) W + b = x (W / std) + (b - mean/std * sum_d W[d])``: the images are
``W / std`` (a positive rescaling of ``W`` for a scalar std, so the pattern is the same and the
colour scale is in logit units per unit of raw pixel intensity), and ``bias`` is the effective
bias on raw inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .._torch import input_normalization, spec_input_shape
from ._arrays import finite_abs_max
from ._layers import is_input_norm

__all__ = ["WeightImages", "weight_images", "linear_input_map"]


@dataclass
class WeightImages:
    """Per-class weight images on one symmetric scale.

    Attributes
    ----------
    images : ndarray of shape (C, H, W)
        ``images[k]`` is the weight image of class ``k`` (``(C, c, H, W)`` for ``c > 1`` input
        channels).
    vmax : float
        ``max |images|``: draw every image with limits ``(-vmax, vmax)``.
    bias : ndarray of shape (C,) or None
        The effective bias on raw inputs.
    labels : list of str
        One name per class.
    space : str
        ``'raw input'`` when the model's input normalization was folded in, ``'as given'``
        for a bare weight matrix.
    """

    images: np.ndarray
    vmax: float
    bias: np.ndarray | None = None
    labels: list = field(default_factory=list)
    space: str = "raw input"

    @property
    def n_classes(self) -> int:
        """Number of classes: ``images.shape[0]``."""
        return int(self.images.shape[0])


def linear_input_map(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The ``[D, C]`` weight matrix and ``[C]`` bias of a model whose logits are affine in the
    (flattened, normalized) input, *before* folding in the input normalization.

    Accepts ``PTLogreg`` (``W`` of shape ``[D, C]``), an ``nn.Linear``, or any model whose only
    parameterized submodule is a single ``nn.Linear`` (e.g. ``PTDeep([D, C])``).

    Parameters
    ----------
    model : nn.Module
        The model to read (not changed).

    Returns
    -------
    W : Tensor of shape (D, C)
        The weights in the lab's ``[in, out]`` convention (the transpose of an ``nn.Linear``'s
        ``weight``), detached, float32.
    b : Tensor of shape (C,) or None
        The bias, or ``None`` for a ``Linear`` without one.

    Raises
    ------
    ValueError
        The model has hidden layers (no single linear input->class map).

    See Also
    --------
    weight_images : the same weights on raw pixels, one image per class.

    Examples
    --------
    >>> from torch import nn
    >>> lin = nn.Linear(4, 3)
    >>> W, b = linear_input_map(lin)
    >>> W.shape, b.shape, bool((W == lin.weight.T).all())
    (torch.Size([4, 3]), torch.Size([3]), True)
    >>> from vizkit.models import PTDeep
    >>> linear_input_map(PTDeep([4, 3]))[0].shape  # logistic regression as a PTDeep
    torch.Size([4, 3])
    >>> linear_input_map(PTDeep([4, 5, 3]))
    Traceback (most recent call last):
    ...
    ValueError: PTDeep has no single linear input->class map ...
    """
    W = getattr(model, "W", None)
    if isinstance(W, torch.Tensor) and W.dim() == 2 and isinstance(getattr(model, "b", None),
                                                                   torch.Tensor):
        return W.detach().float(), model.b.detach().float()
    if isinstance(model, nn.Linear):
        return model.weight.detach().float().t(), (None if model.bias is None
                                                    else model.bias.detach().float())
    owners = [m for m in model.modules() if any(True for _ in m.parameters(recurse=False))]
    if len(owners) == 1 and isinstance(owners[0], nn.Linear):
        lin = owners[0]
        others = [type(m).__name__ for m in model.modules()
                  if m is not model and not isinstance(m, (nn.Linear, nn.Flatten, nn.Identity,
                                                           nn.Sequential, nn.Dropout))
                  and not is_input_norm(m)]
        if not others:
            return lin.weight.detach().float().t(), (None if lin.bias is None
                                                      else lin.bias.detach().float())
    n_lin = sum(isinstance(m, nn.Linear) for m in model.modules())
    raise ValueError(f"{type(model).__name__} has no single linear input->class map ({n_lin} "
                     "Linear layers and/or other parameterized layers); weight images need "
                     "logistic regression (PTLogreg) or a PTDeep with config [D, C].")


def _square_shape(D: int) -> tuple[int, int]:
    side = math.isqrt(D)
    if side * side != D:
        raise ValueError(f"cannot guess the image shape of {D} input features; pass "
                         "`image_shape=(H, W)` or `(C, H, W)`.")
    return (side, side)


def _as_tuple(shape) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"`image_shape` must be a sequence of ints. Got {shape!r} "
                        "instead.") from None


def weight_images(model_or_weight, *, image_shape: Sequence[int] | None = None,
                  labels: Sequence[str] | None = None) -> WeightImages:
    """The weights of a linear input->class map as one image per class.

    Parameters
    ----------
    model_or_weight : nn.Module, torch.Tensor or array-like
        ``PTLogreg``, ``PTDeep([D, C])``, an ``nn.Linear``, any model whose only parameterized
        layer is one ``nn.Linear``, or a bare weight matrix of shape ``[D, C]`` (the lab's
        convention) or ``[C, D]`` (torch's ``Linear.weight``); the side equal to
        ``prod(image_shape)`` is taken as ``D``.
    image_shape : tuple of int, optional
        ``(H, W)`` or ``(C, H, W)`` of one input. Default: ``model.vizkit_spec['input_shape']``,
        else a square image (784 -> 28x28).
    labels : list of str, optional
        Class names (default ``'0'``, ``'1'``, ...).

    Returns
    -------
    WeightImages
        ``images`` of shape ``(n_classes, H, W)`` and the common ``vmax``. For a model with a
        ``Normalize`` inside, the weights on raw pixels (``W / std``) are shown (module doc).

    Raises
    ------
    ValueError
        The model has no single linear input->class map (see :func:`linear_input_map`),
        ``image_shape`` does not hold ``D`` pixels (or no square image does, when it is not
        given), the model's normalization does not fit the image shape, a bare weight is not a
        2-D non-square matrix (or square without ``image_shape``), or ``labels`` does not name
        every class.
    TypeError
        ``image_shape`` is not a sequence of ints.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from vizkit.models import PTLogreg
    >>> r = weight_images(PTLogreg(784, 10))
    >>> r.images.shape, r.vmax == float(abs(r.images).max())
    ((10, 28, 28), True)

    A model that normalizes its input, ``(x - 0.5) / 0.25``, has weights 4 times larger on raw
    pixels, and a bias that absorbs the mean; the images and the bias give the model's logits:

    >>> net = PTLogreg(4, 2, normalize=(0.5, 0.25))
    >>> with torch.no_grad():
    ...     _ = net.W.copy_(torch.tensor([[1., 0.], [0., 1.], [0., 0.], [1., -1.]]))
    >>> r = weight_images(net)  # 4 inputs: a 2 x 2 image
    >>> r.images.tolist(), r.bias.tolist(), r.space
    ([[[4.0, 0.0], [0.0, 4.0]], [[0.0, 4.0], [0.0, -4.0]]], [-4.0, 0.0], 'raw input')
    >>> x = torch.rand(3, 4, generator=torch.Generator().manual_seed(0))
    >>> logits = x.double().numpy() @ r.images.reshape(2, 4).T + r.bias
    >>> bool(np.allclose(net(x).detach().numpy(), logits, atol=1e-6))
    True

    A bare ``[C, D]`` weight (torch's ``Linear.weight``) is turned to ``[D, C]`` by its shape:

    >>> weight_images(np.ones((3, 16)), labels=["a", "b", "c"]).images.shape
    (3, 4, 4)
    """
    bias = None
    space = "as given"
    if isinstance(model_or_weight, nn.Module):
        model = model_or_weight
        W, b = linear_input_map(model)  # [D, C]
        D = W.shape[0]
        if image_shape is None:
            image_shape = spec_input_shape(model)
        shape = _as_tuple(image_shape) if image_shape is not None else _square_shape(D)
        if math.prod(shape) != D:
            raise ValueError(f"`image_shape` {shape} has {math.prod(shape)} pixels, the model has "
                             f"{D} inputs.")
        norm = input_normalization(model)
        if norm is not None:
            mean, std = norm
            c = shape[0] if len(shape) == 3 else 1
            per = (lambda t: t.reshape(-1) if t.numel() == 1 else
                   t.reshape(c, 1, 1).expand(c, *shape[-2:]).reshape(-1))
            try:
                std_d, mean_d = per(std), per(mean)
            except RuntimeError:
                raise ValueError(f"the model's normalization (std of {std.numel()} values) does "
                                 f"not fit the image shape {shape}.") from None
            W = W / std_d[:, None] if std_d.numel() > 1 else W / std_d
            mean_d = mean_d.expand(D) if mean_d.numel() == 1 else mean_d
            b = None if b is None else b - mean_d @ W
        bias = None if b is None else b.numpy().astype(np.float64)
        space = "raw input"
    else:
        W = torch.as_tensor(np.asarray(model_or_weight.detach().cpu() if
                                       isinstance(model_or_weight, torch.Tensor)
                                       else model_or_weight, dtype=np.float64))
        if W.dim() != 2:
            raise ValueError(f"a weight matrix must be 2-D ([D, C] or [C, D]). Got shape "
                             f"{tuple(W.shape)} instead.")
        if image_shape is not None:
            shape = _as_tuple(image_shape)
            D = math.prod(shape)
            if W.shape[0] == D:
                pass
            elif W.shape[1] == D:
                W = W.t()
            else:
                raise ValueError(f"`image_shape` {shape} has {D} pixels; the weight matrix has "
                                 f"shape {tuple(W.shape)}.")
        else:
            if W.shape[0] == W.shape[1]:
                raise ValueError("a square weight matrix is ambiguous; pass `image_shape`.")
            if W.shape[1] > W.shape[0]:
                W = W.t()
            shape = _square_shape(W.shape[0])
    C = W.shape[1]
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    images = W.t().reshape(C, *shape).numpy().astype(np.float64)
    if labels is None:
        labels = [str(k) for k in range(C)]
    labels = [str(s) for s in labels]
    if len(labels) != C:
        raise ValueError(f"`labels` has {len(labels)} names for {C} classes.")
    return WeightImages(images=images, vmax=finite_abs_max(images), bias=bias, labels=labels,
                        space=space)
