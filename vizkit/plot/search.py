"""The hyper-parameter search's figure: mean CV score against each hyper-parameter (one panel
each). Drawn here from the rows :func:`vizkit.estimator.search_results` computes;
``vizkit.estimator.plot_search_scores`` also takes the fitted search itself."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["plot_search_scores"]

_NOT_PARAMS = ("rank", "mean_score", "std_score", "fit_seconds", "score_seconds")


def _param_label(name: str) -> str:
    """An axis label a student can read for a search column: ``h2`` is "units in hidden layer 2",
    ``dropout`` "dropout probability"; any other name is returned as it is.

    Parameters
    ----------
    name : str
        A column of :func:`vizkit.estimator.search_results`.

    Returns
    -------
    str

    Examples
    --------
    >>> _param_label("h1"), _param_label("dropout"), _param_label("lr")
    ('units in hidden layer 1', 'dropout probability', 'lr')
    """
    if len(name) > 1 and name[0] == "h" and name[1:].isdigit():
        return f"units in hidden layer {int(name[1:])}"
    return {"dropout": "dropout probability"}.get(name, name)


def plot_search_scores(results: Any, *, params: Sequence[str] | None = None,
                       axes: Sequence | None = None, errorbar_kw: dict | None = None) -> dict:
    """Plot each candidate's mean CV score (± std over folds) against each hyper-parameter.

    Parameters
    ----------
    results : list of dict
        Rows of :func:`vizkit.estimator.search_results`.
    params : list of str, optional
        Which columns to plot; default every numeric hyper-parameter column (``h1``, ``h2``,
        ``dropout``...).
    axes : sequence of Axes, optional
        One per parameter; default a new figure with the panels side by side.
    errorbar_kw : dict, optional
        Passed to ``ax.errorbar``.

    Returns
    -------
    dict
        ``fig``, ``axes``, ``params``, ``points`` (the errorbar containers) and ``best`` (the
        markers of the best candidate).

    Raises
    ------
    TypeError
        ``results`` is a fitted search, not its rows.
    ValueError
        ``results`` is empty; there is no numeric hyper-parameter column to plot; ``params``
        names a column the rows do not have; ``axes`` does not hold one axes per parameter.

    See Also
    --------
    vizkit.estimator.search_results : The rows of a fitted search.
    vizkit.estimator.plot_search_scores : The same figure from the fitted search.

    Examples
    --------
    Three candidates of a search over the hidden width ``h1`` and the dropout rate (rows as
    :func:`vizkit.estimator.search_results` makes them); the best, ``h1=64``, is starred:

    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> rows = [{"rank": 1, "h1": 64, "dropout": 0.1, "mean_score": 0.93, "std_score": 0.01},
    ...         {"rank": 2, "h1": 16, "dropout": 0.5, "mean_score": 0.88, "std_score": 0.02},
    ...         {"rank": 3, "h1": 4, "dropout": 0.0, "mean_score": 0.71, "std_score": 0.05}]
    >>> out = plot_search_scores(rows)
    >>> out["params"], [ax.get_xlabel() for ax in out["axes"]]
    (['h1', 'dropout'], ['units in hidden layer 1', 'dropout probability'])
    >>> out["best"][0].get_xydata().tolist()
    [[64.0, 0.93]]
    >>> plot_search_scores(rows, params=["lr"])
    Traceback (most recent call last):
    ...
    ValueError: `params` ['lr'] are not columns of the results; columns: rank, h1, dropout, mean_score, std_score.
    >>> plt.close("all")
    """
    if hasattr(results, "cv_results_"):
        raise TypeError("`results` must be the rows of vizkit.estimator.search_results(search); "
                        "vizkit.estimator.plot_search_scores takes the fitted search itself.")
    rows = list(results)
    if not rows:
        raise ValueError("`results` has no candidates to plot.")
    if params is None:
        params = [k for k in rows[0] if k not in _NOT_PARAMS and
                  all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                      for r in rows)]
    params = list(params)
    if not params:
        raise ValueError("no numeric hyper-parameter column to plot; pass `params`.")
    missing = [p for p in params if p not in rows[0]]
    if missing:
        raise ValueError(f"`params` {missing} are not columns of the results; columns: "
                         f"{', '.join(rows[0])}.")
    if axes is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(params), figsize=(3.2 * len(params), 3.0),
                                 sharey=True, layout="constrained", squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes) != len(params):
            raise ValueError(f"`axes` must hold one Axes per parameter ({len(params)}). Got "
                             f"{len(axes)} instead.")
        fig = axes[0].figure
    mean = np.array([r["mean_score"] for r in rows], dtype=float)
    std = np.array([r["std_score"] for r in rows], dtype=float)
    best = int(np.nanargmax(mean))
    out: dict = {"fig": fig, "axes": axes, "params": params, "points": [], "best": []}
    for ax, p in zip(axes, params):
        x = np.array([r[p] for r in rows], dtype=float)
        kw = {"fmt": "o", "color": "#1f77b4", "ecolor": "0.6", "capsize": 2, "markersize": 4}
        kw.update(errorbar_kw or {})
        out["points"].append(ax.errorbar(x, mean, yerr=std, **kw))
        out["best"].append(ax.plot([x[best]], [mean[best]], marker="*", markersize=12,
                                   color="#d62728", linestyle="none", zorder=5,
                                   label="best")[0])
        if not ax.get_xlabel():
            ax.set_xlabel(_param_label(p))
    if not axes[0].get_ylabel():
        axes[0].set_ylabel("mean CV accuracy")
    axes[0].legend(fontsize=12, frameon=False)
    return out
