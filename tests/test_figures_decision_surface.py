"""Figure family decision-surface (vizkit.figures.decision_surface): input plane or bottleneck
plane, the caption counts the points drawn, the stored grid gives back what was drawn."""

import numpy as np
import pytest
import torch
from torch import nn

from _toy import readable
from test_analysis_bottleneck import _images, _rbfnet, _split
from vizkit.analysis.decision_surface import decision_surface
from vizkit.data import Split
from vizkit.figures import NotApplicable, make_figures
from vizkit.figures.decision_surface import surface_data
from vizkit.models import PTDeep


@pytest.mark.parametrize("n_classes", [2, 3])
def test_figure_family_decision_surface_caption_equals_its_points(pyplot, n_classes):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 2, generator=g)
    y = (torch.atan2(x[:, 1], x[:, 0]) + np.pi).mul(n_classes / (2 * np.pi)).long() % n_classes
    names = ("Coat", "Bag", "Sandal")[:n_classes]
    split = Split("gmm-like", x[:40], y[:40], x[:8], y[:8], x[40:], y[40:], names, (2,), "0" * 16)
    torch.manual_seed(0)
    f = make_figures("decision-surface", PTDeep([2, 6, n_classes]), split)[0]
    d = f.data
    n, wrong = len(d["labels"]), int((d["labels"] != d["predictions"]).sum())
    np.testing.assert_array_equal(d["points"], split.x_test.numpy())  # the points the accuracy is about
    assert f"the {n} test examples the accuracy is about" in f.caption
    assert f"test accuracy {(n - wrong) / n:.1%}, {wrong} wrong" in f.caption
    assert "digit" not in f.caption.lower()
    bars = [ax for ax in f.fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == (2 if n_classes == 2 else 1)  # one per colour scale
    legend = [ax.get_legend() for ax in f.fig.axes if ax.get_legend()][0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert set(texts) >= {names[c] for c in np.unique(d["labels"])}
    assert {"classified right", "classified wrong"} <= set(texts)
    readable(f.fig)


def test_surface_data_stores_axes_argmax_and_max_and_gives_back_p1():
    """surface_data keeps 1-D axes and argmax + max; P(class 1) of a binary model follows."""
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 2.0]]))
        net.bias.zero_()
    surf = decision_surface(net, ((-1, -2), (1, 2)), grid_resolution=(30, 20))
    data = surface_data(surf)
    assert set(data) == {"grid_x", "grid_y", "region_labels", "confidence"}
    assert data["grid_x"].shape == (30,) and data["grid_y"].shape == (20,)
    assert data["grid_x"][0] == -1 and data["grid_y"][-1] == 2
    lab, conf = data["region_labels"], data["confidence"].astype(float)
    p1 = np.where(lab == 1, conf, 1 - conf)
    assert np.allclose(p1, surf.probs[..., 1], atol=1e-3)


def test_figure_family_decision_surface_in_bottleneck_plane(pyplot):
    x, y = _images()
    figs = make_figures("decision-surface", _rbfnet(), _split(x, y, ["a", "b", "c"]))
    assert [f.id for f in figs] == ["decision_surface_bottleneck"]
    flat = _split(x.flatten(1), y, ["a", "b", "c"])
    with pytest.raises(NotApplicable, match="2D inputs"):
        make_figures("decision-surface", PTDeep([64, 8, 3]), flat)


def test_figure_family_decision_surface_on_2d_inputs(pyplot):
    torch.manual_seed(0)
    x = torch.randn(40, 2)
    y = (x[:, 0] > x[:, 1]).long()
    figs = make_figures("decision-surface", PTDeep([2, 8, 2]), _split(x, y, ["0", "1"]))
    assert [f.id for f in figs] == ["decision_surface"]
    plots = [ax for ax in figs[0].fig.axes if ax.get_label() != "<colorbar>"]
    assert len(plots) == 2  # argmax regions + the lab's graph_surface view
    assert len(figs[0].fig.axes) == 4  # each with its colour bar
