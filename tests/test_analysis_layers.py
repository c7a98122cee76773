"""vizkit.analysis._layers: one home per layer heuristic, read from structure, not class."""

import pytest
import torch
from torch import nn

from vizkit.analysis import _layers
from vizkit.analysis._layers import (NotMLP, hidden_layer, is_rbf_layer, last_conv_layer,
                                     mlp_stack)


class MyCNN(nn.Module):
    """A user's own CNN (not a vizkit class), with a conv *after* its head (a decoder)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.GELU(),
                                  nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.LeakyReLU())
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4 * 4 * 4, 5)
        self.decoder = nn.Conv2d(5, 1, 1)

    def forward(self, x):
        return self.fc(self.flat(self.body(x)))


class MyRBF(nn.Module):
    def __init__(self, d=2, k=4):
        super().__init__()
        self.centers = nn.Parameter(torch.zeros(k, d))
        self.sigma = nn.Parameter(torch.ones(k))


def test_last_conv_layer_stops_at_the_head_and_finds_the_rectified_output():
    net = MyCNN()
    assert last_conv_layer(net) == "body.3"  # not the decoder conv after the head
    assert last_conv_layer(net, rectified=True) == "body.5"  # through the BatchNorm
    # no rectifier before the head: the conv itself
    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.ReLU())
    assert last_conv_layer(plain, rectified=True) == "0"


def test_last_conv_layer_is_none_without_a_conv_and_callers_name_what_is_missing():
    from vizkit.analysis.attributions import attribution_layer, attributions

    mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    assert last_conv_layer(mlp) is None and attribution_layer(mlp) is None
    with pytest.raises(ValueError, match="Sequential has no nn.Conv2d to default to; pass `layer`"):
        attributions(mlp, torch.rand(2, 1, 2, 2), target=0, methods="grad_cam")


def test_one_home_for_each_heuristic():
    import importlib

    # `vizkit.analysis.attributions` is also the verb's name: import the modules by path
    at = importlib.import_module("vizkit.analysis.attributions")
    rf = importlib.import_module("vizkit.analysis.receptive_fields")
    act = importlib.import_module("vizkit.analysis.actmax")
    assert at.last_conv_layer is rf.last_conv_layer is _layers.last_conv_layer
    assert act.hidden_layer is _layers.hidden_layer
    from vizkit import _torch
    from vizkit.analysis.actmax import render
    assert render.capture is _torch.capture


def test_hidden_layer_reads_a_conv_after_its_batch_norm_else_the_first_hidden_linear():
    assert hidden_layer(MyCNN()) == ("body.4", 4)
    assert hidden_layer(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2),
                                      nn.Flatten())) == ("0", 2)
    assert hidden_layer(nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))) == ("0", 6)
    assert hidden_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))) is None


def test_mlp_stack_lists_the_layers_and_names_the_one_that_is_not_an_mlp_layer():
    class MyMLP(nn.Module):  # a user's class with a `layers` Sequential
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Identity(), nn.Tanh(),
                                        nn.Linear(3, 2))

    prefix, items = mlp_stack(MyMLP())
    assert prefix == "layers." and [n for n, _ in items] == ["layers.1", "layers.2", "layers.3",
                                                             "layers.4"]
    with pytest.raises(NotMLP, match=r"layer 1 \(Conv2d\) is not an MLP layer"):
        mlp_stack(nn.Sequential(nn.Linear(4, 4), nn.Conv2d(1, 1, 1)))
    with pytest.raises(NotMLP, match="unexpected Flatten after the first Linear"):
        mlp_stack(nn.Sequential(nn.Linear(4, 4), nn.Flatten()))
    with pytest.raises(NotMLP, match="MyCNN is not an MLP"):
        mlp_stack(MyCNN())


def test_rbf_layer_is_recognized_by_its_parameters():
    from vizkit.models import RBFLayer

    assert is_rbf_layer(RBFLayer(2, 5)) and is_rbf_layer(MyRBF())
    bad = MyRBF()
    bad.sigma = nn.Parameter(torch.ones(3))  # widths do not match the centres
    assert not is_rbf_layer(bad) and not is_rbf_layer(nn.Linear(2, 2))
