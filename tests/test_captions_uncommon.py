"""Every number a caption prints, checked against the array the figure carries (Figure.data),
through the registry (``vizkit.figures.make_figures``), on a model that makes mistakes and on one
that makes none."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vizkit.figures import make_figures
from vizkit.train import train_model

from _toy import image_split, xor_split

NUM = r"(-?\d+(?:\.\d+)?)"
RANGE = NUM + r"(?: to " + NUM + r")?"  # "0.39 to 0.41", or "0.39" when both ends round alike


def _find(pattern: str, caption: str) -> tuple:
    m = re.search(pattern, caption)
    assert m, f"{pattern!r} not in caption: {caption}"
    return m.groups()


def _close(printed: str, value: float) -> None:
    """``printed`` is ``value`` rounded to the digits it shows."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    assert abs(float(printed) - value) <= 0.5 * 10 ** -decimals + 1e-12, (printed, value)


@pytest.fixture(scope="module")
def wrong_mlp():
    """An MLP after 3 epochs on XOR: many mistakes (the uncommon branch of every caption)."""
    split = xor_split(n=200)
    model, hist, _ = train_model("mlp", split, {"epochs": 3, "progress": False}, hidden=(8,))
    return model, split, {"history": hist.to_dict()}


@pytest.fixture(scope="module")
def right_logreg():
    """Logistic regression on trivially separable bands: no test mistake at all."""
    split = image_split(n=90)
    model, hist, _ = train_model("logreg", split, {"epochs": 3, "progress": False})
    return model, split, {"history": hist.to_dict()}


@pytest.fixture(scope="module")
def one_test_sample(right_logreg):
    """The same model, its test part cut to one example (class 2 absent, ranges collapse)."""
    import dataclasses

    model, split, meta = right_logreg
    return model, dataclasses.replace(split, x_test=split.x_test[:1], y_test=split.y_test[:1]), meta


def _by_id(figs) -> dict:
    return {f.id: f for f in figs}


@pytest.mark.parametrize("case", ["wrong_mlp", "right_logreg", "one_test_sample"])
def test_errors_captions_match_their_arrays(case, request, pyplot):
    model, split, meta = request.getfixturevalue(case)
    figs = _by_id(make_figures("errors", model, split, meta=meta))

    conf = figs["confusion"]
    M = conf.data["confusion"]
    right, n, acc = _find(r"\((\d+) of (\d+) test examples right, accuracy " + NUM + "%",
                          conf.caption)
    assert int(n) == M.sum() == len(split.y_test) and int(right) == np.trace(M)
    _close(acc, 100 * np.trace(M) / M.sum())
    off = M - np.diag(np.diag(M))
    if off.any():
        names = list(conf.data["class_names"])
        top = [(names[i], names[j]) for i, j in zip(*np.nonzero(off == off.max()))]
        if len(top) == 1:
            count, true, pred = _find(r"most frequent mistake \((\d+) mistakes?\): class '([^']+)' "
                                      r"predicted as '([^']+)'", conf.caption)
            assert (int(count), (true, pred)) == (off.max(), top[0])
        else:  # a tie is named as one, every tied pair listed
            (count,) = _find(r"tie at (\d+) mistakes? each", conf.caption)
            assert int(count) == off.max()
            for t, p in top[:6]:
                assert f"'{t}' as '{p}'" in conf.caption
    else:
        assert "There are no mistakes" in conf.caption

    worst = figs["worst_examples"]
    d = worst.data
    k, hi, lo, wrong = _find(r"\((\d+) examples?, loss " + RANGE
                             + r"; (\d+) of them misclassified", worst.caption)
    lo = lo or hi
    assert int(k) == len(d["indices"]) == len(d["loss"])
    _close(hi, d["loss"].max())
    _close(lo, d["loss"].min())
    assert int(wrong) == int((d["pred"] != d["y"]).sum())
    assert np.all(np.diff(d["loss"]) <= 0)  # highest loss first, as the caption says

    bars = figs["prediction_bars"]
    d = bars.data
    k, p_lo, p_hi = _find(r"the (\d+) right test predictions .*?\(probability of the predicted class "
                          + RANGE,
                          bars.caption)
    p_hi = p_hi or p_lo
    assert int(k) == len(d["right_indices"])
    right_p = d["right_probs"].max(1)
    _close(p_lo, right_p.min())
    _close(p_hi, right_p.max())
    assert np.array_equal(d["right_pred"], d["right_y"])
    n_wrong = int(off.sum())
    if n_wrong:
        k, total_wrong, n_test = _find(r"the (\d+) wrong test predictions .*?of its (\d+) mistakes on "
                                       r"(\d+) test examples", bars.caption)
        assert int(k) == len(d["wrong_indices"]) and int(total_wrong) == n_wrong
        assert int(n_test) == M.sum()
        assert np.all(d["wrong_pred"] != d["wrong_y"])
        surest = d["wrong_probs"].max(1)
        w_hi, w_lo = _find(r"mistakes on \d+ test examples; probability of the predicted class "
                           + RANGE, bars.caption)
        w_lo = w_lo or w_hi
        _close(w_hi, surest.max())
        _close(w_lo, surest.min())
    else:
        (n_test,) = _find(r"no mistake on the (\d+) test examples", bars.caption)
        assert int(n_test) == M.sum() and len(d["wrong_indices"]) == 0

    curves = figs["learning_curves"]
    d = curves.data
    n_ep, best, vloss, vacc = _find(r"over (\d+) epochs.*?mark epoch (\d+).*?validation loss " + NUM
                                    + ", validation accuracy " + NUM + "%", curves.caption)
    assert int(n_ep) == len(d["epoch"]) == len(meta["history"]["epochs"])
    assert int(best) == int(d["best_epoch"]) == meta["history"]["best_epoch"]
    b = int(best) - 1
    _close(vloss, d["val_loss"][b])
    _close(vacc, 100 * d["val_acc"][b])
    assert d["val_loss"][b] == pytest.approx(meta["history"]["epochs"][b]["val_loss"])


def test_decision_surface_caption_matches_its_arrays(wrong_mlp, pyplot):
    model, split, meta = wrong_mlp
    (fig,) = [f for f in make_figures("decision-surface", model, split, meta=meta)
              if f.id == "decision_surface"]
    d = fig.data
    gx, gy, n, acc, wrong = _find(r"\((\d+)x(\d+) grid\).*?the (\d+) test examples.*?test accuracy "
                                  + NUM + r"%, (\d+) wrong", fig.caption)
    assert d["region_labels"].shape == (int(gy), int(gx)) == (len(d["grid_y"]), len(d["grid_x"]))
    assert int(n) == len(d["points"]) == len(split.y_test)
    _close(acc, 100 * np.mean(d["predictions"] == d["labels"]))
    assert int(wrong) == int(np.sum(d["predictions"] != d["labels"]))
    np.testing.assert_array_equal(d["labels"], split.y_test.numpy())


def test_weights_caption_matches_its_arrays(right_logreg, pyplot):
    model, split, meta = right_logreg
    (fig,) = make_figures("weights", model, split, meta=meta)
    images = fig.data["images"]
    n_cls, bound, cls, row, col, pct, n_train = _find(
        r"each of the (\d+) class scores.*?\|w\| <= " + NUM + r".*?image of class '([^']+)', at row "
        r"(\d+), column (\d+): a pixel above 0.5 in " + NUM + r"% of the (\d+) training images",
        fig.caption)
    assert int(n_cls) == len(images) == split.n_classes
    # the printed bound is the largest |weight|, to the digits shown
    assert float(bound) == pytest.approx(np.abs(images).max(), rel=5e-3)
    c, r, k = np.unravel_index(np.argmax(np.abs(images)), images.shape)
    assert (cls, int(row), int(col)) == (str(fig.data["class_names"][c]), r, k)
    assert int(n_train) == len(split.y_train)
    bright = split.x_train[:, 0, r, k].numpy() > 0.5
    _close(pct, 100 * bright.mean())
