"""Name suggestions shared by the estimator's parameter checks."""

from __future__ import annotations

import difflib
from typing import Sequence

__all__ = ["did_you_mean"]


def did_you_mean(bad: str, valid: Sequence[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest valid name, or ``""`` when none is close.

    Examples
    --------
    >>> did_you_mean("epoch", ["epochs", "lr"])
    " Did you mean 'epochs'?"
    """
    near = difflib.get_close_matches(bad, list(valid), n=1)
    return f" Did you mean {near[0]!r}?" if near else ""
