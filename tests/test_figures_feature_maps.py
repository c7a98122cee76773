"""Figure family feature-maps (vizkit.figures.feature_maps): filters and maps figures, their data
and captions, and why a model without conv layers does not fit."""

import numpy as np
import pytest
import torch
from torch import nn

from test_analysis_feature_maps import _cnn
from _toy import image_split
from vizkit.analysis.feature_maps import feature_maps
from vizkit.figures import NotApplicable, list_families, make_figures
from vizkit.gallery._record import slide_text_px
from vizkit.plot.feature_maps import FONT


def test_family_figures_data_captions_and_fonts(pyplot):
    from matplotlib.text import Text

    assert "feature-maps" in list_families()
    split = image_split(size=8)
    model = _cnn()
    figs = make_figures("feature-maps", model, split, seed=0)
    assert [f.id for f in figs] == ["feature-maps-filters", "feature-maps-0", "feature-maps-2"]
    np.testing.assert_array_equal(figs[0].data["filters"], model[0].weight.detach().numpy())
    assert str(figs[0].data["layer"]) == "0"
    for f in figs[1:]:
        x = torch.as_tensor(f.data["inputs"])
        np.testing.assert_allclose(f.data["maps"], feature_maps(model, x, str(f.data["layer"])).maps)
        assert len(set(f.data["labels"].tolist())) == 2  # two different classes
        assert f"for 2 test images (classes" in f.caption
    assert "the 3 filters (1 input channel)" in figs[0].caption
    assert "conv1 (0)" in figs[0].caption and "conv2 (2)" in figs[2].caption
    assert [str(f.data["layer_label"]) for f in figs] == ["conv1 (0)", "conv1 (0)", "conv2 (2)"]
    assert "the ReLU after them passes nothing" in figs[1].caption  # '0' is followed by a ReLU
    for f in figs:
        sizes = [t.get_fontsize() for t in f.fig.findobj(Text) if t.get_visible()
                 and t.get_text().strip()]
        assert min(sizes) >= FONT
        w, h = f.fig.get_size_inches()
        assert slide_text_px(min(sizes), int(w * 220), int(h * 220), 220) >= 20, f.id
    again = make_figures("feature-maps", model, split, seed=0)
    np.testing.assert_array_equal(again[1].data["inputs"], figs[1].data["inputs"])


def test_family_not_applicable_names_the_layers():
    split = image_split(size=8)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(NotApplicable, match=r"no Conv2d layer.*'0', '1'"):
        make_figures("feature-maps", mlp, split)


def test_a_standardizing_model_explains_the_tinted_background_by_its_numbers(pyplot):
    # a vizkit CNN standardizes inside: a black pixel reaches conv1 as -mean/std, so a blank
    # region's map is that constant times the filter's weight sum plus its bias; the caption
    # says so for the first conv only, and the stored tint is what the model computes
    from vizkit.models import ConvNet

    torch.manual_seed(0)
    model = ConvNet(1, 2, image_size=8, channels=(3, 4), hidden=8,
                    normalize=(0.1307, 0.3081)).eval()
    split = image_split(size=8)
    figs = {f.id: f for f in make_figures("feature-maps", model, split, seed=0)}
    first = figs["feature-maps-features-0"]
    assert "a black pixel enters conv1 (features.0) as -0.42" in first.caption
    blank = torch.zeros(1, 1, 8, 8)
    inside = feature_maps(model, blank, "features.0").maps[0, :, 3, 3]  # away from the padding
    np.testing.assert_allclose(first.data["blank_response"], inside, rtol=1e-5, atol=1e-6)
    assert all("standardizes its input" not in f.caption for k, f in figs.items()
               if k != "feature-maps-features-0")
    plain = make_figures("feature-maps", _cnn(), split, seed=0)  # no Normalize: nothing said
    assert all("standardizes" not in f.caption and "blank_response" not in f.data for f in plain)
