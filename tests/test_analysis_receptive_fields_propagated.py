"""Receptive fields, propagated: read from the model's structure, so a user's own MLP works."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.receptive_fields import (gradient_receptive_fields, mlp_layers,
                                              propagated_receptive_fields)



def test_a_users_own_mlp_class_is_read_by_its_structure():
    class MyMLP(nn.Module):  # not PTDeep: any model whose `layers` is an MLP Sequential
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.layers = nn.Sequential(nn.Flatten(), nn.Linear(16, 5), nn.Tanh(), nn.Identity(),
                                        nn.Linear(5, 3))

        def forward(self, x):
            return self.layers(x)

    m = MyMLP()
    assert mlp_layers(m) == [(1, "layers.1", 5), (2, "layers.4", 3)]
    x = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    prop = propagated_receptive_fields(m, 2, gate_data=x, image_shape=(1, 4, 4))
    grad = gradient_receptive_fields(m, "layers.4", [0, 1, 2], x)
    np.testing.assert_allclose(prop.fields, grad.fields, rtol=1e-4, atol=1e-6)
    # a layer the weight product cannot pass is named, with the way out
    conv = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"need an MLP: layer 0 \(Conv2d\) is not an MLP layer\. "
                                         r"Use gradient_receptive_fields"):
        propagated_receptive_fields(conv, 1)
    assert mlp_layers(conv) == []
