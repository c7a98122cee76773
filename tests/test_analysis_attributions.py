"""Attributions: hand-worked answers on linear models, completeness, the randomization sanity check,
model state and hooks left as they were, the plots' artists."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.attributions import (METHODS, attributions, last_conv_layer, randomized_copy,
                                         rank_correlation)


def _linear_image_model():
    """logits = W @ x.flatten() + b on 1x2x2 images, with hand-chosen weights."""
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 1.0, 0.0, 0.0],
                                       [1.0, -2.0, 0.5, 3.0],
                                       [0.0, 0.0, 0.0, 1.0]]))
        lin.bias.copy_(torch.tensor([0.1, -0.3, 0.2]))
    return nn.Sequential(nn.Flatten(), lin)


def _tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3))


def _hooks_left(model):
    n = 0
    for m in model.modules():
        n += len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        n += len(getattr(m, "_backward_pre_hooks", {}))
    from torch.nn.modules import module as tm

    n += len(tm._global_forward_hooks) + len(tm._global_forward_pre_hooks)
    n += len(tm._global_backward_hooks)
    return n


# ------------------------------------------------------------------------- hand-worked answers
def test_integrated_gradients_of_linear_model_is_weight_times_input_minus_baseline():
    model = _linear_image_model()
    x = torch.tensor([[[[1.0, 1.0], [2.0, 0.0]]]])
    res = attributions(model, x, target=1, method="integrated_gradients", baseline=0.5)
    # w_1 = [1, -2, 0.5, 3], x - b = [0.5, 0.5, 1.5, -0.5]  ->  [0.5, -1.0, 0.75, -1.5]
    expected = torch.tensor([[[[0.5, -1.0], [0.75, -1.5]]]])
    torch.testing.assert_close(res.maps, expected, atol=1e-5, rtol=0)
    assert res.delta.abs().max() < 1e-5
    assert res.targets.tolist() == [1] and res.method == "integrated_gradients" and res.signed


def test_integrated_gradients_linear_with_tensor_baseline_and_per_input_targets():
    model = _linear_image_model()
    torch.manual_seed(1)
    x, base = torch.rand(4, 1, 2, 2), torch.rand(4, 1, 2, 2)
    targets = [0, 1, 2, 1]
    res = attributions(model, x, target=targets, method="integrated_gradients", baseline=base)
    w = model[1].weight.detach()[targets].reshape(4, 1, 2, 2)
    torch.testing.assert_close(res.maps, w * (x - base), atol=1e-5, rtol=0)


def test_integrated_gradients_completeness_on_nonlinear_mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Softplus(),
                          nn.Linear(16, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # strongly curved, so the path integral is not trivial
    x = 2.0 * torch.randn(5, 6)
    base = torch.zeros(5, 6)
    res = attributions(model, x, target=2, method="integrated_gradients", n_steps=64)
    with torch.no_grad():
        diff = model(x)[:, 2] - model(base)[:, 2]
    total = res.maps.sum(1)
    assert (diff.abs() > 0.2).all()  # not a trivially zero difference
    rel = ((total - diff).abs() / diff.abs()).max()
    assert rel < 0.01, rel
    torch.testing.assert_close(res.delta, total - diff, atol=1e-5, rtol=0)


def test_occlusion_of_linear_model_is_hand_computed_drop():
    lin = nn.Linear(16, 2, bias=True)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = torch.arange(16, dtype=torch.float32) - 8.0
        lin.bias.fill_(0.7)
    model = nn.Sequential(nn.Flatten(), lin)
    x = torch.ones(1, 1, 4, 4)
    res = attributions(model, x, target=1, method="occlusion", window=2, stride=2, baseline=0.0)
    # 2x2 blocks of w = arange(16) - 8 laid out 4x4; drop of a block = sum of its weights (x = 1)
    w = (torch.arange(16.0) - 8.0).reshape(4, 4)
    block = w.reshape(2, 2, 2, 2).sum((1, 3))  # [[tl, tr], [bl, br]]
    expected = block.repeat_interleave(2, 0).repeat_interleave(2, 1)
    # top-left block: 0-8 + 1-8 + 4-8 + 5-8 = -22
    assert expected[0, 0] == -22.0
    torch.testing.assert_close(res.maps[0, 0], expected, atol=1e-5, rtol=0)
    # one-pixel windows give w * (x - baseline), like integrated gradients on a linear model
    res1 = attributions(model, 0.5 * x, target=1, method="occlusion", window=1, stride=1,
                        baseline=0.25)
    torch.testing.assert_close(res1.maps[0, 0], w * 0.25, atol=1e-5, rtol=0)


def test_saliency_of_linear_model_is_abs_weight():
    model = _linear_image_model()
    res = attributions(model, torch.rand(2, 1, 2, 2), target=1, method="saliency")
    w = model[1].weight.detach()[1].abs().reshape(1, 2, 2)
    torch.testing.assert_close(res.maps, w.expand(2, 1, 2, 2), atol=1e-6, rtol=0)
    assert not res.signed


def test_grad_cam_hand_worked_on_identity_conv():
    # conv = identity (1x1, weight 1) -> global average -> logit_0 = 3 * mean(A), logit_1 = -mean(A)
    conv = nn.Conv2d(1, 1, 1, bias=False)
    head = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        head.weight.copy_(torch.tensor([[3.0], [-1.0]]))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    x = torch.rand(2, 1, 4, 4)
    res = attributions(model, x, target=0, method="grad_cam")
    # alpha = mean of dlogit/dA = 3/16; cam = relu(alpha * A) = 3/16 * x
    torch.testing.assert_close(res.maps, 3.0 / 16 * x, atol=1e-6, rtol=0)
    assert res.layer == "0"
    # for the negative class every activation counts against it: ReLU leaves nothing
    neg = attributions(model, x, target=1, method="grad_cam")
    assert torch.count_nonzero(neg.maps) == 0


def test_grad_cam_defaults_to_last_conv_and_upsamples_to_input_size():
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 16, 4))
    assert last_conv_layer(model) == "3" and last_conv_layer(model, rectified=True) == "4"
    res = attributions(model, torch.rand(3, 1, 8, 8), target=None, method="grad_cam")
    assert res.maps.shape == (3, 1, 8, 8) and res.layer == "3"
    assert (res.maps >= 0).all() and not res.signed
    res0 = attributions(model, torch.rand(1, 1, 8, 8), target=0, method="grad_cam", layer="0")
    assert res0.layer == "0" and res0.maps.shape == (1, 1, 8, 8)


def test_target_none_explains_predicted_class():
    model = _tiny_cnn()
    x = torch.rand(6, 1, 8, 8)
    res = attributions(model, x, method="saliency")
    with torch.no_grad():
        assert res.targets.tolist() == model(x).argmax(1).tolist()


# ------------------------------------------------------------------ sanity check (Adebayo 2018)
def _informative_pixel_data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    # the class depends only on two 2x2 patches
    score = x[:, 0, 1:3, 1:3].sum((1, 2)) - x[:, 0, 5:7, 5:7].sum((1, 2))
    return x, (score > 0).long()


def test_randomized_weights_give_clearly_different_saliency():
    torch.manual_seed(0)
    x, y = _informative_pixel_data(n=200)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    assert (model(x).argmax(1) == y).float().mean() > 0.9
    before = [p.detach().clone() for p in model.parameters()]
    rand = randomized_copy(model, seed=1)
    for p, q in zip(model.parameters(), before):  # the caller's model is untouched
        assert torch.equal(p, q)
    xs = x[:20]
    sal = attributions(model, xs, target=1, method="saliency")
    sal_again = attributions(model, xs, target=1, method="saliency")
    sal_rand = attributions(rand, xs, target=1, method="saliency")
    assert rank_correlation(sal, sal_again).min() > 0.999
    # the trained model looks at the informative patches, the random one does not
    assert rank_correlation(sal, sal_rand).mean() < 0.3
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[1:3, 1:3] = mask[5:7, 5:7] = True
    frac = sal.maps[:, 0][:, mask].sum() / sal.maps.sum()
    assert frac > 0.35  # 8 of 64 pixels (12.5 %) carry a large share of the saliency


def test_rank_correlation_matches_spearman_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(3, 20)).astype(float)  # many ties
    b = rng.normal(size=(3, 20))
    ours = rank_correlation(a, b)
    ref = [spearmanr(a[i], b[i]).statistic for i in range(3)]
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(rank_correlation(b, -b), [-1, -1, -1])


# ------------------------------------------------------------------------ state and hooks
@pytest.mark.parametrize("method", METHODS)
def test_model_state_grad_mode_and_hooks_restored(method):
    model = _tiny_cnn()
    model.train()
    model[0].weight.requires_grad_(False)  # a mixed pattern must come back as it was
    flags = [p.requires_grad for p in model.parameters()]
    x = torch.rand(3, 1, 8, 8)
    x0 = x.clone()
    with torch.no_grad():
        res = attributions(model, x, target=[0, 1, 2], method=method, n_steps=8)
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert _hooks_left(model) == 0
    assert torch.equal(x, x0) and not x.requires_grad
    assert res.maps.shape == x.shape and res.inputs.shape == x.shape
    assert torch.isfinite(res.maps).all() and res.maps.abs().sum() > 0


def test_no_hooks_left_after_an_error_mid_attribution():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Conv2d(1, 2, 3), Boom())
    model.train()
    with pytest.raises(RuntimeError, match="boom"):
        attributions(model, torch.rand(1, 1, 5, 5), target=0, method="grad_cam")
    assert _hooks_left(model) == 0
    assert model.training and all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"method": "gradcam"}, ValueError,
     "`method` must be one of 'saliency', 'integrated_gradients', 'occlusion', 'grad_cam'. "
     "Got 'gradcam' instead."),
    ({"method": "saliency", "target": 7}, ValueError, r"`target` must be in \[0, 2\]"),
    ({"method": "saliency", "target": [0, 1]}, ValueError, "x has 3 inputs, target has 2"),
    ({"method": "saliency", "target": 0.5}, TypeError, "`target` must be an int"),
    ({"method": "integrated_gradients", "n_steps": 0}, ValueError, "`n_steps` must be a positive"),
    ({"method": "occlusion", "window": 9}, ValueError, "larger than the input"),
    ({"method": "grad_cam", "layer": "nope"}, ValueError, "conv layers: '0', '2'"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        attributions(_tiny_cnn(), torch.rand(3, 1, 8, 8), **kwargs)


def test_grad_cam_on_model_without_conv_is_a_clear_error():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(ValueError, match="grad_cam needs a convolutional layer.*no nn.Conv2d"):
        attributions(mlp, torch.rand(2, 1, 8, 8), target=0, method="grad_cam")


# ------------------------------------------------------------------------------------ plots
def test_plot_attribution_signed_map_uses_symmetric_diverging_scale(pyplot):
    from vizkit.plot._style import DIVERGING
    from vizkit.plot.attributions import plot_attribution

    model = _linear_image_model()
    res = attributions(model, torch.ones(1, 1, 2, 2), target=1, method="integrated_gradients")
    ax = plot_attribution(res, 0)
    im = ax.images[-1]
    lo, hi = im.get_clim()
    assert lo == -hi and hi == pytest.approx(3.0)  # max |w * x| = 3
    assert im.get_cmap().name == DIVERGING
    np.testing.assert_allclose(im.get_array(), res.maps[0, 0].numpy())


def test_plot_attribution_grad_cam_is_overlay_on_image(pyplot):
    from vizkit.plot.attributions import plot_attribution

    res = attributions(_tiny_cnn(), torch.rand(1, 1, 8, 8), target=0, method="grad_cam")
    fig, ax = pyplot.subplots()
    out = plot_attribution(res, 0, ax=ax)
    assert out is ax and len(ax.images) == 2  # the image, then the heat map on top
    img, heat = ax.images
    np.testing.assert_allclose(img.get_array(), res.inputs[0, 0].numpy())
    assert heat.get_clim()[0] == 0
    m = res.maps[0, 0].numpy()
    np.testing.assert_allclose(heat.get_alpha(), 0.5 * m / m.max())  # bare image where zero


def test_plot_attributions_grid_has_image_beside_each_method(pyplot):
    from vizkit.plot.attributions import plot_attributions

    model, x = _tiny_cnn(), torch.rand(2, 1, 8, 8)
    results = [attributions(model, x, target=[0, 1], method=m, n_steps=8) for m in METHODS]
    axes = plot_attributions(results, class_names=["a", "b", "c"])
    assert axes.shape == (2, 1 + len(METHODS))
    assert [a.get_title() for a in axes[0]] == ["input", "saliency", "integrated gradients",
                                                 "occlusion", "Grad-CAM"]
    assert "a" in axes[0, 0].get_ylabel() and "b" in axes[1, 0].get_ylabel()
    np.testing.assert_allclose(axes[1, 0].images[0].get_array(), x[1, 0].numpy())
    with pytest.raises(ValueError, match="same inputs"):
        plot_attributions([results[0], attributions(model, x.flip(0), target=0)])


# ------------------------------------------------------------------------------ figure family
def _tiny_split(input_shape=(1, 8, 8), n=30, n_classes=3):
    from vizkit.data import Split, fingerprint

    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, *input_shape, generator=g)
    y = torch.arange(n) % n_classes
    parts = (x, y, x[:6], y[:6], x, y)
    return Split("tiny", *parts, classes=tuple(f"c{i}" for i in range(n_classes)),
                 input_shape=tuple(input_shape), fingerprint=fingerprint(*parts))


def test_attributions_figure_for_cnn_and_mlp(pyplot):
    from vizkit.figures import NotApplicable
    from vizkit.plot.attributions import example_indices
    from vizkit.plot.attributions import figures as make
    from vizkit.models import ConvNet, PTDeep

    split = _tiny_split()
    assert example_indices(torch.tensor([2, 2, 0, 1, 0, 3]), n=3) == [2, 3, 0]
    cnn = ConvNet(image_size=8, n_classes=3, channels=(2,), hidden=4)
    (fig,) = make(cnn, split)
    assert fig.id == "attributions" and "'features.2'" in fig.caption
    axes = np.array(fig.fig.axes).reshape(3, 5)  # first example of each of 3 classes x (image + 4)
    assert axes[0, 4].get_title() == "Grad-CAM" and "target: c2" in axes[2, 0].get_ylabel()
    np.testing.assert_allclose(axes[1, 0].images[0].get_array(), split.x_test[1, 0].numpy())
    (fig_mlp,) = make(PTDeep([64, 5, 3]), split)
    assert len(fig_mlp.fig.axes) == 3 * 4 and "No Grad-CAM" in fig_mlp.caption
    with pytest.raises(NotApplicable, match=r"need \[C, H, W\] inputs"):
        make(PTDeep([2, 3]), _tiny_split((2,)))
