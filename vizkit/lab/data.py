"""The lab's ``data`` module: 2D toy data, the two drawing helpers and the performance measures.

In the lab's order: ``Random2DGaussian``, ``sample_gauss_2d``, ``sample_gmm_2d`` (data),
``graph_surface``, ``graph_data`` (drawing), ``class_to_onehot``, ``eval_perf_binary``,
``eval_perf_multi``, ``eval_AP`` (measures). All are vizkit's own functions
(:mod:`vizkit.data`, :mod:`vizkit.analysis`, :mod:`vizkit.plot`, :mod:`vizkit.train`) under the
lab's names.

The lab seeds NumPy's global generator (``np.random.seed(100)``) before sampling; here
``seed=None`` draws the seed from that generator, so the lab's habit gives the same data every
run, and ``seed=100`` does so without global state.

Examples
--------
>>> import numpy as np
>>> X, Y_ = sample_gmm_2d(4, 2, 30, seed=0)
>>> X.shape, Y_.shape
((120, 2), (120,))
>>> np.random.seed(100); A, _ = sample_gmm_2d(6, 2, 10)
>>> np.random.seed(100); B, _ = sample_gmm_2d(6, 2, 10)
>>> bool((A == B).all())
True
"""

from __future__ import annotations

import numpy as np

from .. import data as _data
from ..plot.graph import graph_data, plot_field
from ..train import eval_AP, eval_perf_binary, eval_perf_multi

__all__ = ["Random2DGaussian", "sample_gauss_2d", "sample_gmm_2d", "graph_surface", "graph_data",
           "class_to_onehot", "eval_perf_binary", "eval_perf_multi", "eval_AP"]

Random2DGaussian = _data.Random2DGaussian


def _seed(seed):
    return int(np.random.randint(0, 2**31 - 1)) if seed is None else seed


def sample_gauss_2d(C: int, N: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """``N`` points from each of ``C`` random Gaussians (:func:`vizkit.data.sample_gauss_2d`).

    ``seed=None`` takes the seed from NumPy's global generator (the lab's ``np.random.seed``).

    Parameters
    ----------
    C : int
        Number of Gaussians, one per class.
    N : int
        Points per Gaussian.
    seed : int, optional
        Seeds the sampling; None: drawn from NumPy's global generator.

    Returns
    -------
    X : ndarray of shape (C*N, 2)
        The points.
    Y_ : ndarray of int of shape (C*N,)
        Their classes.

    Examples
    --------
    >>> X, Y_ = sample_gauss_2d(3, 10, seed=0)
    >>> X.shape, sorted(set(Y_.tolist()))
    ((30, 2), [0, 1, 2])
    """
    return _data.sample_gauss_2d(C, N, seed=_seed(seed))


def sample_gmm_2d(K: int, C: int, N: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """The lab's ``sample_gmm_2d(K, C, N)``: ``X`` [K*N, 2] and class indices ``Y_`` [K*N].

    ``K`` random Gaussians, each given a random class of ``0 .. C-1``, ``N`` points from each
    (:func:`vizkit.data.sample_gmm_2d`). ``seed=None`` takes the seed from NumPy's global
    generator, so ``np.random.seed(100)`` before the call makes it reproducible.

    Parameters
    ----------
    K : int
        Number of Gaussians.
    C : int
        Number of classes (``K >= C``).
    N : int
        Points per Gaussian.
    seed : int, optional
        Seeds the sampling; None: drawn from NumPy's global generator.

    Returns
    -------
    X : ndarray of shape (K*N, 2)
        The points.
    Y_ : ndarray of int of shape (K*N,)
        Their classes.

    Examples
    --------
    >>> import numpy as np
    >>> np.random.seed(100)
    >>> X1, _ = sample_gmm_2d(6, 2, 10)
    >>> np.random.seed(100)
    >>> X2, _ = sample_gmm_2d(6, 2, 10)
    >>> X1.shape, bool((X1 == X2).all())
    ((60, 2), True)
    """
    return _data.sample_gmm_2d(K, C, N, seed=_seed(seed))


def graph_surface(fun, rect=None, offset: float | None = 0.5, width: int = 256,
                  height: int = 256, **plot_kw) -> dict:
    """The lab's ``graph_surface``: shade a function of the plane over ``rect`` and draw its
    ``offset`` level line, on the current axes.

    ``fun`` (a function of ``(N, 2)`` points, an ``nn.Module`` or an estimator) is evaluated on a
    ``width`` x ``height`` grid by :func:`vizkit.analysis.decision_surface.decision_surface`
    (a computed ``DecisionSurface`` is drawn as it is, without ``rect``), then drawn by
    :func:`vizkit.plot.graph.plot_field`, whose keywords (``ax``, ``cmap``, ``colorbar``,
    ``colorbar_kw``, ``pcolormesh_kw``, ``contour_kw``) ``plot_kw`` passes on.

    Parameters
    ----------
    fun : callable, nn.Module, estimator or DecisionSurface
        What to shade: a function of an ``(N, 2)`` array returning ``(N,)`` values (the lab's
        ``decfun``), a model or an estimator (see
        :func:`~vizkit.analysis.decision_surface.decision_surface`), or a surface already
        computed.
    rect : ((x_min, y_min), (x_max, y_max)), optional
        The rectangle to cover, as the lab's ``(np.min(X, 0), np.max(X, 0))``; required unless
        ``fun`` is a ``DecisionSurface``.
    offset : float or None, default=0.5
        The level line drawn, and the middle of the colour scale: 0.5 for a probability, 0 for
        a score. ``None``: no line, the scale spans the values.
    width, height : int, default=256
        Grid points along x and along y.
    **plot_kw
        Passed on to :func:`vizkit.plot.graph.plot_field`.

    Returns
    -------
    dict
        ``'mesh'``, ``'contour'``, ``'surface'`` (the ``DecisionSurface`` drawn), ``'colorbar'``.

    Raises
    ------
    ValueError
        ``rect`` is missing for a ``fun`` that is not a ``DecisionSurface`` (and the errors of
        :func:`~vizkit.analysis.decision_surface.decision_surface` for a bad rectangle or grid).

    Examples
    --------
    The score ``x - y`` is positive below the diagonal; its level line at 0 is the diagonal:

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> art = graph_surface(lambda P: P[:, 0] - P[:, 1], ((-1, -1), (1, 1)), offset=0, width=8,
    ...                     height=8)
    >>> art["surface"].shape, art["surface"].response_method
    ((8, 8), 'scores')
    >>> art["mesh"].get_clim()  # centred on the offset
    (-2.0, 2.0)
    >>> art["contour"].levels.tolist()
    [0.0]
    >>> plt.close("all")
    """
    from ..analysis.decision_surface import DecisionSurface, decision_surface

    if isinstance(fun, DecisionSurface):
        surf = fun
    else:
        if rect is None:
            raise ValueError("`rect` is needed unless `fun` is a DecisionSurface.")
        surf = decision_surface(fun, rect, grid_resolution=(width, height))
    return plot_field(surf, offset, **plot_kw)


def class_to_onehot(Y) -> np.ndarray:
    """Class indices ``[N]`` to the lab's one-hot matrix ``Yoh_`` ``[N, C]``, ``C = max(Y) + 1``.

    Parameters
    ----------
    Y : array-like of int of shape (N,)
        Class indices, >= 0.

    Returns
    -------
    ndarray of float of shape (N, C)
        One 1 per row, at the row's class.

    Raises
    ------
    ValueError
        ``Y`` is not a 1D array of non-negative integers.

    Examples
    --------
    >>> class_to_onehot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    Y = np.asarray(Y)
    if Y.ndim != 1 or not np.issubdtype(Y.dtype, np.integer) or (Y.size and Y.min() < 0):
        raise ValueError(f"`Y` must be a 1D array of class indices >= 0. Got {Y.dtype} array of "
                         f"shape {Y.shape} instead.")
    return np.eye(int(Y.max(initial=-1)) + 1)[Y]
