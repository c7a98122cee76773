"""The three Displays: one contract over all (as scikit-learn tests its Displays), then each."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.figures import BottleneckDisplay, DecisionSurfaceDisplay, EmbeddingDisplay
from vizkit.plot import class_colors


class _Counting(nn.Module):
    """Wraps a model and counts its forward calls (plot() must not call the model)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


def _plane():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    torch.manual_seed(0)
    return _Counting(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))), x, y


def _rbf():
    from vizkit.models import RBFNet

    torch.manual_seed(0)
    net = RBFNet(image_size=8, channels=(3,), n_centers=4)
    x = torch.rand(30, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    return net, x, torch.arange(30) % 3


def _mlp_images():
    torch.manual_seed(0)
    model = _Counting(nn.Sequential(nn.Flatten(), nn.Linear(16, 6), nn.ReLU(), nn.Linear(6, 3)))
    x = torch.rand(36, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    return model, x, torch.arange(36) % 3


CASES = {
    "decision_surface": (DecisionSurfaceDisplay, _plane, dict(grid_resolution=24)),
    "bottleneck": (BottleneckDisplay, _rbf, dict(grid_resolution=16)),
    "embedding": (EmbeddingDisplay, _mlp_images, dict(layer="inner.2", method="pca")),
}


def _forward_calls(model):
    if isinstance(model, _Counting):
        return model.calls
    calls = []
    handle = model.register_forward_hook(lambda *a: calls.append(1))
    return handle, calls


@pytest.mark.parametrize("name", list(CASES))
def test_display_contract(pyplot, name):
    Display, make, kw = CASES[name]
    model, x, y = make()
    handle = None
    if not isinstance(model, _Counting):
        handle, calls = _forward_calls(model)
    disp = Display.from_model(model, x, y=y, class_names=["a", "b", "c"], **kw)
    assert isinstance(disp, Display)
    assert disp.ax_ is not None and disp.figure_ is disp.ax_.figure
    first_ax = disp.ax_
    n_calls = model.calls if handle is None else len(calls)
    assert n_calls >= 1  # from_model computed

    # plot(ax=given) draws there and returns self; no new computation
    fig, ax = pyplot.subplots()
    assert disp.plot(ax=ax) is disp
    assert disp.ax_ is ax and disp.figure_ is fig
    assert ax.collections  # something was drawn
    # plot() with ax=None: a new figure, never the current axes
    pyplot.figure()
    current = pyplot.gca()
    again = disp.plot()
    assert again is disp and disp.ax_ is not current and disp.ax_ is not first_ax
    assert disp.figure_ is not fig
    assert (model.calls if handle is None else len(calls)) == n_calls  # plot() never computes
    if handle is not None:
        handle.remove()


@pytest.mark.parametrize("name", list(CASES))
def test_from_model_passes_ax_and_plot_kw(pyplot, name):
    Display, make, kw = CASES[name]
    model, x, y = make()
    fig, ax = pyplot.subplots()
    disp = Display.from_model(model, x, y=y, ax=ax, legend=False, **kw)
    assert disp.ax_ is ax and ax.get_legend() is None
    disp.plot(ax=pyplot.figure().gca(), legend=True)
    assert disp.ax_.get_legend() is not None


def test_decision_surface_display_draws_points_in_class_colours(pyplot):
    model, x, y = _plane()
    disp = DecisionSurfaceDisplay.from_model(model, x, y=y, grid_resolution=20)
    assert disp.surface.shape == (20, 20)
    pts = disp.ax_.collections[-1]
    np.testing.assert_allclose(pts.get_offsets(), x.numpy(), atol=1e-6)
    colours = class_colors(2)
    np.testing.assert_allclose(pts.get_facecolors()[:, :3], [colours[c] for c in y.tolist()],
                               atol=1e-6)
    field = disp.plot(kind="field")
    assert field.ax_.collections  # the pcolormesh of graph_surface
    with pytest.raises(ValueError, match="`kind` must be one of 'regions', 'field'"):
        disp.plot(kind="contour")


def test_bottleneck_display_matches_the_analysis(pyplot):
    from vizkit.analysis.bottleneck import bottleneck_features

    net, x, y = _rbf()
    disp = BottleneckDisplay.from_model(net, x, y=y, grid_resolution=16, regions=False)
    direct = bottleneck_features(net, x, y=y, grid_resolution=16)
    np.testing.assert_allclose(disp.bottleneck.features, direct.features, atol=1e-6)
    np.testing.assert_allclose(disp.bottleneck.centers, direct.centers, atol=1e-6)
    offsets = [c.get_offsets() for c in disp.ax_.collections]
    assert any(o.shape == (30, 2) and np.allclose(o, direct.features, atol=1e-5) for o in offsets)


def test_embedding_display_points_are_the_embedding(pyplot):
    from vizkit.analysis.embedding import embed_activations

    model, x, y = _mlp_images()
    disp = EmbeddingDisplay.from_model(model, x, layer="inner.2", y=y, method="pca")
    direct = embed_activations(model, x, "inner.2", labels=y, method="pca")
    np.testing.assert_allclose(disp.embedding.points, direct.points, atol=1e-5)
    drawn = np.concatenate([c.get_offsets() for c in disp.ax_.collections])
    order = np.lexsort(drawn.T[::-1])
    ref = direct.points.astype(np.float64)
    np.testing.assert_allclose(drawn[order], ref[np.lexsort(ref.T[::-1])], atol=1e-5)
