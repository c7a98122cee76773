"""Receptive fields against a control: a layer's weights shuffled in each unit (what the layer
learned destroyed, layer 1 kept); the class match that tells them apart; the first layer's
initial share on inked pixels and the weight-decay erasure on the never-inked border. Hand-made
nets: a noise layer 2 is "no different from the control", a layer 2 built to pick each class's
mean image is "clearly above" it."""

import re

import numpy as np
import pytest
import torch

from vizkit.analysis.receptive_fields import (A_MEDIUM, A_SMALL, class_selectivity,
                                              class_templates, compare_to_control,
                                              decay_erasure, init_share_on, initial_model,
                                              propagated_receptive_fields, shuffled_layer_model)
from vizkit.data import Split
from vizkit.figures.receptive_fields import figures
from vizkit.models import PTDeep, build_default, spec_of


def _class_split(seed=0):
    """Digit-like 28x28 images: each class a smooth blob pattern inside rows/cols 5..22 plus
    noise, with UNEVEN class counts (class 0: 40 images, class 9: 4)."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    protos = []
    for c in range(10):
        cy, cx = g.uniform(9, 18, size=2)
        protos.append(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (8.0 + 2 * c)))
    counts = [40, 30, 20, 16, 12, 10, 8, 6, 5, 4]
    y = np.repeat(np.arange(10), counts)
    x = np.stack([protos[c] + 0.3 * g.random((28, 28)) for c in y])
    x[:, :5, :] = x[:, 23:, :] = x[:, :, :5] = x[:, :, 23:] = 0  # the border is never inked
    x = torch.tensor(np.clip(x, 0, 1), dtype=torch.float32)[:, None]
    yt = torch.tensor(y)
    return Split("blobs", x, yt, x, yt, x, yt, tuple(str(k) for k in range(10)), (1, 28, 28),
                 "0")


def test_shuffled_layer_keeps_values_and_other_layers():
    torch.manual_seed(0)
    net = PTDeep([16, 6, 5, 3])
    a = shuffled_layer_model(net, 2, seed=1)
    b = shuffled_layer_model(net, 2, seed=1)
    c = shuffled_layer_model(net, 2, seed=2)
    w, ws = net.layers[2].weight, a.layers[2].weight
    assert torch.equal(ws, b.layers[2].weight) and not torch.equal(ws, c.layers[2].weight)
    assert not torch.equal(ws, w)
    for r, rs in zip(w, ws):  # each unit keeps its own weight values
        assert torch.equal(torch.sort(r).values, torch.sort(rs).values)
    assert torch.equal(a.layers[0].weight, net.layers[0].weight)
    assert torch.equal(a.layers[2].bias, net.layers[2].bias)
    assert torch.equal(net.layers[2].weight, w)  # the original is untouched
    with pytest.raises(ValueError, match="layer_index"):
        shuffled_layer_model(net, 5, seed=0)


def test_class_templates_weigh_classes_equally():
    x = np.zeros((4, 1, 2))
    x[:3, 0, 0] = 1.0  # class 0: three images inking pixel 0; class 1: one inking pixel 1
    x[3, 0, 1] = 1.0
    t = class_templates(x, [0, 0, 0, 1])
    # the mean of the class means (not the pooled mean 0.75 / 0.25) is subtracted
    np.testing.assert_allclose(t, [[[0.5, -0.5]], [[-0.5, 0.5]]])
    with pytest.raises(ValueError, match=r"classes \[2\]"):
        class_templates(x, [0, 0, 0, 1], n_classes=3)


def test_class_selectivity_and_comparison_by_hand():
    t = np.array([[[1.0, 0, -1, 0]], [[0.0, 1, 0, -1]]])
    f = np.array([[[2.0, 0, -2, 0]], [[0.0, -1, 0, 1]], [[1.0, 1, 1, 1]]])
    r = class_selectivity(f, t)
    np.testing.assert_allclose(r, [[1, 0], [0, -1], [0, 0]], atol=1e-12)  # constant field: 0
    # a second route: scipy's Pearson r on random fields over a mask
    from scipy.stats import pearsonr

    g = np.random.default_rng(0)
    ff, tt = g.normal(size=(3, 5, 5)), g.normal(size=(2, 5, 5))
    m = g.random((5, 5)) > 0.3
    np.testing.assert_allclose(class_selectivity(ff, tt, m),
                               [[pearsonr(a[m], b[m])[0] for b in tt] for a in ff])
    with pytest.raises(ValueError, match="mask"):
        class_selectivity(f, t, mask=np.array([[True, False, False, False]]))
    # Vargha-Delaney A = the share of (real, control) pairs the real unit wins, ties half
    real, ctl = np.array([0.3, 0.5, 0.9]), np.array([0.1, 0.5, 0.6, 0.2])
    wins = sum((a > b) + 0.5 * (a == b) for a in real for b in ctl)
    cmp = compare_to_control(real, ctl)
    assert cmp.a == pytest.approx(wins / 12)
    assert cmp.above == pytest.approx(np.mean(real > np.percentile(ctl, 95)))
    assert cmp.verdict == "no different from the control"  # p >= 0.01 with 3 units
    g = np.random.default_rng(1)
    assert compare_to_control(g.normal(0.4, 1, 400), g.normal(0, 1, 400)).verdict == \
        "slightly above the control"  # A about 0.61: small by Vargha and Delaney
    assert A_SMALL < compare_to_control(g.normal(0.4, 1, 400), g.normal(0, 1, 400)).a < A_MEDIUM
    with pytest.raises(ValueError, match="at least 2 finite"):
        compare_to_control([np.nan, 1.0], [1.0, 2.0])


def _two_layer_net(split, how: str, hidden=200, seed=0):
    """784-hidden-16-10 with random W1; W2 pure noise, or each unit j's row the matched filter
    of class j % 10 (its field is W1^T W1 t, close to the class template t)."""
    torch.manual_seed(seed)
    net = PTDeep([784, hidden, 16, 10])
    W1 = net.layers[0].weight.detach().double()  # [hidden, 784]
    T = torch.tensor(class_templates(split.x_train, split.y_train, 10)).reshape(10, -1)
    with torch.no_grad():
        if how == "matched":
            rows = torch.stack([W1 @ T[j % 10] for j in range(16)])
            net.layers[2].weight.copy_((rows / rows.norm(dim=1, keepdim=True)).float())
        else:
            g = torch.Generator().manual_seed(seed + 1)
            net.layers[2].weight.copy_(torch.randn(16, hidden, generator=g) / hidden ** 0.5)
    return net.eval()


@pytest.mark.parametrize("how, verdict", [("noise", "no different from the control"),
                                          ("matched", "clearly above the control")])
def test_layer2_verdict_from_hand_made_nets(pyplot, how, verdict):
    split = _class_split()
    net = _two_layer_net(split, how)
    f = {x.id: x for x in figures(net, split, seed=3)}["receptive-fields-layer2"]
    d = f.data
    assert str(d["verdict"]) == verdict
    # the class match is recomputed from the fields: the real units' from the model itself
    mask = d["ink"] > 0.05
    T = class_templates(split.x_train, split.y_train, 10)
    every = propagated_receptive_fields(net, 2, units=range(16)).fields
    np.testing.assert_allclose(d["class_match"],
                               np.abs(class_selectivity(every, T, mask)).max(1))
    # the control of the first shuffle is the model with layer 2 shuffled by the figure's seed
    ctl = propagated_receptive_fields(shuffled_layer_model(net, 2, 3), 2,
                                      units=d["control_units"]).fields
    np.testing.assert_allclose(d["control_fields"], ctl)
    np.testing.assert_allclose(d["fields"][-1], ctl)  # drawn as the last row
    assert len(d["class_match_control"]) == 16 * 10
    # the drawn units are the best matched, and the caption quotes the data
    assert d["units"].tolist() == np.argsort(-d["class_match"], kind="stable")[:8].tolist()
    assert f"A = {float(d['vargha_delaney_a']):.2f}" in f.caption
    assert f"median {np.median(d['class_match']):.2f}" in f.caption
    if how == "noise":
        assert f.caption.startswith("These fields mostly reflect layer 1, not what layer 2 "
                                    "learned")
        assert float(d["vargha_delaney_a"]) < A_MEDIUM
    else:
        assert f.caption.startswith("The fields correlate with digit templates clearly better")
        modest = np.median(d["class_match"]) < 0.7
        assert ("do not expect to see digits" in f.caption) == modest
        assert float(d["vargha_delaney_a"]) >= A_MEDIUM
        assert np.median(d["class_match"]) > np.percentile(d["class_match_control"], 95)


def test_output_layer_uses_each_units_own_class(pyplot):
    split = _class_split()
    torch.manual_seed(0)
    net = PTDeep([784, 200, 10]).eval()
    T = torch.tensor(class_templates(split.x_train, split.y_train, 10)).reshape(10, -1)
    with torch.no_grad():  # output c is the matched filter of class c: its own class
        net.layers[2].weight.copy_((T @ net.layers[0].weight.detach().double().T).float())
    f = {x.id: x for x in figures(net, split)}["receptive-fields-output"]
    d = f.data
    every = propagated_receptive_fields(net, 2, units=range(10)).fields
    own = np.diag(class_selectivity(every, T.reshape(10, 28, 28).numpy(), d["ink"] > 0.05))
    np.testing.assert_allclose(d["class_match"], own)
    assert (own > 0.5).all() and str(d["verdict"]) == "clearly above the control"
    assert "digit 0\nr " in "".join(a.get_title() for a in f.fig.axes)


def test_first_layer_init_share_on_ink_and_decay_on_the_border(pyplot):
    split = _class_split()
    torch.manual_seed(99)
    net = build_default("deep", (1, 28, 28), 10, hidden=(20, 12))
    meta = {"seed": 3, "spec": spec_of(net), "config": {"weight_decay": 0.005},
            "history": {"epochs": [{}] * 8}}
    net.load_state_dict(initial_model(meta).state_dict())
    never = torch.tensor((split.x_train[:, 0] > 0).double().mean(0).numpy() < 0.01).reshape(-1)
    yy, xx = np.mgrid[0:28, 0:28]
    with torch.no_grad():
        W = net.layers[0].weight
        W[:, never] *= 0.2  # weight decay: the never-inked weights shrink toward 0
        for u in (2, 5, 11):  # and three units learn a smooth blob
            blob = np.exp(-((xx - 10 - u) ** 2 + (yy - 14) ** 2) / 30.0).ravel()
            W[u] += torch.tensor(blob, dtype=torch.float32) * ~never  # learned where inked
    f = figures(net, split, meta=meta)[0]
    d = f.data
    assert f.caption.startswith("After 8 epochs, ")
    inked = d["ink"] > 0.05
    k = d["units"].tolist().index(2)
    a, b = d["fields"][k][inked], d["initial"][k][inked]
    assert d["init_share_inked"][2] == pytest.approx((a @ b) ** 2 / ((a @ a) * (b @ b)))
    untouched = np.setdiff1d(np.arange(20), [2, 5, 11])
    np.testing.assert_allclose(d["init_share_inked"][untouched], 1.0, atol=1e-6)
    # the change on the never-inked pixels is -0.8 w_0: r = 1 with -w_0
    assert float(d["decay_r"]) == pytest.approx(1.0, abs=1e-6)
    assert "r = 1.00 and holds" in f.caption
    # greyed (NaN) exactly on the never-inked pixels; the .npz keeps the unmasked change
    nv = d["ink"] < 0.01
    assert np.isnan(d["added_masked"][:, nv]).all() and np.isfinite(d["added_masked"][:, ~nv]).all()
    np.testing.assert_allclose(d["added"], d["fields"] - d["initial"], atol=1e-6)
    assert np.abs(d["added"][:, nv]).max() > 0
    assert f"median {np.nanmedian(d['init_share_inked']):.0%}" in f.caption
    # the second route quoted beside it: Pearson r of trained and initial weights on ink
    r2 = np.corrcoef(d["fields"][k][inked], d["initial"][k][inked])[0, 1]
    assert d["init_r_inked"][2] == pytest.approx(r2)
    lo, hi = np.nanmin(d["init_r_inked"][d["units"]]), np.nanmax(d["init_r_inked"][d["units"]])
    assert f"on those pixels is {lo:.2f} to {hi:.2f}" in f.caption
    assert d["fields"].shape[0] == 6


def test_init_share_and_decay_helpers_reject_bad_shapes():
    with pytest.raises(ValueError, match="mask"):
        init_share_on(np.ones((1, 2, 2)), np.ones((1, 2, 2)), np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="at least 2 pixels"):
        decay_erasure(np.ones((1, 2, 2)), np.ones((1, 2, 2)), np.array([[True, False],
                                                                        [False, False]]))
