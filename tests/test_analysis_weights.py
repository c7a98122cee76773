"""Weight images: the linear input->class map as images, normalization folded in, one scale."""

import numpy as np
import pytest
import torch

from _toy import readable
from vizkit.analysis.weights import linear_input_map, weight_images
from vizkit.models import PTDeep, PTLogreg, build_default
from vizkit.plot.weights import plot_weight_images, plot_weight_images_grid


def test_logreg_images_fold_in_normalization_and_reproduce_logits():
    torch.manual_seed(0)
    m = PTLogreg(16, 3, normalize=(0.25, 0.5))
    with torch.no_grad():
        m.b.copy_(torch.tensor([0.1, -0.2, 0.3]))
    r = weight_images(m, image_shape=(1, 4, 4))
    assert r.images.shape == (3, 4, 4)
    np.testing.assert_allclose(r.images[1], (m.W[:, 1] / 0.5).detach().view(4, 4).numpy(),
                               rtol=1e-6)
    assert r.vmax == pytest.approx(np.abs(r.images).max())
    # the images and effective bias are the model on RAW pixels: logits = x . img + bias
    x = torch.rand(5, 1, 4, 4)
    logits = x.flatten(1).double().numpy() @ r.images.reshape(3, -1).T + r.bias
    np.testing.assert_allclose(logits, m(x).detach().double().numpy(), rtol=1e-5, atol=1e-5)


def test_ptdeep_linear_and_raw_arrays_agree():
    torch.manual_seed(0)
    deep = PTDeep([784, 10])  # no normalization: images are the weights themselves
    W = deep.layers[0].weight.detach()  # [C, D]
    a = weight_images(deep)
    b = weight_images(deep.layers[0])
    c = weight_images(W.t().numpy())  # [D, C]
    d = weight_images(W)  # [C, D], side found from the square 784
    for r in (b, c, d):
        np.testing.assert_allclose(r.images, a.images, rtol=1e-6)
    assert a.images.shape == (10, 28, 28) and a.labels == [str(k) for k in range(10)]
    np.testing.assert_allclose(a.images[3], W[3].view(28, 28).numpy(), rtol=1e-6)


def test_registry_models():
    r = weight_images(build_default("logreg", (1, 28, 28), 10))
    assert r.images.shape == (10, 28, 28) and r.space == "raw input"
    with pytest.raises(ValueError, match="no single linear input->class map"):
        weight_images(build_default("mlp", (1, 28, 28), 10))
    with pytest.raises(ValueError, match="no single linear input->class map"):
        linear_input_map(build_default("cnn", (1, 28, 28), 10))


@pytest.mark.parametrize("arg, kw, message", [
    (np.zeros((5, 5)), {}, "ambiguous"),
    (np.zeros((3, 10)), {}, "cannot guess the image shape"),
    (np.zeros((16, 3)), {"image_shape": (3, 3)}, "has 9 pixels"),
    (np.zeros(16), {}, "must be 2-D"),
    (np.zeros((16, 3)), {"labels": ["a"]}, "1 names for 3 classes"),
])
def test_errors(arg, kw, message):
    with pytest.raises(ValueError, match=message):
        weight_images(arg, **kw)


def test_plot_one_symmetric_scale_and_colorbar(pyplot):
    torch.manual_seed(0)
    r = weight_images(PTLogreg(784, 10))
    out = plot_weight_images(r)
    assert len(out["images"]) == 10 and out["colorbar"] is not None
    for im in out["images"]:
        assert im.get_clim() == (-r.vmax, r.vmax)
        assert im.get_cmap().name == "RdBu_r"
    assert [ax.get_title() for ax in out["axes"]] == [str(k) for k in range(10)]
    np.testing.assert_array_equal(out["images"][7].get_array(), r.images[7])


def test_grid_shares_one_scale_across_lambdas(pyplot):
    big = weight_images(np.ones((16, 3)) * 2.0, image_shape=(4, 4))
    small = weight_images(np.ones((16, 3)) * 0.5, image_shape=(4, 4))
    out = plot_weight_images_grid([big, small], ["λ=0", "λ=1"])
    assert out["vmax"] == 2.0
    assert all(im.get_clim() == (-2.0, 2.0) for row in out["images"] for im in row)
    assert [row[0].get_ylabel() for row in out["axes"]] == ["λ=0", "λ=1"]
    with pytest.raises(ValueError, match="2 results"):
        plot_weight_images_grid([big, small], ["only one"])


def test_one_model_wraps_into_a_grid_not_a_strip(pyplot):
    r = weight_images(np.random.default_rng(0).normal(size=(16, 10)), image_shape=(4, 4))
    out = plot_weight_images_grid([r], ["λ=0"])
    boxes = [ax.get_position() for ax in out["axes"][0]]
    assert len({round(b.y0, 3) for b in boxes}) == 2 and len({round(b.x0, 3) for b in boxes}) == 5
    assert len(out["fig"].axes) == 11  # 10 images + one colour bar, no empty axes left
    assert all(im.get_clim() == (-r.vmax, r.vmax) for im in out["images"][0])
    assert out["colorbar"].mappable.get_clim() == (-r.vmax, r.vmax)
    readable(out["fig"])
    three = plot_weight_images_grid([r, r, r], ["a", "b", "c"])  # a column per class
    assert len({round(ax.get_position().x0, 3) for ax in three["axes"][0]}) == 10
    readable(three["fig"])
