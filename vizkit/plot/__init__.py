"""Plotters: everything vizkit draws, one module per figure family (``weights``,
``receptive_fields``, ``actmax``, ``bottleneck``, ``decision_surface``, ``errors``,
``attributions``, ``embedding``, ``feature_maps``), plus ``graph`` (the lab's ``graph_data`` and
the drawing of its ``graph_surface``), ``animation`` (training animations as GIF), ``curves``
(learning curves) and ``search`` (hyper-parameter search scores).

Plotters only draw: they take results (arrays, the result dataclasses of
:mod:`vizkit.analysis`) and an optional ``Axes``; they never run a model and import neither
:mod:`vizkit.analysis` nor :mod:`vizkit.train` nor the models. The family modules of
:mod:`vizkit.figures` compose them with the analyses into captioned figures, and hold the
Displays (``from_model`` computes, ``plot`` draws: :class:`vizkit.figures.DecisionSurfaceDisplay`,
:class:`vizkit.figures.BottleneckDisplay`, :class:`vizkit.figures.EmbeddingDisplay`).

* ``plot_*`` functions draw a result on an ``Axes``. The one rule for ``ax=None``: a new figure.
  Only the lab's ``graph_data`` and :func:`plot_field` draw on the current axes (``plt.gca()``),
  as the lab's code expects. They never call ``plt.show()``, never overwrite labels the caller
  set, and use the same class colours everywhere (:func:`class_colors`,
  :mod:`vizkit.plot.style`).
* :class:`Figure` and :class:`NotApplicable` (:mod:`vizkit.plot.figure`) are what a figure
  family returns or raises.
"""

from .actmax import plot_actmax
from .animation import plot_surface_frame, surface_animation
from .attributions import (plot_attribution, plot_attributions, plot_randomization,
                           plot_rank_correlation)
from .bottleneck import center_marker_sizes, plot_bottleneck
from .curves import history_arrays, history_table, plot_learning_curves
from .decision_surface import (class_legend, confidence_colorbar, plot_decision_regions,
                               points_legend, scatter_classes)
from .embedding import plot_embedding
from .errors import plot_confusion, plot_example_rows, plot_examples, plot_probability_bars
from .feature_maps import plot_feature_maps, plot_filters
from .figure import Figure, NotApplicable
from .graph import graph_data, plot_field
from .receptive_fields import plot_field_views, plot_receptive_field_box, plot_receptive_fields
from .search import plot_search_scores
from .style import class_cmap, class_colors, diverging_cmap, symmetric_limits
from .weights import plot_weight_images, plot_weight_images_grid
from .over_training import over_training_figure

__all__ = [
    "class_legend", "scatter_classes", "points_legend", "confidence_colorbar",
    "class_cmap", "class_colors", "diverging_cmap", "symmetric_limits", "Figure", "NotApplicable",
    "plot_actmax", "plot_attribution", "plot_attributions", "center_marker_sizes", "plot_bottleneck",
    "history_arrays", "history_table", "plot_learning_curves", "plot_embedding", "plot_confusion",
    "plot_examples", "plot_example_rows", "plot_feature_maps", "plot_filters",
    "plot_probability_bars", "plot_receptive_field_box", "plot_receptive_fields", "graph_data",
    "plot_field", "plot_decision_regions", "plot_weight_images", "plot_weight_images_grid",
    "plot_search_scores", "plot_randomization", "plot_rank_correlation", "plot_field_views",
    "plot_surface_frame", "surface_animation", "over_training_figure",
]
