"""What the Displays share (private to figures/): scikit-learn's compute-once, plot-many contract.

A ``*Display`` lives in its family's module: it computes with :mod:`vizkit.analysis` and draws
with :mod:`vizkit.plot`. It keeps the computed result; ``from_model(model, data, ...)`` computes
it once and draws, ``plot(ax=None, ...)`` draws it again as often as wanted (``ax=None``: a new
figure), sets ``ax_`` and ``figure_`` and returns the display itself.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DisplayMixin", "as_numpy"]


class DisplayMixin:
    """``ax_`` and ``figure_`` of the last :meth:`plot` (``None`` before the first)."""

    ax_ = None
    figure_ = None

    def _drawn(self, ax):
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def as_numpy(a) -> np.ndarray | None:
    """A tensor or array-like as a NumPy array (``None`` stays ``None``)."""
    if a is None:
        return None
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)
