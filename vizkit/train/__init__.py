"""Training: one loop (:func:`fit`), its config, history and metrics."""

from ._config import OPTIMIZERS, SCHEDULERS, TrainConfig
from ._fit import History, TrainingDiverged, fit, loss_fn, predict_logits, seed_everything
from ._run import default_config, model_spec, train_model
from .metrics import (accuracy, average_precision, confusion_matrix, eval_AP, eval_perf_binary,
                      eval_perf_multi, evaluate)

__all__ = [
    "TrainConfig", "OPTIMIZERS", "SCHEDULERS", "History", "TrainingDiverged", "fit",
    "train_model", "default_config", "model_spec", "seed_everything", "predict_logits", "loss_fn", "accuracy", "confusion_matrix",
    "eval_perf_binary", "eval_perf_multi", "eval_AP", "average_precision", "evaluate",
]
