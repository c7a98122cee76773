"""Issue 21 item 6 on the errors page: ties named as ties, worst vs surest-wrong sets, and the
sentence on validation above training accuracy."""

import numpy as np
import pytest
import torch

from vizkit.analysis.errors import confidence_examples, predictions, worst_examples
from vizkit.figures.errors import confusion_caption, train_val_note


def test_confusion_caption_names_a_tie():
    M = np.array([[9, 2, 0], [0, 8, 2], [2, 0, 7]])  # three pairs at 2
    text = confusion_caption(M, ["a", "b", "c"])
    assert "tie at 2 mistakes each" in text and "three pairs" in text
    assert "'a' as 'b'" in text and "'b' as 'c'" in text and "'c' as 'a'" in text
    assert "The most frequent mistake" not in text


def test_confusion_caption_single_most_frequent():
    M = np.array([[9, 3, 0], [0, 8, 2], [1, 0, 7]])
    text = confusion_caption(M, ["a", "b", "c"])
    assert "The most frequent mistake (3 mistakes): class 'a' predicted as 'b'." in text
    assert "tie" not in text


def test_confusion_caption_no_mistake():
    assert confusion_caption(np.diag([3, 4]), ["a", "b"]).endswith("There are no mistakes.")


def _linear_model():
    m = torch.nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        m.weight.zero_()
        m.weight[1, 0] = 1.0  # P(class 1) = sigmoid(x)
    return m


def test_surest_wrong_excludes_the_worst():
    m = _linear_model()
    x = torch.tensor([[4.0], [3.0], [2.0], [1.0], [-1.0], [-2.0]])
    y = torch.tensor([0, 0, 0, 0, 0, 0])  # 4 wrong (x > 0), the larger x the worse
    worst = worst_examples(m, x, y, k=2)
    assert worst.indices.tolist() == [0, 1]
    ex = confidence_examples(m, x, y, n_right=1, n_wrong=5, exclude=worst.indices)
    assert ex.wrong.indices.tolist() == [2, 3]  # the rest of the mistakes, surest first
    assert not np.isin(ex.wrong.indices, worst.indices).any()
    both = confidence_examples(m, x, y, n_right=1, n_wrong=2)
    assert both.wrong.indices.tolist() == [0, 1]  # without exclusion: the same as the worst


def test_exclude_out_of_range_is_an_error():
    m = _linear_model()
    with pytest.raises(ValueError, match="exclude"):
        confidence_examples(m, torch.zeros(3, 1), torch.zeros(3, dtype=torch.long), exclude=[7])


def test_train_val_note_reads_what_was_on():
    hist = {"epochs": [{"epoch": 1, "train_acc": 0.9, "val_acc": 0.85},
                       {"epoch": 2, "train_acc": 0.93, "val_acc": 0.97}], "best_epoch": 2}
    text = train_val_note(hist, train_eval=(0.985, 3000),
                          config={"augment": "affine", "affine_degrees": 10, "affine_scale": 0.1,
                                  "shift_pixels": 2, "average": None}, dropout=[0.25])
    assert "at 1 of 2 epochs (epoch 2: 97.0% vs 93.0%)" in text
    assert "affine" in text and "dropout (p=0.25)" in text and "EMA" not in text
    assert "98.5% on the 3,000 training images" in text
    no_aug = train_val_note(hist, config={"augment": None}, dropout=[])
    assert "on during training" not in no_aug and "Measured" not in no_aug


def test_train_val_note_silent_when_training_is_above():
    hist = [{"epoch": 1, "train_acc": 0.95, "val_acc": 0.9}]
    assert train_val_note(hist, train_eval=(0.99, 10), dropout=[0.5]) == ""


def test_leftover_mistakes_below_the_confidence_line_are_not_called_surest(pyplot):
    # when the confident mistakes are all among the highest-loss examples, what is left is
    # hesitant: the title and caption say so instead of "the mistakes it was surest of"
    import torch

    from vizkit.figures.errors import prediction_bars_caption

    logits = torch.tensor([[5.0, 0.0], [0.3, 0.0], [0.0, 4.0], [4.0, 0.0]])
    model = torch.nn.Linear(4, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(logits.T)  # one-hot input k gives logits[k]
    x, y = torch.eye(4), torch.tensor([1, 1, 1, 0])
    from vizkit.analysis.errors import confidence_examples, predictions

    preds = predictions(model, x, y)
    # mistakes: 0 (p 0.99, the confident one, excluded as "highest loss") and 1 (p 0.57)
    ex = confidence_examples(model, x, y, n_right=1, n_wrong=2, preds=preds, exclude=[0])
    text = prediction_bars_caption(ex, preds, excluded=1, overlap=(1, 2))
    assert "the remaining mistakes, all hesitant (the 1 confident one is among" in text
    assert "surest of" not in text.split(". Top")[0]
