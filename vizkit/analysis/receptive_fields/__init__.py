"""Receptive fields (seed 004): which input pixels drive a unit, three ways.

* :func:`propagated_receptive_fields` (:mod:`.propagated`) -- for an MLP, "propagate the
  weights": the field of unit ``j`` of (affine) layer ``i`` is column ``j`` of ``W1 W2 ... Wi``
  (weights in the lab's ``[in, out]`` convention), reshaped to the image. Optionally gated by
  which ReLUs are active over a data set (:mod:`.gating`).
* :func:`gradient_receptive_fields` (:mod:`.gradient`) -- for any unit of any model (MLP units,
  CNN channels): the gradient of the unit with respect to the input, averaged over examples.
* :func:`theoretical_receptive_field` (:mod:`.geometry`) -- for conv units: the input region a
  unit can see (size, jump, start) from the layer arithmetic of ``Conv2d`` / ``MaxPool2d`` /
  ``AvgPool2d``.

All fields are in the space of the **raw [0, 1] inputs** that vizkit models are fed: the model's
input ``Normalize(mean, std)`` is folded in (weights divided by ``std``), so for a network without
non-linearities the propagated and the gradient fields are the same numbers.

Which layers and units to show is decided here too (:mod:`.choice`): :func:`mlp_layers`,
:func:`last_conv_layer`, :func:`conv_stages`, :func:`structured_units` (the units whose fields
lie where the data has ink, by :func:`ink_share`, :mod:`.ink`) and :func:`field_views` (three
views of the chosen units of one layer). :func:`ink_ratio` measures how much of a field sits on
pixels the training data never inks.
"""

from .choice import (FieldViews, conv_field_units, field_views, last_conv_layer, mlp_field_layers,
                     mlp_layers)
from .control import (A_MEDIUM, A_SMALL, ControlComparison, class_selectivity, class_templates,
                      compare_to_control, decay_erasure, init_share_on, shuffled_layer_model)
from .first_layer import (COINCIDE, FirstLayerChange, first_layer_change, initial_model,
                          lag1_autocorrelation, top_exemplars, view_coincidence)
from .geometry import TheoreticalRF, conv_stages, theoretical_receptive_field
from .gradient import gradient_receptive_fields
from .ink import INKED, NEVER_INKED, ink_frequency, ink_ratio, ink_share, structured_units
from .propagated import propagated_receptive_fields
from .result import ReceptiveFields

__all__ = ["ReceptiveFields", "TheoreticalRF", "FieldViews", "propagated_receptive_fields",
           "gradient_receptive_fields", "theoretical_receptive_field", "field_views",
           "ink_frequency", "ink_ratio", "ink_share", "structured_units", "mlp_layers",
           "mlp_field_layers", "conv_field_units", "last_conv_layer", "conv_stages", "NEVER_INKED",
           "INKED", "lag1_autocorrelation", "initial_model", "FirstLayerChange",
           "first_layer_change", "top_exemplars", "view_coincidence", "COINCIDE",
           "shuffled_layer_model", "class_templates", "class_selectivity", "ControlComparison",
           "compare_to_control", "init_share_on", "decay_erasure", "A_SMALL", "A_MEDIUM"]
