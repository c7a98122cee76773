"""Every model of the seeds, and the registry that turns plain-dict specs into modules."""

from ._base import Normalize, SpecModule
from ._numpy_models import FCANN2, KSVMWrap, fcann2_classify, fcann2_train, linreg_gradients
from ._registry import (MNIST_NORMALIZE, build, build_default, count_params, default_spec,
                        get_model, list_models, spec_of)
from ._torch_models import ConvNet, PTDeep, PTLogreg, RBFLayer, RBFNet, rbf_expanded

__all__ = [
    "PTLogreg", "PTDeep", "ConvNet", "RBFLayer", "RBFNet", "rbf_expanded", "Normalize",
    "FCANN2", "fcann2_train", "fcann2_classify", "KSVMWrap", "linreg_gradients",
    "SpecModule", "spec_of", "build", "build_default", "default_spec", "list_models", "get_model", "count_params",
    "MNIST_NORMALIZE",
]
