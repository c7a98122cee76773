"""Small array helpers the analyses share (private).

Examples
--------
>>> import numpy as np
>>> finite_abs_max(np.array([1.0, -3.0, np.nan, np.inf])), finite_abs_max(np.array([np.nan]))
(3.0, 0.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["finite_abs_max"]


def finite_abs_max(a: np.ndarray) -> float:
    """The largest ``|value|`` among the finite values of ``a`` (0.0 when there is none): the
    half-width of one symmetric colour scale."""
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0
