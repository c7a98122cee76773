"""Conv geometry: the input region a conv unit can see, from the layer arithmetic.

:func:`theoretical_receptive_field` gives a conv layer's field size, jump and start through
``Conv2d`` / ``MaxPool2d`` / ``AvgPool2d``; :func:`conv_stages` lists the layers that change it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from torch import nn

from ..._torch import model_input_shape, resolve_named
from .._layers import ELEMENTWISE, is_input_norm

__all__ = ["TheoreticalRF", "theoretical_receptive_field", "conv_stages"]


@dataclass
class TheoreticalRF:
    """The input region seen by a unit of a conv layer (per spatial dimension: rows, cols).

    Attributes
    ----------
    size : (int, int)
        Receptive-field size in input pixels.
    jump : (int, int)
        Distance in input pixels between neighbouring units of the layer (cumulative stride).
    start : (float, float)
        Centre, in input pixel coordinates, of the field of unit ``(0, 0)``.
    layer : str
        The layer measured.
    input_shape : tuple of int
        ``(C, H, W)`` of the input.
    output_shape : (int, int)
        Height and width of the layer's output.
    """

    size: tuple
    jump: tuple
    start: tuple
    layer: str
    input_shape: tuple
    output_shape: tuple

    def center(self, row: int, col: int) -> tuple[float, float]:
        """Centre of unit ``(row, col)``'s field in input pixel coordinates."""
        return (self.start[0] + row * self.jump[0], self.start[1] + col * self.jump[1])

    def box(self, row: int | None = None, col: int | None = None, *,
            clip: bool = True) -> tuple[int, int, int, int]:
        """``(row0, col0, row1, col1)`` (end exclusive) of the pixels unit ``(row, col)`` sees;
        default: the unit at the centre of the layer's output. Clipped to the image unless
        ``clip=False`` (padding makes fields reach past the border)."""
        row = self.output_shape[0] // 2 if row is None else int(row)
        col = self.output_shape[1] // 2 if col is None else int(col)
        (cr, cc) = self.center(row, col)
        r0 = int(math.floor(cr - (self.size[0] - 1) / 2 + 1e-9))
        c0 = int(math.floor(cc - (self.size[1] - 1) / 2 + 1e-9))
        r1, c1 = r0 + self.size[0], c0 + self.size[1]
        if clip:
            H, W = self.input_shape[-2], self.input_shape[-1]
            r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, H), min(c1, W)
        return (r0, c0, r1, c1)


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def theoretical_receptive_field(model: nn.Module, layer: str | nn.Module, *,
                                input_shape: Sequence[int] | None = None) -> TheoreticalRF:
    """Receptive-field size, jump and start of the units of a conv layer, by layer arithmetic.

    The leaf modules are taken in registration order (true for vizkit's ConvNet and RBFNet and
    for ``nn.Sequential`` models) up to and including ``layer``. ``Conv2d``, ``MaxPool2d`` and
    ``AvgPool2d`` change the field (``size += (k_eff - 1) * jump``, ``start += ((k_eff - 1) / 2
    - padding) * jump``, ``jump *= stride``, with ``k_eff = dilation * (k - 1) + 1``);
    element-wise layers (batch norm, activations, dropout, input normalization) pass it
    through. A ``Flatten``, ``Linear`` or adaptive pooling before ``layer`` means its units see
    the whole input: that is an error, not a field.

    Parameters
    ----------
    model : nn.Module
        A CNN whose leaf modules run in registration order.
    layer : str or nn.Module
        The conv (or pooling, or element-wise) layer whose units are measured: a dotted name
        or the module itself.
    input_shape : (C, H, W), optional
        Default: ``model.vizkit_spec['input_shape']``.

    Returns
    -------
    TheoreticalRF
        ``size``, ``jump`` and ``start`` per spatial dimension, and the layer's
        ``output_shape``; ``box(row, col)`` gives the pixels one unit sees.

    Raises
    ------
    ValueError
        ``input_shape`` is not ``(C, H, W)``, ``layer`` is not a layer of the model (or has no
        leaf module), a ``Flatten``, ``Linear`` or adaptive pooling comes before it, a pooling
        uses ``ceil_mode``, or a module on the way is none of the layers above.

    See Also
    --------
    gradient_receptive_fields : the pixels that actually move a unit, for given inputs.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))
    >>> rf = theoretical_receptive_field(net, "1", input_shape=(1, 8, 8))
    >>> rf.size, rf.jump, rf.start
    ((4, 4), (2, 2), (0.5, 0.5))

    Checked by a second route: the input gradient of the centre unit of a 3 x 3 conv and a
    2 x 2 average pooling is non-zero on exactly the 4 x 4 box of pixels the arithmetic gives:

    >>> import numpy as np, torch
    >>> from vizkit.analysis import gradient_receptive_fields
    >>> net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.AvgPool2d(2))
    >>> rf = theoretical_receptive_field(net, "1", input_shape=(1, 8, 8))
    >>> rf.output_shape, rf.box()  # (row0, col0, row1, col1) of unit (2, 2), end exclusive
    ((4, 4), (3, 3, 7, 7))
    >>> g = gradient_receptive_fields(net, "1", [(0, 2, 2)], torch.rand(2, 1, 8, 8))
    >>> rows, cols = np.nonzero(g.fields[0])
    >>> int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1
    (3, 3, 7, 7)
    """
    name, target = resolve_named(model, layer)
    shape = model_input_shape(model, input_shape)
    if len(shape) != 3:
        raise ValueError(f"theoretical receptive fields need image inputs (C, H, W). Got "
                         f"{shape} instead.")
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    hw = [shape[1], shape[2]]
    leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    target_ids = {id(m) for m in target.modules()}
    hits = [k for k, (_, m) in enumerate(leaves) if id(m) in target_ids]
    found = bool(hits)
    for mname, m in leaves[: (hits[-1] + 1) if hits else 0]:
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            p = _pair(m.padding)
            d = _pair(getattr(m, "dilation", 1)) if not isinstance(m, nn.AvgPool2d) else (1, 1)
            if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) and getattr(m, "ceil_mode", False):
                raise ValueError(f"{mname}: ceil_mode pooling is not supported.")
            for a in range(2):
                ke = d[a] * (k[a] - 1) + 1
                size[a] += (ke - 1) * jump[a]
                start[a] += ((ke - 1) / 2 - p[a]) * jump[a]
                jump[a] *= s[a]
                hw[a] = (hw[a] + 2 * p[a] - ke) // s[a] + 1
        elif isinstance(m, (nn.Flatten, nn.Linear, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            raise ValueError(f"layer {name!r} comes after {mname!r} ({type(m).__name__}): its "
                             "units see the whole input, so there is no conv receptive field; "
                             "pick a conv layer (e.g. 'features.0').")
        elif not isinstance(m, (nn.BatchNorm2d, nn.Dropout, nn.Dropout2d, nn.Identity)
                            + ELEMENTWISE) and not is_input_norm(m):
            raise ValueError(f"cannot pass {mname!r} ({type(m).__name__}) in receptive-field "
                             "arithmetic.")
    if not found:
        raise ValueError(f"layer {name!r} has no leaf module to measure.")
    return TheoreticalRF(size=tuple(size), jump=tuple(jump), start=tuple(start), layer=name,
                         input_shape=shape, output_shape=tuple(hw))


def conv_stages(model: nn.Module) -> list[str]:
    """Names of the conv and pooling layers, in order (each changes the receptive field).

    Parameters
    ----------
    model : nn.Module
        Any model.

    Returns
    -------
    list of str
        Dotted names of its ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` modules, in registration
        order; empty for a model without them.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 4, 3),
    ...                     nn.Flatten(), nn.Linear(4, 2))
    >>> conv_stages(net)
    ['0', '2', '3']
    >>> [theoretical_receptive_field(net, n, input_shape=(1, 10, 10)).size for n in conv_stages(net)]
    [(3, 3), (4, 4), (8, 8)]
    """
    return [n for n, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]
