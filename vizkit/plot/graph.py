"""The lab's two drawing helpers (seed 002's ``data.py``), drawing on the current axes.

:func:`graph_data` scatters labelled 2D points (colour = true class, circle = right, square =
wrong); :func:`plot_field` shades a computed decision surface's scalar field and draws its
``offset`` level line: the drawing half of the lab's ``graph_surface``, which
:func:`vizkit.lab.data.graph_surface` completes by evaluating the function on a grid first
(:func:`vizkit.analysis.decision_surface.decision_surface`). Both draw on ``ax`` (default: the
current axes, ``plt.gca()``, the lab's pyplot contract), return what they drew, and leave the
caller's labels and title alone.

Examples
--------
>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> X = np.random.default_rng(0).normal(size=(50, 2)); Y_ = (X[:, 0] > X[:, 1]).astype(int)
>>> art = graph_data(X, Y_, Y_, special=[0, 1])
>>> sorted(art)
['correct', 'special', 'wrong']
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._axes import current_ax
from .style import class_colors

__all__ = ["graph_data", "plot_field", "SURFACE_CMAP"]

#: Colour map of :func:`plot_field`'s shading (the lab's default look: dark to light).
SURFACE_CMAP = "gray"


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def plot_field(surf, offset: float | None = 0.5, *, ax=None, cmap: Any = None,
               colorbar: bool | str = False, colorbar_kw: dict | None = None,
               pcolormesh_kw: dict | None = None, contour_kw: dict | None = None) -> dict:
    """Shade a decision surface's scalar field and draw its ``offset`` level line (the drawing of
    lab 0's ``graph_surface``).

    Parameters
    ----------
    surf : vizkit.analysis.decision_surface.DecisionSurface
        The evaluated grid; the shaded value is ``surf.field()``: P(class 1) for two classes, a
        binary score as is, the confidence for more classes.
    offset : float or None, default=0.5
        The level drawn as a contour and put in the middle of the colour scale (``None``: no
        contour, scale from the values). Use 0 for scores.
    ax : matplotlib Axes, optional
        Default: the current axes (``plt.gca()``), the lab's pyplot contract.
    cmap : colormap or str, default='gray'
    colorbar : bool or str, default=False
        Add a colour bar of the shading beside ``ax``; a string is its label (``True``:
        ``'P(class 1)'`` for a two-class model's probabilities, ``'confidence'`` for more
        classes, else ``'score'``, with the contour level).
    colorbar_kw : dict, optional
        Passed on to ``Figure.colorbar`` (e.g. ``{'location': 'bottom'}``).
    pcolormesh_kw, contour_kw : dict, optional
        Passed on to ``ax.pcolormesh`` and ``ax.contour``.

    Returns
    -------
    dict
        ``'mesh'`` (QuadMesh), ``'contour'`` (ContourSet or None: no ``offset``, or the
        field never crosses it), ``'surface'`` (the surface drawn), ``'colorbar'`` (Colorbar
        or None).

    See Also
    --------
    vizkit.lab.data.graph_surface : The lab's function: evaluates, then calls this.
    vizkit.plot.decision_surface.plot_decision_regions : Argmax regions for any number of
        classes.

    Examples
    --------
    A logistic model of the plane, P(class 1) = sigmoid(x0 + x1): the 0.5 line is the
    diagonal ``x0 + x1 = 0``, and the grey scale is centred on 0.5.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from vizkit.analysis.decision_surface import decision_surface
    >>> surf = decision_surface(lambda P: 1 / (1 + np.exp(-P.sum(1))), ((-2, -2), (2, 2)),
    ...                         grid_resolution=41)
    >>> fig, ax = plt.subplots()
    >>> out = plot_field(surf, offset=0.5, ax=ax, colorbar=True)
    >>> out["contour"].levels.tolist(), out["colorbar"].ax.get_ylabel()
    ([0.5], 'P(class 1) (line at 0.5)')
    >>> lo, hi = out["mesh"].get_clim(); bool(np.isclose(lo + hi, 1.0))  # symmetric about 0.5
    True
    >>> plt.close("all")
    """
    ax = current_ax(ax)
    values = surf.field()
    delta = 0.0 if offset is None else float(offset)
    finite = values[np.isfinite(values)]
    if offset is None:
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    else:
        maxval = float(np.abs(finite - delta).max()) if finite.size else 1.0
        maxval = maxval if maxval > 0 else 1.0
        vmin, vmax = delta - maxval, delta + maxval
    kw = {"cmap": SURFACE_CMAP if cmap is None else cmap, "vmin": vmin, "vmax": vmax,
          "shading": "auto", "rasterized": True, "zorder": 0}
    kw.update(pcolormesh_kw or {})
    mesh = ax.pcolormesh(surf.xx, surf.yy, values, **kw)
    contour = None
    if offset is not None and finite.size and finite.min() < delta < finite.max():
        ckw = {"colors": "black", "linewidths": 1.0, "zorder": 1}
        ckw.update(contour_kw or {})
        contour = ax.contour(surf.xx, surf.yy, values, levels=[delta], **ckw)
    cbar = None
    if colorbar is not False and colorbar is not None:
        cbar = ax.get_figure().colorbar(mesh, ax=ax, **{"shrink": 0.85, **(colorbar_kw or {})})
        cbar.set_label(colorbar if isinstance(colorbar, str) else _field_label(surf, offset),
                       fontsize=12)
        cbar.ax.tick_params(labelsize=12)
        if contour is not None:  # the contour's level marked on the bar
            cbar.add_lines([delta], ["black"], [1.0])
    return {"mesh": mesh, "contour": contour, "surface": surf, "colorbar": cbar}


def _field_label(surf, offset: float | None) -> str:
    """What :meth:`DecisionSurface.field` holds, for a colour bar label."""
    if surf.probs is not None:
        text = "P(class 1)" if surf.n_classes == 2 else "confidence"
    else:
        text = "score"
    return text + ("" if offset is None else f" (line at {offset:g})")


def graph_data(X: Any, Y_: Any, Y: Any, special: Sequence[int] | None = None, *, ax=None,
               colors: Sequence | None = None, size: float = 20.0, scatter_kw: dict | None = None
               ) -> dict:
    """Scatter labelled 2D data: colour = true class, ``o`` = correct, ``s`` = wrong (lab 0).

    Parameters
    ----------
    X : array-like of shape (N, 2)
        The points (numpy arrays or torch tensors).
    Y_ : array-like of int of shape (N,)
        True classes (the colour).
    Y : array-like of int of shape (N,)
        Predicted classes (the marker: circle where ``Y == Y_``, square where not).
    special : sequence of int, optional
        Indices of points drawn with double size (e.g. ``KSVMWrap.support``) and ringed by an
        unfilled black circle larger than the point, visible even when most points are special.
    ax : matplotlib Axes, optional
        Default: the current axes (``plt.gca()``), the lab's pyplot contract.
    colors : sequence of colours, optional
        One per class; default :func:`vizkit.plot.style.class_colors`.
    size : float, default=20
        Marker area (points squared) of ordinary points; special points get ``2 * size``.
    scatter_kw : dict, optional
        Passed on to both ``ax.scatter`` calls.

    Returns
    -------
    dict
        ``'correct'`` and ``'wrong'`` PathCollections (``get_sizes()`` shows the special points),
        ``'special'`` (the rings' PathCollection, or None).

    Raises
    ------
    ValueError
        ``X`` is not ``(N, 2)`` or ``Y_``/``Y`` do not have ``N`` entries; ``colors`` has fewer
        entries than classes; a ``special`` index is outside the ``N`` points.

    Examples
    --------
    Four points, the last one misclassified, the first a support vector:

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> X = [[0, 0], [1, 0], [0, 1], [1, 1]]
    >>> fig, ax = plt.subplots()
    >>> art = graph_data(X, [0, 0, 1, 1], [0, 0, 1, 0], special=[0], ax=ax)
    >>> len(art["correct"].get_offsets()), len(art["wrong"].get_offsets())
    (3, 1)
    >>> art["correct"].get_sizes().tolist()  # the special point drawn at twice the size
    [40.0, 20.0, 20.0]
    >>> graph_data(X, [0, 0, 1], [0, 0, 1], ax=ax)
    Traceback (most recent call last):
    ...
    ValueError: graph_data needs X of shape (N, 2) and Y_, Y of shape (N,). Got (4, 2), (3,) and (3,) instead.
    >>> plt.close("all")
    """
    ax = current_ax(ax)
    X = _numpy(X).astype(np.float64)
    Y_ = _numpy(Y_).astype(np.int64).reshape(-1)
    Y = _numpy(Y).astype(np.int64).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2 or not (len(X) == len(Y_) == len(Y)):
        raise ValueError(f"graph_data needs X of shape (N, 2) and Y_, Y of shape (N,). Got "
                         f"{X.shape}, {Y_.shape} and {Y.shape} instead.")
    n_classes = int(max(Y_.max(initial=0), Y.max(initial=0)) + 1)
    palette = class_colors(max(n_classes, 2)) if colors is None else list(colors)
    if len(palette) < n_classes:
        raise ValueError(f"`colors` has {len(palette)} entries for {n_classes} classes.")
    sizes = np.full(len(X), float(size))
    if special is not None and len(special):
        special = np.asarray(special, dtype=np.int64)
        if special.min() < -len(X) or special.max() >= len(X):
            raise ValueError(f"`special` indices must be in [0, {len(X) - 1}].")
        sizes[special] = 2.0 * float(size)
    face = np.array([palette[c] for c in Y_]) if len(X) else np.zeros((0, 3))
    out = {}
    for key, mask, marker in (("correct", Y == Y_, "o"), ("wrong", Y != Y_, "s")):
        kw = {"edgecolors": "black", "linewidths": 0.5, "marker": marker, "zorder": 3}
        kw.update(scatter_kw or {})
        out[key] = ax.scatter(X[mask, 0], X[mask, 1], s=sizes[mask], c=face[mask], **kw)
    out["special"] = None
    if special is not None and len(special):
        # a ring about twice the special marker's diameter, so it shows around any marker
        out["special"] = ax.scatter(X[special, 0], X[special, 1], s=4.5 * sizes[special],
                                    facecolors="none", edgecolors="black", linewidths=1.1,
                                    marker="o", zorder=4)
    return out
