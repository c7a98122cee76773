"""Plotters: everything vizkit draws, one module per figure family (``weights``,
``receptive_fields``, ``actmax``, ``bottleneck``, ``decision_surface``, ``errors``,
``attributions``, ``embedding``; plus ``curves`` and ``search``).

In each family module:

* ``plot_*`` functions draw an analysis result on an ``Axes``. The one rule for ``ax=None``: a
  new figure. Only the lab's ``graph_surface``/``graph_data`` draw on the current axes
  (``plt.gca()``), as the lab's code expects. They never call ``plt.show()``, never overwrite
  labels the caller set, and use the same class colours everywhere (:func:`class_colors`,
  :mod:`vizkit.plot.style`).
* Displays for the expensive views (:class:`DecisionSurfaceDisplay`, :class:`BottleneckDisplay`,
  :class:`EmbeddingDisplay`), as scikit-learn's: ``from_model(model, data, ...)`` computes once,
  ``plot(ax=None, ...)`` draws again, keeping ``ax_`` and ``figure_``.
* ``figures(model, split, *, meta=None, seed=0)`` makes the family's captioned
  :class:`Figure` objects (with the arrays they draw in ``Figure.data``) or raises
  :class:`NotApplicable`; :mod:`vizkit.figures` is the table of these functions.
"""

from .actmax import plot_actmax
from .attributions import (plot_attribution, plot_attributions, plot_randomization,
                           plot_rank_correlation)
from .bottleneck import BottleneckDisplay, center_marker_sizes, plot_bottleneck
from .curves import history_arrays, history_table, plot_learning_curves
from .decision_surface import (DecisionSurfaceDisplay, class_legend, graph_data, graph_surface,
                               plot_decision_regions, scatter_classes)
from .embedding import EmbeddingDisplay, plot_embedding
from .errors import plot_confusion, plot_examples, plot_probability_bars
from .figure import Figure, NotApplicable
from .receptive_fields import plot_field_views, plot_receptive_field_box, plot_receptive_fields
from .search import plot_search_scores
from .style import class_cmap, class_colors, diverging_cmap, symmetric_limits
from .weights import plot_weight_images, plot_weight_images_grid

__all__ = [
    "DecisionSurfaceDisplay", "BottleneckDisplay", "EmbeddingDisplay", "class_legend",
    "scatter_classes",
    "class_cmap", "class_colors", "diverging_cmap", "symmetric_limits", "Figure", "NotApplicable",
    "plot_actmax", "plot_attribution", "plot_attributions", "center_marker_sizes", "plot_bottleneck",
    "history_arrays", "history_table", "plot_learning_curves", "plot_embedding", "plot_confusion",
    "plot_examples",
    "plot_probability_bars", "plot_receptive_field_box", "plot_receptive_fields", "graph_data",
    "graph_surface", "plot_decision_regions", "plot_weight_images", "plot_weight_images_grid",
    "plot_search_scores", "plot_randomization", "plot_rank_correlation", "plot_field_views",
]
