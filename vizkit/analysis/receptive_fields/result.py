"""What the propagated and gradient receptive fields return: :class:`ReceptiveFields`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ReceptiveFields"]


@dataclass
class ReceptiveFields:
    """Receptive fields of some units of one layer.

    Attributes
    ----------
    fields : ndarray of shape (U, H, W)
        One field per unit in raw-input space (``(U, C, H, W)`` for multi-channel inputs,
        ``(U, D)`` for vector inputs).
    units : list
        The unit of each field (an int, or ``(channel, row, col)`` for a conv position).
    layer : str
        The layer the units belong to.
    method : str
        ``'propagated'``, ``'propagated, mask-gated'``, ``'propagated, mean-gated'`` or
        ``'gradient'``.
    vmax : float
        ``max |fields|``, for one symmetric colour scale.
    n_examples : int, default=0
        Examples averaged over (0 for the ungated propagated fields).
    info : dict, default={}
        What else the method reports: ``{'layer_index': i}`` (the Linear layer, counted from
        1) for propagated fields; ``{'reduce': 'center' or 'mean', 'conv': bool}`` for gradient
        fields.
    """

    fields: np.ndarray
    units: list
    layer: str
    method: str
    vmax: float
    n_examples: int = 0
    info: dict = field(default_factory=dict)

