"""Issue 21 follow-up (teacher's review, item 1): a best-validation epoch that is the last epoch
run is not an optimum. The errors family reads how training ended from the history
(vizkit.analysis.errors.training_end) and says what is true; checked by hand and by scipy."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from vizkit.analysis.errors import training_end
from vizkit.data import Split
from vizkit.figures import make_figures
from vizkit.figures.errors import training_end_text
from vizkit.train import History


def _hist(val_acc, val_loss=None, best=None):
    val_loss = val_loss or [None] * len(val_acc)
    eps = [{"epoch": i + 1, "train_loss": 1.0 / (i + 1), "train_acc": 0.5 + 0.01 * i,
            "val_acc": a, "val_loss": v} for i, (a, v) in enumerate(zip(val_acc, val_loss))]
    return {"epochs": eps, "best_epoch": best or 0}


def test_best_is_last_and_still_rising_hand_worked_and_by_scipy():
    acc, loss = [0.61, 0.85, 0.94, 0.968, 0.976, 0.979], [1.96, 1.31, 0.68, 0.312, 0.160, 0.104]
    end = training_end(_hist(acc, loss, best=6))
    assert (end.best_epoch, end.last_epoch, end.n_epochs) == (6, 6, 6)
    assert end.best_is_last and end.still_improving
    assert end.window.tolist() == [4, 5, 6]
    # three equally spaced points: the least-squares slope is (last - first) / 2
    assert end.val_acc_slope == pytest.approx((0.979 - 0.968) / 2)
    assert end.val_loss_slope == pytest.approx((0.104 - 0.312) / 2)
    # a second route: scipy's linear regression over the same epochs
    assert end.val_acc_slope == pytest.approx(stats.linregress([4, 5, 6], acc[3:]).slope)
    assert end.val_loss_slope == pytest.approx(stats.linregress([4, 5, 6], loss[3:]).slope)
    assert end.generalization_loss == 0.0  # the validation loss is lowest at the last epoch


def test_best_in_the_middle_is_not_still_improving_and_gl_is_prechelts():
    end = training_end(_hist([0.6, 0.9, 0.85, 0.8], [1.0, 0.5, 0.55, 0.6], best=2))
    assert end.best_epoch == 2 and not end.best_is_last and not end.still_improving
    assert end.generalization_loss == pytest.approx(100 * (0.6 / 0.5 - 1))  # 20 %
    assert end.val_acc_slope < 0 < end.val_loss_slope


def test_best_is_last_but_the_end_is_not_rising_over_a_longer_window():
    # last is best, but over the last 4 epochs the fitted slope points down (a dip at epoch 3)
    acc = [0.9, 0.95, 0.7, 0.96]
    end = training_end(_hist(acc), last=4)
    assert end.best_is_last and not end.still_improving
    assert end.val_acc_slope == pytest.approx(stats.linregress([1, 2, 3, 4], acc).slope)
    assert end.val_acc_slope < 0
    assert np.isnan(end.val_loss_slope) and np.isnan(end.generalization_loss)
    text = training_end_text(end)
    assert "not clear that training found an optimum" in text and "still" not in text


def test_monitor_and_recorded_best_and_history_object():
    # accuracy peaks at epoch 2, the loss keeps falling: the monitor decides which is "best"
    h = _hist([0.6, 0.9, 0.85], [1.0, 0.8, 0.7])
    assert training_end(h, monitor="val_acc").best_epoch == 2
    by_loss = training_end(h, monitor="val_loss")
    assert by_loss.best_epoch == 3 and by_loss.still_improving
    # the epoch the training recorded wins over a recount (its own tie rule)
    tie = _hist([0.6, 0.9, 0.9], best=3)
    assert training_end(tie).best_epoch == 3 and training_end(tie).best_is_last
    assert training_end(History(epochs=h["epochs"], best_epoch=2)).best_epoch == 2
    # epochs without a validation figure are skipped by the slope
    gap = _hist([0.5, 0.7, None, 0.9])
    assert training_end(gap).val_acc_slope == pytest.approx(0.1)  # epochs 2 and 4 only


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((_hist([0.5, 0.6]),), {"monitor": "acc"}, ValueError, "one of 'val_acc', 'val_loss'"),
    ((_hist([0.5, 0.6]),), {"last": 1}, ValueError, "integer >= 2"),
    ((_hist([0.5, 0.6]),), {"last": 2.5}, ValueError, "integer >= 2"),
    (([{"epoch": 1, "train_loss": 1.0}],), {}, ValueError, "no epoch of `history` has a value"),
    (("history",), {}, TypeError, "vizkit.train.History"),
])
def test_training_end_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        training_end(*args, **kwargs)


def _split():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 4, 4, generator=g)
    y = torch.arange(24) % 3
    return Split("toy", x, y, x[:6], y[:6], x, y, ("a", "b", "c"), (1, 4, 4), "0" * 16)


def _curves(hist, **meta):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    figs = {f.id: f for f in make_figures("errors", model, _split(), meta={"history": hist,
                                                                           **meta})}
    return figs["learning_curves"]


def _star_labels(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend() is not None
            for t in ax.get_legend().get_texts()]


def test_family_says_still_rising_when_the_best_epoch_is_the_last(pyplot):
    f = _curves(_hist([0.6, 0.8, 0.9, 0.95], [1.0, 0.7, 0.5, 0.4], best=4))
    assert f.caption.startswith("Validation accuracy was still rising at the last of the 4 "
                                "epochs: more epochs might help.")
    assert "best epoch (" not in " ".join(_star_labels(f.fig))
    assert "last epoch (4), still improving" in _star_labels(f.fig)
    assert bool(f.data["still_improving"]) and bool(f.data["best_is_last"])
    # the numbers in the words are the arrays'
    assert f"rose {f.data['val_acc_slope'] * 100:.2g} points per epoch" in f.caption
    assert f"fell {abs(f.data['val_loss_slope']):.2g} per epoch" in f.caption
    assert f.data["val_acc_slope"] == pytest.approx(0.075)
    assert "The kept weights are the last epoch's" in f.caption
    # a refit model: the refit sentence says whose weights, not "the last epoch's"
    refit = _curves(_hist([0.6, 0.8, 0.9, 0.95], best=4), metrics={"refit_epochs": 4})
    assert "last epoch's" not in refit.caption and "retrained from scratch" in refit.caption


def test_family_marks_a_best_epoch_in_the_middle_as_best(pyplot):
    f = _curves(_hist([0.6, 0.9, 0.85, 0.8], [1.0, 0.5, 0.55, 0.6], best=2))
    assert "best epoch (2)" in _star_labels(f.fig)
    assert "still" not in f.caption.split(". Validation accuracy is above")[0]
    assert "epoch 2 of 4, the best-validation epoch, whose weights were kept" in f.caption
    assert "20% above its lowest (Prechelt's generalization loss)" in f.caption
    assert not bool(f.data["still_improving"])
    assert float(f.data["generalization_loss"]) == pytest.approx(20.0)


def test_family_reads_the_monitor_from_the_config(pyplot):
    # accuracy peaked at epoch 2, but the run chose by validation loss, still falling at the end
    h = _hist([0.6, 0.9, 0.85], [1.0, 0.8, 0.7], best=3)
    f = _curves(h, config={"monitor": "val_loss"})
    assert f.caption.startswith("Validation loss was still falling at the last of the 3 epochs")
