"""Training: one loop (:func:`fit`), its config, history and metrics, and :func:`train_model`,
the one way a trained model is written (:func:`save_trained`) and read back (:func:`load_trained`)."""

from ._config import OPTIMIZERS, SCHEDULERS, TrainConfig, check_device
from ._fit import (History, TrainingDiverged, fit, isolated_rng, loss_fn, predict_logits,
                   seed_everything)
from ._run import (check_config_for, default_config, load_trained, model_spec, save_trained,
                   train_model)
from ._views import NoViews, load_views, recorder_identity, save_views, views_path
from .metrics import (accuracy, average_precision, confusion_matrix, eval_AP, eval_perf_binary,
                      eval_perf_multi, evaluate)

__all__ = [
    "TrainConfig", "OPTIMIZERS", "SCHEDULERS", "check_device", "History", "TrainingDiverged",
    "fit", "train_model", "save_trained", "load_trained", "check_config_for", "default_config",
    "model_spec", "seed_everything", "predict_logits", "loss_fn", "accuracy", "confusion_matrix",
    "eval_perf_binary", "eval_perf_multi", "eval_AP", "average_precision", "evaluate",
    "isolated_rng", "NoViews", "load_views", "recorder_identity", "save_views", "views_path",
]
