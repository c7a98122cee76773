"""Decision surfaces: hand-worked grids, chunking, and the module / estimator / callable routes."""

import numpy as np
import pytest
import torch
from torch import nn

from vizkit.analysis.decision_surface import DecisionSurface, decision_surface, resolve_rect


def _diag_model(dtype=torch.float32):
    """logits = (x0, x1): class 1 exactly where x1 > x0."""
    lin = nn.Linear(2, 2).to(dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(2))
        lin.bias.zero_()
    return lin


def _split(x_train, y_train, x_test, y_test, classes, input_shape):
    from vizkit.data import Split

    return Split("toy", x_train, y_train, x_train[:4], y_train[:4], x_test, y_test,
                 tuple(classes), tuple(input_shape), "0" * 16)


def test_diagonal_boundary_splits_regions_exactly():
    surf = decision_surface(_diag_model(), ((-1, -1), (1, 1)), grid_resolution=5)
    assert isinstance(surf, DecisionSurface)
    expected = (surf.yy > surf.xx).astype(int)  # ties on the diagonal: argmax takes class 0
    np.testing.assert_array_equal(surf.labels, expected)
    assert surf.labels.tolist() == [[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0],
                                    [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]
    # on the diagonal both logits are equal: probability 1/2
    np.testing.assert_allclose(np.diagonal(surf.probs[..., 1]), 0.5, atol=1e-7)
    assert surf.xx.shape == surf.yy.shape == (5, 5)
    assert surf.rect == ((-1.0, -1.0), (1.0, 1.0))
    assert surf.response_method == "logits" and surf.n_classes == 2


def test_grid_orientation_and_rectangular_resolution():
    surf = decision_surface(lambda P: P[:, 0], ((0, 10), (1, 20)), grid_resolution=(3, 4))
    assert surf.labels.shape == (4, 3)  # (H, W) = (height, width)
    np.testing.assert_allclose(surf.xx[0], [0, 0.5, 1])
    np.testing.assert_allclose(surf.yy[:, 0], np.linspace(10, 20, 4))
    assert surf.extent == (0.0, 1.0, 10.0, 20.0)


def test_chunked_evaluation_equals_one_shot():
    torch.manual_seed(0)
    from vizkit.models import PTDeep

    model = PTDeep([2, 16, 3], "tanh").eval()
    X = np.random.default_rng(0).normal(size=(30, 2))
    one = decision_surface(model, X, grid_resolution=41, batch_size=10 ** 6)
    chunked = decision_surface(model, X, grid_resolution=41, batch_size=97)
    np.testing.assert_array_equal(chunked.labels, one.labels)
    np.testing.assert_allclose(chunked.probs, one.probs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(chunked.response, one.response, rtol=0, atol=1e-6)


def test_module_estimator_and_callable_routes_agree():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2)) + np.repeat(np.array([[0, 0], [3, 0], [0, 3]]), 30, axis=0)
    Y = np.repeat(np.arange(3), 30)
    clf = LogisticRegression().fit(X, Y)
    lin = nn.Linear(2, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(clf.coef_))
        lin.bias.copy_(torch.from_numpy(clf.intercept_))
    kw = dict(grid_resolution=33)
    by_module = decision_surface(lin, X, **kw)
    by_estimator = decision_surface(clf, X, **kw)
    by_callable = decision_surface(lambda P: torch.softmax(lin(torch.from_numpy(P)), 1), X, **kw)
    assert by_estimator.response_method == "proba" and by_callable.response_method == "proba"
    for other in (by_estimator, by_callable):
        np.testing.assert_allclose(other.probs, by_module.probs, atol=1e-10)
        np.testing.assert_array_equal(other.labels, by_module.labels)
    assert set(np.unique(by_module.labels)) == {0, 1, 2}


def test_single_logit_is_sigmoid_and_binary_scores_threshold_at_zero():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[2.0, 0.0]]))
        lin.bias.fill_(-1.0)  # class 1 where x0 > 0.5
    surf = decision_surface(lin, ((0, 0), (1, 1)), grid_resolution=5)
    p1 = 1 / (1 + np.exp(-(2 * surf.xx - 1)))
    np.testing.assert_allclose(surf.probs[..., 1], p1, atol=1e-6)
    np.testing.assert_array_equal(surf.labels, (surf.xx > 0.5).astype(int))
    scores = decision_surface(lambda P: 2 * P[:, 0] - 1.5, ((0, 0), (1, 1)), grid_resolution=5)
    assert scores.response_method == "scores" and scores.probs is None
    np.testing.assert_array_equal(scores.labels, (scores.xx > 0.75).astype(int))


def test_svc_without_probabilities_uses_decision_function_and_ksvmwrap_get_scores():
    from sklearn.svm import SVC

    from vizkit.models import KSVMWrap

    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.1, 0.2], [0.9, 0.8]])
    Y = np.array([0, 1, 0, 1, 0, 1])
    svc = SVC(kernel="linear").fit(X, Y)
    surf = decision_surface(svc, X, grid_resolution=9)
    assert surf.response_method == "scores"
    np.testing.assert_array_equal(surf.labels.ravel(), svc.predict(np.column_stack(
        [surf.xx.ravel(), surf.yy.ravel()])))
    wrap = KSVMWrap(X, Y, param_svm_c=10)
    ws = decision_surface(wrap, X, grid_resolution=9)
    assert ws.response_method == "scores"
    grid = np.column_stack([ws.xx.ravel(), ws.yy.ravel()])
    np.testing.assert_array_equal(ws.labels.ravel(), wrap.predict(grid))


def test_module_state_restored_and_no_grad():
    model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 2)).train()
    seen = []
    model[2].register_forward_hook(lambda m, i, o: seen.append((m.training, o.requires_grad)))
    decision_surface(model, ((0, 0), (1, 1)), grid_resolution=4)
    assert seen == [(False, False)]  # evaluated in eval mode without autograd
    assert model.training and model[1].training


def test_resolve_rect_data_and_corners():
    assert resolve_rect((np.array([0, 1]), np.array([2, 3]))) == ((0.0, 1.0), (2.0, 3.0))
    X = np.array([[0.0, 0.0], [10.0, 2.0]])
    assert resolve_rect(X) == ((-0.5, -0.1), (10.5, 2.1))  # default margin 5 % of each side
    assert resolve_rect(torch.tensor(X), margin=0) == ((0.0, 0.0), (10.0, 2.0))
    (x0, y0), (x1, y1) = resolve_rect(np.array([[3.0, 3.0]]))  # one point still gets an area
    assert x0 < 3 < x1 and y0 < 3 < y1


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"grid_resolution": 1}, ValueError, "`grid_resolution` must be an integer >= 2"),
    ({"grid_resolution": (3, 4, 5)}, ValueError, "`grid_resolution` must be an integer >= 2"),
    ({"batch_size": 0}, ValueError, "`batch_size` must be a positive integer"),
    ({"response_method": "prob"}, ValueError, "`response_method` must be one of"),
    ({"margin": -1}, ValueError, "`margin` must be >= 0"),
])
def test_errors(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        decision_surface(_diag_model(), np.zeros((3, 2)) + np.arange(3)[:, None], **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"data of shape \(N, 2\)"):
        decision_surface(_diag_model(), np.zeros((5, 3)))
    with pytest.raises(TypeError, match="`predict` must be"):
        decision_surface(object(), ((0, 0), (1, 1)))


# --- plotting -----------------------------------------------------------------------------------

def test_graph_surface_shades_field_and_draws_offset_contour(pyplot):
    from vizkit.lab.data import graph_surface

    fun = lambda P: 1 / (1 + np.exp(-(P[:, 0] - P[:, 1])))  # P(class 1), 0.5 on the diagonal
    ax = pyplot.figure().gca()
    ax.set_title("mine")
    art = graph_surface(fun, ((-2, -2), (2, 2)), offset=0.5, width=30, height=20, ax=ax)
    surf = art["surface"]
    assert surf.labels.shape == (20, 30)
    np.testing.assert_allclose(np.asarray(art["mesh"].get_array()).reshape(20, 30),
                               fun(np.column_stack([surf.xx.ravel(), surf.yy.ravel()])).reshape(20, 30))
    vmin, vmax = art["mesh"].get_clim()
    assert vmin + vmax == pytest.approx(1.0)  # symmetric around the offset
    assert list(art["contour"].levels) == [0.5]
    assert ax.get_title() == "mine"


def test_graph_data_markers_and_special_points(pyplot):
    from vizkit.plot.style import class_colors
    from vizkit.plot.graph import graph_data

    X = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], dtype=float)
    Y_ = np.array([0, 1, 1, 0])
    Y = np.array([0, 1, 0, 0])  # index 2 wrong
    art = graph_data(X, Y_, Y, special=[1, 2], ax=pyplot.figure().gca(), size=20)
    np.testing.assert_array_equal(art["correct"].get_offsets(), X[[0, 1, 3]])
    np.testing.assert_array_equal(art["wrong"].get_offsets(), X[[2]])
    np.testing.assert_array_equal(art["correct"].get_sizes(), [20, 40, 20])  # special doubled
    np.testing.assert_array_equal(art["wrong"].get_sizes(), [40])
    np.testing.assert_allclose(art["wrong"].get_facecolors()[0, :3], class_colors(2)[1])


def test_decision_regions_colour_and_confidence_shading(pyplot):
    from vizkit.plot.style import class_colors
    from vizkit.plot.decision_surface import plot_decision_regions

    lin = nn.Linear(2, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]]))
        lin.bias.zero_()
    surf = decision_surface(lin, ((-1, -1), (1, 1)), grid_resolution=21)
    art = plot_decision_regions(surf, ax=pyplot.figure().gca())
    rgb = np.asarray(art["image"].get_array())
    assert rgb.shape == (21, 21, 3)
    colors = np.array(class_colors(3))
    # every pixel lies on the segment from white to its class colour
    for i, j in [(0, 0), (20, 20), (10, 20), (20, 10), (5, 15)]:
        c = colors[surf.labels[i, j]]
        w = np.dot(1 - rgb[i, j], 1 - c) / np.dot(1 - c, 1 - c)
        np.testing.assert_allclose(1 - rgb[i, j], w * (1 - c), atol=1e-9)
        assert 0.1 < w < 0.7
    # a more confident pixel is closer to its class colour
    conf = surf.confidence
    a, b = np.unravel_index(conf.argmax(), conf.shape), np.unravel_index(conf.argmin(), conf.shape)
    dist = lambda ij: np.abs(rgb[ij] - colors[surf.labels[ij]]).sum()
    assert dist(a) < dist(b)
    assert art["boundaries"] is not None


def test_graph_data_rings_special_points_larger_than_the_point(pyplot):
    from matplotlib.colors import to_rgba

    from vizkit.plot.graph import graph_data

    X = np.array([[0, 0], [1, 1], [2, 2], [3, 3]], dtype=float)
    Y_ = np.array([0, 1, 1, 0])
    art = graph_data(X, Y_, np.array([0, 1, 0, 0]), special=[1, 2], ax=pyplot.figure().gca(),
                     size=20)
    rings = art["special"]
    np.testing.assert_array_equal(rings.get_offsets(), X[[1, 2]])
    assert np.all(rings.get_sizes() > 2 * 40)  # well beyond the doubled special point (area 40)
    assert rings.get_facecolors().size == 0 or np.all(rings.get_facecolors()[:, 3] == 0)
    np.testing.assert_allclose(rings.get_edgecolors()[0], to_rgba("black"))
    assert graph_data(X, Y_, Y_, ax=pyplot.figure().gca())["special"] is None


def test_graph_surface_colorbar_shows_the_shaded_scale(pyplot):
    from vizkit.lab.data import graph_surface

    fun = lambda P: 1 / (1 + np.exp(-(P[:, 0] - P[:, 1])))
    ax = pyplot.figure().gca()
    art = graph_surface(fun, ((-2, -2), (2, 2)), offset=0.5, width=20, height=20, ax=ax,
                        colorbar="P(class 1)")
    cbar = art["colorbar"]
    assert cbar.mappable is art["mesh"] and cbar.ax.get_ylabel() == "P(class 1)"
    assert cbar.mappable.get_clim() == art["mesh"].get_clim()
    assert graph_surface(fun, ((-2, -2), (2, 2)), width=8, height=8,
                         ax=pyplot.figure().gca())["colorbar"] is None  # the lab's default
