"""Bottleneck view: features, centres, head regions, marker sizes (the family: tests/test_figures_bottleneck.py)."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.bottleneck import (bottleneck_features, bottleneck_head, find_bottleneck)
from vizkit.analysis.decision_surface import decision_surface
from vizkit.models import PTDeep, RBFLayer, RBFNet


def _rbfnet(seed=0):
    torch.manual_seed(seed)
    return RBFNet(image_size=8, channels=(4,), n_centers=6, batchnorm=True).eval()


def _images(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g), torch.arange(n) % 3


def _split(x, y, classes):
    from vizkit.data import Split

    return Split("toy", x, y, x[:4], y[:4], x, y, tuple(classes), tuple(x.shape[1:]), "0" * 16)


def _no_hooks(model):
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_features_equal_embed_and_centres_are_the_parameters():
    net = _rbfnet()
    x, y = _images()
    res = bottleneck_features(net, x, y=y, batch_size=5, grid_resolution=16)
    with torch.no_grad():
        np.testing.assert_allclose(res.features, net.embed(x).numpy(), atol=1e-6)
        np.testing.assert_array_equal(res.predictions, net(x).argmax(1).numpy())
    np.testing.assert_array_equal(res.centers, net.rbf.centers.detach().numpy())
    np.testing.assert_array_equal(res.sigma, net.rbf.sigma.detach().numpy())
    np.testing.assert_array_equal(res.labels, y.numpy())
    assert res.layer.name == "rbf" and res.layer.use_input
    assert _no_hooks(net)


def test_regions_are_the_head_argmax_over_the_plane():
    net = _rbfnet()
    x, _ = _images()
    res = bottleneck_features(net, x, grid_resolution=12)
    surf = res.surface
    # the rectangle covers the features and the centres
    pts = np.vstack([res.features, res.centers])
    (x0, y0), (x1, y1) = surf.rect
    assert x0 <= pts[:, 0].min() and pts[:, 0].max() <= x1
    assert y0 <= pts[:, 1].min() and pts[:, 1].max() <= y1
    grid = torch.tensor(np.column_stack([surf.xx.ravel(), surf.yy.ravel()]), dtype=torch.float32)
    with torch.no_grad():
        logits = net.head(net.rbf(grid))
    np.testing.assert_array_equal(surf.labels.ravel(), logits.argmax(1).numpy())
    np.testing.assert_allclose(surf.probs.reshape(-1, logits.shape[1]),
                               torch.softmax(logits, 1).numpy(), atol=1e-6)


def test_generic_rbf_model_uses_the_rbf_input_and_the_rest_of_the_forward():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 2), RBFLayer(2, 3), nn.Linear(3, 2)).eval()
    x = torch.randn(10, 4)
    where = find_bottleneck(model)
    assert (where.name, where.use_input, where.rbf) == ("1", True, "1")
    res = bottleneck_features(model, x, grid_resolution=9, batch_size=4)
    with torch.no_grad():
        np.testing.assert_allclose(res.features, model[0](x).numpy(), atol=1e-6)
    direct = decision_surface(nn.Sequential(model[1], model[2]), res.surface.rect, grid_resolution=9)
    np.testing.assert_allclose(res.surface.probs, direct.probs, atol=1e-6)
    np.testing.assert_array_equal(res.centers, model[1].centers.detach().numpy())
    assert _no_hooks(model)


def test_hidden_two_wide_linear_layer_is_a_bottleneck():
    torch.manual_seed(2)
    model = PTDeep([4, 2, 3]).eval()  # layers.0: Linear(4, 2), layers.1: ReLU, layers.2: Linear(2, 3)
    x = torch.randn(12, 4)
    where = find_bottleneck(model)
    assert (where.name, where.use_input, where.rbf) == ("layers.0", False, None)
    res = bottleneck_features(model, x, grid_resolution=7)
    with torch.no_grad():
        np.testing.assert_allclose(res.features, model.layers[0](x).numpy(), atol=1e-6)
    assert res.centers is None and res.sigma is None
    rest = nn.Sequential(model.layers[1], model.layers[2])
    direct = decision_surface(rest, res.surface.rect, grid_resolution=7)
    np.testing.assert_allclose(res.surface.probs, direct.probs, atol=1e-6)
    head = bottleneck_head(model, example=x[:1])
    z = torch.randn(5, 2)
    with torch.no_grad():
        np.testing.assert_allclose(head(z).numpy(), rest(z).numpy(), atol=1e-6)
    assert _no_hooks(model)


def test_rbfnet_head_shortcut_matches_generic_replacement():
    net = _rbfnet()
    x, _ = _images(4)
    z = torch.randn(7, 2)
    from vizkit.analysis.bottleneck import _PlaneHead, _resolve

    generic = _PlaneHead(net, _resolve(net, None), x[:1])
    with torch.no_grad():
        np.testing.assert_allclose(generic(z).numpy(), bottleneck_head(net)(z).numpy(), atol=1e-5)


def test_model_flags_restored():
    net = _rbfnet().train()
    x, _ = _images(6)
    bottleneck_features(net, x, grid_resolution=5)
    assert all(m.training for m in net.modules())


def test_mlp_has_no_bottleneck():
    mlp = PTDeep([4, 8, 3])
    assert find_bottleneck(mlp) is None
    with pytest.raises(ValueError, match="has no 2D layer.*--model rbf"):
        bottleneck_features(mlp, torch.randn(3, 4))
    # a 2-class output layer is not a bottleneck
    assert find_bottleneck(PTDeep([4, 8, 2])) is None


def test_mixed_training_flags_are_put_back():
    x, y = _images(6)
    net = _rbfnet().train()
    net.features.eval()
    before = [m.training for m in net.modules()]
    bottleneck_features(net, x, y=y, grid_resolution=4)
    assert [m.training for m in net.modules()] == before


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"layer": "nope"}, ValueError, r"Unknown layer 'nope' in RBFNet.*vizkit.hooks.layer_names"),
    ({"layer": "featurs"}, ValueError, "Closest names: 'features'"),
    ({"layer": "features.0"}, ValueError, "gives .*-dimensional features; the bottleneck view needs 2"),
    ({"batch_size": 0}, ValueError, "`batch_size` must be a positive integer"),
    ({"y": [0, 1]}, ValueError, "`y` must have one label per input"),
])
def test_errors(kwargs, exc, message):
    x, _ = _images(5)
    with pytest.raises(exc, match=message):
        bottleneck_features(_rbfnet(), x, grid_resolution=4, **kwargs)


# --- plotting -----------------------------------------------------------------------------------

def test_centre_marker_sizes_grow_with_sigma(pyplot):
    from vizkit.plot.bottleneck import center_marker_sizes, plot_bottleneck

    net = _rbfnet()
    with torch.no_grad():
        net.rbf.sigma.copy_(torch.tensor([0.5, 2.0, 1.0, -3.0, 0.25, 1.5]))
    x, y = _images()
    res = bottleneck_features(net, x, y=y, grid_resolution=10)
    ax = pyplot.figure().gca()
    art = plot_bottleneck(res, ax=ax, circles=True, min_size=2, max_size=20)
    sizes = art["centers"].get_sizes()
    abs_sigma = np.abs(res.sigma)
    order = np.argsort(abs_sigma)
    assert np.all(np.diff(sizes[order]) > 0)  # strictly larger marker for larger |sigma|
    # the documented mapping: width = min + (max - min) * |sigma| / max|sigma|, size = width**2
    np.testing.assert_allclose(np.sqrt(sizes), 2 + 18 * abs_sigma / 3.0)
    np.testing.assert_allclose(sizes, center_marker_sizes(res.sigma, min_size=2, max_size=20))
    np.testing.assert_allclose(art["centers"].get_offsets(), res.centers)
    # circles of radius |sigma| around the centres (PatchCollection paths are in data units)
    extents = [p.get_extents() for p in art["circles"].get_paths()]
    np.testing.assert_allclose([e.width / 2 for e in extents], abs_sigma, rtol=1e-6)
    np.testing.assert_allclose([[(e.x0 + e.x1) / 2, (e.y0 + e.y1) / 2] for e in extents],
                               res.centers, atol=1e-6)


def test_features_coloured_by_class_with_shared_colours(pyplot):
    from vizkit.plot.style import class_colors
    from vizkit.plot.bottleneck import plot_bottleneck

    net = _rbfnet()
    x, y = _images()
    res = bottleneck_features(net, x, y=y, grid_resolution=10)
    ax = pyplot.figure().gca()
    ax.set_xlabel("my x")
    art = plot_bottleneck(res, ax=ax, class_names=["a", "b", "c"])
    np.testing.assert_allclose(art["features"].get_offsets(), res.features)
    colors = np.array(class_colors(3))
    np.testing.assert_allclose(art["features"].get_facecolors()[:, :3], colors[y.numpy()])
    assert ax.get_xlabel() == "my x"  # caller's label kept
    assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == ["a", "b", "c"]
    assert art["regions"]["image"].get_zorder() < art["features"].get_zorder()
    assert art["circles"] is None


def test_class_separation_hand_worked():
    from vizkit.analysis.bottleneck import class_separation

    f = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [12.0, 0.0]])
    # class means 1 and 11, grand mean 6: total 36 + 16 + 16 + 36 = 104, within 4 * 1
    assert class_separation(f, [0, 0, 1, 1]) == pytest.approx(1 - 4 / 104)
    assert class_separation(f, [0, 1, 1, 0]) == pytest.approx(0.0)  # both class means are 6
    assert class_separation(np.ones((4, 2)), [0, 0, 1, 1]) == 0.0
    with pytest.raises(ValueError, match="one label each"):
        class_separation(f, [0, 1])
