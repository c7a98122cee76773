"""What a figure family returns: captioned figures with the arrays they draw.

Every ``vizkit.figures.<family>.figures(model, split, *, meta=None, seed=0)`` returns a list of
:class:`Figure`; a family that does not fit the model or the data raises :class:`NotApplicable`
(its ``applies(model, split)`` gives the same reason without drawing). Both are defined here, in
the drawing layer, so that plotters can build them; :mod:`vizkit.figures` re-exports them.

Examples
--------
>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> f = Figure("demo", fig, "A caption.", data={"x": np.arange(3)})
>>> sorted(f.data), f.id
(['x'], 'demo')
>>> plt.close(fig)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Figure", "NotApplicable"]


class NotApplicable(ValueError):
    """This figure family does not fit this model or data (the message says why)."""


@dataclass
class Figure:
    """A finished figure.

    Attributes
    ----------
    id : str
        Stable identifier, usable as a file name stem.
    fig : matplotlib.figure.Figure
        The drawn figure.
    caption : str
        What the figure shows and what to look at.
    data : dict of str to ndarray
        The arrays the figure draws, keyed by the analysis result's field names (empty when the
        family records none).
    """

    id: str
    fig: Any
    caption: str
    data: dict[str, np.ndarray] = field(default_factory=dict)
