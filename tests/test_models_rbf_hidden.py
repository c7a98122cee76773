"""RBFNet's optional hidden layer between the conv features and the 2D bottleneck."""

import pytest
import torch
from torch import nn

from vizkit.analysis import find_bottleneck
from vizkit.models import RBFNet, build, default_spec, spec_of


def test_hidden_layer_sits_between_features_and_bottleneck():
    torch.manual_seed(0)
    net = RBFNet(image_size=8, channels=(4,), hidden=6, n_centers=5).eval()
    assert isinstance(net.hidden[0], nn.Linear) and net.hidden[0].out_features == 6
    assert net.bottleneck.in_features == 6
    x = torch.rand(3, 1, 8, 8)
    by_hand = net.bottleneck_bn(net.bottleneck(torch.relu(net.hidden[0](net.features(net.norm(x))))))
    torch.testing.assert_close(net.embed(x), by_hand)
    assert find_bottleneck(net).name == "rbf"  # the 2D view still finds the RBF input
    # rebuilt from its spec: same architecture, and the weights load
    again = build(spec_of(net))
    again.load_state_dict(net.state_dict())
    torch.testing.assert_close(again.eval()(x), net(x))


def test_no_hidden_layer_is_the_seed_net_and_the_default_rbf_has_one():
    assert isinstance(RBFNet(image_size=8, channels=(4,)).hidden, nn.Identity)
    assert default_spec("rbf", (1, 28, 28), 10)["args"]["hidden"] == 128
    with pytest.raises(ValueError, match="`hidden` must be a positive integer. Got 0 instead"):
        RBFNet(hidden=0)
