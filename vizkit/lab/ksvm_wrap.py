"""The lab's ``ksvm_wrap``: an RBF-kernel SVM behind the lab's interface, and the lab's question.

In the lab's order: ``KSVMWrap(X, Y_, param_svm_c=1, param_svm_gamma='auto')`` trains in the
constructor and offers ``predict``, ``get_scores`` (one column per class for more than two
classes, for average precision) and ``support`` (the indices of the support vectors, to pass as
``special`` to ``data.graph_data``); it is :class:`vizkit.models.KSVMWrap`. Then
``compare_on_random_datasets`` answers "PTDeep or KSVMWrap on many random data sets?" with a
table over seeds, and ``format_table`` prints it.

Examples
--------
>>> from vizkit.lab import data
>>> X, Y_ = data.sample_gmm_2d(6, 2, 10, seed=100)
>>> svm = KSVMWrap(X, Y_, param_svm_c=1, param_svm_gamma="auto")
>>> svm.predict(X).shape, svm.get_scores(X).shape
((60,), (60,))
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .. import models as _models
from ..train import average_precision, eval_perf_multi
from . import data, pt_deep

__all__ = ["KSVMWrap", "compare_on_random_datasets", "format_table"]

KSVMWrap = _models.KSVMWrap

_COLUMNS = ("seed", "ptdeep_train_acc", "ptdeep_test_acc", "ptdeep_test_ap", "ksvm_train_acc",
            "ksvm_test_acc", "ksvm_test_ap", "ptdeep_params", "ksvm_support")


def _halves(K: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the first and second ``N`` points of each of ``K`` blocks of ``2N``."""
    idx = np.arange(K * 2 * N).reshape(K, 2 * N)
    return idx[:, :N].ravel(), idx[:, N:].ravel()


def _scores(s: np.ndarray) -> np.ndarray:
    return s if s.ndim == 2 else np.column_stack([-s, s])


def compare_on_random_datasets(seeds: Iterable[int] = range(10), K: int = 6, C: int = 2,
                               N: int = 10, *, config: Sequence[int] | None = None,
                               param_niter: int = 10_000, param_delta: float = 0.1,
                               param_lambda: float = 1e-4, param_svm_c: float = 1,
                               param_svm_gamma="auto") -> list[dict]:
    """PTDeep against KSVMWrap on one random Gaussian mixture per seed.

    Each seed draws ``sample_gmm_2d(K, C, 2 N)``; the first ``N`` points of every component train
    both models and the other ``N`` test them, so the table shows generalization, not only fit.
    PTDeep is trained as in the lab (full-batch gradient descent, ReLU), KSVMWrap with
    ``param_svm_c`` and ``param_svm_gamma``.

    Parameters
    ----------
    seeds : iterable of int, default=range(10)
        One data set (and one PTDeep initialization) per seed.
    K, C, N : int, default=6, 2, 10
        Components, classes, training points per component (the lab's ``(6, 2, 10)``).
    config : sequence of int, optional
        PTDeep's configuration; default ``[2, 10, 10, C]``.
    param_niter, param_delta, param_lambda : default=10000, 0.1, 1e-4
        The lab's PTDeep settings.
    param_svm_c, param_svm_gamma : default=1, 'auto'
        The lab's SVM settings.

    Returns
    -------
    list of dict
        One row per seed: ``seed``, train and test accuracy and mean test average precision
        (one-vs-rest, per class then averaged) of each model, PTDeep's parameter count and the
        number of support vectors.

    Examples
    --------
    >>> rows = compare_on_random_datasets(seeds=[0], param_niter=200)
    >>> rows[0]["seed"], rows[0]["ptdeep_params"], 0 <= rows[0]["ksvm_test_acc"] <= 1
    (0, 162, True)
    """
    config = [2, 10, 10, C] if config is None else list(config)
    rows = []
    for seed in seeds:
        X, Y = data.sample_gmm_2d(K, C, 2 * N, seed=int(seed))
        tr, te = _halves(K, N)
        model = pt_deep.PTDeep(config, "relu", seed=int(seed))
        pt_deep.train(model, X[tr], np.eye(C)[Y[tr]], param_niter, param_delta, param_lambda)
        svm = KSVMWrap(X[tr], Y[tr], param_svm_c=param_svm_c, param_svm_gamma=param_svm_gamma)
        row = {"seed": int(seed)}
        for name, predict, scores in (("ptdeep", lambda x: pt_deep.eval(model, x).argmax(1),
                                       lambda x: pt_deep.eval(model, x)),
                                      ("ksvm", svm.predict, lambda x: _scores(svm.get_scores(x)))):
            row[f"{name}_train_acc"] = eval_perf_multi(predict(X[tr]), Y[tr], C)[0]
            row[f"{name}_test_acc"] = eval_perf_multi(predict(X[te]), Y[te], C)[0]
            row[f"{name}_test_ap"] = float(np.mean(average_precision(scores(X[te]), Y[te], C)))
        row["ptdeep_params"] = pt_deep.count_params(model, verbose=False)
        row["ksvm_support"] = int(len(svm.support))
        rows.append({k: row[k] for k in _COLUMNS})
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`compare_on_random_datasets` as a text table with a mean row.

    Parameters
    ----------
    rows : list of dict
        What :func:`compare_on_random_datasets` returned.

    Returns
    -------
    str
        A header, one line per row, then the means (no mean line without rows).

    Examples
    --------
    >>> print(format_table([]).split())  # doctest: +ELLIPSIS
    ['seed', 'ptdeep_train_acc', ..., 'ksvm_support']
    """
    head = " ".join(f"{c:>17}" for c in _COLUMNS)
    lines = [head]
    for r in rows:
        lines.append(" ".join(f"{r[c]:>17}" if isinstance(r[c], int) else f"{r[c]:>17.3f}"
                              for c in _COLUMNS))
    if rows:
        means = ["mean"] + [f"{np.mean([r[c] for r in rows]):.3f}" for c in _COLUMNS[1:]]
        lines.append(" ".join(f"{m:>17}" for m in means))
    return "\n".join(lines)
