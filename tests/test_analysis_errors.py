"""Errors and training: confusion counts, worst examples, right/wrong samples, their plots, and
learning curves (the family's figures: tests/test_figures_errors.py)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vizkit.analysis.errors import (confidence_examples, confusion,
                                   prediction_examples, predictions, worst_examples)


def _sign_model():
    """One input, two classes: logits (0, x), so class 1 iff x > 0 and P(1) = sigmoid(x)."""
    m = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[0.0], [1.0]]))
    return m


def _toy(n=40, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4)).eval()
    x = torch.randn(n, 3)
    y = torch.randint(0, 4, (n,))
    return model, x, y


def test_confusion_counts_hand_made():
    x = torch.tensor([[1.0], [-1.0], [2.0], [-0.5], [3.0]])
    y = torch.tensor([1, 1, 0, 0, 1])
    # predictions: 1, 0, 1, 0, 1 -> true 0: one right (x=-0.5), one as 1 (x=2); true 1: 2 right, 1 as 0
    M = confusion(_sign_model(), x, y)
    assert M.tolist() == [[1, 1], [1, 2]]
    assert confusion(_sign_model(), x, y, n_classes=3).shape == (3, 3)


def test_predictions_probabilities_and_losses():
    x = torch.tensor([[0.0], [2.0], [-1.0]])
    y = torch.tensor([1, 0, 0])
    p = predictions(_sign_model(), x, y, batch_size=2)
    sig = 1 / (1 + np.exp(-x.numpy()[:, 0]))
    np.testing.assert_allclose(p.probs[:, 1], sig, atol=1e-7)
    np.testing.assert_allclose(p.loss, [np.log(2), np.log1p(np.exp(2.0)), np.log1p(np.exp(-1.0))],
                               atol=1e-7)
    np.testing.assert_array_equal(p.pred, [0, 1, 0])
    np.testing.assert_array_equal(p.correct, [False, False, True])


def test_single_logit_binary_model():
    m = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        m.weight.fill_(1.0)
    x = torch.tensor([[2.0], [-3.0]])
    p = predictions(m, x, torch.tensor([1, 1]))
    np.testing.assert_allclose(p.probs[:, 1], 1 / (1 + np.exp([-2.0, 3.0])), atol=1e-7)
    np.testing.assert_allclose(p.loss, F.binary_cross_entropy_with_logits(
        x[:, 0], torch.ones(2), reduction="none").numpy(), atol=1e-6)


def test_worst_examples_have_the_highest_losses_sorted():
    model, x, y = _toy()
    worst = worst_examples(model, x, y, k=5, batch_size=7)
    with torch.no_grad():
        losses = F.cross_entropy(model(x), y, reduction="none").numpy()
    np.testing.assert_allclose(worst.loss, np.sort(losses)[::-1][:5], atol=1e-5)
    assert np.all(np.diff(worst.loss) <= 0)
    np.testing.assert_allclose(losses[worst.indices], worst.loss, atol=1e-5)
    assert torch.equal(worst.inputs, x[torch.from_numpy(worst.indices)])
    np.testing.assert_array_equal(worst.y, y.numpy()[worst.indices])
    np.testing.assert_allclose(worst.probs.sum(1), 1.0, atol=1e-6)
    assert len(worst_examples(model, x, y, k=100)) == len(x)


def test_prediction_examples_right_wrong_and_seeded():
    model, x, y = _toy(60)
    ex = prediction_examples(model, x, y, n_right=3, n_wrong=4, seed=1)
    assert len(ex.right) == 3 and len(ex.wrong) == 4
    assert np.all(ex.right.pred == ex.right.y) and np.all(ex.wrong.pred != ex.wrong.y)
    again = prediction_examples(model, x, y, n_right=3, n_wrong=4, seed=1)
    np.testing.assert_array_equal(again.wrong.indices, ex.wrong.indices)
    other = [prediction_examples(model, x, y, n_right=3, n_wrong=4, seed=s).wrong.indices.tolist()
             for s in range(2, 6)]
    assert any(o != ex.wrong.indices.tolist() for o in other)


def test_model_flag_restored():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)).train()
    x, y = torch.randn(5, 3), torch.zeros(5, dtype=torch.long)
    a = predictions(model, x, y)
    b = predictions(model, x, y)
    np.testing.assert_array_equal(a.probs, b.probs)  # dropout off during evaluation
    assert model.training


@pytest.mark.parametrize("call, exc, message", [
    (lambda m, x, y: predictions(m, x, y[:-1]), ValueError, "same length"),
    (lambda m, x, y: predictions(m, x, y + 10), ValueError, r"labels must be in \[0, 3\]"),
    (lambda m, x, y: worst_examples(m, x, y, k=-1), ValueError, "`k` must be a non-negative"),
    (lambda m, x, y: predictions(lambda t: t, x, y), TypeError, "`model` must be a torch.nn.Module"),
])
def test_errors(call, exc, message):
    model, x, y = _toy(8)
    with pytest.raises(exc, match=message):
        call(model, x, y)


# --- plotting -----------------------------------------------------------------------------------

def test_plot_confusion_annotations_and_ticks(pyplot):
    from vizkit.plot.errors import plot_confusion

    M = np.array([[5, 0, 1], [2, 7, 0], [0, 3, 9]])
    ax = pyplot.figure().gca()
    ax.set_ylabel("mine")
    mesh = plot_confusion(M, class_names=["a", "b", "c"], ax=ax)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in M.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(3, 3), M)
    assert ax.get_ylabel() == "mine" and ax.get_xlabel() == "predicted class"
    mesh = plot_confusion(M, class_names=["a", "b", "c"], ax=pyplot.figure().gca(), normalize=True)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(3, 3).sum(1), 1.0)


def test_plot_examples_bar_colours_and_images(pyplot):
    from matplotlib.colors import to_rgba

    from vizkit.plot.errors import OTHER_COLOR, TRUE_COLOR, WRONG_COLOR, plot_examples

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    x = torch.rand(30, 1, 4, 4)
    y = torch.randint(0, 3, (30,))
    worst = worst_examples(model, x, y, k=4)
    out = plot_examples(worst, class_names=["a", "b", "c"])
    assert out["axes"].shape == (2, 4)
    for j, bars in enumerate(out["bars"]):
        heights = [b.get_height() for b in bars]
        np.testing.assert_allclose(heights, worst.probs[j])
        colors = [b.get_facecolor() for b in bars]
        t, p = worst.y[j], worst.pred[j]
        assert colors[t] == to_rgba(TRUE_COLOR)
        for c in range(3):
            if c != t:
                assert colors[c] == to_rgba(WRONG_COLOR if c == p else OTHER_COLOR)
    np.testing.assert_allclose(out["images"][0].get_array(), worst.inputs[0, 0].numpy())
    t0, p0 = int(worst.y[0]), int(worst.pred[0])
    assert out["axes"][0, 0].get_title() == (f"true {'abc'[t0]}: p={worst.probs[0, t0]:.2f}\n"
                                             f"pred {'abc'[p0]}: p={worst.probs[0, p0]:.2f}")
    # one convention for digits: raw intensities white on black, 0 to 1
    for im in out["images"]:
        assert im.get_cmap().name == "gray" and im.get_clim() == (0.0, 1.0)


def test_history_arrays_are_the_drawn_series_with_nan_gaps():
    from vizkit.plot.curves import history_arrays
    from vizkit.train import History

    hist = History(epochs=[{"epoch": 1, "train_loss": 1.0, "val_acc": None},
                           {"epoch": 2, "train_loss": 0.5, "val_acc": 0.7}], best_epoch=2)
    data = history_arrays(hist)
    assert sorted(data) == ["best_epoch", "epoch", "train_loss", "val_acc"]  # no empty series
    np.testing.assert_array_equal(data["epoch"], [1.0, 2.0])
    np.testing.assert_array_equal(data["train_loss"], [1.0, 0.5])
    assert np.isnan(data["val_acc"][0]) and data["val_acc"][1] == 0.7
    assert int(data["best_epoch"]) == 2
    # the dict form and a plain list of epochs (epochs numbered from 1, best unknown: 0)
    np.testing.assert_array_equal(history_arrays(hist.to_dict())["train_loss"], [1.0, 0.5])
    plain = history_arrays([{"train_loss": 3.0}, {"train_loss": 2.0}])
    np.testing.assert_array_equal(plain["epoch"], [1.0, 2.0])
    assert int(plain["best_epoch"]) == 0


def test_learning_curves_carry_history_data(pyplot):
    from vizkit.plot.curves import plot_learning_curves
    from vizkit.train import History

    epochs = [{"epoch": i + 1, "train_loss": tl, "val_loss": vl, "train_acc": ta, "val_acc": va}
              for i, (tl, vl, ta, va) in enumerate([(1.0, 1.2, 0.5, 0.45), (0.6, 0.8, 0.7, 0.66),
                                                    (0.4, 0.9, 0.8, 0.64)])]
    hist = History(epochs=epochs, best_epoch=2)
    fig, axes = pyplot.subplots(1, 2)
    axes[0].set_xlabel("my epochs")
    lines = plot_learning_curves(hist, axes=axes)
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        np.testing.assert_allclose(lines[key].get_xdata(), [1, 2, 3])
        np.testing.assert_allclose(lines[key].get_ydata(), [e[key] for e in epochs])
    assert lines["train_loss"].axes is axes[0] and lines["val_acc"].axes is axes[1]
    stars = [a for a in lines["best"] if a.get_marker() == "*"]
    assert [(s.get_xdata()[0], s.get_ydata()[0]) for s in stars] == [(2, 0.8), (2, 0.66)]
    assert axes[0].get_xlabel() == "my epochs" and axes[1].get_ylabel() == "accuracy"
    # the dict form and a plain list give the same lines
    from_dict = plot_learning_curves(hist.to_dict())
    np.testing.assert_allclose(from_dict["val_loss"].get_ydata(), lines["val_loss"].get_ydata())
    no_val = plot_learning_curves([{"train_loss": 1.0}, {"train_loss": 0.5}])
    assert "val_loss" not in no_val and no_val["best"] == []
    with pytest.raises(ValueError, match="no epochs"):
        plot_learning_curves({"epochs": []})


def test_confidence_examples_are_the_surest_wrong_and_least_sure_right():
    # P(class 1) = sigmoid(x): confidence of the prediction is sigmoid(|x|)
    x = torch.tensor([[3.0], [0.5], [-2.0], [1.0], [-0.2], [4.0]])
    y = torch.tensor([0, 1, 1, 0, 0, 1])  # wrong: 0 (conf .95), 2 (.88), 3 (.73); right: 1, 4, 5
    ex = confidence_examples(_sign_model(), x, y, n_right=2, n_wrong=2)
    assert ex.wrong.indices.tolist() == [0, 2] and ex.right.indices.tolist() == [4, 1]
    assert np.all(ex.wrong.pred != ex.wrong.y) and np.all(ex.right.pred == ex.right.y)
    assert len(confidence_examples(_sign_model(), x, y, n_wrong=10).wrong) == 3
