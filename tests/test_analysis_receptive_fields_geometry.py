"""Receptive fields, conv geometry: the layer arithmetic worked by hand."""

import pytest
from torch import nn

from vizkit.analysis.receptive_fields import conv_stages, theoretical_receptive_field
from vizkit.models import build_default


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


def test_conv_stages_are_the_layers_that_change_the_field_in_order():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2), nn.BatchNorm2d(2),
                        nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 2, 1)), nn.Flatten())
    assert conv_stages(net) == ["0", "2", "4.0", "4.1"]
