"""Analyses: pure computation returning arrays or small result objects (no matplotlib).

One module per figure family, named as ``vizkit analyze --what`` names it (``-`` as ``_``):
``weights``, ``receptive_fields``, ``actmax``, ``bottleneck``, ``decision_surface``, ``errors``,
``attributions``, ``embedding``. A family's analysis also owns its model knowledge: which layer
of this model to show (:func:`find_bottleneck`, :func:`embedding_layers`, ...). The same family
in :mod:`vizkit.plot` draws the results; model plumbing (layer lookup, modes) is shared through
the private ``vizkit._torch``.
"""

from .actmax import (ActMaxResult, Objective, activation_maximization, channel, class_logit,
                     diversity, hidden_targets, l2, layer, neuron, total_variation, unit)
from .attributions import (Attribution, RandomizationCheck, attribution_layer, attributions,
                           cascade_layers, last_conv_layer, randomization_check, randomized_copy,
                           rank_correlation)
from .bottleneck import Bottleneck, BottleneckLayer, bottleneck_features, bottleneck_head, find_bottleneck
from .faithfulness import (FaithfulnessCurves, attribution_order, curve_auc, faithfulness_curves,
                           perturbation_curves, random_order)
from .embedding import Embedding, embed, embed_activations, embedding_layers, layer_activations
from .errors import (Examples, PredictionExamples, Predictions, confusion, prediction_examples,
                     predictions, worst_examples)
from .receptive_fields import (ReceptiveFields, TheoreticalRF, conv_field_units,
                               gradient_receptive_fields, mlp_field_layers,
                               propagated_receptive_fields, theoretical_receptive_field)
from .decision_surface import DecisionSurface, decision_surface
from .weights import WeightImages, linear_input_map, weight_images

__all__ = [
    "ActMaxResult", "Objective", "activation_maximization", "channel", "class_logit", "diversity",
    "l2", "layer", "neuron", "total_variation", "unit", "hidden_targets",
    "Attribution", "attributions", "last_conv_layer", "randomized_copy", "rank_correlation",
    "RandomizationCheck", "attribution_layer", "cascade_layers", "randomization_check",
    "Bottleneck", "BottleneckLayer", "bottleneck_features", "bottleneck_head", "find_bottleneck",
    "Embedding", "embed", "embed_activations", "embedding_layers", "layer_activations",
    "Examples", "PredictionExamples", "Predictions", "confusion", "prediction_examples",
    "predictions", "worst_examples",
    "ReceptiveFields", "TheoreticalRF", "gradient_receptive_fields", "propagated_receptive_fields",
    "theoretical_receptive_field", "conv_field_units", "mlp_field_layers",
    "DecisionSurface", "decision_surface",
    "FaithfulnessCurves", "faithfulness_curves", "perturbation_curves", "attribution_order",
    "random_order", "curve_auc",
    "WeightImages", "linear_input_map", "weight_images",
]
