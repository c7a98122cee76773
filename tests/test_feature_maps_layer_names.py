"""CNN views: layers named so a student can read them ("conv2 (features.4)"), and a wide conv
layer's maps laid out so the smallest text stays >= 20 px on a 1920x1080 slide."""

import numpy as np
import pytest
import torch
from matplotlib.text import Text
from torch import nn

from _toy import image_split
from vizkit.analysis.feature_maps import conv_label, conv_layers
from vizkit.figures import make_figures
from vizkit.gallery._record import slide_text_px


class Net(nn.Module):
    def __init__(self, c1=16, c2=32):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(3))

    def forward(self, x):
        return self.head(self.features(x))


def test_conv_label_counts_conv_layers_and_keeps_the_module_name():
    net = Net()
    assert conv_layers(net) == ["features.0", "features.3"]
    assert conv_label(net, "features.0") == "conv1 (features.0)"
    assert conv_label(net, "features.3") == "conv2 (features.3)"  # the ReLU/pool are not counted
    with pytest.raises(ValueError, match=r"conv layers of Net: 'features.0', 'features.3'.*'features.1'"):
        conv_label(net, "features.1")


def test_wide_layer_figure_names_its_layer_and_reads_from_the_back(pyplot):
    torch.manual_seed(0)
    net = Net()
    split = image_split(size=8)
    net(split.x_test[:1])  # materialize the lazy layer
    figs = {f.id: f for f in make_figures("feature-maps", net, split, seed=0)}
    wide = figs["feature-maps-features-3"]
    assert wide.data["maps"].shape[1] == 32
    assert str(wide.data["layer_label"]) == "conv2 (features.3)"
    assert wide.fig._suptitle.get_text().startswith("conv2 (features.3): all 32 channels")
    assert wide.caption.startswith("What conv2 (features.3) computes for each input")
    for f in figs.values():
        sizes = [t.get_fontsize() for t in f.fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip()]
        w, h = f.fig.get_size_inches()
        assert w > h, f.id  # landscape
        assert slide_text_px(min(sizes), int(w * 220), int(h * 220), 220) >= 20, (f.id, w, h)
    np.testing.assert_array_equal(wide.data["channels"], np.arange(32))


def test_conv_label_keeps_a_models_own_conv_names():
    # a count beside the model's own name could contradict it ("conv1 (conv2)")
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv2 = nn.Conv2d(1, 2, 3)   # the FIRST conv, named conv2 by its author
            self.stem = nn.Sequential(nn.Conv2d(2, 2, 3))
            self.Conv = nn.Conv2d(2, 2, 1)

    net = Net()
    assert conv_label(net, "conv2") == "conv2"
    assert conv_label(net, "stem.0") == "conv2 (stem.0)"  # a plain index is still counted
    assert conv_label(net, "Conv") == "Conv"
    assert conv_label(nn.Sequential(nn.Conv2d(1, 2, 3)), "0") == "conv1 (0)"
