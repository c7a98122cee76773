"""Seed 004's hyper-parameter search: ``RandomizedSearchCV`` over :class:`NetClassifier`."""

from __future__ import annotations

import csv
import io
from typing import Any, Mapping

import numpy as np
from sklearn.model_selection import ParameterSampler, RandomizedSearchCV, StratifiedKFold

from ._names import did_you_mean
from ._net import NetClassifier

__all__ = ["HiddenSizes", "default_space", "search", "search_results", "format_results",
           "plain_params", "results_csv", "ProgressSearchCV", "plot_search_scores"]


class HiddenSizes:
    """Hidden-layer sizes drawn as seed 004 did: ``h1 ~ U(a, b)``, ``h2 ~ U(a/2, b/2)``, ...

    Each layer is a :func:`scipy.stats.randint` draw over ``[low * r**i, high * r**i]`` (``r`` =
    ``ratio``), so on average every layer is ``ratio`` times the one before. An object with
    ``rvs(random_state=...)``, as :class:`~sklearn.model_selection.RandomizedSearchCV` expects.

    Parameters
    ----------
    low, high : int
        Bounds of the first hidden layer (both included).
    n_layers : int, default=2
        Number of hidden layers drawn.
    ratio : float, default=0.5
        Each layer's bounds are the previous layer's times ``ratio``.

    Raises
    ------
    ValueError
        Not ``1 <= low <= high``, ``n_layers < 1`` or ``ratio <= 0``.

    Examples
    --------
    >>> HiddenSizes(100, 500).rvs(random_state=0)
    (272, 97)
    """

    def __init__(self, low: int = 100, high: int = 500, *, n_layers: int = 2,
                 ratio: float = 0.5) -> None:
        if not 1 <= low <= high:
            raise ValueError(f"HiddenSizes needs 1 <= low <= high. Got low={low!r}, high={high!r} "
                             "instead.")
        if n_layers < 1 or not 0 < ratio:
            raise ValueError(f"HiddenSizes needs n_layers >= 1 and ratio > 0. Got n_layers="
                             f"{n_layers!r}, ratio={ratio!r} instead.")
        from scipy.stats import randint

        self.low, self.high, self.n_layers, self.ratio = int(low), int(high), int(n_layers), ratio
        self._dists = []
        for i in range(self.n_layers):
            lo = max(1, round(self.low * ratio ** i))
            hi = max(lo, round(self.high * ratio ** i))
            self._dists.append(randint(lo, hi + 1))

    def rvs(self, size=None, random_state=None) -> tuple:
        from sklearn.utils import check_random_state

        rng = check_random_state(random_state)
        return tuple(int(d.rvs(random_state=rng)) for d in self._dists)

    def __repr__(self) -> str:
        return (f"HiddenSizes({self.low}, {self.high}, n_layers={self.n_layers}, "
                f"ratio={self.ratio})")


def default_space(low: int = 100, high: int = 500) -> dict:
    """Seed 004's search space: ``hidden = (h1, h2)`` with ``h1 ~ U(low, high)``,
    ``h2 ~ U(low/2, high/2)``, and ``dropout ~ U(0, 0.8)``.

    100..500 brackets the seed's 360-187 for 784 inputs.

    Parameters
    ----------
    low, high : int, default=100, 500
        Bounds of the first hidden layer.

    Returns
    -------
    dict
        ``{"hidden": HiddenSizes, "dropout": scipy.stats.uniform}``, for :func:`search`.

    Examples
    --------
    >>> space = default_space()
    >>> space["hidden"]
    HiddenSizes(100, 500, n_layers=2, ratio=0.5)
    """
    from scipy.stats import uniform

    return {"hidden": HiddenSizes(low, high), "dropout": uniform(0.0, 0.8)}


class ProgressSearchCV(RandomizedSearchCV):
    """:class:`~sklearn.model_selection.RandomizedSearchCV` with a tqdm bar over the fits.

    The candidates are sampled exactly as the parent class does, then evaluated in chunks of
    ``n_jobs`` candidates (so parallel workers stay busy); the bar advances in the main process
    after each chunk, which works with any ``n_jobs``. Results equal the parent's.

    Parameters
    ----------
    estimator, param_distributions, n_iter, scoring, n_jobs, refit, cv, verbose : object
        As for :class:`~sklearn.model_selection.RandomizedSearchCV`.
    pre_dispatch, random_state, error_score, return_train_score : object
        As for :class:`~sklearn.model_selection.RandomizedSearchCV`.
    progress : bool or None, default=None
        None: show the bar only on a terminal.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> rs = ProgressSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, n_iter=2,
    ...                       cv=2, random_state=0, progress=False).fit(X, y)
    >>> rs.best_params_
    {'C': 1.0}
    """

    def __init__(self, estimator, param_distributions, *, n_iter=10, scoring=None, n_jobs=None,
                 refit=True, cv=None, verbose=0, pre_dispatch="2*n_jobs", random_state=None,
                 error_score=np.nan, return_train_score=False, progress=None):
        super().__init__(estimator, param_distributions, n_iter=n_iter, scoring=scoring,
                         n_jobs=n_jobs, refit=refit, cv=cv, verbose=verbose,
                         pre_dispatch=pre_dispatch, random_state=random_state,
                         error_score=error_score, return_train_score=return_train_score)
        self.progress = progress

    def fit(self, X, y=None, **params):
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv

        self._n_splits_hint = check_cv(self.cv, y, classifier=is_classifier(self.estimator)
                                       ).get_n_splits(X, y)
        return super().fit(X, y, **params)

    def _run_search(self, evaluate_candidates):
        from joblib import effective_n_jobs
        from tqdm.auto import tqdm

        candidates = list(ParameterSampler(self.param_distributions, self.n_iter,
                                           random_state=self.random_state))
        n_splits = getattr(self, "_n_splits_hint", 1)
        chunk = max(1, effective_n_jobs(self.n_jobs))
        disable = None if self.progress is None else not self.progress
        with tqdm(total=len(candidates) * n_splits, desc="search", unit="fit",
                  disable=disable) as bar:
            for i in range(0, len(candidates), chunk):
                results = evaluate_candidates(candidates[i:i + chunk])
                bar.update(len(candidates[i:i + chunk]) * n_splits)
                scores = np.asarray(results["mean_test_score"], dtype=float)
                if np.isfinite(scores).any():
                    bar.set_postfix(best=f"{np.nanmax(scores):.4f}")


def _check_space(space: Any, valid: list[str]) -> dict:
    if isinstance(space, (list, tuple)):
        if not space:
            raise ValueError("`space` is empty: give at least one parameter and its distribution, "
                             "e.g. {'dropout': scipy.stats.uniform(0, 0.8)}.")
        return [_check_space(s, valid) for s in space]
    if not isinstance(space, Mapping):
        raise TypeError(f"`space` must be a dict of parameter -> distribution (or list of values). "
                        f"Got {type(space).__name__} instead.")
    if not space:
        raise ValueError("`space` is empty: give at least one parameter and its distribution, "
                         "e.g. {'dropout': scipy.stats.uniform(0, 0.8)}.")
    for key, dist in space.items():
        if key not in valid:
            raise ValueError(f"`space` has unknown parameter {key!r}.{did_you_mean(key, valid)} "
                             f"Valid parameters: {', '.join(valid)}.")
        if not hasattr(dist, "rvs"):
            if isinstance(dist, (str, bytes)) or not hasattr(dist, "__len__"):
                raise TypeError(f"`space[{key!r}]` must be a distribution with .rvs() or a list of "
                                f"values. Got {dist!r} instead.")
            if len(dist) == 0:
                raise ValueError(f"`space[{key!r}]` is an empty list: nothing to sample.")
    return dict(space)


def search(X, y, *, n_iter: int = 20, cv: int | Any = 3, n_jobs: int | None = 1, seed: int = 0,
           space: dict | None = None, progress: bool | None = None, verbose: int = 0,
           scoring=None, **fixed: Any) -> ProgressSearchCV:
    """Random search with k-fold cross-validation over :class:`NetClassifier` (seed 004).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
    y : array-like of shape (n_samples,)
    n_iter : int, default=20
        Candidates drawn from ``space``.
    cv : int or splitter, default=3
        An int is a shuffled :class:`~sklearn.model_selection.StratifiedKFold` seeded by ``seed``.
    n_jobs : int or None, default=1
        Parallel fits (joblib; -1: all cores).
    seed : int, default=0
        Seeds the candidate draws, the folds and every network (unless ``fixed`` has ``seed``).
    space : dict, optional
        Parameter -> scipy.stats distribution or list. Default :func:`default_space`.
    progress : bool or None, default=None
        tqdm bar over the fits (None: only on a terminal).
    verbose : int, default=0
        Passed to RandomizedSearchCV.
    scoring : str or callable, optional
        Default: accuracy.
    **fixed
        :class:`NetClassifier` parameters shared by all candidates (``model``, ``epochs``,
        ``patience``...).

    Returns
    -------
    ProgressSearchCV
        Fitted: ``cv_results_``, ``best_params_``, ``best_score_`` and ``best_estimator_`` (refit
        on all of ``X``). :func:`search_results` turns it into rows.

    Raises
    ------
    ValueError
        An unknown :class:`NetClassifier` parameter, a bad ``space``, a parameter both searched
        and fixed, ``n_iter < 1``, ``cv < 2``, or no default space for the model.

    Examples
    --------
    >>> rs = search(X, y, n_iter=4, cv=3, epochs=5)  # doctest: +SKIP
    >>> rs.best_estimator_.save_checkpoint("best.pt")  # doctest: +SKIP
    """
    valid = sorted(NetClassifier().get_params(deep=False))
    bad = [k for k in fixed if k not in valid]
    if bad:
        raise ValueError(f"unknown NetClassifier parameter(s) {', '.join(map(repr, bad))}."
                         f"{did_you_mean(bad[0], valid)} Valid parameters: {', '.join(valid)}.")
    fixed.setdefault("seed", seed)
    if space is None:
        model = fixed.get("model", "deep")
        if model not in ("deep", "mlp"):
            raise ValueError(f"the default search space (hidden sizes, dropout) is for models "
                             f"'deep' and 'mlp'; pass `space=` for model {model!r}.")
        space = default_space()
    space = _check_space(space, valid)
    both = sorted(set(fixed) & set(space if isinstance(space, dict) else
                                   {k for s in space for k in s}))
    if both:
        raise ValueError(f"{', '.join(map(repr, both))} is both searched (`space`) and fixed; "
                         "choose one.")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"`n_iter` must be a positive integer. Got {n_iter!r} instead.")
    if isinstance(cv, (int, np.integer)):
        if cv < 2:
            raise ValueError(f"`cv` must be >= 2 folds. Got {cv!r} instead.")
        cv = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=int(seed) % 2**32)
    rs = ProgressSearchCV(NetClassifier(**fixed), space, n_iter=int(n_iter), cv=cv,
                          n_jobs=n_jobs, random_state=int(seed) % 2**32, refit=True,
                          scoring=scoring, verbose=verbose, progress=progress)
    return rs.fit(X, y)


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def search_results(rs) -> list[dict]:
    """One dict per candidate, best first: ``rank``, the parameters (``hidden`` also split into
    ``h1``, ``h2``...), ``mean_score``, ``std_score``, ``fit_seconds`` (mean per fold),
    ``score_seconds``.

    Parameters
    ----------
    rs : ProgressSearchCV
        A fitted search (what :func:`search` returns).

    Returns
    -------
    list of dict
        One row per candidate, plain Python values.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> rs = ProgressSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1.0]}, n_iter=2,
    ...                       cv=2, random_state=0, progress=False).fit(X, y)
    >>> rows = search_results(rs)
    >>> [(r["rank"], r["C"]) for r in rows]
    [(1, 1.0), (2, 0.01)]
    """
    res = rs.cv_results_
    rows = []
    for i, params in enumerate(res["params"]):
        row: dict[str, Any] = {"rank": int(res["rank_test_score"][i])}
        for k, v in sorted(params.items()):
            if k == "hidden" and isinstance(v, (tuple, list)):
                for j, h in enumerate(v, 1):
                    row[f"h{j}"] = int(h)
            else:
                row[k] = _plain(v)
        row["mean_score"] = float(res["mean_test_score"][i])
        row["std_score"] = float(res["std_test_score"][i])
        row["fit_seconds"] = float(res["mean_fit_time"][i])
        row["score_seconds"] = float(res["mean_score_time"][i])
        rows.append(row)
    rows.sort(key=lambda r: (r["rank"], -r["mean_score"]))
    return rows


def plot_search_scores(results, **kwargs) -> dict:
    """Plot each candidate's mean CV score against each hyper-parameter, from a fitted search.

    :func:`vizkit.plot.search.plot_search_scores` of a fitted search (its
    :func:`search_results`) or of the rows themselves; ``kwargs`` go there. Matplotlib and the
    plotters are imported only when this is called.

    Parameters
    ----------
    results : ProgressSearchCV or list of dict
        A fitted search (anything with ``cv_results_``, e.g. what :func:`search` returns), or
        the rows of :func:`search_results`.
    **kwargs
        ``params``, ``axes`` and ``errorbar_kw`` of
        :func:`vizkit.plot.search.plot_search_scores`.

    Returns
    -------
    dict
        ``'fig'``, ``'axes'`` (one per parameter), ``'params'``, ``'points'`` (the errorbar
        containers: mean score +- its standard deviation over the folds) and ``'best'`` (the
        star on the best candidate in each panel).

    Raises
    ------
    ValueError
        No candidates, no numeric hyper-parameter column to plot, ``params`` that are not
        columns, or ``axes`` not one per parameter (raised by the plotter).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> rs = ProgressSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1.0]},
    ...                       n_iter=3, cv=2, random_state=0, progress=False).fit(X, y)
    >>> out = plot_search_scores(rs)
    >>> out["params"], len(out["points"]), out["axes"][0].get_ylabel()
    (['C'], 1, 'mean CV accuracy')
    >>> float(out["best"][0].get_xdata()[0]) == rs.best_params_["C"]
    True
    >>> plt.close(out["fig"])
    """
    from ..plot.search import plot_search_scores as plot

    rows = search_results(results) if hasattr(results, "cv_results_") else results
    return plot(rows, **kwargs)


def format_results(rows: list[dict]) -> str:
    """The results table as aligned text (one line per candidate).

    Parameters
    ----------
    rows : list of dict
        What :func:`search_results` returned.

    Returns
    -------
    str
        A header of the keys, then one right-aligned line per row; ``'(no candidates)'`` for
        no rows.

    Examples
    --------
    >>> print(format_results([{"rank": 1, "mean_score": 0.9}, {"rank": 2, "mean_score": 0.85}]))
    rank  mean_score
       1      0.9000
       2      0.8500
    """
    if not rows:
        return "(no candidates)"
    cols = list(rows[0])
    for r in rows[1:]:
        cols += [c for c in r if c not in cols]

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 1e4 else f"{v:.4g}"
        return "" if v is None else str(v)

    cells = [[fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def results_csv(rows: list[dict]) -> bytes:
    """The rows of :func:`search_results` as CSV bytes (one column per key seen).

    Parameters
    ----------
    rows : list of dict
        What :func:`search_results` returned.

    Returns
    -------
    bytes
        UTF-8 CSV with a header line.

    Examples
    --------
    >>> results_csv([{"rank": 1, "h1": 300}, {"rank": 2, "h1": 120, "dropout": 0.5}]).split()
    [b'rank,h1,dropout', b'1,300,', b'2,120,0.5']
    """
    cols = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def plain_params(params: dict) -> dict:
    """Parameters as plain JSON data (NumPy numbers as Python numbers, tuples as lists).

    Parameters
    ----------
    params : dict
        Parameter name to value (e.g. ``best_params_``).

    Returns
    -------
    dict
        The same keys with plain values.

    Examples
    --------
    >>> import numpy as np
    >>> plain_params({"hidden": (np.int64(300), np.int64(150)), "dropout": np.float64(0.5)})
    {'hidden': [300, 150], 'dropout': 0.5}
    """
    return {k: _plain(v) for k, v in params.items()}
