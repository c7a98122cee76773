"""Analyses: pure computation returning arrays or small result objects (no matplotlib).

One module (or package) per figure family, named as ``vizkit analyze --what`` names it (``-`` as
``_``): ``weights``, ``receptive_fields``, ``actmax``, ``bottleneck``, ``decision_surface``,
``errors``, ``attributions``, ``embedding``, ``feature_maps``. A family's analysis also owns its
model knowledge: which layer of this model to show (:func:`find_bottleneck`,
:func:`embedding_layers`, :func:`attribution_layer`, ...). Those choices read the model's
structure (module types and shapes, never its vizkit class), so a user's own ``nn.Module`` works;
each heuristic has one home, the private ``vizkit.analysis._layers`` (last conv layer, hidden
layer, MLP stack, RBF layer). Families that mix concerns are packages of small modules:
``attributions`` (the verb, the methods as units, the randomization check) and
``receptive_fields`` (propagated, gating, gradient, geometry, ink, choice). The figure family in
:mod:`vizkit.figures` composes these numbers with the drawings of :mod:`vizkit.plot`; model
plumbing (layer lookup, modes, the capture hook) is shared through the private ``vizkit._torch``.
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
from .feature_maps import (ConvFilters, FeatureMaps, NoConvLayers, conv_filters, conv_layers,
                           feature_maps)
from .errors import (Examples, PredictionExamples, Predictions, confusion, prediction_examples,
                     predictions, worst_examples)
from .receptive_fields import (ReceptiveFields, TheoreticalRF, conv_field_units,
                               gradient_receptive_fields, mlp_field_layers,
                               propagated_receptive_fields, theoretical_receptive_field)
from .decision_surface import DecisionSurface, decision_surface
from .weights import WeightImages, linear_input_map, weight_images
from .over_training import OverTraining, OverTrainingRecorder  # the module keeps over_training()

__all__ = [
    "ActMaxResult", "Objective", "activation_maximization", "channel", "class_logit", "diversity",
    "l2", "layer", "neuron", "total_variation", "unit", "hidden_targets",
    "Attribution", "attributions", "last_conv_layer", "randomized_copy", "rank_correlation",
    "RandomizationCheck", "attribution_layer", "cascade_layers", "randomization_check",
    "Bottleneck", "BottleneckLayer", "bottleneck_features", "bottleneck_head", "find_bottleneck",
    "Embedding", "embed", "embed_activations", "embedding_layers", "layer_activations",
    "ConvFilters", "FeatureMaps", "NoConvLayers", "conv_filters", "conv_layers", "feature_maps",
    "Examples", "PredictionExamples", "Predictions", "confusion", "prediction_examples",
    "predictions", "worst_examples",
    "ReceptiveFields", "TheoreticalRF", "gradient_receptive_fields", "propagated_receptive_fields",
    "theoretical_receptive_field", "conv_field_units", "mlp_field_layers",
    "DecisionSurface", "decision_surface",
    "FaithfulnessCurves", "faithfulness_curves", "perturbation_curves", "attribution_order",
    "random_order", "curve_auc",
    "WeightImages", "linear_input_map", "weight_images",
    "OverTraining", "OverTrainingRecorder",
]
