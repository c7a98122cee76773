"""vizkit models as scikit-learn estimators, and seed 004's random hyper-parameter search.

:class:`NetClassifier` wraps any registered vizkit model and trains it with
:func:`vizkit.train.fit`; :func:`search` runs ``RandomizedSearchCV`` over it (``vizkit search``).

Examples
--------
>>> from vizkit.data import sample_gmm_2d
>>> from vizkit.estimator import NetClassifier
>>> X, y = sample_gmm_2d(4, 2, 30, seed=0)
>>> NetClassifier("mlp", hidden=(16,), epochs=20).fit(X, y).score(X, y) > 0.5
True
"""

from ._net import SKIPPED_CHECKS, NetClassifier
from ._search import (HiddenSizes, ProgressSearchCV, default_space, format_results,
                      plain_params, plot_search_scores, results_csv, search, search_results)

__all__ = ["NetClassifier", "SKIPPED_CHECKS", "HiddenSizes", "ProgressSearchCV", "default_space",
           "search", "search_results", "format_results", "plain_params", "results_csv", "plot_search_scores"]
