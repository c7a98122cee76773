"""Figure family errors (vizkit.figures.errors): confusion, worst examples, probability bars and
learning curves; every caption claim computed from the data drawn."""

import re

import numpy as np
import torch
from torch import nn

from _toy import readable
from vizkit.analysis.errors import PredictionExamples, Predictions, _select, confusion, predictions
from vizkit.data import Split
from vizkit.figures import make_figures
from vizkit.figures.errors import prediction_bars_caption


def _split(x, y, classes):
    return Split("toy", x, y, x[:4], y[:4], x, y, tuple(classes), tuple(x.shape[1:]), "0" * 16)


def test_figure_family_errors(pyplot):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    x = torch.rand(30, 1, 4, 4)
    y = torch.randint(0, 3, (30,))
    hist = {"epochs": [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_acc": 0.3,
                        "val_acc": 0.3}], "best_epoch": 1}
    figs = make_figures("errors", model, _split(x, y, ["a", "b", "c"]), meta={"history": hist})
    assert [f.id for f in figs] == ["confusion", "worst_examples", "prediction_bars",
                                    "learning_curves"]
    assert all(f.caption for f in figs)
    figs = make_figures("errors", model, _split(x, y, ["a", "b", "c"]))
    assert "learning_curves" not in [f.id for f in figs]
    # 2D inputs: bars only, no image panels
    x2 = torch.randn(20, 2)
    y2 = (x2[:, 0] > 0).long()
    lin = nn.Linear(2, 2)
    figs = make_figures("errors", lin, _split(x2, y2, ["0", "1"]))
    assert [f.id for f in figs] == ["confusion", "worst_examples", "prediction_bars"]
    # the confusion drawn is analysis' (the one home of the confusion matrix)
    np.testing.assert_array_equal(figs[0].data["confusion"], confusion(lin, x2, y2))


def _preds(probs, y):
    probs = np.asarray(probs, dtype=float)
    return Predictions(probs=probs, pred=probs.argmax(1), y=np.asarray(y),
                       loss=-np.log(probs[np.arange(len(y)), y]))


def _chosen(preds):
    x = torch.zeros(len(preds.y), 1)
    conf = preds.probs.max(1)
    wrong = np.flatnonzero(~preds.correct)
    right = np.flatnonzero(preds.correct)
    return PredictionExamples(right=_select(preds, x, right[np.argsort(conf[right])]),
                              wrong=_select(preds, x, wrong[np.argsort(-conf[wrong])]))


def test_prediction_bars_caption_claims_only_what_exists():
    # no confident mistake: the surest wrong answer has p = 0.60
    p = _preds([[0.6, 0.4], [0.45, 0.55], [0.9, 0.1], [0.3, 0.7]], [1, 0, 0, 1])
    text = prediction_bars_caption(_chosen(p), p)
    assert "confidently wrong" not in text
    assert "No mistake was made with probability >= 0.9: the surest wrong prediction had 0.60" in text
    assert "2 wrong test predictions" in text and "of its 2 mistakes on 4 test examples" in text
    assert re.search(r"probability of the predicted class 0\.60 to 0\.55", text)
    assert re.search(r"least sure of \(probability of the predicted class 0\.70 to 0\.90\)", text)
    # one confident mistake
    p = _preds([[0.95, 0.05], [0.45, 0.55], [0.9, 0.1]], [1, 0, 0])
    text = prediction_bars_caption(_chosen(p), p)
    assert "1 of the 2 mistakes were made with probability >= 0.9 (confidently wrong)" in text
    # no mistake at all
    p = _preds([[0.8, 0.2], [0.3, 0.7]], [0, 1])
    text = prediction_bars_caption(_chosen(p), p)
    assert "no mistake on the 2 test examples" in text and "wrong test predictions" not in text


def _fashion_like(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 6, 6, generator=g)
    y = torch.arange(n) % 3
    names = ("T-shirt/top", "Ankle boot", "Bag")
    return Split("fashion-like", x, y, x[:6], y[:6], x, y, names, (1, 6, 6), "0" * 16)


def test_figure_family_errors_captions_equal_the_data(pyplot):
    split = _fashion_like()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3)).eval()
    hist = {"epochs": [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_acc": 0.3,
                        "val_acc": 0.3},
                       {"epoch": 2, "train_loss": 0.9, "val_loss": 1.05, "train_acc": 0.4,
                        "val_acc": 0.35}], "best_epoch": 2}
    figs = {f.id: f for f in make_figures("errors", model, split, meta={"history": hist})}
    preds = predictions(model, split.x_test, split.y_test)
    for f in figs.values():
        readable(f.fig)
        assert "digit" not in f.caption.lower()
    conf = figs["confusion"]
    M = conf.data["confusion"]
    assert (f"{np.trace(M)} of {M.sum()} test examples right, accuracy "
            f"{np.trace(M) / M.sum():.1%}" in conf.caption)
    off = M - np.diag(np.diag(M))
    top = np.argwhere(off == off.max())
    for i, j in top:  # every pair at the top count is named (a tie as a tie)
        assert f"'{split.classes[i]}' predicted as '{split.classes[j]}'" in conf.caption or \
            f"'{split.classes[i]}' as '{split.classes[j]}'" in conf.caption
    assert ("tie at" in conf.caption) == (len(top) > 1)
    worst = figs["worst_examples"]
    loss = worst.data["loss"]
    assert f"loss {loss[0]:.2f} to {loss[-1]:.2f}" in worst.caption
    assert f"{(worst.data['y'] != worst.data['pred']).sum()} of them misclassified" in worst.caption
    np.testing.assert_allclose(worst.data["inputs"], split.x_test[worst.data["indices"]].numpy())
    bars = figs["prediction_bars"]
    d = bars.data
    wconf = d["wrong_probs"][np.arange(len(d["wrong_pred"])), d["wrong_pred"]]
    assert not np.isin(d["wrong_indices"], worst.data["indices"]).any()
    others = ~preds.correct & ~np.isin(np.arange(len(preds.y)), worst.data["indices"])
    assert np.all(np.diff(wconf) <= 0)
    assert wconf[0] == preds.probs[others].max()
    assert f"{len(wconf)} wrong test predictions not among the" in bars.caption
    assert f"of its {(~preds.correct).sum()} mistakes on {len(preds.y)}" in bars.caption
    assert f"predicted class {wconf[0]:.2f} to {wconf[-1]:.2f}" in bars.caption
    claims = "confidently wrong" in bars.caption
    all_conf = preds.probs[np.arange(len(preds.y)), preds.pred]
    assert claims == bool((all_conf[~preds.correct] >= 0.9).any())
    images = [im for ax in bars.fig.findobj(lambda a: hasattr(a, "get_images"))
              for im in ax.get_images()]
    assert images and all(im.get_cmap().name == "gray" and im.get_clim() == (0.0, 1.0)
                          for im in images)
    curves = figs["learning_curves"]
    # the best epoch is the last one and validation accuracy rose into it: said as such
    assert curves.caption.startswith("Validation accuracy was still rising at the last of the 2 "
                                     "epochs")
    assert re.search(r"Epoch 2 \(star, dotted line\) is both the last and the best-validation "
                     r"epoch \(.*validation accuracy 35\.0%\)", curves.caption)
    assert "The kept weights are the last epoch's" in curves.caption
    assert "retrained" not in curves.caption
    assert int(curves.data["refit_epochs"]) == 0
    # a refit model (metrics['refit_epochs']): the caption must not say the run's weights were kept
    refit = {f.id: f for f in make_figures("errors", model, split, meta={
        "history": hist, "metrics": {"refit_epochs": 2}})}["learning_curves"]
    assert "whose weights were kept" not in refit.caption
    assert ("retrained from scratch on the training and validation images for 2 epochs"
            in refit.caption)
    assert int(refit.data["refit_epochs"]) == 2
