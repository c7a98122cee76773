"""The first-layer figure (fields, change from the initial weights rebuilt from the seed, top
test images) and the dropping of coinciding views, checked by their data."""

import dataclasses
import re

import numpy as np
import torch

from test_analysis_receptive_fields import _digit_split, _with_bn_stats
from vizkit.analysis.receptive_fields import (FieldViews, initial_model, lag1_autocorrelation)
from vizkit.figures.receptive_fields import _drop_coinciding, figures
from vizkit.models import build_default, spec_of


def _trained_like(seed=3):
    """A 'deep' MLP whose first layer is its seeded initial weights plus a smooth blob on some
    units (as training would add), with its meta (seed, spec)."""
    torch.manual_seed(99)
    net = build_default("deep", (1, 28, 28), 10, hidden=(20, 12))
    meta = {"seed": seed, "spec": spec_of(net), "config": {"weight_decay": 0.0}}
    net.load_state_dict(initial_model(meta).state_dict())
    yy, xx = np.mgrid[0:28, 0:28]
    with torch.no_grad():
        for u in (2, 5, 11):  # uneven: three units get a strong smooth field
            blob = np.exp(-((xx - 10 - u) ** 2 + (yy - 14) ** 2) / 30.0).ravel()
            net.layers[0].weight[u] += torch.tensor(blob, dtype=torch.float32)
    return net, meta


def test_first_layer_figure_data(pyplot):
    split = _digit_split()
    net, meta = _trained_like()
    _with_bn_stats(net, split.x_train)
    f = figures(net, split, meta=meta)[0]
    d = f.data
    assert f.id == "receptive-fields-layer1"
    assert "hidden layer 1 (20 units, Linear 784->20, layers.0)" in f.caption
    # the three units given a smooth field are the smoothest, and mostly not initial weights
    assert set(d["units"][:3].tolist()) == {2, 5, 11}
    ink = d["ink"]
    mask = ink > 0.05
    for k, u in enumerate(d["units"]):
        assert d["lag1"][u] == lag1_autocorrelation(d["fields"][k], mask)
    assert np.all(np.diff(d["lag1"][d["units"]]) <= 0)
    others = np.setdiff1d(np.arange(20), [2, 5, 11])
    np.testing.assert_allclose(d["init_share"][others], 1.0, atol=1e-6)  # untouched units
    assert (d["init_share"][[2, 5, 11]] < 0.9).all()
    np.testing.assert_allclose(d["added"], d["fields"] - d["initial"])
    # the .npz keeps the drawn weights: the trained fields are W1 / std, no smoothing
    std = float(net.norm.std) if hasattr(net, "norm") else 1.0
    W = net.layers[0].weight.detach().numpy()[d["units"]].reshape(-1, 28, 28)
    np.testing.assert_allclose(d["fields"], W / std, rtol=1e-5, atol=1e-7)
    # the exemplars are the argmax of each unit's pre-activation (manual matmul)
    x = split.x_test.reshape(len(split.x_test), -1)
    xn = (x - net.norm.mean.reshape(())) / net.norm.std.reshape(()) if hasattr(net, "norm") else x
    pre = (xn @ net.layers[0].weight.detach().T + net.layers[0].bias.detach()).numpy()
    for k, u in enumerate(d["units"]):
        assert d["exemplar_index"][k].tolist() == np.argsort(-pre[:, u])[:3].tolist()
    # the caption's numbers are the data's
    m = re.search(r"median of all 20 units (-?[\d.]+)", f.caption)
    assert float(m.group(1)) == round(float(np.nanmedian(d["lag1"])), 2)
    assert f"over all pixels {np.nanmedian(d['init_share']):.0%}" in f.caption
    assert "what the data taught" not in f.caption


def test_first_layer_figure_falls_back_without_a_seed(pyplot):
    split = _digit_split()
    net, meta = _trained_like()
    _with_bn_stats(net, split.x_train)
    f = figures(net, split, meta={"config": {}})[0]
    assert f.id == "receptive-fields-layer1" and "init_share" not in f.data


def _views(fields, names):
    fields = np.asarray(fields, float)
    return FieldViews(fields=fields, views=list(names), units=list(range(fields.shape[1])),
                      layer="layers.4", layer_index=2, n_layer_units=9,
                      ink=np.ones((4, 4)), ratios=np.arange(len(names), dtype=float),
                      share=np.ones(fields.shape[1]), n_examples=5)


def test_a_view_is_dropped_only_when_it_coincides():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 4))
    names = ["propagated", "propagated, mean-gated", "gradient"]
    # gradient = 2 x gated (r = 1), gated independent of propagated
    b = rng.normal(size=a.shape)
    v, said, r = _drop_coinciding(_views([a, b, 2 * b], names))
    assert v.views == ["propagated", "propagated, mean-gated"]
    assert v.fields.shape[0] == 2 and v.ratios.tolist() == [0.0, 1.0]
    assert len(said) == 1 and "'gradient' view is not drawn" in said[0]
    assert "r = 1.000" in said[0] and "'ReLU-gated'" in said[0]
    assert r[1, 2] == 1.0 or abs(r[1, 2] - 1) < 1e-12
    # r just under the threshold: kept
    c = b + 0.2 * rng.normal(size=b.shape)
    assert 0.9 < np.corrcoef(b.ravel(), c.ravel())[0, 1] < 0.99
    v2, said2, _ = _drop_coinciding(_views([a, b, c], names))
    assert v2.views == names and said2 == []
    assert dataclasses.asdict(v2)["fields"].shape == (3, 3, 4, 4)
