"""Figure family bottleneck (vizkit.figures.bottleneck): captions from each model's own result, the
compact data that gives back the regions drawn."""

import numpy as np
import pytest
import torch

from _toy import readable
from test_analysis_bottleneck import _images, _rbfnet, _split
from vizkit._io import npz_bytes
from vizkit.analysis.bottleneck import (Bottleneck, BottleneckLayer, bottleneck_head,
                                        class_separation)
from vizkit.figures import NotApplicable, make_figures
from vizkit.figures.bottleneck import bottleneck_caption
from vizkit.models import PTDeep


def test_figure_family_bottleneck(pyplot):
    x, y = _images()
    split = _split(x, y, ["a", "b", "c"])
    figs = make_figures("bottleneck", _rbfnet(), split)
    assert [f.id for f in figs] == ["bottleneck"]
    assert len(figs[0].fig.axes) == 3 and "sigma" in figs[0].caption  # 2 panels + region key
    flat = _split(x.flatten(1), y, ["a", "b", "c"])
    with pytest.raises(NotApplicable, match="--model rbf"):
        make_figures("bottleneck", PTDeep([64, 8, 3]), flat)


def test_bottleneck_captions_come_from_each_models_own_result(pyplot):
    x, y = _images()
    split = _split(x, y, ["T-shirt/top", "Ankle boot", "Bag"])
    adam = {"config": {"optimizer": "adam", "lr": 0.01},
            "history": {"epochs": [{}] * 20, "best_epoch": 18}}
    sgd = {"config": {"optimizer": "sgd", "lr": 1e-4},
           "history": {"epochs": [{}] * 100, "best_epoch": 97}}
    a = make_figures("bottleneck", _rbfnet(0), split, meta=adam)[0]
    b = make_figures("bottleneck", _rbfnet(1), split, meta=sgd)[0]
    assert a.caption != b.caption
    assert "trained 20 epochs with Adam (lr 0.01), epoch 18 kept" in a.caption
    assert "trained 100 epochs with SGD (lr 0.0001), epoch 97 kept" in b.caption
    for f in (a, b):
        d = f.data
        acc = (d["predictions"] == d["labels"]).mean()
        assert f"test accuracy {acc:.1%}" in f.caption
        assert f"class separation {class_separation(d['features'], d['labels']):.2f}" in f.caption
        s = np.abs(d["sigma"])
        std = d["features"].std(0)
        assert f"standard deviation {std[0]:.3g} and {std[1]:.3g}" in f.caption
        assert f"the {len(s)} RBF centres" in f.caption
        if s.max() - s.min() > 0.05 * s.max():
            assert f"({s.min():.3g} to {s.max():.3g})" in f.caption
        else:
            assert f"all with |sigma| about {s.mean():.3g}" in f.caption
        readable(f.fig)
        assert "digit" not in f.caption.lower()
        # a key for the shading (one labelled row per class, readable when projected, where a
        # colour bar's thin strips were not); the classes named where their features lie (at
        # each class's median), the centres' legend giving the scale of sigma
        keys = [ax for ax in f.fig.axes if ax.get_images()
                and np.asarray(ax.get_images()[0].get_array()).shape[1:] == (64, 3)]
        assert len(keys) == 1
        assert [t.get_text() for t in keys[0].get_yticklabels()][:3] == \
            ["T-shirt/top", "Ankle boot", "Bag"]
        names = {t.get_text() for t in f.fig.axes[0].texts}
        assert {"T-shirt/top", "Ankle boot", "Bag"} <= names
        legends = [ax.get_legend() for ax in f.fig.axes if ax.get_legend()]
        assert all(len(lg.get_texts()) <= 6 for lg in legends)
        assert any(t.get_text().startswith("|sigma| ") for lg in legends for t in lg.get_texts())


def test_equal_sigmas_are_said_to_give_equal_crosses():
    res = Bottleneck(features=np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]),
                     labels=np.array([0, 1, 1]), predictions=np.array([0, 1, 0]),
                     centers=np.zeros((4, 2)), sigma=np.array([1.0, -1.01, 1.0, 0.99]),
                     surface=None, layer=BottleneckLayer("rbf", True, "rbf"))
    text = bottleneck_caption(res, model_name="RBFNet")
    assert "the 4 RBF centres, all with |sigma| about 1 (so all crosses are the same size)" in text
    assert "test accuracy 66.7%" in text and "trained" not in text
    res.sigma = np.array([0.5, 2.0, 1.0, 1.0])
    assert "(0.5 to 2)" in bottleneck_caption(res)


def test_bottleneck_figure_data_is_compact_and_reconstructs_the_regions(pyplot):
    """1-D grid axes, argmax + max (float16) instead of meshgrids and full probabilities; the
    stored arrays give back the surface the figure drew."""
    from vizkit.figures import make_figures

    x, y = _images()
    model = _rbfnet()
    data = make_figures("bottleneck", model, _split(x, y, ["a", "b", "c"]))[0].data
    assert not {"xx", "yy", "probs"} & set(data)
    gx, gy = data["grid_x"], data["grid_y"]
    assert gx.ndim == gy.ndim == 1 and np.all(np.diff(gx) > 0) and np.all(np.diff(gy) > 0)
    assert data["region_labels"].shape == data["confidence"].shape == (len(gy), len(gx))
    assert data["confidence"].dtype == np.float16 and data["region_labels"].dtype == np.uint8
    # second route: the head evaluated on the stored axes gives the stored argmax and max
    head = bottleneck_head(model)
    xx, yy = np.meshgrid(gx, gy)
    with torch.no_grad():
        p = torch.softmax(head(torch.as_tensor(np.c_[xx.ravel(), yy.ravel()])), 1).numpy()
    agree = (p.argmax(1).reshape(xx.shape) == data["region_labels"]).mean()
    assert agree > 0.99
    assert np.allclose(p.max(1).reshape(xx.shape), data["confidence"], atol=2e-3)
    assert len(npz_bytes(data)) < 600_000  # 300 x 300 grid: was 7.5 MB
