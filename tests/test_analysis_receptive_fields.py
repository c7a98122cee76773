"""Receptive fields: propagated == gradient where they must be (random BatchNorm gamma and beta),
layer arithmetic and ink statistics by hand."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.receptive_fields import (conv_stages, field_views, gradient_receptive_fields,
                                              ink_frequency, ink_ratio, ink_share,
                                              last_conv_layer, mlp_layers,
                                              propagated_receptive_fields, structured_units,
                                              theoretical_receptive_field)
from vizkit.data import Split
from vizkit.models import PTDeep, build_default
from vizkit.plot.receptive_fields import plot_receptive_field_box, plot_receptive_fields


def n_hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _with_bn_stats(m, x, seed=0):
    """Running statistics from ``x``, and random BatchNorm gamma (away from 1) and beta."""
    m.train()
    with torch.no_grad():
        m(x)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in m.modules():
            if isinstance(bn, nn.BatchNorm1d):
                n = bn.num_features
                sign = torch.where(torch.rand(n, generator=g) < 0.3, -1.0, 1.0)
                bn.weight.copy_(sign * (0.3 + 2.5 * torch.rand(n, generator=g)))
                bn.bias.copy_(torch.randn(n, generator=g))
    m.eval()
    return m


def _without_bn_weight(m):
    """A copy of ``m`` whose BatchNorm gammas are 1 (what a propagation dropping them sees)."""
    import copy

    c = copy.deepcopy(m)
    with torch.no_grad():
        for bn in c.modules():
            if isinstance(bn, nn.BatchNorm1d):
                bn.weight.fill_(1.0)
    return c


def test_hand_worked_two_layer_product():
    m = PTDeep([4, 2, 1], "identity")
    with torch.no_grad():
        m.layers[0].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        m.layers[2].weight.copy_(torch.tensor([[2.0, 3.0]]))
    r = propagated_receptive_fields(m, 2, image_shape=(1, 2, 2))
    np.testing.assert_allclose(r.fields, [[[2.0, 3.0], [0.0, 0.0]]])
    assert r.layer == "layers.2" and r.units == [0] and r.vmax == 3.0


@pytest.mark.parametrize("batchnorm", [False, True])
def test_linear_network_propagated_equals_gradient(batchnorm):
    torch.manual_seed(0)
    m = PTDeep([16, 8, 6, 4], "identity", batchnorm=batchnorm, normalize=(0.3, 0.5))
    x = torch.rand(12, 1, 4, 4)
    if batchnorm:
        _with_bn_stats(m, torch.rand(40, 1, 4, 4) * 3)
    linears = [n for n, mod in m.named_modules() if isinstance(mod, nn.Linear)]
    for i, name in enumerate(linears, start=1):
        a = propagated_receptive_fields(m, i, image_shape=(1, 4, 4))
        b = gradient_receptive_fields(m, name, a.units, x)
        assert a.fields.shape == b.fields.shape == (m.layers[[k for k, mm in enumerate(m.layers)
                                                             if isinstance(mm, nn.Linear)][i - 1]]
                                                    .out_features, 4, 4)
        np.testing.assert_allclose(a.fields, b.fields, rtol=1e-4, atol=1e-6)
        if batchnorm and i > 1:  # gamma is not 1 here: a propagation that dropped it would fail
            wrong = propagated_receptive_fields(_without_bn_weight(m), i, image_shape=(1, 4, 4))
            assert not np.allclose(wrong.fields, b.fields, rtol=1e-2, atol=1e-4)
    # the last layer by index -1 and by name are the same thing
    np.testing.assert_allclose(propagated_receptive_fields(m, -1, image_shape=(1, 4, 4)).fields,
                               propagated_receptive_fields(m, linears[-1],
                                                           image_shape=(1, 4, 4)).fields)


def test_relu_mask_gating_is_the_average_jacobian():
    torch.manual_seed(1)
    m = _with_bn_stats(PTDeep([16, 10, 8, 3], "relu", batchnorm=True, normalize=(0.2, 0.4)),
                       torch.rand(50, 1, 4, 4))
    x = torch.rand(30, 1, 4, 4)
    for i, name in [(2, "layers.3"), (3, "layers.6")]:
        masked = propagated_receptive_fields(m, i, gate_data=x, image_shape=(1, 4, 4),
                                             batch_size=7)  # chunks must not matter
        grad = gradient_receptive_fields(m, name, masked.units, x)
        np.testing.assert_allclose(masked.fields, grad.fields, rtol=1e-4, atol=1e-6)
        assert masked.n_examples == 30 and masked.method == "propagated, mask-gated"
        # gamma and beta are random: dropping gamma from the product changes the fields
        wrong = propagated_receptive_fields(_without_bn_weight(m), i, gate_data=x,
                                            image_shape=(1, 4, 4))
        assert not np.allclose(wrong.fields, grad.fields, rtol=1e-2, atol=1e-4)
    # mean-activity gating: exact for layer 2 (linear in one mask), not beyond
    mean2 = propagated_receptive_fields(m, 2, gate_data=x, gating="mean", image_shape=(1, 4, 4))
    np.testing.assert_allclose(mean2.fields, gradient_receptive_fields(m, "layers.3", None, x)
                               .fields[:8], rtol=1e-4, atol=1e-6)
    mean3 = propagated_receptive_fields(m, 3, gate_data=x, gating="mean", image_shape=(1, 4, 4))
    assert not np.allclose(mean3.fields, grad.fields, atol=1e-4)
    # ungated differs from gated for a ReLU network
    plain = propagated_receptive_fields(m, 3, image_shape=(1, 4, 4))
    assert not np.allclose(plain.fields, grad.fields, atol=1e-4)


def test_theoretical_field_by_hand():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(2, 2, 3, padding=1), nn.MaxPool2d(2))
    rf = theoretical_receptive_field(net, "4", input_shape=(1, 28, 28))
    # conv3: r=3, j=1, s=0; pool2: r=4, j=2, s=0.5; conv3 p1: r=8, s=0.5; pool2: r=10, j=4, s=1.5
    assert (rf.size, rf.jump, rf.start, rf.output_shape) == ((10, 10), (4, 4), (1.5, 1.5), (7, 7))
    assert rf.box(3, 3) == (9, 9, 19, 19)  # centre 13.5, 10 pixels
    assert rf.box(0, 0) == (0, 0, 7, 7) and rf.box(0, 0, clip=False) == (-3, -3, 7, 7)
    strided = nn.Sequential(nn.Conv2d(1, 1, 5, stride=2, padding=2), nn.Conv2d(1, 1, 3, dilation=2))
    rf = theoretical_receptive_field(strided, "1", input_shape=(1, 16, 16))
    # conv5 s2 p2: r=5, j=2, s=0; conv3 d2 (k_eff 5): r=5+4*2=13, s=0+2*2=4, j=2
    assert (rf.size, rf.jump, rf.start, rf.output_shape) == ((13, 13), (2, 2), (4.0, 4.0), (4, 4))
    cnn = build_default("cnn", (1, 28, 28), 10, channels=(32, 64))  # the two-block layout worked by hand
    assert theoretical_receptive_field(cnn, "features").size == (10, 10)
    with pytest.raises(ValueError, match="see the whole input"):
        theoretical_receptive_field(cnn, "classifier.1")


def test_gradient_support_is_the_theoretical_box():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2),
                        nn.Conv2d(2, 3, 3, padding=1))
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()  # no cancellation: every pixel in the field gets a non-zero gradient
    x = torch.rand(4, 1, 12, 12)
    rf = theoretical_receptive_field(net, "2", input_shape=(1, 12, 12))
    g = gradient_receptive_fields(net, "2", [(1, 2, 4)], x)
    support = np.argwhere(g.fields[0] != 0)
    r0, c0, r1, c1 = rf.box(2, 4)
    assert (support.min(0).tolist(), (support.max(0) + 1).tolist()) == ([r0, c0], [r1, c1])
    # 'center' picks the centre unit of a channel, 'mean' the channel average
    center = gradient_receptive_fields(net, "2", [1], x).fields[0]
    np.testing.assert_allclose(center, gradient_receptive_fields(net, "2", [(1, 3, 3)], x)
                               .fields[0])
    mean = gradient_receptive_fields(net, "2", [1], x, reduce="mean").fields[0]
    assert (mean != 0).sum() > (center != 0).sum()


def test_gradient_fields_leave_model_untouched():
    torch.manual_seed(0)
    cnn = build_default("cnn", (1, 28, 28), 10)
    cnn.train()
    r = gradient_receptive_fields(cnn, "features.4", [0, 5], torch.rand(3, 1, 28, 28))
    assert r.fields.shape == (2, 28, 28) and r.info["conv"]
    assert cnn.training and n_hooks(cnn) == 0
    assert all(p.grad is None for p in cnn.parameters())
    with pytest.raises(ValueError, match="Unknown layer"):
        gradient_receptive_fields(cnn, "features.40", [0], torch.rand(2, 1, 28, 28))
    assert n_hooks(cnn) == 0 and cnn.training
    # the output's fields for a linear model are its raw-pixel weights
    lr = build_default("logreg", (1, 28, 28), 10)
    g = gradient_receptive_fields(lr, None, [3], torch.rand(2, 1, 28, 28))
    np.testing.assert_allclose(g.fields[0], (lr.W[:, 3] / lr.norm.std).detach().view(28, 28),
                               rtol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda m: propagated_receptive_fields(m, 0), "`layer_index` must be in 1..2"),
    (lambda m: propagated_receptive_fields(m, 3), "`layer_index` must be in 1..2"),
    (lambda m: propagated_receptive_fields(m, "layers.1"), "is not a Linear layer"),
    (lambda m: propagated_receptive_fields(m, 1, gating="max"), "`gating` must be one of"),
    (lambda m: propagated_receptive_fields(m, 1, units=[99]), "`units` must be in 0..4"),
    (lambda m: propagated_receptive_fields(build_default("cnn", (1, 28, 28), 10), 1),
     "need an MLP"),
    (lambda m: gradient_receptive_fields(m, None, [0], torch.rand(2, 16), reduce="max"),
     "`reduce` must be one of"),
])
def test_errors(call, message):
    m = PTDeep([16, 5, 3])
    with pytest.raises((ValueError, TypeError), match=message):
        call(m)


def test_plots(pyplot):
    torch.manual_seed(0)
    r = propagated_receptive_fields(PTDeep([784, 12, 10]), 1, units=range(6))
    out = plot_receptive_fields(r, ncols=3)
    assert len(out["images"]) == 6 and out["colorbar"] is not None
    assert all(im.get_clim() == (-r.vmax, r.vmax) for im in out["images"])
    assert [ax.get_title() for ax in out["axes"]][:2] == ["unit 0", "unit 1"]
    cnn = build_default("cnn", (1, 28, 28), 10, channels=(32, 64))
    rf = theoretical_receptive_field(cnn, "features.3")
    drawn = plot_receptive_field_box(rf, torch.rand(1, 28, 28))
    r0, c0, r1, c1 = rf.box()
    assert drawn["box"].get_xy() == (c0 - 0.5, r0 - 0.5)
    assert (drawn["box"].get_width(), drawn["box"].get_height()) == (c1 - c0, r1 - r0)
    assert len(drawn["centers"].get_offsets()) == 14 * 14


def _digit_split(n=40, seed=0):
    """28x28 images whose ink stays inside rows/cols 6..21 (the border is never inked)."""
    from vizkit.data import Split

    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 6:22] = torch.rand(n, 1, 16, 16, generator=g)
    y = torch.arange(n) % 10
    return Split("tiny", x, y, x, y, x, y, tuple(str(k) for k in range(10)), (1, 28, 28), "0")


def test_ink_helpers_by_hand():
    x = torch.zeros(100, 1, 2, 3)
    x[:50, 0, 0, 0] = 1.0   # inked in 50 %
    x[:3, 0, 0, 1] = 0.5    # 3 %: neither never-inked nor inked
    x[:1, 0, 1, 2] = 0.2    # 1 %: not below 1 %, so not never-inked
    ink = ink_frequency(x)
    np.testing.assert_allclose(ink, [[0.5, 0.03, 0.0], [0.0, 0.0, 0.01]])
    fields = np.array([[[4.0, 9.0, -1.0], [3.0, 9.0, 9.0]], [[-2.0, 9.0, 1.0], [-1.0, 9.0, 9.0]]])
    # never-inked: (0,2), (1,0), (1,1) -> mean |f| = (1+3+9+1+1+9)/6 = 4; inked: (0,0) -> 3
    assert ink_ratio(fields, ink) == pytest.approx(4.0 / 3.0)
    np.testing.assert_allclose(ink_share(fields, ink), [4 / 35, 2 / 31])
    assert structured_units(fields, ink, 1) == [0]
    assert np.isnan(ink_ratio(fields, np.full((2, 3), 0.5)))  # no never-inked pixel
    with pytest.raises(ValueError, match="must end in the ink map's shape"):
        ink_ratio(fields[:, :, :2], ink)
    with pytest.raises(ValueError, match="non-empty batch"):
        ink_frequency(torch.zeros(0, 2, 3))


def test_structured_units_pick_fields_on_the_ink():
    ink = np.zeros((6, 6))
    ink[2:4, 2:4] = 0.5
    g = np.random.default_rng(0)
    fields = g.normal(size=(10, 6, 6))
    fields[[3, 7], 2:4, 2:4] += 20.0   # two units whose fields lie on the ink
    assert structured_units(fields, ink, 2) == [3, 7] or structured_units(fields, ink, 2) == [7, 3]


def test_layer_choice():
    m = PTDeep([784, 20, 12, 10])
    assert mlp_layers(m) == [(1, "layers.0", 20), (2, "layers.2", 12), (3, "layers.4", 10)]
    cnn = build_default("cnn", (1, 28, 28), 10, channels=(4, 6))
    assert mlp_layers(cnn) == []
    assert last_conv_layer(cnn) == "features.4"
    assert conv_stages(cnn)[:2] == ["features.0", "features.3"]


def test_field_views():
    torch.manual_seed(0)
    m = _with_bn_stats(PTDeep([784, 20, 12, 10], batchnorm=True), torch.rand(50, 1, 28, 28))
    split = _digit_split()
    ink = ink_frequency(split.x_train)
    v1 = field_views(m, 1, split.x_test, ink, n_units=5)
    assert v1.fields.shape == (1, 5, 28, 28) and v1.views == ["propagated"]
    every = propagated_receptive_fields(m, 1, units=range(20)).fields
    assert v1.units == structured_units(every, ink, 5)
    v2 = field_views(m, 2, split.x_test, ink, n_units=12)
    assert v2.fields.shape == (3, 12, 28, 28) and v2.units == list(range(12))
    assert v2.views == ["propagated", "propagated, mean-gated", "gradient"]
    np.testing.assert_allclose(v2.ratios, [ink_ratio(f, ink) for f in v2.fields])
    masked = propagated_receptive_fields(m, 2, units=v2.units, gate_data=split.x_test)
    np.testing.assert_allclose(v2.fields[2], masked.fields, rtol=1e-4, atol=1e-6)
    assert v2.n_examples == len(split.x_test) and v2.n_layer_units == 12
