"""Input attributions with Captum, and the model-randomization sanity check.

* :mod:`.attribute` -- the one verb :func:`attributions` (Captum's ``attribute(inputs,
  target=...)`` idea: one signature for every method), the :class:`Attribution` it returns and
  :func:`attribution_layer`, the layer the layer methods use by default;
* :mod:`.methods` -- the methods as small units (as Captum keeps one class per method): a
  :class:`Method` per name in :data:`REGISTRY`, each with how it is computed and its baseline
  handling;
* :mod:`.randomization` -- the cascading model-randomization check of Adebayo et al. (2018):
  :func:`randomization_check` (Spearman of signed and absolute maps and SSIM per cascade step,
  :func:`map_similarity`, plus the input-structure control :func:`input_structure`),
  :func:`cascade_layers`, :func:`cascade_labels`, :func:`randomized_copy`,
  :func:`rank_correlation`, and :func:`method_agreement` (when two methods draw the same map);
  :func:`ink_pixels` and :func:`noise_null` (the ink-pixel measure and a null that shares the
  input's structure) and :func:`grad_cam_stages` (where Grad-CAM's map comes to follow the ink).

Examples
--------
>>> import torch
>>> from torch import nn
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
>>> attributions(model, torch.rand(3, 1, 2, 2), target=1, methods="saliency").maps.shape
torch.Size([3, 1, 2, 2])
"""

from .attribute import Attribution, attribution_layer, attributions, last_conv_layer
from .methods import LAYER_METHODS, METHODS, REGISTRY, Method, get_method
from .randomization import (PERSISTS, RandomizationCheck, cascade_labels, cascade_layers,
                            grad_cam_stages, ink_pixels, noise_null,
                            input_structure, map_similarity, method_agreement,
                            randomization_check, randomized_copy, rank_correlation)

__all__ = ["METHODS", "LAYER_METHODS", "REGISTRY", "Method", "get_method", "Attribution",
           "RandomizationCheck", "attributions", "attribution_layer", "cascade_layers",
           "last_conv_layer", "randomization_check", "randomized_copy", "rank_correlation",
           "PERSISTS", "cascade_labels", "input_structure", "map_similarity", "method_agreement",
           "grad_cam_stages", "ink_pixels", "noise_null"]
