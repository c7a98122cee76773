"""Figure family receptive-fields (vizkit.figures.receptive_fields): MLP layer views, conv fields,
class gradients; captions and arrays from the results."""

import re

import numpy as np
import pytest
import torch

from test_analysis_receptive_fields import _digit_split, _with_bn_stats
from vizkit.analysis.receptive_fields import NEVER_INKED, ink_ratio
from vizkit.data import Split
from vizkit.figures import NotApplicable
from vizkit.figures.receptive_fields import figures
from vizkit.models import build_default


def test_figure_family(pyplot):
    split = _digit_split()
    torch.manual_seed(0)
    deep = build_default("deep", (1, 28, 28), 10, hidden=(20, 12))
    _with_bn_stats(deep, split.x_train)
    figs = figures(deep, split, meta={"config": {"weight_decay": 0.005}})
    assert [f.id for f in figs] == ["receptive-fields-layer1", "receptive-fields-layer2",
                                    "receptive-fields-output"]
    for f in figs:
        d = f.data
        assert d["fields"].ndim == 4 and d["fields"].shape[2:] == (28, 28)
        assert str(d["layer"]) in ("layers.0", "layers.4", "layers.8")
        # the caption's ratios and counts are the data's
        quoted = re.search(r"mean \|field\| there is ([\d. /]+) of that on the (\d+) pixels",
                           f.caption)
        assert [float(r) for r in quoted.group(1).split(" / ")] == [round(float(r), 2)
                                                                    for r in d["ratios"]]
        assert int(quoted.group(2)) == int((d["ink"] > 0.05).sum())
        assert f"the {int((d['ink'] < 0.01).sum())} pixels inked in fewer" in f.caption
        np.testing.assert_allclose(d["ratios"], [ink_ratio(v, d["ink"]) for v in d["fields"]])
        assert "weight decay 0.005" in f.caption
        # one colour bar per view, no text under 9 pt
        images = [a for a in f.fig.axes if a.images and a.get_title()]
        assert len(f.fig.axes) - len(images) == d["fields"].shape[0]
        texts = [t for a in f.fig.axes for t in [a.title, *a.get_yticklabels()] if t.get_text()]
        assert texts and min(t.get_fontsize() for t in texts) >= 9
        # every panel outlines the never-inked pixels: one grey line at that ink frequency
        levels = [list(c.levels) for a in images for c in a.collections if hasattr(c, "levels")]
        assert levels == [[NEVER_INKED]] * len(images)
    assert "all 10 units" in figs[2].caption and "of 20 units" in figs[0].caption
    cnn_ids = [f.id for f in figures(build_default("cnn", (1, 28, 28), 10, channels=(4, 6)),
                                     split)]
    assert cnn_ids == ["receptive-fields-conv", "receptive-fields-theory",
                       "receptive-fields-classes"]
    x2 = torch.rand(10, 2)
    y = torch.arange(10) % 10
    split2 = Split("2d", x2, y, x2, y, x2, y, tuple("0123456789"), (2,), "0")
    with pytest.raises(NotApplicable, match="input shape"):
        figures(build_default("mlp", (2,), 10), split2)
