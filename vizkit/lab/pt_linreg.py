"""The lab's ``pt_linreg``: the line ``y = a x + b`` through data points by gradient descent.

In the lab's order: ``train`` (the loss ``sum (Y - a X - b)^2`` minimized step by step from a
random ``(a, b)``, any number of points) and ``gradients`` (at one ``(a, b)``: the gradients
autograd computes next to the hand-derived ``dL/da = -2 sum (Y - aX - b) X`` and
``dL/db = -2 sum (Y - aX - b)``), which :func:`vizkit.models.linreg_gradients` computes.

Examples
--------
>>> a, b, rows = train([1, 2], [3, 5], param_niter=200, param_delta=0.1, seed=0)
>>> round(a, 3), round(b, 3)
(2.0, 1.0)
>>> g = gradients([1, 2], [3, 5], 0.0, 0.0)
>>> g["grad_a"] == g["autograd_a"], g["grad_b"] == g["autograd_b"]
(True, True)
"""

from __future__ import annotations

import numpy as np

from .. import models as _models

__all__ = ["train", "gradients"]

gradients = _models.linreg_gradients


def train(X, Y, param_niter: int = 100, param_delta: float = 0.1, *, seed: int | None = 0,
          verbose: bool = False) -> tuple[float, float, list]:
    """Fit ``Y = a X + b`` by ``param_niter`` steps of gradient descent on the summed squares.

    Each step takes autograd's gradients; the hand-derived ones are computed beside them.

    Parameters
    ----------
    X, Y : array-like of shape (N,)
        Inputs and targets.
    param_niter : int, default=100
        Gradient steps.
    param_delta : float, default=0.1
        The step. The loss is a sum, so large ``N`` needs a smaller step.
    seed : int, optional
        Seeds the random start ``a, b ~ N(0, 1)`` (as the lab's ``torch.randn``).
    verbose : bool, default=False
        Print each step as the lab does.

    Returns
    -------
    a, b : float
        The line after the last step.
    rows : list of dict
        One per step: ``step, a, b, loss, grad_a, grad_b, autograd_a, autograd_b`` at the
        ``(a, b)`` before that step.

    Examples
    --------
    >>> a, b, rows = train([1, 2, 3], [3, 5, 7], param_niter=500, param_delta=0.02)
    >>> round(a, 3), round(b, 3), len(rows)
    (2.0, 1.0, 500)
    """
    a, b = (float(v) for v in np.random.default_rng(seed).standard_normal(2))
    rows = []
    for step in range(int(param_niter)):
        g = gradients(X, Y, a, b)
        rows.append({"step": step, "a": a, "b": b, **g})
        if verbose:
            print(f"step: {step}, loss: {g['loss']:.6g}, a: {a:.6g}, b: {b:.6g}, "
                  f"grad a: {g['autograd_a']:.6g} (by hand {g['grad_a']:.6g}), "
                  f"grad b: {g['autograd_b']:.6g} (by hand {g['grad_b']:.6g})")
        a, b = a - param_delta * g["autograd_a"], b - param_delta * g["autograd_b"]
    return a, b, rows
