"""Over-training views read as a teacher would: an activation-maximization image too faint to
compare is found by its contrast (not its range, which one speckle or one noisy pixel decides),
checked by a second route (scikit-image smoothing); the embedding's 'the classes pull apart' is
measured twice (silhouette, k-NN accuracy); every figure reads from the back of a room."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

import vizkit.analysis.over_training as ot
from vizkit.figures.over_training import _separation_words
from vizkit.gallery._record import slide_text_px
from vizkit.plot.over_training import (FONT, over_training_figure, plot_change, plot_separation,
                                       plot_snapshot_grid)

BG = 0.1  # the activation-maximization images' background (sigmoid parametrization)


def _blank(rng=None, noise=0.0):
    img = np.full((28, 28), BG)
    if rng is not None:
        img = img + noise * rng.random((28, 28))
    return img


def _stroke(level, rng=None, noise=0.0):
    img = _blank(rng, noise)
    img[4:24, 13:15] = BG + level  # a vertical bar of 40 pixels
    img[4:6, 9:19] = BG + level  # and a top bar: a '7'-like stroke
    return img


def _speckle(level, n=1, rng=None, noise=0.0):
    img = _blank(rng, noise)
    for i in range(n):
        img[5 + 6 * i, 5 + 3 * i] = BG + level
    return img


def test_contrast_ignores_a_speckle_and_sees_a_faint_stroke():
    c = ot.contrast(np.stack([_blank(), _speckle(0.8, n=3), _stroke(0.1)]))
    assert c.tolist() == pytest.approx([0.0, 0.0, 0.1])
    # the plain range (the old measure) says the opposite: the speckle image has the most
    assert np.ptp(_speckle(0.8, n=3)) > np.ptp(_stroke(0.1))
    with pytest.raises(ValueError, match=r"`percentile` must be within \[50, 100\]"):
        ot.contrast(np.zeros((2, 2)), percentile=30)
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W\)"):
        ot.contrast(np.zeros(4))


def test_too_faint_hand_made_cases():
    clear = _stroke(0.8)  # what the class's image becomes
    series = np.stack([[_speckle(0.2)], [_stroke(0.1)], [clear]])  # (E=3, k=1, H, W)
    assert ot.too_faint(series).ravel().tolist() == [True, False, False]
    # a blank image with one bright speckle is no pattern either
    assert ot.too_faint(np.stack([[_speckle(0.8)], [clear]])).ravel().tolist() == [True, False]
    # relative to the class's clearest snapshot: a stroke at 7 % of it is too faint ...
    assert ot.too_faint(np.stack([[_stroke(0.06)], [clear]])).ravel().tolist() == [True, False]
    # ... and alone, above the floor, it is a pattern
    assert ot.too_faint(np.stack([[_stroke(0.06)]])).ravel().tolist() == [False]
    # a class that never shows anything: all its snapshots are too faint (the floor decides)
    rng = np.random.default_rng(0)
    never = np.stack([[_blank(rng, 0.03)], [_blank(rng, 0.04)]])
    assert ot.too_faint(never).all()
    with pytest.raises(ValueError, match=r"\(E, k, H, W\)"):
        ot.too_faint(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="`rel` and `floor` must be >= 0"):
        ot.too_faint(np.zeros((1, 1, 4, 4)), rel=-0.1)


def test_second_route_smoothing_separates_the_same_images():
    """scikit-image's Gaussian smoothing washes out speckles and noise but keeps a stroke: its
    range is lower for every image called too faint than for every image that is not."""
    from skimage.filters import gaussian

    rng = np.random.default_rng(1)
    faint = [_blank(rng, 0.03), _speckle(0.7, n=3, rng=rng, noise=0.02), _speckle(0.3, rng=rng),
             _blank(rng, 0.05)]
    shown = [_stroke(0.1, rng, 0.02), _stroke(0.4, rng, 0.02), _stroke(0.8, rng, 0.02)]
    series = np.stack([[img] for img in faint + shown])
    called = ot.too_faint(series).ravel()
    assert called.tolist() == [True] * len(faint) + [False] * len(shown)
    smooth = np.array([np.ptp(gaussian(img, sigma=1.5)) for img in faint + shown])
    assert smooth[called].max() < smooth[~called].min()


def _snapshots(actmax, features=None, feature_labels=None):
    e, k = actmax.shape[:2]
    rng = np.random.default_rng(0)
    if features is None:
        feature_labels = np.arange(30) % 3
        features = rng.normal(size=(e, 30, 4)) + np.arange(e)[:, None, None] * \
            np.eye(4)[feature_labels][None]
    return {"epochs": np.array([0, 1, 2, 4, 8][:e]), "images": rng.random((2, 28, 28)),
            "labels": np.array([0, 1]), "maps": rng.normal(size=(e, 2, 28, 28)),
            "predictions": np.zeros((e, 2), dtype=int), "actmax": actmax,
            "actmax_classes": np.arange(k), "features": features,
            "feature_labels": feature_labels, "method": np.asarray("saliency")}


def test_a_near_blank_image_just_above_the_old_cutoff_is_not_compared():
    """The MLP's epoch-0 image of class 3: background noise with a range of 5.3 % of [0, 1] (just
    above the old 5 % range cutoff) gave a Spearman '0->1 0.47' of noise with noise."""
    rng = np.random.default_rng(2)
    e0 = _blank(rng, 0.02)
    e0[3, 3] = BG + 0.053  # one noisy pixel sets the range
    assert not ot.is_flat(e0[None], scale=1.0)[0]  # the old rule compared it
    e1 = _blank(rng, 0.03)
    e2 = _stroke(0.3, rng, 0.02)
    e3 = _stroke(0.7, rng, 0.02)
    am = np.stack([[e0, _stroke(0.6, rng, 0.02)], [e1, _stroke(0.7, rng, 0.02)],
                   [e2, _stroke(0.8, rng, 0.02)], [e3, _stroke(0.8, rng, 0.02)]])
    res = ot.over_training(_snapshots(am))
    assert res.actmax_flat[:, 0].tolist() == [True, True, False, False]
    assert not res.actmax_flat[:, 1].any()
    assert np.isnan(res.actmax_rho[:2, 0]).all() and np.isfinite(res.actmax_rho[2, 0])
    assert np.isfinite(res.actmax_rho[:, 1]).all()
    np.testing.assert_allclose(res.actmax_contrast, ot.contrast(am))


def test_actmax_figure_says_which_images_were_too_faint(pyplot):
    from vizkit.figures.over_training import figures

    rng = np.random.default_rng(3)
    am = np.stack([[_blank(rng, 0.02), _blank(rng, 0.02)],
                   [_blank(rng, 0.03), _stroke(0.3, rng, 0.02)],
                   [_stroke(0.5, rng, 0.02), _stroke(0.7, rng, 0.02)]])
    split = SimpleNamespace(name="digits", input_shape=(1, 28, 28), classes=("a", "b", "c"))
    import torch

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 3))
    history = {"epochs": [{"epoch": 1, "val_acc": 0.5, "train_acc": 0.4},
                          {"epoch": 2, "val_acc": 0.8, "train_acc": 0.9}], "best_epoch": 2}
    figs = {f.id: f for f in figures(net, split, meta={"views": _snapshots(am),
                                                       "history": history})}
    f = figs["over-training-actmax"]
    assert f.data["flat"].tolist() == [[True, True], [True, False], [False, False]]
    assert "0->1 not measured (too faint)" in f.caption
    assert "1->2 " in f.caption and "(1 too faint left out)" in f.caption
    assert ("Too faint images (no pattern yet: an image's brightest 2% of pixels stand at most "
            "0.05 above its median pixel, or at most 10% as far as in its class's clearest "
            "snapshot)") in f.caption
    assert "2 of 2 at epoch 0, 1 of 2 at epoch 1." in f.caption
    shown = re.search(r"mean over the classes: epoch 0 (\d\.\d\d), epoch 1 (\d\.\d\d), "
                      r"epoch 2 (\d\.\d\d)\.", f.caption)
    np.testing.assert_allclose([float(v) for v in shown.groups()],
                               f.data["contrast"].mean(axis=1), atol=0.006)
    marks = [t for t in f.fig.findobj(pyplot.Text) if t.get_text() == "too faint"]
    assert len(marks) == 3


def test_marks_sit_at_the_foot_and_unmeasured_pairs_are_crossed(pyplot):
    out = plot_snapshot_grid(pyplot.figure(), np.zeros((2, 1, 4, 4)), [0, 1], row_labels=["a"],
                             flat=np.array([[True], [False]]), flat_text="too faint")
    (mark,) = out["flat_marks"]
    assert mark.get_text() == "too faint" and mark.get_position()[1] < 0.1
    fig, ax = pyplot.subplots()
    rho = np.array([[np.nan, np.nan], [np.nan, np.nan], [0.2, 0.4], [0.5, 0.3]])
    got = plot_change(ax, [0, 1, 2, 4, 8], rho, ylabel="rho", threshold=0.9,
                      unmeasured="not measured: too faint")
    assert got["unmeasured_x"] == [1, 2]
    assert "not measured: too faint" in ax.get_legend_handles_labels()[1]
    assert ax.get_ylim() == pytest.approx((-0.05, 1.05))  # the correlation's scale up to 1


def test_class_separation_hand_worked_and_uncommon_cases():
    # two classes of two points on a line: silhouette by hand
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    y = np.array([0, 0, 1, 1])
    by_hand = np.mean([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])
    sil, knn = ot.class_separation(x[None], y)
    assert sil[0] == pytest.approx(by_hand) and knn[0] == 1.0  # 2 folds, 1 neighbour
    # uneven classes (40 and 3 points), overlapping then apart: both measures rise
    rng = np.random.default_rng(0)
    y = np.array([0] * 40 + [1] * 3)
    mixed = rng.normal(size=(43, 3))
    apart = mixed + 8 * np.eye(3)[y]
    sil, knn = ot.class_separation(np.stack([mixed, apart]), y)
    assert sil[0] < sil[1] and knn[0] <= knn[1] and knn[1] == 1.0
    # a single class: nothing to separate; a class of one point: no k-NN folds
    sil, knn = ot.class_separation(mixed[None], np.zeros(43, dtype=int))
    assert np.isnan(sil).all() and np.isnan(knn).all()
    sil, knn = ot.class_separation(mixed[None], np.r_[np.zeros(42, dtype=int), 1])
    assert np.isfinite(sil).all() and np.isnan(knn).all()
    with pytest.raises(ValueError, match="one label per point"):
        ot.class_separation(mixed[None], y[:5])
    with pytest.raises(ValueError, match=r"\(E, m, D\)"):
        ot.class_separation(mixed, y)


def test_separation_verdict_follows_both_measures():
    up = SimpleNamespace(silhouette=np.array([0.05, 0.39]), knn_accuracy=np.array([0.76, 0.97]))
    words = _separation_words(up, [0, 8])
    assert words.startswith("The classes pull apart from epoch 0 to 8")
    assert "0.05 -> 0.39" in words and "76% -> 97%" in words
    down = SimpleNamespace(silhouette=np.array([0.3, 0.1]), knn_accuracy=np.array([0.9, 0.7]))
    assert _separation_words(down, [0, 8]).startswith("The classes draw together")
    split = SimpleNamespace(silhouette=np.array([0.1, 0.2]), knn_accuracy=np.array([0.9, 0.8]))
    assert _separation_words(split, [0, 8]).startswith("The two measures disagree")
    none = SimpleNamespace(silhouette=np.array([np.nan, np.nan]), knn_accuracy=np.array([1, 1.]))
    assert "not measured" in _separation_words(none, [0, 8])


def test_embedding_figure_draws_the_separation_and_every_figure_reads_from_the_back(pyplot):
    rng = np.random.default_rng(4)
    am = np.stack([[_stroke(0.1 * (i + 2), rng, 0.02) for _ in range(6)] for i in range(5)])
    res = ot.over_training(_snapshots(am))
    history = {"epoch": np.arange(1, 9.0), "val_acc": np.linspace(0.6, 0.95, 8)}
    names = [str(c) for c in range(10)]
    emb = over_training_figure(res, history, view="embedding", class_names=names)
    sep = emb["separation"]
    np.testing.assert_allclose(sep["silhouette"].get_ydata(), res.silhouette)
    np.testing.assert_allclose(sep["knn"].get_ydata(), res.knn_accuracy)
    assert res.silhouette[-1] > res.silhouette[0]  # the hand-made classes move apart
    axes = emb["embedding"]["axes"]
    assert len(axes) == 5 and len({round(ax.get_position().y0, 2) for ax in axes}) == 2
    assert [t.get_text() for t in emb["embedding"]["legend"].get_texts()] == ["0", "1", "2"]
    for view in ("attributions", "actmax", "embedding"):
        fig = over_training_figure(res, history, view=view, class_names=names)["fig"]
        fig.canvas.draw()
        sizes = [t.get_fontsize() for t in fig.findobj(pyplot.Text)
                 if t.get_visible() and t.get_text().strip()]
        w, h = fig.get_size_inches()
        assert min(sizes) >= FONT
        assert slide_text_px(min(sizes), int(w * 220), int(h * 220), 220) >= 20, view
        for ax in fig.axes:  # <= 6 legend entries per panel
            legend = ax.get_legend()
            assert legend is None or len(legend.get_texts()) <= 6, view


def test_one_hot_pixel_does_not_wash_out_an_attribution_map():
    """Each map is scaled by its 98th percentile of |attribution| (the largest 2 % saturate), not
    its maximum: a hot pixel leaves the rest of the map visible. Second route: scikit-image."""
    from skimage.exposure import rescale_intensity

    from vizkit.plot.over_training import _map_scale

    rng = np.random.default_rng(5)
    maps = rng.normal(size=(2, 3, 12, 12))
    maps[0, 0, 4, 4] = 500.0  # a hot pixel: the plain maximum would leave the rest near 0
    maps[1, 2] = 0.0  # an empty map stays empty
    sparse = np.zeros((12, 12))
    sparse[3, 3] = -2.0  # fewer nonzero pixels than 2 %: scaled by its maximum
    maps[1, 1] = sparse
    scaled = np.clip(maps / _map_scale(maps)[..., None, None], -1, 1)
    for e, i in [(0, 0), (0, 1), (1, 0)]:
        p98 = np.percentile(np.abs(maps[e, i]), 98)
        np.testing.assert_allclose(scaled[e, i], rescale_intensity(
            maps[e, i], in_range=(-p98, p98), out_range=(-1.0, 1.0)), atol=1e-12)
    assert (scaled[1, 2] == 0).all() and scaled[1, 1, 3, 3] == -1.0
    assert np.median(np.abs(scaled[0, 0])) > 50 * np.median(np.abs(maps[0, 0] / 500.0))


def test_stable_layout_with_growing_contrast_is_said_in_words():
    # Spearman >= 0.9 from epoch 2 says the layout is fixed; a 4x contrast growth after it must
    # still be said (the MLP images go from faint to bright)
    import numpy as np

    from vizkit.figures.over_training import _strength_words

    contrast = np.array([[0.01, 0.02], [0.15, 0.19], [0.6, 0.7], [0.62, 0.68]])
    text = _strength_words(contrast, [0, 2, 4, 8], 2)
    assert "contrast grows 3.8x from epoch 2 to epoch 8" in text
    assert _strength_words(contrast, [0, 2, 4, 8], 4) == ""      # steady from epoch 4
    assert _strength_words(contrast, [0, 2, 4, 8], None) == ""  # never stable: nothing to add
    assert "falls to 0.02x from epoch 0" in _strength_words(contrast[::-1], [0, 2, 4, 8], 0)
