"""The registry's default 'cnn' (issue 15): three VGG-style blocks; explicit `channels` keep the old layout."""

import pytest
import torch
from torch import nn

from vizkit.models import ConvNet, build, build_default, default_spec, spec_of
from vizkit.train import default_config


def _convs(model):
    return [m for m in model.features if isinstance(m, nn.Conv2d)]


def test_default_cnn_is_three_blocks_of_two_convs():
    spec = default_spec("cnn", (1, 28, 28), 10)
    assert spec["args"]["channels"] == [16, 32, 64] and spec["args"]["block_convs"] == 2
    assert spec["args"]["dropout"] == 0.5
    net = build(spec).eval()
    assert [c.out_channels for c in _convs(net)] == [16, 16, 32, 32, 64, 64]
    assert [c.in_channels for c in _convs(net)] == [1, 16, 16, 32, 32, 64]
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.features) == 3
    assert isinstance(net.features[0], nn.Conv2d)  # analysis code relies on features.0
    x = torch.rand(5, 1, 28, 28)
    assert net.features(net.norm(x)).shape == (5, 64, 3, 3)  # 28 -> 14 -> 7 -> 3
    assert net.classifier[1].in_features == 64 * 3 * 3
    assert net(x).shape == (5, 10)
    # a checkpoint rebuilds it from its spec
    again = build(spec_of(net))
    again.load_state_dict(net.state_dict())
    torch.testing.assert_close(again.eval()(x), net(x))


def test_two_conv_block_is_conv_bn_relu_twice_then_pool():
    torch.manual_seed(0)
    net = ConvNet(image_size=8, channels=(3,), hidden=4, block_convs=2).eval()
    f = net.features
    assert [type(m) for m in f] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 2 + [nn.MaxPool2d]
    for bn in (f[1], f[4]):  # non-trivial BN statistics so the check sees them
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.rand(2, 1, 8, 8)
    h = x
    for conv, bn in ((f[0], f[1]), (f[3], f[4])):
        h = torch.relu((conv(h) - bn.running_mean[:, None, None])
                       / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
                       * bn.weight[:, None, None] + bn.bias[:, None, None])
    torch.testing.assert_close(f(x), torch.nn.functional.max_pool2d(h, 2))


def test_explicit_channels_keep_the_one_conv_layout():
    # the gallery's recipes pass channels=(16, 32): same model as before the new default
    spec = default_spec("cnn", (1, 28, 28), 10, channels=(16, 32))
    assert "block_convs" not in spec["args"] and "dropout" not in spec["args"]
    net = build(spec)
    old = ConvNet(1, 10, 28, channels=(16, 32), normalize=spec["args"]["normalize"])
    assert net.model_args["block_convs"] == 1 and net.model_args["dropout"] == 0.25
    assert {k: v.shape for k, v in net.state_dict().items()} == \
        {k: v.shape for k, v in old.state_dict().items()}
    assert [type(m) for m in net.features] == [type(m) for m in old.features]
    assert len(_convs(ConvNet())) == 2  # the class's own defaults are unchanged


def test_small_images_fall_back_to_two_blocks():
    net = build_default("cnn", (1, 6, 6), 3)  # three pools would need at least 8 pixels
    assert len(_convs(net)) == 2 and net(torch.rand(2, 1, 6, 6)).shape == (2, 3)
    assert len(_convs(build_default("cnn", (3, 8, 8), 3))) == 6


@pytest.mark.parametrize("bad", [0, 4, 1.5, True, "2"])
def test_bad_block_convs_named_with_choices(bad):
    with pytest.raises(ValueError, match=r"`block_convs` .* must be one of 1, 2, 3\. Got"):
        ConvNet(block_convs=bad)


def test_cnn_training_defaults_average_and_augment():
    cfg = default_config("cnn", n_train=3000)
    assert cfg.average == "ema" and cfg.augment == "affine" and cfg.refit is True
    assert default_config("cnn", n_train=55_000).augment is None  # large sets: no augmentation
