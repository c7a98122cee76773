"""vizkit.train in the uncommon case: non-monotone validation series, batches that do not divide
the data, a model in train mode, a single output, classes absent from a split."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vizkit.models import PTDeep
from vizkit.train import (TrainConfig, average_precision, confusion_matrix, eval_AP,
                          eval_perf_binary, eval_perf_multi, evaluate, fit, predict_logits,
                          seed_everything)
from vizkit.train._fit import History, _evaluate, _TensorBatches, loss_fn

from _toy import xor_split

QUIET = {"progress": False}


class PassThrough(nn.Module):
    """Logits = the input itself; one parameter the loss ignores, so the optimizer has work."""

    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + 0 * self.p


class ScriptedValidation:
    """A validation 'loader' whose epoch k gives validation loss ``losses[k - 1]`` (and accuracy
    ``accs[k - 1]``) to :class:`PassThrough`: one sample of class 0 with logits (0, z)."""

    def __init__(self, losses, accs=None):
        self.losses, self.accs = list(losses), accs
        self.epoch = 0

    def __iter__(self):
        loss = self.losses[self.epoch]
        z = math.log(math.expm1(loss))  # cross-entropy of logits (0, z) for class 0 is loss
        self.epoch += 1
        yield torch.tensor([[0.0, z]]), torch.tensor([0])


def scripted_fit(losses, **cfg):
    train = DataLoader(TensorDataset(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)),
                       batch_size=2)
    val = ScriptedValidation(losses)
    return fit(PassThrough(), (train, val),
               {"epochs": len(losses), "lr": 0.1, **QUIET, **cfg})


def test_scripted_validation_gives_the_losses_asked_for():
    hist = scripted_fit([1.0, 0.5, 2.0])
    np.testing.assert_allclose(hist.series("val_loss"), [1.0, 0.5, 2.0], rtol=1e-5)


def test_patience_counter_restarts_after_each_improvement():
    # best at 1, 2, then worse (1 bad), better at 4 (reset), then 2 bad epochs: stop at 6.
    # A counter that is never reset would stop at epoch 5.
    hist = scripted_fit([1.0, 0.9, 0.95, 0.85, 0.9, 0.92, 0.94, 0.96], patience=2)
    assert hist.stopped_early
    assert [e["epoch"] for e in hist.epochs] == [1, 2, 3, 4, 5, 6]
    assert hist.best_epoch == 4


def test_patience_is_not_reached_by_bad_epochs_spread_between_improvements():
    # never two bad epochs in a row: no early stop, although 4 epochs were not improvements
    hist = scripted_fit([1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.7, 0.75], patience=2)
    assert not hist.stopped_early and len(hist.epochs) == 8 and hist.best_epoch == 7


def test_min_delta_improvements_smaller_than_it_do_not_count():
    # 0.95 and 0.91 are better than 1.0 but by less than min_delta=0.1: two bad epochs, stop at 3
    hist = scripted_fit([1.0, 0.95, 0.91, 0.5], patience=2, min_delta=0.1)
    assert hist.stopped_early and len(hist.epochs) == 3 and hist.best_epoch == 1
    # an improvement by more than min_delta counts
    hist = scripted_fit([1.0, 0.85, 0.8, 0.79], patience=2, min_delta=0.1)
    assert hist.best_epoch == 2 and hist.stopped_early and len(hist.epochs) == 4


def test_monitor_val_acc_keeps_the_most_accurate_epoch_not_the_lowest_loss():
    split = xor_split(n=200)
    seed_everything(0)
    model = PTDeep([2, 16, 2])
    hist = fit(model, split, {"epochs": 15, "lr": 0.05, "monitor": "val_acc", **QUIET})
    accs = hist.series("val_acc")
    assert hist.best_epoch == 1 + int(np.argmax(accs))  # the first of the best (ties keep it)
    got = float((predict_logits(model, split.x_val).argmax(1) == split.y_val).float().mean())
    assert got == pytest.approx(max(accs))


def test_validation_loss_is_the_per_sample_mean_when_batches_are_uneven():
    split = xor_split(n=200)  # 40 validation samples, eval batches of 7: 5 x 7 + 5
    seed_everything(0)
    model = PTDeep([2, 8, 2])
    hist = fit(model, split, {"epochs": 2, "eval_batch_size": 7, "batch_size": 13, **QUIET})
    logits = predict_logits(model, split.x_val)
    assert hist.epochs[hist.best_epoch - 1]["val_loss"] == pytest.approx(
        float(loss_fn(logits, split.y_val)), rel=1e-5)
    loss, acc = _evaluate(model, ((split.x_val[i:i + 7], split.y_val[i:i + 7])
                                  for i in range(0, 40, 7)), torch.device("cpu"))
    assert loss == pytest.approx(float(loss_fn(logits, split.y_val)), rel=1e-5)
    assert acc == pytest.approx(float((logits.argmax(1) == split.y_val).float().mean()))


def test_train_loss_and_accuracy_are_per_sample_means_over_uneven_batches():
    """With lr tiny the weights barely move, so the epoch's train loss equals the loss of the
    starting weights on the whole training set, however the batches fall (13 into 120)."""
    split = xor_split(n=200)
    seed_everything(0)
    model = PTDeep([2, 8, 2])
    with torch.no_grad():
        start = float(loss_fn(model(split.x_train), split.y_train))
        start_acc = float((model(split.x_train).argmax(1) == split.y_train).float().mean())
    hist = fit(model, split, {"epochs": 1, "batch_size": 13, "optimizer": "sgd", "lr": 1e-9,
                              **QUIET})
    assert hist.epochs[0]["train_loss"] == pytest.approx(start, rel=1e-5)
    assert hist.epochs[0]["train_acc"] == pytest.approx(start_acc)


def test_tensor_batches_uneven_last_batch_and_batch_larger_than_data():
    x = torch.arange(7, dtype=torch.float32)[:, None]
    y = torch.arange(7)
    sizes = [len(yb) for _, yb in _TensorBatches(x, y, 3, seed=0)]
    assert sizes == [3, 3, 1]
    sizes = [len(yb) for _, yb in _TensorBatches(x, y, 50, seed=0)]
    assert sizes == [7]
    assert len(_TensorBatches(x, y, 3, seed=0)) == 3 and len(_TensorBatches(x, y, 0, seed=0)) == 1


def test_predict_logits_restores_train_mode_and_batches_unevenly():
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    x = torch.randn(10, 2)
    a = predict_logits(model, x, batch_size=3)
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(a, model(x))  # no dropout: eval mode inside
    assert predict_logits(model, x[:0]).numel() == 0


def test_single_output_accuracy_uses_the_sign_of_the_logit():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-0.1]])
    y = torch.tensor([1, 0, 0, 0])
    loss, acc = _evaluate(PassThrough(), [(logits, y)], torch.device("cpu"))
    assert acc == pytest.approx(3 / 4)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.float())
    assert loss == pytest.approx(float(expected), rel=1e-6)


def test_evaluate_single_output_model_and_a_class_absent_from_the_data():
    model = PassThrough()
    x = torch.tensor([[2.0], [1.0], [-1.0]])  # one logit: P(class 1) = sigmoid
    m = evaluate(model, x, torch.tensor([1, 1, 0]))
    assert m["accuracy"] == 1.0 and m["confusion"] == [[1, 0], [0, 2]]
    # three classes, class 2 absent from the labels and never predicted
    x3 = torch.tensor([[3.0, 0.0, -5.0], [0.0, 3.0, -5.0], [3.0, 0.0, -5.0]])
    m = evaluate(model, x3, torch.tensor([0, 1, 1]))
    assert m["confusion"] == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert m["recall"] == [1.0, 0.5, 0.0] and m["precision"] == [0.5, 1.0, 0.0]
    assert m["n"] == 3 and m["accuracy"] == pytest.approx(2 / 3)


def test_metrics_uneven_classes_agree_with_scikit_learn():
    from sklearn.metrics import (accuracy_score, average_precision_score,
                                 confusion_matrix as sk_confusion, precision_score, recall_score)

    rng = np.random.default_rng(1)
    y = rng.choice(4, size=60, p=[0.7, 0.2, 0.1, 0.0])  # uneven, class 3 absent
    pred = np.where(rng.random(60) < 0.6, y, rng.integers(0, 4, 60))
    acc, pr, M = eval_perf_multi(pred, y, 4)
    np.testing.assert_array_equal(M, sk_confusion(y, pred, labels=range(4)))
    np.testing.assert_array_equal(confusion_matrix(y, pred, 4), M)
    assert acc == pytest.approx(accuracy_score(y, pred))
    rec = recall_score(y, pred, labels=range(4), average=None, zero_division=0)
    prec = precision_score(y, pred, labels=range(4), average=None, zero_division=0)
    np.testing.assert_allclose([r for r, _ in pr], rec)
    np.testing.assert_allclose([p for _, p in pr], prec)
    scores = rng.random((60, 3))
    ap = average_precision(scores, y, 3)
    np.testing.assert_allclose(ap, [average_precision_score(y == c, scores[:, c]) for c in range(3)])
    binary = rng.random(60)
    np.testing.assert_allclose(average_precision(binary, (y == 1).astype(int)),
                               [average_precision_score(y == 1, binary)])


def test_binary_measures_and_ap_in_their_corner_cases():
    from sklearn.metrics import precision_score, recall_score

    Y = np.array([1, 1, 0, 0, 1, 0, 0])
    Y_ = np.array([1, 0, 0, 1, 1, 1, 0])
    acc, recall, precision = eval_perf_binary(Y, Y_)
    assert acc == pytest.approx(4 / 7)
    assert recall == pytest.approx(recall_score(Y_, Y))
    assert precision == pytest.approx(precision_score(Y_, Y))
    assert eval_perf_binary([0, 0], [0, 0]) == (1.0, 0.0, 0.0)  # no positives at all
    assert eval_AP([0, 0, 0]) == 0.0
    assert eval_AP([1]) == 1.0


def test_history_round_trips_through_a_dict():
    h = History(epochs=[{"epoch": 1, "val_loss": 0.5}, {"epoch": 2, "val_loss": 0.4}],
                best_epoch=2, stopped_early=True, seconds=1.5)
    back = History.from_dict(h.to_dict())
    assert back == h and back.best == {"epoch": 2, "val_loss": 0.4}
    assert History().best == {}
    d = h.to_dict()
    d["epochs"][0]["val_loss"] = 9.0  # a deep copy: the dict does not alias the history
    assert h.epochs[0]["val_loss"] == 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"patience": 0}, "`patience` must be >= 1 or None"),
    ({"min_delta": -0.1}, "`min_delta` must be >= 0"),
    ({"min_delta": float("nan")}, "`min_delta` must be >= 0 and finite"),
    ({"monitor": "val_f1"}, "`monitor` must be one of 'val_loss', 'val_acc'"),
    ({"batch_size": -1}, "`batch_size` must be >= 0"),
    ({"lr": float("inf")}, "`lr` must be > 0 and finite"),
    ({"gamma": 0.0}, "`gamma` must be > 0"),
    ({"ema_decay": 1.0}, r"`ema_decay` must be in \[0, 1\)"),
    ({"affine_degrees": 181.0}, r"`affine_degrees` must be in \[0, 180\]"),
    ({"epochs": True}, "`epochs` must be of type int"),
    ({"lr": "0.1"}, "`lr` must be of type float"),
    ({"device": "gpu0"}, "`device` must name a torch device"),
])
def test_config_refuses_the_edges_by_name(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        TrainConfig(**kwargs)


def test_config_edges_that_are_valid():
    cfg = TrainConfig(affine_degrees=180.0, ema_decay=0.0, min_delta=0.0, batch_size=0,
                      epochs=np.int64(3), lr=np.float32(0.5))
    assert cfg.epochs == 3 and type(cfg.epochs) is int and type(cfg.lr) is float
    assert TrainConfig.parse_overrides(["epochs=2.0", "refit=yes", "scheduler=none"]) == {
        "epochs": 2, "refit": True, "scheduler": None}


def test_validation_runs_in_eval_mode_and_puts_train_mode_back():
    """A model with heavy dropout, handed over in train mode: the validation figures are those
    of eval mode (no dropout), and the model is in train mode again afterwards."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.Dropout(0.9), nn.Linear(32, 2)).train()
    x, y = torch.randn(50, 2), torch.randint(0, 2, (50,))
    with torch.no_grad():
        expected = float(loss_fn(model.eval()(x), y))
    model.train()
    loss, _ = _evaluate(model, [(x[:20], y[:20]), (x[20:], y[20:])], torch.device("cpu"))
    assert loss == pytest.approx(expected, rel=1e-6)
    assert model.training and model[1].training
