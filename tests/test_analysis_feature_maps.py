"""CNN views: filters are the weights, maps are the convolutions, drawn with a colourbar each."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vizkit.analysis.feature_maps import (NoConvLayers, conv_filters, conv_layers,
                                          feature_maps)
from vizkit.plot.feature_maps import plot_feature_maps, plot_filters


def _cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3),
                         nn.Flatten(), nn.Linear(2 * 6 * 6, 3))


def test_conv_layers_lists_the_conv2d_layers_in_order():
    assert conv_layers(_cnn()) == ["0", "2"]


def test_filters_equal_the_weight():
    model = _cnn()
    f = conv_filters(model)
    np.testing.assert_array_equal(f.filters, model[0].weight.detach().numpy())
    assert f.layer == "0" and len(f) == 3
    assert f.vmax == pytest.approx(float(model[0].weight.detach().abs().max()))
    f2 = conv_filters(model, "2")
    assert f2.filters.shape == (2, 3, 3, 3) and f2.layer == "2"
    f.filters[:] = 0  # a copy: the model keeps its weights
    assert model[0].weight.abs().sum() > 0


def test_hand_worked_conv_the_first_layer_maps_are_its_convolution():
    """A 1-channel 4x4 input and a hand-set 3x3 kernel: the map is worked out by hand."""
    conv = nn.Conv2d(1, 1, 3, padding=0, bias=True)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]]]))
        conv.bias.fill_(0.5)
    x = torch.arange(16.0).reshape(1, 1, 4, 4)  # x[i, j] = 4 i + j: each row rises by 1
    res = feature_maps(nn.Sequential(conv), x)
    # Sobel-x on a ramp rising 1 per column: (1+2+1) * (0 - 2) = -8, plus the bias
    np.testing.assert_allclose(res.maps, np.full((1, 1, 2, 2), -7.5))
    np.testing.assert_array_equal(res.inputs, x.numpy())


def test_maps_of_any_conv_layer_equal_f_conv2d():
    model = _cnn()
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    w0, b0, w2, b2 = (t.detach() for t in (model[0].weight, model[0].bias, model[2].weight,
                                             model[2].bias))
    first = F.conv2d(x, w0, b0, padding=1)
    np.testing.assert_allclose(feature_maps(model, x).maps, first.numpy(), rtol=1e-6, atol=1e-6)
    second = feature_maps(model, x, "2", labels=torch.tensor([0, 1, 2, 0]))
    np.testing.assert_allclose(second.maps, F.conv2d(F.relu(first), w2, b2).numpy(), rtol=1e-5,
                               atol=1e-6)
    assert second.layer == "2" and second.n_channels == 2 and second.labels.tolist() == [0, 1, 2, 0]
    relu = feature_maps(model, x, "1")  # what follows a conv layer is fine too
    np.testing.assert_allclose(relu.maps, F.relu(first).numpy(), rtol=1e-6, atol=1e-6)


def test_model_flags_and_hooks_left_as_they_were():
    model = _cnn().train()
    model[0].weight.requires_grad_(False)
    feature_maps(model, torch.rand(2, 1, 8, 8), "2")
    assert model.training and all(m.training for m in model.modules())
    assert not model[0].weight.requires_grad and model[2].weight.requires_grad
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.mark.parametrize("call, exc, match", [
    (lambda: conv_layers(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))), NoConvLayers,
     r"Sequential has no Conv2d layer.*its layers are: '0', '1'"),
    (lambda: feature_maps(nn.Sequential(nn.Linear(4, 2)), torch.rand(1, 1, 2, 2)), NoConvLayers,
     r"its layers are: '0'.*Use a CNN"),
    (lambda: conv_filters(_cnn(), "4"), ValueError,
     r"conv_filters needs a Conv2d layer; '4' is a Linear. The conv layers of Sequential are: "
     r"'0', '2'. Got '4' instead."),
    (lambda: conv_filters(_cnn(), "9"), ValueError, r"Unknown layer '9' in Sequential"),
    (lambda: feature_maps(_cnn(), torch.rand(2, 1, 8, 8), "3"), ValueError,
     r"feature maps need a layer with \(N, C, H, W\) output; '3' gives \(2, 72\). The conv "
     r"layers of Sequential are: '0', '2'"),
    (lambda: feature_maps(_cnn(), torch.rand(1, 8, 8)), ValueError,
     r"`x` must be a non-empty batch of images \(N, C, H, W\). Got shape \(1, 8, 8\)"),
    (lambda: feature_maps(_cnn(), torch.rand(2, 1, 8, 8), labels=[1]), ValueError,
     "one entry per input: 2 inputs, 1 labels"),
    (lambda: feature_maps(_cnn(), np.zeros((1, 1, 8, 8))), TypeError, "`x` must be a torch.Tensor"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_plotters_draw_the_arrays_with_a_colourbar_per_scale(pyplot):
    model = _cnn()
    f = conv_filters(model)
    out = plot_filters(f)
    assert len(out["images"]) == 3 and out["colorbar"] is not None
    np.testing.assert_array_equal(out["images"][1].get_array(), f.filters[1, 0])
    assert out["images"][0].get_clim() == (-f.vmax, f.vmax)
    res = feature_maps(model, torch.rand(2, 1, 8, 8), "0", labels=[2, 1])
    out = plot_feature_maps(res, 1, ncols=2)
    assert len(out["axes"]) == 3 and out["channels"] == [0, 1, 2]
    np.testing.assert_array_equal(out["images"][2].get_array(), res.maps[1, 2])
    lo, hi = out["images"][0].get_clim()
    assert lo == -hi == -np.abs(res.maps[1]).max()
    assert out["input_image"].get_cmap().name == "gray" and out["input_image"].get_clim() == (0, 1)
    assert out["colorbar"] is not None and out["input_colorbar"] is not None
    # 3 channels in 2 columns wrap into 2 rows
    rows = {round(ax.get_position().y0, 3) for ax in out["axes"]}
    assert len(rows) == 2
    with pytest.raises(ValueError, match=r"`channels` must be a non-empty list of channels in "
                                         r"\[0, 3\)"):
        plot_feature_maps(res, channels=[5])
