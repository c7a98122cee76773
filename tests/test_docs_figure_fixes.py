"""Bugs that writing the numpydoc docstrings of the figure families and plotters brought out
(issue 22): a documented colour argument that only took RGB tuples, and a caption that wrote
'nan' where one side of the never-inked / inked comparison is empty."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.decision_surface import decision_surface
from vizkit.data import Split, fingerprint
from vizkit.figures import make_figures
from vizkit.models import PTDeep
from vizkit.plot.decision_surface import plot_decision_regions, region_image


def _surface():
    return decision_surface(lambda P: np.column_stack([P[:, 0], P[:, 1], -P[:, 0]]),
                            ((-1, -1), (1, 1)), grid_resolution=12)


def test_region_image_reads_named_and_hex_colours_like_rgb_tuples():
    surf = _surface()
    assert set(np.unique(surf.labels)) == {0, 1, 2}  # all three colours are used
    named = region_image(surf, colors=["red", "#0000ff", "green"])
    tuples = region_image(surf, colors=[(1, 0, 0), (0, 0, 1), (0, 128 / 255, 0)])
    np.testing.assert_allclose(named, tuples)
    with pytest.raises(ValueError, match="`colors` has 2 entries for 3 classes"):
        region_image(surf, colors=["red", "blue"])


def test_plot_decision_regions_draws_named_colours(pyplot):
    surf = _surface()
    out = plot_decision_regions(surf, colors=["red", "blue", "green"], shade_by_confidence=False)
    rgb = np.asarray(out["image"].get_array())
    # uniform shading: weight (0.15 + 0.6) / 2 of the class colour against white
    red = rgb[surf.labels == 0]
    np.testing.assert_allclose(red, np.tile([1.0, 1 - 0.375, 1 - 0.375], (len(red), 1)))


def _split(x, n_classes=3):
    y = torch.arange(len(x)) % n_classes
    names = tuple("abcdefghij"[:n_classes])
    return Split("tiny", x, y, x, y, x, y, names, tuple(x.shape[1:]), fingerprint(x, y))


def test_receptive_field_captions_never_say_nan_when_every_pixel_is_inked(pyplot):
    x = torch.rand(20, 1, 4, 4, generator=torch.Generator().manual_seed(0)) + 0.01
    torch.manual_seed(0)
    mlp = make_figures("receptive-fields", PTDeep([16, 4, 3]), _split(x))
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    conv = make_figures("receptive-fields", cnn, _split(x))
    assert [f.id for f in conv][-1] == "receptive-fields-classes"
    for f in mlp + [conv[-1]]:
        assert np.isnan(f.data["ratios"]).all()  # the measure has no never-inked side ...
        assert "nan" not in f.caption  # ... and the caption says why instead of printing it
        assert "No pixel is inked in fewer than 1% of the" in f.caption


def test_receptive_field_caption_when_no_pixel_is_inked_often(pyplot):
    # the uncommon other side: one of 40 images carries ink, so no pixel is inked in > 5%
    x = torch.zeros(40, 1, 4, 4)
    x[0, 0, 1:3, 1:3] = 1.0
    torch.manual_seed(0)
    figs = make_figures("receptive-fields", PTDeep([16, 4, 3]), _split(x))
    for f in figs:
        assert "nan" not in f.caption
        assert ("No pixel is inked in more than 5% of the 40 training images, so the 12 "
                "never-inked pixels have nothing to be compared with.") in f.caption


def test_receptive_field_caption_keeps_the_ratio_when_both_sides_exist(pyplot):
    x = torch.zeros(20, 1, 4, 4)
    x[:, :, 1:3, 1:3] = torch.rand(20, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    [first, *_] = make_figures("receptive-fields", PTDeep([16, 4, 3]), _split(x))
    ratio = float(first.data["ratios"][0])
    assert np.isfinite(ratio)
    assert (f"mean |field| there is {ratio:.2f} of that on the 4 pixels inked in more than 5%"
            in first.caption)
